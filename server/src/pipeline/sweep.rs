//! Housekeeping on a schedule: what abandoned, failed and expired uploads leave behind.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::db::InstanceRecovery;

use crate::error::{ErrorBody, ErrorCode, UploadError};
use crate::state::{now_ms, Shared};

/// What [`crate::Uplift::sweep`] cleaned up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Prepared uploads whose URL ran out before any byte arrived.
    pub expired: u64,
    /// Uploads whose server stopped while receiving them, now `failed`.
    pub failed_stale: usize,
    /// Staged writes abandoned by a crashed process, removed.
    pub staged_removed: usize,
    /// tus uploads past their expiry, removed with their bytes.
    pub tus_expired: usize,
    /// Uploads `completing` for longer than `Limits::completion_deadline`, now `failed`.
    pub failed_completing: usize,
}

/// One pass of every cleanup.
pub(crate) async fn sweep(shared: &Shared) -> Result<SweepReport, UploadError> {
    if !shared.recovered.load(Ordering::SeqCst) {
        recover(shared).await?;
    }
    let now = now_ms();
    let expired = shared.records.expire_pending(now).await?;
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
    let staged_removed = shared
        .storage
        .cleanup_staged(Duration::from_secs(3600))
        .await?;
    let tus_expired = sweep_tus(shared).await?;
    // A one-time id outlives its URL by nothing: no signed URL or form lives past 7 days.
    shared
        .records
        .forget_signed_uses(now - (crate::signing::MAX_EXPIRY_SECS + 3600) * 1000)
        .await?;
    Ok(SweepReport {
        tus_expired,
        expired,
        failed_stale: failed.len(),
        failed_completing: failed_completing.len(),
        staged_removed,
    })
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
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
    let dir = shared.tus_dir.as_deref();
    let mut removed = 0;
    for key in keys {
        if let Some(dir) = dir {
            match tokio::fs::remove_file(dir.join(&key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        shared.tus_digests.forget(&key);
        if shared.records.tus_delete(&key).await? {
            removed += 1;
        }
    }
    Ok(removed)
}
