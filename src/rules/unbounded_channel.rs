//! `unbounded-channel`: unbounded channel constructors, bounded ones with an absurd capacity, and
//! futures mpsc senders cloned per message.
use std::collections::{HashMap, HashSet};

use syn::{Expr, ExprCall};

use super::syntax::{
    const_value, describe_capacity, for_each_expr_in_block, ident_of, let_binding_of, receiver_is,
    tuple_names, written, USIZE_MAX,
};
use super::{api_map, name_list, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::resolve::canonical_str;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "unbounded-channel";

pub struct UnboundedChannel {
    unbounded: HashMap<String, Option<String>>,
    bounded_lazy: HashSet<String>,
    bounded_preallocating: HashSet<String>,
    panics_above: HashMap<String, u128>,
    clone_ctors: HashSet<String>,
    clone_types: HashSet<String>,
    clone_methods: Vec<String>,
    sender_methods: Vec<String>,
    receiver_methods: Vec<String>,
    max_capacity: u128,
    texts: super::EntryTexts,
}

impl UnboundedChannel {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, ext: &ApiExtensions) -> Self {
        let mut unbounded = api_map(doc, "unbounded");
        for path in &ext.unbounded_constructors {
            unbounded.insert(canonical_str(path), None);
        }
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        UnboundedChannel {
            unbounded,
            bounded_lazy: keys("bounded-lazy"),
            bounded_preallocating: keys("bounded-preallocating"),
            panics_above: api_map(doc, "panics-above")
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?.parse().ok()?)))
                .collect(),
            clone_ctors: keys("clone-per-message-constructors"),
            clone_types: keys("clone-per-message-types"),
            clone_methods: name_list(doc, "clone-per-message-methods"),
            sender_methods: name_list(doc, "sender-methods"),
            receiver_methods: name_list(doc, "receiver-methods"),
            max_capacity: options.int(doc, "max-capacity"),
            texts: super::EntryTexts::of(doc),
        }
    }

    fn check_call<'ast>(
        &self,
        cx: &mut Context<'ast>,
        expr: &'ast Expr,
        call: &'ast ExprCall,
        path: &str,
    ) {
        if let Some(replacement) = self.unbounded.get(path) {
            // Bounded look-alike: std's `channel()` takes no capacity; one that does is another API.
            if path.ends_with("mpsc::channel") && !call.args.is_empty() {
                return;
            }
            let help = match replacement {
                Some(r) => format!("use `{r}` with a capacity sized to the consumer, and `send(..).await` (wait) or `try_send` (drop and count) when it is full"),
                None => "use a bounded channel with a capacity sized to the consumer, and decide what happens when it is full".to_owned(),
            };
            let help = self.texts.help(Some(path), &written(expr)).unwrap_or(help);
            let labels = self.end_labels(cx, expr);
            cx.report(RawFinding {
                rule: ID,
                range: cx.range(expr),
                message: format!(
                    "`{}` creates an unbounded channel: when producers outrun the consumer the queue grows until the process runs out of memory",
                    written(expr)
                ),
                help,
                labels,
            });
            return;
        }
        let lazy = self.bounded_lazy.contains(path);
        if !lazy && !self.bounded_preallocating.contains(path) {
            return;
        }
        let Some(capacity_expr) = call.args.first() else {
            return;
        };
        // Non-constant capacities (`config.size`) are never judged.
        let Some(capacity) = const_value(cx, capacity_expr) else {
            return;
        };
        if capacity < self.max_capacity && capacity < USIZE_MAX {
            return;
        }
        let shown = describe_capacity(capacity);
        let message = match self.panics_above.get(path) {
            Some(&max) if capacity > max => format!("`{}` with capacity {shown} panics at runtime: the capacity is above this channel's maximum", written(expr)),
            _ if lazy => format!(
                "`{}` with capacity {shown} is unbounded in practice: this channel allocates as it fills, so the bound is never reached and the backlog grows in memory",
                written(expr)
            ),
            _ => format!(
                "`{}` with capacity {shown} pre-allocates every slot: it reserves an enormous buffer (or fails) at construction instead of bounding the queue",
                written(expr)
            ),
        };
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help:
                "size the capacity to what the consumer can absorb (tens to thousands of messages)"
                    .to_owned(),
            labels: Vec::new(),
        });
    }

    /// Secondary labels: where the sender is used in a loop and where the receiver is drained,
    /// when the channel is bound by `let (tx, rx) = ..` in this function.
    fn end_labels(&self, cx: &Context<'_>, call: &Expr) -> Vec<(std::ops::Range<usize>, String)> {
        let Some(frame) = cx.current_fn() else {
            return Vec::new();
        };
        // The `let` is not yet bound while its initializer is checked: find it in the body.
        let Some(local) = let_binding_of(frame.body, call) else {
            return Vec::new();
        };
        let names = tuple_names(&local.pat);
        let sender = names.first().cloned().flatten();
        let receiver = names.get(1).cloned().flatten();
        let mut labels = Vec::new();
        let uses = method_uses(frame.body);
        let send_in_loop = uses.iter().find(|u| {
            u.in_loop
                && Some(u.receiver.as_str()) == sender.as_deref()
                && self.sender_methods.contains(&u.method)
        });
        let recv = uses.iter().find(|u| {
            Some(u.receiver.as_str()) == receiver.as_deref()
                && self.receiver_methods.contains(&u.method)
        });
        let (send_in_loop, recv) = (
            send_in_loop.map(|u| u.range.clone()),
            recv.map(|u| u.range.clone()),
        );
        if let Some(r) = send_in_loop {
            labels.push((
                r,
                "messages are sent here in a loop, with nothing to slow the sender".to_owned(),
            ));
        }
        if let Some(r) = recv {
            labels.push((r, "the only consumer drains the queue here".to_owned()));
        }
        labels
    }

    fn is_futures_sender(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        receiver_is(cx, receiver, &self.clone_ctors, &self.clone_types, Some(0))
    }
}

/// A method call on a plain identifier: `tx.send(..)`.
struct MethodUse {
    receiver: String,
    method: String,
    range: std::ops::Range<usize>,
    in_loop: bool,
}

/// Every method call on a plain identifier in `body`, with whether it sits in a loop.
fn method_uses(body: &syn::Block) -> Vec<MethodUse> {
    // Loops are tracked by range containment: cheap and exact for a single body.
    let mut loops: Vec<std::ops::Range<usize>> = Vec::new();
    for_each_expr_in_block(body, false, &mut |e| {
        if matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) {
            loops.push(syn::spanned::Spanned::span(e).byte_range());
        }
    });
    let mut uses = Vec::new();
    for_each_expr_in_block(body, false, &mut |e| {
        if let Expr::MethodCall(m) = e {
            if let Some(receiver) = ident_of(&m.receiver) {
                let range = syn::spanned::Spanned::span(e).byte_range();
                let in_loop = loops
                    .iter()
                    .any(|l| l.start <= range.start && range.end <= l.end);
                uses.push(MethodUse {
                    receiver,
                    method: m.method.to_string(),
                    range,
                    in_loop,
                });
            }
        }
    });
    uses
}

impl Rule for UnboundedChannel {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        match expr {
            Expr::Call(call) => {
                if let Some(path) = cx.callee(expr) {
                    self.check_call(cx, expr, call, &path);
                }
            }
            // `tx.clone().send(..)` in a loop: every clone of a futures sender adds a slot.
            Expr::MethodCall(m) if self.clone_methods.iter().any(|n| m.method == n) => {
                let Expr::MethodCall(clone) = &*m.receiver else {
                    return;
                };
                if clone.method != "clone"
                    || !clone.args.is_empty()
                    || cx.loops_through_closures().next().is_none()
                {
                    return;
                }
                if !self.is_futures_sender(cx, &clone.receiver) {
                    return;
                }
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!(
                        "a futures `mpsc::Sender` cloned per message defeats the channel's bound: every clone gets its own guaranteed slot, so `.clone().{}(..)` in a loop lets the queue grow without limit",
                        m.method
                    ),
                    help: "keep one sender per producer task and call `send(..).await` on it, or use `tokio::sync::mpsc`, whose capacity does not grow with the number of senders".to_owned(),
                    labels: Vec::new(),
                });
            }
            _ => {}
        }
    }
}
