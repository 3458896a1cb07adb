//! A client killed mid-commit on an etcd vault (issue 14, section 3): `open`,
//! `add` and `close` are killed (SIGKILL) at delays spread over their
//! duration, and after each kill the vault opens, every change is there
//! whole or not at all, the values read are the old or the new, and the
//! audit trail verifies.

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{text, EtcdVault, TestCluster};

/// How many commands are killed.
const KILLS: usize = 24;

/// Kills `child` after `delay`; whether it had finished (successfully) first.
fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    out.status.success()
}

/// What a killed client leaves in the cluster is its locks, on its lease,
/// which etcd ends 15 s later. Ends it now (as etcd would), except when
/// `wait`: then the next commands wait for etcd to do it.
fn end_dead_leases(v: &EtcdVault, wait: bool) {
    if wait {
        return;
    }
    let locks: Value = serde_json::from_str(&v.etcdctl(&[
        "get",
        "--prefix",
        &format!("{}/vault.lock", v.prefix),
        "-w",
        "json",
    ]))
    .unwrap();
    let leases: std::collections::BTreeSet<u64> = locks["kvs"]
        .as_array()
        .map(|kvs| kvs.iter().filter_map(|kv| kv["lease"].as_u64()).collect())
        .unwrap_or_default();
    for lease in leases {
        // It may have ended already.
        let _ = std::process::Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", v.endpoints.join(",")))
            .args(["lease", "revoke", &format!("{lease:x}")])
            .output();
    }
}

/// Runs `args` until it is not refused as busy (a dead client's lock, until
/// its lease ends), at most 40 s.
fn patiently(v: &EtcdVault, args: &[&str]) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let out = v.run(args);
        let busy = out.status.code() == Some(1) && text(&out.stderr).contains("busy");
        if !busy || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `list --all --json` by ID: the vault must open.
fn list_all(v: &EtcdVault, ctx: &str) -> BTreeMap<String, String> {
    let out = patiently(v, &["list", "--all", "--json"]);
    assert!(
        out.status.success(),
        "{ctx}: the vault does not open: {}",
        text(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let id = o["id"].as_str().unwrap().to_owned();
            (id, o["status"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// How long `run` takes.
fn timed(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

enum Op {
    Open(String),
    Add(String, String),
    Close(String),
}

#[test]
fn a_client_killed_mid_commit_leaves_the_old_state_or_the_new() {
    let v = EtcdVault::on(TestCluster::shared());
    v.init();
    v.ok(&["open", "acme", "--client", "C", "--for", "2h"]);
    v.add("acme", "base", "value-0");
    // What each command takes here, to spread the kills over it.
    let open_takes = timed(|| {
        v.ok(&["open", "probe", "--client", "C", "--for", "2h"]);
    });
    let add_takes = timed(|| v.add("probe", "p", "p"));
    let close_takes = timed(|| {
        v.ok(&["close", "probe", "--yes"]);
    });
    // The model: live jobs, closed jobs, acme's credentials.
    let mut live: Vec<String> = Vec::new();
    let mut closed: Vec<String> = vec!["probe".into()];
    let mut creds: BTreeMap<String, String> = BTreeMap::from([("base".into(), "value-0".into())]);
    let mut tally = (0usize, 0usize);
    for k in 0..KILLS {
        // 0, 1/7, ... 7/7 of the command's time, then a little past it.
        let share = (k / 3) as f64 / 7.0 * 1.1;
        let op = match k % 3 {
            0 => Op::Open(format!("job{k:02}")),
            1 => Op::Add("acme".into(), format!("c{k:02}")),
            _ => match live.first() {
                Some(id) => Op::Close(id.clone()),
                None => Op::Open(format!("job{k:02}")),
            },
        };
        let (child, takes) = match &op {
            Op::Open(id) => (
                v.command(&["open", id, "--client", "C", "--for", "2h"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
                open_takes,
            ),
            Op::Add(id, name) => (v.spawn_add(id, name, &format!("secret-{name}")), add_takes),
            Op::Close(id) => (
                v.command(&["close", id, "--yes"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
                close_takes,
            ),
        };
        // The last round is not killed: on a busy cluster a command can take
        // longer than its probe did, and some changes must be seen whole.
        let finished = match k / 3 {
            7 => child.wait_with_output().unwrap().status.success(),
            _ => kill_after(child, takes.mul_f64(share)),
        };
        // Once, the dead client's lock is left to etcd to end.
        end_dead_leases(&v, k == 4);
        let ctx = format!("kill {k} at {share:.2} of the command");
        let list = list_all(&v, &ctx);
        // The killed change: whole or not at all, and whole if it finished.
        let done = match &op {
            Op::Open(id) => {
                let done = list.get(id).is_some_and(|s| s == "active");
                assert!(done || !list.contains_key(id), "{ctx}: {id}: {list:?}");
                if done {
                    live.push(id.clone());
                }
                done
            }
            Op::Add(id, name) => {
                let out = patiently(&v, &["get", id, name]);
                let done = out.status.success();
                if done {
                    assert_eq!(text(&out.stdout), format!("secret-{name}\n"), "{ctx}");
                    creds.insert(name.clone(), format!("secret-{name}"));
                } else {
                    assert_eq!(out.status.code(), Some(5), "{ctx}: {}", text(&out.stderr));
                }
                done
            }
            Op::Close(id) => {
                let status = &list[id];
                let done = status != "active";
                if done {
                    assert_eq!(status, "closed", "{ctx}: {id}");
                    live.retain(|l| l != id);
                    closed.push(id.clone());
                }
                done
            }
        };
        assert!(
            done || !finished,
            "{ctx}: the command succeeded, its change is lost"
        );
        tally.0 += usize::from(done);
        tally.1 += usize::from(!done);
        // Everything else is as it was.
        for id in &live {
            assert_eq!(
                list.get(id).map(String::as_str),
                Some("active"),
                "{ctx}: {id}"
            );
        }
        for id in &closed {
            assert_eq!(
                list.get(id).map(String::as_str),
                Some("closed"),
                "{ctx}: {id}"
            );
        }
        assert_eq!(list.len(), 1 + live.len() + closed.len(), "{ctx}: {list:?}");
        for (name, value) in &creds {
            let out = patiently(&v, &["get", "acme", name]);
            assert!(
                out.status.success(),
                "{ctx}: get {name}: {}",
                text(&out.stderr)
            );
            assert_eq!(text(&out.stdout), format!("{value}\n"), "{ctx}: {name}");
        }
        let out = patiently(&v, &["audit", "verify"]);
        assert!(
            out.status.success(),
            "{ctx}: audit verify: {}",
            text(&out.stderr)
        );
    }
    // The kills did land on both sides of the commit.
    assert!(tally.0 > 0 && tally.1 > 0, "done/not done: {tally:?}");
    // And the vault still takes changes.
    v.ok(&["open", "after", "--client", "C", "--for", "1h"]);
    v.add("after", "ftp", "last");
    assert_eq!(v.ok(&["get", "after", "ftp"]), "last\n");
}
