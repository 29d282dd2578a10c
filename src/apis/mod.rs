//! The vendor overrides, one module per bundled API. Each implements the trait that `build.rs`
//! generated from its document ([`stubs`]), overriding the operations where the vendor does
//! what the generic engine would not; [`Apis`] is the set the router dispatches to.

pub mod elan;
pub mod fieldnation;
pub mod flow_runs;
pub mod ingedata;
pub mod patchworks;
pub mod shapes;
pub mod stubs;

use std::sync::Arc;

use crate::context::Context;
use crate::delivery::{Emitters, Engine};
use crate::fixtures::{FixtureError, Fixtures};
use crate::mock::Collections;
use crate::store::Stores;
use flow_runs::FlowRuns;
use shapes::ErrorStyle;
use stubs::Implementations;

/// The implementations, in the generated order (the documents' file names, sorted).
pub type Apis = Implementations<
    elan::Elan,
    fieldnation::FieldNation,
    ingedata::Ingedata,
    patchworks::Patchworks,
>;

/// What the vendor modules share, and where they register what the admin API reaches.
pub struct Wiring {
    pub context: Arc<Context>,
    pub engine: Engine,
    pub flow_runs: Arc<FlowRuns>,
    pub stores: Stores,
    pub emitters: Emitters,
    /// The records of the operations the generic engine serves for a vendor, by API.
    pub generic: Vec<(&'static str, Arc<Collections>)>,
}

/// Every implementation, each starting from its fixtures.
pub fn new(wiring: &mut Wiring, fixtures: &Fixtures) -> Result<Apis, FixtureError> {
    Ok(Implementations {
        elan: elan::Elan::new(wiring, fixtures)?,
        fieldnation: fieldnation::FieldNation::new(wiring, fixtures)?,
        ingedata: ingedata::Ingedata::new(wiring, fixtures)?,
        patchworks: patchworks::Patchworks::new(wiring, fixtures)?,
    })
}

/// What the vendors serve beside their documents' operations: Patchworks' trigger URLs, which
/// callers of a flow call (they are not part of its management API).
pub fn routes(apis: &Apis) -> axum::Router {
    axum::Router::new()
        .route(
            "/triggers/{key}/flows/{flow}/{kind}/{id}",
            axum::routing::post(patchworks::trigger),
        )
        .with_state(apis.patchworks.clone())
}

/// The error shape each API answers in (see [`ErrorStyle`]). A document added to `openapi/`
/// without an entry here answers in the plain `{message}` shape.
/// The tenant a `check-receiver` probe is sent as.
pub const PROBE_TENANT: &str = "check-receiver";

pub fn error_style(api: &str) -> ErrorStyle {
    match api {
        "elan" => ErrorStyle::FastApi,
        "fieldnation" => ErrorStyle::FieldNation,
        "ingedata" => ErrorStyle::JsonApi,
        _ => ErrorStyle::Laravel,
    }
}

/// The vendors require HTTPS target URLs. hookmock also accepts `http://` to a loopback host, so
/// that a receiver on the developer's machine (or hookmock's own recorder) can be registered.
pub fn loopback_or_https(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A stable number derived from a tenant's credential, for the account IDs a vendor shows
/// (`companyId`, `account_id`): the same token always gets the same number, in 1000..=9999.
pub fn numeric_id_for(kind: &str, tenant: &str) -> i64 {
    // FNV-1a: stable across runs and platforms, unlike std's randomly seeded hasher.
    let hash = kind
        .bytes()
        .chain([0])
        .chain(tenant.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    1000 + (hash % 9000) as i64
}

/// What a bundled document says at `pointer`, for tests that hold a vendor module to its
/// document.
#[cfg(test)]
pub(crate) fn documented(api: &str, pointer: &str) -> serde_json::Value {
    let doc = crate::generated::DOCUMENTS
        .iter()
        .find(|d| d.api == api)
        .unwrap_or_else(|| panic!("{api} is bundled"));
    let doc: serde_json::Value = serde_json::from_str(doc.source).expect("JSON");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{api} has {pointer}"))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        for ok in [
            "https://hooks.example.com/x",
            "http://127.0.0.1:9000/sink",
            "http://localhost/x",
            "http://[::1]:80/",
            "HTTPS://Example.com",
        ] {
            assert!(loopback_or_https(ok), "{ok}");
        }
        for bad in [
            "http://example.com/x",
            "ftp://127.0.0.1/",
            "https://",
            "http://127.0.0.1.evil.com@example.com/",
            "http://127.0.0.1.example.com/",
            "hooks.example.com",
        ] {
            assert!(!loopback_or_https(bad), "{bad}");
        }
    }

    #[test]
    fn numeric_ids_are_stable_and_in_range() {
        assert_eq!(
            numeric_id_for("company", "t1"),
            numeric_id_for("company", "t1")
        );
        assert_ne!(
            numeric_id_for("company", "t1"),
            numeric_id_for("user", "t1")
        );
        assert!((1000..=9999).contains(&numeric_id_for("company", "anything")));
    }
}
