//! `git-mixxx-json(7)`: docs/json.md as a manual page. Its Markdown is plain: `#` headings,
//! paragraphs, two-column tables (`| key | value |`, each row a tagged paragraph) and fenced
//! code (shown as is); links keep their text, code spans their content.

use roff::{Roff, bold, roman};

const JSON_MD: &str = include_str!("../../../docs/json.md");

/// The page's roff text.
pub fn json_page() -> Vec<u8> {
    let mut roff = Roff::new();
    roff.control("TH", ["GIT-MIXXX-JSON", "7", "", "git-mixxx", "Git Manual"]);
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "git-mixxx-json - the JSON documents of git mixxx --json",
    )]);
    roff.control("SH", ["DESCRIPTION"]);
    let mut paragraph = String::new();
    let mut code = false;
    for line in JSON_MD.lines() {
        if line.starts_with("```") {
            flush(&mut roff, &mut paragraph);
            roff.control(if code { "fi" } else { "nf" }, []);
            code = !code;
        } else if code {
            roff.text([roman(line)]);
        } else if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut roff, &mut paragraph);
            roff.control("SS", [plain(heading).as_str()]);
        } else if line.starts_with("# ") || line.starts_with("|---") || line == "| key | value |" {
            flush(&mut roff, &mut paragraph);
        } else if let Some(row) = line.strip_prefix("| ") {
            flush(&mut roff, &mut paragraph);
            let (term, text) = row.split_once(" | ").unwrap_or((row, ""));
            roff.control("TP", []);
            roff.text([bold(plain(term))]);
            roff.text([roman(plain(text.trim_end_matches(" |")))]);
        } else if line.trim().is_empty() {
            flush(&mut roff, &mut paragraph);
        } else {
            paragraph.push_str(line);
            paragraph.push(' ');
        }
    }
    flush(&mut roff, &mut paragraph);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "git-mixxx(1), git-mixxx-sync(1), git-mixxx-status(1), git-mixxx-log(1)",
    )]);
    roff.render().into_bytes()
}

/// Writes the paragraph gathered so far.
fn flush(roff: &mut Roff, paragraph: &mut String) {
    if !paragraph.trim().is_empty() {
        roff.control("PP", []);
        roff.text([roman(plain(paragraph.trim_end()))]);
    }
    paragraph.clear();
}

/// Markdown's inline marks taken out: code spans keep their content, links their text.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_marks_are_taken_out() {
        assert_eq!(
            plain("`sync` ([`schema/sync.json`](schema/sync.json))"),
            "sync (schema/sync.json)"
        );
    }
}
