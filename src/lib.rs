//! hookmock: a stateful, contract-validating fake of webhook-management APIs.
//!
//! A request flows one way: [`router`] matches it against the route table, the bundled
//! operations `build.rs` generated from `openapi/` ([`generated`]) and those of documents loaded
//! at run time ([`spec::load`]); [`validate`] checks it against its document; the generic
//! [`mock`] engine answers it from what the document says, unless it is a bundled operation whose
//! vendor module in [`apis`] overrides it (on the generic engine's records);
//! and the router renders the reply or the [`error`] in the API's shape, and records it in the
//! [`journal`]. The
//! [`admin`] API reads the journal and exports, imports and resets the stores. Events go the
//! same way down: a vendor module builds a message, [`delivery`] signs ([`signing`]) and sends it.
//!
//! # Layers
//!
//! Each module belongs to a layer and imports only modules of its own layer or of lower ones,
//! with no cycle (the test `layers` in `tests/it/` reads every `crate::` path and fails on an
//! edge against these rules or a cycle):
//!
//! 1. foundations, which know nothing of HTTP routes or vendors: [`clock`], [`wire`],
//!    [`error`], [`spec`], [`context`], [`connection`], [`signing`], [`egress`], [`store`],
//!    [`fixtures`];
//! 2. the contract engine, read from the documents: [`generated`], [`request`], [`validate`],
//!    [`shape`] (values that fit a schema), [`prefer`], [`faults`];
//! 3. the stateful engines: [`delivery`], [`journal`], [`recorder`] (with its signature
//!    verification and its HTTP side, `recorder::verify` and `recorder::sink`), [`persist`],
//!    [`mock`], the generic one that serves any document with no code, and [`receiver`],
//!    which grades a team's webhook receiver with the vendors' own deliveries;
//! 4. the vendor overrides: [`apis`], the only place an operation's behaviour is written;
//! 5. the HTTP edge: [`limits`], [`router`], [`ui`], [`admin`], [`proxy`];
//! 6. the assembly: [`server`], which wires the others from a configuration, and [`specs`],
//!    which loads the documents given at run time and reloads them when they change.
//!
//! The command line (`src/bin/hookmock/`) uses the library and is not part of it.

pub mod admin;
pub mod apis;
pub mod clock;
pub mod connection;
pub mod context;
pub mod delivery;
pub mod egress;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod generated;
pub mod journal;
pub mod limits;
pub mod mock;
pub mod persist;
pub mod prefer;
pub mod proxy;
pub mod receiver;
pub mod recorder;
pub mod request;
pub mod router;
pub mod server;
pub mod shape;
pub mod signing;
pub mod spec;
pub mod specs;
pub mod store;
pub mod ui;
pub mod validate;
pub mod wire;
