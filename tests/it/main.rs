//! hookmock's integration tests: one binary, one module per capability. Each test starts the real
//! server on port 0 (see `harness`) and talks HTTP to it.

mod abusive;
mod admin;
mod any_document;
mod clients;
mod contract_gate;
mod contracts;
mod delivery;
mod documented_errors;
mod elan;
mod errors;
mod fieldnation;
mod harness;
mod hostile;
mod ingedata;
mod isolation;
mod layers;
mod model;
mod patchworks;
mod persistence;
mod receiver_kit;
mod recorder;
mod resilience;
mod routing;
mod serve;
mod soak;
mod tenancy;
mod ui;
