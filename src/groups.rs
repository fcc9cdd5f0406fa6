//! Rule selectors: a rule id, a family from the catalogue (`timeouts`, `unbounded`, ...), `all`,
//! and on the command line `warnings` (rustc's `-D warnings`: every finding at warn becomes deny).
//! Unknown names get a "did you mean" suggestion.
use crate::catalogue::Catalogue;

/// Every rule.
pub const ALL: &str = "all";
/// Every finding whose level is `warn` (after everything else is applied).
pub const WARNINGS: &str = "warnings";

/// What a selector names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These rules (one for a rule id, several for a family or `all`).
    Rules(Vec<String>),
    /// `warnings`: the findings that end up at warn.
    Warnings,
}

/// The families of the catalogue, sorted, each with its rules.
pub fn families(catalogue: &Catalogue) -> Vec<(&str, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for rule in &catalogue.rules {
        match out.iter_mut().find(|(f, _)| *f == rule.family) {
            Some((_, rules)) => rules.push(&rule.id),
            None => out.push((&rule.family, vec![&rule.id])),
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// Whether `name` is a family of the catalogue.
pub fn is_family(catalogue: &Catalogue, name: &str) -> bool {
    catalogue.rules.iter().any(|r| r.family == name)
}

/// Resolves a selector; `allow_warnings` says whether `warnings` is accepted here.
pub fn resolve(
    catalogue: &Catalogue,
    name: &str,
    allow_warnings: bool,
) -> Result<Selection, String> {
    if name == WARNINGS && allow_warnings {
        return Ok(Selection::Warnings);
    }
    if name == ALL {
        return Ok(Selection::Rules(
            catalogue.ids().map(str::to_owned).collect(),
        ));
    }
    if let Some(doc) = catalogue.get(name) {
        return Ok(Selection::Rules(vec![doc.id.clone()]));
    }
    if is_family(catalogue, name) {
        return Ok(Selection::Rules(
            catalogue
                .rules
                .iter()
                .filter(|r| r.family == name)
                .map(|r| r.id.clone())
                .collect(),
        ));
    }
    Err(unknown_message(catalogue, name, allow_warnings))
}

/// Every name a selector may be, for suggestions and listings.
fn candidates(catalogue: &Catalogue, with_warnings: bool) -> Vec<&str> {
    let mut names: Vec<&str> = catalogue.ids().collect();
    names.extend(families(catalogue).into_iter().map(|(f, _)| f));
    names.push(ALL);
    if with_warnings {
        names.push(WARNINGS);
    }
    names
}

/// The closest known name to `name`, if one is close enough to be what was meant.
pub fn suggest<'a>(catalogue: &'a Catalogue, name: &str, with_warnings: bool) -> Option<&'a str> {
    // A typo costs an edit or two; a longer id tolerates a few more.
    let budget = (name.chars().count() / 4).max(2);
    candidates(catalogue, with_warnings)
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// `unknown rule `x``, with the suggestion or the list of valid names.
pub fn unknown_message(catalogue: &Catalogue, name: &str, with_warnings: bool) -> String {
    format!(
        "unknown rule `{name}`; {}",
        unknown_help(catalogue, name, with_warnings)
    )
}

/// The help for an unknown rule: "did you mean" when a name is close, else every valid name.
pub fn unknown_help(catalogue: &Catalogue, name: &str, with_warnings: bool) -> String {
    match suggest(catalogue, name, with_warnings) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "the rules are: {}; the groups are: {}",
            catalogue.ids().collect::<Vec<_>>().join(", "),
            families(catalogue)
                .into_iter()
                .map(|(f, _)| f)
                .chain([ALL])
                .chain(with_warnings.then_some(WARNINGS))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether a suppression naming `name` covers a finding of `rule` (its id, its family, or `all`).
pub fn covers(catalogue: &Catalogue, name: &str, rule: &str) -> bool {
    name == rule
        || name == ALL
        || catalogue
            .get(rule)
            .is_some_and(|doc| doc.family == name && doc.id != name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_suggestions() {
        let c = Catalogue::global();
        let Ok(Selection::Rules(timeouts)) = resolve(c, "timeouts", false) else {
            panic!("timeouts is a family");
        };
        assert!(timeouts.contains(&"connect-without-timeout".to_owned()));
        assert_eq!(
            suggest(c, "unbounded-chanel", true),
            Some("unbounded-channel")
        );
        assert_eq!(suggest(c, "timeout", true), Some("timeouts"));
        assert_eq!(suggest(c, "warning", true), Some("warnings"));
        assert_eq!(suggest(c, "zzzzzzzzzzzz", true), None);
        assert!(resolve(c, "warnings", false).is_err());
    }
}
