//! Bytes into storage: what they must live up to, one streaming pass through ingest into an
//! invisible staged write, the commit, and the record of what was stored.

use bytes::Bytes;
use futures_util::Stream;

use crate::db::{StoredInfo, UploadRecord};
use crate::definition::Route;
use crate::error::{ErrorCode, UploadError};
use crate::ingest::{ingest, Expectation, Ingested};
use crate::state::{now_ms, Shared};
use crate::storage::Target;

use super::checks::{check_sniffed, unsupported};

/// What the bytes of a recorded upload must be: `length` bytes of the type it was prepared or
/// created with (sniffed when that is `application/octet-stream`), under the route's rule for
/// that type, with the declared SHA-256.
pub(crate) fn expectation(
    route: &Route,
    rec: &UploadRecord,
    length: u64,
) -> Result<Expectation, UploadError> {
    let rule_type = match route.config().rule_for(&rec.content_type) {
        Some((_, r)) => Some(r.file_type.clone()),
        None if rec.content_type == "application/octet-stream" => None,
        None => return Err(unsupported(route.config(), 0)),
    };
    Ok(Expectation {
        exact_size: Some(length),
        max_size: length,
        min_size: 0,
        declared_type: rec.content_type.clone(),
        rule_type,
        sha256: rec.declared_sha256.clone(),
        crc32: None,
    })
}

/// Streams `body` through the ingest pass into a staged write of the storage backend, bound
/// for `target`.
pub(crate) async fn receive<S, E>(
    shared: &Shared,
    target: Target,
    exp: &Expectation,
    body: S,
) -> Result<Ingested, UploadError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let staged = shared.storage.stage(target).await?;
    ingest(body, exp, staged).await
}

/// What the ingest pass found, as recorded.
pub(crate) fn stored_info(got: &Ingested) -> StoredInfo {
    StoredInfo {
        size: got.size,
        sha256: got.sha256.clone(),
        crc32: Some(got.crc32),
        content_type: got.content_type.clone(),
    }
}

/// The bytes of a claimed upload: received, checked against `exp` and the route, committed
/// under the record's key and recorded. The record as stored.
pub(crate) async fn store<S, E>(
    shared: &Shared,
    route: &Route,
    rec: &UploadRecord,
    exp: &Expectation,
    body: S,
) -> Result<UploadRecord, UploadError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let got = receive(shared, Target::Key(rec.key.clone()), exp, body).await?;
    check_sniffed(route, &got.content_type)?;
    let stored = stored_info(&got);
    got.staged.commit().await.map_err(commit_error)?;
    record_stored(shared, rec, stored).await
}

/// A failed commit: a name already taken (never replaced) or a file and a folder sharing a
/// name is a conflict; anything else is internal.
pub(crate) fn commit_error(e: std::io::Error) -> UploadError {
    use std::io::ErrorKind::*;
    match e.kind() {
        AlreadyExists => UploadError::new(
            ErrorCode::Conflict,
            "an object with this name already exists",
        ),
        NotADirectory | IsADirectory | DirectoryNotEmpty => UploadError::new(
            ErrorCode::Conflict,
            "a file and a folder cannot share a name",
        ),
        _ => UploadError::internal(e),
    }
}

/// Records committed bytes; when the record moved on meanwhile (cancelled, swept as stale),
/// takes the bytes back. The record as stored: `rec` (the upload as its request read it) with
/// what storing changed, built here rather than read back, which would cost every upload one
/// more trip to the database.
pub(crate) async fn record_stored(
    shared: &Shared,
    rec: &UploadRecord,
    stored: StoredInfo,
) -> Result<UploadRecord, UploadError> {
    let now = now_ms();
    if !shared
        .records
        .mark_stored_as(&rec.key, &stored, Some(&shared.instance_id), now)
        .await?
    {
        let _ = shared.storage.delete(&rec.key).await;
        return Err(UploadError::new(
            ErrorCode::Conflict,
            "the upload was cancelled while storing it",
        ));
    }
    Ok(rec.stored_as(stored, now))
}
