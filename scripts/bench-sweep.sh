#!/usr/bin/env bash
# The keyless `sweep` of M expired interventions (1 credential each), for each M
# given: the interventions are opened to end together, then one sweep wipes them
# all; its wall time is measured (one run per M, since a run uses its vault up).
#
# Usage: scripts/bench-sweep.sh [M ...]      (default: 100 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-100 1000}")
read -r -a sizes <<<"${sizes[*]}"
cargo build --release --locked --quiet
iv=$PWD/target/release/intervault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset INTERVAULT_DIR INTERVAULT_PASSPHRASE INTERVAULT_PASSPHRASE_FILE
export TZ=UTC HOME=$work/home
printf 'bench-passphrase\n' >"$work/pass"
keyctl session - bash -s "$iv" "$work" "${sizes[@]}" <<'INNER'
set -euo pipefail
iv=$1 work=$2
shift 2
for m in "$@"; do
  export INTERVAULT_DIR=$work/v-$m INTERVAULT_PASSPHRASE_FILE=$work/pass
  "$iv" init --kdf-memory 8 --kdf-iterations 1 --kdf-parallelism 1 2>/dev/null
  "$iv" unlock --for 1h 2>/dev/null
  # All end together, once every one is open (about 15 ms an open and an add).
  until=$(date -u -d "@$(($(date +%s) + 10 + m * 3 / 100))" +%Y-%m-%dT%H:%M:%SZ)
  for ((i = 0; i < m; i++)); do
    "$iv" open "e$i" --client C --until "$until" >/dev/null
    printf 's\n' | "$iv" add "e$i" c --kind other 2>/dev/null
  done
  "$iv" lock >/dev/null 2>&1 || true
  while [[ $(date -u +%Y-%m-%dT%H:%M:%SZ) < "$until" ]]; do sleep 1; done
  sleep 1
  unset INTERVAULT_PASSPHRASE_FILE
  python3 - "$iv" "$m" <<'PY'
import subprocess, sys, time
iv, m = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
out = subprocess.run([iv, "sweep", "--json"], capture_output=True, text=True, check=True)
took = (time.perf_counter() - start) * 1000
import json
wiped = len(json.loads(out.stdout)["wiped"])
print(f"sweep of {m} expired: {wiped} wiped in {took:.1f} ms, {took / max(wiped, 1):.3f} ms per intervention")
PY
done
INNER
