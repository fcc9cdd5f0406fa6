//! `server-without-timeout`: HTTP and gRPC servers with no header-read or request timeout.
use std::collections::HashSet;

use syn::Expr;

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
}

/// Whether the file uses a timeout layer anywhere (the router may get it in a helper).
struct FileHasTimeoutLayer(bool);

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
        }
    }

    fn file_has_timeout_layer(&self, cx: &mut Context<'_>) -> bool {
        cx.cached(ID, |cx| {
            let mut found = false;
            for (_, body) in fn_bodies(&cx.file.items) {
                for_each_expr_in_block(body, false, &mut |e| {
                    if found {
                        return;
                    }
                    found = match e {
                        Expr::Call(_) => cx.callee(e).is_some_and(|p| self.layers.contains(&p)),
                        // `ServiceBuilder::new().timeout(d)` adds tower's timeout layer.
                        Expr::MethodCall(m) => {
                            m.method == "timeout"
                                && chain_root_ident(&m.receiver).is_none()
                                && builds_service(&m.receiver)
                        }
                        _ => false,
                    };
                });
            }
            FileHasTimeoutLayer(found)
        })
        .0
    }
}

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
        if self.layered.contains(&path) {
            if self.file_has_timeout_layer(cx) {
                return;
            }
            cx.report_at(ID, expr,
                format!("`{what}` serves with no timeout: axum (up to 0.8.9) runs hyper without a timer, so headers are never timed out, and no layer in this file bounds a request: slow clients can hold connections forever"),
                "add `TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, d)` and `RequestBodyTimeoutLayer::new(d)` to the router; for header reads, serve with hyper-util and `.http1().timer(TokioTimer::new()).header_read_timeout(d)` or put a proxy in front",
            );
            return;
        }
        if self.untimed.contains(&path) {
            cx.report_at(ID, expr, format!("`{what}` has no timeout settings: slow clients can hold connections, buffers and tasks forever"), "put a reverse proxy with timeouts in front, or serve the filter through hyper with `.timer(..)` and `header_read_timeout`");
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
        match kind {
            0 => {
                let disabled = methods
                    .iter()
                    .any(|(m, arg)| m == "header_read_timeout" && arg.is_some_and(is_none));
                if disabled {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets `header_read_timeout(None)`: slow clients can take forever to send their headers"), "keep the header-read timeout: `.header_read_timeout(Duration::from_secs(..))` with a timer");
                } else if !has("timer") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `.timer(..)`, so hyper's header-read timeout never fires: slow clients (slowloris) can hold connections forever"), "add `.timer(hyper_util::rt::TokioTimer::new())` (hyper then applies its 30 s header-read default) and an explicit `.header_read_timeout(..)`");
                }
            }
            1 => {
                if !has("http1_header_read_timeout") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `http1_header_read_timeout`: hyper 0.14 has none by default, so slow clients can hold connections forever"), "add `.http1_header_read_timeout(Duration::from_secs(..))` and a timeout layer for request handling");
                }
            }
            2 => {
                if !has("timeout") {
                    cx.report_at(ID, chain, format!("this `{what}` chain sets no `.timeout(..)`: tonic has no request timeout by default, so a slow call holds its stream and buffers until the client gives up"), "add `.timeout(Duration::from_secs(..))` (the effective deadline is the shorter of it and the client's `grpc-timeout`)");
                }
            }
            _ => {
                let zeroed = methods.iter().find(|(m, arg)| self.zero_timeout_methods.contains(m) && arg.is_some_and(|a| is_zero_duration(a) || matches!(a, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")));
                if let Some((m, _)) = zeroed {
                    let message = format!("`.{m}(..)` set to zero turns off actix-web's timeout: slow clients can hold connections forever");
                    cx.report_at(ID, chain, message, "keep the default (5 s for the request head, 1 s for disconnects) or set a positive duration");
                }
            }
        }
    }
}
