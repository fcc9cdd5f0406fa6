use super::scan::scan;

#[test]
fn finds_declarations_with_their_attributes_and_inline_modules() {
    let src = r##"
//! mod fake;
#![cfg_attr(docsrs, feature(doc_cfg))]
/* mod also_fake; /* nested */ mod still_fake; */
const S: &str = "mod in_string;";
const R: &str = r#"mod in_raw; "#;
const C: char = '{';
fn f<'a>(x: &'a str) { mod in_fn; }
pub mod plain;
#[cfg(test)]
#[path = "t/unit.rs"]
pub(crate) mod unit_tests;
#[cfg(any(test, feature = "test-utils"))] mod support;
cfg_if::cfg_if! { if #[cfg(unix)] { mod unix; } else { mod other; } }
macro_rules! m { () => { mod from_macro; } }
include!("./opt.rs");
#[cfg_attr(not(target_os = "windows"), path = "unix.rs")]
#[cfg_attr(target_os = "windows", path = "windows.rs")]
mod platform;
#[path = "outer_dir"]
mod outer {
    #![cfg(test)]
    #[path = "inner.rs"] mod inner;
    mod deeper { mod leaf; }
}
"##;
    let found = scan(src);
    let names: Vec<&str> = found.decls.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "plain",
            "unit_tests",
            "support",
            "unix",
            "other",
            "platform",
            "inner",
            "leaf"
        ]
    );
    assert_eq!(found.decls[5].paths, ["unix.rs", "windows.rs"]);
    let unit = &found.decls[1];
    assert_eq!(unit.paths, ["t/unit.rs"]);
    assert_eq!(unit.cfgs, ["#[cfg(test)]"]);
    let inner = &found.decls[6];
    assert_eq!(inner.inline_dirs, ["outer_dir"]);
    assert_eq!(inner.cfgs, ["#![cfg(test)]"]);
    let leaf = &found.decls[7];
    assert_eq!(leaf.inline_dirs, ["outer_dir", "deeper"]);
    assert!(found.inner_cfgs.is_empty());
    assert_eq!(found.includes, ["./opt.rs"]);
}

#[test]
fn test_gating_cfgs() {
    use crate::engine::test_code::cfg_text_requires_test as gated;
    assert!(gated("#[cfg(test)]"));
    assert!(gated("#![cfg(test)]"));
    assert!(gated("#[cfg(all(test, unix))]"));
    assert!(gated("#[cfg(any(test, feature = \"test-utils\"))]"));
    assert!(!gated("#[cfg(any(test, feature = \"serde\"))]"));
    assert!(!gated("#[cfg(not(test))]"));
    assert!(!gated("#[cfg(feature = \"x\")]"));
}

#[test]
fn any_prefix_of_a_file_scans_without_panicking() {
    let src = "#[cfg(test)] #[path = \"é.rs\"] mod t; const C: char = 'é'; b'\\'; r##\"x\"## mod m { fn f<'a>() {} } /* /* */";
    for (i, _) in src.char_indices() {
        let _ = scan(&src[..i]);
        let _ = super::scan::root_pub_uses(&src[..i]);
    }
    let _ = super::scan::root_pub_uses("pub use a::{b; pub");
    let _ = scan("'\\");
    let _ = scan("r#\"");
    let _ = scan("mod");
}

#[test]
fn root_pub_uses_are_module_level_public_items() {
    let src = "pub use tokio;\npub(crate) use a::b;\nuse c::d;\npub use x::{y, z::{self as w}};\n\
               fn f() { pub use inner::x; }\nmod m { pub use nested::x; }\n\
               // pub use in::comment;\nconst S: &str = \"pub use in::string;\";\n";
    assert_eq!(
        super::scan::root_pub_uses(src),
        ["pub use tokio;", "pub use x::{y, z::{self as w}};"]
    );
    assert_eq!(
        super::scan::root_uses(src),
        [
            "use tokio;",
            "use a::b;",
            "use c::d;",
            "use x::{y, z::{self as w}};"
        ]
    );
}

#[test]
fn names_crate_finds_path_roots_only() {
    use super::scan::names_crate;
    assert!(names_crate("use cmd::cli::Command;", "cmd"));
    assert!(names_crate("fn main() { cmd :: run() }", "cmd"));
    assert!(names_crate("let c: cmd::Config = todo!();", "cmd"));
    assert!(names_crate("extern crate cmd;", "cmd"));
    assert!(!names_crate("use crate::cmd::x;", "cmd"));
    assert!(!names_crate("use super::cmd::x; // cmd::y", "cmd"));
    assert!(!names_crate("let s = \"cmd::run\"; let cmd = 1;", "cmd"));
    assert!(!names_crate("use cmdline::Args;", "cmd"));
}

#[test]
fn files_without_a_declaration_keyword_are_not_lexed_and_declare_nothing() {
    // "mod" inside words, an inner attribute that is not a cfg: nothing to report.
    let quiet = "struct Model { mode: u8 }\n#![allow(dead_code)]\nfn modify() {}";
    assert_eq!(scan(quiet), Default::default());
    // Each kind of declaration survives the quick check, in the spellings it takes.
    assert_eq!(scan("pub(crate)mod\n  a;").decls[0].name, "a");
    assert_eq!(scan("mod/* why */b;").decls[0].name, "b");
    assert_eq!(scan("#! [ cfg(test) ]").inner_cfgs.len(), 1);
    assert_eq!(scan("include!(\"gen.rs\");").includes, vec!["gen.rs"]);
}

#[test]
fn an_inline_module_alone_declares_no_file() {
    let inline_only = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
    assert_eq!(scan(inline_only), Default::default());
    // But an out-of-line declaration inside an inline module is found.
    let nested = "mod outer {\n    mod inner ;\n}\n";
    assert_eq!(scan(nested).decls[0].name, "inner");
    assert_eq!(scan("mod r#async;").decls[0].name, "async");
    assert_eq!(scan("mod late /* why */;").decls[0].name, "late");
}

#[test]
fn item_names_are_read_lexically() {
    let src = "pub async fn dial(a: &str) {}\nimpl X { fn r#type(&self) {} }\nlet f: fn(u8) = g; // fn noted\nconst_fn();\npub(crate) struct Conn<T>;\ntype Alias = u8; enum E {}";
    assert_eq!(
        super::scan::item_names(src),
        ["dial", "type", "noted", "Conn", "Alias", "E"]
    );
}
