//! The per-upload lock, as a guard: taken with one atomic record update (see
//! `Records::tus_lock`), released when the guard goes — also when the request is dropped
//! because its client went away.
//!
//! The lock is a lease, and a lease can run out under a writer that stalled (a slow client, a
//! paused process). Two rules keep a stale writer from touching bytes it no longer owns:
//! a writer checks its lease in the records (`Lock::renew`) before it writes when its last
//! confirmed renewal is `lease/3` old, and whoever takes a lock *over* from an owner whose
//! lease ran out first gives the upload's file a fresh inode (`fresh_copy`), so the old owner's
//! open handle points at an unlinked file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::LockTaken;
use crate::error::{ErrorCode, UploadError};
use crate::state::now_ms;
use crate::state::Shared;

pub(crate) struct Lock {
    pub shared: Arc<Shared>,
    pub key: String,
    pub owner: String,
    /// Taken from an owner whose lease ran out (which may still be alive).
    pub taken_over: bool,
    /// When the lease was last confirmed in the records.
    pub renewed: Instant,
    held: bool,
}

pub(crate) fn locked() -> UploadError {
    UploadError::new(
        ErrorCode::Locked,
        "another request is writing to this upload; retry when it has finished",
    )
}

pub(crate) fn lost() -> UploadError {
    UploadError::new(
        ErrorCode::Locked,
        "the upload's lock was lost: another request took over this upload",
    )
}

impl Lock {
    /// A new owner's name: the server instance and a random key.
    pub fn new_owner(shared: &Shared) -> String {
        format!("{}:{}", shared.instance_id, crate::state::new_key())
    }

    /// The guard of a lock `owner` took when it created the upload's record
    /// (`Records::tus_insert_locked`), its lease confirmed at `renewed`.
    pub fn created(shared: &Arc<Shared>, key: &str, owner: String, renewed: Instant) -> Lock {
        Lock {
            shared: shared.clone(),
            key: key.to_string(),
            owner,
            taken_over: false,
            renewed,
            held: true,
        }
    }

    /// Takes the lock or answers 423.
    pub async fn take(shared: &Arc<Shared>, key: &str) -> Result<Lock, UploadError> {
        let owner = Lock::new_owner(shared);
        let now = now_ms();
        let renewed = Instant::now();
        let taken = shared
            .records
            .tus_lock(
                key,
                &owner,
                Some(&shared.instance_id),
                now,
                now + lease_ms(shared),
            )
            .await?;
        if taken == LockTaken::Refused {
            return Err(locked());
        }
        Ok(Lock {
            shared: shared.clone(),
            key: key.to_string(),
            owner,
            taken_over: taken == LockTaken::TakenOver,
            renewed,
            held: true,
        })
    }

    /// Whether the lease should be confirmed before the next write (`lease/3` since the last).
    pub fn renewal_due(&self) -> bool {
        self.renewed.elapsed() >= Duration::from_millis(lease_ms(&self.shared) as u64 / 3)
    }

    /// Confirms and extends the lease in the records, or fails with 423 when it is lost.
    pub async fn renew(&mut self) -> Result<(), UploadError> {
        let started = Instant::now();
        let until = now_ms() + lease_ms(&self.shared);
        if !self
            .shared
            .records
            .tus_renew(&self.key, &self.owner, until)
            .await?
        {
            self.held = false;
            return Err(lost());
        }
        self.renewed = started;
        Ok(())
    }

    /// A task renewing the lease every `lease/3` until the returned guard is dropped: for
    /// work under the lock that writes nothing to the upload's file (its completion).
    pub fn keep_alive(&self) -> KeepAlive {
        let (shared, key, owner) = (self.shared.clone(), self.key.clone(), self.owner.clone());
        let every = Duration::from_millis(lease_ms(&shared) as u64 / 3);
        KeepAlive(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let until = now_ms() + lease_ms(&shared);
                match shared.records.tus_renew(&key, &owner, until).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(key = %crate::sanitize::log_tag(&key), "could not renew a tus lock: {e}")
                    }
                }
            }
        }))
    }

    /// The lock was released by the record update that ended the PATCH.
    pub fn released(&mut self) {
        self.held = false;
    }

    pub async fn release(mut self) {
        self.held = false;
        let _ = self.shared.records.tus_unlock(&self.key, &self.owner).await;
    }
}

/// Renews a lease in the background while it lives.
pub(crate) struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn lease_ms(shared: &Shared) -> i64 {
    shared.limits.tus_lock_lease.as_millis().max(1000) as i64
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.held {
            let (shared, key, owner) = (
                self.shared.clone(),
                std::mem::take(&mut self.key),
                std::mem::take(&mut self.owner),
            );
            tokio::spawn(async move {
                let _ = shared.records.tus_unlock(&key, &owner).await;
            });
        }
    }
}
