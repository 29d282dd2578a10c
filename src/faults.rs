//! Faults and latency, to rehearse a vendor having a bad day: rules set at run time
//! (`PUT /__admin/faults`) that answer a status, wait, or break the connection, for the requests
//! they match; and `--latency MIN..MAX` on every answer.

use std::ops::RangeInclusive;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a connection breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Break {
    /// The connection closes before any byte of an answer.
    EmptyReply,
    /// The connection is reset (RST) instead of answered.
    Reset,
    /// The answer's head and the first half of its body, then the connection closes.
    TruncatedBody,
}

/// One rule: every matcher given must match; then, at `rate`, its effects apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Answer this status, in the API's error shape, instead of the stateful behaviour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How often the rule applies to a matching request, from 0 to 1 (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Wait this long first, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Break the connection instead of answering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<Break>,
}

/// A request as rules see it.
pub struct Target<'a> {
    pub api: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
}

/// A rule whose `rate` is not a probability; `index` is its place in the list.
#[derive(Debug, thiserror::Error)]
#[error("/{index}/rate: {rate} is not between 0 and 1")]
pub struct RateOutOfRange {
    pub index: usize,
    pub rate: f64,
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: RwLock<Vec<Rule>>,
    latency: Option<RangeInclusive<Duration>>,
}

impl Faults {
    pub fn new(latency: Option<RangeInclusive<Duration>>) -> Self {
        Self {
            rules: RwLock::default(),
            latency,
        }
    }

    pub fn set(&self, rules: Vec<Rule>) -> Result<(), RateOutOfRange> {
        if let Some((index, rule)) = rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.rate.is_some_and(|rate| !(0.0..=1.0).contains(&rate)))
        {
            return Err(RateOutOfRange {
                index,
                rate: rule.rate.unwrap_or_default(),
            });
        }
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = rules;
        Ok(())
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The first rule that matches `target` and whose rate lets it apply this time.
    pub fn pick(&self, target: &Target<'_>, roll: impl Fn() -> f64) -> Option<Rule> {
        let rules = self.rules.read().unwrap_or_else(PoisonError::into_inner);
        rules
            .iter()
            .find(|rule| matches(rule, target) && roll() < rule.rate.unwrap_or(1.0))
            .cloned()
    }

    /// `--latency`: a delay drawn uniformly from the range, or none.
    pub fn latency(&self, roll: impl Fn() -> f64) -> Duration {
        match &self.latency {
            Some(range) => *range.start() + (*range.end() - *range.start()).mul_f64(roll()),
            None => Duration::ZERO,
        }
    }
}

fn matches(rule: &Rule, target: &Target<'_>) -> bool {
    let same =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| Some(w) == have);
    same(&rule.api, target.api)
        && same(&rule.operation, target.operation)
        && rule
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(target.method))
        && rule
            .path
            .as_deref()
            .is_none_or(|p| target.path.starts_with(p))
}

/// `20..200ms`, `1..2s`, or one value (`50ms`).
pub fn parse_latency(text: &str) -> Result<RangeInclusive<Duration>, String> {
    let (unit, factor) = if let Some(rest) = text.strip_suffix("ms") {
        (rest, 0.001)
    } else if let Some(rest) = text.strip_suffix('s') {
        (rest, 1.0)
    } else {
        (text, 0.001)
    };
    let (low, high) = unit.split_once("..").unwrap_or((unit, unit));
    let value = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| *v >= 0.0)
            .map(|v| Duration::from_secs_f64(v * factor))
    };
    match (value(low), value(high)) {
        (Some(low), Some(high)) if low <= high => Ok(low..=high),
        _ => Err(format!("{text:?} is not a latency like 20..200ms")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_ranges_parse() {
        assert_eq!(
            parse_latency("20..200ms"),
            Ok(Duration::from_millis(20)..=Duration::from_millis(200))
        );
        assert_eq!(
            parse_latency("1..2s"),
            Ok(Duration::from_secs(1)..=Duration::from_secs(2))
        );
        assert_eq!(
            parse_latency("50ms"),
            Ok(Duration::from_millis(50)..=Duration::from_millis(50))
        );
        assert!(parse_latency("200..20ms").is_err());
        assert!(parse_latency("fast").is_err());
    }

    #[test]
    fn rules_match_all_they_name_and_apply_at_their_rate() {
        let faults = Faults::default();
        let rule = Rule {
            api: Some("fieldnation".into()),
            method: Some("post".into()),
            status: Some(503),
            rate: Some(0.1),
            ..Rule::default()
        };
        faults.set(vec![rule]).expect("valid");
        let target = Target {
            api: Some("fieldnation"),
            operation: Some("createWebhook"),
            method: "POST",
            path: "/api/v1/webhooks",
        };
        assert!(faults.pick(&target, || 0.05).is_some());
        assert!(faults.pick(&target, || 0.5).is_none(), "outside the 10%");
        assert!(
            faults
                .pick(
                    &Target {
                        method: "GET",
                        ..target
                    },
                    || 0.0
                )
                .is_none()
        );
        assert!(
            faults
                .set(vec![Rule {
                    rate: Some(1.5),
                    ..Rule::default()
                }])
                .is_err()
        );
    }
}
