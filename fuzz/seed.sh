#!/usr/bin/env bash
# Seeds both fuzz corpora and writes a dictionary of the catalogue's API words and Rust tokens, so
# mutations stay near the code the rules look at:
#   corpus/analyze: the fixtures, and one file per nesting shape repeated 20,000 times (past the
#     depth guard) and 2,000 times (under it);
#   corpus/run: workspaces made of a manifest, a configuration, a member, fixtures as sources and a
#     baseline, split at NUL bytes in the order of fuzz_targets/run.rs's FILES.
#   fuzz/seed.sh && cd fuzz && cargo +nightly fuzz run analyze corpus/analyze -- -dict=catalogue.dict
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/corpus/analyze" "$here/corpus/run"
fixtures=()
while IFS= read -r -d '' f; do fixtures+=("$f"); done < <(find "$here/../fixtures" -name '*.rs' -print0 | sort -z)
for f in "${fixtures[@]}"; do
  cp "$f" "$here/corpus/analyze/$(echo "$f" | sed 's|.*/fixtures/||; s|/|__|g')"
done

# Nesting shapes: `prefix`, the core, `suffix`, each step repeated.
shape() { # name prefix-step core suffix-step
  local name="$1" pre="$2" core="$3" suf="$4" n
  for n in 2000 20000; do
    {
      printf 'use flume::unbounded;\nfn f() { let c = flume::unbounded::<u8>(); '
      for _ in $(seq "$n"); do printf '%s' "$pre"; done
      printf '%s' "$core"
      for _ in $(seq "$n"); do printf '%s' "$suf"; done
      printf '; }\n'
    } > "$here/corpus/analyze/shape-$name-$n.rs"
  done
}
shape return 'return ' 1 ''
shape break 'break ' 1 ''
shape neg '- ' x ''
shape borrow '&' x ''
shape closure '|a, b| ' x ''
shape call '' f '()'
shape index '' x '[0]'
shape method '' x '.f()'
shape try '' x '?'
shape cast '' x ' as u8'
shape parens '(' x ')'
shape blocks '{ ' x ' }'
shape generics 'Vec::<' u8 '>::new()'
shape vec 'vec![' x ']'

# Workspaces for the run target.
manifest='[package]
name = "seed"
version = "0.1.0"
edition = "2021"

[dependencies]
tokio = { version = "1", features = ["full"] }
flume = "0.11"
chan = { package = "crossbeam-channel", version = "0.5" }

[workspace]
members = ["crates/member"]

[workspace.metadata.backpressure]
include-tests = true
'
config='include-tests = false
max-file-size = 1048576
exclude = ["src/extra.rs"]

[rules]
unbounded-queue = "warn"

[rules.unbounded-channel]
level = "deny"
max-capacity = 100000

[api]
unbounded-constructors = ["my_runtime::queue::unbounded"]
spawners = ["my_runtime::spawn_detached"]
'
member='[package]
name = "member"
version = "0.1.0"

[package.metadata.backpressure.rules]
unbounded-channel = "allow"
'
count=${#fixtures[@]}
for i in "${!fixtures[@]}"; do
  other="${fixtures[$(( (i + 1) % count ))]}"
  third="${fixtures[$(( (i + 2) % count ))]}"
  {
    printf '%s\0%s\0' "$manifest" "$config"
    cat "${fixtures[$i]}"; printf '\0'
    printf 'pub fn f() { let (tx, rx) = flume::unbounded::<u8>(); }\n#[cfg(test)]\nmod tests;\n\0'
    printf '%s\0' "$member"
    cat "$other"; printf '\0'
    cat "$third"; printf '\0'
    printf 'target/\n*.bak\n\0'
    printf '{"version": 1, "findings": [{"path": "src/net/mod.rs", "rule": "unbounded-channel", "fingerprint": "00"}]}\0'
    printf '// backpressure:allow(unbounded-channel) seeded\nfn g() { let c = flume::unbounded::<u8>(); }\n'
  } > "$here/corpus/run/workspace-$i"
done

{
  # Every path segment of every catalogue entry (the [matches] lists), once.
  sed -n '/^\[matches\]/,$p' "$here"/../rules/*.toml \
    | grep -o '"[^"]*"' | tr -d '"' | sed 's/ *->.*//' | tr ':' '\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$'
  printf '%s\n' 'fn' 'let' 'loop' 'while' 'async' 'await' 'move' 'impl' 'use' 'mod' 'cfg(test)' 'select!' 'join!' \
    'stream!' '::' '=>' '.await?' '#[' 'Ok(())' 'Poll::Ready(Ok(()))' '{' '}' '(' ')' \
    'return' 'break' 'yield' '[package]' '[workspace]' '[rules]' '[api]' 'deny' 'allow' 'warn' 'backpressure:allow(' \
    '\xef\xbb\xbf'
} | sort -u | sed 's/.*/"&"/' > "$here/catalogue.dict"
echo "seeded $(ls "$here/corpus/analyze" | wc -l) + $(ls "$here/corpus/run" | wc -l) inputs; $(wc -l < "$here/catalogue.dict") dictionary words"
