//! hookmock's integration tests: one binary, one module per capability. Each test starts the real
//! server on port 0 (see `harness`) and talks HTTP to it.

mod clients;
mod contracts;
mod errors;
mod fieldnation;
mod harness;
mod routing;
mod serve;
