//! Path resolution: maps the names a file uses to canonical crate paths through its `use` items
//! (renames, groups, `self`, globs), nested and block-local modules and items, `extern crate` aliases,
//! the owning crate's Cargo.toml renames, its crate root's and workspace members' re-exports (from
//! the crate model) and the ecosystem's re-exports. Rules only ever see the result.
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;
use syn::{Item, UseTree};

use crate::manifest::CrateInfo;

#[derive(Deserialize)]
struct ReexportFile {
    rewrites: Vec<(String, String)>,
    prelude: Vec<(String, String)>,
}

struct Reexports {
    /// (from-prefix, to-prefix), longest prefix first.
    rewrites: Vec<(Vec<String>, Vec<String>)>,
    prelude: HashMap<String, Vec<String>>,
}

fn split(path: &str) -> Vec<String> {
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn reexports() -> &'static Reexports {
    static TABLE: OnceLock<Reexports> = OnceLock::new();
    TABLE.get_or_init(|| {
        let file: ReexportFile = toml::from_str(include_str!("reexports.toml"))
            .unwrap_or_else(|e| panic!("src/engine/reexports.toml is invalid: {e}"));
        let mut rewrites: Vec<_> = file
            .rewrites
            .iter()
            .map(|(a, b)| (split(a), split(b)))
            .collect();
        rewrites.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        let prelude = file
            .prelude
            .iter()
            .map(|(a, b)| (a.clone(), split(b)))
            .collect();
        Reexports { rewrites, prelude }
    })
}

/// Rewrites re-export spellings (`crossbeam::channel::x`) to their canonical path (`crossbeam_channel::x`).
pub fn canonicalize(mut segs: Vec<String>) -> Vec<String> {
    let table = reexports();
    // Bounded: a rewrite table with a cycle must not hang the run.
    for _ in 0..8 {
        let Some((from, to)) = table.rewrites.iter().find(|(from, to)| {
            segs.len() >= from.len() && segs[..from.len()] == from[..] && !segs.starts_with(to)
        }) else {
            break;
        };
        segs.splice(..from.len(), to.iter().cloned());
    }
    segs
}

/// Whether a canonical path can be reached through the prelude, with no crate name written
/// (`Vec::new` is `std::vec::Vec::new`).
pub fn via_prelude(segs: &[String]) -> bool {
    reexports()
        .prelude
        .values()
        .any(|target| segs.starts_with(target))
}

/// Every spelling of a canonical path that the re-export table rewrites onto it (the path itself
/// included): `crossbeam_channel::unbounded` is also written `crossbeam::channel::unbounded`.
pub fn spellings(path: &str) -> Vec<Vec<String>> {
    let canonical = split(path);
    let mut out = vec![canonical.clone()];
    let mut next = 0;
    // Bounded like `canonicalize`: a table with a cycle must not loop.
    while next < out.len() && out.len() < 64 {
        let segs = out[next].clone();
        next += 1;
        for (from, to) in &reexports().rewrites {
            if segs.len() >= to.len() && segs[..to.len()] == to[..] {
                let mut spelled = from.clone();
                spelled.extend_from_slice(&segs[to.len()..]);
                if !out.contains(&spelled) && canonicalize(spelled.clone()) == canonical {
                    out.push(spelled);
                }
            }
        }
    }
    out
}

/// Canonicalizes a path written as text (catalogue entries, user configuration).
pub fn canonical_str(path: &str) -> String {
    canonicalize(split(path)).join("::")
}

/// Every API path the catalogue names, and all their prefixes: a glob import is only followed
/// when it leads to one of these (we cannot know what else a glob brings into scope).
#[derive(Debug, Default)]
pub struct KnownPaths {
    paths: HashSet<String>,
}

impl KnownPaths {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = HashSet::new();
        for p in paths {
            let segs = split(&canonical_str(p));
            for i in 1..=segs.len() {
                set.insert(segs[..i].join("::"));
            }
        }
        KnownPaths { paths: set }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains(path)
    }
}

/// An import: the path as written, and the module it was written in (for `self::`/`super::`).
#[derive(Debug, Clone)]
struct Import {
    segs: Vec<String>,
    leading_colon: bool,
    module: usize,
}

/// The names one module or block brings into scope.
#[derive(Debug, Default)]
pub struct Scope {
    imports: HashMap<String, Import>,
    globs: Vec<Import>,
    /// Items defined here that are not modules (fn, struct, const, ...).
    locals: HashSet<String>,
    /// Modules defined here: inline ones with their index, `mod x;` with none.
    modules: HashMap<String, Option<usize>>,
}

impl Scope {
    /// A block's scope: the items among its statements. `module` is the enclosing module.
    pub fn for_block(stmts: &[syn::Stmt], module: usize) -> Option<Scope> {
        let mut scope = Scope::default();
        let mut any = false;
        for stmt in stmts {
            if let syn::Stmt::Item(item) = stmt {
                any = true;
                scope.add_item(item, module, &mut |_| None);
            }
        }
        any.then_some(scope)
    }

    /// Records `item`; `add_module` creates the child module for an inline `mod` and returns its index.
    fn add_item(
        &mut self,
        item: &Item,
        module: usize,
        add_module: &mut dyn FnMut(&syn::ItemMod) -> Option<usize>,
    ) {
        let name = match item {
            Item::Use(u) => {
                self.add_use(&u.tree, Vec::new(), u.leading_colon.is_some(), module);
                return;
            }
            Item::Mod(m) => {
                let idx = add_module(m);
                self.modules.insert(m.ident.to_string(), idx);
                return;
            }
            Item::Fn(f) => &f.sig.ident,
            Item::Struct(s) => &s.ident,
            Item::Enum(e) => &e.ident,
            Item::Union(u) => &u.ident,
            Item::Trait(t) => &t.ident,
            Item::TraitAlias(t) => &t.ident,
            Item::Type(t) => &t.ident,
            Item::Const(c) => &c.ident,
            Item::Static(s) => &s.ident,
            _ => return,
        };
        self.locals.insert(name.to_string());
    }

    fn add_use(
        &mut self,
        tree: &UseTree,
        mut prefix: Vec<String>,
        leading_colon: bool,
        module: usize,
    ) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use(&p.tree, prefix, leading_colon, module);
            }
            UseTree::Name(n) => {
                let ident = n.ident.to_string();
                let name = if ident == "self" {
                    match prefix.last() {
                        Some(last) => last.clone(),
                        None => return,
                    }
                } else {
                    prefix.push(ident.clone());
                    ident
                };
                self.imports.insert(
                    name,
                    Import {
                        segs: prefix,
                        leading_colon,
                        module,
                    },
                );
            }
            UseTree::Rename(r) => {
                let rename = r.rename.to_string();
                if rename == "_" {
                    return; // an anonymous trait import names nothing
                }
                if r.ident != "self" {
                    prefix.push(r.ident.to_string());
                }
                self.imports.insert(
                    rename,
                    Import {
                        segs: prefix,
                        leading_colon,
                        module,
                    },
                );
            }
            UseTree::Glob(_) => self.globs.push(Import {
                segs: prefix,
                leading_colon,
                module,
            }),
            UseTree::Group(g) => {
                for t in &g.items {
                    self.add_use(t, prefix.clone(), leading_colon, module);
                }
            }
        }
    }
}

#[derive(Debug)]
struct Module {
    scope: Scope,
    parent: Option<usize>,
    /// The inline module's name (empty for the file itself).
    name: String,
}

/// A file's module tree with each module's scope. Index 0 is the file itself.
#[derive(Debug)]
pub struct ModuleTree {
    modules: Vec<Module>,
    /// `extern crate foo as bar;`: bar -> foo.
    extern_aliases: HashMap<String, String>,
}

impl ModuleTree {
    pub fn build(items: &[Item]) -> ModuleTree {
        let mut tree = ModuleTree {
            modules: vec![Module {
                scope: Scope::default(),
                parent: None,
                name: String::new(),
            }],
            extern_aliases: HashMap::new(),
        };
        tree.collect(items, 0);
        tree
    }

    fn collect(&mut self, items: &[Item], module: usize) {
        let mut scope = Scope::default();
        for item in items {
            if let Item::ExternCrate(ec) = item {
                if let Some((_, alias)) = &ec.rename {
                    if ec.ident != "self" {
                        self.extern_aliases
                            .insert(alias.to_string(), ec.ident.to_string());
                    }
                }
                continue;
            }
            scope.add_item(item, module, &mut |m| {
                let (_, content) = m.content.as_ref()?;
                let idx = self.modules.len();
                self.modules.push(Module {
                    scope: Scope::default(),
                    parent: Some(module),
                    name: m.ident.to_string(),
                });
                self.collect(content, idx);
                Some(idx)
            });
        }
        self.modules[module].scope = scope;
    }

    /// The names of the inline modules from the file down to `module`.
    pub fn inline_path(&self, module: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = Some(module);
        // Bounded by the number of modules: parents always have smaller indices.
        for _ in 0..self.modules.len() {
            let Some(m) = at.and_then(|i| self.modules.get(i)) else {
                break;
            };
            if m.parent.is_none() {
                break;
            }
            out.push(m.name.clone());
            at = m.parent;
        }
        out.reverse();
        out
    }

    /// The index of inline module `name` inside `module`.
    pub fn child(&self, module: usize, name: &str) -> Option<usize> {
        self.modules
            .get(module)?
            .scope
            .modules
            .get(name)
            .copied()
            .flatten()
    }
}

/// The outcome of resolving a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A path into a dependency (or std), canonicalized.
    External(String),
    /// Something defined in this crate.
    Local,
    /// Could not tell (a cycle, `Self`, a path into an unknown place).
    Unknown,
}

/// Resolves paths for one file.
pub struct Resolver<'a> {
    pub tree: &'a ModuleTree,
    pub crate_info: &'a CrateInfo,
    pub known: &'a KnownPaths,
    /// Steps left for the current resolution: import chains and globs can branch, and no input
    /// may make resolution expensive.
    pub budget: std::cell::Cell<u32>,
}

/// Steps one resolution may take.
const STEP_BUDGET: u32 = 256;

const MAX_DEPTH: usize = 24;

/// How a path reached resolution: written in code, as an import's path, or as a glob's candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Path,
    /// An import's path: `use flume::{self}` must not resolve `flume` through itself.
    Import,
    /// A glob candidate: globs are not consulted again (exponential otherwise).
    Glob,
}

impl Resolver<'_> {
    /// Resolves a path written in `module`, inside the given block scopes (outermost first).
    pub fn resolve(&self, module: usize, blocks: &[Scope], path: &syn::Path) -> Resolved {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.is_empty() {
            return Resolved::Unknown;
        }
        self.budget.set(STEP_BUDGET);
        self.resolve_segments(
            module,
            blocks,
            segs,
            path.leading_colon.is_some(),
            0,
            Via::Path,
        )
    }

    /// Spends one step; false when the budget is gone.
    fn step(&self) -> bool {
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }

    fn resolve_segments(
        &self,
        module: usize,
        blocks: &[Scope],
        segs: Vec<String>,
        leading_colon: bool,
        depth: usize,
        via: Via,
    ) -> Resolved {
        if depth > MAX_DEPTH || segs.is_empty() || !self.step() {
            return Resolved::Unknown;
        }
        if leading_colon {
            return self.external(segs);
        }
        match segs[0].as_str() {
            "crate" => {
                // A name the crate root brings in (`use tokio::sync::mpsc;` in lib.rs, or
                // `pub use self::net::connect as dial;`) seen from any file of the crate.
                if let Some((from, to)) = self
                    .crate_info
                    .reexports
                    .iter()
                    .find(|(from, _)| segs.starts_with(from))
                {
                    let mut full = to.clone();
                    full.extend_from_slice(&segs[from.len()..]);
                    return self.resolve_segments(module, &[], full, false, depth + 1, via);
                }
                return self.resolve_in_module(0, &segs[1..], depth, via);
            }
            "self" => return self.resolve_in_module(module, &segs[1..], depth, via),
            "super" => {
                return match self.tree.modules.get(module).and_then(|m| m.parent) {
                    Some(parent) => self.resolve_in_module(parent, &segs[1..], depth, via),
                    None => Resolved::Unknown,
                }
            }
            "Self" => return Resolved::Local,
            _ => {}
        }
        for scope in blocks.iter().rev() {
            if let Some(r) = self.lookup(scope, &segs, depth, via) {
                return r;
            }
        }
        let Some(m) = self.tree.modules.get(module) else {
            return Resolved::Unknown;
        };
        if let Some(r) = self.lookup(&m.scope, &segs, depth, via) {
            return r;
        }
        if via != Via::Glob {
            let globs = blocks
                .iter()
                .rev()
                .flat_map(|b| &b.globs)
                .chain(&m.scope.globs);
            if let Some(r) = self.through_globs(globs, &segs, depth) {
                return r;
            }
        }
        if let Some(prelude) = reexports().prelude.get(&segs[0]) {
            let mut full = prelude.clone();
            full.extend_from_slice(&segs[1..]);
            return Resolved::External(canonicalize(full).join("::"));
        }
        // The extern prelude: the first segment names a crate.
        self.external(segs)
    }

    /// Looks `segs[0]` up among one scope's names.
    fn lookup(&self, scope: &Scope, segs: &[String], depth: usize, via: Via) -> Option<Resolved> {
        let first = &segs[0];
        if let Some(import) = scope.imports.get(first) {
            // An import's path starting with its own name (`use flume::{self}`) names the crate.
            let names_itself = via == Via::Import && import.segs.first() == Some(first);
            if !names_itself {
                let mut full = import.segs.clone();
                full.extend_from_slice(&segs[1..]);
                return Some(self.resolve_segments(
                    import.module,
                    &[],
                    full,
                    import.leading_colon,
                    depth + 1,
                    Via::Import,
                ));
            }
        }
        if let Some(module) = scope.modules.get(first) {
            return Some(match module {
                Some(idx) => self.resolve_in_module(*idx, &segs[1..], depth, via),
                None => Resolved::Local,
            });
        }
        scope.locals.contains(first).then_some(Resolved::Local)
    }

    /// A glob is followed only to a path the catalogue knows.
    fn through_globs<'g>(
        &self,
        globs: impl Iterator<Item = &'g Import>,
        segs: &[String],
        depth: usize,
    ) -> Option<Resolved> {
        for glob in globs {
            let mut full = glob.segs.clone();
            full.extend_from_slice(segs);
            if let Resolved::External(p) = self.resolve_segments(
                glob.module,
                &[],
                full,
                glob.leading_colon,
                depth + 1,
                Via::Glob,
            ) {
                if self.known.contains(&p) {
                    return Some(Resolved::External(p));
                }
            }
        }
        None
    }

    /// Resolves `rest` as a path relative to `module` (after `crate::`, `self::`, `super::`).
    fn resolve_in_module(
        &self,
        module: usize,
        rest: &[String],
        depth: usize,
        via: Via,
    ) -> Resolved {
        let Some(first) = rest.first() else {
            return Resolved::Local;
        };
        if depth > MAX_DEPTH || !self.step() {
            return Resolved::Unknown;
        }
        match first.as_str() {
            "self" => return self.resolve_in_module(module, &rest[1..], depth + 1, via),
            "super" => {
                return match self.tree.modules.get(module).and_then(|m| m.parent) {
                    Some(parent) => self.resolve_in_module(parent, &rest[1..], depth + 1, via),
                    None => Resolved::Unknown,
                }
            }
            _ => {}
        }
        let Some(m) = self.tree.modules.get(module) else {
            return Resolved::Unknown;
        };
        // A glob candidate never goes through another glob (exponential otherwise).
        let via = if via == Via::Glob {
            Via::Glob
        } else {
            Via::Path
        };
        if let Some(r) = self.lookup(&m.scope, rest, depth, via) {
            return r;
        }
        if via == Via::Glob {
            return Resolved::Local;
        }
        self.through_globs(m.scope.globs.iter(), rest, depth)
            .unwrap_or(Resolved::Local)
    }

    /// The path of a crate-local item that `path` (written in `module`, a module of the file whose
    /// module path in its crate is `file_module`) names, from the crate root (no `crate::`): `None`
    /// when it leads outside the crate or cannot be told (a glob import, `Self`).
    pub fn local_path(
        &self,
        module: usize,
        blocks: &[Scope],
        path: &syn::Path,
        file_module: &[String],
    ) -> Option<Vec<String>> {
        if path.leading_colon.is_some() {
            return None;
        }
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.budget.set(STEP_BUDGET);
        self.local_segments(module, blocks, segs, file_module, 0)
    }

    fn local_segments(
        &self,
        module: usize,
        blocks: &[Scope],
        segs: Vec<String>,
        file_module: &[String],
        depth: usize,
    ) -> Option<Vec<String>> {
        if depth > MAX_DEPTH || segs.is_empty() || !self.step() {
            return None;
        }
        let here = || {
            let mut m = file_module.to_vec();
            m.extend(self.tree.inline_path(module));
            m
        };
        match segs[0].as_str() {
            "crate" => {
                if let Some((from, to)) = self
                    .crate_info
                    .reexports
                    .iter()
                    .find(|(from, _)| segs.starts_with(from))
                {
                    if to.first().map(String::as_str) != Some("crate") {
                        return None;
                    }
                    let mut full = to.clone();
                    full.extend_from_slice(&segs[from.len()..]);
                    if full == segs {
                        return Some(segs[1..].to_vec());
                    }
                    return self.local_segments(module, &[], full, file_module, depth + 1);
                }
                return Some(segs[1..].to_vec());
            }
            "self" => {
                let mut out = here();
                out.extend_from_slice(&segs[1..]);
                return Some(out);
            }
            "super" => {
                let mut out = here();
                let mut rest = &segs[..];
                while rest.first().map(String::as_str) == Some("super") {
                    out.pop()?;
                    rest = &rest[1..];
                }
                out.extend_from_slice(rest);
                return Some(out);
            }
            "Self" => return None,
            _ => {}
        }
        let module_scope = self.tree.modules.get(module).map(|m| &m.scope);
        for scope in blocks.iter().rev().chain(module_scope) {
            if let Some(import) = scope.imports.get(&segs[0]) {
                if import.leading_colon
                    || import.segs.first() == Some(&segs[0]) && import.segs.len() == 1
                {
                    return None;
                }
                let mut full = import.segs.clone();
                full.extend_from_slice(&segs[1..]);
                return self.local_segments(import.module, &[], full, file_module, depth + 1);
            }
            if scope.modules.contains_key(&segs[0]) || scope.locals.contains(&segs[0]) {
                let mut out = here();
                out.extend(segs);
                return Some(out);
            }
        }
        None
    }

    fn external(&self, mut segs: Vec<String>) -> Resolved {
        // A workspace member's re-export of a dependency (`common::tokio::..`) is that dependency.
        if let Some((from, to)) = self
            .crate_info
            .reexports
            .iter()
            .find(|(from, _)| segs.starts_with(from))
        {
            segs.splice(..from.len(), to.iter().cloned());
            return Resolved::External(canonicalize(segs).join("::"));
        }
        if let Some(real) = self.tree.extern_aliases.get(&segs[0]) {
            segs[0] = real.clone();
        } else if let Some(real) = self.crate_info.renames.get(&segs[0]) {
            segs[0] = real.clone();
        }
        Resolved::External(canonicalize(segs).join("::"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(src: &str, path: &str) -> Resolved {
        resolve_with(src, path, &CrateInfo::default())
    }

    fn resolve_with(src: &str, path: &str, info: &CrateInfo) -> Resolved {
        let file = syn::parse_file(src).unwrap();
        let tree = ModuleTree::build(&file.items);
        let known = KnownPaths::new([
            "tokio::sync::mpsc::unbounded_channel",
            "crossbeam_channel::unbounded",
        ]);
        let resolver = Resolver {
            tree: &tree,
            crate_info: info,
            known: &known,
            budget: Default::default(),
        };
        resolver.resolve(0, &[], &syn::parse_str(path).unwrap())
    }

    fn ext(p: &str) -> Resolved {
        Resolved::External(p.to_owned())
    }

    #[test]
    fn use_items_aliases_groups_and_self() {
        assert_eq!(
            resolve("use tokio::sync::mpsc as m;", "m::unbounded_channel"),
            ext("tokio::sync::mpsc::unbounded_channel")
        );
        assert_eq!(
            resolve(
                "use tokio::sync::{mpsc::{self, unbounded_channel as uc}};",
                "uc"
            ),
            ext("tokio::sync::mpsc::unbounded_channel")
        );
        assert_eq!(
            resolve("use tokio::sync::{mpsc::{self}};", "mpsc::channel"),
            ext("tokio::sync::mpsc::channel")
        );
        assert_eq!(
            resolve("use std::sync::mpsc; use mpsc::channel as c;", "c"),
            ext("std::sync::mpsc::channel")
        );
    }

    #[test]
    fn globs_follow_only_known_paths() {
        assert_eq!(
            resolve("use tokio::sync::mpsc::*;", "unbounded_channel"),
            ext("tokio::sync::mpsc::unbounded_channel")
        );
        assert_eq!(
            resolve("use tokio::sync::*;", "mpsc::unbounded_channel"),
            ext("tokio::sync::mpsc::unbounded_channel")
        );
        assert_eq!(
            resolve("use foo::*;", "unbounded_channel"),
            ext("unbounded_channel")
        );
    }

    #[test]
    fn local_definitions_shadow_globs_and_crates() {
        assert_eq!(
            resolve(
                "use tokio::sync::mpsc::*; fn unbounded_channel() {}",
                "unbounded_channel"
            ),
            Resolved::Local
        );
        assert_eq!(
            resolve("mod flume { pub fn unbounded() {} }", "flume::unbounded"),
            Resolved::Local
        );
        assert_eq!(resolve("mod flume;", "flume::unbounded"), Resolved::Local);
        assert_eq!(resolve("", "flume::unbounded"), ext("flume::unbounded"));
    }

    #[test]
    fn crate_self_super_and_nested_modules() {
        let src = "mod a { pub use crossbeam::channel as ch; pub mod b { pub use super::ch::unbounded as u; } }";
        assert_eq!(resolve(src, "a::b::u"), ext("crossbeam_channel::unbounded"));
        assert_eq!(
            resolve(src, "crate::a::ch::unbounded"),
            ext("crossbeam_channel::unbounded")
        );
        assert_eq!(resolve(src, "self::a::b"), Resolved::Local);
    }

    #[test]
    fn extern_crate_and_cargo_renames() {
        assert_eq!(
            resolve("extern crate crossbeam_channel as cc;", "cc::unbounded"),
            ext("crossbeam_channel::unbounded")
        );
        let mut info = CrateInfo::default();
        std::sync::Arc::make_mut(&mut info.renames).insert("tk".into(), "tokio".into());
        assert_eq!(
            resolve_with("use tk::sync::mpsc;", "mpsc::unbounded_channel", &info),
            ext("tokio::sync::mpsc::unbounded_channel")
        );
    }

    #[test]
    fn reexports_are_canonical() {
        assert_eq!(
            canonical_str("futures::channel::mpsc::unbounded"),
            "futures_channel::mpsc::unbounded"
        );
        assert_eq!(
            canonical_str("async_std::channel::unbounded"),
            "async_channel::unbounded"
        );
        assert_eq!(canonical_str("tokio::task::spawn"), "tokio::spawn");
        assert_eq!(
            canonical_str("tokio::task::spawn_blocking"),
            "tokio::task::spawn_blocking"
        );
        assert_eq!(canonical_str("core::future::Future"), "std::future::Future");
    }
}
