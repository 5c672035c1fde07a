//! Support shared by the integration tests (`tests/integration`) and the benchmark
//! (`benches/sync`): a hermetic environment for real git, git-annex and git-mixxx commands
//! ([`Env`]), and Mixxx databases built and read through git-mixxx's own code ([`db`]).
//!
//! Both include it as a module, each using part of it:
//!
//! ```ignore
//! #[allow(dead_code)] // shared test support: each side uses part of it
//! #[path = "../support/mod.rs"] // "../../tests/support/mod.rs" from benches/sync/main.rs
//! mod support;
//! ```

pub mod db;
pub mod env;

pub use db::*;
pub use env::*;
