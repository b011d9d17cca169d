//! The server's errors: start-up failures ([`ServeError`]) and request errors ([`ApiError`],
//! answered as `{"error": "..."}` with a 4xx or 5xx status).
use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The finished run (model, index, text space) could not be opened.
    #[error("loading the run")]
    Load(#[from] webly_pipeline::PipelineError),
    /// The address could not be bound (in use, not allowed).
    #[error("listening on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The server config file (`--serve-config`) could not be read or parsed.
    #[error("server config {}: {message}", path.display())]
    Config {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong, with its line.
        message: String,
    },
    /// The server stopped on an I/O error.
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

/// A request that cannot be answered: its status and a reason for the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The query's cleaned words, when a text query had no known word.
    pub tokens: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<&'a [String]>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            tokens: None,
        }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: &self.message,
            status: self.status.as_u16(),
            tokens: self.tokens.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}
