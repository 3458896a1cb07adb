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

/// The library's source files: everything under `src/` but the binary
/// (`main.rs`, `cli/`) and the test-only files.
fn library_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "cli" {
                library_files(&path, out);
            }
        } else if name.ends_with(".rs")
            && name != "main.rs"
            && !name.ends_with("tests.rs")
            && name != "test_support.rs"
        {
            out.push(path);
        }
    }
}

/// The string literals of `source` outside comments and `#[cfg(test)]` items,
/// with their line. A small lexer: enough for this code base's Rust.
fn literals(source: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
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
            if attr.contains("test") && !attr.contains("not(test") {
                pending_test_item = true;
            }
        } else if c == '"' || (matches!(c, 'r' | 'b') && raw_or_byte_string(&chars, i)) {
            let start_line = line;
            let (text, end) = string_at(&chars, i);
            line += text.matches('\n').count();
            if skip_until_depth.is_none() && !pending_test_item {
                out.push((start_line, text));
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
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
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
    library_files(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let shown = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let source = std::fs::read_to_string(file).unwrap();
        for (line, text) in literals(&source) {
            let allowed = ALLOWED.iter().any(|(f, t)| *f == shown && text == *t);
            if names_a_flag(&text) && !allowed {
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
        const F: &str = "escaped \" --still-in-string";
    "##;
    let texts: Vec<String> = literals(source).into_iter().map(|(_, t)| t).collect();
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

/// The rendered messages of the variants whose advice the binary completes
/// with flags: in words here.
#[test]
fn the_errors_the_binary_completes_are_in_words() {
    use crate::Error;
    let messages = [
        Error::NoVault { path: "/v".into() },
        Error::VaultExists { path: "/v".into() },
        Error::WrongPassphrase,
        Error::NoSuchIntervention { id: "a".into() },
        Error::FieldNotSet {
            id: "a".into(),
            name: "b".into(),
            field: "note",
        },
        Error::CredentialExists {
            id: "a".into(),
            name: "b".into(),
        },
        Error::Keyring { what: "x".into() },
        Error::Declined { what: "x".into() },
        Error::RolledBack { found: 1, seen: 2 },
    ];
    for e in messages {
        let shown = e.to_string();
        assert!(!shown.contains("--"), "{shown}");
    }
}
