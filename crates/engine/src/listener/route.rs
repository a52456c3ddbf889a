//! Where a request goes: the listener's L7 policies decide on its head, else the default
//! pool. Shared by the HTTP/1 and HTTP/2 front ends.

use super::Snapshot;
use crate::h1;
use crate::l7::{self, RequestView, Verdict};
use crate::pool::Pool;
use crate::termination::TlsFacts;
use std::sync::Arc;

/// Where a request goes.
pub enum Route {
    Pool(Arc<Pool>),
    /// An error page (403 from a REJECT policy, 503 without a pool).
    Answer(u16),
    /// A redirect policy's answer.
    Redirect(Vec<u8>),
}

/// The listener's L7 policies decide on the request head; without them, or when none
/// matches, the default pool serves.
pub fn route(snapshot: &Snapshot, head: &[u8], tls: Option<&TlsFacts>) -> Route {
    let default = || match &snapshot.pool {
        Some(pool) => Route::Pool(pool.clone()),
        None => Route::Answer(503),
    };
    let Some(policies) = &snapshot.l7 else {
        return default();
    };
    let mut headers = [httparse::EMPTY_HEADER; h1::MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    // The head was parsed once already: this cannot fail, but a failure is a bad request.
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return Route::Answer(400);
    }
    let view = RequestView {
        target: parsed.path.unwrap_or("/"),
        headers: parsed.headers,
        tls,
    };
    match policies.decide(&view) {
        Verdict::Reject => Route::Answer(403),
        Verdict::Redirect { code, location } => {
            Route::Redirect(l7::redirect_answer(code, &location))
        }
        Verdict::Pool(pool) => Route::Pool(pool.clone()),
        Verdict::Default => default(),
    }
}
