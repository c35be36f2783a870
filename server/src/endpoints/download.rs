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
    // The signature is checked against the key alone, before the lookup: without a valid one,
    // a private file gets exactly the answer an unknown key gets, so nothing tells them apart.
    let signature = match (q.expires, q.sig.as_deref()) {
        (None, None) => None,
        (Some(expires), Some(sig)) => Some(shared.signer.verify_download(
            &key,
            expires,
            sig,
            now_ms() / 1000,
        )),
        _ => Some(Err(UploadError::new(
            ErrorCode::SignatureInvalid,
            "a signed download URL carries both `expires` and `sig`",
        ))),
    };
    let rec = match shared.records.get(&key).await? {
        Some(rec) if rec.acl == Acl::PublicRead => rec,
        rec => match signature {
            Some(Ok(())) => rec.ok_or_else(not_found)?,
            Some(Err(e)) => return Err(e),
            None => return Err(not_found()),
        },
    };
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
