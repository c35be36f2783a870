//! `GET`/`HEAD {base}/download/{key}`: the stored bytes of a finished route upload; private
//! files with a signed URL.

use actix_web::http::header::DispositionType;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadStatus;
use crate::route::{self, Acl};
use crate::serving::{content_disposition, is_active_content, serve};
use crate::state::{now_ms, Shared};

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadQuery {
    expires: Option<i64>,
    sig: Option<String>,
}

pub(crate) async fn download(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
    q: web::Query<DownloadQuery>,
) -> Result<HttpResponse, UploadError> {
    let shared = &shared;
    let not_found = || UploadError::not_found("no such file");
    let rec = shared.records.get(&key).await?.ok_or_else(not_found)?;
    if rec.acl == Acl::Private {
        let (Some(expires), Some(sig)) = (q.expires, q.sig.as_deref()) else {
            return Err(UploadError::new(
                ErrorCode::SignatureInvalid,
                "this file is private: use a signed download URL",
            ));
        };
        shared
            .signer
            .verify_download(&rec.key, expires, sig, now_ms() / 1000)?;
    }
    // Only finished uploads are visible: never a partial or refused one.
    if !matches!(
        rec.status,
        UploadStatus::Complete | UploadStatus::Completing
    ) {
        return Err(not_found());
    }
    let stored = rec.stored.as_ref().ok_or_else(not_found)?;
    let object = shared.storage.open(&rec.key).await?.ok_or_else(not_found)?;

    let mime = route::normalize_mime(&stored.content_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let disposition = if is_active_content(&mime) {
        DispositionType::Attachment
    } else {
        match rec.content_disposition {
            crate::route::ContentDisposition::Inline => DispositionType::Inline,
            crate::route::ContentDisposition::Attachment => DispositionType::Attachment,
        }
    };
    let cd = content_disposition(disposition, &rec.name);
    serve(
        &req,
        object,
        &mime,
        cd,
        stored.size,
        &stored.sha256,
        rec.acl == Acl::Private,
    )
    .await
}
