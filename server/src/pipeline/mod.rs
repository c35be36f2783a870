//! The one upload pipeline the front ends (PUT, multipart, tus, objects) share, above the
//! domain (routes, records, storage, ingest) and below the HTTP endpoints:
//!
//! 0. **body** — every request body ends when it goes idle ([`body::Body`]);
//! 1. **route** — the route a request or a record names ([`route`], [`route_of_record`]);
//! 2. **checks** — the files against the route's rules, before the middleware runs;
//! 3. **store** — what the bytes must be ([`store::expectation`]), one streaming pass into a
//!    staged write, the commit (one mapping of its errors), the record of what was stored;
//! 4. **complete** — the failure guard, the completion hook awaited or in the background,
//!    `on_upload_error` for every failure;
//! 5. **views** — how a record looks to clients; **sweep** — what abandoned uploads leave.
//!
//! A fix to any of these steps lands once, for every front end.

use std::sync::Arc;

use crate::db::UploadRecord;
use crate::definition::Route;
use crate::error::UploadError;
use crate::state::Shared;

pub(crate) mod body;
pub(crate) mod checks;
pub(crate) mod complete;
pub(crate) mod store;
pub(crate) mod sweep;
pub(crate) mod views;

pub use sweep::SweepReport;

/// The route a request names by its slug; 404 when there is none.
pub(crate) fn route(shared: &Shared, slug: &str) -> Result<Arc<Route>, UploadError> {
    shared
        .router
        .get(slug)
        .cloned()
        .ok_or_else(|| UploadError::not_found("no file route of that name"))
}

/// The route an upload record belongs to; a record of a route the app no longer has is an
/// internal error (the app changed under its records).
pub(crate) fn route_of_record(
    shared: &Shared,
    rec: &UploadRecord,
) -> Result<Arc<Route>, UploadError> {
    shared.router.get(&rec.slug).cloned().ok_or_else(|| {
        UploadError::internal_msg(format!(
            "an upload belongs to the unknown route {}",
            rec.slug
        ))
    })
}

/// Touches an `uploading` record every 30 s (or every quarter of `Limits::stale_upload_after`
/// when that is shorter) until the returned guard is dropped, so the sweep never takes a long
/// but live upload for one whose server died.
pub(crate) fn heartbeat(shared: &Arc<Shared>, key: &str) -> Heartbeat {
    let (shared, key) = (shared.clone(), key.to_string());
    let every = (shared.limits.stale_upload_after / 4)
        .min(std::time::Duration::from_secs(30))
        .max(std::time::Duration::from_millis(100));
    Heartbeat(actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match shared
                .records
                .touch_uploading(&key, crate::state::now_ms())
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(key = %crate::sanitize::log_tag(&key), "could not touch a live upload: {e}")
                }
            }
        }
    }))
}

/// Stops its heartbeat when dropped.
pub(crate) struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
