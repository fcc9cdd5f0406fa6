//! Discovery: which `.rs` files to read. The `ignore` crate's parallel walker honours .gitignore
//! and .ignore, skips hidden folders and cargo `target/` folders, and never follows symlinks (so a
//! symlink loop cannot trap it). A file named explicitly is always read.
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

/// An argument that names nothing: a usage error (exit 2).
#[derive(Debug)]
pub struct MissingPath(pub PathBuf);

/// Walks `roots` and returns the `.rs` files in a deterministic (sorted) order.
pub fn discover(roots: &[PathBuf], threads: usize) -> Result<Discovery, MissingPath> {
    let mut discovery = Discovery::default();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|_| MissingPath(root.clone()))?;
        if !meta.is_dir() {
            discovery.files.push(SourceFile {
                path: root.clone(),
                explicit: true,
            });
            continue;
        }
        let found = Mutex::new(Discovery::default());
        WalkBuilder::new(root)
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
                    let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
                    match entry {
                        Ok(e)
                            if e.file_type().is_some_and(|t| t.is_file())
                                && e.path().extension().is_some_and(|x| x == "rs") =>
                        {
                            found.files.push(SourceFile {
                                path: e.into_path(),
                                explicit: false,
                            });
                        }
                        Ok(_) => {}
                        Err(err) => found.errors.push(walk_error(&err)),
                    }
                    WalkState::Continue
                })
            });
        let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
        discovery.files.extend(found.files);
        discovery.errors.extend(found.errors);
    }
    discovery.files.sort();
    discovery.files.dedup_by(|a, b| a.path == b.path);
    discovery.errors.sort();
    Ok(discovery)
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
