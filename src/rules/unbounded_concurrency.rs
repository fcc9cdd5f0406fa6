//! `unbounded-concurrency`: a spawn per item of an external source with no limit in the loop, and
//! concurrency limits that never limit (`buffer_unordered(usize::MAX)`, `for_each_concurrent(None)`,
//! `Semaphore::new(MAX_PERMITS)`).
use std::collections::HashSet;
use std::ops::Range;

use syn::{Expr, ExprMethodCall};

use super::syntax::{
    const_value, describe_capacity, for_each_expr, ident_of, let_binding_of, receiver_is, written,
    MAX_PERMITS, USIZE_MAX,
};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::resolve::canonical_str;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "unbounded-concurrency";

pub struct UnboundedConcurrency {
    spawners: HashSet<String>,
    blocking_spawners: HashSet<String>,
    spawn_methods: Vec<String>,
    future_sets: HashSet<String>,
    future_set_ctors: HashSet<String>,
    future_set_methods: Vec<String>,
    external_sources: Vec<String>,
    awaited_sources: Vec<String>,
    limit_methods: Vec<String>,
    buffer_methods: Vec<String>,
    optional_limit_methods: Vec<String>,
    semaphores: HashSet<String>,
}

/// What is spawned per item.
enum Spawn {
    Task,
    Blocking,
    FutureSet,
}

impl UnboundedConcurrency {
    pub fn new(doc: &RuleDoc, ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        let mut spawners = keys("spawners");
        spawners.extend(ext.spawners.iter().map(|p| canonical_str(p)));
        UnboundedConcurrency {
            spawners,
            blocking_spawners: keys("blocking-spawners"),
            spawn_methods: name_list(doc, "spawn-methods"),
            future_sets: keys("future-sets"),
            future_set_ctors: keys("future-set-constructors"),
            future_set_methods: name_list(doc, "future-set-methods"),
            external_sources: name_list(doc, "external-sources"),
            awaited_sources: name_list(doc, "awaited-sources"),
            limit_methods: name_list(doc, "limit-methods"),
            buffer_methods: name_list(doc, "buffer-methods"),
            optional_limit_methods: name_list(doc, "optional-limit-methods"),
            semaphores: keys("semaphores"),
        }
    }

    fn spawn_kind(&self, cx: &Context<'_>, expr: &Expr) -> Option<Spawn> {
        match expr {
            Expr::Call(_) => {
                let path = cx.callee(expr)?;
                if self.blocking_spawners.contains(&path) {
                    Some(Spawn::Blocking)
                } else {
                    self.spawners.contains(&path).then_some(Spawn::Task)
                }
            }
            Expr::MethodCall(m)
                if m.args.len() == 1 && self.spawn_methods.iter().any(|s| m.method == s) =>
            {
                Some(if m.method == "spawn_blocking" {
                    Spawn::Blocking
                } else {
                    Spawn::Task
                })
            }
            Expr::MethodCall(m)
                if m.args.len() == 1 && self.future_set_methods.iter().any(|s| m.method == s) =>
            {
                self.is_future_set(cx, &m.receiver)
                    .then_some(Spawn::FutureSet)
            }
            _ => None,
        }
    }

    fn is_future_set(&self, cx: &Context<'_>, receiver: &Expr) -> bool {
        receiver_is(
            cx,
            receiver,
            &self.future_set_ctors,
            &self.future_sets,
            None,
        )
    }

    fn is_source_call(&self, e: &Expr, awaited: bool) -> bool {
        let Expr::MethodCall(m) = e else { return false };
        self.external_sources.iter().any(|s| m.method == s)
            || (awaited && self.awaited_sources.iter().any(|s| m.method == s))
    }

    /// The call that brings external items into `loop_expr`, if it is such a loop.
    fn external_source(&self, loop_expr: &Expr) -> Option<Range<usize>> {
        let (head, body): (Option<&Expr>, &syn::Block) = match loop_expr {
            Expr::ForLoop(f) => (Some(&f.expr), &f.body),
            Expr::While(w) => (Some(&w.cond), &w.body),
            Expr::Loop(l) => (None, &l.body),
            _ => return None,
        };
        let mut found = None;
        {
            let mut look = |e: &Expr| {
                if found.is_some() {
                    return;
                }
                match e {
                    Expr::Await(a) if self.is_source_call(peel_parens(&a.base), true) => {
                        found = Some(range_of(e))
                    }
                    _ if self.is_source_call(e, false) => found = Some(range_of(e)),
                    _ => {}
                }
            };
            if let Some(head) = head {
                for_each_expr(head, true, &mut look);
            }
            // A `loop` (or a loop whose header is a plain condition) is fed by what its body awaits.
            if !matches!(loop_expr, Expr::ForLoop(_)) {
                for stmt in &body.stmts {
                    visit_stmt_exprs(stmt, &mut look);
                }
            }
        }
        found
    }

    /// Whether the loop limits what it spawns: a permit, a `len()` check, `join_next()`, `ready()`,
    /// outside any spawned task (a permit taken inside the task limits nothing).
    fn loop_is_limited(&self, loop_expr: &Expr) -> bool {
        let mut limited = false;
        for_each_expr(loop_expr, true, &mut |e| {
            if let Expr::MethodCall(m) = e {
                limited |= self.limit_methods.iter().any(|l| m.method == l);
            }
        });
        limited
    }

    /// Whether the spawned handle is awaited or joined in the same loop (one item at a time).
    fn awaited_in_loop(cx: &Context<'_>, loop_expr: &Expr, spawn: &Expr) -> bool {
        // The handle's `let` is not bound yet while the spawn is checked: find it in the body.
        let handle = cx
            .current_fn()
            .and_then(|f| let_binding_of(f.body, spawn))
            .and_then(|local| match &local.pat {
                syn::Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            });
        let mut awaited = false;
        for_each_expr(loop_expr, false, &mut |e| {
            let base = match e {
                Expr::Await(a) => &*a.base,
                Expr::MethodCall(m) if m.method == "join" => &*m.receiver,
                _ => return,
            };
            let base = peel_parens(base);
            awaited |= std::ptr::eq(base, spawn) || (handle.is_some() && ident_of(base) == handle);
        });
        awaited
    }

    fn check_spawn<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr, kind: Spawn) {
        let Some(loop_expr) = cx.loops().next() else {
            return;
        };
        let Some(source) = self.external_source(loop_expr) else {
            return;
        };
        if self.loop_is_limited(loop_expr) || Self::awaited_in_loop(cx, loop_expr, expr) {
            return;
        }
        let what = written(expr);
        let (message, help) = match kind {
            Spawn::Task => (
                format!("`{what}` starts one task per incoming item with no limit: under load the number of tasks, and the memory and sockets they hold, grows without bound"),
                "acquire a permit before spawning (`semaphore.clone().acquire_owned().await`) and move it into the task, or wait on a `JoinSet` while `len()` is at a maximum".to_owned(),
            ),
            Spawn::Blocking => (
                format!("`{what}` queues one blocking job per incoming item: once the blocking pool's threads are busy the queue grows without bound"),
                "acquire a semaphore permit before `spawn_blocking` and release it when the job ends, or hand items to a bounded pool".to_owned(),
            ),
            Spawn::FutureSet => (
                format!("`{what}` adds one future per incoming item to an unbounded set: nothing limits how many run at once"),
                "check `len()` against a maximum and drain with `next().await` before pushing, or use `buffer_unordered(n)`".to_owned(),
            ),
        };
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels: vec![(
                source,
                "items arrive here, as fast as peers send them".to_owned(),
            )],
        });
    }

    fn check_adaptor<'ast>(
        &self,
        cx: &mut Context<'ast>,
        expr: &'ast Expr,
        m: &'ast ExprMethodCall,
    ) {
        let method = m.method.to_string();
        let Some(arg) = m.args.first() else { return };
        if self.buffer_methods.contains(&method) {
            if const_value(cx, arg) == Some(USIZE_MAX) {
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!("`.{method}(usize::MAX)` puts no limit on how many futures run at once"),
                    help: format!("pass the real concurrency limit: `.{method}(n)` with `n` sized to what the downstream can take"),
                    labels: Vec::new(),
                });
            }
        } else if self.optional_limit_methods.contains(&method) {
            let unlimited = matches!(arg, Expr::Path(p) if p.path.is_ident("None"))
                || matches!(const_value(cx, arg), Some(0) | Some(USIZE_MAX));
            if unlimited {
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!("`.{method}(..)` with a limit of `None`, `0` or `usize::MAX` runs every item at once: both `None` and `0` mean no limit"),
                    help: format!("pass a real limit: `.{method}(n, ..)`"),
                    labels: Vec::new(),
                });
            }
        }
    }
}

fn range_of(e: &Expr) -> Range<usize> {
    syn::spanned::Spanned::span(e).byte_range()
}

fn peel_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn visit_stmt_exprs(stmt: &syn::Stmt, f: &mut dyn FnMut(&Expr)) {
    match stmt {
        syn::Stmt::Local(l) => {
            if let Some(init) = &l.init {
                for_each_expr(&init.expr, true, f);
            }
        }
        syn::Stmt::Expr(e, _) => for_each_expr(e, true, f),
        _ => {}
    }
}

impl Rule for UnboundedConcurrency {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if let Some(kind) = self.spawn_kind(cx, expr) {
            self.check_spawn(cx, expr, kind);
            return;
        }
        match expr {
            Expr::MethodCall(m) => self.check_adaptor(cx, expr, m),
            Expr::Call(call) => {
                let Some(path) = cx.callee(expr) else { return };
                if !self.semaphores.contains(&path) {
                    return;
                }
                let Some(permits) = call.args.first().and_then(|a| const_value(cx, a)) else {
                    return;
                };
                if permits >= MAX_PERMITS {
                    cx.report(RawFinding {
                        rule: ID,
                        range: cx.range(expr),
                        message: format!("a semaphore with {} permits never limits anything", describe_capacity(permits.min(MAX_PERMITS))),
                        help: "size the permit count to the concurrency the protected resource can take".to_owned(),
                        labels: Vec::new(),
                    });
                }
            }
            _ => {}
        }
    }
}
