#!/usr/bin/env bash
# What an unlocked session saves: `intervault get` with an unlocked session (no
# passphrase source at all) against `get` with the passphrase and the default
# KDF (argon2id m=64 MiB, t=3, p=4), measured in the same hyperfine run.
# Needs: hyperfine, keyutils (the session lives in the kernel keyring).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=$PWD/target/release/intervault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export INTERVAULT_DIR=$work/vault TZ=UTC
printf 'bench-passphrase\n' > "$work/pass"
run() { INTERVAULT_PASSPHRASE_FILE="$work/pass" "$bin" "$@"; }
run init 2>/dev/null
run open acme --client "Acme" --for 1d >/dev/null
printf 'secret\n' | run add acme ftp --kind hosting 2>/dev/null

keyctl session - bash -s "$bin" "$work" "${RUNS:-30}" <<'INNER'
set -euo pipefail
bin=$1 work=$2 runs=$3
INTERVAULT_PASSPHRASE_FILE="$work/pass" "$bin" unlock --for 1h 2>/dev/null
# Each timed run starts from the state it measures: locked for the passphrase
# run, unlocked for the session run (the unlock itself is not timed).
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/h.json" \
  --prepare "$bin lock" "$bin get acme ftp --passphrase-file $work/pass" \
  --prepare "$bin unlock --for 1h --passphrase-file $work/pass" "$bin get acme ftp" \
  >/dev/null 2>&1
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
with_pass, with_session = (x["median"] * 1000 for x in r)
print(f"median get, passphrase + KDF: {with_pass:7.1f} ms")
print(f"median get, unlocked session: {with_session:7.1f} ms")
print(f"ratio: {with_pass / with_session:.0f}x")
PY
"$bin" lock 2>/dev/null
INNER
