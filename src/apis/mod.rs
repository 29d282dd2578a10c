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
use crate::store::{Collection, Store, Stores};
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

impl Wiring {
    /// A store of `api` starting from `fixtures`, registered for the admin API as `api.name`.
    pub fn store<T>(
        &mut self,
        api: &'static str,
        name: &'static str,
        fixtures: impl IntoIterator<Item = (u64, T)>,
    ) -> Arc<Store<T>>
    where
        T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let store = Arc::new(Store::new(Collection::from_records(fixtures)));
        self.stores.add(api, name, store.clone());
        store
    }
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

/// One page of a list: 1-based `number`, clamped to sane values.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: usize,
    pub per_page: usize,
    pub total: usize,
}

impl Page {
    pub fn new(number: i64, per_page: i64, total: usize) -> Self {
        let clamp = |n: i64| usize::try_from(n).unwrap_or(1).max(1);
        Self {
            number: clamp(number),
            per_page: clamp(per_page),
            total,
        }
    }

    fn offset(&self) -> usize {
        (self.number - 1).saturating_mul(self.per_page)
    }

    /// The page `number` of `records` (already in order) and the page that describes it.
    /// `total` is their count when it is known without reading them all (an unfiltered list):
    /// then only the records up to the page's end are read.
    pub fn of<'a, T: 'a>(
        records: impl Iterator<Item = &'a T>,
        total: Option<usize>,
        number: i64,
        per_page: i64,
    ) -> (Self, Vec<&'a T>) {
        match total {
            Some(total) => {
                let page = Page::new(number, per_page, total);
                let shown = records.skip(page.offset()).take(page.per_page).collect();
                (page, shown)
            }
            None => {
                let all: Vec<&T> = records.collect();
                let page = Page::new(number, per_page, all.len());
                (page, page.slice(all))
            }
        }
    }

    /// The items of this page, from all of them in order.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .skip(self.offset())
            .take(self.per_page)
            .collect()
    }

    pub fn last_page(&self) -> usize {
        self.total.div_ceil(self.per_page).max(1)
    }

    /// 1-based position of the first item shown, `None` on an empty page.
    pub fn from(&self) -> Option<usize> {
        (self.offset() < self.total).then(|| self.offset() + 1)
    }

    /// 1-based position of the last item shown, `None` on an empty page.
    pub fn to(&self) -> Option<usize> {
        self.from()
            .map(|_| (self.offset() + self.per_page).min(self.total))
    }
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
