//! The modules' imports run one way: the finding model at the bottom, then the engine, the rules,
//! configuration and suppressions, the crate model, the run, the emitters and the CLI. Every
//! top-level module has a layer here, and a module may use only modules of lower layers.
use std::collections::BTreeMap;
use std::path::Path;

/// Bottom first.
const LAYERS: &[&[&str]] = &[
    &["diag"],
    &["source", "catalogue", "input", "guard"],
    &["groups", "docs", "manifest", "walk"],
    &["engine"],
    &["rules"],
    &["config", "suppress"],
    &["cache"],
    &["crate_model"],
    &["run"],
    &["fix"],
    &["baseline", "emit", "project", "listing"],
    &["lsp"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Top-level module → the crate modules its code names (`crate::x`), comments left out.
fn uses() -> BTreeMap<String, Vec<(String, String)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.expect("src is readable");
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).expect("below src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a file name")
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("utf-8 source");
        let used = out.entry(top.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let name: String = code[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != top && !name.is_empty() {
                    used.push((name, relative.display().to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = uses()
        .into_keys()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "place these modules in LAYERS: {unplaced:?}"
    );
}

#[test]
fn imports_run_one_way() {
    let mut upward = Vec::new();
    for (module, used) in uses() {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for (name, file) in used {
            // A name that is not a top-level module (a macro path, `crate::` inside a string).
            let Some(theirs) = layer_of(&name) else {
                continue;
            };
            if theirs >= own {
                upward.push(format!("{file}: {module} uses {name}"));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The rules sit above the engine: a rule may use the engine, never the other way.
    assert!(layer_of("rules") > layer_of("engine"));
    assert!(uses()["rules"].iter().any(|(name, _)| name == "engine"));
}
