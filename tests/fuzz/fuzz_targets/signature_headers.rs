//! The recorder's signature header parsers: every scheme's header, with fuzzed values (several
//! signatures, timestamps, prefixes, base64 and hex), checked against a few secrets.
#![no_main]

use std::time::Duration;

use hookmock::recorder::verify::{self, Secret};
use libfuzzer_sys::fuzz_target;

/// The header each scheme is recognised by, and the ones it reads besides.
const HEADERS: &[&[&str]] = &[
    &["webhook-signature", "webhook-id", "webhook-timestamp"],
    &["svix-signature", "svix-id", "svix-timestamp"],
    &["x-hub-signature-256"],
    &["stripe-signature"],
    &["x-shopify-hmac-sha256"],
    &["x-slack-signature", "x-slack-request-timestamp"],
    &["x-fn-signature", "x-fn-request-timestamp"],
    &["x-webhook-signature"],
    &["x-hmac-hash"],
];

fuzz_target!(|data: &[u8]| {
    let [scheme, rest @ ..] = data else { return };
    let names = HEADERS[usize::from(*scheme) % HEADERS.len()];
    // Values separated by 0xff; what follows the last one is the body.
    let mut parts = rest.split(|b| *b == 0xff);
    let headers: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            let value = parts.next().unwrap_or_default();
            (
                (*name).to_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect();
    let body: Vec<u8> = parts.flat_map(|p| p.iter().copied()).collect();
    let secrets = [
        Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1),
        Secret::parse("github=It's a Secret to Everybody", 2),
        Secret::parse("whsec_", 3),
    ];
    let _ = verify::verify(
        &headers,
        &body,
        &secrets,
        1_700_000_000,
        Duration::from_secs(300),
    );
});
