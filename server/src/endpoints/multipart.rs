//! `POST {base}/{slug}/multipart`: files and `input` in one multipart/form-data request,
//! for curl, server code and HTML forms without JavaScript.
//!
//! Each file streams through the same ingest pass into an invisible staged write, checked
//! against its type's limits as it arrives. Only when every file has passed, and the
//! middleware has agreed, are the files committed and recorded: all or nothing.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::db::NewUpload;
use crate::definition::{PendingFile, PendingFiles};
use crate::error::{ErrorCode, UploadError};
use crate::form::{multipart_error, read_small};
use crate::ingest::{Expectation, Ingested};
use crate::pipeline::checks::{check_counts, unsupported};
use crate::pipeline::complete::hand_off;
use crate::pipeline::store::{commit_error, receive, stored_info};
use crate::pipeline::views::{upload_result, uploaded_file};
use crate::pipeline::{self};
use crate::protocol::{MultipartResponse, UploadStatus};
use crate::route::normalize_mime;
use crate::sanitize::sanitize_filename;
use crate::state::{new_key, now_ms, origin, Shared};

pub(crate) async fn multipart(
    shared: web::Data<Shared>,
    req: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let shared = shared.into_inner();
    let route = pipeline::route(&shared, &slug)?;
    let config = route.config();
    let mut form = Multipart::new(req.headers(), payload);

    let mut input = None;
    let mut received: Vec<(PendingFile, Ingested)> = Vec::new();
    let mut counts = vec![0u32; config.types.len()];
    let mut total_bytes: u64 = 0;
    let max_files = config.max_files() as usize;

    while let Some(mut field) = form.try_next().await.map_err(multipart_error)? {
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
        let Some(filename) = filename else {
            if field_name == "input" {
                if !received.is_empty() || input.is_some() {
                    return Err(UploadError::bad_request(
                        "send the `input` field once, before the files",
                    ));
                }
                let raw = read_small(field, shared.limits.max_input_field).await?;
                let value: Value = if raw.iter().all(u8::is_ascii_whitespace) {
                    Value::Null
                } else {
                    serde_json::from_slice(&raw).map_err(|e| {
                        UploadError::new(
                            ErrorCode::InvalidInput,
                            format!("the `input` field is not JSON: {e}"),
                        )
                    })?
                };
                input = Some(route.parse_input(value)?);
            } else {
                // Unknown text fields are read (bounded) and ignored.
                read_small(field, shared.limits.max_input_field).await?;
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
        if input.is_none() {
            // No input field before the first file: the route gets `null` — validated now,
            // before any file byte is accepted.
            input = Some(route.parse_input(Value::Null)?);
        }
        if received.len() >= max_files {
            return Err(UploadError::new(
                ErrorCode::TooManyFiles,
                format!("this route takes at most {max_files} files per upload"),
            )
            .with_data(json!({ "max": max_files })));
        }

        let declared = field
            .content_type()
            .and_then(|m| normalize_mime(m.as_ref()))
            .unwrap_or_else(|| "application/octet-stream".into());
        let known_rule = if declared == "application/octet-stream" {
            None
        } else {
            Some(
                config
                    .rule_for(&declared)
                    .ok_or_else(|| unsupported(config, &filename, &declared))?
                    .0,
            )
        };
        let per_file = known_rule.map_or(config.largest_file_size(), |i| {
            config.types[i].max_file_size
        });
        let budget = config
            .max_total_size
            .map_or(u64::MAX, |t| t.saturating_sub(total_bytes));
        let exp = Expectation {
            exact_size: None,
            max_size: per_file.min(budget),
            min_size: 0,
            declared_type: declared,
            rule_type: known_rule.map(|i| config.types[i].file_type.clone()),
            sha256: None,
            crc32: None,
        };
        let body = futures_util::stream::iter(first.take().map(Ok)).chain(field);
        let got = receive(&shared, &exp, body).await.map_err(|e| {
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
            .ok_or_else(|| unsupported(config, &filename, &got.content_type))?;
        if got.size > rule.max_file_size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "`{filename}` is {} bytes; {} files may be at most {} bytes",
                    got.size,
                    rule.file_type.as_str(),
                    rule.max_file_size
                ),
            )
            .with_data(
                json!({ "name": filename, "size": got.size, "limit": rule.max_file_size }),
            ));
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
        received.push((
            PendingFile {
                name: sanitize_filename(&filename),
                size: got.size,
                content_type: got.content_type.clone(),
                custom_id: None,
                sha256: None,
                rule: rule_idx,
            },
            got,
        ));
    }

    let input = match input {
        Some(i) => i,
        None => route.parse_input(Value::Null)?,
    };
    let (files, staged): (Vec<PendingFile>, Vec<Ingested>) = received.into_iter().unzip();
    let pending = PendingFiles { files };
    check_counts(config, &pending)?;
    let (meta, pending) = route.run_middleware(req.clone(), input, pending).await?;

    // Commit under fresh keys, then record all files in one transaction.
    let now = now_ms();
    let mut rows = Vec::with_capacity(staged.len());
    for (f, got) in pending.files.iter().zip(staged) {
        let key = new_key();
        let stored = stored_info(&got);
        if let Err(e) = got.staged.commit(&key).await {
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
        });
    }
    if let Err(e) = shared
        .records
        .insert_as(&rows, Some(&shared.instance_id))
        .await
    {
        rollback(&shared, &rows).await;
        return Err(e.into());
    }

    let origin = origin(&shared, &req);
    let mut results = Vec::with_capacity(rows.len());
    let mut first_error = None;
    for row in &rows {
        tracing::info!(slug = %row.slug, key = %row.key, bytes = row.size, outcome = "stored", "multipart file stored");
        let rec = shared
            .records
            .get(&row.key)
            .await?
            .ok_or_else(|| UploadError::internal_msg("record vanished"))?;
        let file = uploaded_file(&shared, &origin, &rec)
            .ok_or_else(|| UploadError::internal_msg("a stored record has no file"))?;
        if let Err(e) = hand_off(&shared, &route, meta.clone(), file).await {
            first_error.get_or_insert(e);
        }
        let rec = shared
            .records
            .get(&row.key)
            .await?
            .ok_or_else(|| UploadError::internal_msg("record vanished"))?;
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
