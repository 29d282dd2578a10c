//! Time as the vendors show it: UTC, whole seconds (`2025-01-15T10:30:00Z`).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// Now, truncated to whole seconds, as the vendors' examples show timestamps.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// RFC 3339 with a `Z` suffix and no fraction when there is none.
pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
