//! The library speaks in words, not in command-line flags: a vault can be a
//! directory or an etcd URL, and only the binary knows which flags this command
//! line has, so it alone adds them to the advice (`cli/advice.rs`). This scans
//! every string literal of the library's own code (not its tests, not its
//! comments) for a `--flag`, so that a new message cannot bring one back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// Literals that name a flag and are not advice: each with why it may.
const ALLOWED: &[(&str, &str)] = &[
    // The audit reason of an `add` that replaced a credential: data kept in
    // existing trails and matched when they are read, not a message.
    ("src/vault/recording.rs", "--replace"),
];

/// Every `.rs` file under `dir` but the binary's (`main.rs`, `cli/`).
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "cli" {
                source_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "main.rs" {
            out.push(path);
        }
    }
}

/// What the lexer finds in one file.
#[derive(Default)]
struct Scan {
    /// The string literals outside comments and test-only items, with their line.
    literals: Vec<(usize, String)>,
    /// The modules it declares test-only, each in a file of its own
    /// (`#[cfg(test)] mod tests;`).
    test_modules: Vec<String>,
}

/// Whether a `#[cfg(...)]` attribute holds only under `test`.
fn is_test_cfg(attr: &str) -> bool {
    let mut words = attr.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    words.any(|w| w == "test") && !attr.contains("not(test")
}

/// The string literals of `source` outside comments and `#[cfg(test)]` items,
/// and the test-only modules it declares. A small lexer: enough for this code
/// base's Rust.
fn scan(source: &str) -> Scan {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Scan::default();
    let mut line = 1;
    let mut i = 0;
    // While inside a test item: the brace depth at which it ends.
    let mut skip_until_depth: Option<usize> = None;
    let mut pending_test_item = false;
    let mut depth = 0usize;
    let at = |i: usize, s: &str| chars[i..].iter().take(s.len()).copied().eq(s.chars());
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut nest = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    nest += 1;
                    i += 2;
                } else if at(i, "*/") {
                    nest -= 1;
                    i += 2;
                    if nest == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if at(i, "#[cfg(") || at(i, "#![cfg(") {
            let start = i;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            let attr: String = chars[start..i].iter().collect();
            if is_test_cfg(&attr) {
                pending_test_item = true;
            }
        } else if c == '"' || (matches!(c, 'r' | 'b') && raw_or_byte_string(&chars, i)) {
            let start_line = line;
            let (text, end) = string_at(&chars, i);
            line += text.matches('\n').count();
            if skip_until_depth.is_none() && !pending_test_item {
                out.literals.push((start_line, text));
            }
            i = end;
        } else if c == '\'' {
            // A char literal ('"', '\'', 'x') or a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                // The quote, the backslash and the escaped character.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c == '{' {
            if pending_test_item && skip_until_depth.is_none() {
                skip_until_depth = Some(depth);
                pending_test_item = false;
            }
            depth += 1;
            i += 1;
        } else if c == '}' {
            depth = depth.saturating_sub(1);
            if skip_until_depth == Some(depth) {
                skip_until_depth = None;
            }
            i += 1;
        } else if c == ';' {
            // `#[cfg(test)] mod tests;` or a test-only `use`.
            if skip_until_depth.is_none() {
                pending_test_item = false;
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            // A whole identifier, so that the `r` or `b` ending one is not read
            // as the start of a raw or byte string.
            let word = identifier(&chars, &mut i);
            if word == "mod" && pending_test_item && skip_until_depth.is_none() {
                // `mod NAME;`: a file of its own, skipped whole by the caller.
                let mut j = i;
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                let name = identifier(&chars, &mut j);
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if chars.get(j) == Some(&';') {
                    out.test_modules.push(name);
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The identifier starting at `*i`, moving `*i` past it.
fn identifier(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
        *i += 1;
    }
    chars[start..*i].iter().collect()
}

/// The files of the test-only modules `names` that `file` declares: `NAME.rs`
/// and everything under `NAME/`, beside `file` when it is a `mod.rs` or
/// `lib.rs`, else in the directory named after it.
fn test_module_paths(file: &Path, names: &[String]) -> Vec<PathBuf> {
    let parent = file.parent().unwrap();
    let stem = file.file_stem().unwrap().to_string_lossy();
    let base = match stem.as_ref() {
        "mod" | "lib" => parent.to_owned(),
        _ => parent.join(stem.as_ref()),
    };
    names
        .iter()
        .flat_map(|n| [base.join(format!("{n}.rs")), base.join(n)])
        .collect()
}

/// Whether `r"`, `r#"`, `b"`, `br"` or `br#"` starts at `i`.
fn raw_or_byte_string(chars: &[char], i: usize) -> bool {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
    }
    if chars.get(j) == Some(&'r') {
        j += 1;
        while chars.get(j) == Some(&'#') {
            j += 1;
        }
    }
    j > i && chars.get(j) == Some(&'"')
}

/// The text of the string literal starting at `i`, and the index after it.
fn string_at(chars: &[char], mut i: usize) -> (String, usize) {
    let mut raw = false;
    if chars[i] == 'b' {
        i += 1;
    }
    let mut hashes = 0;
    if chars[i] == 'r' {
        raw = true;
        i += 1;
        while chars[i] == '#' {
            hashes += 1;
            i += 1;
        }
    }
    i += 1; // the opening quote
    let mut text = String::new();
    while i < chars.len() {
        let c = chars[i];
        if !raw && c == '\\' {
            text.push(c);
            if let Some(&next) = chars.get(i + 1) {
                text.push(next);
            }
            i += 2;
            continue;
        }
        if c == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
            return (text, i + 1 + hashes);
        }
        text.push(c);
        i += 1;
    }
    (text, i)
}

/// `--` followed by a letter: a long flag as a user would type it.
fn names_a_flag(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'-' && w[1] == b'-' && w[2].is_ascii_lowercase())
}

#[test]
fn the_library_names_no_command_line_flag() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    source_files(&root.join("src"), &mut files);
    files.sort();
    let scans: Vec<(PathBuf, Scan)> = files
        .into_iter()
        .map(|f| {
            let source = std::fs::read_to_string(&f).unwrap();
            (f, scan(&source))
        })
        .collect();
    // The files of test-only modules (`#[cfg(test)] mod tests;`) are tests.
    let test_only: Vec<PathBuf> = scans
        .iter()
        .flat_map(|(f, s)| test_module_paths(f, &s.test_modules))
        .collect();
    assert!(
        test_only
            .iter()
            .any(|p| p.ends_with("vault/fault_tests.rs")),
        "{test_only:?}"
    );
    let library: Vec<&(PathBuf, Scan)> = scans
        .iter()
        .filter(|(f, _)| !test_only.iter().any(|t| f.starts_with(t)))
        .collect();
    assert!(library.len() > 20, "found only {}", library.len());
    let mut found = Vec::new();
    for (file, scanned) in library {
        let shown = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for (line, text) in &scanned.literals {
            let allowed = ALLOWED.iter().any(|(f, t)| *f == shown && text == t);
            if names_a_flag(text) && !allowed {
                found.push(format!("{shown}:{line}: {text:?}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the library names command-line flags; say it in words and let src/cli/advice.rs add the flag:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_strings_and_skips_comments_and_tests() {
    let source = r##"
        // "--in-a-comment"
        /* "--in-a-block" */
        const A: &str = "--plain";
        const B: &str = r#"--raw "quoted""#;
        const C: char = '"';
        const Q: char = '\'';
        fn f<'a>(x: &'a str) -> &'a str { "--after-lifetime" }
        #[cfg(test)]
        mod tests { const D: &str = "--in-a-test"; fn g() { "--nested-test"; } }
        const E: &str = "--after-tests";
        #[cfg(test)]
        mod more;
        #[cfg(all(test, target_os = "linux"))]
        pub(crate) mod cluster;
        #[cfg(not(test))]
        mod shipped;
        #[cfg(not(feature = "secret-service"))]
        const F: &str = "escaped \" --still-in-string";
    "##;
    let scanned = scan(source);
    assert_eq!(scanned.test_modules, ["more", "cluster"]);
    let texts: Vec<String> = scanned.literals.into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "--plain",
            "--raw \"quoted\"",
            "--after-lifetime",
            "--after-tests",
            "escaped \\\" --still-in-string"
        ]
    );
    assert!(names_a_flag("add --replace"));
    assert!(!names_a_flag("-----BEGIN"));
    assert!(!names_a_flag("a -- b"));
}
