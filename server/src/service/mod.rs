//! The HTTP surface: one actix scope with every endpoint of the protocol.
//!
//! | method | path                    | what                                      |
//! |--------|-------------------------|-------------------------------------------|
//! | GET    | `{base}`                | every route's config                      |
//! | POST   | `{base}/{slug}`         | prepare: validate, authorize, sign URLs   |
//! | POST   | `{base}/{slug}/multipart` | one-shot multipart/form-data upload     |
//! | PUT    | `{base}/upload/{key}`   | signed upload of one file's bytes         |
//! | GET    | `{base}/files/{key}`    | status and server data of an upload       |
//! | GET    | `{base}/download/{key}` | the stored file (signed URL if private)   |
//! | GET    | `{base}/openapi.json`   | the OpenAPI 3.1 document of these routes  |
//! | GET    | `{base}/docs`           | the docs UI (Swagger UI, served from here) |
//! | POST   | `{base}/{slug}/tus`     | tus creation (see [`crate::tus`])         |
//! | HEAD, PATCH, DELETE | `{base}/tus/{id}` | a tus upload                     |

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_cors::Cors;
use actix_web::dev::HttpServiceFactory;
use actix_web::middleware::Condition;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::config::{Shared, SweepReport, Uplift};
use crate::db::UploadRecord;
use crate::error::{ErrorBody, ErrorCode, UploadError};
use crate::protocol::{RouteInfo, RoutesResponse, UploadResult, UploadStatus, UploadedFile};
use crate::route::Acl;

pub(crate) mod completion;
pub(crate) mod docs;
pub(crate) mod files;
pub(crate) mod multipart;
pub(crate) mod prepare;
pub(crate) mod upload;

/// Path segments taken by the fixed endpoints; no route may use them as its slug.
pub const RESERVED_SLUGS: &[&str] = &["files", "upload", "download", "docs", "tus", "objects"];

pub(crate) fn scope(up: Uplift, cors: Option<Cors>) -> impl HttpServiceFactory {
    let json = web::JsonConfig::default()
        .limit(up.shared.limits.max_json_body)
        .error_handler(|err, _req| {
            let e = match &err {
                actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                | actix_web::error::JsonPayloadError::Overflow { .. } => {
                    UploadError::new(ErrorCode::TooLarge, "the JSON body is too large")
                }
                actix_web::error::JsonPayloadError::ContentType => {
                    UploadError::bad_request("send the prepare request as application/json")
                }
                other => UploadError::bad_request(format!("the JSON body is invalid: {other}")),
            };
            e.into()
        });
    let query = web::QueryConfig::default().error_handler(|err, _req| {
        UploadError::bad_request(format!("invalid query string: {err}")).into()
    });
    let path = web::PathConfig::default()
        .error_handler(|err, _req| UploadError::bad_request(format!("invalid path: {err}")).into());
    let enabled = cors.is_some();
    web::scope(&up.shared.base_path)
        .app_data(web::Data::new(up))
        .app_data(json)
        .app_data(query)
        .app_data(path)
        .wrap(Condition::new(enabled, cors.unwrap_or_default()))
        .service(resource("", "GET").route(web::get().to(list_routes)))
        .service(resource("/files/{key}", "GET").route(web::get().to(files::status)))
        .service(resource("/upload/{key}", "PUT").route(web::put().to(upload::put)))
        .service(
            resource("/download/{key}", "GET, HEAD")
                .route(web::get().to(files::download))
                .route(web::head().to(files::download)),
        )
        .service(resource("/openapi.json", "GET").route(web::get().to(docs::openapi_json)))
        .service(resource("/docs", "GET").route(web::get().to(docs::redirect)))
        .service(resource("/docs/{file:.*}", "GET").route(web::get().to(docs::file)))
        .service(web::resource("/tus/{id}").route(web::route().to(crate::tus::upload_endpoint)))
        .service(
            resource("/objects", "POST").route(web::post().to(crate::signed::handler::post_form)),
        )
        .service(
            resource("/objects/{path:.*}", "PUT, POST, GET, HEAD")
                .route(web::put().to(crate::signed::handler::put))
                .route(web::post().to(crate::signed::handler::post_token))
                .route(web::get().to(crate::signed::handler::get))
                .route(web::head().to(crate::signed::handler::get)),
        )
        .service(resource("/{slug}", "POST").route(web::post().to(prepare::prepare)))
        .service(web::resource("/{slug}/tus").route(web::route().to(crate::tus::route_endpoint)))
        .service(resource("/{slug}/multipart", "POST").route(web::post().to(multipart::multipart)))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(UploadError::not_found("no such endpoint"))
        }))
}

/// A resource whose other methods get a 405 in the error envelope (actix's own has no body).
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut res = UploadError::with_status(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            format!("this endpoint takes {allow} only"),
        )
        .error_response();
        res.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        res
    }))
}

async fn list_routes(up: web::Data<Uplift>) -> HttpResponse {
    let routes = up
        .shared
        .router
        .routes()
        .iter()
        .map(|r| RouteInfo::of(r))
        .collect();
    HttpResponse::Ok().json(RoutesResponse { routes })
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A fresh storage key: 160 random bits, URL-safe, unrelated to anything the client sent.
pub(crate) fn new_key() -> String {
    let bytes: [u8; 20] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `https://host` as clients reach us: configured, or from the request.
pub(crate) fn origin(shared: &Shared, req: &HttpRequest) -> String {
    match &shared.public_url {
        Some(u) => u.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

pub(crate) fn signed_download_path(shared: &Shared, key: &str, ttl: Duration) -> String {
    let expires = now_ms() / 1000 + ttl.as_secs().max(1) as i64;
    let sig = shared.signer.sign_download(key, expires);
    format!(
        "{}/download/{key}?expires={expires}&sig={sig}",
        shared.base_path
    )
}

/// The file as clients see it, with a URL they can fetch it from.
pub(crate) fn uploaded_file(
    shared: &Shared,
    origin: &str,
    rec: &UploadRecord,
) -> Option<UploadedFile> {
    let stored = rec.stored.as_ref()?;
    let url = match rec.acl {
        Acl::PublicRead => format!("{origin}{}/download/{}", shared.base_path, rec.key),
        Acl::Private => format!(
            "{origin}{}",
            signed_download_path(shared, &rec.key, shared.limits.download_url_ttl)
        ),
    };
    Some(UploadedFile {
        key: rec.key.clone(),
        name: rec.name.clone(),
        custom_id: rec.custom_id.clone(),
        size: stored.size,
        content_type: stored.content_type.clone(),
        sha256: stored.sha256.clone(),
        crc32: stored.crc32,
        acl: rec.acl,
        content_disposition: rec.content_disposition,
        url,
        slug: rec.slug.clone(),
    })
}

pub(crate) fn upload_result(shared: &Shared, origin: &str, rec: &UploadRecord) -> UploadResult {
    UploadResult {
        key: rec.key.clone(),
        status: rec.status,
        file: uploaded_file(shared, origin, rec),
        server_data: if rec.status == UploadStatus::Complete {
            rec.server_data.clone()
        } else {
            None
        },
        error: rec.error.clone(),
    }
}

pub(crate) async fn sweep(shared: &Arc<Shared>) -> Result<SweepReport, UploadError> {
    let now = now_ms();
    let expired = shared.records.expire_pending(now).await?;
    let stale = ErrorBody {
        code: ErrorCode::SizeMismatch,
        message: "the upload was interrupted: the server stopped while receiving it".into(),
        data: None,
    };
    let failed = shared
        .records
        .fail_stale_uploading(now - 3_600_000, &stale, now)
        .await?;
    let staged_removed = shared
        .storage
        .cleanup_staged(Duration::from_secs(3600))
        .await?;
    let tus_expired = crate::tus::sweep_expired(shared).await?;
    // A one-time id outlives its URL by nothing: no signed URL or form lives past 7 days.
    shared
        .records
        .forget_signed_uses(now - (crate::signing::MAX_EXPIRY_SECS + 3600) * 1000)
        .await?;
    Ok(SweepReport {
        tus_expired,
        expired,
        failed_stale: failed.len(),
        staged_removed,
    })
}
