//! The HTTP side of signed uploads, under `{base}/objects`:
//! `PUT …/{folder…}/{filename}` (signed URL or bearer token), `POST …` (signed form),
//! `POST …/{folder…}` (bearer token, multipart) and `GET`/`HEAD …/{folder…}/{filename}`.
//!
//! Every `PUT`/`POST` answer is a [`FileEnvelope`], refusals included (status = the code's).
//! Bytes stream through [`crate::ingest`] into a staged write that becomes visible only by an
//! object commit — never replacing with `prevent_overwrite`, atomically replacing otherwise —
//! so a refusal stores nothing and leaves an existing object as it was.

use std::collections::BTreeMap;

use actix_multipart::{Field, Multipart};
use actix_web::http::header::{self, DispositionType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};

use std::sync::Arc;

use crate::db::ObjectRecord;
use crate::error::{ErrorCode, UploadError};
use crate::form::{multipart_error, read_small};
use crate::ingest::{ingest, Expectation};
use crate::objects::policy::Purpose;
use crate::objects::{
    direct, new_id, now_secs, object, path, policy, token, url, Plan, SignedUploads, SizeRule,
};
use crate::pipeline::body::Body;
use crate::pipeline::store::commit_error;
use crate::protocol::{FileEnvelope, FileObject, Links, Meta};
use crate::route::{normalize_mime, Acl};
use crate::serving;
use crate::state::{now_ms, origin, Shared};
use crate::storage::{DirectStorage, Discard, InboxObject, StagedWrite, Target};

fn handle(up: &Arc<Shared>, req: &HttpRequest) -> SignedUploads {
    let origin = origin(up, req);
    SignedUploads::new(up.clone()).with_origin(origin)
}

/// The object path of a request: what follows `{base}/objects/` in the raw, encoded path.
fn request_path(up: &Arc<Shared>, req: &HttpRequest) -> Result<String, UploadError> {
    let prefix = format!("{}/objects/", up.base_path);
    let raw = req
        .uri()
        .path()
        .strip_prefix(&prefix)
        .ok_or_else(|| UploadError::new(ErrorCode::InvalidPath, "the path is not allowed"))?;
    path::from_request(raw)
}

fn request_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(normalize_mime)
        .unwrap_or_else(|| "application/octet-stream".into())
}

fn envelope(
    up: &Arc<Shared>,
    req: &HttpRequest,
    result: Result<FileObject, UploadError>,
) -> HttpResponse {
    let request_id = new_id();
    let self_ = format!("{}{}", origin(up, req), req.uri().path());
    let (status, body) = match result {
        Ok(file) => (
            StatusCode::OK,
            FileEnvelope {
                meta: Meta {
                    request_id,
                    kind: "file".into(),
                },
                links: Links {
                    self_,
                    download: Some(file.url.clone()),
                },
                data: Some(file),
                error: None,
            },
        ),
        Err(e) => {
            if e.code() == ErrorCode::Internal {
                tracing::error!(error = %e, request_id, "signed upload failed");
            } else {
                tracing::info!(
                    code = e.code().as_str(),
                    request_id,
                    "signed upload refused"
                );
            }
            (
                e.status(),
                FileEnvelope {
                    meta: Meta {
                        request_id,
                        kind: "error".into(),
                    },
                    links: Links {
                        self_,
                        download: None,
                    },
                    data: None,
                    error: Some(e.body()),
                },
            )
        }
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn wants_no_overwrite(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "*")
}

/// A token upload: anything into the token's folder, replacing unless `If-None-Match: *`.
/// `claims` are verified; their scope is checked here against the file's folder.
fn token_plan(
    req: &HttpRequest,
    claims: &token::Claims,
    full: String,
    declared: String,
) -> Result<Plan, UploadError> {
    token::check_scope(claims, path::split(&full).0)?;
    Ok(Plan {
        path: full,
        id: new_id(),
        declared_type: declared,
        exact_size: None,
        min_size: 0,
        max_size: crate::objects::DEFAULT_MAX_SIZE,
        size_condition: None,
        sha256: None,
        crc32: None,
        metadata: BTreeMap::new(),
        disposition: None,
        acl: Acl::Private,
        prevent_overwrite: wants_no_overwrite(req),
        one_time: false,
    })
}

fn grant_plan(grant: url::Grant, full: String, declared: String) -> Result<Plan, UploadError> {
    if let Some(bound) = &grant.content_type {
        if &declared != bound {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                format!("this URL takes {bound} only"),
            )
            .with_data(serde_json::json!({ "expected": bound })));
        }
    }
    let (exact_size, max_size, min_size) = SizeRule::bounds(grant.size);
    Ok(Plan {
        path: full,
        id: grant.id.unwrap_or_else(new_id),
        declared_type: grant.content_type.unwrap_or(declared),
        exact_size,
        min_size,
        max_size,
        size_condition: None,
        sha256: grant.sha256,
        crc32: grant.crc32,
        metadata: grant.metadata,
        disposition: grant.disposition,
        acl: grant.acl.unwrap_or(Acl::Private),
        prevent_overwrite: grant.prevent_overwrite,
        one_time: grant.one_time,
    })
}

fn precondition_failed(path: &str) -> UploadError {
    UploadError::new(
        ErrorCode::PreconditionFailed,
        "an object exists at this path and the upload may not replace it",
    )
    .with_data(serde_json::json!({ "path": path }))
}

/// Where the bytes of a signed upload are.
enum Landing<'a> {
    /// Arriving in the request body.
    Body,
    /// In the bucket's inbox already, read back from it (`SignOptions::direct`).
    Inbox {
        store: &'a dyn DirectStorage,
        name: &'a str,
        object: &'a InboxObject,
    },
}

/// Streams a body into the object `plan` allows; its record once committed. From the inbox,
/// the pass only checks, and the bucket moves the bytes it checked — unless they are too
/// large for it to copy, then they are written through a staged write as they are checked.
async fn store_object<S, E>(
    handle: &SignedUploads,
    plan: Plan,
    body: S,
    landing: Landing<'_>,
) -> Result<ObjectRecord, UploadError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let shared = &handle.shared;
    // Cheap early refusal; the no-replace commit below is what decides a race.
    if plan.prevent_overwrite && shared.storage.open_object(&plan.path).await?.is_some() {
        return Err(precondition_failed(&plan.path));
    }
    if plan.one_time && !shared.records.claim_signed_use(&plan.id, now_ms()).await? {
        return Err(UploadError::new(
            ErrorCode::AlreadyUsed,
            "this upload URL or form has already been used",
        ));
    }
    let target = Target::Object {
        path: plan.path.clone(),
        replace: !plan.prevent_overwrite,
    };
    let exp = Expectation {
        exact_size: plan.exact_size,
        max_size: plan.max_size,
        min_size: plan.min_size,
        declared_type: plan.declared_type.clone(),
        rule_type: None,
        sha256: plan.sha256.clone(),
        crc32: plan.crc32,
    };
    let promote = match landing {
        Landing::Inbox {
            store,
            name,
            object,
        } if object.size <= store.promote_limit() => Some((store, name, object)),
        _ => None,
    };
    let staged: Box<dyn StagedWrite> = match promote {
        Some(_) => Box::new(Discard),
        None => shared.storage.stage(target).await?,
    };
    let got =
        ingest(body, &exp, staged)
            .await
            .map_err(|e| match (e.code(), plan.size_condition) {
                (ErrorCode::TooLarge | ErrorCode::TooSmall, Some(condition)) => UploadError::new(
                    ErrorCode::PolicyViolation,
                    format!("the file breaks the form's {condition}: {}", e.message()),
                )
                .with_data(serde_json::json!({ "condition": condition })),
                _ => e,
            })?;
    let (width, height) = object::dimensions(&got.content_type, &got.head);
    let committed = match promote {
        Some((store, name, object)) => {
            store
                .promote_inbox(name, &object.etag, &plan.path, !plan.prevent_overwrite)
                .await
        }
        None => got.staged.commit().await,
    };
    match committed {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && plan.prevent_overwrite => {
            return Err(precondition_failed(&plan.path))
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData && promote.is_some() => {
            return Err(UploadError::new(
                ErrorCode::Conflict,
                "the file was sent to the bucket again while it was checked",
            ))
        }
        Err(e) => return Err(commit_error(e)),
    }
    let now = now_ms();
    let rec = ObjectRecord {
        path: plan.path,
        id: plan.id,
        content_type: got.content_type,
        size: got.size,
        sha256: got.sha256,
        crc32: got.crc32,
        width,
        height,
        metadata: plan.metadata,
        disposition: plan
            .disposition
            .as_deref()
            .and_then(object::parse_disposition)
            .map(str::to_string),
        acl: plan.acl,
        created: now,
        updated: now,
    };
    shared.records.put_object(&rec).await?;
    // `created` is the first writer's when this replaced an object.
    Ok(shared.records.get_object(&rec.path).await?.unwrap_or(rec))
}

/// `PUT {base}/objects/{folder…}/{filename}`: a signed URL or a bearer token.
pub(crate) async fn put(
    up: web::Data<Shared>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let (body, idle) = Body::new(body, up.limits.body_idle_timeout);
    let result = put_inner(&up, &req, body)
        .await
        .map_err(|e| idle.explain(e));
    envelope(&up, &req, result)
}

async fn put_inner(
    up: &Arc<Shared>,
    req: &HttpRequest,
    body: Body<web::Payload>,
) -> Result<FileObject, UploadError> {
    let handle = handle(up, req);
    let full = request_path(up, req)?;
    let declared = request_type(req);
    let query = req.query_string();
    let plan = if !query.is_empty() {
        let grant = url::verify(&up.signer, "PUT", &full, query, now_secs())?;
        grant_plan(grant, full, declared)?
    } else if let Some(bearer) = token::bearer(req) {
        let claims = token::verify(&up.signer, &up.token_key, bearer)?;
        token_plan(req, &claims, full, declared)?
    } else {
        return Err(UploadError::unauthorized(
            "use a signed upload URL or send `Authorization: Bearer <upload token>`",
        ));
    };
    let rec = store_object(&handle, plan, body, Landing::Body).await?;
    Ok(object::file_object(&handle, &rec))
}

/// Form fields are small: at most this many bytes each, and this many of them.
const MAX_FIELD: usize = 64 * 1024;
const MAX_FIELDS: usize = 64;

async fn read_field(field: Field) -> Result<String, UploadError> {
    let buf = read_small(field, MAX_FIELD).await?;
    String::from_utf8(buf).map_err(|_| UploadError::bad_request("a form field is not UTF-8"))
}

/// The form's text fields, then its `file` part (still unread).
async fn read_form(form: &mut Multipart) -> Result<(BTreeMap<String, String>, Field), UploadError> {
    let mut fields = BTreeMap::new();
    while let Some(field) = form.try_next().await.map_err(multipart_error)? {
        let name = field
            .content_disposition()
            .and_then(|c| c.get_name())
            .unwrap_or("")
            .to_string();
        if name == "file" {
            return Ok((fields, field));
        }
        if fields.len() >= MAX_FIELDS {
            return Err(UploadError::bad_request("the form has too many fields"));
        }
        let value = read_field(field).await?;
        fields.insert(name, value);
    }
    Err(UploadError::bad_request(
        "the form has no `file` part (it must come last)",
    ))
}

fn part_name(field: &Field) -> Option<String> {
    field
        .content_disposition()
        .and_then(|c| c.get_filename())
        .map(str::to_string)
}

fn part_type(field: &Field) -> Option<String> {
    field.content_type().map(|m| m.to_string())
}

/// `POST {base}/objects`: a signed form (multipart), or with `?policy=…&signature=…` (and no
/// body) the completion of a signed upload sent straight to the bucket.
pub(crate) async fn post_form(
    up: web::Data<Shared>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    // A form is multipart; anything else (a completion has no body) is a completion, refused
    // as unsigned without its query.
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if !req.query_string().is_empty() || !multipart {
        let result = complete(&up, &req).await;
        return envelope(&up, &req, result);
    }
    let (payload, idle) = Body::new(payload, up.limits.body_idle_timeout);
    let result = async {
        let handle = handle(&up, &req);
        let mut form = crate::form::parser(&req, payload);
        let (fields, file) = read_form(&mut form).await?;
        let plan = policy::check_form(
            &handle,
            &fields,
            part_name(&file).as_deref(),
            part_type(&file).as_deref(),
        )?;
        let rec = store_object(&handle, plan, file, Landing::Body).await?;
        Ok(object::file_object(&handle, &rec))
    }
    .await
    .map_err(|e| idle.explain(e));
    envelope(&up, &req, result)
}

/// The completion of a signed upload sent straight to the bucket (`SignOptions::direct`):
/// the inbox object is read back through the checks of [`store_object`] and promoted; whatever the
/// outcome, it leaves the inbox. Before the file arrived, nothing is spent (409 `CONFLICT`).
async fn complete(up: &Arc<Shared>, req: &HttpRequest) -> Result<FileObject, UploadError> {
    #[derive(serde::Deserialize)]
    struct Query {
        policy: String,
        signature: String,
    }
    let handle = handle(up, req);
    let q: Query = serde_urlencoded::from_str(req.query_string()).map_err(|_| {
        UploadError::new(
            ErrorCode::SignatureInvalid,
            "send a signed form as multipart/form-data, or POST a completion URL as it was handed out",
        )
    })?;
    let policy = policy::open(&handle, &q.policy, &q.signature, Purpose::Completion)?;
    let store = up.storage.as_direct().ok_or_else(|| {
        UploadError::new(
            ErrorCode::Conflict,
            "this server's storage takes no uploads straight to the bucket",
        )
    })?;
    let mut name = direct::inbox_name(&policy);
    if policy.key.is_none() {
        // A form that let the browser name the file: the bucket holds it under that name.
        let found = store.list_inbox(&format!("{name}/"), 1).await?;
        name = found.into_iter().next().unwrap_or(name);
    }
    let Some((object, bytes)) = store.read_inbox(&name).await? else {
        return completed_before(&handle, &policy).await;
    };
    let key = match (&policy.key, name.split_once('/')) {
        (Some(key), _) => Ok(key.clone()),
        (None, Some((_, filename))) => Ok(format!(
            "{}/{}{filename}",
            policy.dir,
            policy.key_prefix.as_deref().unwrap_or("")
        )),
        (None, None) => Err(UploadError::internal_msg("an inbox name without its file")),
    };
    let (path, id) = (key.as_ref().ok().cloned(), policy.id.clone());
    let outcome = async {
        let plan = policy::plan(policy, key?, object.content_type.as_deref(), None)?;
        let inbox = Landing::Inbox {
            store,
            name: &name,
            object: &object,
        };
        store_object(&handle, plan, bytes, inbox).await
    }
    .await;
    // The inbox object is spent, whatever the outcome — except when another completion of the
    // same upload holds the claim and may still be reading it (the id is spent but its file
    // not stored yet): that one removes it, or the sweep does.
    let spent_elsewhere = match &outcome {
        Err(e) if e.code() == ErrorCode::AlreadyUsed => {
            // Stored by this upload already: the inbox holds bytes sent again after it.
            !matches!(stored_by(&handle, path.as_deref(), &id).await, Ok(Some(_)))
        }
        _ => false,
    };
    if !spent_elsewhere {
        if let Err(e) = store.remove_inbox(&name).await {
            tracing::warn!(error = %e, "could not remove a signed upload's inbox object");
        }
    }
    Ok(object::file_object(&handle, &outcome?))
}

/// The object stored at `path` by the upload `id`, if it is stored (by this upload, not
/// replaced since).
async fn stored_by(
    handle: &SignedUploads,
    path: Option<&str>,
    id: &str,
) -> Result<Option<ObjectRecord>, UploadError> {
    let Some(path) = path else {
        return Ok(None);
    };
    Ok(handle
        .shared
        .records
        .get_object(path)
        .await?
        .filter(|rec| rec.id == id))
}

/// A completion called again after it succeeded (its answer was lost): the stored file, when
/// its key is known and it is still this upload's. Otherwise the file has not arrived, or was
/// completed under a name the browser chose.
async fn completed_before(
    handle: &SignedUploads,
    policy: &policy::Policy,
) -> Result<FileObject, UploadError> {
    if let Some(rec) = stored_by(handle, policy.key.as_deref(), &policy.id).await? {
        return Ok(object::file_object(handle, &rec));
    }
    Err(UploadError::new(
        ErrorCode::Conflict,
        "the file is not in the storage bucket: send it to the upload URL first, then complete",
    ))
}

/// `POST {base}/objects/{folder…}`: a multipart `file` part with a bearer token.
pub(crate) async fn post_token(
    up: web::Data<Shared>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (payload, idle) = Body::new(payload, up.limits.body_idle_timeout);
    let result = async {
        let handle = handle(&up, &req);
        let folder = request_path(&up, &req)?;
        let bearer = token::bearer(&req).ok_or_else(|| {
            UploadError::unauthorized("send `Authorization: Bearer <upload token>`")
        })?;
        // The token is checked before any part is read.
        let claims = token::verify(&up.signer, &up.token_key, bearer)?;
        token::check_scope(&claims, &folder)?;
        let mut form = crate::form::parser(&req, payload);
        let (_, file) = read_form(&mut form).await?;
        let name = part_name(&file)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| UploadError::bad_request("the `file` part needs a file name"))?;
        let full = path::join(&folder, &name)?;
        let declared = part_type(&file)
            .as_deref()
            .and_then(normalize_mime)
            .unwrap_or_else(|| "application/octet-stream".into());
        let plan = token_plan(&req, &claims, full, declared)?;
        let rec = store_object(&handle, plan, file, Landing::Body).await?;
        Ok(object::file_object(&handle, &rec))
    }
    .await
    .map_err(|e| idle.explain(e));
    envelope(&up, &req, result)
}

/// `GET`/`HEAD {base}/objects/{folder…}/{filename}`: public objects as they are, private
/// ones with a signed GET URL; Range, ETag and Content-Disposition as for route downloads.
pub(crate) async fn get(
    up: web::Data<Shared>,
    req: HttpRequest,
) -> Result<HttpResponse, UploadError> {
    let full = request_path(&up, &req)?;
    let not_found = || UploadError::not_found("no such file");
    // The signature is checked against the path alone, before the lookup: without a valid one,
    // a private object gets exactly the answer an unknown path gets.
    let signature = (!req.query_string().is_empty())
        .then(|| url::verify(&up.signer, "GET", &full, req.query_string(), now_secs()));
    let rec = match up.records.get_object(&full).await? {
        Some(rec) if rec.acl == Acl::PublicRead => rec,
        rec => match signature {
            Some(Ok(_)) => rec.ok_or_else(not_found)?,
            Some(Err(e)) => return Err(e),
            None => return Err(not_found()),
        },
    };
    let object = up.storage.open_object(&full).await?.ok_or_else(not_found)?;
    let mime =
        normalize_mime(&rec.content_type).unwrap_or_else(|| "application/octet-stream".into());
    let kind = match rec.disposition.as_deref() {
        _ if serving::is_active_content(&mime) => DispositionType::Attachment,
        Some("attachment") => DispositionType::Attachment,
        _ => DispositionType::Inline,
    };
    let cd = serving::content_disposition(kind, path::split(&full).1);
    serving::serve(
        &req,
        object,
        &mime,
        cd,
        rec.size,
        &rec.sha256,
        rec.acl == Acl::Private,
    )
    .await
}

/// `DELETE {base}/objects/{folder…}/{filename}`: with a signed `DELETE` URL of that path, or a
/// bearer token for its folder that may delete. Answers with the object as it was; a deleted
/// path is never served again (its signed GET URLs answer 404).
pub(crate) async fn delete(up: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let result = delete_inner(&up, &req).await;
    envelope(&up, &req, result)
}

async fn delete_inner(up: &Arc<Shared>, req: &HttpRequest) -> Result<FileObject, UploadError> {
    let handle = handle(up, req);
    let full = request_path(up, req)?;
    let query = req.query_string();
    if !query.is_empty() {
        url::verify(&up.signer, "DELETE", &full, query, now_secs())?;
    } else if let Some(bearer) = token::bearer(req) {
        let claims = token::verify(&up.signer, &up.token_key, bearer)?;
        token::check_scope(&claims, path::split(&full).0)?;
        token::check_right(&claims, token::DELETE)?;
    } else {
        return Err(UploadError::unauthorized(
            "use a signed DELETE URL or send `Authorization: Bearer <token that may delete>`",
        ));
    }
    let rec = up
        .records
        .get_object(&full)
        .await?
        .ok_or_else(|| UploadError::not_found("no such file"))?;
    // The record first: nothing serves the path once it is gone. Bytes whose removal fails
    // are an object without a record, which the sweep collects.
    if !up.records.delete_object(&full).await? {
        return Err(UploadError::not_found("no such file"));
    }
    if let Err(e) = up.storage.delete_object(&full).await {
        tracing::warn!(error = %e, "could not remove a deleted object's bytes (the sweep will)");
    }
    Ok(object::file_object(&handle, &rec))
}

/// The query of a folder listing.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    dir: String,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET {base}/objects?dir=…`: a folder's objects (and below), by path, with a bearer token
/// for that folder that may list.
pub(crate) async fn list(
    up: web::Data<Shared>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, UploadError> {
    let bearer = token::bearer(&req).ok_or_else(|| {
        UploadError::unauthorized("send `Authorization: Bearer <token that may list>`")
    })?;
    let claims = token::verify(&up.signer, &up.token_key, bearer)?;
    let q = q.into_inner();
    path::check(&q.dir)?;
    token::check_scope(&claims, &q.dir)?;
    token::check_right(&claims, token::LIST)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(UploadError::bad_request("limit is between 1 and 1000"));
    }
    if let Some(c) = &q.cursor {
        path::check(c)?;
    }
    let mut rows = up
        .records
        .list_objects(&q.dir, q.cursor.as_deref(), limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let handle = handle(&up, &req);
    let list = crate::protocol::ObjectList {
        next_cursor: more.then(|| rows[rows.len() - 1].path.clone()),
        objects: rows
            .iter()
            .map(|r| object::file_object(&handle, r))
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list))
}
