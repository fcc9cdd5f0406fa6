//! Outbound responses: whether a body read whole comes from an upstream the program called, and
//! where its bytes go in the function. A reply decoded into a typed value is the size of a reply,
//! not a stream; a body handed on whole (returned, stored, given to a constructor or a sink) is
//! buffered in full on its way through.
use std::ops::Range;

use syn::visit::{self, Visit};
use syn::{Expr, Pat};

use super::{WholeBodyRead, MAX_DEPTH};
use crate::engine::Context;
use crate::rules::syntax::{ident_of, let_binding_of, peel, segment_names, strip_pat_type};

/// Where the bytes of a body read whole end up, as far as the function shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Destination {
    /// Decoded into a typed value (`json::<T>()`, `serde_json::from_slice(&bytes)`, `text.parse()`).
    Decoded,
    /// Handed on whole; the range and the label say where.
    Forwarded(Range<usize>, String),
    /// Neither, as far as this function shows (discarded, inspected, given to a function of the
    /// crate).
    Unseen,
}

/// One step of a value towards its use.
enum Step {
    /// The parent carries the same bytes on (`.await`, `?`, `&`, `.to_vec()`, `Ok(..)`).
    Carry,
    /// A use that only reads the size, or a `let` that shadows the name with the same bytes.
    Neutral,
    Done(Destination),
}

impl WholeBodyRead {
    /// Where the body read by `read` (the expression being checked) goes.
    pub(super) fn destination<'ast>(&self, cx: &Context<'ast>, read: &'ast Expr) -> Destination {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return Destination::Unseen;
        };
        match self.follow(cx, body, read, &mut cx.ancestors(), None, 0) {
            Step::Done(d) => d,
            Step::Carry | Step::Neutral => Destination::Unseen,
        }
    }

    /// Follows `value` up through `parents` (innermost first) to the use that decides it.
    fn follow<'ast>(
        &self,
        cx: &Context<'ast>,
        body: &'ast syn::Block,
        mut value: &'ast Expr,
        parents: &mut dyn Iterator<Item = &'ast Expr>,
        name: Option<&str>,
        depth: usize,
    ) -> Step {
        loop {
            if let Some(local) = let_binding_of(body, value) {
                return match strip_pat_type(&local.pat) {
                    Pat::Ident(p) if name.is_some_and(|n| p.ident == n) => Step::Neutral,
                    Pat::Ident(p) => {
                        use syn::spanned::Spanned;
                        let after = local.span().byte_range().end;
                        let bound = p.ident.to_string();
                        Step::Done(self.uses_of(cx, body, &bound, after, depth + 1))
                    }
                    _ => Step::Done(Destination::Unseen),
                };
            }
            let Some(parent) = parents.next() else {
                let tail = matches!(body.stmts.last(), Some(syn::Stmt::Expr(e, None)) if std::ptr::eq(e, value));
                return Step::Done(if tail {
                    Destination::Forwarded(
                        cx.range(value),
                        "the whole body is returned here".to_owned(),
                    )
                } else {
                    Destination::Unseen
                });
            };
            match self.step(cx, value, parent) {
                Step::Carry => value = parent,
                other => return other,
            }
        }
    }

    /// What `parent` does with its child `value`.
    fn step(&self, cx: &Context<'_>, value: &Expr, parent: &Expr) -> Step {
        let is = |e: &Expr| std::ptr::eq(e, value);
        let tail_of =
            |b: &syn::Block| matches!(b.stmts.last(), Some(syn::Stmt::Expr(e, None)) if is(e));
        let forwarded = |what: String| Step::Done(Destination::Forwarded(cx.range(parent), what));
        match parent {
            Expr::Await(_)
            | Expr::Try(_)
            | Expr::Paren(_)
            | Expr::Group(_)
            | Expr::Reference(_) => Step::Carry,
            Expr::Index(i) if is(&i.expr) => Step::Carry,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => Step::Carry,
            Expr::MethodCall(m) if is(&m.receiver) => {
                let method = m.method.to_string();
                if self.decode_methods.contains(&method) {
                    Step::Done(Destination::Decoded)
                } else if self.is_adapter(m)
                    || self.value_passthrough.contains(&method)
                    || self.body_views.contains(&method)
                {
                    Step::Carry
                } else if self.length_queries.contains(&method) {
                    Step::Neutral
                } else {
                    Step::Done(Destination::Unseen)
                }
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                // `.map(|c| c.to_bytes())` on the collected result: the closure's value is the map's.
                if matches!(value, Expr::Closure(_))
                    && matches!(method.as_str(), "map" | "and_then" | "map_ok")
                {
                    Step::Carry
                } else if self.forwarding_methods.contains(&method) {
                    forwarded(format!("the whole body is handed to `.{method}()` here"))
                } else {
                    Step::Done(Destination::Unseen)
                }
            }
            Expr::Call(c) if c.args.iter().any(is) => {
                if matches!(value, Expr::Closure(_) | Expr::Async(_)) {
                    return Step::Done(Destination::Unseen);
                }
                if let Expr::Path(p) = &*c.func {
                    if p.path.is_ident("Ok") || p.path.is_ident("Some") {
                        return Step::Carry;
                    }
                }
                let path = cx.callee(parent);
                if path.as_ref().is_some_and(|p| self.decode_fns.contains(p)) {
                    let turbofish = match &*c.func {
                        Expr::Path(p) => p.path.segments.last().and_then(|s| match &s.arguments {
                            syn::PathArguments::AngleBracketed(a) => Some(a),
                            _ => None,
                        }),
                        _ => None,
                    };
                    if self.untyped_document(cx, turbofish) {
                        return Step::Carry;
                    }
                    return Step::Done(Destination::Decoded);
                }
                if path.as_ref().is_some_and(|p| self.view_fns.contains(p)) {
                    return Step::Carry;
                }
                match path {
                    // A function of this crate: what it does with the bytes is not followed.
                    Some(p) if cx.local_callee(parent).is_none() => forwarded(format!(
                        "the whole body is handed to `{}` here",
                        super::short(&p)
                    )),
                    _ => Step::Done(Destination::Unseen),
                }
            }
            Expr::Closure(c) if is(&c.body) => Step::Carry,
            Expr::Struct(s) => {
                let name = s
                    .path
                    .segments
                    .last()
                    .map_or_else(String::new, |seg| seg.ident.to_string());
                forwarded(format!(
                    "the whole body is stored in `{name} {{ .. }}` here"
                ))
            }
            Expr::Return(_) => forwarded("the whole body is returned here".to_owned()),
            Expr::Block(b) if tail_of(&b.block) => Step::Carry,
            Expr::Unsafe(b) if tail_of(&b.block) => Step::Carry,
            Expr::If(i)
                if tail_of(&i.then_branch)
                    || i.else_branch.as_ref().is_some_and(|(_, e)| is(e)) =>
            {
                Step::Carry
            }
            Expr::Match(m) if m.arms.iter().any(|a| is(&a.body)) => Step::Carry,
            _ => Step::Done(Destination::Unseen),
        }
    }

    /// Whether a decode's type arguments name a document with no schema (`serde_json::Value`):
    /// the body's bytes in another form, as large as they were, so its use is followed further.
    pub(super) fn untyped_document(
        &self,
        cx: &Context<'_>,
        args: Option<&syn::AngleBracketedGenericArguments>,
    ) -> bool {
        args.is_some_and(|a| {
            a.args.iter().any(|g| match g {
                syn::GenericArgument::Type(t) => cx
                    .type_path(t)
                    .is_some_and(|p| self.untyped_documents.contains(&p)),
                _ => false,
            })
        })
    }

    /// Where the bytes bound to `name` (from byte `after` on) go: decoded when every use decodes
    /// them or reads only their size, forwarded when one use hands them on.
    fn uses_of<'ast>(
        &self,
        cx: &Context<'ast>,
        body: &'ast syn::Block,
        name: &str,
        after: usize,
        depth: usize,
    ) -> Destination {
        struct Uses<'n, 'ast> {
            name: &'n str,
            after: usize,
            stack: Vec<&'ast Expr>,
            found: Vec<(&'ast Expr, Vec<&'ast Expr>)>,
        }
        impl<'ast> Visit<'ast> for Uses<'_, 'ast> {
            fn visit_expr(&mut self, e: &'ast Expr) {
                use syn::spanned::Spanned;
                if ident_of(e).as_deref() == Some(self.name)
                    && e.span().byte_range().start >= self.after
                {
                    self.found.push((e, self.stack.clone()));
                }
                self.stack.push(e);
                visit::visit_expr(self, e);
                self.stack.pop();
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        if depth > MAX_DEPTH {
            return Destination::Unseen;
        }
        let mut uses = Uses {
            name,
            after,
            stack: Vec::new(),
            found: Vec::new(),
        };
        uses.visit_block(body);
        let mut decoded = false;
        let mut unseen = uses.found.is_empty();
        for (e, stack) in uses.found {
            let mut parents = stack.into_iter().rev();
            match self.follow(cx, body, e, &mut parents, Some(name), depth) {
                Step::Done(Destination::Forwarded(at, what)) => {
                    return Destination::Forwarded(at, what)
                }
                Step::Done(Destination::Decoded) => decoded = true,
                Step::Done(Destination::Unseen) | Step::Carry => unseen = true,
                Step::Neutral => {}
            }
        }
        if decoded && !unseen {
            Destination::Decoded
        } else {
            Destination::Unseen
        }
    }

    /// Whether the body `e` comes out of an outbound response: `response.into_body()`,
    /// `resp.body_mut()`, the body of `let (parts, body) = response.into_parts();`.
    pub(super) fn is_outbound_body(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match peel(e) {
            Expr::MethodCall(m) if self.body_accessors.iter().any(|a| m.method == a) => {
                self.is_outbound_response(cx, &m.receiver, depth + 1)
            }
            Expr::MethodCall(m) if self.is_adapter(m) => {
                self.is_outbound_body(cx, &m.receiver, depth)
            }
            e => {
                let Some(b) = ident_of(e).and_then(|n| cx.binding(&n).copied()) else {
                    return false;
                };
                let Some(init) = b.init else { return false };
                match (b.tuple_index, peel(init)) {
                    (Some(1), Expr::MethodCall(m)) if m.method == "into_parts" => {
                        self.is_outbound_response(cx, &m.receiver, depth + 1)
                    }
                    (None, init) => self.is_outbound_body(cx, init, depth + 1),
                    _ => false,
                }
            }
        }
    }

    /// Whether `e` is a response the program received from a peer it called: a client's response
    /// (see `is_response`), what a request method yields when awaited (`http.send(req).await?`,
    /// `svc.call(req).await?`), what a function of this file declared to return a `Response`
    /// yields, or a value whose type is named `Response`.
    fn is_outbound_response(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if self.is_response(cx, e, depth) {
            return true;
        }
        // Not `peel`: it would strip the `.await` that tells a request's response from its future.
        let mut e = e;
        let mut awaited = false;
        loop {
            e = match e {
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Reference(r) => &r.expr,
                Expr::Try(t) => &t.expr,
                Expr::Await(a) => {
                    awaited = true;
                    &a.base
                }
                Expr::MethodCall(m)
                    if self.is_adapter(m)
                        || matches!(m.method.to_string().as_str(), "unwrap" | "expect") =>
                {
                    &m.receiver
                }
                _ => break,
            };
        }
        if let Some(name) = ident_of(e) {
            if !awaited && self.request_callback_param(cx, &name) {
                return true;
            }
        }
        match e {
            Expr::MethodCall(m) => awaited && self.request_methods.iter().any(|r| m.method == r),
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return false;
                };
                let Some(last) = p.path.segments.last() else {
                    return false;
                };
                awaited
                    && p.path.segments.len() == 1
                    && self.file_fn_returns_response(cx, &last.ident)
            }
            _ => cx.local_is(
                e,
                |ty| self.names_response(ty),
                |init| self.is_outbound_response(cx, init, depth + 1),
            ),
        }
    }

    /// Whether `name` is the parameter of a callback run on a request's response:
    /// `client.send(req).map_err(..).and_then(|response| async { .. })` (futures' `TryFutureExt`,
    /// whose `and_then` / `map_ok` closures get the `Ok` value).
    fn request_callback_param(&self, cx: &Context<'_>, name: &str) -> bool {
        let mut ancestors = cx.ancestors();
        let Some(closure) = ancestors.find_map(|a| match a {
            Expr::Closure(c) => Some(c),
            _ => None,
        }) else {
            return false;
        };
        let binds = closure.inputs.len() == 1
            && matches!(strip_pat_type(&closure.inputs[0]), Pat::Ident(p) if p.ident == name);
        let Some(Expr::MethodCall(m)) = ancestors.next() else {
            return false;
        };
        let on_ok = matches!(m.method.to_string().as_str(), "and_then" | "map_ok");
        let passed = m
            .args
            .iter()
            .any(|a| matches!(peel(a), Expr::Closure(c) if std::ptr::eq(c, closure)));
        if !binds || !on_ok || !passed {
            return false;
        }
        let mut future = &*m.receiver;
        loop {
            future = match future {
                Expr::Paren(p) => &p.expr,
                Expr::MethodCall(a) if self.is_adapter(a) || a.method == "err_into" => &a.receiver,
                Expr::MethodCall(r) => {
                    return !r.args.is_empty() && self.request_methods.iter().any(|q| r.method == q)
                }
                _ => return false,
            };
        }
    }

    /// A type that names a response anywhere in its path (`http::Response<Body>`,
    /// `crate::Response`, `Result<Response<B>, E>`).
    fn names_response(&self, ty: &syn::Type) -> bool {
        struct Names<'n> {
            wanted: &'n [String],
            found: bool,
        }
        impl<'ast> Visit<'ast> for Names<'_> {
            fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
                self.found |= self.wanted.iter().any(|w| s.ident == w);
                visit::visit_path_segment(self, s);
            }
        }
        let mut names = Names {
            wanted: &self.response_type_names,
            found: false,
        };
        names.visit_type(ty);
        names.found
    }

    /// Whether a function named `name` in this file declares a return type that names a response.
    fn file_fn_returns_response(&self, cx: &Context<'_>, name: &syn::Ident) -> bool {
        struct Fns<'a> {
            rule: &'a WholeBodyRead,
            name: &'a syn::Ident,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Fns<'_> {
            fn visit_signature(&mut self, sig: &'ast syn::Signature) {
                if sig.ident == *self.name {
                    if let syn::ReturnType::Type(_, ty) = &sig.output {
                        self.found |= self.rule.names_response(ty);
                    }
                }
            }
            fn visit_block(&mut self, _: &'ast syn::Block) {}
        }
        let mut fns = Fns {
            rule: self,
            name,
            found: false,
        };
        fns.visit_file(cx.file);
        fns.found
    }

    /// Whether the builder chain `e` starts at a client that tonic-build generated
    /// (`pubsub_client::PubsubClient::new(channel)`, `with_interceptor(..)`, `connect(..)`): its
    /// messages are replies of the server the program connects to.
    pub(super) fn on_generated_client(&self, cx: &Context<'_>, e: &Expr) -> bool {
        let mut e = peel(e);
        while let Expr::MethodCall(m) = e {
            e = peel(&m.receiver);
        }
        let mut segs = match e {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => segment_names(&p.path),
                _ => return false,
            },
            _ => {
                let Some(b) = ident_of(e).and_then(|n| cx.binding(&n).copied()) else {
                    return false;
                };
                match (b.ty.map(peel_type), b.init) {
                    (Some(syn::Type::Path(p)), _) => {
                        let mut s = segment_names(&p.path);
                        s.push(String::new());
                        s
                    }
                    (None, Some(init)) => return self.on_generated_client(cx, init),
                    _ => return false,
                }
            }
        };
        // `PubsubClient::new` with `use ..::pubsub_client::PubsubClient;`: the module is the import's.
        if segs.len() == 2 {
            if let Some(module) =
                crate::rules::client_without_timeout::import_parent(&cx.file.items, &segs[0])
            {
                segs.insert(0, module);
            }
        }
        match segs.as_slice() {
            [.., module, ty, _] => {
                ty.ends_with("Client")
                    && module.ends_with("_client")
                    && module.replace('_', "") == ty.to_lowercase()
            }
            _ => false,
        }
    }
}

fn peel_type(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Reference(r) => peel_type(&r.elem),
        syn::Type::Paren(p) => peel_type(&p.elem),
        _ => ty,
    }
}
