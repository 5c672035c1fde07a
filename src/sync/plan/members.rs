//! A key's merge with its `playlist` memberships as the playlists' orders say
//! ([`Memberships`]): renamed playlists' old names read under the new ones, and the members
//! the order merges decided.

use super::key::{KeyPast, plan_key};
use super::push::changes;
use super::{KeyPlan, Local};
use crate::annex::logmet::{Change, MetLog};
use crate::fields::{Field, Values};
use crate::sync::options::Options;
use crate::sync::order::Memberships;

/// [`plan_key`] of `key` with its `playlist` memberships as the playlists' orders say: those
/// of Mixxx, the branch (`log`) and the base (read so) under the names after the run, and the
/// result as the order merges decided. The push unsets the branch's old names, setting the
/// names after the run again in the same line (an old name unset alone would read as a
/// removal from the playlist).
pub fn plan_key_playlists(
    key: &str,
    m: &Values,
    log: &MetLog,
    past: KeyPast<'_>,
    local: &Local<'_>,
    opts: &Options,
    memberships: &Memberships,
) -> KeyPlan {
    let g = log.current();
    let history;
    let past = match past {
        KeyPast::History(h) => {
            history = memberships.history(h);
            KeyPast::History(&history)
        }
        base => base,
    };
    let renamed = memberships.current(log);
    let m = memberships.values(m);
    let mut kp = plan_key(&m, renamed.as_ref().unwrap_or(&g), log, past, local, opts);
    if renamed.is_none() && !memberships.decides(key) {
        return kp;
    }
    let field = Field::Playlist;
    let mut result = kp.settled.remove(&field).unwrap_or_default();
    memberships.settle(key, &mut result);
    kp.pull.retain(|(f, _)| *f != field);
    if m.get(&field).map_or(!result.is_empty(), |m| *m != result) {
        kp.pull.push((field, result.clone()));
        kp.pull.sort_by_key(|(f, _)| *f);
    }
    if !opts.pull_only {
        kp.push.retain(|c| c.field != field.name());
        let mut edits = changes(&g, &[(field, result.clone())]);
        if edits.iter().any(|c| !c.set && memberships.is_old(&c.value)) {
            edits.retain(|c| !c.set);
            edits.extend(result.iter().map(|value| Change {
                field: field.name().to_owned(),
                set: true,
                value: value.clone(),
            }));
        }
        kp.push.extend(edits);
    }
    if !result.is_empty() {
        kp.settled.insert(field, result);
    }
    kp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan::tests::*;
    use std::collections::BTreeMap;

    // A playlist renamed Sat → Saturday on one clone: a track this Mixxx still has in Sat
    // merges as a member of Saturday (nothing pulled, the old name unset on the branch), and
    // one another clone took out of Sat after the rename was pushed stays out.
    #[test]
    fn memberships_merge_under_playlist_names_after_renames() {
        let renames = Memberships::new(
            [("Sat".to_owned(), "Saturday".to_owned())].into(),
            BTreeMap::new(),
        );
        let m = vals(&[(Field::Playlist, &["Sat"])]);
        let base = vals(&[(Field::Playlist, &["Saturday"])]);
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n3s playlist +Sat\n");
        let opts = Options::default();
        let plan = plan_key_playlists(
            "K",
            &m,
            &log,
            KeyPast::Base(&base),
            &Local::default(),
            &opts,
            &renames,
        );
        assert!(plan.pull.is_empty(), "{plan:?}");
        let change = |set, value: &str| Change {
            field: "playlist".into(),
            set,
            value: value.into(),
        };
        assert_eq!(plan.push, [change(false, "Sat"), change(true, "Saturday")]);
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n3s playlist -Sat\n");
        let plan = plan_key_playlists(
            "K",
            &m,
            &log,
            KeyPast::Base(&base),
            &Local::default(),
            &opts,
            &renames,
        );
        assert_eq!(plan.pull, [(Field::Playlist, set(&[]))]);
    }
}
