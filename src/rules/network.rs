//! Where a value comes from, for rules that care whether a reader is fed by the network: a socket,
//! a TLS stream over one, a half of one, or a buffered reader over any of these. A local file,
//! stdin, a child's pipe or a byte slice is not network input.
use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Type};

use super::syntax::{ident_of, peel, self_field, strip_pat_type, type_args};
use super::{api_map, name_list};
use crate::catalogue::RuleDoc;
use crate::engine::summary::{AddrParam, AddrShape};
use crate::engine::Context;

/// How deep to follow `let` initializers (`let s = ..; let r = BufReader::new(s);`).
const MAX_DEPTH: usize = 6;

/// The catalogue's socket types and constructors, canonical paths.
pub struct Sockets {
    pub types: HashSet<String>,
    pub constructors: HashSet<String>,
    /// A listener's method that yields an accepted stream (`accept()`, no arguments).
    pub accepts: Vec<String>,
    /// Functions that put a time budget on the future they take last (`tokio::time::timeout(d, f)`):
    /// what they yield is what that future yields.
    pub timeout_wrappers: HashSet<String>,
    /// Listener types and constructors: a `for` over a listener's `incoming()` yields sockets.
    pub listener_types: HashSet<String>,
    pub listener_constructors: HashSet<String>,
}

impl Sockets {
    /// The rule's `socket-types`, `socket-constructors`, `accept-methods` and `timeout-wrappers` lists.
    pub fn from_doc(doc: &RuleDoc) -> Sockets {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        Sockets {
            types: keys("socket-types"),
            constructors: keys("socket-constructors"),
            accepts: name_list(doc, "accept-methods"),
            timeout_wrappers: keys("timeout-wrappers"),
            listener_types: keys("listener-types"),
            listener_constructors: keys("listener-constructors"),
        }
    }

    /// Whether `expr` is visibly a network stream or a reader over one.
    pub fn is_network<'ast>(&self, cx: &Context<'ast>, expr: &'ast Expr) -> bool {
        self.network_at(cx, expr, 0, &mut Vec::new())
    }

    /// Where the peer of `expr` is, when it is visibly a network stream (`None` when it is not):
    /// on this host when every connect it comes from dials a loopback address and every listener
    /// it was accepted from listens on loopback or a Unix socket; left to the callers of the
    /// functions whose parameters give those addresses (see [`peer_source`]); otherwise unknown.
    pub fn network_peer<'ast>(&self, cx: &Context<'ast>, expr: &'ast Expr) -> Option<PeerSource> {
        let mut origins = Vec::new();
        if !self.network_at(cx, expr, 0, &mut origins) {
            return None;
        }
        let mut local = None;
        let mut params = Vec::new();
        for origin in &origins {
            match peer_source(cx, origin) {
                PeerSource::Local(peer) => local = local.or(Some(peer)),
                PeerSource::Callers(p) => params.extend(p),
                PeerSource::Unknown => return Some(PeerSource::Unknown),
            }
        }
        Some(match local {
            _ if !params.is_empty() => {
                params.sort_by(|a, b| (&a.function, a.position).cmp(&(&b.function, b.position)));
                params.dedup();
                PeerSource::Callers(params)
            }
            Some(peer) => PeerSource::Local(peer),
            None => PeerSource::Unknown,
        })
    }

    /// `origins` collects where the stream came from, as [`local_peer`] reads it: a connect's
    /// address, a listener's `accept()` or `incoming()`.
    fn network_at<'ast>(
        &self,
        cx: &Context<'ast>,
        expr: &'ast Expr,
        depth: usize,
        origins: &mut Vec<&'ast Expr>,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(expr);
        if let Some(field) = self_field(e) {
            return cx
                .self_field_type(&field)
                .is_some_and(|t| self.is_socket_type(cx, t));
        }
        if let Some(name) = ident_of(e) {
            let pattern = self.pattern_binder(cx, &name, 0);
            let b = cx.binding(&name).copied().filter(|b| {
                // `let conn = conn?` names what an enclosing pattern bound (`for conn in ..`); a
                // pattern that starts after the `let` (a `match` arm inside its scope) shadows it.
                !b.init.is_some_and(|init| unwraps_name(init, &name))
                    && pattern.as_ref().is_none_or(|p| {
                        b.init.is_some_and(|init| {
                            init.span().byte_range().start > p.pat.span().byte_range().start
                        })
                    })
            });
            let Some(b) = b else {
                return pattern
                    .is_some_and(|p| self.pattern_network(cx, &name, &p, depth, origins));
            };
            if b.ty.is_some_and(|t| self.is_socket_type(cx, t)) {
                // A private function's parameter is what its callers in the file pass: the
                // tracer follows them (a public one's callers pass a stream, not an address).
                if b.init.is_none()
                    && is_param_of_current_fn(cx, &name)
                    && current_fn_is_private(cx)
                {
                    origins.push(e);
                }
                return true;
            }
            return b.init.is_some_and(|init| {
                // `let (stream, addr) = listener.accept().await?` and `let (rd, wr) = s.into_split()`:
                // only the first element of an accept is the stream; both halves of a split read.
                let accept = matches!(peel(init), Expr::MethodCall(m) if self.is_accept(m));
                (!accept || b.tuple_index.is_none_or(|i| i == 0))
                    && self.network_at(cx, init, depth + 1, origins)
            });
        }
        match e {
            Expr::Call(c) => {
                let Some(path) = cx.callee(e) else {
                    return false;
                };
                if self.constructors.contains(&path) {
                    origins.extend(c.args.first());
                    return true;
                }
                // `timeout(d, TcpStream::connect(addr)).await??` is the stream the connect makes.
                if self.timeout_wrappers.contains(&path) {
                    return c
                        .args
                        .last()
                        .is_some_and(|a| self.network_at(cx, a, depth + 1, origins));
                }
                // Wrappers that read through their argument: `BufReader::new(stream)`.
                path.ends_with("::BufReader::new")
                    && c.args
                        .first()
                        .is_some_and(|a| self.network_at(cx, a, depth + 1, origins))
            }
            Expr::MethodCall(m) if self.is_accept(m) => {
                origins.push(e);
                true
            }
            // async-std's `while let Some(conn) = listener.incoming().next().await`.
            Expr::MethodCall(m) if m.method == "next" && m.args.is_empty() => {
                self.is_incoming(cx, &m.receiver, depth + 1, origins)
            }
            // `match conn { Ok(c) => c, Err(_) => continue }`: what the unwrapping arm yields.
            Expr::Match(m) => {
                m.arms.iter().any(|arm| {
                    unwrapped_binding(&arm.pat).is_some_and(|x| ident_of(&arm.body) == Some(x))
                }) && self.network_at(cx, &m.expr, depth + 1, origins)
            }
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                // TLS handshakes over a stream: `acceptor.accept(s)`, `connector.connect(name, s)`.
                "accept" | "connect" => m
                    .args
                    .iter()
                    .any(|a| self.network_at(cx, a, depth + 1, origins)),
                // Halves, views and clones of a stream.
                "split" | "into_split" | "get_mut" | "get_ref" | "by_ref" | "try_clone" => {
                    self.network_at(cx, &m.receiver, depth + 1, origins)
                }
                _ => false,
            },
            Expr::Field(f) => self.network_at(cx, &f.base, depth + 1, origins),
            _ => false,
        }
    }

    /// The innermost pattern around the current expression that binds `name`, looking from the
    /// `from`-th enclosing expression outwards: a `for` loop's pattern (from its body), a `match`
    /// arm's (from its body), an `if let`'s or `while let`'s (from its body), a closure's parameter.
    fn pattern_binder<'ast>(
        &self,
        cx: &Context<'ast>,
        name: &str,
        from: usize,
    ) -> Option<PatternBinder<'ast>> {
        let ancestors: Vec<&'ast Expr> = cx.ancestors().collect();
        for i in from..ancestors.len() {
            let child = i.checked_sub(1).map(|c| ancestors[c]);
            let is_child = |e: &Expr| child.is_some_and(|c| std::ptr::eq(c, e));
            let (pat, source) = match ancestors[i] {
                Expr::ForLoop(f) if !is_child(&f.expr) => (&*f.pat, BinderSource::ForItem(&f.expr)),
                Expr::Match(m) => match m.arms.iter().find(|a| is_child(&a.body)) {
                    Some(arm) => (&arm.pat, BinderSource::Matched(&m.expr)),
                    None => continue,
                },
                Expr::If(x) => match &*x.cond {
                    Expr::Let(l)
                        if !is_child(&x.cond)
                            && !x.else_branch.as_ref().is_some_and(|(_, e)| is_child(e)) =>
                    {
                        (&*l.pat, BinderSource::Matched(&l.expr))
                    }
                    _ => continue,
                },
                Expr::While(w) => match &*w.cond {
                    Expr::Let(l) if !is_child(&w.cond) => (&*l.pat, BinderSource::Matched(&l.expr)),
                    _ => continue,
                },
                Expr::Closure(c) => match c.inputs.iter().find(|p| pat_binds(p, name)) {
                    Some(p) => (p, BinderSource::Unknown),
                    None => continue,
                },
                _ => continue,
            };
            if pat_binds(pat, name) {
                return Some(PatternBinder {
                    index: i,
                    pat,
                    source,
                });
            }
        }
        None
    }

    /// Whether what `binder` binds to `name` is a network stream.
    fn pattern_network<'ast>(
        &self,
        cx: &Context<'ast>,
        name: &str,
        binder: &PatternBinder<'ast>,
        depth: usize,
        origins: &mut Vec<&'ast Expr>,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let pat = strip_pat_type(binder.pat);
        match binder.source {
            // `for conn in listener.incoming()`: each item is an `io::Result` of a socket.
            BinderSource::ForItem(iter) => {
                matches!(pat, syn::Pat::Ident(p) if p.ident == name && p.subpat.is_none())
                    && self.is_incoming(cx, iter, depth, origins)
            }
            // `match conn { Ok(c) => .. }`, `if let Some(c) = ..`, `while let Some(c) = ..`.
            BinderSource::Matched(scrutinee) => {
                let whole =
                    matches!(pat, syn::Pat::Ident(p) if p.ident == name && p.subpat.is_none());
                if !whole && unwrapped_binding(pat).as_deref() != Some(name) {
                    return false;
                }
                match ident_of(scrutinee) {
                    // `match conn { Ok(conn) => .. }`: the scrutinee is the outer `conn`.
                    Some(outer) if outer == name => self
                        .pattern_binder(cx, name, binder.index + 1)
                        .is_some_and(|p| self.pattern_network(cx, name, &p, depth, origins)),
                    _ => self.network_at(cx, scrutinee, depth + 1, origins),
                }
            }
            BinderSource::Unknown => false,
        }
    }

    /// `listener.incoming()` on a visible listener, through iterator adapters that keep its
    /// items (`.flatten()`, `.take(n)`) and bindings of the iterator.
    fn is_incoming<'ast>(
        &self,
        cx: &Context<'ast>,
        e: &'ast Expr,
        depth: usize,
        origins: &mut Vec<&'ast Expr>,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        if let Some(name) = ident_of(e) {
            return cx.binding(&name).and_then(|b| b.init).is_some_and(|init| {
                !unwraps_name(init, &name) && self.is_incoming(cx, init, depth + 1, origins)
            });
        }
        let Expr::MethodCall(m) = e else {
            return false;
        };
        match m.method.to_string().as_str() {
            "incoming" if m.args.is_empty() && self.is_listener(cx, &m.receiver, depth) => {
                origins.push(e);
                true
            }
            "flatten" | "take" | "skip" | "by_ref" | "fuse" => {
                self.is_incoming(cx, &m.receiver, depth + 1, origins)
            }
            _ => false,
        }
    }

    /// A listener: a binding, parameter or `self` field of a listener type, or a listener's
    /// constructor (`TcpListener::bind(addr)?`).
    fn is_listener(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        let typed = |t: &Type| {
            cx.type_path(t)
                .is_some_and(|p| self.listener_types.contains(&p))
        };
        if let Some(field) = self_field(e) {
            return cx.self_field_type(&field).is_some_and(typed);
        }
        if let Some(name) = ident_of(e) {
            return cx.binding(&name).copied().is_some_and(|b| {
                b.ty.is_some_and(typed)
                    || b.init.is_some_and(|init| {
                        !unwraps_name(init, &name) && self.is_listener(cx, init, depth + 1)
                    })
            });
        }
        cx.callee(e)
            .is_some_and(|p| self.listener_constructors.contains(&p))
    }

    fn is_accept(&self, m: &syn::ExprMethodCall) -> bool {
        m.args.is_empty() && self.accepts.iter().any(|a| m.method == a)
    }

    fn is_socket_type(&self, cx: &Context<'_>, ty: &Type) -> bool {
        let Some(path) = cx.type_path(ty) else {
            return false;
        };
        if self.types.contains(&path) {
            return true;
        }
        // A buffered reader over a socket: `BufReader<TcpStream>`.
        path.ends_with("::BufReader") && type_args(ty).any(|t| self.is_socket_type(cx, t))
    }
}

/// A pattern around the current expression that binds a name.
struct PatternBinder<'ast> {
    /// Its enclosing expression's place among the current expression's ancestors.
    index: usize,
    pat: &'ast syn::Pat,
    source: BinderSource<'ast>,
}

/// What a binding pattern takes apart.
enum BinderSource<'ast> {
    /// The items of a `for` loop's iterator.
    ForItem(&'ast Expr),
    /// A `match` scrutinee, or the value of an `if let` / `while let`.
    Matched(&'ast Expr),
    /// A closure's argument.
    Unknown,
}

/// `Ok(x)` / `Some(x)` (also `Ok(mut x)`, `Ok(x: T)`): the name it unwraps into.
fn unwrapped_binding(pat: &syn::Pat) -> Option<String> {
    let syn::Pat::TupleStruct(t) = strip_pat_type(pat) else {
        return None;
    };
    let last = t.path.segments.last()?;
    if !(last.ident == "Ok" || last.ident == "Some") || t.elems.len() != 1 {
        return None;
    }
    match strip_pat_type(&t.elems[0]) {
        syn::Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
        _ => None,
    }
}

/// Where `Ok(..)`/`Some(..)` binds `name`: `Some(None)` for `Ok(name)`, `Some(Some(i))` for
/// element `i` of `Ok((a, name))`; `None` for any other shape.
fn unwrapped_element(pat: &syn::Pat, name: &str) -> Option<Option<usize>> {
    let syn::Pat::TupleStruct(t) = strip_pat_type(pat) else {
        return None;
    };
    let last = t.path.segments.last()?;
    if !(last.ident == "Ok" || last.ident == "Some") || t.elems.len() != 1 {
        return None;
    }
    let is_name = |p: &syn::Pat| matches!(strip_pat_type(p), syn::Pat::Ident(i) if i.ident == name && i.subpat.is_none());
    match strip_pat_type(&t.elems[0]) {
        p if is_name(p) => Some(None),
        syn::Pat::Tuple(tuple) => tuple.elems.iter().position(is_name).map(Some),
        _ => None,
    }
}

/// Whether `init` only unwraps a value of the same name: `conn?`, `conn.unwrap()`,
/// `match conn { Ok(c) => c, .. }` (so the name it shadows is not this binding).
fn unwraps_name(init: &Expr, name: &str) -> bool {
    match peel(init) {
        Expr::Match(m) => ident_of(peel(&m.expr)).as_deref() == Some(name),
        e => ident_of(e).as_deref() == Some(name),
    }
}

// Local peers: a connect to a loopback address, a server bound only to loopback or a Unix socket.
//
// The evidence is followed within the file only: the function, `let` bindings in scope, `self`
// fields and other private fields with every constructor and assignment in the file, consts and
// statics, private functions' arguments at every call site in the file, and the value a private
// function returns. Anything else (configuration, another file, a public function's callers)
// stops the trace, and the value counts as a possibly remote peer.

/// A peer on this host, as far as the file shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalPeer {
    /// A loopback address: `127.0.0.0/8`, `::1`, `localhost`.
    Loopback,
    /// A Unix-domain socket.
    Unix,
    /// An in-memory pipe (`tokio::io::duplex`): no socket at all.
    Memory,
}

/// What a value leads to: a local peer, something that cannot be followed (or is not local), or
/// back to a value being traced (no evidence either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trace {
    Local(LocalPeer),
    Unknown,
    Cycle,
    /// A parameter of a function whose callers are out of the file's view: its callers decide
    /// (recorded in the tracer's `deferred`, only when it follows addresses to the join).
    Deferred,
}

impl Trace {
    /// Both sources must be local: the weaker of the two (a listener on loopback and one on a
    /// Unix socket together are on this host, reachable by what runs there).
    fn and(self, other: Trace) -> Trace {
        match (self, other) {
            (Trace::Unknown, _) | (_, Trace::Unknown) => Trace::Unknown,
            (Trace::Cycle, t) | (t, Trace::Cycle) => t,
            (Trace::Deferred, t) | (t, Trace::Deferred) => t,
            (Trace::Local(a), Trace::Local(b)) if a == b => Trace::Local(a),
            (Trace::Local(LocalPeer::Loopback), _) | (_, Trace::Local(LocalPeer::Loopback)) => {
                Trace::Local(LocalPeer::Loopback)
            }
            _ => Trace::Local(LocalPeer::Unix),
        }
    }
}

/// How many values one question may visit, how many whole-file scans (for callers and
/// constructors) it may make, and how deep it may go: a trace is a few hops in practice.
const MAX_STEPS: usize = 256;
const MAX_SCANS: usize = 24;
const MAX_OPEN: usize = 16;

/// Whether `expr` (an address, a listener, an accepted stream, a listener stream) is visibly on
/// this host. `None` when the file does not show it.
pub fn local_peer<'ast>(cx: &Context<'ast>, expr: &'ast Expr) -> Option<LocalPeer> {
    let mut tracer = Tracer::new(cx);
    let scope = tracer.current_scope();
    match tracer.value(scope.as_ref(), expr, None) {
        Trace::Local(peer) => Some(peer),
        Trace::Unknown | Trace::Cycle | Trace::Deferred => None,
    }
}

/// Where a connect's (or a listener's) address comes from, as the file shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerSource {
    /// Visibly on this host.
    Local(LocalPeer),
    /// On this host, unless the callers of these functions (out of the file's view) give the
    /// parameters another host: the join decides ([`Condition::RemotePeer`]).
    ///
    /// [`Condition::RemotePeer`]: crate::engine::summary::Condition::RemotePeer
    Callers(Vec<AddrParam>),
    Unknown,
}

/// Like [`local_peer`], but a parameter of a function whose callers the file does not show (a
/// public function, a constructor whose value a private field holds) is left to the join.
pub fn peer_source<'ast>(cx: &Context<'ast>, expr: &'ast Expr) -> PeerSource {
    let mut tracer = Tracer::new(cx);
    tracer.deferred = Some(Vec::new());
    let scope = tracer.current_scope();
    let trace = tracer.value(scope.as_ref(), expr, None);
    let mut deferred = tracer.deferred.take().unwrap_or_default();
    match trace {
        Trace::Local(peer) if deferred.is_empty() => PeerSource::Local(peer),
        Trace::Local(_) | Trace::Deferred => {
            deferred.sort_by(|a, b| (&a.function, a.position).cmp(&(&b.function, b.position)));
            deferred.dedup();
            PeerSource::Callers(deferred)
        }
        Trace::Unknown | Trace::Cycle => PeerSource::Unknown,
    }
}

/// Whether `name` is a parameter of the function the context is in.
fn is_param_of_current_fn(cx: &Context<'_>, name: &str) -> bool {
    cx.current_fn().is_some_and(|frame| {
        frame.sig.inputs.iter().any(|arg| match arg {
            syn::FnArg::Typed(t) => {
                matches!(strip_pat_type(&t.pat), syn::Pat::Ident(i) if i.ident == name)
            }
            syn::FnArg::Receiver(_) => false,
        })
    })
}

/// Whether the function the context is in is private and not a trait method (its callers are
/// in this module).
fn current_fn_is_private(cx: &Context<'_>) -> bool {
    let tracer = Tracer::new(cx);
    tracer
        .current_scope()
        .and_then(|scope| scope.fn_index)
        .is_some_and(|i| tracer.fns[i].private)
}

/// The arguments of a call to the crate's own function that carry a loopback address or a
/// parameter of the caller (a method call's receiver is position 0): the join follows a peer's
/// address through them ([`crate::engine::summary::CallSite`]'s `args`).
pub fn call_address_args<'ast>(
    cx: &mut Context<'ast>,
    call: &'ast Expr,
) -> Option<Vec<(u16, AddrShape)>> {
    let (args, offset) = match call {
        Expr::Call(c) => (&c.args, 0),
        Expr::MethodCall(m) => (&m.args, 1),
        _ => return None,
    };
    let shapes: Vec<(u16, AddrShape)> = args
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((u16::try_from(i + offset).ok()?, address_shape(cx, a)?)))
        .collect();
    (!shapes.is_empty()).then_some(shapes)
}

/// What a call's argument visibly carries for the summaries (cheaply: no scan of the file): a
/// loopback literal or constant, through `let`, `.to_string()`, `String::from`,
/// `format!("127.0.0.1:{}", ..)`, `.clone()`, `&`, an `if`/`match` whose every branch is one;
/// or a parameter of the calling function. `None`: anything else.
pub fn address_shape(cx: &Context<'_>, e: &Expr) -> Option<AddrShape> {
    shape_of(cx, e, 0)
}

fn shape_of(cx: &Context<'_>, e: &Expr, depth: usize) -> Option<AddrShape> {
    shape_at(cx, e, None, depth)
}

/// [`shape_of`] of `e`, or of its element `proj` when it is a tuple (`let (dir, addr) = if ..
/// { (d, format!("127.0.0.1:{}", p)) } else { .. }`).
fn shape_at(cx: &Context<'_>, e: &Expr, proj: Option<usize>, depth: usize) -> Option<AddrShape> {
    if depth > 4 {
        return None;
    }
    let loopback =
        |t: Trace| (t == Trace::Local(LocalPeer::Loopback)).then_some(AddrShape::Loopback);
    fn all_loopback(mut shapes: impl Iterator<Item = Option<AddrShape>>) -> Option<AddrShape> {
        shapes
            .all(|s| s == Some(AddrShape::Loopback))
            .then_some(AddrShape::Loopback)
    }
    let branch = |block: &syn::Block| match (block_tail(block), proj) {
        (Some(Tail::Expr(tail)), None) => shape_of(cx, tail, depth + 1),
        // The element a branch's tail tuple gives, through a `let` of the branch itself.
        (Some(Tail::Expr(Expr::Tuple(t))), Some(i)) => {
            let element = t.elems.get(i)?;
            match ident_of(peel_shape(element)).and_then(|n| block_let_init(block, &n)) {
                Some(init) => shape_of(cx, init, depth + 1),
                None => shape_of(cx, element, depth + 1),
            }
        }
        (Some(Tail::Macro(m)), None) => loopback(macro_trace(m)),
        _ => None,
    };
    match peel_shape(e) {
        Expr::Tuple(t) => shape_of(cx, t.elems.get(proj?)?, depth + 1),
        Expr::If(i) => {
            let (_, otherwise) = i.else_branch.as_ref()?;
            all_loopback(
                [
                    branch(&i.then_branch),
                    shape_at(cx, otherwise, proj, depth + 1),
                ]
                .into_iter(),
            )
        }
        Expr::Match(m) if !m.arms.is_empty() => all_loopback(
            m.arms
                .iter()
                .map(|a| shape_at(cx, &a.body, proj, depth + 1)),
        ),
        Expr::Block(b) if proj.is_some() && crate::engine::macros::origin(&b.attrs).is_none() => {
            branch(&b.block)
        }
        _ if proj.is_some() => None,
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => is_loopback_text(&s.value(), true).then_some(AddrShape::Loopback),
        Expr::Macro(m) => loopback(macro_trace(&m.mac)),
        Expr::Block(b) => match format_literal_of_block(b) {
            Some(text) => loopback(text_trace(&text)),
            None if crate::engine::macros::origin(&b.attrs).is_some() => None,
            None => branch(&b.block),
        },
        Expr::Path(p) if p.qself.is_none() => {
            let segments = &p.path.segments;
            if segments.len() >= 2 {
                let owner = segments[segments.len() - 2].ident.to_string();
                let last = segments.last()?.ident.to_string();
                if matches!(owner.as_str(), "Ipv4Addr" | "Ipv6Addr") && last == "LOCALHOST" {
                    return Some(AddrShape::Loopback);
                }
                if segments.len() == 2 && matches!(owner.as_str(), "Self" | "self" | "crate") {
                    let (_, value) = cx.items.consts.get(&last)?;
                    return (shape_of(cx, value, depth + 1) == Some(AddrShape::Loopback))
                        .then_some(AddrShape::Loopback);
                }
                return None;
            }
            let name = p.path.get_ident()?.to_string();
            match cx.binding(&name) {
                Some(b) if b.mutable => None,
                Some(b) if b.tuple_index.is_some() => {
                    shape_at(cx, b.init?, b.tuple_index, depth + 1)
                }
                Some(b) => match b.init {
                    // `let addr = addr.to_string();`: the parameter it shadows.
                    Some(init) if ident_of(peel_shape(init)).as_deref() == Some(name.as_str()) => {
                        param_shape(cx, &name)
                    }
                    Some(init) => shape_of(cx, init, depth + 1),
                    None => param_shape(cx, &name),
                },
                None => {
                    let (_, value) = cx.items.consts.get(&name)?;
                    (shape_of(cx, value, depth + 1) == Some(AddrShape::Loopback))
                        .then_some(AddrShape::Loopback)
                }
            }
        }
        _ => None,
    }
}

/// The initializer of the last `let name = ..` among a block's statements.
fn block_let_init<'b>(block: &'b syn::Block, name: &str) -> Option<&'b Expr> {
    block.stmts.iter().rev().find_map(|stmt| match stmt {
        syn::Stmt::Local(l) => match strip_pat_type(&l.pat) {
            syn::Pat::Ident(i) if i.ident == name && i.mutability.is_none() => {
                l.init.as_ref().map(|init| &*init.expr)
            }
            _ => None,
        },
        _ => None,
    })
}

/// The current function's parameter `name` (not shadowed by a closure's or a loop's pattern
/// around the call): its position among the inputs, a receiver counted.
fn param_shape(cx: &Context<'_>, name: &str) -> Option<AddrShape> {
    let frame = cx.current_fn()?;
    let shadowed = cx.ancestors().any(|a| match a {
        Expr::Closure(c) => c.inputs.iter().any(|p| pat_binds(p, name)),
        Expr::ForLoop(f) => pat_binds(&f.pat, name),
        _ => false,
    });
    if shadowed {
        return None;
    }
    frame
        .sig
        .inputs
        .iter()
        .enumerate()
        .find_map(|(i, arg)| match arg {
            syn::FnArg::Typed(t) => match &*t.pat {
                syn::Pat::Ident(p) if p.ident == name && p.mutability.is_none() => {
                    u16::try_from(i).ok().map(AddrShape::Param)
                }
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
}

/// Strips what does not change which host an argument names: references, parentheses,
/// conversions to a string (`to_string`, `to_owned`, `into`, `String::from`, `as_str`) and
/// `.clone()`.
fn peel_shape(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "to_string" | "to_owned" | "clone" | "into" | "as_str" | "as_ref"
                    ) =>
            {
                &m.receiver
            }
            Expr::Call(c) if c.args.len() == 1 => match &*c.func {
                Expr::Path(p)
                    if crate::rules::syntax::segment_names(&p.path)
                        .iter()
                        .map(String::as_str)
                        .eq(["String", "from"]) =>
                {
                    &c.args[0]
                }
                _ => return e,
            },
            _ => return e,
        };
    }
}

/// Whether an address written as text names this host: `127.0.0.1:80`, `localhost:80`,
/// `[::1]:80`, `::1`, `ws://127.0.0.1/x`. `complete` is false for the literal start of a
/// `format!` string, whose host must end before the first placeholder.
pub fn is_loopback_text(text: &str, complete: bool) -> bool {
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    if complete
        && rest
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback())
    {
        return true;
    }
    let host = if let Some(inner) = rest.strip_prefix('[') {
        match inner.split_once(']') {
            Some((host, _)) => host,
            None => return false,
        }
    } else {
        match rest.find([':', '/']) {
            Some(end) => &rest[..end],
            None if complete => rest,
            None => return false,
        }
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A function of the file, as the tracer sees it.
struct FnItem<'ast> {
    name: String,
    sig: &'ast syn::Signature,
    body: &'ast syn::Block,
    self_type: Option<String>,
    /// Private and not a trait method: its callers are in this module.
    private: bool,
    /// The inline modules around it in the file.
    module: Vec<String>,
}

/// A named field of a struct of the file.
struct FieldDecl {
    owner: String,
    field: String,
    private: bool,
    /// The struct derives a trait that can build it without a literal (`Deserialize`, clap's
    /// `Parser`, `Default`): its fields may come from configuration.
    derived: bool,
}

/// Derives that build no value: a struct deriving only these is made by its literals.
const INERT_DERIVES: &[&str] = &[
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "PartialOrd",
    "Ord",
];

/// Where a traced expression is evaluated: a function body (for its locals and parameters).
#[derive(Clone)]
struct Scope<'ast> {
    body: &'ast syn::Block,
    sig: &'ast syn::Signature,
    fn_index: Option<usize>,
    self_type: Option<String>,
}

/// A value being traced, to stop at cycles (`a.addr = b.addr.clone()`, recursive functions).
#[derive(PartialEq)]
enum Open {
    Param(usize, usize),
    Field(String),
    Return(usize),
}

/// What binds a name where it is used.
enum Site<'ast> {
    /// `let name: ty = init` (or element `index` of `let (a, name) = init`); `None` init: `let name;`.
    Let(Option<&'ast Expr>, Option<usize>, Option<&'ast Type>),
    /// The function's parameter at this position (receiver not counted).
    Param(usize),
    /// A `match` arm's `Ok(name)`/`Some(name)` (or element `index` of `Ok((a, name))`): what
    /// the scrutinee yields.
    Arm(&'ast Expr, Option<usize>),
    /// A closure parameter, another `match`/`if let`/`for` pattern, a destructuring `let`.
    Other,
}

struct Tracer<'c, 'ast> {
    cx: &'c Context<'ast>,
    fns: Vec<FnItem<'ast>>,
    fields: Vec<FieldDecl>,
    steps: usize,
    scans: usize,
    open: Vec<Open>,
    /// `Some`: a parameter of a function whose callers the file does not show is left to the
    /// join (its function and position are recorded here) instead of stopping the trace.
    deferred: Option<Vec<AddrParam>>,
}

impl<'c, 'ast> Tracer<'c, 'ast> {
    /// The scope of the function the context is in (None outside any function).
    fn current_scope(&self) -> Option<Scope<'ast>> {
        self.cx.current_fn().map(|frame| Scope {
            body: frame.body,
            sig: frame.sig,
            fn_index: self.fns.iter().position(|f| std::ptr::eq(f.sig, frame.sig)),
            self_type: frame.self_type.clone(),
        })
    }

    fn new(cx: &'c Context<'ast>) -> Self {
        let mut fns = Vec::new();
        let mut fields = Vec::new();
        collect_items(&cx.file.items, &mut fns, &mut fields, &mut Vec::new());
        Tracer {
            cx,
            fns,
            fields,
            steps: MAX_STEPS,
            scans: MAX_SCANS,
            open: Vec::new(),
            deferred: None,
        }
    }

    /// The parameter `position` (receiver not counted) of function `index` is left to its
    /// callers in other files, when the tracer defers such parameters.
    fn defer(&mut self, index: usize, position: usize) -> Trace {
        let Some(deferred) = self.deferred.as_mut() else {
            return Trace::Unknown;
        };
        let f = &self.fns[index];
        let function = match &f.self_type {
            Some(ty) => format!("<{ty}>::{}", f.name),
            None => {
                let mut path = self.cx.module_path().to_vec();
                path.extend(f.module.iter().cloned());
                path.push(f.name.clone());
                path.join("::")
            }
        };
        let Ok(position) = u16::try_from(position + usize::from(has_receiver(f.sig))) else {
            return Trace::Unknown;
        };
        deferred.push(AddrParam { function, position });
        Trace::Deferred
    }

    /// Takes one whole-file scan from the budget; false when none is left.
    fn scan(&mut self) -> bool {
        let left = self.scans > 0;
        self.scans = self.scans.saturating_sub(1);
        left
    }

    fn scope_of(&self, index: usize) -> Scope<'ast> {
        let f = &self.fns[index];
        Scope {
            body: f.body,
            sig: f.sig,
            fn_index: Some(index),
            self_type: f.self_type.clone(),
        }
    }

    /// The value of `e`, or of its element `proj` when it is a tuple.
    fn value(&mut self, scope: Option<&Scope<'ast>>, e: &'ast Expr, proj: Option<usize>) -> Trace {
        if self.steps == 0 || self.open.len() > MAX_OPEN {
            return Trace::Unknown;
        }
        self.steps -= 1;
        let e = peel_value(e);
        match e {
            Expr::Tuple(t) => match proj {
                Some(i) => t
                    .elems
                    .get(i)
                    .map_or(Trace::Unknown, |x| self.value(scope, x, None)),
                // `(host, port)`: the host decides.
                None if t.elems.len() == 2 => self.value(scope, &t.elems[0], None),
                None => Trace::Unknown,
            },
            Expr::Block(b) => {
                if let Some(text) = format_literal_of_block(b) {
                    return text_trace(&text);
                }
                // `vec![a, b]` (when the engine expanded it): every element.
                if is_macro_block(b, "vec") && proj.is_none() {
                    let mut all = Trace::Cycle;
                    for stmt in &b.block.stmts {
                        all = all.and(match stmt {
                            syn::Stmt::Expr(x, _) => self.value(scope, x, None),
                            _ => Trace::Unknown,
                        });
                    }
                    return if all == Trace::Cycle {
                        Trace::Unknown
                    } else {
                        all
                    };
                }
                // Another macro's expansion: what it makes of its arguments is not known.
                if crate::engine::macros::origin(&b.attrs).is_some() {
                    return Trace::Unknown;
                }
                match block_tail(&b.block) {
                    Some(Tail::Expr(tail)) => self.value(scope, tail, proj),
                    Some(Tail::Macro(m)) if proj.is_none() => macro_trace(m),
                    _ => Trace::Unknown,
                }
            }
            Expr::If(i) => {
                let Some((_, otherwise)) = &i.else_branch else {
                    return Trace::Unknown;
                };
                let then = match block_tail(&i.then_branch) {
                    Some(Tail::Expr(tail)) => self.value(scope, tail, proj),
                    Some(Tail::Macro(m)) if proj.is_none() => macro_trace(m),
                    _ => Trace::Unknown,
                };
                if then == Trace::Unknown {
                    return then;
                }
                then.and(self.value(scope, otherwise, proj))
            }
            Expr::Match(m) if !m.arms.is_empty() => {
                let mut all = Trace::Cycle;
                for arm in &m.arms {
                    all = all.and(self.value(scope, &arm.body, proj));
                    if all == Trace::Unknown {
                        break;
                    }
                }
                all
            }
            // An accepted stream (`let (stream, peer) = listener.accept()`), a listener's incoming
            // stream or its local address: where the listener listens.
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && proj.is_none_or(|i| i == 0)
                    && matches!(
                        m.method.to_string().as_str(),
                        "accept" | "incoming" | "local_addr"
                    ) =>
            {
                self.value(scope, &m.receiver, None)
            }
            // `let (client, server) = tokio::io::duplex(n)`: both ends are in memory.
            Expr::Call(c) if is_duplex(c) => Trace::Local(LocalPeer::Memory),
            _ if proj.is_some() && !matches!(e, Expr::Path(_)) => Trace::Unknown,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => loopback_if(is_loopback_text(&s.value(), true)),
            Expr::Macro(m) => macro_trace(&m.mac),
            Expr::Array(a) => loopback_if(is_loopback_octets(&a.elems)),
            Expr::Call(c) => self.call(scope, c),
            Expr::Path(p) => self.path(scope, e, p, proj),
            Expr::Field(f) => self.field(scope, f),
            _ => Trace::Unknown,
        }
    }

    fn call(&mut self, scope: Option<&Scope<'ast>>, c: &'ast syn::ExprCall) -> Trace {
        let Expr::Path(p) = &*c.func else {
            return Trace::Unknown;
        };
        let segments: Vec<String> = crate::rules::syntax::segment_names(&p.path);
        let last = segments.last().map_or("", String::as_str);
        let owner = segments.len().checked_sub(2).map(|i| segments[i].as_str());
        let first = c.args.first();
        match (owner, last) {
            (Some("Ipv4Addr"), "new") => loopback_if(first.and_then(int_lit) == Some(127)),
            (Some("Ipv6Addr"), "new") => loopback_if(is_loopback_octets(&c.args)),
            (Some("UnixListener" | "UnixStream" | "UnixListenerStream" | "UnixSocket"), _) => {
                Trace::Local(LocalPeer::Unix)
            }
            (Some("IpAddr" | "SocketAddr"), "V4" | "V6" | "from")
            | (Some("SocketAddr" | "SocketAddrV4" | "SocketAddrV6"), "new")
            | (Some("String" | "Cow"), "from")
            | (_, "from_str")
            | (Some("TcpListener"), "bind" | "from_std")
            | (Some("TcpListenerStream" | "TokioIo"), "new")
            // A stream of accepted connections made from a list of them: `stream::iter(vec![Ok(io)])`.
            | (Some("stream"), "iter" | "once")
            | (None, "Ok")
            | (Some("AddrIncoming"), "bind" | "from_listener") => {
                first.map_or(Trace::Unknown, |a| self.value(scope, a, None))
            }
            _ => self.returned(scope, &p.path),
        }
    }

    /// The value a private function of the file returns: its tail and every `return`.
    fn returned(&mut self, scope: Option<&Scope<'ast>>, path: &syn::Path) -> Trace {
        let caller_self = scope.and_then(|s| s.self_type.as_deref());
        let mut candidates = (0..self.fns.len()).filter(|&i| {
            let f = &self.fns[i];
            !has_receiver(f.sig) && calls_fn(path, f, caller_self)
        });
        let (Some(index), None) = (candidates.next(), candidates.next()) else {
            return Trace::Unknown;
        };
        if !self.fns[index].private {
            return Trace::Unknown;
        }
        if self.open.contains(&Open::Return(index)) {
            return Trace::Cycle;
        }
        self.open.push(Open::Return(index));
        let callee = self.scope_of(index);
        let mut all = match block_tail(callee.body) {
            Some(Tail::Expr(tail)) => self.value(Some(&callee), tail, None),
            Some(Tail::Macro(m)) => macro_trace(m),
            None => Trace::Cycle,
        };
        let mut returns = Vec::new();
        super::syntax::for_each_expr_in_block(callee.body, true, &mut |x| {
            if let Expr::Return(r) = x {
                returns.push(r.expr.as_deref());
            }
        });
        for r in returns {
            all = all.and(r.map_or(Trace::Unknown, |r| self.value(Some(&callee), r, None)));
        }
        self.open.pop();
        if all == Trace::Cycle {
            Trace::Unknown
        } else {
            all
        }
    }

    fn path(
        &mut self,
        scope: Option<&Scope<'ast>>,
        e: &'ast Expr,
        p: &'ast syn::ExprPath,
        proj: Option<usize>,
    ) -> Trace {
        let segments = &p.path.segments;
        let last = match segments.last() {
            Some(s) => s.ident.to_string(),
            None => return Trace::Unknown,
        };
        if segments.len() >= 2 {
            let owner = segments[segments.len() - 2].ident.to_string();
            if matches!(owner.as_str(), "Ipv4Addr" | "Ipv6Addr") && last == "LOCALHOST" {
                return Trace::Local(LocalPeer::Loopback);
            }
            // `Self::ADDR`, `crate::consts::ADDR`: a const of this file.
            let first = segments[0].ident.to_string();
            if matches!(first.as_str(), "Self" | "self" | "super" | "crate") {
                return self.constant(&last, proj);
            }
            return Trace::Unknown;
        }
        let Some(scope) = scope else {
            return self.constant(&last, proj);
        };
        let at = e.span().byte_range().start;
        match binding_site(scope, &last, at) {
            Some(Site::Let(init, index, _)) => {
                if index.is_some() && proj.is_some() {
                    return Trace::Unknown;
                }
                let from_let = match init {
                    Some(init) => self.value(Some(scope), init, index.or(proj)),
                    None => Trace::Cycle,
                };
                let assigned = self.assignments(scope, &last, proj);
                match from_let.and(assigned) {
                    Trace::Cycle if init.is_none() => Trace::Unknown,
                    t => t,
                }
            }
            Some(Site::Param(i)) if proj.is_none() => self.param(scope, i),
            Some(Site::Arm(scrutinee, index)) if index.is_none() || proj.is_none() => {
                self.value(Some(scope), scrutinee, index.or(proj))
            }
            Some(_) => Trace::Unknown,
            None => self.constant(&last, proj),
        }
    }

    fn constant(&mut self, name: &str, proj: Option<usize>) -> Trace {
        match self.cx.items.consts.get(name) {
            Some((_, value)) => self.value(None, value, proj),
            None => Trace::Unknown,
        }
    }

    /// Later assignments to a local (`addr = other;`) must be local too; a changed IP is not.
    fn assignments(&mut self, scope: &Scope<'ast>, name: &str, proj: Option<usize>) -> Trace {
        let mut values = Vec::new();
        let mut changed = false;
        super::syntax::for_each_expr_in_block(scope.body, false, &mut |x| match x {
            Expr::Assign(a) if ident_of(&a.left).as_deref() == Some(name) => values.push(&*a.right),
            Expr::MethodCall(m)
                if m.method == "set_ip" && ident_of(&m.receiver).as_deref() == Some(name) =>
            {
                changed = true
            }
            _ => {}
        });
        if changed {
            return Trace::Unknown;
        }
        let mut all = Trace::Cycle;
        for v in values {
            all = all.and(self.value(Some(scope), v, proj));
        }
        all
    }

    /// A private function's parameter: every call site in the file must pass a local value.
    fn param(&mut self, scope: &Scope<'ast>, position: usize) -> Trace {
        let Some(index) = scope.fn_index else {
            return Trace::Unknown;
        };
        if !self.fns[index].private {
            return self.defer(index, position);
        }
        let key = Open::Param(index, position);
        if self.open.contains(&key) {
            return Trace::Cycle;
        }
        if !self.scan() {
            return Trace::Unknown;
        }
        let receiver = has_receiver(self.fns[index].sig);
        let name = self.fns[index].name.clone();
        // (caller, argument) for every call; a mention that is not a call (`map(f)`) hides callers.
        let mut args: Vec<(usize, Option<&'ast Expr>)> = Vec::new();
        let mut mentions = 0usize;
        let mut calls = 0usize;
        for caller in 0..self.fns.len() {
            let caller_self = self.fns[caller].self_type.clone();
            let target = &self.fns[index];
            super::syntax::for_each_expr_in_block(self.fns[caller].body, false, &mut |x| match x {
                Expr::Call(c) => {
                    if let Expr::Path(p) = &*c.func {
                        if calls_fn(&p.path, target, caller_self.as_deref()) {
                            calls += 1;
                            let at = position + usize::from(receiver);
                            args.push((caller, c.args.iter().nth(at)));
                        }
                    }
                }
                Expr::MethodCall(m) if receiver && m.method == name => {
                    args.push((caller, m.args.iter().nth(position)));
                }
                Expr::Path(p) if calls_fn(&p.path, target, caller_self.as_deref()) => mentions += 1,
                _ => {}
            });
        }
        if mentions > calls {
            return Trace::Unknown;
        }
        if args.is_empty() {
            return self.defer(index, position);
        }
        self.open.push(key);
        let mut all = Trace::Cycle;
        for (caller, arg) in args {
            let caller_scope = self.scope_of(caller);
            all = all.and(arg.map_or(Trace::Unknown, |a| self.value(Some(&caller_scope), a, None)));
            if all == Trace::Unknown {
                break;
            }
        }
        self.open.pop();
        all
    }

    /// Which of `owners` (structs of the file) the base of a field access visibly is: `self` in
    /// their impl, a binding or parameter whose type names one (`&Arc<RwLock<State>>`), a binding
    /// made from one (`state.read().await`, a struct literal), or a field of one.
    fn base_struct(
        &self,
        scope: &Scope<'ast>,
        base: &'ast Expr,
        owners: &[String],
        depth: usize,
    ) -> Option<String> {
        if depth > MAX_OPEN {
            return None;
        }
        let base = peel_guard(base);
        match base {
            Expr::Path(p) if p.path.is_ident("self") => scope.self_type.clone(),
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                let at = base.span().byte_range().start;
                match binding_site(scope, &name, at)? {
                    Site::Let(_, _, Some(ty)) => struct_in_type(ty, owners),
                    Site::Let(Some(init), None, None) => {
                        self.base_struct(scope, init, owners, depth + 1)
                    }
                    Site::Param(i) => {
                        let ty = scope
                            .sig
                            .inputs
                            .iter()
                            .filter_map(|arg| match arg {
                                syn::FnArg::Typed(t) => Some(&*t.ty),
                                syn::FnArg::Receiver(_) => None,
                            })
                            .nth(i)?;
                        struct_in_type(ty, owners)
                    }
                    _ => None,
                }
            }
            Expr::Struct(s) => {
                let ty = s.path.segments.last()?.ident.to_string();
                let ty = if ty == "Self" {
                    scope.self_type.clone()?
                } else {
                    ty
                };
                owners.contains(&ty).then_some(ty)
            }
            Expr::Field(f) => {
                let syn::Member::Named(member) = &f.member else {
                    return None;
                };
                let holders: Vec<String> = self.fields.iter().map(|d| d.owner.clone()).collect();
                let holder = self.base_struct(scope, &f.base, &holders, depth + 1)?;
                let decl = self.cx.items.struct_fields.get(&holder)?;
                let (_, ty) = decl.iter().find(|(n, _)| *member == n)?;
                struct_in_type(ty, owners)
            }
            _ => None,
        }
    }

    /// A private field of the file's structs: every struct literal and assignment in the file
    /// must give it a local value. `self.f` looks only at the current impl's type.
    fn field(&mut self, scope: Option<&Scope<'ast>>, f: &'ast syn::ExprField) -> Trace {
        let syn::Member::Named(member) = &f.member else {
            return Trace::Unknown;
        };
        let name = member.to_string();
        let mut owners: Vec<String> = self
            .fields
            .iter()
            .filter(|d| d.field == name)
            .map(|d| d.owner.clone())
            .collect();
        // The struct the base visibly is (`self`, a typed binding); otherwise any with the field.
        if let Some(ty) = scope.and_then(|s| self.base_struct(s, &f.base, &owners, 0)) {
            owners.retain(|o| *o == ty);
        } else if matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) {
            return Trace::Unknown;
        }
        let open_to_outside = self
            .fields
            .iter()
            .any(|d| d.field == name && owners.contains(&d.owner) && (!d.private || d.derived));
        if owners.is_empty() || open_to_outside {
            return Trace::Unknown;
        }
        let key = Open::Field(name.clone());
        if self.open.contains(&key) {
            return Trace::Cycle;
        }
        if !self.scan() {
            return Trace::Unknown;
        }
        // (function, value) for every place the field is given a value; `None`: not visible.
        let mut values: Vec<(usize, Option<&'ast Expr>)> = Vec::new();
        for caller in 0..self.fns.len() {
            let caller_self = self.fns[caller].self_type.clone();
            super::syntax::for_each_expr_in_block(self.fns[caller].body, false, &mut |x| match x {
                Expr::Struct(s) => {
                    let Some(ty) = s.path.segments.last().map(|seg| seg.ident.to_string()) else {
                        return;
                    };
                    let ty = if ty == "Self" {
                        caller_self.clone().unwrap_or_default()
                    } else {
                        ty
                    };
                    if !owners.contains(&ty) {
                        return;
                    }
                    let given = s
                        .fields
                        .iter()
                        .find(|fv| matches!(&fv.member, syn::Member::Named(m) if *m == name));
                    match given {
                        Some(fv) => values.push((caller, Some(&fv.expr))),
                        None if s.rest.is_some() => values.push((caller, None)),
                        None => {}
                    }
                }
                Expr::Assign(a) => {
                    if let Expr::Field(lf) = &*a.left {
                        if matches!(&lf.member, syn::Member::Named(m) if *m == name) {
                            values.push((caller, Some(&a.right)));
                        }
                    }
                }
                _ => {}
            });
        }
        if values.is_empty() {
            return Trace::Unknown;
        }
        self.open.push(key);
        let mut all = Trace::Cycle;
        for (caller, value) in values {
            let caller_scope = self.scope_of(caller);
            all =
                all.and(value.map_or(Trace::Unknown, |v| self.value(Some(&caller_scope), v, None)));
            if all == Trace::Unknown {
                break;
            }
        }
        self.open.pop();
        all
    }
}

fn loopback_if(yes: bool) -> Trace {
    if yes {
        Trace::Local(LocalPeer::Loopback)
    } else {
        Trace::Unknown
    }
}

/// Strips what does not change which host a value names: references, `?`, `.await`, unwrapping,
/// conversions (`to_string`, `parse`, `into`) and error mapping (`map_err`, `context`).
fn peel_value(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "unwrap"
                        | "expect"
                        | "unwrap_or_default"
                        | "to_string"
                        | "to_owned"
                        | "clone"
                        | "into"
                        | "as_str"
                        | "as_ref"
                        | "borrow"
                        | "parse"
                        | "map_err"
                        | "context"
                        | "with_context"
                        | "wrap_err"
                        | "inspect_err"
                        | "to_socket_addrs"
                ) =>
            {
                &m.receiver
            }
            _ => return e,
        };
    }
}

/// A block's value: its last statement when it has no semicolon.
enum Tail<'ast> {
    Expr(&'ast Expr),
    Macro(&'ast syn::Macro),
}

fn block_tail(block: &syn::Block) -> Option<Tail<'_>> {
    match block.stmts.last()? {
        syn::Stmt::Expr(e, None) => Some(Tail::Expr(e)),
        syn::Stmt::Macro(m) if m.semi_token.is_none() => Some(Tail::Macro(&m.mac)),
        _ => None,
    }
}

/// `format!("127.0.0.1:{port}")`: the literal text before the first placeholder names the host.
fn macro_trace(mac: &syn::Macro) -> Trace {
    let is_format = mac
        .path
        .segments
        .last()
        .is_some_and(|s| s.ident == "format" || s.ident == "format_args");
    if !is_format {
        return Trace::Unknown;
    }
    let Some(first) = mac.tokens.clone().into_iter().next() else {
        return Trace::Unknown;
    };
    match syn::parse2::<syn::LitStr>(first.into()) {
        Ok(lit) => text_trace(&lit.value()),
        Err(_) => Trace::Unknown,
    }
}

/// Whether a block is the expansion of macro `name`.
fn is_macro_block(b: &syn::ExprBlock, name: &str) -> bool {
    crate::engine::macros::origin(&b.attrs)
        .is_some_and(|origin| origin.segments.last().is_some_and(|s| s.ident == name))
}

/// `tokio::io::duplex(n)`, `io::duplex(n)` or an imported `duplex(n)`.
fn is_duplex(c: &syn::ExprCall) -> bool {
    let Expr::Path(p) = &*c.func else {
        return false;
    };
    let segments: Vec<String> = crate::rules::syntax::segment_names(&p.path);
    match segments.as_slice() {
        [.., owner, last] => last == "duplex" && owner == "io",
        [last] => last == "duplex",
        [] => false,
    }
}

/// A `format!` the engine expanded into a marked block: its first expression is the literal.
fn format_literal_of_block(b: &syn::ExprBlock) -> Option<String> {
    if !is_macro_block(b, "format") && !is_macro_block(b, "format_args") {
        return None;
    }
    match b.block.stmts.first()? {
        syn::Stmt::Expr(
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }),
            _,
        ) => Some(s.value()),
        _ => None,
    }
}

fn text_trace(format: &str) -> Trace {
    match format.split_once('{') {
        Some((head, _)) => loopback_if(is_loopback_text(head, false)),
        None => loopback_if(is_loopback_text(format, true)),
    }
}

fn int_lit(e: &Expr) -> Option<u128> {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        _ => None,
    }
}

/// `[127, 0, 0, 1]` (any `127.x.y.z`), or the eight segments of `::1`.
fn is_loopback_octets(elems: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> bool {
    let values: Vec<Option<u128>> = elems.iter().map(int_lit).collect();
    match values.len() {
        4 => values[0] == Some(127),
        8 => values[..7].iter().all(|v| *v == Some(0)) && values[7] == Some(1),
        _ => false,
    }
}

fn has_receiver(sig: &syn::Signature) -> bool {
    matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_)))
}

/// Whether a call's path names `f`: `f(..)`/`module::f(..)` for a free function,
/// `Type::f(..)`/`Self::f(..)` for an associated one.
fn calls_fn(path: &syn::Path, f: &FnItem<'_>, caller_self: Option<&str>) -> bool {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    if segments.last() != Some(&f.name) {
        return false;
    }
    let owner = segments.len().checked_sub(2).map(|i| segments[i].as_str());
    match (&f.self_type, owner) {
        (Some(ty), Some("Self")) => caller_self == Some(ty.as_str()),
        (Some(ty), Some(owner)) => owner == ty,
        (Some(_), None) => false,
        (None, None) => true,
        // `module::f`, not `Type::f`.
        (None, Some(owner)) => owner.starts_with(|c: char| c.is_lowercase()),
    }
}

fn collect_items<'ast>(
    items: &'ast [syn::Item],
    fns: &mut Vec<FnItem<'ast>>,
    fields: &mut Vec<FieldDecl>,
    module: &mut Vec<String>,
) {
    for item in items {
        match item {
            syn::Item::Fn(f) => fns.push(FnItem {
                name: f.sig.ident.to_string(),
                sig: &f.sig,
                body: &f.block,
                self_type: None,
                private: matches!(f.vis, syn::Visibility::Inherited),
                module: module.clone(),
            }),
            syn::Item::Impl(i) => {
                let self_type = match &*i.self_ty {
                    Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                for ii in &i.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        fns.push(FnItem {
                            name: f.sig.ident.to_string(),
                            sig: &f.sig,
                            body: &f.block,
                            self_type: self_type.clone(),
                            private: i.trait_.is_none()
                                && matches!(f.vis, syn::Visibility::Inherited),
                            module: module.clone(),
                        });
                    }
                }
            }
            syn::Item::Struct(s) => {
                for field in &s.fields {
                    if let Some(name) = &field.ident {
                        fields.push(FieldDecl {
                            owner: s.ident.to_string(),
                            field: name.to_string(),
                            private: matches!(field.vis, syn::Visibility::Inherited),
                            derived: builds_without_literal(&s.attrs),
                        });
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    module.push(m.ident.to_string());
                    collect_items(items, fns, fields, module);
                    module.pop();
                }
            }
            _ => {}
        }
    }
}

/// What binds `name` at byte offset `at` in `scope`'s function: the innermost binding in scope
/// there, else a parameter; `None` when nothing local does (a const, a static).
fn binding_site<'ast>(scope: &Scope<'ast>, name: &str, at: usize) -> Option<Site<'ast>> {
    let mut find = Sites {
        name,
        at,
        best: None,
        blocks: Vec::new(),
    };
    find.visit_block(scope.body);
    if let Some((_, site)) = find.best {
        return Some(site);
    }
    let params = scope.sig.inputs.iter().filter_map(|arg| match arg {
        syn::FnArg::Typed(t) => Some(&*t.pat),
        syn::FnArg::Receiver(_) => None,
    });
    for (i, pat) in params.enumerate() {
        if pat_binds(pat, name) {
            return Some(match super::syntax::strip_pat_type(pat) {
                syn::Pat::Ident(_) => Site::Param(i),
                _ => Site::Other,
            });
        }
    }
    None
}

/// Finds the binding of a name visible at an offset: the latest one that starts before it and
/// whose scope (the rest of its block, a closure, an arm, a loop body) contains it.
struct Sites<'n, 'ast> {
    name: &'n str,
    at: usize,
    best: Option<(usize, Site<'ast>)>,
    /// Byte ranges of the enclosing blocks.
    blocks: Vec<std::ops::Range<usize>>,
}

impl<'ast> Sites<'_, 'ast> {
    fn offer(&mut self, visible: std::ops::Range<usize>, site: Site<'ast>) {
        if visible.contains(&self.at) && self.best.as_ref().is_none_or(|(s, _)| visible.start >= *s)
        {
            self.best = Some((visible.start, site));
        }
    }
}

impl<'ast> Visit<'ast> for Sites<'_, 'ast> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        // A block a macro expansion made (`select!`'s branches) has no place in the file: its
        // bindings are visible to the end of the block around it.
        let range = b.span().byte_range();
        let range = match self.blocks.last() {
            Some(outer) if range.is_empty() => outer.clone(),
            _ => range,
        };
        self.blocks.push(range);
        visit::visit_block(self, b);
        self.blocks.pop();
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        visit::visit_local(self, l);
        if !pat_binds(&l.pat, self.name) {
            return;
        }
        let end = l.span().byte_range().end;
        let block_end = self.blocks.last().map_or(usize::MAX, |r| r.end);
        let init = l.init.as_ref().map(|i| &*i.expr);
        let ty = match &l.pat {
            syn::Pat::Type(t) => Some(&*t.ty),
            _ => None,
        };
        let site = match super::syntax::strip_pat_type(&l.pat) {
            syn::Pat::Ident(_) => Site::Let(init, None, ty),
            syn::Pat::Tuple(t) => match t.elems.iter().position(|p| {
                matches!(super::syntax::strip_pat_type(p), syn::Pat::Ident(i) if i.ident == self.name && i.subpat.is_none())
            }) {
                Some(i) if l.init.as_ref().is_some_and(|i| i.diverge.is_none()) => {
                    Site::Let(init, Some(i), None)
                }
                _ => Site::Other,
            },
            _ => Site::Other,
        };
        self.offer(end..block_end, site);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        if c.inputs.iter().any(|p| pat_binds(p, self.name)) {
            self.offer(c.span().byte_range(), Site::Other);
        }
        visit::visit_expr_closure(self, c);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        if pat_binds(&f.pat, self.name) {
            self.offer(f.body.span().byte_range(), Site::Other);
        }
        visit::visit_expr_for_loop(self, f);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        for arm in &m.arms {
            if pat_binds(&arm.pat, self.name) {
                let site = match unwrapped_element(&arm.pat, self.name) {
                    Some(index) => Site::Arm(&m.expr, index),
                    None => Site::Other,
                };
                self.offer(arm.span().byte_range(), site);
            }
            visit::visit_arm(self, arm);
        }
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        if let Expr::Let(l) = &*i.cond {
            if pat_binds(&l.pat, self.name) {
                self.offer(i.then_branch.span().byte_range(), Site::Other);
            }
        }
        visit::visit_expr_if(self, i);
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        if let Expr::Let(l) = &*w.cond {
            if pat_binds(&l.pat, self.name) {
                self.offer(w.body.span().byte_range(), Site::Other);
            }
        }
        visit::visit_expr_while(self, w);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Whether a pattern binds `name` anywhere in it.
fn pat_binds(pat: &syn::Pat, name: &str) -> bool {
    struct Binds<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Binds<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.found |= p.ident == self.name;
            visit::visit_pat_ident(self, p);
        }
        fn visit_field_pat(&mut self, f: &'ast syn::FieldPat) {
            // `S { name }` binds `name`; `S { name: x }` binds `x`.
            if f.colon_token.is_none() {
                self.found |= matches!(&f.member, syn::Member::Named(m) if m == self.name);
            }
            visit::visit_field_pat(self, f);
        }
        fn visit_expr(&mut self, _: &'ast Expr) {}
    }
    let mut b = Binds { name, found: false };
    b.visit_pat(pat);
    b.found
}

/// Whether a struct's derives can build it without a literal (anything but the inert ones).
fn builds_without_literal(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let paths = a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            );
            match paths {
                Ok(paths) => paths.iter().any(|p| {
                    p.segments
                        .last()
                        .is_none_or(|s| !INERT_DERIVES.contains(&s.ident.to_string().as_str()))
                }),
                Err(_) => true,
            }
        })
}

/// Strips what keeps a value's type visible through a guard or a borrow: `&x`, `*x`,
/// `x.read().await`, `x.lock().unwrap()`, `x.clone()`.
fn peel_guard(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "read"
                            | "write"
                            | "lock"
                            | "unwrap"
                            | "expect"
                            | "clone"
                            | "as_ref"
                            | "borrow"
                            | "borrow_mut"
                            | "as_mut"
                            | "inner"
                    ) =>
            {
                &m.receiver
            }
            _ => return e,
        };
    }
}

/// The one struct of `owners` that a type names, looking through references and generic
/// wrappers: `tauri::State<'_, Arc<RwLock<DaemonState>>>` → `DaemonState`.
fn struct_in_type(ty: &Type, owners: &[String]) -> Option<String> {
    struct Names<'o> {
        owners: &'o [String],
        found: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
            let name = s.ident.to_string();
            if self.owners.contains(&name) && !self.found.contains(&name) {
                self.found.push(name);
            }
            visit::visit_path_segment(self, s);
        }
    }
    let mut names = Names {
        owners,
        found: Vec::new(),
    };
    names.visit_type(ty);
    match names.found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_text;

    #[test]
    fn loopback_text_names_this_host_only() {
        for local in [
            "127.0.0.1:80",
            "127.3.2.1",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:80",
            "::1",
            "ws://127.0.0.1/feed",
            "http://localhost:3000/x",
        ] {
            assert!(is_loopback_text(local, true), "{local}");
        }
        for remote in [
            "[::]:80",
            "0.0.0.0:80",
            "::",
            "10.0.0.1:80",
            "127.0.0.1.example.net:80",
            "localhost.example.net",
            "example.com:80",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_text(remote, true), "{remote}");
        }
    }

    #[test]
    fn a_format_head_must_hold_the_whole_host() {
        assert!(is_loopback_text("127.0.0.1:", false));
        assert!(is_loopback_text("ws://[::1]", false));
        assert!(!is_loopback_text("127.0.0.1", false));
        assert!(!is_loopback_text("localhost", false));
    }
}
