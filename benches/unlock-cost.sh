#!/usr/bin/env bash
# What the default unlock costs: time (hyperfine, median) and peak memory
# (/usr/bin/time) of `intervault list` on a vault made with the default KDF
# (argon2id m=64 MiB, t=3, p=4), next to a keyless `intervault sweep`, which needs no
# passphrase and so shows what the KDF adds, measured in the same run.
# Needs: hyperfine, GNU time (apt-get install hyperfine time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=$PWD/target/release/intervault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export INTERVAULT_DIR=$work/vault INTERVAULT_PASSPHRASE=bench-passphrase TZ=UTC
"$bin" init 2>/dev/null
"$bin" open acme --client "Acme" --for 1d >/dev/null
printf 'secret\n' | "$bin" add acme ftp --kind hosting 2>/dev/null

hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$work/h.json" \
  "$bin list" "$bin get acme ftp" "env -u INTERVAULT_PASSPHRASE $bin sweep" >/dev/null
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
med = {x["command"].split("/intervault ", 1)[1]: x["median"] * 1000 for x in r}
for cmd, ms in med.items():
    print(f"median {cmd:<14} {ms:7.1f} ms")
print(f"list / sweep ratio: {med['list'] / med['sweep']:.1f}x (the KDF and decryption)")
PY
peak=$( { /usr/bin/time -f '%M' "$bin" list >/dev/null; } 2>&1 | tail -n 1)
echo "peak RSS of list: $((peak / 1024)) MiB"
