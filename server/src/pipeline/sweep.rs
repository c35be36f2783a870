//! Housekeeping on a schedule: what abandoned, failed and expired uploads leave behind.
//!
//! Every table and directory has a bound (see `docs/configuration.md`, "Sweeping"):
//! pending rows expire with their URL; failed and expired rows are deleted after
//! `Limits::failed_retention`, with any bytes they still hold; expired tus uploads go with
//! their bytes; staged writes, tus files and stored files (route keys and signed objects)
//! without a record, and tus takeover copies a crash interrupted, go once older than
//! `Limits::orphan_grace`; spent one-time ids go once no URL can use them. Every upload it
//! fails (and every one start-up recovery fails) reaches the route's `on_upload_error`, once.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use crate::db::InstanceRecovery;

use crate::error::{ErrorBody, ErrorCode, UploadError};
use crate::protocol::UploadStatus;
use crate::state::{now_ms, Shared};

use super::complete::report_failure;

/// What [`crate::Uplift::sweep`] cleaned up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Prepared uploads whose URL ran out before they were completed (with any bytes a client
    /// sent straight to the bucket).
    pub expired: u64,
    /// Uploads whose server stopped while receiving them, now `failed`.
    pub failed_stale: usize,
    /// Staged writes abandoned by a crashed process, removed.
    pub staged_removed: usize,
    /// Signed uploads sent straight to the bucket and never completed, removed once their
    /// completion URL expired (and `Limits::orphan_grace` passed).
    pub inbox_removed: usize,
    /// tus uploads past their expiry, removed with their bytes.
    pub tus_expired: usize,
    /// `failed` and `expired` records past `Limits::failed_retention`, deleted with their bytes.
    pub purged: usize,
    /// Stored files without a record (route keys, signed objects, tus files), older than
    /// `Limits::orphan_grace`, removed.
    pub orphans_removed: usize,
    /// Uploads `completing` for longer than `Limits::completion_deadline`, now `failed`.
    pub failed_completing: usize,
    /// Final tus uploads (concatenation) whose parts had all arrived but were not joined yet
    /// (their server stopped first), now joined and stored — or failed, when a part was gone.
    pub tus_joined: usize,
    /// `true` when this pass did nothing because another instance was sweeping the same
    /// PostgreSQL schema (it held the sweep lock); every count is then 0. Never on SQLite.
    pub skipped: bool,
}

/// Rows purged per query; the sweep repeats until none are left.
const PURGE_BATCH: i64 = 500;

/// One pass of every cleanup; the caller holds the sweep lock.
pub(crate) async fn sweep(shared: &Shared) -> Result<SweepReport, UploadError> {
    recover_once(shared).await?;
    let now = now_ms();
    let expired_keys = shared.records.expire_pending(now).await?;
    // A client may have sent bytes straight to the bucket and never completed them: they go
    // with the URL, not after the retention of the expired record.
    // One that fails here is not retried by this pass, and stops nothing else: the expired
    // record's purge deletes the object, and `cleanup_staged` aborts leftover parts.
    if let Some(direct) = shared.storage.as_direct() {
        for key in &expired_keys {
            if let Err(e) = shared.storage.delete(key).await {
                tracing::warn!(key = %crate::sanitize::log_tag(key), error = %e, "could not remove an expired upload's object");
            }
            // And the parts of a large file sent straight to the bucket in parts.
            if let Err(e) = direct.abort_multipart(key).await {
                tracing::warn!(key = %crate::sanitize::log_tag(key), error = %e, "could not abort an expired upload's parts");
            }
        }
    }
    let expired = expired_keys.len() as u64;
    let stale = ErrorBody {
        code: ErrorCode::SizeMismatch,
        message: "the upload was interrupted: the server stopped while receiving it".into(),
        data: None,
    };
    let failed = shared
        .records
        .fail_stale_uploading(now - millis(shared.limits.stale_upload_after), &stale, now)
        .await?;
    let failed_completing = shared
        .records
        .fail_stale_completing(
            now - millis(shared.limits.completion_deadline),
            &completion_died(),
            now,
        )
        .await?;
    // The keys are those this sweep moved to `failed` (of concurrent sweeps, one moves each).
    report(shared, &failed, &stale).await;
    report(shared, &failed_completing, &completion_died()).await;
    let grace = shared.limits.orphan_grace;
    // A direct multipart upload lives as long as its URL: not one of the staged writes a crash
    // left until then.
    let staged_grace = match shared.storage.as_direct() {
        Some(_) if shared.direct_uploads => grace.max(shared.limits.upload_url_ttl),
        _ => grace,
    };
    let staged_removed = shared.storage.cleanup_staged(staged_grace).await?;
    let inbox_removed = sweep_inbox(shared, now / 1000).await;
    let tus_expired = sweep_tus(shared).await?;
    // A one-time id outlives its URL by nothing: no signed URL or form lives past 7 days.
    shared
        .records
        .forget_signed_uses(now - (crate::signing::MAX_EXPIRY_SECS + 3600) * 1000)
        .await?;
    let purged = purge(shared, now - millis(shared.limits.failed_retention)).await?;
    let orphans_removed = orphans(shared, grace).await?;
    Ok(SweepReport {
        tus_expired,
        expired,
        failed_stale: failed.len(),
        failed_completing: failed_completing.len(),
        staged_removed,
        inbox_removed,
        purged,
        orphans_removed,
        tus_joined: 0,
        skipped: false,
    })
}

/// Most inbox objects one pass looks at.
const INBOX_BATCH: usize = 10_000;

/// Removes the inbox objects of signed uploads sent straight to the bucket whose completion
/// URL expired more than `Limits::orphan_grace` ago (a completion that started in time may
/// still be reading one until then). Names start with that expiry, so the listing is in its
/// order. A removal that fails is tried again by the next pass; the others go on.
async fn sweep_inbox(shared: &Shared, now_secs: i64) -> usize {
    let Some(store) = shared.storage.as_direct() else {
        return 0;
    };
    let cutoff = now_secs - shared.limits.orphan_grace.as_secs() as i64;
    let names = match store.list_inbox("", INBOX_BATCH).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the inbox of signed uploads");
            return 0;
        }
    };
    let mut removed = 0;
    for name in names {
        let expiry = name.split('.').next().and_then(|s| s.parse::<i64>().ok());
        if expiry.is_none_or(|e| e >= cutoff) {
            continue;
        }
        match store.remove_inbox(&name).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove an expired inbox object"),
        }
    }
    removed
}

/// [`recover`], unless this instance has already run it.
pub(crate) async fn recover_once(shared: &Shared) -> Result<(), UploadError> {
    if !shared.recovered.load(Ordering::SeqCst) {
        recover(shared).await?;
    }
    Ok(())
}

/// Tells `on_upload_error` of each upload in `keys`, failed here with `error`.
async fn report(shared: &Shared, keys: &[String], error: &ErrorBody) {
    let err = UploadError::from_body(error.clone());
    for key in keys {
        report_failure(shared, key, &err).await;
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn completion_died() -> ErrorBody {
    ErrorBody {
        code: ErrorCode::CompletionFailed,
        message: "the upload was stored but its completion never finished: the server stopped"
            .into(),
        data: None,
    }
}

/// Start-up recovery of this instance (see `Records::recover_instance`); runs once.
pub(crate) async fn recover(shared: &Shared) -> Result<InstanceRecovery, UploadError> {
    let interrupted = ErrorBody {
        code: ErrorCode::SizeMismatch,
        message: "the upload was interrupted: the server stopped while receiving it".into(),
        data: None,
    };
    let done = shared
        .records
        .recover_instance(
            &shared.instance_id,
            &interrupted,
            &completion_died(),
            now_ms(),
        )
        .await?;
    shared.recovered.store(true, Ordering::SeqCst);
    report(shared, &done.uploads_failed, &interrupted).await;
    report(shared, &done.completions_failed, &completion_died()).await;
    tracing::info!(
        instance = %shared.instance_id,
        uploads_failed = done.uploads_failed.len(),
        completions_failed = done.completions_failed.len(),
        locks_released = done.locks_released,
        "start-up recovery done"
    );
    Ok(done)
}

/// Removes expired, unfinished tus uploads: their bytes and their records.
async fn sweep_tus(shared: &Shared) -> Result<usize, UploadError> {
    let keys = shared.records.tus_expired(now_ms()).await?;
    let mut removed = 0;
    for key in keys {
        if let Some(tus) = &shared.tus {
            tus.remove(&key).await?;
        }
        shared.tus_digests.forget(&key);
        if shared.records.tus_delete(&key).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes `failed` and `expired` records last changed before `before_ms`: bytes first (a
/// failed storage call leaves the record for the next pass), then the record.
async fn purge(shared: &Shared, before_ms: i64) -> Result<usize, UploadError> {
    let mut purged = 0;
    loop {
        let batch = shared.records.purgeable(before_ms, PURGE_BATCH).await?;
        let mut progress = false;
        for (key, tus) in &batch {
            shared.storage.delete(key).await?;
            if *tus {
                if let Some(store) = &shared.tus {
                    store.remove(key).await?;
                }
                shared.tus_digests.forget(key);
            }
            if shared.records.purge(key).await? {
                purged += 1;
                progress = true;
            }
        }
        // Each pass deletes what it read; a batch that deleted nothing would repeat forever.
        if (batch.len() as i64) < PURGE_BATCH || !progress {
            return Ok(purged);
        }
    }
}

/// Removes stored files without a record, last written more than `grace` ago: route keys and
/// signed objects (when the backend can list them), and the bytes of tus uploads that are not
/// uploading (no record, or stored while their removal failed).
async fn orphans(shared: &Shared, grace: Duration) -> Result<usize, UploadError> {
    let before = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    if let Some(list) = shared.storage.as_list() {
        let keys = names(list.list_keys(before).await?);
        let known = shared.records.known_keys(&keys).await?;
        for key in keys.iter().filter(|k| !known.contains(*k)) {
            if list.delete_if_older(key, before).await? {
                tracing::info!(key = %crate::sanitize::log_tag(key), outcome = "orphan removed", "stored file without a record removed");
                removed += 1;
            }
        }
        let paths = names(list.list_objects(before).await?);
        let known = shared.records.known_objects(&paths).await?;
        for path in paths.iter().filter(|p| !known.contains(*p)) {
            if list.delete_object_if_older(path, before).await? {
                tracing::info!(path = %path, outcome = "orphan removed", "object without a record removed");
                removed += 1;
            }
        }
    }
    if let Some(tus) = &shared.tus {
        // Bytes of an upload that is no longer uploading (none, or one stored whose tus
        // bytes a failed removal left) belong to nothing.
        for key in tus.list(before).await? {
            let uploading = shared
                .records
                .get(&key)
                .await?
                .is_some_and(|rec| rec.status == UploadStatus::Uploading);
            if !uploading && tus.remove(&key).await? {
                shared.tus_digests.forget(&key);
                removed += 1;
            }
        }
        removed += tus.cleanup(before).await?;
    }
    Ok(removed)
}

fn names(listed: Vec<crate::storage::Listed>) -> Vec<String> {
    listed.into_iter().map(|l| l.name).collect()
}
