//! Which order file holds each playlist of this Mixxx. A playlist keeps its file when it is
//! renamed (the file's lines carry the new name), so files are found by the names of their
//! merged heads: a Mixxx playlist of a file's name now is that file's; then one of a file's
//! name at the base (renamed on the branch since); then, for a playlist no file names, a file
//! whose base name no Mixxx playlist has, of whose tracks it kept at least half (renamed in
//! this Mixxx). A new playlist gets the file of its name, or the next free one when a renamed
//! playlist holds that.

use super::graph::Merged;
use super::line;
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};

/// A playlist of this Mixxx: its name and its entries' keys in order.
pub struct MixxxPlaylist<'a> {
    pub name: &'a str,
    pub keys: Vec<&'a str>,
}

/// An order file's merged order now and at the base.
#[derive(Default)]
pub struct Known<'m> {
    pub now: Option<&'m Merged>,
    pub base: Option<&'m Merged>,
}

/// A playlist: its order file, and its playlist in this Mixxx (an index), if it has one.
#[derive(Debug, PartialEq, Eq)]
pub struct Identity {
    pub path: String,
    pub mixxx: Option<usize>,
}

/// Every file and Mixxx playlist, matched; `held` says which keys this Mixxx has (a playlist
/// is compared with a file's order on those).
pub fn match_files(
    mixxx: &[MixxxPlaylist<'_>],
    files: &BTreeMap<String, Known<'_>>,
    held: &dyn Fn(&str) -> bool,
) -> Vec<Identity> {
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut free: Vec<usize> = (0..mixxx.len()).collect();
    // By name now, preferring a file of that name at the base too; then by name at the base.
    for by_base in [false, true] {
        free.retain(|&i| {
            let name = Some(mixxx[i].name);
            let found = files
                .iter()
                .filter(|(p, _)| !owner.contains_key(p.as_str()))
                .filter(|(_, k)| match by_base {
                    false => name_now(k) == name,
                    true => name_base(k) == name,
                })
                .min_by_key(|(p, k)| (name_base(k) != name, p.as_str()));
            match found {
                Some((path, _)) => {
                    owner.insert(path, i);
                    false
                }
                None => true,
            }
        });
    }
    let names: BTreeSet<&str> = mixxx.iter().map(|p| p.name).collect();
    free.retain(|&i| {
        let renamed = files
            .iter()
            .filter(|(p, k)| !owner.contains_key(p.as_str()) && k.base.is_some())
            .filter(|(_, k)| !name_base(k).is_some_and(|n| names.contains(n)))
            .filter_map(|(p, k)| {
                let was: Vec<&str> = (k.base?.tracks.iter())
                    .map(String::as_str)
                    .filter(|t| held(t))
                    .collect();
                Some((p, shared(&mixxx[i].keys, &was)?))
            })
            .max_by_key(|(p, shared)| (*shared, std::cmp::Reverse(p.as_str())));
        match renamed {
            Some((path, _)) => {
                owner.insert(path, i);
                false
            }
            None => true,
        }
    });
    let mut out: Vec<Identity> = files
        .keys()
        .map(|path| Identity {
            path: path.clone(),
            mixxx: owner.get(path.as_str()).copied(),
        })
        .collect();
    for i in free {
        let path = (0..)
            .map(|n| line::file_path(mixxx[i].name, n))
            .find(|p| !files.contains_key(p) && !out.iter().any(|o| o.path == *p))
            .expect("some file name is free");
        out.push(Identity {
            path,
            mixxx: Some(i),
        });
    }
    out
}

fn name_now<'m>(k: &Known<'m>) -> Option<&'m str> {
    k.now.map(|m| m.name.as_str())
}

fn name_base<'m>(k: &Known<'m>) -> Option<&'m str> {
    k.base.map(|m| m.name.as_str())
}

/// How many entries the playlist `a` shares with `b` (copies counted), when that is at least
/// half of `b`, the playlist as it was: it kept most of its tracks.
fn shared(a: &[&str], b: &[&str]) -> Option<usize> {
    let mut counts: HashMap<&str, usize> = HashMap::default();
    for k in a {
        *counts.entry(k).or_default() += 1;
    }
    let mut shared = 0;
    for k in b {
        if let Some(n) = counts.get_mut(k).filter(|n| **n > 0) {
            *n -= 1;
            shared += 1;
        }
    }
    (shared > 0 && 2 * shared >= b.len()).then_some(shared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::Order;

    fn merged(name: &str, tracks: &[&str]) -> Merged {
        Merged {
            name: name.to_owned(),
            tracks: tracks.iter().map(|t| (*t).to_owned()).collect(),
            heads: Vec::new(),
            names: vec![name.to_owned()],
            newest: Order::parse("1s").unwrap(),
            dropped: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn playlist<'a>(name: &'a str, keys: &[&'a str]) -> MixxxPlaylist<'a> {
        MixxxPlaylist {
            name,
            keys: keys.to_vec(),
        }
    }

    #[test]
    fn playlists_find_their_files_across_renames() {
        let (sat, saturday) = (
            merged("Sat", &["a", "b", "c"]),
            merged("Saturday", &["a", "b", "c"]),
        );
        let (fri, friday) = (merged("Fri", &["x", "y"]), merged("Friday", &["x", "y"]));
        let files: BTreeMap<String, Known<'_>> = [
            // Renamed on the branch: Mixxx still calls it Sat.
            (
                "p/1".to_owned(),
                Known {
                    now: Some(&saturday),
                    base: Some(&sat),
                },
            ),
            // Renamed in this Mixxx (to Weekend), with an entry removed.
            (
                "p/2".to_owned(),
                Known {
                    now: Some(&fri),
                    base: Some(&fri),
                },
            ),
            (
                "p/3".to_owned(),
                Known {
                    now: Some(&friday),
                    base: None,
                },
            ),
        ]
        .into_iter()
        .collect();
        let mixxx = [
            playlist("Sat", &["c", "b", "a"]),
            playlist("Weekend", &["x"]),
            playlist("Friday", &["x", "y"]),
            playlist("New", &[]),
        ];
        let found = match_files(&mixxx, &files, &|_| true);
        let pairs: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|i| (i.path.as_str(), i.mixxx.map(|m| mixxx[m].name)))
            .collect();
        assert_eq!(
            pairs,
            [
                ("p/1", Some("Sat")),
                ("p/2", Some("Weekend")),
                ("p/3", Some("Friday")),
                (line::file_path("New", 0).as_str(), Some("New")),
            ]
        );
    }

    #[test]
    fn a_new_playlist_of_a_taken_name_gets_the_next_file() {
        let renamed = merged("Other", &["a"]);
        let files: BTreeMap<String, Known<'_>> = [(
            line::file_path("Set", 0),
            Known {
                now: Some(&renamed),
                base: Some(&renamed),
            },
        )]
        .into_iter()
        .collect();
        let found = match_files(
            &[playlist("Set", &["z"]), playlist("Other", &["a"])],
            &files,
            &|_| true,
        );
        assert_eq!(found[0].mixxx, Some(1));
        assert_eq!(found[1].path, line::file_path("Set", 1));
    }
}
