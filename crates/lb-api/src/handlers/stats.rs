//! `…/stats` of load balancers and listeners: the counters amphorae reported, summed.

use super::*;

/// `{"stats": …}` summed over `listeners`.
pub async fn respond(state: &AppState, listeners: &[String]) -> ApiResult<Response> {
    let s = state.core.store.listener_stats(listeners).await?;
    Ok(axum::Json(
        json!({"stats": {"bytes_in": s.bytes_in, "bytes_out": s.bytes_out,
        "active_connections": s.active_connections, "total_connections": s.total_connections,
        "request_errors": s.request_errors}}),
    )
    .into_response())
}
