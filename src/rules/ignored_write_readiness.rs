//! `ignored-write-readiness`: discarded `poll_*` readiness, discarded short-write byte counts,
//! `start_send` without `poll_ready`, and h2 `send_data` without reserved capacity.
use syn::{Expr, Stmt};

use super::syntax::{discarded_value, for_each_expr_in_block, peel};
use super::{name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "ignored-write-readiness";

pub struct IgnoredWriteReadiness {
    polls: Vec<String>,
    writes: Vec<String>,
    discarding: Vec<String>,
    sink: Vec<String>,
    sink_readiness: Vec<String>,
    h2: Vec<String>,
    h2_capacity: Vec<String>,
}

impl IgnoredWriteReadiness {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        IgnoredWriteReadiness {
            polls: name_list(doc, "poll-methods"),
            writes: name_list(doc, "write-methods"),
            discarding: name_list(doc, "discarding-methods"),
            sink: name_list(doc, "sink-methods"),
            sink_readiness: name_list(doc, "sink-readiness"),
            h2: name_list(doc, "h2-methods"),
            h2_capacity: name_list(doc, "h2-capacity"),
        }
    }

    /// The readiness call a discarded value hides, looking through `?`, `.await` and discarding methods.
    /// `visible_result` is whether the value was visibly a `Result` (needed for `write`).
    fn hidden_call<'e>(&self, value: &'e Expr, in_let: bool) -> Option<&'e syn::ExprMethodCall> {
        let mut e = value;
        let mut visible_result = in_let;
        loop {
            e = match e {
                Expr::Try(t) => {
                    visible_result = true;
                    &t.expr
                }
                Expr::Await(a) => {
                    visible_result = true;
                    &a.base
                }
                Expr::Paren(p) => &p.expr,
                Expr::MethodCall(m) if self.discarding.iter().any(|d| m.method == d) => {
                    visible_result = true;
                    &m.receiver
                }
                _ => break,
            };
        }
        let Expr::MethodCall(m) = e else { return None };
        if self.polls.iter().any(|p| m.method == p) {
            return Some(m);
        }
        // A byte count thrown away: one argument, a visible Result, not a flag or an empty probe.
        let is_write =
            self.writes.iter().any(|w| m.method == w) && m.args.len() == 1 && visible_result;
        let arg = m.args.first().map(peel);
        let trivial = matches!(
            arg,
            Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Bool(_),
                ..
            }))
        ) || matches!(arg, Some(Expr::Array(a)) if a.elems.is_empty())
            || matches!(arg, Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::ByteStr(b), .. })) if b.value().is_empty());
        (is_write && !trivial).then_some(m)
    }
}

impl Rule for IgnoredWriteReadiness {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_stmt<'ast>(&self, cx: &mut Context<'ast>, stmt: &'ast Stmt) {
        let Some((value, in_let)) = discarded_value(stmt) else {
            return;
        };
        let Some(call) = self.hidden_call(value, in_let) else {
            return;
        };
        let method = call.method.to_string();
        let (message, help) = if method.starts_with("poll_") {
            (
                format!("the result of `.{method}(..)` is thrown away: `Pending` (no room yet) or an error is ignored, so data is lost or buffered without limit"),
                "propagate it (`ready!(..)?`, or return the `Poll`) and only continue once it is `Ready(Ok(..))`".to_owned(),
            )
        } else {
            (
                format!("the byte count of `.{method}(..)` is thrown away: a short write silently drops the rest of the buffer"),
                "use `write_all` (or loop until every byte is written)".to_owned(),
            )
        };
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(stmt),
            message,
            help,
            labels: Vec::new(),
        });
    }

    fn check_fn<'ast>(&self, cx: &mut Context<'ast>) {
        let Some(frame) = cx.current_fn() else { return };
        let (body, name) = (frame.body, frame.sig.ident.to_string());
        let mut sends = Vec::new();
        let mut h2_sends = Vec::new();
        let (mut sink_ready, mut capacity) = (false, false);
        for_each_expr_in_block(body, false, &mut |e| {
            let Expr::MethodCall(m) = e else { return };
            let method = m.method.to_string();
            if self.sink.contains(&method) && m.args.len() == 1 {
                sends.push(e);
            } else if self.h2.contains(&method) && m.args.len() == 2 && !is_end_of_stream_only(m) {
                h2_sends.push(e);
            }
            sink_ready |= self.sink_readiness.contains(&method);
            capacity |= self.h2_capacity.contains(&method);
        });
        // Inside `Sink::start_send` itself, forwarding to an inner sink is the contract.
        if !sink_ready && name != "start_send" {
            for e in sends {
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(e),
                    message: "`start_send` without `poll_ready` in this function: sinks such as `Framed` and tungstenite's stream grow their write buffer without limit when not polled ready".to_owned(),
                    help: "use `SinkExt::send(item).await` (or `feed`), or call `poll_ready` and only `start_send` once it is `Ready(Ok(()))`".to_owned(),
                    labels: Vec::new(),
                });
            }
        }
        if !capacity {
            for e in h2_sends {
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(e),
                    message: "h2 `send_data` with no reserved capacity in this function: h2 buffers the data without bound until the peer's window opens".to_owned(),
                    help: "call `reserve_capacity(len)`, then send at most what `poll_capacity` grants".to_owned(),
                    labels: Vec::new(),
                });
            }
        }
    }
}

/// `send_data(Bytes::new(), true)`: an empty end-of-stream frame consumes no capacity.
fn is_end_of_stream_only(m: &syn::ExprMethodCall) -> bool {
    let empty = match &m.args[0] {
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "new" || s.ident == "default"))
                && c.args.is_empty()
        }
        _ => false,
    };
    empty && matches!(&m.args[1], Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if b.value)
}
