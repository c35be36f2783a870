//! After the bytes: the failure guard around storing, the completion hook (awaited or in the
//! background), the record of its outcome, and `on_upload_error` for every failure.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use tracing::Instrument;

use crate::db::UploadRecord;
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadedFile;
use crate::state::{now_ms, Shared};

use super::views::uploaded_file;

/// A claimed upload, stored and handed to its completion hook.
pub(crate) struct Finished {
    /// The record as stored (`completing`).
    pub record: UploadRecord,
    pub file: UploadedFile,
    /// The hook's answer when the route awaits server data; `None` when it runs in the background.
    pub server_data: Option<Value>,
}

/// The one tail of every claimed upload (PUT, tus): runs `store` under a failure guard (a
/// dropped request fails the upload), records and reports a failure, then hands the stored
/// file to the completion hook.
pub(crate) async fn finish<F>(
    shared: &Arc<Shared>,
    route: &Arc<Route>,
    rec: &UploadRecord,
    origin: &str,
    store: F,
) -> Result<Finished, UploadError>
where
    F: Future<Output = Result<UploadRecord, UploadError>>,
{
    finish_with(shared, route, rec, origin, store, Hook::AsRouted).await
}

/// How the completion hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    /// Awaited on an `await_server_data` route, in the background otherwise.
    AsRouted,
    /// Awaited in any case: the caller is itself background work (the sweep), which may run
    /// outside a runtime that can spawn the hook.
    Awaited,
}

/// [`finish`], with the hook run as `hook` says.
pub(crate) async fn finish_with<F>(
    shared: &Arc<Shared>,
    route: &Arc<Route>,
    rec: &UploadRecord,
    origin: &str,
    store: F,
    hook: Hook,
) -> Result<Finished, UploadError>
where
    F: Future<Output = Result<UploadRecord, UploadError>>,
{
    let mut guard = FailGuard::new(
        shared.clone(),
        route.clone(),
        rec.key.clone(),
        rec.metadata.clone(),
    );
    let outcome = store.await;
    guard.disarm();
    let record = match outcome {
        Ok(r) => r,
        Err(err) => {
            fail(shared, route, &rec.key, Some(rec.metadata.clone()), &err).await;
            return Err(err);
        }
    };
    let file = uploaded_file(shared, origin, &record)
        .ok_or_else(|| UploadError::internal_msg("a stored record has no file"))?;
    let server_data = match hook {
        Hook::AsRouted => hand_off(shared, route, rec.metadata.clone(), file.clone()).await?,
        Hook::Awaited => {
            let data = complete(shared, route, rec.metadata.clone(), file.clone()).await?;
            route.config().await_server_data.then_some(data)
        }
    };
    Ok(Finished {
        record,
        file,
        server_data,
    })
}

/// Runs the completion hook: awaited when the route awaits server data (its answer, or its
/// failure, is returned), otherwise in the background (`Ok(None)`).
pub(crate) async fn hand_off(
    shared: &Arc<Shared>,
    route: &Arc<Route>,
    meta: Value,
    file: UploadedFile,
) -> Result<Option<Value>, UploadError> {
    if route.config().await_server_data {
        return complete(shared, route, meta, file).await.map(Some);
    }
    let (shared, route) = (shared.clone(), route.clone());
    actix_web::rt::spawn(
        async move {
            let _ = complete(&shared, &route, meta, file).await;
        }
        .instrument(tracing::Span::current()),
    );
    Ok(None)
}

/// Runs the completion hook and records its outcome. A failing (or panicking) hook marks the
/// upload failed, removes its stored bytes, reaches `on_upload_error`, and is returned so the
/// client hears of it.
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
            tracing::info!(key = %crate::sanitize::log_tag(&key), outcome = "complete", "completion hook answered");
            Ok(data)
        }
        Err(err) => {
            // An internal hook error would read "internal error"; say at least which step broke.
            let err = if err.code() == ErrorCode::Internal {
                tracing::error!(key = %crate::sanitize::log_tag(&key), error = %err, "completion hook failed");
                UploadError::new(
                    ErrorCode::CompletionFailed,
                    "the upload was stored but its completion hook failed",
                )
            } else {
                err
            };
            // A failed upload is never served: its bytes go at once (the sweeper removes them
            // with the record if this process stops first). Only the failure that wins the
            // record reaches `on_upload_error`: the sweep may have failed it already (its
            // completion ran past the deadline) and told the hook then.
            if shared
                .records
                .mark_failed(&key, &err.body(), now_ms())
                .await?
            {
                if let Err(e) = shared.storage.delete(&key).await {
                    tracing::warn!(key = %crate::sanitize::log_tag(&key), error = %e, "could not remove a failed upload's bytes; the sweeper will");
                }
                route.run_on_error(Some(meta), err.clone(), key).await;
            }
            Err(err)
        }
    }
}

/// Records a failure after preparation and tells `on_upload_error` — unless the upload had
/// already failed (whoever failed it first told the hook).
pub(crate) async fn fail(
    shared: &Shared,
    route: &Route,
    key: &str,
    meta: Option<Value>,
    err: &UploadError,
) {
    tracing::info!(key = %crate::sanitize::log_tag(key), code = %err.code(), outcome = "failed", "upload refused");
    match shared.records.mark_failed(key, &err.body(), now_ms()).await {
        Ok(false) => return,
        Ok(true) => {}
        // Unknown whether it was recorded: better told twice than never.
        Err(db) => {
            tracing::error!(key = %crate::sanitize::log_tag(key), error = %db, "could not record a failed upload")
        }
    }
    route.run_on_error(meta, err.clone(), key.to_string()).await;
}

/// Tells the route's `on_upload_error` of a failure recorded without a request (by the sweep
/// or start-up recovery, which won the record's change to `failed`). A hook that panics is
/// logged, not propagated.
pub(crate) async fn report_failure(shared: &Shared, key: &str, err: &UploadError) {
    let rec = match shared.records.get(key).await {
        Ok(Some(rec)) => rec,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(key = %crate::sanitize::log_tag(key), error = %e, "could not read a failed upload to report it");
            return;
        }
    };
    let Some(route) = shared.router.get(&rec.slug) else {
        return;
    };
    let told = AssertUnwindSafe(route.run_on_error(Some(rec.metadata), err.clone(), rec.key))
        .catch_unwind()
        .await;
    if told.is_err() {
        tracing::error!(key = %crate::sanitize::log_tag(key), "on_upload_error panicked");
    }
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
