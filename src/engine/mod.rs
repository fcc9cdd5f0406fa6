//! The engine: one parse per file, macro bodies expanded, then one traversal that offers every
//! node to every enabled rule with the context it needs. Rules return findings; nothing here prints.
pub mod context;
pub mod macros;
pub mod prefilter;
pub mod resolve;
pub mod routers;
pub mod serving;
pub mod summary;
pub mod test_code;

use std::borrow::Cow;
use std::collections::HashMap;

use syn::visit::{self, Visit};
use syn::{Expr, Item, Pat, Type};

use crate::diag::NotAnalysed;
use crate::guard;
use crate::manifest::CrateInfo;
pub use context::{
    Applicability, Binding, Context, FileItems, FnFrame, LoopFrame, RawFinding, RawFix, Reported,
};
use resolve::{KnownPaths, ModuleTree, Resolver, Scope};

/// A rule: hooks called by the one traversal. Each hook has an empty default.
pub trait Rule: Send + Sync {
    fn id(&self) -> &'static str;
    /// Every expression, before its children.
    fn check_expr<'ast>(&self, _cx: &mut Context<'ast>, _expr: &'ast Expr) {}
    /// Every statement in a block, before its children.
    fn check_stmt<'ast>(&self, _cx: &mut Context<'ast>, _stmt: &'ast syn::Stmt) {}
    /// Every function body, after its children were walked; `cx.current_fn()` is that function,
    /// with all its bindings.
    fn check_fn<'ast>(&self, _cx: &mut Context<'ast>) {}
    /// Every `impl` block.
    fn check_impl<'ast>(&self, _cx: &mut Context<'ast>, _item: &'ast syn::ItemImpl) {}
    /// Every `struct` item.
    fn check_struct<'ast>(&self, _cx: &mut Context<'ast>, _item: &'ast syn::ItemStruct) {}
    /// Whether a timeout this rule knows bounds `call`, a call to one of the crate's own
    /// functions (recorded in the file's summary).
    fn bounds_call<'ast>(&self, _cx: &mut Context<'ast>, _call: &'ast Expr) -> bool {
        false
    }
    /// How often `call`, a call to one of the crate's own functions, runs where it is made, if
    /// this rule judges it (recorded in the file's summary for the rules that follow callers).
    fn call_pace<'ast>(
        &self,
        _cx: &mut Context<'ast>,
        _call: &'ast Expr,
    ) -> Option<summary::CallPace> {
        None
    }
    /// For a call to one of the crate's own functions, the arguments that visibly carry an
    /// address of this host or a parameter of the caller, if this rule follows addresses through
    /// callers (recorded in the file's summary; see [`summary::AddrShape`]).
    fn call_args<'ast>(
        &self,
        _cx: &mut Context<'ast>,
        _call: &'ast Expr,
    ) -> Option<Vec<(u16, summary::AddrShape)>> {
        None
    }
    /// For a fact this rule records, the words one of which a file must hold for a call to the
    /// function to be one of this rule's candidates there (the prefilter skipped the file: it is
    /// linted again only if it names such a function and one of these words).
    fn candidate_context(&self, _kind: &summary::FactKind) -> Vec<String> {
        Vec::new()
    }
}

/// A `#[cfg(test)] mod name;` declaration: the module's file is test code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestModule {
    pub name: String,
    /// The `#[path = ".."]` attribute, when present.
    pub path: Option<String>,
}

/// What one file's analysis produced.
#[derive(Debug, Default)]
pub struct FileAnalysis {
    /// Byte ranges are offsets into the file's original text.
    pub findings: Vec<Reported>,
    pub test_modules: Vec<TestModule>,
    /// The prefilter found no anchor word: the file was read but not parsed.
    pub prefiltered: bool,
    /// Byte ranges of the file's items (with attributes), collected only when the file has a
    /// suppression comment (an item-level suppression covers its item).
    pub item_ranges: Vec<std::ops::Range<usize>>,
    /// What the file's functions do for callers elsewhere, and its calls to the crate's own
    /// functions (empty when prefiltered).
    pub summary: summary::RawSummary,
}

/// The configured engine, shared by all worker threads.
pub struct Engine {
    pub rules: Vec<Box<dyn Rule>>,
    pub known: KnownPaths,
    pub include_tests: bool,
    /// Identifiers that make an unknown macro's body worth parsing.
    pub macro_words: std::collections::HashSet<String>,
    /// Files without any anchor word are not parsed; `None` analyses every file.
    pub prefilter: Option<prefilter::Prefilter>,
}

impl Engine {
    /// The words of every rule's [`Rule::candidate_context`] for `kind`.
    pub fn candidate_context(&self, kind: &summary::FactKind) -> Vec<String> {
        let mut words: Vec<String> = self
            .rules
            .iter()
            .flat_map(|r| r.candidate_context(kind))
            .collect();
        words.sort();
        words.dedup();
        words
    }

    /// Analyses one file's text. Never panics on any input a parser accepts or rejects; the caller
    /// still wraps this in `catch_unwind` so a rule bug costs one file, not the run.
    pub fn analyze(&self, text: &str, crate_info: &CrateInfo) -> Result<FileAnalysis, NotAnalysed> {
        self.analyze_at(text, crate_info, &summary::Place::default())
    }

    /// Like [`Engine::analyze`], for a file at `place` in its crate (the keys of its summary).
    pub fn analyze_at(
        &self,
        text: &str,
        crate_info: &CrateInfo,
        place: &summary::Place,
    ) -> Result<FileAnalysis, NotAnalysed> {
        if self
            .prefilter
            .as_ref()
            .is_some_and(|p| !p.may_fire_for(text, crate_info))
        {
            // No rule's anchor word appears: no rule can fire here.
            // Its `#[cfg(test)] mod x;` declarations still make x's file test code.
            return Ok(FileAnalysis {
                prefiltered: true,
                test_modules: test_code::declared_test_modules(text),
                ..Default::default()
            });
        }
        self.analyze_parsed_at(text, crate_info, place)
    }

    /// Like [`Engine::analyze`], but parses the file whatever the prefilter says (for a file named
    /// on the command line: a syntax error in it is reported, not skipped).
    pub fn analyze_parsed(
        &self,
        text: &str,
        crate_info: &CrateInfo,
    ) -> Result<FileAnalysis, NotAnalysed> {
        self.analyze_parsed_at(text, crate_info, &summary::Place::default())
    }

    /// Like [`Engine::analyze_parsed`], for a file at `place` in its crate.
    pub fn analyze_parsed_at(
        &self,
        text: &str,
        crate_info: &CrateInfo,
        place: &summary::Place,
    ) -> Result<FileAnalysis, NotAnalysed> {
        let result = self.analyze_inner(text, crate_info, place);
        // proc-macro2 keeps every parsed file's text per thread; release it (no span is alive now).
        proc_macro2::extra::invalidate_current_thread_spans();
        result
    }

    fn analyze_inner(
        &self,
        text: &str,
        crate_info: &CrateInfo,
        place: &summary::Place,
    ) -> Result<FileAnalysis, NotAnalysed> {
        let (offset, prepared) = prepare(text);
        guard::check(&prepared)?;
        let mut file = syn::parse_str::<syn::File>(&prepared).map_err(|e| {
            let start = e.span().start();
            NotAnalysed::Syntax {
                line: start.line as u32,
                column: start.column as u32 + 1,
                message: e.to_string(),
            }
        })?;
        // Before expansion: an item spliced from a macro has its place inside the invocation.
        let import_at = import_position(&file, &prepared);
        let wanted = |tokens: &proc_macro2::TokenStream| {
            macros::any_ident(tokens, &|w| self.macro_words.contains(w))
        };
        macros::expand(&mut file, &wanted);
        if let Some(big) = guard::oversized_function(&file) {
            return Err(NotAnalysed::FunctionTooLarge {
                line: big.line,
                calls: big.calls,
                expressions: big.expressions,
                limit: guard::FUNCTION_WORK_LIMIT,
            });
        }
        let tree = ModuleTree::build(&file.items);
        let mut items = FileItems::default();
        collect_items(&file.items, &mut items);
        let mut checker = Checker {
            cx: Context {
                resolver: Resolver {
                    tree: &tree,
                    crate_info,
                    known: &self.known,
                    budget: Default::default(),
                },
                module: 0,
                blocks: Vec::new(),
                fns: Vec::new(),
                loops: Vec::new(),
                findings: Vec::new(),
                items,
                file: &file,
                text: &prepared,
                ancestors: Vec::new(),
                cache: HashMap::new(),
                last_callee: Default::default(),
                place,
                summary: Default::default(),
            },
            rules: &self.rules,
            include_tests: self.include_tests,
            test_modules: Vec::new(),
            impl_self: None,
            current_impl: None,
        };
        checker.visit_file(&file);
        let item_ranges = if text.contains(crate::source::SUPPRESSION_MARKER) {
            item_ranges(&file, offset)
        } else {
            Vec::new()
        };
        let mut summary = std::mem::take(&mut checker.cx.summary);
        summary.shift(offset);
        let mut findings = checker.cx.findings;
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        for Reported { finding: f, .. } in &mut findings {
            f.range = f.range.start + offset..f.range.end + offset;
            for (range, _) in &mut f.labels {
                *range = range.start + offset..range.end + offset;
            }
            if let Some(fix) = &mut f.fix {
                for path in std::mem::take(&mut fix.imports) {
                    let (at, before, after) = import_at;
                    let line = format!(
                        "{}use {path};{newline}{}",
                        if before { newline } else { "" },
                        if after { newline } else { "" }
                    );
                    fix.edits.push((at..at, line));
                }
                for (range, _) in &mut fix.edits {
                    *range = range.start + offset..range.end + offset;
                }
                fix.edits.sort_by_key(|(r, _)| (r.start, r.end));
            }
        }
        Ok(FileAnalysis {
            findings,
            test_modules: checker.test_modules,
            prefiltered: false,
            item_ranges,
            summary,
        })
    }
}

/// Where a `use` line goes in the prepared text: the start of the line after the file's last
/// top-level `use` item, or before its first item when it has none. Returns (byte, whether a line
/// break must come first: the last `use` ends the file, whether a blank line must follow: no
/// `use` item, so the import stands before other code).
fn import_position(file: &syn::File, text: &str) -> (usize, bool, bool) {
    let span_of = |item: &Item| syn::spanned::Spanned::span(item).byte_range();
    let last_use = file
        .items
        .iter()
        .filter(|i| matches!(i, Item::Use(_)))
        .map(|i| span_of(i).end)
        .max();
    match last_use {
        Some(end) => match text.get(end..).and_then(|rest| rest.find('\n')) {
            Some(nl) => (end + nl + 1, false, false),
            None => (text.len(), true, false),
        },
        None => match file.items.first() {
            Some(first) => {
                let start = span_of(first).start;
                // At the start of the item's line, so that its indentation stays its own.
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let at = if text[line_start..start].trim().is_empty() {
                    line_start
                } else {
                    start
                };
                (at, false, true)
            }
            None => (text.len(), !text.is_empty() && !text.ends_with('\n'), false),
        },
    }
}

/// Strips a BOM and blanks a shebang line, keeping every other byte where it was.
/// Returns the byte offset of the prepared text in the original.
fn prepare(text: &str) -> (usize, Cow<'_, str>) {
    let (offset, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (3, rest),
        None => (0, text),
    };
    if body.starts_with("#!") && !body[2..].trim_start().starts_with('[') {
        let end = body.find('\n').unwrap_or(body.len());
        let mut owned = String::with_capacity(body.len());
        owned.extend(std::iter::repeat_n(' ', end));
        owned.push_str(&body[end..]);
        // Non-ASCII in the shebang changes byte lengths: pad so offsets after it still line up.
        while owned.len() < body.len() {
            owned.insert(end, ' ');
        }
        return (offset, Cow::Owned(owned));
    }
    (offset, Cow::Borrowed(body))
}

/// The byte ranges of every item and associated function, with their attributes.
fn item_ranges(file: &syn::File, offset: usize) -> Vec<std::ops::Range<usize>> {
    struct Items(Vec<std::ops::Range<usize>>, usize);
    impl<'ast> Visit<'ast> for Items {
        fn visit_item(&mut self, item: &'ast Item) {
            let r = syn::spanned::Spanned::span(item).byte_range();
            self.0.push(r.start + self.1..r.end + self.1);
            visit::visit_item(self, item);
        }
        fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
            let r = syn::spanned::Spanned::span(item).byte_range();
            self.0.push(r.start + self.1..r.end + self.1);
            visit::visit_impl_item(self, item);
        }
        fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
            let r = syn::spanned::Spanned::span(item).byte_range();
            self.0.push(r.start + self.1..r.end + self.1);
            visit::visit_trait_item(self, item);
        }
        fn visit_expr(&mut self, _: &'ast Expr) {}
    }
    let mut items = Items(Vec::new(), offset);
    items.visit_file(file);
    items.0
}

fn collect_items<'ast>(items: &'ast [Item], out: &mut FileItems<'ast>) {
    for item in items {
        match item {
            Item::Struct(s) => {
                let fields = s
                    .fields
                    .iter()
                    .filter_map(|f| Some((f.ident.as_ref()?.to_string(), &f.ty)))
                    .collect();
                out.struct_fields.insert(s.ident.to_string(), fields);
            }
            Item::Const(c) => {
                out.consts.insert(c.ident.to_string(), (&*c.ty, &*c.expr));
            }
            Item::Static(s) => {
                out.consts.insert(s.ident.to_string(), (&*s.ty, &*s.expr));
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    collect_items(items, out);
                }
            }
            Item::Impl(i) => {
                for ii in &i.items {
                    if let syn::ImplItem::Const(c) = ii {
                        out.consts.insert(c.ident.to_string(), (&c.ty, &c.expr));
                    }
                }
            }
            _ => {}
        }
    }
}

fn item_attrs(item: &Item) -> &[syn::Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn type_last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

struct Checker<'e, 'ast> {
    cx: Context<'ast>,
    rules: &'e [Box<dyn Rule>],
    include_tests: bool,
    test_modules: Vec<TestModule>,
    impl_self: Option<String>,
    current_impl: Option<&'ast syn::ItemImpl>,
}

impl<'ast> Checker<'_, 'ast> {
    fn skip_as_test(&self, attrs: &[syn::Attribute]) -> bool {
        !self.include_tests && test_code::is_test_item(attrs)
    }

    fn with_fn(
        &mut self,
        sig: &'ast syn::Signature,
        body: &'ast syn::Block,
        walk: impl FnOnce(&mut Self),
    ) {
        let mut bindings = HashMap::new();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                bind_pattern(&mut bindings, &pt.pat, None, Some(&pt.ty), None);
            }
        }
        let key = match (&self.impl_self, self.current_impl) {
            (Some(ty), Some(_)) => format!("<{ty}>::{}", sig.ident),
            _ => {
                let mut path = self.cx.place.module.clone();
                path.extend(self.cx.resolver.tree.inline_path(self.cx.module));
                path.push(sig.ident.to_string());
                path.join("::")
            }
        };
        self.cx.summary.functions.push(key.clone());
        self.cx.fns.push(FnFrame {
            body,
            sig,
            self_type: self.impl_self.clone(),
            owner: self.current_impl,
            bindings,
            loop_base: self.cx.loops.len(),
            key,
        });
        walk(self);
        for rule in self.rules {
            rule.check_fn(&mut self.cx);
        }
        self.cx.fns.pop();
    }
}

fn bind_pattern<'ast>(
    bindings: &mut HashMap<String, Binding<'ast>>,
    pat: &'ast Pat,
    init: Option<&'ast Expr>,
    ty: Option<&'ast Type>,
    tuple_index: Option<usize>,
) {
    match pat {
        Pat::Ident(p) => {
            bindings.insert(
                p.ident.to_string(),
                Binding {
                    init,
                    ty,
                    tuple_index,
                    mutable: p.mutability.is_some(),
                },
            );
        }
        Pat::Type(p) => bind_pattern(bindings, &p.pat, init, Some(&p.ty), tuple_index),
        Pat::Tuple(t) if tuple_index.is_none() => {
            for (i, elem) in t.elems.iter().enumerate() {
                bind_pattern(bindings, elem, init, None, Some(i));
            }
        }
        Pat::Reference(r) => bind_pattern(bindings, &r.pat, init, ty, tuple_index),
        Pat::Paren(p) => bind_pattern(bindings, &p.pat, init, ty, tuple_index),
        // `let Ok((stream, peer)) = listener.accept().await else { .. }` (and a `select!` arm's
        // `Ok(x) = fut`): the names inside are what `init` yields once unwrapped, as with `?`.
        Pat::TupleStruct(t)
            if t.elems.len() == 1
                && t.qself.is_none()
                && t.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Ok" || s.ident == "Some") =>
        {
            bind_pattern(bindings, &t.elems[0], init, None, tuple_index)
        }
        _ => {}
    }
}

impl<'ast> Visit<'ast> for Checker<'_, 'ast> {
    fn visit_item(&mut self, item: &'ast Item) {
        if self.skip_as_test(item_attrs(item)) {
            if let Item::Mod(m) = item {
                if m.content.is_none() {
                    let path = m
                        .attrs
                        .iter()
                        .find(|a| a.path().is_ident("path"))
                        .and_then(|a| match &a.meta {
                            syn::Meta::NameValue(nv) => match &nv.value {
                                Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(s),
                                    ..
                                }) => Some(s.value()),
                                _ => None,
                            },
                            _ => None,
                        });
                    self.test_modules.push(TestModule {
                        name: m.ident.to_string(),
                        path,
                    });
                }
            }
            return;
        }
        visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let Some((_, items)) = &m.content else { return };
        let child = self
            .cx
            .resolver
            .tree
            .child(self.cx.module, &m.ident.to_string());
        let target = child.unwrap_or(self.cx.module);
        let saved_module = std::mem::replace(&mut self.cx.module, target);
        let saved_blocks = std::mem::take(&mut self.cx.blocks);
        for item in items {
            self.visit_item(item);
        }
        self.cx.blocks = saved_blocks;
        self.cx.module = saved_module;
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // A fn item nested in a method does not belong to the method's impl.
        let saved_impl = self.current_impl.take();
        self.with_fn(&f.sig, &f.block, |this| visit::visit_item_fn(this, f));
        self.current_impl = saved_impl;
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        for rule in self.rules {
            rule.check_struct(&mut self.cx, s);
        }
        visit::visit_item_struct(self, s);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        for rule in self.rules {
            rule.check_impl(&mut self.cx, i);
        }
        let saved = std::mem::replace(&mut self.impl_self, type_last_ident(&i.self_ty));
        let saved_impl = self.current_impl.replace(i);
        visit::visit_item_impl(self, i);
        self.impl_self = saved;
        self.current_impl = saved_impl;
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Fn(f) => &f.attrs,
            syn::ImplItem::Const(c) => &c.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !self.skip_as_test(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.with_fn(&f.sig, &f.block, |this| visit::visit_impl_item_fn(this, f));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        match &f.default {
            Some(body) if !self.skip_as_test(&f.attrs) => {
                self.with_fn(&f.sig, body, |this| visit::visit_trait_item_fn(this, f))
            }
            _ => {}
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        match Scope::for_block(&block.stmts, self.cx.module) {
            Some(scope) => {
                self.cx.blocks.push(scope);
                visit::visit_block(self, block);
                self.cx.blocks.pop();
            }
            None => visit::visit_block(self, block),
        }
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        for rule in self.rules {
            rule.check_stmt(&mut self.cx, stmt);
        }
        visit::visit_stmt(self, stmt);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if self.skip_as_test(&local.attrs) {
            return;
        }
        visit::visit_local(self, local);
        let init = local.init.as_ref().map(|i| &*i.expr);
        if let Some(frame) = self.cx.fns.last_mut() {
            bind_pattern(&mut frame.bindings, &local.pat, init, None, None);
        }
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        for rule in self.rules {
            rule.check_expr(&mut self.cx, expr);
        }
        if let Expr::MethodCall(m) = expr {
            routers::note_chain(&mut self.cx, expr, m);
        }
        let defined = |m: &syn::ExprMethodCall| {
            self.cx
                .place
                .fn_names
                .as_ref()
                .is_none_or(|names| names.contains(&m.method.to_string()))
        };
        let recorded = match expr {
            Expr::MethodCall(m) => defined(m),
            _ => true,
        };
        if let Some(callee) = recorded.then(|| self.cx.local_callee(expr)).flatten() {
            let mut under_timeout = false;
            for rule in self.rules {
                under_timeout = under_timeout || rule.bounds_call(&mut self.cx, expr);
            }
            let range = match expr {
                Expr::MethodCall(m) => self.cx.method_call_range(m),
                _ => self.cx.range(expr),
            };
            let mut pace = None;
            for rule in self.rules {
                if pace.is_none() {
                    pace = rule.call_pace(&mut self.cx, expr);
                }
            }
            let mut args = None;
            for rule in self.rules {
                if args.is_none() {
                    args = rule.call_args(&mut self.cx, expr);
                }
            }
            let caller = self.cx.fn_key().map(str::to_owned);
            let detached = self.cx.in_closure();
            self.cx.record_call(summary::RawCallSite {
                caller,
                callee,
                under_timeout,
                detached,
                pace: pace.unwrap_or_default(),
                args: args.unwrap_or_default(),
                range,
            });
        }
        self.cx.ancestors.push(expr);
        match expr {
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.cx.loops.push(LoopFrame::Loop(expr));
                visit::visit_expr(self, expr);
                self.cx.loops.pop();
            }
            Expr::Closure(_) | Expr::Async(_) => {
                self.cx.loops.push(LoopFrame::Barrier);
                visit::visit_expr(self, expr);
                self.cx.loops.pop();
            }
            _ => visit::visit_expr(self, expr),
        }
        self.cx.ancestors.pop();
    }
}
