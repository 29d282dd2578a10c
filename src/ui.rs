//! The web page at `/__ui`: embedded in the binary, no build step and no CDN. It lists what the
//! recorder received (live, over `/__admin/received/stream`) and hookmock's own deliveries.

use axum::response::Html;

pub async fn page() -> Html<&'static str> {
    Html(include_str!("ui.html"))
}
