//! `unbounded-queue`: unbounded lock-free queues, and shared `Mutex<VecDeque>`-style work queues
//! pushed in a function that never checks their length.
use std::collections::{HashMap, HashSet};

use syn::visit::Visit;
use syn::{Expr, Type};

use super::syntax::{
    for_each_expr_in_block, ident_of, let_binding_of, peel, self_field, stmts_after,
    strip_pat_type, written,
};
use super::unbounded_channel::producers::{self, handle_uses, FileIndex, Pace, Start, Vocabulary};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "unbounded-queue";

pub struct UnboundedQueue {
    constructors: HashMap<String, Option<String>>,
    lock_types: HashSet<String>,
    pointer_types: HashSet<String>,
    queue_types: HashSet<String>,
    vec_types: HashSet<String>,
    queue_ctors: HashSet<String>,
    vec_ctors: HashSet<String>,
    wrapper_ctors: HashSet<String>,
    lock_methods: Vec<String>,
    push_methods: Vec<String>,
    pop_methods: Vec<String>,
    bound_methods: Vec<String>,
    handoff_methods: Vec<String>,
    permit_types: HashSet<String>,
    vocabulary: Vocabulary,
}

/// What a shared queue's storage is.
#[derive(Clone, Copy, PartialEq)]
enum Storage {
    Deque,
    Vec,
}

impl UnboundedQueue {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        let mut vocabulary = Vocabulary::from_doc(doc, "lock-free-push-methods", "queue", "pushed");
        vocabulary.inert = name_list(doc, "pop-methods");
        UnboundedQueue {
            constructors: api_map(doc, "unbounded-constructors"),
            lock_types: keys("lock-types"),
            pointer_types: keys("pointer-types"),
            queue_types: keys("queue-types"),
            vec_types: keys("vec-types"),
            queue_ctors: keys("queue-constructors"),
            vec_ctors: keys("vec-constructors"),
            wrapper_ctors: keys("wrapper-constructors"),
            lock_methods: name_list(doc, "lock-methods"),
            push_methods: name_list(doc, "push-methods"),
            pop_methods: name_list(doc, "pop-methods"),
            bound_methods: name_list(doc, "bound-methods"),
            handoff_methods: name_list(doc, "handoff-methods"),
            permit_types: keys("permit-types"),
            vocabulary,
        }
    }

    /// `Arc<Mutex<VecDeque<T>>>` → Deque; requires a lock somewhere in the wrapping.
    fn storage_of_type(&self, cx: &Context<'_>, ty: &Type, locked: bool) -> Option<Storage> {
        let ty = peel_type(ty);
        let path = cx.type_path(ty)?;
        let inner = || first_type_arg(ty);
        if self.pointer_types.contains(&path) {
            return self.storage_of_type(cx, inner()?, locked);
        }
        if self.lock_types.contains(&path) {
            return self.storage_of_type(cx, inner()?, true);
        }
        if !locked {
            return None;
        }
        if self.queue_types.contains(&path) {
            Some(Storage::Deque)
        } else if self.vec_types.contains(&path) {
            Some(Storage::Vec)
        } else {
            None
        }
    }

    /// `Arc::new(Mutex::new(VecDeque::new()))` → Deque.
    fn storage_of_init(&self, cx: &Context<'_>, init: &Expr, locked: bool) -> Option<Storage> {
        let init = peel(init);
        let Expr::Call(call) = init else {
            return None;
        };
        let path = cx.callee(init)?;
        if self.wrapper_ctors.contains(&path) {
            let is_lock = !path.ends_with("Arc::new") && !path.ends_with("Rc::new");
            return self.storage_of_init(cx, call.args.first()?, locked || is_lock);
        }
        if !locked {
            return None;
        }
        if self.queue_ctors.contains(&path) {
            Some(Storage::Deque)
        } else if self.vec_ctors.contains(&path) {
            Some(Storage::Vec)
        } else {
            None
        }
    }

    /// The shared storage a receiver reaches: `self.q.lock().unwrap()`, a guard binding, a static.
    /// Returns the queue's name (for messages and the pop search) and its storage.
    fn shared_queue(
        &self,
        cx: &Context<'_>,
        receiver: &Expr,
        depth: usize,
    ) -> Option<(String, Storage)> {
        if depth > 4 {
            return None;
        }
        let mut base = receiver;
        loop {
            base = match base {
                Expr::MethodCall(m) if self.lock_methods.iter().any(|l| m.method == l) => {
                    &m.receiver
                }
                // `.clone()` of an `Arc` is the same queue, moved into a task.
                Expr::MethodCall(m)
                    if matches!(
                        m.method.to_string().as_str(),
                        "unwrap" | "expect" | "as_mut" | "deref_mut" | "clone"
                    ) =>
                {
                    &m.receiver
                }
                Expr::Call(c)
                    if c.args.len() == 1
                        && cx.callee(base).is_some_and(|p| {
                            matches!(p.as_str(), "std::sync::Arc::clone" | "std::rc::Rc::clone")
                        }) =>
                {
                    &c.args[0]
                }
                Expr::Reference(r) => &r.expr,
                Expr::Await(a) => &a.base,
                Expr::Try(t) => &t.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Unary(u) => &u.expr,
                _ => break,
            };
        }
        if let Some(field) = self_field(base) {
            let ty = cx.self_field_type(&field)?;
            return Some((
                format!("self.{field}"),
                self.storage_of_type(cx, ty, false)?,
            ));
        }
        let name = ident_of(base)?;
        if let Some(binding) = cx.binding(&name) {
            if let Some(ty) = binding.ty {
                if let Some(s) = self.storage_of_type(cx, ty, false) {
                    return Some((name, s));
                }
            }
            let init = binding.init?;
            // A guard (`let mut q = self.queue.lock().unwrap();`), or a clone of the shared
            // pointer (`let q = Arc::clone(&self.queue);`) locked here.
            if let Some(found) = self.shared_queue(cx, init, depth + 1) {
                return Some(found);
            }
            return Some((name, self.storage_of_init(cx, init, false)?));
        }
        let (ty, _) = cx.items.consts.get(&name)?;
        Some((name.clone(), self.storage_of_type(cx, ty, false)?))
    }

    /// Whether `body` checks the length of the queue `name` before letting `push` through: a
    /// `truncate`/`resize` on it, or a bound call (`len()` compared, `is_full()`) in the condition
    /// of an `if`/`while` that decides the push (the push is in one of its branches) or turns
    /// items away or makes room (its branch leaves, or pops the queue). A condition may also call
    /// a function of the file that checks the queue. A `len()` that is only logged, or compared
    /// to guard something else, bounds nothing.
    fn checked_on_path(
        &self,
        cx: &Context<'_>,
        body: &syn::Block,
        push: &Expr,
        name: &str,
    ) -> bool {
        let last = name.rsplit('.').next().unwrap_or(name);
        let is_queue = |r: &Expr| {
            mentions(r, last)
                || self
                    .shared_queue(cx, r, 0)
                    .is_some_and(|(other, _)| other == name)
        };
        let push_at = syn::spanned::Spanned::span(push).byte_range();
        let mut checked = false;
        for_each_expr_in_block(body, false, &mut |e| {
            if checked {
                return;
            }
            let (cond, branches): (&Expr, Vec<&syn::Block>) = match e {
                Expr::If(i) => {
                    let mut branches = vec![&i.then_branch];
                    if let Some((_, other)) = &i.else_branch {
                        if let Expr::Block(b) = &**other {
                            branches.push(&b.block);
                        }
                    }
                    (&i.cond, branches)
                }
                Expr::While(w) => (&w.cond, vec![&w.body]),
                Expr::MethodCall(m)
                    if matches!(m.method.to_string().as_str(), "truncate" | "resize") =>
                {
                    checked = is_queue(&m.receiver);
                    return;
                }
                _ => return,
            };
            let at = syn::spanned::Spanned::span(e).byte_range();
            let decides = at.start <= push_at.start && push_at.end <= at.end;
            let rejects = branches
                .iter()
                .any(|b| block_turns_away(b) || self.makes_room(b, &is_queue));
            if !decides && !rejects {
                return;
            }
            super::syntax::for_each_expr(cond, false, &mut |c| {
                let Expr::MethodCall(m) = c else {
                    if let Some(callee) = local_fn_name(c) {
                        checked |= self.fn_checks(cx, &callee, last);
                    } else if let Some(init) =
                        ident_of(c).and_then(|n| super::syntax::binding_init(body, &n))
                    {
                        // `let queued = q.len(); if queued >= MAX { .. }`
                        super::syntax::for_each_expr(init, false, &mut |i| {
                            if let Expr::MethodCall(m) = i {
                                checked |= self.bound_methods.iter().any(|b| m.method == b)
                                    && is_queue(&m.receiver);
                            }
                        });
                    }
                    return;
                };
                if self.bound_methods.iter().any(|b| m.method == b) && is_queue(&m.receiver) {
                    checked = true;
                } else if let Some(callee) = local_fn_name(c) {
                    checked |= self.fn_checks(cx, &callee, last);
                }
            });
        });
        checked
    }

    /// Whether a branch pops or drains the queue (a ring buffer making room).
    fn makes_room(&self, block: &syn::Block, is_queue: &dyn Fn(&Expr) -> bool) -> bool {
        let mut room = false;
        for_each_expr_in_block(block, false, &mut |e| {
            if let Expr::MethodCall(m) = e {
                room |= self.pop_methods.iter().any(|p| m.method == p) && is_queue(&m.receiver);
            }
        });
        room
    }

    /// Whether a function of the file named `callee` calls a bound method on the queue `last`.
    fn fn_checks(&self, cx: &Context<'_>, callee: &str, last: &str) -> bool {
        super::syntax::fn_bodies(&cx.file.items)
            .into_iter()
            .filter(|(n, _)| n == callee)
            .any(|(_, body)| {
                let mut found = false;
                for_each_expr_in_block(body, false, &mut |e| {
                    if let Expr::MethodCall(m) = e {
                        found |= self.bound_methods.iter().any(|b| m.method == b)
                            && mentions(&m.receiver, last);
                    }
                });
                found
            })
    }

    /// Whether the file calls one of `methods` on `name` somewhere.
    fn called_in_file(file: &syn::File, name: &str, methods: &[String]) -> bool {
        let last = name.rsplit('.').next().unwrap_or(name).to_owned();
        let mut finder = CallFinder {
            methods,
            name: &last,
            found: false,
        };
        finder.visit_file(file);
        finder.found
    }
}

/// Where a lock-free queue made by a constructor is kept, and the element types it is declared with.
#[derive(Default)]
struct QueueBinding<'ast> {
    /// The `let` that binds it (through `Arc::new(..)`-style wrappers), if any.
    local: Option<&'ast syn::Local>,
    /// The struct literal field it is stored in straight away: (struct, field).
    field: Option<(String, String)>,
    element_types: Vec<&'ast Type>,
}

impl UnboundedQueue {
    /// The constructor's outermost wrapper (`Arc::new(SegQueue::new())`) and where it is kept.
    fn binding_of<'ast>(
        &self,
        cx: &Context<'ast>,
        expr: &'ast Expr,
    ) -> (&'ast Expr, QueueBinding<'ast>) {
        let mut binding = QueueBinding::default();
        binding.element_types.extend(turbofish_types(expr));
        let mut outer = expr;
        for ancestor in cx.ancestors() {
            match ancestor {
                Expr::Call(c)
                    if c.args.len() == 1
                        && std::ptr::eq(&c.args[0], outer)
                        && cx
                            .callee(ancestor)
                            .is_some_and(|p| self.wrapper_ctors.contains(&p)) =>
                {
                    outer = ancestor;
                }
                Expr::Struct(s) => {
                    let member = s.fields.iter().find(|f| std::ptr::eq(&f.expr, outer));
                    if let Some(fv) = member {
                        let owner = s.path.segments.last().map(|seg| seg.ident.to_string());
                        let owner = match owner.as_deref() {
                            Some("Self") => cx.current_fn().and_then(|f| f.self_type.clone()),
                            _ => owner,
                        };
                        let field = match &fv.member {
                            syn::Member::Named(n) => n.to_string(),
                            syn::Member::Unnamed(i) => i.index.to_string(),
                        };
                        if let Some(owner) = owner {
                            if let Some(fields) = cx.items.struct_fields.get(&owner) {
                                binding.element_types.extend(
                                    fields.iter().filter(|(n, _)| *n == field).map(|(_, t)| *t),
                                );
                            }
                            binding.field = Some((owner, field));
                        }
                    }
                    break;
                }
                _ => break,
            }
        }
        if binding.field.is_none() {
            binding.local = cx.current_fn().and_then(|f| let_binding_of(f.body, outer));
            if let Some(syn::Pat::Type(t)) = binding.local.map(|l| &l.pat) {
                binding.element_types.push(&t.ty);
            }
        }
        (outer, binding)
    }

    /// Where the producer analysis starts: after the `let`, or at the struct field.
    fn start<'ast>(
        &self,
        cx: &Context<'ast>,
        outer: &'ast Expr,
        binding: &QueueBinding<'ast>,
    ) -> Option<Start<'ast>> {
        let frame = cx.current_fn()?;
        if let Some((owner, field)) = &binding.field {
            return Some(Start::Field {
                owner: owner.clone(),
                field: field.clone(),
                value: outer,
                body: frame.body,
                self_type: frame.self_type.clone(),
            });
        }
        let local = binding.local?;
        let syn::Pat::Ident(name) = strip_pat_type(&local.pat) else {
            return None;
        };
        Some(Start::Let {
            names: vec![name.ident.to_string()],
            stmts: stmts_after(frame.body, local)?,
            body: frame.body,
            self_type: frame.self_type.clone(),
        })
    }

    /// Whether a declared type mentions a semaphore permit (`SegQueue<(OwnedSemaphorePermit, T)>`).
    fn carries_permit(&self, cx: &Context<'_>, ty: &Type) -> bool {
        struct Find<'c, 'r, 'ast> {
            cx: &'c Context<'ast>,
            permits: &'r HashSet<String>,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Find<'_, '_, '_> {
            fn visit_type(&mut self, t: &'ast Type) {
                if matches!(t, Type::Path(_))
                    && self
                        .cx
                        .type_path(t)
                        .is_some_and(|p| self.permits.contains(&p))
                {
                    self.found = true;
                }
                syn::visit::visit_type(self, t);
            }
        }
        let mut find = Find {
            cx,
            permits: &self.permit_types,
            found: false,
        };
        find.visit_type(ty);
        find.found
    }
}

/// The type arguments written on a constructor's path: `SegQueue::<T>::new()` → `[T]`.
fn turbofish_types(expr: &Expr) -> Vec<&Type> {
    let Expr::Call(c) = expr else {
        return Vec::new();
    };
    let Expr::Path(p) = &*c.func else {
        return Vec::new();
    };
    p.path
        .segments
        .iter()
        .filter_map(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => Some(a.args.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect()
}

struct CallFinder<'a> {
    methods: &'a [String],
    name: &'a str,
    found: bool,
}

impl<'ast> Visit<'ast> for CallFinder<'_> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if !self.found
            && self.methods.iter().any(|p| m.method == p)
            && mentions(&m.receiver, self.name)
        {
            self.found = true;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

/// The name of the crate's own function a call expression calls: `self.is_full()`,
/// `is_full(&q)`, `Self::is_full(..)`.
fn local_fn_name(e: &Expr) -> Option<String> {
    match e {
        Expr::MethodCall(m) if is_self(&m.receiver) => Some(m.method.to_string()),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) if p.path.segments.len() <= 2 => {
                p.path.segments.last().map(|s| s.ident.to_string())
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_self(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.path.is_ident("self"))
}

/// Whether a branch turns the item away: it always leaves (`return`, `break`, `continue`, a
/// panic or `bail!`), so the push after it does not run.
fn block_turns_away(block: &syn::Block) -> bool {
    block.stmts.iter().any(|s| match s {
        syn::Stmt::Expr(e, _) => leaves(e),
        syn::Stmt::Macro(m) => leaving_macro(&m.mac),
        _ => false,
    })
}

fn leaves(e: &Expr) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => true,
        Expr::Block(b) => block_turns_away(&b.block),
        Expr::Macro(m) => leaving_macro(&m.mac),
        _ => false,
    }
}

fn leaving_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "bail"
        )
    })
}

/// Whether an expression's receiver chain names `name` (a field or a binding).
fn mentions(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Field(f) => {
            matches!(&f.member, syn::Member::Named(n) if n == name) || mentions(&f.base, name)
        }
        Expr::Path(p) => p.path.is_ident(name),
        Expr::MethodCall(m) => mentions(&m.receiver, name),
        Expr::Await(a) => mentions(&a.base, name),
        Expr::Try(t) => mentions(&t.expr, name),
        Expr::Paren(p) => mentions(&p.expr, name),
        Expr::Unary(u) => mentions(&u.expr, name),
        _ => false,
    }
}

fn peel_type(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => peel_type(&r.elem),
        Type::Paren(p) => peel_type(&p.elem),
        Type::Group(g) => peel_type(&g.elem),
        _ => ty,
    }
}

fn first_type_arg(ty: &Type) -> Option<&Type> {
    super::syntax::type_args(ty).next()
}

impl Rule for UnboundedQueue {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        let Some(path) = cx.callee(expr) else { return };
        let Some(replacement) = self.constructors.get(&path) else {
            return;
        };
        let help = match replacement {
            Some(r) => {
                format!("use `{r}` and handle a full queue (reject, wait, or drop and count)")
            }
            None => "use a bounded queue and handle a full queue (reject, wait, or drop and count)"
                .to_owned(),
        };
        let (outer, binding) = self.binding_of(cx, expr);
        // Items that each carry a semaphore permit: the semaphore bounds the queue.
        if binding
            .element_types
            .iter()
            .any(|t| self.carries_permit(cx, t))
        {
            return;
        }
        let ctor = written(expr);
        let Some(start) = self.start(cx, outer, &binding) else {
            // As for unbounded-channel: where the pushes are not visible, the evidence stops.
            cx.report_medium(RawFinding {
                rule: ID,
                range: cx.range(expr),
                message: format!("`{ctor}` creates an unbounded queue whose producers are not visible here: pushes always succeed, so a backlog grows in memory without limit"),
                help,
                labels: Vec::new(),
                fix: None,
            }, "the producers are not visible in this file (the queue is not kept in a local or field it follows)");
            return;
        };
        let index = FileIndex::new(cx.file);
        let pushes = handle_uses(&index, &self.vocabulary, start);
        let pace = pushes
            .judge(&index, &self.vocabulary)
            .unwrap_or(Pace::NotVisible {
                at: 0..0,
                reason: "no push on it is visible".to_owned(),
                label: String::new(),
            });
        let mut labels = Vec::new();
        let mut opaque = None;
        let message = match pace {
            Pace::Bounded => return,
            Pace::External {
                source,
                text,
                accept,
                channel,
                at,
            } => {
                opaque = channel.as_deref().map(producers::channel_feed_reason);
                let (per, label) = producers::feed_words(&text, accept, "push");
                labels.push((source, label));
                labels.push((
                    at,
                    "pushed here, with nothing to slow the producer".to_owned(),
                ));
                format!("`{ctor}` creates an unbounded queue fed once per {per}: pushes always succeed, so when that source outpaces the consumer the backlog grows in memory without limit")
            }
            Pace::Unpaced { at } => {
                labels.push((
                    at,
                    "pushed here in a loop, with nothing to slow the producer".to_owned(),
                ));
                format!("`{ctor}` creates an unbounded queue pushed in a loop that nothing visibly paces: pushes always succeed, so a backlog grows in memory without limit")
            }
            Pace::NotVisible { at, reason, label } => {
                labels.push((at, label));
                opaque = Some(format!(
                    "the producers are not visible in this file ({reason})"
                ));
                format!("`{ctor}` creates an unbounded queue whose producers are not visible here ({reason}): pushes always succeed, so a backlog grows in memory without limit")
            }
        };
        labels.retain(|(r, _)| r.end > r.start);
        let finding = RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels,
            fix: None,
        };
        match opaque {
            Some(reason) => cx.report_medium(finding, reason),
            None => cx.report(finding),
        }
    }

    fn check_fn<'ast>(&self, cx: &mut Context<'ast>) {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return;
        };
        let mut pushes = Vec::new();
        let mut handoff = false;
        let mut pops = Vec::new();
        for_each_expr_in_block(body, false, &mut |e| {
            if let Expr::MethodCall(m) = e {
                let method = m.method.to_string();
                if self.push_methods.contains(&method) && m.args.len() == 1 {
                    pushes.push((e, m));
                } else if self.handoff_methods.contains(&method) {
                    handoff = true;
                } else if self.pop_methods.contains(&method) {
                    pops.push(&*m.receiver);
                }
            }
        });
        if pushes.is_empty() {
            return;
        }
        let mut reported = HashSet::new();
        for (expr, m) in pushes {
            let Some((name, storage)) = self.shared_queue(cx, &m.receiver, 0) else {
                continue;
            };
            if !reported.insert(name.clone()) {
                continue;
            }
            let last = name.rsplit('.').next().unwrap_or(&name);
            // Popped in the same function: a pool's check-in or a ring buffer, not a producer.
            if pops.iter().any(|r| mentions(r, last)) {
                continue;
            }
            // Only a check of this queue's length on the pushing path bounds it: in this
            // function, or in a function of the file it calls to decide (`if self.is_full()`).
            if self.checked_on_path(cx, body, expr, &name) {
                continue;
            }
            // A shared Vec is a work queue only when a consumer is woken after the push and
            // something pops it; otherwise it is an accumulator, a pool or a waker list.
            if storage == Storage::Vec
                && !(handoff && Self::called_in_file(cx.file, &name, &self.pop_methods))
            {
                continue;
            }
            let kind = if storage == Storage::Deque {
                "queue"
            } else {
                "`Vec` used as a work queue"
            };
            cx.report(RawFinding {
                rule: ID,
                range: cx.range(expr),
                message: format!(
                    "`{name}` is a shared {kind} and this `{}` never checks its length: when producers outpace the consumer it grows until memory runs out",
                    m.method
                ),
                help: "check `len()` against a maximum before pushing and reject or drop (with a metric), or use a bounded channel or `crossbeam_queue::ArrayQueue::new(n)`".to_owned(),
                labels: Vec::new(),
                fix: None,
            });
        }
    }
}
