//! Hostile input through the binary: a BOM shifts no column.
mod common;

use std::path::Path;

use serde_json::Value;

/// Runs the binary on `dir` with JSON output; returns the exit status and the document.
fn lint_json(dir: &Path) -> (i32, Value) {
    let out = common::run_in(dir, &["--format", "json", "--threads", "2", "."]);
    let code = out.status.code().unwrap_or(-1);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, no JSON ({e}); stderr: {}",
            common::stderr(&out)
        )
    });
    (code, doc)
}

fn not_analysed<'d>(doc: &'d Value, file: &str) -> Option<&'d Value> {
    doc["not_analysed"]
        .as_array()?
        .iter()
        .find(|e| e["path"].as_str() == Some(file))
}

fn findings_in<'d>(doc: &'d Value, file: &str) -> Vec<&'d Value> {
    doc["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter(|f| f["path"].as_str() == Some(file))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_bom_does_not_shift_line_one_columns() {
    let dir = tempfile::tempdir().unwrap();
    let line = "fn f() { let (tx, rx) = flume::unbounded::<u32>(); }";
    std::fs::write(dir.path().join("bom.rs"), format!("\u{feff}{line}\n")).unwrap();
    std::fs::write(dir.path().join("plain.rs"), format!("{line}\n")).unwrap();
    // A syntax error on line 1 is at the same column with and without a BOM.
    let broken = "use flume::unbounded; fn g( {\n";
    std::fs::write(
        dir.path().join("bom_syntax.rs"),
        format!("\u{feff}{broken}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plain_syntax.rs"), broken).unwrap();
    let (code, doc) = lint_json(dir.path());
    assert_eq!(code, 1);
    let column = line.find("flume").unwrap() as u64 + 1;
    for file in ["bom.rs", "plain.rs"] {
        let found = findings_in(&doc, file);
        assert_eq!(found.len(), 1, "{file}");
        let region = &found[0]["region"];
        assert_eq!(region["start"]["line"], 1, "{file}");
        assert_eq!(region["start"]["column"], column, "{file}");
        assert_eq!(
            region["end"]["column"],
            column + "flume::unbounded::<u32>()".len() as u64,
            "{file}"
        );
    }
    assert_eq!(
        findings_in(&doc, "bom.rs")[0]["fingerprint"],
        findings_in(&doc, "plain.rs")[0]["fingerprint"],
        "a BOM does not change the flagged line"
    );
    let bom = &not_analysed(&doc, "bom_syntax.rs").expect("a syntax error")["reason"];
    let plain = &not_analysed(&doc, "plain_syntax.rs").expect("a syntax error")["reason"];
    assert_eq!(
        (&bom["line"], &bom["column"]),
        (&plain["line"], &plain["column"])
    );
    assert_eq!(bom["line"], 1);
}
