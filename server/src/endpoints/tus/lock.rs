//! The per-upload lock, as a guard: taken with one atomic record update (see
//! `Records::tus_lock`), released when the guard goes — also when the request is dropped
//! because its client went away.

use std::sync::Arc;

use crate::error::{ErrorCode, UploadError};
use crate::state::now_ms;
use crate::state::Shared;

pub(crate) struct Lock {
    pub shared: Arc<Shared>,
    pub key: String,
    pub owner: String,
    held: bool,
}

impl Lock {
    /// Takes the lock or answers 423.
    pub async fn take(shared: &Arc<Shared>, key: &str) -> Result<Lock, UploadError> {
        let owner = crate::state::new_key();
        let now = now_ms();
        if !shared
            .records
            .tus_lock(key, &owner, now, now + lease_ms(shared))
            .await?
        {
            return Err(UploadError::new(
                ErrorCode::Locked,
                "another request is writing to this upload; retry when it has finished",
            ));
        }
        Ok(Lock {
            shared: shared.clone(),
            key: key.to_string(),
            owner,
            held: true,
        })
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
            actix_web::rt::spawn(async move {
                let _ = shared.records.tus_unlock(&key, &owner).await;
            });
        }
    }
}
