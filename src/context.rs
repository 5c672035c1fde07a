//! Where a run happens: the repository (found as git does, honouring `GIT_DIR` and
//! `GIT_WORK_TREE` as hooks set them), its annex, the Mixxx database and where that choice
//! came from (`--db`, else `GIT_MIXXX_DB`, else `git config mixxx.db`, else the first of
//! Mixxx's default locations that exists, see [`crate::mixxx::location`]) and the extra path
//! prefixes from `git config mixxx.prefix`.

use crate::annex::{self, Annex};
use crate::mixxx::location::{self, Location};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "not in a git repository ({0}); run git-mixxx inside your music repository or use `git -C DIR mixxx`"
    )]
    NoRepo(String),
    #[error(
        "Mixxx has no library database here yet ({}): start Mixxx once (then sync), or use `git mixxx launch`, which starts it and syncs; if it lives elsewhere, pass --db PATH or run `git config mixxx.db PATH`",
        looked_at(.0)
    )]
    NoDatabase(Vec<PathBuf>),
    #[error(
        "{} is a folder, not a Mixxx database: give the database file (Mixxx keeps it as mixxxdb.sqlite in its settings folder) with --db PATH, GIT_MIXXX_DB or `git config mixxx.db PATH`",
        .0.display()
    )]
    DbIsFolder(PathBuf),
    #[error(
        "{0} is outside the work tree {1}: give files or folders of the repository (or none, for the whole library)"
    )]
    PathOutside(PathBuf, PathBuf),
    #[error(
        "pathspec '{0}' did not match any file git tracks: give files or folders of the repository (or none, for the whole library)"
    )]
    NoMatch(PathBuf),
    #[error("reading the git index: {0}")]
    Index(String),
    #[error(transparent)]
    Annex(#[from] annex::Error),
}

/// What chose the Mixxx database. In JSON: `db_option`, `environment`, `git_config`, or the
/// default location's name ([`Location`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbSource {
    /// `--db PATH`.
    DbOption,
    /// The environment variable `GIT_MIXXX_DB`.
    Environment,
    /// `git config mixxx.db`.
    GitConfig,
    /// The `--settingsPath DIR` of `git config mixxx.command` (the Mixxx `git mixxx launch`
    /// starts): `DIR/mixxxdb.sqlite`.
    MixxxCommand,
    /// The first of Mixxx's default locations that exists.
    #[serde(untagged)]
    Default(Location),
}

/// The places looked at, for the message that none holds a database.
fn looked_at(places: &[PathBuf]) -> String {
    if places.is_empty() {
        let var = if cfg!(target_os = "windows") {
            "LOCALAPPDATA"
        } else {
            "HOME"
        };
        return format!("its default locations are unknown: {var} is not set");
    }
    let list: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    format!("looked at {}", list.join(", "))
}

pub struct Context {
    pub annex: Annex,
    pub db: PathBuf,
    /// What chose `db`.
    pub db_source: DbSource,
    pub prefixes: Vec<PathBuf>,
    /// Whether the clear guard is on (`git config mixxx.clearGuard`, default true).
    pub clear_guard: bool,
    /// Whether a sync adds to Mixxx the files it lacks (`git config mixxx.import`, default
    /// true).
    pub import: bool,
    /// Whether run records on the branch leave out this machine's host name and database path
    /// (`git config mixxx.private`, default false).
    pub private: bool,
}

/// A git config value of the repository, as a path (with `~/` expanded).
fn config_path(repo: &gix::Repository, key: &str) -> Vec<PathBuf> {
    let config = repo.config_snapshot();
    config
        .strings(key)
        .unwrap_or_default()
        .into_iter()
        .map(|v| expand_home(&v.to_string()))
        .collect()
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The database someone chose (`--db`, `GIT_MIXXX_DB`, `git config mixxx.db`, in this order),
/// if anyone did.
fn choose_db(option: Option<PathBuf>, repo: &gix::Repository) -> Option<(DbSource, PathBuf)> {
    option
        .map(|p| (DbSource::DbOption, p))
        .or_else(|| {
            std::env::var_os("GIT_MIXXX_DB")
                .filter(|v| !v.is_empty())
                .map(|v| (DbSource::Environment, PathBuf::from(v)))
        })
        .or_else(|| {
            config_path(repo, "mixxx.db")
                .pop()
                .map(|p| (DbSource::GitConfig, p))
        })
        .or_else(|| {
            let command = crate::launch::command(repo).ok()?;
            let settings = crate::launch::settings_path(&command)?;
            Some((
                DbSource::MixxxCommand,
                expand_home(&settings).join("mixxxdb.sqlite"),
            ))
        })
}

/// Opens the repository the way git would from the current directory and environment.
pub fn open_repo() -> Result<gix::Repository, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::NoRepo(e.to_string()))?;
    gix::discover_with_environment_overrides(&cwd)
        .map(|mut repo| {
            // Reading many small objects: give gix a cache.
            repo.object_cache_size_if_unset(16 * 1024 * 1024);
            repo
        })
        .map_err(|e| Error::NoRepo(e.to_string()))
}

impl Context {
    pub fn open(db: Option<PathBuf>) -> Result<Context, Error> {
        let repo = open_repo()?;
        let (db_source, db) = match choose_db(db, &repo) {
            Some(chosen) => chosen,
            None => {
                let candidates = location::here();
                candidates
                    .iter()
                    .find(|(_, path)| path.exists())
                    .map(|(place, path)| (DbSource::Default(*place), path.clone()))
                    .ok_or_else(|| {
                        Error::NoDatabase(candidates.into_iter().map(|(_, p)| p).collect())
                    })?
            }
        };
        if db.is_dir() {
            return Err(Error::DbIsFolder(db));
        }
        let prefixes = config_path(&repo, "mixxx.prefix");
        let clear_guard = repo
            .config_snapshot()
            .boolean("mixxx.clearGuard")
            .unwrap_or(true);
        let import = repo
            .config_snapshot()
            .boolean("mixxx.import")
            .unwrap_or(true);
        let private = repo
            .config_snapshot()
            .boolean("mixxx.private")
            .unwrap_or(false);
        Ok(Context {
            import,
            private,
            annex: Annex::open(repo)?,
            db,
            db_source,
            prefixes,
            clear_guard,
        })
    }

    /// Turns PATH arguments (relative to the current directory) into repo-relative paths;
    /// an empty list means the whole work tree.
    pub fn repo_paths(&self, args: &[PathBuf]) -> Result<Vec<String>, Error> {
        repo_paths(&self.annex.repo, args)
    }
}

/// Turns PATH arguments (relative to the current directory) into paths of `repo`'s work
/// tree, each a file git tracks or a folder holding one; an empty list means the whole work
/// tree.
pub fn repo_paths(repo: &gix::Repository, args: &[PathBuf]) -> Result<Vec<String>, Error> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let roots: Vec<PathBuf> = [
        std::path::absolute(workdir).ok(),
        std::fs::canonicalize(workdir).ok(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut out = Vec::new();
    for arg in args {
        let abs = std::path::absolute(arg).unwrap_or_else(|_| arg.clone());
        let candidates = [Some(abs.clone()), std::fs::canonicalize(&abs).ok()];
        let rel = candidates
            .iter()
            .flatten()
            .find_map(|c| {
                roots
                    .iter()
                    .find_map(|r| c.strip_prefix(r).ok().map(Path::to_path_buf))
            })
            .ok_or_else(|| Error::PathOutside(arg.clone(), workdir.to_owned()))?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        let rel = rel.trim_end_matches('/');
        if rel.is_empty() {
            return Ok(Vec::new());
        }
        out.push(rel.to_owned());
    }
    if let Some(unmatched) = unmatched(repo, &out)? {
        return Err(Error::NoMatch(args[unmatched].clone()));
    }
    Ok(out)
}

/// The first of `paths` (repository-relative) that is neither a file git tracks nor a
/// folder holding one.
fn unmatched(repo: &gix::Repository, paths: &[String]) -> Result<Option<usize>, Error> {
    if paths.is_empty() {
        return Ok(None);
    }
    let index = repo
        .index_or_empty()
        .map_err(|e| Error::Index(e.to_string()))?;
    let mut matched = vec![false; paths.len()];
    for entry in index.entries() {
        let path = entry.path(&index);
        for (i, p) in paths.iter().enumerate() {
            let p = p.as_bytes();
            matched[i] |=
                path.starts_with(p) && (path.len() == p.len() || path.get(p.len()) == Some(&b'/'));
        }
    }
    Ok(matched.iter().position(|m| !m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_of_the_sources() {
        let names: Vec<String> = [
            DbSource::DbOption,
            DbSource::Environment,
            DbSource::GitConfig,
            DbSource::Default(Location::Flatpak),
        ]
        .iter()
        .map(|s| serde_json::to_string(s).expect("serializes"))
        .collect();
        assert_eq!(
            names,
            [
                "\"db_option\"",
                "\"environment\"",
                "\"git_config\"",
                "\"default_flatpak\""
            ]
        );
    }

    #[test]
    fn the_error_without_a_database_lists_the_places_in_order() {
        let message = Error::NoDatabase(vec![
            PathBuf::from("/home/dj/.mixxx/mixxxdb.sqlite"),
            PathBuf::from("/home/dj/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite"),
        ])
        .to_string();
        assert!(
            message.contains(
                "looked at /home/dj/.mixxx/mixxxdb.sqlite, /home/dj/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite"
            ) && message.contains("--db PATH")
                && message.contains("git config mixxx.db PATH"),
            "{message}"
        );
        let message = Error::NoDatabase(Vec::new()).to_string();
        assert!(message.contains("is not set"), "{message}");
    }
}
