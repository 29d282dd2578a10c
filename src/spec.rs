//! The bundled OpenAPI documents as data: the route-table types (shared with `build.rs`) and the
//! OpenAPI-to-JSON-Schema rewrite.

pub mod json_schema;
mod table;

pub use table::{Body, Document, Operation, Param, ParamIn, ParamStyle, ResponseDef};
