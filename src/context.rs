//! What every vendor implementation shares: the time and fresh identifiers. Under `--clock` the
//! time is frozen and identifiers come from a seeded sequence, so the same requests give
//! byte-identical answers (for snapshot tests).

use std::sync::Mutex;
use std::sync::PoisonError;

use base64::Engine as _;
use chrono::{DateTime, SubsecRound, Utc};

/// The seed of the identifier sequence in deterministic mode.
const SEED: u64 = 0x686f_6f6b_6d6f_636b; // "hookmock"

#[derive(Debug)]
pub struct Context {
    frozen: Option<DateTime<Utc>>,
    /// SplitMix64 state in deterministic mode; `None` draws from the OS.
    sequence: Option<Mutex<u64>>,
}

impl Context {
    /// Real time and random identifiers.
    pub fn live() -> Self {
        Self {
            frozen: None,
            sequence: None,
        }
    }

    /// Time frozen at `at`, identifiers from a fixed seed.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self {
            frozen: Some(at.trunc_subsecs(0)),
            sequence: Some(Mutex::new(SEED)),
        }
    }

    /// Identifiers from `seed`; time frozen at `at`, or real time without it.
    pub fn seeded(seed: u64, at: Option<DateTime<Utc>>) -> Self {
        Self {
            frozen: at.map(|at| at.trunc_subsecs(0)),
            sequence: Some(Mutex::new(SEED ^ seed)),
        }
    }

    /// Now, in whole seconds, as the vendors show timestamps.
    pub fn now(&self) -> DateTime<Utc> {
        self.frozen.unwrap_or_else(|| Utc::now().trunc_subsecs(0))
    }

    /// Now, to the millisecond, for what a vendor stamps in milliseconds (Field Nation's
    /// `X-FN-Request-Timestamp`). Frozen under `--clock`, like [`Self::now`].
    pub fn now_precise(&self) -> DateTime<Utc> {
        self.frozen.unwrap_or_else(|| Utc::now().trunc_subsecs(3))
    }

    pub fn uuid(&self) -> uuid::Uuid {
        match &self.sequence {
            None => uuid::Uuid::new_v4(),
            Some(_) => uuid::Builder::from_random_bytes(self.bytes16()).into_uuid(),
        }
    }

    /// A number in [0, 1): for fault rates and latency (seeded under `--clock`, like IDs).
    pub fn random(&self) -> f64 {
        let bytes = self.bytes16();
        let n = u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]);
        (n >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `len` lower-case hex digits (at most 32).
    pub fn hex(&self, len: usize) -> String {
        let mut hex = self.uuid().simple().to_string();
        hex.truncate(len);
        hex
    }

    /// A Standard Webhooks secret: `whsec_` and 24 random bytes in base64.
    pub fn webhook_secret(&self) -> String {
        let mut bytes = self.bytes16().to_vec();
        bytes.extend_from_slice(&self.bytes16()[..8]);
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    fn bytes16(&self) -> [u8; 16] {
        match &self.sequence {
            None => *uuid::Uuid::new_v4().as_bytes(),
            Some(state) => {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                let (a, b) = (splitmix64(&mut state), splitmix64(&mut state));
                let mut out = [0; 16];
                out[..8].copy_from_slice(&a.to_le_bytes());
                out[8..].copy_from_slice(&b.to_le_bytes());
                out
            }
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_contexts_repeat_themselves() {
        let at = DateTime::parse_from_rfc3339("2025-01-15T10:30:00Z")
            .expect("a time")
            .to_utc();
        let (a, b) = (Context::frozen(at), Context::frozen(at));
        assert_eq!(a.now(), at);
        assert_eq!(
            (a.uuid(), a.hex(12), a.webhook_secret()),
            (b.uuid(), b.hex(12), b.webhook_secret())
        );
        assert_ne!(a.uuid(), a.uuid(), "a sequence, not a constant");
    }

    #[test]
    fn live_identifiers_differ() {
        let live = Context::live();
        assert_ne!(live.uuid(), live.uuid());
        assert!(live.webhook_secret().starts_with("whsec_"));
    }
}
