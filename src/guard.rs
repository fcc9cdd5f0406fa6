//! A lexical pre-scan that bounds how deep syn (and every visitor after it) will recurse on a file,
//! so that hostile or generated input is reported as not analysed instead of overflowing the stack.
//!
//! The estimate is an upper bound on AST depth: each open delimiter costs `DELIMITER_COST` (syn
//! recurses through several frames per bracket) and each operator-like token adds one level to the
//! current expression chain (binary chains, method chains and unary runs nest in the AST even though
//! syn parses them in a loop). `,` and `;` start a sibling, so they reset the chain of their level.

/// Estimated depth above which a file is not analysed. Real code peaks near 1,500 on the corpus.
pub const DEPTH_LIMIT: usize = 16_384;
const DELIMITER_COST: usize = 16;

/// Returns the estimated nesting depth of `text`, stopping early once it passes `limit`.
pub fn estimated_depth(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    // Per open delimiter: the operator count of its current segment.
    let mut chains: Vec<usize> = vec![0];
    let mut depth = 0usize; // sum over levels of DELIMITER_COST + chain
    let mut max = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'"' => {
                i = skip_quoted(bytes, i + 1);
                continue;
            }
            b'r' | b'b' | b'c' if is_raw_string_start(bytes, i) => {
                i = skip_raw_string(bytes, i);
                continue;
            }
            b'\'' => {
                i = skip_char_or_lifetime(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                chains.push(0);
                depth += DELIMITER_COST;
            }
            b')' | b']' | b'}' if chains.len() > 1 => {
                let chain = chains.pop().unwrap_or(0);
                depth = depth.saturating_sub(DELIMITER_COST + chain);
            }
            b',' | b';' => {
                if let Some(chain) = chains.last_mut() {
                    depth -= *chain;
                    *chain = 0;
                }
            }
            b'.' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'!' | b'<' | b'>'
            | b'=' | b'?' | b'@' => {
                if let Some(chain) = chains.last_mut() {
                    *chain += 1;
                    depth += 1;
                }
            }
            b'a' | b'e' if is_chain_keyword(bytes, i) => {
                if let Some(chain) = chains.last_mut() {
                    *chain += 1;
                    depth += 1;
                }
            }
            _ => {}
        }
        if depth > max {
            max = depth;
            if max > limit {
                return max;
            }
        }
        i += 1;
    }
    max
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// `as` and `else` chain like operators (`x as u8 as u16`, `else if` ladders).
fn is_chain_keyword(bytes: &[u8], i: usize) -> bool {
    if i > 0 && is_ident_byte(bytes[i - 1]) {
        return false;
    }
    for kw in [&b"as"[..], &b"else"[..]] {
        if bytes[i..].starts_with(kw) && !bytes.get(i + kw.len()).is_some_and(|&b| is_ident_byte(b))
        {
            return true;
        }
    }
    false
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
    i
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
    i
}

/// `'a'`, `'\n'`, `'\u{1F600}'` are chars; `'a` is a lifetime or label.
fn skip_char_or_lifetime(bytes: &[u8], i: usize) -> usize {
    if bytes.get(i + 1) == Some(&b'\\') {
        let mut j = i + 2;
        while j < bytes.len() && bytes[j] != b'\'' && j < i + 16 {
            j += 1;
        }
        return j + 1;
    }
    // A single (possibly multi-byte) character followed by a quote.
    let ch_len = match bytes.get(i + 1) {
        Some(&b) if b < 0x80 => 1,
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(_) => 2,
        None => return i + 1,
    };
    if bytes.get(i + 1 + ch_len) == Some(&b'\'') {
        i + 2 + ch_len
    } else {
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_is_shallow() {
        let src = "fn main() { let x = a.b().c()?; if x > 1 { println!(\"{{((\"); } }";
        assert!(estimated_depth(src, DEPTH_LIMIT) < 200);
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
        let src = "fn f() { let s = r#\"((((\"#; let c = '('; /* ((( /* ( */ */ // (((\n let l: &'a str = \"(\"; }";
        assert!(estimated_depth(src, DEPTH_LIMIT) < 60);
    }
}
