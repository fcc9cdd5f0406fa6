//! Configuration: `backpressure.toml` at the workspace root, or `[workspace.metadata.backpressure]`
//! / `[package.metadata.backpressure]` in Cargo.toml, parsed with spans and validated in a second
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
use crate::diag::Level;
use crate::rules::{ApiExtensions, RuleOptions};

/// The configuration file name looked for at the workspace root.
pub const FILE_NAME: &str = "backpressure.toml";

/// Effective rule levels.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Catalogue defaults refined by the configuration file.
    base: BTreeMap<String, Level>,
    /// `-A/-W/-D` flags: they override everything.
    cli: BTreeMap<String, Level>,
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
        }
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
        if let Some(l) = self.cli.get(rule) {
            return *l;
        }
        if let Some(l) = package.and_then(|p| p.get(rule)) {
            return *l;
        }
        self.base.get(rule).copied().unwrap_or(Level::Warn)
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
    /// Exclusion globs, matched against paths relative to `exclude_base`.
    pub exclude: Option<GlobSet>,
    pub exclude_base: PathBuf,
    pub levels: BTreeMap<String, Level>,
    pub options: RuleOptions,
    pub api: ApiExtensions,
}

impl Config {
    /// Whether `path` is excluded by the configuration's globs.
    pub fn is_excluded(&self, path: &Path) -> bool {
        let Some(set) = &self.exclude else {
            return false;
        };
        let relative = path.strip_prefix(&self.exclude_base).unwrap_or(path);
        relative
            .ancestors()
            .any(|p| !p.as_os_str().is_empty() && set.is_match(p))
    }
}

/// Finds the configuration for a run: `--config FILE`, else `backpressure.toml` at `root`, else
/// `[workspace.metadata.backpressure]`, else `[package.metadata.backpressure]` in `root/Cargo.toml`.
pub fn discover(
    explicit: Option<&Path>,
    root: &Path,
    catalogue: &Catalogue,
) -> Result<Config, Box<ConfigError>> {
    if let Some(path) = explicit {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        return parse(path, &text, &[], catalogue);
    }
    let file = root.join(FILE_NAME);
    if file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| io_error(&file, e))?;
        return parse(&file, &text, &[], catalogue);
    }
    let manifest = root.join("Cargo.toml");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        if DeTable::parse(&text).is_err() && holds_backpressure_config(&text) {
            // Report the syntax error rather than run without the configuration.
            return parse(&manifest, &text, &["package"], catalogue);
        }
        for table in [
            &["workspace", "metadata", "backpressure"][..],
            &["package", "metadata", "backpressure"][..],
        ] {
            if has_table(&text, table) {
                return parse(&manifest, &text, table, catalogue);
            }
        }
    }
    Ok(Config {
        exclude_base: root.to_path_buf(),
        ..Default::default()
    })
}

fn io_error(path: &Path, e: std::io::Error) -> Box<ConfigError> {
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
    "rules",
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
            "exclude" => {
                let mut builder = GlobSetBuilder::new();
                for pattern in v.strings(value, "exclude")? {
                    let glob = Glob::new(pattern.get_ref()).map_err(|e| {
                        v.error(pattern.span(), format!("invalid glob: {}", e.kind()), None)
                    })?;
                    builder.add(glob);
                }
                config.exclude = Some(
                    builder
                        .build()
                        .map_err(|e| v.error(value.span(), format!("invalid globs: {e}"), None))?,
                );
            }
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
    for (id, setting) in rules.iter() {
        let Some(doc) = catalogue.get(id.get_ref()) else {
            return Err(v.error(
                id.span(),
                format!("unknown rule `{}`", id.get_ref()),
                Some(format!(
                    "the rules are: {}",
                    catalogue.ids().collect::<Vec<_>>().join(", ")
                )),
            ));
        };
        match setting.get_ref() {
            DeValue::String(_) => {
                config.levels.insert(doc.id.clone(), v.level(setting)?);
            }
            DeValue::Table(table) => {
                for (key, value) in table.iter() {
                    let key_str: &str = key.get_ref();
                    if key_str == "level" {
                        config.levels.insert(doc.id.clone(), v.level(value)?);
                        continue;
                    }
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
                    config
                        .options
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
    Ok(())
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
    Ok(parse(
        manifest,
        text,
        &["package", "metadata", "backpressure"],
        catalogue,
    )?
    .levels)
}
