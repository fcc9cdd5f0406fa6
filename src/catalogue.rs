//! The rule catalogue: `rules/*.toml`, embedded at build time and parsed once.
//! It is the single source of truth for rule ids, levels, docs and the API paths each rule matches.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::diag::Level;

/// The rule that reports a malformed `backpressure:allow(..)` comment (made by `suppress`, not a
/// rule of the traversal).
pub const INVALID_SUPPRESSION: &str = "invalid-suppression";
/// The rule that reports a suppression comment no finding needed.
pub const UNUSED_SUPPRESSION: &str = "unused-suppression";

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));
}

/// One rule's documentation and data, as written in `rules/<id>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleDoc {
    /// Kebab-case id naming the hazard, e.g. `unbounded-channel`.
    pub id: String,
    /// PascalCase name (SARIF `name`).
    pub name: String,
    /// Rule family, e.g. `unbounded`, `buffering`, `readiness`, `timeouts`.
    pub family: String,
    /// Default level.
    pub level: Level,
    /// One line: what the rule finds.
    pub summary: String,
    /// Why it is a backpressure risk.
    pub rationale: String,
    /// How to fix it.
    pub fix: String,
    /// Known limits of the heuristic.
    pub limits: String,
    /// Code that must fire.
    pub bad: String,
    /// Code that must stay clean.
    pub good: String,
    /// SARIF `properties.tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// SARIF `properties.precision`: very-high, high, medium, low.
    pub precision: String,
    /// SARIF `properties.security-severity`, for rules that are a denial-of-service vector.
    #[serde(default)]
    pub security_severity: Option<f64>,
    /// Named lists of canonical API paths the rule matches.
    #[serde(default)]
    pub matches: BTreeMap<String, Vec<String>>,
    /// The `matches` lists at least one of whose words must appear in a file for the rule to fire.
    /// `"a & b"` needs a word of list `a` and a word of list `b` together.
    pub anchors: Vec<String>,
    /// Per-rule options with their defaults and docs.
    #[serde(default)]
    pub options: BTreeMap<String, RuleOption>,
    /// Texts for single API entries of `matches`, by path, where the rule's generic text would be
    /// wrong for that API (no `send(..).await` for a blocking channel, no tokio permit for a thread).
    #[serde(default)]
    pub entries: BTreeMap<String, EntryText>,
    /// Where a finding of the rule is a risk.
    #[serde(default)]
    pub scope: RuleScope,
}

/// Where a rule's findings are a risk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleScope {
    /// Anywhere in production code.
    #[default]
    Any,
    /// Only in code that runs in a process serving network peers: a package that shows a listener
    /// (`src/engine/serving.toml`), or one used by a workspace member that does. In a tool (a CLI,
    /// an installer) a stalled or large download stalls the person who ran it; nothing piles up.
    Serving,
}

/// What one API entry says instead of the rule's generic text. `{what}` stands for the call as
/// written (`mpsc::channel`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryText {
    /// The finding's message.
    pub message: Option<String>,
    /// The fix.
    pub help: Option<String>,
}

/// A documented per-rule option.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOption {
    pub default: toml::Value,
    pub doc: String,
}

impl RuleDoc {
    /// The list names of every anchor (`"a & b"` names two).
    pub fn anchor_lists(&self) -> impl Iterator<Item = &str> {
        self.anchors
            .iter()
            .flat_map(|a| a.split('&').map(str::trim))
    }

    /// The API list `key`; an unknown key is a bug in the rule's code, caught by the catalogue test.
    pub fn list(&self, key: &str) -> &[String] {
        self.matches.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The whole catalogue, sorted by id.
#[derive(Debug)]
pub struct Catalogue {
    pub rules: Vec<RuleDoc>,
}

/// An error in an embedded rule file: a bug caught by the catalogue test and at startup.
#[derive(Debug)]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rules/{}: {}", self.file, self.message)
    }
}

impl Catalogue {
    /// Parses the embedded rule files.
    pub fn load() -> Result<Catalogue, CatalogueError> {
        Self::parse(embedded::RULE_FILES)
    }

    /// Parses rule files given as (file name, contents).
    pub fn parse(files: &[(&str, &str)]) -> Result<Catalogue, CatalogueError> {
        let mut rules = Vec::with_capacity(files.len());
        for (file, text) in files {
            let doc: RuleDoc = toml::from_str(text).map_err(|e| CatalogueError {
                file: file.to_string(),
                message: e.to_string(),
            })?;
            let expected = format!("{}.toml", doc.id);
            if *file != expected {
                return Err(CatalogueError {
                    file: file.to_string(),
                    message: format!("id `{}` does not match the file name", doc.id),
                });
            }
            rules.push(doc);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Catalogue { rules })
    }

    /// The embedded catalogue, parsed once per process.
    pub fn global() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| match Catalogue::load() {
            Ok(c) => c,
            // The catalogue is compiled in and checked by tests: failing here is a build defect.
            Err(e) => panic!("embedded rule catalogue is invalid: {e}"),
        })
    }

    pub fn get(&self, id: &str) -> Option<&RuleDoc> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }
}
