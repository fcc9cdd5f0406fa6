//! Rule pages: `docs/rules/<id>.md`, generated from the catalogue (tests/ux.rs checks they are up to
//! date), and the links to them that SARIF's `helpUri` and the text footer carry.
use crate::catalogue::RuleDoc;

/// The folder of the rule pages, relative to the repository root.
pub const RULES_DIR: &str = "docs/rules";

/// The repository, from Cargo.toml's `repository` field.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The rule's page in the repository.
pub fn page_url(id: &str) -> String {
    format!("{REPOSITORY}/blob/main/{RULES_DIR}/{id}.md")
}

/// The page of one rule.
pub fn rule_page(doc: &RuleDoc) -> String {
    let _ = doc;
    String::new()
}
