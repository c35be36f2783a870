//! tus 1.0 resumable uploads, bound to file routes.
//!
//! | method  | path                 | what                                               |
//! |---------|----------------------|----------------------------------------------------|
//! | POST    | `{base}/{slug}/tus`  | creation (+ creation-with-upload, concatenation)   |
//! | OPTIONS | `{base}/{slug}/tus`  | what is implemented, and the route's `Tus-Max-Size` |
//! | HEAD    | `{base}/tus/{id}`    | the upload's offset                                |
//! | PATCH   | `{base}/tus/{id}`    | bytes at the offset                                |
//! | DELETE  | `{base}/tus/{id}`    | termination                                        |
//!
//! `{id}` is `{key}.{capability}`: the upload's storage key and an HMAC of it under the app's
//! signing key. The `Location` of the creation answer carries it; a request to an upload
//! without its capability is refused (403), so knowing a key is not enough.
//!
//! Bytes live in a [`ResumableStore`](crate::storage::ResumableStore): a file per upload in a
//! directory (by default `.tus` under the `LocalStorage` root), or parts of a multipart upload
//! in the bucket of an `S3Storage`. They are written at the recorded offset and made durable,
//! then the offset is recorded — so progress survives a crash (a later PATCH drops what the
//! store holds past the recorded offset), and any instance can take the next PATCH. On the
//! last byte the upload goes through the same checks as a `PUT` (sniff, SHA-256 and CRC32,
//! record, completion hook). The digest is carried from PATCH to PATCH in the process
//! (`digest`); when earlier bytes went through another process, the upload is read back once
//! to hash it. The store adopts the bytes as the stored file (a hard link; a copy inside the
//! bucket) rather than sending them through the server again.

use actix_web::http::header::{HeaderValue, HttpDate, CACHE_CONTROL};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};

use crate::error::{ErrorCode, UploadError};
use crate::pipeline::checks::route_max;
use crate::state::Shared;

mod concat;
mod creation;

pub(crate) use concat::join_waiting;
mod finish;
pub(crate) mod headers;
mod lock;
mod patch;

// The resumable core other front ends build on (UploadThing's ingest): creating an upload of
// known length, writing at its offset, and how many bytes it holds.
pub(crate) use creation::{new_row, Admitted};
pub(crate) use lock::lease_ms;
pub(crate) use patch::{received, write};

pub(crate) use crate::protocol::tus::{
    EXTENSIONS, KEY_HEADER, OFFSET_OCTET_STREAM, SERVER_DATA_HEADER, STATUS_URL_HEADER, TUS_VERSION,
};

/// A response with the headers every tus answer carries.
pub(crate) fn tus_response(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header(("Tus-Resumable", TUS_VERSION))
        .insert_header((CACHE_CONTROL, "no-store"));
    b
}

/// An error in the JSON envelope, with the tus headers.
pub(crate) fn tus_error(err: UploadError) -> HttpResponse {
    let mut res = err.error_response();
    let h = res.headers_mut();
    h.insert(
        "tus-resumable".parse().unwrap(),
        HeaderValue::from_static(TUS_VERSION),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if err.status() == StatusCode::PRECONDITION_FAILED {
        h.insert(
            "tus-version".parse().unwrap(),
            HeaderValue::from_static(TUS_VERSION),
        );
    }
    // A 409 for a wrong offset tells the client where the upload is, as tus clients expect.
    if err.code() == ErrorCode::OffsetMismatch {
        if let Some(offset) = err.data().and_then(|d| d["offset"].as_u64()) {
            h.insert("upload-offset".parse().unwrap(), HeaderValue::from(offset));
        }
    }
    if err.code() == ErrorCode::Locked {
        h.insert(
            actix_web::http::header::RETRY_AFTER,
            HeaderValue::from_static("1"),
        );
    }
    res
}

fn respond(r: Result<HttpResponse, UploadError>) -> HttpResponse {
    r.unwrap_or_else(tus_error)
}

/// 412 unless the client speaks tus 1.0.0.
pub(crate) fn check_resumable(req: &HttpRequest) -> Result<(), UploadError> {
    match headers::header(req, "tus-resumable") {
        Some(v) if v.trim() == TUS_VERSION => Ok(()),
        _ => Err(UploadError::new(
            ErrorCode::PreconditionFailed,
            format!("send `Tus-Resumable: {TUS_VERSION}`: it is the only version served"),
        )),
    }
}

pub(crate) fn http_date(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    HttpDate::from(t).to_string()
}

/// The upload's id in its URL: `{key}.{capability}`.
pub(crate) fn upload_id(shared: &Shared, key: &str) -> String {
    format!("{key}.{}", shared.signer.sign_tus(key))
}

/// `Uplift-Key` and `Uplift-Status-Url`: how the uploader names the upload outside tus.
pub(crate) fn name_upload(res: &mut HttpResponseBuilder, shared: &Shared, origin: &str, key: &str) {
    res.insert_header((KEY_HEADER, key.to_string()))
        .insert_header((
            STATUS_URL_HEADER,
            crate::pipeline::views::status_url(shared, origin, key),
        ));
}

pub(crate) fn upload_path(shared: &Shared, key: &str) -> String {
    format!("{}/tus/{}", shared.base_path, upload_id(shared, key))
}

/// The key an id grants access to; 403 without a valid capability.
pub(crate) fn authorize(shared: &Shared, id: &str) -> Result<String, UploadError> {
    let refuse = || {
        UploadError::new(
            ErrorCode::SignatureInvalid,
            "this upload URL lacks a valid capability: use the Location the creation answered with",
        )
    };
    let (key, sig) = id.split_once('.').ok_or_else(refuse)?;
    crate::storage::check_key(key).map_err(|_| refuse())?;
    shared.signer.verify_tus(key, sig).map_err(|_| refuse())?;
    Ok(key.to_string())
}

pub(crate) fn tus_store(
    shared: &Shared,
) -> Result<&std::sync::Arc<dyn crate::storage::ResumableStore>, UploadError> {
    shared.tus.as_ref().ok_or_else(|| {
        UploadError::internal_msg("tus needs a place for uploads: set UpliftBuilder::tus_dir")
    })
}

/// OPTIONS answers 200 with the capabilities, as the tus 1.0 examples do (a 204 is not read
/// as success by every client).
fn options(max: Option<u64>) -> HttpResponse {
    let mut b = tus_response(StatusCode::OK);
    b.insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", EXTENSIONS))
        .insert_header(("Tus-Checksum-Algorithm", headers::CHECKSUM_ALGORITHMS));
    if let Some(max) = max {
        b.insert_header(("Tus-Max-Size", max.to_string()));
    }
    b.finish()
}

/// `{base}/{slug}/tus`: POST creates, OPTIONS describes.
pub(crate) async fn route_endpoint(
    shared: web::Data<Shared>,
    req: HttpRequest,
    slug: web::Path<String>,
    body: web::Payload,
) -> HttpResponse {
    let shared = shared.into_inner();
    let route = match crate::pipeline::route(&shared, &slug) {
        Ok(r) => r,
        Err(e) => return tus_error(e),
    };
    match *req.method() {
        Method::OPTIONS => options(Some(route_max(&route))),
        Method::POST => respond(creation::create(shared, req, route, body).await),
        _ => method_not_allowed("POST, OPTIONS"),
    }
}

/// `{base}/tus/{id}`: HEAD, PATCH, DELETE, OPTIONS; `X-HTTP-Method-Override` on a POST.
pub(crate) async fn upload_endpoint(
    shared: web::Data<Shared>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
) -> HttpResponse {
    let shared = shared.into_inner();
    let mut method = req.method().clone();
    if method == Method::POST {
        if let Some(m) = headers::header(&req, "x-http-method-override") {
            match Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()) {
                Ok(m) => method = m,
                Err(_) => {
                    return tus_error(UploadError::bad_request(
                        "X-HTTP-Method-Override is not a method",
                    ))
                }
            }
        }
    }
    match method {
        Method::OPTIONS => options(None),
        Method::HEAD => respond(patch::head(shared, req, &id).await),
        Method::PATCH => respond(patch::patch(shared, req, &id, body).await),
        Method::DELETE => respond(patch::delete(shared, req, &id).await),
        _ => method_not_allowed("HEAD, PATCH, DELETE, OPTIONS"),
    }
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut res = tus_error(UploadError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this endpoint takes {allow} only"),
    ));
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        HeaderValue::from_static(allow),
    );
    res
}
