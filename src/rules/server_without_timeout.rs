//! `server-without-timeout`: HTTP and gRPC servers with no header-read or request timeout.
use std::collections::HashSet;

use syn::Expr;

use super::network::{local_peer, LocalPeer};
use super::syntax::{
    builder_config, chain_root_ident, fn_bodies, for_each_expr, for_each_expr_in_block, ident_of,
    is_none, is_zero_duration, peel, written,
};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "server-without-timeout";

pub struct ServerWithoutTimeout {
    layered: HashSet<String>,
    layers: HashSet<String>,
    timer_builders: HashSet<String>,
    header_timeout_builders: HashSet<String>,
    timeout_builders: HashSet<String>,
    zero_timeout_builders: HashSet<String>,
    zero_timeout_methods: Vec<String>,
    untimed: HashSet<String>,
    /// Methods of a builder chain whose first argument is what the server listens on.
    listen_methods: Vec<String>,
    /// Methods of a builder chain that listen on a Unix socket.
    unix_listen_methods: Vec<String>,
}

/// The timeout layers a file (or an expression) shows.
#[derive(Default)]
struct TimeoutLayers {
    /// A catalogued layer, or tower's `ServiceBuilder::timeout`.
    known: bool,
    /// A layer type the catalogue does not know whose name says it is one (`DynamicTimeoutLayer`).
    named: Option<String>,
}

/// Where a server listens, as far as the file shows.
enum Listening {
    /// Only on Unix sockets or in-memory pipes: no remote client reaches it.
    Unix,
    /// Only on this host (loopback, or loopback and Unix sockets).
    Loopback,
    /// Anywhere, or not shown.
    Unknown,
}

impl ServerWithoutTimeout {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        ServerWithoutTimeout {
            layered: keys("layered-servers"),
            layers: keys("timeout-layers"),
            timer_builders: keys("timer-builders"),
            header_timeout_builders: keys("header-timeout-builders"),
            timeout_builders: keys("timeout-builders"),
            zero_timeout_builders: keys("zero-timeout-builders"),
            zero_timeout_methods: name_list(doc, "zero-timeout-methods"),
            untimed: keys("untimed-servers"),
            listen_methods: name_list(doc, "listen-methods"),
            unix_listen_methods: name_list(doc, "unix-listen-methods"),
        }
    }

    /// Where the server listens: the address, listener or accepted stream it is given, either as
    /// the constructor's argument (`axum::serve(listener, ..)`, `Server::bind(&addr)`) or to a
    /// listening method of its chain (`.serve(addr)`, `.serve_connection(io, ..)`, `.bind(addr)`).
    fn listening<'ast>(
        &self,
        cx: &Context<'ast>,
        ctor_arg: Option<&'ast Expr>,
        methods: &[(String, Option<&'ast Expr>)],
    ) -> Listening {
        let mut unix_only = true;
        let mut seen = false;
        let listened = methods
            .iter()
            .filter_map(|(m, arg)| {
                let unix = self.unix_listen_methods.contains(m);
                // `.run()` with no address only starts what `.bind(..)` set up.
                (arg.is_some() && (unix || self.listen_methods.contains(m))).then_some((unix, *arg))
            })
            .chain(ctor_arg.map(|a| (false, Some(a))));
        for (unix, arg) in listened {
            seen = true;
            if unix {
                continue;
            }
            match arg.and_then(|a| local_peer(cx, a)) {
                Some(LocalPeer::Unix | LocalPeer::Memory) => {}
                Some(LocalPeer::Loopback) => unix_only = false,
                None => return Listening::Unknown,
            }
        }
        match (seen, unix_only) {
            (false, _) => Listening::Unknown,
            (true, true) => Listening::Unix,
            (true, false) => Listening::Loopback,
        }
    }

    /// Adds what one expression node shows to `found`.
    fn note_layer(&self, cx: &Context<'_>, e: &Expr, found: &mut TimeoutLayers) {
        if found.known {
            return;
        }
        found.known = match e {
            Expr::Call(_) => cx.callee(e).is_some_and(|p| self.layers.contains(&p)),
            // `ServiceBuilder::new().timeout(d)` adds tower's timeout layer.
            Expr::MethodCall(m) => {
                m.method == "timeout"
                    && chain_root_ident(&m.receiver).is_none()
                    && builds_service(&m.receiver)
            }
            _ => false,
        };
        if found.named.is_none() {
            found.named = timeout_layer_name(e);
        }
    }

    fn file_timeout_layers<'c>(&self, cx: &'c mut Context<'_>) -> &'c TimeoutLayers {
        cx.cached(ID, |cx| {
            let mut found = TimeoutLayers::default();
            for (_, body) in fn_bodies(&cx.file.items) {
                for_each_expr_in_block(body, false, &mut |e| self.note_layer(cx, e, &mut found));
            }
            found
        })
    }

    /// The timeout layers the `.layer(..)` arguments of a builder chain show: written in the
    /// argument, or in the `let` of the local it names (`let layers = ServiceBuilder::new()
    /// .timeout(d); Server::builder().layer(layers)`).
    fn chain_timeout_layers(
        &self,
        cx: &Context<'_>,
        methods: &[(String, Option<&Expr>)],
    ) -> TimeoutLayers {
        let mut found = TimeoutLayers::default();
        for (_, arg) in methods.iter().filter(|(m, _)| m == "layer") {
            let Some(arg) = arg else { continue };
            for_each_expr(arg, false, &mut |e| self.note_layer(cx, e, &mut found));
            let init = ident_of(peel(arg))
                .and_then(|name| cx.binding(&name))
                .and_then(|b| b.init);
            if let Some(init) = init {
                for_each_expr(init, false, &mut |e| self.note_layer(cx, e, &mut found));
            }
        }
        found
    }
}

/// Reports at `node`, at medium confidence when `medium` says where the evidence stops.
fn report(
    cx: &mut Context<'_>,
    node: &impl syn::spanned::Spanned,
    message: String,
    help: &str,
    medium: Option<String>,
) {
    let finding = RawFinding {
        rule: ID,
        range: cx.range(node),
        message,
        help: help.to_owned(),
        labels: Vec::new(),
        fix: None,
    };
    match medium {
        Some(reason) => cx.report_medium(finding, reason),
        None => cx.report(finding),
    }
}

/// Why a finding is medium: the clients are on this host, or the layer is the crate's own.
fn medium_reason(listening: &Listening, named: Option<&str>) -> Option<String> {
    let loopback = matches!(listening, Listening::Loopback);
    match (named, loopback) {
        (Some(layer), true) => Some(format!("the server listens on loopback only, and `{layer}` is the crate's own layer, whose behaviour is not visible here")),
        (Some(layer), false) => Some(format!("`{layer}` is the crate's own layer: whether it bounds requests is not visible here")),
        (None, true) => Some("the server listens on loopback only: its clients are on this host, and only a proxy or sidecar there can forward slow clients".to_owned()),
        (None, false) => None,
    }
}

/// A path or struct literal naming a timeout layer type: `DynamicTimeoutLayer::new(..)`.
fn timeout_layer_name(e: &Expr) -> Option<String> {
    let path = match e {
        Expr::Path(p) => &p.path,
        Expr::Struct(s) => &s.path,
        _ => return None,
    };
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .find(|name| name.ends_with("TimeoutLayer"))
}

/// The clause added to a message when the server listens only on loopback.
const LOOPBACK_NOTE: &str = " (it listens on loopback only, so its clients are on this host, but a reverse proxy or sidecar there still forwards slow clients)";

/// Whether a receiver chain starts at `ServiceBuilder::new()`.
fn builds_service(mut e: &Expr) -> bool {
    loop {
        match e {
            Expr::MethodCall(m) => e = &m.receiver,
            Expr::Call(c) => {
                return matches!(&*c.func, Expr::Path(p) if p.path.segments.iter().any(|s| s.ident == "ServiceBuilder"))
            }
            _ => return false,
        }
    }
}

impl Rule for ServerWithoutTimeout {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if !matches!(expr, Expr::Call(_)) {
            return;
        }
        let Some(path) = cx.callee(expr) else { return };
        let what = written(expr);
        let Expr::Call(call) = expr else { return };
        if self.layered.contains(&path) {
            let layers = self.file_timeout_layers(cx);
            if layers.known {
                return;
            }
            let named = layers.named.clone();
            let listening = self.listening(cx, call.args.first(), &[]);
            let note = match listening {
                Listening::Unix => return,
                Listening::Loopback => LOOPBACK_NOTE,
                Listening::Unknown => "",
            };
            let medium = medium_reason(&listening, named.as_deref());
            let message = match named {
                Some(layer) => format!("`{what}` serves with no header-read timeout: axum (up to 0.8.9) runs hyper without a timer, so headers are never timed out; `{layer}` in this file may bound request handling, but not the wait for a request's headers{note}"),
                None => format!("`{what}` serves with no timeout: axum (up to 0.8.9) runs hyper without a timer, so headers are never timed out, and no layer in this file bounds a request: slow clients can hold connections forever{note}"),
            };
            report(cx, expr, message,
                "add `TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, d)` and `RequestBodyTimeoutLayer::new(d)` to the router; for header reads, serve with hyper-util and `.http1().timer(TokioTimer::new()).header_read_timeout(d)` or put a proxy in front",
                medium,
            );
            return;
        }
        if self.untimed.contains(&path) {
            let (_, methods) = builder_config(cx, expr);
            let listening = self.listening(cx, None, &methods);
            let note = match listening {
                Listening::Unix => return,
                Listening::Loopback => LOOPBACK_NOTE,
                Listening::Unknown => "",
            };
            let medium = medium_reason(&listening, None);
            report(cx, expr, format!("`{what}` has no timeout settings: slow clients can hold connections, buffers and tasks forever{note}"), "put a reverse proxy with timeouts in front, or serve the filter through hyper with `.timer(..)` and `header_read_timeout`", medium);
            return;
        }
        let kind = if self.timer_builders.contains(&path) {
            0
        } else if self.header_timeout_builders.contains(&path) {
            1
        } else if self.timeout_builders.contains(&path) {
            2
        } else if self.zero_timeout_builders.contains(&path) {
            3
        } else {
            return;
        };
        let (chain, methods) = builder_config(cx, expr);
        let has = |name: &str| methods.iter().any(|(m, _)| m == name);
        // A builder stored or returned unserved (a library's own constructor) is its user's to configure.
        let served = methods.iter().any(|(m, _)| {
            m.starts_with("serve")
                || matches!(m.as_str(), "add_service" | "add_routes" | "run" | "bind")
        });
        if !served && kind < 3 {
            return;
        }
        // hyper 0.14's `Server::bind(&addr)` and `Server::builder(incoming)` take the address.
        let listening = if kind == 1 {
            self.listening(cx, call.args.first(), &[])
        } else {
            self.listening(cx, None, &methods)
        };
        let note = match listening {
            Listening::Unix => return,
            Listening::Loopback => LOOPBACK_NOTE,
            Listening::Unknown => "",
        };
        let mut medium = medium_reason(&listening, None);
        match kind {
            0 => {
                let disabled = methods
                    .iter()
                    .any(|(m, arg)| m == "header_read_timeout" && arg.is_some_and(is_none));
                if disabled {
                    report(cx, chain, format!("this `{what}` chain sets `header_read_timeout(None)`: slow clients can take forever to send their headers{note}"), "keep the header-read timeout: `.header_read_timeout(Duration::from_secs(..))` with a timer", medium);
                } else if !has("timer") {
                    report(cx, chain, format!("this `{what}` chain sets no `.timer(..)`, so hyper's header-read timeout never fires: slow clients (slowloris) can hold connections forever{note}"), "add `.timer(hyper_util::rt::TokioTimer::new())` (hyper then applies its 30 s header-read default) and an explicit `.header_read_timeout(..)`", medium);
                }
            }
            1 => {
                if !has("http1_header_read_timeout") {
                    report(cx, chain, format!("this `{what}` chain sets no `http1_header_read_timeout`: hyper 0.14 has none by default, so slow clients can hold connections forever{note}"), "add `.http1_header_read_timeout(Duration::from_secs(..))` and a timeout layer for request handling", medium);
                }
            }
            2 => {
                // A tower timeout layer on the server bounds each request as `.timeout(..)` does.
                let layers = self.chain_timeout_layers(cx, &methods);
                if !has("timeout") && !layers.known {
                    let message = match &layers.named {
                        Some(layer) => format!("this `{what}` chain sets no `.timeout(..)`: tonic has no request timeout by default; `{layer}` on it may bound requests, but what it does is not visible here{note}"),
                        None => format!("this `{what}` chain sets no `.timeout(..)`: tonic has no request timeout by default, so a slow call holds its stream and buffers until the client gives up{note}"),
                    };
                    medium = medium_reason(&listening, layers.named.as_deref());
                    report(cx, chain, message, "add `.timeout(Duration::from_secs(..))` (the effective deadline is the shorter of it and the client's `grpc-timeout`)", medium);
                }
            }
            _ => {
                let zeroed = methods.iter().find(|(m, arg)| self.zero_timeout_methods.contains(m) && arg.is_some_and(|a| is_zero_duration(a) || matches!(a, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")));
                if let Some((m, _)) = zeroed {
                    let message = format!("`.{m}(..)` set to zero turns off actix-web's timeout: slow clients can hold connections forever{note}");
                    report(cx, chain, message, "keep the default (5 s for the request head, 1 s for disconnects) or set a positive duration", medium);
                }
            }
        }
    }
}
