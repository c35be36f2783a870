//! Concatenation: `Upload-Concat: final;<url> <url> …` joins finished partial uploads of the
//! same route, in order, and stores the result through the completion path at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::db::TusState;
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadStatus;
use crate::state::now_ms;
use crate::state::Shared;

use crate::pipeline::checks::{limit_for, too_large};
use crate::state::origin;

use super::creation::{admit, new_row};
use super::lock::Lock;
use super::{authorize, tus_dir, tus_response, upload_path};

/// The id in a partial upload's URL, absolute or relative.
fn id_of(shared: &Shared, url: &str) -> Result<String, UploadError> {
    let marker = format!("{}/tus/", shared.base_path);
    let start = url.find(&marker).map(|i| i + marker.len()).ok_or_else(|| {
        UploadError::bad_request("Upload-Concat names a URL that is not an upload of this server")
    })?;
    let id = url[start..]
        .split(['?', '#', '/'])
        .next()
        .unwrap_or_default();
    Ok(id.to_string())
}

/// The key of a partial upload's URL, checked against its capability.
pub(crate) fn key_of(shared: &Shared, url: &str) -> Result<String, UploadError> {
    authorize(shared, &id_of(shared, url)?)
}

pub(crate) async fn create_final(
    shared: Arc<Shared>,
    req: HttpRequest,
    route: Arc<Route>,
    urls: &[String],
    meta: &BTreeMap<String, Vec<u8>>,
    raw_meta: Option<String>,
) -> Result<HttpResponse, UploadError> {
    if super::headers::header(&req, "upload-length").is_some() {
        return Err(UploadError::bad_request(
            "a final upload takes no Upload-Length",
        ));
    }
    let dir = tus_dir(&shared)?.to_path_buf();
    let mut keys = Vec::with_capacity(urls.len());
    for url in urls {
        let key = authorize(&shared, &id_of(&shared, url)?)?;
        if keys.contains(&key) {
            return Err(UploadError::bad_request("a partial upload is listed twice"));
        }
        keys.push(key);
    }
    // Lock every partial so nothing writes to or terminates them while they are joined.
    let mut locks = Vec::with_capacity(keys.len());
    let mut total: u64 = 0;
    for key in &keys {
        locks.push(Lock::take(&shared, key).await?);
        let (rec, tus) = shared
            .records
            .tus_get(key, now_ms())
            .await?
            .ok_or_else(|| UploadError::not_found("no such partial upload"))?;
        if rec.slug != route.slug() {
            return Err(UploadError::bad_request(
                "a partial upload belongs to another route",
            ));
        }
        if rec.status != UploadStatus::Uploading || rec.expires_at <= now_ms() {
            return Err(UploadError::new(
                ErrorCode::Expired,
                "a partial upload is gone",
            ));
        }
        if !tus.is_partial() || tus.length != Some(tus.offset) {
            return Err(UploadError::bad_request(
                "every upload listed must be a finished partial upload",
            ));
        }
        total += tus.offset;
    }
    let admitted = admit(&shared, &req, &route, meta, total, false).await?;
    let limit = limit_for(&route, &admitted.file.content_type);
    if total > limit {
        return Err(too_large(total, limit));
    }
    // The final upload takes over the partials' reservation (they are dropped below): no
    // new room is asked of the caller's limits.
    let caller = crate::state::caller_tag(&shared, &req);
    let row = new_row(&shared, &route, &admitted, total, Some(caller), None);
    let concat = format!(
        "final;{}",
        keys.iter()
            .map(|k| upload_path(&shared, k))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let tus = TusState {
        offset: total,
        length: Some(total),
        concat: Some(concat),
        metadata: raw_meta,
        locked: false,
    };
    shared.records.tus_insert(&row, &tus).await?;
    // Locked while it is joined and stored, so HEAD waits for the outcome; after a crash, the
    // lock is released and HEAD joins the parts again.
    let final_lock = Lock::take(&shared, &row.key).await?;
    let alive: Vec<_> = locks
        .iter()
        .chain([&final_lock])
        .map(Lock::keep_alive)
        .collect();
    let rec = shared
        .records
        .get(&row.key)
        .await?
        .ok_or_else(|| UploadError::internal_msg("record vanished after insert"))?;
    let origin = origin(&shared, &req);
    let parts = keys.iter().map(|k| dir.join(k)).collect();
    let result = super::finish::finish(&shared, &origin, &route, &rec, parts, total, None).await;
    drop(alive);
    final_lock.release().await;
    // The partials' bytes are consumed either way (finish removed their files): drop them.
    for (key, lock) in keys.iter().zip(locks) {
        let _ = shared.records.tus_delete(key).await;
        lock.release().await;
    }
    let server_data = result?;
    let mut res = tus_response(StatusCode::CREATED);
    res.insert_header((
        "Location",
        format!("{origin}{}", upload_path(&shared, &row.key)),
    ));
    super::name_upload(&mut res, &shared, &origin, &row.key);
    if let Some(data) = server_data {
        res.insert_header((super::SERVER_DATA_HEADER, super::patch::encode_data(&data)));
    }
    Ok(res.finish())
}
