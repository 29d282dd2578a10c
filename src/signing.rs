//! The signature schemes hookmock signs outgoing webhooks with, and the HMACs it checks inbound
//! trigger calls with. Every signature covers the exact bytes sent. The schemes are named by
//! their wire format; which vendor uses which, with which header, is said in `apis/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How a sender signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `<header>: <prefix><hex HMAC-SHA256 of the body>`, GitHub's form (`X-Hub-Signature-256:
    /// sha256=…`) with the sender's own header and prefix.
    HexHmac {
        header: &'static str,
        prefix: &'static str,
    },
    /// Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
    /// keyed as [`standard_webhooks_key`] says.
    StandardWebhooks,
}

impl Scheme {
    /// The header that carries the signature.
    pub fn signature_header(self) -> &'static str {
        match self {
            Scheme::HexHmac { header, .. } => header,
            Scheme::StandardWebhooks => "webhook-signature",
        }
    }

    /// A signature header value of this scheme's shape that does not parse.
    pub fn malformed(self) -> &'static str {
        match self {
            Scheme::HexHmac { .. } => "sha256=not-hex-at-all",
            Scheme::StandardWebhooks => "v1,%%%not-base64%%%",
        }
    }

    /// Whether the signature covers a timestamp (so an old signature can be refused).
    pub fn covers_timestamp(self) -> bool {
        matches!(self, Scheme::StandardWebhooks)
    }

    /// Whether this scheme sets the header `name` (any case) on every delivery: a
    /// subscription's custom headers may not replace it.
    pub fn sets(self, name: &str) -> bool {
        match self {
            Scheme::HexHmac { header, .. } => header.eq_ignore_ascii_case(name),
            Scheme::StandardWebhooks => ["webhook-id", "webhook-timestamp", "webhook-signature"]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name)),
        }
    }
}

/// The HMAC key of a Standard Webhooks secret. The standard's secrets are `whsec_<base64>`,
/// keyed with the decoded bytes; a vendor whose API accepts any string as a secret (Ingedata's
/// does) still signs, keyed with the secret's UTF-8 bytes, so a set secret never means an
/// unsigned delivery. The recorder verifies with the same key.
pub fn standard_webhooks_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

pub fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The signature headers of one attempt. `id` and `timestamp` (unix seconds) are only part of
/// Standard Webhooks' signed content.
pub fn headers(
    scheme: Scheme,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    match scheme {
        Scheme::HexHmac { header, prefix } => vec![(
            header,
            format!(
                "{prefix}{}",
                hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
            ),
        )],
        Scheme::StandardWebhooks => {
            let key = standard_webhooks_key(secret);
            let timestamp = timestamp.to_string();
            let mac = hmac_sha256(
                &key,
                &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
            );
            vec![
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", timestamp),
                ("webhook-signature", format!("v1,{}", BASE64.encode(mac))),
            ]
        }
    }
}

/// HMAC-RIPEMD-128, one of the hashes a trigger's `X-HMAC-HASH` may use.
pub fn hmac_ripemd128(key: &[u8], body: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<ripemd::Ripemd128> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Whether `sent` (hex or base64, any case for hex) is `expected`, compared in constant time.
pub fn matches_digest(expected: &[u8], sent: &str) -> bool {
    let sent = sent.trim();
    let decoded = hex::decode(sent.to_ascii_lowercase())
        .ok()
        .or_else(|| BASE64.decode(sent).ok());
    decoded.is_some_and(|bytes| constant_time_eq(&bytes, expected))
}

/// Compares without returning early on the first differing byte, so response time does not tell
/// a caller how much of a guessed token or signature was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example: `X-Hub-Signature-256` is a hex HMAC-SHA256, with any header
    /// and prefix.
    #[test]
    fn hex_hmac_matches_githubs_published_vector() {
        let expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let elan = headers(
            Scheme::HexHmac {
                header: "X-Webhook-Signature",
                prefix: "",
            },
            "It's a Secret to Everybody",
            "",
            0,
            b"Hello, World!",
        );
        assert_eq!(elan, [("X-Webhook-Signature", expected.to_owned())]);
        let fieldnation = headers(
            Scheme::HexHmac {
                header: "X-FN-Signature",
                prefix: "sha256=",
            },
            "It's a Secret to Everybody",
            "",
            0,
            b"Hello, World!",
        );
        assert_eq!(
            fieldnation,
            [("X-FN-Signature", format!("sha256={expected}"))]
        );
    }

    #[test]
    fn standard_webhooks_matches_the_published_vector() {
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signed = headers(
            Scheme::StandardWebhooks,
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        );
        assert_eq!(
            signed[2],
            (
                "webhook-signature",
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".to_owned()
            )
        );
        let plain = headers(Scheme::StandardWebhooks, "my secret!", "id", 1, b"{}");
        let keyed = hmac_sha256(b"my secret!", &[b"id.1.{}"]);
        assert_eq!(plain[2].1, format!("v1,{}", BASE64.encode(keyed)));
    }

    #[test]
    fn patchworks_digests_are_accepted_in_hex_or_base64() {
        let digest = hmac_sha256(b"It's a Secret to Everybody", &[b"Hello, World!"]);
        assert!(matches_digest(
            &digest,
            "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"
        ));
        assert!(matches_digest(&digest, &BASE64.encode(digest)));
        assert!(!matches_digest(&digest, "757107ea"));
        let ripemd = hmac_ripemd128(b"key", b"body");
        assert!(matches_digest(&ripemd, &hex::encode(ripemd)));
    }
}
