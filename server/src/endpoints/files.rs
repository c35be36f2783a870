//! `GET {base}/files/{key}?token=…`: where an upload stands, its file and its server data.
//!
//! The status of a private file answers with a fresh signed download URL and the completion
//! hook's data, so it needs proof of the uploader: the `token` the server handed out with the
//! upload (in `PreparedUpload.statusUrl`, `UploadResult.statusUrl` and tus's
//! `Uplift-Status-Url`). Without a valid token a private file answers exactly as an unknown key
//! (404 `NOT_FOUND`, same body), so the endpoint tells nobody whether a key exists.
//!
//! A public (`public-read`) file's status stays readable by its key alone: its download URL is
//! permanent and public anyway, and its key is in that URL. A token is accepted for it too.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::UploadError;
use crate::pipeline::views::upload_result;
use crate::route::Acl;
use crate::state::{origin, Shared};

/// The one refusal for an unknown key and for a private file without its token.
fn not_found() -> UploadError {
    UploadError::not_found("no such upload")
}

/// The `token` query parameter, if the query has one (a malformed query has none).
fn token(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find_map(|(name, value)| (name == "token").then_some(value))
}

pub(crate) async fn status(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, UploadError> {
    let shared = &shared;
    // Checked before the lookup, whatever the key, so that the work done does not depend on
    // whether the key exists.
    let proven = token(&req).is_some_and(|t| shared.signer.verify_status(&key, &t).is_ok());
    let rec = shared.records.get(&key).await?.ok_or_else(not_found)?;
    if rec.acl == Acl::Private && !proven {
        return Err(not_found());
    }
    let origin = origin(shared, &req);
    let mut result = upload_result(shared, &origin, &rec);
    if !proven {
        // A public file read by its key: the key is all this caller needs, and a token is
        // handed only to the uploader.
        result.status_url = format!("{origin}{}/files/{}", shared.base_path, rec.key);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(result))
}
