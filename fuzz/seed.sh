#!/usr/bin/env bash
# Seeds the fuzz corpus with the fixtures and writes a dictionary of the catalogue's API words and
# Rust tokens, so mutations stay near the code the rules look at.
#   fuzz/seed.sh && cargo +nightly fuzz run analyze -- -dict=fuzz/catalogue.dict -max_total_time=600
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/corpus/analyze"
find "$here/../fixtures" -name '*.rs' -print0 | while IFS= read -r -d '' f; do
  cp "$f" "$here/corpus/analyze/$(echo "$f" | sed 's|.*/fixtures/||; s|/|__|g')"
done
{
  # Every path segment of every catalogue entry (the [matches] lists), once.
  sed -n '/^\[matches\]/,$p' "$here"/../rules/*.toml \
    | grep -o '"[^"]*"' | tr -d '"' | sed 's/ *->.*//' | tr ':' '\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$'
  printf '%s\n' 'fn' 'let' 'loop' 'while' 'async' 'await' 'move' 'impl' 'use' 'mod' 'cfg(test)' 'select!' 'join!' \
    'stream!' '::' '=>' '.await?' '#[' 'Ok(())' 'Poll::Ready(Ok(()))' '{' '}' '(' ')'
} | sort -u | sed 's/.*/"&"/' > "$here/catalogue.dict"
echo "seeded $(ls "$here/corpus/analyze" | wc -l) files; $(wc -l < "$here/catalogue.dict") dictionary words"
