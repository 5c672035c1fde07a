//! Text for a terminal. Every string that comes from outside git-mixxx's source (the branch,
//! Mixxx, the file system, an error's message: values, labels, names, hosts, descriptions,
//! paths) reaches the terminal through [`q`] (quoted as git quotes unusual path names) or
//! [`e`] (escaped in place), both of which write it with [`escape`].
//!
//! The renderers build their output as [`Text`], which only the macros [`text!`] and [`say!`]
//! make: their arguments must be [`Safe`] (numbers, literals, [`Quoted`], [`Escaped`], other
//! [`Text`]), and their templates may not name variables (`{name}`), so printing such a string
//! raw does not compile. What reaches stdout and stderr is [`Text`] only (see `super::io`).

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

/// What may go into a [`Text`]: its `Display` writes no character that came from outside
/// git-mixxx unescaped.
pub trait Safe: Display {}

impl Safe for &'static str {}
impl Safe for char {}
impl Safe for usize {}
impl Safe for u64 {}
impl Safe for u32 {}
impl Safe for u8 {}
impl Safe for i64 {}
impl Safe for i32 {}
impl Safe for f64 {}

/// The identity, for the macros: it only compiles for [`Safe`] arguments.
pub fn safe<T: Safe>(value: &T) -> &T {
    value
}

/// Whether a template names no variable (`{name}`): only `{}`, `{0}`, `{:...}` and `{{`.
pub const fn plain_template(template: &str) -> bool {
    let b = template.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' {
            let next = b[i + 1];
            if next == b'{' {
                i += 2;
                continue;
            }
            if !(next == b'}' || next == b':' || next.is_ascii_digit()) {
                return false;
            }
        }
        i += 1;
    }
    true
}

/// Text safe to print: made by [`text!`] and [`say!`] from [`Safe`] pieces only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn new() -> Text {
        Text::default()
    }

    /// For [`text!`] only: `args` were checked to be [`Safe`].
    #[doc(hidden)]
    pub fn from_checked_args(args: fmt::Arguments<'_>) -> Text {
        Text(args.to_string())
    }

    /// For [`say!`] only: appends `args` (checked to be [`Safe`]) and a newline.
    #[doc(hidden)]
    pub fn push_checked_line(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(args);
        self.0.push('\n');
    }

    /// Appends other text.
    pub fn push(&mut self, other: &Text) {
        self.0.push_str(&other.0);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Safe for Text {}

/// `text!("template {}", a, b)`: a [`Text`] from a template and [`Safe`] arguments.
macro_rules! text {
    ($template:literal $(, $arg:expr)* $(,)?) => {{
        const {
            assert!(
                $crate::cli::quote::plain_template($template),
                "pass values as arguments (through q() if they come from outside), not by name in the template"
            )
        };
        $crate::cli::quote::Text::from_checked_args(format_args!(
            $template $(, $crate::cli::quote::safe(&$arg))*
        ))
    }};
}

/// `say!(out, "template {}", a)`: appends a line made as [`text!`] makes text to `out`.
macro_rules! say {
    ($out:expr, $template:literal $(, $arg:expr)* $(,)?) => {{
        const {
            assert!(
                $crate::cli::quote::plain_template($template),
                "pass values as arguments (through q() if they come from outside), not by name in the template"
            )
        };
        $out.push_checked_line(format_args!($template $(, $crate::cli::quote::safe(&$arg))*))
    }};
}

pub(crate) use {say, text};

/// Whether `c` must not reach a terminal as it is: control characters (C0, DEL, C1), line and
/// paragraph separators, and the marks that reorder the text around them (bidirectional
/// controls).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Whether [`q`] puts `s` in quotes: it holds a character [`escape`] changes when quoting.
fn needs_quotes(s: &str) -> bool {
    s.chars().any(|c| c == '"' || c == '\\' || unsafe_char(c))
}

/// Writes `s` with every character that must not reach a terminal escaped, as git's C-style
/// quoting of path names does (`core.quotePath=false`: printable Unicode is kept): `\n`, `\t`,
/// `\r`, `\a`, `\b`, `\f`, `\v`, and the other characters' UTF-8 bytes in octal (`\033` for
/// ESC). When `quoting` (the text stands between double quotes), `"` and `\` are escaped too.
pub fn escape(out: &mut impl fmt::Write, s: &str, quoting: bool) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\x07' => out.write_str("\\a")?,
            '\x08' => out.write_str("\\b")?,
            '\t' => out.write_str("\\t")?,
            '\n' => out.write_str("\\n")?,
            '\x0B' => out.write_str("\\v")?,
            '\x0C' => out.write_str("\\f")?,
            '\r' => out.write_str("\\r")?,
            '"' | '\\' if quoting => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c if unsafe_char(c) => {
                let mut buf = [0; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    write!(out, "\\{byte:03o}")?;
                }
            }
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// A string from outside, quoted as git quotes an unusual path name: as it is when it holds
/// nothing to escape, else between double quotes with [`escape`]'s escapes.
#[derive(Clone, Debug)]
pub struct Quoted<'a> {
    text: Cow<'a, str>,
    always: bool,
}

impl Quoted<'_> {
    /// Quoted even when nothing needs escaping (a value that would blur in a list).
    pub fn always(self) -> Self {
        Quoted {
            always: true,
            ..self
        }
    }
}

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.always && !needs_quotes(&self.text) {
            return f.write_str(&self.text);
        }
        f.write_char('"')?;
        escape(f, &self.text, true)?;
        f.write_char('"')
    }
}

impl Safe for Quoted<'_> {}

/// `text` from outside, quoted where needed ([`Quoted`]).
pub fn q(text: &str) -> Quoted<'_> {
    Quoted {
        text: Cow::Borrowed(text),
        always: false,
    }
}

/// A longer text from outside (a message, a description) escaped in place, without quotes.
#[derive(Clone, Debug)]
pub struct Escaped(String);

impl Display for Escaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape(f, &self.0, false)
    }
}

impl Safe for Escaped {}

/// `text` from outside (anything `Display`s it: an error, a path), escaped in place.
pub fn e(text: impl Display) -> Escaped {
    Escaped(text.to_string())
}

/// A path, quoted where needed ([`Quoted`]).
pub fn path(p: &std::path::Path) -> Quoted<'static> {
    Quoted {
        text: Cow::Owned(p.display().to_string()),
        always: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_newlines_are_escaped_as_git_quotes_path_names() {
        assert_eq!(q("Drop").to_string(), "Drop");
        assert_eq!(q("Café — 12\" mix").to_string(), r#""Café — 12\" mix""#);
        assert_eq!(
            q("c1\u{1b}[2J\n    music/f2.flac").to_string(),
            r#""c1\033[2J\n    music/f2.flac""#
        );
        assert_eq!(q("a\tb\r").to_string(), r#""a\tb\r""#);
        // C1 controls, bidirectional overrides and line separators, byte by byte in octal.
        assert_eq!(q("\u{9b}31m").to_string(), r#""\302\23331m""#);
        assert_eq!(q("abc\u{202E}fed").to_string(), r#""abc\342\200\256fed""#);
        assert_eq!(q("x\u{2028}y").to_string(), r#""x\342\200\250y""#);
        assert_eq!(q("plain").always().to_string(), r#""plain""#);
        assert_eq!(e("a \"b\"\n").to_string(), r#"a "b"\n"#);
        // Printable Unicode stays as it is.
        assert_eq!(q("Ünïcødé 日本 🎧").to_string(), "Ünïcødé 日本 🎧");
    }

    #[test]
    fn templates_name_no_variables() {
        assert!(plain_template("{} and {:>5} and {0} and {{literal}}"));
        assert!(!plain_template("{name}"));
        assert!(!plain_template("x {value:?}"));
    }

    #[test]
    fn text_is_made_of_safe_pieces() {
        let host = "h\u{1b}[31mX\nLast sync of this clone";
        let mut out = Text::new();
        say!(out, "on {} ({} tracks)", q(host), 3);
        let line = text!("{}, {}", out, "done");
        assert_eq!(
            line.as_str(),
            "on \"h\\033[31mX\\nLast sync of this clone\" (3 tracks)\n, done"
        );
    }
}
