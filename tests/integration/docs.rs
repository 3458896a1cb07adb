//! The user guide's console examples are tests (issue 13, item 9): a message
//! changed in the code and not in the docs fails here.
//!
//! Every ```console block of `docs/user-guide.md` right after a line
//! `<!-- doctest -->` (or `<!-- doctest: FIXTURE -->`) runs, in order, in a
//! scratch vault set up by FIXTURE: `acme` (the default: the guide's
//! `acme-site`, client "Acme SARL", for 3 days, with the credential `wp-admin`
//! of kind cms, user `admin`, secret `s3cr3t`) or `empty` (no vault yet). Each
//! `$ ` line is a shell command (a trailing `  # comment` is dropped), run with
//! the real binary first on PATH, `TZ=Europe/Paris`, the passphrase in
//! `INTERVAULT_PASSPHRASE`, and standard error merged into standard output, in
//! the order a terminal shows them; `$?` is the status of the step before. The lines after it are what it must print:
//! `[..]` in a line stands for any text, and a line `...` for any lines.

use std::path::Path;
use std::process::Command;

use crate::support::{TestVault, PASSPHRASE};

/// The guide, as the tests read it.
const GUIDE: &str = include_str!("../../docs/user-guide.md");

/// One runnable example: where it starts, its fixture, its steps.
struct Example {
    line: usize,
    fixture: String,
    steps: Vec<(String, Vec<String>)>,
}

fn examples(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i].trim();
        let fixture = marker
            .strip_prefix("<!-- doctest")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(|rest| rest.trim().trim_start_matches(':').trim().to_owned());
        let Some(fixture) = fixture else {
            i += 1;
            continue;
        };
        assert_eq!(
            lines.get(i + 1).map(|l| l.trim()),
            Some("```console"),
            "user-guide.md:{}: a doctest marker must stand right before a console block",
            i + 1
        );
        let start = i + 2;
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        let mut j = start;
        while j < lines.len() && lines[j].trim() != "```" {
            match lines[j].strip_prefix("$ ") {
                Some(cmd) => steps.push((without_comment(cmd).to_owned(), Vec::new())),
                None => match steps.last_mut() {
                    Some((_, expected)) => expected.push(lines[j].to_owned()),
                    None => panic!("user-guide.md:{}: output before any command", j + 1),
                },
            }
            j += 1;
        }
        out.push(Example {
            line: start,
            fixture: if fixture.is_empty() {
                "acme".into()
            } else {
                fixture
            },
            steps,
        });
        i = j + 1;
    }
    out
}

/// The command without a trailing `  # comment`.
fn without_comment(cmd: &str) -> &str {
    match cmd.find("  #") {
        Some(at) => cmd[..at].trim_end(),
        None => cmd.trim_end(),
    }
}

/// Whether `line` matches `pattern`, where `[..]` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let Some(rest) = line.strip_prefix(parts[0]) else {
        return false;
    };
    let last = parts[parts.len() - 1];
    let Some(mut middle) = rest.strip_suffix(last) else {
        return false;
    };
    for part in &parts[1..parts.len() - 1] {
        match middle.find(part) {
            Some(at) => middle = &middle[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `lines` match `expected`, where a line `...` stands for any lines.
fn lines_match(expected: &[String], lines: &[&str]) -> bool {
    match expected.split_first() {
        None => lines.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=lines.len()).any(|skip| lines_match(rest, &lines[skip..]))
        }
        Some((first, rest)) => lines
            .split_first()
            .is_some_and(|(line, others)| line_matches(first, line) && lines_match(rest, others)),
    }
}

fn set_up(fixture: &str) -> TestVault {
    match fixture {
        "empty" => TestVault::empty(),
        "acme" => {
            let v = TestVault::new();
            v.run(&[
                "open",
                "acme-site",
                "--client",
                "Acme SARL",
                "--for",
                "3d",
                "--note",
                "WordPress upgrade",
            ])
            .success();
            v.run_with_stdin(
                &[
                    "add",
                    "acme-site",
                    "wp-admin",
                    "--kind",
                    "cms",
                    "--user",
                    "admin",
                    "--url",
                    "https://acme.example/wp-admin",
                ],
                "s3cr3t\n",
            )
            .success();
            v
        }
        other => panic!("no doctest fixture '{other}'"),
    }
}

/// Runs `cmd`, with `$?` the status of the step before; gives what it printed
/// and its own status.
fn run_step(v: &TestVault, cmd: &str, before: i32) -> (String, i32) {
    let bin = assert_cmd::cargo::cargo_bin("intervault");
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = v.dir.parent().unwrap_or(Path::new("/"));
    let out = Command::new("sh")
        .args(["-c", &format!("exec 2>&1; (exit {before}); {cmd}")])
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("TZ", "Europe/Paris")
        .env("INTERVAULT_DIR", &v.dir)
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
        .current_dir(home)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sh");
    let code = out.status.code().unwrap_or(128);
    (String::from_utf8_lossy(&out.stdout).into_owned(), code)
}

#[test]
fn issue_13_the_user_guide_examples_marked_doctest_run_as_shown() {
    let examples = examples(GUIDE);
    assert!(
        examples.len() >= 5,
        "only {} doctest examples in the user guide",
        examples.len()
    );
    let mut failures = Vec::new();
    for ex in &examples {
        let v = set_up(&ex.fixture);
        let mut status = 0;
        for (cmd, expected) in &ex.steps {
            let (got, code) = run_step(&v, cmd, status);
            status = code;
            let lines: Vec<&str> = got.lines().collect();
            if !lines_match(expected, &lines) {
                failures.push(format!(
                    "user-guide.md:{}: `{cmd}`\n  expected:\n    {}\n  got:\n    {}",
                    ex.line,
                    expected.join("\n    "),
                    lines.join("\n    ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn doctest_patterns_match_as_documented() {
    assert!(line_matches("a [..] c", "a b c"));
    assert!(line_matches("[..]", "anything"));
    assert!(!line_matches("a [..] c", "a b d"));
    let expected = vec!["x".to_owned(), "...".to_owned(), "z".to_owned()];
    assert!(lines_match(&expected, &["x", "y1", "y2", "z"]));
    assert!(lines_match(&expected, &["x", "z"]));
    assert!(!lines_match(&expected, &["x", "y"]));
    assert_eq!(
        without_comment("intervault get a b   # why"),
        "intervault get a b"
    );
}
