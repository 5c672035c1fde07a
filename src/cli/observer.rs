//! The terminal observer of a sync: a progress bar for long stages (on a terminal only),
//! stage timings with `GIT_MIXXX_TRACE`, and warnings.

use super::io;
use super::quote::{e, text};
use git_mixxx::sync::observer::{Observer, Stage, Warning};
use std::io::IsTerminal;
use std::time::Duration;

/// Below this many items a stage gets no progress bar: it is over before one helps.
const BAR_MINIMUM: usize = 2000;

pub struct Terminal {
    quiet: bool,
    trace: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Terminal {
    pub fn new(quiet: bool) -> Terminal {
        Terminal {
            quiet,
            trace: std::env::var_os("GIT_MIXXX_TRACE").is_some(),
            bar: None,
        }
    }

    /// Clears the progress bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// A bar without an estimate of the time left: the stages' speeds vary too much for one
    /// to be right.
    fn new_bar(stage: Stage, total: usize) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(stage.describe());
        bar
    }
}

/// The process's resident memory now and at its peak, from Linux's `/proc/self/status`
/// in MB (`None` elsewhere): what each stage leaves in memory, for the trace.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb = line.strip_prefix(name)?.trim().strip_suffix("kB")?;
        kb.trim().parse::<u64>().ok()
    };
    let (now, peak) = (kb("VmRSS:")?, kb("VmHWM:")?);
    Some((now / 1024, peak / 1024))
}

impl Observer for Terminal {
    fn stage_done(&mut self, stage: Stage, took: Duration) {
        if self.trace {
            let (stage, ms) = (stage.describe(), took.as_secs_f64() * 1e3);
            io::err(&match memory() {
                Some((now, peak)) => text!(
                    "git-mixxx: {}: {:.1} ms (resident {} MB, peak {} MB)",
                    stage,
                    ms,
                    now,
                    peak
                ),
                None => text!("git-mixxx: {}: {:.1} ms", stage, ms),
            });
        }
    }

    fn progress(&mut self, stage: Stage, done: usize, total: usize) {
        if self.quiet || total < BAR_MINIMUM || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self
            .bar
            .get_or_insert_with(|| Terminal::new_bar(stage, total));
        bar.set_position(done as u64);
        if done >= total {
            self.finish();
        }
    }

    fn warning(&mut self, warning: Warning) {
        io::err(&text!("warning: {}", e(warning)));
    }
}
