#!/usr/bin/env bash
# The long crash test: N (default 1000) random writes, each killed with SIGKILL at
# a random instant, against a vault with cheap KDF costs. After every kill:
#   - the vault opens (`list --all --json` exits 0);
#   - the interrupted operation happened whole or not at all (an interrupted add
#     is absent or there with its new value, a replace has the old or the new
#     value, an rm left the old value or nothing, extend the old or new end, close
#     and sweep the live or the wiped intervention, open nothing or the new one);
#   - every credential committed before is still gettable with its value, and
#     every intervention has the status the model expects;
#   - after the next successful write, no `.tmp-*` file is left anywhere, the key
#     files are exactly those of the live interventions, and no credentials file
#     outlives its intervention.
# Kills land between 0 and 2x the typical (calibrated) duration of the command, so
# some land after the commit. Whether a kill landed before or after the commit is
# inferred from the state found afterwards.
#
# Usage: scripts/crash-loop.sh [N]
#   CRASH_LOOP_SEED=S    replay the same sequence of operations and delays (the
#                        kill instants are still subject to scheduling jitter)
#   CRASH_LOOP_KEEP=1    keep the scratch directory even when nothing failed
# Needs: cargo, python3 (3.8+). Exit status 0 only when no failure was found; a
# failing iteration's vault is copied aside (its path is printed) for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-1000}"
case "$N" in
'' | *[!0-9]*)
    echo "usage: $0 [N]   (N: number of iterations, default 1000)" >&2
    exit 2
    ;;
esac
command -v python3 >/dev/null || {
    echo "crash-loop: python3 is needed" >&2
    exit 1
}

cargo build --release --locked --quiet --bin intervault
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/intervault"

exec python3 - "$BIN" "$N" <<'PY'
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

N = int(sys.argv[2])
SEED = int(os.environ.get("CRASH_LOOP_SEED") or (time.time_ns() % (1 << 32)))
rng = random.Random(SEED)
WORK = tempfile.mkdtemp(prefix="intervault-crash-loop.")
# A private copy: a rebuild of target/ during the run must not swap the binary.
BIN = shutil.copy2(sys.argv[1], os.path.join(WORK, "intervault"))
VAULT = os.path.join(WORK, "vault")
PASSPHRASE = "crash loop passphrase"
BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": WORK,
    "TZ": "UTC",
    "INTERVAULT_DIR": VAULT,
}
KEYED_ENV = dict(BASE_ENV, INTERVAULT_PASSPHRASE=PASSPHRASE)
TIMEOUT = 60  # seconds; a hung command is a failure
MAX_CREDS = 24  # keeps the full check of every credential cheap
MAX_THROWAWAY = 6
KINDS = ["add", "replace", "rm", "extend", "close", "open", "sweep"]


class Failure(Exception):
    pass


def run(args, stdin="", keyed=True):
    p = subprocess.run(
        [BIN, *args],
        input=stdin.encode(),
        capture_output=True,
        env=KEYED_ENV if keyed else BASE_ENV,
        timeout=TIMEOUT,
    )
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def must(args, stdin="", keyed=True, ctx=""):
    code, out, err = run(args, stdin, keyed)
    if code != 0:
        raise Failure(f"{ctx}: `intervault {' '.join(args)}` exited {code}: {err.strip()}")
    return out


def utc(seconds_from_now):
    t = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def root():
    with open(os.path.join(VAULT, "vault.json"), "rb") as f:
        return json.loads(f.read())


def list_all(ctx):
    code, out, err = run(["list", "--all", "--json"])
    if code != 0:
        raise Failure(f"{ctx}: the vault does not open: exit {code}: {err.strip()}")
    return {o["id"]: o for o in json.loads(out)}


def entries(id_, ctx):
    out = must(["show", id_, "--json"], ctx=ctx)
    return {e["name"] for e in json.loads(out)["entries"]}


def get(id_, name, ctx):
    code, out, err = run(["get", id_, name])
    if code != 0:
        raise Failure(f"{ctx}: get {id_}/{name} exited {code}: {err.strip()}")
    return out[:-1] if out.endswith("\n") else out


class Model:
    """What the vault must hold."""

    def __init__(self):
        self.live = {}  # id -> {"until": str, "creds": {name: value}}
        self.closed = set()
        self.expired = set()

    def total_creds(self):
        return sum(len(v["creds"]) for v in self.live.values())


def rebuild(ctx):
    """The model, read back from the vault (at the start, and after a failure)."""
    m = Model()
    listed = list_all(ctx)
    for id_, o in listed.items():
        if o["status"] == "active":
            creds = {n: get(id_, n, ctx) for n in sorted(entries(id_, ctx))}
            m.live[id_] = {"until": o["until"], "creds": creds}
        elif o["status"] == "closed":
            m.closed.add(id_)
        else:
            m.expired.add(id_)
    return m


def op_args(op):
    k = op["kind"]
    if k == "add":
        return ["add", op["id"], op["name"], "--kind", "other"]
    if k == "replace":
        return ["add", op["id"], op["name"], "--kind", "other", "--replace"]
    if k == "rm":
        return ["rm", op["id"], op["name"]]
    if k == "extend":
        return ["extend", op["id"], "--until", op["until"], "--reason", "crash loop"]
    if k == "close":
        return ["close", op["id"]]
    if k == "open":
        return ["open", op["id"], "--client", "Throwaway", "--for", "2h"]
    return ["sweep"]


def choose(m, i):
    ids = sorted(m.live)
    with_creds = [x for x in ids if m.live[x]["creds"]]
    throwaway = [x for x in ids if x.startswith("t")]
    value = f"value-{i}-{rng.randrange(1 << 30)}"
    kind = rng.choice(KINDS)
    if kind == "add" and m.total_creds() >= MAX_CREDS:
        kind = "rm"
    if kind in ("replace", "rm") and not with_creds:
        kind = "add"
    if kind == "close" and not throwaway:
        kind = "open"
    if kind == "open" and len(throwaway) >= MAX_THROWAWAY:
        kind = "close"
    if kind == "add":
        return {"kind": kind, "id": rng.choice(ids), "name": f"c{i}", "value": value}
    if kind in ("replace", "rm"):
        id_ = rng.choice(with_creds)
        name = rng.choice(sorted(m.live[id_]["creds"]))
        return {"kind": kind, "id": id_, "name": name, "value": value}
    if kind == "extend":
        return {"kind": kind, "id": rng.choice(ids), "until": utc(3 * 3600 + 60 * i)}
    if kind == "close":
        return {"kind": kind, "id": rng.choice(throwaway)}
    if kind == "open":
        return {"kind": kind, "id": f"t{i}"}
    return {"kind": "sweep", "id": f"s{i}"}


def prepare_sweep(m, op, ctx):
    """Opens s<i> for 2 s with one credential and waits until its window has
    ended, so that the (keyless) sweep has a key and a credentials file to wipe."""
    before = {e["ref"] for e in root()["expiry"]}
    out = must(["open", op["id"], "--client", "Short", "--for", "2s", "--json"], ctx=ctx)
    until = json.loads(out)["until"]
    must(["add", op["id"], "k", "--kind", "other"], stdin="short-lived\n", ctx=ctx)
    new = {e["ref"] for e in root()["expiry"]} - before
    if len(new) != 1:
        raise Failure(f"{ctx}: cannot find the reference of {op['id']}: {new}")
    op["ref"] = new.pop()
    m.live[op["id"]] = {"until": until, "creds": {"k": "short-lived"}}
    end = datetime.strptime(until, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    wait = (end - datetime.now(timezone.utc)).total_seconds() + 0.05
    if wait > 0:
        time.sleep(wait)


def apply(m, op, listed):
    k, id_ = op["kind"], op["id"]
    if k in ("add", "replace"):
        m.live[id_]["creds"][op["name"]] = op["value"]
    elif k == "rm":
        del m.live[id_]["creds"][op["name"]]
    elif k == "extend":
        m.live[id_]["until"] = op["until"]
    elif k == "close":
        del m.live[id_]
        m.closed.add(id_)
    elif k == "open":
        m.live[id_] = {"until": listed[id_]["until"], "creds": {}}
    elif k == "sweep":
        del m.live[id_]
        m.expired.add(id_)


def resolve(m, op, listed, sweep_committed, ctx):
    """After a kill: whether `op` committed, checking it is whole or absent."""
    k, id_ = op["kind"], op["id"]
    if k == "add":
        present = op["name"] in entries(id_, ctx)
        if present and get(id_, op["name"], ctx) != op["value"]:
            raise Failure(f"{ctx}: interrupted add left {id_}/{op['name']} with another value")
        done = present
    elif k == "replace":
        old = m.live[id_]["creds"][op["name"]]
        got = get(id_, op["name"], ctx)
        if got not in (old, op["value"]):
            raise Failure(f"{ctx}: interrupted replace: {got!r} is neither {old!r} nor {op['value']!r}")
        done = got == op["value"]
    elif k == "rm":
        present = op["name"] in entries(id_, ctx)
        if present:
            old = m.live[id_]["creds"][op["name"]]
            got = get(id_, op["name"], ctx)
            if got != old:
                raise Failure(f"{ctx}: interrupted rm: {got!r} is not the old value {old!r}")
        done = not present
    elif k == "extend":
        now = listed[id_]["until"]
        if now not in (m.live[id_]["until"], op["until"]):
            raise Failure(f"{ctx}: interrupted extend: until {now} is neither value")
        done = now == op["until"]
    elif k == "close":
        status = listed[id_]["status"]
        if status not in ("active", "closed"):
            raise Failure(f"{ctx}: interrupted close: status {status}")
        done = status == "closed"
    elif k == "open":
        done = id_ in listed
        if done and (listed[id_]["status"] != "active" or listed[id_]["credentials"] != 0):
            raise Failure(f"{ctx}: interrupted open: {listed[id_]}")
    else:  # sweep: the keyed `list` completes an unfinished expiry either way
        done = sweep_committed
    if done or k == "sweep":
        apply(m, op, listed)
    return done


def check(m, listed, ctx):
    """The vault against the model: statuses, windows, every credential's value."""
    for id_, v in m.live.items():
        o = listed.get(id_)
        if o is None:
            raise Failure(f"{ctx}: live intervention {id_} is gone")
        if o["status"] != "active" or o["until"] != v["until"]:
            raise Failure(f"{ctx}: {id_} is {o['status']} until {o['until']}, expected active until {v['until']}")
        if o["credentials"] != len(v["creds"]):
            raise Failure(f"{ctx}: {id_} has {o['credentials']} credentials, expected {len(v['creds'])}")
        for name, value in v["creds"].items():
            got = get(id_, name, ctx)
            if got != value:
                raise Failure(f"{ctx}: {id_}/{name} is {got!r}, expected {value!r}")
    for id_ in m.closed:
        if listed.get(id_, {}).get("status") != "closed":
            raise Failure(f"{ctx}: {id_} should be closed: {listed.get(id_)}")
    for id_ in m.expired:
        if listed.get(id_, {}).get("status") != "expired":
            raise Failure(f"{ctx}: {id_} should be expired: {listed.get(id_)}")
    expected = len(m.live) + len(m.closed) + len(m.expired)
    if len(listed) != expected:
        raise Failure(f"{ctx}: {len(listed)} interventions listed, expected {expected}")


def check_files(ctx):
    """After a successful write: no temporary file, keys exactly for the live
    interventions, no credentials file of a wiped one, nothing left to complete."""
    temps = []
    for d, _, files in os.walk(VAULT):
        temps += [os.path.join(d, f) for f in files if f.startswith(".tmp-")]
    if temps:
        raise Failure(f"{ctx}: temporary files left: {temps}")
    r = root()
    live = {e["ref"] for e in r["expiry"]}
    keys = {f[: -len(".age")] for f in os.listdir(os.path.join(VAULT, "keys"))}
    if keys != live:
        raise Failure(f"{ctx}: key files {sorted(keys)} are not those of the live interventions {sorted(live)}")
    for f in os.listdir(os.path.join(VAULT, "creds")):
        if f.split(".")[0] not in live:
            raise Failure(f"{ctx}: creds/{f} outlives its intervention")
    if r.get("swept"):
        raise Failure(f"{ctx}: keyless wipes left uncompleted after a keyed write: {r['swept']}")


def spawn_and_kill(op, delay):
    args = op_args(op)
    stdin = f"{op['value']}\n" if op["kind"] in ("add", "replace") else ""
    started = time.monotonic()
    p = subprocess.Popen(
        [BIN, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=BASE_ENV if op["kind"] == "sweep" else KEYED_ENV,
    )
    try:
        p.stdin.write(stdin.encode())
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.stdin = None  # closed: communicate() must not flush it
    left = started + delay - time.monotonic()
    if left > 0:
        time.sleep(left)
    p.kill()  # does nothing if it has already exited
    out, err = p.communicate(timeout=TIMEOUT)
    return p.returncode, err.decode(errors="replace")


def timed(args, stdin="", keyed=True, ctx=""):
    t = time.monotonic()
    must(args, stdin, keyed, ctx)
    return time.monotonic() - t


def calibrate(m):
    """Typical duration of each command (median of a few unkilled runs), which
    also builds the starting state: main (a, b) and side (x)."""
    d = {k: [] for k in KINDS}
    for id_ in ("main", "side"):
        d["open"].append(timed(["open", id_, "--client", "Acme", "--for", "2h"], ctx="setup"))
    for id_, name in (("main", "a"), ("main", "b"), ("side", "x"), ("side", "cal")):
        d["add"].append(timed(["add", id_, name, "--kind", "other"], f"first-{id_}-{name}\n", ctx="setup"))
    for _ in range(3):
        d["replace"].append(timed(["add", "side", "cal", "--kind", "other", "--replace"], "again\n", ctx="setup"))
    d["rm"].append(timed(["rm", "side", "cal"], ctx="setup"))
    for j in range(3):
        d["extend"].append(timed(["extend", "main", "--until", utc(3 * 3600 - j), "--reason", "setup"], ctx="setup"))
    for j in range(2):
        d["open"].append(timed(["open", f"cal{j}", "--client", "C", "--for", "2h"], ctx="setup"))
        d["close"].append(timed(["close", f"cal{j}"], ctx="setup"))
    for j in range(2):
        op = {"kind": "sweep", "id": f"scal{j}"}
        prepare_sweep(m, op, "setup")
        d["sweep"].append(timed(["sweep"], keyed=False, ctx="setup"))
    return {k: statistics.median(v) for k, v in d.items()}


def main():
    started = time.monotonic()
    print(f"crash-loop: {N} iterations, seed {SEED} (CRASH_LOOP_SEED={SEED} to replay), vault {VAULT}", flush=True)
    must(["init", "--kdf-memory", "1", "--kdf-iterations", "1", "--kdf-parallelism", "1"], ctx="init")
    typical = calibrate(Model())
    m = rebuild("setup")
    print("crash-loop: typical durations: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in typical.items()), flush=True)
    stats = {k: {"before": 0, "after": 0, "finished": 0} for k in KINDS}
    failures = []
    stopped = False
    for i in range(N):
        op = choose(m, i)
        ctx = f"iteration {i} (seed {SEED}), {op['kind']} {' '.join(op_args(op))}"
        delay = rng.uniform(0, 2 * typical[op["kind"]])
        try:
            if op["kind"] == "sweep":
                prepare_sweep(m, op, ctx)
            code, err = spawn_and_kill(op, delay)
            ctx += f", killed after {delay * 1000:.1f} ms"
            sweep_committed = None
            if op["kind"] == "sweep":
                # Read the clear table before anything else opens the vault (which
                # would complete the expiry itself).
                r = root()
                sweep_committed = op["ref"] in {s["ref"] for s in r.get("swept", [])} or op["ref"] not in {
                    e["ref"] for e in r["expiry"]
                }
            listed = list_all(ctx)
            if code == -signal.SIGKILL:
                done = resolve(m, op, listed, sweep_committed, ctx)
                stats[op["kind"]]["after" if done else "before"] += 1
            elif code == 0:
                stats[op["kind"]]["finished"] += 1
                apply(m, op, listed)
            else:
                raise Failure(f"{ctx}: failed on its own with exit {code}: {err.strip()}")
            check(m, listed, ctx)
            # The next successful write, then what is left on disk.
            probe = f"probe-{i}"
            must(["add", "main", "probe", "--kind", "other", "--replace"], f"{probe}\n", ctx=ctx)
            m.live["main"]["creds"]["probe"] = probe
            check_files(ctx)
        except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, OSError) as e:
            kept = os.path.join(WORK, f"failure-{i}")
            shutil.copytree(VAULT, kept, symlinks=True)
            what = str(e) if isinstance(e, Failure) else f"{ctx}: {type(e).__name__}: {e}"
            failures.append(f"{what} (vault copied to {kept})")
            print(f"crash-loop: FAILURE {failures[-1]}", flush=True)
            try:
                m = rebuild(f"iteration {i}, rebuilding the model")
            except Exception as again:  # the vault no longer opens: stop here
                print(f"crash-loop: cannot go on: {again}", flush=True)
                stopped = True
                break
        if (i + 1) % 100 == 0:
            print(f"crash-loop: {i + 1}/{N} done, {len(failures)} failure(s), {time.monotonic() - started:.0f} s", flush=True)
    if not stopped:
        try:
            check(m, list_all("end"), "end")
        except Failure as e:
            failures.append(str(e))
    elapsed = time.monotonic() - started
    before = sum(s["before"] for s in stats.values())
    after = sum(s["after"] for s in stats.values())
    finished = sum(s["finished"] for s in stats.values())
    print()
    print(f"iterations:                {i + 1 if stopped else N}")
    print(f"seed:                      {SEED}")
    print(f"killed before the commit:  {before}   (old state found)")
    print(f"killed after the commit:   {after}   (new state found)")
    print(f"finished before the kill:  {finished}")
    print(f"failures:                  {len(failures)}")
    print(f"duration:                  {elapsed:.0f} s")
    print()
    print("operation   before  after  finished")
    for k, s in stats.items():
        print(f"{k:<10} {s['before']:>7} {s['after']:>6} {s['finished']:>9}")
    for f in failures:
        print(f"FAILURE: {f}")
    if failures or os.environ.get("CRASH_LOOP_KEEP"):
        print(f"scratch directory kept: {WORK}")
    else:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(1 if failures else 0)


main()
PY
