#!/usr/bin/env bash
# Installs the real `pre-commit` from PyPI into a virtualenv and runs `pre-commit try-repo` against
# this repository: both hooks (`language: rust` and `language: system`) must block a staged file with
# an unbounded channel and pass a clean one.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pre-commit
echo "pre-commit $("$work/venv/bin/pre-commit" --version | awk '{print $2}') installed in $(( $(date +%s) - start )) s"
export PRE_COMMIT_HOME="$work/cache"
mkdir "$work/project" && cd "$work/project"
git init --quiet
git config user.email ci@example.invalid && git config user.name ci
printf 'fn main() {\n    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u32>();\n}\n' > bad.rs
printf 'fn main() {\n    let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);\n}\n' > clean.rs
git add bad.rs clean.rs
hook_start=$(date +%s)
if "$work/venv/bin/pre-commit" try-repo "$repo" cargo-backpressure --files bad.rs > out.txt 2>&1; then
  cat out.txt; echo "FAIL: the hook passed a file with an unbounded channel"; exit 1
fi
grep -q 'unbounded-channel' out.txt || { cat out.txt; echo "FAIL: the hook did not name the rule"; exit 1; }
echo "hook blocked bad.rs (first run, including the hook's cargo install: $(( $(date +%s) - hook_start )) s)"
"$work/venv/bin/pre-commit" try-repo "$repo" cargo-backpressure --files clean.rs > out.txt 2>&1 || { cat out.txt; echo "FAIL: the hook blocked a clean file"; exit 1; }
echo "hook passed clean.rs"
# The `language: system` hook runs the binary on PATH (installed once, no build in pre-commit's cache).
cargo build --quiet --manifest-path "$repo/Cargo.toml"
if PATH="$repo/target/debug:$PATH" "$work/venv/bin/pre-commit" try-repo "$repo" cargo-backpressure-system --files bad.rs > out.txt 2>&1; then
  cat out.txt; echo "FAIL: the system hook passed a file with an unbounded channel"; exit 1
fi
grep -q 'unbounded-channel' out.txt || { cat out.txt; echo "FAIL: the system hook did not name the rule"; exit 1; }
PATH="$repo/target/debug:$PATH" "$work/venv/bin/pre-commit" try-repo "$repo" cargo-backpressure-system --files clean.rs > out.txt 2>&1 || { cat out.txt; echo "FAIL: the system hook blocked a clean file"; exit 1; }
echo "system hook blocked bad.rs and passed clean.rs"
# A file its parent declares `#[cfg(test)] mod unit;` is test code in the full run: the hook, which
# names only that file, must agree and let the commit through.
mkdir -p crate/src
printf '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n' > crate/Cargo.toml
printf 'pub fn run() {}\n\n#[cfg(test)]\nmod unit;\n' > crate/src/lib.rs
printf 'fn helper() {\n    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u32>();\n}\n' > crate/src/unit.rs
git add crate
PATH="$repo/target/debug:$PATH" "$work/venv/bin/pre-commit" try-repo "$repo" cargo-backpressure-system --files crate/src/unit.rs > out.txt 2>&1 || { cat out.txt; echo "FAIL: the hook blocked a test module the full run skips"; exit 1; }
full_status=0
(cd crate && "$repo/target/debug/cargo-backpressure" --format short . > ../full.txt 2>&1) || full_status=$?
[ "$full_status" -eq 0 ] || { cat full.txt; echo "FAIL: the full run reported the test module"; exit 1; }
echo "system hook passed the staged test module crate/src/unit.rs, as the full run does"
echo "pre-commit check: 5 passed, 0 failed"
