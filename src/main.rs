//! The `intervault` command: parse, run, render, exit code. All the work is in
//! the library; see `cli/` for the argument types, prompts and rendering.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any secret is in memory: no core dumps, no ptrace by the same user.
    for problem in intervault::hygiene::harden_process() {
        eprintln!("intervault: warning: {problem}: secrets could reach a core dump");
    }
    let args = match cli::parse() {
        Ok(args) => args,
        Err(code) => return ExitCode::from(code),
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("intervault: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
