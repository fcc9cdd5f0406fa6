//! A lexical scanner for a file's module declarations: `mod name;` items with their `#[path]` and
//! `#[cfg(..)]` attributes and the inline modules around them, found without parsing the file.
//! Strings, raw strings, chars, lifetimes and comments are skipped; `{ }` groups are tracked so that
//! only item-level declarations count (a function body is opaque, a macro call's braces, as in
//! `cfg_if!` or tokio's `cfg_net! { mod net; }`, are not).

/// One out-of-line `mod name;` declaration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModDecl {
    pub name: String,
    /// The `#[path = ".."]` value and any `#[cfg_attr(.., path = "..")]` values: each names a file
    /// of the module under some configuration.
    pub paths: Vec<String>,
    /// The directory components the enclosing inline modules add (their `#[path]`, else their name).
    pub inline_dirs: Vec<String>,
    /// The `#[cfg(..)]` attributes on the declaration and on every enclosing inline module, as written.
    pub cfgs: Vec<String>,
}

/// What a file declares.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMods {
    /// `#![cfg(..)]` attributes on the file itself.
    pub inner_cfgs: Vec<String>,
    pub decls: Vec<ModDecl>,
    /// `include!("..")` paths (relative to the file's folder): their text is part of this module.
    pub includes: Vec<String>,
}

impl FileMods {
    /// Declares nothing (most files).
    pub fn is_empty(&self) -> bool {
        self.inner_cfgs.is_empty() && self.decls.is_empty() && self.includes.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident(usize, usize),
    Str(usize, usize),
    Punct(u8),
    /// A literal, a lifetime or anything else that only separates.
    Other,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic() || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    /// Skips a `"..."` body starting after the opening quote; returns the content range.
    fn quoted(&mut self) -> (usize, usize) {
        let start = self.pos;
        while self.pos < self.src.len() {
            match self.src[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return (start, end);
                }
                _ => self.pos += 1,
            }
        }
        (start, self.src.len())
    }

    /// Skips a raw string starting at `r`: `r#*"..."#*`. Returns the content range.
    fn raw(&mut self) -> (usize, usize) {
        self.pos += 1; // r
        let mut hashes = 0;
        while self.peek(0) == b'#' {
            hashes += 1;
            self.pos += 1;
        }
        self.pos += 1; // "
        let start = self.pos;
        while self.pos < self.src.len() {
            if self.src[self.pos] == b'"'
                && self.src[self.pos + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|&&b| b == b'#')
                    .count()
                    == hashes
            {
                let end = self.pos;
                self.pos += 1 + hashes;
                return (start, end);
            }
            self.pos += 1;
        }
        (start, self.src.len())
    }

    /// Whether a raw string starts at `pos + at` (`r"`, `r#"`, `r##"` ...).
    fn raw_string_at(&self, at: usize) -> bool {
        if self.peek(at) != b'r' {
            return false;
        }
        let mut i = at + 1;
        while self.peek(i) == b'#' {
            i += 1;
        }
        self.peek(i) == b'"'
    }

    fn next(&mut self) -> Option<Tok> {
        loop {
            let b = *self.src.get(self.pos)?;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if self.peek(1) == b'/' => {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == b'*' => {
                    self.pos += 2;
                    let mut depth = 1;
                    while self.pos < self.src.len() && depth > 0 {
                        if self.src[self.pos] == b'/' && self.peek(1) == b'*' {
                            depth += 1;
                            self.pos += 2;
                        } else if self.src[self.pos] == b'*' && self.peek(1) == b'/' {
                            depth -= 1;
                            self.pos += 2;
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                b'"' => {
                    self.pos += 1;
                    let (s, e) = self.quoted();
                    return Some(Tok::Str(s, e));
                }
                b'\'' => {
                    // A char literal (`'a'`, `'\n'`, `'é'`) or a lifetime (`'a`).
                    if self.peek(1) == b'\\' {
                        self.pos += 2;
                        while self.pos < self.src.len() && self.src[self.pos] != b'\'' {
                            self.pos += 1;
                        }
                        self.pos += 1;
                        return Some(Tok::Other);
                    }
                    let width = utf8_width(self.peek(1));
                    if self.peek(1 + width) == b'\'' {
                        self.pos += 2 + width;
                    } else {
                        self.pos += 1;
                        while self.pos < self.src.len() && is_ident_continue(self.src[self.pos]) {
                            self.pos += 1;
                        }
                    }
                    return Some(Tok::Other);
                }
                b'b' | b'c' if self.peek(1) == b'"' => {
                    self.pos += 2;
                    self.quoted();
                    return Some(Tok::Other);
                }
                b'b' if self.peek(1) == b'\'' => {
                    self.pos += 2;
                    while self.pos < self.src.len() && self.src[self.pos] != b'\'' {
                        self.pos += if self.src[self.pos] == b'\\' { 2 } else { 1 };
                    }
                    self.pos += 1;
                    return Some(Tok::Other);
                }
                b'b' | b'c' if self.raw_string_at(1) => {
                    self.pos += 1;
                    self.raw();
                    return Some(Tok::Other);
                }
                b'r' if self.raw_string_at(0) => {
                    let (s, e) = self.raw();
                    return Some(Tok::Str(s, e));
                }
                b'r' if self.peek(1) == b'#' && is_ident_start(self.peek(2)) => {
                    self.pos += 2;
                    let start = self.pos;
                    while self.pos < self.src.len() && is_ident_continue(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    return Some(Tok::Ident(start, self.pos));
                }
                b if is_ident_start(b) => {
                    let start = self.pos;
                    while self.pos < self.src.len() && is_ident_continue(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    return Some(Tok::Ident(start, self.pos));
                }
                b if b.is_ascii_digit() => {
                    while self.pos < self.src.len() && is_ident_continue(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    return Some(Tok::Other);
                }
                _ => {
                    self.pos += 1;
                    return Some(Tok::Punct(b));
                }
            }
        }
    }
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[derive(Debug)]
enum Scope {
    /// A module (the file, or an inline `mod x { }`): items in it are read.
    Module {
        dir: Option<String>,
        cfgs: Vec<String>,
    },
    /// A macro call's group at item level: its contents are read as items of the module around it.
    Transparent,
    /// A function body, an impl, a `macro_rules!` body, an expression: declarations inside are not
    /// out-of-line modules of this file.
    Opaque,
}

/// Attributes seen since the last item boundary, and whether anything but a visibility followed.
#[derive(Default)]
struct Pending {
    cfgs: Vec<String>,
    paths: Vec<String>,
    other: bool,
}

/// Whether the text can hold anything [`scan`] reports: an out-of-line `mod name;` (an inline
/// `mod tests { .. }` declares no file), an inner `#![cfg`, or `include!`. Most files hold none of
/// these ("mod" inside "model" or "mode" does not count), and this check costs a fraction of
/// lexing them. A comment inside the declaration (`mod /* .. */ name;`) still counts.
fn may_declare(text: &str) -> bool {
    let bytes = text.as_bytes();
    let out_of_line_mod = memchr::memmem::find_iter(bytes, b"mod").any(|at| {
        if at
            .checked_sub(1)
            .is_some_and(|i| is_ident_continue(bytes[i]))
        {
            return false;
        }
        let mut i = at + 3;
        let skip_space = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            i
        };
        match bytes.get(i) {
            Some(b'/') => return true,
            Some(b) if b.is_ascii_whitespace() => {}
            _ => return false,
        }
        i = skip_space(i);
        if bytes.get(i) == Some(&b'r') && bytes.get(i + 1) == Some(&b'#') {
            i += 2;
        }
        let name_start = i;
        while bytes.get(i).copied().is_some_and(is_ident_continue) {
            i += 1;
        }
        i = skip_space(i);
        i > name_start && matches!(bytes.get(i), Some(b';' | b'/'))
    });
    let inner_cfg = memchr::memmem::find_iter(bytes, b"#!").any(|at| {
        let rest = text[at + 2..].trim_start();
        rest.strip_prefix('[')
            .is_some_and(|r| r.trim_start().starts_with("cfg"))
    });
    out_of_line_mod || inner_cfg || memchr::memmem::find(bytes, b"include!").is_some()
}

/// Reads the module declarations of one file.
pub fn scan(text: &str) -> FileMods {
    let src = text.as_bytes();
    let mut out = FileMods::default();
    if !may_declare(text) {
        return out;
    }
    let mut lx = Lexer { src, pos: 0 };
    let mut stack = vec![Scope::Module {
        dir: None,
        cfgs: Vec::new(),
    }];
    let mut pending = Pending::default();
    // Tokens already read ahead (one is enough for `ident !` and `mod name`).
    let mut buffered: Vec<Tok> = Vec::new();
    let ident = |t: Tok| match t {
        Tok::Ident(s, e) => text.get(s..e),
        _ => None,
    };
    let next = |buffered: &mut Vec<Tok>, lx: &mut Lexer| buffered.pop().or_else(|| lx.next());
    while let Some(tok) = next(&mut buffered, &mut lx) {
        let readable = !matches!(stack.last(), Some(Scope::Opaque));
        match tok {
            Tok::Punct(b'#') if readable => {
                let start = lx.pos - 1;
                let mut inner = false;
                let mut t = next(&mut buffered, &mut lx);
                if t == Some(Tok::Punct(b'!')) {
                    inner = true;
                    t = next(&mut buffered, &mut lx);
                }
                if t != Some(Tok::Punct(b'[')) {
                    if let Some(t) = t {
                        buffered.push(t);
                    }
                    pending.other = true;
                    continue;
                }
                let mut depth = 1;
                let mut first: Option<&str> = None;
                // The string after `path =` (in `#[path = ".."]` or `#[cfg_attr(.., path = "..")]`).
                let mut path_value: Option<(usize, usize)> = None;
                let mut last_two: [Option<Tok>; 2] = [None, None];
                while depth > 0 {
                    let Some(t) = next(&mut buffered, &mut lx) else {
                        break;
                    };
                    match t {
                        Tok::Punct(b'[' | b'(' | b'{') => depth += 1,
                        Tok::Punct(b']' | b')' | b'}') => depth -= 1,
                        Tok::Ident(..) if first.is_none() => first = ident(t),
                        Tok::Str(s, e)
                            if last_two[1] == Some(Tok::Punct(b'='))
                                && last_two[0].and_then(ident) == Some("path") =>
                        {
                            path_value = Some((s, e))
                        }
                        _ => {}
                    }
                    last_two = [last_two[1], Some(t)];
                }
                let attr = text.get(start..lx.pos.min(text.len())).unwrap_or("");
                match first {
                    Some("cfg") => {
                        if inner {
                            if let Some(Scope::Module { cfgs, .. }) = stack.last_mut() {
                                cfgs.push(attr.to_owned());
                            }
                            if stack.len() == 1 {
                                out.inner_cfgs.push(attr.to_owned());
                            }
                        } else {
                            pending.cfgs.push(attr.to_owned());
                        }
                    }
                    Some("path" | "cfg_attr") if !inner => {
                        pending.paths.extend(
                            path_value
                                .and_then(|(s, e)| text.get(s..e))
                                .map(str::to_owned),
                        );
                    }
                    _ => {}
                }
            }
            Tok::Punct(b';') => pending = Pending::default(),
            Tok::Punct(b'{') => {
                // A body or an expression: opaque in a module, still items inside a macro call.
                stack.push(if matches!(stack.last(), Some(Scope::Transparent)) {
                    Scope::Transparent
                } else {
                    Scope::Opaque
                });
                pending = Pending::default();
            }
            Tok::Punct(b'}') => {
                if stack.len() > 1 {
                    stack.pop();
                }
                pending = Pending::default();
            }
            Tok::Ident(..) if readable => {
                let word = ident(tok).unwrap_or("");
                match word {
                    "pub" => {
                        // `pub(crate)`, `pub(in a::b)`: part of the visibility.
                        let t = next(&mut buffered, &mut lx);
                        if t == Some(Tok::Punct(b'(')) {
                            let mut depth = 1;
                            while depth > 0 {
                                match next(&mut buffered, &mut lx) {
                                    Some(Tok::Punct(b'(')) => depth += 1,
                                    Some(Tok::Punct(b')')) => depth -= 1,
                                    None => break,
                                    _ => {}
                                }
                            }
                        } else if let Some(t) = t {
                            buffered.push(t);
                        }
                    }
                    "mod" => {
                        let name_tok = next(&mut buffered, &mut lx);
                        let name = name_tok.and_then(ident).map(str::to_owned);
                        let after = next(&mut buffered, &mut lx);
                        let attrs = std::mem::take(&mut pending);
                        match (name, after) {
                            (Some(name), Some(Tok::Punct(b';'))) if !attrs.other => {
                                let (inline_dirs, mut cfgs) = context(&stack);
                                cfgs.extend(attrs.cfgs);
                                out.decls.push(ModDecl {
                                    name,
                                    paths: attrs.paths,
                                    inline_dirs,
                                    cfgs,
                                });
                            }
                            (Some(name), Some(Tok::Punct(b'{'))) if !attrs.other => {
                                stack.push(Scope::Module {
                                    dir: Some(attrs.paths.into_iter().next().unwrap_or(name)),
                                    cfgs: attrs.cfgs,
                                });
                            }
                            (_, Some(t)) => buffered.push(t),
                            _ => {}
                        }
                    }
                    "macro_rules" => {
                        // `macro_rules! name { .. }`: the body is opaque.
                        pending.other = true;
                    }
                    _ => {
                        // `name! { .. }` / `path::name!( .. )` at item level: read inside.
                        let t = next(&mut buffered, &mut lx);
                        if t == Some(Tok::Punct(b'!')) {
                            let group = next(&mut buffered, &mut lx);
                            if word == "include" && group == Some(Tok::Punct(b'(')) {
                                let arg = next(&mut buffered, &mut lx);
                                if let Some(Tok::Str(s, e)) = arg {
                                    out.includes.extend(text.get(s..e).map(str::to_owned));
                                } else if let Some(a) = arg {
                                    buffered.push(a);
                                }
                            }
                            if matches!(group, Some(Tok::Punct(b'{' | b'(' | b'['))) {
                                stack.push(Scope::Transparent);
                                pending = Pending::default();
                                continue;
                            }
                            if let Some(g) = group {
                                buffered.push(g);
                            }
                        } else if let Some(t) = t {
                            buffered.push(t);
                        }
                        pending.other = true;
                    }
                }
            }
            Tok::Punct(b'(' | b'[') if matches!(stack.last(), Some(Scope::Transparent)) => {
                // Inside a macro call, parentheses group like braces (`cfg_x!( mod a; )`).
                stack.push(Scope::Transparent);
            }
            Tok::Punct(b')' | b']') if matches!(stack.last(), Some(Scope::Transparent)) => {
                if stack.len() > 1 {
                    stack.pop();
                }
                pending = Pending::default();
            }
            _ => pending.other = true,
        }
    }
    out
}

/// The inline-module directories and cfgs around the current position (none when an opaque scope
/// encloses it).
fn context(stack: &[Scope]) -> (Vec<String>, Vec<String>) {
    let mut dirs = Vec::new();
    let mut cfgs = Vec::new();
    for scope in stack {
        if let Scope::Module { dir, cfgs: c } = scope {
            dirs.extend(dir.clone());
            cfgs.extend(c.iter().cloned());
        }
    }
    (dirs, cfgs)
}

/// Whether `name` appears as a word followed by `::`, or after the word `crate`: what
/// [`names_crate`] confirms with the lexer (a crate's own files mention its name everywhere, in
/// comments and docs; only these spellings are worth lexing).
fn may_name_crate(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, name.as_bytes()).any(|at| {
        let before_ok = at == 0 || !is_ident_continue(bytes[at - 1]);
        let end = at + name.len();
        let after_ok = bytes.get(end).is_none_or(|&b| !is_ident_continue(b));
        // A crate's docs show its own paths (`/// use name::X;`): not worth lexing for.
        let line = &text[text[..at].rfind('\n').map_or(0, |i| i + 1)..at];
        before_ok
            && after_ok
            && !line.contains("//")
            && (text[end..].trim_start().starts_with("::")
                || text[..at].trim_end().ends_with("crate"))
    })
}

/// Whether a file names the crate `name` as a path root (`name::f()`, `use name::x;`, `extern
/// crate name`), outside comments and strings; `a::name::b` does not count.
pub fn names_crate(text: &str, name: &str) -> bool {
    if name.is_empty() || !may_name_crate(text, name) {
        return false;
    }
    let mut lx = Lexer {
        src: text.as_bytes(),
        pos: 0,
    };
    let is_name = |t: Tok| matches!(t, Tok::Ident(s, e) if text.get(s..e) == Some(name));
    let is_word = |t: Tok, w: &str| matches!(t, Tok::Ident(s, e) if text.get(s..e) == Some(w));
    let colon = Tok::Punct(b':');
    // The last five tokens, oldest first: `:: name ::` needs them all.
    let mut window: Vec<Tok> = Vec::with_capacity(6);
    while let Some(tok) = lx.next() {
        window.push(tok);
        if window.len() > 5 {
            window.remove(0);
        }
        let n = window.len();
        // `crate name` (from `extern crate name`).
        if n >= 2 && is_word(window[n - 2], "crate") && is_name(window[n - 1]) {
            return true;
        }
        // `name ::`, not after `::`.
        if n >= 3 && is_name(window[n - 3]) && window[n - 2] == colon && window[n - 1] == colon {
            let after_path = n == 5 && window[0] == colon && window[1] == colon;
            if !after_path {
                return true;
            }
        }
    }
    false
}

/// The text of each module-level `pub use ..;` item of a file (not `pub(crate)`, not inside an
/// inline module, a function or a macro call): what the crate exports under its own root.
pub fn root_pub_uses(text: &str) -> Vec<&str> {
    module_uses(text, true)
}

/// The text of each module-level `use ..;` item of a file, whatever its visibility (from `use`
/// on): what `crate::` paths reach when the file is a crate root (its descendants see them all).
pub fn root_uses(text: &str) -> Vec<&str> {
    module_uses(text, false)
}

fn module_uses(text: &str, only_pub: bool) -> Vec<&str> {
    let mut out = Vec::new();
    if !text.contains("use") {
        return out;
    }
    let mut lx = Lexer {
        src: text.as_bytes(),
        pos: 0,
    };
    let mut depth = 0usize;
    let mut buffered: Vec<Tok> = Vec::new();
    let next = |buffered: &mut Vec<Tok>, lx: &mut Lexer| buffered.pop().or_else(|| lx.next());
    let ident = |t: Option<Tok>| match t {
        Some(Tok::Ident(s, e)) => text.get(s..e),
        _ => None,
    };
    while let Some(tok) = next(&mut buffered, &mut lx) {
        match tok {
            Tok::Punct(b'{' | b'(' | b'[') => depth += 1,
            Tok::Punct(b'}' | b')' | b']') => depth = depth.saturating_sub(1),
            Tok::Ident(start, _)
                if depth == 0 && ident(Some(tok)) == Some(if only_pub { "pub" } else { "use" }) =>
            {
                if only_pub {
                    let after = next(&mut buffered, &mut lx);
                    if ident(after) != Some("use") {
                        buffered.extend(after);
                        continue;
                    }
                }
                // The item runs to the first `;` outside its `{ }` groups.
                let mut groups = 0usize;
                while let Some(t) = next(&mut buffered, &mut lx) {
                    match t {
                        Tok::Punct(b'{') => groups += 1,
                        Tok::Punct(b'}') => groups = groups.saturating_sub(1),
                        Tok::Punct(b';') if groups == 0 => {
                            out.extend(text.get(start..lx.pos));
                            break;
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The names after every `fn`, `struct`, `enum`, `union`, `trait` and `type` keyword of `text`,
/// lexically (a name in a comment or a string may be among them: a superset of the functions,
/// methods and types the file defines).
pub fn item_names(text: &str) -> Vec<&str> {
    const KEYWORDS: [&str; 6] = ["fn", "struct", "enum", "union", "trait", "type"];
    // Each keyword is searched for on its own with memchr's SIMD substring search (far fewer
    // steps than trying every byte, or than one automaton for all six); a match inside a longer
    // identifier or not followed by whitespace is dropped, the others are read in text order.
    static FINDERS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    let finders = FINDERS.get_or_init(|| {
        KEYWORDS
            .iter()
            .map(|k| memchr::memmem::Finder::new(k.as_bytes()))
            .collect()
    });
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let bytes = text.as_bytes();
    let mut keywords_end: Vec<usize> = Vec::new();
    for finder in finders {
        let len = finder.needle().len();
        keywords_end.extend(
            finder
                .find_iter(bytes)
                .filter(|&at| !(at > 0 && is_ident(bytes[at - 1])))
                .map(|at| at + len)
                .filter(|&after| bytes.get(after).is_some_and(|b| b.is_ascii_whitespace())),
        );
    }
    // No keyword ends where another does: the order of the ends is the order of the keywords.
    keywords_end.sort_unstable();
    let mut out = Vec::new();
    // Where the last name read ends: a keyword found inside it is not one.
    let mut read_to = 0;
    for after in keywords_end {
        if after <= read_to {
            continue;
        }
        let mut start = after;
        while bytes.get(start).is_some_and(|b| b.is_ascii_whitespace()) {
            start += 1;
        }
        if bytes[start..].starts_with(b"r#") {
            start += 2;
        }
        let mut end = start;
        while bytes
            .get(end)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        {
            end += 1;
        }
        if end > start {
            // ASCII bytes only: the slice is on character boundaries.
            out.extend(text.get(start..end));
        }
        read_to = end;
    }
    out
}
