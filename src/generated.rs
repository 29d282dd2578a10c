//! Code that `build.rs` generates from `openapi/`: the embedded documents, the route table, the
//! schema types, one trait per API and the dispatch. It lives in `OUT_DIR`; never edit or commit it.

use crate::error::ApiError;
use crate::request::{Reply, Request};
use crate::spec::{Body, Document, Operation, Param, ParamIn, ParamStyle, ResponseDef};

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
