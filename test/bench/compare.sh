#!/usr/bin/env bash
# Before/after in one session: runs this tree's call benchmark (test/dist/bench/calls.js) with
# the built transport and workers of checkout A, then B, then A, B… so both builds meet the same
# machine at nearly the same time; a shared machine's load drifts too much between sessions.
# Each checkout must be built (packages/transport/dist, packages/engine/dist); the UAs, the
# configuration and the figures always come from this tree.
# Usage: [ROUNDS=2] [LIMITS=off] test/bench/compare.sh A B [rate=200] [seconds=10] [concurrent=0]
# (concurrent 0 leaves out the held-calls heap phase, which adds ~2.5 minutes per run)
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: [ROUNDS=2] $0 <checkout A> <checkout B> [rate=200] [seconds=10] [concurrent=0]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/../.." && pwd)"
a="$(cd "$1" && pwd)"
b="$(cd "$2" && pwd)"
rate="${3:-200}"
seconds="${4:-10}"
concurrent="${5:-0}"
rounds="${ROUNDS:-2}"

bench="$here/test/dist/bench/calls.js"
[ -f "$bench" ] || { echo "$bench is missing: build this tree's tests (pnpm --filter @switchboard/tests run build)" >&2; exit 2; }
for dir in "$a" "$b"; do
  for main in packages/transport/dist/main.js packages/engine/dist/main.js; do
    [ -f "$dir/$main" ] || { echo "$dir/$main is missing: build that checkout first" >&2; exit 2; }
  done
done

revision() { git -C "$1" describe --always --dirty 2>/dev/null || echo unknown; }
logs="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-compare-XXXXXX")"
echo "A = $a ($(revision "$a"))"
echo "B = $b ($(revision "$b"))"
echo "node test/dist/bench/calls.js $rate $seconds $concurrent, $rounds rounds of A then B; logs in $logs"

summaries=()
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    if [ "$side" = A ]; then root="$a"; else root="$b"; fi
    log="$logs/$side$round.log"
    if SWITCHBOARD_ROOT="$root" node "$bench" "$rate" "$seconds" "$concurrent" >"$log" 2>&1; then :; fi
    line="$(grep '^summary: ' "$log" | tail -n 1 || true)"
    if [ -z "$line" ]; then
      echo "$side$round  no summary (the run failed); last lines of $log:"
      tail -n 15 "$log" | sed 's/^/    /'
      continue
    fi
    echo "$side$round  ${line#summary: }"
    summaries+=("$side ${line#summary: }")
  done
done

# mean of each side's cluster CPU per call and answered calls/s over its runs
printf '%s\n' "${summaries[@]}" | awk '
  {
    side = $1
    if (match($0, /CPU [0-9.]+ ms\/call/)) { split(substr($0, RSTART, RLENGTH), w, " "); cpu[side] += w[2] }
    if (match($0, /[0-9]+ calls\/s answered/)) { split(substr($0, RSTART, RLENGTH), w, " "); cps[side] += w[1] }
    runs[side]++
  }
  END {
    for (s = 1; s <= 2; s++) {
      side = (s == 1) ? "A" : "B"
      if (runs[side] > 0) printf "%s mean  CPU %.3f ms/call, %.0f calls/s answered (%d runs)\n", side, cpu[side] / runs[side], cps[side] / runs[side], runs[side]
    }
    if (runs["A"] > 0 && runs["B"] > 0 && cpu["A"] > 0) printf "B/A   CPU per call %.2f×\n", (cpu["B"] / runs["B"]) / (cpu["A"] / runs["A"])
  }'
