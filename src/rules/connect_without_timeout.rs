//! `connect-without-timeout`: a network connect whose future no timeout wraps.
use std::collections::HashSet;

use syn::Expr;

use super::syntax::{for_each_expr, written};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::macros;
use crate::engine::resolve::canonical_str;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "connect-without-timeout";

pub struct ConnectWithoutTimeout {
    connects: HashSet<String>,
    sync_connects: HashSet<String>,
    wrappers: HashSet<String>,
    timeout_methods: Vec<String>,
    sleeps: HashSet<String>,
}

/// Names of the functions called inside a timeout wrapper anywhere in the file.
struct CalledUnderTimeout(HashSet<String>);

impl ConnectWithoutTimeout {
    pub fn new(doc: &RuleDoc, ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        let mut wrappers = keys("timeout-wrappers");
        wrappers.extend(ext.timeout_wrappers.iter().map(|p| canonical_str(p)));
        ConnectWithoutTimeout {
            connects: keys("connects"),
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
                    sleeps |= cx.callee(x).is_some_and(|p| self.sleeps.contains(&p))
                });
                sleeps
            }),
            _ => false,
        })
    }

    /// Whether some enclosing expression bounds the wait.
    fn has_timeout(&self, cx: &Context<'_>, call: &Expr) -> bool {
        let mut child: &Expr = call;
        for ancestor in cx.ancestors() {
            if self.is_wrapper_call(cx, ancestor) || self.is_select_with_sleep(cx, ancestor) {
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

    fn called_under_timeout<'c>(&self, cx: &'c mut Context<'_>) -> &'c CalledUnderTimeout {
        cx.cached(ID, |cx| {
            let mut names = HashSet::new();
            let mut visit = |e: &Expr| {
                let Expr::Call(call) = e else { return };
                if !self.is_wrapper_call(cx, e) {
                    return;
                }
                for arg in &call.args {
                    for_each_expr(arg, false, &mut |inner| match inner {
                        Expr::Call(c) => {
                            if let Expr::Path(p) = &*c.func {
                                if let Some(last) = p.path.segments.last() {
                                    names.insert(last.ident.to_string());
                                }
                            }
                        }
                        Expr::MethodCall(m) => {
                            names.insert(m.method.to_string());
                        }
                        _ => {}
                    });
                }
            };
            for item in &cx.file.items {
                struct Items<'f>(&'f mut dyn FnMut(&Expr));
                impl<'ast> syn::visit::Visit<'ast> for Items<'_> {
                    fn visit_expr(&mut self, e: &'ast Expr) {
                        (self.0)(e);
                        syn::visit::visit_expr(self, e);
                    }
                }
                syn::visit::Visit::visit_item(&mut Items(&mut visit), item);
            }
            CalledUnderTimeout(names)
        })
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
        if !sync && self.has_timeout(cx, expr) {
            return;
        }
        // Inside a function that this file always calls under a timeout wrapper.
        let current = cx.current_fn().map(|f| f.sig.ident.to_string());
        if let Some(name) = current {
            if self.called_under_timeout(cx).0.contains(&name) {
                return;
            }
        }
        let what = written(expr);
        let (message, help) = if sync {
            (
                format!("`{what}` blocks with no timeout: to a peer that drops packets it waits for the OS (about 127 s on Linux), holding the thread"),
                "resolve the address and use `std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))`".to_owned(),
            )
        } else {
            (
                format!("`{what}` has no timeout: to a peer that drops packets it waits for the OS (about 127 s on Linux) while the task holds its buffers"),
                format!("wrap it: `tokio::time::timeout(Duration::from_secs(5), {what}(..)).await`"),
            )
        };
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels: Vec::new(),
        });
    }
}
