//! `--list-rules` (text or JSON) and `--explain` of a family: the catalogue as users browse it.
use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::docs;
use crate::groups;

/// One rule a line (id, default level, summary), then the groups.
pub fn text(catalogue: &Catalogue) -> String {
    let width = catalogue.ids().map(str::len).max().unwrap_or(0);
    let mut out = String::new();
    for r in &catalogue.rules {
        out.push_str(&format!(
            "{:width$}  {:5}  {}\n",
            r.id,
            r.level.as_str(),
            r.summary
        ));
    }
    out.push_str(
        "\nGroups (usable wherever a rule id is: `-D timeouts`, `[rules] buffering = \"deny\"`):\n",
    );
    let families = groups::families(catalogue);
    let width = families.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    for (family, rules) in &families {
        out.push_str(&format!("  {family:width$}  {}\n", rules.join(", ")));
    }
    out.push_str(&format!("  {:width$}  every rule\n", groups::ALL));
    out.push_str(&format!(
        "  {:width$}  every finding at warn (command line only: `-D warnings` makes them errors)\n",
        groups::WARNINGS
    ));
    out
}

#[derive(Serialize)]
struct Listing<'a> {
    version: u32,
    rules: Vec<RuleEntry<'a>>,
    groups: Vec<GroupEntry<'a>>,
}

#[derive(Serialize)]
struct RuleEntry<'a> {
    id: &'a str,
    name: &'a str,
    family: &'a str,
    level: &'static str,
    summary: &'a str,
    precision: &'a str,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    security_severity: Option<f64>,
    options: Vec<OptionEntry<'a>>,
    help_uri: String,
}

#[derive(Serialize)]
struct OptionEntry<'a> {
    name: &'a str,
    default: &'a toml::Value,
    doc: &'a str,
}

#[derive(Serialize)]
struct GroupEntry<'a> {
    name: &'a str,
    rules: Vec<&'a str>,
}

/// `--list-rules --format json`: every rule with its metadata, and the families.
pub fn json(catalogue: &Catalogue) -> String {
    let listing = Listing {
        version: 1,
        rules: catalogue
            .rules
            .iter()
            .map(|r| RuleEntry {
                id: &r.id,
                name: &r.name,
                family: &r.family,
                level: r.level.as_str(),
                summary: &r.summary,
                precision: &r.precision,
                tags: &r.tags,
                security_severity: r.security_severity,
                options: r
                    .options
                    .iter()
                    .map(|(name, o)| OptionEntry {
                        name,
                        default: &o.default,
                        doc: &o.doc,
                    })
                    .collect(),
                help_uri: docs::page_url(&r.id),
            })
            .collect(),
        groups: groups::families(catalogue)
            .into_iter()
            .map(|(name, rules)| GroupEntry { name, rules })
            .collect(),
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&listing).unwrap_or_default() + "\n"
}

/// `--explain FAMILY`: the family's rules with their summaries.
pub fn explain_family(catalogue: &Catalogue, family: &str) -> String {
    let mut out =
        format!("{family} (a group of rules: `-D {family}`, `[rules] {family} = \"deny\"`)\n\n");
    for r in catalogue.rules.iter().filter(|r| r.family == family) {
        out.push_str(&format!(
            "{} ({} by default)\n    {}\n",
            r.id, r.level, r.summary
        ));
    }
    out.push_str("\nFor one rule, run `cargo backpressure --explain <rule>`.\n");
    out
}
