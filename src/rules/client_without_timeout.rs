//! `client-without-timeout`: HTTP and gRPC clients built with no timeout.
use std::collections::HashSet;

use syn::Expr;

use super::syntax::{builder_config, for_each_expr_in_block, is_none, written};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "client-without-timeout";

pub struct ClientWithoutTimeout {
    no_timeout_ctors: HashSet<String>,
    builders: HashSet<String>,
    blocking_builders: HashSet<String>,
    default_agents: HashSet<String>,
    total_timeouts: Vec<String>,
}

impl ClientWithoutTimeout {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        ClientWithoutTimeout {
            no_timeout_ctors: keys("no-timeout-constructors"),
            builders: keys("builders"),
            blocking_builders: keys("blocking-builders"),
            default_agents: keys("default-agents"),
            total_timeouts: name_list(doc, "total-timeouts"),
        }
    }

    /// A per-request `.timeout(d)` in the current function covers the requests made there.
    fn function_sets_request_timeout(cx: &Context<'_>) -> bool {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return false;
        };
        let mut found = false;
        for_each_expr_in_block(body, false, &mut |e| {
            if let Expr::MethodCall(m) = e {
                found |= m.method == "timeout"
                    && m.args.first().is_some_and(|a| !is_none(a))
                    && is_request_chain(&m.receiver);
            }
        });
        found
    }

    fn report(cx: &mut Context<'_>, at: &Expr, message: String, help: &str) {
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(at),
            message,
            help: help.to_owned(),
            labels: Vec::new(),
        });
    }
}

/// Whether a receiver chain builds a request: `client.get(url).header(..)`.
fn is_request_chain(mut e: &Expr) -> bool {
    while let Expr::MethodCall(m) = e {
        if matches!(
            m.method.to_string().as_str(),
            "get" | "post" | "put" | "patch" | "delete" | "head" | "request"
        ) {
            return true;
        }
        e = &m.receiver;
    }
    false
}

const TOTAL_HELP: &str = "set `.timeout(Duration::from_secs(..))` on the client (for streaming responses, `.connect_timeout(..)` plus `.read_timeout(..)`), or `.timeout(..)` on each request";

impl Rule for ClientWithoutTimeout {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if !matches!(expr, Expr::Call(_)) {
            return;
        }
        let Some(path) = cx.callee(expr) else { return };
        let what = written(expr);
        if self.no_timeout_ctors.contains(&path) {
            if Self::function_sets_request_timeout(cx) {
                return;
            }
            let message = if path.ends_with("::get") {
                format!("`{what}` builds a client with no timeout for this request: if the server never answers, the request, its connection and this task wait forever")
            } else {
                format!("`{what}` creates a client with no timeout: reqwest sets none by default, so a hung upstream holds each request's connection, buffers and task forever")
            };
            Self::report(cx, expr, message, TOTAL_HELP);
            return;
        }
        if self.default_agents.contains(&path) {
            let major = cx.crate_version_major("ureq");
            let message = match major {
                Some(2) => format!("`{what}` uses ureq 2's default agent: it has a connect timeout but no read or write timeout, so a server that stops sending holds the call forever"),
                _ => format!("`{what}` uses ureq's default agent, which (in ureq 3) has no timeout at all: a hung server holds the call forever"),
            };
            let help = if major == Some(2) {
                "build an agent with `ureq::AgentBuilder::new().timeout(Duration::from_secs(..)).build()` and call through it"
            } else {
                "build an agent with `ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(..))).build()` and call through it"
            };
            Self::report(cx, expr, message, help);
            return;
        }
        let blocking = self.blocking_builders.contains(&path);
        if !blocking && !self.builders.contains(&path) {
            return;
        }
        let (chain, methods) = builder_config(cx, expr);
        let has = |name: &str| {
            methods
                .iter()
                .any(|(m, arg)| m == name && !arg.is_some_and(is_none))
        };
        let disabled = methods
            .iter()
            .any(|(m, arg)| m == "timeout" && arg.is_some_and(is_none));
        if blocking {
            if disabled {
                Self::report(cx, chain, format!("`{what}` with `.timeout(None)` turns off the blocking client's 30 s default: a hung server holds the call forever"), TOTAL_HELP);
            }
            return;
        }
        // The client is not built here (returned or passed on unbuilt): the builder's user decides.
        if !methods
            .iter()
            .any(|(m, _)| matches!(m.as_str(), "build" | "connect" | "connect_lazy"))
        {
            return;
        }
        if self.total_timeouts.iter().any(|t| has(t))
            || (has("connect_timeout") && has("read_timeout"))
            || Self::function_sets_request_timeout(cx)
        {
            return;
        }
        let message = if has("connect_timeout") {
            format!("this `{what}` chain sets only `connect_timeout`: once connected, a server that stops responding holds the request, its buffers and its task forever")
        } else {
            format!("this `{what}` chain builds a client with no timeout: a hung upstream holds each request's connection, buffers and task forever")
        };
        Self::report(cx, chain, message, TOTAL_HELP);
    }
}
