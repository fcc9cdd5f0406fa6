//! `collect-then-send`: an async stream, channel or body gathered whole into a buffer, then sent,
//! written or turned into a response in one piece.
use std::collections::HashSet;
use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Stmt};

use super::syntax::{ident_of, peel};
use super::{name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "collect-then-send";

pub struct CollectThenSend {
    pulls: Vec<String>,
    pushes: Vec<String>,
    flushes: Vec<String>,
    collectors: Vec<String>,
    sinks: Vec<String>,
    response_ctors: Vec<String>,
    /// Response wrappers by canonical path (`axum::Json`), and their last segment for wrappers
    /// the resolver cannot place (the crate's own, a glob import's).
    response_wrappers: HashSet<String>,
    response_methods: Vec<String>,
    /// Words of a method name that transfer its argument (`put`, `send_batch`, `upload_part`).
    transfer_verbs: Vec<String>,
    in_memory_sources: Vec<String>,
    /// Adapters that run a future per item (`then`), and those that run several at once.
    per_item_futures: Vec<String>,
    concurrent_buffers: Vec<String>,
    /// Methods that keep a buffer whole (`freeze`, `clone`) and encoders that turn it into
    /// another buffer (`serde_json::to_vec`).
    whole_conversions: Vec<String>,
    encoders: Vec<String>,
}

impl CollectThenSend {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        CollectThenSend {
            pulls: name_list(doc, "stream-pulls"),
            pushes: name_list(doc, "buffer-pushes"),
            flushes: name_list(doc, "buffer-flushes"),
            collectors: name_list(doc, "stream-collectors"),
            sinks: name_list(doc, "sink-methods"),
            response_ctors: name_list(doc, "response-constructors"),
            response_wrappers: super::api_map(doc, "response-wrappers")
                .into_keys()
                .collect(),
            response_methods: name_list(doc, "response-methods"),
            transfer_verbs: name_list(doc, "transfer-verbs"),
            in_memory_sources: name_list(doc, "in-memory-sources"),
            per_item_futures: name_list(doc, "per-item-futures"),
            concurrent_buffers: name_list(doc, "concurrent-buffers"),
            whole_conversions: name_list(doc, "whole-conversions"),
            encoders: name_list(doc, "encoders"),
        }
    }

    /// `while let Some(x) = s.next().await`: the awaited pull in a loop's condition.
    fn pulled_source<'e>(&self, cond: &'e Expr) -> Option<&'e syn::ExprMethodCall> {
        let Expr::Let(l) = cond else { return None };
        if !contains_await(&l.expr) {
            return None;
        }
        match peel(&l.expr) {
            Expr::MethodCall(m) if self.pulls.iter().any(|p| m.method == p) => Some(m),
            _ => None,
        }
    }

    /// The first use of `buffer` in `stmts` that sends, writes or responds with it whole, also
    /// through a buffer derived from it in one step (`let body = serde_json::to_vec(&items)?`).
    fn sent_whole(&self, cx: &Context<'_>, stmts: &[Stmt], buffer: &str) -> Option<Range<usize>> {
        let mut names = vec![buffer.to_owned()];
        for stmt in stmts {
            if let Stmt::Local(local) = stmt {
                let derived = local
                    .init
                    .as_ref()
                    .is_some_and(|i| self.derives(&i.expr, buffer));
                if let (true, syn::Pat::Ident(p)) =
                    (derived, super::syntax::strip_pat_type(&local.pat))
                {
                    names.push(p.ident.to_string());
                }
            }
        }
        struct Sink<'r, 'c, 'ast> {
            rule: &'r CollectThenSend,
            cx: &'c Context<'ast>,
            names: &'r [String],
            found: Option<Range<usize>>,
        }
        impl<'ast> Visit<'ast> for Sink<'_, '_, 'ast> {
            fn visit_expr(&mut self, e: &'ast Expr) {
                if self.found.is_some() {
                    return;
                }
                let rule = self.rule;
                let names = self.names;
                let mentioned = |a: &Expr| names.iter().any(|n| mentions(a, n));
                let whole = |a: &Expr| names.iter().any(|n| rule.is_whole(a, n));
                let hit = match e {
                    Expr::MethodCall(m) if rule.sinks.iter().any(|s| m.method == s) => m
                        .args
                        .iter()
                        .any(mentioned)
                        .then(|| m.method.span().byte_range().start..e.span().byte_range().end),
                    // `(headers, text).into_response()`.
                    Expr::MethodCall(m)
                        if rule.response_methods.iter().any(|r| m.method == r)
                            && match peel(&m.receiver) {
                                Expr::Tuple(t) => t.elems.iter().any(whole),
                                r => whole(r),
                            } =>
                    {
                        Some(e.span().byte_range())
                    }
                    // `store.put(key, records).await`: handed whole to another receiver's
                    // awaited method that transfers it (not `self`'s own, which processes it in
                    // place, nor one that takes it as a query: `batch_delete(&keys)`).
                    Expr::Await(a) => match peel_parens(&a.base) {
                        Expr::MethodCall(m)
                            if !rule.sinks.iter().any(|s| m.method == s)
                                && rule.transfers(&m.method)
                                && !is_self(&m.receiver)
                                && !mentioned(&m.receiver)
                                && m.args.iter().any(whole) =>
                        {
                            Some(m.method.span().byte_range().start..e.span().byte_range().end)
                        }
                        _ => None,
                    },
                    Expr::Call(c) => {
                        let Expr::Path(p) = &*c.func else {
                            return visit::visit_expr(self, e);
                        };
                        let written: Vec<String> = crate::rules::syntax::segment_names(&p.path);
                        let tail = written[written.len().saturating_sub(2)..].join("::");
                        let ctor =
                            rule.response_ctors.contains(&tail) && c.args.iter().any(mentioned);
                        // `Json(rows)`, `Ok(Json(rows))`: a response wrapper around the buffer.
                        let wrapper = c.args.len() == 1
                            && c.args.iter().any(whole)
                            && match self.cx.resolve(&p.path) {
                                Some(path) => rule.response_wrappers.contains(&path),
                                None => written.len() == 1 && written[0] == "Json",
                            };
                        (ctor || wrapper).then(|| e.span().byte_range())
                    }
                    _ => None,
                };
                if hit.is_some() {
                    self.found = hit;
                    return;
                }
                visit::visit_expr(self, e);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut sink = Sink {
            rule: self,
            cx,
            names: &names,
            found: None,
        };
        for stmt in stmts {
            sink.visit_stmt(stmt);
        }
        sink.found
    }

    /// Whether a method's name says it transfers its argument: one of its `_`-separated words
    /// is a transfer verb (`put`, `send_batch`, `upload_part`, `publish_all`).
    fn transfers(&self, method: &syn::Ident) -> bool {
        let name = method.to_string();
        name.split('_')
            .any(|word| self.transfer_verbs.iter().any(|v| v == word))
    }

    /// Whether `e` is the buffer `name` whole: `buf`, `&buf`, `buf.clone()`, `buf.freeze()`,
    /// `&buf[..]`, `Bytes::from(buf)`.
    fn is_whole(&self, e: &Expr, name: &str) -> bool {
        match e {
            Expr::Paren(p) => self.is_whole(&p.expr, name),
            Expr::Group(g) => self.is_whole(&g.expr, name),
            Expr::Reference(r) => self.is_whole(&r.expr, name),
            Expr::Try(t) => self.is_whole(&t.expr, name),
            Expr::Path(p) => p.qself.is_none() && p.path.is_ident(name),
            Expr::Index(i) => {
                matches!(&*i.index, Expr::Range(r) if r.start.is_none() && r.end.is_none())
                    && self.is_whole(&i.expr, name)
            }
            Expr::MethodCall(m) => {
                m.args.is_empty()
                    && self.whole_conversions.iter().any(|c| m.method == c)
                    && self.is_whole(&m.receiver, name)
            }
            // `Bytes::from(buf)`, `String::from_utf8(buf)`: the same bytes in another type.
            Expr::Call(c) => {
                c.args.len() == 1
                    && matches!(&*c.func, Expr::Path(p) if p.path.segments.len() >= 2
                        && p.path.segments.last().is_some_and(|s| s.ident == "from" || s.ident == "from_utf8" || s.ident == "new"))
                    && c.args.iter().all(|a| self.is_whole(a, name))
            }
            _ => false,
        }
    }

    /// Whether `init` is a buffer derived from `name` in one step: the buffer whole, or encoded
    /// (`serde_json::to_vec(&items)?`, `bincode::serialize(&items)`).
    fn derives(&self, init: &Expr, name: &str) -> bool {
        if self.is_whole(init, name) {
            return true;
        }
        match peel(init) {
            Expr::Call(c) => {
                matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| self.encoders.iter().any(|e| s.ident == e)))
                    && c.args.iter().any(|a| self.is_whole(a, name))
            }
            _ => false,
        }
    }

    fn check_loop<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr, w: &'ast syn::ExprWhile) {
        let Some(pull) = self.pulled_source(&w.cond) else {
            return;
        };
        // Buffers declared outside the loop that the loop pushes into.
        let mut pushes: Vec<(String, Range<usize>)> = Vec::new();
        let mut declared_inside = Vec::new();
        let mut flushed = Vec::new();
        let mut comparisons: Vec<&Expr> = Vec::new();
        let mut counters = Vec::new();
        let mut forwarded_inside = false;
        walk_block(
            &w.body,
            &mut |e| match e {
                Expr::MethodCall(m) => {
                    let method = m.method.to_string();
                    if let Some(buf) = ident_of(peel(&m.receiver)) {
                        if self.pushes.contains(&method) {
                            pushes.push((buf.clone(), cx.method_call_range(m)));
                        } else if self.flushes.contains(&method) {
                            flushed.push(buf.clone());
                        }
                    }
                    if self.sinks.contains(&method) {
                        forwarded_inside = true;
                    }
                }
                Expr::Call(c) => {
                    // `std::mem::take(&mut buf)` / `replace` hands the batch on and starts a new one.
                    let takes = matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "take" || s.ident == "replace"));
                    if takes {
                        flushed.extend(c.args.first().and_then(|a| ident_of(peel(a))));
                    }
                }
                Expr::Binary(b) => {
                    if matches!(
                        b.op,
                        BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_)
                    ) {
                        comparisons.extend([&*b.left, &*b.right]);
                    }
                    if matches!(b.op, BinOp::AddAssign(_)) {
                        counters.extend(ident_of(&b.left));
                    }
                }
                _ => {}
            },
            &mut |local| {
                if let syn::Pat::Ident(p) = &local.pat {
                    declared_inside.push(p.ident.to_string());
                }
            },
        );
        // A size check in the loop (a length or a byte counter compared with a limit) bounds it.
        let size_checked = comparisons
            .iter()
            .any(|side| calls_len(side) || counters.iter().any(|c| mentions(side, c)));
        if size_checked || forwarded_inside {
            return;
        }
        let Some((buffer, push_range)) = pushes
            .into_iter()
            .find(|(b, _)| !declared_inside.contains(b) && !flushed.contains(b))
        else {
            return;
        };
        let Some(send_range) = self.after_loop(cx, expr, &buffer) else {
            return;
        };
        let source = pull.method.to_string();
        let header = w.while_token.span.byte_range().start..w.cond.span().byte_range().end;
        cx.report(RawFinding {
            rule: ID,
            range: header,
            message: format!("every item of this `.{source}().await` loop is gathered in `{buffer}` and sent only after the loop ends: memory grows with the whole stream, and nothing reaches the consumer until it is over"),
            help: format!("forward each item inside the loop, or batch with a bound: flush `{buffer}` and clear it when it reaches N items or bytes (or `StreamExt::chunks(n)` / `ready_chunks(n)`)"),
            labels: vec![
                (push_range, format!("each item is added to `{buffer}` here")),
                (send_range, "and sent in one piece here".to_owned()),
            ],
            fix: None,
        });
    }

    /// The sink use of `buffer` after the statement holding `expr` in the enclosing function body.
    fn after_loop(&self, cx: &Context<'_>, expr: &Expr, buffer: &str) -> Option<Range<usize>> {
        let body = cx.current_fn()?.body;
        let target = expr.span().byte_range();
        let stmts = statements_after(body, &target)?;
        self.sent_whole(cx, stmts, buffer)
    }

    /// `let all = s.collect::<Vec<_>>().await;` then `tx.send(all)`: a whole stream gathered.
    fn check_collect<'ast>(&self, cx: &mut Context<'ast>, m: &'ast syn::ExprMethodCall) {
        if !m.args.is_empty() || !self.collectors.iter().any(|c| m.method == c) {
            return;
        }
        // Awaited: a stream, not an iterator. Not a body's `collect().await?.to_bytes()` (whole-body-read).
        let Some(first) = cx.ancestors().next() else {
            return;
        };
        if !matches!(first, Expr::Await(_)) {
            return;
        }
        let mut top: &Expr = first;
        for a in cx.ancestors().skip(1) {
            match a {
                Expr::Try(_) | Expr::Paren(_) => top = a,
                Expr::MethodCall(outer)
                    if outer.method == "to_bytes" || outer.method == "aggregate" =>
                {
                    return
                }
                Expr::MethodCall(outer)
                    if matches!(outer.method.to_string().as_str(), "unwrap" | "expect") =>
                {
                    top = a
                }
                _ => break,
            }
        }
        if self.bounded_chain(&m.receiver) {
            return;
        }
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return;
        };
        let Some(local) = super::syntax::let_binding_of(body, top) else {
            return;
        };
        let syn::Pat::Ident(name) = super::syntax::strip_pat_type(&local.pat) else {
            return;
        };
        let name = name.ident.to_string();
        let Some(stmts) = statements_after(body, &local.span().byte_range()) else {
            return;
        };
        let Some(send_range) = self.sent_whole(cx, stmts, &name) else {
            return;
        };
        let method = m.method.to_string();
        cx.report(RawFinding {
            rule: ID,
            range: cx.method_call_range(m),
            message: format!("`.{method}().await` gathers the whole stream into `{name}`, which is then sent in one piece: memory grows with the stream, and nothing reaches the consumer until it ends"),
            help: "forward items as they arrive (`forward`, `send_all`, a loop that sends each), or batch with a bound (`chunks(n)`, `ready_chunks(n)`), or `take(n)` if the stream must be gathered".to_owned(),
            labels: vec![(send_range, "sent in one piece here".to_owned())],
            fix: None,
        });
    }

    /// A chain with `take(n)` (bounded), or rooted at an in-memory source (`stream::iter(vec)`)
    /// with no future run per item on the way (`.then(fetch)`, `.buffer_unordered(n)`: the
    /// results come from elsewhere, and are gathered whole).
    fn bounded_chain(&self, e: &Expr) -> bool {
        let mut e = e;
        let mut fetches = false;
        loop {
            e = match e {
                Expr::MethodCall(m) if m.method == "take" => return true,
                Expr::MethodCall(m) => {
                    fetches |= self.concurrent_buffers.iter().any(|b| m.method == b)
                        || (self.per_item_futures.iter().any(|f| m.method == f)
                            && m.args.first().is_some_and(runs_a_future));
                    &m.receiver
                }
                Expr::Paren(p) => &p.expr,
                Expr::Call(c) => {
                    return !fetches
                        && matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| self.in_memory_sources.iter().any(|i| s.ident == i)));
                }
                _ => return false,
            };
        }
    }
}

/// Whether a per-item adapter's argument runs real work: a named function (`.then(fetch)`), or a
/// closure that awaits (`.then(|id| async move { db.load(id).await })`).
fn runs_a_future(arg: &Expr) -> bool {
    struct Awaits {
        found: bool,
    }
    impl<'ast> Visit<'ast> for Awaits {
        fn visit_expr_await(&mut self, _: &'ast syn::ExprAwait) {
            self.found = true;
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    match arg {
        Expr::Path(_) => true,
        Expr::Closure(c) => {
            let mut awaits = Awaits { found: false };
            awaits.visit_expr(&c.body);
            awaits.found
        }
        _ => false,
    }
}

fn peel_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn is_self(e: &Expr) -> bool {
    matches!(peel_parens(e), Expr::Path(p) if p.path.is_ident("self"))
}

fn contains_await(e: &Expr) -> bool {
    match e {
        Expr::Await(_) => true,
        Expr::Try(t) => contains_await(&t.expr),
        Expr::Paren(p) => contains_await(&p.expr),
        Expr::MethodCall(m) => contains_await(&m.receiver),
        _ => false,
    }
}

/// Whether `e` calls `.len()` (a size check: `buf.len() >= MAX`).
fn calls_len(e: &Expr) -> bool {
    struct Find {
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            self.found |= m.method == "len";
            visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find { found: false };
    find.visit_expr(e);
    find.found
}

/// Whether `e` mentions the local `name` (`buf`, `&buf`, `buf.freeze()`, `Bytes::from(buf)`).
fn mentions(e: &Expr, name: &str) -> bool {
    struct Find<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            self.found |= p.path.is_ident(self.name);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find { name, found: false };
    find.visit_expr(e);
    find.found
}

/// Walks a loop body's expressions (not into nested items), and reports its `let`s.
fn walk_block<'ast>(
    block: &'ast syn::Block,
    on_expr: &mut dyn FnMut(&'ast Expr),
    on_local: &mut dyn FnMut(&'ast syn::Local),
) {
    struct Walk<'f, 'ast> {
        on_expr: &'f mut dyn FnMut(&'ast Expr),
        on_local: &'f mut dyn FnMut(&'ast syn::Local),
    }
    impl<'ast> Visit<'ast> for Walk<'_, 'ast> {
        fn visit_expr(&mut self, e: &'ast Expr) {
            (self.on_expr)(e);
            visit::visit_expr(self, e);
        }
        fn visit_local(&mut self, l: &'ast syn::Local) {
            (self.on_local)(l);
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    Walk { on_expr, on_local }.visit_block(block);
}

/// The statements that follow the statement containing `target` in the innermost block that holds
/// it directly.
fn statements_after<'b>(body: &'b syn::Block, target: &Range<usize>) -> Option<&'b [Stmt]> {
    struct Find<'t, 'b> {
        target: &'t Range<usize>,
        found: Option<&'b [Stmt]>,
    }
    impl<'b> Visit<'b> for Find<'_, 'b> {
        fn visit_block(&mut self, block: &'b syn::Block) {
            // Spans cannot prune the search: blocks made by macro expansion have none.
            for (i, stmt) in block.stmts.iter().enumerate() {
                if self.found.is_some() {
                    return;
                }
                if stmt_is(stmt, self.target) {
                    self.found = Some(&block.stmts[i + 1..]);
                    return;
                }
                visit::visit_stmt(self, stmt);
            }
        }
        fn visit_item(&mut self, _: &'b syn::Item) {}
    }
    fn stmt_is(stmt: &Stmt, target: &Range<usize>) -> bool {
        match stmt {
            Stmt::Expr(e, _) => e.span().byte_range() == *target,
            Stmt::Local(l) => l.span().byte_range() == *target,
            _ => false,
        }
    }
    let mut find = Find {
        target,
        found: None,
    };
    find.visit_block(body);
    find.found
}

impl Rule for CollectThenSend {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        match expr {
            Expr::While(w) => self.check_loop(cx, expr, w),
            Expr::MethodCall(m) => self.check_collect(cx, m),
            _ => {}
        }
    }
}
