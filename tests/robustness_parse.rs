//! Hostile shapes through the binary: every recursive production syn has, repeated past the depth
//! guard, is named as not analysed (never a stack overflow that loses the run); a file with more
//! tokens than the memory bound allows is refused with its reason; a BOM shifts no column.
mod common;

use std::path::Path;

use serde_json::Value;

const HEADER: &str = "use flume::unbounded;\n";
const FINDING: &str = "fn f() { let (tx, rx) = flume::unbounded::<u32>(); }\n";

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

fn prefix(run: &str, n: usize, core: &str) -> String {
    format!("{}{core}", run.repeat(n))
}

fn suffix(core: &str, run: &str, n: usize) -> String {
    format!("{core}{}", run.repeat(n))
}

fn wrap(open: &str, core: &str, close: &str, n: usize) -> String {
    format!("{}{core}{}", open.repeat(n), close.repeat(n))
}

/// Each shape, named, as a whole file. `n` repetitions of its nesting step. Those the old guard
/// did not count at all are long enough to overflow a 256 MiB stack in a debug build.
fn shapes() -> Vec<(&'static str, String)> {
    let expr = |e: String| format!("fn f() {{ {e}; }}");
    let ty = |t: String| format!("type T = {t};");
    let pat = |p: String| format!("fn f() {{ let {p} = y; }}");
    let item = |i: String| i;
    vec![
        // Prefix keywords: 9-10 KB of debug stack each, not counted before.
        ("return", expr(prefix("return ", 40_000, "1"))),
        ("break", expr(prefix("break ", 40_000, "1"))),
        ("break_label", expr(prefix("break 'a ", 40_000, "1"))),
        ("yield", expr(prefix("yield ", 40_000, "1"))),
        // Postfix chains: `f()()` and `x[0][0]` were not counted before.
        ("call_chain", expr(suffix("f", "()", 300_000))),
        ("index_chain", expr(suffix("x", "[0]", 300_000))),
        ("method_chain", expr(suffix("x", ".f()", 20_000))),
        ("field_chain", expr(suffix("x", ".a", 20_000))),
        ("tuple_field_chain", expr(suffix("x", ".0", 40_000))),
        ("try_chain", expr(suffix("x", "?", 20_000))),
        ("await_chain", expr(suffix("x", ".await", 20_000))),
        ("cast_chain", expr(suffix("x", " as u8", 20_000))),
        // Unary operators and ranges.
        ("neg", expr(prefix("- ", 20_000, "x"))),
        ("not", expr(prefix("!", 20_000, "x"))),
        ("deref", expr(prefix("* ", 20_000, "x"))),
        ("borrow", expr(prefix("& ", 20_000, "x"))),
        ("double_borrow", expr(prefix("&&", 20_000, "x"))),
        ("borrow_mut", expr(prefix("&mut ", 20_000, "x"))),
        ("raw_borrow", expr(prefix("&raw const ", 20_000, "x"))),
        ("range", expr(prefix("..", 20_000, "x"))),
        ("assign", expr(prefix("x = ", 20_000, "x"))),
        // Closures: commas in their parameters used to end the whole chain.
        ("closure", expr(prefix("|| ", 20_000, "x"))),
        ("closure_params", expr(prefix("|a, b| ", 40_000, "x"))),
        (
            "closure_attributed",
            expr(prefix("#[a] |a, b| ", 40_000, "x")),
        ),
        (
            "closure_after_or",
            expr(prefix("a || |a, b| ", 40_000, "x")),
        ),
        ("move_closure", expr(prefix("move || ", 20_000, "x"))),
        (
            "async_move_block",
            expr(wrap("async move { ", "x", " }", 2_000)),
        ),
        ("closure_block", expr(wrap("move || { ", "x", " }", 2_000))),
        // Binary chains, and blocks as their operands.
        ("sum", expr(suffix("x", " + x", 20_000))),
        (
            "sum_of_blocks",
            expr(suffix("x", " + unsafe { 1 }", 20_000)),
        ),
        (
            "else_if_ladder",
            expr(suffix("if a {}", " else if a {}", 20_000)),
        ),
        (
            "let_chain",
            format!(
                "fn f() {{ if {}true {{}} }}",
                "let Some(x) = y && ".repeat(20_000)
            ),
        ),
        // Delimited nesting.
        ("parens", expr(wrap("(", "x", ")", 2_000))),
        ("blocks", expr(wrap("{ ", "x", " }", 2_000))),
        ("labelled_blocks", expr(wrap("'a: { ", "x", " }", 2_000))),
        ("struct_literals", expr(wrap("S { a: ", "x", " }", 2_000))),
        ("matches", expr(wrap("match x { _ => ", "x", " }", 2_000))),
        ("calls", expr(wrap("f(", "x", ")", 2_000))),
        (
            "let_else",
            format!(
                "fn f() {{ {}return;{} }}",
                "let Some(x) = y else { ".repeat(2_000),
                " };".repeat(2_000)
            ),
        ),
        ("macro_tokens", expr(wrap("m!(", "x", ")", 2_000))),
        ("macro_expanded", expr(wrap("vec![", "x", "]", 2_000))),
        (
            "attribute_tokens",
            format!("#[a{}] fn f() {{}}", wrap("(b", "", ")", 2_000)),
        ),
        // Types.
        ("generic_types", ty(wrap("Vec<", "u8", ">", 5_000))),
        (
            "generic_types_with_commas",
            ty(wrap("HashMap<u8, ", "u8", ">", 5_000)),
        ),
        ("reference_types", ty(prefix("&", 20_000, "u8"))),
        ("mut_reference_types", ty(prefix("&mut ", 20_000, "u8"))),
        ("pointer_types", ty(prefix("*const ", 20_000, "u8"))),
        (
            "fn_pointer_types",
            ty(prefix("fn(u8, u8) -> ", 20_000, "u8")),
        ),
        (
            "impl_trait_types",
            ty(wrap("impl Iterator<Item = ", "u8", ">", 5_000)),
        ),
        (
            "dyn_fn_types",
            ty(wrap("Box<dyn Fn() -> ", "u8", ">", 5_000)),
        ),
        ("qualified_paths", ty(wrap("<", "u8", " as Tr>::A", 5_000))),
        ("tuple_types", ty(wrap("(u8, ", "u8", ")", 2_000))),
        ("array_types", ty(wrap("[", "u8", "; 1]", 2_000))),
        (
            "where_bounds",
            format!("fn f() where {} {{}}", wrap("T: Tr<", "u8", ">", 5_000)),
        ),
        (
            "turbofish",
            expr(format!("f::{}()", wrap("<", "u8", ">", 5_000))),
        ),
        // Patterns.
        ("reference_patterns", pat(prefix("&", 20_000, "x"))),
        ("binding_patterns", pat(prefix("x @ ", 20_000, "y"))),
        ("tuple_struct_patterns", pat(wrap("S(", "x", ")", 2_000))),
        ("slice_patterns", pat(wrap("[", "x", "]", 2_000))),
        // Items.
        ("modules", item(wrap("mod a { ", "", "}", 2_000))),
        ("fns_in_fns", item(wrap("fn f() { ", "", "}", 2_000))),
    ]
}

#[test]
fn every_recursive_shape_is_named_not_analysed_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.rs"), FINDING).unwrap();
    let shapes = shapes();
    for (name, body) in &shapes {
        // The anchor word lets the prefilter pass each file to the parser.
        std::fs::write(
            dir.path().join(format!("{name}.rs")),
            format!("{HEADER}{body}\n"),
        )
        .unwrap();
    }
    let (code, doc) = lint_json(dir.path());
    assert_eq!(code, 1, "the finding in good.rs fails the run");
    assert_eq!(findings_in(&doc, "good.rs").len(), 1);
    for (name, _) in &shapes {
        let file = format!("{name}.rs");
        let entry = not_analysed(&doc, &file).unwrap_or_else(|| panic!("{file} was analysed"));
        assert_eq!(entry["reason"]["kind"], "too-deep", "{file}: {entry}");
        assert!(
            entry["message"]
                .as_str()
                .is_some_and(|m| m.contains("nesting depth")),
            "{entry}"
        );
    }
    assert_eq!(
        doc["summary"]["files_not_analysed"],
        shapes.len(),
        "only the shapes"
    );
}

/// The heaviest nesting steps per unit of the estimate, each at nine tenths of the limit, parse
/// and are analysed on the worker stack: the weights are no looser than the stack they stand for.
#[test]
fn the_costliest_shapes_just_under_the_limit_are_analysed() {
    let limit = cargo_backpressure::guard::DEPTH_LIMIT * 9 / 10;
    let call = "flume::unbounded::<u32>()";
    let shapes = [
        // 50 KB of debug stack per level, estimated at 4 units.
        (
            "generic_types",
            format!(
                "fn f() {{ let c: {} = {call}; }}",
                wrap("Vec<", "u8", ">", limit / 4)
            ),
        ),
        // 89 KB per level, estimated at 8.
        (
            "dyn_fn_types",
            format!(
                "fn f() {{ let c: {} = {call}; }}",
                wrap("Box<dyn Fn() -> ", "u8", ">", limit / 8)
            ),
        ),
        // 32 KB per level, estimated at 3.
        (
            "reference_types",
            format!(
                "fn f() {{ let c: {} = {call}; }}",
                prefix("&", limit / 3, "u8")
            ),
        ),
        // 10 KB per level, estimated at 1.
        (
            "break",
            format!(
                "fn f() {{ let c = {call}; loop {{ {}1; }} }}",
                "break ".repeat(limit)
            ),
        ),
        (
            "return",
            format!("fn f() {{ let c = {call}; {}1; }}", "return ".repeat(limit)),
        ),
        // 15 KB per closure, estimated at 2.
        (
            "closures",
            format!(
                "fn f() {{ let c = {call}; {}1; }}",
                "|a, b| ".repeat(limit / 2)
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in &shapes {
        std::fs::write(dir.path().join(format!("{name}.rs")), body).unwrap();
    }
    let (code, doc) = lint_json(dir.path());
    assert_eq!(code, 1);
    for (name, _) in &shapes {
        let file = format!("{name}.rs");
        assert!(not_analysed(&doc, &file).is_none(), "{file}: {doc}");
        assert_eq!(findings_in(&doc, &file).len(), 1, "{file}");
    }
}

#[test]
fn a_long_line_of_tokens_is_refused_for_memory_with_its_reason() {
    // 5 MB on one line: syn's tree of it would take 1.6 GB.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.rs"), FINDING).unwrap();
    std::fs::write(
        dir.path().join("table.rs"),
        format!(
            "{HEADER}const T: [u8; 2500000] = [{}];",
            "1,".repeat(2_500_000)
        ),
    )
    .unwrap();
    let (code, doc) = lint_json(dir.path());
    assert_eq!(code, 1);
    assert_eq!(findings_in(&doc, "good.rs").len(), 1);
    let entry = not_analysed(&doc, "table.rs").expect("table.rs not analysed");
    assert_eq!(entry["reason"]["kind"], "too-many-tokens", "{entry}");
    assert_eq!(
        entry["reason"]["limit"],
        cargo_backpressure::guard::TOKEN_LIMIT
    );
    assert!(
        entry["reason"]["tokens"].as_u64() > Some(5_000_000),
        "counted to the end: {entry}"
    );
    let message = entry["message"].as_str().unwrap_or_default();
    assert!(message.contains("tokens, above the limit of"), "{message}");
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

/// The rules relate each call to the rest of its function: a function with thousands of connects
/// took minutes (4,000 in one body: 33 s in release). Such a body is named as not analysed, at
/// once, and the other files' findings stay.
#[test]
fn a_function_too_large_to_follow_is_refused_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("async fn f(a: &str) {\n");
    for i in 0..4000 {
        body.push_str(&format!(
            "    let s{i} = tokio::net::TcpStream::connect(a).await;\n"
        ));
    }
    body.push_str("}\n");
    std::fs::write(dir.path().join("huge.rs"), body).unwrap();
    std::fs::write(dir.path().join("good.rs"), format!("{HEADER}{FINDING}")).unwrap();
    let started = std::time::Instant::now();
    let (code, doc) = lint_json(dir.path());
    let elapsed = started.elapsed();
    assert_eq!(code, 1, "{doc}");
    let reason = &not_analysed(&doc, "huge.rs").expect("huge.rs is named")["reason"];
    assert_eq!(reason["kind"], "function-too-large", "{reason}");
    assert_eq!(reason["line"], 1, "{reason}");
    assert_eq!(findings_in(&doc, "good.rs").len(), 1, "{doc}");
    // Debug build, a loaded machine: still far from the minutes the old code took.
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}

/// The text format's `┌─ file:line:col` header agrees with the other formats on a BOM file.
#[test]
fn a_bom_does_not_shift_the_text_header() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bom.rs"), format!("\u{feff}{FINDING}")).unwrap();
    let out = common::run_in(dir.path(), &["--color", "never", "bom.rs"]);
    let text = common::stdout(&out);
    let short = common::stdout(&common::run_in(
        dir.path(),
        &["--format", "short", "bom.rs"],
    ));
    let column = short.split(':').nth(2).unwrap_or_default().to_owned();
    assert!(
        text.contains(&format!("bom.rs:1:{column}")),
        "{text}\n{short}"
    );
}
