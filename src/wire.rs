//! What travels on the wire and is shown again later: a header as sent or received, and a
//! credential as listings show it. Delivery, the journals and the recorder all keep these; they
//! live here so that none of those modules imports another for them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One header as sent or received (order and repeats kept).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// `abcd…(12)`: enough to tell tenants apart in a listing, not enough to use the credential.
pub fn mask(credential: &str) -> String {
    let shown: String = credential.chars().take(4).collect();
    format!("{shown}…({})", credential.chars().count())
}

/// A builder of HTTP clients with TLS ready: every client hookmock makes (deliveries, replays,
/// the proxy, the command line) and its tests make starts here. TLS uses rustls on *ring*,
/// installed once as the process's provider: reqwest's default, aws-lc, is a C library built
/// with cmake that took a minute of every cold build (benches/RESULTS.md, "Build").
pub fn client_builder() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Fails only when another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// A client with the defaults (see [`client_builder`]).
pub fn client() -> reqwest::Client {
    client_builder().build().unwrap_or_default()
}
