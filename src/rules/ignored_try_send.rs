//! `ignored-try-send`: a statement that throws away the result of `try_send` (a silent drop).
use std::collections::HashSet;

use syn::{Expr, Stmt};

use super::syntax::{discarded_value, ident_of, peel, receiver_is, self_field};
use super::{api_map, name_list, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::{Applicability, Context, RawFinding, RawFix, Rule};

pub const ID: &str = "ignored-try-send";

pub struct IgnoredTrySend {
    methods: Vec<String>,
    discarding: Vec<String>,
    kanal_ctors: HashSet<String>,
    kanal_types: HashSet<String>,
    no_slot_ctors: HashSet<String>,
    unbounded_ctors: HashSet<String>,
    no_slot_types: HashSet<String>,
    sockets: HashSet<String>,
    /// What the fix runs when a send fails (the `drop-counter` option), and the crate it names;
    /// `None` when the option does not parse as an expression.
    drop_counter: Option<(String, String)>,
}

/// How the result was thrown away, for the message.
enum Discard {
    LetUnderscore,
    Statement,
    Method(String),
    KanalTry,
}

impl IgnoredTrySend {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, _ext: &ApiExtensions) -> Self {
        let counter = options.string(doc, "drop-counter");
        let counter = counter.trim().trim_end_matches(';').trim().to_owned();
        let drop_counter = syn::parse_str::<Expr>(&counter).ok().map(|_| {
            let krate = counter
                .split("::")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (counter, krate)
        });
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        IgnoredTrySend {
            methods: name_list(doc, "try-send-methods"),
            discarding: name_list(doc, "discarding-methods"),
            kanal_ctors: keys("kanal-constructors"),
            kanal_types: keys("kanal-types"),
            no_slot_ctors: keys("no-slot-per-sender-constructors"),
            unbounded_ctors: keys("unbounded-constructors"),
            no_slot_types: keys("no-slot-per-sender-types"),
            sockets: keys("datagram-sockets"),
            drop_counter,
        }
    }

    fn is_try_send<'e>(&self, e: &'e Expr) -> Option<&'e syn::ExprMethodCall> {
        match e {
            Expr::MethodCall(m) if self.methods.iter().any(|n| m.method == n) => Some(m),
            _ => None,
        }
    }

    fn is_kanal_sender(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        receiver_is(cx, receiver, &self.kanal_ctors, &self.kanal_types, None)
    }

    /// Whether the receiver is declared as a datagram socket (`&dyn AsyncUdpSocket`, `Arc<UdpSocket>`).
    fn is_socket(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        let ty = match ident_of(receiver) {
            Some(name) => cx.binding(&name).and_then(|b| b.ty),
            None => self_field(receiver).and_then(|f| cx.self_field_type(&f)),
        };
        let Some(ty) = ty else { return false };
        struct Paths<'c, 'a> {
            cx: &'c Context<'a>,
            sockets: &'c HashSet<String>,
            found: bool,
        }
        impl<'ast> syn::visit::Visit<'ast> for Paths<'_, '_> {
            fn visit_path(&mut self, p: &'ast syn::Path) {
                // A crate-local socket type (quinn's own `AsyncUdpSocket`) is matched by its name.
                let last = p
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                self.found |= match self.cx.resolve(p) {
                    Some(r) => self.sockets.contains(&r),
                    None => self
                        .sockets
                        .iter()
                        .any(|s| s.rsplit("::").next() == Some(last.as_str())),
                };
                syn::visit::visit_path(self, p);
            }
        }
        let mut paths = Paths {
            cx,
            sockets: &self.sockets,
            found: false,
        };
        syn::visit::Visit::visit_type(&mut paths, ty);
        paths.found
    }

    /// The discarded try-send call in a statement's value, and how it was discarded.
    fn discarded<'e>(
        &self,
        cx: &Context<'_>,
        value: &'e Expr,
        in_let: bool,
    ) -> Option<(&'e syn::ExprMethodCall, Discard)> {
        if let Some(m) = self.is_try_send(value) {
            return Some((
                m,
                if in_let {
                    Discard::LetUnderscore
                } else {
                    Discard::Statement
                },
            ));
        }
        match value {
            Expr::MethodCall(outer) if self.discarding.iter().any(|d| outer.method == d) => {
                let m = self.is_try_send(&outer.receiver)?;
                Some((m, Discard::Method(outer.method.to_string())))
            }
            // kanal: `Ok(false)` means dropped, and `?`/`unwrap` keep only the bool, unread.
            Expr::Try(t) => {
                let m = self.is_try_send(&t.expr)?;
                self.is_kanal_sender(cx, &m.receiver)
                    .then_some((m, Discard::KanalTry))
            }
            Expr::MethodCall(outer) if outer.method == "unwrap" || outer.method == "expect" => {
                let m = self.is_try_send(&outer.receiver)?;
                self.is_kanal_sender(cx, &m.receiver)
                    .then_some((m, Discard::KanalTry))
            }
            _ => None,
        }
    }
}

impl IgnoredTrySend {
    /// `let _ = tx.try_send(x);` → `if tx.try_send(x).is_err() { <drop counter>; }`: the drop is
    /// counted. Unsafe: it adds a side effect (an event, a metric). Not for kanal, whose dropped
    /// value is an `Ok(false)`, nor for a statement with attributes (the rewrite would drop them).
    fn counted_drop_fix(
        &self,
        cx: &Context<'_>,
        stmt: &Stmt,
        call: &syn::ExprMethodCall,
    ) -> Option<RawFix> {
        let (counter, krate) = self.drop_counter.as_ref()?;
        if !cx.may_use_crate(krate) || self.is_kanal_sender(cx, &call.receiver) {
            return None;
        }
        let attrs = match stmt {
            Stmt::Local(l) => &l.attrs,
            Stmt::Expr(Expr::Assign(a), _) => &a.attrs,
            Stmt::Expr(Expr::MethodCall(m), _) => &m.attrs,
            _ => return None,
        };
        if !attrs.is_empty() || !call.attrs.is_empty() {
            return None;
        }
        let sent = cx.source_of(call)?;
        Some(
            RawFix::new(
                Applicability::Unsafe,
                format!("count the drop: run `{counter}` when the send fails"),
            )
            .edit(
                cx.range(stmt),
                format!("if {sent}.is_err() {{ {counter}; }}"),
            ),
        )
    }
}

/// The name of the type a receiver visibly has: a declared type (`f: &mut Forwarder`), a
/// constructor call (`Forwarder::new(..)`), a struct literal, or the type of `self.<field>`.
fn receiver_type(cx: &Context<'_>, receiver: &Expr) -> Option<String> {
    let named = |ty: &syn::Type| -> Option<String> {
        match ty {
            syn::Type::Reference(r) => type_name(&r.elem),
            other => type_name(other),
        }
    };
    if let Some(field) = self_field(receiver) {
        return cx.self_field_type(&field).and_then(named);
    }
    let binding = cx.binding(&ident_of(receiver)?)?;
    if let Some(ty) = binding.ty {
        return named(ty);
    }
    match peel(binding.init?) {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) if p.path.segments.len() >= 2 => {
                let segments: Vec<String> = crate::rules::syntax::segment_names(&p.path);
                let ty = segments[segments.len() - 2].clone();
                if ty == "Self" {
                    cx.current_fn().and_then(|f| f.self_type.clone())
                } else {
                    Some(ty)
                }
            }
            _ => None,
        },
        Expr::Struct(s) => s.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `(type, method)` for every method of the file's impls that returns `()`.
fn unit_methods(file: &syn::File) -> HashSet<(String, String)> {
    fn collect(items: &[syn::Item], out: &mut HashSet<(String, String)>) {
        for item in items {
            match item {
                syn::Item::Impl(i) => {
                    let Some(ty) = type_name(&i.self_ty) else {
                        continue;
                    };
                    for ii in &i.items {
                        let syn::ImplItem::Fn(f) = ii else { continue };
                        let unit = match &f.sig.output {
                            syn::ReturnType::Default => true,
                            syn::ReturnType::Type(_, t) => {
                                matches!(&**t, syn::Type::Tuple(t) if t.elems.is_empty())
                            }
                        };
                        if unit && f.sig.asyncness.is_none() {
                            out.insert((ty.clone(), f.sig.ident.to_string()));
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        collect(inner, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = HashSet::new();
    collect(&file.items, &mut out);
    out
}

/// Whether the current function is `Drop::drop`.
fn in_drop(cx: &Context<'_>) -> bool {
    cx.current_fn().is_some_and(|f| {
        f.sig.ident == "drop"
            && f.owner
                .and_then(|i| i.trait_.as_ref())
                .is_some_and(|(path, _)| path.segments.last().is_some_and(|s| s.ident == "Drop"))
    })
}

impl Rule for IgnoredTrySend {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_stmt<'ast>(&self, cx: &mut Context<'ast>, stmt: &'ast Stmt) {
        let found =
            discarded_value(stmt).and_then(|(value, in_let)| self.discarded(cx, value, in_let));
        let Some((call, how)) = found else { return };
        // `self.try_send(..)` calls the type's own method, whose result may not be a channel's.
        if matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("self")) {
            return;
        }
        // `tx.clone().try_send(..)`: a fresh futures-mpsc sender owns a guaranteed slot, so the send
        // cannot fail for a full channel (hyper's idiom for a last error); only a closed receiver
        // refuses it. (Cloning per message grows the queue instead: unbounded-channel's concern.)
        // Channels visibly without that slot (tokio, flume, ..) are still judged.
        if let Expr::MethodCall(m) = &*call.receiver {
            let no_slot = receiver_is(
                cx,
                &m.receiver,
                &self.no_slot_ctors,
                &self.no_slot_types,
                Some(0),
            );
            if m.method == "clone" && m.args.is_empty() && !no_slot {
                return;
            }
        }
        if self.is_socket(cx, &call.receiver) {
            return; // a datagram socket's try_send: dropping is packet loss, not a queue's drop
        }
        let method = call.method.to_string();
        // The receiver's own method of this file, returning `()`: it handles the channel's result
        // itself (a wrapper that logs or counts the drop), so there is nothing to discard.
        if receiver_type(cx, &call.receiver).is_some_and(|ty| {
            cx.cached(ID, |cx| unit_methods(cx.file))
                .contains(&(ty, method.clone()))
        }) {
            return;
        }
        // A stop signal sent from a destructor on the sender being dropped: `drop` cannot wait, and
        // when the channel is full the receiver still sees it close once the sender is gone.
        if in_drop(cx)
            && self_field(&call.receiver).is_some()
            && matches!(call.args.first(), Some(Expr::Path(_)))
        {
            return;
        }
        // `try_send(())`: a unit signal carries nothing; a full channel already holds an identical
        // pending signal, so nothing is lost (a wake-up or shutdown notification).
        if method == "try_send"
            && matches!(call.args.first(), Some(Expr::Tuple(t)) if t.elems.is_empty())
        {
            return;
        }
        let fix = match how {
            Discard::LetUnderscore | Discard::Statement => self.counted_drop_fix(cx, stmt, call),
            _ => None,
        };
        let how = match how {
            Discard::LetUnderscore => "`let _ =` throws its result away".to_owned(),
            Discard::Statement => "its result is not used".to_owned(),
            Discard::Method(m) => format!("`.{m}()` throws its error away"),
            Discard::KanalTry => {
                "kanal returns `Ok(false)` when it drops the value, and that bool is never read"
                    .to_owned()
            }
        };
        let unbounded = receiver_is(
            cx,
            &call.receiver,
            &self.unbounded_ctors,
            &HashSet::new(),
            Some(0),
        );
        let consequence = if method == "unbounded_send" || unbounded {
            "when the receiver is gone the message is lost and nobody knows"
        } else {
            "when the channel is full the message is dropped silently"
        };
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(stmt),
            message: format!("`.{method}(..)` is called but {how}: {consequence}"),
            help: "handle the full case explicitly and count the drop (a metric or a log line), or wait for capacity with `send(..).await`".to_owned(),
            labels: Vec::new(),
            fix,
        });
    }
}
