//! `ignored-write-readiness`: discarded `poll_*` readiness, discarded short-write byte counts,
//! `start_send` without `poll_ready`, and h2 `send_data` without reserved capacity.
use std::collections::HashSet;

use syn::{Expr, Stmt};

use super::network::Sockets;
use super::syntax::{discarded_value, for_each_expr_in_block, ident_of, peel, self_field};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "ignored-write-readiness";

pub struct IgnoredWriteReadiness {
    polls: Vec<String>,
    flushes: Vec<String>,
    writes: Vec<String>,
    discarding: Vec<String>,
    sink: Vec<String>,
    sink_readiness: Vec<String>,
    h2: Vec<String>,
    h2_capacity: Vec<String>,
    writer_types: HashSet<String>,
    writer_traits: HashSet<String>,
    h2_streams: HashSet<String>,
    sockets: Sockets,
}

impl IgnoredWriteReadiness {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        IgnoredWriteReadiness {
            polls: name_list(doc, "poll-methods"),
            flushes: name_list(doc, "flush-methods"),
            writes: name_list(doc, "write-methods"),
            discarding: name_list(doc, "discarding-methods"),
            sink: name_list(doc, "sink-methods"),
            sink_readiness: name_list(doc, "sink-readiness"),
            h2: name_list(doc, "h2-methods"),
            h2_capacity: name_list(doc, "h2-capacity"),
            writer_types: keys("writer-types"),
            writer_traits: keys("writer-traits"),
            h2_streams: keys("h2-stream-types"),
            sockets: Sockets::from_doc(doc),
        }
    }

    /// The readiness call a discarded value hides, looking through `?`, `.await` and discarding methods.
    /// `visible_result` is whether the value was visibly a `Result` (needed for `write`).
    fn hidden_call<'e>(
        &self,
        cx: &Context<'_>,
        value: &'e Expr,
        in_let: bool,
    ) -> Option<&'e syn::ExprMethodCall> {
        let mut e = value;
        let mut visible_result = in_let;
        let mut propagated = false;
        loop {
            e = match e {
                Expr::Try(t) => {
                    visible_result = true;
                    // `?` directly on a `poll_*` call propagates its error; only `Pending` is left.
                    propagated |= matches!(&*t.expr, Expr::MethodCall(_));
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
            // A flush whose error is propagated and whose `Pending` is ignored is an opportunistic
            // flush: the data stays queued for the next one, nothing is lost or added.
            let opportunistic = propagated && self.flushes.iter().any(|f| m.method == f);
            return (!opportunistic).then_some(m);
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
        ) || arg.is_some_and(|a| literal_len(a).is_some_and(|n| n <= 1));
        (is_write && !trivial && self.is_writer(cx, &m.receiver)).then_some(m)
    }

    /// The declared type of a receiver: `Pin::new(&mut w)`, `&mut w`, `w`, `self.w`.
    fn receiver_type<'a>(cx: &Context<'a>, receiver: &Expr) -> Option<&'a syn::Type> {
        let receiver = match receiver {
            Expr::Call(c) if c.args.len() == 1 => &c.args[0],
            other => other,
        };
        let receiver = peel(receiver);
        match ident_of(receiver) {
            Some(name) => cx.binding(&name).and_then(|b| b.ty),
            None => self_field(receiver).and_then(|f| cx.self_field_type(&f)),
        }
    }

    /// Whether a receiver's type is one of `set`: its outer type (through references and `Pin`),
    /// the bounds of a `dyn`/`impl` type, or the bounds of a generic parameter of the current function.
    /// Type arguments do not count: an `EventWriter<W: Write>` is not itself a writer.
    fn type_names(cx: &Context<'_>, ty: &syn::Type, set: &HashSet<String>) -> bool {
        let bound_names = |bounds: &mut dyn Iterator<Item = &syn::TypeParamBound>| {
            for bound in bounds {
                if let syn::TypeParamBound::Trait(t) = bound {
                    if cx.resolve(&t.path).is_some_and(|p| set.contains(&p)) {
                        return true;
                    }
                }
            }
            false
        };
        match ty {
            syn::Type::Reference(r) => Self::type_names(cx, &r.elem, set),
            syn::Type::Paren(p) => Self::type_names(cx, &p.elem, set),
            syn::Type::TraitObject(t) => bound_names(&mut t.bounds.iter()),
            syn::Type::ImplTrait(t) => bound_names(&mut t.bounds.iter()),
            syn::Type::Path(p) if p.qself.is_none() => {
                let last = p.path.segments.last();
                // `Pin<&mut W>`: the pinned type is what is written to.
                if last.is_some_and(|s| s.ident == "Pin") {
                    if let Some(inner) = super::syntax::type_args(ty).next() {
                        return Self::type_names(cx, inner, set);
                    }
                }
                if cx.resolve(&p.path).is_some_and(|r| set.contains(&r)) {
                    return true;
                }
                // `W` where the function says `W: Write` (inline or in its where clause).
                let (Some(ident), Some(sig)) = (p.path.get_ident(), cx.current_fn().map(|f| f.sig))
                else {
                    return false;
                };
                let inline = sig
                    .generics
                    .type_params()
                    .filter(|t| &t.ident == ident)
                    .any(|t| bound_names(&mut t.bounds.iter()));
                let in_where = sig
                    .generics
                    .where_clause
                    .iter()
                    .flat_map(|w| &w.predicates)
                    .any(|pred| match pred {
                        syn::WherePredicate::Type(t) => {
                            matches!(&t.bounded_ty, syn::Type::Path(b) if b.path.is_ident(ident))
                                && bound_names(&mut t.bounds.iter())
                        }
                        _ => false,
                    });
                inline || in_where
            }
            _ => false,
        }
    }

    /// Whether a receiver is a writer: by its declared type or bounds, or by how it was made
    /// (`TcpStream::connect(..)?`, an accepted stream, `try_clone()`, an `into_split()` half).
    fn is_writer(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        let typed = Self::receiver_type(cx, receiver).is_some_and(|ty| {
            Self::type_names(cx, ty, &self.writer_types)
                || Self::type_names(cx, ty, &self.writer_traits)
        });
        let pinned = match receiver {
            Expr::Call(c) if c.args.len() == 1 => &c.args[0],
            other => other,
        };
        typed || self.sockets.is_network(cx, pinned)
    }

    /// `w.write(buf).await.map(|_| ())`: the adapter throws the byte count away wherever the
    /// value goes (a tail expression, `?`, a `return`).
    fn check_count_mapped_away<'ast>(&self, cx: &mut Context<'ast>, m: &'ast syn::ExprMethodCall) {
        let ignores_count = m.method == "map"
            && m.args.len() == 1
            && matches!(&m.args[0], Expr::Closure(c) if c.inputs.len() == 1
                && matches!(super::syntax::strip_pat_type(&c.inputs[0]), syn::Pat::Wild(_)));
        if !ignores_count {
            return;
        }
        let mut e = &*m.receiver;
        while let Expr::Await(a) = e {
            e = &a.base;
        }
        let Expr::MethodCall(write) = e else { return };
        let short = self.writes.iter().any(|w| write.method == w)
            && write.args.len() == 1
            && !matches!(&*write.receiver, Expr::Path(p) if p.path.is_ident("self"))
            && write
                .args
                .first()
                .map(peel)
                .and_then(literal_len)
                .is_none_or(|n| n > 1);
        if !short || !self.is_writer(cx, &write.receiver) {
            return;
        }
        let method = write.method.to_string();
        cx.report_method(
            ID,
            m,
            format!("`.map(|_| ..)` throws away the byte count of `.{method}(..)`: a short write silently drops the rest of the buffer"),
            "use `write_all` (or loop until every byte is written)",
        );
    }
}

impl Rule for IgnoredWriteReadiness {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if let Expr::MethodCall(m) = expr {
            self.check_count_mapped_away(cx, m);
        }
    }

    fn check_stmt<'ast>(&self, cx: &mut Context<'ast>, stmt: &'ast Stmt) {
        let Some((value, in_let)) = discarded_value(stmt) else {
            return;
        };
        let Some(call) = self.hidden_call(cx, value, in_let) else {
            return;
        };
        // `self.poll_write(cx)`: the type's own method, not a writer's readiness.
        if matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("self")) {
            return;
        }
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
            fix: None,
        });
    }

    fn check_fn<'ast>(&self, cx: &mut Context<'ast>) {
        let Some(frame) = cx.current_fn() else { return };
        let (body, sig, name) = (frame.body, frame.sig, frame.sig.ident.to_string());
        let mut loops = Vec::new();
        let mut sends = Vec::new();
        let mut h2_sends = Vec::new();
        let (mut sink_ready, mut capacity) = (false, false);
        for_each_expr_in_block(body, false, &mut |e| {
            if matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) {
                loops.push(syn::spanned::Spanned::span(e).byte_range());
            }
            let Expr::MethodCall(m) = e else { return };
            let method = m.method.to_string();
            let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
            if self.sink.contains(&method) && m.args.len() == 1 && !on_self {
                sends.push(e);
            } else if self.h2.contains(&method) && m.args.len() == 2 && !is_end_of_stream_only(m) {
                h2_sends.push((e, m));
            }
            sink_ready |= self.sink_readiness.contains(&method);
            capacity |= self.h2_capacity.contains(&method);
        });
        // Sinks: repeated `start_send` with no readiness, in a function that works with a `Sink`
        // (inside `Sink::start_send` itself, forwarding to an inner sink is the contract).
        let mentions_sink = quote::ToTokens::to_token_stream(sig)
            .to_string()
            .contains("Sink");
        if !sink_ready && name != "start_send" && mentions_sink {
            for e in sends {
                let range = cx.range(e);
                if !loops
                    .iter()
                    .any(|l| l.start <= range.start && range.end <= l.end)
                {
                    continue; // a single start_send may follow a poll_ready in the caller
                }
                cx.report(RawFinding {
                    rule: ID,
                    range,
                    message: "`start_send` in a loop without `poll_ready` in this function: sinks such as `Framed` and tungstenite's stream grow their write buffer without limit when not polled ready".to_owned(),
                    help: "use `SinkExt::send(item).await` (or `feed`), or call `poll_ready` and only `start_send` once it is `Ready(Ok(()))`".to_owned(),
                    labels: Vec::new(),
                    fix: None,
                });
            }
        }
        if !capacity {
            for (e, m) in h2_sends {
                let is_h2 = Self::receiver_type(cx, &m.receiver)
                    .is_some_and(|ty| Self::type_names(cx, ty, &self.h2_streams));
                if !is_h2 {
                    continue;
                }
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(e),
                    message: "h2 `send_data` with no reserved capacity in this function: h2 buffers the data without bound until the peer's window opens".to_owned(),
                    help: "call `reserve_capacity(len)`, then send at most what `poll_capacity` grants".to_owned(),
                    labels: Vec::new(),
                    fix: None,
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

/// The length of a literal buffer: `[]`, `[1]`, `[0u8; 1]`, `b""`, `b"x"`. A write of at most one
/// byte cannot come back short: it writes the byte or fails (an empty write is a probe).
fn literal_len(e: &Expr) -> Option<usize> {
    match e {
        Expr::Array(a) => Some(a.elems.len()),
        Expr::Repeat(r) => match &*r.len {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            }) => n.base10_parse().ok(),
            _ => None,
        },
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::ByteStr(b),
            ..
        }) => Some(b.value().len()),
        _ => None,
    }
}
