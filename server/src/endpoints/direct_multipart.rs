//! Large files straight to the storage bucket, in parts. Prepare starts the bucket's multipart
//! upload and hands out presigned part URLs (see `prepare::direct`); then, under the same
//! signed query as the file's upload URL:
//!
//! - `POST {base}/upload/{key}/parts?…`: more part URLs, and the parts the bucket already has;
//! - `POST {base}/upload/{key}/abort?…`: cancels — the bucket drops the parts, the upload fails;
//! - `POST {base}/upload/{key}/complete?…` (shared with the single `PUT`, see `upload.rs`):
//!   checks every part against the plan (`ListParts`), joins them, then reads the object back
//!   once — SHA-256 of every byte, CRC32, the sniffed type — before the hook runs.
//!
//! The bucket holds at most one multipart upload per key and finds it by the key, so nothing
//! about it is recorded: the record stays `pending` until completion, cancel or expiry (when
//! the sweep aborts it).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tracing::Instrument;

use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::ingest::ingest;
use crate::pipeline::checks::check_sniffed;
use crate::pipeline::complete::fail;
use crate::pipeline::store::{expectation, record_stored, stored_info};
use crate::pipeline::views::upload_result;
use crate::protocol::{
    MultipartPlan, PartUrl, PartsRequest, PartsResponse, UploadStatus, UploadedPart,
};
use crate::state::{now_ms, origin, Shared};
use crate::storage::{DirectStorage, Discard, StoredPart};

use super::upload::{answer, claim, verified, UploadQuery};

/// Most part URLs one answer signs.
pub(crate) const PART_BATCH: u32 = 100;

/// Whether a direct upload of `size` bytes goes in parts.
pub(crate) fn in_parts(shared: &Shared, direct: &dyn DirectStorage, size: u64) -> bool {
    size > shared.direct_multipart_threshold && direct.multipart_part_size(size).is_some()
}

/// A file with a plan sent through the server after all (by a client that knows no plans):
/// the bucket's multipart upload of the plan goes now, before the server's own write to the
/// key starts.
pub(crate) async fn drop_plan(shared: &Shared, rec: &UploadRecord) {
    if let Ok((direct, _)) = direct_of(shared, rec) {
        if let Err(e) = direct.abort_multipart(&rec.key).await {
            tracing::warn!(error = %e, "could not abort an unused multipart upload (the sweep will)");
        }
    }
}

/// The plan of a file of `size` bytes in parts of `part_size`: how many, and each one's size.
fn layout(size: u64, part_size: u64) -> (u32, impl Fn(u32) -> u64) {
    let count = size.div_ceil(part_size).max(1) as u32;
    let last = size - part_size * (u64::from(count) - 1);
    (
        count,
        move |n: u32| if n == count { last } else { part_size },
    )
}

/// Starts the bucket's multipart upload of a prepared file and signs its first part URLs.
pub(crate) async fn plan(
    direct: &dyn DirectStorage,
    rec_key: &str,
    content_type: &str,
    size: u64,
    own_url: &str,
    query: &str,
    ttl: std::time::Duration,
) -> Result<MultipartPlan, UploadError> {
    let part_size = direct
        .multipart_part_size(size)
        .ok_or_else(|| UploadError::internal(no_parts()))?;
    direct
        .create_multipart(rec_key, content_type)
        .await
        .map_err(UploadError::internal)?;
    let (part_count, _) = layout(size, part_size);
    let parts = sign(direct, rec_key, size, part_size, 1, PART_BATCH, ttl)
        .await?
        .ok_or_else(|| UploadError::internal(no_parts()))?;
    Ok(MultipartPlan {
        part_size,
        part_count,
        parts,
        parts_url: format!("{own_url}/parts?{query}"),
        abort_url: format!("{own_url}/abort?{query}"),
        complete_url: format!("{own_url}/complete?{query}"),
    })
}

fn no_parts() -> std::io::Error {
    std::io::Error::other("the multipart upload is not in the bucket")
}

/// Presigned URLs of parts `first..first + count` (within the file); `None` when the bucket
/// has no multipart upload of the key.
async fn sign(
    direct: &dyn DirectStorage,
    key: &str,
    size: u64,
    part_size: u64,
    first: u32,
    count: u32,
    ttl: std::time::Duration,
) -> Result<Option<Vec<PartUrl>>, UploadError> {
    let (part_count, size_of) = layout(size, part_size);
    let last = first
        .saturating_add(count.min(PART_BATCH))
        .min(part_count + 1);
    let wanted: Vec<(u32, u64)> = (first..last).map(|n| (n, size_of(n))).collect();
    let Some(signed) = direct.presign_parts(key, &wanted, ttl).await? else {
        return Ok(None);
    };
    Ok(Some(
        wanted
            .iter()
            .zip(signed)
            .map(|(&(n, _), put)| PartUrl {
                part_number: n,
                url: put.url,
            })
            .collect(),
    ))
}

/// The storage's direct capability, when this upload may use it at all.
fn direct_of<'a>(
    shared: &'a Shared,
    rec: &UploadRecord,
) -> Result<(&'a dyn DirectStorage, u64), UploadError> {
    let not_parts = || {
        UploadError::new(
            ErrorCode::Conflict,
            "this upload was not prepared in parts for the storage bucket",
        )
    };
    let direct = shared
        .storage
        .as_direct()
        .filter(|_| shared.direct_uploads && rec.declared_sha256.is_some())
        .ok_or_else(not_parts)?;
    if !in_parts(shared, direct, rec.size) {
        return Err(not_parts());
    }
    let part_size = direct.multipart_part_size(rec.size).ok_or_else(not_parts)?;
    Ok((direct, part_size))
}

fn span(name: &'static str, key: &str) -> tracing::Span {
    tracing::info_span!(
        "direct_multipart",
        op = name,
        key = %crate::sanitize::log_tag(key),
        slug = tracing::field::Empty,
        bytes = tracing::field::Empty,
        outcome = tracing::field::Empty
    )
}

/// `POST {base}/upload/{key}/parts?…`: part URLs from `first`, and the parts already there.
pub(crate) async fn parts(
    shared: web::Data<Shared>,
    key: web::Path<String>,
    query: web::Query<UploadQuery>,
    body: web::Json<PartsRequest>,
) -> Result<HttpResponse, UploadError> {
    let key = key.into_inner();
    let s = span("parts", &key);
    parts_inner(&shared, key, query.into_inner(), body.into_inner())
        .instrument(s)
        .await
}

async fn parts_inner(
    shared: &Shared,
    key: String,
    q: UploadQuery,
    req: PartsRequest,
) -> Result<HttpResponse, UploadError> {
    let (rec, _route) = verified(shared, &key, &q).await?;
    let (direct, part_size) = direct_of(shared, &rec)?;
    still_pending(&rec)?;
    let (part_count, _) = layout(rec.size, part_size);
    if req.first == 0 || req.first > part_count || req.count == 0 || req.count > PART_BATCH {
        return Err(UploadError::new(
            ErrorCode::BadRequest,
            format!(
                "ask for 1 to {PART_BATCH} parts from a part number between 1 and {part_count}"
            ),
        )
        .with_data(json!({ "partCount": part_count, "maxCount": PART_BATCH })));
    }
    let expires_at = q.expires.unwrap_or_default().saturating_mul(1000);
    let ttl = std::time::Duration::from_millis((expires_at - now_ms()).max(1000) as u64);
    let listed = direct.list_parts(&key).await?.ok_or_else(gone)?;
    let parts = sign(direct, &key, rec.size, part_size, req.first, req.count, ttl)
        .await?
        .ok_or_else(gone)?;
    let answer = PartsResponse {
        part_size,
        part_count,
        parts,
        uploaded: listed
            .iter()
            .map(|p| UploadedPart {
                part_number: p.number,
                size: p.size,
            })
            .collect(),
        expires_at,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(answer))
}

fn still_pending(rec: &UploadRecord) -> Result<(), UploadError> {
    match rec.status {
        UploadStatus::Pending => Ok(()),
        UploadStatus::Expired => Err(UploadError::new(
            ErrorCode::Expired,
            "the upload URL has expired",
        )),
        _ => Err(UploadError::new(
            ErrorCode::Conflict,
            "this upload was already completed or cancelled",
        )),
    }
}

fn gone() -> UploadError {
    UploadError::new(
        ErrorCode::Conflict,
        "the bucket has no multipart upload for this file any more (cancelled or expired)",
    )
}

/// `POST {base}/upload/{key}/abort?…`: the bucket drops the parts; the upload fails with
/// `CANCELLED` (and reaches `on_upload_error`).
pub(crate) async fn abort(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, UploadError> {
    let key = key.into_inner();
    let s = span("abort", &key);
    abort_inner(shared.into_inner(), req, key, query.into_inner())
        .instrument(s)
        .await
}

async fn abort_inner(
    shared: Arc<Shared>,
    req: HttpRequest,
    key: String,
    q: UploadQuery,
) -> Result<HttpResponse, UploadError> {
    let (rec, route) = verified(&shared, &key, &q).await?;
    let (direct, _) = direct_of(&shared, &rec)?;
    claim(&shared, &key).await?;
    // The key is spent: the upload fails as cancelled whatever the bucket answers (parts an
    // abort could not drop go with the sweep's `cleanup_staged`).
    if let Err(e) = direct.abort_multipart(&key).await {
        tracing::warn!(error = %e, "could not abort a cancelled multipart upload");
    }
    let cancelled = UploadError::new(ErrorCode::Cancelled, "the uploader cancelled the upload");
    fail(
        &shared,
        &route,
        &key,
        Some(rec.metadata.clone()),
        &cancelled,
    )
    .await;
    tracing::Span::current().record("outcome", "cancelled");
    let now = shared
        .records
        .get(&key)
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    Ok(HttpResponse::Ok().json(upload_result(&shared, &origin(&shared, &req), &now)))
}

/// The completion of an upload in parts (from `upload::complete`, once no single object
/// arrived): every part there (or 409, the key not spent: send the rest and call again), each
/// of its planned size, joined, then read back once.
pub(crate) async fn complete(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    direct: &dyn DirectStorage,
    rec: UploadRecord,
    route: Arc<Route>,
) -> Result<HttpResponse, UploadError> {
    let key = rec.key.clone();
    let (_, part_size) = direct_of(shared, &rec)?;
    let (part_count, size_of) = layout(rec.size, part_size);
    let listed = direct.list_parts(&key).await?;
    if rec.status == UploadStatus::Pending {
        let Some(parts) = &listed else {
            return Err(gone());
        };
        let have: std::collections::HashSet<u32> = parts.iter().map(|p| p.number).collect();
        let missing: Vec<u32> = (1..=part_count).filter(|n| !have.contains(n)).collect();
        if !missing.is_empty() {
            return Err(UploadError::new(
                ErrorCode::Conflict,
                format!(
                    "{} of {part_count} parts have not arrived in the storage bucket: send them first",
                    missing.len()
                ),
            )
            .with_data(json!({
                "missing": missing.iter().take(PART_BATCH as usize).collect::<Vec<_>>(),
                "missingCount": missing.len(),
            })));
        }
    }
    claim(shared, &key).await?;
    // From here on the key is spent: every failure is recorded, removes the parts and the
    // object, and reaches `on_upload_error`. The read-back may take a while: the record is
    // kept alive meanwhile, as a PUT's is.
    let _alive = crate::pipeline::heartbeat(shared, &key);
    let origin = origin(shared, req);
    let stored = async {
        let outcome = async {
            let parts = listed
                .ok_or_else(|| UploadError::new(ErrorCode::SizeMismatch, "the parts are gone"))?;
            check_parts(&parts, part_count, &size_of)?;
            direct.complete_multipart(&key, &parts).await?;
            read_back(&route, &rec, direct).await
        };
        match outcome.await {
            Ok(info) => record_stored(shared, &rec, info).await,
            Err(e) => {
                if let Err(gone) = direct.abort_multipart(&key).await {
                    tracing::warn!(error = %gone, "could not abort a refused multipart upload");
                }
                if let Err(gone) = shared.storage.delete(&key).await {
                    tracing::warn!(error = %gone, "could not remove a refused object from the bucket");
                }
                Err(e)
            }
        }
    };
    answer(shared, &route, &rec, &origin, stored).await
}

/// Every planned part, no other, each of its planned size.
fn check_parts(
    parts: &[StoredPart],
    part_count: u32,
    size_of: &impl Fn(u32) -> u64,
) -> Result<(), UploadError> {
    if parts.len() != part_count as usize {
        return Err(UploadError::new(
            ErrorCode::SizeMismatch,
            format!("{} parts arrived; the plan has {part_count}", parts.len()),
        ));
    }
    for (i, part) in parts.iter().enumerate() {
        let want = size_of(i as u32 + 1);
        if part.number != i as u32 + 1 || part.size != want {
            return Err(UploadError::new(
                ErrorCode::SizeMismatch,
                format!(
                    "part {} holds {} bytes; the plan says {want}",
                    part.number, part.size
                ),
            )
            .with_data(json!({ "part": part.number })));
        }
    }
    Ok(())
}

/// Reads the joined object back, once, through the ingest pass over a sink that keeps
/// nothing: its size, the SHA-256 of every byte against the declared one (the bucket verified
/// none: S3 keeps a multipart object's checksum per part), its CRC32, and the real type
/// sniffed from the first bytes under the route's rules — checked as soon as those arrived,
/// so a wrong type is refused without reading the rest.
async fn read_back(
    route: &Route,
    rec: &UploadRecord,
    direct: &dyn DirectStorage,
) -> Result<StoredInfo, UploadError> {
    let exp = expectation(route, rec, rec.size)?;
    let bytes = direct
        .read_all(&rec.key)
        .await?
        .ok_or_else(|| UploadError::new(ErrorCode::SizeMismatch, "the object is gone"))?;
    let got = ingest(bytes, &exp, Box::new(Discard)).await?;
    check_sniffed(route, &got.content_type)?;
    tracing::Span::current().record("bytes", rec.size);
    Ok(stored_info(&got))
}
