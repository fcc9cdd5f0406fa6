//! What a rule sees while the checker walks a file: path resolution at the current position, the
//! enclosing functions and loops, local bindings, the file's items, and a sink for findings.
use std::collections::HashMap;
use std::ops::Range;

use syn::spanned::Spanned;
use syn::{Expr, Type};

use super::resolve::{Resolved, Resolver, Scope};
use super::summary::{Condition, FactKind, Pending, Place, RawCallSite, RawSummary};

/// A finding as a rule reports it: byte ranges into the file, not yet lines and columns.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub rule: &'static str,
    pub range: Range<usize>,
    pub message: String,
    pub help: String,
    pub labels: Vec<(Range<usize>, String)>,
    /// A mechanical remedy (see [`RawFinding::with_fix`]).
    pub fix: Option<RawFix>,
}

impl RawFinding {
    /// Attaches a fix. Rules offer one only where the rewrite is certainly valid Rust for the
    /// spelling they saw; the engine drops it inside a macro body (the macro decides what its
    /// tokens mean).
    pub fn with_fix(mut self, fix: RawFix) -> RawFinding {
        self.fix = Some(fix);
        self
    }
}

pub use crate::diag::Applicability;

/// A fix as a rule builds it: byte ranges into the file, and the imports it needs.
#[derive(Debug, Clone)]
pub struct RawFix {
    pub message: String,
    pub applicability: Applicability,
    pub edits: Vec<(Range<usize>, String)>,
    /// `use` paths the edits rely on (`std::time::Duration`): the engine adds each once, at the
    /// top of the file after its `use` items.
    pub imports: Vec<String>,
}

impl RawFix {
    pub fn new(applicability: Applicability, message: impl Into<String>) -> RawFix {
        RawFix {
            message: message.into(),
            applicability,
            edits: Vec::new(),
            imports: Vec::new(),
        }
    }

    pub fn edit(mut self, range: Range<usize>, replacement: impl Into<String>) -> RawFix {
        self.edits.push((range, replacement.into()));
        self
    }

    pub fn import(mut self, path: impl Into<String>) -> RawFix {
        self.imports.push(path.into());
        self
    }
}

/// A finding as the engine keeps it: what the rule reported and how far its evidence reaches.
/// Kept apart from [`RawFinding`] so that rules build their findings the same way whatever their
/// confidence, and say `medium` with [`Context::report_medium`].
#[derive(Debug, Clone)]
pub struct Reported {
    pub finding: RawFinding,
    /// `Some(where the evidence stops)` for a medium-confidence finding; `None` for high.
    pub medium_reason: Option<String>,
    /// A candidate: the finding stands only if the join of the crate's summaries says so.
    pub condition: Option<Pending>,
}

impl Reported {
    /// A finding whose evidence is all visible.
    pub fn high(finding: RawFinding) -> Reported {
        Reported {
            finding,
            medium_reason: None,
            condition: None,
        }
    }
}

/// Where a local name came from.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'ast> {
    /// The initializer of its `let`, if any.
    pub init: Option<&'ast Expr>,
    /// The declared type (`let x: T`, a parameter's type).
    pub ty: Option<&'ast Type>,
    /// The position in a tuple pattern: `let (tx, rx) = ..` gives tx 0 and rx 1.
    pub tuple_index: Option<usize>,
    /// Bound `mut`: a later assignment may change it.
    pub mutable: bool,
}

/// An enclosing function (or method, or trait default method).
pub struct FnFrame<'ast> {
    pub body: &'ast syn::Block,
    pub sig: &'ast syn::Signature,
    /// The `Self` type's last segment when inside an `impl`.
    pub self_type: Option<String>,
    /// The `impl` block the function belongs to, if any.
    pub owner: Option<&'ast syn::ItemImpl>,
    pub bindings: HashMap<String, Binding<'ast>>,
    /// `loops.len()` when the function was entered: loops below belong to an outer function.
    pub loop_base: usize,
    /// Its key in the summaries (see [`super::summary`]).
    pub key: String,
}

/// An enclosing loop, or a barrier where a closure or async block starts a new body.
#[derive(Clone, Copy)]
pub enum LoopFrame<'ast> {
    Loop(&'ast Expr),
    Barrier,
}

/// Item definitions of the whole file that rules look up by name.
#[derive(Default)]
pub struct FileItems<'ast> {
    /// Struct name → its named fields and their types.
    pub struct_fields: HashMap<String, Vec<(String, &'ast Type)>>,
    /// `const`/`static` name → (type, value).
    pub consts: HashMap<String, (&'ast Type, &'ast Expr)>,
}

pub struct Context<'ast> {
    pub(super) resolver: Resolver<'ast>,
    pub(super) module: usize,
    pub(super) blocks: Vec<Scope>,
    pub(super) fns: Vec<FnFrame<'ast>>,
    pub(super) loops: Vec<LoopFrame<'ast>>,
    pub(super) findings: Vec<Reported>,
    pub items: FileItems<'ast>,
    /// The whole (macro-expanded) file, for the rare rule that must look beyond the current function.
    pub file: &'ast syn::File,
    /// The text the file was parsed from (spans index into it), for fixes that keep what was written.
    pub(super) text: &'ast str,
    /// The expressions enclosing the one being checked, outermost first.
    pub(super) ancestors: Vec<&'ast Expr>,
    /// Per-file facts a rule computed once (keyed by rule id).
    pub(super) cache: HashMap<&'static str, Box<dyn std::any::Any>>,
    /// The last call resolved by [`Context::callee`], by address: most rules ask for the callee of
    /// the expression being checked, so one entry saves a resolution per rule.
    pub(super) last_callee: std::cell::RefCell<Option<(usize, Option<String>)>>,
    /// Where the file sits in its crate (for the keys of the summaries).
    pub(super) place: &'ast Place,
    pub(super) summary: RawSummary,
}

impl<'ast> Context<'ast> {
    /// Resolves a path written at the current position to a canonical external path.
    pub fn resolve(&self, path: &syn::Path) -> Option<String> {
        match self.resolver.resolve(self.module, &self.blocks, path) {
            Resolved::External(p) => Some(p),
            Resolved::Local | Resolved::Unknown => None,
        }
    }

    /// The canonical path of a call's function: `a::b(..)` → `Some("a::b")`.
    pub fn callee(&self, expr: &Expr) -> Option<String> {
        let Expr::Call(call) = expr else { return None };
        let Expr::Path(p) = &*call.func else {
            return None;
        };
        if p.qself.is_some() {
            return None;
        }
        let key = expr as *const Expr as usize;
        if let Some((k, path)) = &*self.last_callee.borrow() {
            if *k == key {
                return path.clone();
            }
        }
        let path = self.resolve(&p.path);
        *self.last_callee.borrow_mut() = Some((key, path.clone()));
        path
    }

    /// The canonical path of a type's outer name: `Arc<Mutex<T>>` → `std::sync::Arc`.
    pub fn type_path(&self, ty: &Type) -> Option<String> {
        match ty {
            Type::Path(p) if p.qself.is_none() => self.resolve(&p.path),
            Type::Reference(r) => self.type_path(&r.elem),
            Type::Paren(p) => self.type_path(&p.elem),
            Type::Group(g) => self.type_path(&g.elem),
            _ => None,
        }
    }

    /// The keys the crate's own function that `expr` calls may have, most precise first: a path
    /// call resolved to the crate's module tree (`net::dial`, or a method `<Conn>::dial` when the
    /// path ends in a type), a method call on `self` or on a field of `self` of known type
    /// (`<Conn>::dial`), or on a receiver of unknown type (`<?>::dial`). `None` for calls that
    /// leave the crate.
    pub fn local_callee(&self, expr: &Expr) -> Option<Vec<String>> {
        match expr {
            Expr::Call(call) => {
                let Expr::Path(p) = &*call.func else {
                    return None;
                };
                if p.qself.is_some() {
                    return None;
                }
                self.local_fn_keys(&p.path)
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                let receiver = peel_receiver(&m.receiver);
                let self_type = self.fns.last().and_then(|f| f.self_type.as_ref());
                let ty = match receiver {
                    Expr::Path(p) if p.path.is_ident("self") => self_type.cloned(),
                    Expr::Field(f) => match (&*f.base, &f.member) {
                        (Expr::Path(b), syn::Member::Named(field)) if b.path.is_ident("self") => {
                            self.self_field_type(&field.to_string()).and_then(type_name)
                        }
                        _ => None,
                    },
                    // A local or parameter declared with one of the unit's own types
                    // (`stats: &Stats`); any other declared type may be a wrapper or a trait.
                    Expr::Path(p) => p
                        .path
                        .get_ident()
                        .and_then(|i| self.binding(&i.to_string()))
                        .and_then(|b| b.ty)
                        .and_then(type_name)
                        .filter(|ty| {
                            self.place
                                .fn_names
                                .as_ref()
                                .is_some_and(|names| names.contains(ty))
                        }),
                    _ => None,
                };
                // A receiver of known type calls that type's method (an outside type's, when the
                // crate defines none: then nothing of the crate); only an unknown one may be any.
                Some(vec![match ty {
                    Some(ty) => format!("<{ty}>::{name}"),
                    None => format!("<?>::{name}"),
                }])
            }
            _ => None,
        }
    }

    /// The file's module path in its crate (for the keys of the summaries).
    pub fn module_path(&self) -> &[String] {
        &self.place.module
    }

    /// The summary key of the innermost enclosing function.
    pub fn fn_key(&self) -> Option<&str> {
        self.fns.last().map(|f| f.key.as_str())
    }

    /// Records what the current function does for callers in other files (at `range`).
    pub fn record_fact(&mut self, kind: FactKind, range: Range<usize>) {
        if range.end <= range.start {
            return;
        }
        if let Some(key) = self.fns.last().map(|f| f.key.clone()) {
            if !self
                .summary
                .facts
                .iter()
                .any(|(k, f, _)| *k == key && *f == kind)
            {
                self.summary.facts.push((key, kind, range));
            }
        }
    }

    /// Records a fact of the function `key` of the unit (not the current one: a router
    /// registering it as a handler), at `range`.
    pub fn record_fact_for(&mut self, key: String, kind: FactKind, range: Range<usize>) {
        if range.end <= range.start {
            return;
        }
        if !self
            .summary
            .facts
            .iter()
            .any(|(k, f, _)| *k == key && *f == kind)
        {
            self.summary.facts.push((key, kind, range));
        }
    }

    /// Whether the current position is inside a closure or an async block of the innermost
    /// function.
    pub fn in_closure(&self) -> bool {
        let base = self.fns.last().map_or(0, |f| f.loop_base);
        self.loops
            .get(base..)
            .is_some_and(|l| l.iter().any(|f| matches!(f, LoopFrame::Barrier)))
    }

    /// The keys of the crate's own function a path names (`login::view`, `Self::view`), most
    /// precise first, as for a call of it ([`Context::local_callee`]).
    pub fn local_fn_keys(&self, path: &syn::Path) -> Option<Vec<String>> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() == 2 && segs[0] == "Self" {
            let ty = self.fns.last()?.self_type.as_ref()?;
            return Some(vec![format!("<{ty}>::{}", segs[1])]);
        }
        let local = self
            .resolver
            .local_path(self.module, &self.blocks, path, &self.place.module);
        if let (None, Some((lib, unit))) = (&local, &self.place.foreign) {
            // A call into another workspace member's library, which the join of that member
            // reads this file for: keyed as that member's function.
            let foreign = self.resolve(path).and_then(|resolved| {
                let rest = resolved.strip_prefix(lib.as_str())?.strip_prefix("::")?;
                let parts: Vec<&str> = rest.split("::").collect();
                let mut keys = vec![super::summary::foreign_key(unit, rest)];
                if let [.., ty, name] = parts.as_slice() {
                    let method = format!("<{ty}>::{name}");
                    keys.push(super::summary::foreign_key(unit, &method));
                }
                Some(keys)
            });
            if foreign.is_some() {
                return foreign;
            }
        }
        let local = local.or_else(|| {
            // A binary's path into its package's library.
            let lib = self.place.lib_name.as_ref()?;
            let resolved = self.resolve(path)?;
            let mut parts = resolved.split("::");
            (parts.next() == Some(lib.as_str()))
                .then(|| parts.map(str::to_owned).collect::<Vec<_>>())
        })?;
        if local.is_empty() {
            return None;
        }
        let mut keys = vec![local.join("::")];
        if let [.., ty, name] = local.as_slice() {
            keys.push(format!("<{ty}>::{name}"));
        }
        Some(keys)
    }

    pub(super) fn record_call(&mut self, site: RawCallSite) {
        // A synthetic node (from macro expansion) has no place in the file.
        if site.range.end > site.range.start {
            self.summary.calls.push(site);
        }
    }

    /// Reports a finding that stands only if `condition` holds once every file of the crate
    /// was read. It is resolved (levels, suppressions) like any other finding. `evidence` is the
    /// message of the label the join puts where the other file shows why (a caller, a spawn).
    pub fn report_candidate(
        &mut self,
        finding: RawFinding,
        condition: Condition,
        evidence: impl Into<String>,
    ) {
        self.push(Reported {
            finding,
            medium_reason: None,
            condition: Some(Pending {
                condition,
                evidence: evidence.into(),
            }),
        });
    }

    /// Like [`Context::report_candidate`], for a finding of medium confidence.
    pub fn report_medium_candidate(
        &mut self,
        finding: RawFinding,
        reason: impl Into<String>,
        condition: Condition,
        evidence: impl Into<String>,
    ) {
        self.push(Reported {
            finding,
            medium_reason: Some(reason.into()),
            condition: Some(Pending {
                condition,
                evidence: evidence.into(),
            }),
        });
    }

    /// The innermost enclosing function.
    pub fn current_fn(&self) -> Option<&FnFrame<'ast>> {
        self.fns.last()
    }

    /// Enclosing loops of the current body, innermost first; stops at a closure or async block.
    pub fn loops(&self) -> impl Iterator<Item = &'ast Expr> + '_ {
        let base = self.fns.last().map_or(0, |f| f.loop_base);
        self.loops[base..].iter().rev().map_while(|f| match f {
            LoopFrame::Loop(e) => Some(*e),
            LoopFrame::Barrier => None,
        })
    }

    /// Enclosing loops of the current function, innermost first, looking through closures and async blocks.
    pub fn loops_through_closures(&self) -> impl Iterator<Item = &'ast Expr> + '_ {
        let base = self.fns.last().map_or(0, |f| f.loop_base);
        self.loops[base..].iter().rev().filter_map(|f| match f {
            LoopFrame::Loop(e) => Some(*e),
            LoopFrame::Barrier => None,
        })
    }

    /// The binding of a local name in the current function.
    pub fn binding(&self, name: &str) -> Option<&Binding<'ast>> {
        self.fns.last()?.bindings.get(name)
    }

    /// For a local name: whether its declared type satisfies `typed` or its initializer satisfies
    /// `made` (rules recurse through `made` to follow `let a = ..; let b = f(a);`).
    pub fn local_is(
        &self,
        expr: &Expr,
        typed: impl FnOnce(&'ast Type) -> bool,
        made: impl FnOnce(&'ast Expr) -> bool,
    ) -> bool {
        let name = match expr {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident(),
            _ => None,
        };
        let Some(b) = name.and_then(|n| self.binding(&n.to_string())).copied() else {
            return false;
        };
        b.ty.is_some_and(typed) || b.init.is_some_and(made)
    }

    /// The type of `self.<field>` in the current impl.
    pub fn self_field_type(&self, field: &str) -> Option<&'ast Type> {
        let self_type = self.fns.last()?.self_type.as_ref()?;
        let fields = self.items.struct_fields.get(self_type)?;
        fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, ty)| *ty)
    }

    /// The expressions enclosing the current one, innermost first (within the whole file).
    pub fn ancestors(&self) -> impl Iterator<Item = &'ast Expr> + '_ {
        self.ancestors.iter().rev().copied()
    }

    /// A per-file fact of rule `key`, computed by `make` the first time it is asked for.
    pub fn cached<T: 'static>(&mut self, key: &'static str, make: impl FnOnce(&Self) -> T) -> &T {
        if !self.cache.contains_key(key) {
            let value = make(self);
            self.cache.insert(key, Box::new(value));
        }
        self.cache[key]
            .downcast_ref::<T>()
            .unwrap_or_else(|| panic!("rule cache `{key}` holds another type"))
    }

    /// The major version of a dependency of this file's crate, from its Cargo.toml (`0.x` gives 0).
    pub fn crate_version_major(&self, package: &str) -> Option<u64> {
        let req = self.resolver.crate_info.version_of(package)?;
        let digits: String = req
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// The source text of a node as written (`None` for a node made by macro expansion).
    pub fn source_of(&self, node: &impl Spanned) -> Option<&'ast str> {
        let range = node.span().byte_range();
        if range.is_empty() {
            return None;
        }
        self.text.get(range)
    }

    /// Whether the node being checked sits in a macro's body (made visible by expansion).
    pub fn in_macro(&self) -> bool {
        self.ancestors.iter().any(|e| match e {
            Expr::Block(b) => super::macros::origin(&b.attrs).is_some(),
            _ => false,
        })
    }

    /// Whether `path` written at the current position names `canonical` (so a fix can write
    /// the short name), for a type the fix spells such as `Duration`.
    pub fn names(&self, written: &str, canonical: &str) -> bool {
        syn::parse_str::<syn::Path>(written)
            .ok()
            .and_then(|p| self.resolve(&p))
            .is_some_and(|p| p == canonical)
    }

    /// How a fix at the current position should spell the type `canonical` (`std::time::Duration`),
    /// and the import that makes the short name work, if one is needed: the short name when it
    /// already names that type here, the short name plus an import at the top of the file when
    /// the position is in the file's top module and the name is used nowhere in the file, else
    /// the full path.
    pub fn spell_type(&self, canonical: &str) -> (String, Option<String>) {
        let short = canonical.rsplit("::").next().unwrap_or(canonical);
        if self.names(short, canonical) {
            return (short.to_owned(), None);
        }
        let mentioned = self.text.match_indices(short).any(|(i, _)| {
            let before = self.text[..i].chars().next_back();
            let after = self.text[i + short.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        });
        if self.module == 0 && !mentioned {
            (short.to_owned(), Some(canonical.to_owned()))
        } else {
            (canonical.to_owned(), None)
        }
    }

    /// Whether a fix may write a path starting with the crate `key`: the package's manifest has
    /// it as a dependency that is neither optional nor only for tests or build scripts, or the
    /// file belongs to no manifest we read (then nothing says it may not).
    pub fn may_use_crate(&self, key: &str) -> bool {
        let info = self.resolver.crate_info;
        info.root.is_none() || info.always_built.contains_key(key)
    }

    /// Like [`Context::may_use_crate`], and the manifest turns on one of `features` for it (other
    /// packages may turn them on too, but only this manifest's are certain).
    pub fn may_use_crate_feature(&self, key: &str, features: &[&str]) -> bool {
        let info = self.resolver.crate_info;
        info.root.is_none()
            || info
                .always_built
                .get(key)
                .is_some_and(|on| on.iter().any(|f| features.contains(&f.as_str())))
    }

    /// The byte range of a node in the file.
    pub fn range(&self, node: &impl Spanned) -> Range<usize> {
        node.span().byte_range()
    }

    /// A method call from its method name to its closing parenthesis: `.bytes()` in a long chain,
    /// not the whole chain before it.
    pub fn method_call_range(&self, m: &syn::ExprMethodCall) -> Range<usize> {
        m.method.span().byte_range().start..m.paren_token.span.close().byte_range().end
    }

    /// Reports a finding of `rule` at `node` with no secondary labels.
    pub fn report_at(
        &mut self,
        rule: &'static str,
        node: &impl Spanned,
        message: String,
        help: impl Into<String>,
    ) {
        let range = self.range(node);
        self.report_range(rule, range, message, help);
    }

    /// Reports a finding of `rule` at a method call's name and arguments.
    pub fn report_method(
        &mut self,
        rule: &'static str,
        m: &syn::ExprMethodCall,
        message: String,
        help: impl Into<String>,
    ) {
        let range = self.method_call_range(m);
        self.report_range(rule, range, message, help);
    }

    /// Reports a finding of `rule` at a byte range with no secondary labels.
    pub fn report_range(
        &mut self,
        rule: &'static str,
        range: Range<usize>,
        message: String,
        help: impl Into<String>,
    ) {
        self.report(RawFinding {
            rule,
            range,
            message,
            help: help.into(),
            labels: Vec::new(),
            fix: None,
        });
    }

    /// Reports a finding whose evidence is visible (high confidence).
    pub fn report(&mut self, finding: RawFinding) {
        self.push(Reported::high(finding));
    }

    /// Reports a finding whose evidence stops at something opaque (medium confidence); `reason`
    /// says where, completing "medium confidence: ..." (e.g. "the inner service is a type
    /// parameter: it waits only if the service it is instantiated with does").
    pub fn report_medium(&mut self, finding: RawFinding, reason: impl Into<String>) {
        self.push(Reported {
            finding,
            medium_reason: Some(reason.into()),
            condition: None,
        });
    }

    fn push(&mut self, mut reported: Reported) {
        // A synthetic node (from macro expansion) has no place in the file: never report there.
        if reported.finding.range.end <= reported.finding.range.start {
            return;
        }
        if reported.finding.fix.is_some() && self.in_macro() {
            reported.finding.fix = None;
        }
        self.findings.push(reported);
    }
}

/// The last segment of a type's path, through references and `Arc<..>`-like wrappers' arguments
/// left alone: `Conn` for `Conn`, `&Conn` and `crate::net::Conn`.
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

/// A receiver without parentheses and references: `(&self.conn)` → `self.conn`.
fn peel_receiver(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            _ => return e,
        };
    }
}
