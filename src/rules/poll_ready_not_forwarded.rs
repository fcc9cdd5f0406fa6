//! `poll-ready-not-forwarded`: a tower middleware whose `poll_ready` is always ready while its
//! `call` calls an inner service.
use std::collections::HashSet;

use syn::{Expr, ImplItem};

use super::syntax::{binding_init, for_each_expr_in_block, ident_of, peel, self_field};
use super::{api_map, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "poll-ready-not-forwarded";

pub struct PollReadyNotForwarded {
    traits: HashSet<String>,
}

impl PollReadyNotForwarded {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        PollReadyNotForwarded {
            traits: api_map(doc, "service-traits").into_keys().collect(),
        }
    }
}

fn method<'a>(item: &'a syn::ItemImpl, name: &str) -> Option<&'a syn::ImplItemFn> {
    item.items.iter().find_map(|i| match i {
        ImplItem::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    })
}

/// The field an expression takes the inner service from: `self.inner`, `self.inner.clone()`,
/// `std::mem::replace(&mut self.inner, ..)`.
fn inner_field(e: &Expr) -> Option<String> {
    match e {
        Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => self_field(&m.receiver),
        Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "replace")) => {
            c.args.first().and_then(|a| self_field(peel(a)))
        }
        _ => self_field(e),
    }
}

/// `Poll::Ready(Ok(()))`.
fn is_ready_ok(e: &Expr) -> bool {
    let Expr::Call(ready) = e else { return false };
    let is_ready = matches!(&*ready.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Ready"));
    let Some(Expr::Call(ok)) = ready.args.first() else {
        return false;
    };
    let is_ok = matches!(&*ok.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Ok"));
    is_ready && is_ok && matches!(ok.args.first(), Some(Expr::Tuple(t)) if t.elems.is_empty())
}

impl Rule for PollReadyNotForwarded {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_impl<'ast>(&self, cx: &mut Context<'ast>, item: &'ast syn::ItemImpl) {
        let Some((trait_path, _)) = &item.trait_ else {
            return;
        };
        if !cx
            .resolve(trait_path)
            .is_some_and(|p| self.traits.contains(&p))
        {
            return;
        }
        let (Some(poll_ready), Some(call)) = (method(item, "poll_ready"), method(item, "call"))
        else {
            return;
        };
        // The inner services: fields whose value `call` calls: `self.inner.call(..)`,
        // `self.inner.clone().call(..)`, or a binding made by cloning or `mem::replace`-ing one.
        let mut called = HashSet::new();
        for_each_expr_in_block(&call.block, false, &mut |e| {
            let Expr::MethodCall(m) = e else { return };
            if m.method != "call" {
                return;
            }
            let receiver = peel(&m.receiver);
            if let Some(f) = inner_field(receiver) {
                called.insert(f);
            } else if let Some(local) =
                ident_of(receiver).and_then(|name| binding_init(&call.block, &name))
            {
                if let Some(f) = inner_field(peel(local)) {
                    called.insert(f);
                }
            }
        });
        if called.is_empty() {
            return; // a leaf service, or one that drives a fresh inner service per request
        }
        let mut forwards = false;
        let mut ready = Vec::new();
        for_each_expr_in_block(&poll_ready.block, false, &mut |e| match e {
            Expr::MethodCall(m)
                if m.method.to_string().starts_with("poll_ready") || m.method == "ready" =>
            {
                forwards = true
            }
            Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident.to_string().starts_with("poll_ready"))) => {
                forwards = true
            }
            _ if is_ready_ok(e) => ready.push(e),
            _ => {}
        });
        if forwards {
            return;
        }
        let mut inner: Vec<String> = called.into_iter().collect();
        inner.sort();
        let inner = inner
            .iter()
            .map(|f| format!("`self.{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        for e in ready {
            cx.report(RawFinding {
                rule: ID,
                range: cx.range(e),
                message: format!("`poll_ready` reports ready without polling {inner}, which `call` uses: callers never see the inner service's backpressure, and it queues without limit or panics"),
                help: "forward readiness: `self.inner.poll_ready(cx)` (after any readiness of this middleware's own)".to_owned(),
                labels: vec![(cx.range(&call.sig.ident), "the inner service is called here".to_owned())],
            });
        }
    }
}
