//! Process hardening done once at start-up, before any secret is in memory.

/// Disables core dumps (RLIMIT_CORE = 0) and, on Linux, marks the process
/// non-dumpable, which also stops same-user ptrace attaches and hides
/// `/proc/PID/mem`. A secret must not end up in a core file.
///
/// Returns what could not be done, for the caller to report; failing to harden
/// is not a reason to refuse to run.
pub fn harden_process() -> Vec<String> {
    let mut problems = Vec::new();
    let zero = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::Core, zero) {
        problems.push(format!("could not disable core dumps: {e}"));
    }
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        problems.push(format!("could not mark the process non-dumpable: {e}"));
    }
    problems
}
