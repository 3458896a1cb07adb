//! The `intervault` command: parse, run, render, exit code. All the work is in
//! the library; see `cli/` for the argument types, prompts and rendering.

#[macro_use]
mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug; its message could quote data, so only its place is shown,
    // as one line with the contract's exit code for internal errors.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // Whether the failed step changed the vault is not known here (a panic
        // can come after a commit, or between a wipe and its upkeep): say so.
        errln!("intervault: internal error{place}: please report it; the failed step may have been cut short: check the vault with 'intervault status' and 'intervault list --all'");
        std::process::exit(1);
    }));
    // Before any secret is in memory: no core dumps, no ptrace by the same user.
    for problem in intervault::hygiene::harden_process() {
        errln!("intervault: warning: {problem}: secrets could reach a core dump");
    }
    let args = match cli::parse() {
        Ok(args) => args,
        Err(code) => return ExitCode::from(code),
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            errln!("intervault: {}", failure.line);
            ExitCode::from(failure.code)
        }
    }
}
