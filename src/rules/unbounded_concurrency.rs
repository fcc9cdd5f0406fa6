//! `unbounded-concurrency`: a spawn per item of an external source with no limit in the loop, and
//! concurrency limits that never limit (`buffer_unordered(usize::MAX)`, `for_each_concurrent(None)`,
//! `Semaphore::new(MAX_PERMITS)`).
use std::collections::HashSet;
use std::ops::Range;

use syn::{BinOp, Expr, ExprMethodCall};

use super::syntax::{
    binding_init_before, const_value, describe_capacity, for_each_expr, ident_of, let_binding_of,
    peel, receiver_is, self_field, written, MAX_PERMITS, USIZE_MAX,
};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::macros::origin;
use crate::engine::resolve::canonical_str;
use crate::engine::summary::{Condition, FactKind};
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "unbounded-concurrency";

pub struct UnboundedConcurrency {
    texts: super::EntryTexts,
    spawners: HashSet<String>,
    blocking_spawners: HashSet<String>,
    spawn_methods: Vec<String>,
    future_sets: HashSet<String>,
    future_set_ctors: HashSet<String>,
    future_set_methods: Vec<String>,
    external_sources: Vec<String>,
    awaited_sources: Vec<String>,
    connection_sources: Vec<String>,
    limit_methods: Vec<String>,
    buffer_methods: Vec<String>,
    optional_limit_methods: Vec<String>,
    semaphores: HashSet<String>,
    local_listeners: HashSet<String>,
    local_listener_ctors: HashSet<String>,
    clock_streams: HashSet<String>,
    counter_updates: Vec<String>,
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
            texts: super::EntryTexts::of(doc),
            spawners,
            blocking_spawners: keys("blocking-spawners"),
            spawn_methods: name_list(doc, "spawn-methods"),
            future_sets: keys("future-sets"),
            future_set_ctors: keys("future-set-constructors"),
            future_set_methods: name_list(doc, "future-set-methods"),
            external_sources: name_list(doc, "external-sources"),
            awaited_sources: name_list(doc, "awaited-sources"),
            connection_sources: name_list(doc, "connection-sources"),
            limit_methods: name_list(doc, "limit-methods"),
            buffer_methods: name_list(doc, "buffer-methods"),
            optional_limit_methods: name_list(doc, "optional-limit-methods"),
            semaphores: keys("semaphores"),
            local_listeners: keys("local-listeners"),
            local_listener_ctors: keys("local-listener-constructors"),
            clock_streams: keys("clock-streams"),
            counter_updates: name_list(doc, "counter-updates"),
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

    /// The call that brings external items into `loop_expr` and feeds `spawn`, if any. A spawn in a
    /// `select!` arm is fed by that arm's future alone; otherwise the first source counts, skipping
    /// the futures of arms that only leave the loop (a shutdown signal feeds nothing).
    fn feeding_source<'ast>(
        &self,
        loop_expr: &'ast Expr,
        spawn: &Range<usize>,
    ) -> Option<&'ast Expr> {
        let (head, body): (Option<&'ast Expr>, &'ast syn::Block) = match loop_expr {
            Expr::ForLoop(f) => (Some(&f.expr), &f.body),
            Expr::While(w) => (Some(&w.cond), &w.body),
            Expr::Loop(l) => (None, &l.body),
            _ => return None,
        };
        let arms = select_arms(body);
        let feeding_arm = arms
            .iter()
            .filter(|a| a.handler.start <= spawn.start && spawn.end <= a.handler.end)
            .min_by_key(|a| a.handler.len());
        if let Some(arm) = feeding_arm {
            // `select!` awaits the arm's future itself: `Some(x) = stream.next() =>` has no `.await`.
            let future = peel_parens(arm.future);
            if self.is_source_call(future, true) {
                return Some(future);
            }
            return self.sources_in(arm.future).into_iter().next();
        }
        let mut sources = Vec::new();
        if let Some(head) = head {
            sources.extend(self.sources_in(head));
        }
        // A `loop` (or a loop whose header is a plain condition) is fed by what its body awaits,
        // `select!` arms' futures included: `select!` awaits `msg = stream.next() =>` itself.
        if !matches!(loop_expr, Expr::ForLoop(_)) {
            let is_arm_future = |e: &Expr| arms.iter().any(|a| std::ptr::eq(a.future, e));
            for stmt in &body.stmts {
                visit_stmt_exprs(stmt, &mut |e| {
                    if is_arm_future(e) && self.is_source_call(peel_parens(e), true) {
                        sources.push(e);
                    } else {
                        sources.extend(self.source_at(e));
                    }
                });
            }
        }
        let in_leaving_arm = |e: &Expr| {
            let r = range_of(e);
            arms.iter().any(|a| {
                a.leaves && {
                    let f = range_of(a.future);
                    f.start <= r.start && r.end <= f.end
                }
            })
        };
        sources.into_iter().find(|e| !in_leaving_arm(e))
    }

    /// The source calls under `e` (not inside closures), in source order.
    fn sources_in<'ast>(&self, e: &'ast Expr) -> Vec<&'ast Expr> {
        let mut found = Vec::new();
        for_each_expr(e, true, &mut |e| found.extend(self.source_at(e)));
        found
    }

    /// `e` itself, when it is a source call (`accept()`, `next().await`).
    fn source_at<'ast>(&self, e: &'ast Expr) -> Option<&'ast Expr> {
        match e {
            Expr::Await(a) if self.is_source_call(peel_parens(&a.base), true) => Some(e),
            _ if self.is_source_call(e, false) => Some(e),
            _ => None,
        }
    }

    /// Whether the items of a source come from local peers or a clock rather than remote peers:
    /// its receiver is a Unix-domain listener, or a stream a timer drives.
    fn source_is_local(&self, cx: &Context<'_>, source: &Expr) -> bool {
        let Expr::MethodCall(m) = peel(source) else {
            return false;
        };
        self.made_by(
            cx,
            &m.receiver,
            range_of(source).start,
            0,
            &|this, cx, e| this.is_local_listener_value(cx, e),
        )
    }

    /// Whether `e`, followed through method-call receivers, `match` scrutinees and the `let`s of
    /// local names before `before`, is made by something `made` accepts. (Other calls' arguments
    /// are not followed: `select(unix, tcp)` merges a remote source in.)
    fn made_by(
        &self,
        cx: &Context<'_>,
        e: &Expr,
        before: usize,
        depth: usize,
        made: &dyn Fn(&Self, &Context<'_>, &Expr) -> bool,
    ) -> bool {
        if depth > 8 {
            return false;
        }
        let e = peel(e);
        if made(self, cx, e) {
            return true;
        }
        match e {
            // `config.every.map(|d| Box::pin(IntervalStream::new(interval(d))))`: an optional
            // value is made by what its adapter's closure returns.
            Expr::MethodCall(m) => {
                let by_closure = m.args.iter().any(|a| match peel_parens(a) {
                    Expr::Closure(c) => self.made_by(cx, &c.body, before, depth + 1, made),
                    _ => false,
                });
                by_closure || self.made_by(cx, &m.receiver, before, depth + 1, made)
            }
            Expr::Match(m) => self.made_by(cx, &m.expr, before, depth + 1, made),
            Expr::Cast(c) => self.made_by(cx, &c.expr, before, depth + 1, made),
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(tail, None)) => {
                    self.made_by(cx, tail, before, depth + 1, made)
                }
                _ => false,
            },
            // `Box::pin(stream)`, `Box::new(stream)`: the same stream behind a pointer.
            Expr::Call(c)
                if c.args.len() == 1
                    && cx.callee(e).is_some_and(|p| {
                        matches!(
                            p.as_str(),
                            "std::boxed::Box::pin" | "std::boxed::Box::new" | "std::pin::Pin::new"
                        )
                    }) =>
            {
                self.made_by(cx, &c.args[0], before, depth + 1, made)
            }
            _ => {
                let Some(name) = ident_of(e) else {
                    return false;
                };
                let init = cx
                    .current_fn()
                    .and_then(|f| binding_init_before(f.body, &name, before));
                match init {
                    Some(init) => self.made_by(cx, init, range_of(init).start, depth + 1, made),
                    None => false,
                }
            }
        }
    }

    /// A Unix-domain listener (or a clock stream) by its constructor or declared type.
    fn is_local_listener_value(&self, cx: &Context<'_>, e: &Expr) -> bool {
        if let Some(path) = cx.callee(e) {
            return self.local_listener_ctors.contains(&path) || self.clock_streams.contains(&path);
        }
        let declared = if let Some(name) = ident_of(e) {
            cx.binding(&name).and_then(|b| b.ty)
        } else {
            self_field(e).and_then(|f| cx.self_field_type(&f))
        };
        declared
            .and_then(|t| cx.type_path(t))
            .is_some_and(|p| self.local_listeners.contains(&p))
    }

    /// Whether a stream adaptor's chain starts at a clock (`IntervalStream::new(interval(..))`).
    fn driven_by_clock(&self, cx: &Context<'_>, m: &ExprMethodCall) -> bool {
        self.made_by(cx, &m.receiver, range_of_method(m), 0, &|this, cx, e| {
            cx.callee(e)
                .is_some_and(|p| this.clock_streams.contains(&p))
        })
    }

    /// Whether a counter compared with a maximum caps the spawns of the loop: an `if` whose
    /// condition compares an atomic's `load()` (or a local made by one) or an integer the loop
    /// counts with `+=`/`-=`/`fetch_add`, and whose branch always leaves: before the spawn, with
    /// `continue`, `break` or `return`; after it, with `break` or `return` only; or that has the
    /// spawn in one of its branches.
    fn counter_caps(&self, loop_expr: &Expr, spawn: &Range<usize>) -> bool {
        let body = match loop_expr {
            Expr::ForLoop(f) => &f.body,
            Expr::While(w) => &w.body,
            Expr::Loop(l) => &l.body,
            _ => return false,
        };
        let mut counted = HashSet::new();
        for_each_expr(loop_expr, true, &mut |e| match e {
            Expr::Binary(b) if matches!(b.op, BinOp::AddAssign(_) | BinOp::SubAssign(_)) => {
                counted.extend(place_name(&b.left));
            }
            Expr::MethodCall(m) if self.counter_updates.iter().any(|u| m.method == u) => {
                counted.extend(place_name(&m.receiver));
            }
            _ => {}
        });
        // An atomic's value counts only against a maximum (`>=`, `<`..): `state.load(..) == STOPPED`
        // is a state check. A number the loop itself counts may also be run down to `== 0`.
        let is_counter = |e: &Expr, equality: bool| {
            let e = peel_operand(e);
            let loaded = |e: &Expr| matches!(peel(e), Expr::MethodCall(m) if m.method == "load");
            if loaded(e) {
                return !equality;
            }
            let Some(name) = place_name(e) else {
                return false;
            };
            counted.contains(&name)
                || (!equality && binding_init_before(body, &name, spawn.start).is_some_and(loaded))
        };
        let mut caps = false;
        for_each_expr(loop_expr, true, &mut |e| {
            let Expr::If(i) = e else { return };
            if caps || !compares(&i.cond, &is_counter) {
                return;
            }
            let r = range_of(e);
            caps = if r.end <= spawn.start {
                block_leaves(&i.then_branch)
            } else if r.start >= spawn.end {
                i.then_branch
                    .stmts
                    .iter()
                    .any(|s| matches!(s, syn::Stmt::Expr(Expr::Break(_) | Expr::Return(_), _)))
            } else {
                // The spawn is in a branch: the comparison decides whether it runs.
                range_of(&i.cond).end <= spawn.start
            };
        });
        caps
    }

    /// Whether the loop limits what it spawns: a permit, a `len()` check, `join_next()`, `ready()`,
    /// outside any spawned task (a permit taken inside the task limits nothing) and on the way to
    /// the spawn: one in another arm of a `select!` (a sibling arm reaping finished tasks) runs
    /// only when that arm wins, so it gates nothing the spawn's arm does.
    fn loop_is_limited(&self, loop_expr: &Expr, spawn: &Range<usize>) -> bool {
        let body = match loop_expr {
            Expr::ForLoop(f) => &f.body,
            Expr::While(w) => &w.body,
            Expr::Loop(l) => &l.body,
            _ => return false,
        };
        let arms: Vec<Range<usize>> = select_arms(body)
            .iter()
            .map(|a| range_of(a.future).start..a.handler.end)
            .collect();
        let holds_spawn = |arm: &Range<usize>| arm.start <= spawn.start && spawn.end <= arm.end;
        // A spawn after a `select!` that waited for a permit is gated by that arm.
        let sibling_arms: Vec<Range<usize>> = if arms.iter().any(holds_spawn) {
            arms.into_iter().filter(|a| !holds_spawn(a)).collect()
        } else {
            Vec::new()
        };
        // A `len()` limits only when compared (`if set.len() >= MAX`): one that is logged or
        // exported as a gauge gates nothing.
        let mut compared = HashSet::new();
        for_each_expr(loop_expr, true, &mut |e| {
            if let Expr::Binary(b) = e {
                if matches!(
                    b.op,
                    BinOp::Lt(_)
                        | BinOp::Le(_)
                        | BinOp::Gt(_)
                        | BinOp::Ge(_)
                        | BinOp::Eq(_)
                        | BinOp::Ne(_)
                ) {
                    for side in [&*b.left, &*b.right] {
                        match peel_operand(side) {
                            Expr::MethodCall(m) => {
                                compared.insert(range_of_method(m));
                            }
                            // `let n = set.len(); if n >= MAX { .. }`: the `len()` that made `n`.
                            operand => {
                                let inits = ident_of(operand)
                                    .map(|name| super::syntax::binding_inits(body, &name))
                                    .unwrap_or_default();
                                for init in inits {
                                    if let Expr::MethodCall(m) = peel_operand(init) {
                                        compared.insert(range_of_method(m));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
        let mut limited = false;
        for_each_expr(loop_expr, true, &mut |e| {
            if let Expr::MethodCall(m) = e {
                let at = range_of_method(m);
                limited |= self.limit_methods.iter().any(|l| m.method == l)
                    && (m.method != "len" || compared.contains(&at))
                    && !sibling_arms.iter().any(|arm| arm.contains(&at));
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

    /// The source that feeds `expr` one item at a time in its innermost loop, when nothing in
    /// the loop limits how many of what `expr` starts run at once.
    fn unlimited_feed<'ast>(&self, cx: &Context<'ast>, expr: &Expr) -> Option<&'ast Expr> {
        let loop_expr = cx.loops().next()?;
        let spawn = range_of(expr);
        let source = self.feeding_source(loop_expr, &spawn)?;
        if self.loop_is_limited(loop_expr, &spawn)
            || Self::awaited_in_loop(cx, loop_expr, expr)
            || self.counter_caps(loop_expr, &spawn)
        {
            return None;
        }
        if self.source_is_local(cx, source) {
            return None; // a Unix-domain socket's peers are local processes; a clock's items come at its pace
        }
        Some(source)
    }

    /// A call, in a loop fed by an outside source, to a function of the crate that spawns per
    /// call (decided by the join): reported at the call, where the limit is missing.
    fn check_spawning_call<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        let Some(loop_expr) = cx.loops().next() else {
            return;
        };
        // Cheap test first, once per loop: most loops accept no connections.
        let key = loop_expr as *const Expr as usize;
        let accepts = {
            let seen = cx.cached(ID, |_| {
                std::cell::RefCell::new(std::collections::HashMap::<usize, bool>::new())
            });
            let known = seen.borrow().get(&key).copied();
            match known {
                Some(a) => a,
                None => {
                    let mut a = false;
                    for_each_expr(loop_expr, true, &mut |e| {
                        if let Expr::MethodCall(m) = e {
                            a |= self.connection_sources.iter().any(|s| m.method == s);
                        }
                    });
                    seen.borrow_mut().insert(key, a);
                    a
                }
            }
        };
        if !accepts {
            return;
        }
        let Some(callee) = cx.local_callee(expr) else {
            return;
        };
        // Inside a task the loop spawns itself, the call is covered by that spawn's finding.
        if cx.ancestors().any(|a| self.spawn_kind(cx, a).is_some()) {
            return;
        }
        let Some(source) = self.unlimited_feed(cx, expr) else {
            return;
        };
        // On real code, message loops that call a spawning helper were in-process work queues
        // (bounded by their producers); connection loops were not.
        let Expr::MethodCall(m) = peel(source) else {
            return;
        };
        if !self.connection_sources.iter().any(|s| m.method == s) {
            return;
        }
        let source = range_of(source);
        let what = written(expr);
        let range = match expr {
            Expr::MethodCall(m) => cx.method_call_range(m),
            _ => cx.range(expr),
        };
        cx.report_candidate(
            RawFinding {
                rule: ID,
                range,
                message: format!("`{what}` starts a task per incoming item (the function spawns one each time it is called) and nothing caps how many run at once: a burst of items becomes as many live tasks"),
                help: "acquire a permit before the call (`semaphore.clone().acquire_owned().await`) and move it into the spawned task, or wait on a `JoinSet` while `len()` is at a maximum".to_owned(),
                labels: vec![(
                    source,
                    "items arrive here, as fast as peers send them".to_owned(),
                )],
                fix: None,
            },
            Condition::CalleeSpawns { callee },
            "the task is spawned here, once per call",
        );
    }

    fn check_spawn<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr, kind: Spawn) {
        // A function that spawns whenever it is called: a caller's loop is what needs the limit.
        if !matches!(kind, Spawn::FutureSet) && cx.loops_through_closures().next().is_none() {
            let range = cx.range(expr);
            cx.record_fact(FactKind::Spawns, range);
        }
        let Some(source) = self.unlimited_feed(cx, expr) else {
            return;
        };
        let source = range_of(source);
        let what = written(expr);
        let (message, help) = match kind {
            Spawn::Task => (
                format!("`{what}` starts one task per incoming item and nothing caps how many run at once: a burst of items becomes as many live tasks, each holding its memory and sockets until it ends"),
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
        // The generic helps name tokio's tools; a spawner of another runtime has its own.
        let help = self
            .texts
            .help(cx.callee(expr).as_deref(), &what)
            .unwrap_or(help);
        cx.report(RawFinding {
            rule: ID,
            range: cx.range(expr),
            message,
            help,
            labels: vec![(
                source,
                "items arrive here, as fast as peers send them".to_owned(),
            )],
            fix: None,
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
        let judged =
            self.buffer_methods.contains(&method) || self.optional_limit_methods.contains(&method);
        if judged && self.driven_by_clock(cx, m) {
            return; // one item per tick: the program sets the pace, not its peers
        }
        if self.buffer_methods.contains(&method) {
            if const_value(cx, arg) == Some(USIZE_MAX) {
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!("`.{method}(usize::MAX)` puts no limit on how many futures run at once"),
                    help: format!("pass the real concurrency limit: `.{method}(n)` with `n` sized to what the downstream can take"),
                    labels: Vec::new(),
                    fix: None,
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
                    fix: None,
                });
            }
        }
    }
}

/// A `select!` arm inside a loop body: its future, the byte range of its handler, and whether the
/// handler always leaves the loop.
struct SelectArm<'ast> {
    future: &'ast Expr,
    handler: Range<usize>,
    leaves: bool,
}

/// The arms of every `select!` in `body` (outside closures and async blocks). The expanded macro
/// is a block of `let <pat> = <future>;` statements, each followed by its handler.
fn select_arms<'ast>(body: &'ast syn::Block) -> Vec<SelectArm<'ast>> {
    let mut arms = Vec::new();
    let mut visit = |e: &'ast Expr| {
        let Expr::Block(b) = e else { return };
        let is_select = origin(&b.attrs).is_some_and(|p| {
            p.segments
                .last()
                .is_some_and(|s| s.ident == "select" || s.ident == "select_biased")
        });
        if is_select {
            arms.extend(arms_of(&b.block));
        }
    };
    for stmt in &body.stmts {
        visit_stmt_exprs(stmt, &mut visit);
    }
    arms
}

fn arms_of(block: &syn::Block) -> Vec<SelectArm<'_>> {
    fn finish<'ast>(arm: Option<(&'ast Expr, Vec<&'ast Expr>)>, arms: &mut Vec<SelectArm<'ast>>) {
        let Some((future, handlers)) = arm else {
            return;
        };
        let (Some(first), Some(last)) = (handlers.first(), handlers.last()) else {
            return;
        };
        arms.push(SelectArm {
            future,
            handler: range_of(first).start..range_of(last).end,
            leaves: always_leaves(last),
        });
    }
    let mut arms = Vec::new();
    let mut current: Option<(&Expr, Vec<&Expr>)> = None;
    for stmt in &block.stmts {
        match stmt {
            syn::Stmt::Local(l) => {
                finish(current.take(), &mut arms);
                current = l.init.as_ref().map(|i| (&*i.expr, Vec::new()));
            }
            syn::Stmt::Expr(e, _) => {
                if let Some((_, handlers)) = &mut current {
                    handlers.push(e);
                }
            }
            _ => {}
        }
    }
    finish(current.take(), &mut arms);
    arms
}

/// Whether evaluating `e` always leaves the current iteration (`break`, `continue`, `return`, a
/// panic), through blocks, `if`/`else` and `match`.
fn always_leaves(e: &Expr) -> bool {
    match e {
        Expr::Break(_) | Expr::Continue(_) | Expr::Return(_) => true,
        Expr::Paren(p) => always_leaves(&p.expr),
        Expr::Group(g) => always_leaves(&g.expr),
        Expr::Block(b) => block_leaves(&b.block),
        Expr::Unsafe(b) => block_leaves(&b.block),
        Expr::If(i) => {
            block_leaves(&i.then_branch)
                && i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| always_leaves(e))
        }
        Expr::Match(m) => !m.arms.is_empty() && m.arms.iter().all(|a| always_leaves(&a.body)),
        Expr::Macro(m) => is_panic_macro(&m.mac),
        _ => false,
    }
}

fn block_leaves(b: &syn::Block) -> bool {
    b.stmts.iter().any(|s| match s {
        syn::Stmt::Expr(e, _) => always_leaves(e),
        syn::Stmt::Macro(m) => is_panic_macro(&m.mac),
        _ => false,
    })
}

fn is_panic_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        )
    })
}

/// A local name or `self.<field>`, as a key: `n`, `self.n`.
fn place_name(e: &Expr) -> Option<String> {
    let e = peel_operand(e);
    ident_of(e).or_else(|| self_field(e).map(|f| format!("self.{f}")))
}

/// An operand without parentheses, casts, derefs and references.
fn peel_operand(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Cast(c) => &c.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            _ => return e,
        };
    }
}

/// Whether a condition compares (`<`, `<=`, `>`, `>=`, or `==`, the flag passed to `is_counter`)
/// something `is_counter` accepts, looking through `&&`/`||`.
fn compares(cond: &Expr, is_counter: &dyn Fn(&Expr, bool) -> bool) -> bool {
    match peel_operand(cond) {
        Expr::Binary(b) => match b.op {
            BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) => {
                is_counter(&b.left, false) || is_counter(&b.right, false)
            }
            BinOp::Eq(_) => is_counter(&b.left, true) || is_counter(&b.right, true),
            BinOp::And(_) | BinOp::Or(_) => {
                compares(&b.left, is_counter) || compares(&b.right, is_counter)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Where a method call starts, for "before" comparisons.
fn range_of_method(m: &ExprMethodCall) -> usize {
    syn::spanned::Spanned::span(&m.method).byte_range().start
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

fn visit_stmt_exprs<'ast>(stmt: &'ast syn::Stmt, f: &mut dyn FnMut(&'ast Expr)) {
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

    fn candidate_context(&self, kind: &FactKind) -> Vec<String> {
        match kind {
            FactKind::Spawns => self.connection_sources.clone(),
            _ => Vec::new(),
        }
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if let Some(kind) = self.spawn_kind(cx, expr) {
            self.check_spawn(cx, expr, kind);
            return;
        }
        if matches!(expr, Expr::Call(_) | Expr::MethodCall(_)) && cx.loops().next().is_some() {
            self.check_spawning_call(cx, expr);
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
                        fix: None,
                    });
                }
            }
            _ => {}
        }
    }
}
