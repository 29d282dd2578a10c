//! The signature schemes hookmock signs outgoing webhooks with, and verifies Patchworks'
//! inbound triggers with. Every signature covers the exact bytes sent.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How a vendor signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// ELAN: `X-Webhook-Signature: <hex HMAC-SHA256 of the body>`.
    Elan,
    /// Field Nation: `X-FN-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    FieldNation,
    /// Standard Webhooks (Ingedata): `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
    /// keyed with the base64 part of a `whsec_` secret.
    StandardWebhooks,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("a Standard Webhooks secret is `whsec_` and base64; this one does not decode")]
    BadSecret,
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
) -> Result<Vec<(&'static str, String)>, SigningError> {
    Ok(match scheme {
        Scheme::Elan => vec![(
            "X-Webhook-Signature",
            hex::encode(hmac_sha256(secret.as_bytes(), &[body])),
        )],
        Scheme::FieldNation => vec![(
            "X-FN-Signature",
            format!(
                "sha256={}",
                hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
            ),
        )],
        Scheme::StandardWebhooks => {
            let key = secret.strip_prefix("whsec_").unwrap_or(secret);
            let key = BASE64.decode(key).map_err(|_| SigningError::BadSecret)?;
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
    })
}

/// Patchworks' HMAC of a trigger's raw body: `sha256` or `ripemd128`, as bytes.
pub fn patchworks_hmac(algorithm: &str, key: &str, body: &[u8]) -> Option<Vec<u8>> {
    match algorithm {
        "sha256" => Some(hmac_sha256(key.as_bytes(), &[body]).to_vec()),
        "ripemd128" => {
            let mut mac = <Hmac<ripemd::Ripemd128> as Mac>::new_from_slice(key.as_bytes()).ok()?;
            mac.update(body);
            Some(mac.finalize().into_bytes().to_vec())
        }
        _ => None,
    }
}

/// Whether `sent` (hex or base64, any case for hex) is `expected`, compared in constant time.
pub fn matches_digest(expected: &[u8], sent: &str) -> bool {
    let sent = sent.trim();
    let decoded = hex::decode(sent.to_ascii_lowercase())
        .ok()
        .or_else(|| BASE64.decode(sent).ok());
    decoded.is_some_and(|bytes| crate::router::constant_time_eq(&bytes, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example: `X-Hub-Signature-256` is the same hex HMAC-SHA256 ELAN and
    /// Field Nation send.
    #[test]
    fn hex_hmac_matches_githubs_published_vector() {
        let expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let elan = headers(
            Scheme::Elan,
            "It's a Secret to Everybody",
            "",
            0,
            b"Hello, World!",
        )
        .expect("signed");
        assert_eq!(elan, [("X-Webhook-Signature", expected.to_owned())]);
        let fieldnation = headers(
            Scheme::FieldNation,
            "It's a Secret to Everybody",
            "",
            0,
            b"Hello, World!",
        )
        .expect("signed");
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
        )
        .expect("signed");
        assert_eq!(
            signed[2],
            (
                "webhook-signature",
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".to_owned()
            )
        );
        assert_eq!(
            headers(Scheme::StandardWebhooks, "whsec_***", "id", 1, b"").err(),
            Some(SigningError::BadSecret)
        );
    }

    #[test]
    fn patchworks_digests_are_accepted_in_hex_or_base64() {
        let digest = patchworks_hmac("sha256", "It's a Secret to Everybody", b"Hello, World!")
            .expect("known");
        assert!(matches_digest(
            &digest,
            "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"
        ));
        assert!(matches_digest(&digest, &BASE64.encode(&digest)));
        assert!(!matches_digest(&digest, "757107ea"));
        let ripemd = patchworks_hmac("ripemd128", "key", b"body").expect("known");
        assert_eq!(ripemd.len(), 16);
        assert_eq!(patchworks_hmac("md5", "key", b""), None);
    }
}
