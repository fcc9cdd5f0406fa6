//! `call-without-poll-ready`: a tower service called in a function that never drives its
//! readiness, or a clone of a middleware's inner service called instead of the polled instance.
use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{Expr, GenericParam, Type, TypeParamBound, WherePredicate};

use super::syntax::{for_each_expr_in_block, ident_of, peel, self_field, type_args};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "call-without-poll-ready";

pub struct CallWithoutPollReady {
    traits: HashSet<String>,
    /// Concrete service types (boxed services, `Buffer`, limits).
    boxed: HashSet<String>,
    readiness: HashSet<String>,
    /// Locks a shared service sits behind (`Arc<Mutex<S>>`), and the methods that give its guard.
    locks: HashSet<String>,
    lock_methods: Vec<String>,
}

impl CallWithoutPollReady {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        CallWithoutPollReady {
            traits: api_map(doc, "service-traits").into_keys().collect(),
            boxed: api_map(doc, "service-types").into_keys().collect(),
            readiness: name_list(doc, "readiness-methods").into_iter().collect(),
            locks: api_map(doc, "service-locks").into_keys().collect(),
            lock_methods: name_list(doc, "lock-methods"),
        }
    }

    /// `svc.lock().await` → `svc`: the value whose lock gives the guard (peeled), if `e` is a guard.
    fn locked_value<'e>(&self, e: &'e Expr) -> Option<&'e Expr> {
        match peel(e) {
            Expr::MethodCall(m)
                if m.args.is_empty() && self.lock_methods.iter().any(|l| m.method == l) =>
            {
                Some(peel(&m.receiver))
            }
            _ => None,
        }
    }

    /// Whether a declared type is a lock over a service, through `Arc`/`Rc` and references:
    /// `Arc<tokio::sync::Mutex<S>>`.
    fn is_locked_service_type(
        &self,
        cx: &Context<'_>,
        generics: &HashSet<String>,
        ty: &Type,
    ) -> bool {
        let Some(path) = cx.type_path(ty) else {
            return false;
        };
        if matches!(
            path.as_str(),
            "std::sync::Arc" | "std::rc::Rc" | "std::boxed::Box"
        ) {
            return type_args(ty).any(|t| self.is_locked_service_type(cx, generics, t));
        }
        self.locks.contains(&path) && type_args(ty).any(|t| self.is_service_type(cx, generics, t))
    }

    /// The declared type of a local or `self` field target.
    fn target_type<'a>(cx: &Context<'a>, target: &Target) -> Option<&'a Type> {
        match target {
            Target::Local(name) => cx.binding(name).and_then(|b| b.ty),
            Target::Field(field) => cx.self_field_type(field),
        }
    }

    fn is_service_bound(&self, cx: &Context<'_>, bound: &TypeParamBound) -> bool {
        matches!(bound, TypeParamBound::Trait(t) if cx.resolve(&t.path).is_some_and(|p| self.traits.contains(&p)))
    }

    /// Generic parameters bounded by tower's `Service`, in the function's and its impl's generics.
    fn service_generics(&self, cx: &Context<'_>) -> HashSet<String> {
        let mut out = HashSet::new();
        let Some(frame) = cx.current_fn() else {
            return out;
        };
        let generics = std::iter::once(&frame.sig.generics).chain(frame.owner.map(|i| &i.generics));
        for g in generics {
            for param in &g.params {
                if let GenericParam::Type(t) = param {
                    if t.bounds.iter().any(|b| self.is_service_bound(cx, b)) {
                        out.insert(t.ident.to_string());
                    }
                }
            }
            for pred in g.where_clause.iter().flat_map(|w| &w.predicates) {
                if let WherePredicate::Type(p) = pred {
                    let Type::Path(ty) = &p.bounded_ty else {
                        continue;
                    };
                    if let Some(name) = ty.path.get_ident() {
                        if p.bounds.iter().any(|b| self.is_service_bound(cx, b)) {
                            out.insert(name.to_string());
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether a declared type is a tower service: a `Service`-bounded generic, `impl Service`,
    /// `dyn Service`, a boxed service, or a reference or `Box` of one.
    fn is_service_type(&self, cx: &Context<'_>, generics: &HashSet<String>, ty: &Type) -> bool {
        match ty {
            Type::Reference(r) => self.is_service_type(cx, generics, &r.elem),
            Type::Paren(p) => self.is_service_type(cx, generics, &p.elem),
            Type::Group(g) => self.is_service_type(cx, generics, &g.elem),
            Type::ImplTrait(t) => t.bounds.iter().any(|b| self.is_service_bound(cx, b)),
            Type::TraitObject(t) => t.bounds.iter().any(|b| self.is_service_bound(cx, b)),
            Type::Path(p) if p.qself.is_none() => {
                if let Some(name) = p.path.get_ident() {
                    if generics.contains(&name.to_string()) {
                        return true;
                    }
                }
                let Some(path) = cx.resolve(&p.path) else {
                    return false;
                };
                if self.boxed.contains(&path) {
                    return true;
                }
                // `Box<dyn Service<..>>`
                path == "std::boxed::Box"
                    && type_args(ty).any(|t| self.is_service_type(cx, generics, t))
            }
            _ => false,
        }
    }

    /// Whether `body` drives readiness on `target` (a local name or `self.<field>`, as written).
    fn drives_readiness(&self, body: &syn::Block, target: &Target) -> bool {
        let mut found = false;
        for_each_expr_in_block(body, false, &mut |e| match e {
            Expr::MethodCall(m) if self.readiness.contains(&m.method.to_string()) => {
                let receiver = peel(&m.receiver);
                found |= target.is(receiver)
                    || self.locked_value(receiver).is_some_and(|l| target.is(l));
            }
            Expr::Call(c) => {
                let readiness_fn = matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| self.readiness.contains(&s.ident.to_string())));
                if readiness_fn {
                    found |= c.args.first().is_some_and(|a| target.is(peel(a)));
                }
            }
            _ => {}
        });
        found
    }

    /// `(Self type, field)` pairs that some method of the file's impls calls `poll_ready` on: a
    /// state machine polls readiness in one state and calls in another. (An awaited `ready()` in
    /// another method does not count: it readies that method's call only.)
    fn fields_polled_in_file(file: &syn::File) -> HashSet<(String, String)> {
        struct Impls {
            out: HashSet<(String, String)>,
        }
        impl<'ast> Visit<'ast> for Impls {
            fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
                let Some(self_ty) = type_name(&i.self_ty) else {
                    return;
                };
                for item in &i.items {
                    let syn::ImplItem::Fn(f) = item else { continue };
                    for_each_expr_in_block(&f.block, false, &mut |e| {
                        let receiver = match e {
                            Expr::MethodCall(m) if m.method == "poll_ready" => Some(&*m.receiver),
                            Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "poll_ready")) => {
                                c.args.first()
                            }
                            _ => None,
                        };
                        if let Some(field) = receiver.and_then(|r| self_field(peel(r))) {
                            self.out.insert((self_ty.clone(), field));
                        }
                    });
                }
            }
        }
        let mut impls = Impls {
            out: HashSet::new(),
        };
        visit::visit_file(&mut impls, file);
        impls.out
    }

    /// Whether the current function is the `call` of a tower `Service` impl.
    fn in_service_call(&self, cx: &Context<'_>) -> bool {
        let Some(frame) = cx.current_fn() else {
            return false;
        };
        frame.sig.ident == "call"
            && frame
                .owner
                .and_then(|i| i.trait_.as_ref())
                .and_then(|(path, _)| cx.resolve(path))
                .is_some_and(|p| self.traits.contains(&p))
    }
}

/// Whether `target` is swapped with another value (`std::mem::swap(&mut self.inner, &mut inner)`):
/// the clone-and-swap idiom leaves the polled instance in `target`.
fn swapped_in(body: &syn::Block, target: &Target) -> bool {
    let mut found = false;
    for_each_expr_in_block(body, false, &mut |e| {
        if let Expr::Call(c) = e {
            let swap = matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "swap"));
            found |= swap && c.args.iter().any(|a| target.is(peel(a)));
        }
    });
    found
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The value a call is made on, as the rule compares it with readiness calls.
enum Target {
    Local(String),
    Field(String),
}

impl Target {
    fn of(e: &Expr) -> Option<Target> {
        ident_of(e)
            .map(Target::Local)
            .or_else(|| self_field(e).map(Target::Field))
    }

    fn is(&self, e: &Expr) -> bool {
        match self {
            Target::Local(name) => ident_of(e).as_deref() == Some(name),
            Target::Field(name) => self_field(e).as_deref() == Some(name),
        }
    }

    fn written(&self) -> String {
        match self {
            Target::Local(name) => name.clone(),
            Target::Field(name) => format!("self.{name}"),
        }
    }
}

/// How the called value came to be a service.
enum Kind {
    /// Declared as a service type.
    Declared,
    /// A `.clone()` of a service (`self.inner.clone()`).
    CloneOf(String),
}

impl Rule for CallWithoutPollReady {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        let receiver = match expr {
            Expr::MethodCall(m) if m.method == "call" && m.args.len() == 1 => &*m.receiver,
            Expr::Call(c)
                if c.args.len() == 2
                    && cx.callee(expr).is_some_and(|p| {
                        p.strip_suffix("::call")
                            .is_some_and(|t| self.traits.contains(t))
                    }) =>
            {
                &c.args[0]
            }
            _ => return,
        };
        let receiver = peel(receiver);
        let generics = self.service_generics(cx);
        // `svc.lock().await.call(req)`: the service behind a shared lock, called through its guard.
        if let Some(locked) = self.locked_value(receiver) {
            let Some(target) = Target::of(locked) else {
                return;
            };
            if matches!(target, Target::Field(_)) && self.in_service_call(cx) {
                return; // a middleware's inner service: see poll-ready-not-forwarded
            }
            let shared = Self::target_type(cx, &target)
                .is_some_and(|t| self.is_locked_service_type(cx, &generics, t));
            let Some(body) = cx.current_fn().map(|f| f.body) else {
                return;
            };
            if shared && !self.drives_readiness(body, &target) {
                let guard = super::syntax::written(receiver);
                self.report_unready(cx, expr, &guard, Kind::Declared);
            }
            return;
        }
        let Some(target) = Target::of(receiver) else {
            return;
        };
        let Some(frame) = cx.current_fn() else { return };
        let body = frame.body;
        let self_type = frame.self_type.clone();
        // `let mut guard = svc.lock().await; guard.call(req)`.
        if let Target::Local(name) = &target {
            let guarded = cx
                .binding(name)
                .and_then(|b| b.init)
                .and_then(|i| self.locked_value(i))
                .and_then(Target::of)
                .and_then(|t| Self::target_type(cx, &t))
                .is_some_and(|t| self.is_locked_service_type(cx, &generics, t));
            if guarded {
                if !self.drives_readiness(body, &target) {
                    self.report_unready(cx, expr, name, Kind::Declared);
                }
                return;
            }
        }
        let kind = match &target {
            Target::Local(name) => {
                let Some(binding) = cx.binding(name).copied() else {
                    return;
                };
                if matches!(binding.ty, Some(Type::Reference(_))) {
                    // A service lent by reference: the caller that owns it may have driven its
                    // readiness (a helper handed a ready service).
                    return;
                }
                if binding
                    .ty
                    .is_some_and(|t| self.is_service_type(cx, &generics, t))
                {
                    Kind::Declared
                } else if let Some(source) = binding
                    .init
                    .and_then(|i| self.cloned_service(cx, &generics, i))
                {
                    Kind::CloneOf(source)
                } else {
                    return;
                }
            }
            Target::Field(field) => {
                if self.in_service_call(cx) {
                    return; // the caller polled this middleware ready; see poll-ready-not-forwarded
                }
                let typed = cx
                    .self_field_type(field)
                    .is_some_and(|t| self.is_service_type(cx, &generics, t));
                if !typed {
                    return;
                }
                let driven = cx.cached(ID, |cx| Self::fields_polled_in_file(cx.file));
                if self_type.is_some_and(|t| driven.contains(&(t, field.clone()))) {
                    return;
                }
                Kind::Declared
            }
        };
        if self.drives_readiness(body, &target) || swapped_in(body, &target) {
            return;
        }
        let name = target.written();
        // Outside a middleware's `call` no instance was polled: a clone is just an unready service.
        let kind = match kind {
            Kind::CloneOf(_) if !self.in_service_call(cx) => Kind::Declared,
            kind => kind,
        };
        // A middleware whose `poll_ready` polls nothing has one problem, poll-ready-not-forwarded's:
        // no instance was polled, so calling a clone loses nothing more.
        if matches!(kind, Kind::CloneOf(_))
            && cx
                .current_fn()
                .and_then(|f| f.owner)
                .and_then(|i| super::poll_ready_not_forwarded::poll_ready_of(i))
                .is_some_and(|f| !super::poll_ready_not_forwarded::forwards_readiness(f))
        {
            return;
        }
        self.report_unready(cx, expr, &name, kind);
    }
}

impl CallWithoutPollReady {
    fn report_unready<'ast>(
        &self,
        cx: &mut Context<'ast>,
        expr: &'ast Expr,
        name: &str,
        kind: Kind,
    ) {
        let (message, help) = match kind {
            Kind::Declared => (
                format!("`{name}` is a tower service called without driving its readiness in this function: `call` must follow `poll_ready` returning `Ready(Ok(()))`, and a buffer or concurrency limit behind it then queues without bound or panics"),
                format!("drive readiness first: `{name}.ready().await?.call(req)` (tower::ServiceExt), or `{name}.oneshot(req)`"),
            ),
            Kind::CloneOf(source) => (
                format!("`{name}` is a clone of `{source}`, and a clone has not been polled ready: the instance `poll_ready` reserved capacity on is never called, so the service's backpressure is bypassed"),
                format!("call the polled instance and leave the clone in its place: `let clone = {source}.clone(); let mut {name} = std::mem::replace(&mut {source}, clone);`"),
            ),
        };
        let range = cx.range(expr);
        cx.report(RawFinding {
            rule: ID,
            range,
            message,
            help,
            labels: Vec::new(),
            fix: None,
        });
    }

    /// `<service>.clone()` as a binding's initializer → the service as written.
    fn cloned_service(
        &self,
        cx: &Context<'_>,
        generics: &HashSet<String>,
        init: &Expr,
    ) -> Option<String> {
        let Expr::MethodCall(m) = peel(init) else {
            return None;
        };
        if m.method != "clone" || !m.args.is_empty() {
            return None;
        }
        let source = peel(&m.receiver);
        let is_service = if let Some(field) = self_field(source) {
            cx.self_field_type(&field)
                .is_some_and(|t| self.is_service_type(cx, generics, t))
        } else if let Some(name) = ident_of(source) {
            cx.binding(&name)
                .and_then(|b| b.ty)
                .is_some_and(|t| self.is_service_type(cx, generics, t))
        } else {
            false
        };
        is_service
            .then(|| Target::of(source).map(|t| t.written()))
            .flatten()
    }
}
