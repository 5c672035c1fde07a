//! The branch side of a run: the files it changes (the pushed metadata logs, the newly synced
//! keys, this clone's run record) and the one commit that carries them, with a message that
//! says what changed.

use super::plan::Plan;
use super::report::{Report, field_counts};
use crate::annex::{self, Annex, TreeReader, logmet};
use crate::bounds;
use crate::state::{self, RunRecord};
use gix::ObjectId;
use std::collections::BTreeMap;

/// The new content of every branch file a run changes, and the journal entries to update.
#[derive(Default)]
pub struct Files {
    pub files: Vec<(String, Vec<u8>)>,
    /// Files git-annex's journal also holds: they get the same content there.
    pub journal: Vec<(String, String)>,
}

impl Files {
    /// The pushed and combined logs, moved out of the plan.
    pub fn pushed(plan: &mut Plan<'_>) -> Files {
        let mut out = Files::default();
        for track in &mut plan.tracks {
            if let Some(push) = track.push.take().or_else(|| track.combined.take()) {
                let path = std::mem::take(&mut track.log_path);
                out.add_log(path, push.content, push.in_journal);
            }
        }
        for order in &mut plan.orders.playlists {
            if let Some(content) = order.push.take() {
                out.add_order(order.path.clone(), content);
            }
        }
        for (path, content) in std::mem::take(&mut plan.sessions.push) {
            out.files.push((path, content.into_bytes()));
        }
        out
    }

    /// A key's metadata log with its new `content` (in git-annex's journal too when the journal
    /// holds the file).
    pub fn add_log(&mut self, path: String, content: String, in_journal: bool) {
        if in_journal {
            let bytes = logmet::bytes_of(&content).into_owned();
            self.journal.push((path.clone(), content));
            self.files.push((path, bytes));
        } else {
            self.files.push((path, logmet::into_bytes(content)));
        }
    }

    /// A playlist's order file with its new `content`.
    pub fn add_order(&mut self, path: String, content: String) {
        self.files.push((path, content.into_bytes()));
    }

    /// Records `keys` as synced by this clone with their Mixxx rows, in their shard files.
    pub fn add_synced(
        &mut self,
        reader: &mut TreeReader<'_>,
        uuid: &str,
        keys: &[(&crate::worktree::Key, i64)],
    ) -> annex::Result<()> {
        let mut shards: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for (k, row) in keys {
            let id = state::synced_id(k);
            shards
                .entry(state::synced_shard(uuid, &id))
                .or_default()
                .push((id, *row));
        }
        for (path, ids) in shards {
            // A shard beyond the limits is written anew (its ids only serve a clone re-made
            // without its local state).
            let old = reader.read(&path)?.unwrap_or_default();
            let mut all: BTreeMap<String, Option<i64>> =
                bounds::lines(&old, &path, state::SYNCED_LINE_BYTES)
                    .into_iter()
                    .filter_map(state::parse_synced_line)
                    .collect();
            for (id, row) in ids {
                all.insert(id, Some(row));
            }
            let mut text = String::with_capacity(all.len() * 24);
            for (id, row) in &all {
                state::push_synced_line(&mut text, id, *row);
            }
            if text != old {
                self.files.push((path, text.into_bytes()));
            }
        }
        Ok(())
    }

    /// Appends the run record to this clone's `runs` file, on a line of its own (its last: see
    /// [`state::vouch`]). A file beyond the file limit is started anew.
    pub fn add_record(
        &mut self,
        reader: &mut TreeReader<'_>,
        record: &RunRecord,
    ) -> annex::Result<()> {
        let path = state::runs_path(&record.uuid);
        let mut runs = reader.read(&path)?.unwrap_or_default();
        if !runs.is_empty() && !runs.ends_with('\n') {
            runs.push('\n');
        }
        let content = format!("{runs}{}\n", record.to_line());
        self.files.push((path, content.into_bytes()));
        Ok(())
    }

    /// Commits the files on top of `parent`; `None` when the branch moved meanwhile. The
    /// journal entries are updated after the commit, as git-annex does after its own.
    pub fn commit(
        self,
        annex: &Annex,
        parent: ObjectId,
        message: &str,
    ) -> annex::Result<Option<ObjectId>> {
        let Some(commit) = annex.commit(parent, self.files, message)? else {
            return Ok(None);
        };
        for (path, content) in &self.journal {
            annex.write_journal_entry(path, content)?;
        }
        Ok(Some(commit))
    }
}

/// The commit message: a summary line, the fields pushed and pulled, and the trailers that
/// mark this clone's commits (and finished ones, which become the next base).
pub fn message(report: &Report, record: &RunRecord) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut msg = format!(
        "git-mixxx sync{}: {} track{} pushed, {} pulled",
        on_host(record),
        record.pushed,
        plural(record.pushed),
        record.pulled
    );
    let conflicts = report.conflicts.len();
    if conflicts > 0 {
        msg.push_str(&format!(", {conflicts} conflict{}", plural(conflicts)));
    }
    if report.plays > 0 {
        msg.push_str(&format!(
            ", {} play{}",
            report.plays,
            plural(report.plays as usize)
        ));
    }
    if report.sessions_pushed > 0 {
        let n = report.sessions_pushed;
        msg.push_str(&format!(", {n} session{}", plural(n)));
    }
    msg.push_str("\n\n");
    if !report.pushed_fields.is_empty() {
        msg.push_str(&format!(
            "pushed: {}\n",
            field_counts(&report.pushed_fields)
        ));
    }
    if record.pulled > 0 && !report.pulled_fields.is_empty() {
        msg.push_str(&format!(
            "pulled: {}\n",
            field_counts(&report.pulled_fields)
        ));
    }
    msg.push_str(&trailers(record));
    msg
}

/// ` on HOST`, or nothing for a record that leaves its host out (`mixxx.private`).
pub fn on_host(record: &RunRecord) -> String {
    match record.host.is_empty() {
        true => String::new(),
        false => format!(" on {}", record.host),
    }
}

/// The trailers that mark a run's commit: its clone, its run id, the run an undo reverted,
/// and whether it finished (then it is the clone's next base).
pub fn trailers(record: &RunRecord) -> String {
    let mut msg = format!("\n{} {}\n", state::TRAILER_CLONE, record.uuid);
    msg.push_str(&format!("{} {}\n", state::TRAILER_RUN, record.run_id()));
    if let Some(undid) = &record.undid {
        msg.push_str(&format!("{} {undid}\n", state::TRAILER_UNDO));
    }
    if record.finished {
        msg.push_str(state::TRAILER_FINISHED);
        msg.push('\n');
    }
    msg
}
