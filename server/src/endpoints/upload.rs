//! `PUT {base}/upload/{key}?expires&size&type&sha256&sig`: the bytes of one prepared file.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tracing::Instrument;

use crate::error::{ErrorCode, UploadError};
use crate::pipeline::body::Body;
use crate::pipeline::complete::finish;
use crate::pipeline::store::{expectation, store};
use crate::pipeline::views::{status_url, upload_result};
use crate::pipeline::{self};
use crate::protocol::{UploadResult, UploadStatus};
use crate::route::normalize_mime;
use crate::signing::UploadGrant;
use crate::state::{now_ms, origin, Shared};

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

async fn put_inner(
    shared: std::sync::Arc<Shared>,
    req: HttpRequest,
    key: String,
    q: UploadQuery,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
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
    let route = pipeline::route_of_record(&shared, &rec)?;
    tracing::Span::current().record("slug", rec.slug.as_str());

    if !shared
        .records
        .claim_as(&key, Some(&shared.instance_id), now_ms())
        .await?
    {
        let fresh = shared.records.get(&key).await?;
        return Err(match fresh.map(|r| r.status) {
            Some(UploadStatus::Pending | UploadStatus::Expired) => {
                UploadError::new(ErrorCode::Expired, "the upload URL has expired")
            }
            _ => UploadError::new(ErrorCode::Conflict, "this upload URL has already been used"),
        });
    }
    // From here on the key is spent: every failure is recorded and reaches `on_upload_error`.
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
    let done = match finish(&shared, &route, &rec, &origin, stored).await {
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
                status_url: status_url(&shared, &origin, &key),
                key,
            }
        }
        None => {
            span.record("outcome", "stored");
            upload_result(&shared, &origin, &done.record)
        }
    }))
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
