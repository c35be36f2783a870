//! `GET {base}/files/{key}?token=…`: where an upload stands, its file and its server data.
//! With file management (`Router::manage_files`), also `GET {base}/files` (a listing) and
//! `PATCH`/`DELETE {base}/files/{key}`, each within what the app's access function allows.
//!
//! The status of a private file answers with a fresh signed download URL and the completion
//! hook's data, so it needs proof of the uploader: the `token` the server handed out with the
//! upload (in `PreparedUpload.statusUrl`, `UploadResult.statusUrl` and tus's
//! `Uplift-Status-Url`). Without a valid token a private file answers exactly as an unknown key
//! (404 `NOT_FOUND`, same body), so the endpoint tells nobody whether a key exists.
//!
//! A public (`public-read`) file's status stays readable by its key alone: its download URL is
//! permanent and public anyway, and its key is in that URL. A token is accepted for it too.
//! With file management, a request the app's access function lets manage the file may read
//! its status without the token (a fresh signed download URL for its owner).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ErrorCode, UploadError};
use crate::files::{FileQuery, Files};
use crate::pipeline::views::upload_result;
use crate::protocol::{Deletion, FileChange, UploadStatus};
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
    let mut proven = token(&req).is_some_and(|t| shared.signer.verify_status(&key, &t).is_ok());
    let rec = shared.records.get(&key).await?.ok_or_else(not_found)?;
    // With file management, whoever may manage the file may read its status too.
    if !proven && shared.router.files_access().is_some() {
        if let Ok(files) = files_for(&shared.clone().into_inner(), &req) {
            proven = files.get(&key).await?.is_some();
        }
    }
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

/// The files this request may manage, by the app's decision; refused as the app says.
fn files_for(shared: &std::sync::Arc<Shared>, req: &HttpRequest) -> Result<Files, UploadError> {
    let access = shared
        .router
        .files_access()
        .ok_or_else(|| UploadError::not_found("no such endpoint"))?;
    let decided = access(req)?;
    let origin = origin(shared, req);
    Ok(Files::new(shared.clone())
        .with_origin(origin)
        .for_access(decided))
}

/// The query of a listing.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    route: Option<String>,
    status: Option<String>,
    custom_id: Option<String>,
    /// Unix milliseconds, included.
    created_from: Option<i64>,
    /// Unix milliseconds, excluded.
    created_until: Option<i64>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET {base}/files`: a page of the files the caller may manage, newest first.
pub(crate) async fn list(
    shared: web::Data<Shared>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UploadError> {
    let files = files_for(&shared.clone().into_inner(), &req)?;
    let q = q.into_inner();
    let status = q
        .status
        .as_deref()
        .map(|s| {
            UploadStatus::parse(s).ok_or_else(|| {
                UploadError::bad_request(
                    "status is one of pending, uploading, completing, complete, failed, expired",
                )
            })
        })
        .transpose()?;
    if q.limit
        .is_some_and(|l| !(1..=crate::files::MAX_PAGE).contains(&l))
    {
        return Err(UploadError::bad_request("limit is between 1 and 100"));
    }
    let query = FileQuery {
        filter: crate::db::FileFilter {
            slug: q.route,
            status,
            custom_id: q.custom_id,
            created_from: q.created_from,
            created_until: q.created_until,
            ..Default::default()
        },
        cursor: q.cursor,
        limit: q.limit.unwrap_or(0),
    };
    let page = files.list(&query).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

/// `PATCH {base}/files/{key}`: a new name, a new ACL, or both (neither: the file as it is).
pub(crate) async fn change(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<FileChange>,
) -> Result<HttpResponse, UploadError> {
    let files = files_for(&shared.clone().into_inner(), &req)?;
    let change = body.into_inner();
    let name = match change.name.as_deref() {
        Some(n) if n.trim().is_empty() || n.len() > 1024 => {
            return Err(UploadError::new(
                ErrorCode::InvalidInput,
                "a name is 1 to 1024 bytes and not blank",
            ))
        }
        Some(n) => Some(crate::sanitize::sanitize_filename(n)),
        None => None,
    };
    let info = files.change(&key, name.as_deref(), change.acl).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(info))
}

/// `DELETE {base}/files/{key}`: the file's bytes and record.
pub(crate) async fn delete(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, UploadError> {
    let files = files_for(&shared.clone().into_inner(), &req)?;
    let done = files.delete(&[key.as_str()]).await?;
    let result = done
        .into_iter()
        .next()
        .ok_or_else(|| UploadError::internal_msg("no result"))?;
    match result.result {
        Deletion::Deleted => Ok(HttpResponse::Ok().json(result)),
        Deletion::NotFound => Err(UploadError::not_found("no such file")),
        Deletion::InProgress => Err(UploadError::new(
            ErrorCode::InProgress,
            "the file is still being uploaded or completed: try again once it is stored",
        )),
    }
}
