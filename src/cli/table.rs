//! Shared shapes of text: counts ("1 track", "2 tracks"), lists that stop after a limit and
//! say how many more there are, and lists of values as a DJ reads them.

use super::quote::{Safe, Text, q, say, text};

/// `n` and the noun, singular or plural: "1 track", "2 tracks".
pub fn count(n: usize, noun: &'static str) -> Text {
    text!("{} {}{}", n, noun, if n == 1 { "" } else { "s" })
}

/// "1 track", "2 tracks".
pub fn tracks(n: usize) -> Text {
    count(n, "track")
}

/// Writes the first `limit` of `lines` (of `total`) indented, then how many more there are.
pub fn capped(out: &mut Text, lines: impl Iterator<Item = Text>, total: usize, limit: usize) {
    for line in lines.take(limit) {
        say!(out, "    {}", line);
    }
    if total > limit {
        say!(out, "    ... and {} more (-vv lists all)", total - limit);
    }
}

/// Values as a DJ reads them: plain, quoted where spaces or commas would blur them or where
/// they hold characters a terminal must not get raw, `(none)` for no value.
pub fn values(values: &[String]) -> Text {
    if values.is_empty() {
        return text!("(none)");
    }
    let mut out = Text::new();
    for (i, v) in values.iter().enumerate() {
        let quoted = match v.is_empty() || v.contains(',') || v.trim() != v {
            true => q(v).always(),
            false => q(v),
        };
        out.push(&text!("{}{}", if i == 0 { "" } else { ", " }, quoted));
    }
    out
}

/// `items` joined with `sep`.
pub fn join<T: Safe>(items: impl IntoIterator<Item = T>, sep: &'static str) -> Text {
    let mut out = Text::new();
    for (i, item) in items.into_iter().enumerate() {
        out.push(&text!("{}{}", if i == 0 { "" } else { sep }, item));
    }
    out
}
