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
