//! git-mixxx: syncs the Mixxx DJ library with git-annex metadata on the `git-annex` branch.
//!
//! The library holds everything; `main.rs` only parses arguments and maps errors to exit
//! codes. Modules by concern:
//!
//! - [`mixxx`]: the Mixxx database (reading, writing, schema, running detection).
//! - [`annex`]: the git-annex branch, its log format, keys and journal.
//! - [`worktree`]: Mixxx paths to git-annex keys.
//! - [`fields`]: the field mapping between the two.
//! - [`sync`]: the three-way planning and the run; [`state`]: sync state; [`quiet`]: the
//!   no-change shortcut; [`status`].
//! - [`hooks`]: installing and running the git hooks.
//! - [`cli`]: the command line and its output; [`demo`]: the self-contained demonstration.

pub mod annex;
pub mod cli;
pub mod context;
pub mod demo;
pub mod fields;
pub mod hooks;
pub mod mixxx;
pub mod quiet;
pub mod state;
pub mod status;
pub mod sync;
pub mod worktree;

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
