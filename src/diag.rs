//! The finding model shared by rules, the engine and every emitter.
//! Rules create findings with spans; the engine resolves them to lines and columns once.
use std::fmt;

use serde::{Deserialize, Serialize};

/// How a finding is treated: `allow` hides it, `warn` reports it, `deny` reports it as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a finding's evidence reaches. `High`: every step is visible in the code (an external
/// producer, a peer-controlled size, a library type known to wait). `Medium`: the evidence stops
/// at something opaque (a generic type parameter, a type defined elsewhere), so the finding holds
/// only for some of what that could be. Ordered so that `confidence >= minimum` filters.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Medium,
    #[default]
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "medium" => Some(Confidence::Medium),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a source file: 1-based line, 1-based column in Unicode code points, and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    #[serde(skip)]
    pub byte: usize,
}

/// A source range; `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Region {
    pub start: Position,
    pub end: Position,
}

/// A secondary location with its own message (where a sender is used in a loop, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub region: Region,
    pub message: String,
    /// The file of a label in another file than the finding's (a caller, a helper), as displayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One reported problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `unbounded-channel`.
    pub rule: String,
    /// The effective level after configuration.
    pub level: Level,
    /// The file, as displayed (relative to the working directory where possible, `/` separated).
    pub path: String,
    /// The primary region: the call, method call or builder chain at fault.
    pub region: Region,
    /// What is wrong and why it is a risk here.
    pub message: String,
    /// The fix.
    pub help: String,
    /// Secondary regions.
    pub labels: Vec<Label>,
    /// How far the evidence reaches.
    pub confidence: Confidence,
    /// For `medium`: where the evidence stops (`None` for `high`).
    pub confidence_reason: Option<String>,
    /// Line-independent identity: rule + normalised flagged line + occurrence index.
    pub fingerprint: String,
    /// A mechanical remedy, when the rule has one that is certainly valid Rust for this spelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// Whether a fix keeps the program's behaviour (`safe`, applied by `--fix`) or changes a type, an
/// error or what happens at run time (`unsafe`, applied only with `--unsafe-fixes`), as ruff marks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    Safe,
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement of a range of the file's original text (an empty range inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub region: Region,
    pub replacement: String,
}

impl Edit {
    /// The replaced bytes of the file's original text.
    pub fn bytes(&self) -> std::ops::Range<usize> {
        self.region.start.byte..self.region.end.byte
    }
}

impl Serialize for Edit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Edit", 5)?;
        st.serialize_field("start", &self.region.start)?;
        st.serialize_field("end", &self.region.end)?;
        st.serialize_field("start_byte", &self.region.start.byte)?;
        st.serialize_field("end_byte", &self.region.end.byte)?;
        st.serialize_field("replacement", &self.replacement)?;
        st.end()
    }
}

/// A finding's remedy: what it does, how safe it is, and its edits (none of them overlap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub message: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

/// What silenced a finding (SARIF's suppression kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressedBy {
    /// A `backpressure:allow(..)` comment in the source (SARIF `inSource`).
    InSource,
    /// The baseline file (SARIF `external`).
    External,
}

/// A finding that a suppression comment or the baseline silenced, kept for `--report-suppressed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: SuppressedBy,
}

/// Why a file was read but not analysed, or not read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NotAnalysed {
    /// The file is not valid Rust syntax for syn.
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },
    /// The file's bytes are not UTF-8.
    NotUtf8,
    /// The file nests deeper than the parser's stack guard allows.
    TooDeep { depth: usize, limit: usize },
    /// The file has more tokens than a syntax tree may hold within the memory bound.
    TooManyTokens { tokens: usize, limit: usize },
    /// A function body asks more of the rules than the time bound allows: they relate each call to
    /// the rest of its function, so their work is its calls times its expressions.
    FunctionTooLarge {
        line: u32,
        calls: usize,
        expressions: usize,
        limit: usize,
    },
    /// The file exceeds the size limit.
    TooLarge { bytes: u64, limit: u64 },
    /// A FIFO, device or socket named on the command line: reading it could block or never end.
    NotRegularFile { file_type: &'static str },
    /// The file could not be read.
    Io { message: String },
    /// The analysis hit an internal error; the run went on.
    Internal { message: String },
}

impl fmt::Display for NotAnalysed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnalysed::Syntax {
                line,
                column,
                message,
            } => {
                write!(f, "syntax error at {line}:{column}: {message}")
            }
            NotAnalysed::NotUtf8 => f.write_str("not valid UTF-8"),
            NotAnalysed::TooDeep { depth, limit } => {
                write!(f, "nesting depth {depth} exceeds the limit of {limit}")
            }
            NotAnalysed::TooManyTokens { tokens, limit } => {
                write!(
                    f,
                    "{tokens} tokens, above the limit of {limit} (its syntax tree would take too much memory)"
                )
            }
            NotAnalysed::TooLarge { bytes, limit } => {
                write!(
                    f,
                    "file is {bytes} bytes, above the size limit of {limit} bytes"
                )
            }
            NotAnalysed::FunctionTooLarge {
                line,
                calls,
                expressions,
                limit,
            } => {
                write!(
                    f,
                    "the function at line {line} has {calls} calls among {expressions} expressions: their product is above the limit of {limit} the rules can follow in bounded time"
                )
            }
            NotAnalysed::NotRegularFile { file_type } => {
                write!(f, "not a regular file ({file_type})")
            }
            NotAnalysed::Io { message } => write!(f, "could not read: {message}"),
            NotAnalysed::Internal { message } => write!(f, "internal error: {message}"),
        }
    }
}

/// Why a file was deliberately left out (these are counted, not errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exempt {
    /// Test code: the crate model says why (`crate_model::TestReason`).
    TestCode,
    /// Its header says `@generated`.
    Generated,
    /// Matched an `exclude` glob of the configuration.
    Excluded,
    /// In a package's source folders but reachable from none of its crate roots: not in the build.
    Unreachable,
}

impl fmt::Display for Exempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exempt::TestCode => "test code",
            Exempt::Generated => "generated code",
            Exempt::Excluded => "excluded by configuration",
            Exempt::Unreachable => "not in any module tree",
        })
    }
}
