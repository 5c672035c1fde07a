//! The integration tests: one binary, real git, git-annex and SQLite, a fresh environment per
//! test (see `util`, on top of `tests/support`, which the benchmark shares).

mod bases;
mod cues;
mod database;
mod errors;
mod faults;
mod forge;
mod grid;
mod history;
mod hooks;
mod hostile;
mod import;
mod laptops;
mod launch;
mod month;
mod oracle;
mod playlists;
mod plays;
mod preparation;
mod push;
mod real_mixxx;
mod roundtrip;
mod safety;
mod screens;
mod shortcut;
#[allow(dead_code)] // shared with the benchmark, which uses other parts of it
#[path = "../support/mod.rs"]
mod support;
mod surface;
mod symlinks;
mod terminal;
mod trust;
mod two_way;
mod util;
