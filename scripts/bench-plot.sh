#!/usr/bin/env bash
# Plots what scripts/bench.sh measured: median latency against N, log scales, one
# line per command, as an SVG (gnuplot; installed with apt when missing).
#
# Usage: scripts/bench-plot.sh [RESULTS_DIR] [SVG]
#   (defaults: target/bench, docs/performance-latency.svg)
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-target/bench}
svg=${2:-docs/performance-latency.svg}
if ! command -v gnuplot >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One gnuplot data block per command: "N median_ms" lines, blocks apart.
python3 - "$results" >"$data" <<'PY'
import glob, json, os, re, sys
by_cmd = {}
for path in glob.glob(os.path.join(sys.argv[1], "n*.json")):
    n = int(re.search(r"n(\d+)\.json$", path).group(1))
    for r in json.load(open(path))["results"]:
        by_cmd.setdefault(r["command"], []).append((n, r["median"] * 1000))
for cmd, points in by_cmd.items():
    print(f'"{cmd}"')
    for n, ms in sorted(points):
        print(n, f"{ms:.3f}")
    print("\n")
PY
blocks=$(grep -c '^"' "$data")
gnuplot <<GP
set terminal svg size 900,560 dynamic font "sans,12"
set output "$svg"
set title "Median latency against N (one hyperfine run per N)"
set xlabel "credentials in the store (N)"
set ylabel "median latency (ms)"
set logscale xy
set key below
set grid
plot for [i=0:$((blocks - 1))] "$data" index i using 1:2 with linespoints title columnheader(1)
GP
echo "bench-plot.sh: wrote $svg" >&2
