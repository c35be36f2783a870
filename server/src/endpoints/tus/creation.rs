//! `POST {base}/{slug}/tus`: creation, creation-with-upload, creation-defer-length, and the
//! route pipeline — input from the metadata, the file against the route config, middleware.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::db::{NewUpload, TusState};
use crate::definition::{PendingFile, PendingFiles, Route};
use crate::error::{ErrorCode, UploadError};
use crate::protocol::{FileDeclaration, UploadStatus};
use crate::state::Shared;
use crate::state::{new_key, now_ms};

use super::headers::{self, Concat};
use super::lock::{lease_ms, Lock};
use super::patch::Created;
use crate::pipeline::checks::{check_caller, route_max, too_large};
use crate::state::{caller_tag, origin};

use super::{check_resumable, http_date, tus_response, tus_store, upload_path};

/// What the pipeline decided about a new upload.
pub(crate) struct Admitted {
    pub meta: Value,
    pub file: PendingFile,
}

fn text(meta: &BTreeMap<String, Vec<u8>>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| meta.get(*k))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|s| !s.is_empty())
}

/// Input → file against the config → middleware, as in prepare. `size` is the declared length
/// (0 while deferred). A partial upload without a `filetype` is checked by size only; its type
/// is checked when the final upload is created.
pub(crate) async fn admit(
    shared: &Shared,
    req: &HttpRequest,
    route: &Route,
    meta: &BTreeMap<String, Vec<u8>>,
    size: u64,
    partial: bool,
) -> Result<Admitted, UploadError> {
    let input = match meta.get("input") {
        None => Value::Null,
        Some(raw) => serde_json::from_slice(raw).map_err(|e| {
            UploadError::new(
                ErrorCode::InvalidInput,
                format!(
                    "the `input` metadata is not JSON (line {} column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?,
    };
    let input = route.parse_input(input)?;
    let name = text(meta, &["filename", "name"]).unwrap_or_else(|| "upload".into());
    crate::sanitize::check_raw_name(&name, 0)?;
    let declared = text(meta, &["filetype", "type", "contentType"]);
    let pending = match declared {
        None if partial => {
            let max = route_max(route);
            if size > max {
                return Err(too_large(size, max));
            }
            PendingFiles {
                files: vec![PendingFile {
                    name: crate::sanitize::sanitize_filename(&name),
                    size,
                    content_type: "application/octet-stream".into(),
                    custom_id: None,
                    sha256: None,
                    rule: 0,
                }],
            }
        }
        declared => crate::pipeline::checks::check_declarations(
            route.config(),
            &[FileDeclaration {
                name,
                size,
                content_type: declared.unwrap_or_else(|| "application/octet-stream".into()),
                last_modified: None,
                sha256: None,
            }],
            &shared.limits,
        )?,
    };
    let (meta, mut pending) = route.run_middleware(req.clone(), input, pending).await?;
    let file = pending
        .files
        .pop()
        .ok_or_else(|| UploadError::internal_msg("the middleware removed the file"))?;
    Ok(Admitted { meta, file })
}

/// A new tus upload's record. `caller` is its caller's tag; `reserved` what it holds against
/// the caller's limit when that is not `size` (a deferred length reserves the route maximum).
pub(crate) fn new_row(
    shared: &Shared,
    route: &Route,
    a: &Admitted,
    size: u64,
    caller: Option<String>,
    reserved: Option<u64>,
) -> NewUpload {
    let config = route.config();
    let rule = config
        .rule_for(&a.file.content_type)
        .map(|(_, r)| r)
        .unwrap_or(&config.types[0]);
    let now = now_ms();
    NewUpload {
        key: new_key(),
        slug: config.slug.to_string(),
        status: UploadStatus::Uploading,
        name: a.file.name.clone(),
        custom_id: a.file.custom_id.clone(),
        size,
        content_type: a.file.content_type.clone(),
        declared_sha256: None,
        acl: rule.acl,
        content_disposition: rule.content_disposition,
        metadata: a.meta.clone(),
        expires_at: now + shared.limits.tus_expiry.as_millis() as i64,
        created_at: now,
        stored: None,
        caller,
        reserved,
    }
}

pub(crate) async fn create(
    shared: Arc<Shared>,
    req: HttpRequest,
    route: Arc<Route>,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    check_resumable(&req)?;
    // creation-with-upload: a body is only ever bytes of the upload, sent as
    // `application/offset+octet-stream`; a body of another type is refused before anything
    // is created.
    let has_body = headers::number(&req, "content-length")
        .ok()
        .flatten()
        .is_some_and(|n| n > 0)
        || req.headers().contains_key("transfer-encoding");
    let octet_stream = headers::header(&req, "content-type")
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(super::OFFSET_OCTET_STREAM));
    if has_body && !octet_stream {
        return Err(UploadError::new(
            ErrorCode::UnsupportedType,
            format!(
                "a creation request's body must be {}",
                super::OFFSET_OCTET_STREAM
            ),
        ));
    }
    let concat = headers::concat(&req)?;
    let raw_meta = headers::header(&req, "upload-metadata").map(str::to_string);
    let meta = headers::metadata(raw_meta.as_deref())?;
    if let Some(Concat::Final(urls)) = &concat {
        return super::concat::create_final(shared, req, route, urls, &meta, raw_meta).await;
    }
    let length = headers::number(&req, "upload-length")?;
    let deferred = match headers::header(&req, "upload-defer-length") {
        None => false,
        Some("1") => true,
        Some(_) => return Err(UploadError::bad_request("Upload-Defer-Length must be 1")),
    };
    if length.is_some() == deferred {
        return Err(UploadError::bad_request(
            "send exactly one of Upload-Length and Upload-Defer-Length: 1",
        ));
    }
    let partial = concat == Some(Concat::Partial);
    let admitted = admit(&shared, &req, &route, &meta, length.unwrap_or(0), partial).await?;
    // A deferred length reserves the most the route takes until the length is declared.
    let reserved = length.unwrap_or_else(|| route_max(&route));
    let caller = caller_tag(&shared, &req);
    check_caller(&shared, &caller, 1, reserved).await?;
    let store = tus_store(&shared)?;
    let reserved = length.is_none().then_some(reserved);
    let row = new_row(
        &shared,
        &route,
        &admitted,
        length.unwrap_or(0),
        Some(caller),
        reserved,
    );
    let tus = TusState {
        offset: 0,
        length,
        concat: partial.then(|| "partial".to_string()),
        metadata: raw_meta,
        locked: false,
    };
    let with_body = octet_stream || length == Some(0);
    // With bytes to write, the file is opened for them and the record is made with this
    // request holding its lock.
    let created = if with_body {
        let out = store.create_writing(&row.key).await?;
        let owner = Lock::new_owner(&shared);
        let renewed = Instant::now();
        let until = now_ms() + lease_ms(&shared);
        shared
            .records
            .tus_insert_locked(&row, &tus, &owner, until, Some(&shared.instance_id))
            .await?;
        Some(Created {
            lock: Lock::created(&shared, &row.key, owner, renewed),
            rec: row.as_record(),
            tus: TusState {
                locked: true,
                ..tus
            },
            out,
        })
    } else {
        store.create(&row.key).await?;
        shared.records.tus_insert(&row, &tus).await?;
        None
    };
    tracing::info!(slug = %row.slug, key = %crate::sanitize::log_tag(&row.key), length = ?length, outcome = "created", "tus upload created");

    let origin = origin(&shared, &req);
    let location = format!("{origin}{}", upload_path(&shared, &row.key));
    let mut res = tus_response(StatusCode::CREATED);
    res.insert_header(("Location", location));
    super::name_upload(&mut res, &shared, &origin, &row.key);
    if let Some(created) = created {
        let out = super::patch::write(
            &shared,
            &req,
            &route,
            &row.key,
            0,
            body,
            None,
            None,
            Some(created),
        )
        .await?;
        res.insert_header(("Upload-Offset", out.offset.to_string()))
            .insert_header(("Upload-Expires", http_date(out.expires_at)));
        if let Some(data) = out.server_data {
            res.insert_header((super::SERVER_DATA_HEADER, super::patch::encode_data(&data)));
        }
    } else {
        res.insert_header(("Upload-Expires", http_date(row.expires_at)));
    }
    Ok(res.finish())
}
