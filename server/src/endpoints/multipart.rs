//! `POST {base}/{slug}/multipart`: files and `input` in one multipart/form-data request,
//! for curl, server code and HTML forms without JavaScript.
//!
//! Fields in order: `input` (the route's input as JSON, optional), `files` (optional: the
//! files' declarations as in prepare, a JSON array of `{name, size, type}`), then the file
//! parts. The middleware runs before the first byte of the first file is accepted: with the
//! declared files when a `files` field was sent (each part must then match its declaration),
//! otherwise with the first part's name and type (size 0: not known yet). The route's rules
//! apply to every file either way.
//!
//! Each file streams through the same ingest pass into an invisible staged write, checked
//! against its type's limits as it arrives. Only when every file has passed are the files
//! committed and recorded: all or nothing.

use std::any::Any;

use actix_multipart::Field;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::db::NewUpload;
use crate::definition::{PendingFile, PendingFiles, Route};
use crate::error::{ErrorCode, UploadError};
use crate::form::{multipart_error, read_small};
use crate::ingest::{Expectation, Ingested};
use crate::pipeline::body::Body;
use crate::pipeline::checks::{
    caller_limits, caller_usage, check_counts, check_declarations, unsupported,
};
use crate::pipeline::complete::hand_off;
use crate::pipeline::store::{commit_error, receive, stored_info};
use crate::pipeline::views::{upload_result, uploaded_file};
use crate::pipeline::{self};
use crate::protocol::{FileDeclaration, MultipartResponse, UploadStatus};
use crate::route::normalize_mime;
use crate::sanitize::sanitize_filename;
use crate::state::{caller_tag, new_key, now_ms, origin, Shared};
use crate::storage::Target;

/// What the request has said so far, field by field.
#[derive(Default)]
struct Form {
    input: Option<Box<dyn Any>>,
    /// The `files` field, checked against the route.
    declared: Option<PendingFiles>,
    /// The middleware's answer: its metadata and the files as it left them.
    authorized: Option<(Value, PendingFiles)>,
    /// Each file, its key and its staged bytes, committed together once all arrived.
    received: Vec<(PendingFile, (String, Ingested))>,
}

impl Form {
    fn before_files(&self, what: &str) -> Result<(), UploadError> {
        if self.authorized.is_some() || !self.received.is_empty() {
            return Err(UploadError::bad_request(format!(
                "send the `{what}` field once, before the files"
            )));
        }
        Ok(())
    }
}

/// A JSON text field: empty means `null`.
async fn json_field(field: Field, limit: usize, what: &str) -> Result<Value, UploadError> {
    let raw = read_small(field, limit).await?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&raw).map_err(|e| {
        UploadError::new(
            ErrorCode::InvalidInput,
            format!(
                "the `{what}` field is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Runs the middleware before the first file byte: with the declared files, or with what the
/// first part's headers say.
async fn authorize(
    route: &Route,
    req: &HttpRequest,
    form: &mut Form,
    first: (&str, &str, Option<usize>),
) -> Result<(), UploadError> {
    let input = match form.input.take() {
        Some(i) => i,
        None => route.parse_input(Value::Null)?,
    };
    let pending = match form.declared.clone() {
        Some(d) => d,
        None => {
            let (name, content_type, rule) = first;
            PendingFiles {
                files: vec![PendingFile {
                    name: sanitize_filename(name),
                    size: 0,
                    content_type: content_type.to_string(),
                    custom_id: None,
                    sha256: None,
                    rule: rule.unwrap_or(0),
                }],
            }
        }
    };
    form.authorized = Some(route.run_middleware(req.clone(), input, pending).await?);
    Ok(())
}

pub(crate) async fn multipart(
    shared: web::Data<Shared>,
    req: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let shared = shared.into_inner();
    let route = pipeline::route(&shared, &slug)?;
    let (body, idle) = Body::new(payload, shared.limits.body_idle_timeout);
    receive_and_store(shared, req, route, body)
        .await
        .map_err(|e| idle.explain(e))
}

async fn receive_and_store(
    shared: std::sync::Arc<Shared>,
    req: HttpRequest,
    route: std::sync::Arc<Route>,
    body: Body<web::Payload>,
) -> Result<HttpResponse, UploadError> {
    let config = route.config();
    // The caller's unfinished uploads, read once: room for one more file before any byte is
    // read, then each file counted (and its bytes) as it arrives.
    let caller = caller_tag(&shared, &req);
    let usage = caller_usage(&shared, &caller).await?;
    caller_limits(&shared.limits, &usage, 1, 0)?;
    let mut multipart = crate::form::parser(&req, body);

    let mut form = Form::default();
    let mut counts = vec![0u32; config.types.len()];
    let mut total_bytes: u64 = 0;
    let max_files = config.max_files() as usize;
    let limit = shared.limits.max_input_field;

    while let Some(mut field) = multipart.try_next().await.map_err(multipart_error)? {
        let cd = field.content_disposition().cloned();
        let field_name = cd
            .as_ref()
            .and_then(|c| c.get_name())
            .unwrap_or("")
            .to_string();
        let filename = cd
            .as_ref()
            .and_then(|c| c.get_filename())
            .map(str::to_string);
        if let Some(name) = &filename {
            crate::sanitize::check_raw_name(name, form.received.len())?;
        }
        let Some(filename) = filename else {
            match field_name.as_str() {
                "input" => {
                    form.before_files("input")?;
                    if form.input.is_some() || form.declared.is_some() {
                        return Err(UploadError::bad_request(
                            "send the `input` field once, before `files` and the files",
                        ));
                    }
                    let value = json_field(field, limit, "input").await?;
                    form.input = Some(route.parse_input(value)?);
                }
                "files" => {
                    form.before_files("files")?;
                    if form.declared.is_some() {
                        return Err(UploadError::bad_request("send the `files` field once"));
                    }
                    let value = json_field(field, limit, "files").await?;
                    let decls: Vec<FileDeclaration> =
                        serde_json::from_value(value).map_err(|_| {
                            UploadError::bad_request(
                                "the `files` field must be an array of {name, size, type}",
                            )
                        })?;
                    form.declared = Some(check_declarations(config, &decls, &shared.limits)?);
                }
                // Unknown text fields are read (bounded) and ignored.
                _ => drop(read_small(field, limit).await?),
            }
            continue;
        };
        // Browsers send an unused `<input type="file">` as an empty part named "": no file.
        let mut first = None;
        if filename.is_empty() {
            match field.try_next().await.map_err(multipart_error)? {
                None => continue,
                Some(chunk) => first = Some(chunk),
            }
        }
        let index = form.received.len();
        if index >= max_files {
            return Err(UploadError::new(
                ErrorCode::TooManyFiles,
                format!("this route takes at most {max_files} files per upload"),
            )
            .with_data(json!({ "max": max_files })));
        }

        let declared_type = field
            .content_type()
            .and_then(|m| normalize_mime(m.as_ref()))
            .unwrap_or_else(|| "application/octet-stream".into());
        let known_rule = if declared_type == "application/octet-stream" {
            None
        } else {
            Some(
                config
                    .rule_for(&declared_type)
                    .ok_or_else(|| unsupported(config, index))?
                    .0,
            )
        };
        // What the `files` field said of this part, if it was sent.
        let announced = match &form.declared {
            None => None,
            Some(d) => {
                let f = d.files.get(index).ok_or_else(|| {
                    UploadError::new(ErrorCode::TooManyFiles, "more files than `files` declared")
                        .with_data(json!({ "max": d.files.len() }))
                })?;
                if known_rule.is_some() && f.content_type != declared_type {
                    return Err(UploadError::new(
                        ErrorCode::UnsupportedType,
                        "a file's type is not the one `files` declared",
                    )
                    .with_data(json!({ "index": index })));
                }
                Some(f.clone())
            }
        };
        if form.authorized.is_none() {
            authorize(
                &route,
                &req,
                &mut form,
                (&filename, &declared_type, known_rule),
            )
            .await?;
        }

        let per_file = known_rule.map_or(config.largest_file_size(), |i| {
            config.types[i].max_file_size
        });
        let budget = config
            .max_total_size
            .map_or(u64::MAX, |t| t.saturating_sub(total_bytes));
        let exp = Expectation {
            exact_size: announced.as_ref().map(|f| f.size),
            max_size: per_file.min(budget),
            min_size: 0,
            declared_type: announced
                .as_ref()
                .map_or(declared_type, |f| f.content_type.clone()),
            rule_type: known_rule.map(|i| config.types[i].file_type.clone()),
            sha256: announced.as_ref().and_then(|f| f.sha256.clone()),
            crc32: None,
        };
        let body = futures_util::stream::iter(first.take().map(Ok)).chain(field);
        let key = new_key();
        let target = Target::Key(key.clone());
        let got = receive(&shared, target, &exp, body).await.map_err(|e| {
            if e.code() == ErrorCode::TooLarge && per_file > budget {
                UploadError::new(
                    ErrorCode::TooLarge,
                    "the files exceed this route's total size per upload",
                )
                .with_data(json!({ "limit": config.max_total_size }))
            } else {
                e
            }
        })?;
        let (rule_idx, rule) = config
            .rule_for(&got.content_type)
            .ok_or_else(|| unsupported(config, index))?;
        if got.size > rule.max_file_size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "file {index} is {} bytes; {} files may be at most {} bytes",
                    got.size,
                    rule.file_type.as_str(),
                    rule.max_file_size
                ),
            )
            .with_data(json!({ "index": index, "size": got.size, "limit": rule.max_file_size })));
        }
        counts[rule_idx] += 1;
        if counts[rule_idx] > rule.max_file_count {
            return Err(UploadError::new(
                ErrorCode::TooManyFiles,
                format!(
                    "at most {} {} files are allowed",
                    rule.max_file_count,
                    rule.file_type.as_str()
                ),
            )
            .with_data(json!({ "type": rule.file_type.as_str(), "max": rule.max_file_count })));
        }
        total_bytes += got.size;
        caller_limits(
            &shared.limits,
            &usage,
            form.received.len() as u64 + 1,
            total_bytes,
        )?;
        // The middleware's name and custom id for the files it saw; the part's own name else.
        let (name, custom_id) = match form
            .authorized
            .as_ref()
            .and_then(|(_, p)| p.files.get(index))
        {
            Some(f) => (f.name.clone(), f.custom_id.clone()),
            None => (sanitize_filename(&filename), None),
        };
        form.received.push((
            PendingFile {
                name,
                size: got.size,
                content_type: got.content_type.clone(),
                custom_id,
                sha256: None,
                rule: rule_idx,
            },
            (key, got),
        ));
    }

    if let Some(d) = &form.declared {
        if form.received.len() != d.files.len() {
            return Err(UploadError::new(
                ErrorCode::TooFewFiles,
                "fewer files arrived than `files` declared",
            )
            .with_data(json!({ "min": d.files.len() })));
        }
    }
    let (files, staged): (Vec<PendingFile>, Vec<(String, Ingested)>) =
        form.received.into_iter().unzip();
    let pending = PendingFiles { files };
    check_counts(config, &pending)?;
    let Some((meta, _)) = form.authorized else {
        return Err(UploadError::internal_msg(
            "files were received without the middleware",
        ));
    };

    // Commit under fresh keys, then record all files in one transaction.
    let now = now_ms();
    let mut rows = Vec::with_capacity(staged.len());
    for (f, (key, got)) in pending.files.iter().zip(staged) {
        let stored = stored_info(&got);
        if let Err(e) = got.staged.commit().await {
            rollback(&shared, &rows).await;
            return Err(commit_error(e));
        }
        let rule = &config.types[f.rule];
        rows.push(NewUpload {
            key,
            slug: config.slug.to_string(),
            status: UploadStatus::Completing,
            name: f.name.clone(),
            custom_id: f.custom_id.clone(),
            size: f.size,
            content_type: f.content_type.clone(),
            declared_sha256: None,
            acl: rule.acl,
            content_disposition: rule.content_disposition,
            metadata: meta.clone(),
            expires_at: now,
            created_at: now,
            stored: Some(stored),
            caller: Some(caller.clone()),
            reserved: None,
        });
    }
    if let Err(e) = shared
        .records
        .insert_batched(rows.clone(), Some(&shared.instance_id))
        .await
    {
        rollback(&shared, &rows).await;
        return Err(e.into());
    }

    let origin = origin(&shared, &req);
    let mut results = Vec::with_capacity(rows.len());
    let mut first_error = None;
    for row in &rows {
        tracing::info!(slug = %row.slug, key = %crate::sanitize::log_tag(&row.key), bytes = row.size, outcome = "stored", "multipart file stored");
        // The record as just inserted: no read back.
        let mut rec = row.as_record();
        let file = uploaded_file(&shared, &origin, &rec)
            .ok_or_else(|| UploadError::internal_msg("a stored record has no file"))?;
        match hand_off(&shared, &route, meta.clone(), file).await {
            // The hook answered and its outcome is recorded.
            Ok(Some(data)) => {
                rec.status = UploadStatus::Complete;
                rec.server_data = Some(data);
            }
            // The hook runs on its own; the file is `completing` until it answers.
            Ok(None) => {}
            // Failed: the record says how (or the sweep got there first).
            Err(e) => {
                first_error.get_or_insert(e);
                rec = shared
                    .records
                    .get(&row.key)
                    .await?
                    .ok_or_else(|| UploadError::internal_msg("record vanished"))?;
            }
        }
        results.push(upload_result(&shared, &origin, &rec));
    }
    let body = MultipartResponse { files: results };
    match first_error {
        // The client never hangs and never misses a failed hook: the error, with every file's state.
        Some(e) => {
            let with_files = e
                .clone()
                .with_data(json!({ "hook": e.data(), "files": body.files }));
            Err(with_files)
        }
        None => Ok(HttpResponse::Ok().json(body)),
    }
}

async fn rollback(shared: &Shared, rows: &[NewUpload]) {
    for r in rows {
        let _ = shared.storage.delete(&r.key).await;
    }
}
