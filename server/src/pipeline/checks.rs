//! The route's rules, checked before the middleware runs and again on the bytes: counts,
//! sizes and types per file and per upload.

use serde_json::json;

use crate::db::CallerUsage;
use crate::definition::{PendingFile, PendingFiles, Route};
use crate::error::{ErrorCode, UploadError};
use crate::protocol::FileDeclaration;
use crate::route::{normalize_mime, RouteConfig};
use crate::sanitize::sanitize_filename;
use crate::state::{now_ms, Limits, Shared};

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
    // Files are named by their index: a refusal never repeats a name or type that was sent.
    for (index, f) in files.iter().enumerate() {
        crate::sanitize::check_raw_name(&f.name, index)?;
        if f.content_type.len() > crate::sanitize::MAX_MIME_BYTES {
            return Err(UploadError::bad_request(format!(
                "the type of file {index} is longer than {} bytes",
                crate::sanitize::MAX_MIME_BYTES
            ))
            .with_data(json!({ "index": index, "limit": crate::sanitize::MAX_MIME_BYTES })));
        }
        let content_type = normalize_mime(&f.content_type).ok_or_else(|| {
            UploadError::new(
                ErrorCode::UnsupportedType,
                format!("the type of file {index} is not a MIME type"),
            )
            .with_data(json!({ "index": index }))
        })?;
        let (rule_idx, rule) = config
            .rule_for(&content_type)
            .ok_or_else(|| unsupported(config, index))?;
        if f.size > rule.max_file_size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "file {index} is {} bytes; {} files may be at most {} bytes",
                    f.size,
                    rule.file_type.as_str(),
                    rule.max_file_size
                ),
            )
            .with_data(json!({ "index": index, "size": f.size, "limit": rule.max_file_size })));
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

/// File `index` (of the request) has a type the route does not take. Neither its name nor its
/// type is repeated: the client knows them, and an error must not echo what was sent.
pub(crate) fn unsupported(config: &RouteConfig, index: usize) -> UploadError {
    let accepted: Vec<&str> = config.types.iter().map(|r| r.file_type.pattern()).collect();
    UploadError::new(
        ErrorCode::UnsupportedType,
        format!(
            "the type of file {index} is not accepted by this route (accepted: {})",
            accepted.join(", ")
        ),
    )
    .with_data(json!({ "index": index, "accepted": accepted }))
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

/// An upload larger than the route takes.
pub(crate) fn too_large(size: u64, max: u64) -> UploadError {
    UploadError::new(
        ErrorCode::TooLarge,
        format!("the upload is {size} bytes; this route takes at most {max}"),
    )
    .with_data(json!({ "size": size, "limit": max }))
}

/// The largest single file the route takes, whatever its type.
pub(crate) fn route_max(route: &Route) -> u64 {
    let config = route.config();
    let per_type = config.largest_file_size();
    config.max_total_size.map_or(per_type, |t| t.min(per_type))
}

/// The most bytes one upload of this type may have on this route.
pub(crate) fn limit_for(route: &Route, content_type: &str) -> u64 {
    let per_type = route
        .config()
        .rule_for(content_type)
        .map(|(_, r)| r.max_file_size)
        .unwrap_or_else(|| route_max(route));
    route
        .config()
        .max_total_size
        .map_or(per_type, |t| t.min(per_type))
}

/// A type sniffed from an undeclared (octet-stream) upload must still be one the route takes.
pub(crate) fn check_sniffed(route: &Route, sniffed: &str) -> Result<(), UploadError> {
    if route.config().rule_for(sniffed).is_none() {
        return Err(unsupported(route.config(), 0));
    }
    Ok(())
}

/// A request that declares its files before sending them (prepare, UploadThing's upload
/// request) through the route's pipeline, in order: the input, the files against the route's
/// config, the middleware with the request, the caller's limits. Answers the middleware's
/// metadata, the files as it left them, and the caller's tag.
pub(crate) async fn admit_declared(
    shared: &Shared,
    req: &actix_web::HttpRequest,
    route: &Route,
    files: &[FileDeclaration],
    input: serde_json::Value,
) -> Result<(serde_json::Value, PendingFiles, String), UploadError> {
    let input = route.parse_input(input)?;
    let pending = check_declarations(route.config(), files, &shared.limits)?;
    let (meta, pending) = route.run_middleware(req.clone(), input, pending).await?;
    let caller = crate::state::caller_tag(shared, req);
    check_caller(
        shared,
        &caller,
        pending.files.len() as u64,
        pending.total_size(),
    )
    .await?;
    Ok((meta, pending, caller))
}

/// Refuses with `429 TOO_MANY_REQUESTS` when `caller`'s unfinished uploads plus `files` more
/// reserving `bytes` more would pass a per-caller limit; `data` names the limit, its value and
/// the caller's current use. Checked before inserting, so concurrent requests of one caller may
/// together pass a limit by what they add.
pub(crate) async fn check_caller(
    shared: &Shared,
    caller: &str,
    files: u64,
    bytes: u64,
) -> Result<(), UploadError> {
    let usage = caller_usage(shared, caller).await?;
    caller_limits(&shared.limits, &usage, files, bytes)
}

/// `caller`'s unfinished uploads, counted only when a per-caller limit is set (without one
/// there is nothing to check them against).
pub(crate) async fn caller_usage(
    shared: &Shared,
    caller: &str,
) -> Result<CallerUsage, UploadError> {
    let limits = &shared.limits;
    if limits.max_unfinished_per_caller.is_none() && limits.max_reserved_bytes_per_caller.is_none()
    {
        return Ok(CallerUsage::default());
    }
    Ok(shared.records.caller_usage(caller, now_ms()).await?)
}

/// [`check_caller`] against a usage read earlier (multipart checks each file as it arrives).
pub(crate) fn caller_limits(
    limits: &Limits,
    usage: &CallerUsage,
    files: u64,
    bytes: u64,
) -> Result<(), UploadError> {
    if let Some(max) = limits.max_unfinished_per_caller {
        if usage.unfinished.saturating_add(files) > u64::from(max) {
            return Err(UploadError::new(
                ErrorCode::TooManyRequests,
                format!("at most {max} unfinished uploads per caller; finish or wait for some"),
            )
            .with_data(json!({
                "limit": "max_unfinished_per_caller",
                "max": max,
                "unfinished": usage.unfinished,
                "requested": files,
            })));
        }
    }
    if let Some(max) = limits.max_reserved_bytes_per_caller {
        if usage.reserved_bytes.saturating_add(bytes) > max {
            return Err(UploadError::new(
                ErrorCode::TooManyRequests,
                format!(
                    "at most {max} bytes of unfinished uploads per caller; finish or wait for some"
                ),
            )
            .with_data(json!({
                "limit": "max_reserved_bytes_per_caller",
                "max": max,
                "reserved": usage.reserved_bytes,
                "requested": bytes,
            })));
        }
    }
    Ok(())
}
