//! `PUT {base}/upload/{key}?expires&size&type&sha256&sig`: the bytes of one prepared file.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tracing::Instrument;

use crate::config::Uplift;
use crate::db::StoredInfo;
use crate::error::{ErrorCode, UploadError};
use crate::ingest::{ingest, Expectation};
use crate::protocol::{UploadResult, UploadStatus};
use crate::route::normalize_mime;
use crate::signing::UploadGrant;

use super::completion::{complete, fail, FailGuard};
use super::{now_ms, origin, upload_result};

#[derive(Debug, Deserialize)]
pub(crate) struct UploadQuery {
    expires: Option<i64>,
    size: Option<u64>,
    #[serde(rename = "type")]
    content_type: Option<String>,
    sha256: Option<String>,
    sig: Option<String>,
}

pub(crate) async fn put(
    up: web::Data<Uplift>,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let key = key.into_inner();
    let span = tracing::info_span!("upload", key = %key, slug = tracing::field::Empty, bytes = tracing::field::Empty, outcome = tracing::field::Empty);
    put_inner(up, req, key, query.into_inner(), body)
        .instrument(span)
        .await
}

async fn put_inner(
    up: web::Data<Uplift>,
    req: HttpRequest,
    key: String,
    q: UploadQuery,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let shared = up.shared.clone();
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
        key: &key,
        expires,
        size,
        content_type,
        sha256: q.sha256.as_deref(),
    };
    shared.signer.verify_upload(&grant, sig, now_ms() / 1000)?;

    let rec = shared
        .records
        .get(&key)
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
    let route = shared.router.get(&rec.slug).cloned().ok_or_else(|| {
        UploadError::internal_msg(format!(
            "upload {key} belongs to unknown route {}",
            rec.slug
        ))
    })?;
    tracing::Span::current().record("slug", rec.slug.as_str());

    if !shared.records.claim(&key, now_ms()).await? {
        let fresh = shared.records.get(&key).await?;
        return Err(match fresh.map(|r| r.status) {
            Some(UploadStatus::Pending | UploadStatus::Expired) => {
                UploadError::new(ErrorCode::Expired, "the upload URL has expired")
            }
            _ => UploadError::new(ErrorCode::Conflict, "this upload URL has already been used"),
        });
    }
    // From here on the key is spent: every failure is recorded and reaches `on_upload_error`.
    let mut guard = FailGuard::new(
        shared.clone(),
        route.clone(),
        key.clone(),
        rec.metadata.clone(),
    );
    let outcome = receive(&up, &req, &rec, &route, body).await;
    guard.disarm();
    let (file_rec, stored) = match outcome {
        Ok(v) => v,
        Err(err) => {
            tracing::Span::current().record("outcome", err.code().as_str());
            fail(&shared, &route, &key, Some(rec.metadata.clone()), &err).await;
            return Err(err);
        }
    };
    tracing::Span::current().record("bytes", stored.size);

    let origin = origin(&shared, &req);
    let file = super::uploaded_file(&shared, &origin, &file_rec).expect("stored record has a file");
    if route.config().await_server_data {
        let data = complete(&shared, &route, rec.metadata.clone(), file.clone()).await?;
        tracing::Span::current().record("outcome", "complete");
        Ok(HttpResponse::Ok().json(UploadResult {
            key,
            status: UploadStatus::Complete,
            file: Some(file),
            server_data: Some(data),
            error: None,
        }))
    } else {
        let meta = rec.metadata.clone();
        let hook_file = file.clone();
        let (bg_shared, bg_route) = (shared.clone(), route.clone());
        actix_web::rt::spawn(
            async move {
                let _ = complete(&bg_shared, &bg_route, meta, hook_file).await;
            }
            .instrument(tracing::Span::current()),
        );
        tracing::Span::current().record("outcome", "stored");
        Ok(HttpResponse::Ok().json(upload_result(&shared, &origin, &file_rec)))
    }
}

/// Streams the body into storage and commits it. Returns the updated record.
async fn receive(
    up: &Uplift,
    req: &HttpRequest,
    rec: &crate::db::UploadRecord,
    route: &Arc<crate::definition::Route>,
    body: web::Payload,
) -> Result<(crate::db::UploadRecord, StoredInfo), UploadError> {
    let shared = &up.shared;
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let sent = ct.to_str().ok().and_then(normalize_mime);
        if sent.as_deref() != Some(rec.content_type.as_str()) {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                format!("Content-Type must be {}, as prepared", rec.content_type),
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
    let rule = route
        .config()
        .rule_for(&rec.content_type)
        .map(|(_, r)| r.file_type.clone())
        .ok_or_else(|| UploadError::internal_msg("prepared type no longer matches the route"))?;
    let exp = Expectation {
        exact_size: Some(rec.size),
        max_size: rec.size,
        min_size: 0,
        declared_type: rec.content_type.clone(),
        rule_type: Some(rule),
        sha256: rec.declared_sha256.clone(),
        crc32: None,
    };
    let staged = shared.storage.stage().await?;
    let got = ingest(body, &exp, staged).await?;
    let stored = StoredInfo {
        size: got.size,
        sha256: got.sha256,
        crc32: got.crc32,
        content_type: got.content_type,
    };
    got.staged.commit(&rec.key).await.map_err(commit_error)?;
    let rec = record_stored(shared, &rec.key, &stored).await?;
    Ok((rec, stored))
}

/// A failed commit: the key taken (never replaced) is a conflict; anything else is internal.
pub(crate) fn commit_error(e: std::io::Error) -> UploadError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        UploadError::new(
            ErrorCode::Conflict,
            "an object with this key already exists",
        )
    } else {
        UploadError::internal(e)
    }
}

/// Records committed bytes; when the record moved on meanwhile (cancelled, swept as stale),
/// takes the bytes back. The record as stored.
pub(crate) async fn record_stored(
    shared: &crate::config::Shared,
    key: &str,
    stored: &StoredInfo,
) -> Result<crate::db::UploadRecord, UploadError> {
    if !shared.records.mark_stored(key, stored, now_ms()).await? {
        let _ = shared.storage.delete(key).await;
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "the upload was cancelled while storing it",
        ));
    }
    shared
        .records
        .get(key)
        .await?
        .ok_or_else(|| UploadError::internal_msg("record vanished after storing"))
}
