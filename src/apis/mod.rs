//! The vendor implementations, one module per bundled API. Each implements the trait that
//! `build.rs` generated from its document; [`Apis`] is the set the router dispatches to.

pub mod elan;
pub mod fieldnation;
pub mod ingedata;
pub mod patchworks;

use crate::error::{ApiError, ErrorStyle};
use crate::generated::Implementations;
use crate::request::{Reply, Request};

/// The implementations, in the generated order (the documents' file names, sorted).
pub type Apis = Implementations<
    elan::Elan,
    fieldnation::FieldNation,
    ingedata::Ingedata,
    patchworks::Patchworks,
>;

pub fn new() -> Apis {
    Implementations {
        elan: elan::Elan,
        fieldnation: fieldnation::FieldNation::default(),
        ingedata: ingedata::Ingedata,
        patchworks: patchworks::Patchworks,
    }
}

/// The error shape each API answers in (see [`ErrorStyle`]). A document added to `openapi/`
/// without an entry here answers in the plain `{message}` shape.
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

/// The answer of an operation that is routed and validated but not implemented yet.
pub(crate) fn not_yet<T>(request: Request, _body: T) -> Result<Reply, ApiError> {
    Err(ApiError::NotImplemented(request.operation.operation_id))
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
