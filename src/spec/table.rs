//! The route table: what `build.rs` extracts from each bundled OpenAPI document and what the
//! routing and validation engine reads at run time.
//!
//! It is plain data on purpose. Nothing in the engine is written per route, so a document loaded
//! at run time only has to be turned into these same structures to be served.
//!
//! This file is compiled twice: into `build.rs` (through `#[path]`) and into the crate.

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
    Header,
}

/// How a parameter's value is serialized (OpenAPI 3.0 `style`), as far as hookmock parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `simple`: path and header parameters; arrays are comma-separated.
    Simple,
    /// `form`: query parameters; arrays repeat the name (explode) or are comma-separated.
    Form,
    /// `deepObject`: `name[key]=value` pairs collected into one object.
    DeepObject,
}

/// One declared parameter of an operation.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub location: ParamIn,
    pub required: bool,
    pub style: ParamStyle,
    pub explode: bool,
    /// JSON pointer to the parameter's schema inside its document.
    pub schema: &'static str,
}

/// The request body an operation accepts.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub required: bool,
    /// The one media type the document declares (progenitor allows one per operation).
    pub media_type: &'static str,
    /// JSON pointer to the body's schema inside its document.
    pub schema: &'static str,
}

/// One documented response of an operation.
#[derive(Debug, Clone, Copy)]
pub struct ResponseDef {
    /// `"200"`, `"4XX"` or `"default"`, as written in the document.
    pub status: &'static str,
    pub media_type: Option<&'static str>,
    /// JSON pointer to the response body's schema, when it has one.
    pub schema: Option<&'static str>,
}

/// One operation: the unit of routing, validation and dispatch.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The API (document) it belongs to, e.g. `fieldnation`.
    pub api: &'static str,
    pub operation_id: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// OpenAPI path template, e.g. `/api/v1/webhooks/{webhookId}`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Path-level and operation-level parameters, merged (the operation's win).
    pub params: &'static [Param],
    pub body: Option<Body>,
    pub responses: &'static [ResponseDef],
}

/// One bundled OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Document {
    /// Short name: the file stem in `openapi/`, used in `--api` and error messages.
    pub api: &'static str,
    pub title: &'static str,
    /// The document as written in `openapi/`.
    pub source: &'static str,
}
