//! Several processes at once, and processes killed mid-write. Eight `add`s started
//! together on one intervention all succeed and all eight are kept. Then `add`,
//! `add --replace`, `rm`, `extend`, `close` and `open` are killed with SIGKILL after
//! a random short delay, again and again: the vault must always open, every change
//! is either fully there or not at all, every credential committed before keeps
//! its value, and after the next successful write no `.tmp-` file is left and no key
//! outlives its intervention. The random seed is printed (set
//! `INTERVAULT_TEST_SEED` to replay a run).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{cheap_vault, expiry_refs, in_secs, names_in, std_cmd, tree};
use crate::support::{Run, TestVault};

fn spawn(v: &TestVault, args: &[&str], stdin: Option<&str>) -> Child {
    let mut child = std_cmd(v, args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn intervault");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The process may already be gone; a broken pipe is fine then.
        let _ = pipe.write_all(text.as_bytes());
    }
    child
}

#[test]
fn eight_adds_started_at_once_all_succeed_and_all_are_kept() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    let names: Vec<String> = (0..8).map(|i| format!("cred-{i}")).collect();
    let children: Vec<Child> = names
        .iter()
        .map(|n| {
            spawn(
                &v,
                &["add", "acme", n, "--kind", "other"],
                Some(&format!("value-of-{n}\n")),
            )
        })
        .collect();
    for (n, child) in names.iter().zip(children) {
        let out = Run(child.wait_with_output().unwrap());
        assert_eq!(out.code(), 0, "add {n}: {}", out.stderr());
    }
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["credentials"], 8);
    let listed: Vec<&str> = show["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names.iter().map(String::as_str).collect::<Vec<_>>());
    for n in &names {
        assert_eq!(
            v.run(&["get", "acme", n]).success().stdout(),
            format!("value-of-{n}\n")
        );
    }
    assert_eq!(
        names_in(&v, "creds").len(),
        1,
        "old generations are shredded"
    );
}

/// A small xorshift generator: no dependency, and a seed that can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What the vault must hold: live interventions with their window end and
/// credentials, and the IDs closed so far.
#[derive(Default)]
struct Model {
    live: BTreeMap<String, (String, BTreeMap<String, String>)>,
    closed: BTreeSet<String>,
}

enum Op {
    Add {
        id: String,
        name: String,
        value: String,
    },
    Replace {
        id: String,
        name: String,
        value: String,
    },
    Rm {
        id: String,
        name: String,
    },
    Extend {
        id: String,
        until: String,
    },
    Close {
        id: String,
    },
    Open {
        id: String,
    },
}

impl Op {
    fn args(&self) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        match self {
            Op::Add { id, name, .. } => s(&["add", id, name, "--kind", "other"]),
            Op::Replace { id, name, .. } => s(&["add", id, name, "--kind", "other", "--replace"]),
            Op::Rm { id, name } => s(&["rm", id, name]),
            Op::Extend { id, until } => s(&["extend", id, "--until", until, "--reason", "more"]),
            Op::Close { id } => s(&["close", id]),
            Op::Open { id } => s(&["open", id, "--client", "Throwaway", "--for", "2h"]),
        }
    }
    fn stdin(&self) -> Option<String> {
        match self {
            Op::Add { value, .. } | Op::Replace { value, .. } => Some(format!("{value}\n")),
            _ => None,
        }
    }
}

fn choose(rng: &mut Rng, m: &Model, i: usize) -> Op {
    let ids: Vec<&String> = m.live.keys().collect();
    let with_creds: Vec<&String> = m
        .live
        .iter()
        .filter(|(_, (_, c))| !c.is_empty())
        .map(|(id, _)| id)
        .collect();
    let throwaway: Vec<&String> = ids.iter().copied().filter(|id| *id != "main").collect();
    let value = format!("value-{i}-{}", rng.below(1 << 30));
    match rng.below(7) {
        0 | 1 => Op::Add {
            id: rng.pick(&ids).to_string(),
            name: format!("c{i}"),
            value,
        },
        2 | 3 if !with_creds.is_empty() => {
            let id = rng.pick(&with_creds).to_string();
            let names: Vec<&String> = m.live[&id].1.keys().collect();
            let name = rng.pick(&names).to_string();
            if rng.below(2) == 0 {
                Op::Replace { id, name, value }
            } else {
                Op::Rm { id, name }
            }
        }
        4 => Op::Extend {
            id: rng.pick(&ids).to_string(),
            until: in_secs(3 * 3600 + 60 * i as i64),
        },
        5 if !throwaway.is_empty() => Op::Close {
            id: rng.pick(&throwaway).to_string(),
        },
        _ => Op::Open {
            id: format!("t{i}"),
        },
    }
}

fn get(v: &TestVault, id: &str, name: &str) -> Run {
    v.run(&["get", id, name])
}

/// Brings the model in line with an operation that completed.
fn apply(m: &mut Model, op: &Op, list: &BTreeMap<String, Value>) {
    match op {
        Op::Add { id, name, value } | Op::Replace { id, name, value } => {
            m.live
                .get_mut(id)
                .unwrap()
                .1
                .insert(name.clone(), value.clone());
        }
        Op::Rm { id, name } => {
            m.live.get_mut(id).unwrap().1.remove(name);
        }
        Op::Extend { id, until } => m.live.get_mut(id).unwrap().0 = until.clone(),
        Op::Close { id } => {
            m.live.remove(id);
            m.closed.insert(id.clone());
        }
        Op::Open { id } => {
            let until = list[id]["until"].as_str().unwrap().to_owned();
            m.live.insert(id.clone(), (until, BTreeMap::new()));
        }
    }
}

/// After a kill: finds out from the vault whether `op` happened, checks that it
/// happened whole or not at all, and updates the model.
fn resolve(v: &TestVault, m: &mut Model, op: &Op, list: &BTreeMap<String, Value>) -> bool {
    let entries = |id: &str| -> BTreeSet<String> {
        v.run(&["show", id, "--json"]).success().json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let done = match op {
        Op::Add { id, name, .. } => entries(id).contains(name),
        Op::Replace { id, name, value } => {
            let got = get(v, id, name).success().stdout();
            let old = format!("{}\n", m.live[id].1[name]);
            assert!(
                got == old || got == format!("{value}\n"),
                "after a killed replace of {id}/{name}: {got:?} is neither value"
            );
            got != old
        }
        Op::Rm { id, name } => !entries(id).contains(name),
        Op::Extend { id, until } => {
            let now = list[id]["until"].as_str().unwrap();
            assert!(
                now == m.live[id].0 || now == until,
                "after a killed extend of {id}: until {now} is neither value"
            );
            now == until
        }
        Op::Close { id } => {
            let status = list[id]["status"].as_str().unwrap();
            assert!(["active", "closed"].contains(&status), "{id}: {status}");
            status == "closed"
        }
        Op::Open { id } => list.contains_key(id),
    };
    if done {
        apply(m, op, list);
    }
    done
}

/// `list --all --json` by ID; the vault must open.
fn list_all(v: &TestVault, context: &str) -> BTreeMap<String, Value> {
    let out = v.run(&["list", "--all", "--json"]);
    assert_eq!(
        out.code(),
        0,
        "{context}: the vault does not open: {}",
        out.stderr()
    );
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

/// Checks the vault against the model: statuses, windows, credential names, and
/// the values of the credentials of `full` (every intervention when `None`; one
/// credential each for the others).
fn check(v: &TestVault, m: &Model, list: &BTreeMap<String, Value>, full: Option<&str>, ctx: &str) {
    for (id, (until, creds)) in &m.live {
        let item = list
            .get(id)
            .unwrap_or_else(|| panic!("{ctx}: {id} is gone"));
        assert_eq!(item["status"], "active", "{ctx}: {id}");
        assert_eq!(item["until"], until.as_str(), "{ctx}: {id}");
        assert_eq!(item["credentials"], creds.len(), "{ctx}: {id}");
        let everything = full.is_none_or(|f| f == id);
        for (k, (name, value)) in creds.iter().enumerate() {
            if everything || k == 0 {
                let out = get(v, id, name);
                assert_eq!(out.code(), 0, "{ctx}: get {id}/{name}: {}", out.stderr());
                assert_eq!(out.stdout(), format!("{value}\n"), "{ctx}: {id}/{name}");
            }
        }
    }
    for id in &m.closed {
        assert_eq!(list[id]["status"], "closed", "{ctx}: {id}");
    }
    assert_eq!(list.len(), m.live.len() + m.closed.len(), "{ctx}: {list:?}");
}

/// No temporary file anywhere, and keys exactly for the live interventions;
/// credentials files only for live interventions.
fn check_files(v: &TestVault, ctx: &str) {
    let temps: Vec<_> = tree(&v.dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert!(temps.is_empty(), "{ctx}: temporary files left: {temps:?}");
    let live: BTreeSet<String> = expiry_refs(v).into_iter().collect();
    let keys: BTreeSet<String> = names_in(v, "keys")
        .into_iter()
        .map(|n| n.trim_end_matches(".age").to_owned())
        .collect();
    assert_eq!(
        keys, live,
        "{ctx}: key files are not those of the live interventions"
    );
    for name in names_in(v, "creds") {
        let owner = name.split('.').next().unwrap();
        assert!(
            live.contains(owner),
            "{ctx}: creds/{name} outlives its intervention"
        );
    }
}

#[test]
fn commands_killed_mid_write_never_damage_the_vault() {
    let seed = std::env::var("INTERVAULT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("INTERVAULT_TEST_SEED={seed}");
    let mut rng = Rng(seed);
    let v = cheap_vault();
    let mut m = Model::default();
    for (id, creds) in [("main", &["a", "b"][..]), ("side", &["x"][..])] {
        v.run(&["open", id, "--client", "Acme", "--for", "2h"])
            .success();
        for name in creds {
            let value = format!("first-{id}-{name}");
            v.run_with_stdin(&["add", id, name, "--kind", "other"], &format!("{value}\n"))
                .success();
        }
    }
    let list = list_all(&v, "start");
    for (id, item) in &list {
        m.live.insert(
            id.clone(),
            (item["until"].as_str().unwrap().to_owned(), BTreeMap::new()),
        );
    }
    m.live.get_mut("main").unwrap().1.extend([
        ("a".into(), "first-main-a".into()),
        ("b".into(), "first-main-b".into()),
    ]);
    m.live
        .get_mut("side")
        .unwrap()
        .1
        .insert("x".into(), "first-side-x".into());

    let started = Instant::now();
    let (mut killed, mut finished, mut landed) = (0, 0, 0);
    for i in 0..60 {
        let op = choose(&mut rng, &m, i);
        let args = op.args();
        let ctx = format!("iteration {i} (seed {seed}), {args:?}");
        let delay = Duration::from_millis(rng.below(31));
        let stdin = op.stdin();
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = spawn(&v, &arg_refs, stdin.as_deref());
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; fine if it has already exited
        let out = child.wait_with_output().unwrap();
        let list = list_all(&v, &ctx);
        if out.status.signal() == Some(9) {
            killed += 1;
            if resolve(&v, &mut m, &op, &list) {
                landed += 1;
            }
        } else {
            assert!(
                out.status.success(),
                "{ctx}: failed on its own: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            finished += 1;
            apply(&mut m, &op, &list);
        }
        let touched = match &op {
            Op::Add { id, .. }
            | Op::Replace { id, .. }
            | Op::Rm { id, .. }
            | Op::Extend { id, .. }
            | Op::Close { id }
            | Op::Open { id } => id.clone(),
        };
        check(&v, &m, &list, Some(&touched), &ctx);
        // The next successful write, then the files left behind.
        let probe = format!("probe-{i}");
        v.run_with_stdin(
            &["add", "main", "probe", "--kind", "other", "--replace"],
            &format!("{probe}\n"),
        )
        .success();
        m.live
            .get_mut("main")
            .unwrap()
            .1
            .insert("probe".into(), probe);
        check_files(&v, &ctx);
    }
    let list = list_all(&v, "end");
    check(&v, &m, &list, None, &format!("end (seed {seed})"));
    eprintln!(
        "{killed} killed ({landed} of them had committed), {finished} finished first, in {:?}",
        started.elapsed()
    );
}
