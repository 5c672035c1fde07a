//! The exit statuses of the command line (the man pages' EXIT STATUS), what a command
//! returns, and an error said in one line with its causes.

use std::error::Error;

/// Exit status: success.
pub const OK: i32 = 0;
/// Exit status: some tracks failed (the rest were synced).
pub const SOME_FAILED: i32 = 1;
/// Exit status: usage, configuration or environment error (clap uses it for usage errors).
pub const ENVIRONMENT: i32 = 2;
/// Exit status: an internal error (a bug in git-mixxx).
pub const INTERNAL: i32 = 70;
/// Exit status of a fault injected by the tests (`GIT_MIXXX_TEST_CRASH`).
pub const SIMULATED_CRASH: i32 = 99;

pub type Outcome = Result<i32, Box<dyn Error>>;

/// An error and its causes in one line, each said once (a cause already in a message, as
/// some errors include their source, is not repeated).
pub fn describe(e: &(dyn Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
