//! After the bytes are stored: the completion hook, the record, and `on_upload_error`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;

use crate::config::Shared;
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadedFile;

use super::now_ms;

/// Runs the completion hook and records its outcome. A failing (or panicking) hook marks the
/// upload failed, reaches `on_upload_error`, and is returned so the client hears of it.
pub(crate) async fn complete(
    shared: &Arc<Shared>,
    route: &Route,
    meta: Value,
    file: UploadedFile,
) -> Result<Value, UploadError> {
    let key = file.key.clone();
    let outcome = AssertUnwindSafe(route.run_complete(meta.clone(), file))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(UploadError::internal_msg("the completion hook panicked")));
    match outcome {
        Ok(data) => {
            shared
                .records
                .mark_complete(&key, Some(&data), now_ms())
                .await?;
            tracing::info!(key = %key, outcome = "complete", "completion hook answered");
            Ok(data)
        }
        Err(err) => {
            // An internal hook error would read "internal error"; say at least which step broke.
            let err = if err.code() == ErrorCode::Internal {
                tracing::error!(key = %key, error = %err, "completion hook failed");
                UploadError::new(
                    ErrorCode::CompletionFailed,
                    "the upload was stored but its completion hook failed",
                )
            } else {
                err
            };
            shared
                .records
                .mark_failed(&key, &err.body(), now_ms())
                .await?;
            route.run_on_error(Some(meta), err.clone(), key).await;
            Err(err)
        }
    }
}

/// Records a failure after preparation and tells `on_upload_error`.
pub(crate) async fn fail(
    shared: &Shared,
    route: &Route,
    key: &str,
    meta: Option<Value>,
    err: &UploadError,
) {
    tracing::info!(key = %key, code = %err.code(), outcome = "failed", "upload refused");
    if let Err(db) = shared.records.mark_failed(key, &err.body(), now_ms()).await {
        tracing::error!(key = %key, error = %db, "could not record a failed upload");
    }
    route.run_on_error(meta, err.clone(), key.to_string()).await;
}

/// Marks an upload failed if the request handling it is dropped mid-way (client gone).
pub(crate) struct FailGuard {
    pub shared: Arc<Shared>,
    pub route: Arc<Route>,
    pub key: String,
    pub meta: Value,
    armed: bool,
}

impl FailGuard {
    pub fn new(shared: Arc<Shared>, route: Arc<Route>, key: String, meta: Value) -> Self {
        FailGuard {
            shared,
            route,
            key,
            meta,
            armed: true,
        }
    }

    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for FailGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (shared, route, key, meta) = (
            self.shared.clone(),
            self.route.clone(),
            std::mem::take(&mut self.key),
            self.meta.take(),
        );
        let err = UploadError::new(
            ErrorCode::SizeMismatch,
            "the upload was interrupted: the client went away",
        );
        actix_web::rt::spawn(async move { fail(&shared, &route, &key, Some(meta), &err).await });
    }
}
