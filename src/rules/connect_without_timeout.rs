//! `connect-without-timeout`: a network connect whose future no timeout wraps.
use std::collections::HashSet;

use syn::Expr;

use super::syntax::{
    binding_init, fn_bodies, for_each_expr, for_each_expr_in_block, ident_of, let_binding_of,
    written,
};
use super::{api_map, name_list, network, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::macros;
use crate::engine::resolve::canonical_str;
use crate::engine::summary::Condition;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "connect-without-timeout";

pub struct ConnectWithoutTimeout {
    connects: HashSet<String>,
    /// Connects followed by a protocol handshake (`-> handshake` in the catalogue): WebSockets.
    handshakes: HashSet<String>,
    sync_connects: HashSet<String>,
    wrappers: HashSet<String>,
    timeout_methods: Vec<String>,
    sleeps: HashSet<String>,
    texts: super::EntryTexts,
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
    pub fn new(doc: &RuleDoc, ext: &ApiExtensions) -> Self {
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
        }
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
        let loopback = call
            .args
            .first()
            .is_some_and(|addr| network::local_peer(cx, addr).is_some());
        if loopback && !handshake {
            return;
        }
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
        let finding = RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels: Vec::new(),
        };
        // Inside a function, the connect waits as long as its callers let it: if every caller
        // (in any file of the crate) bounds the call with a timeout, it is bounded. Not so for a
        // connect in a closure or async block, which may run apart from the call (spawned).
        let in_body = !cx
            .ancestors()
            .any(|a| matches!(a, Expr::Closure(_) | Expr::Async(_)));
        match cx.fn_key().filter(|_| in_body).map(str::to_owned) {
            Some(function) => cx.report_candidate(
                finding,
                Condition::SomeCallerUnguarded { function },
                "called here with no timeout around the call",
            ),
            None => cx.report(finding),
        }
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
