//! Time as the vendors write it: RFC 3339, UTC, `Z`, no fraction when there is none.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// [`format`] for `#[serde(serialize_with)]`, so that records serialised straight from the store
/// write their times exactly as the rest of the API does.
pub fn serialize<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*time))
}
