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
