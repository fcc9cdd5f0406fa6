//! The `--explain` text, and rule pages: `docs/rules/<id>.md`, generated from the catalogue (tests/ux.rs checks they are up to
//! date; `UPDATE_DOCS=1 cargo test --test ux` rewrites them), and the links to them that SARIF's
//! `helpUri` and the text footer carry.
use crate::catalogue::RuleDoc;

/// The folder of the rule pages, relative to the repository root.
pub const RULES_DIR: &str = "docs/rules";

/// The repository, from Cargo.toml's `repository` field.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The command that regenerates the pages.
pub const REGENERATE: &str = "UPDATE_DOCS=1 cargo test --test ux";

/// The rule's documentation as `--explain` prints it.
pub fn explain(doc: &RuleDoc) -> String {
    let mut out = format!(
        "{id} ({level} by default, family: {family})\n\n{summary}\n\nWhy is this bad?\n{rationale}\nExample\n{bad}\nUse instead\n{good}\nFix\n{fix}\n",
        id = doc.id,
        level = doc.level,
        family = doc.family,
        summary = doc.summary,
        rationale = doc.rationale.trim_start(),
        bad = indent(&doc.bad),
        good = indent(&doc.good),
        fix = doc.fix.trim_start(),
    );
    if !doc.options.is_empty() {
        out.push_str("Options\n");
        for (key, opt) in &doc.options {
            out.push_str(&format!(
                "    {key} (default {}): {}\n",
                opt.default, opt.doc
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Limits of the heuristic\n{}",
        doc.limits.trim_start()
    ));
    out
}

fn indent(code: &str) -> String {
    code.trim_start_matches('\n')
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The rule's page in the repository.
pub fn page_url(id: &str) -> String {
    format!("{REPOSITORY}/blob/main/{RULES_DIR}/{id}.md")
}

/// The page of one rule. `toml_text` is its catalogue file, for the comments that say what each
/// API list is.
pub fn rule_page(doc: &RuleDoc, toml_text: &str) -> String {
    let mut out = format!(
        "# `{id}`\n\n<!-- Generated from rules/{id}.toml by `{REGENERATE}`: edit the catalogue, not this page. -->\n\n",
        id = doc.id
    );
    out.push_str(&format!(
        "| family | default level | precision | security severity |\n|---|---|---|---|\n| `{}` | {} | {} | {} |\n\n",
        doc.family,
        doc.level,
        doc.precision,
        doc.security_severity
            .map_or_else(|| "none".to_owned(), |s| format!("{s:.1}"))
    ));
    section(
        &mut out,
        "What it does",
        &format!("{}.", doc.summary.trim()),
    );
    section(&mut out, "Why is this bad?", &doc.rationale);
    out.push_str(&format!(
        "## Example\n\n```rust\n{}\n```\n\n",
        doc.bad.trim_matches('\n')
    ));
    out.push_str(&format!(
        "## Use instead\n\n```rust\n{}\n```\n\n",
        doc.good.trim_matches('\n')
    ));
    section(&mut out, "Fix", &doc.fix);
    out.push_str("## Configuration\n\n");
    out.push_str(&format!(
        "```toml\n# backpressure.toml\n[rules]\n{id} = \"deny\"          # allow | warn | deny; or by family: {family} = \"deny\"\n",
        id = doc.id,
        family = doc.family
    ));
    if !doc.options.is_empty() {
        out.push_str(&format!("\n[rules.{}]\n", doc.id));
        for (key, option) in &doc.options {
            out.push_str(&format!("{key} = {}\n", option.default));
        }
    }
    out.push_str(&format!(
        "```\n\nOn the command line: `-D {id}`, `-A {id}`, or `-D {family}` for the family. In code: \
         `// backpressure:allow({id}) reason`.\n\n",
        id = doc.id,
        family = doc.family
    ));
    if !doc.options.is_empty() {
        out.push_str("### Options\n\n| option | default | meaning |\n|---|---|---|\n");
        for (key, option) in &doc.options {
            out.push_str(&format!(
                "| `{key}` | `{}` | {} |\n",
                option.default,
                one_line(&option.doc)
            ));
        }
        out.push('\n');
    }
    section(&mut out, "Limits of the heuristic", &doc.limits);
    if !doc.matches.is_empty() {
        out.push_str("## APIs it knows\n\n");
        out.push_str(
            "Paths are canonical: the rule resolves `use` items, renames and re-exports to them. \
             `a -> b` names the replacement the help suggests.\n\n",
        );
        for (list, entries) in &doc.matches {
            out.push_str(&format!("### `{list}`\n\n"));
            if let Some(comment) = list_comment(toml_text, list) {
                out.push_str(&format!("{comment}\n\n"));
            }
            if entries.iter().all(|e| !e.contains("::")) {
                // Method names and words: one line is easier to read than a long column.
                let words: Vec<String> =
                    entries.iter().map(|e| format!("`{}`", e.trim())).collect();
                out.push_str(&format!("{}\n\n", words.join(", ")));
                continue;
            }
            for entry in entries {
                match entry.split_once("->") {
                    Some((api, then)) => {
                        out.push_str(&format!("- `{}` → `{}`\n", api.trim(), then.trim()))
                    }
                    None => out.push_str(&format!("- `{}`\n", entry.trim())),
                }
            }
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "---\n\n`cargo backpressure --explain {}` prints it in the terminal; the catalogue entry is \
         [`rules/{}.toml`](../../rules/{}.toml).\n",
        doc.id, doc.id, doc.id
    ));
    out
}

/// The index page: every rule with its summary, by family.
pub fn index_page(rules: &[RuleDoc]) -> String {
    let mut out = format!(
        "# Rules\n\n<!-- Generated from rules/*.toml by `{REGENERATE}`. -->\n\n| rule | family | default | finds |\n|---|---|---|---|\n"
    );
    for r in rules {
        out.push_str(&format!(
            "| [`{id}`]({id}.md) | `{}` | {} | {} |\n",
            r.family,
            r.level,
            one_line(&r.summary),
            id = r.id
        ));
    }
    out
}

fn section(out: &mut String, title: &str, body: &str) {
    out.push_str(&format!("## {title}\n\n{}\n\n", body.trim()));
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The `#` comment lines directly above `list = [` in the `[matches]` table, joined.
fn list_comment(toml_text: &str, list: &str) -> Option<String> {
    let lines: Vec<&str> = toml_text.lines().collect();
    let start = lines.iter().position(|l| l.trim() == "[matches]")?;
    let at = lines[start..].iter().position(|l| {
        l.split_once('=')
            .is_some_and(|(key, _)| key.trim().trim_matches('"') == list)
    })? + start;
    let mut comment: Vec<&str> = lines[start + 1..at]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| l.trim_start().trim_start_matches('#').trim())
        .collect();
    comment.reverse();
    (!comment.is_empty()).then(|| comment.join(" "))
}
