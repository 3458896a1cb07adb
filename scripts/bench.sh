#!/usr/bin/env bash
# intervault against pass, age and keepassxc-cli, measured with hyperfine in the
# same run, for vaults of N credentials (10 per intervention).
#
# Usage: scripts/bench.sh [N ...]        (default: 100 1000 10000)
#   RUNS=20      hyperfine runs per command
#   OUT=DIR      where the JSON results and the table go (default: target/bench)
# Needs: hyperfine, pass, gnupg, age, keepassxc-cli, python3 (installed with apt
# when missing and run as root), keyutils (the session lives in the kernel keyring).
#
# Measured for each N, in one hyperfine run per N: `intervault get` with an
# unlocked session and with the passphrase (the vault's calibrated KDF), and
# `argon2id alone` (examples/kdf_floor), `add` (replacing one credential),
# `close` of an intervention of 10 credentials; `pass show`, `pass insert` (gpg key
# without passphrase); bare `age -d` of one small file; `keepassxc-cli show` (its
# KDF calibrated like intervault's, to about 0.75 s); the peak memory of one run of
# each `get`. Then `get` and `add` at every N in one more run (the scale ratios).
# Commands run through a shell (hyperfine subtracts the shell's start-up), so that
# stdin can be given.
# The etcd store is measured by scripts/bench-etcd.sh (its own clusters, its own
# hyperfine run; docs/performance.md, "On etcd").
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-100 1000 10000}")
read -r -a sizes <<<"${sizes[*]}"
runs=${RUNS:-20}

missing=()
for tool in hyperfine pass gpg age keepassxc-cli python3 keyctl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "bench.sh: installing what is missing: ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    hyperfine pass gnupg age keepassxc python3 keyutils >/dev/null
fi

cargo build --release --locked --quiet --bin intervault --example kdf_floor
iv=$PWD/target/release/intervault
floor=$PWD/target/release/examples/kdf_floor
work=$(mktemp -d)
out=${OUT:-$PWD/target/bench}
mkdir -p "$out"
cleanup() { gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
unset INTERVAULT_DIR INTERVAULT_PASSPHRASE INTERVAULT_PASSPHRASE_FILE
export TZ=UTC HOME=$work/home GNUPGHOME=$work/gnupg
mkdir -p "$HOME" "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
printf 'bench-passphrase\n' >"$work/pass"
gpg --batch --quiet --passphrase '' --quick-gen-key "bench <bench@example.org>" default default never 2>/dev/null
fpr=$(gpg --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')
age-keygen -o "$work/age.key" 2>/dev/null
printf 'a-secret-value\n' | age -r "$(age-keygen -y "$work/age.key")" -o "$work/one.age"

keyctl session - bash -s "$iv" "$work" "$out" "$runs" "$fpr" "$floor" "${sizes[@]}" <<'INNER'
set -euo pipefail
iv=$1 work=$2 out=$3 runs=$4 fpr=$5 floor=$6
shift 6
for n in "$@"; do
  groups=$((n / 10)) mid=$((n / 20))
  v=$work/iv-$n store=$work/pass-$n kdbx=$work/kp-$n.kdbx
  export INTERVAULT_DIR=$v INTERVAULT_PASSPHRASE_FILE=$work/pass
  echo "bench.sh: N = $n: filling intervault, pass and keepassxc" >&2
  "$iv" init 2>/dev/null
  "$iv" unlock --for 12h 2>/dev/null
  for ((g = 0; g < groups; g++)); do
    "$iv" open "i$g" --client "Client $g" --for 7d >/dev/null
    for c in 0 1 2 3 4 5 6 7 8 9; do
      printf 'secret-%s-%s\n' "$g" "$c" | "$iv" add "i$g" "c$c" --kind hosting --user admin 2>/dev/null
    done
  done
  PASSWORD_STORE_DIR=$store pass init "$fpr" >/dev/null
  for ((g = 0; g < groups; g++)); do
    for c in 0 1 2 3 4 5 6 7 8 9; do
      printf 'secret-%s-%s\n' "$g" "$c" | PASSWORD_STORE_DIR=$store pass insert -e "i$g/c$c" >/dev/null
    done
  done
  python3 - "$kdbx.xml" "$groups" <<'PY'
import sys
from xml.sax.saxutils import escape
path, groups = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?><KeePassFile><Root><Group><Name>Root</Name>')
    for g in range(groups):
        f.write(f"<Group><Name>i{g}</Name>")
        for c in range(10):
            f.write("<Entry>")
            for k, v in (("Title", f"c{c}"), ("UserName", "admin"), ("Password", f"secret-{g}-{c}")):
                f.write(f"<String><Key>{k}</Key><Value>{escape(v)}</Value></String>")
            f.write("</Entry>")
        f.write("</Group>")
    f.write("</Group></Root></KeePassFile>")
PY
  # Its argon2 calibrated to the same 0.75 s as intervault's.
  printf 'bench-passphrase\nbench-passphrase\n' |
    keepassxc-cli import -q -p -t 750 "$kdbx.xml" "$kdbx" >/dev/null 2>&1
  # Prepare steps: `close` needs a fresh intervention each run.
  cat >"$work/prepare-close" <<PREP
read k < "$work/close-count" || k=0; k=\$((k + 1)); echo \$k > "$work/close-count"
"$iv" unlock --for 12h 2>/dev/null
"$iv" open "x\$k" --client X --for 1d >/dev/null
for c in 0 1 2 3 4 5 6 7 8 9; do printf 's\n' | "$iv" add "x\$k" "c\$c" --kind other 2>/dev/null; done
PREP
  echo 0 >"$work/close-count"
  printf 'replaced\n' >"$work/secret"
  echo "bench.sh: N = $n: measuring" >&2
  # hyperfine wants one --prepare per command, or one for all.
  hyperfine --style none --warmup 3 --runs "$runs" --export-json "$out/n$n.json" \
    -n "age -d (one file)" --prepare true "age -d -i $work/age.key $work/one.age" \
    -n "intervault get (session)" --prepare "$iv unlock --for 12h" "$iv get i$mid c5" \
    -n "intervault get (passphrase)" --prepare "$iv lock" "$iv get i$mid c5 --passphrase-file $work/pass" \
    -n "argon2id alone (same parameters)" --prepare true "$floor $v < $work/pass" \
    -n "intervault add (session)" --prepare "$iv unlock --for 12h" "$iv add i$mid c9 --kind hosting --replace < $work/secret" \
    -n "intervault close (10 credentials, session)" --prepare "bash $work/prepare-close" "read k < $work/close-count; $iv close x\$k" \
    -n "pass show" --prepare true "PASSWORD_STORE_DIR=$store pass show i$mid/c5" \
    -n "pass insert" --prepare true "PASSWORD_STORE_DIR=$store pass insert -f -e i$mid/c9 < $work/secret" \
    -n "keepassxc-cli show" --prepare true "keepassxc-cli show -q -s $kdbx i$mid/c5 < $work/pass" \
    >/dev/null
  # Peak memory (maximum resident set) of one run of each, in MiB. The session
  # is opened first, outside the measurement (its own KDF is not the get's).
  "$iv" unlock --for 12h >/dev/null 2>&1
  python3 - "$out/memory-n$n.json" <<PY
import json, resource, subprocess, sys
runs = [
    ("intervault get (session)", "$iv get i$mid c5"),
    ("intervault get (passphrase)", "$iv lock; $iv get i$mid c5 --passphrase-file $work/pass"),
    ("argon2id alone (same parameters)", "$floor $v < $work/pass"),
    ("keepassxc-cli show", "keepassxc-cli show -q -s $kdbx i$mid/c5 < $work/pass"),
]
# Each in a python child of its own, so that ru_maxrss is that command's alone.
probe = ("import resource, subprocess, sys; subprocess.run(['bash', '-c', sys.argv[1]], "
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
peaks = {}
for name, cmd in runs:
    kib = int(subprocess.run([sys.executable, "-c", probe, cmd], capture_output=True,
                             text=True, check=True).stdout)
    peaks[name] = kib / 1024
json.dump(peaks, open(sys.argv[1], "w"), indent=1)
PY
  "$iv" lock >/dev/null 2>&1 || true
done
# The scale targets compare N with N: measured again in one hyperfine run, so
# that the machine's drift between the runs above does not count.
echo "bench.sh: get and add at every N, in one run" >&2
printf 'replaced\n' >"$work/secret"
scale=()
for n in "$@"; do
  v=$work/iv-$n mid=$((n / 20))
  "$iv" --vault "$v" unlock --for 12h >/dev/null 2>&1
  scale+=(-n "get (session), N = $n" "$iv --vault $v get i$mid c5")
  scale+=(-n "add (session), N = $n" "$iv --vault $v add i$mid c9 --kind hosting --replace < $work/secret")
done
hyperfine --style none --warmup 3 --runs "$runs" --export-json "$out/scale.json" "${scale[@]}" >/dev/null
for n in "$@"; do "$iv" --vault "$work/iv-$n" lock >/dev/null 2>&1 || true; done
INNER

python3 - "$out" "${sizes[@]}" <<'PY' | tee "$out/table.md"
import json, sys, os
out, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for n in sizes:
    for r in json.load(open(os.path.join(out, f"n{n}.json")))["results"]:
        rows.setdefault(r["command"], {})[n] = r["median"] * 1000
print("| median (ms) | " + " | ".join(f"N = {n}" for n in sizes) + " |")
print("|---|" + "--:|" * len(sizes))
for cmd, by_n in rows.items():
    print(f"| {cmd} | " + " | ".join(f"{by_n.get(n, float('nan')):.2f}" for n in sizes) + " |")
peaks = {}
for n in sizes:
    for cmd, mib in json.load(open(os.path.join(out, f"memory-n{n}.json"))).items():
        peaks.setdefault(cmd, {})[n] = mib
scale = {}
for r in json.load(open(os.path.join(out, "scale.json")))["results"]:
    cmd, n = r["command"].split(", N = ")
    scale.setdefault(cmd, {})[n] = r["median"] * 1000
print()
print("| one run, median (ms) | " + " | ".join(f"N = {n}" for n in sizes) + f" | N = {sizes[-1]} / N = {sizes[0]} |")
print("|---|" + "--:|" * (len(sizes) + 1))
for cmd, by_n in scale.items():
    ratio = by_n[sizes[-1]] / by_n[sizes[0]]
    print(f"| intervault {cmd} | " + " | ".join(f"{by_n[n]:.2f}" for n in sizes) + f" | {ratio:.2f}x |")
print()
print("| peak memory (MiB) | " + " | ".join(f"N = {n}" for n in sizes) + " |")
print("|---|" + "--:|" * len(sizes))
for cmd, by_n in peaks.items():
    print(f"| {cmd} | " + " | ".join(f"{by_n.get(n, float('nan')):.1f}" for n in sizes) + " |")
PY
echo "bench.sh: results in $out" >&2
