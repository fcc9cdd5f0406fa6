//! Recognises test-only code: `#[cfg(test)]` items (also `cfg(all(test, ..))`), `#[test]`-like
//! attributes, and folders named for tests, benches and tooling ([`TEST_NAMES`]).
use std::path::Path;

use syn::{Attribute, Meta};

/// Attributes whose last path segment marks a test or benchmark function.
const TEST_FN_ATTRS: &[&str] = &[
    "test",
    "bench",
    "rstest",
    "test_case",
    "quickcheck",
    "proptest",
    "test_log",
];

/// True when the attributes make the item test-only.
pub fn is_test_item(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            return attr
                .parse_args::<Meta>()
                .is_ok_and(|m| cfg_requires_test(&m));
        }
        path.segments
            .last()
            .is_some_and(|s| TEST_FN_ATTRS.contains(&s.ident.to_string().as_str()))
    })
}

/// Whether a cfg predicate can only hold when `test` is set.
fn cfg_requires_test(meta: &Meta) -> bool {
    cfg_requires_test_with(meta, &|_| false)
}

/// Like [`cfg_requires_test`], a `feature = ".."` for which `test_feature` holds counting as test.
fn cfg_requires_test_with(meta: &Meta, test_feature: &dyn Fn(&str) -> bool) -> bool {
    match meta {
        Meta::Path(p) => p.is_ident("test"),
        Meta::List(list) => {
            let Ok(args) = list.parse_args_with(
                syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
            ) else {
                return false;
            };
            if list.path.is_ident("all") {
                args.iter().any(|m| cfg_requires_test_with(m, test_feature))
            } else if list.path.is_ident("any") {
                !args.is_empty() && args.iter().all(|m| cfg_requires_test_with(m, test_feature))
            } else {
                false
            }
        }
        Meta::NameValue(nv) => {
            nv.path.is_ident("feature")
                && matches!(&nv.value, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if test_feature(&s.value()))
        }
    }
}

/// Folders and crates named for tests, benches and tooling: files under such a folder (at any depth
/// below the project root) and crates so named are test code. Each entry is a name pattern (`*`
/// stands for any text; `-` and `_` are the same) with what it names; the README lists them and
/// `fixtures/crate-model/test-named` holds a crate or folder for each.
pub const TEST_NAMES: &[(&str, &str)] = &[
    ("tests", "integration tests (cargo's `tests/`)"),
    (
        "tests-*",
        "test suites beside the crates (`tests-integration/`)",
    ),
    ("e2e", "end-to-end tests"),
    ("integration", "integration test suites"),
    ("conformance", "conformance test suites"),
    ("benches", "benchmarks (cargo's `benches/`)"),
    ("bench", "benchmarks"),
    ("fuzz", "fuzz targets (cargo-fuzz's `fuzz/`)"),
    ("examples", "examples (cargo's `examples/`)"),
    (
        "test-utils",
        "test-support crates and folders (also `test_utils`)",
    ),
    (
        "test-util",
        "test-support crates and folders (also `test_util`)",
    ),
    ("testkit", "test kits"),
    ("testing", "test-support crates and folders"),
    ("*-test", "test crates (`server-test`)"),
    ("*-tests", "test suites (`k8s-e2e-tests`)"),
    ("*-mock", "mock crates (`store-mock`)"),
    ("test-harness", "test harnesses (also `test_harness`)"),
    ("xtask", "build tooling (the xtask pattern)"),
];

/// Whether a folder or crate name is one of [`TEST_NAMES`].
pub fn is_test_name(name: &str) -> bool {
    let name = name.replace('_', "-");
    TEST_NAMES
        .iter()
        .any(|(pattern, _)| name_matches(pattern, &name))
}

/// `*` at the start or end of `pattern` matches any non-empty text.
fn name_matches(pattern: &str, name: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix('*') {
        name.len() > suffix.len() && name.ends_with(suffix)
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        name.len() > prefix.len() && name.starts_with(prefix)
    } else {
        name == pattern
    }
}

/// True when a folder of the path (relative to the project root; the file name never counts) is
/// named for tests, benches or tooling ([`TEST_NAMES`]).
pub fn is_test_path(relative: &Path) -> bool {
    let mut components: Vec<_> = relative.components().collect();
    components.pop(); // the file name itself never counts
    components.iter().any(
        |c| matches!(c, std::path::Component::Normal(n) if n.to_str().is_some_and(is_test_name)),
    )
}

/// Whether a cargo feature exists for tests: `cfg(any(test, feature = "test-utils"))` gates test
/// support, not production code.
pub fn is_test_feature(name: &str) -> bool {
    is_test_name(name)
        || matches!(
            name.replace('_', "-").as_str(),
            "test" | "mock" | "mocks" | "test-support" | "test-helpers"
        )
}

/// Whether a `#[cfg(..)]` or `#![cfg(..)]` attribute, as written, holds only in test builds (test
/// features count as test).
pub fn cfg_text_requires_test(attr: &str) -> bool {
    let outer = attr.replacen("#!", "#", 1);
    let Ok(item) = syn::parse_str::<syn::ItemMod>(&format!("{outer} mod m;")) else {
        return false;
    };
    item.attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<Meta>()
                .is_ok_and(|m| cfg_requires_test_with(&m, &is_test_feature))
    })
}

/// True when the file's header (its leading comments) says `@generated`.
pub fn is_generated(text: &str) -> bool {
    text.lines()
        .take(12)
        .take_while(|l| {
            let t = l.trim_start();
            t.is_empty()
                || t.starts_with("//")
                || t.starts_with("/*")
                || t.starts_with('*')
                || t.starts_with("#!")
        })
        .any(|l| l.contains("@generated"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(src: &str) -> Vec<Attribute> {
        syn::parse_str::<syn::ItemFn>(&format!("{src} fn f() {{}}"))
            .unwrap()
            .attrs
    }

    #[test]
    fn test_attributes() {
        assert!(is_test_item(&attrs("#[test]")));
        assert!(is_test_item(&attrs(
            "#[tokio::test(flavor = \"multi_thread\")]"
        )));
        assert!(is_test_item(&attrs("#[cfg(test)]")));
        assert!(is_test_item(&attrs("#[cfg(all(test, feature = \"x\"))]")));
        assert!(!is_test_item(&attrs("#[cfg(any(test, feature = \"x\"))]")));
        assert!(!is_test_item(&attrs("#[cfg(not(test))]")));
        assert!(!is_test_item(&attrs("#[inline]")));
    }

    #[test]
    fn test_paths_and_generated_headers() {
        assert!(is_test_path(Path::new("crate/tests/it.rs")));
        assert!(is_test_path(Path::new("examples/demo/main.rs")));
        assert!(!is_test_path(Path::new("src/tests.rs")));
        assert!(is_generated(
            "// This file is @generated by prost-build.\npub struct X;"
        ));
        assert!(!is_generated("fn main() {}\n// @generated"));
    }
}

/// `#[cfg(test)] mod name;` declarations found without parsing the file (for files the prefilter
/// does not parse): each `#[cfg(..)]` attribute is judged like a parsed one, then `mod name;` must
/// follow, after other attributes and a visibility.
pub fn declared_test_modules(text: &str) -> Vec<super::TestModule> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(") {
        let after_attr = &rest[at..];
        let Some(end) = after_attr.find(")]") else {
            break;
        };
        let attr_text = &after_attr[..end + 2];
        rest = &after_attr[end + 2..];
        // The declaration first: most `#[cfg(..)]` are on other items, and reading the text
        // after one costs far less than parsing the attribute.
        let Some(module) = mod_declaration_after(rest) else {
            continue;
        };
        let Ok(attrs) =
            syn::parse_str::<syn::ItemMod>(&format!("{attr_text} mod m;")).map(|m| m.attrs)
        else {
            continue;
        };
        if is_test_item(&attrs) {
            out.push(module);
        }
    }
    out
}

/// Reads `(#[..])* (pub(..))? mod name;` at the start of `text`.
fn mod_declaration_after(mut text: &str) -> Option<super::TestModule> {
    let mut path = None;
    loop {
        text = text.trim_start();
        if let Some(attr) = text.strip_prefix("#[") {
            let end = attr.find(']')?;
            let inner = attr[..end].trim();
            if let Some(value) = inner
                .strip_prefix("path")
                .map(str::trim_start)
                .and_then(|v| v.strip_prefix('='))
            {
                path = Some(value.trim().trim_matches('"').to_owned());
            }
            text = &attr[end + 1..];
        } else if let Some(vis) = text.strip_prefix("pub") {
            text = vis.trim_start();
            if let Some(scoped) = text.strip_prefix('(') {
                text = &scoped[scoped.find(')')? + 1..];
            }
        } else {
            break;
        }
    }
    let name_and_rest = text.strip_prefix("mod")?.trim_start();
    let name_len = name_and_rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    let (name, after) = name_and_rest.split_at(name_len);
    (!name.is_empty() && after.trim_start().starts_with(';')).then(|| super::TestModule {
        name: name.to_owned(),
        path,
    })
}

#[cfg(test)]
mod lexical_tests {
    use super::*;

    #[test]
    fn finds_cfg_test_module_declarations_without_parsing() {
        let src = "#[cfg(test)]\nmod tests;\n#[cfg(all(test, unix))]\n#[path = \"t/unix.rs\"]\npub(crate) mod unix_tests;\n#[cfg(test)]\nmod inline { }\n#[cfg(feature = \"x\")]\nmod feature;";
        let found = declared_test_modules(src);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "tests");
        assert_eq!(
            (found[1].name.as_str(), found[1].path.as_deref()),
            ("unix_tests", Some("t/unix.rs"))
        );
    }
}
