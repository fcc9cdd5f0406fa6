//! axum routers, for the summaries: the functions a router registers as handlers
//! ([`FactKind::Handler`]), and how each router a function builds leaves it (served, returned,
//! or taken in by another router) and whether a request timeout layer is applied after its last
//! route. The join decides from these whether every router a unit serves bounds its handlers
//! (a handler's future is dropped when the layer's deadline fires, and the calls it awaits
//! with it).
use syn::visit::Visit;
use syn::{Expr, ExprMethodCall};

use super::context::Context;
use super::summary::FactKind;

/// Methods that add routes (or a fallback) to a router: a timeout layer must come after the last.
const ADDS_ROUTES: &[&str] = &[
    "route",
    "route_service",
    "nest",
    "nest_service",
    "merge",
    "fallback",
    "fallback_service",
];
/// Methods that show a chain builds an axum `Router` (other types have `merge`, `nest`, `layer`).
const ROUTER_ONLY: &[&str] = &[
    "route",
    "route_service",
    "nest_service",
    "fallback",
    "fallback_service",
    "route_layer",
    "with_state",
];
/// Methods of a router that take in another router (its argument's index).
const TAKES_ROUTER: &[(&str, usize)] = &[("merge", 0), ("nest", 1), ("nest_service", 1)];
/// Layering methods of a chain whose root is known to be a router.
const LAYERS_ROUTER: &[&str] = &["layer", "merge", "nest"];
const ROUTER_NEW: &[&str] = &[
    "axum::Router::new",
    "axum::Router::default",
    "axum::routing::Router::new",
];
/// Request timeouts: the handler's future is dropped at the deadline. Body-read timeouts and a
/// crate's own layers (a `DynamicTimeoutLayer` of unknown default) are not.
const TIMEOUT_LAYERS: &[&str] = &[
    "tower_http::timeout::TimeoutLayer::new",
    "tower_http::timeout::TimeoutLayer::with_status_code",
    "tower::timeout::TimeoutLayer::new",
];
const SERVICE_BUILDERS: &[&str] = &[
    "tower::ServiceBuilder::new",
    "tower::builder::ServiceBuilder::new",
];
/// axum's method routers (`get(h)`, `get(h).post(h2)`, `on(filter, h)`), in `axum::routing`.
const METHOD_ROUTERS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect", "any", "on",
];

/// How deep a name's `let` is followed to what it holds.
const MAX_BINDING_DEPTH: usize = 3;

/// The links of the method chain ending in `top`, root call first, and the root.
fn links(top: &Expr) -> (Vec<&ExprMethodCall>, &Expr) {
    let mut links = Vec::new();
    let mut e = top;
    while let Expr::MethodCall(m) = e {
        links.push(m);
        e = &m.receiver;
    }
    links.reverse();
    (links, e)
}

fn peel(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            _ => return e,
        };
    }
}

fn ident_of(e: &Expr) -> Option<String> {
    match peel(e) {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    }
}

fn is_router_value(cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
    let e = peel(e);
    if cx
        .callee(e)
        .is_some_and(|p| ROUTER_NEW.contains(&p.as_str()))
    {
        return true;
    }
    if let Expr::MethodCall(_) = e {
        let (links, root) = links(e);
        return links
            .iter()
            .any(|m| ROUTER_ONLY.iter().any(|r| m.method == r))
            || (depth < MAX_BINDING_DEPTH && is_router_value(cx, root, depth + 1));
    }
    let Some(name) = ident_of(e) else {
        return false;
    };
    let Some(binding) = cx.binding(&name) else {
        return false;
    };
    if binding
        .ty
        .and_then(|t| cx.type_path(t))
        .is_some_and(|t| t == "axum::Router" || t == "axum::routing::Router")
    {
        return true;
    }
    depth < MAX_BINDING_DEPTH
        && binding.tuple_index.is_none()
        && binding
            .init
            .is_some_and(|init| value_exprs(init).any(|v| is_router_value(cx, v, depth + 1)))
}

/// The expressions whose value an expression takes: itself, or a `match` arm's, an `if`
/// branch's or a block's tail (through `?`).
fn value_exprs(e: &Expr) -> Box<dyn Iterator<Item = &Expr> + '_> {
    fn tail(b: &syn::Block) -> Option<&Expr> {
        match b.stmts.last() {
            Some(syn::Stmt::Expr(e, None)) => Some(e),
            _ => None,
        }
    }
    match e {
        Expr::Paren(p) => value_exprs(&p.expr),
        Expr::Try(t) => value_exprs(&t.expr),
        Expr::Block(b) => Box::new(tail(&b.block).into_iter().flat_map(value_exprs)),
        Expr::Match(m) => Box::new(m.arms.iter().flat_map(|a| value_exprs(&a.body))),
        Expr::If(i) => Box::new(
            tail(&i.then_branch)
                .into_iter()
                .flat_map(value_exprs)
                .chain(i.else_branch.iter().flat_map(|(_, e)| value_exprs(e))),
        ),
        _ => Box::new(std::iter::once(e)),
    }
}

/// A request timeout layer: a catalogued constructor, a tower `ServiceBuilder` chain with
/// `.timeout(d)` or such a layer, a tuple of layers with one, or a name bound to one.
fn is_timeout_layer(cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
    let e = peel(e);
    match e {
        Expr::Call(_) => cx
            .callee(e)
            .is_some_and(|p| TIMEOUT_LAYERS.contains(&p.as_str())),
        Expr::Tuple(t) => t.elems.iter().any(|x| is_timeout_layer(cx, x, depth)),
        Expr::MethodCall(_) => {
            let (links, root) = links(e);
            let built = cx
                .callee(peel(root))
                .is_some_and(|p| SERVICE_BUILDERS.contains(&p.as_str()));
            built
                && links.iter().any(|m| {
                    (m.method == "timeout" && m.args.len() == 1)
                        || (m.method == "layer"
                            && m.args
                                .first()
                                .is_some_and(|a| is_timeout_layer(cx, a, depth)))
                })
        }
        _ => {
            let Some(name) = ident_of(e) else {
                return false;
            };
            depth < MAX_BINDING_DEPTH
                && cx
                    .binding(&name)
                    .filter(|b| b.tuple_index.is_none())
                    .and_then(|b| b.init)
                    .is_some_and(|init| is_timeout_layer(cx, init, depth + 1))
        }
    }
}

/// Whether a router chain applies a request timeout layer after its last route.
fn covered(cx: &Context<'_>, links: &[&ExprMethodCall]) -> bool {
    let last_route = links
        .iter()
        .rposition(|m| ADDS_ROUTES.iter().any(|r| m.method == r));
    let last_timeout = links.iter().rposition(|m| {
        m.method == "layer" && m.args.first().is_some_and(|a| is_timeout_layer(cx, a, 0))
    });
    match (last_timeout, last_route) {
        (Some(t), Some(r)) => t > r,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The key a handler path names: a method's (`Handlers::get` → `<Handlers>::get`) when the
/// segment before the name is a type, else the free function's.
fn handler_key(cx: &Context<'_>, e: &Expr) -> Option<String> {
    let Expr::Path(p) = peel(e) else { return None };
    if p.qself.is_some() {
        return None;
    }
    let keys = cx.local_fn_keys(&p.path)?;
    let through_type = p.path.segments.len() >= 2
        && p.path.segments[p.path.segments.len() - 2]
            .ident
            .to_string()
            .starts_with(|c: char| c.is_ascii_uppercase());
    if through_type {
        keys.into_iter().find(|k| k.starts_with('<'))
    } else {
        keys.into_iter().next()
    }
}

/// The handlers a method router registers: `get(h)`, `routing::post(h).get(h2)`, `on(f, h)`.
fn method_router_handlers<'a>(cx: &Context<'_>, e: &'a Expr, out: &mut Vec<&'a Expr>) {
    let e = peel(e);
    let handler_arg = |name: &str, args: &'a syn::punctuated::Punctuated<Expr, syn::Token![,]>| {
        let i = usize::from(name == "on");
        args.iter().nth(i)
    };
    match e {
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if METHOD_ROUTERS.contains(&name.as_str()) {
                out.extend(handler_arg(&name, &m.args));
                method_router_handlers(cx, &m.receiver, out);
            }
        }
        Expr::Call(c) => {
            let Some(path) = cx.callee(e) else { return };
            let name = path.rsplit("::").next().unwrap_or_default();
            let in_routing = path.starts_with("axum::routing::") && METHOD_ROUTERS.contains(&name);
            if in_routing {
                out.extend(handler_arg(name, &c.args));
            }
        }
        _ => {}
    }
}

/// The crate function whose returned router `e` is: a call (`api::routes(state)`), or a name
/// bound to one.
fn router_source(cx: &Context<'_>, e: &Expr) -> Option<Vec<String>> {
    let e = peel(e);
    if let Expr::Call(_) = e {
        return cx.local_callee(e);
    }
    let name = ident_of(e)?;
    let init = cx.binding(&name)?.init?;
    match peel(init) {
        call @ Expr::Call(_) => cx.local_callee(call),
        _ => None,
    }
}

/// How a router's value leaves the function that builds it.
enum Flow {
    /// Taken in by another router (merged, nested, layered as its chain's root).
    Consumed,
    Returned,
    /// Served, or handed to code the summaries do not follow.
    Served,
}

/// Notes the router the method chain `expr` (ending in `m`) builds, if it builds one: its
/// handlers, the routers it takes in, and how it leaves the function.
pub fn note_chain<'ast>(cx: &mut Context<'ast>, expr: &'ast Expr, m: &'ast ExprMethodCall) {
    let method = m.method.to_string();
    let routerish =
        |name: &str| ADDS_ROUTES.contains(&name) || ROUTER_ONLY.contains(&name) || name == "layer";
    let parent = cx.ancestors().next();
    // Only the whole chain: `a.route(..).layer(..)` is seen at its last link.
    if let Some(Expr::MethodCall(p)) = parent {
        if std::ptr::eq(&*p.receiver, expr) {
            return;
        }
        // A method router passed to `.route(..)` (`get(h).layer(..)`) is read with that route.
        if p.method == "route" || p.method == "route_service" {
            return;
        }
    }
    let (links, root) = links(expr);
    if !routerish(&method) && !links.iter().any(|l| routerish(&l.method.to_string())) {
        return;
    }
    if cx.current_fn().is_none() {
        return;
    }
    let root_call = cx.callee(peel(root));
    if root_call
        .as_deref()
        .is_some_and(|p| p.starts_with("axum::routing::") && !ROUTER_NEW.contains(&p))
    {
        return;
    }
    let router_only = links
        .iter()
        .any(|l| ROUTER_ONLY.iter().any(|r| l.method == r));
    let layered = links
        .iter()
        .any(|l| LAYERS_ROUTER.iter().any(|r| l.method == r));
    let from_crate_fn = root_call.is_none() && router_source(cx, root).is_some();
    let is_router = router_only
        || (layered && is_router_value(cx, root, 0))
        || (from_crate_fn && covered(cx, &links));
    if !is_router {
        return;
    }
    // Handlers.
    for link in &links {
        let mut handlers = Vec::new();
        match link.method.to_string().as_str() {
            "route" => {
                if let Some(mr) = link.args.iter().nth(1) {
                    method_router_handlers(cx, mr, &mut handlers);
                }
            }
            "fallback" => handlers.extend(link.args.first()),
            _ => {}
        }
        for h in handlers {
            if let Some(key) = handler_key(cx, h) {
                let range = cx.range(h);
                cx.record_fact_for(key, FactKind::Handler, range);
            }
        }
    }
    // The routers it takes in.
    let mut absorbed: Vec<Vec<String>> = Vec::new();
    if from_crate_fn {
        absorbed.extend(router_source(cx, root));
    }
    for link in &links {
        let taken = TAKES_ROUTER
            .iter()
            .find(|(name, _)| link.method == name)
            .and_then(|(_, i)| link.args.iter().nth(*i));
        if let Some(arg) = taken {
            absorbed.extend(router_source(cx, arg));
        }
    }
    let range = cx.range(expr);
    for callee in absorbed {
        cx.record_fact(FactKind::AbsorbsRouter { callee }, range.clone());
    }
    let covered = covered(cx, &links);
    match flow(cx, expr) {
        Flow::Consumed => {}
        Flow::Returned => cx.record_fact(FactKind::RouterReturned { covered }, range),
        Flow::Served => cx.record_fact(FactKind::RouterServed { covered }, range),
    }
}

/// Whether `child` is the argument of a router method that takes in a router.
fn taken_in(parent: Option<&Expr>, child: &Expr) -> bool {
    let Some(Expr::MethodCall(p)) = parent else {
        return false;
    };
    TAKES_ROUTER.iter().any(|(name, i)| {
        p.method == name
            && p.args
                .iter()
                .nth(*i)
                .is_some_and(|a| std::ptr::eq(peel(a), child))
    })
}

fn flow<'ast>(cx: &Context<'ast>, expr: &'ast Expr) -> Flow {
    // Up through the expressions that pass the value on (a block's tail, a branch, `?`).
    let mut value: &Expr = expr;
    let mut ancestors = cx.ancestors().peekable();
    while let Some(&a) = ancestors.peek() {
        let passes = match a {
            Expr::Paren(_) | Expr::Try(_) | Expr::Match(_) | Expr::If(_) => true,
            Expr::Block(b) => {
                matches!(b.block.stmts.last(), Some(syn::Stmt::Expr(e, None)) if std::ptr::eq(e, value))
            }
            _ => false,
        };
        if !passes {
            break;
        }
        // A `match`'s scrutinee or an `if`'s condition is not its value.
        let is_value = match a {
            Expr::Match(m) => !std::ptr::eq(&*m.expr, value),
            Expr::If(i) => !std::ptr::eq(&*i.cond, value),
            _ => true,
        };
        if !is_value {
            break;
        }
        value = a;
        ancestors.next();
    }
    let parent = ancestors.next();
    if taken_in(parent, value) {
        return Flow::Consumed;
    }
    if let Some(Expr::Return(_)) = parent {
        return Flow::Returned;
    }
    let Some(frame) = cx.current_fn() else {
        return Flow::Served;
    };
    let body = frame.body;
    if is_tail(body, value) {
        return Flow::Returned;
    }
    // Bound to a name (`let app = ..;`, `app = ..;`): what later code does with the name.
    let bound = match parent {
        Some(Expr::Assign(a)) if std::ptr::eq(&*a.right, value) => {
            ident_of(&a.left).map(|n| (n, cx.range(a).end))
        }
        None | Some(_) => find_let(body, value),
    };
    let Some((name, after)) = bound else {
        return Flow::Served;
    };
    let mut uses = Uses {
        name: &name,
        after,
        cx,
        consumed: false,
    };
    uses.visit_block(body);
    if uses.consumed {
        Flow::Consumed
    } else if tail_names(body, &name) {
        Flow::Returned
    } else {
        Flow::Served
    }
}

/// Whether `value` is what `body` returns as its tail (`e` or `Ok(e)`).
fn is_tail(body: &syn::Block, value: &Expr) -> bool {
    let Some(syn::Stmt::Expr(tail, None)) = body.stmts.last() else {
        return false;
    };
    let tail = match tail {
        Expr::Call(c)
            if c.args.len() == 1 && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Ok")) =>
        {
            &c.args[0]
        }
        other => other,
    };
    std::ptr::eq(tail, value) || value_exprs(tail).any(|v| std::ptr::eq(v, value))
}

/// Whether `body`'s tail is the name (`app` or `Ok(app)`).
fn tail_names(body: &syn::Block, name: &str) -> bool {
    let Some(syn::Stmt::Expr(tail, None)) = body.stmts.last() else {
        return false;
    };
    let tail = match tail {
        Expr::Call(c)
            if c.args.len() == 1 && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Ok")) =>
        {
            &c.args[0]
        }
        other => other,
    };
    ident_of(tail).as_deref() == Some(name)
}

/// The name a `let` of `body` binds `value` to, and where the `let` ends.
fn find_let(body: &syn::Block, value: &Expr) -> Option<(String, usize)> {
    struct Find<'e> {
        value: &'e Expr,
        found: Option<(String, usize)>,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_local(&mut self, local: &'ast syn::Local) {
            if self.found.is_none() {
                if let Some(init) = &local.init {
                    if std::ptr::eq(&*init.expr, self.value) {
                        let mut pat = &local.pat;
                        if let syn::Pat::Type(t) = pat {
                            pat = &t.pat;
                        }
                        if let syn::Pat::Ident(i) = pat {
                            let end = syn::spanned::Spanned::span(local).byte_range().end;
                            self.found = Some((i.ident.to_string(), end));
                        }
                    }
                }
            }
            syn::visit::visit_local(self, local);
        }
    }
    let mut find = Find { value, found: None };
    find.visit_block(body);
    find.found
}

/// Finds a use of `name` after `after` that takes the router in: the root of another router
/// chain, or the argument of `merge`/`nest`.
struct Uses<'n, 'c, 'ast> {
    name: &'n str,
    after: usize,
    cx: &'c Context<'ast>,
    consumed: bool,
}

impl<'ast> Visit<'ast> for Uses<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'ast ExprMethodCall) {
        if self.consumed {
            return;
        }
        let at = self.cx.range(m).start;
        if at >= self.after {
            let on_name = ident_of(&m.receiver).as_deref() == Some(self.name)
                && (ADDS_ROUTES.iter().any(|r| m.method == r)
                    || ROUTER_ONLY.iter().any(|r| m.method == r)
                    || m.method == "layer");
            let taken = TAKES_ROUTER.iter().any(|(name, i)| {
                m.method == name
                    && m.args
                        .iter()
                        .nth(*i)
                        .is_some_and(|a| ident_of(a).as_deref() == Some(self.name))
            });
            if on_name || taken {
                self.consumed = true;
                return;
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}
