//! `PUT {base}/upload/{key}?expires&size&type&sha256&sig`: the bytes of one prepared file;
//! `POST {base}/upload/{key}/complete?…` (same query): completes a file whose bytes went
//! straight to the storage bucket.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tracing::Instrument;

use std::sync::Arc;

use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::ingest::{check_type, SNIFF_WINDOW};
use crate::pipeline::body::Body;
use crate::pipeline::checks::check_sniffed;
use crate::pipeline::complete::finish;
use crate::pipeline::store::{expectation, record_stored, store};
use crate::pipeline::views::{status_url, upload_result};
use crate::pipeline::{self};
use crate::protocol::{UploadResult, UploadStatus};
use crate::route::normalize_mime;
use crate::signing::UploadGrant;
use crate::state::{now_ms, origin, Shared};
use crate::storage::ObjectStat;

#[derive(Debug, Deserialize)]
pub(crate) struct UploadQuery {
    pub(crate) expires: Option<i64>,
    size: Option<u64>,
    #[serde(rename = "type")]
    content_type: Option<String>,
    sha256: Option<String>,
    sig: Option<String>,
}

pub(crate) async fn put(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let key = key.into_inner();
    let span = tracing::info_span!(
        "upload",
        key = %crate::sanitize::log_tag(&key),
        slug = tracing::field::Empty,
        bytes = tracing::field::Empty,
        outcome = tracing::field::Empty
    );
    put_inner(shared.into_inner(), req, key, query.into_inner(), body)
        .instrument(span)
        .await
}

/// The prepared upload a signed upload URL names, and its route.
pub(crate) async fn verified(
    shared: &Shared,
    key: &str,
    q: &UploadQuery,
) -> Result<(UploadRecord, Arc<Route>), UploadError> {
    let unsigned = || UploadError::new(ErrorCode::SignatureInvalid, "the upload URL is not signed");
    let (Some(expires), Some(size), Some(content_type), Some(sig)) = (
        q.expires,
        q.size,
        q.content_type.as_deref(),
        q.sig.as_deref(),
    ) else {
        return Err(unsigned());
    };
    let grant = UploadGrant {
        key,
        expires,
        size,
        content_type,
        sha256: q.sha256.as_deref(),
    };
    shared.signer.verify_upload(&grant, sig, now_ms() / 1000)?;

    let rec = shared
        .records
        .get(key)
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    if rec.size != size
        || rec.content_type != content_type
        || rec.declared_sha256.as_deref() != q.sha256.as_deref()
    {
        return Err(UploadError::new(
            ErrorCode::SignatureInvalid,
            "the URL does not match the prepared upload",
        ));
    }
    let route = pipeline::route_of_record(shared, &rec)?;
    tracing::Span::current().record("slug", rec.slug.as_str());
    Ok((rec, route))
}

/// Spends the key: `pending` → `uploading` for this instance, or why not.
pub(crate) async fn claim(shared: &Shared, key: &str) -> Result<(), UploadError> {
    if shared
        .records
        .claim_as(key, Some(&shared.instance_id), now_ms())
        .await?
    {
        return Ok(());
    }
    let fresh = shared.records.get(key).await?;
    Err(match fresh.map(|r| r.status) {
        Some(UploadStatus::Pending | UploadStatus::Expired) => {
            UploadError::new(ErrorCode::Expired, "the upload URL has expired")
        }
        _ => UploadError::new(ErrorCode::Conflict, "this upload URL has already been used"),
    })
}

async fn put_inner(
    shared: Arc<Shared>,
    req: HttpRequest,
    key: String,
    q: UploadQuery,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let (rec, route) = verified(&shared, &key, &q).await?;
    claim(&shared, &key).await?;
    // From here on the key is spent: every failure is recorded and reaches `on_upload_error`.
    super::direct_multipart::drop_plan(&shared, &rec).await;
    let origin = origin(&shared, &req);
    let (body, idle) = Body::new(body, shared.limits.body_idle_timeout);
    // While the body streams, the record says the upload is alive (see `Limits::stale_upload_after`).
    let _alive = pipeline::heartbeat(&shared, &key);
    let stored = async {
        check_headers(&req, &rec)?;
        let exp = expectation(&route, &rec, rec.size)?;
        store(&shared, &route, &rec, &exp, body)
            .await
            .map_err(|e| idle.explain(e))
    };
    answer(&shared, &route, &rec, &origin, stored).await
}

/// Runs the pipeline's tail over `stored` and answers as the upload URL does.
pub(crate) async fn answer<F>(
    shared: &Arc<Shared>,
    route: &Arc<Route>,
    rec: &UploadRecord,
    origin: &str,
    stored: F,
) -> Result<HttpResponse, UploadError>
where
    F: std::future::Future<Output = Result<UploadRecord, UploadError>>,
{
    let key = rec.key.clone();
    let done = match finish(shared, route, rec, origin, stored).await {
        Ok(done) => done,
        Err(err) => {
            tracing::Span::current().record("outcome", err.code().as_str());
            return Err(err);
        }
    };
    let span = tracing::Span::current();
    span.record("bytes", done.file.size);
    Ok(HttpResponse::Ok().json(match done.server_data {
        Some(data) => {
            span.record("outcome", "complete");
            UploadResult {
                status: UploadStatus::Complete,
                file: Some(done.file),
                server_data: Some(data),
                error: None,
                status_url: status_url(shared, origin, &key),
                key,
            }
        }
        None => {
            span.record("outcome", "stored");
            upload_result(shared, origin, &done.record)
        }
    }))
}

pub(crate) async fn complete(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, UploadError> {
    let key = key.into_inner();
    let span = tracing::info_span!(
        "complete",
        key = %crate::sanitize::log_tag(&key),
        slug = tracing::field::Empty,
        bytes = tracing::field::Empty,
        outcome = tracing::field::Empty
    );
    // In a task of its own, awaited, as a tus join is: a request future dropped while the
    // object is checked or read back (an HTTP/2 stream the client resets) does not cancel a
    // completion whose key is already spent.
    let work = complete_inner(shared.into_inner(), req, key, query.into_inner()).instrument(span);
    actix_web::rt::spawn(work)
        .await
        .map_err(|e| UploadError::internal_msg(format!("a completion stopped: {e}")))?
}

async fn complete_inner(
    shared: Arc<Shared>,
    req: HttpRequest,
    key: String,
    q: UploadQuery,
) -> Result<HttpResponse, UploadError> {
    let (rec, route) = verified(&shared, &key, &q).await?;
    let not_direct = || {
        UploadError::new(
            ErrorCode::Conflict,
            "this upload was not prepared for the storage bucket: PUT its bytes to its upload URL",
        )
    };
    let direct = shared
        .storage
        .as_direct()
        .filter(|_| shared.direct_uploads)
        .ok_or_else(not_direct)?;
    let sha256 = rec.declared_sha256.clone().ok_or_else(not_direct)?;
    // One look at what arrived, before the key is spent: a client that calls too early may PUT
    // and call again.
    let arrived = direct.stat(&key).await?;
    if arrived.is_none() && super::direct_multipart::in_parts(&shared, direct, rec.size) {
        return super::direct_multipart::complete(&shared, &req, direct, rec, route).await;
    }
    if rec.status == UploadStatus::Pending && arrived.is_none() {
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "the bytes have not arrived in the storage bucket: PUT them to the upload URL first",
        ));
    }
    claim(&shared, &key).await?;
    // From here on the key is spent: every failure is recorded, removes the object and reaches
    // `on_upload_error`.
    let origin = origin(&shared, &req);
    let stored = async {
        let outcome = match arrived {
            Some(stat) => check_direct(&shared, &route, &rec, stat, &sha256).await,
            None => Err(UploadError::new(
                ErrorCode::SizeMismatch,
                "the object is gone",
            )),
        };
        match outcome {
            Ok(info) => record_stored(&shared, &rec, info).await,
            Err(e) => {
                if let Err(gone) = shared.storage.delete(&key).await {
                    tracing::warn!(error = %gone, "could not remove a refused object from the bucket");
                }
                Err(e)
            }
        }
    };
    answer(&shared, &route, &rec, &origin, stored).await
}

/// What arrived in the bucket, against what was prepared: the size, the SHA-256 the bucket
/// verified, and the real type sniffed from the first bytes (a ranged `GET`) under the
/// route's rules.
async fn check_direct(
    shared: &Shared,
    route: &Route,
    rec: &UploadRecord,
    stat: ObjectStat,
    sha256: &str,
) -> Result<StoredInfo, UploadError> {
    if stat.size != rec.size {
        return Err(UploadError::new(
            ErrorCode::SizeMismatch,
            format!("{} bytes arrived; {} were prepared", stat.size, rec.size),
        ));
    }
    if stat.sha256.as_deref().is_some_and(|s| s != sha256) {
        return Err(UploadError::new(
            ErrorCode::ChecksumMismatch,
            "the bytes do not match the declared sha256",
        ));
    }
    let exp = expectation(route, rec, rec.size)?;
    let head = shared
        .storage
        .read(&rec.key, SNIFF_WINDOW)
        .await?
        .unwrap_or_default();
    let content_type = check_type(&head, &exp)?;
    check_sniffed(route, &content_type)?;
    tracing::Span::current().record("bytes", rec.size);
    Ok(StoredInfo {
        size: rec.size,
        sha256: sha256.to_string(),
        crc32: None,
        content_type,
    })
}

/// The request's own headers against the prepared upload, before any byte is read.
fn check_headers(req: &HttpRequest, rec: &crate::db::UploadRecord) -> Result<(), UploadError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let sent = ct.to_str().ok().and_then(normalize_mime);
        if sent.as_deref() != Some(rec.content_type.as_str()) {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                "Content-Type must be the type the file was prepared with",
            ));
        }
    }
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    {
        if len > rec.size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "Content-Length {len} exceeds the prepared size of {} bytes",
                    rec.size
                ),
            )
            .with_data(serde_json::json!({ "limit": rec.size })));
        }
    }
    Ok(())
}
