//! Reads the Cargo.toml that owns each file: dependency renames (`tk = { package = "tokio" }`,
//! also through `workspace = true`) and dependency versions. The crate model reads each manifest
//! once per run and keeps one `CrateInfo` per package.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the rules need to know about the crate a file belongs to. The maps are shared: each crate
/// root with `use` rewrites of its own has a copy of its package's facts.
#[derive(Debug, Default, Clone)]
pub struct CrateInfo {
    /// Dependency key as used in code (`-` → `_`) → the real package name (`-` → `_`).
    pub renames: Arc<HashMap<String, String>>,
    /// Package name (`-` → `_`) → version requirement as written (empty when unknown).
    pub versions: Arc<HashMap<String, String>>,
    /// Paths that workspace members this package depends on re-export from their own
    /// dependencies, as (prefix written here, canonical prefix): `common::tokio` → `tokio`,
    /// `common::Client` → `reqwest::Client`. Longest prefix first; applied after the file's `use` items.
    pub reexports: Vec<(Vec<String>, Vec<String>)>,
    /// The directory holding this Cargo.toml.
    pub root: Option<PathBuf>,
    /// Dependency keys as used in code (`-` → `_`) that every build of the package's own code
    /// has: `[dependencies]` (also a target's) that are not optional, with the features this
    /// manifest (and the workspace's entry it inherits) turns on. A fix may name these.
    pub always_built: Arc<HashMap<String, Vec<String>>>,
    /// `[package.metadata.backpressure.rules]` levels: they refine the workspace's for this package.
    pub levels: Arc<std::collections::BTreeMap<String, crate::diag::Level>>,
}

impl CrateInfo {
    /// The major version of a dependency, e.g. 3 for `ureq = "3.1"` (0.x gives the minor: 0.12 → 12 with `zero` set).
    pub fn version_of(&self, package: &str) -> Option<&str> {
        self.versions.get(package).map(String::as_str)
    }

    /// The facts of the package whose manifest is `table` (dependency keys resolved through the
    /// `workspace` manifest's `[workspace.dependencies]`).
    pub fn from_manifest(
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
        let mut visit = |deps: &toml::Table, normal: bool| {
            for (key, spec) in deps {
                if normal && spec.get("optional").and_then(toml::Value::as_bool) != Some(true) {
                    let inherited = (spec.get("workspace").and_then(toml::Value::as_bool)
                        == Some(true))
                    .then(|| ws_deps.and_then(|d| d.get(key)))
                    .flatten();
                    let features = [Some(spec), inherited]
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.get("features").and_then(toml::Value::as_array))
                        .flatten()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect();
                    Arc::make_mut(&mut info.always_built).insert(key.replace('-', "_"), features);
                }
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
                    Arc::make_mut(&mut info.renames).insert(key, real.clone());
                }
                Arc::make_mut(&mut info.versions)
                    .insert(real, version.unwrap_or_default().to_owned());
            }
        };
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(deps) = table.get(section).and_then(toml::Value::as_table) {
                visit(deps, section == "dependencies");
            }
        }
        if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
            for target in targets.values() {
                for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(deps) = target.get(section).and_then(toml::Value::as_table) {
                        visit(deps, section == "dependencies");
                    }
                }
            }
        }
        info
    }
}

fn read_table(path: &Path) -> Option<toml::Table> {
    let text = crate::input::read_regular_text(path, crate::input::STRUCTURE_BYTES).ok()?;
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
