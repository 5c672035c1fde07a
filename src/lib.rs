//! git-mixxx: syncs the Mixxx DJ library with git-annex metadata on the `git-annex` branch.
//!
//! The library does the work and no user interface: it prints nothing and never exits. The
//! binary (`src/main.rs` and `src/cli/`) parses arguments, renders progress and results, and
//! maps errors to exit codes. Modules by concern:
//!
//! - [`mixxx`]: the Mixxx database (reading, writing, schema, running detection).
//! - [`annex`]: the git-annex branch, its log format, keys and journal.
//! - [`worktree`]: Mixxx paths to git-annex keys.
//! - [`fields`]: the field mapping between the two; [`merge`]: the three-way merges by the
//!   shape of a value (single value, set, cue, sequence).
//! - [`sync`]: the engine, in stages (snapshot, base, plan, apply, commit) and its no-change
//!   fingerprint; [`state`]: this clone's own sync state (local, authoritative) and every
//!   clone's on the branch; [`status`].
//! - [`bounds`]: the limits on what is read from the branch, which any clone writes.
//! - [`context`]: where a run happens (repository, database, prefixes).
//! - [`history`]: `log`, `undo` and `restore`: every change explained and reversible.
//! - [`hooks`]: installing and running the git hooks.
//! - [`merge`]: merge rules by the shape of the value (sequences so far).
//! - [`demo`]: the self-contained demonstration; [`error`]: the shared file-system error.

pub mod annex;
pub mod bounds;
pub mod context;
pub mod demo;
pub mod error;
pub mod fields;
pub mod history;
pub mod hooks;
pub mod launch;
pub mod merge;
pub mod mixxx;
pub mod state;
pub mod status;
pub mod sync;
pub mod worktree;

#[cfg(not(unix))]
compile_error!(
    "git-mixxx supports Unix-like systems (Linux, macOS): it uses POSIX locks, symlinks and process groups"
);

/// Runs `work` on consecutive chunks of `items` (each at least `min_chunk` long), one thread
/// per core, at most 8 (the work is small per item and memory-bound beyond that); returns the
/// chunks' results in order. A panic in a worker is raised again here.
pub(crate) fn on_cores<T: Sync, R: Send>(
    items: &[T],
    min_chunk: usize,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = items.len().div_ceil(cores).max(min_chunk).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}
