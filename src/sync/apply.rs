//! Carrying out the plan in Mixxx: the pulled values, in one transaction after a backup, and
//! only while Mixxx is not running (it would write its cached rows back over ours).

use super::error::{Error, crash_point};
use super::options::Options;
use super::plan::Plan;
use super::report::Failure;
use crate::mixxx::{Database, running, write};
use std::path::{Path, PathBuf};

/// What became of the plan's pulls.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// The plan pulls nothing.
    Nothing,
    /// Not written, and why.
    Held(String),
    /// Written; the backup taken first, and the values that could not be written.
    Written {
        backup: PathBuf,
        failures: Vec<Failure>,
    },
}

impl Applied {
    /// Whether Mixxx now holds everything the plan pulls.
    pub fn complete(&self) -> bool {
        !matches!(self, Applied::Held(_))
    }
}

/// Writes the plan's pulls to the database at `db`.
pub fn apply(db: &Path, plan: &Plan<'_>, opts: &Options) -> Result<Applied, Error> {
    if !plan.pulls() {
        return Ok(Applied::Nothing);
    }
    if opts.push_only {
        return Ok(Applied::Held("--push-only was given".into()));
    }
    if let Some(holder) = running::holder(db) {
        return Ok(Applied::Held(format!(
            "Mixxx is running ({holder} has the database open); close Mixxx and sync again to apply them"
        )));
    }
    let mut db = Database::open_for_writing(db)?;
    let (mut writer, backup) = db.begin_write()?;
    let mut failures = Vec::new();
    for track in &plan.tracks {
        for (field, values) in &track.pull {
            for id in &track.item.track_ids {
                match writer.set_field(*id, *field, values) {
                    Ok(()) => {}
                    Err(
                        e
                        @ (write::Error::InvalidValue { .. } | write::Error::SeveralValues { .. }),
                    ) => {
                        failures.push(Failure {
                            path: track.item.path.clone(),
                            field: field.name().to_owned(),
                            reason: e.to_string(),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    crash_point("before-mixxx-commit")?;
    writer.commit()?;
    crash_point("after-mixxx-commit")?;
    Ok(Applied::Written { backup, failures })
}
