//! Serving a service's routes on its listener until shutdown, and the request id every
//! OpenStack answer carries.

use axum::http::HeaderValue;
use axum::response::Response;
use tokio::net::TcpListener;

pub async fn serve(
    listener: TcpListener,
    routes: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A new `req-<uuid>`, as oslo's request-id middleware makes them.
pub fn request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

/// `response` with `x-openstack-request-id: rid`.
pub fn with_request_id(mut response: Response, rid: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(rid) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}
