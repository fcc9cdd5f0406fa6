//! Discovery: which `.rs` files to read. The `ignore` crate's parallel walker honours .gitignore
//! and .ignore, skips hidden folders and cargo `target/` folders, and never follows symlinks (so a
//! symlink loop cannot trap it). A file named explicitly is always read, and must be a `.rs` file.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

/// A file to lint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Named on the command line (linted whatever the ignore files say).
    pub explicit: bool,
}

/// A path the walk could not read, with the reason (reported, never silently dropped).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<SourceFile>,
    pub errors: Vec<WalkError>,
}

/// An argument that cannot be linted: a usage error (exit 2).
#[derive(Debug)]
pub enum BadPath {
    /// It names nothing.
    Missing(PathBuf),
    /// It names a file that is not a `.rs` file (a Cargo.toml, notes): linting it would only say
    /// that it does not parse as Rust.
    NotRust(PathBuf),
}

impl BadPath {
    pub fn path(&self) -> &Path {
        match self {
            BadPath::Missing(p) | BadPath::NotRust(p) => p,
        }
    }

    /// The error, naming the path as `shown`.
    pub fn message(&self, shown: &str) -> String {
        match self {
            BadPath::Missing(_) => format!("no such file or directory: {shown}"),
            BadPath::NotRust(_) => format!(
                "{shown}: not a Rust file (name `.rs` files, or folders to lint the Rust files in them)"
            ),
        }
    }
}

/// What to lint: folders to walk and files named explicitly, checked to exist.
#[derive(Debug, Clone)]
pub struct Sources {
    dirs: Vec<Root>,
    files: Vec<PathBuf>,
    /// The canonical paths of `files`: a walked file that was also named is read once.
    named: HashSet<PathBuf>,
}

/// A path as given (walked, and shown) and its canonical form (compared).
#[derive(Debug, Clone)]
struct Root {
    path: PathBuf,
    canonical: PathBuf,
}

impl Sources {
    /// Splits `roots` into folders and files; a root that does not exist, or a file that is not a
    /// `.rs` file, is a usage error. Roots are compared by their canonical paths, so `src/a.rs` and
    /// `./src/../src/a.rs` (or a symlink to it) are read once, and a folder inside another root
    /// folder is walked once; each keeps the spelling it was first given, for display.
    pub fn new(roots: &[PathBuf]) -> Result<Sources, BadPath> {
        let mut dirs: Vec<Root> = Vec::new();
        let mut files: Vec<Root> = Vec::new();
        for root in roots {
            let meta = std::fs::metadata(root).map_err(|_| BadPath::Missing(root.clone()))?;
            if !meta.is_dir() && root.extension().is_none_or(|x| x != "rs") {
                return Err(BadPath::NotRust(root.clone()));
            }
            let list = if meta.is_dir() { &mut dirs } else { &mut files };
            let path = lexical(root);
            // Canonicalising fails only if the root vanished since the check; compare it as given.
            let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| path.clone());
            if !list.iter().any(|r| r.canonical == canonical) {
                list.push(Root { path, canonical });
            }
        }
        let nested = |d: &Root| {
            dirs.iter()
                .any(|o| o.canonical != d.canonical && d.canonical.starts_with(&o.canonical))
        };
        let outer: Vec<Root> = dirs.iter().filter(|d| !nested(d)).cloned().collect();
        let named = files.iter().map(|f| f.canonical.clone()).collect();
        Ok(Sources {
            dirs: outer,
            files: files.into_iter().map(|f| f.path).collect(),
            named,
        })
    }

    /// Hands every `.rs` file to `sink` as the walk finds it (explicit files first; no order
    /// otherwise), on the walker's threads. Returns what could not be read, sorted. The walk blocks
    /// while `sink` blocks: a bounded channel behind it makes the walk go at the consumers' pace.
    pub fn walk(&self, threads: usize, sink: &(dyn Fn(SourceFile) + Sync)) -> Vec<WalkError> {
        for file in &self.files {
            sink(SourceFile {
                path: file.clone(),
                explicit: true,
            });
        }
        let errors = Mutex::new(Vec::new());
        for root in &self.dirs {
            let start = if root.path.as_os_str().is_empty() {
                Path::new(".")
            } else {
                root.path.as_path()
            };
            // The walk does not follow symlinks, so below the root every path is already canonical
            // once the root's canonical form is put in front of it.
            let is_named = |walked: &Path| {
                !self.named.is_empty()
                    && walked
                        .strip_prefix(start)
                        .is_ok_and(|rel| self.named.contains(&root.canonical.join(rel)))
            };
            WalkBuilder::new(start)
                .hidden(true)
                .git_ignore(true)
                .git_exclude(true)
                .ignore(true)
                .parents(true)
                .require_git(false)
                .follow_links(false)
                .threads(threads)
                .filter_entry(|e| {
                    !(e.file_type().is_some_and(|t| t.is_dir()) && is_cargo_target_dir(e.path()))
                })
                .build_parallel()
                .run(|| {
                    Box::new(|entry| {
                        match entry {
                            Ok(e)
                                if e.file_type().is_some_and(|t| t.is_file())
                                    && e.path().extension().is_some_and(|x| x == "rs") =>
                            {
                                if !is_named(e.path()) {
                                    sink(SourceFile {
                                        path: lexical(e.path()),
                                        explicit: false,
                                    });
                                }
                            }
                            Ok(_) => {}
                            Err(err) => errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(walk_error(&err)),
                        }
                        WalkState::Continue
                    })
                });
        }
        let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
        errors.sort();
        errors
    }
}

/// Walks `roots` and returns all the `.rs` files in a deterministic (sorted) order. (The run
/// streams from [`Sources::walk`] instead; this list is for tools and tests that want it whole.)
pub fn discover(roots: &[PathBuf], threads: usize) -> Result<Discovery, BadPath> {
    let sources = Sources::new(roots)?;
    let files = Mutex::new(Vec::new());
    let errors = sources.walk(threads, &|f| {
        files.lock().unwrap_or_else(|e| e.into_inner()).push(f);
    });
    let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(Discovery { files, errors })
}

/// The display form of a path given or walked: `./src/lib.rs` becomes `src/lib.rs` (and `.` the
/// empty path); `..` stays, as the user wrote it.
fn lexical(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// A cargo build directory: `target/` holding cargo's CACHEDIR.TAG or .rustc_info.json.
fn is_cargo_target_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "target")
        && (path.join("CACHEDIR.TAG").exists() || path.join(".rustc_info.json").exists())
}

fn walk_error(err: &ignore::Error) -> WalkError {
    fn path_of(err: &ignore::Error) -> Option<PathBuf> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path.clone()),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Loop { child, .. } => Some(child.clone()),
            _ => None,
        }
    }
    WalkError {
        path: path_of(err).unwrap_or_default(),
        message: err.to_string(),
    }
}
