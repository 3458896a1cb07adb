//! `unlock`, `lock`, `status`.

use std::path::PathBuf;

use intervault::timefmt::{format_duration, format_local, format_utc, parse_duration};
use intervault::vault::{StatusReport, Vault};
use intervault::Result;
use serde_json::json;

use super::render;
use super::ui::TerminalUi;

pub fn unlock(vault: &Vault, ui: &mut TerminalUi, for_: Option<&str>) -> Result<()> {
    let duration = for_.map(parse_duration).transpose()?;
    let until = vault.unlock(duration, ui)?;
    errln!(
        "intervault: unlocked until {}; 'intervault lock' ends it sooner",
        format_local(until)
    );
    Ok(())
}

pub fn lock(vault: &Vault) -> Result<()> {
    if vault.lock()? {
        errln!("intervault: locked");
    } else {
        errln!("intervault: was not unlocked");
    }
    Ok(())
}

pub fn status(vault: &Vault, ui: &mut TerminalUi, json: bool) -> Result<()> {
    let report = vault.status(ui)?;
    let timer = sweep_timer();
    if json {
        render::print_json(&status_json(&vault.address(), &report, timer.as_deref()));
    } else {
        out!(
            "{}",
            status_text(&vault.address(), &report, timer.as_deref())
        );
    }
    Ok(())
}

fn status_json(vault: &str, r: &StatusReport, timer: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "vault": vault,
        "locked": r.unlocked_until.is_none(),
        "unlocked_until": r.unlocked_until.map(format_utc),
        "live": r.live,
        "next_expiry": r.next_expiry.map(format_utc),
        "sweep_timer": timer,
        "keys_pending": r.keys_pending,
    });
    if let Some(items) = &r.interventions {
        v["interventions"] = items
            .iter()
            .map(|s| {
                let mut item = render::summary_json(s);
                let left = match s.status {
                    intervault::intervention::Status::Scheduled => s.window.from - r.now,
                    _ => s.window.until - r.now,
                };
                item["seconds_left"] = json!(left.num_seconds().max(0));
                item
            })
            .collect();
    }
    v
}

fn status_text(vault: &str, r: &StatusReport, timer: Option<&str>) -> String {
    let mut out = format!("vault:        {vault}\n");
    out.push_str(&match r.unlocked_until {
        Some(until) => format!(
            "session:      unlocked until {} ({} left)\n",
            format_local(until),
            format_duration(until - r.now)
        ),
        None => "session:      locked\n".into(),
    });
    out.push_str(&format!("open:         {} intervention(s)\n", r.live));
    if r.keys_pending > 0 {
        out.push_str(&format!(
            "keys pending: {} wiped intervention key(s) not destroyed yet: run intervault where the OS keyring holding them can be reached\n",
            r.keys_pending
        ));
    }
    if let Some(next) = r.next_expiry {
        out.push_str(&format!(
            "next expiry:  {} (in {})\n",
            format_local(next),
            format_duration(next - r.now)
        ));
    }
    out.push_str(&match timer {
        Some(t) => format!("sweep timer:  {t}\n"),
        None => {
            "sweep timer:  none found: see EXAMPLES in 'man intervault-sweep' to run 'intervault sweep' every minute\n"
                .into()
        }
    });
    match &r.interventions {
        Some(items) if !items.is_empty() => {
            out.push('\n');
            out.push_str(&render::list_text(items));
        }
        Some(_) => {}
        None if r.live > 0 => out.push_str("(unlock the vault to see the interventions)\n"),
        None => {}
    }
    out
}

/// Where a sweep timer is set up, if one is: a systemd user timer whose service
/// runs `intervault sweep`, or a line of the user's crontab.
fn sweep_timer() -> Option<String> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let units = config.join("systemd/user");
    if let Ok(entries) = std::fs::read_dir(&units) {
        for entry in entries.flatten() {
            let path = entry.path();
            let is_service = path.extension().is_some_and(|e| e == "service");
            let runs_sweep = std::fs::read_to_string(&path)
                .is_ok_and(|text| text.contains("intervault") && text.contains("sweep"));
            let timer = path.with_extension("timer");
            if is_service && runs_sweep && timer.exists() {
                let name = timer.file_name()?.to_string_lossy().into_owned();
                return Some(format!("systemd user timer {name}"));
            }
        }
    }
    let crontab = std::process::Command::new("crontab")
        .arg("-l")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&crontab.stdout)
        .lines()
        .map(str::trim)
        .any(|l| !l.starts_with('#') && l.contains("intervault") && l.contains("sweep"))
        .then(|| "cron line in your crontab".to_owned())
}
