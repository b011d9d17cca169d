//! The search page: one self-contained HTML file (inline CSS and JavaScript, no CDN, no build
//! step) that talks to the JSON API of the same server.
use axum::http::header;
use axum::response::{Html, IntoResponse};

/// The page's source, compiled into the binary.
pub const PAGE: &str = include_str!("page.html");

pub async fn index() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE))
}
