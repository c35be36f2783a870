//! `POST {base}/{slug}`: input → files against the config → middleware → records → signed URLs.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::NewUpload;
use crate::error::UploadError;
use crate::pipeline::checks::admit_declared;
use crate::pipeline::views::status_url;
use crate::pipeline::{self};
use crate::protocol::{
    MultipartPlan, PrepareRequest, PrepareResponse, PreparedUpload, UploadStatus,
};

use super::direct_multipart;
use crate::signing::UploadGrant;
use crate::state::{new_key, now_ms, origin, Shared};

pub(crate) async fn prepare(
    shared: web::Data<Shared>,
    req: HttpRequest,
    slug: web::Path<String>,
    body: web::Json<PrepareRequest>,
) -> Result<HttpResponse, UploadError> {
    let shared = &shared;
    let route = pipeline::route(shared, &slug)?;
    let PrepareRequest { files, input } = body.into_inner();
    let (meta, pending, caller) = admit_declared(shared, &req, &route, &files, input).await?;

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
                caller: Some(caller.clone()),
                reserved: None,
            }
        })
        .collect();
    shared.records.insert_prepared(rows.clone()).await?;

    let origin = origin(shared, &req);
    let expires_secs = expires_at / 1000;
    let mut prepared = Vec::with_capacity(rows.len());
    for row in &rows {
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
        let own_url = format!("{origin}{}/upload/{}", shared.base_path, row.key);
        let own_put = || {
            let mut headers = BTreeMap::new();
            headers.insert("content-type".to_string(), row.content_type.clone());
            (format!("{own_url}?{query}"), headers)
        };
        let complete = || Some(format!("{own_url}/complete?{query}"));
        let ((upload_url, headers), complete_url, multipart) =
            match direct(shared, row, expires_at - now, &own_url, &query).await? {
                Some(Direct::Put(put)) => ((put.url, put.headers), complete(), None),
                // Parts go to the bucket (the plan has its own completion URL); a client that
                // knows no plans PUTs through us, as without one.
                Some(Direct::Parts(plan)) => (own_put(), None, Some(plan)),
                None => (own_put(), None, None),
            };
        tracing::info!(slug = %row.slug, key = %crate::sanitize::log_tag(&row.key), bytes = row.size, direct = complete_url.is_some() || multipart.is_some(), parts = multipart.is_some(), outcome = "prepared", "upload prepared");
        prepared.push(PreparedUpload {
            key: row.key.clone(),
            name: row.name.clone(),
            custom_id: row.custom_id.clone(),
            size: row.size,
            content_type: row.content_type.clone(),
            upload_url,
            method: "PUT".into(),
            headers,
            complete_url,
            multipart,
            expires_at: expires_secs * 1000,
            status_url: status_url(shared, &origin, &row.key),
        });
    }
    Ok(HttpResponse::Ok().json(PrepareResponse {
        slug: config.slug.to_string(),
        await_server_data: config.await_server_data,
        files: prepared,
    }))
}

/// How a file's bytes go straight to the bucket.
enum Direct {
    /// One presigned `PUT`.
    Put(crate::storage::DirectPut),
    /// A multipart upload (files above `UpliftBuilder::direct_multipart_threshold`).
    Parts(MultipartPlan),
}

/// How `row`'s bytes go straight to the store, when they may: the app allows it, the backend
/// can, and the client declared the SHA-256 the bucket (or, in parts, the completion) enforces.
async fn direct(
    shared: &Shared,
    row: &NewUpload,
    ttl_ms: i64,
    own_url: &str,
    query: &str,
) -> Result<Option<Direct>, UploadError> {
    let (Some(store), Some(sha256)) = (shared.storage.as_direct(), &row.declared_sha256) else {
        return Ok(None);
    };
    if !shared.direct_uploads {
        return Ok(None);
    }
    let ttl = std::time::Duration::from_millis(ttl_ms.max(1000) as u64);
    if direct_multipart::in_parts(shared, store, row.size) {
        let plan = direct_multipart::plan(
            store,
            &row.key,
            &row.content_type,
            row.size,
            own_url,
            query,
            ttl,
        )
        .await?;
        return Ok(Some(Direct::Parts(plan)));
    }
    store
        .presign_put(&row.key, &row.content_type, row.size, sha256, ttl)
        .map(|put| Some(Direct::Put(put)))
        .map_err(UploadError::internal)
}
