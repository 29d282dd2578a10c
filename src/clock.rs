//! Time as the vendors write it: RFC 3339, UTC, `Z`, no fraction when there is none.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// [`format`] for `#[serde(serialize_with)]`. chrono's own `Serialize` writes through
/// `collect_str`, a character at a time, each one escaped by serde_json on its own: a quarter of
/// the instructions of a small list went there. Formatting first, then writing one string, does
/// not.
pub fn serialize<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*time))
}
