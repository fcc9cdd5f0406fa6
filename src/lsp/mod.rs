//! `cargo backpressure lsp`: the linter as a language server over stdio. Each open document is
//! judged from its unsaved text as a run over its workspace would judge the file on disk
//! ([`run::analyse_source`]: its package and role in the crate model, the configuration found from
//! the file, package tables, overrides, suppressions, `min-confidence`). Diagnostics are published
//! on open, change (full sync) and save; hovering a diagnostic shows its rule's `--explain` text;
//! code actions offer each finding's fix (a safe one preferred, an unsafe one titled so) and a
//! suppression comment. The configuration is looked up again on open, save and watched-file
//! changes and re-read when its text changed; an error in it is a `window/showMessage`.
//!
//! Nothing a client sends stops the server but `exit` or the end of its input: a malformed frame is
//! answered with a parse error ([`transport`]), an unknown request with `MethodNotFound`, bad
//! parameters with `InvalidParams`, and a panic while handling a message with `InternalError`.
pub mod actions;
pub mod convert;
pub mod transport;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams, Diagnostic,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    HoverParams, HoverProviderCapability, MarkupContent, MarkupKind, MessageType,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ShowMessageParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};

use crate::catalogue::Catalogue;
use crate::config::{self, Config, Levels, Located};
use crate::crate_model::CrateModel;
use crate::diag::{Confidence, Finding, NotAnalysed};
use crate::engine::Engine;
use crate::project;
use crate::run::{self, Outcome, RunOptions};

use convert::Utf16Index;

/// Exit status after `shutdown` then `exit`.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status when the input ends, or `exit` comes, without a `shutdown` first (as LSP asks).
pub const EXIT_UNCLEAN: u8 = 1;
/// Exit status when the server could not start its threads.
pub const EXIT_ERROR: u8 = 2;

/// Messages read ahead of the handler (each at most `transport::MAX_MESSAGE_BYTES`).
const READ_AHEAD_MESSAGES: usize = 16;

/// Serves LSP on standard input and output until `exit` or the end of input; returns the exit status.
pub fn serve() -> u8 {
    // Reads ahead of the handler so that a burst of changes is judged once, at its last text; a
    // client that writes faster than the server judges waits on the pipe, not on our memory.
    let (sender, receiver) = mpsc::sync_channel(READ_AHEAD_MESSAGES);
    let reader = std::thread::Builder::new()
        .name("backpressure-lsp-reader".to_owned())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            loop {
                let incoming = transport::read(&mut input);
                let closed = matches!(incoming, transport::Incoming::Closed);
                let exit = matches!(&incoming, transport::Incoming::Message(Message::Notification(n)) if n.method == note::Exit::METHOD);
                if sender.send(incoming).is_err() || closed || exit {
                    break;
                }
            }
        });
    if reader.is_err() {
        log("cannot start the reader thread");
        return EXIT_ERROR;
    }
    // The engine recurses as deep as a run's workers do: give the handler their stack.
    let handler = std::thread::Builder::new()
        .name("backpressure-lsp".to_owned())
        .stack_size(run::WORKER_STACK_BYTES)
        .spawn(move || {
            let stdout = std::io::stdout();
            let mut server = Server::new(stdout.lock());
            server.serve(&receiver)
        });
    match handler.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            log("the server stopped on an internal error");
            EXIT_ERROR
        }
    }
}

/// One line to standard error, the server's log (standard output carries the protocol).
fn log(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "cargo-backpressure lsp: {line}");
}

/// An open document.
struct Document {
    text: String,
    version: i32,
    /// `None` for a URI that names no local file: such a buffer is not judged.
    path: Option<PathBuf>,
    /// The findings last published for `text`; `None` when the text changed since.
    findings: Option<Vec<Finding>>,
}

/// The configuration of one workspace, ready to analyse with.
struct Settings {
    config: Arc<Config>,
    levels: Levels,
    engine: Engine,
    min_confidence: Confidence,
}

/// A configuration as last read: its text decides whether it must be read again.
struct Loaded {
    located: Option<Located>,
    text: Option<String>,
    settings: Result<Arc<Settings>, String>,
}

struct Server<W: Write> {
    output: W,
    initialized: bool,
    shutdown: bool,
    watch_registration: bool,
    documents: HashMap<Uri, Document>,
    /// One per configuration file found (and one for none).
    configs: Vec<Loaded>,
    /// The crate model each document's file was judged in; dropped when a file is saved or a
    /// watched file changes (a `mod` line or a manifest may have changed).
    models: HashMap<PathBuf, Arc<CrateModel>>,
    /// Error messages already shown, so that typing does not repeat them.
    shown: HashSet<String>,
    next_request: i32,
}

impl<W: Write> Server<W> {
    fn new(output: W) -> Self {
        Server {
            output,
            initialized: false,
            shutdown: false,
            watch_registration: false,
            documents: HashMap::new(),
            configs: Vec::new(),
            models: HashMap::new(),
            shown: HashSet::new(),
            next_request: 0,
        }
    }

    fn serve(&mut self, receiver: &mpsc::Receiver<transport::Incoming>) -> u8 {
        while let Ok(first) = receiver.recv() {
            let mut next = Some(first);
            while let Some(incoming) = next.take() {
                match incoming {
                    transport::Incoming::Closed => return EXIT_UNCLEAN,
                    transport::Incoming::Malformed(why) => {
                        log(&why);
                        let _ = transport::write_parse_error(&mut self.output, &why);
                    }
                    transport::Incoming::Message(message) => {
                        if let Some(code) = self.handle_guarded(message) {
                            return code;
                        }
                    }
                }
                next = receiver.try_recv().ok();
            }
            // The queue is drained: judge the documents that changed, once each. A bug there
            // costs those documents their diagnostics until they change again, not the server.
            if catch_unwind(AssertUnwindSafe(|| self.publish_stale())).is_err() {
                log("internal error while judging the changed documents");
                for doc in self.documents.values_mut() {
                    doc.findings.get_or_insert_with(Vec::new);
                }
            }
        }
        EXIT_UNCLEAN
    }

    fn send(&mut self, message: impl Into<Message>) {
        if transport::write(&mut self.output, &message.into()).is_err() {
            log("cannot write to standard output");
        }
    }

    fn notify<N: lsp_types::notification::Notification>(&mut self, params: N::Params) {
        self.send(Notification::new(N::METHOD.to_owned(), params));
    }

    fn show_error(&mut self, message: String) {
        if self.shown.insert(message.clone()) {
            log(&message);
            self.notify::<note::ShowMessage>(ShowMessageParams {
                typ: MessageType::ERROR,
                message,
            });
        }
    }

    /// Handles one message; a panic in a handler answers the request (if it was one) and the
    /// server goes on. Returns the exit status once `exit` came.
    fn handle_guarded(&mut self, message: Message) -> Option<u8> {
        let id = match &message {
            Message::Request(r) => Some(r.id.clone()),
            _ => None,
        };
        match catch_unwind(AssertUnwindSafe(|| self.handle(message))) {
            Ok(exit) => exit,
            Err(_) => {
                log("internal error while handling a message");
                if let Some(id) = id {
                    self.send(Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "internal error".to_owned(),
                    ));
                }
                None
            }
        }
    }

    fn handle(&mut self, message: Message) -> Option<u8> {
        match message {
            Message::Request(request) => {
                self.request(request);
                None
            }
            Message::Notification(n) if n.method == note::Exit::METHOD => Some(if self.shutdown {
                EXIT_CLEAN
            } else {
                EXIT_UNCLEAN
            }),
            Message::Notification(n) => {
                if self.initialized && !self.shutdown {
                    self.notification(n);
                }
                None
            }
            // Answers to our own requests (the watcher registration): nothing to do.
            Message::Response(_) => None,
        }
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params } = request;
        if method == req::Initialize::METHOD {
            let response = self.initialize(params);
            return self.send(Response::new_ok(id, response));
        }
        if !self.initialized {
            return self.send(Response::new_err(
                id,
                ErrorCode::ServerNotInitialized as i32,
                format!("`{method}` before `initialize`"),
            ));
        }
        if self.shutdown {
            return self.send(Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                format!("`{method}` after `shutdown`"),
            ));
        }
        let result = match method.as_str() {
            req::Shutdown::METHOD => {
                self.shutdown = true;
                Ok(serde_json::Value::Null)
            }
            req::HoverRequest::METHOD => parse::<HoverParams>(params).map(|p| self.hover(p)),
            req::CodeActionRequest::METHOD => {
                parse::<CodeActionParams>(params).map(|p| self.code_actions(p))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("`{method}` is not served"),
            )),
        };
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response);
    }

    fn initialize(&mut self, params: serde_json::Value) -> serde_json::Value {
        self.initialized = true;
        self.watch_registration = params
            .pointer("/capabilities/workspace/didChangeWatchedFiles/dynamicRegistration")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let capabilities = ServerCapabilities {
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::FULL),
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(false),
                    })),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            code_action_provider: Some(lsp_types::CodeActionProviderCapability::Options(
                CodeActionOptions {
                    code_action_kinds: Some(vec![
                        CodeActionKind::QUICKFIX,
                        actions::fix_all_kind(),
                    ]),
                    ..CodeActionOptions::default()
                },
            )),
            ..ServerCapabilities::default()
        };
        serde_json::json!({
            "capabilities": capabilities,
            "serverInfo": { "name": "cargo-backpressure", "version": env!("CARGO_PKG_VERSION") },
        })
    }

    fn notification(&mut self, n: Notification) {
        let Notification { method, params } = n;
        match method.as_str() {
            note::Initialized::METHOD => self.register_watchers(),
            note::DidOpenTextDocument::METHOD => {
                if let Ok(p) = parse::<DidOpenTextDocumentParams>(params) {
                    let doc = p.text_document;
                    let path = convert::file_path(&doc.uri);
                    self.documents.insert(
                        doc.uri.clone(),
                        Document {
                            text: doc.text,
                            version: doc.version,
                            path,
                            findings: None,
                        },
                    );
                    self.reload_configs();
                    self.refresh(&doc.uri);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Ok(p) = parse::<DidChangeTextDocumentParams>(params) {
                    let uri = p.text_document.uri;
                    // Full sync: the last change holds the whole text.
                    if let (Some(doc), Some(change)) = (
                        self.documents.get_mut(&uri),
                        p.content_changes.into_iter().last(),
                    ) {
                        doc.text = change.text;
                        doc.version = p.text_document.version;
                        doc.findings = None;
                    }
                }
            }
            // Whatever the file: a saved `mod` line or manifest changes the crate model.
            note::DidSaveTextDocument::METHOD => self.files_changed(),
            note::DidChangeWatchedFiles::METHOD => self.files_changed(),
            note::DidCloseTextDocument::METHOD => {
                if let Ok(p) = parse::<DidCloseTextDocumentParams>(params) {
                    let uri = p.text_document.uri;
                    if let Some(doc) = self.documents.remove(&uri) {
                        if let Some(path) = doc.path {
                            self.models.remove(&path);
                        }
                    }
                    self.publish(uri, Vec::new(), None);
                }
            }
            // `$/cancelRequest`, `$/setTrace` and the rest: every request is answered at once.
            _ => {}
        }
    }

    /// Asks the client to tell us when a configuration file or manifest changes (editors that
    /// cannot still get the reload on open and save).
    fn register_watchers(&mut self) {
        if !self.watch_registration {
            return;
        }
        let watchers: Vec<lsp_types::FileSystemWatcher> = [
            format!("**/{}", config::FILE_NAME),
            "**/Cargo.toml".to_owned(),
        ]
        .into_iter()
        .map(|glob| lsp_types::FileSystemWatcher {
            glob_pattern: lsp_types::GlobPattern::String(glob),
            kind: None,
        })
        .collect();
        let registration = lsp_types::Registration {
            id: "backpressure-config-watch".to_owned(),
            method: note::DidChangeWatchedFiles::METHOD.to_owned(),
            register_options: serde_json::to_value(
                lsp_types::DidChangeWatchedFilesRegistrationOptions { watchers },
            )
            .ok(),
        };
        self.next_request += 1;
        let id = RequestId::from(format!("backpressure-{}", self.next_request));
        self.send(Request::new(
            id,
            req::RegisterCapability::METHOD.to_owned(),
            lsp_types::RegistrationParams {
                registrations: vec![registration],
            },
        ));
    }

    /// A file was saved or a watched file changed: the module trees and configurations are read
    /// again, and every open document judged again.
    fn files_changed(&mut self) {
        self.models.clear();
        self.reload_configs();
        for doc in self.documents.values_mut() {
            doc.findings = None;
        }
    }

    /// Drops the configurations whose file moved, appeared, or changed text: the next analysis
    /// reads them again.
    fn reload_configs(&mut self) {
        self.configs.retain(|loaded| {
            let text = loaded.located.as_ref().and_then(|l| config_text(&l.file));
            text == loaded.text
        });
        // A configuration that appeared above a file changes what `locate` finds for it; the
        // cache is keyed by what was found, so lookups re-locate each time (a few `stat`s).
    }

    /// The settings for `path`, reading its configuration if it was not read yet.
    fn settings_for(&mut self, path: &Path) -> Result<Arc<Settings>, String> {
        let located = project::config_of(path);
        if let Some(loaded) = self.configs.iter().find(|c| c.located == located) {
            return loaded.settings.clone();
        }
        let text = located.as_ref().and_then(|l| config_text(&l.file));
        let base = base_dir(path);
        let catalogue = Catalogue::global();
        let settings = config::discover(None, located.as_ref(), &base, catalogue)
            .map(|config| {
                let levels = run::configured_levels(catalogue, &config);
                let engine = run::build_engine_with(
                    catalogue,
                    config.include_tests.unwrap_or(false),
                    true,
                    &config.options,
                    &config.api,
                );
                Arc::new(Settings {
                    min_confidence: config.min_confidence.unwrap_or(Confidence::Medium),
                    config: Arc::new(config),
                    levels,
                    engine,
                })
            })
            .map_err(|e| format!("backpressure configuration: {}", e.render().trim_end()));
        if settings.is_ok() {
            // Fixed: the same error, made again, is worth showing again.
            self.shown.clear();
        }
        self.configs.push(Loaded {
            located,
            text,
            settings: settings.clone(),
        });
        settings
    }

    fn model_for(&mut self, path: &Path) -> Arc<CrateModel> {
        self.models
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let model = CrateModel::build(std::iter::once(path));
                // What a run prints as `note:` (a manifest that does not parse) goes to the log.
                for note in &model.notes {
                    log(&format!("note: {note}"));
                }
                Arc::new(model)
            })
            .clone()
    }

    /// The findings of the document's current text, judged now if it changed since the last time.
    fn analyse(&mut self, uri: &Uri) -> Option<Vec<Finding>> {
        let doc = self.documents.get(uri)?;
        if let Some(findings) = &doc.findings {
            return Some(findings.clone());
        }
        let (path, text) = (doc.path.clone(), doc.text.clone());
        let findings = match path {
            Some(path) => self.analyse_text(&path, &text),
            None => Vec::new(),
        };
        if let Some(doc) = self.documents.get_mut(uri) {
            doc.findings = Some(findings.clone());
        }
        Some(findings)
    }

    fn analyse_text(&mut self, path: &Path, text: &str) -> Vec<Finding> {
        let settings = match self.settings_for(path) {
            Ok(s) => s,
            Err(message) => {
                self.show_error(message);
                return Vec::new();
            }
        };
        let model = self.model_for(path);
        if let Some(error) = model.config_errors.first() {
            // As a run stops at an error in a package's table, the package's files wait for its fix.
            self.show_error(format!("backpressure configuration: {}", error.trim_end()));
            return Vec::new();
        }
        let options = RunOptions {
            include_tests: settings.config.include_tests.unwrap_or(false),
            include_generated: settings.config.include_generated.unwrap_or(false),
            max_file_bytes: settings
                .config
                .max_file_size
                .unwrap_or(run::DEFAULT_MAX_FILE_BYTES),
            threads: 1,
            base_dir: base_dir(path),
            config: settings.config.clone(),
        };
        let mut result = run::analyse_source(
            &settings.engine,
            &settings.levels,
            &model,
            path,
            text,
            &options,
        );
        result.drop_below(settings.min_confidence);
        match result.outcome {
            Outcome::Analysed { findings } => findings,
            // A buffer mid-edit rarely parses; the compiler's own server reports that.
            Outcome::NotAnalysed(NotAnalysed::Syntax { .. }) | Outcome::Exempt(_) => Vec::new(),
            Outcome::NotAnalysed(reason) => {
                log(&format!("{} not analysed: {reason}", path.display()));
                Vec::new()
            }
        }
    }

    /// Judges the document if its text changed, and publishes its diagnostics.
    fn refresh(&mut self, uri: &Uri) {
        let stale = self
            .documents
            .get(uri)
            .is_some_and(|doc| doc.findings.is_none());
        if !stale {
            return;
        }
        let Some(findings) = self.analyse(uri) else {
            return;
        };
        let Some(doc) = self.documents.get(uri) else {
            return;
        };
        let index = Utf16Index::new(&doc.text);
        let diagnostics = findings
            .iter()
            .map(|f| convert::diagnostic(f, &index, uri))
            .collect();
        let version = doc.version;
        self.publish(uri.clone(), diagnostics, Some(version));
    }

    fn publish_stale(&mut self) {
        let mut stale: Vec<Uri> = self
            .documents
            .iter()
            .filter(|(_, d)| d.findings.is_none())
            .map(|(uri, _)| uri.clone())
            .collect();
        stale.sort();
        for uri in stale {
            self.refresh(&uri);
        }
    }

    fn publish(&mut self, uri: Uri, diagnostics: Vec<Diagnostic>, version: Option<i32>) {
        self.notify::<note::PublishDiagnostics>(PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        });
    }

    /// The findings of `uri` (judged now if stale, and published) with their diagnostics.
    fn current(&mut self, uri: &Uri) -> Vec<(Finding, Diagnostic)> {
        self.refresh(uri);
        let Some(findings) = self.analyse(uri) else {
            return Vec::new();
        };
        let Some(doc) = self.documents.get(uri) else {
            return Vec::new();
        };
        let index = Utf16Index::new(&doc.text);
        findings
            .into_iter()
            .map(|f| {
                let d = convert::diagnostic(&f, &index, uri);
                (f, d)
            })
            .collect()
    }

    fn hover(&mut self, params: HoverParams) -> serde_json::Value {
        let at = params.text_document_position_params;
        let uri = at.text_document.uri;
        let hit: Vec<(Finding, Diagnostic)> = self
            .current(&uri)
            .into_iter()
            .filter(|(_, d)| convert::contains(&d.range, at.position))
            .collect();
        let Some((_, first)) = hit.first() else {
            return serde_json::Value::Null;
        };
        let range = first.range;
        let mut rules: Vec<&str> = hit.iter().map(|(f, _)| f.rule.as_str()).collect();
        rules.dedup();
        let catalogue = Catalogue::global();
        let text = rules
            .iter()
            .filter_map(|rule| catalogue.get(rule))
            .map(|doc| {
                let mut text = crate::docs::explain(doc);
                text.push_str(&format!("\n{}\n", crate::docs::page_url(&doc.id)));
                text
            })
            .collect::<Vec<_>>()
            .join("\n");
        if text.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::to_value(lsp_types::Hover {
            contents: lsp_types::HoverContents::Markup(MarkupContent {
                kind: MarkupKind::PlainText,
                value: text,
            }),
            range: Some(range),
        })
        .unwrap_or_default()
    }

    fn code_actions(&mut self, params: CodeActionParams) -> serde_json::Value {
        let uri = params.text_document.uri;
        let wanted = |kind: &CodeActionKind| {
            params
                .context
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| kind.as_str().starts_with(o.as_str())))
        };
        let quick_fixes = wanted(&CodeActionKind::QUICKFIX);
        let fix_all = wanted(&actions::fix_all_kind());
        if !quick_fixes && !fix_all {
            return serde_json::json!([]);
        }
        let found = self.current(&uri);
        let Some(doc) = self.documents.get(&uri) else {
            return serde_json::json!([]);
        };
        let index = Utf16Index::new(&doc.text);
        let mut actions: Vec<CodeActionOrCommand> = Vec::new();
        if quick_fixes {
            let here = found
                .iter()
                .filter(|(_, d)| convert::overlaps(&d.range, &params.range))
                .map(|(f, d)| (f, d));
            actions.extend(
                actions::actions_for_findings(here, &index, &uri)
                    .into_iter()
                    .map(CodeActionOrCommand::CodeAction),
            );
        }
        // The whole document's, wherever the request points: what fix-on-save asks for.
        if fix_all {
            actions.extend(
                actions::fix_all_action(found.iter().map(|(f, _)| f), &index, &uri)
                    .map(CodeActionOrCommand::CodeAction),
            );
        }
        serde_json::to_value(actions).unwrap_or_default()
    }
}

/// A request's or notification's parameters, or the error that answers them.
fn parse<P: serde::de::DeserializeOwned>(
    params: serde_json::Value,
) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(params).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

/// A configuration file's text, read as a run reads it (a FIFO there is refused, never waited on).
fn config_text(path: &Path) -> Option<String> {
    crate::input::read_regular_text(path, config::MAX_CONFIG_BYTES).ok()
}

/// The folder a document's paths are judged from: its workspace root, or its own folder.
fn base_dir(path: &Path) -> PathBuf {
    let folder = path.parent().unwrap_or(path);
    project::workspace_root(folder).unwrap_or_else(|| folder.to_path_buf())
}
