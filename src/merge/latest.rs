//! The latest of several moments (last played): every side's value is a time something
//! happened, so the merge is the latest of them, on every clone alike, whatever the order of
//! the log's lines. Canonical times ([`crate::fields::codec::time`]) sort as text.

/// The latest of `values`, if any.
pub fn latest<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    values.into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_time_wins_not_the_newest_line() {
        let values = [
            "2026-12-05T21:14:03Z",
            "2027-01-02T01:00:00Z",
            "2026-12-31T23:59:59Z",
        ];
        assert_eq!(latest(values), Some("2027-01-02T01:00:00Z"));
        assert_eq!(latest([]), None);
    }
}
