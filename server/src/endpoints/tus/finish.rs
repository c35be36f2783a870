//! The last byte: the same completion path as a `PUT` — sniff, SHA-256 and CRC32 of the whole
//! file, atomic commit under the storage key, the record, the completion hook.
//!
//! With the digest carried across the PATCHes and a backend that can adopt a local file (the
//! local disk: a hard link), the file is stored in place: no second read, no copy. Otherwise
//! (after a restart, a concatenated upload, another backend) the tus file(s) are re-read once
//! through the ingest pass into the backend.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::UploadError;
use crate::ingest::resume::Running;
use crate::ingest::{check_checksums, check_type, Expectation};
use crate::pipeline::checks::check_sniffed;
use crate::pipeline::complete::{self, Hook};
use crate::pipeline::store::{self, commit_error, expectation, record_stored};
use crate::state::Shared;

/// The files, one after another, in 1 MiB reads.
fn read_files(paths: Vec<PathBuf>) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::try_unfold(
        (paths.into_iter(), None::<tokio::fs::File>),
        |(mut paths, mut current)| async move {
            loop {
                let file = match current.as_mut() {
                    Some(f) => f,
                    None => match paths.next() {
                        Some(p) => current.insert(tokio::fs::File::open(p).await?),
                        None => return Ok(None),
                    },
                };
                let mut buf = BytesMut::with_capacity(1024 * 1024);
                while buf.len() < buf.capacity() {
                    if file.read_buf(&mut buf).await? == 0 {
                        break;
                    }
                }
                if buf.is_empty() {
                    current = None;
                    continue;
                }
                return Ok(Some((buf.freeze(), (paths, current))));
            }
        },
    )
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
    parts: Vec<PathBuf>,
    length: u64,
    digest: Option<Running>,
    hook: Hook,
) -> Result<Option<Value>, UploadError> {
    let stored = async {
        let exp = expectation(route, rec, length)?;
        let stored = match (digest, parts.as_slice()) {
            (Some(d), [part]) if d.offset == length => {
                in_place(shared, route, rec, &exp, d, part).await?
            }
            _ => None,
        };
        match stored {
            Some(rec) => Ok(rec),
            None => store::store(shared, route, rec, &exp, read_files(parts.clone())).await,
        }
    };
    let outcome = complete::finish_with(shared, route, rec, origin, stored, hook).await;
    for p in &parts {
        let _ = tokio::fs::remove_file(p).await;
    }
    Ok(outcome?.server_data)
}

/// Stores the finished file where it is, from the digest carried across the PATCHes: `None`
/// when the backend cannot adopt it (the caller re-reads it instead).
async fn in_place(
    shared: &Shared,
    route: &Route,
    rec: &UploadRecord,
    exp: &Expectation,
    digest: Running,
    part: &std::path::Path,
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
    if !shared
        .storage
        .adopt(part, &rec.key)
        .await
        .map_err(commit_error)?
    {
        return Ok(None);
    }
    record_stored(shared, &rec.key, &stored).await.map(Some)
}
