//! Concatenation: `Upload-Concat: final;<url> <url> …` joins partial uploads of the same route,
//! in order, into one upload stored through the completion path.
//!
//! The parts may still be receiving bytes when the final upload is created
//! (concatenation-unfinished): it is accepted at once and waits. It is joined as soon as every
//! part has all its bytes — by the PATCH that brings the last one, by the creation itself when
//! the parts are already finished, and otherwise (a server that stopped in between) lazily by a
//! HEAD of the final upload or by the sweep.
//!
//! The final upload claims its parts when it is created, in one transaction
//! (`Records::tus_insert_final`): a part belongs to one final upload at a time, cannot be
//! terminated while that one waits for it, and shares its expiry (a PATCH to any part pushes
//! back the expiry of all). The join runs under the final upload's lock and every part's lock,
//! so nothing writes to, terminates or sweeps a part while it is read; after a crash the locks
//! run out (or recovery releases them) and the next HEAD or sweep joins it again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use crate::db::{TusPart, TusState, UploadRecord};
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::pipeline::checks::{limit_for, too_large};
use crate::pipeline::complete::{self, Hook};
use crate::pipeline::route_of_record;
use crate::protocol::UploadStatus;
use crate::state::{caller_tag, now_ms, origin, Shared};

use super::creation::{admit, new_row};
use super::lock::{lease_ms, Lock};
use super::{authorize, http_date, tus_response, tus_store, upload_path};

/// Final uploads the sweep joins per pass.
const JOIN_BATCH: i64 = 100;

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

/// The keys of the parts a final upload lists, in order.
fn part_keys(shared: &Shared, tus: &TusState) -> Result<Vec<String>, UploadError> {
    tus.concat
        .as_deref()
        .and_then(|c| c.strip_prefix("final;"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|u| key_of(shared, u))
        .collect()
}

fn part_gone() -> UploadError {
    UploadError::new(ErrorCode::Expired, "a partial upload is gone")
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
    tus_store(&shared)?;
    let mut keys = Vec::with_capacity(urls.len());
    for url in urls {
        let key = key_of(&shared, url)?;
        if keys.contains(&key) {
            return Err(UploadError::bad_request("a partial upload is listed twice"));
        }
        keys.push(key);
    }
    // What can be told before claiming: each part exists, is a partial upload of this route,
    // still uploading. Its length, when declared, counts against the route's limit now.
    let now = now_ms();
    let mut known: u64 = 0;
    for key in &keys {
        let (rec, tus) = shared
            .records
            .tus_get(key, now)
            .await?
            .ok_or_else(|| UploadError::not_found("no such partial upload"))?;
        if rec.slug != route.slug() {
            return Err(UploadError::bad_request(
                "a partial upload belongs to another route",
            ));
        }
        if !tus.is_partial() {
            return Err(UploadError::bad_request(
                "every upload listed must be a partial upload (Upload-Concat: partial)",
            ));
        }
        if rec.status != UploadStatus::Uploading || rec.expires_at <= now {
            return Err(part_gone());
        }
        known = known.saturating_add(tus.length.unwrap_or(0));
        // A claim whose final upload failed or went (a crash between the two) is void.
        shared.records.tus_release_stale_claim(key).await?;
    }
    let admitted = admit(&shared, &req, &route, meta, known, false).await?;
    let limit = limit_for(&route, &admitted.file.content_type);
    if known > limit {
        return Err(too_large(known, limit));
    }
    // The parts keep the room they reserved against the caller's limits until they are joined;
    // the final upload asks for none (it reserves 0 bytes), and once joined its size replaces
    // theirs.
    let caller = caller_tag(&shared, &req);
    let row = new_row(&shared, &route, &admitted, known, Some(caller), Some(0));
    let concat = format!(
        "final;{}",
        keys.iter()
            .map(|k| upload_path(&shared, k))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Offset 0 and no length while it waits; both become the sum when it is joined.
    let tus = TusState {
        offset: 0,
        length: None,
        concat: Some(concat),
        metadata: raw_meta,
        locked: false,
    };
    let origin = origin(&shared, &req);
    if let Some(i) = shared
        .records
        .tus_insert_final(&row, &tus, &origin, &keys, now_ms())
        .await?
    {
        return Err(match shared.records.tus_final_of(&keys[i]).await? {
            Some(_) => UploadError::new(
                ErrorCode::Conflict,
                "a partial upload is already part of another final upload",
            ),
            None => part_gone(),
        });
    }
    tracing::info!(slug = %row.slug, key = %crate::sanitize::log_tag(&row.key), parts = keys.len(), outcome = "created", "tus final upload created");
    let mut res = tus_response(StatusCode::CREATED);
    res.insert_header((
        "Location",
        format!("{origin}{}", upload_path(&shared, &row.key)),
    ));
    super::name_upload(&mut res, &shared, &origin, &row.key);
    // Parts that are all finished are joined at once, and this answer is the outcome.
    match join_detached(&shared, &origin, &row.key).await? {
        Joined::Done(result) => {
            if let Some(data) = result? {
                res.insert_header((super::SERVER_DATA_HEADER, super::patch::encode_data(&data)));
            }
        }
        _ => {
            res.insert_header(("Upload-Expires", http_date(row.expires_at)));
        }
    }
    Ok(res.finish())
}

/// What an attempt to join a final upload found.
pub(crate) enum Joined {
    /// A part still waits for bytes: the final upload's length, when every part's is known.
    Pending(Option<u64>),
    /// Another request holds the lock of the final upload or of a part: it is joining it, or
    /// terminating it, or it is the PATCH that just finished a part (and joins it next).
    Busy,
    /// Joined here: the completion hook's server data (on an `await_server_data` route), or why
    /// it failed (recorded, and told to `on_upload_error`).
    Done(Result<Option<Value>, UploadError>),
    /// Not a final upload waiting for its parts (any more): joined, failed, terminated,
    /// expired.
    Settled,
}

/// What the parts of a waiting final upload are.
enum Parts {
    /// Some part lacks bytes; the sum of the lengths when all are known.
    Waiting(Option<u64>),
    /// Every part has all its bytes: their total length.
    Ready(u64),
    /// A part is no longer there (the final upload can never be joined).
    Gone,
}

async fn inspect(shared: &Shared, key: &str, keys: &[String]) -> Result<Parts, UploadError> {
    let claimed = shared.records.tus_parts(key, now_ms()).await?;
    let by_key: HashMap<&str, &TusPart> = claimed.iter().map(|p| (p.key.as_str(), p)).collect();
    let mut total = Some(0u64);
    let mut ready = true;
    for k in keys {
        let Some(part) = by_key.get(k.as_str()) else {
            return Ok(Parts::Gone);
        };
        ready &= part.is_finished();
        total = match (total, part.length) {
            (Some(t), Some(l)) => Some(t.saturating_add(l)),
            _ => None,
        };
    }
    Ok(match (ready, total) {
        (true, Some(total)) => Parts::Ready(total),
        (_, total) => Parts::Waiting(total),
    })
}

/// Records the failure of a final upload that was never joined (and tells `on_upload_error`),
/// and frees its parts: they are ordinary partial uploads again.
async fn fail_final(shared: &Shared, route: &Route, rec: &UploadRecord, err: &UploadError) {
    complete::fail(shared, route, &rec.key, Some(rec.metadata.clone()), err).await;
    if let Err(e) = shared.records.tus_release_parts(&rec.key).await {
        tracing::warn!(key = %crate::sanitize::log_tag(&rec.key), error = %e, "could not release the parts of a failed final upload");
    }
}

/// Joins the final upload `key` if every part has all its bytes: under its lock and its parts'
/// locks, it records the total as its length, stores the parts one after another through the
/// completion path (the hook runs as `hook` says), and consumes the parts. Reads only, and
/// takes no lock, while a part still waits for bytes.
pub(crate) async fn join(
    shared: &Arc<Shared>,
    origin: &str,
    key: &str,
    hook: Hook,
) -> Result<Joined, UploadError> {
    let now = now_ms();
    let Some((rec, tus)) = shared.records.tus_get(key, now).await? else {
        return Ok(Joined::Settled);
    };
    if !tus.is_final() || rec.status != UploadStatus::Uploading || rec.expires_at <= now {
        return Ok(Joined::Settled);
    }
    let keys = part_keys(shared, &tus)?;
    if let Parts::Waiting(total) = inspect(shared, key, &keys).await? {
        return Ok(Joined::Pending(total));
    }
    let lock = match Lock::take(shared, key).await {
        Ok(lock) => lock,
        Err(e) if e.code() == ErrorCode::Locked => return Ok(Joined::Busy),
        Err(e) => return Err(e),
    };
    // Again under the lock: another request may have joined, failed or terminated it meanwhile.
    let rec = match shared.records.get(key).await? {
        Some(rec) if rec.status == UploadStatus::Uploading => rec,
        _ => {
            lock.release().await;
            return Ok(Joined::Settled);
        }
    };
    let route = route_of_record(shared, &rec)?;
    let total = match inspect(shared, key, &keys).await? {
        Parts::Waiting(total) => {
            lock.release().await;
            return Ok(Joined::Pending(total));
        }
        Parts::Gone => {
            let err = UploadError::new(
                ErrorCode::Expired,
                "a partial upload of this final upload is gone",
            );
            fail_final(shared, &route, &rec, &err).await;
            lock.release().await;
            return Ok(Joined::Done(Err(err)));
        }
        Parts::Ready(total) => total,
    };
    let limit = limit_for(&route, &rec.content_type);
    if total > limit {
        let err = too_large(total, limit);
        fail_final(shared, &route, &rec, &err).await;
        lock.release().await;
        return Ok(Joined::Done(Err(err)));
    }
    let mut part_locks: Vec<Lock> = Vec::with_capacity(keys.len());
    for k in &keys {
        match Lock::take(shared, k).await {
            Ok(l) => part_locks.push(l),
            Err(e) => {
                for l in part_locks {
                    l.release().await;
                }
                lock.release().await;
                return match e.code() {
                    ErrorCode::Locked => Ok(Joined::Busy),
                    _ => Err(e),
                };
            }
        }
    }
    // Every byte is here: the final upload's offset and length become the total (and its size,
    // which replaces the room its parts reserved). From here a crash leaves it to be joined
    // again by a HEAD or the sweep once the locks run out.
    let now = now_ms();
    let recorded = shared
        .records
        .tus_progress(
            key,
            &lock.owner,
            total,
            Some(total),
            Some(now + lease_ms(shared)),
            rec.expires_at,
            now,
        )
        .await?;
    let rec = match shared.records.get(key).await? {
        Some(rec) if recorded => rec,
        _ => {
            for l in part_locks {
                l.release().await;
            }
            return Ok(Joined::Busy);
        }
    };
    let alive: Vec<_> = part_locks
        .iter()
        .chain([&lock])
        .map(Lock::keep_alive)
        .collect();
    let result = super::finish::finish(
        shared,
        origin,
        &route,
        &rec,
        keys.clone(),
        total,
        None,
        hook,
    )
    .await;
    drop(alive);
    // The parts are consumed either way (finish removed their files); their locks go with them.
    for (k, mut l) in keys.iter().zip(part_locks) {
        if let Err(e) = shared.records.tus_delete(k).await {
            tracing::warn!(key = %crate::sanitize::log_tag(k), error = %e, "could not remove a joined part's record; it expires");
            l.release().await;
            continue;
        }
        shared.tus_digests.forget(k);
        l.released();
    }
    lock.release().await;
    tracing::info!(key = %crate::sanitize::log_tag(key), parts = keys.len(), ok = result.is_ok(), "tus final upload joined");
    Ok(Joined::Done(result))
}

/// [`join`] (the hook run as routed) in a task of its own, awaited: a client that goes away
/// does not cancel a join, which would fail the upload as interrupted.
pub(crate) async fn join_detached(
    shared: &Arc<Shared>,
    origin: &str,
    key: &str,
) -> Result<Joined, UploadError> {
    let (s, o, k) = (shared.clone(), origin.to_string(), key.to_string());
    actix_web::rt::spawn(async move { join(&s, &o, &k, Hook::AsRouted).await })
        .await
        .map_err(|e| UploadError::internal_msg(format!("a tus join stopped: {e}")))?
}

/// After a PATCH to the partial upload `key` (its lock released): pushes back the expiry of
/// the final upload that claimed it, and of its other parts, to `expires_at`; when this part
/// now has every byte, joins the final upload if nothing else is missing. While another
/// request holds a lock the join needs (another part's last PATCH ending at the same moment),
/// it tries again for at most one lease — unless that request is joining it.
pub(crate) async fn part_written(
    shared: &Arc<Shared>,
    origin: &str,
    key: &str,
    expires_at: i64,
    finished: bool,
) {
    if let Err(e) = try_part_written(shared, origin, key, expires_at, finished).await {
        // The part's bytes are recorded either way; a HEAD of the final upload or the sweep
        // joins it.
        tracing::warn!(key = %crate::sanitize::log_tag(key), error = %e, "could not join a final upload after its part");
    }
}

async fn try_part_written(
    shared: &Arc<Shared>,
    origin: &str,
    key: &str,
    expires_at: i64,
    finished: bool,
) -> Result<(), UploadError> {
    let Some(fin) = shared.records.tus_final_of(key).await? else {
        return Ok(());
    };
    shared.records.tus_extend_final(&fin, expires_at).await?;
    if !finished {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_millis(lease_ms(shared) as u64);
    loop {
        match join_detached(shared, origin, &fin).await? {
            Joined::Busy if Instant::now() < deadline => {
                // A final upload's length is recorded only when its join starts.
                let joining = match shared.records.tus_get(&fin, now_ms()).await? {
                    Some((rec, tus)) => {
                        rec.status != UploadStatus::Uploading || tus.length.is_some()
                    }
                    None => true,
                };
                if joining {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => return Ok(()),
        }
    }
}

/// The sweep's part: joins the final uploads whose parts all arrived but which nobody joined
/// (the server that received the last byte stopped first), with the origin each was created
/// through for the URLs handed to the hook, which is awaited. How many it joined or failed.
pub(crate) async fn join_waiting(shared: &Arc<Shared>) -> Result<usize, UploadError> {
    let mut joined = 0;
    for (key, recorded) in shared.records.tus_joinable(now_ms(), JOIN_BATCH).await? {
        let origin = recorded
            .or_else(|| shared.public_url.clone())
            .unwrap_or_default();
        if let Joined::Done(_) = join(shared, &origin, &key, Hook::Awaited).await? {
            joined += 1;
        }
    }
    Ok(joined)
}
