//! Small syntactic helpers shared by rules: peeling wrappers, naming method calls, evaluating
//! constant capacities, and scanning a body for calls without descending into nested bodies.
use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Lit};

use crate::engine::Context;

/// Strips parentheses, `?`, `.await`, and `unwrap`/`expect`-like calls: `(a.recv().await?)` → `a.recv()`.
pub fn peel(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::Reference(r) => &r.expr,
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "unwrap" | "expect" | "unwrap_or_default"
                ) =>
            {
                &m.receiver
            }
            _ => return expr,
        };
    }
}

/// The method name of a method call.
pub fn method_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::MethodCall(m) => Some(m.method.to_string()),
        _ => None,
    }
}

/// The single identifier of a path expression: `tx` → `Some("tx")`.
pub fn ident_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Paren(p) => ident_of(&p.expr),
        Expr::Reference(r) => ident_of(&r.expr),
        _ => None,
    }
}

/// `self.<field>` → the field name.
pub fn self_field(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Field(f) => match (&*f.base, &f.member) {
            (Expr::Path(p), syn::Member::Named(name)) if p.path.is_ident("self") => {
                Some(name.to_string())
            }
            _ => None,
        },
        Expr::Paren(p) => self_field(&p.expr),
        Expr::Reference(r) => self_field(&r.expr),
        _ => None,
    }
}

/// The value of `usize::MAX` on the 64-bit targets servers run on.
pub const USIZE_MAX: u128 = u64::MAX as u128;
/// `tokio::sync::Semaphore::MAX_PERMITS` = `usize::MAX >> 3`.
pub const MAX_PERMITS: u128 = USIZE_MAX >> 3;

/// Evaluates a constant integer expression: literals, `usize::MAX`, `Semaphore::MAX_PERMITS`,
/// file-level consts, and `+ - * / << >>` between them. `None` when it is not a constant.
pub fn const_value(cx: &Context<'_>, expr: &Expr) -> Option<u128> {
    const_value_at(cx, expr, 0)
}

fn const_value_at(cx: &Context<'_>, expr: &Expr, depth: usize) -> Option<u128> {
    if depth > 16 {
        return None;
    }
    match expr {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i.base10_parse::<u128>().ok(),
            _ => None,
        },
        Expr::Paren(p) => const_value_at(cx, &p.expr, depth + 1),
        Expr::Group(g) => const_value_at(cx, &g.expr, depth + 1),
        Expr::Cast(c) => const_value_at(cx, &c.expr, depth + 1),
        Expr::Path(p) if p.qself.is_none() => {
            let segs: Vec<String> = segment_names(&p.path);
            match segs
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                [.., "usize" | "u64", "MAX"] => Some(USIZE_MAX),
                [.., "u32", "MAX"] => Some(u32::MAX as u128),
                [.., "MAX_PERMITS"] => Some(MAX_PERMITS),
                [name] => {
                    let (_, value) = cx.items.consts.get(*name)?;
                    const_value_at(cx, value, depth + 1)
                }
                _ => None,
            }
        }
        Expr::Binary(b) => {
            let l = const_value_at(cx, &b.left, depth + 1)?;
            let r = const_value_at(cx, &b.right, depth + 1)?;
            match b.op {
                BinOp::Add(_) => l.checked_add(r),
                BinOp::Sub(_) => l.checked_sub(r),
                BinOp::Mul(_) => l.checked_mul(r),
                BinOp::Div(_) => l.checked_div(r),
                BinOp::Shl(_) => u32::try_from(r).ok().and_then(|r| l.checked_shl(r)),
                BinOp::Shr(_) => u32::try_from(r).ok().and_then(|r| l.checked_shr(r)),
                _ => None,
            }
            .map(|v| v.min(USIZE_MAX))
        }
        _ => None,
    }
}

/// Describes a capacity for a message: `usize::MAX`, `Semaphore::MAX_PERMITS` or the number.
pub fn describe_capacity(value: u128) -> String {
    match value {
        USIZE_MAX => "`usize::MAX`".to_owned(),
        MAX_PERMITS => "`Semaphore::MAX_PERMITS`".to_owned(),
        v => format!("{v}"),
    }
}

/// Method calls found in a body, with whether each sits inside a loop of that body.
pub struct MethodCallScan<'ast, 'p> {
    /// Which calls to collect: receiver expression and method name.
    pub wanted: &'p dyn Fn(&'ast Expr, &str) -> bool,
    /// Do not descend into closures and async blocks (a different body).
    pub stop_at_closures: bool,
    pub found: Vec<(&'ast syn::ExprMethodCall, bool)>,
    loop_depth: usize,
}

impl<'ast, 'p> MethodCallScan<'ast, 'p> {
    pub fn new(wanted: &'p dyn Fn(&'ast Expr, &str) -> bool, stop_at_closures: bool) -> Self {
        MethodCallScan {
            wanted,
            stop_at_closures,
            found: Vec::new(),
            loop_depth: 0,
        }
    }
}

impl<'ast> Visit<'ast> for MethodCallScan<'ast, '_> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::MethodCall(m) if (self.wanted)(&m.receiver, &m.method.to_string()) => {
                self.found.push((m, self.loop_depth > 0));
            }
            Expr::Closure(_) | Expr::Async(_) if self.stop_at_closures => return,
            _ => {}
        }
        let is_loop = matches!(expr, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_));
        self.loop_depth += usize::from(is_loop);
        visit::visit_expr(self, expr);
        self.loop_depth -= usize::from(is_loop);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Visits expressions, not entering nested items, and optionally not closures or async blocks.
struct ExprWalk<'f, 'ast> {
    f: &'f mut dyn FnMut(&'ast Expr),
    stop_at_closures: bool,
}

impl<'ast> Visit<'ast> for ExprWalk<'_, 'ast> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        (self.f)(e);
        if self.stop_at_closures && matches!(e, Expr::Closure(_) | Expr::Async(_)) {
            return;
        }
        visit::visit_expr(self, e);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Calls `f` on every expression under `expr` (itself included), without entering nested items,
/// and without entering closures or async blocks when `stop_at_closures`.
pub fn for_each_expr<'ast>(
    expr: &'ast Expr,
    stop_at_closures: bool,
    f: &mut dyn FnMut(&'ast Expr),
) {
    ExprWalk {
        f,
        stop_at_closures,
    }
    .visit_expr(expr);
}

/// Like [`for_each_expr`] over a block's statements.
pub fn for_each_expr_in_block<'ast>(
    block: &'ast syn::Block,
    stop_at_closures: bool,
    f: &mut dyn FnMut(&'ast Expr),
) {
    ExprWalk {
        f,
        stop_at_closures,
    }
    .visit_block(block);
}

/// The identifiers of a path's segments, in order: `tokio::net::TcpStream` gives three.
pub fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Renders an expression's path compactly for messages: `mpsc::unbounded_channel`.
pub fn written(expr: &Expr) -> String {
    match expr {
        Expr::Call(c) => written(&c.func),
        Expr::Path(p) => segment_names(&p.path).join("::"),
        Expr::MethodCall(m) => format!(".{}()", m.method),
        _ => "this call".to_owned(),
    }
}

/// The `let` in `body` whose initializer (peeled) is `expr`, if any.
pub fn let_binding_of<'ast>(body: &'ast syn::Block, expr: &Expr) -> Option<&'ast syn::Local> {
    struct Find<'e, 'ast> {
        target: &'e Expr,
        found: Option<&'ast syn::Local>,
    }
    impl<'ast> Visit<'ast> for Find<'_, 'ast> {
        fn visit_local(&mut self, local: &'ast syn::Local) {
            if self.found.is_none()
                && local.init.as_ref().is_some_and(|i| {
                    std::ptr::eq(&*i.expr, self.target) || std::ptr::eq(peel(&i.expr), self.target)
                })
            {
                self.found = Some(local);
            }
            visit::visit_local(self, local);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find {
        target: expr,
        found: None,
    };
    find.visit_block(body);
    find.found
}

/// The identifiers of a `let` pattern by tuple position: `(tx, mut rx)` → [Some(tx), Some(rx)].
pub fn tuple_names(pat: &syn::Pat) -> Vec<Option<String>> {
    fn name(p: &syn::Pat) -> Option<String> {
        match p {
            syn::Pat::Ident(i) => Some(i.ident.to_string()),
            syn::Pat::Type(t) => name(&t.pat),
            _ => None,
        }
    }
    match pat {
        syn::Pat::Tuple(t) => t.elems.iter().map(name).collect(),
        syn::Pat::Type(t) => tuple_names(&t.pat),
        _ => Vec::new(),
    }
}

/// The root identifier of a receiver chain: `b.http1().timer(t)` → `b`.
pub fn chain_root_ident(mut e: &Expr) -> Option<String> {
    loop {
        e = match e {
            Expr::MethodCall(m) => &m.receiver,
            Expr::Await(a) => &a.base,
            Expr::Try(t) => &t.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Field(f) => &f.base,
            _ => return ident_of(e),
        };
    }
}

/// What a builder is configured with: the methods applied along the chain that starts at
/// `ctor` (climbing `cx`'s enclosing expressions), plus, when that chain initializes a `let`,
/// every method called later in the function on that binding (`b = b.timeout(d);`, `b.http1().timer(t);`).
/// Returns the whole chain (the span to report) and the method calls with their first argument.
pub fn builder_config<'ast>(
    cx: &crate::engine::Context<'ast>,
    ctor: &'ast Expr,
) -> (&'ast Expr, Vec<(String, Option<&'ast Expr>)>) {
    let mut methods = Vec::new();
    let mut top = ctor;
    // The chain to report: the branch's own chain when the builder is chosen by an `if`.
    let mut chain = None;
    for ancestor in cx.ancestors() {
        match ancestor {
            Expr::MethodCall(m) if std::ptr::eq(peel_chain_link(&m.receiver), top) => {
                methods.push((m.method.to_string(), m.args.first()));
                top = ancestor;
            }
            Expr::Await(a) if std::ptr::eq(&*a.base, top) => top = ancestor,
            Expr::Try(t) if std::ptr::eq(&*t.expr, top) => top = ancestor,
            Expr::Paren(p) if std::ptr::eq(&*p.expr, top) => top = ancestor,
            // `let b = if tls { Server::builder().tls_config(c)? } else { Server::builder() };`:
            // the builder a branch yields is configured by what is applied to the `if`.
            Expr::Block(b) if block_tail_is(&b.block, top) => {
                chain.get_or_insert(top);
                top = ancestor
            }
            Expr::If(i)
                if block_tail_is(&i.then_branch, top)
                    || i.else_branch
                        .as_ref()
                        .is_some_and(|(_, e)| std::ptr::eq(&**e, top)) =>
            {
                chain.get_or_insert(top);
                top = ancestor
            }
            Expr::Match(m) if m.arms.iter().any(|a| std::ptr::eq(&*a.body, top)) => {
                chain.get_or_insert(top);
                top = ancestor
            }
            _ => break,
        }
    }
    if let Some(body) = cx.current_fn().map(|f| f.body) {
        if let Some(local) = let_binding_of(body, top) {
            if let syn::Pat::Ident(name) = strip_pat_type(&local.pat) {
                let name = name.ident.to_string();
                for_each_expr_in_block(body, false, &mut |e| {
                    if let Expr::MethodCall(m) = e {
                        if chain_root_ident(&m.receiver).as_deref() == Some(name.as_str()) {
                            methods.push((m.method.to_string(), m.args.first()));
                        }
                    }
                });
            }
        }
    }
    (chain.unwrap_or(top), methods)
}

/// Whether `e` is the value `block` ends with.
fn block_tail_is(block: &syn::Block, e: &Expr) -> bool {
    matches!(block.stmts.last(), Some(syn::Stmt::Expr(tail, None)) if std::ptr::eq(tail, e))
}

fn peel_chain_link(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => peel_chain_link(&p.expr),
        _ => e,
    }
}

/// A pattern without its type ascription: `x: T` → `x`.
pub fn strip_pat_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => strip_pat_type(&t.pat),
        _ => p,
    }
}

/// `None` as an argument: `.timeout(None)`.
pub fn is_none(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.path.is_ident("None"))
}

/// A zero duration: `Duration::ZERO`, `Duration::from_secs(0)`, `from_millis(0)`.
pub fn is_zero_duration(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "ZERO"),
        Expr::Call(c) => {
            let is_ctor = matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident.to_string().starts_with("from_")));
            is_ctor
                && c.args.len() == 1
                && matches!(&c.args[0], Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")
        }
        _ => false,
    }
}

/// The value a statement throws away, and whether by `let _ =` / `_ =` (true) or as an expression
/// statement (false): `let _ = v;`, `_ = v;`, `v;`.
pub fn discarded_value(stmt: &syn::Stmt) -> Option<(&Expr, bool)> {
    match stmt {
        syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => l
            .init
            .as_ref()
            .filter(|i| i.diverge.is_none())
            .map(|i| (&*i.expr, true)),
        syn::Stmt::Expr(Expr::Assign(a), Some(_)) if matches!(&*a.left, Expr::Infer(_)) => {
            Some((&a.right, true))
        }
        syn::Stmt::Expr(e, Some(_)) => Some((e, false)),
        _ => None,
    }
}

/// Every function of a file (free, associated, in nested modules) with its name and body.
pub fn fn_bodies(items: &[syn::Item]) -> Vec<(String, &syn::Block)> {
    let mut out = Vec::new();
    for item in items {
        match item {
            syn::Item::Fn(f) => out.push((f.sig.ident.to_string(), &*f.block)),
            syn::Item::Impl(i) => out.extend(i.items.iter().filter_map(|ii| match ii {
                syn::ImplItem::Fn(f) => Some((f.sig.ident.to_string(), &f.block)),
                _ => None,
            })),
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    out.extend(fn_bodies(items));
                }
            }
            _ => {}
        }
    }
    out
}

/// The initializer of `let <name> = ..` anywhere in `block` (the last one wins).
pub fn binding_init<'b>(block: &'b syn::Block, name: &str) -> Option<&'b Expr> {
    binding_inits(block, name).pop()
}

/// The initializers of every `let <name> = ..` in `block`, in source order.
pub fn binding_inits<'b>(block: &'b syn::Block, name: &str) -> Vec<&'b Expr> {
    struct Find<'n, 'b> {
        name: &'n str,
        found: Vec<&'b Expr>,
    }
    impl<'b> Visit<'b> for Find<'_, 'b> {
        fn visit_local(&mut self, l: &'b syn::Local) {
            visit::visit_local(self, l);
            // `let x: T = ..` binds `x` as `let x = ..` does.
            if let (syn::Pat::Ident(p), Some(init)) = (strip_pat_type(&l.pat), &l.init) {
                if p.ident == self.name {
                    self.found.push(&init.expr);
                }
            }
        }
        fn visit_item(&mut self, _: &'b syn::Item) {}
    }
    let mut find = Find {
        name,
        found: Vec::new(),
    };
    find.visit_block(block);
    find.found
}

/// Whether a receiver (a local binding, a parameter, or `self.<field>`) is visibly one of `types`, or
/// a binding made by one of `ctors` (as element `tuple_index` of a tuple pattern, when given).
pub fn receiver_is(
    cx: &Context<'_>,
    receiver: &Expr,
    ctors: &std::collections::HashSet<String>,
    types: &std::collections::HashSet<String>,
    tuple_index: Option<usize>,
) -> bool {
    let typed = |ty: Option<&syn::Type>| {
        ty.and_then(|t| cx.type_path(t))
            .is_some_and(|p| types.contains(&p))
    };
    if let Some(name) = ident_of(receiver) {
        let Some(b) = cx.binding(&name) else {
            return false;
        };
        let made = tuple_index.is_none_or(|i| b.tuple_index == Some(i))
            && b.init
                .and_then(|i| cx.callee(peel(i)))
                .is_some_and(|p| ctors.contains(&p));
        return made || typed(b.ty);
    }
    typed(self_field(receiver).and_then(|f| cx.self_field_type(&f)))
}

/// The type arguments of a path type's last segment: `Arc<Mutex<T>>` → `[Mutex<T>]`.
pub fn type_args(ty: &syn::Type) -> impl Iterator<Item = &syn::Type> {
    let args = match ty {
        syn::Type::Path(p) => match p.path.segments.last().map(|s| &s.arguments) {
            Some(syn::PathArguments::AngleBracketed(a)) => Some(&a.args),
            _ => None,
        },
        _ => None,
    };
    args.into_iter().flatten().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The initializer of the last `let <name> = ..` in `block` that starts before byte `before`: the
/// binding a use at `before` most likely sees, when a name is shadowed later in the function.
pub fn binding_init_before<'b>(
    block: &'b syn::Block,
    name: &str,
    before: usize,
) -> Option<&'b Expr> {
    binding_inits(block, name)
        .into_iter()
        .filter(|init| syn::spanned::Spanned::span(*init).byte_range().start < before)
        .max_by_key(|init| syn::spanned::Spanned::span(*init).byte_range().start)
}

/// The statements that follow `local` in the block that holds it, anywhere in `body` (not
/// entering nested items): the scope of what the `let` binds.
pub fn stmts_after<'ast>(body: &'ast syn::Block, local: &syn::Local) -> Option<&'ast [syn::Stmt]> {
    struct Find<'l, 'ast> {
        local: &'l syn::Local,
        found: Option<&'ast [syn::Stmt]>,
    }
    impl<'ast> Visit<'ast> for Find<'_, 'ast> {
        fn visit_block(&mut self, b: &'ast syn::Block) {
            if self.found.is_some() {
                return;
            }
            let at = b
                .stmts
                .iter()
                .position(|s| matches!(s, syn::Stmt::Local(l) if std::ptr::eq(l, self.local)));
            match at {
                Some(i) => self.found = Some(&b.stmts[i + 1..]),
                None => visit::visit_block(self, b),
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find { local, found: None };
    find.visit_block(body);
    find.found
}

/// The scrutinees that bind `name` through a pattern in `block`: `if let Ok(name) = e`,
/// `while let Some(name) = e`, a `match e` arm `Ok(name) =>` (a plain `name` pattern too). The
/// engine records only `let` bindings; rules that follow a value back use this for the rest.
pub fn pattern_scrutinees<'b>(block: &'b syn::Block, name: &str) -> Vec<&'b Expr> {
    fn binds(pat: &syn::Pat, name: &str) -> bool {
        match pat {
            syn::Pat::Ident(p) => p.ident == name && p.subpat.is_none(),
            syn::Pat::TupleStruct(t) => {
                t.elems.len() == 1
                    && t.path
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "Ok" || s.ident == "Some")
                    && binds(&t.elems[0], name)
            }
            syn::Pat::Type(t) => binds(&t.pat, name),
            syn::Pat::Paren(p) => binds(&p.pat, name),
            _ => false,
        }
    }
    struct Find<'n, 'b> {
        name: &'n str,
        found: Vec<&'b Expr>,
    }
    impl<'b> Visit<'b> for Find<'_, 'b> {
        fn visit_expr(&mut self, e: &'b Expr) {
            match e {
                Expr::Let(l) if binds(&l.pat, self.name) => self.found.push(&l.expr),
                Expr::Match(m) if m.arms.iter().any(|a| binds(&a.pat, self.name)) => {
                    self.found.push(&m.expr)
                }
                _ => {}
            }
            visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'b syn::Item) {}
    }
    let mut find = Find {
        name,
        found: Vec::new(),
    };
    find.visit_block(block);
    find.found
}
