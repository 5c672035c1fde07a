//! git-annex keys: recognising them in symlink targets and pointer files, and where their
//! logs live on the git-annex branch (hashdirlower, key file escaping, journal file names).

use md5::{Digest, Md5};

/// Extracts the key from a locked file's symlink target (`.../annex/objects/xx/yy/F/F`, where
/// `F` is the key as a file name, [`key_file`]).
pub fn key_from_symlink_target(target: &[u8]) -> Option<String> {
    let target = std::str::from_utf8(target).ok()?;
    if !target.contains("annex/objects/") {
        return None;
    }
    file_key(target.rsplit('/').next()?).filter(|k| valid_key(k))
}

/// Extracts the key from an unlocked file's pointer blob (`/annex/objects/F`, where `F` is the
/// key as a file name, optional newline).
pub fn key_from_pointer(blob: &[u8]) -> Option<String> {
    // Pointer files are tiny; anything large is content, not a pointer.
    if blob.len() > 32 * 1024 {
        return None;
    }
    let text = std::str::from_utf8(blob).ok()?;
    let first = text.lines().next()?;
    file_key(first.strip_prefix("/annex/objects/")?).filter(|k| valid_key(k))
}

/// A key is `BACKEND-[fields-]-name`: a backend, then `--` before the name part (which, in
/// keys made by older git-annex versions, may hold spaces).
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.contains('-')
        && !key.contains(['\n', '\r', '\0'])
        && key.split('-').next().is_some_and(|b| {
            !b.is_empty() && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The two-level lowercase hash directory used on the git-annex branch, e.g. `496/9bd/`.
pub fn hashdir_lower(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(key.as_bytes());
    let nibble = |i: usize| HEX[usize::from((digest[i / 2] >> (4 * (1 - i % 2))) & 0xf)];
    let mut out = [b'/'; 8];
    for (i, slot) in [0, 1, 2, 4, 5, 6].into_iter().enumerate() {
        out[slot] = nibble(i);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The key escaped for use as a file name: `&`→`&a`, `%`→`&s`, `:`→`&c`, `/`→`%`.
pub fn key_file(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '&' => out.push_str("&a"),
            '%' => out.push_str("&s"),
            ':' => out.push_str("&c"),
            '/' => out.push('%'),
            c => out.push(c),
        }
    }
    out
}

/// The path of a key's metadata log on the git-annex branch.
pub fn metadata_log_path(key: &str) -> String {
    format!("{}{}.log.met", hashdir_lower(key), key_file(key))
}

/// The inverse of [`metadata_log_path`]: the key whose metadata log is at `path`.
pub fn key_of_metadata_log_path(path: &str) -> Option<String> {
    file_key(path.rsplit('/').next()?.strip_suffix(".log.met")?)
}

/// The inverse of [`key_file`] (git-annex's `fileKey`).
pub fn file_key(file: &str) -> Option<String> {
    let mut out = String::with_capacity(file.len());
    let mut chars = file.chars();
    while let Some(c) = chars.next() {
        match c {
            '&' => match chars.next()? {
                'a' => out.push('&'),
                's' => out.push('%'),
                'c' => out.push(':'),
                _ => return None,
            },
            '%' => out.push('/'),
            c => out.push(c),
        }
    }
    Some(out)
}

/// The file name git-annex uses in `.git/annex/journal/` for a branch path.
pub fn journal_file_name(branch_path: &str) -> String {
    branch_path.replace('_', "__").replace('/', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "SHA256E-s8--babde5f2b5d9e1e7c1a8c7f3b0f4f6f2e1a8f4e9c0f2e7b3a6c1d2e3f4a554c8.flac";

    #[test]
    fn keys_from_worktree_blobs() {
        let target = format!("../../.git/annex/objects/Wx/3K/{KEY}/{KEY}");
        assert_eq!(
            key_from_symlink_target(target.as_bytes()).as_deref(),
            Some(KEY)
        );
        assert_eq!(key_from_symlink_target(b"../other/file.flac"), None);
        let pointer = format!("/annex/objects/{KEY}\n");
        assert_eq!(key_from_pointer(pointer.as_bytes()).as_deref(), Some(KEY));
        assert_eq!(key_from_pointer(b"just some text\n"), None);
        assert_eq!(key_from_pointer(&[0xff, 0xfe]), None);
    }

    #[test]
    fn escaped_keys_from_worktree_blobs() {
        // As git-annex 10.20230126 writes them for `a:b%c&d e.flac` added with WORM.
        let key = "WORM-s2-m1796320874--a:b%c,38d,32e.flac";
        let file = "WORM-s2-m1796320874--a&cb&sc,38d,32e.flac";
        let target = format!(".git/annex/objects/6J/5w/{file}/{file}");
        assert_eq!(
            key_from_symlink_target(target.as_bytes()).as_deref(),
            Some(key)
        );
        let pointer = format!("/annex/objects/{file}\n");
        assert_eq!(key_from_pointer(pointer.as_bytes()).as_deref(), Some(key));
        assert_eq!(
            metadata_log_path(key),
            format!("971/995/{file}.log.met"),
            "where git-annex keeps its metadata"
        );
        let url = "URL--http://example.com/a b.mp3";
        let pointer = format!("/annex/objects/{}\n", key_file(url));
        assert_eq!(key_from_pointer(pointer.as_bytes()).as_deref(), Some(url));
    }

    #[test]
    fn key_file_escaping_round_trips() {
        let odd = "URL--http&c%%/a&b:c";
        let path = metadata_log_path(odd);
        assert!(path.ends_with("URL--http&ac&s&s%a&ab&cc.log.met"), "{path}");
        assert_eq!(key_of_metadata_log_path(&path).as_deref(), Some(odd));
    }

    #[test]
    fn hashdir_is_md5_prefix() {
        // The fast hex above against the obvious one; git-annex's own layout is checked by the
        // integration tests (`git annex examinekey`).
        let key = "SHA256E-s8--x";
        let hex: String = Md5::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hashdir_lower(key),
            format!("{}/{}/", &hex[0..3], &hex[3..6])
        );
    }

    proptest::proptest! {
        /// Any key (backend, fields, a name with any characters but newlines and NUL) is read
        /// back from its object link, its pointer file and its log path.
        #[test]
        fn every_key_round_trips(
            backend in "[A-Z0-9_]{1,10}",
            size in proptest::option::of(0u64..1 << 40),
            name in "[^\n\r\x00]{0,60}",
        ) {
            let key = match size {
                Some(s) => format!("{backend}-s{s}--{name}"),
                None => format!("{backend}--{name}"),
            };
            let file = key_file(&key);
            proptest::prop_assert!(!file.contains('/'));
            let link = format!("../../.git/annex/objects/ab/cd/{file}/{file}");
            proptest::prop_assert_eq!(key_from_symlink_target(link.as_bytes()), Some(key.clone()));
            let pointer = format!("/annex/objects/{file}\n");
            proptest::prop_assert_eq!(key_from_pointer(pointer.as_bytes()), Some(key.clone()));
            let path = metadata_log_path(&key);
            proptest::prop_assert_eq!(key_of_metadata_log_path(&path), Some(key));
        }
    }

    #[test]
    fn journal_names() {
        assert_eq!(
            journal_file_name("496/9bd/A_B.log.met"),
            "496_9bd_A__B.log.met"
        );
    }
}
