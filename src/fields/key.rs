//! Musical keys: Mixxx's `key_id` enum and the notations Mixxx writes key text in.

/// Mixxx's `key_id` for a key text: 1..12 major C..B, 13..24 minor Cm..Bm, 0 when the text
/// is not a key Mixxx would recognise. Accepts traditional (`Am`, `C#m`, `Db`, `F#/Gb`),
/// Lancelot (`8A`) and OpenKey (`1m`) notations.
pub fn key_id(text: &str) -> i64 {
    // Pitch classes 0 = C .. 11 = B; the id is pitch+1 for major, pitch+13 for minor.
    let id = |pitch: i64, minor: bool| pitch.rem_euclid(12) + if minor { 13 } else { 1 };
    // Lancelot nB is the major key a fifth (7 semitones) per step from 8B = C; nA is its
    // relative minor (9 semitones up). OpenKey nd/nm is Lancelot ((n + 6) mod 12) + 1.
    let lancelot = |n: i64, minor: bool| id(7 * (n - 8) + if minor { 9 } else { 0 }, minor);
    let t = text.trim();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let Ok(n) = t[..digits].parse::<i64>() else {
            return 0;
        };
        if !(1..=12).contains(&n) {
            return 0;
        }
        return match &t[digits..] {
            "A" | "a" => lancelot(n, true),
            "B" | "b" => lancelot(n, false),
            "m" => lancelot((n + 6) % 12 + 1, true),
            "d" => lancelot((n + 6) % 12 + 1, false),
            _ => 0,
        };
    }
    let mut chars = t.chars();
    let base = match chars.next() {
        Some('C' | 'c') => 0,
        Some('D' | 'd') => 2,
        Some('E' | 'e') => 4,
        Some('F' | 'f') => 5,
        Some('G' | 'g') => 7,
        Some('A' | 'a') => 9,
        Some('B' | 'b') => 11,
        _ => return 0,
    };
    // `F#/Gb`: the first spelling decides.
    let rest = chars.as_str().split('/').next().unwrap_or("");
    let (accidental, mode) = if let Some(m) = rest.strip_prefix(['#', '♯']) {
        (1, m)
    } else if let Some(m) = rest.strip_prefix(['b', '♭']) {
        (-1, m)
    } else {
        (0, rest)
    };
    match mode {
        "" | "maj" | "major" => id(base + accidental, false),
        "m" | "min" | "minor" => id(base + accidental, true),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_match_mixxx_enum() {
        assert_eq!(key_id("C"), 1);
        assert_eq!(key_id("Db"), 2);
        assert_eq!(key_id("C#"), 2);
        assert_eq!(key_id("F#/Gb"), 7);
        assert_eq!(key_id("B"), 12);
        assert_eq!(key_id("Cm"), 13);
        assert_eq!(key_id("C#m"), 14);
        assert_eq!(key_id("Ebm"), 16);
        assert_eq!(key_id("Am"), 22);
        assert_eq!(key_id("Bm"), 24);
        assert_eq!(key_id("8A"), 22);
        assert_eq!(key_id("8B"), 1);
        assert_eq!(key_id("1d"), 1);
        assert_eq!(key_id("1m"), 22);
        assert_eq!(key_id("12B"), 5);
        assert_eq!(key_id("nonsense"), 0);
        assert_eq!(key_id(""), 0);
    }
}
