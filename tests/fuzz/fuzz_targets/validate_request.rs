//! Request validation: any operation, any content type, any body. It must answer (valid or a
//! list of violations), never panic.
#![no_main]

use std::sync::LazyLock;

use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::validate::{Contracts, Incoming};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

static CONTRACTS: LazyLock<Contracts> = LazyLock::new(|| {
    Contracts::compile(DOCUMENTS, OPERATIONS, false).expect("the bundled documents compile")
});

const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/vnd.api+json",
    "text/plain",
    "application/json; charset=utf-8",
];

fuzz_target!(|data: &[u8]| {
    let [op, media, rest @ ..] = data else { return };
    let index = usize::from(*op) % OPERATIONS.len();
    let mut headers = HeaderMap::new();
    let media_type = MEDIA_TYPES[usize::from(*media) % MEDIA_TYPES.len()];
    headers.insert("content-type", HeaderValue::from_static(media_type));
    headers.insert("authorization", HeaderValue::from_static("Bearer fuzz"));
    let path_params = [
        ("id".to_owned(), "1".to_owned()),
        ("flow".to_owned(), "12".to_owned()),
        ("webhook".to_owned(), "41".to_owned()),
        ("callback".to_owned(), "7".to_owned()),
        ("subscription_id".to_owned(), "1".to_owned()),
        ("webhookId".to_owned(), "wh_1".to_owned()),
    ];
    let incoming = Incoming {
        path_params: &path_params,
        query: None,
        headers: &headers,
        body: rest,
    };
    let _ = CONTRACTS.check_request(index, &incoming);
});
