//! `unbounded-channel`: unbounded channel constructors (judged by the producers of each channel
//! visible in the file), bounded ones with an absurd capacity, and futures mpsc senders cloned per
//! message.
use std::collections::{HashMap, HashSet};

use syn::{Expr, ExprCall, Type};

/// Who feeds a channel: the uses of its sender in this file (also used for lock-free queues).
pub(super) mod producers;

use producers::{handle_uses, FileIndex, Frame, Pace, Producers, Start, UseKind, Vocabulary};

use super::syntax::{
    const_value, describe_capacity, let_binding_of, receiver_is, stmts_after, strip_pat_type,
    tuple_names, type_args, written, USIZE_MAX,
};
use super::{api_map, name_list, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::resolve::canonical_str;
use crate::engine::summary::{CallPace, Condition, FactKind, SenderUse};
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
    local_event_sinks: HashSet<String>,
    local_event_sources: HashSet<String>,
    vocabulary: Vocabulary,
    receiver_vocabulary: Vocabulary,
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
            local_event_sinks: keys("local-event-sinks"),
            local_event_sources: keys("local-event-sources"),
            vocabulary: Vocabulary::from_doc(doc, "sender-methods", "sender", "sent"),
            receiver_vocabulary: Vocabulary::from_doc(
                doc,
                "receiver-methods",
                "receiver",
                "received",
            ),
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
            self.report_unbounded(cx, expr, help);
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
            fix: None,
        });
    }

    fn is_futures_sender(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        receiver_is(cx, receiver, &self.clone_ctors, &self.clone_types, Some(0))
    }

    /// Who feeds the channel made by `call`, from the uses of its sender in this file.
    fn producers(&self, cx: &Context<'_>, call: &Expr) -> Verdict {
        let not_bound = |reason: &str| Verdict::Report {
            pace: Pace::NotVisible {
                at: 0..0,
                reason: reason.to_owned(),
                label: String::new(),
            },
            consumer: None,
            field: None,
            sent_in: Vec::new(),
            passed: None,
        };
        let Some(frame) = cx.current_fn() else {
            return not_bound("it is not made in a function");
        };
        // The `let` is not yet bound while its initializer is checked: find it in the body.
        let Some(local) = let_binding_of(frame.body, call) else {
            return not_bound("it is not bound by a `let` that names its sender");
        };
        let syn::Pat::Tuple(tuple) = strip_pat_type(&local.pat) else {
            return not_bound("it is bound whole, so its sender is not followed");
        };
        if tuple
            .elems
            .first()
            .is_some_and(|p| matches!(strip_pat_type(p), syn::Pat::Wild(_)))
        {
            return Verdict::Quiet; // The sender is dropped at once: nothing is ever sent.
        }
        let names = tuple_names(&local.pat);
        let Some(stmts) = stmts_after(frame.body, local) else {
            return not_bound("its scope is not visible");
        };
        let index = FileIndex::new(cx.file);
        let start = |name: Option<String>| Start::Let {
            names: name.into_iter().collect(),
            stmts,
            body: frame.body,
            self_type: frame.self_type.clone(),
        };
        let mut senders = handle_uses(
            &index,
            &self.vocabulary,
            start(names.first().cloned().flatten()),
        );
        for u in &mut senders.uses {
            if let UseKind::PassedTo {
                followed: false,
                path: Some(path),
                ..
            } = &u.kind
            {
                if cx
                    .resolve(path)
                    .is_some_and(|p| self.local_event_sinks.contains(&p))
                {
                    u.kind = UseKind::LocalSource;
                }
            }
        }
        let declared = [turbofish_payload(call), annotated_payload(&local.pat)];
        if senders.sends_unit()
            || declared.into_iter().flatten().any(is_empty_payload)
            || senders
                .types
                .iter()
                .any(|t| sender_payload(t).is_some_and(is_empty_payload))
        {
            return Verdict::Quiet;
        }
        let receivers = handle_uses(
            &index,
            &self.receiver_vocabulary,
            start(names.get(1).cloned().flatten()),
        );
        senders.own_receives = receivers
            .uses
            .iter()
            .filter(|u| matches!(u.kind, UseKind::Act { .. }))
            .map(|u| u.range.clone())
            .collect();
        let consumer = receivers
            .uses
            .iter()
            .find(|u| matches!(u.kind, UseKind::Act { .. }))
            .map(|u| u.range.clone());
        senders.local_sources = self.local_source_bindings(cx, frame.body);
        let pace = senders
            .judge(&index, &self.vocabulary)
            .unwrap_or(Pace::NotVisible {
                at: 0..0,
                reason: "no use of its sender is visible".to_owned(),
                label: String::new(),
            });
        match pace {
            Pace::Bounded => Verdict::Quiet,
            // A reply slot: the receiver takes one message and is done.
            Pace::Unpaced { .. } | Pace::NotVisible { .. } if receives_once(&receivers) => {
                Verdict::Quiet
            }
            pace => {
                let field = senders.uses.iter().find_map(|u| match &u.kind {
                    UseKind::IntoField {
                        owner,
                        field,
                        followed: false,
                    } => Some((owner.clone(), field.clone())),
                    _ => None,
                });
                // Methods that send once per call: their callers, in any file, set the pace.
                let sent_in = senders
                    .sent_once_per_call(&index, &self.vocabulary)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|item| {
                        let f = &index.fns[item];
                        Some((format!("<{}>::{}", f.owner.as_ref()?, f.name), f.public))
                    })
                    .collect();
                let passed = match &pace {
                    Pace::NotVisible { .. } => self
                        .passed_to_crate_functions(cx, &index, &senders)
                        .map(Box::new),
                    _ => None,
                };
                Verdict::Report {
                    pace,
                    consumer,
                    field,
                    sent_in,
                    passed,
                }
            }
        }
    }

    /// The bindings of `body` (closures and async blocks included) made by a constructor or
    /// function of `local-event-sources`: `let mut events = EventStream::new();`.
    fn local_source_bindings(&self, cx: &Context<'_>, body: &syn::Block) -> HashSet<String> {
        struct Lets<'c, 'a> {
            cx: &'c Context<'a>,
            sources: &'c HashSet<String>,
            found: HashSet<String>,
        }
        impl<'ast> syn::visit::Visit<'ast> for Lets<'_, '_> {
            fn visit_local(&mut self, l: &'ast syn::Local) {
                let made_locally = l.init.as_ref().is_some_and(|init| {
                    let Expr::Call(c) = super::syntax::peel(&init.expr) else {
                        return false;
                    };
                    let Expr::Path(p) = &*c.func else {
                        return false;
                    };
                    self.cx.resolve(&p.path).is_some_and(|f| {
                        let owner = f.rsplit_once("::").map(|(o, _)| o);
                        self.sources.contains(&f) || owner.is_some_and(|o| self.sources.contains(o))
                    })
                });
                if made_locally {
                    if let syn::Pat::Ident(i) = strip_pat_type(&l.pat) {
                        self.found.insert(i.ident.to_string());
                    }
                }
                syn::visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        if self.local_event_sources.is_empty() {
            return HashSet::new();
        }
        let mut lets = Lets {
            cx,
            sources: &self.local_event_sources,
            found: HashSet::new(),
        };
        syn::visit::Visit::visit_block(&mut lets, body);
        lets.found
    }

    /// How often a loop of the current function runs its body, for a call in it (cached per
    /// loop: every call in a loop asks).
    fn loop_pace<'ast>(
        &self,
        cx: &mut Context<'ast>,
        loop_expr: &'ast Expr,
        sig: &'ast syn::Signature,
        body: &'ast syn::Block,
    ) -> CallPace {
        type Paces = std::cell::RefCell<HashMap<usize, CallPace>>;
        let key = loop_expr as *const Expr as usize;
        let cached = cx.cached::<Paces>("unbounded-channel:loop-paces", |_| Paces::default());
        if let Some(pace) = cached.borrow().get(&key) {
            return pace.clone();
        }
        let pace = match producers::feed(&self.vocabulary, loop_expr, Some(sig), body) {
            // Another channel's receiver: its producers, not followed, set the pace.
            producers::Feed::External {
                channel: Some(_), ..
            } => CallPace::Unknown,
            producers::Feed::External {
                text, accept, root, ..
            } => {
                if root.is_some_and(|r| self.local_source_bindings(cx, body).contains(&r)) {
                    CallPace::Bounded
                } else {
                    CallPace::External {
                        per: producers::feed_words(&text, accept, "message").0,
                    }
                }
            }
            producers::Feed::Finite | producers::Feed::Timer => CallPace::Bounded,
            producers::Feed::Unknown => CallPace::Unknown,
        };
        cx.cached::<Paces>("unbounded-channel:loop-paces", |_| Paces::default())
            .borrow_mut()
            .insert(key, pace.clone());
        pace
    }

    fn report_unbounded(&self, cx: &mut Context<'_>, expr: &Expr, help: String) {
        let Verdict::Report {
            pace,
            consumer,
            field,
            sent_in,
            passed,
        } = self.producers(cx, expr)
        else {
            return;
        };
        let stored_in = matches!(pace, Pace::NotVisible { .. })
            .then_some(field)
            .flatten();
        let ctor = written(expr);
        let callers_feed = (matches!(pace, Pace::NotVisible { .. }) && !sent_in.is_empty()).then(|| {
            let names: Vec<String> = sent_in
                .iter()
                .map(|(key, _)| format!("`{}`", key.replace(['<', '>'], "")))
                .collect();
            let names = names.join(", ");
            Condition::CallersFeed {
                functions: sent_in.iter().map(|(key, _)| key.clone()).collect(),
                may_quiet: sent_in.iter().all(|(_, public)| !public),
                message: format!("`{ctor}` creates an unbounded channel sent to in {names}, which is called once per {{per}}: when that source outpaces the consumer the queue grows until the process runs out of memory"),
            }
        });
        let mut labels = Vec::new();
        let mut opaque = None;
        let message = match pace {
            Pace::External {
                source,
                text,
                accept,
                channel,
                at,
            } => {
                opaque = channel.as_deref().map(producers::channel_feed_reason);
                let (per, label) = producers::feed_words(&text, accept, "message");
                labels.push((source, label));
                labels.push((at, "sent here, with nothing to slow the sender".to_owned()));
                format!("`{ctor}` creates an unbounded channel fed once per {per}: when that source outpaces the consumer the queue grows until the process runs out of memory")
            }
            Pace::Unpaced { at } => {
                labels.push((
                    at,
                    "messages are sent here in a loop, with nothing to slow the sender".to_owned(),
                ));
                format!("`{ctor}` creates an unbounded channel sent to in a loop that nothing visibly paces: when producers outrun the consumer the queue grows until the process runs out of memory")
            }
            Pace::NotVisible { at, reason, label } => {
                labels.push((at, label));
                opaque = Some(format!(
                    "the producers are not visible in this file ({reason})"
                ));
                format!("`{ctor}` creates an unbounded channel whose producers are not visible here ({reason}): if they outrun the consumer the queue grows until the process runs out of memory")
            }
            Pace::Bounded => return,
        };
        if let Some(r) = consumer {
            labels.push((r, "the consumer drains the queue here".to_owned()));
        }
        // Synthetic (macro-made) nodes have no place in the file.
        labels.retain(|(r, _)| r.end > r.start);
        let finding = RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels,
            fix: None,
        };
        match (opaque, stored_in) {
            // Another file of the package may show who feeds that field: the join names it.
            (Some(reason), Some((owner, field))) => cx.report_medium_candidate(
                finding,
                reason,
                Condition::FieldFed { owner, field },
                "the stored sender is fed here, once per item of an outside source",
            ),
            // The callers of the sending methods, in any file, say how often they run.
            (Some(reason), None) if callers_feed.is_some() => {
                if let Some(condition) = callers_feed {
                    cx.report_medium_candidate(
                        finding,
                        reason,
                        condition,
                        "the send is reached from here, once per {per}",
                    );
                }
            }
            // The functions the sender is passed to, in any file, say how they feed it.
            (Some(reason), None) if passed.is_some() => {
                let (targets, passed_name) = *passed.unwrap_or_default();
                cx.report_medium_candidate(
                finding,
                reason,
                Condition::CalleeFeeds {
                    targets,
                    message: format!("`{ctor}` creates an unbounded channel whose sender is passed to {passed_name}, which sends on it {{per}}: when that source outpaces the consumer the queue grows until the process runs out of memory"),
                },
                "sent here, {per}",
            )
            }
            (Some(reason), None) => cx.report_medium(finding, reason),
            (None, _) => cx.report(finding),
        }
    }

    /// When every producer out of view is the sender passed to a function of the crate, in the
    /// function that made it, outside any callback or loop nothing paces: those functions'
    /// (keys, parameter index) and the first one's name as written.
    fn passed_to_crate_functions(
        &self,
        cx: &Context<'_>,
        index: &FileIndex<'_>,
        senders: &Producers<'_>,
    ) -> Option<(CalleeTargets, String)> {
        let mut targets = Vec::new();
        let mut name = None;
        for u in &senders.uses {
            if matches!(senders.pace(index, &self.vocabulary, u), Pace::Bounded) {
                continue;
            }
            let UseKind::PassedTo {
                callee,
                followed: false,
                ..
            } = &u.kind
            else {
                return None;
            };
            let (call, arg) = u.call?;
            if !self.frames_bounded(index, &u.frames) {
                return None;
            }
            let keys = cx.local_callee(call)?;
            targets.push((keys, arg));
            name.get_or_insert_with(|| callee.clone());
        }
        Some((targets, name?))
    }

    /// Whether what runs a use (its frames) runs it a bounded number of times per call of the
    /// function: tasks, and loops over a finite collection or on a timer.
    fn frames_bounded(&self, index: &FileIndex<'_>, frames: &[Frame<'_>]) -> bool {
        frames.iter().all(|f| match f {
            Frame::Task => true,
            Frame::Loop(l, body) => matches!(
                producers::feed(&self.vocabulary, l, index.sig_of(body), body),
                producers::Feed::Finite | producers::Feed::Timer
            ),
            Frame::Callback { .. } | Frame::Method { .. } => false,
        })
    }

    /// What the current function does with each parameter typed as a sender: a fact for the
    /// files that pass it one (see [`SenderUse`]).
    fn record_sender_params(&self, cx: &mut Context<'_>) {
        let Some(frame) = cx.current_fn() else {
            return;
        };
        let (sig, body, self_type) = (frame.sig, frame.body, frame.self_type.clone());
        let params: Vec<(usize, String, &Type)> = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(t) => Some(t),
                syn::FnArg::Receiver(_) => None,
            })
            .enumerate()
            .filter_map(|(i, t)| match strip_pat_type(&t.pat) {
                syn::Pat::Ident(p) if names_sender(&t.ty) => Some((i, p.ident.to_string(), &*t.ty)),
                _ => None,
            })
            .collect();
        if params.is_empty() {
            return;
        }
        let index = FileIndex::new(cx.file);
        for (position, name, ty) in params {
            let uses = handle_uses(
                &index,
                &self.vocabulary,
                Start::Let {
                    names: vec![name],
                    stmts: &body.stmts,
                    body,
                    self_type: self_type.clone(),
                },
            );
            let mut facts: Vec<(SenderUse, std::ops::Range<usize>)> = Vec::new();
            let empty_payload =
                sender_payload(ty).is_some_and(is_empty_payload) || uses.sends_unit();
            if !empty_payload {
                for u in &uses.uses {
                    if let Some(does) = self.sender_use(cx, &index, &uses, u) {
                        facts.push((does, u.range.clone()));
                    }
                }
            }
            if facts.is_empty() {
                facts.push((SenderUse::Bounded, sig.ident.span().byte_range()));
            }
            for (does, range) in facts {
                cx.record_fact(
                    FactKind::SenderParam {
                        index: position,
                        does,
                    },
                    range,
                );
            }
        }
    }

    /// One use of a sender parameter as a summary says it; `None` when visibly bounded.
    fn sender_use(
        &self,
        cx: &Context<'_>,
        index: &FileIndex<'_>,
        uses: &Producers<'_>,
        u: &producers::HandleUse<'_>,
    ) -> Option<SenderUse> {
        Some(match uses.pace(index, &self.vocabulary, u) {
            Pace::Bounded => return None,
            Pace::External {
                channel: Some(_), ..
            } => SenderUse::Opaque,
            Pace::External { text, accept, .. } => SenderUse::SendsPerItem {
                per: producers::feed_words(&text, accept, "message").0,
            },
            Pace::Unpaced { .. } => SenderUse::SendsUnpaced,
            Pace::NotVisible { .. } if !self.frames_bounded(index, &u.frames) => SenderUse::Opaque,
            Pace::NotVisible { .. } => match (&u.kind, u.call) {
                (
                    UseKind::IntoField {
                        owner,
                        field,
                        followed: false,
                    },
                    _,
                ) => SenderUse::IntoField {
                    owner: owner.clone(),
                    field: field.clone(),
                },
                (
                    UseKind::PassedTo {
                        followed: false, ..
                    },
                    Some((call, arg)),
                ) => match cx.local_callee(call) {
                    Some(callee) => SenderUse::HandedTo { callee, index: arg },
                    None => SenderUse::Opaque,
                },
                _ => SenderUse::Opaque,
            },
        })
    }

    /// `self.<field>.send(..)` once per item of an outside source: a fact for the file that
    /// made the sender and stored it in that field.
    fn record_field_feed<'ast>(&self, cx: &mut Context<'ast>, m: &'ast syn::ExprMethodCall) {
        if !self.vocabulary.acts.iter().any(|a| m.method == a) {
            return;
        }
        let Expr::Field(f) = &*m.receiver else {
            return;
        };
        let (Expr::Path(base), syn::Member::Named(field)) = (&*f.base, &f.member) else {
            return;
        };
        if !base.path.is_ident("self") {
            return;
        }
        let Some(frame) = cx.current_fn() else {
            return;
        };
        let Some(owner) = frame.self_type.clone() else {
            return;
        };
        let (sig, body) = (frame.sig, frame.body);
        let Some(loop_expr) = cx.loops().next() else {
            return;
        };
        if !matches!(
            producers::feed(&self.vocabulary, loop_expr, Some(sig), body),
            producers::Feed::External { .. }
        ) {
            return;
        }
        let range = cx.method_call_range(m);
        cx.record_fact(
            FactKind::FeedsField {
                owner,
                field: field.to_string(),
            },
            range,
        );
    }
}

/// Whether the channel is judged by its producers to be worth a finding.
enum Verdict {
    Quiet,
    Report {
        pace: Pace,
        consumer: Option<std::ops::Range<usize>>,
        /// The struct field of another file the sender is stored in: (struct, field).
        field: Option<(String, String)>,
        /// When the only producers out of view are methods that send once per call: their
        /// summary keys, and whether each is reachable from outside the crate.
        sent_in: Vec<(String, bool)>,
        /// When the only producers out of view are functions of the crate the sender is passed
        /// to: their keys and the parameter's index, and how the first is named.
        passed: Option<Box<(CalleeTargets, String)>>,
    },
}

/// Functions a sender is passed to: (summary keys, the parameter's index without `self`).
type CalleeTargets = Vec<(Vec<String>, usize)>;

/// A receiver that takes exactly one message, outside any loop or callback: a reply slot.
fn receives_once(receivers: &Producers<'_>) -> bool {
    const SINGLE: &[&str] = &[
        "recv",
        "recv_async",
        "blocking_recv",
        "recv_timeout",
        "next",
    ];
    match receivers.uses.as_slice() {
        [only] => {
            matches!(&only.kind, UseKind::Act { method, .. } if SINGLE.contains(&method.as_str()))
                && only.frames.iter().all(|f| matches!(f, Frame::Task))
        }
        _ => false,
    }
}

/// The payload type given to the constructor: `unbounded_channel::<()>()`.
fn turbofish_payload(call: &Expr) -> Option<&Type> {
    let Expr::Call(c) = call else { return None };
    let Expr::Path(p) = &*c.func else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The payload type of a `let (tx, rx): (UnboundedSender<()>, _)` annotation.
fn annotated_payload(pat: &syn::Pat) -> Option<&Type> {
    let syn::Pat::Type(t) = pat else { return None };
    match &*t.ty {
        Type::Tuple(tuple) => sender_payload(tuple.elems.first()?),
        _ => None,
    }
}

/// The payload of a sender type, through `Option`, `Arc` and locks: `RwLock<Option<Sender<T>>>` → `T`.
fn sender_payload(ty: &Type) -> Option<&Type> {
    const WRAPPERS: &[&str] = &["Option", "Arc", "Rc", "Box", "Mutex", "RwLock", "RefCell"];
    let Type::Path(p) = ty else {
        return match ty {
            Type::Reference(r) => sender_payload(&r.elem),
            Type::Paren(p) => sender_payload(&p.elem),
            Type::Group(g) => sender_payload(&g.elem),
            _ => None,
        };
    };
    let last = p.path.segments.last()?.ident.to_string();
    let first = type_args(ty).next()?;
    if WRAPPERS.contains(&last.as_str()) {
        sender_payload(first)
    } else if last.contains("Sender") {
        Some(first)
    } else {
        None
    }
}

/// Whether a parameter's type names a sender (`UnboundedSender<T>`, `Option<Sender<T>>`).
fn names_sender(ty: &Type) -> bool {
    struct Find(bool);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
            self.0 |= s.ident.to_string().ends_with("Sender");
            syn::visit::visit_path_segment(self, s);
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

/// `()`, `Infallible` and `!`: a payload that carries nothing (or can never be made).
fn is_empty_payload(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Never(_) => true,
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Infallible"),
        Type::Paren(p) => is_empty_payload(&p.elem),
        Type::Group(g) => is_empty_payload(&g.elem),
        _ => false,
    }
}

impl Rule for UnboundedChannel {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_fn<'ast>(&self, cx: &mut Context<'ast>) {
        self.record_sender_params(cx);
    }

    fn call_pace<'ast>(&self, cx: &mut Context<'ast>, call: &'ast Expr) -> Option<CallPace> {
        let frame = cx.current_fn()?;
        let (sig, body) = (frame.sig, frame.body);
        let own_loops: Vec<*const Expr> = cx
            .loops_through_closures()
            .map(|e| e as *const Expr)
            .collect();
        let ancestors: Vec<&'ast Expr> = cx.ancestors().collect();
        let mut child: &Expr = call;
        for (i, &a) in ancestors.iter().enumerate() {
            match a {
                Expr::ForLoop(f) if std::ptr::eq(&*f.expr, child) => {}
                Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                    if !own_loops.contains(&(a as *const Expr)) {
                        break; // A loop of an enclosing function.
                    }
                    return Some(self.loop_pace(cx, a, sig, body));
                }
                // A closure run at most once (by `spawn`) is a task; any other may run any
                // number of times.
                Expr::Closure(_) => {
                    let once = match ancestors.get(i + 1) {
                        Some(Expr::Call(c)) => matches!(&*c.func, Expr::Path(p)
                            if p.path.segments.last().is_some_and(|s| self.vocabulary.once_callers.iter().any(|o| s.ident == o))),
                        Some(Expr::MethodCall(m)) => {
                            self.vocabulary.once_callers.iter().any(|o| m.method == o)
                        }
                        _ => false,
                    };
                    if !once {
                        return Some(CallPace::Unknown);
                    }
                }
                _ => {}
            }
            child = a;
        }
        Some(CallPace::Once)
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        match expr {
            Expr::Call(call) => {
                if let Some(path) = cx.callee(expr) {
                    self.check_call(cx, expr, call, &path);
                }
            }
            Expr::MethodCall(m) if !self.clone_methods.iter().any(|n| m.method == n) => {
                self.record_field_feed(cx, m);
            }
            // `tx.clone().send(..)` in a loop: every clone of a futures sender adds a slot.
            Expr::MethodCall(m) if self.clone_methods.iter().any(|n| m.method == n) => {
                self.record_field_feed(cx, m);
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
                    fix: None,
                });
            }
            _ => {}
        }
    }
}
