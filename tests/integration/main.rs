//! The integration tests: one binary, real git, git-annex and SQLite, a fresh environment per
//! test (see `util`).

mod errors;
mod push;
mod util;
