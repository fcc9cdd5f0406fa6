//! A structured mutation shared by the targets: a long run of one nesting step (a prefix keyword,
//! a postfix group, an operator, a type constructor), or of an opener and its closer around a
//! point, inserted at a character boundary. Byte-level mutations would take thousands of
//! generations to grow such runs, if ever, and they are what overflows a stack or fills memory.
//! Half of the mutations stay libFuzzer's own.

/// Steps repeated before an operand.
const PREFIXES: &[&str] = &[
    "return ",
    "break ",
    "break 'a ",
    "yield ",
    "- ",
    "!",
    "*",
    "&",
    "&&",
    "&mut ",
    "..",
    "|| ",
    "|a, b| ",
    "#[a] |a, b| ",
    "a || |a, b| ",
    "move || ",
    "async move |a| ",
    "x = ",
    "x += ",
    "x @ ",
    "let Some(x) = y && ",
    "else if a {} ",
    "fn(u8) -> ",
    "impl Fn() -> ",
    "*const ",
    "&'a mut ",
    "dyn Fn() -> ",
];

/// Steps repeated after an operand.
const SUFFIXES: &[&str] = &[
    "()",
    "[0]",
    ".f()",
    ".a",
    ".0",
    "?",
    ".await",
    " as u8",
    " + x",
    " | x",
    " < x",
    " << x",
    ".send(1)",
    ".try_send(1)",
    ",",
    ";",
    "{}",
    "x;",
    "#[a]",
];

/// Openers and closers nested around a point.
const WRAPS: &[(&str, &str)] = &[
    ("(", ")"),
    ("[", "]"),
    ("{ ", " }"),
    ("Vec<", ">"),
    ("HashMap<u8, ", ">"),
    ("Box<dyn Fn() -> ", ">"),
    ("<", " as Tr>::A"),
    ("impl Iterator<Item = ", ">"),
    ("async move { ", " }"),
    ("move || { ", " }"),
    ("match x { _ => ", " }"),
    ("S { a: ", " }"),
    ("S(", ")"),
    ("f(", ")"),
    ("tx.send(", ")"),
    ("vec![", "]"),
    ("unbounded!(", ")"),
    ("tokio::select! { x = y => { ", " } }"),
    ("tokio::spawn(async move { ", " })"),
    ("let Some(x) = y else { ", " };"),
    ("'a: { ", " }"),
    ("loop { ", " }"),
    ("if x { ", " }"),
    ("mod a { ", " }"),
    ("fn f() { ", " }"),
    ("impl A { fn f() { ", " } }"),
    ("#[a(", ")]"),
    ("[", "; 1]"),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A position at or before `at` where inserting ASCII keeps valid UTF-8 valid.
fn boundary(input: &[u8], mut at: usize) -> usize {
    while at > 0 && at < input.len() && (input[at] & 0xC0) == 0x80 {
        at -= 1;
    }
    at
}

/// The custom mutator: `data` is the buffer (its length is `max_size`), `size` the input's
/// length; returns the new length.
pub fn mutate(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    if rng.below(2) == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let input = &data[..size];
    let room = max_size.saturating_sub(size);
    // 16 to 131,072 repetitions: enough to pass any limit, or to sit just under it.
    let count = 1usize << (4 + rng.below(14));
    let (open, close, core) = match rng.below(3) {
        0 => (PREFIXES[rng.below(PREFIXES.len())], "", "x"),
        1 => ("", SUFFIXES[rng.below(SUFFIXES.len())], ""),
        _ => {
            let (o, c) = WRAPS[rng.below(WRAPS.len())];
            (o, c, "x")
        }
    };
    let step = open.len() + close.len();
    let count = count.min(room.saturating_sub(core.len()) / step.max(1));
    if count == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let at = boundary(input, rng.below(size + 1));
    let mut out = Vec::with_capacity(size + count * step + core.len());
    out.extend_from_slice(&input[..at]);
    out.extend(open.as_bytes().iter().cycle().take(open.len() * count));
    if !open.is_empty() {
        out.extend_from_slice(core.as_bytes());
    }
    out.extend(close.as_bytes().iter().cycle().take(close.len() * count));
    out.extend_from_slice(&input[at..]);
    let len = out.len().min(max_size);
    data[..len].copy_from_slice(&out[..len]);
    len
}
