//! Dates as people read them and type them. One format for every timestamp a command prints:
//! local time as git shows it (`Mon Dec 7 14:05:09 2026 +0100`), which `log --date=STYLE`
//! changes as git's `--date` does; JSON keeps RFC 3339 UTC. `--since` and `--until` take what
//! git takes (absolute dates, `yesterday`, `2.weeks.ago`, `"3 days ago"`), parsed as gitoxide
//! parses them.

use super::quote::{Quoted, Safe, q};
use chrono::{DateTime, Local, Utc};
use clap::ValueEnum;
use std::fmt;

/// How `log --date` shows dates, by git's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Style {
    /// `Mon Dec 7 14:05:09 2026 +0100`
    #[default]
    Default,
    /// `2026-12-07 14:05:09 +0100`
    #[value(alias = "iso8601")]
    Iso,
    /// `2026-12-07T14:05:09+01:00`
    #[value(alias = "iso8601-strict")]
    IsoStrict,
    /// `Mon, 7 Dec 2026 14:05:09 +0100`
    #[value(alias = "rfc2822")]
    Rfc,
    /// `2026-12-07`
    Short,
    /// `Mon Dec 7 14:05:09 2026` (the default without the offset)
    Local,
    /// `3 hours ago`
    Relative,
    /// `1796648709 +0100`
    Raw,
    /// `1796648709`
    Unix,
}

/// A timestamp as [`Style`] shows it, in this machine's time zone; a text that is not one
/// (a record's own time field, written by any clone) is shown quoted as it is.
pub enum Shown<'a> {
    Time(DateTime<Utc>, Style),
    Text(Quoted<'a>),
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Time(t, style) => format(f, *t, *style, Utc::now()),
            Shown::Text(text) => text.fmt(f),
        }
    }
}

impl Safe for Shown<'_> {}

/// `time` (RFC 3339, as records, logs and the JSON hold it) as people read it.
pub fn shown(time: &str, style: Style) -> Shown<'_> {
    match DateTime::parse_from_rfc3339(time) {
        Ok(t) => Shown::Time(t.to_utc(), style),
        Err(_) => Shown::Text(q(time)),
    }
}

/// `time` in the default style.
pub fn when(time: &str) -> Shown<'_> {
    shown(time, Style::Default)
}

fn format(
    f: &mut fmt::Formatter<'_>,
    t: DateTime<Utc>,
    style: Style,
    now: DateTime<Utc>,
) -> fmt::Result {
    let local = t.with_timezone(&Local);
    match style {
        Style::Default => write!(f, "{}", local.format("%a %b %-d %H:%M:%S %Y %z")),
        Style::Iso => write!(f, "{}", local.format("%Y-%m-%d %H:%M:%S %z")),
        Style::IsoStrict => write!(f, "{}", local.format("%Y-%m-%dT%H:%M:%S%:z")),
        Style::Rfc => write!(f, "{}", local.format("%a, %-d %b %Y %H:%M:%S %z")),
        Style::Short => write!(f, "{}", local.format("%Y-%m-%d")),
        Style::Local => write!(f, "{}", local.format("%a %b %-d %H:%M:%S %Y")),
        Style::Relative => f.write_str(&relative(now.timestamp() - t.timestamp())),
        Style::Raw => write!(f, "{} {}", t.timestamp(), local.format("%z")),
        Style::Unix => write!(f, "{}", t.timestamp()),
    }
}

/// An age as git's `--date=relative` says it.
fn relative(seconds: i64) -> String {
    if seconds < 0 {
        return "in the future".to_owned();
    }
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    let (minutes, hours, days) = (
        (seconds + 30) / 60,
        (seconds + 1800) / 3600,
        (seconds + 43_200) / 86_400,
    );
    match seconds {
        s if s < 90 => plural(s, "second"),
        _ if minutes < 90 => plural(minutes, "minute"),
        _ if hours < 36 => plural(hours, "hour"),
        _ if days < 14 => plural(days, "day"),
        _ if days < 70 => plural((days + 3) / 7, "week"),
        _ if days < 365 => plural((days + 15) / 30, "month"),
        _ => {
            let months = (days * 12 * 2 + 365) / (365 * 2);
            let (years, months) = (months / 12, months % 12);
            match (years < 5, months) {
                (true, m) if m > 0 => format!(
                    "{}, {}",
                    plural(years, "year").trim_end_matches(" ago"),
                    plural(m, "month")
                ),
                _ => plural(years, "year"),
            }
        }
    }
}

/// `--since` and `--until`: what git takes, as seconds since the epoch.
pub fn parse(text: &str) -> Result<i64, String> {
    parse_at(text, gix::date::Zoned::now())
}

fn parse_at(text: &str, now: gix::date::Zoned) -> Result<i64, String> {
    gix::date::parse(text.trim(), Some(now))
        .map(|t| t.seconds)
        .map_err(|_| {
            format!(
                "{text:?} is not a date git takes: a date (2026-12-01), a time (\"2026-12-01 20:00\"), or an age (yesterday, 2.weeks.ago, \"3 days ago\")"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_and_until_take_what_git_takes() {
        let now: gix::date::Zoned = "2026-12-04T12:00:00+00:00[UTC]".parse().unwrap();
        let at = |t: &str| parse_at(t, now.clone());
        let (noon, day) = (now.timestamp().as_second(), 86_400);
        assert_eq!(at("2026-12-04"), Ok(noon - day / 2));
        assert_eq!(at("2026-12-04T11:00:00Z"), Ok(noon - 3600));
        assert_eq!(at("yesterday"), Ok(noon - day));
        assert_eq!(at("2.weeks.ago"), Ok(noon - 14 * day));
        assert_eq!(at("3 days ago"), Ok(noon - 3 * day));
        assert_eq!(at("90.minutes"), Ok(noon - 5400));
        assert!(at("after the party").is_err());
    }

    #[test]
    fn relative_ages_read_as_gits() {
        assert_eq!(relative(5), "5 seconds ago");
        assert_eq!(relative(3 * 3600), "3 hours ago");
        assert_eq!(relative(86_400), "24 hours ago");
        assert_eq!(relative(3 * 86_400), "3 days ago");
        assert_eq!(relative(21 * 86_400), "3 weeks ago");
        assert_eq!(relative(400 * 86_400), "1 year, 1 month ago");
        assert_eq!(relative(-5), "in the future");
    }
}
