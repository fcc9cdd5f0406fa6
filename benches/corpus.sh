#!/usr/bin/env bash
# Benchmark on the real-world corpus: the linter (all rules, default prefilter), the linter parsing
# every file (--no-prefilter), and a parse-only baseline, each timed with /usr/bin/time -v; then the
# linter on the corpus copied twice side by side, to show memory does not grow with the tree; then
# the cache cold, warm, and after one crate root changed, with the findings compared to an
# uncached run's. The runs that measure the analysis pass --no-cache.
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
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  # CPU time (user + system): the machine is shared, so wall time alone says little.
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s+=$2} END {printf "%.2f", s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf '%-34s %8.2f s wall %8.2f s CPU  %8.1f MB/s  %6s MiB peak RSS\n' "$label" "$wall" "$cpu" "$(awk -v b="$BYTES" -v w="$wall" 'BEGIN {printf "%.1f", b/1e6/w}')" "$rss"
  grep -E 'files scanned|^cache: ' "$log" | sed 's/^/    /' || true
  rm -f "$log"
}

BYTES=$(bytes_of "$focus")
echo "corpus: $focus, $(find "$focus" -name '*.rs' | wc -l) files, $(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b/1e6}') MB, $threads threads"
echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
measure "parse-only baseline (syn)" "$parse_only" "$focus" "$threads"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure "linter, all rules, no prefilter" "$bin" "$focus" --threads "$threads" --no-cache --no-prefilter --format short -o "$work/all.txt"
measure "linter, all rules (default)" "$bin" "$focus" --threads "$threads" --no-cache --format short -o "$work/prefiltered.txt"

# The cache: cold (empty), warm (nothing changed), and after one crate root changed (a comment
# appended; restored with its stamp afterwards: the corpus is shared, and hard-linked into
# `doubled`). `--stats` prints how many files came from the cache.
cache="$work/cache"
measure "linter, cache cold" "$bin" "$focus" --threads "$threads" --cache-dir "$cache" --stats --format short -o "$work/cold.txt"
measure "linter, cache warm" "$bin" "$focus" --threads "$threads" --cache-dir "$cache" --stats --format short -o "$work/warm.txt"
measure "linter, cache warm (again)" "$bin" "$focus" --threads "$threads" --cache-dir "$cache" --stats --format short -o "$work/warm2.txt"
touched=$(find "$focus" -path '*/src/lib.rs' | sort | sed -n 1p)  # not head: under pipefail, sort's SIGPIPE would end the script
cp -p "$touched" "$work/touched.orig"
restore() { cat "$work/touched.orig" >"$touched"; touch -r "$work/touched.orig" "$touched"; }
trap 'restore; rm -rf "$work"' EXIT
printf '\n// touched by benches/corpus.sh\n' >>"$touched"
measure "linter, cache, one file touched" "$bin" "$focus" --threads "$threads" --cache-dir "$cache" --stats --format short -o "$work/touched.txt"
restore
trap 'rm -rf "$work"' EXIT

BYTES=$(bytes_of "$doubled")
measure "linter, corpus copied twice" "$bin" "$doubled" --threads "$threads" --no-cache --format json -o /dev/null

# The prefilter must not change a finding: compare both runs' findings (not the files-not-parsed notes).
findings() { grep -v 'note\[not-analysed\]' "$1" | sort; }
if diff <(findings "$work/all.txt") <(findings "$work/prefiltered.txt") >/dev/null; then
  echo "prefilter soundness: $(findings "$work/all.txt" | wc -l) findings with and without the prefilter, identical"
else
  echo "prefilter soundness: FINDINGS DIFFER"; diff <(findings "$work/all.txt") <(findings "$work/prefiltered.txt") | head -20; exit 1
fi
# The cache must not change a finding either: cold, warm and touched against the uncached run.
for run in cold warm warm2 touched; do
  if ! diff "$work/prefiltered.txt" "$work/$run.txt" >/dev/null; then
    echo "cache soundness: the $run run's FINDINGS DIFFER"; diff "$work/prefiltered.txt" "$work/$run.txt" | head -20; exit 1
  fi
done
echo "cache soundness: $(findings "$work/prefiltered.txt" | wc -l) findings without the cache, cold, warm and after one file changed, identical"
