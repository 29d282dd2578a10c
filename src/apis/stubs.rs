//! The route stubs `build.rs` generated from `openapi/`: one trait per bundled API with one
//! method per operation, each served by the generic engine ([`Call::answer`]) unless the
//! vendor module overrides it, and the dispatch from an operation's index to its method. It
//! lives in `OUT_DIR`; never edit or commit it.

use crate::error::ApiError;
use crate::mock::Call;
use crate::request::Reply;

include!(concat!(env!("OUT_DIR"), "/stubs.rs"));
