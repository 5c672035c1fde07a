//! Detecting a running Mixxx: writing the database while Mixxx has it open is unsafe (Mixxx
//! caches tracks and writes whole rows back), so git-mixxx writes only when no other process
//! holds the database file open.

use std::path::Path;

/// Describes the first other process that has `db` open (`"process 123 (mixxx)"`), if any;
/// git-mixxx's own processes do not count.
///
/// On Linux this reads `/proc/*/fd`; a process of another user whose descriptors cannot be
/// read is not seen, which is fine for a Mixxx that runs as the same user. Elsewhere no
/// process can be seen and the caller relies on SQLite's locks alone.
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
