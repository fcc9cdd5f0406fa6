//! Where a run stands: the linted paths made absolute, the configuration each of them finds (the
//! nearest one above it, not the current directory's), and the folder every reported path is
//! relative to (the Cargo workspace root, also when the run starts in a member folder).
use std::path::{Component, Path, PathBuf};

use crate::config::{self, Located};
use crate::manifest;

/// `path` joined to `cwd` when relative, with `.` and `..` resolved by their names (symlinks are
/// not resolved: `cwd` comes from the operating system, which already resolved its own).
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `/..` is `/`.
                if !matches!(
                    out.components().next_back(),
                    None | Some(Component::RootDir)
                ) {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The folder a linted path is looked up from: the path itself, or a file's folder.
fn folder_of(path: &Path) -> &Path {
    if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(path)
    }
}

/// The Cargo workspace root of the nearest Cargo.toml at or above `dir` (that package's folder when
/// it is in no workspace); `None` outside any Cargo project.
pub fn workspace_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join("Cargo.toml").is_file())
        .map(manifest::default_scan_root)
}

/// The configuration `root` (absolute) finds: see [`config::locate`], bounded by its workspace root.
pub fn config_of(root: &Path) -> Option<Located> {
    let folder = folder_of(root);
    config::locate(folder, workspace_root(folder).as_deref())
}

/// The one configuration every root finds. Roots that find different ones (or some one and some
/// none) are an error naming them: a run has one set of levels, options and API extensions.
pub fn common_config(roots: &[PathBuf], cwd: &Path) -> Result<Option<Located>, String> {
    let found: Vec<(&PathBuf, Option<Located>)> = roots.iter().map(|r| (r, config_of(r))).collect();
    let Some((_, first)) = found.first() else {
        return Ok(None);
    };
    if found.iter().all(|(_, c)| c == first) {
        return Ok(first.clone());
    }
    let show = |p: &Path| crate::run::display_path(p, cwd);
    let lines: Vec<String> = found
        .iter()
        .map(|(root, c)| {
            let uses = match c {
                Some(c) if c.table.is_empty() => show(&c.file),
                Some(c) => format!("[{}] in {}", c.table.join("."), show(&c.file)),
                None => "no configuration".to_owned(),
            };
            format!("  {}: {uses}", show(root))
        })
        .collect();
    Err(format!(
        "the paths have different configurations:\n{}\n  = help: lint them in separate runs, or pass `--config FILE` to use one for all",
        lines.join("\n")
    ))
}

/// The folder reported paths are relative to: the workspace root of each root (outside any Cargo
/// project, the root's own folder), or the current folder where it holds that (a run from the
/// repository root over a workspace in a subfolder keeps repository paths, which GitHub needs: it
/// resolves SARIF and annotation paths against the repository, never `%SRCROOT%`); the folder they
/// all share when roots differ.
pub fn report_base(roots: &[PathBuf], cwd: &Path) -> PathBuf {
    let mut bases = roots.iter().map(|root| {
        let folder = folder_of(root);
        let base = workspace_root(folder).unwrap_or_else(|| folder.to_path_buf());
        if base.starts_with(cwd) {
            cwd.to_path_buf()
        } else {
            base
        }
    });
    let Some(first) = bases.next() else {
        return cwd.to_path_buf();
    };
    bases.fold(first, |shared, base| {
        shared
            .ancestors()
            .find(|a| base.starts_with(a))
            .map_or_else(PathBuf::new, Path::to_path_buf)
    })
}

/// The default cache folder of a run over `roots`: `target/backpressure` in the Cargo workspace
/// root they all belong to. None when some root is outside any Cargo project or they belong to
/// different workspaces: a folder that is no project has no `target/` to keep it in
/// (`--cache-dir` names one).
pub fn cache_dir(roots: &[PathBuf]) -> Option<PathBuf> {
    let mut bases = roots.iter().map(|root| workspace_root(folder_of(root)));
    let first = bases.next()??;
    bases
        .all(|base| base.as_ref() == Some(&first))
        .then(|| first.join("target").join("backpressure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_resolves_dots_by_name() {
        let cwd = Path::new("/work/other");
        assert_eq!(
            absolute(Path::new("../mine/./src"), cwd),
            Path::new("/work/mine/src")
        );
        assert_eq!(absolute(Path::new("/a/../../b"), cwd), Path::new("/b"));
        assert_eq!(absolute(Path::new("."), cwd), Path::new("/work/other"));
    }
}
