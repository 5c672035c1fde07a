//! The one file-system error type: what git-mixxx was doing, where, and the system's reason.
//! Each layer's error wraps it (`#[from]`), so every such message reads alike.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", path.display())]
pub struct PathError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Turns an I/O error while `what`-ing `path` into a [`PathError`]; for `map_err`.
pub fn at<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> PathError + 'p {
    move |source| PathError {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Whether `error` or any error under it is the system's "no space left on device" (or
/// "disk quota exceeded").
pub fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    io_kind_under(error, |kind| {
        matches!(
            kind,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    })
}

/// Whether `error` or any error under it is the system's "read-only file system" or
/// "permission denied".
pub fn is_read_only(error: &(dyn std::error::Error + 'static)) -> bool {
    io_kind_under(error, |kind| {
        matches!(
            kind,
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
        )
    })
}

/// Whether an I/O error of a kind `matches` is `error` or under it.
fn io_kind_under(
    error: &(dyn std::error::Error + 'static),
    matches: impl Fn(std::io::ErrorKind) -> bool,
) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches(io.kind())
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// Test hook: with `GIT_MIXXX_TEST_KILL` set to `name`, the process aborts here at once,
/// nothing unwound (open transactions, locks and temporary files stay as a kill leaves them),
/// to prove that interrupted runs converge.
pub(crate) fn kill_point(name: &str) {
    if std::env::var("GIT_MIXXX_TEST_KILL").is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

/// Test hook: with `GIT_MIXXX_TEST_PAUSE` set to `name`, the process creates the file named by
/// `GIT_MIXXX_TEST_PAUSE_FILE` here and waits until it is removed (at most a minute), so that a
/// test can act (as Mixxx writing) at exactly this point of a run.
pub(crate) fn pause_point(name: &str) {
    if !std::env::var("GIT_MIXXX_TEST_PAUSE").is_ok_and(|v| v == name) {
        return;
    }
    let Some(file) = std::env::var_os("GIT_MIXXX_TEST_PAUSE_FILE") else {
        return;
    };
    let file = std::path::Path::new(&file);
    if std::fs::write(file, name).is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
