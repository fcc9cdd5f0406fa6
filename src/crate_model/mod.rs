//! The crate model: which package each file belongs to, and its place in that package's module
//! tree. Built before the analysis pass from the packages of the linted files: each package's
//! manifest is read once, its target roots (`src/lib.rs`, `src/main.rs`, `src/bin/*`, `[lib]` and
//! `[[bin]]` paths, tests, benches, examples, the build script) are followed through `mod`
//! declarations ([`scan`], lexical: no parse) with their `#[path]` and `#[cfg]`, and each file gets a
//! [`Role`]. Crate roots' `use` items are read too: a root's imports give its crate's files
//! `crate::name` rewrites, and a library's `pub use` of a dependency gives the packages that
//! depend on it by path `member::name` rewrites ([`CrateInfo::reexports`]). The answer for a file depends only on the files on disk, never on which files a run
//! names, so a single-file run and a whole-workspace run agree by construction.
//!
//! Kept for the run: one role per file of the module trees and one small record per package (no
//! trees, no texts).
pub mod scan;

use rustc_hash::{FxHashMap, FxHashSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, Kind};

use crate::engine::serving::ServingScan;
use crate::engine::summary::Place;
use crate::engine::test_code;
use crate::manifest::CrateInfo;

/// Why a file is test code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestReason {
    /// Declared under `#[cfg(test)]` (or a test feature) by its parent module, or `#![cfg(test)]`.
    TestGated,
    /// In a folder or crate named for tests, benches or tooling (`test_code::TEST_NAMES`).
    TestNamed,
    /// A workspace member that other members use only as a dev-dependency.
    DevOnlyMember,
    /// A build script (`build.rs`, `package.build`) and the modules it declares.
    BuildScript,
    /// A test, bench or example target (`[[test]]`, `[[bench]]`, `[[example]]` and cargo's folders).
    TestTarget,
}

impl fmt::Display for TestReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestReason::TestGated => "declared #[cfg(test)]",
            TestReason::TestNamed => "in a folder or crate named for tests or tooling",
            TestReason::DevOnlyMember => "in a member used only as a dev-dependency",
            TestReason::BuildScript => "a build script",
            TestReason::TestTarget => "a test, bench or example target",
        })
    }
}

/// What a file is to the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// In the module tree of a library or binary, not gated for tests.
    Production,
    Test(TestReason),
    /// In a package's source folders, but reachable from no crate root: not part of the build.
    Unreachable,
    /// Outside any package, or in a package folder that holds none of its sources (`fixtures/`):
    /// linted as a loose file.
    Plain,
}

/// The kind of a target root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootKind {
    /// The library target (`src/lib.rs`, `[lib]`).
    Library,
    /// A binary target (`src/main.rs`, `src/bin/*`, `[[bin]]`).
    Binary,
    Test,
    Build,
}

impl RootKind {
    fn is_production(self) -> bool {
        matches!(self, RootKind::Library | RootKind::Binary)
    }
}

/// One Cargo.toml, read once. Only what the model reads is kept: the manifests of a large tree
/// (a vendored registry) hold megabytes of feature lists and metadata that nothing here needs.
struct Manifest {
    /// The text, kept only when it holds a backpressure configuration (read again for it).
    config_text: Option<String>,
    table: Result<toml::Table, String>,
}

/// The top-level keys of a manifest that the crate model reads.
const MANIFEST_KEYS: &[&str] = &[
    "package",
    "lib",
    "bin",
    "test",
    "bench",
    "example",
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "target",
    "workspace",
];

impl Manifest {
    fn read(text: String) -> Manifest {
        let table = text
            .parse::<toml::Table>()
            .map(|mut t| {
                t.retain(|key, _| MANIFEST_KEYS.contains(&key));
                if let Some(toml::Value::Table(package)) = t.get_mut("package") {
                    package.retain(|key, _| PACKAGE_KEYS.contains(&key));
                }
                t
            })
            .map_err(|e| e.to_string());
        let config_text = crate::config::holds_backpressure_config(&text).then_some(text);
        Manifest { config_text, table }
    }
    fn table(&self) -> Option<&toml::Table> {
        self.table.as_ref().ok()
    }
    fn is_package(&self) -> bool {
        self.table().is_some_and(|t| t.contains_key("package"))
    }
    fn is_workspace(&self) -> bool {
        self.table().is_some_and(|t| t.contains_key("workspace"))
    }
}

/// The keys of `[package]` that the crate model reads.
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "build",
    "autobins",
    "autotests",
    "autobenches",
    "autoexamples",
    "autolib",
];

/// Parses each Cargo.toml at most once (keyed by its folder).
#[derive(Default)]
struct Manifests {
    by_dir: FxHashMap<PathBuf, Option<Arc<Manifest>>>,
}

impl Manifests {
    fn get(&mut self, dir: &Path) -> Option<Arc<Manifest>> {
        if let Some(hit) = self.by_dir.get(dir) {
            return hit.clone();
        }
        let loaded =
            crate::input::read_regular_text(&dir.join("Cargo.toml"), crate::input::STRUCTURE_BYTES)
                .ok()
                .map(|text| Arc::new(Manifest::read(text)));
        self.by_dir.insert(dir.to_path_buf(), loaded.clone());
        loaded
    }
}

/// A workspace: which of its members only serve tests.
struct Workspace {
    dev_only: FxHashSet<PathBuf>,
    /// Package name (`-` → `_`) → the members that name it in their `[dependencies]`.
    dependents: FxHashMap<String, Vec<PathBuf>>,
}

/// What the run keeps of one package.
struct Package {
    dir: PathBuf,
    info: Arc<CrateInfo>,
    /// The manifest did not parse: its files are linted as loose files.
    malformed: bool,
    /// The outermost folder holding a Cargo.toml at or above this package: folder names are
    /// judged below it.
    anchor: PathBuf,
    /// A reason that covers the whole package (a test-named crate, a dev-only member).
    whole: Option<TestReason>,
    /// Every file of the module trees, keyed by its path below `dir` (its full path when a
    /// `#[path]` leads outside): its role and its crate's facts. One entry per file, a few bytes
    /// beside the key: the model is kept for the whole run.
    files: FxHashMap<PathBuf, FileEntry>,
    /// Top-level folders of the package that hold files of its module trees (`src`): a file in
    /// one of them that no tree reaches is unreachable.
    source_folders: FxHashSet<OsString>,
    /// Whether it has a library target (others may link it).
    has_lib: bool,
    /// The first production file that shows a network listener.
    listener: Option<Listener>,
    /// Production files that only binaries serving no peers reach: tools whatever the package is.
    tool_only: FxHashSet<PathBuf>,
    /// Workspace members whose `[dependencies]` name this package.
    dependents: Vec<PathBuf>,
    /// [`CrateModel::serving_dependent`], found once (every file of the package asks the same).
    serving_dependent: std::sync::OnceLock<Option<PathBuf>>,
    /// The facts of the crate roots whose `use` items `crate::` paths reach (the others share
    /// `info`), indexed by [`FileEntry::crate_facts`].
    crate_infos: Vec<Arc<CrateInfo>>,
    /// The library's name as code writes it, when the package has one.
    lib_name: Option<String>,
    /// The names after `fn`, `struct`, `enum`, `type`, .. in the files of its module trees
    /// (read lexically).
    fn_names: Arc<crate::engine::summary::NameSet>,
}

/// What the run keeps of one file of a module tree.
#[derive(Debug, Clone)]
struct FileEntry {
    role: Role,
    /// 0: the package's `info`; `i`: `crate_infos[i - 1]`.
    crate_facts: u32,
    /// Its module path in its crate (`src/net/tcp.rs` → `net::tcp`; a root → empty).
    module: Box<[String]>,
}

/// The key of `path` in [`Package::files`].
fn file_key<'a>(dir: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(dir).unwrap_or(path)
}

/// Where a package shows that it serves network peers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listener {
    pub file: PathBuf,
    pub entry: &'static str,
}

/// Whether a file's code runs in a process that serves network peers, judged by its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serving {
    /// The package itself shows a listener.
    Serves(Listener),
    /// A workspace member that depends on the package, directly or through other members,
    /// shows one.
    UsedByServer { dependent: PathBuf },
    /// Neither the package nor any member that depends on it shows a listener, or the file is
    /// reached only by binary targets that serve no peers themselves: a tool (a CLI, an
    /// installer, a release script), where a stalled or large download stalls its user.
    Tool,
    /// A library nothing in view depends on, or a file outside any package: it may serve anyone.
    Unknown,
}

/// The crate model of one run.
#[derive(Default)]
pub struct CrateModel {
    cwd: PathBuf,
    /// Every folder seen → the index of the package that owns it.
    owner: FxHashMap<PathBuf, Option<usize>>,
    packages: Vec<Package>,
    /// Each package's folder → its index, made when a package's dependents are first followed.
    by_dir: std::sync::OnceLock<FxHashMap<PathBuf, usize>>,
    /// Manifests that do not parse and hold no backpressure configuration, rendered.
    pub notes: Vec<String>,
    /// Errors in packages' `[package.metadata.backpressure]` tables (and manifests holding such a
    /// table that do not parse), rendered: they stop the run.
    pub config_errors: Vec<String>,
}

impl CrateModel {
    /// Builds the model for the packages that own `files` (a package's whole module tree is
    /// followed, whichever of its files are named).
    pub fn build<'a>(files: impl Iterator<Item = &'a Path>) -> CrateModel {
        CrateModel::build_cached(files, None)
    }

    /// [`CrateModel::build`], with the files' lexical scans taken from `cache` where unchanged.
    pub fn build_cached<'a>(
        files: impl Iterator<Item = &'a Path>,
        cache: Option<&Cache>,
    ) -> CrateModel {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut model = CrateModel {
            cwd,
            ..CrateModel::default()
        };
        let mut manifests = Manifests::default();
        let mut package_dirs: Vec<PathBuf> = Vec::new();
        let mut package_index: FxHashMap<PathBuf, usize> = FxHashMap::default();
        let mut seen_dirs: FxHashSet<PathBuf> = FxHashSet::default();
        let mut walked = FxHashSet::default();
        for file in files {
            let path = normalise(&model.cwd, file);
            let Some(dir) = path.parent() else {
                continue;
            };
            walked.insert(path.clone());
            if !seen_dirs.insert(dir.to_path_buf()) {
                continue;
            }
            let owner = owning_package(dir, &mut manifests).map(|pkg| {
                *package_index.entry(pkg.clone()).or_insert_with(|| {
                    package_dirs.push(pkg);
                    package_dirs.len() - 1
                })
            });
            model.owner.insert(dir.to_path_buf(), owner);
        }
        // Workspaces, each read once with all its members (linear in members).
        let mut workspaces: FxHashMap<PathBuf, Arc<Workspace>> = FxHashMap::default();
        let mut shells = Vec::new();
        for dir in &package_dirs {
            let shell = package_shell(dir, &mut manifests, &mut workspaces, &mut model);
            shells.push(shell);
        }
        // The members that depend on a linted package, directly or through other members:
        // whether they serve decides whether the package's code runs in a server (their files
        // are read for that, never linted). Their configuration errors and notes belong to their
        // own runs.
        let mut known: FxHashSet<PathBuf> = package_index.keys().cloned().collect();
        let mut quiet = CrateModel::default();
        let mut next_round: Vec<PathBuf> = shells
            .iter()
            .flat_map(|s| s.dependents.iter().cloned())
            .collect();
        while !next_round.is_empty() {
            next_round.sort();
            next_round.dedup();
            next_round.retain(|d| known.insert(d.clone()));
            let mut after = Vec::new();
            for dir in &next_round {
                let shell = package_shell(dir, &mut manifests, &mut workspaces, &mut quiet);
                after.extend(shell.dependents.iter().cloned());
                shells.push(shell);
            }
            next_round = after;
        }
        // Every manifest was read into its package's shell: none is needed for the trees.
        drop(manifests);
        drop(workspaces);
        // The module trees, in parallel (each reads its files lexically). Each tree becomes its
        // package's record at once: only the records, never every tree, are held together.
        let packages: Vec<Package> = shells
            .into_par_iter()
            .map(|shell| {
                let tree = match &shell.targets {
                    Some(targets) => {
                        let files = Files { walked: &walked };
                        module_tree(&shell.dir, targets, shell.lib_name.as_deref(), cache, files)
                    }
                    None => Tree::default(),
                };
                Package::new(shell, tree)
            })
            .collect();
        model.packages = packages;
        model.notes.sort();
        model.config_errors.sort();
        model
    }

    /// The package that owns the (normalised) `path`.
    fn package_of(&self, path: &Path) -> Option<&Package> {
        let dir = path.parent()?;
        let owner = match self.owner.get(dir) {
            Some(owner) => *owner,
            // A folder the walk did not list (a crate mate of a named file, outside the named
            // paths): the nearest package folder above it.
            None => {
                let index = self.package_index();
                dir.ancestors().find_map(|d| index.get(d).copied())
            }
        };
        owner.and_then(|i| self.packages.get(i))
    }

    /// Whether `file`'s package serves network peers, or is used by a member that does.
    pub fn serving(&self, file: &Path) -> Serving {
        let path = normalise(&self.cwd, file);
        let Some(p) = self.package_of(&path) else {
            return Serving::Unknown;
        };
        if p.malformed {
            return Serving::Unknown;
        }
        if p.tool_only.contains(&path) {
            return Serving::Tool;
        }
        if let Some(l) = &p.listener {
            return Serving::Serves(l.clone());
        }
        let dependent = p
            .serving_dependent
            .get_or_init(|| self.serving_dependent(p));
        match dependent.clone() {
            Some(d) => Serving::UsedByServer { dependent: d },
            None if p.has_lib && p.dependents.is_empty() => Serving::Unknown,
            None => Serving::Tool,
        }
    }

    /// The first member (breadth first, by path) that links `p`'s library directly or through
    /// other members and shows a listener: `p`'s code runs in that server.
    fn serving_dependent(&self, p: &Package) -> Option<PathBuf> {
        let by_dir = self.package_index();
        let mut seen: FxHashSet<&Path> = FxHashSet::default();
        let mut frontier: Vec<&Path> = p.dependents.iter().map(PathBuf::as_path).collect();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for d in frontier {
                if !seen.insert(d) {
                    continue;
                }
                let Some(q) = by_dir.get(d).and_then(|&i| self.packages.get(i)) else {
                    continue;
                };
                if q.listener.is_some() {
                    return Some(d.to_path_buf());
                }
                next.extend(q.dependents.iter().map(PathBuf::as_path));
            }
            frontier = next;
        }
        None
    }

    /// Where `file` sits for the function summaries: its package (summaries are joined per
    /// package, so that a binary's calls into its library count) and its module path in its
    /// crate. A file outside every module tree is a unit of its own.
    pub fn place(&self, file: &Path) -> Place {
        let path = normalise(&self.cwd, file);
        let loose = || Place {
            unit: path.display().to_string(),
            module: Vec::new(),
            lib_name: None,
            fn_names: None,
            foreign: None,
        };
        let Some(p) = self.package_of(&path) else {
            return loose();
        };
        match p.files.get(file_key(&p.dir, &path)) {
            Some(entry) if !p.malformed => Place {
                unit: p.dir.display().to_string(),
                module: entry.module.to_vec(),
                lib_name: p.lib_name.clone(),
                fn_names: Some(p.fn_names.clone()),
                foreign: None,
            },
            _ => loose(),
        }
    }

    /// The other files of the crates of `files` that a run of `files` must summarise to judge
    /// them within their crates: the production files of their module trees (and the test files
    /// when tests are linted), in path order.
    pub fn crate_mates(&self, files: &[PathBuf], include_tests: bool) -> Vec<PathBuf> {
        let named: FxHashSet<PathBuf> = files.iter().map(|f| normalise(&self.cwd, f)).collect();
        // Only packages a named file belongs to through a module tree (a loose file in a
        // package's `fixtures/` is a crate of its own).
        let mut packages: Vec<usize> = named
            .iter()
            .filter_map(|f| {
                let i = f
                    .parent()
                    .and_then(|d| self.owner.get(d).copied().flatten())?;
                let p = self.packages.get(i)?;
                p.files.contains_key(file_key(&p.dir, f)).then_some(i)
            })
            .collect();
        packages.sort_unstable();
        packages.dedup();
        let named = &named;
        let mut out: Vec<PathBuf> = packages
            .into_iter()
            .filter_map(|i| self.packages.get(i))
            .filter(|p| !p.malformed)
            .flat_map(|p| {
                p.files.keys().map(|key| p.dir.join(key)).filter(move |f| {
                    !named.contains(f)
                        && match p.role_of(f) {
                            Role::Production => true,
                            Role::Test(_) => include_tests,
                            _ => false,
                        }
                })
            })
            .collect();
        out.sort();
        out
    }
    /// Each package's folder → its index in `packages`, made once.
    fn package_index(&self) -> &FxHashMap<PathBuf, usize> {
        self.by_dir.get_or_init(|| {
            self.packages
                .iter()
                .enumerate()
                .map(|(i, q)| (q.dir.clone(), i))
                .collect()
        })
    }

    /// The library name of the package whose unit (see [`CrateModel::place`]) is `unit`, and the
    /// production files of the workspace members that name it in their `[dependencies]`, in
    /// path order: where calls into its library from other members are.
    pub fn dependent_files(&self, unit: &str) -> Option<(String, Vec<PathBuf>)> {
        let by_dir = self.package_index();
        // A unit is named by its package's folder: one lookup, not a scan of every package
        // (this runs for every unit of every run).
        let p = by_dir
            .get(Path::new(unit))
            .and_then(|&i| self.packages.get(i))
            .filter(|p| !p.malformed)?;
        let lib = p.lib_name.clone()?;
        let mut out: Vec<PathBuf> = p
            .dependents
            .iter()
            .filter_map(|d| by_dir.get(d).and_then(|&i| self.packages.get(i)))
            .filter(|q| !q.malformed)
            .flat_map(|q| {
                q.files
                    .keys()
                    .map(|key| q.dir.join(key))
                    .filter(move |f| q.role_of(f) == Role::Production)
            })
            .collect();
        out.sort();
        out.dedup();
        Some((lib, out))
    }

    /// The role of `file` and the facts of its crate.
    pub fn lookup(&self, file: &Path) -> (Role, Arc<CrateInfo>) {
        let path = normalise(&self.cwd, file);
        let Some(p) = self.package_of(&path) else {
            return (Role::Plain, Arc::default());
        };
        let info = p
            .files
            .get(file_key(&p.dir, &path))
            .and_then(|entry| entry.crate_facts.checked_sub(1))
            .and_then(|i| p.crate_infos.get(i as usize))
            .unwrap_or(&p.info);
        (p.role_of(&path), info.clone())
    }
}

impl Package {
    /// What the run keeps of a package's tree: one entry per file and the facts of the crate
    /// roots whose `use` items rewrite `crate::name` for the files of that crate.
    fn new(shell: Shell, tree: Tree) -> Package {
        let mut crate_infos = Vec::new();
        let mut facts_of_root: FxHashMap<&Path, u32> = FxHashMap::default();
        let mut roots: Vec<(&PathBuf, &RootUses)> = tree.root_uses.iter().collect();
        roots.sort_by(|a, b| a.0.cmp(b.0));
        for (root, uses) in roots {
            let mut rewrites = uses.crate_rewrites(&shell.info);
            if rewrites.is_empty() {
                continue;
            }
            let mut info = CrateInfo::clone(&shell.info);
            info.reexports.append(&mut rewrites);
            info.reexports
                .sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
            crate_infos.push(Arc::new(info));
            facts_of_root.insert(root, crate_infos.len() as u32);
        }
        let files = tree
            .roles
            .iter()
            .map(|(path, &role)| {
                let crate_facts = tree
                    .crate_of
                    .get(path)
                    .and_then(|root| facts_of_root.get(root.as_path()))
                    .copied()
                    .unwrap_or(0);
                let key = file_key(&shell.dir, path).to_path_buf();
                let module = tree
                    .module_paths
                    .get(path)
                    .cloned()
                    .unwrap_or_default()
                    .into_boxed_slice();
                (
                    key,
                    FileEntry {
                        role,
                        crate_facts,
                        module,
                    },
                )
            })
            .collect();
        drop(facts_of_root);
        Package {
            files,
            crate_infos,
            malformed: shell.targets.is_none(),
            dir: shell.dir,
            info: shell.info,
            anchor: shell.anchor,
            whole: shell.whole,
            source_folders: tree.source_folders,
            has_lib: shell.has_lib,
            listener: tree.listener,
            tool_only: tree.tool_only,
            serving_dependent: std::sync::OnceLock::new(),
            dependents: shell.dependents,
            lib_name: shell.lib_name,
            fn_names: Arc::new(crate::engine::summary::NameSet::new(
                tree.fn_names.iter().map(String::as_str),
            )),
        }
    }

    fn role_of(&self, path: &Path) -> Role {
        if self.malformed {
            return Role::Plain;
        }
        if let Some(reason) = self.whole {
            return Role::Test(reason);
        }
        if let Ok(below_anchor) = path.strip_prefix(&self.anchor) {
            if test_code::is_test_path(below_anchor) {
                return Role::Test(TestReason::TestNamed);
            }
        }
        if let Some(entry) = self.files.get(file_key(&self.dir, path)) {
            return entry.role;
        }
        let Ok(relative) = path.strip_prefix(&self.dir) else {
            return Role::Plain;
        };
        let mut components = relative.components();
        let first = components.next();
        let in_sources = match (first, components.next()) {
            // A loose file beside Cargo.toml is not part of the build.
            (Some(_), None) => true,
            (Some(Component::Normal(top)), Some(_)) => self.source_folders.contains(top),
            _ => false,
        };
        if in_sources {
            Role::Unreachable
        } else {
            Role::Plain
        }
    }
}

/// A package as read from its manifest, before its module tree is followed.
struct Shell {
    dir: PathBuf,
    info: Arc<CrateInfo>,
    anchor: PathBuf,
    whole: Option<TestReason>,
    /// None when the manifest does not parse.
    targets: Option<Vec<(PathBuf, RootKind)>>,
    has_lib: bool,
    /// The library's name as code writes it (`[lib] name`, else the package name, `-` → `_`).
    lib_name: Option<String>,
    dependents: Vec<PathBuf>,
}

fn package_shell(
    dir: &Path,
    manifests: &mut Manifests,
    workspaces: &mut FxHashMap<PathBuf, Arc<Workspace>>,
    model: &mut CrateModel,
) -> Shell {
    let anchor = dir
        .ancestors()
        .skip(1)
        .filter(|d| manifests.get(d).is_some())
        .last()
        .unwrap_or(dir)
        .to_path_buf();
    let nested = anchor != dir;
    let manifest = manifests.get(dir);
    let manifest_path = dir.join("Cargo.toml");
    let Some(table) = manifest.as_ref().and_then(|m| m.table()) else {
        if let Some(m) = &manifest {
            let message = m.table.as_ref().err().cloned().unwrap_or_default();
            if let Some(text) = &m.config_text {
                if let Err(e) = crate::config::parse(
                    &manifest_path,
                    text,
                    &["package", "metadata", "backpressure"],
                    crate::catalogue::Catalogue::global(),
                ) {
                    model.config_errors.push(e.render());
                }
            } else {
                model.notes.push(format!(
                    "{}: not a valid manifest, its files are linted as loose files: {}",
                    manifest_path.display(),
                    message.lines().next().unwrap_or("").trim()
                ));
            }
        }
        return Shell {
            dir: dir.to_path_buf(),
            info: Arc::new(CrateInfo {
                root: Some(dir.to_path_buf()),
                ..CrateInfo::default()
            }),
            anchor,
            whole: None,
            targets: None,
            has_lib: false,
            lib_name: None,
            dependents: Vec::new(),
        };
    };
    let ws_root = dir
        .ancestors()
        .find(|d| manifests.get(d).is_some_and(|m| m.is_workspace()))
        .map(Path::to_path_buf);
    let ws_table = ws_root
        .as_ref()
        .and_then(|r| manifests.get(r))
        .and_then(|m| m.table().cloned());
    let mut info = CrateInfo::from_manifest(dir, table, ws_table.as_ref().or(Some(table)));
    info.reexports = member_reexports(dir, table, ws_root.as_deref(), ws_table.as_ref(), manifests);
    if let Some(text) = manifest.as_ref().and_then(|m| m.config_text.as_deref()) {
        match crate::config::package_levels(
            &manifest_path,
            text,
            crate::catalogue::Catalogue::global(),
        ) {
            Ok(levels) => info.levels = Arc::new(levels),
            Err(e) => model.config_errors.push(e.render()),
        }
    }
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or("");
    let mut whole = None;
    if nested && test_code::is_test_name(name) {
        whole = Some(TestReason::TestNamed);
    }
    let mut dependents = Vec::new();
    if let Some(root) = &ws_root {
        let ws = workspaces
            .entry(root.clone())
            .or_insert_with(|| Arc::new(read_workspace(root, manifests)))
            .clone();
        if whole.is_none() && ws.dev_only.contains(dir) {
            whole = Some(TestReason::DevOnlyMember);
        }
        dependents = ws
            .dependents
            .get(&name.replace('-', "_"))
            .cloned()
            .unwrap_or_default();
    }
    let targets = targets(dir, table);
    let has_lib = table.contains_key("lib") || dir.join("src/lib.rs").is_file();
    let lib_name = has_lib.then(|| library_name(table)).flatten();
    Shell {
        dir: dir.to_path_buf(),
        info: Arc::new(info),
        anchor,
        whole,
        targets: Some(targets),
        has_lib,
        lib_name,
        dependents,
    }
}

/// The prefix rewrites for the paths that `dir`'s path dependencies (workspace members) re-export
/// from their own dependencies in their crate root: `pub use tokio;` in `common` makes
/// `common::tokio` here mean `tokio`.
fn member_reexports(
    dir: &Path,
    table: &toml::Table,
    ws_root: Option<&Path>,
    ws_table: Option<&toml::Table>,
    manifests: &mut Manifests,
) -> Vec<(Vec<String>, Vec<String>)> {
    let ws_deps = ws_table
        .and_then(|w| w.get("workspace"))
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut sections: Vec<&toml::Table> = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        sections.extend(table.get(section).and_then(toml::Value::as_table));
    }
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                sections.extend(target.get(section).and_then(toml::Value::as_table));
            }
        }
    }
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (key, spec) in sections.into_iter().flatten() {
        let inherited = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
        let ws_spec = inherited
            .then(|| ws_deps.and_then(|d| d.get(key)))
            .flatten();
        let dep_dir = match (
            spec.get("path"),
            ws_spec.and_then(|w| w.get("path")),
            ws_root,
        ) {
            (Some(toml::Value::String(p)), _, _) => normalise(dir, Path::new(p)),
            (None, Some(toml::Value::String(p)), Some(root)) => normalise(root, Path::new(p)),
            _ => continue,
        };
        let renamed =
            spec.get("package").is_some() || ws_spec.is_some_and(|w| w.get("package").is_some());
        let Some(exports) = crate_root_exports(&dep_dir, ws_table, manifests) else {
            continue;
        };
        // Code names a renamed dependency by its key, any other by its library's name.
        let name = if renamed {
            key.replace('-', "_")
        } else {
            exports.lib_name
        };
        for (alias, target) in exports.items {
            let from = vec![name.clone(), alias];
            if !out.iter().any(|(f, _)| *f == from) {
                out.push((from, target));
            }
        }
    }
    out.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    out
}

/// The library's name as code writes it: `[lib] name`, else the package name with `-` → `_`.
fn library_name(table: &toml::Table) -> Option<String> {
    table
        .get("lib")
        .and_then(|l| l.get("name"))
        .or_else(|| table.get("package").and_then(|p| p.get("name")))
        .and_then(toml::Value::as_str)
        .map(|n| n.replace('-', "_"))
}

/// What a library exports under its own root from its dependencies.
struct RootExports {
    /// The library's name as code writes it (`[lib] name`, else the package name, `-` → `_`).
    lib_name: String,
    /// (name at the root, canonical path of the dependency item).
    items: Vec<(String, Vec<String>)>,
}

/// Reads the crate root of the library in `dir` lexically for `pub use` items that name one of
/// its dependencies (through its Cargo renames); local modules and `crate::` paths are not
/// dependencies, globs say nothing of which names they bring.
fn crate_root_exports(
    dir: &Path,
    ws_table: Option<&toml::Table>,
    manifests: &mut Manifests,
) -> Option<RootExports> {
    let manifest = manifests.get(dir)?;
    let table = manifest.table()?;
    if !table.contains_key("package") {
        return None;
    }
    let lib = table.get("lib");
    let lib_name = library_name(table)?;
    let root = lib
        .and_then(|l| l.get("path"))
        .and_then(toml::Value::as_str)
        .unwrap_or("src/lib.rs");
    let text = crate::input::read_regular_text(
        &normalise(dir, Path::new(root)),
        crate::input::STRUCTURE_BYTES,
    )
    .ok()?;
    let info = CrateInfo::from_manifest(dir, table, ws_table.or(Some(table)));
    let uses = RootUses::read(&text, scan::root_pub_uses);
    // A public name for a private import of the root (`use tokio::sync::mpsc; pub use self::mpsc
    // as chan;`) is followed to the dependency.
    let within = RootUses::read(&text, scan::root_uses).crate_rewrites(&info);
    let items = uses
        .bindings
        .iter()
        .filter_map(|(alias, path)| {
            let target = through(&within, uses.target(path, &info)?);
            (target[0] != "crate").then(|| (alias.clone(), target))
        })
        .collect();
    Some(RootExports { lib_name, items })
}

/// The `use` items of a crate root, flattened, with the names of the modules it declares.
#[derive(Default, Clone, Serialize, Deserialize)]
struct RootUses {
    /// (name bound at the root, path as written).
    bindings: Vec<(String, Vec<String>)>,
    modules: FxHashSet<String>,
}

impl RootUses {
    fn read(text: &str, items: fn(&str) -> Vec<&str>) -> RootUses {
        let mut bindings = Vec::new();
        for item in items(text) {
            if let Ok(item) = syn::parse_str::<syn::ItemUse>(item) {
                flatten_use(&item.tree, Vec::new(), &mut bindings);
            }
        }
        // proc-macro2 keeps each parsed text per thread; nothing parsed here outlives this call.
        proc_macro2::extra::invalidate_current_thread_spans();
        let modules = scan::scan(text).decls.into_iter().map(|d| d.name).collect();
        RootUses { bindings, modules }
    }

    /// Where a path written in a `use` of the root leads: into a dependency (through the crate's
    /// Cargo renames) or std, or `crate::..` for the crate's own modules; None when unknown.
    fn target(&self, path: &[String], info: &CrateInfo) -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        let mut out = path.to_vec();
        match first {
            "crate" | "self" => out[0] = "crate".to_owned(),
            _ if self.modules.contains(first) => out.insert(0, "crate".to_owned()),
            "std" | "core" | "alloc" => {}
            _ if info.renames.contains_key(first) || info.versions.contains_key(first) => {
                if let Some(real) = info.renames.get(first) {
                    out[0] = real.clone();
                }
            }
            _ => return None,
        }
        Some(out)
    }

    /// `crate::alias` → the path it names, for the files of this crate root (chains through
    /// other names of the root followed, so each target is as far as the root can tell).
    fn crate_rewrites(&self, info: &CrateInfo) -> Vec<(Vec<String>, Vec<String>)> {
        let mut out = Vec::new();
        for (alias, path) in &self.bindings {
            let from = vec!["crate".to_owned(), alias.clone()];
            match self.target(path, info) {
                // `pub use self::a as a;` would rewrite onto itself.
                Some(to) if !to.starts_with(&from) => out.push((from, to)),
                _ => {}
            }
        }
        let followed: Vec<Vec<String>> = out
            .iter()
            .map(|(_, to)| through(&out, to.clone()))
            .collect();
        for ((_, to), followed) in out.iter_mut().zip(followed) {
            *to = followed;
        }
        out
    }
}

/// `path` with the root's `crate::name` rewrites applied until none matches (bounded: a cycle of
/// imports must not hang the run).
fn through(rewrites: &[(Vec<String>, Vec<String>)], mut path: Vec<String>) -> Vec<String> {
    for _ in 0..8 {
        let Some((from, to)) = rewrites.iter().find(|(from, _)| path.starts_with(from)) else {
            break;
        };
        path.splice(..from.len(), to.iter().cloned());
    }
    path
}

/// The (name, path) pairs a `use` tree binds (globs bind nothing we can name).
fn flatten_use(tree: &syn::UseTree, mut prefix: Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
        }
        syn::UseTree::Name(n) => {
            let ident = n.ident.to_string();
            if ident == "self" {
                if let Some(last) = prefix.last().cloned() {
                    out.push((last, prefix));
                }
            } else {
                prefix.push(ident.clone());
                out.push((ident, prefix));
            }
        }
        syn::UseTree::Rename(r) => {
            let ident = r.ident.to_string();
            if ident != "self" {
                prefix.push(ident);
            }
            if !prefix.is_empty() && r.rename != "_" {
                out.push((r.rename.to_string(), prefix));
            }
        }
        syn::UseTree::Glob(_) => {}
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix.clone(), out);
            }
        }
    }
}

/// The nearest folder at or above `dir` whose Cargo.toml is a package (or does not parse).
fn owning_package(dir: &Path, manifests: &mut Manifests) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| {
            manifests
                .get(d)
                .is_some_and(|m| m.is_package() || m.table.is_err())
        })
        .map(Path::to_path_buf)
}

/// Reads a workspace's members (globs expanded, `exclude` removed) and finds the members that other
/// members use only as a dev-dependency.
fn read_workspace(root: &Path, manifests: &mut Manifests) -> Workspace {
    let table = manifests.get(root).and_then(|m| m.table().cloned());
    let ws = table.as_ref().and_then(|t| t.get("workspace"));
    let list = |key: &str| -> Vec<String> {
        ws.and_then(|w| w.get(key))
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(toml::Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let excluded: FxHashSet<PathBuf> = list("exclude")
        .iter()
        .map(|e| normalise(root, Path::new(e)))
        .collect();
    let mut members: FxHashSet<PathBuf> = FxHashSet::default();
    for pattern in list("members") {
        for dir in expand_glob(root, &pattern) {
            if !excluded.contains(&dir) && dir.join("Cargo.toml").is_file() {
                members.insert(dir);
            }
        }
    }
    if table.as_ref().is_some_and(|t| t.contains_key("package")) {
        members.insert(root.to_path_buf());
    }
    let mut names: FxHashMap<String, PathBuf> = FxHashMap::default();
    let mut normal: FxHashSet<String> = FxHashSet::default();
    let mut dev: FxHashSet<String> = FxHashSet::default();
    let mut dependents: FxHashMap<String, Vec<PathBuf>> = FxHashMap::default();
    let mut members: Vec<PathBuf> = members.into_iter().collect();
    members.sort();
    for member in &members {
        let Some(m) = manifests.get(member) else {
            continue;
        };
        let Some(t) = m.table() else {
            continue;
        };
        if let Some(name) = t
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        {
            names.insert(name.to_owned(), member.clone());
        }
        let mut sections: Vec<(&str, &toml::Table)> = Vec::new();
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(d) = t.get(section).and_then(toml::Value::as_table) {
                sections.push((section, d));
            }
        }
        if let Some(targets) = t.get("target").and_then(toml::Value::as_table) {
            for target in targets.values() {
                for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(d) = target.get(section).and_then(toml::Value::as_table) {
                        sections.push((section, d));
                    }
                }
            }
        }
        for (section, deps) in sections {
            for (key, spec) in deps {
                let package = spec
                    .get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key)
                    .to_owned();
                if section == "dev-dependencies" {
                    dev.insert(package);
                } else {
                    if section == "dependencies" {
                        dependents
                            .entry(package.replace('-', "_"))
                            .or_default()
                            .push(member.clone());
                    }
                    normal.insert(package);
                }
            }
        }
    }
    let dev_only = dev
        .difference(&normal)
        .filter_map(|name| names.get(name).cloned())
        .collect();
    for list in dependents.values_mut() {
        list.sort();
        list.dedup();
    }
    Workspace {
        dev_only,
        dependents,
    }
}

/// The folders a workspace member pattern names (`crates/*`, `libs/**` is not supported beyond `*`).
fn expand_glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![root.to_path_buf()];
    for part in Path::new(pattern).components() {
        let Component::Normal(part) = part else {
            if matches!(part, Component::ParentDir) {
                current = current
                    .iter()
                    .map(|d| d.parent().unwrap_or(d).to_path_buf())
                    .collect();
            }
            continue;
        };
        let part = part.to_string_lossy();
        if !part.contains(['*', '?', '[']) {
            current = current.iter().map(|d| d.join(part.as_ref())).collect();
            continue;
        }
        let Ok(glob) = globset::Glob::new(&part) else {
            return Vec::new();
        };
        let matcher = glob.compile_matcher();
        let mut next = Vec::new();
        for d in &current {
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) && matcher.is_match(e.file_name()) {
                    next.push(e.path());
                }
            }
        }
        current = next;
    }
    current
}

/// The target roots of a package, as cargo finds them.
fn targets(dir: &Path, table: &toml::Table) -> Vec<(PathBuf, RootKind)> {
    let package = table.get("package");
    let auto = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(toml::Value::as_bool)
            != Some(false)
    };
    let mut out: Vec<(PathBuf, RootKind)> = Vec::new();
    let path_of = |t: &toml::Value| {
        t.get("path")
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
    };
    match table.get("lib").and_then(path_of) {
        Some(p) => out.push((dir.join(p), RootKind::Library)),
        None => out.push((dir.join("src/lib.rs"), RootKind::Library)),
    }
    let sections = [
        ("bin", "autobins", RootKind::Binary, "src/bin"),
        ("test", "autotests", RootKind::Test, "tests"),
        ("bench", "autobenches", RootKind::Test, "benches"),
        ("example", "autoexamples", RootKind::Test, "examples"),
    ];
    for (key, auto_key, kind, folder) in sections {
        for target in table
            .get(key)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            match path_of(target) {
                Some(p) => out.push((dir.join(p), kind)),
                None => {
                    if let Some(name) = target.get("name").and_then(toml::Value::as_str) {
                        out.push((dir.join(folder).join(format!("{name}.rs")), kind));
                        out.push((dir.join(folder).join(name).join("main.rs"), kind));
                    }
                }
            }
        }
        if auto(auto_key) {
            if key == "bin" {
                out.push((dir.join("src/main.rs"), kind));
            }
            let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "rs") {
                    out.push((p, kind));
                } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push((p.join("main.rs"), kind));
                }
            }
        }
    }
    match package.and_then(|p| p.get("build")) {
        Some(toml::Value::String(p)) => out.push((dir.join(p), RootKind::Build)),
        Some(toml::Value::Boolean(false)) => {}
        _ => out.push((dir.join("build.rs"), RootKind::Build)),
    }
    out.into_iter()
        .map(|(p, k)| (normalise(dir, &p), k))
        .filter(|(p, _)| p.is_file())
        .collect()
}

/// A file reached through the tree, with whether it owns its folder (a crate root, `mod.rs` or a
/// `#[path]` file: its child modules live beside it, not in a folder named after it).
type Node = (PathBuf, bool);

/// A package's module trees: the role of each file, the top-level folders holding them, the
/// first production file (by path) that shows a network listener, and the production files that
/// only binaries reach which serve no peers themselves.
#[derive(Default)]
struct Tree {
    roles: FxHashMap<PathBuf, Role>,
    source_folders: FxHashSet<OsString>,
    listener: Option<Listener>,
    /// File → the crate root it belongs to (the first that reaches it).
    crate_of: FxHashMap<PathBuf, PathBuf>,
    root_uses: FxHashMap<PathBuf, RootUses>,
    /// File → its module path in the crate that first reaches it.
    module_paths: FxHashMap<PathBuf, Vec<String>>,
    fn_names: Vec<String>,
    /// Production files reached only by binary targets none of which serves (see [`tool_only`]).
    tool_only: FxHashSet<PathBuf>,
}

/// Follows the module trees of one package: production roots through ungated declarations first
/// (production), then through all declarations (test-gated), then the test targets and the build
/// script. `lib_name` is the package's library as its binaries name it (`my_lib::..`).
fn module_tree(
    dir: &Path,
    targets: &[(PathBuf, RootKind)],
    lib_name: Option<&str>,
    cache: Option<&Cache>,
    files: Files,
) -> Tree {
    let mut scans: FxHashMap<PathBuf, scan::FileMods> = FxHashMap::default();
    let mut listeners: FxHashMap<PathBuf, &'static str> = FxHashMap::default();
    // Files whose text names the package's library crate.
    let mut name_lib: FxHashSet<PathBuf> = FxHashSet::default();
    let mut roles: FxHashMap<PathBuf, Role> = FxHashMap::default();
    // The crate root each file was first reached from, and each root's `use` items.
    let mut crate_of: FxHashMap<PathBuf, PathBuf> = targets
        .iter()
        .map(|(p, _)| (p.clone(), p.clone()))
        .collect();
    let mut root_uses: FxHashMap<PathBuf, RootUses> = FxHashMap::default();
    let mut fn_names: Vec<String> = Vec::new();
    let mut module_paths: FxHashMap<PathBuf, Vec<String>> = targets
        .iter()
        .map(|(p, _)| (p.clone(), Vec::new()))
        .collect();
    let roots = |wanted: fn(RootKind) -> bool| -> Vec<Node> {
        targets
            .iter()
            .filter(|(_, k)| wanted(*k))
            .map(|(p, _)| (p.clone(), true))
            .collect()
    };
    let passes = [
        (roots(RootKind::is_production), false, Role::Production),
        (
            roots(RootKind::is_production),
            true,
            Role::Test(TestReason::TestGated),
        ),
        (
            roots(|k| k == RootKind::Test),
            true,
            Role::Test(TestReason::TestTarget),
        ),
        (
            roots(|k| k == RootKind::Build),
            true,
            Role::Test(TestReason::BuildScript),
        ),
    ];
    for (start, follow_test, role) in passes {
        let mut visited: FxHashSet<PathBuf> = FxHashSet::default();
        let mut frontier: Vec<Node> = start;
        while !frontier.is_empty() {
            frontier.retain(|(p, _)| visited.insert(p.clone()));
            let unread: Vec<PathBuf> = frontier
                .iter()
                .filter(|(p, _)| !scans.contains_key(p))
                .map(|(p, _)| p.clone())
                .collect();
            let read: Vec<ReadFile> = unread
                .into_par_iter()
                .map(|p| {
                    let is_root = targets.iter().any(|(root, _)| *root == p);
                    read_for_tree(p, is_root, lib_name, cache)
                })
                .collect();
            for (p, mods, listener, uses, names_lib, names) in read {
                fn_names.extend(names);
                if let Some(uses) = uses {
                    root_uses.insert(p.clone(), uses);
                }
                if let Some(entry) = listener {
                    listeners.insert(p.clone(), entry);
                }
                if names_lib {
                    name_lib.insert(p.clone());
                }
                scans.insert(p, mods);
            }
            let mut next = Vec::new();
            for node in &frontier {
                let Some(mods) = scans.get(&node.0) else {
                    continue;
                };
                if !follow_test && gated_for_tests(mods) {
                    continue;
                }
                roles.entry(node.0.clone()).or_insert(role);
                let first_child = next.len();
                let here = module_paths.get(&node.0).cloned().unwrap_or_default();
                for (child, decl) in children(node, mods, follow_test, files) {
                    module_paths.entry(child.0.clone()).or_insert_with(|| {
                        let mut m = here.clone();
                        if let Some(decl) = decl {
                            m.extend(decl.inline_dirs.iter().cloned());
                            m.push(decl.name.clone());
                        }
                        m
                    });
                    next.push(child);
                }
                if let Some(root) = crate_of.get(&node.0).cloned() {
                    for (child, _) in &next[first_child..] {
                        crate_of
                            .entry(child.clone())
                            .or_insert_with(|| root.clone());
                    }
                }
            }
            frontier = next;
        }
    }
    let folders = roles
        .keys()
        .filter_map(|p| {
            let mut c = p.strip_prefix(dir).ok()?.components();
            let first = c.next()?;
            c.next()?;
            match first {
                Component::Normal(top) => Some(top.to_os_string()),
                _ => None,
            }
        })
        .collect();
    let production_listener =
        |p: &PathBuf| listeners.contains_key(p) && roles.get(p) == Some(&Role::Production);
    let tool_only = tool_only(targets, &scans, &production_listener, &name_lib, files);
    let listener = listeners
        .iter()
        .filter(|(p, _)| production_listener(p))
        .min()
        .map(|(file, entry)| Listener {
            file: file.clone(),
            entry,
        });
    Tree {
        roles,
        source_folders: folders,
        listener,
        crate_of,
        root_uses,
        tool_only,
        module_paths,
        fn_names,
    }
}

/// Whether a file's own `#![cfg(..)]` makes it test code.
fn gated_for_tests(mods: &scan::FileMods) -> bool {
    mods.inner_cfgs
        .iter()
        .any(|c| test_code::cfg_text_requires_test(c))
}

/// The files a reached file brings into the tree: its `mod` declarations (those gated for tests
/// only when `follow_test`), each with the declaration that names it, and the files it
/// `include!`s (no declaration: they are part of its module).
fn children<'m>(
    node: &Node,
    mods: &'m scan::FileMods,
    follow_test: bool,
    files: Files,
) -> Vec<(Node, Option<&'m scan::ModDecl>)> {
    let (path, owns_folder) = node;
    let mut next = Vec::new();
    for decl in &mods.decls {
        if !follow_test
            && decl
                .cfgs
                .iter()
                .any(|c| test_code::cfg_text_requires_test(c))
        {
            continue;
        }
        next.extend(
            resolve(path, *owns_folder, decl, files)
                .into_iter()
                .map(|child| (child, Some(decl))),
        );
    }
    // An included file is part of this module (its own `mod` items are read as if written in a
    // mod-rs file).
    if let Some(here) = path.parent() {
        for included in &mods.includes {
            let file = normalise(here, Path::new(included));
            if files.is_file(&file) {
                next.push(((file, true), None));
            }
        }
    }
    next
}

/// The production files of one target root (ungated declarations only), from the files the
/// production pass already read.
fn production_reach(
    root: &Path,
    scans: &FxHashMap<PathBuf, scan::FileMods>,
    files: Files,
) -> FxHashSet<PathBuf> {
    let mut reached = FxHashSet::default();
    let mut stack: Vec<Node> = vec![(root.to_path_buf(), true)];
    while let Some(node) = stack.pop() {
        let Some(mods) = scans.get(&node.0) else {
            continue;
        };
        if gated_for_tests(mods) || !reached.insert(node.0.clone()) {
            continue;
        }
        stack.extend(
            children(&node, mods, false, files)
                .into_iter()
                .map(|(child, _)| child),
        );
    }
    reached
}

/// The production files that only binary targets reach, when none of those binaries serves: a
/// binary serves when its own module tree shows a listener, or when it names the package's
/// library and the library's tree shows one. Such a binary is a tool (a regression runner, an
/// admin command) even inside a package whose other targets serve; files the library or a
/// serving binary also reaches keep the package's judgement.
fn tool_only(
    targets: &[(PathBuf, RootKind)],
    scans: &FxHashMap<PathBuf, scan::FileMods>,
    listens: &dyn Fn(&PathBuf) -> bool,
    name_lib: &FxHashSet<PathBuf>,
    files: Files,
) -> FxHashSet<PathBuf> {
    let library: FxHashSet<PathBuf> = targets
        .iter()
        .filter(|(_, k)| *k == RootKind::Library)
        .flat_map(|(root, _)| production_reach(root, scans, files))
        .collect();
    let library_listens = library.iter().any(listens);
    let mut tool = FxHashSet::default();
    let mut serving = FxHashSet::default();
    for (root, _) in targets.iter().filter(|(_, k)| *k == RootKind::Binary) {
        let reached = production_reach(root, scans, files);
        let serves = reached.iter().any(listens)
            || (library_listens && reached.iter().any(|f| name_lib.contains(f)));
        if serves {
            serving.extend(reached);
        } else {
            tool.extend(reached.into_iter().filter(|f| !library.contains(f)));
        }
    }
    tool.retain(|f| !serving.contains(f));
    tool
}

/// Reads `p` for the module tree (from the cache when it is unchanged since a run stored it).
fn read_for_tree(
    p: PathBuf,
    is_root: bool,
    lib_name: Option<&str>,
    cache: Option<&Cache>,
) -> ReadFile {
    let Some(cache) = cache else {
        return scan_for_tree(p, is_root, lib_name, false).0;
    };
    // What the scan depends on besides the bytes (and the tool build, which the store keys).
    let context = crate::cache::fingerprint([
        if is_root { "root" } else { "module" },
        lib_name.unwrap_or(""),
    ]);
    let stamp = cache.stamp_of(&p);
    let hit = cache.lookup::<CachedScan>(Kind::Scan, &p, &context, stamp, None);
    if let Some((scan, _)) = hit {
        // An entry of `serving.toml` this build does not know is a miss.
        let listener = match &scan.listener {
            Some(name) => ServingScan::global().entry_named(name).map(Some),
            None => Some(None),
        };
        if let Some(listener) = listener {
            return (
                p,
                scan.mods,
                listener,
                scan.uses,
                scan.names_lib,
                scan.names,
            );
        }
    }
    let (read, digest) = scan_for_tree(p, is_root, lib_name, true);
    if let Some(digest) = digest {
        let (p, mods, listener, uses, names_lib, names) = &read;
        let scan = CachedScan {
            mods: mods.clone(),
            listener: listener.map(str::to_owned),
            uses: uses.clone(),
            names_lib: *names_lib,
            names: names.clone(),
        };
        cache.store(Kind::Scan, p, &context, stamp, &digest, &scan);
    }
    read
}

/// A file's scan as the cache keeps it (a file that declares nothing and defines no item takes
/// a few bytes). A value that does not decode is a miss, not an empty scan.
#[derive(Serialize, Deserialize)]
struct CachedScan {
    mods: scan::FileMods,
    listener: Option<String>,
    uses: Option<RootUses>,
    names_lib: bool,
    /// The names of the functions, methods and types it defines (the summaries' filter).
    names: Vec<String>,
}

/// Reads and scans `p`; with the digest of its bytes when it could be read and `hash` asks for it.
fn scan_for_tree(
    p: PathBuf,
    is_root: bool,
    lib_name: Option<&str>,
    hash: bool,
) -> (ReadFile, Option<crate::cache::FileDigest>) {
    let bytes = crate::input::read_regular_file(&p, crate::input::STRUCTURE_BYTES).ok();
    let digest = bytes.as_deref().filter(|_| hash).map(crate::cache::digest);
    // Borrowed when the file is UTF-8 (nearly always): one copy of its text.
    // `from_utf8` validates faster than the lossy decoder does.
    let text = bytes.as_deref().map(|b| match std::str::from_utf8(b) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(b),
    });
    let mods = text.as_deref().map(scan::scan).unwrap_or_default();
    let listener = text
        .as_deref()
        .and_then(|t| ServingScan::global().find(t))
        .map(|e| e.entry);
    let uses = text
        .as_deref()
        .filter(|_| is_root)
        .map(|t| RootUses::read(t, scan::root_uses));
    let names_lib = text
        .as_deref()
        .zip(lib_name)
        .is_some_and(|(t, name)| scan::names_crate(t, name));
    let names: Vec<String> = text
        .as_deref()
        .map(|t| scan::item_names(t).into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    ((p, mods, listener, uses, names_lib, names), digest)
}

/// A file read for the module tree: its declarations, a listener it shows, for a crate root its
/// `use` items, and whether it names the package's library.
type ReadFile = (
    PathBuf,
    scan::FileMods,
    Option<&'static str>,
    Option<RootUses>,
    bool,
    Vec<String>,
);

/// The files a `mod` declaration names, as rustc finds them (several with `cfg_attr` paths).
fn resolve(parent: &Path, owns_folder: bool, decl: &scan::ModDecl, files: Files) -> Vec<Node> {
    let (Some(here), Some(stem)) = (parent.parent(), parent.file_stem()) else {
        return Vec::new();
    };
    let own = if owns_folder {
        here.to_path_buf()
    } else {
        here.join(stem)
    };
    let mut base = own;
    for d in &decl.inline_dirs {
        base.push(d);
    }
    // Outside inline modules a path is relative to the declaring file's folder.
    let from = if decl.inline_dirs.is_empty() {
        here.to_path_buf()
    } else {
        base.clone()
    };
    let mut out: Vec<Node> = decl
        .paths
        .iter()
        .map(|p| (normalise(&from, Path::new(p)), true))
        .filter(|(f, _)| files.is_file(f))
        .collect();
    if !out.is_empty() {
        return out;
    }
    let flat = base.join(format!("{}.rs", decl.name));
    let nested = base.join(&decl.name).join("mod.rs");
    // The walk's list answers without a system call; only when it names neither file is the
    // file system asked (both existing is rustc's E0761, so the order of the checks is moot).
    let walked = |f: &Path| files.walked.contains(f);
    if walked(&flat) {
        out.push((flat, false));
    } else if walked(&nested) {
        out.push((nested, true));
    } else if flat.is_file() {
        out.push((flat, false));
    } else if nested.is_file() {
        out.push((nested, true));
    }
    out
}

/// Which paths are files, for resolving `mod` declarations: those the walk listed, without a
/// system call; any other is asked of the file system (a `#[path]` or an included file outside
/// the walk, a package read only for its dependents, a module the walk's ignore rules skipped).
#[derive(Clone, Copy)]
struct Files<'w> {
    walked: &'w FxHashSet<PathBuf>,
}

impl Files<'_> {
    fn is_file(&self, path: &Path) -> bool {
        self.walked.contains(path) || path.is_file()
    }
}

/// `path` made absolute against `base`, with `.` and `..` resolved lexically (symlinks are not
/// followed: the walk does not follow them either).
pub fn normalise(base: &Path, path: &Path) -> PathBuf {
    let joined;
    let path = if path.is_absolute() {
        path
    } else {
        joined = base.join(path);
        &joined
    };
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests;
