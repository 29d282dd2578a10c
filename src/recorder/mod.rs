//! The recorder: captures incoming webhooks byte for byte, judges their signatures, keeps them
//! durably in an append-only NDJSON file and answers queries about them.
//!
//! Durability: a record is written (and with `--fsync always`, synced to disk) before the sender
//! gets its answer, so a crash loses nothing that was answered 2xx. With `--fsync batch` a record
//! is handed to the OS before the answer (it survives a crash of hookmock, not of the machine)
//! and synced every second. On start the file is read back; a torn last line, from a crash in
//! the middle of a write, is cut off with a warning.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use tokio::sync::broadcast;

use crate::wire::Header;
use verify::{Secret, Verdict};

pub mod sink;
pub mod verify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fsync {
    /// Sync every record to disk before answering.
    Always,
    /// Hand every record to the OS before answering; sync once a second.
    Batch,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub out: PathBuf,
    pub fsync: Fsync,
    /// Records kept in memory for queries (the file keeps all).
    pub max_records: usize,
    pub secrets: Vec<Secret>,
    pub tolerance: Duration,
    /// Answer 401 to a request whose signature is invalid.
    pub reject_invalid: bool,
    pub answer: Answer,
    /// Also send every captured request, byte for byte, to this URL (a local app).
    pub forward: Option<String>,
}

impl Settings {
    /// The defaults `hookmock record` starts with: every record synced, 100,000 in memory,
    /// no secrets, a 5-minute tolerance, 200 answers, no forwarding.
    pub fn new(out: PathBuf) -> Self {
        Self {
            out,
            fsync: Fsync::Always,
            max_records: 100_000,
            secrets: Vec::new(),
            tolerance: Duration::from_secs(300),
            reject_invalid: false,
            answer: Answer::default(),
            forward: None,
        }
    }
}

/// How the sink answers: by default, and per path prefix (`PUT /__admin/sink/rules`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The status of the answer.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Wait this long before answering, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// The first N attempts of each event ID get a 500.
    #[serde(default)]
    pub fail_first: u32,
}

fn ok_status() -> u16 {
    200
}

impl Default for Answer {
    fn default() -> Self {
        Self {
            status: 200,
            delay_ms: 0,
            fail_first: 0,
        }
    }
}

/// An answer rule for the requests whose path starts with `path`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub path: String,
    #[serde(flatten)]
    pub answer: Answer,
}

/// One captured request, as stored in the NDJSON file (one per line) and served by the API.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// Sequential, from 1, across restarts.
    pub id: u64,
    /// RFC 3339.
    pub received_at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// In the order received, repeats kept.
    pub headers: Vec<Header>,
    /// The body: text when it is UTF-8, else base64 (see `body_encoding`).
    pub body: String,
    /// `utf8` or `base64`.
    pub body_encoding: String,
    pub size: usize,
    pub remote: Option<String>,
    /// The event's type, when the body or headers name one.
    pub event_type: Option<String>,
    /// The event's ID, when the headers or body carry one (what `fail_first` counts by).
    pub event_id: Option<String>,
    /// The signature verdict.
    pub signature: Verdict,
    /// The status the sender was answered.
    pub answered: u16,
}

impl Record {
    /// The exact body bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        match self.body_encoding.as_str() {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(&self.body)
                .unwrap_or_default(),
            _ => self.body.clone().into_bytes(),
        }
    }
}

/// A request as the sink received it.
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote: Option<String>,
}

/// What the recorder tells its event streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A record with this ID was captured.
    Captured(u64),
    /// Every record was forgotten (`DELETE /__admin/received`).
    Cleared,
}

/// A record without its headers and body: what a list of many needs to show.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    pub id: u64,
    pub received_at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub size: usize,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub signature: Verdict,
    pub answered: u16,
}

impl Record {
    pub fn summary(&self) -> Summary {
        Summary {
            id: self.id,
            received_at: self.received_at.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            size: self.size,
            event_type: self.event_type.clone(),
            event_id: self.event_id.clone(),
            signature: self.signature.clone(),
            answered: self.answered,
        }
    }
}

/// One page of a list, and what it is a page of.
#[derive(Debug)]
pub struct Listing {
    /// Matching records, newest first, at most the filter's limit.
    pub records: Vec<Record>,
    /// How many records match, the limit aside.
    pub matched: usize,
    /// How many records are kept in memory.
    pub stored: usize,
    /// The ID of the newest record captured (0 before the first).
    pub last_id: u64,
}

/// The records an event stream sends next.
#[derive(Debug)]
pub struct Batch {
    /// IDs the stream expected that are no longer kept (evicted by `--max-records`, or
    /// cleared): the stream says so instead of skipping them silently.
    pub missed: Option<(u64, u64)>,
    /// Matching records from the expected ID on, oldest first.
    pub records: Vec<Record>,
    /// The ID the stream expects after this batch.
    pub next: u64,
}

/// Which records to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub path: Option<String>,
    pub method: Option<String>,
    pub scheme: Option<String>,
    pub verdict: Option<String>,
    pub event: Option<String>,
    /// Case-insensitive text searched in the path, the headers and the body.
    pub text: Option<String>,
    /// Records with an ID above this.
    pub since: Option<u64>,
    /// Records with an ID below this (to load older ones, a page at a time).
    pub before: Option<u64>,
    pub limit: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

pub struct Recorder {
    settings: Settings,
    file: Mutex<Journal>,
    records: RwLock<VecDeque<Record>>,
    /// Attempts seen per event ID, for `fail_first`.
    attempts: Mutex<HashMap<String, u32>>,
    rules: RwLock<Vec<Rule>>,
    changes: broadcast::Sender<Change>,
}

/// The file and the last ID written to it.
struct Journal {
    file: File,
    last_id: u64,
}

impl Recorder {
    /// Opens (or creates) the NDJSON file and reads back what it holds.
    pub fn open(settings: Settings) -> Result<Self, RecorderError> {
        let shown = settings.out.display().to_string();
        let open_error = |source| RecorderError::Open {
            path: shown.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&settings.out)
            .map_err(open_error)?;
        let (kept, good_length) = read_back(&mut file, &settings.out).map_err(open_error)?;
        if file.metadata().map_err(open_error)?.len() > good_length {
            tracing::warn!(file = %shown, "cut off a torn last record (a crash in the middle of a write)");
            file.set_len(good_length).map_err(open_error)?;
        }
        let last_id = kept.back().map_or(0, |r| r.id);
        let mut records = kept;
        while records.len() > settings.max_records {
            records.pop_front();
        }
        // A stream that lags behind this many changes reads the records from memory anyway.
        let (changes, _) = broadcast::channel(1024);
        Ok(Self {
            settings,
            file: Mutex::new(Journal { file, last_id }),
            records: RwLock::new(records),
            attempts: Mutex::default(),
            rules: RwLock::default(),
            changes,
        })
    }

    /// Captures a request: judges its signature, decides the answer, writes the record (synced
    /// as `--fsync` says) and answers it, with how long to wait before answering the sender.
    pub fn capture(
        &self,
        incoming: Incoming,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Record, Duration), RecorderError> {
        let signature = verify::verify(
            &incoming.headers,
            &incoming.body,
            &self.settings.secrets,
            now.timestamp(),
            self.settings.tolerance,
        );
        let body_json: Option<Value> = serde_json::from_slice(&incoming.body).ok();
        let event_id = event_id(&incoming.headers, body_json.as_ref(), &incoming.body);
        let answer = self.answer_for(&incoming.path);
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            let seen = attempts.entry(event_id.clone()).or_insert(0);
            *seen += 1;
            *seen
        };
        let answered = match &signature {
            Verdict::Invalid { .. } if self.settings.reject_invalid => 401,
            _ if attempt <= answer.fail_first => 500,
            _ => answer.status,
        };
        let (body, body_encoding) = match String::from_utf8(incoming.body.clone()) {
            Ok(text) => (text, "utf8"),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&incoming.body),
                "base64",
            ),
        };
        let headers: Vec<Header> = incoming
            .headers
            .into_iter()
            .map(|(name, value)| Header { name, value })
            .collect();
        let mut record = Record {
            id: 0,
            received_at: crate::clock::format(now),
            method: incoming.method,
            path: incoming.path,
            query: incoming.query,
            event_type: event_type(&headers, body_json.as_ref()),
            headers,
            body,
            body_encoding: body_encoding.to_owned(),
            size: incoming.body.len(),
            remote: incoming.remote,
            event_id: Some(event_id),
            signature,
            answered,
        };
        self.append(&mut record)?;
        let _ = self.changes.send(Change::Captured(record.id));
        Ok((record, Duration::from_millis(answer.delay_ms)))
    }

    fn answer_for(&self, path: &str) -> Answer {
        let rules = self.rules.read().unwrap_or_else(PoisonError::into_inner);
        rules
            .iter()
            .find(|r| path.starts_with(&r.path))
            .map(|r| r.answer.clone())
            .unwrap_or_else(|| self.settings.answer.clone())
    }

    /// Writes one line, giving the record its ID; flushed, and synced with `--fsync always`;
    /// then keeps it in memory. Both under the file's lock, so that records are kept in ID order
    /// (streams find their place by halving) and none is visible before the ones before it.
    fn append(&self, record: &mut Record) -> Result<(), RecorderError> {
        let write_error = |source| RecorderError::Write {
            path: self.settings.out.display().to_string(),
            source,
        };
        let mut journal = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        record.id = journal.last_id + 1;
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        journal.file.write_all(&line).map_err(write_error)?;
        if self.settings.fsync == Fsync::Always {
            journal.file.sync_data().map_err(write_error)?;
        }
        journal.last_id = record.id;
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        records.push_back(record.clone());
        if records.len() > self.settings.max_records {
            records.pop_front();
        }
        Ok(())
    }

    /// Syncs what `--fsync batch` has handed to the OS.
    pub fn sync(&self) {
        let journal = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = journal.file.sync_data() {
            tracing::warn!("syncing {}: {e}", self.settings.out.display());
        }
    }

    pub fn fsync_mode(&self) -> Fsync {
        self.settings.fsync
    }

    pub fn forward_to(&self) -> Option<&str> {
        self.settings.forward.as_deref()
    }

    /// Matching records, newest first, with how many match and how many are kept.
    pub fn list(&self, filter: &Filter) -> Listing {
        let matcher = Matcher::new(filter);
        // Before the records' lock: a capture takes the file's lock, then the records'.
        let last_id = self.last_id();
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        let limit = filter.limit.unwrap_or(usize::MAX);
        let (mut shown, mut matched) = (Vec::new(), 0);
        for record in records.iter().rev().filter(|r| matcher.keeps(r)) {
            if shown.len() < limit {
                shown.push(record.clone());
            }
            matched += 1;
        }
        Listing {
            records: shown,
            matched,
            stored: records.len(),
            last_id,
        }
    }

    /// The ID of the newest record captured (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_id
    }

    /// What a stream that expects ID `next` sends now: at most `limit` matching records, oldest
    /// first, and the IDs from `next` on that are no longer kept (found when a later one is).
    pub fn after(&self, next: u64, filter: &Filter, limit: usize) -> Batch {
        let matcher = Matcher::new(filter);
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        // Records are kept in ID order: the first one at or after `next` is found by halving.
        let start = records.partition_point(|r| r.id < next);
        let missed = records
            .get(start)
            .filter(|first| first.id > next)
            .map(|first| (next, first.id - 1));
        let mut batch = Batch {
            next: missed.map_or(next, |(_, to)| to + 1),
            missed,
            records: Vec::new(),
        };
        for record in records.range(start..) {
            if batch.records.len() == limit {
                break;
            }
            batch.next = record.id + 1;
            if matcher.keeps(record) {
                batch.records.push(record.clone());
            }
        }
        batch
    }

    pub fn get(&self, id: u64) -> Option<Record> {
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        records.iter().find(|r| r.id == id).cloned()
    }

    /// Forgets every record, in memory and in the file. IDs continue.
    pub fn clear(&self) -> Result<usize, RecorderError> {
        let journal = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        journal
            .file
            .set_len(0)
            .map_err(|source| RecorderError::Write {
                path: self.settings.out.display().to_string(),
                source,
            })?;
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let cleared = records.len();
        records.clear();
        drop(records);
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let _ = self.changes.send(Change::Cleared);
        Ok(cleared)
    }

    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Captures and clears as they happen, for the event streams. A stream reads the records
    /// themselves with [`Self::after`], so one that lags misses nothing still kept.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }
}

/// The records of `file` and the length of its well-formed part.
fn read_back(file: &mut File, path: &Path) -> std::io::Result<(VecDeque<Record>, u64)> {
    file.seek(SeekFrom::Start(0))?;
    read_records(BufReader::new(file), path)
}

/// The records of an NDJSON log and the length of its well-formed part: a last line without
/// its newline (a torn write) is not part of it; a line that does not parse is skipped (and
/// logged, naming `path` and its offset). Public for the fuzz target.
pub fn read_records(
    mut reader: impl BufRead,
    path: &Path,
) -> std::io::Result<(VecDeque<Record>, u64)> {
    let (mut records, mut good_length, mut line) = (VecDeque::new(), 0u64, Vec::new());
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => records.push_back(record),
            Err(e) => {
                tracing::warn!(file = %path.display(), offset = good_length, "skipped a record that does not parse: {e}")
            }
        }
        good_length += read as u64;
    }
    Ok((records, good_length))
}

/// A [`Filter`] ready to test records: the search text lower-cased once, not per record.
struct Matcher<'a> {
    filter: &'a Filter,
    text: Option<String>,
}

impl<'a> Matcher<'a> {
    fn new(filter: &'a Filter) -> Self {
        Self {
            filter,
            text: filter.text.as_deref().map(str::to_lowercase),
        }
    }

    fn keeps(&self, record: &Record) -> bool {
        let filter = self.filter;
        filter
            .path
            .as_deref()
            .is_none_or(|p| record.path.starts_with(p))
            && filter
                .method
                .as_deref()
                .is_none_or(|m| record.method.eq_ignore_ascii_case(m))
            && filter
                .scheme
                .as_deref()
                .is_none_or(|s| record.signature.scheme() == Some(s))
            && filter
                .verdict
                .as_deref()
                .is_none_or(|v| record.signature.name() == v)
            && filter
                .event
                .as_deref()
                .is_none_or(|e| record.event_type.as_deref() == Some(e))
            && filter.since.is_none_or(|since| record.id > since)
            && filter.before.is_none_or(|before| record.id < before)
            && self.text.as_deref().is_none_or(|t| {
                contains_folded(&record.path, t)
                    || contains_folded(&record.body, t)
                    || record.headers.iter().any(|h| contains_folded(&h.value, t))
            })
    }
}

/// Whether `hay` contains `needle` (already lower case), ignoring case. ASCII needles are
/// compared in place: lower-casing a copy of every body for every search made a search over
/// 100,000 records take seconds.
fn contains_folded(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let needle = needle.as_bytes();
        needle.is_empty()
            || hay
                .as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The event's ID: a signing scheme's message ID, the vendor's delivery or event ID, else a
/// digest of the body (the same bytes are the same event).
fn event_id(headers: &[(String, String)], body: Option<&Value>, raw: &[u8]) -> String {
    let from_headers = ["webhook-id", "svix-id", "x-github-delivery"]
        .iter()
        .find_map(|h| header(headers, h))
        .map(str::to_owned);
    let fieldnation =
        header(headers, "x-fn-delivery-id").map(|d| d.split(':').next().unwrap_or(d).to_owned());
    let from_body = ["/event_id", "/id", "/data/id"]
        .iter()
        .find_map(|p| body?.pointer(p)?.as_str().map(str::to_owned));
    from_headers
        .or(fieldnation)
        .or(from_body)
        .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(raw)))
}

/// The event's type, from where the common senders put it.
fn event_type(headers: &[Header], body: Option<&Value>) -> Option<String> {
    let from_header = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("x-github-event"))
        .map(|h| h.value.clone());
    let pointers = [
        "/event_type",
        "/event/name",
        "/data/attributes/event",
        "/type",
        "/event",
    ];
    let from_body = pointers
        .iter()
        .find_map(|p| body?.pointer(p)?.as_str().map(str::to_owned));
    from_header.or(from_body)
}
