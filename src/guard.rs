//! A lexical pre-scan that bounds how deep syn (and every visitor after it) will recurse on a file,
//! and how many tokens its tree will hold, so that hostile or generated input is reported as not
//! analysed instead of overflowing the stack or exhausting memory.
//!
//! The depth estimate is an upper bound on the stack the analysis takes, in units of
//! `WORKER_STACK_BYTES / DEPTH_LIMIT` (16 KiB). It rests on one property of Rust's grammar: every
//! node that nests (a unary or binary operator, a cast, a `return`, a call or index on a call, a
//! generic argument list, a reference type, a closure...) owns at least one token, and a node begun
//! inside a delimited group ends inside it. So the depth at a token is bounded by the sum, over the
//! groups open around it, of a fixed cost per group plus the weight of the tokens of its current
//! *chain*: those since the last point where everything before is closed (a `;`, a `,` of the
//! innermost list, a `=>`, or a `}` followed by a new statement or item). Generic argument lists
//! (`<..>`) and closure parameters (`|..|`) are lists without delimiters: they are tracked as
//! pseudo-levels, so that their commas end only their own elements; a pseudo-level's chain stays
//! counted in its parent when it closes, because a `>` or `|` may be an operator after all.
//!
//! Token weights are the debug build's measured stack per nesting level (the largest frames; see
//! `examples/stack_probe.rs`) in units, with a fifth to spare at least: a reference type takes
//! 32 KB, a generic argument list 50 KB, a `return` 10 KB, a binary operator 1 KB.
use crate::diag::NotAnalysed;

/// Estimated depth above which a file is not analysed. The corpus's parsed files peak at 484 (a
/// table the prefilter skips at 2,758).
pub const DEPTH_LIMIT: usize = 16_384;
/// Tokens above which a file is not analysed: syn's tree and token stream cost up to 1 KB a token
/// (a run of `;`; a `{` counts as `BRACE_TOKENS`), so that two workers each holding a file at the
/// limit peak at 360 MiB, under 512 MiB.
pub const TOKEN_LIMIT: usize = 200_000;

/// What a `{` counts for in the token count.
const BRACE_TOKENS: usize = 3;
/// Each open `(`, `[` or `{`: syn recurses through several frames per group.
const DELIMITER_COST: usize = 16;
/// A generic argument list or qualified path (`<`): 50 KB of debug stack per level.
const ANGLE_WEIGHT: usize = 4;
/// A prefix `&` or `*` (reference and pointer types, borrows, derefs): 32 KB per level in a type.
const PREFIX_POINTER_WEIGHT: usize = 3;
/// `->` (function types nest through it): 36 KB per `fn() ->`, 89 KB per `Box<dyn Fn() ->`.
const ARROW_WEIGHT: usize = 3;

/// Why a file is refused, with the limits used.
pub fn check(text: &str) -> Result<(), NotAnalysed> {
    let scan = scan(text, DEPTH_LIMIT, TOKEN_LIMIT);
    if scan.depth > DEPTH_LIMIT {
        return Err(NotAnalysed::TooDeep {
            depth: scan.depth,
            limit: DEPTH_LIMIT,
        });
    }
    if scan.tokens > TOKEN_LIMIT {
        return Err(NotAnalysed::TooManyTokens {
            tokens: scan.tokens,
            limit: TOKEN_LIMIT,
        });
    }
    Ok(())
}

/// What the pre-scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The estimated depth; once it passes the depth limit the scan stops there.
    pub depth: usize,
    /// The number of tokens proc-macro2 will make of the text (doc comments count as the
    /// attributes they become); counted to the end once it passes the token limit.
    pub tokens: usize,
}

/// Returns the estimated nesting depth of `text`, stopping early once it passes `limit`.
pub fn estimated_depth(text: &str, limit: usize) -> usize {
    scan(text, limit, usize::MAX).depth
}

/// Scans `text` once: the estimated depth (stopping once it passes `depth_limit`) and the token
/// count (once it passes `token_limit`, only tokens are counted, to the end).
pub fn scan(text: &str, depth_limit: usize, token_limit: usize) -> Scan {
    let mut lexer = Lexer {
        bytes: text.as_bytes(),
        i: 0,
    };
    let mut estimate = Estimate::default();
    let mut tokens = 0usize;
    while let Some(token) = lexer.next_token() {
        tokens += token.count();
        if tokens > token_limit {
            while let Some(token) = lexer.next_token() {
                tokens += token.count();
            }
            break;
        }
        estimate.push(token);
        if estimate.max > depth_limit {
            break;
        }
    }
    Scan {
        depth: estimate.max,
        tokens,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a [u8]),
    /// A number, string, byte string or char literal.
    Literal,
    /// A float literal such as `0.0`: in `x.0.0` it is two field accesses.
    FloatLiteral,
    Lifetime,
    /// A doc comment: `inner` for `//!` and `/*!`.
    DocComment {
        inner: bool,
    },
    Punct(u8),
    /// `->`, `=>`, `&&` and `||`: two tokens, but joint ones mean something else.
    Arrow,
    FatArrow,
    AndAnd,
    OrOr,
    Open(u8),
    Close(u8),
}

impl Token<'_> {
    /// How many proc-macro2 tokens this is (a group counts once, at its opening delimiter).
    fn count(self) -> usize {
        match self {
            // `#`, `!`, `[..]`, `doc`, `=`, "text".
            Token::DocComment { inner } => 5 + usize::from(inner),
            // `'` and the name; two punctuation tokens.
            Token::Lifetime | Token::Arrow | Token::FatArrow | Token::AndAnd | Token::OrOr => 2,
            // A block is the costliest node a token makes: its statement vector starts with room
            // for four (nested blocks take 2.7 KB each, a `;` 1 KB).
            Token::Open(b'{') => BRACE_TOKENS,
            Token::Close(_) => 0,
            _ => 1,
        }
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.i + ahead).copied()
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.bytes;
        loop {
            let b = *bytes.get(self.i)?;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => self.i += 1,
                b'/' if self.peek(1) == Some(b'/') => {
                    let start = self.i;
                    while self.i < bytes.len() && bytes[self.i] != b'\n' {
                        self.i += 1;
                    }
                    let comment = &bytes[start..self.i];
                    if comment.starts_with(b"//!") {
                        return Some(Token::DocComment { inner: true });
                    }
                    if comment.starts_with(b"///") && !comment.starts_with(b"////") {
                        return Some(Token::DocComment { inner: false });
                    }
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    let start = self.i;
                    self.i = skip_block_comment(bytes, self.i);
                    let comment = &bytes[start..self.i];
                    if comment.starts_with(b"/*!") {
                        return Some(Token::DocComment { inner: true });
                    }
                    if comment.starts_with(b"/**")
                        && !comment.starts_with(b"/***")
                        && !comment.starts_with(b"/**/")
                    {
                        return Some(Token::DocComment { inner: false });
                    }
                }
                b'"' => {
                    self.i = skip_quoted(bytes, self.i + 1);
                    self.skip_suffix();
                    return Some(Token::Literal);
                }
                b'r' | b'b' | b'c' if is_raw_string_start(bytes, self.i) => {
                    self.i = skip_raw_string(bytes, self.i);
                    self.skip_suffix();
                    return Some(Token::Literal);
                }
                b'b' | b'c' if self.peek(1) == Some(b'"') => {
                    self.i = skip_quoted(bytes, self.i + 2);
                    self.skip_suffix();
                    return Some(Token::Literal);
                }
                b'b' if self.peek(1) == Some(b'\'') => {
                    self.i += 1;
                    let token = self.char_or_lifetime();
                    return Some(token);
                }
                b'\'' => return Some(self.char_or_lifetime()),
                b'0'..=b'9' => {
                    let start = self.i;
                    self.skip_ident_bytes();
                    let mut float = false;
                    // `1.5`, but not `1..2` or `1.max(2)`.
                    if self.peek(0) == Some(b'.')
                        && self.peek(1).is_some_and(|b| b.is_ascii_digit())
                    {
                        self.i += 1;
                        self.skip_ident_bytes();
                        float = true;
                    }
                    // `1e-5`, `2.5E+3`; not `0x1e-5`, a subtraction.
                    let decimal = !matches!(bytes.get(start + 1), Some(b'x' | b'b' | b'o'));
                    if decimal
                        && matches!(bytes[self.i - 1], b'e' | b'E')
                        && matches!(self.peek(0), Some(b'+' | b'-'))
                        && self.peek(1).is_some_and(|b| b.is_ascii_digit())
                    {
                        self.i += 1;
                        self.skip_ident_bytes();
                    }
                    return Some(if float {
                        Token::FloatLiteral
                    } else {
                        Token::Literal
                    });
                }
                b'r' if self.peek(1) == Some(b'#') && self.peek(2).is_some_and(is_ident_start) => {
                    // A raw identifier is never a keyword.
                    self.i += 2;
                    self.skip_ident_bytes();
                    return Some(Token::Ident(b"r#"));
                }
                b if is_ident_start(b) => {
                    let start = self.i;
                    self.skip_ident_bytes();
                    return Some(Token::Ident(&bytes[start..self.i]));
                }
                b'(' | b'[' | b'{' => {
                    self.i += 1;
                    return Some(Token::Open(b));
                }
                b')' | b']' | b'}' => {
                    self.i += 1;
                    return Some(Token::Close(b));
                }
                b'-' | b'=' | b'&' | b'|' => {
                    let joint = match (b, self.peek(1)) {
                        (b'-', Some(b'>')) => Token::Arrow,
                        (b'=', Some(b'>')) => Token::FatArrow,
                        (b'&', Some(b'&')) => Token::AndAnd,
                        (b'|', Some(b'|')) => Token::OrOr,
                        _ => {
                            self.i += 1;
                            return Some(Token::Punct(b));
                        }
                    };
                    self.i += 2;
                    return Some(joint);
                }
                _ => {
                    self.i += 1;
                    return Some(Token::Punct(b));
                }
            }
        }
    }

    fn skip_ident_bytes(&mut self) {
        while self.i < self.bytes.len() && is_ident_byte(self.bytes[self.i]) {
            self.i += 1;
        }
    }

    /// A literal's suffix: `"a"suffix`, `1u8` (numbers take theirs as ident bytes).
    fn skip_suffix(&mut self) {
        if self.peek(0).is_some_and(is_ident_start) {
            self.skip_ident_bytes();
        }
    }

    /// At a `'`: `'a'`, `'\n'`, `'\u{1F600}'`, `'\''` are chars; `'a` and `'r#a` are lifetimes.
    fn char_or_lifetime(&mut self) -> Token<'a> {
        let bytes = self.bytes;
        let quote = self.i;
        if self.peek(1) == Some(b'\\') {
            // The escaped character, then up to the closing quote (`\u{..}` is the longest).
            let mut j = quote + 3;
            while j < bytes.len() && bytes[j] != b'\'' && j < quote + 16 {
                j += 1;
            }
            self.i = (j + 1).min(bytes.len());
            return Token::Literal;
        }
        let ch_len = match self.peek(1) {
            Some(b) if b < 0x80 => 1,
            Some(b) if b >= 0xF0 => 4,
            Some(b) if b >= 0xE0 => 3,
            Some(_) => 2,
            None => {
                self.i += 1;
                return Token::Punct(b'\'');
            }
        };
        if bytes.get(quote + 1 + ch_len) == Some(&b'\'') {
            self.i = quote + 2 + ch_len;
            return Token::Literal;
        }
        self.i += 1;
        if self.peek(0) == Some(b'r') && self.peek(1) == Some(b'#') {
            self.i += 2;
        }
        if self.peek(0).is_some_and(is_ident_start) {
            self.skip_ident_bytes();
            Token::Lifetime
        } else {
            Token::Punct(b'\'')
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    /// `(`, `[` or `{`; `attribute` for the `[..]` of `#[..]` and `#![..]`. A closer closes the
    /// innermost group whatever its delimiter (a mismatch is a syntax error anyway).
    Group { attribute: bool },
    /// A `<` (generic arguments, a qualified path, or a comparison).
    Angle,
    /// A closure's parameters, between `|` and `|`.
    Bar,
}

#[derive(Debug, Clone, Copy)]
struct Level {
    kind: LevelKind,
    /// The weight of the tokens of this level's current chain.
    chain: usize,
}

/// The running estimate over a token sequence.
struct Estimate {
    /// Innermost last; the first is the file itself.
    levels: Vec<Level>,
    /// Sum over levels of `DELIMITER_COST` per group plus every chain.
    depth: usize,
    max: usize,
    /// The previous token ends an operand (an identifier, a literal, a closing delimiter, `?`):
    /// a `|` after it is an operator, elsewhere it opens closure parameters.
    after_operand: bool,
    /// The previous token closed a `}`: a statement or item may have ended there.
    after_brace: bool,
    /// The previous token closed a `)` or `]`: a `(` or `[` now is a call or index on it.
    after_group: bool,
    /// The previous token was `#` (or `#!`): a `[` now opens an attribute.
    after_hash: bool,
}

impl Default for Estimate {
    fn default() -> Self {
        Estimate {
            levels: vec![Level {
                kind: LevelKind::Group { attribute: false },
                chain: 0,
            }],
            depth: 0,
            max: 0,
            after_operand: false,
            after_brace: false,
            after_group: false,
            after_hash: false,
        }
    }
}

/// Keywords after which an operand is expected, each owning a level where it nests (`return`,
/// `break`, `yield` and `become` take an expression; `as`, `else`, `dyn`, `impl`, `fn`, `mut`,
/// `const`, `move`, `async`... prefix a type, a block or a closure).
const PREFIX_KEYWORDS: &[&[u8]] = &[
    b"as", b"async", b"become", b"box", b"break", b"const", b"do", b"dyn", b"else", b"extern",
    b"fn", b"for", b"gen", b"if", b"impl", b"in", b"let", b"loop", b"match", b"move", b"mut",
    b"raw", b"ref", b"return", b"static", b"try", b"unsafe", b"where", b"while", b"yield",
];

/// Keywords that are not operands but own no level (items and visibility).
const ITEM_KEYWORDS: &[&[u8]] = &[
    b"enum", b"macro", b"mod", b"pub", b"struct", b"trait", b"type", b"union", b"use",
];

/// After a `}`, these continue the expression it closed (`{..} as T`, `} else {`, `for S {..} in`).
const CONTINUING_KEYWORDS: &[&[u8]] = &[b"as", b"else", b"in"];

impl Estimate {
    fn add(&mut self, weight: usize) {
        if let Some(level) = self.levels.last_mut() {
            level.chain += weight;
            self.depth += weight;
        }
    }

    fn push_level(&mut self, kind: LevelKind) {
        if matches!(kind, LevelKind::Group { .. }) {
            self.depth += DELIMITER_COST;
        }
        self.levels.push(Level { kind, chain: 0 });
    }

    /// Pops the innermost pseudo-level, its chain counted on in its parent.
    fn close_pseudo(&mut self) {
        if self.levels.len() > 1 {
            if let Some(level) = self.levels.pop() {
                self.add_to_innermost_chain(level.chain);
            }
        }
    }

    fn add_to_innermost_chain(&mut self, chain: usize) {
        if let Some(parent) = self.levels.last_mut() {
            parent.chain += chain;
        }
    }

    fn innermost(&self) -> LevelKind {
        self.levels
            .last()
            .map_or(LevelKind::Group { attribute: false }, |level| level.kind)
    }

    /// Everything since the innermost group's last boundary is closed: drops the pseudo-levels
    /// above that group and its chain.
    fn end_statement(&mut self) {
        while self.levels.len() > 1 && !matches!(self.innermost(), LevelKind::Group { .. }) {
            if let Some(level) = self.levels.pop() {
                self.depth -= level.chain;
            }
        }
        self.reset_chain();
    }

    fn reset_chain(&mut self) {
        if let Some(level) = self.levels.last_mut() {
            self.depth -= level.chain;
            level.chain = 0;
        }
    }

    fn close_group(&mut self) -> Option<bool> {
        // A closer with no group open is a syntax error; it closes nothing.
        let group = self
            .levels
            .iter()
            .rposition(|l| matches!(l.kind, LevelKind::Group { .. }))
            .filter(|&g| g > 0)?;
        let mut attribute = false;
        for level in self.levels.drain(group..) {
            self.depth -= level.chain;
            if let LevelKind::Group { attribute: a } = level.kind {
                self.depth -= DELIMITER_COST;
                attribute = a;
            }
        }
        Some(attribute)
    }

    fn push(&mut self, token: Token<'_>) {
        if std::mem::take(&mut self.after_brace) && starts_sibling(token) {
            self.end_statement();
        }
        let after_operand = std::mem::take(&mut self.after_operand);
        let after_group = std::mem::take(&mut self.after_group);
        let after_hash = std::mem::take(&mut self.after_hash);
        match token {
            Token::Ident(word) => {
                if PREFIX_KEYWORDS.contains(&word) {
                    self.add(1);
                } else {
                    self.after_operand = !ITEM_KEYWORDS.contains(&word);
                }
            }
            Token::Literal => self.after_operand = true,
            Token::FloatLiteral => {
                self.add(1);
                self.after_operand = true;
            }
            Token::Lifetime | Token::DocComment { .. } => {}
            Token::Open(open) => {
                if after_group && open != b'{' {
                    // `f()()`, `x[0][0]`: each call or index nests in the one before.
                    self.add(1);
                }
                self.push_level(LevelKind::Group {
                    attribute: after_hash && open == b'[',
                });
            }
            Token::Close(close) => {
                if let Some(attribute) = self.close_group() {
                    // An attribute's `]` is followed by what it is on, not an operator.
                    self.after_operand = !attribute;
                    self.after_brace = close == b'}';
                    self.after_group = close != b'}' && !attribute;
                }
            }
            Token::Arrow => self.add(ARROW_WEIGHT),
            // A match arm's pattern (and guard) are done; its body is their sibling.
            Token::FatArrow => self.end_statement(),
            Token::AndAnd if after_operand => self.add(2),
            Token::AndAnd => self.add(2 * PREFIX_POINTER_WEIGHT),
            // Logical or, or a closure without parameters.
            Token::OrOr => self.add(2),
            Token::Punct(b) => match b {
                b';' => self.end_statement(),
                b',' => self.reset_chain(),
                b'#' => self.after_hash = true,
                b'!' if after_hash => self.after_hash = true,
                b'<' => {
                    self.add(ANGLE_WEIGHT);
                    self.push_level(LevelKind::Angle);
                }
                b'>' => {
                    if self.innermost() == LevelKind::Angle {
                        self.close_pseudo();
                        self.after_operand = true;
                    } else {
                        self.add(1);
                    }
                }
                b'|' => {
                    if self.innermost() == LevelKind::Bar {
                        self.close_pseudo();
                        self.add(1);
                    } else if after_operand {
                        self.add(1);
                    } else {
                        self.add(1);
                        self.push_level(LevelKind::Bar);
                    }
                }
                b'&' | b'*' => {
                    if after_operand {
                        self.add(1);
                    } else {
                        self.add(PREFIX_POINTER_WEIGHT);
                    }
                }
                b'?' => {
                    self.add(1);
                    self.after_operand = true;
                }
                b'.' | b'+' | b'-' | b'=' | b'/' | b'%' | b'^' | b'!' | b'@' | b'~' => self.add(1),
                // `:`, `$`, `\`: paths, labels and macro variables do not nest.
                _ => {}
            },
        }
        if self.depth > self.max {
            self.max = self.depth;
        }
    }
}

/// After a `}`: does `token` begin a new statement, item or arm rather than continue the
/// expression the brace closed? Punctuation might be an operator on it, so it continues.
fn starts_sibling(token: Token<'_>) -> bool {
    match token {
        Token::Ident(word) => !CONTINUING_KEYWORDS.contains(&word),
        Token::Literal | Token::FloatLiteral | Token::Lifetime | Token::DocComment { .. } => true,
        Token::Open(b) => b == b'{',
        Token::Close(_) => true,
        Token::Punct(b) => b == b'#',
        Token::Arrow | Token::FatArrow | Token::AndAnd | Token::OrOr => false,
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut nesting = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            nesting += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            nesting -= 1;
            i += 2;
            if nesting == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Skips the body of a `"..."` literal starting after the opening quote.
fn skip_quoted(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn is_raw_string_start(bytes: &[u8], i: usize) -> bool {
    if i > 0 && is_ident_byte(bytes[i - 1]) {
        return false;
    }
    let mut j = i;
    if matches!(bytes[j], b'b' | b'c') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return false;
    }
    j += 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    bytes.get(j) == Some(&b'"')
}

fn skip_raw_string(bytes: &[u8], mut i: usize) -> usize {
    while bytes[i] != b'r' {
        i += 1;
    }
    i += 1;
    let mut hashes = 0;
    while bytes.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // opening quote
    while i < bytes.len() {
        if bytes[i] == b'"'
            && bytes[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&b| b == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

/// The work one function body (closures and nested blocks included) may ask of the rules: its calls
/// times its expressions. The rules relate each call to the rest of its function (where a sender
/// goes, whether a timeout wraps a connect), so their time grows with that product: 4,000 connects
/// in one body took 33 s. Real functions stay far below it (on the corpus only generated tables
/// reach it, and `@generated` files are skipped anyway).
pub const FUNCTION_WORK_LIMIT: usize = 5_000_000;

/// A function body too large for the rules to follow: its line, calls and expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OversizedFunction {
    pub line: u32,
    pub calls: usize,
    pub expressions: usize,
}

/// The first function body of `file` whose calls times expressions exceed [`FUNCTION_WORK_LIMIT`].
pub fn oversized_function(file: &syn::File) -> Option<OversizedFunction> {
    use syn::visit::Visit;
    struct Count {
        /// (calls, expressions) of each enclosing function body, innermost last.
        open: Vec<(usize, usize)>,
        found: Option<OversizedFunction>,
    }
    impl Count {
        fn body(&mut self, line: u32, walk: impl FnOnce(&mut Self)) {
            if self.found.is_some() {
                return;
            }
            self.open.push((0, 0));
            walk(self);
            let (calls, expressions) = self.open.pop().unwrap_or((0, 0));
            if let Some(outer) = self.open.last_mut() {
                outer.0 += calls;
                outer.1 += expressions;
            }
            if calls.saturating_mul(expressions) > FUNCTION_WORK_LIMIT && self.found.is_none() {
                self.found = Some(OversizedFunction {
                    line,
                    calls,
                    expressions,
                });
            }
        }
    }
    impl<'ast> Visit<'ast> for Count {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            let line = f.sig.ident.span().start().line as u32;
            self.body(line, |c| syn::visit::visit_item_fn(c, f));
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            let line = f.sig.ident.span().start().line as u32;
            self.body(line, |c| syn::visit::visit_impl_item_fn(c, f));
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            let line = f.sig.ident.span().start().line as u32;
            self.body(line, |c| syn::visit::visit_trait_item_fn(c, f));
        }
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            if self.found.is_some() {
                return;
            }
            if let Some((calls, expressions)) = self.open.last_mut() {
                *expressions += 1;
                *calls += usize::from(matches!(
                    e,
                    syn::Expr::Call(_) | syn::Expr::MethodCall(_) | syn::Expr::Macro(_)
                ));
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut count = Count {
        open: Vec::new(),
        found: None,
    };
    count.visit_file(file);
    count.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(src: &str) -> usize {
        estimated_depth(src, usize::MAX)
    }

    #[test]
    fn ordinary_code_is_shallow() {
        let src = "fn main() { let x = a.b().c()?; if x > 1 { println!(\"{{((\"); } }";
        assert!(depth(src) < 200);
    }

    #[test]
    fn nested_parens_and_long_chains_are_deep() {
        let parens = format!("fn f() {{ {}1{} }}", "(".repeat(5000), ")".repeat(5000));
        assert!(estimated_depth(&parens, DEPTH_LIMIT) > DEPTH_LIMIT);
        let chain = format!("fn f() {{ 1{} }}", "+1".repeat(40_000));
        assert!(estimated_depth(&chain, DEPTH_LIMIT) > DEPTH_LIMIT);
        let list = format!("const A: [u8; 40000] = [{}];", "1,".repeat(40_000));
        assert!(estimated_depth(&list, DEPTH_LIMIT) < 100);
    }

    #[test]
    fn strings_comments_and_chars_do_not_count() {
        let src = "fn f() { let s = r#\"((((\"#; let c = '('; let e = '\\''; /* ((( /* ( */ */ // (((\n let l: &'a str = \"(\"; let b = b'('; }";
        assert!(depth(src) < 60, "{}", depth(src));
    }

    #[test]
    fn prefix_keywords_and_postfix_groups_count() {
        for run in [
            "return ", "break ", "yield ", "- ", "! ", "& ", "* ", "|| ", "move || ",
        ] {
            let src = format!("fn f() {{ {}1; }}", run.repeat(20_000));
            assert!(depth(&src) > DEPTH_LIMIT, "{run:?}: {}", depth(&src));
        }
        for run in ["[0]", "()", ".0", "?", ".await", " as u8"] {
            let src = format!("fn f() {{ x{}; }}", run.repeat(20_000));
            assert!(depth(&src) > DEPTH_LIMIT, "{run:?}: {}", depth(&src));
        }
    }

    #[test]
    fn commas_in_generics_and_closure_parameters_end_only_their_element() {
        let types = format!(
            "type T = {}u8{};",
            "Vec<u8, ".repeat(5_000),
            ">".repeat(5_000)
        );
        assert!(depth(&types) > DEPTH_LIMIT, "{}", depth(&types));
        let closures = format!("fn f() {{ {}1; }}", "|a, b| ".repeat(10_000));
        assert!(depth(&closures) > DEPTH_LIMIT, "{}", depth(&closures));
        // An attribute on a closure does not make its `|` an operator.
        let attributed = format!("fn f() {{ {}1; }}", "return #[a] |a, b| ".repeat(10_000));
        assert!(depth(&attributed) > DEPTH_LIMIT, "{}", depth(&attributed));
    }

    #[test]
    fn statements_and_items_after_a_brace_start_afresh() {
        let items = "fn a() -> Vec<u8> { Vec::new() }\n".repeat(20_000);
        assert!(depth(&items) < 100, "{}", depth(&items));
        let arms = format!(
            "fn f() {{ match x {{ {} }} }}",
            "(0, 1) | (1, 0) => { a < b } ".repeat(20_000)
        );
        assert!(depth(&arms) < 200, "{}", depth(&arms));
        let statements = format!("fn f() {{ {} }}", "if a < b { x = *y; } ".repeat(20_000));
        assert!(depth(&statements) < 200, "{}", depth(&statements));
        // But a brace followed by `else`, `as` or an operator continues the expression.
        let ladder = format!("fn f() {{ if a {{}} {} }}", "else if a {} ".repeat(10_000));
        assert!(depth(&ladder) > DEPTH_LIMIT, "{}", depth(&ladder));
        let sums = format!("fn f() {{ x = {}1; }}", "unsafe { 1 } + ".repeat(20_000));
        assert!(depth(&sums) > DEPTH_LIMIT, "{}", depth(&sums));
    }

    /// proc-macro2's tokens (a group once) and how many of them are `{..}` groups.
    fn proc_macro2_tokens(src: &str) -> (usize, usize) {
        fn walk(stream: proc_macro2::TokenStream, counts: &mut (usize, usize)) {
            for tree in stream {
                counts.0 += 1;
                if let proc_macro2::TokenTree::Group(g) = tree {
                    counts.1 += usize::from(g.delimiter() == proc_macro2::Delimiter::Brace);
                    walk(g.stream(), counts);
                }
            }
        }
        let mut counts = (0, 0);
        walk(src.parse().expect("tokens"), &mut counts);
        counts
    }

    #[test]
    fn tokens_are_counted_as_proc_macro2_makes_them() {
        let samples = [
            "fn f(x: &'a u8) -> u8 { x.0 + 1.5 + 1e5 + 2.5E-3 + 0x1e-5 + 1_000u32 }",
            "/// doc\n//! inner\n// plain\n/* plain */ /** block */ /*! inner */ /**/ x",
            "\"a\" b\"b\" r#\"c\"# br\"d\" c\"e\" 'd' b'e' '\\'' '\\u{1F600}' 'é' \"s\"suffix",
            "r#match && a || b -> c => d 'static 'r#a x.0.1",
        ];
        let mut sources: Vec<String> = samples.iter().map(|s| s.to_string()).collect();
        // And real code: this crate's sources.
        for dir in ["src", "src/engine", "src/rules", "src/emit"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
                if entry.path().extension().is_some_and(|e| e == "rs") {
                    sources.push(std::fs::read_to_string(entry.path()).expect("source"));
                }
            }
        }
        for src in &sources {
            let (tokens, braces) = proc_macro2_tokens(src);
            let scanned = scan(src, usize::MAX, usize::MAX).tokens;
            assert_eq!(
                scanned,
                tokens + braces * (BRACE_TOKENS - 1),
                "{}",
                &src[..src.len().min(80)]
            );
        }
        // Past the limit the rest is still counted, for the message.
        let long = "x;".repeat(1_000);
        assert_eq!(scan(&long, usize::MAX, 10).tokens, 2_000);
    }
}
