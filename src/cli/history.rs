//! The commands that explain and revert changes (`log`, `undo`, `restore`): running the
//! library's [`git_mixxx::history`] and printing its results, and `--since`'s time forms.

use super::{Command, Db, OK, Outcome, Output, SOME_FAILED, json, observer, out, render};
use git_mixxx::context::{self, Context};
use git_mixxx::history;
use std::path::PathBuf;

/// `git mixxx log`.
pub fn log(
    command: &Command,
    paths: &[PathBuf],
    since: Option<i64>,
    max_runs: Option<usize>,
    output: Output,
) -> Outcome {
    let repo = context::open_repo()?;
    let opts = history::log::Options {
        paths: context::repo_paths(&repo, paths)?,
        since,
        max_runs,
    };
    let log = history::log::log(&git_mixxx::annex::Annex::open(repo)?, &opts)?;
    if output.json {
        return json(command, &log);
    }
    if !output.quiet {
        out(&render::log(&log))?;
    }
    Ok(OK)
}

/// `git mixxx undo`: exit status 1 when the sync that applies it failed some values.
pub fn undo(
    command: &Command,
    run: Option<String>,
    dry_run: bool,
    force: bool,
    db: &Db,
    output: Output,
) -> Outcome {
    let ctx = Context::open(db.db.clone())?;
    let opts = history::undo::Options {
        run,
        dry_run,
        force,
    };
    let mut observer = observer::Terminal::new(output.quiet || output.json);
    let undo = history::undo::undo(&ctx, &opts, &mut observer);
    observer.finish();
    let undo = undo?;
    if output.json {
        json(command, &undo)?;
    } else if !output.quiet {
        out(&render::undo(&undo, output.limit()))?;
    }
    Ok(match &undo.sync {
        Some(report) if report.failed_any() => SOME_FAILED,
        _ => OK,
    })
}

/// `git mixxx restore`: the list without BACKUP, else that backup put back.
pub fn restore(command: &Command, backup: Option<&str>, db: &Db, output: Output) -> Outcome {
    let ctx = Context::open(db.db.clone())?;
    let Some(name) = backup else {
        let backups = history::restore::list(&ctx)?;
        if output.json {
            return json(command, &serde_json::json!({ "backups": backups }));
        }
        if !output.quiet {
            out(&render::backups(&backups, &ctx.db))?;
        }
        return Ok(OK);
    };
    let restored = history::restore::restore(&ctx, name)?;
    if output.json {
        return json(command, &restored);
    }
    if !output.quiet {
        out(&render::restored(&restored))?;
    }
    Ok(OK)
}

/// `--since WHEN`: a date (`2026-12-01`, midnight UTC), a time (RFC 3339) or an age
/// (`3.days`, `12 hours ago`), as seconds since the epoch.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let now = chrono::Utc::now();
    parse_since_at(text, now).ok_or_else(|| {
        format!(
            "{text:?} is not a date (2026-12-01), a time (2026-12-01T20:00:00Z) or an age (3.days, 12.hours, 90.minutes, 2.weeks)"
        )
    })
}

fn parse_since_at(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    let text = text.strip_suffix("ago").unwrap_or(text).trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let unit = unit.trim_start_matches(['.', ' ']).trim_end_matches('s');
    let seconds = match unit {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 7 * 86_400,
        _ => return None,
    };
    Some(now.timestamp() - number.checked_mul(seconds)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_times_and_ages() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |t: &str| parse_since_at(t, now);
        let day = 86_400;
        assert_eq!(at("2026-12-04"), Some(now.timestamp() - day / 2));
        assert_eq!(at("2026-12-04T11:00:00Z"), Some(now.timestamp() - 3600));
        assert_eq!(at("3.days"), Some(now.timestamp() - 3 * day));
        assert_eq!(at("1 hour ago"), Some(now.timestamp() - 3600));
        assert_eq!(at("90.minutes"), Some(now.timestamp() - 5400));
        assert_eq!(at("2.weeks"), Some(now.timestamp() - 14 * day));
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("3.fortnights"), None);
    }
}
