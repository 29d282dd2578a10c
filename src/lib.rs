//! hookmock: a stateful, contract-validating fake of webhook-management APIs.
//!
//! A request flows one way: [`router`] matches it against the route table that `build.rs`
//! generated from `openapi/` ([`generated`]), [`validate`] checks it against its document, the
//! vendor module in [`apis`] implements the operation on the [`store`], and the router renders
//! the reply or the [`error`] in the vendor's shape, and records it in the [`journal`]. The
//! [`admin`] API reads the journal and exports, imports and resets the stores.

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
pub mod persist;
pub mod prefer;
pub mod proxy;
pub mod recorder;
pub mod request;
pub mod router;
pub mod server;
pub mod signing;
pub mod sink;
pub mod spec;
pub mod store;
pub mod ui;
pub mod validate;
pub mod verify;
