//! The last byte: the same completion path as a `PUT` — sniff, SHA-256 and CRC32 of the whole
//! file, the stored file under the key, the record, the completion hook.
//!
//! The upload's bytes are adopted by the storage where the store can (a hard link on the local
//! disk, a copy inside the bucket on S3): with the digest carried across the PATCHes nothing is
//! read again; otherwise (after a restart, when PATCHes went through several instances) the
//! bytes are read back once to hash them. A concatenated upload, or a store and backend that
//! cannot adopt, is read once through the ingest pass into the backend.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde_json::Value;

use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::UploadError;
use crate::ingest::resume::Running;
use crate::ingest::{check_checksums, check_type, Expectation};
use crate::pipeline::checks::check_sniffed;
use crate::pipeline::complete::{self, Hook};
use crate::pipeline::store::{self, commit_error, expectation, record_stored};
use crate::state::Shared;
use crate::storage::ResumableStore;

/// The uploads' bytes, one after another.
fn read_all(
    store: Arc<dyn ResumableStore>,
    keys: Vec<String>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter(keys)
        .then(move |key| {
            let store = store.clone();
            async move { store.read(&key).await }
        })
        .try_flatten()
}

/// Stores the upload and runs the hook (as `hook` says). `Ok(Some(data))` on an
/// `await_server_data` route; `Ok(None)` when the hook runs in the background. Failures are
/// recorded and reach `on_upload_error`; the tus files are removed either way.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish(
    shared: &Arc<Shared>,
    origin: &str,
    route: &Arc<Route>,
    rec: &UploadRecord,
    parts: Vec<String>,
    length: u64,
    digest: Option<Running>,
    hook: Hook,
) -> Result<Option<Value>, UploadError> {
    let tus = super::tus_store(shared)?.clone();
    let stored = async {
        let exp = expectation(route, rec, length)?;
        let stored = match parts.as_slice() {
            [part] => {
                let digest = match digest {
                    Some(d) if d.offset == length => d,
                    _ => digest_of(tus.read(part).await?).await?,
                };
                in_place(shared, &tus, route, rec, &exp, digest, part).await?
            }
            _ => None,
        };
        match stored {
            Some(rec) => Ok(rec),
            None => {
                store::store(
                    shared,
                    route,
                    rec,
                    &exp,
                    read_all(tus.clone(), parts.clone()),
                )
                .await
            }
        }
    };
    let outcome = complete::finish_with(shared, route, rec, origin, stored, hook).await;
    for p in &parts {
        if let Err(e) = tus.remove(p).await {
            // The sweep removes it with the upload's record.
            tracing::warn!(key = %crate::sanitize::log_tag(p), error = %e, "could not remove a finished tus upload's bytes");
        }
    }
    Ok(outcome?.server_data)
}

/// The digest of a whole upload, read back from its store.
async fn digest_of(
    mut bytes: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
) -> Result<Running, UploadError> {
    let mut digest = Running::default();
    while let Some(chunk) = bytes.next().await {
        digest.update(&chunk?);
    }
    Ok(digest)
}

/// Stores the finished upload where it is, from its digest: `None` when the store cannot adopt
/// it (the caller reads it through the ingest pass instead).
async fn in_place(
    shared: &Shared,
    tus: &Arc<dyn ResumableStore>,
    route: &Route,
    rec: &UploadRecord,
    exp: &Expectation,
    digest: Running,
    part: &str,
) -> Result<Option<UploadRecord>, UploadError> {
    let content_type = check_type(&digest.head, exp)?;
    check_sniffed(route, &content_type)?;
    let size = digest.offset;
    let (sha256, crc32) = digest.finish();
    check_checksums(exp, &sha256, crc32)?;
    let stored = StoredInfo {
        size,
        sha256,
        crc32: Some(crc32),
        content_type,
    };
    if !tus
        .adopt(part, size, shared.storage.as_ref())
        .await
        .map_err(commit_error)?
    {
        return Ok(None);
    }
    record_stored(shared, rec, stored).await.map(Some)
}
