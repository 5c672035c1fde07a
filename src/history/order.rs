//! What `undo` puts back of a playlist's order file: the order (and name) the run replaced,
//! merged three ways with the branch's order now against the order the run left
//! ([`crate::merge::sequence`]), so that edits made since on other laptops stay, as a sync
//! merges Mixxx with the branch. A playlist deleted in Mixxx comes back in its order, its
//! duplicates included: its memberships revert per element ([`super::revert`]), and the sync
//! after the undo arranges them by the order put back.

use super::log::Commit;
use super::{FileRevert, Result, Revert};
use crate::annex::Annex;
use crate::annex::logmet::Timestamp;
use crate::merge::sequence::{self, Side};
use crate::sync::branch::Branch;
use crate::sync::order::{self, Merged};
use std::collections::HashMap;

/// Where the branch's order file stands against the run's change of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// It holds the order before the run again: nothing to do.
    AsBefore,
    /// It holds what the run left, or edits since that combine with putting the run's change
    /// back: the merge is written.
    Reverts,
    /// Edited since so that no merge reconciles the edits with putting the run's change back:
    /// left alone unless forced (then the order before the run decides).
    ChangedSince,
}

/// The order file at `path` as the run (`commit`) left it, reverted against the branch now
/// (`now`); `paths` names keys' files, `force` lets the order before the run win a clash.
pub fn revert(
    annex: &Annex,
    commit: &Commit,
    now: &mut Branch<'_>,
    path: &str,
    paths: &HashMap<String, String>,
    force: bool,
) -> Result<FileRevert> {
    let before = match commit.parents.first() {
        Some(parent) => order::merged_at(annex, *parent, path)?,
        None => None,
    };
    let after = order::merged_at(annex, commit.id, path)?;
    let (Some(after), Some(current)) = (after, order::merged_now(now, path)?) else {
        return Ok(FileRevert::default());
    };
    let reverted = Reverted::new(before.as_ref(), &after, &current, force);
    Ok(reverted.file_revert(path, &current, &annex.uuid, paths))
}

/// The three orders and names, and their merge.
struct Reverted<'m> {
    after: &'m Merged,
    tracks: Vec<String>,
    name: String,
    standing: Standing,
    force: bool,
}

impl<'m> Reverted<'m> {
    /// Merges the order before the run (side A) and the one now (side B) against the one the
    /// run left; a clash goes to the branch now, or with `force` to the order before the run.
    fn new(before: Option<&'m Merged>, after: &'m Merged, now: &Merged, force: bool) -> Self {
        let before = before.map_or((&[][..], after.name.as_str()), |b| {
            (&b.tracks[..], b.name.as_str())
        });
        let prefer = if force { Side::A } else { Side::B };
        let [o, a, b] = [&after.tracks[..], before.0, &now.tracks[..]]
            .map(|v| v.iter().map(String::as_str).collect::<Vec<&str>>());
        let merged = sequence::merge(&o, &a, &b, prefer);
        let (name, name_clash) = order::merge_name(Some(&after.name), before.1, &now.name, prefer);
        let standing = if now.tracks == before.0 && now.name == before.1 {
            Standing::AsBefore
        } else if merged.conflict || name_clash {
            Standing::ChangedSince
        } else {
            Standing::Reverts
        };
        Reverted {
            after,
            tracks: merged.items.into_iter().map(str::to_owned).collect(),
            name: name.to_owned(),
            standing,
            force,
        }
    }

    /// What undo reports and writes: a new line of the merged order, made from the heads now.
    fn file_revert(
        self,
        path: &str,
        now: &Merged,
        clone: &str,
        paths: &HashMap<String, String>,
    ) -> FileRevert {
        let shown = |keys: &[String]| -> Vec<String> {
            keys.iter()
                .map(|k| paths.get(k).unwrap_or(k).clone())
                .collect()
        };
        // `before` is what is written back: the order before the run with the edits since.
        let revert = Revert {
            path: Some(now.name.clone()),
            key: path.to_owned(),
            field: order::FIELD.to_owned(),
            before: shown(&self.tracks),
            after: shown(&self.after.tracks),
            now: shown(&now.tracks),
        };
        let mut out = FileRevert::default();
        match self.standing {
            Standing::AsBefore => return out,
            Standing::ChangedSince => out.changed_since.push(revert.clone()),
            Standing::Reverts => {}
        }
        if self.standing == Standing::Reverts || self.force {
            out.reverted.push(revert);
            let line =
                order::next_line(Some(now), &self.name, clone, self.tracks, Timestamp::now());
            out.write = Some((line.text(), false));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::Order;

    fn merged(name: &str, tracks: &[&str]) -> Merged {
        Merged {
            name: name.to_owned(),
            tracks: tracks.iter().map(|t| t.to_string()).collect(),
            heads: vec!["h".into()],
            names: vec![name.to_owned()],
            newest: Order::after(Timestamp { secs: 1, picos: 0 }, None),
            dropped: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn reverted(
        before: &Merged,
        after: &Merged,
        now: &Merged,
        force: bool,
    ) -> (Standing, Vec<String>, String) {
        let r = Reverted::new(Some(before), after, now, force);
        (r.standing, r.tracks, r.name)
    }

    #[test]
    fn a_runs_order_reverts_three_ways_and_later_edits_stay() {
        let before = merged("Fri", &["a", "b", "c", "d"]);
        let after = merged("Friday", &["d", "c", "b", "a"]);
        // Another laptop appended e since: the run's reverse and rename go, e stays.
        let now = merged("Friday", &["d", "c", "b", "a", "e"]);
        let (standing, tracks, name) = reverted(&before, &after, &now, false);
        assert_eq!(standing, Standing::Reverts);
        assert_eq!(tracks, ["a", "b", "c", "d", "e"]);
        assert_eq!(name, "Fri");
        // Put back already: nothing to do.
        assert_eq!(
            reverted(&before, &after, &before, false).0,
            Standing::AsBefore
        );
        // A deleted playlist (the run left it empty) comes back whole, a track twice included.
        let twice = merged("Set", &["c", "a", "b", "a"]);
        let empty = merged("Set", &[]);
        let (standing, tracks, _) = reverted(&twice, &empty, &empty, false);
        assert_eq!(
            (standing, tracks),
            (Standing::Reverts, twice.tracks.clone())
        );
    }

    #[test]
    fn an_order_edited_since_into_a_clash_is_left_unless_forced() {
        // The run moved x from the front; since, another laptop moved it to the end.
        let before = merged("P", &["x", "b", "c"]);
        let after = merged("P", &["b", "x", "c"]);
        let now = merged("P", &["b", "c", "x"]);
        let (standing, tracks, _) = reverted(&before, &after, &now, false);
        assert_eq!(
            (standing, tracks),
            (Standing::ChangedSince, now.tracks.clone())
        );
        let r = Reverted::new(Some(&before), &after, &now, false);
        let file = r.file_revert("f", &now, "u", &HashMap::new());
        assert!(file.write.is_none() && file.reverted.is_empty());
        assert_eq!(file.changed_since.len(), 1);
        let r = Reverted::new(Some(&before), &after, &now, true);
        let file = r.file_revert("f", &now, "u", &HashMap::new());
        assert_eq!(file.reverted[0].before, ["x", "b", "c"]);
        assert!(
            file.write
                .is_some_and(|(line, _)| line.contains(r#""tracks":["x","b","c"]"#))
        );
    }
}
