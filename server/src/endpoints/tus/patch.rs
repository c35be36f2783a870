//! HEAD, PATCH and DELETE on `{base}/tus/{id}`, and the expiry sweep.

use std::sync::Arc;
use std::time::Instant;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::db::{TusState, UploadRecord};
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadStatus;
use crate::state::now_ms;
use crate::state::Shared;
use crate::storage::{Flushing, ResumableWrite};

use crate::pipeline::body::{idle_error, Body};
use crate::pipeline::checks::{limit_for, too_large};
use crate::pipeline::route_of_record;
use crate::state::origin;

use crate::pipeline::complete::Hook;

use super::concat::Joined;
use super::headers::{self, Checksum, Hasher};
use super::lock::{lease_ms, Lock};
use super::{authorize, check_resumable, http_date, tus_response, tus_store};

/// A PATCH without `Upload-Checksum` starts a checkpoint (a flush, then a record of the
/// offset) at least every this many bytes. A checkpoint runs beside the bytes that follow it,
/// and the next one waits for it: a crash costs a resume at most two of these, 8 MiB.
pub(crate) const CHECKPOINT_BYTES: u64 = 4 * 1024 * 1024;

pub(crate) fn encode_data(data: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(data).unwrap_or_default())
}

fn gone() -> UploadError {
    UploadError::new(ErrorCode::Expired, "this upload has expired")
}

/// The upload behind an id, refusing unknown and expired ones.
async fn load(shared: &Shared, key: &str) -> Result<(UploadRecord, TusState), UploadError> {
    let (rec, tus) = shared
        .records
        .tus_get(key, now_ms())
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    let unfinished = rec.status == UploadStatus::Uploading;
    if rec.status == UploadStatus::Expired || (unfinished && rec.expires_at <= now_ms()) {
        return Err(gone());
    }
    if rec.status == UploadStatus::Failed {
        let why = rec.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
        return Err(
            UploadError::new(ErrorCode::Conflict, format!("this upload failed: {why}"))
                .with_data(serde_json::json!({ "error": rec.error })),
        );
    }
    Ok((rec, tus))
}

pub(crate) async fn head(
    shared: Arc<Shared>,
    req: HttpRequest,
    id: &str,
) -> Result<HttpResponse, UploadError> {
    check_resumable(&req)?;
    let key = authorize(&shared, id)?;
    let (rec, tus) = match settle(&shared, &req, &key).await? {
        Seen::Upload(rec, tus) => (rec, tus),
        Seen::Waiting(rec, tus, length) => return Ok(waiting(&shared, &req, &rec, &tus, length)),
    };
    let offset = reported_offset(&rec, &tus);
    let mut res = tus_response(StatusCode::OK);
    res.insert_header(("Upload-Offset", offset.to_string()));
    super::name_upload(&mut res, &shared, &origin(&shared, &req), &key);
    match tus.length {
        Some(l) => res.insert_header(("Upload-Length", l.to_string())),
        None => res.insert_header(("Upload-Defer-Length", "1")),
    };
    if let Some(m) = tus.metadata.as_deref().filter(|m| !m.is_empty()) {
        res.insert_header(("Upload-Metadata", m.to_string()));
    }
    if let Some(c) = &tus.concat {
        res.insert_header(("Upload-Concat", c.clone()));
    }
    if rec.status == UploadStatus::Uploading {
        res.insert_header(("Upload-Expires", http_date(rec.expires_at)));
    }
    if rec.status == UploadStatus::Complete {
        if let Some(data) = &rec.server_data {
            res.insert_header((super::SERVER_DATA_HEADER, encode_data(data)));
        }
    }
    Ok(res.finish())
}

/// The offset HEAD reports: the whole length once the upload is stored.
fn reported_offset(rec: &UploadRecord, tus: &TusState) -> u64 {
    match rec.status {
        UploadStatus::Completing | UploadStatus::Complete => tus.length.unwrap_or(tus.offset),
        _ => tus.offset,
    }
}

/// How many bytes the upload `key` holds, as HEAD reports it: its whole length once stored,
/// never the full length of an upload whose completion is not decided yet (`LOCKED` then).
/// With whether a request holds its lock (is writing to it) now.
pub(crate) async fn received(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    key: &str,
) -> Result<(UploadRecord, u64, bool), UploadError> {
    match settle(shared, req, key).await? {
        Seen::Upload(rec, tus) => {
            let offset = reported_offset(&rec, &tus);
            Ok((rec, offset, tus.locked))
        }
        Seen::Waiting(..) => Err(final_takes_no_patch()),
    }
}

/// HEAD of a final upload that waits for its parts (concatenation-unfinished): no
/// `Upload-Offset`, and `Upload-Length` only once every part's length is known (their sum).
fn waiting(
    shared: &Shared,
    req: &HttpRequest,
    rec: &UploadRecord,
    tus: &TusState,
    length: Option<u64>,
) -> HttpResponse {
    let mut res = tus_response(StatusCode::OK);
    super::name_upload(&mut res, shared, &origin(shared, req), &rec.key);
    if let Some(l) = length {
        res.insert_header(("Upload-Length", l.to_string()));
    }
    if let Some(m) = tus.metadata.as_deref().filter(|m| !m.is_empty()) {
        res.insert_header(("Upload-Metadata", m.to_string()));
    }
    if let Some(c) = &tus.concat {
        res.insert_header(("Upload-Concat", c.clone()));
    }
    res.insert_header(("Upload-Expires", http_date(rec.expires_at)));
    res.finish()
}

/// What HEAD reports.
enum Seen {
    /// An upload (or a joined final upload), its completion decided.
    Upload(UploadRecord, TusState),
    /// A final upload still waiting for bytes of its parts; its length when known.
    Waiting(UploadRecord, TusState, Option<u64>),
}

/// Whether every byte of the upload arrived but its completion is not decided yet: HEAD must
/// not report the full offset then (a client would take the upload for done).
fn undecided(shared: &Shared, rec: &UploadRecord, tus: &TusState) -> Result<bool, UploadError> {
    Ok(match rec.status {
        UploadStatus::Uploading => !tus.is_partial() && tus.length == Some(tus.offset),
        // Stored; on a route that awaits its server data, the hook's answer is the outcome.
        UploadStatus::Completing => route_of_record(shared, rec)?.config().await_server_data,
        _ => false,
    })
}

/// The upload as HEAD may report it: when every byte arrived, its completion decided first —
/// run here when nobody holds the lock (the server that received the last byte stopped), or
/// awaited (polled, for at most the lease) while a live request runs it. Still undecided
/// after that: 423 with `Retry-After`, never the full offset of an upload that may yet fail.
/// A final upload whose parts all arrived is joined here if nobody else is joining it.
async fn settle(shared: &Arc<Shared>, req: &HttpRequest, key: &str) -> Result<Seen, UploadError> {
    let deadline = Instant::now() + std::time::Duration::from_millis(lease_ms(shared) as u64);
    loop {
        let (rec, tus) = load(shared, key).await?;
        if tus.is_final() && rec.status == UploadStatus::Uploading {
            match super::concat::join_detached(shared, &origin(shared, req), key).await? {
                Joined::Pending(length) => return Ok(Seen::Waiting(rec, tus, length)),
                Joined::Done(_) | Joined::Settled => continue,
                Joined::Busy => {}
            }
        } else if !undecided(shared, &rec, &tus)? {
            return Ok(Seen::Upload(rec, tus));
        } else if rec.status == UploadStatus::Uploading && !tus.locked {
            match Lock::take(shared, key).await {
                Ok(lock) => {
                    complete_orphan(shared, req, &rec, &tus, lock).await?;
                    continue;
                }
                Err(e) if e.code() == ErrorCode::Locked => {}
                Err(e) => return Err(e),
            }
        }
        if Instant::now() >= deadline {
            return Err(UploadError::new(
                ErrorCode::Locked,
                "every byte arrived and the upload is being completed; ask again shortly",
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Completes an upload (not a final one: those are joined) whose every byte arrived but whose
/// server stopped before storing it, under `lock`. Its outcome is recorded (and a failure
/// reaches `on_upload_error`).
async fn complete_orphan(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    rec: &UploadRecord,
    tus: &TusState,
    lock: Lock,
) -> Result<(), UploadError> {
    if lock.taken_over {
        tus_store(shared)?
            .fence(&rec.key, tus.offset, &lock.owner)
            .await?;
    }
    // Re-read and stored under the lock.
    let route = route_of_record(shared, rec)?;
    let alive = lock.keep_alive();
    let _ = super::finish::finish(
        shared,
        &origin(shared, req),
        &route,
        rec,
        vec![rec.key.clone()],
        tus.offset,
        None,
        Hook::AsRouted,
    )
    .await;
    drop(alive);
    lock.release().await;
    Ok(())
}

pub(crate) async fn patch(
    shared: Arc<Shared>,
    req: HttpRequest,
    id: &str,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    check_resumable(&req)?;
    let ct = headers::header(&req, "content-type").unwrap_or("");
    if !ct.trim().eq_ignore_ascii_case(super::OFFSET_OCTET_STREAM) {
        return Err(UploadError::new(
            ErrorCode::UnsupportedType,
            format!("PATCH bodies must be {}", super::OFFSET_OCTET_STREAM),
        ));
    }
    let key = authorize(&shared, id)?;
    let offset = headers::number(&req, "upload-offset")?
        .ok_or_else(|| UploadError::bad_request("Upload-Offset is required"))?;
    let checksum = headers::checksum(&req)?;
    let length = headers::number(&req, "upload-length")?;
    let (rec, tus) = load(&shared, &key).await?;
    if tus.is_final() {
        return Err(final_takes_no_patch());
    }
    let route = route_of_record(&shared, &rec)?;
    let out = write(
        &shared, &req, &route, &key, offset, body, checksum, length, None,
    )
    .await?;
    let mut res = tus_response(StatusCode::NO_CONTENT);
    res.insert_header(("Upload-Offset", out.offset.to_string()))
        .insert_header(("Upload-Expires", http_date(out.expires_at)));
    super::name_upload(&mut res, &shared, &origin(&shared, &req), &key);
    if let Some(data) = out.server_data {
        res.insert_header((super::SERVER_DATA_HEADER, encode_data(&data)));
    }
    Ok(res.finish())
}

fn final_takes_no_patch() -> UploadError {
    UploadError::new(
        ErrorCode::Forbidden,
        "a final (concatenated) upload takes no PATCH: send the bytes to its partial uploads",
    )
}

pub(crate) struct Written {
    pub offset: u64,
    pub expires_at: i64,
    /// The completion hook's answer, when this PATCH finished an `await_server_data` upload.
    pub server_data: Option<Value>,
}

/// An upload the request has just created with its first bytes to write: its lock, taken with
/// the record, the record as inserted, and its file open for writing.
pub(crate) struct Created {
    pub lock: Lock,
    pub rec: UploadRecord,
    pub tus: TusState,
    pub out: Box<dyn ResumableWrite>,
}

/// Appends `body` at `client_offset` under the upload's lock (taken here, or `created` with
/// the upload by this request), then records the new offset; on the last byte, stores the
/// upload and runs the completion hook.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write<S>(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    route: &Arc<Route>,
    key: &str,
    client_offset: u64,
    body: S,
    checksum: Option<Checksum>,
    new_length: Option<u64>,
    created: Option<Created>,
) -> Result<Written, UploadError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let (mut body, idle) = Body::new(body, shared.limits.body_idle_timeout);
    // Created by this request: no client knows this upload's URL before it answers.
    let unseen = created.is_some();
    let (mut lock, rec, tus, opened) = match created {
        Some(c) => (c.lock, c.rec, c.tus, Some(c.out)),
        None => {
            let lock = Lock::take(shared, key).await?;
            let (rec, tus) = load(shared, key).await?;
            (lock, rec, tus, None)
        }
    };
    if tus.is_final() {
        return Err(final_takes_no_patch());
    }
    if rec.status != UploadStatus::Uploading {
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "this upload is already complete",
        ));
    }
    if client_offset != tus.offset {
        // Released before answering (not when the guard drops, after the answer): a client
        // resuming at once from the offset in the 409 must not meet its own lock.
        lock.release().await;
        return Err(UploadError::new(
            ErrorCode::OffsetMismatch,
            format!(
                "Upload-Offset is {client_offset} but the upload is at {}",
                tus.offset
            ),
        )
        .with_data(serde_json::json!({ "offset": tus.offset })));
    }
    let limit = limit_for(route, &rec.content_type);
    let length = match (tus.length, new_length) {
        (Some(l), Some(n)) if l != n => {
            return Err(UploadError::bad_request("Upload-Length cannot change"))
        }
        (Some(l), _) => Some(l),
        (None, Some(n)) if n < tus.offset => {
            return Err(UploadError::bad_request(
                "Upload-Length is below the offset",
            ))
        }
        (None, Some(n)) if n > limit => return Err(too_large(n, limit)),
        (None, n) => n,
    };
    let cap = length.unwrap_or(limit);
    let store = tus_store(shared)?;
    if lock.taken_over {
        // The previous owner's lease ran out, but it may still be writing.
        store.fence(key, tus.offset, &lock.owner).await?;
    }
    let mut out = match opened {
        Some(out) => out,
        None => store.append(key, tus.offset).await?,
    };
    let mut hasher = checksum.as_ref().map(|c| Hasher::new(c.algorithm));
    // `None` when earlier bytes went through another process: completion re-reads the file.
    let mut digest = shared.tus_digests.take(key, tus.offset);
    let lease = lease_ms(shared);
    let expiry = shared.limits.tus_expiry.as_millis() as i64;
    let mut received: u64 = 0;
    let mut durable = tus.offset;
    let mut checkpointed = 0;
    let mut last_checkpoint = Instant::now();
    let mut behind: Option<Checkpoint> = None;
    let mut refusal = None;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            break; // the client went away: keep what arrived
        };
        if tus.offset + received + chunk.len() as u64 > cap {
            refusal = Some(match length {
                Some(_) => UploadError::new(
                    ErrorCode::TooLarge,
                    format!("the body goes past Upload-Length ({cap} bytes)"),
                ),
                None => too_large(tus.offset + received + chunk.len() as u64, cap),
            });
            break;
        }
        // A checkpoint that has landed renewed the lease: counted now, it spares the renewal
        // below (and its failure stops the write here).
        if let Some(landed) = behind.take_if(|c| c.has_landed()) {
            durable = landed.landed(&mut lock).await?;
        }
        // Fencing: no byte goes to the file unless the lease was confirmed less than lease/3
        // ago. A PATCH that stalled past its lease learns here that it lost the upload, and
        // stops before it writes (what it buffered is dropped with the writer).
        if lock.renewal_due() {
            lock.renew().await?;
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        if let Some(d) = digest.as_mut() {
            d.update(&chunk);
        }
        received += chunk.len() as u64;
        out.write(chunk).await?;
        // Without a checksum to wait for, make progress durable every CHECKPOINT_BYTES and
        // every lease/3, so a crash loses a bounded amount. (A PATCH with `Upload-Checksum` is
        // all or nothing: its offset moves only once the whole body matched.)
        let due = received - checkpointed >= CHECKPOINT_BYTES
            || last_checkpoint.elapsed().as_millis() as i64 >= lease / 3;
        // A checkpoint runs beside the bytes that follow it, and waits for the one before:
        // offsets are recorded in order, and a crash costs at most two checkpoints' worth
        // (`CHECKPOINT_BYTES`).
        if hasher.is_none() && due {
            last_checkpoint = Instant::now();
            checkpointed = received;
            if let Some(previous) = behind.take() {
                durable = previous.landed(&mut lock).await?;
            }
            let flushing = out.checkpoint_behind().await?;
            behind = Some(Checkpoint::start(
                shared,
                key,
                &lock.owner,
                flushing,
                length,
                lease,
            ));
        }
    }
    // Recorded before anything below reads the durable offset (a refusal falls back to it).
    if let Some(previous) = behind.take() {
        durable = previous.landed(&mut lock).await?;
    }
    // The rest of the last block goes to the file now: fenced like every block.
    if lock.renewal_due() {
        lock.renew().await?;
    }
    let mut new_offset = tus.offset + received;
    if let (Some(c), Some(h)) = (checksum, hasher) {
        if refusal.is_none() && h.finish() != c.digest {
            refusal = Some(
                UploadError::new(
                    ErrorCode::ChecksumMismatch,
                    "the body does not match Upload-Checksum; it was discarded",
                )
                .status_override(StatusCode::from_u16(460).expect("valid status")),
            );
        }
    }
    if refusal.is_some() {
        // Discard what this PATCH sent beyond what was already durable.
        digest = None;
        new_offset = durable;
    }
    let done = length == Some(new_offset) && !tus.is_partial();
    // A finished upload stays locked while it is stored and its hook runs. An upload created
    // by this request with every byte (creation-with-upload) is stored before the answer
    // without its offset being recorded on the way: no client can ask for it before the
    // answer, storing it records the whole length as its offset, and should the server stop
    // before that, nobody learnt the URL. So its file needs no durable place for a resume
    // either. Only with a length known from the start, and a lease confirmed after the flush
    // (so nobody can have taken the upload over).
    let stored_at_once =
        unseen && done && refusal.is_none() && !idle.timed_out() && tus.length.is_some();
    if stored_at_once {
        out.stored_at_once();
    }
    out.finish(new_offset, length == Some(new_offset)).await?;
    if stored_at_once && lock.renewal_due() {
        lock.renew().await?;
    }
    let now = if stored_at_once {
        now_ms()
    } else {
        record_progress(
            shared,
            key,
            &lock.owner,
            new_offset,
            length,
            done.then_some(lease),
        )
        .await?
    };
    if !done {
        if let Some(d) = digest.take() {
            shared.tus_digests.put(key, d);
        }
        lock.released();
    }
    if tus.is_partial() {
        // A final upload may be waiting for this part: keep it alive, and join it if this
        // was the last byte it lacked.
        let finished = length == Some(new_offset);
        super::concat::part_written(shared, &origin(shared, req), key, now + expiry, finished)
            .await;
    }
    if let Some(err) = refusal {
        return Err(err);
    }
    if idle.timed_out() {
        // What arrived before the client went silent is kept; it resumes from there.
        return Err(idle_error());
    }
    let mut server_data = None;
    if done {
        // The record as loaded under the lock: what completion reads of it (its key, type,
        // declared checksum and metadata) no PATCH changes.
        let alive = lock.keep_alive();
        let result = super::finish::finish(
            shared,
            &origin(shared, req),
            route,
            &rec,
            vec![key.to_string()],
            new_offset,
            digest,
            Hook::AsRouted,
        )
        .await;
        drop(alive);
        lock.release().await;
        server_data = result?;
    }
    Ok(Written {
        offset: new_offset,
        expires_at: now + expiry,
        server_data,
    })
}

/// A checkpoint in flight: the flush of the bytes written before it, then the record of the
/// offset they reach, which also renews the lease. Dropped unfinished (the request ended
/// early), it still runs to its end: it records only bytes that are durable.
struct Checkpoint {
    started: Instant,
    task: tokio::task::JoinHandle<Result<u64, UploadError>>,
}

impl Checkpoint {
    fn start(
        shared: &Arc<Shared>,
        key: &str,
        owner: &str,
        flushing: Flushing,
        length: Option<u64>,
        lease: i64,
    ) -> Checkpoint {
        let (shared, key, owner) = (shared.clone(), key.to_string(), owner.to_string());
        let started = Instant::now();
        let task = actix_web::rt::spawn(async move {
            let offset = flushing.await?;
            record_progress(&shared, &key, &owner, offset, length, Some(lease)).await?;
            Ok(offset)
        });
        Checkpoint { started, task }
    }

    /// Whether its record is written (or failed): [`Checkpoint::landed`] then returns at once.
    fn has_landed(&self) -> bool {
        self.task.is_finished()
    }

    /// The offset it recorded, once it has; the lease counts as confirmed when it started.
    async fn landed(self, lock: &mut Lock) -> Result<u64, UploadError> {
        let offset = self
            .task
            .await
            .map_err(|_| UploadError::internal_msg("a checkpoint stopped"))??;
        lock.renewed = lock.renewed.max(self.started);
        Ok(offset)
    }
}

/// Records the durable offset (and a length set late), pushes the expiry back and renews the
/// lock for `lease` ms more (or releases it with `None`). Refuses when another request took
/// the lock meanwhile. The time it recorded.
async fn record_progress(
    shared: &Shared,
    key: &str,
    owner: &str,
    offset: u64,
    length: Option<u64>,
    lease: Option<i64>,
) -> Result<i64, UploadError> {
    let now = now_ms();
    let expires = now + shared.limits.tus_expiry.as_millis() as i64;
    if shared
        .records
        .tus_progress(
            key,
            owner,
            offset,
            length,
            lease.map(|l| now + l),
            expires,
            now,
        )
        .await?
    {
        Ok(now)
    } else {
        Err(UploadError::new(
            ErrorCode::Locked,
            "the upload's lock was lost",
        ))
    }
}

pub(crate) async fn delete(
    shared: Arc<Shared>,
    req: HttpRequest,
    id: &str,
) -> Result<HttpResponse, UploadError> {
    check_resumable(&req)?;
    let key = authorize(&shared, id)?;
    let (rec, tus) = shared
        .records
        .tus_get(&key, now_ms())
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    // The termination extension lets a server free a finished upload's resources, and asks
    // that later requests to a terminated URL get 404 or 410. Here a complete upload has
    // nothing left to free on the tus side: its bytes are a stored file that belongs to the
    // app (with its record, completion hook and download URL), which termination must not
    // pull from under it. So its tus resource counts as already finished: DELETE answers
    // 410 Gone (code CONFLICT: the upload's state forbids termination) and the file stays.
    if matches!(
        rec.status,
        UploadStatus::Completing | UploadStatus::Complete
    ) {
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "this upload is complete; it can no longer be terminated",
        )
        .status_override(StatusCode::GONE));
    }
    let mut lock = Lock::take(&shared, &key).await?;
    // The record first: once it is gone the upload is gone for every client. A crash before
    // the bytes follow leaves a tus file without a record, which the sweep collects as an
    // orphan; the other order would leave a record whose bytes are missing.
    if let Err(e) = terminate(&shared, &key, &tus).await {
        lock.release().await;
        return Err(e);
    }
    shared.tus_digests.forget(&key);
    lock.released(); // the record is gone, and its lock with it
    tus_store(&shared)?.remove(&key).await?;
    tracing::info!(key = %crate::sanitize::log_tag(&key), outcome = "terminated", "tus upload terminated");
    Ok(tus_response(StatusCode::NO_CONTENT).finish())
}

/// Removes the record of a tus upload under its lock. A final upload that waits for its parts
/// frees them (they are ordinary partial uploads again). A partial upload that a waiting final
/// upload claimed is refused (409 `CONFLICT`): the final upload needs it, so terminate that one
/// instead.
async fn terminate(shared: &Shared, key: &str, tus: &TusState) -> Result<(), UploadError> {
    let gone = || UploadError::not_found("no such upload");
    if tus.is_final() {
        return match shared.records.tus_terminate_final(key).await? {
            true => Ok(()),
            false => Err(gone()),
        };
    }
    if shared.records.tus_terminate(key).await? {
        return Ok(());
    }
    if shared.records.tus_final_of(key).await?.is_some() {
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "this partial upload is part of a final upload that waits for it; terminate the \
             final upload first",
        ));
    }
    // Claimed by a final upload that failed or went (a crash in between): the claim is void.
    if shared.records.tus_release_stale_claim(key).await?
        && shared.records.tus_terminate(key).await?
    {
        return Ok(());
    }
    Err(gone())
}
