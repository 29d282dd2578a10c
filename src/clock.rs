//! Time as the vendors write it: RFC 3339, UTC, `Z`, no fraction when there is none, else
//! milli-, micro- or nanoseconds (chrono's `SecondsFormat::AutoSi`).
//!
//! Every answer carries a few timestamps, and chrono formats through `core::fmt` a character
//! at a time (which serde_json then escapes a character at a time): a third of the instructions
//! of a small list. [`write`] lays the digits out directly instead; a test holds it to chrono's
//! output.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Long enough for `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

pub fn format(time: DateTime<Utc>) -> String {
    let mut buffer = [0; MAX_LEN];
    match write(&time, &mut buffer) {
        Some(text) => text.to_owned(),
        None => time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    }
}

/// [`format`] for `#[serde(serialize_with)]`, so that records serialised straight from the store
/// write their times exactly as the rest of the API does.
pub fn serialize<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; MAX_LEN];
    match write(time, &mut buffer) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&format(*time)),
    }
}

/// `time` laid out in `buffer`, or `None` for a year outside 0..=9999 (left to chrono).
fn write<'b>(time: &DateTime<Utc>, buffer: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    let (date, time) = (time.date_naive(), time.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    // chrono keeps a leap second as a nanosecond count past 1e9, shown as second 60.
    let (second, nanos) = match time.nanosecond() {
        n if n >= 1_000_000_000 => (60, n - 1_000_000_000),
        n => (time.second(), n),
    };
    let mut out = Out { buffer, at: 0 };
    out.digits(year, 4);
    out.byte(b'-');
    out.digits(date.month(), 2);
    out.byte(b'-');
    out.digits(date.day(), 2);
    out.byte(b'T');
    out.digits(time.hour(), 2);
    out.byte(b':');
    out.digits(time.minute(), 2);
    out.byte(b':');
    out.digits(second, 2);
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, count)) = fraction {
        out.byte(b'.');
        out.digits(value, count);
    }
    out.byte(b'Z');
    let Out { buffer, at } = out;
    std::str::from_utf8(&buffer[..at]).ok()
}

/// A cursor over the buffer [`write`] fills; every write fits (`MAX_LEN` is the longest form).
struct Out<'b> {
    buffer: &'b mut [u8; MAX_LEN],
    at: usize,
}

impl Out<'_> {
    fn byte(&mut self, byte: u8) {
        if let Some(slot) = self.buffer.get_mut(self.at) {
            *slot = byte;
            self.at += 1;
        }
    }

    /// The last `count` decimal digits of `value`, zero-padded.
    fn digits(&mut self, mut value: u32, count: usize) {
        let end = self.at + count;
        if let Some(slots) = self.buffer.get_mut(self.at..end) {
            for slot in slots.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
            self.at = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let mut cases = vec![
            Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1, 2, 3, 4, 5, 6).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        // A leap second, and fractions of each length.
        let base = Utc.with_ymd_and_hms(2016, 12, 31, 23, 59, 59).unwrap();
        for nanos in [
            1_000_000_000,
            1_500_000_000,
            1,
            120_000_000,
            123_456_000,
            123_456_789,
            999_999_999,
            5_000,
        ] {
            cases.push(base.with_nanosecond(nanos).unwrap());
        }
        // A deterministic spread over the years 0..=9999 with all kinds of fractions.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let seconds = (seed >> 11) as i64 % 315_537_897_600 - 62_167_219_200;
            let nanos = match seed % 4 {
                0 => 0,
                1 => (seed >> 7) as u32 % 1_000 * 1_000_000,
                2 => (seed >> 7) as u32 % 1_000_000 * 1_000,
                _ => (seed >> 7) as u32 % 1_000_000_000,
            };
            cases.push(Utc.timestamp_opt(seconds, nanos).unwrap());
        }
        for time in cases {
            assert_eq!(
                format(time),
                time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "{time:?}"
            );
        }
    }
}
