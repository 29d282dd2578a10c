//! Code that `build.rs` generates from `openapi/`: the embedded documents, the route table and
//! the schema types (the route stubs are in `apis::stubs`). It lives in `OUT_DIR`; never edit or commit it.

use crate::spec::{Body, Document, Operation, Param, ParamIn, ParamStyle, ResponseDef};

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
