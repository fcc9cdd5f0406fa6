//! Configuration: the nearest `backpressure.toml` above the linted path, or `[workspace.metadata.backpressure]`
//! / `[package.metadata.backpressure]` in its workspace's Cargo.toml, parsed with spans and validated in a second
//! step so that every error points at the file, line and column. Effective levels are computed here
//! in one place: catalogue default, then configuration, then the package's table, then `-A/-W/-D`.
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::NoColor, Config as TermConfig};
use globset::{Glob, GlobSet, GlobSetBuilder};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::catalogue::Catalogue;
use crate::diag::{Confidence, Level};
use crate::groups::{self, Selection};
use crate::input::{self, ReadError};
use crate::rules::{ApiExtensions, RuleOptions};

/// The configuration file name looked for in the linted folder and the folders above it.
pub const FILE_NAME: &str = "backpressure.toml";

/// Effective rule levels.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Catalogue defaults refined by the configuration file.
    base: BTreeMap<String, Level>,
    /// `-A/-W/-D` flags: they override everything.
    cli: BTreeMap<String, Level>,
    /// `-D warnings` (or `-A warnings`): the level every finding still at warn ends at.
    warnings: Option<Level>,
}

impl Levels {
    pub fn from_catalogue(catalogue: &Catalogue) -> Levels {
        Levels {
            base: catalogue
                .rules
                .iter()
                .map(|r| (r.id.clone(), r.level))
                .collect(),
            cli: BTreeMap::new(),
            warnings: None,
        }
    }

    /// `-D warnings`: every finding that ends at warn is reported at `level` instead.
    pub fn set_warnings(&mut self, level: Level) {
        self.warnings = Some(level);
    }

    /// Sets a level from configuration.
    pub fn set(&mut self, rule: &str, level: Level) {
        self.base.insert(rule.to_owned(), level);
    }

    /// Sets a level from a command-line flag (`all` for every rule).
    pub fn set_from_cli(&mut self, rule: &str, level: Level) {
        if rule == "all" {
            let ids: Vec<String> = self.base.keys().cloned().collect();
            for id in ids {
                self.cli.insert(id, level);
            }
        } else {
            self.cli.insert(rule.to_owned(), level);
        }
    }

    /// Sets every rule (`-W all`), as a command-line flag does.
    pub fn set_all(&mut self, level: Level) {
        self.set_from_cli("all", level);
    }

    /// The level of `rule` for a file whose package refines levels with `package`.
    pub fn get_for(&self, rule: &str, package: Option<&BTreeMap<String, Level>>) -> Level {
        let level = self
            .cli
            .get(rule)
            .or_else(|| package.and_then(|p| p.get(rule)))
            .or_else(|| self.base.get(rule))
            .copied()
            .unwrap_or(Level::Warn);
        match self.warnings {
            Some(promoted) if level == Level::Warn => promoted,
            _ => level,
        }
    }

    pub fn get(&self, rule: &str) -> Level {
        self.get_for(rule, None)
    }
}

/// A configuration error, rendered like a compiler error pointing into the file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    pub text: String,
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl ConfigError {
    /// The diagnostic as text: `error: ..` with the file, line, column and a caret.
    pub fn render(&self) -> String {
        let name = self.file.display().to_string();
        let file = SimpleFile::new(name.as_str(), self.text.as_str());
        let end = self.span.end.min(self.text.len());
        let start = self.span.start.min(end);
        let mut d = Diagnostic::error()
            .with_message(&self.message)
            .with_labels(vec![Label::primary((), start..end)]);
        if let Some(help) = &self.help {
            d = d.with_notes(vec![format!("help: {help}")]);
        }
        let mut out = NoColor::new(Vec::new());
        let _ = term::emit_to_write_style(&mut out, &TermConfig::default(), &file, &d);
        String::from_utf8_lossy(&out.into_inner()).into_owned()
    }
}

/// The validated configuration.
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from (none when there is no configuration).
    pub source: Option<PathBuf>,
    pub include_tests: Option<bool>,
    pub include_generated: Option<bool>,
    pub max_file_size: Option<u64>,
    /// `min-confidence`: findings below it are not reported (`--min-confidence` wins).
    pub min_confidence: Option<Confidence>,
    /// Exclusion globs, matched against paths relative to `exclude_base`.
    pub exclude: Option<GlobSet>,
    pub exclude_base: PathBuf,
    pub levels: BTreeMap<String, Level>,
    pub options: RuleOptions,
    pub api: ApiExtensions,
    /// `[[overrides]]`, in file order (a later one wins where several match).
    pub overrides: Vec<Override>,
}

/// One `[[overrides]]` entry: levels for the files its globs match.
#[derive(Debug)]
pub struct Override {
    /// Matched like `exclude`, against paths relative to the configuration's folder.
    pub paths: GlobSet,
    pub levels: BTreeMap<String, Level>,
    /// The entry in the file, for errors about it.
    pub span: Range<usize>,
}

impl Config {
    /// Whether `path` is excluded by the configuration's globs.
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|set| self.matches(set, path))
    }

    /// Whether `set` matches `path` or a folder it is in, relative to the configuration's folder.
    fn matches(&self, set: &GlobSet, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.exclude_base).unwrap_or(path);
        let relative = relative.strip_prefix("./").unwrap_or(relative);
        relative
            .ancestors()
            .any(|p| !p.as_os_str().is_empty() && set.is_match(p))
    }

    /// The levels that refine the configuration for `path`: its package's table, then every
    /// `[[overrides]]` entry matching it, in file order.
    pub fn file_levels<'a>(
        &self,
        path: &Path,
        package: &'a BTreeMap<String, Level>,
    ) -> std::borrow::Cow<'a, BTreeMap<String, Level>> {
        let mut levels = std::borrow::Cow::Borrowed(package);
        for o in &self.overrides {
            if self.matches(&o.paths, path) {
                levels
                    .to_mut()
                    .extend(o.levels.iter().map(|(r, l)| (r.clone(), *l)));
            }
        }
        levels
    }
}

/// Where a configuration was found: a file, and the table in it (empty: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    pub table: &'static [&'static str],
}

/// The tables of a Cargo.toml that configure a run, in the order they are looked for.
const MANIFEST_TABLES: [&[&str]; 2] = [
    &["workspace", "metadata", "backpressure"],
    &["package", "metadata", "backpressure"],
];

/// The configuration of the linted folder `start`: the nearest `backpressure.toml` in it or a folder
/// above it, up to `workspace` (its Cargo workspace root; no limit outside a Cargo project), else
/// `[workspace.metadata.backpressure]`, else `[package.metadata.backpressure]` in
/// `workspace/Cargo.toml`. A member's own package table is not a configuration: it refines the levels
/// of that package's files (see [`package_levels`]).
pub fn locate(start: &Path, workspace: Option<&Path>) -> Option<Located> {
    for dir in start.ancestors() {
        let file = dir.join(FILE_NAME);
        // Any file by that name, not only a regular one: a FIFO or device there is an error when
        // it is read, not silently skipped.
        if file.exists() {
            return Some(Located { file, table: &[] });
        }
        if Some(dir) == workspace {
            break;
        }
    }
    let manifest = workspace?.join("Cargo.toml");
    let text = read_config(&manifest).ok()?;
    if DeTable::parse(&text).is_err() && holds_backpressure_config(&text) {
        // Reading it reports the syntax error, rather than running without the configuration.
        return Some(Located {
            file: manifest,
            table: &["package"],
        });
    }
    let table = MANIFEST_TABLES
        .into_iter()
        .find(|table| has_table(&text, table))?;
    Some(Located {
        file: manifest,
        table,
    })
}

/// Reads the configuration for a run: `--config FILE` (`explicit`), else the one `found` by
/// [`locate`], else none (globs would be relative to `base`).
pub fn discover(
    explicit: Option<&Path>,
    found: Option<&Located>,
    base: &Path,
    catalogue: &Catalogue,
) -> Result<Config, Box<ConfigError>> {
    if let Some(path) = explicit {
        let text = read_config(path).map_err(|e| io_error(path, e))?;
        return parse(path, &text, &[], catalogue);
    }
    match found {
        Some(found) => {
            let text = read_config(&found.file).map_err(|e| io_error(&found.file, e))?;
            parse(&found.file, &text, found.table, catalogue)
        }
        None => Ok(Config {
            exclude_base: base.to_path_buf(),
            ..Default::default()
        }),
    }
}

/// Configuration files above this size are refused (a real one is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 10 << 20;

fn read_config(path: &Path) -> Result<String, ReadError> {
    input::read_regular_text(path, MAX_CONFIG_BYTES)
}

fn io_error(path: &Path, e: ReadError) -> Box<ConfigError> {
    Box::new(ConfigError {
        file: path.to_path_buf(),
        text: String::new(),
        span: 0..0,
        message: format!("cannot read {}: {e}", path.display()),
        help: None,
    })
}

/// Whether a manifest's text holds a backpressure table, judged without parsing it (for a manifest
/// that does not parse: its configuration must not be dropped silently).
pub fn holds_backpressure_config(text: &str) -> bool {
    text.lines().any(|l| {
        let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        l.contains("metadata.backpressure")
            || (l.contains("metadata") && l.contains("backpressure"))
    })
}

fn has_table(text: &str, path: &[&str]) -> bool {
    let Ok(root) = DeTable::parse(text) else {
        return false;
    };
    lookup(root.get_ref(), path).is_some()
}

fn lookup<'a, 'i>(table: &'a DeTable<'i>, path: &[&str]) -> Option<&'a Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let value = table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == *first)
        .map(|(_, v)| v)?;
    if rest.is_empty() {
        Some(value)
    } else {
        lookup(value.get_ref().as_table()?, rest)
    }
}

struct Validator<'t> {
    file: &'t Path,
    text: &'t str,
}

impl Validator<'_> {
    fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Box<ConfigError> {
        Box::new(ConfigError {
            file: self.file.to_path_buf(),
            text: self.text.to_owned(),
            span,
            message: message.into(),
            help,
        })
    }

    fn table<'a, 'i>(
        &self,
        v: &'a Spanned<DeValue<'i>>,
        what: &str,
    ) -> Result<&'a DeTable<'i>, Box<ConfigError>> {
        v.get_ref().as_table().ok_or_else(|| {
            self.error(
                v.span(),
                format!("`{what}` must be a table, found {}", v.get_ref().type_str()),
                None,
            )
        })
    }

    fn bool(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<bool, Box<ConfigError>> {
        v.get_ref().as_bool().ok_or_else(|| {
            self.error(
                v.span(),
                format!(
                    "`{key}` must be true or false, found {}",
                    v.get_ref().type_str()
                ),
                None,
            )
        })
    }

    fn string(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<String, Box<ConfigError>> {
        v.get_ref().as_str().map(str::to_owned).ok_or_else(|| {
            self.error(
                v.span(),
                format!("`{key}` must be a string, found {}", v.get_ref().type_str()),
                None,
            )
        })
    }

    fn integer(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<i64, Box<ConfigError>> {
        v.get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok())
            .ok_or_else(|| {
                self.error(
                    v.span(),
                    format!(
                        "`{key}` must be an integer, found {}",
                        v.get_ref().type_str()
                    ),
                    None,
                )
            })
    }

    fn strings(
        &self,
        v: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<Vec<Spanned<String>>, Box<ConfigError>> {
        let array = v.get_ref().as_array().ok_or_else(|| {
            self.error(
                v.span(),
                format!(
                    "`{key}` must be an array of strings, found {}",
                    v.get_ref().type_str()
                ),
                None,
            )
        })?;
        array
            .iter()
            .map(|item| match item.get_ref().as_str() {
                Some(s) => Ok(Spanned::new(item.span(), s.to_owned())),
                None => Err(self.error(
                    item.span(),
                    format!(
                        "`{key}` must hold strings, found {}",
                        item.get_ref().type_str()
                    ),
                    None,
                )),
            })
            .collect()
    }

    fn level(&self, v: &Spanned<DeValue<'_>>) -> Result<Level, Box<ConfigError>> {
        v.get_ref().as_str().and_then(Level::parse).ok_or_else(|| {
            self.error(
                v.span(),
                "invalid level",
                Some("expected one of `allow`, `warn`, `deny`".to_owned()),
            )
        })
    }

    fn confidence(&self, v: &Spanned<DeValue<'_>>) -> Result<Confidence, Box<ConfigError>> {
        v.get_ref()
            .as_str()
            .and_then(Confidence::parse)
            .ok_or_else(|| {
                self.error(
                    v.span(),
                    "invalid `min-confidence`",
                    Some("expected `high` or `medium`".to_owned()),
                )
            })
    }

    fn unknown_key(
        &self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        expected: &[&str],
    ) -> Box<ConfigError> {
        self.error(
            key.span(),
            format!("unknown key `{}`", key.get_ref()),
            Some(format!("expected one of {}", quoted(expected))),
        )
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

const ROOT_KEYS: &[&str] = &[
    "include-tests",
    "include-generated",
    "exclude",
    "max-file-size",
    "min-confidence",
    "rules",
    "overrides",
    "api",
];
const API_KEYS: &[&str] = &["unbounded-constructors", "spawners", "timeout-wrappers"];

/// Parses and validates the configuration table at `table_path` (empty: the whole file).
pub fn parse(
    file: &Path,
    text: &str,
    table_path: &[&str],
    catalogue: &Catalogue,
) -> Result<Config, Box<ConfigError>> {
    let v = Validator { file, text };
    let root = DeTable::parse(text).map_err(|e| {
        v.error(
            e.span().unwrap_or(0..0),
            format!("invalid TOML: {}", e.message()),
            None,
        )
    })?;
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut config = Config {
        source: Some(file.to_path_buf()),
        exclude_base: base,
        ..Default::default()
    };
    let table = if table_path.is_empty() {
        root.get_ref()
    } else {
        match lookup(root.get_ref(), table_path) {
            Some(t) => v.table(t, &table_path.join("."))?,
            None => return Ok(config),
        }
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "include-tests" => config.include_tests = Some(v.bool(value, "include-tests")?),
            "include-generated" => {
                config.include_generated = Some(v.bool(value, "include-generated")?)
            }
            "max-file-size" => {
                let n = v.integer(value, "max-file-size")?;
                config.max_file_size = Some(u64::try_from(n).map_err(|_| {
                    v.error(value.span(), "`max-file-size` must not be negative", None)
                })?);
            }
            "min-confidence" => config.min_confidence = Some(v.confidence(value)?),
            "exclude" => {
                config.exclude = Some(glob_set(&v, value, &v.strings(value, "exclude")?)?);
            }
            "overrides" => config.overrides = parse_overrides(&v, value, catalogue)?,
            "rules" => parse_rules(&v, v.table(value, "rules")?, catalogue, &mut config)?,
            "api" => {
                for (api_key, list) in v.table(value, "api")?.iter() {
                    let paths: Vec<String> = v
                        .strings(list, api_key.get_ref())?
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect();
                    match api_key.get_ref().as_ref() {
                        "unbounded-constructors" => config.api.unbounded_constructors = paths,
                        "spawners" => config.api.spawners = paths,
                        "timeout-wrappers" => config.api.timeout_wrappers = paths,
                        _ => return Err(v.unknown_key(api_key, API_KEYS)),
                    }
                }
            }
            _ => return Err(v.unknown_key(key, ROOT_KEYS)),
        }
    }
    Ok(config)
}

fn parse_rules(
    v: &Validator<'_>,
    rules: &DeTable<'_>,
    catalogue: &Catalogue,
    config: &mut Config,
) -> Result<(), Box<ConfigError>> {
    let levels = rule_levels(v, rules, catalogue, Some(&mut config.options))?;
    config.levels.extend(levels);
    Ok(())
}

/// The levels a `rules` table sets. A group (a family or `all`) sets each of its rules; a rule named
/// by its id wins over its groups wherever it is written. `options` is `None` where only levels may
/// be set (in `[[overrides]]`).
fn rule_levels(
    v: &Validator<'_>,
    rules: &DeTable<'_>,
    catalogue: &Catalogue,
    mut options: Option<&mut RuleOptions>,
) -> Result<BTreeMap<String, Level>, Box<ConfigError>> {
    let mut from_groups = BTreeMap::new();
    let mut from_ids = BTreeMap::new();
    for (id, setting) in rules.iter() {
        let Some(doc) = catalogue.get(id.get_ref()) else {
            let name: &str = id.get_ref();
            if name == groups::WARNINGS {
                return Err(v.error(
                    id.span(),
                    "`warnings` is a command-line selector",
                    Some("pass `-D warnings`, or set `all` or a family to a level".to_owned()),
                ));
            }
            let Ok(Selection::Rules(members)) = groups::resolve(catalogue, name, false) else {
                return Err(v.error(
                    id.span(),
                    format!("unknown rule `{name}`"),
                    Some(groups::unknown_help(catalogue, name, false)),
                ));
            };
            if !matches!(setting.get_ref(), DeValue::String(_)) {
                return Err(v.error(
                    setting.span(),
                    format!("the group `{name}` takes a level only"),
                    Some(format!(
                        "write `{name} = \"deny\"`; options belong to a rule's own table"
                    )),
                ));
            }
            let level = v.level(setting)?;
            for rule in members {
                from_groups.insert(rule, level);
            }
            continue;
        };
        match setting.get_ref() {
            DeValue::String(_) => {
                from_ids.insert(doc.id.clone(), v.level(setting)?);
            }
            DeValue::Table(table) => {
                for (key, value) in table.iter() {
                    let key_str: &str = key.get_ref();
                    if key_str == "level" {
                        from_ids.insert(doc.id.clone(), v.level(value)?);
                        continue;
                    }
                    let Some(options) = options.as_deref_mut() else {
                        return Err(v.error(
                            key.span(),
                            format!("`{key_str}`: overrides set levels only"),
                            Some(format!(
                                "write `{} = \"deny\"`; options belong in `[rules.{}]`",
                                doc.id, doc.id
                            )),
                        ));
                    };
                    let Some(option) = doc.options.get(key_str) else {
                        let mut valid: Vec<&str> = vec!["level"];
                        valid.extend(doc.options.keys().map(String::as_str));
                        return Err(v.error(
                            key.span(),
                            format!("unknown option `{key_str}` for rule `{}`", doc.id),
                            Some(format!("expected one of {}", quoted(&valid))),
                        ));
                    };
                    let parsed = match &option.default {
                        toml::Value::Integer(_) => toml::Value::Integer(v.integer(value, key_str)?),
                        toml::Value::Boolean(_) => toml::Value::Boolean(v.bool(value, key_str)?),
                        toml::Value::String(_) => toml::Value::String(v.string(value, key_str)?),
                        other => {
                            return Err(v.error(
                                value.span(),
                                format!(
                                    "option `{key_str}` has an unsupported type {}",
                                    other.type_str()
                                ),
                                None,
                            ))
                        }
                    };
                    options
                        .values
                        .insert((doc.id.clone(), key_str.to_owned()), parsed);
                }
            }
            other => {
                return Err(v.error(
                    setting.span(),
                    format!(
                        "rule `{}` must be a level or a table, found {}",
                        doc.id,
                        other.type_str()
                    ),
                    Some(
                        "write `rule = \"deny\"` or `[rules.rule]` with `level` and options"
                            .to_owned(),
                    ),
                ));
            }
        }
    }
    from_groups.extend(from_ids);
    Ok(from_groups)
}

const OVERRIDE_KEYS: &[&str] = &["paths", "rules"];

/// `[[overrides]]`: levels for the files some globs match, as ruff's per-file-ignores.
fn parse_overrides(
    v: &Validator<'_>,
    value: &Spanned<DeValue<'_>>,
    catalogue: &Catalogue,
) -> Result<Vec<Override>, Box<ConfigError>> {
    let shape_error = || {
        v.error(
            value.span(),
            format!(
                "`overrides` must be an array of tables, found {}",
                value.get_ref().type_str()
            ),
            Some("write `[[overrides]]` with `paths = [..]` and a `rules` table".to_owned()),
        )
    };
    let array = value.get_ref().as_array().ok_or_else(shape_error)?;
    let mut out = Vec::new();
    for entry in array.iter() {
        let table = v.table(entry, "overrides")?;
        let mut paths = None;
        let mut levels = None;
        for (key, value) in table.iter() {
            match key.get_ref().as_ref() {
                "paths" => {
                    let patterns = v.strings(value, "paths")?;
                    if patterns.is_empty() {
                        return Err(v.error(
                            value.span(),
                            "`paths` is empty, so this override applies nowhere",
                            Some(
                                "name at least one glob, e.g. `paths = [\"src/legacy/**\"]`"
                                    .to_owned(),
                            ),
                        ));
                    }
                    paths = Some(glob_set(v, value, &patterns)?);
                }
                "rules" => {
                    levels = Some(rule_levels(v, v.table(value, "rules")?, catalogue, None)?);
                }
                _ => return Err(v.unknown_key(key, OVERRIDE_KEYS)),
            }
        }
        let missing = |what: &str| {
            v.error(
                entry.span(),
                format!("this override has no `{what}`"),
                Some("an override needs `paths = [..]` and a `rules` table".to_owned()),
            )
        };
        out.push(Override {
            paths: paths.ok_or_else(|| missing("paths"))?,
            levels: levels.ok_or_else(|| missing("rules"))?,
            span: entry.span(),
        });
    }
    Ok(out)
}

fn glob_set(
    v: &Validator<'_>,
    value: &Spanned<DeValue<'_>>,
    patterns: &[Spanned<String>],
) -> Result<GlobSet, Box<ConfigError>> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern.get_ref())
            .map_err(|e| v.error(pattern.span(), format!("invalid glob: {}", e.kind()), None))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| v.error(value.span(), format!("invalid globs: {e}"), None))
}

/// The `[package.metadata.backpressure]` table of one member package, validated like the workspace
/// configuration; its `rules` levels refine the workspace's for that package's files.
pub fn package_levels(
    manifest: &Path,
    text: &str,
    catalogue: &Catalogue,
) -> Result<BTreeMap<String, Level>, Box<ConfigError>> {
    if !has_table(text, &["package", "metadata", "backpressure"]) {
        return Ok(BTreeMap::new());
    }
    let config = parse(
        manifest,
        text,
        &["package", "metadata", "backpressure"],
        catalogue,
    )?;
    if let Some(o) = config.overrides.first() {
        // Overrides' globs are relative to the configuration; keep them in one place.
        return Err(Box::new(ConfigError {
            file: manifest.to_path_buf(),
            text: text.to_owned(),
            span: o.span.clone(),
            message: "`overrides` belong in the workspace's configuration".to_owned(),
            help: Some(
                "move them to backpressure.toml or the workspace's Cargo.toml metadata".to_owned(),
            ),
        }));
    }
    Ok(config.levels)
}
