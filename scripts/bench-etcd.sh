#!/usr/bin/env bash
# intervault on a three-member etcd cluster (loopback) against `etcdctl get` of
# one key of the same cluster and against the directory store, for vaults of N
# credentials (10 per intervention), all in ONE hyperfine run.
#
# Usage: scripts/bench-etcd.sh [N ...]   (default: 100 10000)
#   RUNS=20      hyperfine runs per command
#   OUT=DIR      where the JSON results and the table go (default: target/bench-etcd)
# Needs: etcd and etcdctl (Debian etcd-server, etcd-client), hyperfine, python3,
# keyutils (installed with apt when missing and run as root).
#
# For each N: a cluster of its own (three members on 127.0.0.1, ports the kernel
# hands out, data directories in a temporary directory; the flags docs/team.md
# gives, without TLS), a directory vault filled by `examples/bench_vault fill`
# (one process, one unlocking, each open and add a whole library command), and
# the same vault copied into the cluster by `bench_vault copy` (the store API:
# the same bytes). Then, in one hyperfine run for every N: `intervault get` with
# an unlocked session on etcd and on the directory, `etcdctl get` of one key of
# the vault's prefix (a sealed credential set), and `intervault close` on etcd
# of an intervention of 10 credentials (revoke, compaction of the cluster and
# defragmentation of its three members included). Commands run through a shell
# (hyperfine subtracts its start-up). Only the etcd processes this script
# started are stopped, by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-100 10000}")
read -r -a sizes <<<"${sizes[*]}"
runs=${RUNS:-20}

missing=()
for tool in etcd etcdctl hyperfine python3 keyctl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "bench-etcd.sh: installing what is missing: ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    etcd-server etcd-client hyperfine python3 keyutils >/dev/null
fi

cargo build --release --locked --quiet --bin intervault --example bench_vault
work=$(mktemp -d)
# Copies, so that a build during the run does not change what is measured.
cp target/release/intervault target/release/examples/bench_vault "$work/"
iv=$work/intervault
helper=$work/bench_vault
out=${OUT:-$PWD/target/bench-etcd}
mkdir -p "$out"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
unset INTERVAULT_DIR INTERVAULT_PASSPHRASE INTERVAULT_PASSPHRASE_FILE ETCDCTL_ENDPOINTS
export TZ=UTC HOME=$work/home ETCDCTL_API=3
mkdir -p "$HOME"
printf 'bench-passphrase\n' >"$work/pass"

# Starts a three-member cluster for N = $1; prints its client endpoints.
start_cluster() {
  local n=$1 dir=$work/etcd-$1 i
  local -a ports
  read -r -a ports < <(python3 -c '
import socket
held = [socket.socket() for _ in range(9)]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')
  mkdir -p "$dir"
  local initial="m0=http://127.0.0.1:${ports[1]},m1=http://127.0.0.1:${ports[4]},m2=http://127.0.0.1:${ports[7]}"
  for i in 0 1 2; do
    local client=http://127.0.0.1:${ports[i * 3]} peer=http://127.0.0.1:${ports[i * 3 + 1]}
    etcd --name "m$i" --data-dir "$dir/m$i" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --listen-metrics-urls "http://127.0.0.1:${ports[i * 3 + 2]}" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "bench-$$-$n" \
      --logger=zap --log-outputs="$dir/m$i.log" --experimental-enable-lease-checkpoint \
      --auto-compaction-mode=periodic --auto-compaction-retention=1h \
      </dev/null >"$dir/m$i.out" 2>&1 &
    pids+=($!)
  done
  echo "127.0.0.1:${ports[0]},127.0.0.1:${ports[3]},127.0.0.1:${ports[6]}"
}

declare -A endpoints
for n in "${sizes[@]}"; do
  # Not in a subshell: the PIDs must reach the trap.
  start_cluster "$n" >"$work/endpoints-$n"
  endpoints[$n]=$(<"$work/endpoints-$n")
done
for n in "${sizes[@]}"; do
  for ((t = 0; ; t++)); do
    etcdctl --endpoints="${endpoints[$n]}" endpoint health >/dev/null 2>&1 && break
    if ((t > 300)); then
      echo "bench-etcd.sh: the cluster for N = $n did not become healthy" >&2
      tail -n 5 "$work/etcd-$n"/*.out >&2
      exit 1
    fi
    sleep 0.1
  done
done

for n in "${sizes[@]}"; do
  echo "bench-etcd.sh: N = $n: filling a directory vault and copying it into etcd" >&2
  "$helper" fill "$work/dir-$n" "$n" "$work/pass"
  "$helper" copy "$work/dir-$n" "etcd://${endpoints[$n]}/bench/n$n"
done

keyctl session - bash -s "$iv" "$work" "$out" "$runs" "$(declare -p endpoints)" "${sizes[@]}" <<'INNER'
set -euo pipefail
iv=$1 work=$2 out=$3 runs=$4
eval "$5"
shift 5
export INTERVAULT_PASSPHRASE_FILE=$work/pass
cmds=()
for n in "$@"; do
  mid=$((n / 20))
  eps=${endpoints[$n]}
  url=etcd://$eps/bench/n$n
  dir=$work/dir-$n
  for vault in "$url" "$dir"; do
    if ! "$iv" --vault "$vault" unlock --for 12h 2>"$work/err" ||
      ! "$iv" --vault "$vault" get "i$mid" c5 >/dev/null 2>"$work/err"; then
      echo "bench-etcd.sh: $vault: $(cat "$work/err")" >&2
      exit 1
    fi
  done
  # One key of the vault, of the size a `get` reads most of: a credential set.
  # (sed reads to the end: head would leave etcdctl a closed pipe, and
  # pipefail a failure.)
  key=$(etcdctl --endpoints="$eps" get --prefix --keys-only --limit=1 "bench/n$n/creds/" | sed -n 1p)
  if [[ -z $key ]]; then
    echo "bench-etcd.sh: no credential set under bench/n$n/creds/" >&2
    exit 1
  fi
  # `close` needs a fresh intervention of 10 credentials each run.
  cat >"$work/prepare-close-$n" <<PREP
read k < "$work/close-count-$n" || k=0; k=\$((k + 1)); echo \$k > "$work/close-count-$n"
"$iv" --vault "$url" open "x\$k" --client X --for 1d >/dev/null
for c in 0 1 2 3 4 5 6 7 8 9; do printf 's\n' | "$iv" --vault "$url" add "x\$k" "c\$c" --kind other 2>/dev/null; done
PREP
  echo 0 >"$work/close-count-$n"
  cmds+=(-n "intervault get (etcd, session), N = $n" --prepare true "$iv --vault $url get i$mid c5")
  cmds+=(-n "etcdctl get (one key), N = $n" --prepare true "etcdctl --endpoints=$eps get $key")
  cmds+=(-n "intervault get (directory, session), N = $n" --prepare true "$iv --vault $dir get i$mid c5")
  cmds+=(-n "intervault close (etcd, 10 credentials), N = $n" --prepare "bash $work/prepare-close-$n"
    "read k < $work/close-count-$n; $iv --vault $url close x\$k")
done
echo "bench-etcd.sh: measuring (one hyperfine run)" >&2
hyperfine --style none --warmup 3 --runs "$runs" --export-json "$out/etcd.json" "${cmds[@]}" >/dev/null
for n in "$@"; do
  "$iv" --vault "etcd://${endpoints[$n]}/bench/n$n" lock >/dev/null 2>&1 || true
  "$iv" --vault "$work/dir-$n" lock >/dev/null 2>&1 || true
done
INNER

python3 - "$out" "${sizes[@]}" <<'PY' | tee "$out/table.md"
import json, os, sys
out, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for r in json.load(open(os.path.join(out, "etcd.json")))["results"]:
    cmd, n = r["command"].rsplit(", N = ", 1)
    rows.setdefault(cmd, {})[n] = r["median"] * 1000
first, last = sizes[0], sizes[-1]
growth = len(sizes) > 1
print("| one hyperfine run, median (ms) | " + " | ".join(f"N = {n}" for n in sizes)
      + (f" | N = {last} / N = {first} |" if growth else " |"))
print("|---|" + "--:|" * (len(sizes) + growth))
for cmd, by_n in rows.items():
    line = f"| {cmd} | " + " | ".join(f"{by_n[n]:.2f}" for n in sizes)
    print(line + (f" | {by_n[last] / by_n[first]:.2f}x |" if growth else " |"))
print()
print("| ratio of medians, same run | " + " | ".join(f"N = {n}" for n in sizes) + " |")
print("|---|" + "--:|" * len(sizes))
get = rows["intervault get (etcd, session)"]
for peer in ("etcdctl get (one key)", "intervault get (directory, session)"):
    print(f"| intervault get (etcd) / {peer} | "
          + " | ".join(f"{get[n] / rows[peer][n]:.2f}x" for n in sizes) + " |")
PY
echo "bench-etcd.sh: results in $out" >&2
