//! The integration tests: one binary, real git, git-annex and SQLite, a fresh environment per
//! test (see `util`).

mod errors;
mod hooks;
mod push;
mod two_way;
mod util;
