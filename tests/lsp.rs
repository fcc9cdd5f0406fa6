//! `cargo backpressure lsp` driven as an editor drives it: the binary spawned, LSP frames written to
//! its standard input and read from its standard output. With `BACKPRESSURE_LSP_TRANSCRIPT=1` the
//! session test writes every message, each way, to `target/tmp/lsp-transcript.txt`.
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// Long enough for a debug build's first analysis on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(60);

const MANIFEST: &str = r#"[package]
name = "svc"
version = "0.1.0"
edition = "2021"

[dependencies]
tokio = { version = "1", features = ["full"] }
"#;

/// A server: one message per accepted connection into an unbounded channel (line 8, after a
/// comment whose characters take more bytes than UTF-16 units), and a whole-body read (line 13).
const SERVER: &str = r#"use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("0.0.0.0:9000").await.unwrap();
    let (tx, mut rx) = /* «débit» 𝄞 */ mpsc::unbounded_channel();
    tokio::spawn(async move { while let Some(b) = rx.recv().await { drop::<Vec<u8>>(b); } });
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        socket.read_to_end(&mut buf).await.unwrap();
        tx.send(buf).unwrap();
    }
}
"#;

/// A library whose sender leaves the file through a public field: a medium-confidence finding.
const HUB: &str = r#"use tokio::sync::mpsc;

pub struct Hub {
    pub events: mpsc::UnboundedSender<u32>,
}

pub fn hub() -> (Hub, mpsc::UnboundedReceiver<u32>) {
    let (events, rx) = mpsc::unbounded_channel();
    (Hub { events }, rx)
}
"#;

struct Client {
    child: Child,
    /// Taken when the client closes its end.
    stdin: Option<ChildStdin>,
    incoming: mpsc::Receiver<Value>,
    /// Server messages read but not yet asked for.
    queued: Vec<Value>,
    next_id: i64,
    transcript: Vec<String>,
}

impl Client {
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
            .args(["backpressure", "lsp"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin: Some(stdin),
            incoming,
            queued: Vec::new(),
            next_id: 0,
            transcript: Vec::new(),
        }
    }

    fn send_raw(&mut self, bytes: &[u8], shown: &str) {
        self.transcript.push(format!("--> {shown}"));
        let stdin = self.stdin.as_mut().expect("the client's end is open");
        stdin.write_all(bytes).expect("write to the server");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send_raw(frame.as_bytes(), &abbreviated(&message));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn read(&mut self) -> Value {
        let message = self
            .incoming
            .recv_timeout(TIMEOUT)
            .expect("the server answers in time");
        self.transcript
            .push(format!("<-- {}", abbreviated(&message)));
        // A request of the server's own (the watcher registration) is answered as a client would.
        if message.get("id").is_some() && message.get("method").is_some() {
            let answer = json!({ "jsonrpc": "2.0", "id": message["id"], "result": null });
            self.send(answer);
        }
        message
    }

    /// Sends a request and returns its response; whatever else arrives meanwhile is queued.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.response(&json!(id))
    }

    fn response(&mut self, id: &Value) -> Value {
        loop {
            let message = self.read();
            if message.get("method").is_none() && &message["id"] == id {
                return message;
            }
            self.queued.push(message);
        }
    }

    /// The first message (queued or next) for which `wanted` holds.
    fn next(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.queued.iter().position(&wanted) {
            return self.queued.remove(i);
        }
        loop {
            let message = self.read();
            if wanted(&message) {
                return message;
            }
            self.queued.push(message);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Value {
        self.next(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            ["params"]
            .clone()
    }

    fn initialize(&mut self, watch: bool) -> Value {
        let capabilities = json!({
            "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": watch } },
            "textDocument": { "publishDiagnostics": { "relatedInformation": true } },
        });
        let response = self.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": capabilities }),
        );
        self.notify("initialized", json!({}));
        response
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "rust", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }

    /// Waits for the server to end; its exit status.
    fn wait(mut self) -> (Option<i32>, Vec<String>) {
        self.stdin = None;
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), std::mem::take(&mut self.transcript));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not exit");
    }
}

impl Drop for Client {
    /// A test that failed leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The message with long strings (document texts, explanations) cut, for the transcript.
fn abbreviated(message: &Value) -> String {
    fn cut(v: &Value) -> Value {
        match v {
            Value::String(s) if s.chars().count() > 120 => {
                let head: String = s.chars().take(100).collect();
                Value::String(format!("{head}… ({} chars)", s.chars().count()))
            }
            Value::Array(a) => Value::Array(a.iter().map(cut).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), cut(v))).collect()),
            other => other.clone(),
        }
    }
    cut(message).to_string()
}

/// `file:` URI of `path`, spaces percent-encoded (the workspace folder has one).
fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display().to_string().replace(' ', "%20"))
}

/// A workspace folder named with a space, holding the server package.
fn server_workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("my svc");
    std::fs::create_dir_all(root.join("src")).expect("src");
    std::fs::create_dir_all(root.join("tests")).expect("tests");
    std::fs::write(root.join("Cargo.toml"), MANIFEST).expect("manifest");
    std::fs::write(root.join("src/main.rs"), SERVER).expect("main.rs");
    std::fs::write(root.join("tests/it.rs"), SERVER).expect("it.rs");
    std::fs::write(
        root.join("backpressure.toml"),
        "[rules]\nwhole-body-read = \"deny\"\n",
    )
    .expect("config");
    (dir, root)
}

fn by_rule<'a>(diagnostics: &'a Value, rule: &str) -> &'a Value {
    diagnostics
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {diagnostics}"))
}

fn rules(diagnostics: &Value) -> Vec<String> {
    let mut out: Vec<String> = diagnostics
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_owned())
        .collect();
    out.sort();
    out
}

/// The UTF-16 column of byte `at` of `text` (the number LSP wants).
fn utf16_column(text: &str, at: usize) -> u64 {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].encode_utf16().count() as u64
}

#[test]
fn a_session_as_an_editor_drives_it() {
    let (_dir, root) = server_workspace();
    let main_uri = uri_of(&root.join("src/main.rs"));
    let test_uri = uri_of(&root.join("tests/it.rs"));
    let mut client = Client::start(&root);

    let init = client.initialize(true);
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 1, "full sync: {init}");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(
        caps["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix", "source.fixAll.backpressure"])
    );
    // The client said it can watch files: the server asks for the configuration and manifests.
    let registration = client.next(|m| m["method"] == "client/registerCapability");
    let watchers =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"].to_string();
    assert!(watchers.contains("**/backpressure.toml"), "{watchers}");

    // Open: both findings, judged in the package with its configuration (deny for whole-body-read).
    client.open(&main_uri, SERVER);
    let published = client.diagnostics(&main_uri);
    assert_eq!(published["version"], 1);
    let diagnostics = &published["diagnostics"];
    assert_eq!(rules(diagnostics), ["unbounded-channel", "whole-body-read"]);
    let channel = by_rule(diagnostics, "unbounded-channel").clone();
    let call = SERVER.find("mpsc::unbounded_channel()").expect("call");
    let line_start = SERVER[..call].rfind('\n').map_or(0, |i| i + 1);
    let code_points = SERVER[line_start..call].chars().count() as u64;
    let expected = utf16_column(SERVER, call);
    assert_ne!(
        expected, code_points,
        "the fixture line must tell UTF-16 from code points"
    );
    assert_eq!(
        channel["range"]["start"],
        json!({ "line": 7, "character": expected })
    );
    let end = call + "mpsc::unbounded_channel()".len();
    assert_eq!(
        channel["range"]["end"]["character"],
        utf16_column(SERVER, end)
    );
    assert_eq!(channel["severity"], 2, "warn");
    assert_eq!(
        by_rule(diagnostics, "whole-body-read")["severity"],
        1,
        "deny, from the configuration"
    );
    assert_eq!(channel["source"], "backpressure");
    assert!(channel["codeDescription"]["href"]
        .as_str()
        .is_some_and(|h| h.ends_with("/docs/rules/unbounded-channel.md")));
    let related = channel["relatedInformation"].as_array().expect("related");
    assert_eq!(related.len(), 3, "{channel}");
    assert!(related
        .iter()
        .all(|r| r["location"]["uri"] == main_uri.as_str()));
    assert!(related
        .iter()
        .any(|r| r["message"] == "one message per accepted connection here"));
    assert_eq!(channel["data"]["rule"], "unbounded-channel");

    // The same findings, lines and messages as the command line reports for the file on disk.
    let cli = Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
        .current_dir(&root)
        .args(["--format", "json"])
        .output()
        .expect("cli runs");
    let report: Value = serde_json::from_slice(&cli.stdout).expect("json report");
    let from_cli: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let message = f["message"].as_str().unwrap_or("").to_owned();
            (
                f["rule"].as_str().unwrap_or("").to_owned(),
                f["region"]["start"]["line"].as_u64().unwrap_or(0),
                message,
            )
        })
        .collect();
    let from_lsp: Vec<(String, u64, String)> = diagnostics
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            let message = d["message"].as_str().unwrap_or("");
            let first = message.split("\nhelp: ").next().unwrap_or("").to_owned();
            (
                d["code"].as_str().unwrap_or("").to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap_or(0) + 1,
                first,
            )
        })
        .collect();
    assert_eq!(from_lsp, from_cli);

    // A test file of the package stays quiet, as in a run.
    client.open(&test_uri, SERVER);
    assert_eq!(client.diagnostics(&test_uri)["diagnostics"], json!([]));

    // Change, unsaved: the whole-body read is gone from the buffer, so is its diagnostic.
    let edited = SERVER.replace("        socket.read_to_end(&mut buf).await.unwrap();\n", "");
    client.change(&main_uri, 2, &edited);
    let published = client.diagnostics(&main_uri);
    assert_eq!(published["version"], 2);
    assert_eq!(rules(&published["diagnostics"]), ["unbounded-channel"]);
    let channel = by_rule(&published["diagnostics"], "unbounded-channel").clone();

    // Hover on the diagnostic: the rule's --explain text.
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": main_uri }, "position": { "line": 7, "character": expected + 3 } }),
    );
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let explain =
        cargo_backpressure::docs::explain(catalogue.get("unbounded-channel").expect("rule"));
    let shown = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(shown.starts_with(&explain), "{hover}");
    assert_eq!(hover["result"]["range"], channel["range"]);
    let nothing = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": main_uri }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(nothing["result"], Value::Null);

    // Code action: a suppression comment above the line; applied, it silences the finding.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": main_uri },
            "range": channel["range"],
            "context": { "diagnostics": [channel] },
        }),
    );
    let actions = actions["result"].as_array().expect("actions").clone();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edits = actions[0]["edit"]["changes"][main_uri.as_str()]
        .as_array()
        .expect("edits")
        .clone();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["range"]["start"],
        json!({ "line": 7, "character": 0 })
    );
    let inserted = edits[0]["newText"].as_str().expect("text");
    assert!(
        inserted.starts_with("    // backpressure:allow(unbounded-channel) ")
            && inserted.ends_with('\n'),
        "{inserted:?}"
    );
    let mut lines: Vec<&str> = edited.split_inclusive('\n').collect();
    lines.insert(7, inserted);
    client.change(&main_uri, 3, &lines.concat());
    let published = client.diagnostics(&main_uri);
    assert_eq!(published["version"], 3);
    assert_eq!(published["diagnostics"], json!([]));

    let shutdown = client.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    client.notify("exit", Value::Null);
    let (status, mut transcript) = client.wait();
    assert_eq!(status, Some(0), "exit after shutdown");
    transcript.push(format!("(the server exited with status {status:?})"));
    if std::env::var_os("BACKPRESSURE_LSP_TRANSCRIPT").is_some() {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-transcript.txt");
        std::fs::write(&path, transcript.join("\n") + "\n").expect("transcript");
    }
}

#[test]
fn the_configuration_is_reloaded_and_its_errors_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).expect("src");
    std::fs::write(root.join("Cargo.toml"), MANIFEST.replace("svc", "hub")).expect("manifest");
    std::fs::write(root.join("src/lib.rs"), HUB).expect("lib.rs");
    let uri = uri_of(&root.join("src/lib.rs"));
    let config = root.join("backpressure.toml");
    let mut client = Client::start(root);
    client.initialize(true);

    client.open(&uri, HUB);
    let first = client.diagnostics(&uri);
    assert_eq!(rules(&first["diagnostics"]), ["unbounded-channel"]);
    assert!(first["diagnostics"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("confidence: medium"));

    // A configuration appears; the watcher says so: its min-confidence hides the medium finding.
    std::fs::write(&config, "min-confidence = \"high\"\n").expect("config");
    let changed = json!({ "changes": [{ "uri": uri_of(&config), "type": 1 }] });
    client.notify("workspace/didChangeWatchedFiles", changed);
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));

    // A broken configuration, noticed on save: a message, no crash, no diagnostics.
    std::fs::write(&config, "[rules]\nunbounded-channel = \"loud\"\n").expect("config");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    let message = client.next(|m| m["method"] == "window/showMessage");
    assert_eq!(message["params"]["type"], 1, "an error");
    let text = message["params"]["message"].as_str().unwrap_or("");
    assert!(
        text.contains("backpressure.toml") && text.contains("loud"),
        "{text}"
    );
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));

    // Fixed: the level it sets is honoured.
    std::fs::write(&config, "[rules]\nunbounded-channel = \"deny\"\n").expect("config");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    let fixed = client.diagnostics(&uri);
    assert_eq!(rules(&fixed["diagnostics"]), ["unbounded-channel"]);
    assert_eq!(fixed["diagnostics"][0]["severity"], 1);

    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().0, Some(0));
}

#[test]
fn bad_input_never_stops_the_server() {
    let (_dir, root) = server_workspace();
    let mut client = Client::start(&root);

    let early = client.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "not initialized: {early}");
    client.initialize(false);

    // A frame whose body is not JSON, and a header that is not a header: parse errors, id null.
    client.send_raw(b"Content-Length: 9\r\n\r\n{not json", "{not json");
    let error = client.next(|m| m["error"]["code"] == -32700);
    assert_eq!(error["id"], Value::Null);
    client.send_raw(b"this is no header\r\n\r\n", "this is no header");
    client.next(|m| m["error"]["code"] == -32700);

    let unknown = client.request("backpressure/nonsense", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let bad_params = client.request("textDocument/hover", json!({ "textDocument": 3 }));
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");
    client.notify("backpressure/unheard-of", json!({ "x": 1 }));
    client.notify("textDocument/didOpen", json!({ "nonsense": true }));

    // A buffer that does not parse is judged as the command line judges the file: no finding;
    // once it parses again, its findings are back.
    let main_uri = uri_of(&root.join("src/main.rs"));
    let broken = SERVER.replace("async fn main() {", "async fn main( {");
    client.open(&main_uri, &broken);
    assert_eq!(client.diagnostics(&main_uri)["diagnostics"], json!([]));
    client.change(&main_uri, 2, SERVER);
    assert_eq!(
        rules(&client.diagnostics(&main_uri)["diagnostics"]).len(),
        2
    );
    // A buffer with no file behind it has no package to be judged in.
    client.open("untitled:Untitled-1", SERVER);
    assert_eq!(
        client.diagnostics("untitled:Untitled-1")["diagnostics"],
        json!([])
    );
    // A request about a document never opened.
    let never = uri_of(&root.join("src/never.rs"));
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": never }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(hover["result"], Value::Null);

    // `exit` without `shutdown`: status 1, as LSP asks.
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().0, Some(1));
}

#[test]
fn the_end_of_input_ends_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut client = Client::start(dir.path());
    client.initialize(false);
    // Half a frame, then the client goes away.
    client.send_raw(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"", "half a frame");
    assert_eq!(client.wait().0, Some(1));
}

#[test]
fn a_members_package_table_refines_the_workspace_levels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("svc/src")).expect("src");
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"svc\"]\n",
    )
    .expect("root");
    let member = format!(
        "{MANIFEST}\n[package.metadata.backpressure.rules]\nunbounded-channel = \"allow\"\n"
    );
    std::fs::write(root.join("svc/Cargo.toml"), member).expect("member");
    std::fs::write(root.join("svc/src/main.rs"), SERVER).expect("main.rs");
    std::fs::write(
        root.join("backpressure.toml"),
        "[rules]\nwhole-body-read = \"deny\"\n",
    )
    .expect("config");
    let uri = uri_of(&root.join("svc/src/main.rs"));
    let mut client = Client::start(root);
    client.initialize(false);
    client.open(&uri, SERVER);
    let diagnostics = client.diagnostics(&uri)["diagnostics"].clone();
    // The member allows unbounded-channel; the workspace denies whole-body-read.
    assert_eq!(rules(&diagnostics), ["whole-body-read"]);
    assert_eq!(diagnostics[0]["severity"], 1);
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().0, Some(0));
}

/// The function the server and the run share: a buffer above the size limit is not analysed, as
/// the file on disk would not be.
#[test]
fn analyse_source_keeps_the_size_limit_of_a_run() {
    use cargo_backpressure::diag::NotAnalysed;
    use cargo_backpressure::run::{self, Outcome, RunOptions};
    let (_dir, root) = server_workspace();
    let path = root.join("src/main.rs");
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let engine = run::build_engine(catalogue, false, true);
    let levels = cargo_backpressure::config::Levels::from_catalogue(catalogue);
    let model = cargo_backpressure::crate_model::CrateModel::build(std::iter::once(path.as_path()));
    let options = |max_file_bytes| RunOptions {
        include_tests: false,
        include_generated: false,
        max_file_bytes,
        threads: 1,
        base_dir: root.clone(),
        config: Default::default(),
    };
    let within = run::analyse_source(&engine, &levels, &model, &path, SERVER, &options(1 << 20));
    assert!(
        matches!(&within.outcome, Outcome::Analysed { findings } if findings.len() == 2),
        "{:?}",
        within.outcome
    );
    let above = run::analyse_source(&engine, &levels, &model, &path, SERVER, &options(100));
    assert!(
        matches!(
            above.outcome,
            Outcome::NotAnalysed(NotAnalysed::TooLarge { limit: 100, .. })
        ),
        "{:?}",
        above.outcome
    );
}

/// A FIFO named like the configuration is an error shown to the user, never a read that waits.
#[cfg(unix)]
#[test]
fn a_fifo_configuration_is_an_error_not_a_hang() {
    let (_dir, root) = server_workspace();
    let config = root.join("backpressure.toml");
    std::fs::remove_file(&config).expect("remove");
    let made = Command::new("mkfifo")
        .arg(&config)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let uri = uri_of(&root.join("src/main.rs"));
    let mut client = Client::start(&root);
    client.initialize(false);
    client.open(&uri, SERVER);
    let message = client.next(|m| m["method"] == "window/showMessage");
    let text = message["params"]["message"].as_str().unwrap_or("");
    assert!(text.contains("not a regular file"), "{text}");
    assert_eq!(client.diagnostics(&uri)["diagnostics"], json!([]));
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().0, Some(0));
}

/// The server reads ahead of its handler through a bounded queue: the linter on its own server
/// finds no unbounded channel (a flooding client waits on the pipe).
#[test]
fn the_server_passes_its_own_linter() {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["src/lsp", "--format", "short"])
        .output()
        .expect("cli runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A package whose file has a finding with a safe fix (a codec with no maximum, after a comment
/// whose characters take more bytes than UTF-16 units) and one with an unsafe fix (a blocking
/// connect: the fix adds a `use` at the top, away from the diagnostic).
const FIXABLE_MANIFEST: &str = r#"[package]
name = "fixable"
version = "0.1.0"
edition = "2021"

[dependencies]
futures = "0.3"
tokio = { version = "1", features = ["full"] }
tokio-util = { version = "0.7", features = ["codec"] }
"#;

const FIXABLE: &str = r#"use futures::StreamExt;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec};

async fn lines_over_socket(socket: TcpStream) {
    let mut lines = /* «débit» 𝄞 */ Framed::new(socket, LinesCodec::new());
    while let Some(Ok(line)) = lines.next().await {
        println!("{line}");
    }
}

pub fn upstream(addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect(addr)
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("0.0.0.0:9000").await.unwrap();
    loop {
        let (socket, _) = listener.accept().await.unwrap();
        lines_over_socket(socket).await;
    }
}
"#;

/// The byte offset of an LSP position (UTF-16 units) in `text`.
fn byte_of(text: &str, at: &Value) -> usize {
    let line = at["line"].as_u64().expect("line") as usize;
    let units = at["character"].as_u64().expect("character") as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut seen = 0;
    for (i, c) in text[start..].char_indices() {
        if seen >= units || c == '\n' {
            return start + i;
        }
        seen += c.len_utf16();
    }
    text.len()
}

/// `text` with a code action's edits to `uri` applied, as a client applies a `WorkspaceEdit`
/// (every range refers to the text before the edit).
fn apply_action(text: &str, action: &Value, uri: &str) -> String {
    let edits = action["edit"]["changes"][uri].as_array().expect("edits");
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                byte_of(text, &e["range"]["start"]),
                byte_of(text, &e["range"]["end"]),
                e["newText"].as_str().expect("new text"),
            )
        })
        .collect();
    spans.sort_by_key(|&(start, end, _)| std::cmp::Reverse((start, end)));
    let mut out = text.to_owned();
    for (start, end, new) in spans {
        out.replace_range(start..end, new);
    }
    out
}

/// The code actions at `range`, the client naming `diagnostics` there.
fn code_actions(
    client: &mut Client,
    uri: &str,
    range: &Value,
    diagnostics: &[&Value],
) -> Vec<Value> {
    code_actions_in(client, uri, range, json!({ "diagnostics": diagnostics }))
}

/// The code actions at `range` for the request's `context`.
fn code_actions_in(client: &mut Client, uri: &str, range: &Value, context: Value) -> Vec<Value> {
    let answer = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": range, "context": context }),
    );
    answer["result"]
        .as_array()
        .unwrap_or_else(|| panic!("actions in {answer}"))
        .clone()
}

/// A one-file package `fixable` holding `text` as its `src/main.rs`, and a server on it.
fn fixable_package(text: &str) -> (tempfile::TempDir, std::path::PathBuf, String, Client) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("fixable");
    std::fs::create_dir_all(root.join("src")).expect("src");
    std::fs::write(root.join("Cargo.toml"), FIXABLE_MANIFEST).expect("manifest");
    let main = root.join("src/main.rs");
    std::fs::write(&main, text).expect("main.rs");
    let uri = uri_of(&main);
    let client = Client::start(&root);
    (dir, main, uri, client)
}

#[test]
fn a_findings_fix_is_a_quick_fix_that_leaves_the_buffer_clean() {
    let (_dir, main, uri, mut client) = fixable_package(FIXABLE);
    client.initialize(false);
    client.open(&uri, FIXABLE);
    let published = client.diagnostics(&uri);
    assert_eq!(
        rules(&published["diagnostics"]),
        ["connect-without-timeout", "unbounded-frame"]
    );

    // The codec: its safe fix first and preferred, then the suppression, then the document's
    // fix-all (asked for by no kind, so every kind is offered).
    let codec = by_rule(&published["diagnostics"], "unbounded-frame").clone();
    let actions = code_actions(&mut client, &uri, &codec["range"], &[&codec]);
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert_eq!(actions[2]["kind"], "source.fixAll.backpressure");
    let fix = &actions[0];
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(
        fix["title"],
        "Use `LinesCodec::new_with_max_length(..)` with a maximum of 65_536 bytes"
    );
    assert_eq!(fix["diagnostics"], json!([codec]));
    assert_eq!(actions[1]["isPreferred"], false);
    assert!(actions[1]["title"]
        .as_str()
        .is_some_and(|t| t.starts_with("Suppress")));
    let safe = apply_action(FIXABLE, fix, &uri);
    assert!(
        safe.contains(
            "/* «débit» 𝄞 */ Framed::new(socket, LinesCodec::new_with_max_length(65_536));"
        ),
        "{safe}"
    );
    client.change(&uri, 2, &safe);
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 2);
    assert_eq!(
        rules(&published["diagnostics"]),
        ["connect-without-timeout"]
    );

    // The connect: an unsafe fix, not preferred, titled so; it adds the `use` it needs. No safe
    // fix is left, so no fix-all either.
    let connect = by_rule(&published["diagnostics"], "connect-without-timeout").clone();
    let actions = code_actions(&mut client, &uri, &connect["range"], &[&connect]);
    assert_eq!(actions.len(), 2, "{actions:?}");
    let fix = &actions[0];
    assert_eq!(fix["isPreferred"], false);
    let title = fix["title"].as_str().expect("title");
    assert!(
        title.starts_with("Use `connect_timeout`")
            && title.ends_with(cargo_backpressure::lsp::actions::UNSAFE_TITLE_SUFFIX),
        "{title}"
    );
    let fixed = apply_action(&safe, fix, &uri);
    assert!(
        fixed.contains("connect_timeout(&addr, Duration::from_secs(5))"),
        "{fixed}"
    );
    client.change(&uri, 3, &fixed);
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 3);
    assert_eq!(published["diagnostics"], json!([]), "{fixed}");
    // No finding, no action.
    let whole =
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 30, "character": 0 } });
    assert_eq!(
        code_actions(&mut client, &uri, &whole, &[]),
        Vec::<Value>::new()
    );

    // The editor's edits are the command line's: `--unsafe-fixes` writes the same text.
    assert_cli_writes(&main, "--unsafe-fixes", 0, &fixed);
}

const TWO_SAFE_FIXES: &str = r#"use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{AnyDelimiterCodec, Framed, LinesCodec};

async fn lines(socket: TcpStream) {
    let _lines = Framed::new(socket, LinesCodec::new());
}

async fn records(socket: TcpStream) {
    let _records = Framed::new(socket, AnyDelimiterCodec::new(b",".to_vec(), b";".to_vec()));
}

pub fn upstream(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect(addr)
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("0.0.0.0:9000").await.unwrap();
    loop {
        let (socket, _) = listener.accept().await.unwrap();
        lines(socket).await;
        let (socket, _) = listener.accept().await.unwrap();
        records(socket).await;
    }
}
"#;

/// The code actions of `kinds` (the `only` of the request) anywhere in the document.
fn code_actions_of_kinds(client: &mut Client, uri: &str, kinds: &[&str]) -> Vec<Value> {
    let start =
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } });
    code_actions_in(
        client,
        uri,
        &start,
        json!({ "diagnostics": [], "only": kinds }),
    )
}

#[test]
fn fix_all_applies_every_safe_fix_of_the_document_as_fix_on_save_asks() {
    let (_dir, main, uri, mut client) = fixable_package(TWO_SAFE_FIXES);
    let init = client.initialize(false);
    assert!(
        init["result"]["capabilities"]["codeActionProvider"]["codeActionKinds"]
            .as_array()
            .is_some_and(|kinds| kinds.contains(&json!("source.fixAll.backpressure"))),
        "{init}"
    );
    client.open(&uri, TWO_SAFE_FIXES);
    let published = client.diagnostics(&uri);
    assert_eq!(
        rules(&published["diagnostics"]),
        [
            "connect-without-timeout",
            "unbounded-frame",
            "unbounded-frame"
        ]
    );

    // Quick fixes are not what fix-on-save asks for: only the one source action comes back.
    let actions = code_actions_of_kinds(&mut client, &uri, &["source.fixAll"]);
    assert_eq!(actions.len(), 1, "{actions:?}");
    let all = &actions[0];
    assert_eq!(all["kind"], "source.fixAll.backpressure");
    assert_eq!(
        all["title"],
        "Fix all auto-fixable backpressure findings (2 safe fixes)"
    );
    let fixed = apply_action(TWO_SAFE_FIXES, all, &uri);
    assert!(
        fixed.contains("LinesCodec::new_with_max_length(")
            && fixed.contains("AnyDelimiterCodec::new_with_max_length(")
            && fixed.contains("std::net::TcpStream::connect(addr)"),
        "{fixed}"
    );
    assert_eq!(
        code_actions_of_kinds(&mut client, &uri, &["quickfix"])
            .iter()
            .filter(|a| a["kind"] != "quickfix")
            .count(),
        0
    );

    // What is left is the unsafe fix's finding, and nothing to fix all.
    client.change(&uri, 2, &fixed);
    let published = client.diagnostics(&uri);
    assert_eq!(
        rules(&published["diagnostics"]),
        ["connect-without-timeout"]
    );
    assert_eq!(
        code_actions_of_kinds(&mut client, &uri, &["source"]),
        Vec::<Value>::new()
    );

    // The editor's edits are the command line's: `--fix` writes the same text (and exits 1: the
    // unsafe fix's finding is left).
    assert_cli_writes(&main, "--fix", 1, &fixed);
}

/// Runs the command line with `fix` (`--fix`, `--unsafe-fixes`) in the package of `main`, and
/// checks its exit code and that it wrote `expected` there.
fn assert_cli_writes(main: &Path, fix: &str, code: i32, expected: &str) {
    let root = main.parent().and_then(|src| src.parent()).expect("root");
    let cli = Command::new(env!("CARGO_BIN_EXE_cargo-backpressure"))
        .current_dir(root)
        .args([fix, "--no-cache"])
        .output()
        .expect("cli runs");
    assert_eq!(
        cli.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(std::fs::read_to_string(main).expect("main.rs"), expected);
}
