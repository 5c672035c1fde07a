//! The branch's values as the planner compares them with Mixxx's: a field's values as written
//! on the branch, those Mixxx can hold, their canonical forms, and the base's values.

use crate::annex::logmet::{Current, Order};
use crate::fields::codec::Invalid;
use crate::fields::{Codec, Field, FieldSet, Values, plays};
use crate::merge::counter::Counter;
use crate::merge::latest::latest;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// A field's values on the branch that Mixxx can tell apart from none: an empty text is
/// "unset" (Mixxx stores no value as an empty column, and names no crate or playlist ""), so
/// a branch value "" is no value to sync. It stays on the branch until a value of a
/// single-valued field replaces it.
///
/// Elements of a set that Mixxx cannot hold (cues: [`rejected`]) are no values to sync either.
pub fn branch_values<'a>(field: Field, g: &'a Current) -> Cow<'a, BTreeMap<String, Order>> {
    let Some(raw) = g.get(field.name()) else {
        return Cow::Owned(BTreeMap::new());
    };
    let elements = field.is_set() && field.codec() != Codec::Text;
    let kept = |v: &String| !v.is_empty() && (!elements || field.codec().canonical(v).is_ok());
    if raw.keys().all(kept) {
        return Cow::Borrowed(raw);
    }
    let mut values = raw.clone();
    values.retain(|v, _| kept(v));
    Cow::Owned(values)
}

/// The elements of a set field's branch values that Mixxx cannot hold.
pub fn rejected(field: Field, raw: &BTreeMap<String, Order>) -> Vec<Invalid> {
    raw.keys()
        .filter(|v| !v.is_empty())
        .filter_map(|v| field.codec().canonical(v).err())
        .collect()
}

/// A field's value on the branch, as a sync compares it with Mixxx's (canonical forms; a
/// value Mixxx cannot hold as written).
pub fn field_value(field: Field, g: &Current) -> BTreeSet<String> {
    let raw = branch_values(field, g);
    raw.keys()
        .map(|v| {
            field
                .codec()
                .canonical(v)
                .map_or_else(|_| v.clone(), |c| c.into_owned())
        })
        .collect()
}

/// The canonical forms of a field's values on the branch; the first invalid one, if any.
pub fn canonical(
    field: Field,
    raw: &BTreeMap<String, Order>,
) -> (BTreeSet<String>, Option<Invalid>) {
    let mut out = BTreeSet::new();
    let mut invalid = None;
    for v in raw.keys() {
        match field.codec().canonical(v) {
            Ok(c) => {
                out.insert(c.into_owned());
            }
            Err(e) => invalid = invalid.or(Some(e)),
        }
    }
    (out, invalid)
}

/// The counter the branch holds for a key ([`plays::parts`]).
pub(super) fn branch_counter(g: &Current) -> Counter {
    Counter {
        parts: plays::parts(g),
    }
}

/// The base's values from its log: canonical, and for a field whose value Mixxx could not
/// hold, Mixxx's (that is what the run that met it recorded as settled). The play count is
/// the counter's total ([`crate::fields::plays`]) and last played the latest, which is none
/// for a Mixxx without its column (`missing`).
pub fn base_values(current: &Current, m: &Values, missing: FieldSet) -> Values {
    let mut out = Values::new();
    for field in Field::ALL {
        let raw = branch_values(field, current);
        let values = match canonical(field, &raw) {
            _ if missing.contains(field) => BTreeSet::new(),
            _ if field == Field::Plays => count_value(branch_counter(current).total()),
            (values, _) if field == Field::LastPlayed => latest(values.iter().map(String::as_str))
                .into_iter()
                .map(str::to_owned)
                .collect(),
            (_, Some(_)) => m.get(&field).cloned().unwrap_or_default(),
            (values, None) => values,
        };
        if !values.is_empty() {
            out.insert(field, values);
        }
    }
    out
}

/// A count as a field's values: none for 0.
pub fn count_value(n: u64) -> BTreeSet<String> {
    (n > 0).then(|| n.to_string()).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan::tests::{cur, vals};
    use Field::{Bpm, Crate, Rating};

    #[test]
    fn base_values_take_mixxx_for_invalid_fields() {
        let m = vals(&[(Rating, &["3"]), (Bpm, &["120.00"])]);
        let g = cur(&[
            (Rating, &[("9", 1)]),
            (Bpm, &[("120", 1)]),
            (Crate, &[("A", 1)]),
        ]);
        assert_eq!(
            base_values(&g, &m, FieldSet::default()),
            vals(&[(Rating, &["3"]), (Bpm, &["120.00"]), (Crate, &["A"])])
        );
    }
}
