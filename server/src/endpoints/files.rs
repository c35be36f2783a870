//! `GET {base}/files/{key}`: where an upload stands, its file and its server data.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::UploadError;
use crate::pipeline::views::upload_result;
use crate::state::{origin, Shared};

pub(crate) async fn status(
    shared: web::Data<Shared>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, UploadError> {
    let shared = &shared;
    let rec = shared
        .records
        .get(&key)
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    let origin = origin(shared, &req);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(upload_result(shared, &origin, &rec)))
}
