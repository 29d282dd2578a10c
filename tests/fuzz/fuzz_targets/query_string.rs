//! Query-string parsing and checking (form style, deepObject `page[size]`, `filter[…]`,
//! brackets, percent-encoding, repeated keys), on every operation that reads a query.
#![no_main]

use std::sync::LazyLock;

use hookmock::generated::{DOCUMENTS, OPERATIONS};
use hookmock::validate::{Contracts, Incoming};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

static CONTRACTS: LazyLock<Contracts> = LazyLock::new(|| {
    Contracts::compile(DOCUMENTS, OPERATIONS, false)
        .expect("the bundled documents compile")
        .strict(true)
});

fuzz_target!(|data: &[u8]| {
    let [op, rest @ ..] = data else { return };
    let Ok(query) = std::str::from_utf8(rest) else {
        return;
    };
    let index = usize::from(*op) % OPERATIONS.len();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_static("Bearer fuzz"));
    let path_params = [("flow".to_owned(), "12".to_owned())];
    let incoming = Incoming {
        path_params: &path_params,
        query: Some(query),
        headers: &headers,
        body: b"",
    };
    let _ = CONTRACTS.check_request(index, &incoming);
});
