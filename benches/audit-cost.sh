#!/usr/bin/env bash
# What the audit trail adds to `intervault get`: a release build of a base revision
# without it (first argument, default 8dce9d4, the last commit before the audit
# trail) against a release build of the current checkout, each on its own vault
# (cheap KDF, m=8 MiB, t=1, p=1), for `get` with the passphrase file and for `get`
# with an unlocked session, all four measured in the same hyperfine run. Then the
# number and size of the audit records the current build wrote.
# Needs: git, hyperfine, keyutils (the session lives in the kernel keyring), python3.
# Usage: [RUNS=30] benches/audit-cost.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-8dce9d4}
# Only the flags below choose the vault and the passphrase: nothing inherited.
unset INTERVAULT_DIR INTERVAULT_PASSPHRASE INTERVAULT_PASSPHRASE_FILE
export TZ=UTC
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/base" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
git worktree add --quiet --detach "$work/base" "$BASE"
(cd "$work/base" && CARGO_TARGET_DIR=$work/base-target cargo build --release --locked --quiet)
cargo build --release --locked --quiet
without=$work/base-target/release/intervault
with=$PWD/target/release/intervault
printf 'bench-passphrase\n' > "$work/pass"
for side in without with; do
  bin=${!side} dir=$work/vault-$side
  run() { INTERVAULT_DIR=$dir INTERVAULT_PASSPHRASE_FILE=$work/pass "$bin" "$@"; }
  run init --kdf-memory 8 --kdf-iterations 1 --kdf-parallelism 1 2>/dev/null
  run open acme --client "Acme" --for 1d >/dev/null
  printf 'secret\n' | run add acme ftp --kind hosting 2>/dev/null
done

keyctl session - bash -s "$without" "$with" "$work" "${RUNS:-30}" <<'INNER'
set -euo pipefail
without=$1 with=$2 work=$3 runs=$4 pass=$3/pass
vw=$work/vault-without vv=$work/vault-with
"$without" unlock --for 1h --vault "$vw" --passphrase-file "$pass" 2>/dev/null
"$with" unlock --for 1h --vault "$vv" --passphrase-file "$pass" 2>/dev/null
# Each timed run starts from the state it measures: locked for the passphrase
# runs (a live session would be used first), unlocked for the session runs.
hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$work/h.json" \
  -n "pass/without" --prepare "$without lock --vault $vw" \
  "$without get acme ftp --vault $vw --passphrase-file $pass" \
  -n "pass/with" --prepare "$with lock --vault $vv" \
  "$with get acme ftp --vault $vv --passphrase-file $pass" \
  -n "session/without" --prepare "$without unlock --for 1h --vault $vw --passphrase-file $pass" \
  "$without get acme ftp --vault $vw" \
  -n "session/with" --prepare "$with unlock --for 1h --vault $vv --passphrase-file $pass" \
  "$with get acme ftp --vault $vv" \
  >/dev/null
"$without" lock --vault "$vw" >/dev/null 2>&1 || true
"$with" lock --vault "$vv" >/dev/null 2>&1 || true
INNER

python3 - "$work/h.json" "$BASE" <<'PY'
import json, sys
med = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"median `get acme ftp` (ms), without = {sys.argv[2]}, with = current checkout")
for name, ms in med.items():
    print(f"  {name:<16} {ms:8.2f}")
for pair in ("pass", "session"):
    a, b = med[f"{pair}/without"], med[f"{pair}/with"]
    print(f"  {pair:<8} with - without: {b - a:+7.2f} ms   with / without: {b / a:5.2f}x")
PY
log=$work/vault-with/audit/audit.log
if [[ -f $log ]]; then
  echo "audit log of the 'with' vault: $(wc -l < "$log") records, $(stat -c %s "$log") bytes"
else
  echo "audit log of the 'with' vault: absent ($log)"
fi
