//! Concurrent preparation on three laptops, randomized: each round one or two laptops, offline,
//! edit two playlists ([`Op`]: insert, remove, move, duplicate an entry, reverse a region,
//! rename), hot cues and saved loops ([`cues::CueOp`]: add, move, relabel, delete, swap two pads)
//! and rename files with a Mixxx-like rescan ([`files`]), then the laptops sync in a random
//! order. At the end every clone and the branch
//! agree, every edit that no later edit replaced is present, and every edit the merge could not
//! keep was reported as a conflict.
//!
//! Seeds: `GIT_MIXXX_SEED` (the first, default 1) and `GIT_MIXXX_SEEDS` (how many, default 1).
//!
//! The oracle: an edit states [`Claim`]s about the end state; an edit made on a laptop whose
//! Mixxx had seen an earlier one replaces the earlier one's claims it [`Touch`]es. The claims
//! no edit replaced must hold, except where edits made without seeing each other collide: a
//! track's copies end between the counts they claim, and an order or a name they claim may
//! lose only to a conflict reported for that playlist; a cue's position or label, or its
//! absence, only to a conflict reported for that track's cues.

use crate::laptops::track;
use crate::util::*;
use git_mixxx::annex::Annex;
use git_mixxx::sync::order::{self, line};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod cues;
mod files;

use cues::{Attr, Pads};

const TRACKS: usize = 10;
const PLAYLISTS: [&str; 2] = ["Warm-up", "Peak"];
const ROUNDS: usize = 6;

/// An edit a DJ makes in Mixxx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Insert,
    Remove,
    Move,
    Duplicate,
    Reverse,
    Rename,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::Insert,
        Op::Remove,
        Op::Move,
        Op::Duplicate,
        Op::Reverse,
        Op::Rename,
    ];
}

/// What an edit says of the end state (playlists and tracks by index).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Claim {
    /// Playlist `p` holds `n` copies of track `t`.
    Copies { p: usize, t: usize, n: usize },
    /// In playlist `p`, track `a` comes before track `b`; `changed` unless its laptop's Mixxx
    /// had them so at its last sync (the merge sees only what a laptop changed since then).
    Before {
        p: usize,
        a: usize,
        b: usize,
        changed: bool,
    },
    /// Playlist `p` is named `name`.
    Named { p: usize, name: String },
    /// Track `t`'s pad `slot` has `attr` `value`; `changed` as for `Before`.
    Cue {
        t: usize,
        slot: i64,
        attr: Attr,
        value: String,
        changed: bool,
    },
    /// Track `t` has no cue on pad `slot`.
    NoCue { t: usize, slot: i64, changed: bool },
}

/// What an edit changes, which replaces the claims of the edits it had seen about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Touch {
    /// The copies of track `t` in playlist `p` (and so their places).
    Copies {
        p: usize,
        t: usize,
    },
    /// The place of track `t` in playlist `p`.
    Place {
        p: usize,
        t: usize,
    },
    Name {
        p: usize,
    },
    /// An attribute of track `t`'s pad `slot`, or (`None`) all of them.
    Cue {
        t: usize,
        slot: i64,
        attr: Option<Attr>,
    },
}

impl Claim {
    fn touched_by(&self, touch: Touch) -> bool {
        match (self, touch) {
            (Claim::Copies { p, t, .. }, Touch::Copies { p: q, t: u }) => *p == q && *t == u,
            (
                Claim::Before { p, a, b, .. },
                Touch::Copies { p: q, t } | Touch::Place { p: q, t },
            ) => *p == q && (*a == t || *b == t),
            (Claim::Named { p, .. }, Touch::Name { p: q }) => *p == q,
            (
                Claim::Cue { t, slot, attr, .. },
                Touch::Cue {
                    t: u,
                    slot: s,
                    attr: a,
                },
            ) => *t == u && *slot == s && a.is_none_or(|a| a == *attr),
            (Claim::NoCue { t, slot, .. }, Touch::Cue { t: u, slot: s, .. }) => {
                *t == u && *slot == s
            }
            _ => false,
        }
    }
}

/// An edit made: what it says, what it changes, and what its Mixxx had seen.
struct Edit {
    round: usize,
    claims: Vec<Claim>,
    touches: Vec<Touch>,
    seen: BTreeSet<usize>,
}

/// A change to one playlist, before it is an edit.
struct Change {
    what: String,
    claims: Vec<Claim>,
    touches: Vec<Touch>,
}

struct Laptop {
    repo: PathBuf,
    db: PathBuf,
    /// Each track's file in this work tree.
    files: Vec<String>,
    /// Every location this Mixxx has had a track at.
    known: BTreeMap<String, usize>,
    /// Tracks renamed since this Mixxx's last sync: a DJ leaves them alone until it relinks.
    pending: BTreeSet<usize>,
    /// Each track's pads in this Mixxx at its last sync.
    pads: Vec<Pads>,
    /// Edits this Mixxx has seen, and this clone's branch.
    mixxx: BTreeSet<usize>,
    branch: BTreeSet<usize>,
    /// Each playlist's tracks in this Mixxx at its last sync.
    synced: [Vec<usize>; 2],
    /// The playlists renamed in this Mixxx since its last sync.
    renamed: [bool; 2],
}

struct Crew {
    env: Env,
    laptops: Vec<Laptop>,
    nas: BTreeSet<usize>,
    /// Each track's annex key.
    keys: Vec<String>,
    edits: Vec<Edit>,
    /// Every name each playlist had, in order.
    names: [Vec<String>; 2],
    /// Conflicts syncs reported about playlists and cues: (round, order file or key, field).
    conflicts: Vec<(usize, String, String)>,
    round: usize,
    dice: Dice,
    log: Vec<String>,
}

/// A playlist as a Mixxx holds it: its name and tracks (by index) in order.
type Playlist = (String, Vec<usize>);

impl Crew {
    fn new(seed: u64) -> Crew {
        let env = Env::new();
        let nas = env.nas();
        let files: Vec<String> = (0..TRACKS).map(|i| format!("music/t{i}.flac")).collect();
        let mut laptops = Vec::new();
        for name in ["laptop-a", "laptop-b", "laptop-c"] {
            let repo = env.laptop(&nas, name);
            if laptops.is_empty() {
                let names: Vec<&str> = files.iter().map(String::as_str).collect();
                env.add_files(&repo, &names, &[]);
            }
            env.annex_sync(&repo);
            let db = env.root.join(format!("mixxx-{name}/mixxxdb.sqlite"));
            let tracks: Vec<_> = files.iter().map(|f| (loc(&repo, f), vals(&[]))).collect();
            create_db(&db, 32, &tracks);
            let known = (files.iter().enumerate())
                .map(|(t, f)| (loc(&repo, f), t))
                .collect();
            laptops.push(Laptop {
                files: files.clone(),
                known,
                pending: BTreeSet::new(),
                pads: vec![Pads::new(); TRACKS],
                repo,
                db,
                mixxx: BTreeSet::new(),
                branch: BTreeSet::new(),
                synced: [Vec::new(), Vec::new()],
                renamed: [false; 2],
            });
        }
        let keys = files.iter().map(|f| key_of(&laptops[0].repo, f)).collect();
        let mut crew = Crew {
            env,
            laptops,
            nas: BTreeSet::new(),
            keys,
            edits: Vec::new(),
            names: PLAYLISTS.map(|n| vec![n.to_owned()]),
            conflicts: Vec::new(),
            round: 0,
            dice: Dice(seed),
            log: Vec::new(),
        };
        crew.prepare();
        crew
    }

    /// Laptop A makes both playlists; every laptop gets them.
    fn prepare(&mut self) {
        let lists = [vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8]];
        let mut claims = Vec::new();
        for (p, list) in lists.iter().enumerate() {
            self.write(0, PLAYLISTS[p], list);
            claims.push(Claim::Named {
                p,
                name: PLAYLISTS[p].to_owned(),
            });
            claims.extend(list.iter().map(|&t| Claim::Copies { p, t, n: 1 }));
            claims.extend(list.windows(2).map(|w| Claim::Before {
                p,
                a: w[0],
                b: w[1],
                changed: true,
            }));
        }
        claims.extend(self.prepare_pads());
        let what = "A prepares both playlists and two pads a track".into();
        self.record(0, what, claims, Vec::new());
        self.mixxx_sync(0);
        for i in [0, 1, 2, 0] {
            self.annex_sync(i);
            self.mixxx_sync(i);
        }
    }

    fn say(&mut self, what: String) {
        self.log.push(what);
    }

    /// Records an edit made in laptop `i`'s Mixxx.
    fn record(&mut self, i: usize, what: String, mut claims: Vec<Claim>, touches: Vec<Touch>) {
        for claim in &mut claims {
            if let Claim::Before { p, a, b, changed } = claim {
                let synced = &self.laptops[i].synced[*p];
                let at = |t: usize| synced.iter().position(|x| *x == t);
                let once = |t: usize| synced.iter().filter(|x| **x == t).count() == 1;
                *changed = !(once(*a) && once(*b) && at(*a) < at(*b));
            }
            cues::mark_changed(claim, &self.laptops[i].pads);
        }
        self.say(format!("{i}: {what} (edit {})", self.edits.len()));
        let seen = self.laptops[i].mixxx.clone();
        self.laptops[i].mixxx.insert(self.edits.len());
        self.edits.push(Edit {
            round: self.round,
            claims,
            touches,
            seen,
        });
    }

    /// Laptop `i`'s playlists, empty ones too.
    fn playlists(&self, i: usize) -> Vec<Playlist> {
        let l = &self.laptops[i];
        let index = &l.known;
        let conn = rusqlite::Connection::open(&l.db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT p.name, tl.location FROM Playlists p \
                 LEFT JOIN PlaylistTracks pt ON pt.playlist_id = p.id \
                 LEFT JOIN library l ON l.id = pt.track_id \
                 LEFT JOIN track_locations tl ON tl.id = l.location \
                 WHERE p.hidden = 0 ORDER BY p.id, pt.position, pt.id",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .unwrap();
        let mut out: Vec<Playlist> = Vec::new();
        for row in rows {
            let (name, location) = row.unwrap();
            if out.last().is_none_or(|(n, _)| *n != name) {
                out.push((name, Vec::new()));
            }
            let list = &mut out.last_mut().unwrap().1;
            list.extend(location.map(|l| index[&l]));
        }
        out
    }

    /// Laptop `i`'s playlist `p`: the one of its newest name this Mixxx has.
    fn playlist(&self, i: usize, p: usize) -> Option<Playlist> {
        let lists = self.playlists(i);
        self.names[p]
            .iter()
            .rev()
            .find_map(|name| lists.iter().find(|(n, _)| n == name).cloned())
    }

    /// Makes playlist `name` in laptop `i`'s Mixxx hold `list`, as dragging tracks does.
    fn write(&self, i: usize, name: &str, list: &[usize]) {
        let l = &self.laptops[i];
        let mut sql = format!(
            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
             SELECT '{name}', 5, 0, '2026-12-04 20:00:00', '2026-12-04 20:00:00', 0 \
             WHERE NOT EXISTS (SELECT 1 FROM Playlists WHERE name = '{name}');
             DELETE FROM PlaylistTracks WHERE playlist_id = (SELECT id FROM Playlists WHERE name = '{name}');"
        );
        for (position, t) in (1..).zip(list) {
            sql.push_str(&format!(
                "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
                 SELECT (SELECT id FROM Playlists WHERE name = '{name}'), {}, {position}, '2026-12-04T20:00:00.000Z';",
                track(&loc(&l.repo, &l.files[*t]))
            ));
        }
        db_exec(&l.db, &sql);
    }

    /// One to three edits in laptop `i`'s Mixxx: of a playlist, of a track's pads, or a file
    /// renamed.
    fn edit(&mut self, i: usize) {
        for _ in 0..1 + self.dice.below(3) {
            match self.dice.below(10) {
                0..5 => self.edit_playlist(i),
                5..9 => self.edit_pads(i),
                _ => self.rename_file(i),
            }
        }
    }

    /// An edit of one of laptop `i`'s playlists, unless a track renamed since its last sync is
    /// in the way (its Mixxx has not relinked it yet).
    fn edit_playlist(&mut self, i: usize) {
        if !self.laptops[i].pending.is_empty() {
            return;
        }
        {
            let p = self.dice.below(PLAYLISTS.len());
            let Some((name, mut list)) = self.playlist(i, p) else {
                return;
            };
            let op = *self.dice.pick(&Op::ALL);
            // A rename in Mixxx is recognised while the playlist keeps most of its tracks
            // (README, Limitations): the DJ here keeps them until the next sync.
            let renamed = self.laptops[i].renamed[p] || op == Op::Rename;
            if op == Op::Rename && !self.recognisable(i, p, &list) {
                return;
            }
            let change = match op {
                Op::Insert => self.insert(p, &mut list),
                Op::Remove => self.remove(p, &mut list),
                Op::Move => self.move_one(p, &mut list),
                Op::Duplicate => self.duplicate(p, &mut list),
                Op::Reverse => self.reverse(p, &mut list),
                Op::Rename => Some(self.rename(i, p, &name)),
            };
            let Some(change) = change else {
                return;
            };
            if renamed && !self.recognisable(i, p, &list) {
                return;
            }
            if op != Op::Rename {
                self.write(i, &name, &list);
            }
            let what = format!("{name}: {} → {list:?}", change.what);
            self.record(i, what, change.claims, change.touches);
        }
    }

    /// Whether playlist `p` as `list` in laptop `i`'s Mixxx keeps at least half of the tracks
    /// it had at its last sync.
    fn recognisable(&self, i: usize, p: usize, list: &[usize]) -> bool {
        let mut was = self.laptops[i].synced[p].clone();
        let kept = list
            .iter()
            .filter(|t| {
                was.iter()
                    .position(|w| w == *t)
                    .map(|at| was.remove(at))
                    .is_some()
            })
            .count();
        kept > 0 && 2 * kept >= self.laptops[i].synced[p].len()
    }

    /// The claims that `t` at `at` in `list` follows and precedes its neighbours.
    fn neighbours(p: usize, list: &[usize], at: usize) -> Vec<Claim> {
        let t = list[at];
        let before = at.checked_sub(1).map(|i| Claim::Before {
            p,
            a: list[i],
            b: t,
            changed: true,
        });
        let after = list.get(at + 1).map(|&b| Claim::Before {
            p,
            a: t,
            b,
            changed: true,
        });
        before.into_iter().chain(after).collect()
    }

    /// Tracks with `n` copies in `list`.
    fn with_copies(list: &[usize], n: usize) -> Vec<usize> {
        (0..TRACKS)
            .filter(|t| list.iter().filter(|x| *x == t).count() == n)
            .collect()
    }

    fn insert(&mut self, p: usize, list: &mut Vec<usize>) -> Option<Change> {
        let candidates = Crew::with_copies(list, 0);
        if candidates.is_empty() {
            return None;
        }
        let t = *self.dice.pick(&candidates);
        let at = self.dice.below(list.len() + 1);
        list.insert(at, t);
        let mut claims = vec![Claim::Copies { p, t, n: 1 }];
        claims.extend(Crew::neighbours(p, list, at));
        let touches = vec![Touch::Copies { p, t }];
        let what = format!("insert t{t} at {at}");
        Some(Change {
            what,
            claims,
            touches,
        })
    }

    fn remove(&mut self, p: usize, list: &mut Vec<usize>) -> Option<Change> {
        if list.is_empty() {
            return None;
        }
        let t = *self.dice.pick(list);
        list.retain(|x| *x != t);
        let claims = vec![Claim::Copies { p, t, n: 0 }];
        let touches = vec![Touch::Copies { p, t }];
        Some(Change {
            what: format!("remove t{t}"),
            claims,
            touches,
        })
    }

    fn move_one(&mut self, p: usize, list: &mut Vec<usize>) -> Option<Change> {
        let singles = Crew::with_copies(list, 1);
        if list.len() < 2 || singles.is_empty() {
            return None;
        }
        let t = *self.dice.pick(&singles);
        let from = list.iter().position(|x| *x == t)?;
        list.remove(from);
        let at = (from + 1 + self.dice.below(list.len())) % (list.len() + 1);
        list.insert(at, t);
        let claims = Crew::neighbours(p, list, at);
        let touches = vec![Touch::Place { p, t }];
        Some(Change {
            what: format!("move t{t} to {at}"),
            claims,
            touches,
        })
    }

    fn duplicate(&mut self, p: usize, list: &mut Vec<usize>) -> Option<Change> {
        let singles = Crew::with_copies(list, 1);
        if singles.is_empty() {
            return None;
        }
        let t = *self.dice.pick(&singles);
        let at = self.dice.below(list.len() + 1);
        list.insert(at, t);
        let claims = vec![Claim::Copies { p, t, n: 2 }];
        let touches = vec![Touch::Copies { p, t }];
        Some(Change {
            what: format!("copy t{t} to {at}"),
            claims,
            touches,
        })
    }

    fn reverse(&mut self, p: usize, list: &mut [usize]) -> Option<Change> {
        if list.len() < 2 {
            return None;
        }
        let len = (2 + self.dice.below(3)).min(list.len());
        let start = self.dice.below(list.len() - len + 1);
        let region = &mut list[start..start + len];
        region.reverse();
        let claims = (region.windows(2))
            .map(|w| Claim::Before {
                p,
                a: w[0],
                b: w[1],
                changed: true,
            })
            .collect();
        let touches = region.iter().map(|&t| Touch::Place { p, t }).collect();
        Some(Change {
            what: format!("reverse {start}..{}", start + len),
            claims,
            touches,
        })
    }

    fn rename(&mut self, i: usize, p: usize, name: &str) -> Change {
        let new = format!("{}-{}", PLAYLISTS[p], self.edits.len());
        db_exec(
            &self.laptops[i].db,
            &format!("UPDATE Playlists SET name = '{new}' WHERE name = '{name}' AND hidden = 0"),
        );
        self.names[p].push(new.clone());
        self.laptops[i].renamed[p] = true;
        let claims = vec![Claim::Named {
            p,
            name: new.clone(),
        }];
        Change {
            what: format!("rename to {new}"),
            claims,
            touches: vec![Touch::Name { p }],
        }
    }

    fn mixxx_sync(&mut self, i: usize) -> serde_json::Value {
        let l = &self.laptops[i];
        let report = self.env.sync(&l.repo, &l.db, &["--allow-clears"]);
        assert_eq!(report["failed"], serde_json::json!([]), "{report}");
        assert!(report["pull_pending"].is_null(), "{report}");
        for c in report["conflicts"].as_array().unwrap() {
            if ["order", "name", "cue"].iter().any(|f| c["field"] == *f) {
                let (key, field) = (c["key"].as_str().unwrap(), c["field"].as_str().unwrap());
                self.conflicts
                    .push((self.round, key.to_owned(), field.to_owned()));
                self.say(format!("{i}: conflict {c}"));
            }
        }
        let synced = [0, 1].map(|p| self.playlist(i, p).map(|(_, l)| l).unwrap_or_default());
        let pads = self.all_pads(i);
        let l = &mut self.laptops[i];
        l.synced = synced;
        l.pads = pads;
        l.pending.clear();
        l.renamed = [false; 2];
        l.branch.extend(l.mixxx.iter().copied());
        l.mixxx.extend(l.branch.iter().copied());
        self.say(format!(
            "{i}: git mixxx sync -> {:?} pushed {} pulled {}",
            self.playlists(i),
            report["pushed_fields"],
            report["pulled_fields"]
        ));
        report
    }

    fn annex_sync(&mut self, i: usize) {
        let l = &mut self.laptops[i];
        self.env.annex_sync(&l.repo);
        self.nas.extend(l.branch.iter().copied());
        l.branch.extend(self.nas.iter().copied());
        self.say(format!("{i}: git annex sync"));
        self.follow_renames(i);
    }

    /// One round: one or two laptops edit offline, then each laptop, in a random order,
    /// syncs in one of three ways or stays offline.
    fn play_round(&mut self) {
        let first = self.dice.below(3);
        self.edit(first);
        if self.dice.below(2) == 0 {
            let second = (first + 1 + self.dice.below(2)) % 3;
            self.edit(second);
        }
        let mut order = vec![0, 1, 2];
        for k in (1..3).rev() {
            order.swap(k, self.dice.below(k + 1));
        }
        for i in order {
            match self.dice.below(4) {
                0 => {
                    self.mixxx_sync(i);
                    self.annex_sync(i);
                }
                1 => {
                    self.annex_sync(i);
                    self.mixxx_sync(i);
                }
                2 => {
                    self.mixxx_sync(i);
                    self.annex_sync(i);
                    self.mixxx_sync(i);
                }
                _ => {}
            }
        }
    }

    /// Every laptop syncs until a round changes nothing anywhere; whether they settled.
    fn settle(&mut self) -> bool {
        for _ in 0..5 {
            for i in 0..3 {
                self.annex_sync(i);
                self.mixxx_sync(i);
            }
            for i in 0..3 {
                self.annex_sync(i);
            }
            let tips: BTreeSet<String> = (self.laptops.iter())
                .map(|l| self.env.branch_tip(&l.repo))
                .collect();
            let quiet = (0..3).all(|i| self.mixxx_sync(i)["commit"].is_null());
            if quiet && tips.len() == 1 {
                return true;
            }
        }
        false
    }
}

/// The key of a locked file: the name its symlink points to.
fn key_of(repo: &Path, file: &str) -> String {
    let target = std::fs::read_link(repo.join(file)).expect("locked file");
    target.file_name().unwrap().to_str().unwrap().to_owned()
}

impl Crew {
    /// Each playlist's merged order on laptop A's branch: its name and tracks.
    fn branch_orders(&self) -> Vec<Option<Playlist>> {
        let repo = &self.laptops[0].repo;
        let annex = Annex::open(gix::open(repo).unwrap()).unwrap();
        let tip = annex.tip().unwrap();
        let index: BTreeMap<&String, usize> = self.keys.iter().zip(0..).collect();
        PLAYLISTS
            .iter()
            .map(|name| {
                let merged = order::merged_at(&annex, tip, &line::file_path(name, 0)).unwrap();
                merged.map(|m| (m.name, m.tracks.iter().map(|k| index[k]).collect()))
            })
            .collect()
    }

    /// Every Mixxx holds the same playlists, which are the branch's orders, and the branch's
    /// memberships are theirs; returns each playlist's end state.
    fn check_agreement(&self, story: &str) -> Vec<Playlist> {
        let held = |i: usize| -> BTreeMap<String, Vec<usize>> {
            self.playlists(i)
                .into_iter()
                .filter(|(_, l)| !l.is_empty())
                .collect()
        };
        let lists = held(0);
        for i in 1..3 {
            assert_eq!(held(i), lists, "laptops A and {i} differ\n{story}");
        }
        let orders = self.branch_orders();
        let mut finals = Vec::new();
        for (p, order) in orders.into_iter().enumerate() {
            let (name, tracks) = order.unwrap_or_else(|| (PLAYLISTS[p].to_owned(), Vec::new()));
            let in_mixxx = lists.get(&name).cloned().unwrap_or_default();
            assert_eq!(
                in_mixxx, tracks,
                "playlist {name}: Mixxx and the branch differ\n{story}"
            );
            finals.push((name, tracks));
        }
        for name in lists.keys() {
            assert!(
                finals.iter().any(|(n, _)| n == name),
                "a stray playlist {name}\n{story}"
            );
        }
        let repo = &self.laptops[0].repo;
        for (t, file) in self.laptops[0].files.iter().enumerate() {
            let on_branch = self
                .env
                .metadata(repo, file)
                .remove("playlist")
                .unwrap_or_default();
            let in_mixxx: BTreeSet<String> = (lists.iter())
                .filter(|(_, l)| l.contains(&t))
                .map(|(n, _)| n.clone())
                .collect();
            assert_eq!(on_branch, in_mixxx, "memberships of {file}\n{story}");
        }
        self.check_pads_agree(story);
        finals
    }

    /// The claims no later edit replaced, with their edit.
    fn standing(&self) -> Vec<(usize, &Claim)> {
        let mut out = Vec::new();
        for (e, edit) in self.edits.iter().enumerate() {
            for claim in &edit.claims {
                let replaced = self.edits[e + 1..].iter().any(|later| {
                    later.seen.contains(&e) && later.touches.iter().any(|t| claim.touched_by(*t))
                });
                if !replaced {
                    out.push((e, claim));
                }
            }
        }
        out
    }

    /// Whether an edit that had not seen edit `e` touched `claim`.
    fn touched_unseen(&self, e: usize, claim: &Claim) -> bool {
        (self.edits.iter().enumerate()).any(|(o, other)| {
            o != e && !other.seen.contains(&e) && other.touches.iter().any(|t| claim.touched_by(*t))
        })
    }

    /// Whether a conflict about playlist `p`'s `field` was reported in round `round` or later.
    fn conflict_reported(&self, p: usize, field: &str, round: usize) -> bool {
        self.conflict_on(&line::file_path(PLAYLISTS[p], 0), field, round)
    }

    /// Whether a conflict about `field` of `key` (an order file or a track's key) was reported
    /// in round `round` or later.
    fn conflict_on(&self, key: &str, field: &str, round: usize) -> bool {
        (self.conflicts.iter()).any(|(r, k, f)| *r >= round && k == key && f == field)
    }

    /// Every claim no edit replaced holds, or lost to a colliding one as the oracle allows.
    fn check_claims(&self, finals: &[Playlist], story: &str) {
        let standing = self.standing();
        let mut counts: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
        let mut names: BTreeMap<usize, Vec<(usize, &str)>> = BTreeMap::new();
        for (e, claim) in &standing {
            match claim {
                Claim::Copies { p, t, n } => {
                    counts.entry((*p, *t)).or_default().insert(*n);
                }
                Claim::Named { p, name } => {
                    names
                        .entry(*p)
                        .or_default()
                        .push((self.edits[*e].round, name));
                }
                Claim::Before { .. } | Claim::Cue { .. } | Claim::NoCue { .. } => {}
            }
        }
        let copies = |p: usize, t: usize| finals[p].1.iter().filter(|x| **x == t).count();
        for ((p, t), claimed) in &counts {
            let n = copies(*p, *t);
            let (low, high) = (claimed.first().unwrap(), claimed.last().unwrap());
            assert!(
                (low..=high).contains(&&n),
                "{}: {n} copies of t{t}, claimed {claimed:?}\n{story}",
                finals[*p].0
            );
        }
        // Copies added and removed concurrently leave no telling which copy an order meant.
        let single = |p: usize, t: usize| {
            copies(p, t) == 1 && counts.get(&(p, t)).is_none_or(|c| c.len() == 1)
        };
        for (e, claim) in &standing {
            if let Claim::Before { p, a, b, changed } = claim {
                if !single(*p, *a) || !single(*p, *b) {
                    continue;
                }
                let at = |t| finals[*p].1.iter().position(|x| *x == t);
                let round = self.edits[*e].round;
                // An order its laptop did not change loses to one changed elsewhere.
                let lost = !changed && self.touched_unseen(*e, claim);
                assert!(
                    at(*a) < at(*b) || lost || self.conflict_reported(*p, "order", round),
                    "{}: t{a} before t{b} (round {round}), no conflict reported\n{story}",
                    finals[*p].0
                );
            }
        }
        for (p, claimed) in names {
            let round = claimed.iter().map(|(r, _)| *r).min().unwrap_or(0);
            let name = finals[p].0.as_str();
            assert!(
                claimed.iter().any(|(_, n)| *n == name),
                "{name}: claimed {claimed:?}\n{story}"
            );
            assert!(
                claimed.iter().all(|(_, n)| *n == name) || self.conflict_reported(p, "name", round),
                "{name}: claimed {claimed:?}, no conflict reported\n{story}"
            );
        }
    }
}

#[test]
fn concurrent_preparation_on_three_laptops_loses_nothing() {
    let env = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let first = env("GIT_MIXXX_SEED", 1);
    for seed in first..first + env("GIT_MIXXX_SEEDS", 1) {
        let mut crew = Crew::new(seed);
        for round in 1..=ROUNDS {
            crew.round = round;
            crew.play_round();
        }
        crew.round = ROUNDS + 1;
        let settled = crew.settle();
        let mut story = crew.log.join("\n");
        story.push_str(&format!("\n(seed {seed})"));
        assert!(settled, "the clones never settled\n{story}");
        let finals = crew.check_agreement(&story);
        crew.check_claims(&finals, &story);
        crew.check_pad_claims(&story);
    }
}
