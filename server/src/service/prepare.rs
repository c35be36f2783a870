//! `POST {base}/{slug}`: input → files against the config → middleware → records → signed URLs.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::config::{Limits, Uplift};
use crate::db::NewUpload;
use crate::definition::{PendingFile, PendingFiles};
use crate::error::{ErrorCode, UploadError};
use crate::protocol::{
    FileDeclaration, PrepareRequest, PrepareResponse, PreparedUpload, UploadStatus,
};
use crate::route::{normalize_mime, RouteConfig};
use crate::sanitize::sanitize_filename;
use crate::signing::UploadGrant;

use super::{new_key, now_ms, origin};

pub(crate) async fn prepare(
    up: web::Data<Uplift>,
    req: HttpRequest,
    slug: web::Path<String>,
    body: web::Json<PrepareRequest>,
) -> Result<HttpResponse, UploadError> {
    let shared = &up.shared;
    let route = shared
        .router
        .get(&slug)
        .ok_or_else(|| UploadError::not_found(format!("no file route `{slug}`")))?
        .clone();
    let PrepareRequest { files, input } = body.into_inner();

    let input = route.parse_input(input)?;
    let pending = check_declarations(route.config(), &files, &shared.limits)?;
    let (meta, pending) = route.run_middleware(req.clone(), input, pending).await?;

    let config = route.config();
    let now = now_ms();
    let ttl_ms = shared.limits.upload_url_ttl.as_millis() as i64;
    let expires_at = now + ttl_ms;
    let rows: Vec<NewUpload> = pending
        .files
        .iter()
        .map(|f| {
            let rule = &config.types[f.rule];
            NewUpload {
                key: new_key(),
                slug: config.slug.to_string(),
                status: UploadStatus::Pending,
                name: f.name.clone(),
                custom_id: f.custom_id.clone(),
                size: f.size,
                content_type: f.content_type.clone(),
                declared_sha256: f.sha256.clone(),
                acl: rule.acl,
                content_disposition: rule.content_disposition,
                metadata: meta.clone(),
                expires_at,
                created_at: now,
                stored: None,
            }
        })
        .collect();
    shared.records.insert(&rows).await?;

    let origin = origin(shared, &req);
    let expires_secs = expires_at / 1000;
    let prepared = rows
        .iter()
        .map(|row| {
            let grant = UploadGrant {
                key: &row.key,
                expires: expires_secs,
                size: row.size,
                content_type: &row.content_type,
                sha256: row.declared_sha256.as_deref(),
            };
            let sig = shared.signer.sign_upload(&grant);
            let mut query = vec![
                ("expires", expires_secs.to_string()),
                ("size", row.size.to_string()),
                ("type", row.content_type.clone()),
            ];
            if let Some(sha) = &row.declared_sha256 {
                query.push(("sha256", sha.clone()));
            }
            query.push(("sig", sig));
            let query = serde_urlencoded::to_string(&query).expect("plain strings encode");
            let mut headers = BTreeMap::new();
            headers.insert("content-type".to_string(), row.content_type.clone());
            tracing::info!(slug = %row.slug, key = %row.key, bytes = row.size, outcome = "prepared", "upload prepared");
            PreparedUpload {
                key: row.key.clone(),
                name: row.name.clone(),
                custom_id: row.custom_id.clone(),
                size: row.size,
                content_type: row.content_type.clone(),
                upload_url: format!("{origin}{}/upload/{}?{query}", shared.base_path, row.key),
                method: "PUT".into(),
                headers,
                expires_at: expires_secs * 1000,
                status_url: format!("{origin}{}/files/{}", shared.base_path, row.key),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(PrepareResponse {
        slug: config.slug.to_string(),
        await_server_data: config.await_server_data,
        files: prepared,
    }))
}

/// Checks every announced file against the route, before the middleware runs.
pub(crate) fn check_declarations(
    config: &RouteConfig,
    files: &[FileDeclaration],
    limits: &Limits,
) -> Result<PendingFiles, UploadError> {
    if files.len() > limits.max_files_per_request {
        return Err(
            UploadError::new(ErrorCode::TooManyFiles, "too many files in one request")
                .with_data(json!({ "max": limits.max_files_per_request })),
        );
    }
    let mut pending = Vec::with_capacity(files.len());
    for f in files {
        let content_type = normalize_mime(&f.content_type).ok_or_else(|| {
            UploadError::new(
                ErrorCode::UnsupportedType,
                format!("`{}` is not a MIME type", f.content_type),
            )
            .with_data(json!({ "name": f.name }))
        })?;
        let (rule_idx, rule) = config
            .rule_for(&content_type)
            .ok_or_else(|| unsupported(config, &f.name, &content_type))?;
        if f.size > rule.max_file_size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "`{}` is {} bytes; {} files may be at most {} bytes",
                    f.name,
                    f.size,
                    rule.file_type.as_str(),
                    rule.max_file_size
                ),
            )
            .with_data(json!({ "name": f.name, "size": f.size, "limit": rule.max_file_size })));
        }
        let sha256 = match &f.sha256 {
            Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(s.to_ascii_lowercase())
            }
            Some(_) => {
                return Err(UploadError::bad_request(
                    "sha256 must be 64 hexadecimal characters",
                ))
            }
            None => None,
        };
        pending.push(PendingFile {
            name: sanitize_filename(&f.name),
            size: f.size,
            content_type,
            custom_id: None,
            sha256,
            rule: rule_idx,
        });
    }
    let files = PendingFiles { files: pending };
    check_counts(config, &files)?;
    Ok(files)
}

pub(crate) fn unsupported(config: &RouteConfig, name: &str, content_type: &str) -> UploadError {
    let accepted: Vec<&str> = config.types.iter().map(|r| r.file_type.pattern()).collect();
    UploadError::new(
        ErrorCode::UnsupportedType,
        format!(
            "`{name}` is {content_type}, which this route does not accept (accepted: {})",
            accepted.join(", ")
        ),
    )
    .with_data(json!({ "name": name, "type": content_type, "accepted": accepted }))
}

/// Counts per type and in total. A type's minimum applies when files of that type are sent
/// (as in UploadThing); every upload needs at least one file.
pub(crate) fn check_counts(config: &RouteConfig, files: &PendingFiles) -> Result<(), UploadError> {
    if files.is_empty() {
        return Err(
            UploadError::new(ErrorCode::TooFewFiles, "no files were sent")
                .with_data(json!({ "min": 1 })),
        );
    }
    for (i, rule) in config.types.iter().enumerate() {
        let n = files.iter().filter(|f| f.rule == i).count() as u32;
        let ty = rule.file_type.as_str();
        if n > rule.max_file_count {
            return Err(UploadError::new(
                ErrorCode::TooManyFiles,
                format!(
                    "{n} {ty} files were sent; at most {} are allowed",
                    rule.max_file_count
                ),
            )
            .with_data(json!({ "type": ty, "count": n, "max": rule.max_file_count })));
        }
        if n > 0 && n < rule.min_file_count {
            return Err(UploadError::new(
                ErrorCode::TooFewFiles,
                format!(
                    "{n} {ty} files were sent; at least {} are required",
                    rule.min_file_count
                ),
            )
            .with_data(json!({ "type": ty, "count": n, "min": rule.min_file_count })));
        }
    }
    if let Some(max) = config.max_total_file_count {
        if files.len() as u32 > max {
            return Err(UploadError::new(
                ErrorCode::TooManyFiles,
                format!(
                    "{} files were sent; this route takes at most {max} per upload",
                    files.len()
                ),
            )
            .with_data(json!({ "count": files.len(), "max": max })));
        }
    }
    if let Some(max) = config.max_total_size {
        let total = files.total_size();
        if total > max {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!("the files total {total} bytes; this route takes at most {max} per upload"),
            )
            .with_data(json!({ "size": total, "limit": max })));
        }
    }
    Ok(())
}
