//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it: the full rule catalogue in
//! `tool.driver.rules`, relative URIs under `%SRCROOT%`, code-point columns, related locations,
//! line-independent `partialFingerprints`, and every file not analysed as a notification.
//! GitHub shows only the related locations a result's message links (`[text](id)`), so each is
//! linked. Suppressed findings stay out unless `--report-suppressed` asks for them: code scanning's
//! upload ignores `suppressions` and opens an alert for every result it receives.
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::EmitContext;
use crate::catalogue::{Catalogue, RuleDoc};
use crate::diag::{Confidence, Finding, Level, Region, SuppressedBy};
use crate::run::Report;

pub const INFORMATION_URI: &str = crate::docs::REPOSITORY;
const SRCROOT: &str = "%SRCROOT%";
/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "cargoBackpressure/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: Vec<Invocation>,
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    tags: Vec<&'a str>,
    precision: &'a str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    descriptor: DescriptorReference,
}

#[derive(Serialize)]
struct DescriptorReference {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// SARIF's priority, 0 to 100 (§3.27.25): from the confidence, so that tools sort the
    /// findings whose evidence is all visible first.
    rank: f64,
    properties: ResultProperties,
    /// With `--report-suppressed` only: on every result, empty where nothing suppressed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<Vec<SarifSuppression>>,
    /// The finding's fix (SARIF §3.55), when it has one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix {
    description: Message,
    artifact_changes: Vec<ArtifactChange>,
    properties: FixProperties,
}

#[derive(Serialize)]
struct FixProperties {
    applicability: crate::diag::Applicability,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    /// The replaced text; an insertion has an empty region (start = end).
    deleted_region: SarifRegion,
    inserted_content: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    confidence: Confidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence_reason: Option<String>,
}

/// `rank` for each confidence: apart enough to sort by, both well inside SARIF's 0..=100.
fn rank(confidence: Confidence) -> f64 {
    match confidence {
        Confidence::High => 90.0,
        Confidence::Medium => 60.0,
    }
}

#[derive(Serialize)]
struct SarifSuppression {
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<SarifRegion>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "none",
    }
}

/// SARIF messages are sentences: capitalised and ending with a period.
fn sentence(s: &str) -> String {
    let mut chars = s.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Percent-encodes a relative path for a URI reference (keeps `/`).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn artifact(path: &str) -> ArtifactLocation {
    if path.starts_with('/') {
        ArtifactLocation {
            uri: format!("file://{}", uri_path(path)),
            uri_base_id: None,
        }
    } else {
        ArtifactLocation {
            uri: uri_path(path),
            uri_base_id: Some(SRCROOT),
        }
    }
}

fn region(r: &Region) -> SarifRegion {
    // A zero-width region still has to end after it starts.
    let end_column = if r.end.line == r.start.line {
        r.end.column.max(r.start.column + 1)
    } else {
        r.end.column
    };
    SarifRegion {
        start_line: r.start.line,
        start_column: r.start.column,
        end_line: r.end.line,
        end_column,
    }
}

fn rule_descriptor(doc: &RuleDoc) -> ReportingDescriptor<'_> {
    let markdown = format!(
        "{}\n\n## Why is this bad?\n{}\n## Example\n```rust\n{}```\n\n## Use instead\n```rust\n{}```\n\n## Fix\n{}\n## Limits of the heuristic\n{}",
        doc.summary,
        doc.rationale.trim_start(),
        doc.bad.trim_start(),
        doc.good.trim_start(),
        doc.fix.trim_start(),
        doc.limits.trim_start()
    );
    let text = format!(
        "{}\n\nWhy: {}\nFix: {}",
        doc.summary,
        doc.rationale.trim(),
        doc.fix.trim()
    );
    ReportingDescriptor {
        id: &doc.id,
        name: &doc.name,
        short_description: Message {
            text: sentence(&doc.summary),
        },
        full_description: Message {
            text: sentence(doc.rationale.trim()),
        },
        help: MultiformatMessage { text, markdown },
        help_uri: crate::docs::page_url(&doc.id),
        default_configuration: Configuration {
            level: sarif_level(doc.level),
        },
        properties: RuleProperties {
            tags: tags(doc),
            precision: &doc.precision,
            security_severity: doc.security_severity.map(|s| format!("{s:.1}")),
        },
    }
}

/// The rule's tags; a rule with a `security-severity` also gets `security`, without which GitHub
/// ignores the severity.
fn tags(doc: &RuleDoc) -> Vec<&str> {
    let mut tags: Vec<&str> = doc.tags.iter().map(String::as_str).collect();
    if doc.security_severity.is_some() && !tags.contains(&"security") {
        tags.push("security");
    }
    tags
}

/// Escapes the brackets of plain message text, so that only our links are links (SARIF 3.11.6).
fn escape_brackets(s: &str) -> String {
    s.replace('[', "\\[").replace(']', "\\]")
}

/// The result's message: what is wrong, a link to each related location (GitHub shows only linked
/// ones), and the fix.
fn result_message(f: &Finding) -> String {
    let mut text = escape_brackets(&sentence(&f.message));
    if !f.labels.is_empty() {
        let links: Vec<String> = f
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("[{}]({})", escape_brackets(l.message.trim()), i + 1))
            .collect();
        text.push_str(&format!(" Related: {}.", links.join("; ")));
    }
    if let Some(reason) = &f.confidence_reason {
        let reason = reason.trim().trim_end_matches('.');
        text.push_str(&format!(" Medium confidence: {}.", escape_brackets(reason)));
    }
    text.push_str(&format!(" Help: {}", escape_brackets(&sentence(&f.help))));
    text
}

fn result(
    f: &Finding,
    catalogue: &Catalogue,
    suppressions: Option<Vec<SarifSuppression>>,
) -> SarifResult {
    let related_locations = f
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| Location {
            id: Some(i + 1),
            physical_location: PhysicalLocation {
                artifact_location: artifact(l.path.as_deref().unwrap_or(&f.path)),
                region: Some(region(&l.region)),
            },
            message: Some(Message {
                text: sentence(&l.message),
            }),
        })
        .collect();
    SarifResult {
        rule_id: f.rule.clone(),
        rule_index: catalogue.index_of(&f.rule).unwrap_or(0),
        level: sarif_level(f.level),
        message: Message {
            text: result_message(f),
        },
        locations: vec![Location {
            id: None,
            physical_location: PhysicalLocation {
                artifact_location: artifact(&f.path),
                region: Some(region(&f.region)),
            },
            message: None,
        }],
        related_locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.clone())]),
        rank: rank(f.confidence),
        properties: ResultProperties {
            confidence: f.confidence,
            confidence_reason: f.confidence_reason.clone(),
        },
        suppressions,
        fixes: f.fix.iter().map(|fix| sarif_fix(f, fix)).collect(),
    }
}

/// A fix as SARIF's `fix`: one change to the finding's file, a replacement per edit with the
/// exact (possibly empty) region it replaces.
fn sarif_fix(f: &Finding, fix: &crate::diag::Fix) -> SarifFix {
    let replacements = fix
        .edits
        .iter()
        .map(|e| Replacement {
            deleted_region: SarifRegion {
                start_line: e.region.start.line,
                start_column: e.region.start.column,
                end_line: e.region.end.line,
                end_column: e.region.end.column,
            },
            inserted_content: Message {
                text: e.replacement.clone(),
            },
        })
        .collect();
    SarifFix {
        description: Message {
            text: sentence(&format!("{} ({})", fix.message, fix.applicability.as_str())),
        },
        artifact_changes: vec![ArtifactChange {
            artifact_location: artifact(&f.path),
            replacements,
        }],
        properties: FixProperties {
            applicability: fix.applicability,
        },
    }
}

/// The findings; with `--report-suppressed` also the suppressed ones, each result saying whether
/// and how it was suppressed.
fn results(report: &Report, catalogue: &Catalogue) -> Vec<SarifResult> {
    let audit = report.report_suppressed;
    let mut results: Vec<SarifResult> = report
        .findings()
        .map(|f| result(f, catalogue, audit.then(Vec::new)))
        .collect();
    if audit {
        results.extend(report.suppressed().map(|s| {
            let kind = match s.by {
                SuppressedBy::InSource => "inSource",
                SuppressedBy::External => "external",
            };
            result(&s.finding, catalogue, Some(vec![SarifSuppression { kind }]))
        }));
    }
    results
}

pub fn emit(report: &Report, cx: &EmitContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut notifications: Vec<Notification> = report
        .not_analysed()
        .map(|(file, reason)| Notification {
            level: "warning",
            message: Message {
                text: sentence(&format!("file not analysed: {reason}")),
            },
            locations: vec![Location {
                id: None,
                physical_location: PhysicalLocation {
                    artifact_location: artifact(&file.display),
                    region: None,
                },
                message: None,
            }],
            descriptor: DescriptorReference { id: "not-analysed" },
        })
        .collect();
    notifications.extend(
        report
            .walk_errors
            .iter()
            .map(|(path, message)| Notification {
                level: "warning",
                message: Message {
                    text: sentence(&format!("path not read: {message}")),
                },
                locations: vec![Location {
                    id: None,
                    physical_location: PhysicalLocation {
                        artifact_location: artifact(path),
                        region: None,
                    },
                    message: None,
                }],
                descriptor: DescriptorReference { id: "not-read" },
            }),
    );
    let base = format!(
        "file://{}/",
        uri_path(cx.base_dir.to_string_lossy().trim_end_matches('/'))
    );
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: env!("CARGO_PKG_NAME"),
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules: cx.catalogue.rules.iter().map(rule_descriptor).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            original_uri_base_ids: BTreeMap::from([(
                SRCROOT,
                ArtifactLocation {
                    uri: base,
                    uri_base_id: None,
                },
            )]),
            column_kind: "unicodeCodePoints",
            results: results(report, cx.catalogue),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}
