//! Reads the Cargo.toml that owns each file: dependency renames (`tk = { package = "tokio" }`,
//! also through `workspace = true`) and dependency versions. Manifests are parsed once per run.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the rules need to know about the crate a file belongs to.
#[derive(Debug, Default, Clone)]
pub struct CrateInfo {
    /// Dependency key as used in code (`-` → `_`) → the real package name (`-` → `_`).
    pub renames: HashMap<String, String>,
    /// Package name (`-` → `_`) → version requirement as written (empty when unknown).
    pub versions: HashMap<String, String>,
    /// The directory holding this Cargo.toml.
    pub root: Option<PathBuf>,
    /// `[package.metadata.backpressure.rules]` levels: they refine the workspace's for this package.
    pub levels: std::collections::BTreeMap<String, crate::diag::Level>,
    /// An error in this package's `[package.metadata.backpressure]` table: it stops the run.
    pub config_error: Option<Box<crate::config::ConfigError>>,
}

impl CrateInfo {
    /// The major version of a dependency, e.g. 3 for `ureq = "3.1"` (0.x gives the minor: 0.12 → 12 with `zero` set).
    pub fn version_of(&self, package: &str) -> Option<&str> {
        self.versions.get(package).map(String::as_str)
    }

    fn from_manifest(
        dir: &Path,
        table: &toml::Table,
        workspace: Option<&toml::Table>,
    ) -> CrateInfo {
        let mut info = CrateInfo {
            root: Some(dir.to_path_buf()),
            ..Default::default()
        };
        let ws_deps = workspace
            .and_then(|w| w.get("workspace"))
            .and_then(|w| w.get("dependencies"))
            .and_then(toml::Value::as_table);
        let mut visit = |deps: &toml::Table| {
            for (key, spec) in deps {
                let mut package = spec.get("package").and_then(toml::Value::as_str);
                let mut version = match spec {
                    toml::Value::String(v) => Some(v.as_str()),
                    _ => spec.get("version").and_then(toml::Value::as_str),
                };
                if spec.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                    if let Some(ws) = ws_deps.and_then(|d| d.get(key)) {
                        package =
                            package.or_else(|| ws.get("package").and_then(toml::Value::as_str));
                        version = version.or_else(|| match ws {
                            toml::Value::String(v) => Some(v.as_str()),
                            _ => ws.get("version").and_then(toml::Value::as_str),
                        });
                    }
                }
                let key = key.replace('-', "_");
                let real = package
                    .map(|p| p.replace('-', "_"))
                    .unwrap_or_else(|| key.clone());
                if real != key {
                    info.renames.insert(key, real.clone());
                }
                info.versions
                    .insert(real, version.unwrap_or_default().to_owned());
            }
        };
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(deps) = table.get(section).and_then(toml::Value::as_table) {
                visit(deps);
            }
        }
        if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
            for target in targets.values() {
                for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(deps) = target.get(section).and_then(toml::Value::as_table) {
                        visit(deps);
                    }
                }
            }
        }
        info
    }
}

/// Finds and caches the owning manifest of each directory; each Cargo.toml is parsed once per run
/// and its `CrateInfo` shared by every directory below it. Shared by the worker threads.
#[derive(Default)]
pub struct ManifestCache {
    by_dir: Mutex<HashMap<PathBuf, Arc<CrateInfo>>>,
    by_manifest_dir: Mutex<HashMap<PathBuf, Arc<CrateInfo>>>,
}

/// Locks a cache map; a poisoned lock only means another thread panicked mid-insert.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ManifestCache {
    /// The crate info for the nearest package Cargo.toml above `file` (an empty one when there is none).
    pub fn for_file(&self, file: &Path) -> Arc<CrateInfo> {
        let Some(dir) = file.parent() else {
            return Arc::default();
        };
        if let Some(hit) = lock(&self.by_dir).get(dir) {
            return hit.clone();
        }
        let info = self.for_dir(dir);
        lock(&self.by_dir).insert(dir.to_path_buf(), info.clone());
        info
    }

    fn for_dir(&self, dir: &Path) -> Arc<CrateInfo> {
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if let Some(hit) = lock(&self.by_manifest_dir).get(d) {
                return hit.clone();
            }
            if let Some(info) = Self::load_package(d) {
                let info = Arc::new(info);
                lock(&self.by_manifest_dir).insert(d.to_path_buf(), info.clone());
                return info;
            }
            cur = d.parent();
        }
        Arc::default()
    }

    /// Errors in the `[package.metadata.backpressure]` tables read so far, rendered, sorted.
    pub fn config_errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = lock(&self.by_manifest_dir)
            .values()
            .filter_map(|i| i.config_error.as_ref())
            .map(|e| e.render())
            .collect();
        errors.sort();
        errors
    }

    /// The package manifest in `dir`, if there is one (a virtual workspace manifest is not).
    fn load_package(dir: &Path) -> Option<CrateInfo> {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let table = text.parse::<toml::Table>().ok()?;
        if table.contains_key("workspace") && !table.contains_key("package") {
            return None;
        }
        let ws = find_workspace_root(dir).and_then(|w| read_table(&w.join("Cargo.toml")));
        let mut info = CrateInfo::from_manifest(dir, &table, ws.as_ref().or(Some(&table)));
        match crate::config::package_levels(
            &dir.join("Cargo.toml"),
            &text,
            crate::catalogue::Catalogue::global(),
        ) {
            Ok(levels) => info.levels = levels,
            Err(e) => info.config_error = Some(e),
        }
        Some(info)
    }
}

fn read_table(path: &Path) -> Option<toml::Table> {
    let text = std::fs::read_to_string(path).ok()?;
    text.parse::<toml::Table>().ok()
}

/// The nearest directory at or above `dir` whose Cargo.toml has a `[workspace]` table.
pub fn find_workspace_root(dir: &Path) -> Option<PathBuf> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if read_table(&d.join("Cargo.toml")).is_some_and(|t| t.contains_key("workspace")) {
            return Some(d.to_path_buf());
        }
        cur = d.parent();
    }
    None
}

/// The directory to scan when no path is given: the workspace root of the nearest Cargo.toml
/// at or above `start`, else that crate's directory, else `start`.
pub fn default_scan_root(start: &Path) -> PathBuf {
    let mut cur = Some(start);
    while let Some(d) = cur {
        if d.join("Cargo.toml").is_file() {
            return find_workspace_root(d).unwrap_or_else(|| d.to_path_buf());
        }
        cur = d.parent();
    }
    start.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_direct_and_through_workspace() {
        let ws: toml::Table = r#"
            [workspace]
            [workspace.dependencies]
            rt = { package = "tokio", version = "1" }
        "#
        .parse()
        .unwrap();
        let krate: toml::Table = r#"
            [package]
            name = "x"
            [dependencies]
            tk = { package = "tokio", version = "1.40" }
            rt = { workspace = true }
            my-channel = { package = "crossbeam-channel", version = "0.5" }
            ureq = "3.1"
        "#
        .parse()
        .unwrap();
        let info = CrateInfo::from_manifest(Path::new("/x"), &krate, Some(&ws));
        assert_eq!(info.renames["tk"], "tokio");
        assert_eq!(info.renames["rt"], "tokio");
        assert_eq!(info.renames["my_channel"], "crossbeam_channel");
        assert_eq!(info.version_of("ureq"), Some("3.1"));
    }
}
