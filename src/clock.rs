//! Time as the vendors write it: RFC 3339, UTC, `Z`, no fraction when there is none.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
