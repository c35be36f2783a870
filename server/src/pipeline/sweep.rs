//! Housekeeping on a schedule: what abandoned, failed and expired uploads leave behind.

use std::time::Duration;

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
}

/// One pass of every cleanup.
pub(crate) async fn sweep(shared: &Shared) -> Result<SweepReport, UploadError> {
    let now = now_ms();
    let expired = shared.records.expire_pending(now).await?;
    let stale = ErrorBody {
        code: ErrorCode::SizeMismatch,
        message: "the upload was interrupted: the server stopped while receiving it".into(),
        data: None,
    };
    let failed = shared
        .records
        .fail_stale_uploading(now - 3_600_000, &stale, now)
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
        staged_removed,
    })
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
