//! `connect-without-timeout`: a network connect whose future no timeout wraps.
use std::collections::HashSet;

use syn::Expr;

use super::syntax::{
    binding_init, binding_init_before, fn_bodies, for_each_expr, for_each_expr_in_block, ident_of,
    let_binding_of, peel, written,
};
use super::{api_map, name_list, network, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::macros;
use crate::engine::resolve::canonical_str;
use crate::engine::summary::{AddrShape, Condition};
use crate::engine::{Applicability, Context, RawFinding, RawFix, Rule};

pub const ID: &str = "connect-without-timeout";

pub struct ConnectWithoutTimeout {
    connects: HashSet<String>,
    /// Connects followed by a protocol handshake (`-> handshake` in the catalogue): WebSockets.
    handshakes: HashSet<String>,
    sync_connects: HashSet<String>,
    wrappers: HashSet<String>,
    timeout_methods: Vec<String>,
    sleeps: HashSet<String>,
    /// Blocking socket constructors whose `connect(&addr)` waits for the OS, and the socket kind
    /// argument (their second) that makes it a stream socket.
    blocking_sockets: HashSet<String>,
    stream_kinds: HashSet<String>,
    texts: super::EntryTexts,
    /// The timeout the fixes write, in seconds (the `timeout-seconds` option).
    timeout_seconds: u128,
}

/// File-level facts: functions called inside a timeout wrapper anywhere in the file, and local
/// functions whose body applies a timeout wrapper (a future passed to them is bounded).
struct FileTimeouts {
    called_under_timeout: HashSet<String>,
    local_wrappers: std::rc::Rc<HashSet<String>>,
    /// Whether anything in the file can bound a call: a wrapper, a timeout combinator, a
    /// `select!` (most files have none, and their calls need no closer look).
    any_bound: bool,
}

impl ConnectWithoutTimeout {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        let mut wrappers = keys("timeout-wrappers");
        wrappers.extend(ext.timeout_wrappers.iter().map(|p| canonical_str(p)));
        let connects = api_map(doc, "connects");
        ConnectWithoutTimeout {
            handshakes: connects
                .iter()
                .filter(|(_, extra)| extra.as_deref() == Some("handshake"))
                .map(|(path, _)| path.clone())
                .collect(),
            connects: connects.into_keys().collect(),
            texts: super::EntryTexts::of(doc),
            sync_connects: keys("sync-connects"),
            wrappers,
            timeout_methods: name_list(doc, "timeout-methods"),
            sleeps: keys("sleeps"),
            timeout_seconds: options.int(doc, "timeout-seconds"),
            blocking_sockets: keys("blocking-socket-constructors"),
            stream_kinds: keys("stream-socket-kinds"),
        }
    }

    /// `Duration::from_secs(N)` as the fix at the current position can write it, and the import
    /// that spelling needs.
    fn duration(&self, cx: &Context<'_>) -> (String, Option<String>) {
        let (ty, import) = cx.spell_type("std::time::Duration");
        (format!("{ty}::from_secs({})", self.timeout_seconds), import)
    }

    /// A tokio connect wrapped in `tokio::time::timeout(D, ..)`: unsafe, the awaited value becomes
    /// `Result<_, Elapsed>` around the connect's own result.
    fn wrap_fix(&self, cx: &Context<'_>, call: &Expr, path: &str) -> Option<RawFix> {
        let tokio_based = path.starts_with("tokio::") || path.starts_with("tokio_tungstenite::");
        // `tokio::time` exists only with tokio's `time` feature (`full` includes it).
        if !tokio_based || !cx.may_use_crate_feature("tokio", &["time", "full"]) {
            return None;
        }
        let range = cx.range(call);
        let (duration, import) = self.duration(cx);
        let fix = RawFix::new(
            Applicability::Unsafe,
            format!("wrap the connect in `tokio::time::timeout` ({} s; needs tokio's `time` feature): the awaited value becomes a `Result` around the connect's, with `Elapsed` as the error", self.timeout_seconds),
        )
        .edit(range.start..range.start, format!("tokio::time::timeout({duration}, "))
        .edit(range.end..range.end, ")");
        Some(match import {
            Some(path) => fix.import(path),
            None => fix,
        })
    }

    /// `TcpStream::connect(addr)` → `TcpStream::connect_timeout(&addr, D)`, only where `addr` is
    /// visibly one `std::net::SocketAddr` (`connect_timeout` takes no other address). Unsafe: the
    /// call now fails with `TimedOut` after D.
    fn connect_timeout_fix(&self, cx: &Context<'_>, call: &syn::ExprCall) -> Option<RawFix> {
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let last = func.path.segments.last()?;
        if last.ident != "connect" || !last.arguments.is_none() || call.args.len() != 1 {
            return None;
        }
        let arg = call.args.first()?;
        let address = socket_addr_ref(cx, arg)?;
        let (duration, import) = self.duration(cx);
        let fix = RawFix::new(
            Applicability::Unsafe,
            format!(
                "use `connect_timeout` ({} s): the connect fails with `TimedOut` instead of waiting for the OS",
                self.timeout_seconds
            ),
        )
        .edit(last.ident.span().byte_range(), "connect_timeout")
        .edit(cx.range(arg), format!("{address}, {duration}"));
        Some(match import {
            Some(path) => fix.import(path),
            None => fix,
        })
    }

    fn is_wrapper_call(&self, cx: &Context<'_>, e: &Expr) -> bool {
        cx.callee(e).is_some_and(|p| self.wrappers.contains(&p))
    }

    /// A `select!` block with a branch that sleeps.
    fn is_select_with_sleep(&self, cx: &Context<'_>, e: &Expr) -> bool {
        let Expr::Block(block) = e else { return false };
        let Some(origin) = macros::origin(&block.attrs) else {
            return false;
        };
        if origin
            .segments
            .last()
            .is_none_or(|s| s.ident != "select" && s.ident != "select_biased")
        {
            return false;
        }
        block.block.stmts.iter().any(|stmt| match stmt {
            syn::Stmt::Local(l) => l.init.as_ref().is_some_and(|i| {
                let mut sleeps = false;
                for_each_expr(&i.expr, false, &mut |x| {
                    sleeps |= self.is_sleep(cx, x);
                });
                sleeps
            }),
            _ => false,
        })
    }

    /// A sleep call, or a name bound to one in this function (`let timeout = sleep(d); .. _ = timeout`).
    fn is_sleep(&self, cx: &Context<'_>, e: &Expr) -> bool {
        if cx.callee(e).is_some_and(|p| self.sleeps.contains(&p)) {
            return true;
        }
        let Some(name) = ident_of(e) else {
            return false;
        };
        let Some(init) = cx.current_fn().and_then(|f| binding_init(f.body, &name)) else {
            return false;
        };
        let mut sleeps = false;
        for_each_expr(init, false, &mut |x| {
            sleeps |= cx.callee(x).is_some_and(|p| self.sleeps.contains(&p))
        });
        sleeps
    }

    /// The connect future was bound (`let fut = connect(..)`) and the binding is then bounded:
    /// passed to a timeout wrapper, put under `.timeout(..)`, or raced in a `select!` with a sleep.
    fn binding_is_bounded(&self, cx: &Context<'_>, call: &Expr) -> bool {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return false;
        };
        let Some(local) = let_binding_of(body, call) else {
            return false;
        };
        let syn::Pat::Ident(name) = &local.pat else {
            return false;
        };
        let name = name.ident.to_string();
        let mentions = |e: &Expr| {
            let mut found = false;
            for_each_expr(e, false, &mut |x| {
                found |= ident_of(x).as_deref() == Some(name.as_str())
            });
            found
        };
        let mut bounded = false;
        for_each_expr_in_block(body, false, &mut |e| {
            bounded |= match e {
                Expr::Call(c) => self.is_wrapper_call(cx, e) && c.args.iter().any(&mentions),
                Expr::MethodCall(m) => self.timeout_methods.iter().any(|t| m.method == t) && ident_of(&m.receiver).as_deref() == Some(name.as_str()),
                Expr::Block(b) => {
                    self.is_select_with_sleep(cx, e)
                        && b.block.stmts.iter().any(|s| matches!(s, syn::Stmt::Local(l) if l.init.as_ref().is_some_and(|i| mentions(&i.expr))))
                }
                _ => false,
            };
        });
        bounded
    }

    /// Whether some enclosing expression bounds the wait.
    fn has_timeout(&self, cx: &Context<'_>, call: &Expr, local_wrappers: &HashSet<String>) -> bool {
        let mut child: &Expr = call;
        for ancestor in cx.ancestors() {
            if self.is_wrapper_call(cx, ancestor)
                || self.is_select_with_sleep(cx, ancestor)
                || local_wrappers.contains(&local_callee(ancestor))
            {
                return true;
            }
            // `connect(addr).timeout(d)`: the connect is in the combinator's receiver.
            if let Expr::MethodCall(m) = ancestor {
                if self.timeout_methods.iter().any(|t| m.method == t)
                    && std::ptr::eq(&*m.receiver, child)
                {
                    return true;
                }
            }
            child = ancestor;
        }
        false
    }

    fn file_timeouts<'c>(&self, cx: &'c mut Context<'_>) -> &'c FileTimeouts {
        cx.cached(ID, |cx| {
            let mut called_under_timeout = HashSet::new();
            let mut local_wrappers = HashSet::new();
            let mut any_bound = false;
            for (name, body) in fn_bodies(&cx.file.items) {
                let mut applies = false;
                for_each_expr_in_block(body, false, &mut |e| {
                    match e {
                        Expr::MethodCall(m)
                            if self.timeout_methods.iter().any(|t| m.method == t) =>
                        {
                            any_bound = true;
                        }
                        Expr::Block(b) if macros::origin(&b.attrs).is_some() => any_bound = true,
                        _ => {}
                    }
                    let Expr::Call(call) = e else { return };
                    if !self.is_wrapper_call(cx, e) {
                        return;
                    }
                    applies = true;
                    // What is called inside the wrapper's arguments runs under its timeout.
                    for arg in &call.args {
                        for_each_expr(arg, false, &mut |inner| match inner {
                            Expr::Call(_) => {
                                called_under_timeout.insert(local_callee(inner));
                            }
                            Expr::MethodCall(m) => {
                                called_under_timeout.insert(m.method.to_string());
                            }
                            _ => {}
                        });
                    }
                });
                if applies {
                    any_bound = true;
                    local_wrappers.insert(name);
                }
            }
            FileTimeouts {
                called_under_timeout,
                local_wrappers: std::rc::Rc::new(local_wrappers),
                any_bound,
            }
        })
    }
}

/// The connect's address as a `&SocketAddr` expression, when it is visibly one `std::net::SocketAddr`:
/// a local typed or made as one (`addr` → `&addr`, a `&SocketAddr` parameter as it is), a
/// reference to such a local, or a `SocketAddr::new(..)`/`SocketAddr::from(..)` call.
fn socket_addr_ref(cx: &Context<'_>, arg: &Expr) -> Option<String> {
    const SOCKET_ADDR: &str = "std::net::SocketAddr";
    let is_socket_addr = |t: &syn::Type| cx.type_path(t).is_some_and(|p| p == SOCKET_ADDR);
    let made = |e: &Expr| {
        cx.callee(e)
            .is_some_and(|p| p == "std::net::SocketAddr::new" || p == "std::net::SocketAddr::from")
    };
    let written = cx.source_of(arg)?;
    match arg {
        Expr::Path(p) if p.qself.is_none() => {
            let name = p.path.get_ident()?.to_string();
            let binding = cx.binding(&name)?;
            match binding.ty {
                Some(syn::Type::Reference(r)) if is_socket_addr(&r.elem) => {
                    Some(written.to_owned())
                }
                Some(ty @ syn::Type::Path(_)) if is_socket_addr(ty) => Some(format!("&{written}")),
                None if binding.tuple_index.is_none() && binding.init.is_some_and(made) => {
                    Some(format!("&{written}"))
                }
                _ => None,
            }
        }
        Expr::Reference(r) if r.mutability.is_none() => {
            socket_addr_ref(cx, &r.expr).filter(|inner| inner.starts_with('&'))?;
            Some(written.to_owned())
        }
        Expr::Call(_) if made(arg) => Some(format!("&{written}")),
        _ => None,
    }
}

impl ConnectWithoutTimeout {
    /// `socket.connect(&addr)` on a blocking stream socket made in this function
    /// (`Socket::new(domain, Type::STREAM, ..)` with no `set_nonblocking(true)` before the connect).
    fn check_socket_connect<'ast>(&self, cx: &mut Context<'ast>, m: &'ast syn::ExprMethodCall) {
        if m.method != "connect" || m.args.len() != 1 {
            return;
        }
        let Some(name) = ident_of(peel(&m.receiver)) else {
            return;
        };
        let Some(frame) = cx.current_fn() else { return };
        let (body, current) = (frame.body, frame.sig.ident.to_string());
        let at = cx.range(m).start;
        let Some(init) = binding_init_before(body, &name, at).map(peel) else {
            return;
        };
        let Expr::Call(ctor) = init else { return };
        if !cx
            .callee(init)
            .is_some_and(|p| self.blocking_sockets.contains(&p))
        {
            return;
        }
        // A datagram socket's connect only records the peer; `Type::STREAM.nonblocking()` returns at once.
        let stream = ctor.args.iter().nth(1).is_some_and(|kind| match kind {
            Expr::Path(p) => cx
                .resolve(&p.path)
                .is_some_and(|k| self.stream_kinds.contains(&k)),
            _ => false,
        });
        if !stream {
            return;
        }
        let mut non_blocking = false;
        for_each_expr_in_block(body, false, &mut |e| {
            if let Expr::MethodCall(s) = e {
                let turned_on = s.method == "set_nonblocking"
                    && !matches!(s.args.first(), Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. })) if !b.value);
                non_blocking |= turned_on
                    && ident_of(peel(&s.receiver)).as_deref() == Some(name.as_str())
                    && cx.range(s).start < at;
            }
        });
        if non_blocking
            || self
                .file_timeouts(cx)
                .called_under_timeout
                .contains(&current)
        {
            return;
        }
        if network::local_peer(cx, &m.args[0]).is_some() {
            return;
        }
        cx.report_method(
            ID,
            m,
            format!("`{name}.connect(..)` on a blocking stream socket has no timeout: to a peer that drops packets it waits for the OS (about 127 s on Linux), holding the thread"),
            format!("use `{name}.connect_timeout(&addr, Duration::from_secs(5))`"),
        );
    }
}

/// The last segment of a call's function path: `connect_with_timeout(..)` → `connect_with_timeout`.
fn local_callee(e: &Expr) -> String {
    match e {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

impl Rule for ConnectWithoutTimeout {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if let Expr::MethodCall(m) = expr {
            self.check_socket_connect(cx, m);
            return;
        }
        if !matches!(expr, Expr::Call(_)) {
            return;
        }
        let Some(path) = cx.callee(expr) else { return };
        let sync = self.sync_connects.contains(&path);
        if !sync && !self.connects.contains(&path) {
            return;
        }
        let current = cx.current_fn().map(|f| f.sig.ident.to_string());
        let facts = self.file_timeouts(cx);
        // Inside a function that this file calls under a timeout wrapper.
        let in_called = current.is_some_and(|name| facts.called_under_timeout.contains(&name));
        let local_wrappers = facts.local_wrappers.clone();
        if in_called
            || (!sync
                && (self.has_timeout(cx, expr, &local_wrappers)
                    || self.binding_is_bounded(cx, expr)))
        {
            return;
        }
        let what = written(expr);
        let handshake = self.handshakes.contains(&path);
        let Expr::Call(call) = expr else { return };
        // A loopback peer answers or refuses at once: only a handshake after the connect can stall.
        // An address the file shows to be loopback unless some caller out of view gives a
        // parameter another host is left to the join (when no handshake follows).
        let source = call
            .args
            .first()
            .map_or(network::PeerSource::Unknown, |addr| {
                network::peer_source(cx, addr)
            });
        let loopback = matches!(source, network::PeerSource::Local(_));
        if loopback && !handshake {
            return;
        }
        let from_callers = match source {
            network::PeerSource::Callers(params) if !handshake => Some(params),
            _ => None,
        };
        let (message, help) = if sync {
            (
                format!("`{what}` blocks with no timeout: to a peer that drops packets it waits for the OS (about 127 s on Linux), holding the thread"),
                "resolve the address and use `std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))`".to_owned(),
            )
        } else if loopback {
            (
                format!("`{what}` has no timeout: the peer is on this host, so the connect itself answers at once, but the handshake after it has no bound: a peer that accepts and never answers holds the task"),
                format!("wrap it: `tokio::time::timeout(Duration::from_secs(5), {what}(..)).await`"),
            )
        } else if handshake {
            (
                format!("`{what}` has no timeout: to a peer that drops packets the connect waits for the OS (about 127 s on Linux), and the handshake after it has no bound at all, while the task holds its buffers"),
                format!("wrap it: `tokio::time::timeout(Duration::from_secs(5), {what}(..)).await`"),
            )
        } else {
            (
                format!("`{what}` has no timeout: to a peer that drops packets it waits for the OS (about 127 s on Linux) while the task holds its buffers"),
                format!("wrap it: `tokio::time::timeout(Duration::from_secs(5), {what}(..)).await`"),
            )
        };
        let (message, help) = (
            self.texts.message(Some(&path), &what).unwrap_or(message),
            self.texts.help(Some(&path), &what).unwrap_or(help),
        );
        let fix = if sync {
            self.connect_timeout_fix(cx, call)
        } else {
            self.wrap_fix(cx, expr, &path)
        };
        let finding = RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels: Vec::new(),
            fix,
        };
        // Inside a function, the connect waits as long as its callers let it: if every caller
        // (in any file of the crate) bounds the call with a timeout, it is bounded. Not so for a
        // connect in a closure or async block, which may run apart from the call (spawned).
        let in_body = !cx
            .ancestors()
            .any(|a| matches!(a, Expr::Closure(_) | Expr::Async(_)));
        let unguarded =
            cx.fn_key()
                .filter(|_| in_body)
                .map(|function| Condition::SomeCallerUnguarded {
                    function: function.to_owned(),
                });
        let condition = match from_callers {
            Some(params) => Some(Condition::RemotePeer {
                params,
                and: unguarded.map(Box::new),
            }),
            None => unguarded,
        };
        match condition {
            Some(condition) => cx.report_candidate(
                finding,
                condition,
                "called here with no timeout around the call",
            ),
            None => cx.report(finding),
        }
    }

    fn call_args<'ast>(
        &self,
        cx: &mut Context<'ast>,
        call: &'ast Expr,
    ) -> Option<Vec<(u16, AddrShape)>> {
        network::call_address_args(cx, call)
    }

    fn bounds_call<'ast>(&self, cx: &mut Context<'ast>, call: &'ast Expr) -> bool {
        let facts = self.file_timeouts(cx);
        if !facts.any_bound {
            return false;
        }
        let local_wrappers = facts.local_wrappers.clone();
        // Only a future a `let` holds can be bounded later through its binding: a call used at
        // once (awaited, an argument, a receiver) cannot.
        let held = matches!(
            cx.ancestors().next(),
            None | Some(
                Expr::Block(_)
                    | Expr::If(_)
                    | Expr::Match(_)
                    | Expr::Loop(_)
                    | Expr::While(_)
                    | Expr::ForLoop(_)
                    | Expr::Closure(_)
                    | Expr::Async(_)
                    | Expr::Unsafe(_)
            )
        );
        self.has_timeout(cx, call, &local_wrappers) || (held && self.binding_is_bounded(cx, call))
    }
}
