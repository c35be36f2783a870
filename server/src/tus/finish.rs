//! The last byte: the same completion path as a `PUT` — sniff, SHA-256 and CRC32 of the whole
//! file, atomic commit under the storage key, `mark_stored`, the completion hook.
//!
//! With the digest carried across the PATCHes and a backend that can adopt a local file (the
//! local disk: a hard link), the file is stored in place: no second read, no copy. Otherwise
//! (after a restart, a concatenated upload, another backend) the tus file(s) are re-read once
//! through the ingest pipeline into the backend.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use crate::config::Shared;
use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::UploadError;
use crate::ingest::{check_checksums, check_type, ingest, Expectation};
use crate::service::completion::{complete, fail, FailGuard};
use crate::service::upload::{commit_error, record_stored};
use crate::service::uploaded_file;

use super::digest::Running;

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

/// Stores the upload and runs the hook. `Ok(Some(data))` on an `await_server_data` route;
/// `Ok(None)` when the hook runs in the background. Failures are recorded and reach
/// `on_upload_error`; the tus files are removed either way.
pub(crate) async fn finish(
    shared: &Arc<Shared>,
    origin: &str,
    route: &Arc<Route>,
    rec: &UploadRecord,
    parts: Vec<PathBuf>,
    length: u64,
    digest: Option<Running>,
) -> Result<Option<Value>, UploadError> {
    let mut guard = FailGuard::new(
        shared.clone(),
        route.clone(),
        rec.key.clone(),
        rec.metadata.clone(),
    );
    let outcome = store(shared, route, rec, parts.clone(), length, digest).await;
    guard.disarm();
    for p in &parts {
        let _ = tokio::fs::remove_file(p).await;
    }
    let file_rec = match outcome {
        Ok(r) => r,
        Err(err) => {
            fail(shared, route, &rec.key, Some(rec.metadata.clone()), &err).await;
            return Err(err);
        }
    };
    let file = uploaded_file(shared, origin, &file_rec)
        .ok_or_else(|| UploadError::internal_msg("stored record has no file"))?;
    if route.config().await_server_data {
        Ok(Some(
            complete(shared, route, rec.metadata.clone(), file).await?,
        ))
    } else {
        let (s, r, meta) = (shared.clone(), route.clone(), rec.metadata.clone());
        actix_web::rt::spawn(
            async move {
                let _ = complete(&s, &r, meta, file).await;
            }
            .instrument(tracing::Span::current()),
        );
        Ok(None)
    }
}

async fn store(
    shared: &Arc<Shared>,
    route: &Route,
    rec: &UploadRecord,
    parts: Vec<PathBuf>,
    length: u64,
    digest: Option<Running>,
) -> Result<UploadRecord, UploadError> {
    let rule = route.config().rule_for(&rec.content_type).map(|(_, r)| r);
    let rule_type = match rule {
        Some(r) => Some(r.file_type.clone()),
        None if rec.content_type == "application/octet-stream" => None,
        None => {
            return Err(crate::service::prepare::unsupported(
                route.config(),
                &rec.name,
                &rec.content_type,
            ))
        }
    };
    let exp = Expectation {
        exact_size: Some(length),
        max_size: length,
        min_size: 0,
        declared_type: rec.content_type.clone(),
        rule_type,
        sha256: rec.declared_sha256.clone(),
        crc32: None,
    };
    let in_place = match (digest, parts.as_slice()) {
        (Some(d), [part]) if d.offset == length => Some((d, part.clone())),
        _ => None,
    };
    let stored = match in_place {
        Some((d, part)) => {
            let content_type = check_type(&d.head, &exp)?;
            let (sha256, crc32) = d.finish();
            check_checksums(&exp, &sha256, crc32)?;
            let stored = StoredInfo {
                size: length,
                sha256,
                crc32,
                content_type,
            };
            check_sniffed(route, rec, &stored.content_type)?;
            if shared
                .storage
                .adopt(&part, &rec.key)
                .await
                .map_err(commit_error)?
            {
                Some(stored)
            } else {
                None
            }
        }
        None => None,
    };
    let stored = match stored {
        Some(s) => s,
        None => {
            let staged = shared.storage.stage().await?;
            let got = ingest(read_files(parts), &exp, staged).await?;
            check_sniffed(route, rec, &got.content_type)?;
            got.staged.commit(&rec.key).await.map_err(commit_error)?;
            StoredInfo {
                size: got.size,
                sha256: got.sha256,
                crc32: got.crc32,
                content_type: got.content_type,
            }
        }
    };
    record_stored(shared, &rec.key, &stored).await
}

/// A type sniffed from an undeclared (octet-stream) upload must still be one the route takes.
fn check_sniffed(route: &Route, rec: &UploadRecord, sniffed: &str) -> Result<(), UploadError> {
    if route.config().rule_for(sniffed).is_none() {
        return Err(crate::service::prepare::unsupported(
            route.config(),
            &rec.name,
            sniffed,
        ));
    }
    Ok(())
}
