//! Signature verification for the recorder: detect the scheme from the headers, try every
//! configured secret, compare in constant time, check timestamps against a tolerance.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::signing::{constant_time_eq, hmac_ripemd128, hmac_sha256, standard_webhooks_key};

/// A secret to verify with, as `--secret [NAME=]SECRET` gives it.
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub value: String,
}

impl Secret {
    /// `NAME=SECRET`, or a bare secret named `secret-<n>` (1-based).
    pub fn parse(text: &str, position: usize) -> Self {
        match text.split_once('=') {
            Some((name, value))
                if !name.is_empty() && !name.starts_with("whsec_") && !value.is_empty() =>
            {
                Self {
                    name: name.to_owned(),
                    value: value.to_owned(),
                }
            }
            _ => Self {
                name: format!("secret-{position}"),
                value: text.to_owned(),
            },
        }
    }
}

/// What the recorder concluded about a request's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Verified { scheme: String, secret: String },
    Invalid { scheme: String, reason: String },
    Unsigned,
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Verified { .. } => "verified",
            Verdict::Invalid { .. } => "invalid",
            Verdict::Unsigned => "unsigned",
        }
    }

    pub fn scheme(&self) -> Option<&str> {
        match self {
            Verdict::Verified { scheme, .. } | Verdict::Invalid { scheme, .. } => Some(scheme),
            Verdict::Unsigned => None,
        }
    }
}

/// Headers as received, looked up case-insensitively.
pub trait Headers {
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for [(String, String)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One signature scheme: the header that marks it and how to check it.
struct Scheme {
    name: &'static str,
    marker: &'static str,
    check: fn(&Request<'_>, &str) -> Check,
}

/// The outcome of one secret against one request.
enum Check {
    Match,
    Mismatch,
    /// The request is malformed or out of time whatever the secret: a reason.
    Refused(String),
}

struct Request<'a> {
    headers: &'a [(String, String)],
    body: &'a [u8],
    now: i64,
    tolerance: i64,
}

/// In the order they are detected: the first scheme whose marker header is present decides.
const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "standard-webhooks",
        marker: "webhook-signature",
        check: standard_webhooks,
    },
    Scheme {
        name: "svix",
        marker: "svix-signature",
        check: standard_webhooks,
    },
    Scheme {
        name: "github",
        marker: "x-hub-signature-256",
        check: github,
    },
    Scheme {
        name: "stripe",
        marker: "stripe-signature",
        check: stripe,
    },
    Scheme {
        name: "shopify",
        marker: "x-shopify-hmac-sha256",
        check: shopify,
    },
    Scheme {
        name: "slack",
        marker: "x-slack-signature",
        check: slack,
    },
    Scheme {
        name: "fieldnation",
        marker: "x-fn-signature",
        check: field_nation,
    },
    Scheme {
        name: "elan",
        marker: "x-webhook-signature",
        check: elan,
    },
    Scheme {
        name: "patchworks",
        marker: "x-hmac-hash",
        check: patchworks,
    },
];

/// The verdict on a request: its scheme, checked against every secret.
pub fn verify(
    headers: &[(String, String)],
    body: &[u8],
    secrets: &[Secret],
    now_unix: i64,
    tolerance: Duration,
) -> Verdict {
    let Some(scheme) = SCHEMES.iter().find(|s| headers.header(s.marker).is_some()) else {
        return Verdict::Unsigned;
    };
    let invalid = |reason: String| Verdict::Invalid {
        scheme: scheme.name.to_owned(),
        reason,
    };
    if secrets.is_empty() {
        return invalid("no secret configured (--secret)".to_owned());
    }
    let request = Request {
        headers,
        body,
        now: now_unix,
        tolerance: i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX),
    };
    for secret in secrets {
        match (scheme.check)(&request, &secret.value) {
            Check::Match => {
                return Verdict::Verified {
                    scheme: scheme.name.to_owned(),
                    secret: secret.name.clone(),
                };
            }
            Check::Refused(reason) => return invalid(reason),
            Check::Mismatch => {}
        }
    }
    invalid(format!(
        "signature mismatch: no configured secret ({}) signs this body",
        secrets.len()
    ))
}

fn matches(computed: &[u8], sent: &[u8]) -> Check {
    if constant_time_eq(computed, sent) {
        Check::Match
    } else {
        Check::Mismatch
    }
}

/// Why a signature header cannot be checked at all.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("malformed header: {0} is missing")]
    Missing(String),
    #[error("malformed header: {header} {text:?} is not a unix time")]
    NotUnixTime { header: String, text: String },
    #[error("malformed header: {0:?} is not hex")]
    NotHex(String),
    #[error("timestamp {at} is {ahead} s in the future (tolerance {tolerance} s)")]
    Future { at: i64, ahead: i64, tolerance: i64 },
    #[error("timestamp {at} is stale: {age} s old (tolerance {tolerance} s)")]
    Stale { at: i64, age: i64, tolerance: i64 },
}

/// A timestamp within the tolerance, or the reason it is not.
fn timely(request: &Request<'_>, header: &str, timestamp: Option<&str>) -> Result<i64, Refusal> {
    let text = timestamp.ok_or_else(|| Refusal::Missing(header.to_owned()))?;
    let at: i64 = text.trim().parse().map_err(|_| Refusal::NotUnixTime {
        header: header.to_owned(),
        text: text.to_owned(),
    })?;
    let tolerance = request.tolerance;
    match at - request.now {
        d if d > tolerance => Err(Refusal::Future {
            at,
            ahead: d,
            tolerance,
        }),
        d if -d > tolerance => Err(Refusal::Stale {
            at,
            age: -d,
            tolerance,
        }),
        _ => Ok(at),
    }
}

fn hex_digest(text: &str) -> Result<Vec<u8>, Refusal> {
    hex::decode(text.trim()).map_err(|_| Refusal::NotHex(text.to_owned()))
}

/// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> [v1,<b64> …]` (or `svix-*`).
fn standard_webhooks(request: &Request<'_>, secret: &str) -> Check {
    let prefix = if request.headers.header("webhook-signature").is_some() {
        "webhook"
    } else {
        "svix"
    };
    let header = |name: &str| request.headers.header(&format!("{prefix}-{name}"));
    let Some(id) = header("id") else {
        return Check::Refused(format!("malformed header: {prefix}-id is missing"));
    };
    let timestamp = match timely(request, &format!("{prefix}-timestamp"), header("timestamp")) {
        Ok(at) => at.to_string(),
        Err(reason) => return Check::Refused(reason.to_string()),
    };
    let key = standard_webhooks_key(secret);
    let mac = hmac_sha256(
        &key,
        &[
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            request.body,
        ],
    );
    let signatures = header("signature").unwrap_or_default().split_whitespace();
    let sent: Vec<Vec<u8>> = signatures
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| BASE64.decode(s).ok())
        .collect();
    if sent.is_empty() {
        return Check::Refused(format!(
            "malformed header: {prefix}-signature has no v1,<base64> signature"
        ));
    }
    if sent.iter().any(|s| constant_time_eq(&mac, s)) {
        Check::Match
    } else {
        Check::Mismatch
    }
}

/// `X-Hub-Signature-256: sha256=<hex HMAC of the body>`.
fn github(request: &Request<'_>, secret: &str) -> Check {
    hex_prefixed(request, "x-hub-signature-256", "sha256=", secret)
}

/// `X-FN-Signature: sha256=<hex HMAC of the body>`.
fn field_nation(request: &Request<'_>, secret: &str) -> Check {
    hex_prefixed(request, "x-fn-signature", "sha256=", secret)
}

/// `X-Webhook-Signature: <hex HMAC of the body>` (`sha256=` accepted too).
fn elan(request: &Request<'_>, secret: &str) -> Check {
    hex_prefixed(request, "x-webhook-signature", "", secret)
}

fn hex_prefixed(request: &Request<'_>, header: &str, prefix: &str, secret: &str) -> Check {
    let value = request.headers.header(header).unwrap_or_default();
    let digest = value
        .strip_prefix(prefix)
        .or_else(|| value.strip_prefix("sha256="))
        .unwrap_or(value);
    match hex_digest(digest) {
        Ok(sent) => matches(&hmac_sha256(secret.as_bytes(), &[request.body]), &sent),
        Err(reason) => Check::Refused(reason.to_string()),
    }
}

/// `Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">[,v1=…]`, keyed with the whole secret.
fn stripe(request: &Request<'_>, secret: &str) -> Check {
    let value = request
        .headers
        .header("stripe-signature")
        .unwrap_or_default();
    let pairs: Vec<(&str, &str)> = value
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .collect();
    let timestamp = pairs.iter().find(|(k, _)| *k == "t").map(|(_, v)| *v);
    let at = match timely(request, "Stripe-Signature t=", timestamp) {
        Ok(at) => at.to_string(),
        Err(reason) => return Check::Refused(reason.to_string()),
    };
    let sent: Vec<Vec<u8>> = pairs
        .iter()
        .filter(|(k, _)| *k == "v1")
        .filter_map(|(_, v)| hex::decode(v).ok())
        .collect();
    if sent.is_empty() {
        return Check::Refused("malformed header: Stripe-Signature has no v1=<hex>".to_owned());
    }
    let mac = hmac_sha256(secret.as_bytes(), &[at.as_bytes(), b".", request.body]);
    if sent.iter().any(|s| constant_time_eq(&mac, s)) {
        Check::Match
    } else {
        Check::Mismatch
    }
}

/// `X-Shopify-Hmac-Sha256: <base64 HMAC of the body>`.
fn shopify(request: &Request<'_>, secret: &str) -> Check {
    let value = request
        .headers
        .header("x-shopify-hmac-sha256")
        .unwrap_or_default();
    match BASE64.decode(value.trim()) {
        Ok(sent) => matches(&hmac_sha256(secret.as_bytes(), &[request.body]), &sent),
        Err(_) => Check::Refused(format!(
            "malformed header: X-Shopify-Hmac-Sha256 {value:?} is not base64"
        )),
    }
}

/// `X-Slack-Signature: v0=<hex HMAC of "v0:ts:body">` with `X-Slack-Request-Timestamp`.
fn slack(request: &Request<'_>, secret: &str) -> Check {
    let at = match timely(
        request,
        "X-Slack-Request-Timestamp",
        request.headers.header("x-slack-request-timestamp"),
    ) {
        Ok(at) => at.to_string(),
        Err(reason) => return Check::Refused(reason.to_string()),
    };
    let value = request
        .headers
        .header("x-slack-signature")
        .unwrap_or_default();
    let Some(digest) = value.strip_prefix("v0=") else {
        return Check::Refused("malformed header: X-Slack-Signature has no v0=".to_owned());
    };
    match hex_digest(digest) {
        Ok(sent) => matches(
            &hmac_sha256(
                secret.as_bytes(),
                &[b"v0:", at.as_bytes(), b":", request.body],
            ),
            &sent,
        ),
        Err(reason) => Check::Refused(reason.to_string()),
    }
}

/// `X-HMAC-HASH`: the SHA-256 or RIPEMD-128 HMAC of the body, hex or base64.
fn patchworks(request: &Request<'_>, secret: &str) -> Check {
    let sent = request.headers.header("x-hmac-hash").unwrap_or_default();
    let key = secret.as_bytes();
    let found = crate::signing::matches_digest(&hmac_sha256(key, &[request.body]), sent)
        || crate::signing::matches_digest(&hmac_ripemd128(key, request.body), sent);
    if found { Check::Match } else { Check::Mismatch }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: Duration = Duration::from_secs(300);

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn secret(value: &str) -> Vec<Secret> {
        vec![Secret::parse(&format!("test={value}"), 1)]
    }

    fn verified(scheme: &str) -> Verdict {
        Verdict::Verified {
            scheme: scheme.to_owned(),
            secret: "test".to_owned(),
        }
    }

    fn reason(verdict: &Verdict) -> &str {
        match verdict {
            Verdict::Invalid { reason, .. } => reason,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    /// Standard Webhooks' published vector: valid, tampered, wrong secret, stale, svix names.
    #[test]
    fn standard_webhooks_published_vector() {
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let sent = [
            ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
            ("webhook-timestamp", "1649367553"),
            (
                "webhook-signature",
                "v1,bm9ldHZhbGlk v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            ),
        ];
        let good = secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let now = 1649367553 + 10;
        assert_eq!(
            verify(&headers(&sent), body, &good, now, TOLERANCE),
            verified("standard-webhooks")
        );
        assert!(
            reason(&verify(&headers(&sent), b"{}", &good, now, TOLERANCE)).contains("mismatch")
        );
        assert!(
            reason(&verify(
                &headers(&sent),
                body,
                &secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                now,
                TOLERANCE
            ))
            .contains("mismatch")
        );
        assert!(
            reason(&verify(&headers(&sent), body, &good, now + 3600, TOLERANCE)).contains("stale")
        );
        assert!(
            reason(&verify(&headers(&sent), body, &good, now - 3600, TOLERANCE)).contains("future")
        );
        let svix: Vec<(String, String)> = headers(&sent)
            .into_iter()
            .map(|(k, v)| (k.replace("webhook-", "svix-"), v))
            .collect();
        assert_eq!(verify(&svix, body, &good, now, TOLERANCE), verified("svix"));
    }

    /// GitHub's published example.
    #[test]
    fn github_published_vector() {
        let sent = headers(&[(
            "X-Hub-Signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        let good = secret("It's a Secret to Everybody");
        assert_eq!(
            verify(&sent, b"Hello, World!", &good, 0, TOLERANCE),
            verified("github")
        );
        assert!(reason(&verify(&sent, b"Hello, World?", &good, 0, TOLERANCE)).contains("mismatch"));
        assert!(
            reason(&verify(
                &sent,
                b"Hello, World!",
                &secret("nope"),
                0,
                TOLERANCE
            ))
            .contains("mismatch")
        );
        let malformed = headers(&[("X-Hub-Signature-256", "sha256=zz")]);
        assert!(
            reason(&verify(&malformed, b"", &good, 0, TOLERANCE)).starts_with("malformed header")
        );
    }

    /// Stripe: key is the whole `whsec_` string; signed content is `t.body`.
    #[test]
    fn stripe_signatures_and_their_timestamps() {
        let key = "whsec_test_secret";
        let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
        let mac = hex::encode(hmac_sha256(key.as_bytes(), &[b"1700000000.", body]));
        let sent = headers(&[(
            "Stripe-Signature",
            &format!("t=1700000000,v1=00ff,v1={mac}"),
        )]);
        assert_eq!(
            verify(&sent, body, &secret(key), 1700000100, TOLERANCE),
            verified("stripe")
        );
        assert!(
            reason(&verify(&sent, b"{}", &secret(key), 1700000100, TOLERANCE)).contains("mismatch")
        );
        assert!(
            reason(&verify(&sent, body, &secret(key), 1700009999, TOLERANCE)).contains("stale")
        );
    }

    #[test]
    fn shopify_slack_fieldnation_elan_and_patchworks() {
        let body = b"Hello, World!";
        let key = "It's a Secret to Everybody";
        let mac = hmac_sha256(key.as_bytes(), &[body]);
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (
                headers(&[("X-Shopify-Hmac-Sha256", &BASE64.encode(mac))]),
                "shopify",
            ),
            (
                headers(&[("X-FN-Signature", &format!("sha256={}", hex::encode(mac)))]),
                "fieldnation",
            ),
            (
                headers(&[("X-Webhook-Signature", &hex::encode(mac))]),
                "elan",
            ),
            (
                headers(&[("X-HMAC-HASH", &BASE64.encode(mac))]),
                "patchworks",
            ),
        ];
        for (sent, scheme) in cases {
            assert_eq!(
                verify(&sent, body, &secret(key), 0, TOLERANCE),
                verified(scheme)
            );
            assert!(
                reason(&verify(&sent, b"tampered", &secret(key), 0, TOLERANCE))
                    .contains("mismatch"),
                "{scheme}"
            );
            assert!(
                reason(&verify(&sent, body, &secret("other"), 0, TOLERANCE)).contains("mismatch"),
                "{scheme}"
            );
        }
        // Slack's documented example signing secret, with a body and timestamp of our own.
        let slack_key = "8f742231b10e8888abcd99yyyzzz85a5";
        let slack_mac = hex::encode(hmac_sha256(
            slack_key.as_bytes(),
            &[b"v0:1531420618:", body],
        ));
        let slack = headers(&[
            ("X-Slack-Signature", &format!("v0={slack_mac}")),
            ("X-Slack-Request-Timestamp", "1531420618"),
        ]);
        assert_eq!(
            verify(&slack, body, &secret(slack_key), 1531420618, TOLERANCE),
            verified("slack")
        );
        assert!(
            reason(&verify(
                &slack,
                body,
                &secret(slack_key),
                1531420618 + 301,
                TOLERANCE
            ))
            .contains("stale")
        );
    }

    #[test]
    fn no_signature_is_unsigned_and_no_secret_is_said() {
        assert_eq!(
            verify(
                &headers(&[("content-type", "application/json")]),
                b"{}",
                &[],
                0,
                TOLERANCE
            ),
            Verdict::Unsigned
        );
        let sent = headers(&[("X-Webhook-Signature", "00")]);
        assert!(reason(&verify(&sent, b"{}", &[], 0, TOLERANCE)).contains("no secret configured"));
    }

    #[test]
    fn secrets_are_named_or_numbered() {
        assert_eq!(Secret::parse("github=abc", 1).name, "github");
        let bare = Secret::parse("whsec_abc=", 2);
        assert_eq!(
            (bare.name.as_str(), bare.value.as_str()),
            ("secret-2", "whsec_abc=")
        );
    }
}
