//! The integration tests: one binary, real git, git-annex and SQLite, a fresh environment per
//! test (see `util`, on top of `tests/support`, which the benchmark shares).

mod cues;
mod database;
mod errors;
mod faults;
mod grid;
mod history;
mod hooks;
mod import;
mod laptops;
mod launch;
mod month;
mod oracle;
mod playlists;
mod preparation;
mod push;
mod real_mixxx;
mod revision41;
mod safety;
#[allow(dead_code)] // shared with the benchmark, which uses other parts of it
#[path = "../support/mod.rs"]
mod support;
mod surface;
mod two_way;
mod util;
