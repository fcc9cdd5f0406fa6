//! `server-without-timeout`: HTTP and gRPC servers with no header-read or request timeout.
use std::collections::HashSet;

use syn::Expr;

use super::network::{local_peer, LocalPeer};
use super::syntax::{
    builder_config, chain_root_ident, fn_bodies, for_each_expr_in_block, is_none, is_zero_duration,
    written,
};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, Rule};

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

/// The timeout layers a file uses anywhere (the router may get them in a helper).
struct FileTimeoutLayers {
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

    fn file_timeout_layers<'c>(&self, cx: &'c mut Context<'_>) -> &'c FileTimeoutLayers {
        cx.cached(ID, |cx| {
            let mut known = false;
            let mut named = None;
            for (_, body) in fn_bodies(&cx.file.items) {
                for_each_expr_in_block(body, false, &mut |e| {
                    if known {
                        return;
                    }
                    known = match e {
                        Expr::Call(_) => cx.callee(e).is_some_and(|p| self.layers.contains(&p)),
                        // `ServiceBuilder::new().timeout(d)` adds tower's timeout layer.
                        Expr::MethodCall(m) => {
                            m.method == "timeout"
                                && chain_root_ident(&m.receiver).is_none()
                                && builds_service(&m.receiver)
                        }
                        _ => false,
                    };
                    if named.is_none() {
                        named = timeout_layer_name(e);
                    }
                });
            }
            FileTimeoutLayers { known, named }
        })
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
            let note = match self.listening(cx, call.args.first(), &[]) {
                Listening::Unix => return,
                Listening::Loopback => LOOPBACK_NOTE,
                Listening::Unknown => "",
            };
            let message = match named {
                Some(layer) => format!("`{what}` serves with no header-read timeout: axum (up to 0.8.9) runs hyper without a timer, so headers are never timed out; `{layer}` in this file may bound request handling, but not the wait for a request's headers{note}"),
                None => format!("`{what}` serves with no timeout: axum (up to 0.8.9) runs hyper without a timer, so headers are never timed out, and no layer in this file bounds a request: slow clients can hold connections forever{note}"),
            };
            cx.report_at(ID, expr, message,
                "add `TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, d)` and `RequestBodyTimeoutLayer::new(d)` to the router; for header reads, serve with hyper-util and `.http1().timer(TokioTimer::new()).header_read_timeout(d)` or put a proxy in front",
            );
            return;
        }
        if self.untimed.contains(&path) {
            let (_, methods) = builder_config(cx, expr);
            let note = match self.listening(cx, None, &methods) {
                Listening::Unix => return,
                Listening::Loopback => LOOPBACK_NOTE,
                Listening::Unknown => "",
            };
            cx.report_at(ID, expr, format!("`{what}` has no timeout settings: slow clients can hold connections, buffers and tasks forever{note}"), "put a reverse proxy with timeouts in front, or serve the filter through hyper with `.timer(..)` and `header_read_timeout`");
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
        match kind {
            0 => {
                let disabled = methods
                    .iter()
                    .any(|(m, arg)| m == "header_read_timeout" && arg.is_some_and(is_none));
                if disabled {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets `header_read_timeout(None)`: slow clients can take forever to send their headers{note}"), "keep the header-read timeout: `.header_read_timeout(Duration::from_secs(..))` with a timer");
                } else if !has("timer") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `.timer(..)`, so hyper's header-read timeout never fires: slow clients (slowloris) can hold connections forever{note}"), "add `.timer(hyper_util::rt::TokioTimer::new())` (hyper then applies its 30 s header-read default) and an explicit `.header_read_timeout(..)`");
                }
            }
            1 => {
                if !has("http1_header_read_timeout") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `http1_header_read_timeout`: hyper 0.14 has none by default, so slow clients can hold connections forever{note}"), "add `.http1_header_read_timeout(Duration::from_secs(..))` and a timeout layer for request handling");
                }
            }
            2 => {
                if !has("timeout") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `.timeout(..)`: tonic has no request timeout by default, so a slow call holds its stream and buffers until the client gives up{note}"), "add `.timeout(Duration::from_secs(..))` (the effective deadline is the shorter of it and the client's `grpc-timeout`)");
                }
            }
            _ => {
                let zeroed = methods.iter().find(|(m, arg)| self.zero_timeout_methods.contains(m) && arg.is_some_and(|a| is_zero_duration(a) || matches!(a, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")));
                if let Some((m, _)) = zeroed {
                    let message = format!("`.{m}(..)` set to zero turns off actix-web's timeout: slow clients can hold connections forever{note}");
                    cx.report_at(ID, chain, message, "keep the default (5 s for the request head, 1 s for disconnects) or set a positive duration");
                }
            }
        }
    }
}
