//! The recorder's NDJSON reader (what `record` reads back at start): any bytes, torn lines,
//! records that almost parse. Each record read must serialise again and decode its body.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((records, good)) = hookmock::recorder::read_records(data, Path::new("fuzz.ndjson"))
    else {
        return;
    };
    assert!(
        good as usize <= data.len(),
        "the good part is inside the input"
    );
    for record in records {
        let _ = record.body_bytes();
        let _ = serde_json::to_string(&record);
    }
});
