//! Detecting a running Mixxx: writing the database while Mixxx has it open is unsafe (Mixxx
//! caches tracks and writes whole rows back), so git-mixxx writes only when no Mixxx is in the
//! way. On Linux that is any other process holding the database file open; on macOS and
//! Windows, where a process's open files cannot be seen that way, any process named Mixxx.

use std::path::Path;

/// What [`holder`]'s process does that makes it a running Mixxx, for messages
/// (`"process 123 (mixxx) has the database open"`).
pub const HOLDS: &str = if cfg!(any(target_os = "macos", target_os = "windows")) {
    "is running"
} else {
    "has the database open"
};

/// Describes the first other process that has `db` open (`"process 123 (mixxx)"`), if any;
/// git-mixxx's own processes do not count.
///
/// This reads `/proc/*/fd`; a process of another user whose descriptors cannot be read is not
/// seen, which is fine for a Mixxx that runs as the same user. Where there is no `/proc`, no
/// process can be seen and the caller relies on SQLite's locks alone.
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
pub fn holder(db: &Path) -> Option<String> {
    let target = std::fs::canonicalize(db).ok()?;
    let me = std::process::id().to_string();
    let procs = std::fs::read_dir("/proc").ok()?;
    for entry in procs.flatten() {
        let pid = entry.file_name();
        let Some(pid) = pid.to_str() else { continue };
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == target));
        let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        // Another git-mixxx (a `status` or `--dry-run` meanwhile) reads, and never writes
        // without the branch's journal lock, which this run holds when it writes.
        if holds && name.trim() != "git-mixxx" {
            return Some(format!("process {pid} ({})", name.trim()));
        }
    }
    None
}

/// Describes the first running process named Mixxx (`"process 123 (Mixxx)"`), if any: the
/// files a process has open cannot be listed here, so whichever database that Mixxx uses, it
/// counts. When the process list cannot be read, the caller relies on SQLite's locks alone.
#[cfg(any(target_os = "macos", target_os = "windows"))]
pub fn holder(_db: &Path) -> Option<String> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let me = std::process::id();
    system.processes().iter().find_map(|(pid, process)| {
        let name = process.name().to_string_lossy();
        (pid.as_u32() != me && is_mixxx(&name)).then(|| format!("process {pid} ({name})"))
    })
}

/// Whether a process name is Mixxx's (`mixxx` on macOS, `mixxx.exe` on Windows, in any case).
#[cfg(any(target_os = "macos", target_os = "windows", test))]
fn is_mixxx(name: &str) -> bool {
    name.eq_ignore_ascii_case("mixxx") || name.eq_ignore_ascii_case("mixxx.exe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixxx_is_known_by_its_name_in_any_case() {
        for name in ["mixxx", "Mixxx", "MIXXX", "mixxx.exe", "Mixxx.EXE"] {
            assert!(is_mixxx(name), "{name}");
        }
        for name in ["git-mixxx", "mixxx-helper", "mixx", "mixxx.sh", ""] {
            assert!(!is_mixxx(name), "{name}");
        }
    }
}
