#!/usr/bin/env bash
# Benchmark on the real-world corpus: the linter (all rules, default prefilter), the linter parsing
# every file (--no-prefilter), and a parse-only baseline, each timed with /usr/bin/time -v; then the
# linter on the corpus copied twice side by side, to show memory does not grow with the tree.
#
#   benches/corpus.sh [CORPUS_DEST]     # default /tmp/bp-corpus; made by ../shared/corpus/make-corpus.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-/tmp/bp-corpus}"
threads="${THREADS:-2}"
if [ ! -d "$dest/focus" ]; then
  bash "$here/../shared/corpus/make-corpus.sh" "$dest"
fi
focus="$dest/focus"
doubled="$dest/doubled"
if [ ! -d "$doubled/b" ]; then
  mkdir -p "$doubled"
  cp -al "$focus" "$doubled/a"
  cp -al "$focus" "$doubled/b"
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cd "$here"
cargo build --release --quiet --bin cargo-backpressure --example parse_only
bin="$here/target/release/cargo-backpressure"
parse_only="$here/target/release/examples/parse_only"

bytes_of() { find "$1" -type f -name '*.rs' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }

measure() { # label, command...
  local label="$1"; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf '%-34s %8.2f s  %8.1f MB/s  %6s MiB peak RSS\n' "$label" "$wall" "$(awk -v b="$BYTES" -v w="$wall" 'BEGIN {printf "%.1f", b/1e6/w}')" "$rss"
  grep -E 'files scanned' "$log" | sed 's/^/    /' || true
  rm -f "$log"
}

BYTES=$(bytes_of "$focus")
echo "corpus: $focus, $(find "$focus" -name '*.rs' | wc -l) files, $(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b/1e6}') MB, $threads threads"
measure "parse-only baseline (syn)" "$parse_only" "$focus" "$threads"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure "linter, all rules, no prefilter" "$bin" "$focus" --threads "$threads" --no-prefilter --format short -o "$work/all.txt"
measure "linter, all rules (default)" "$bin" "$focus" --threads "$threads" --format short -o "$work/prefiltered.txt"
BYTES=$(bytes_of "$doubled")
measure "linter, corpus copied twice" "$bin" "$doubled" --threads "$threads" --format json -o /dev/null

# The prefilter must not change a finding: compare both runs' findings (not the files-not-parsed notes).
findings() { grep -v 'note\[not-analysed\]' "$1" | sort; }
if diff <(findings "$work/all.txt") <(findings "$work/prefiltered.txt") >/dev/null; then
  echo "prefilter soundness: $(findings "$work/all.txt" | wc -l) findings with and without the prefilter, identical"
else
  echo "prefilter soundness: FINDINGS DIFFER"; diff <(findings "$work/all.txt") <(findings "$work/prefiltered.txt") | head -20; exit 1
fi
