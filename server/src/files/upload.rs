//! Server-side uploads into a route ([`Files::upload`]): bytes the app has — a stream, or a
//! remote URL ([`Files::upload_from_url`], feature `fetch`) — through the route's rules, the
//! ingest checks and its completion hook, as an upload from a client would be; no middleware
//! runs (the app is the caller), the app gives the metadata.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};

use super::Files;
use crate::db::NewUpload;
use crate::error::{ErrorCode, UploadError};
use crate::ingest::Expectation;
use crate::pipeline::checks::unsupported;
use crate::pipeline::complete::hand_off;
use crate::pipeline::store::{commit_error, receive, stored_info};
use crate::pipeline::views::uploaded_file;
use crate::protocol::{FileInfo, UploadStatus};
use crate::route::normalize_mime;
use crate::sanitize::sanitize_filename;
use crate::state::{new_key, now_ms};
use crate::storage::Target;

/// A file the app uploads itself: its name, its type and its bytes.
pub struct UploadSource<S> {
    /// The file name (sanitized as upload names are).
    pub name: String,
    /// The declared type; `application/octet-stream` to have it sniffed.
    pub content_type: String,
    /// The bytes, streamed.
    pub body: S,
}

impl Files {
    /// Uploads a file into the route `slug` from the server itself: the route's rules for
    /// its type and size, the ingest checks (sniffed type, SHA-256, CRC32), then the route's
    /// completion hook with `metadata` (what the middleware would have returned; it does not
    /// run). Answers with the file once stored (and, on a route that awaits it, once the hook
    /// answered). Call it from within the actix system (a handler, `actix_rt`): the hooks run
    /// there.
    pub async fn upload<S, E>(
        &self,
        slug: &str,
        source: UploadSource<S>,
        metadata: Value,
    ) -> Result<FileInfo, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let shared = &self.shared;
        let route = shared
            .router
            .get(slug)
            .cloned()
            .ok_or_else(|| UploadError::not_found("no such route"))?;
        let config = route.config();
        let declared = normalize_mime(&source.content_type)
            .unwrap_or_else(|| "application/octet-stream".into());
        let known = if declared == "application/octet-stream" {
            None
        } else {
            Some(
                config
                    .rule_for(&declared)
                    .ok_or_else(|| unsupported(config, 0))?
                    .0,
            )
        };
        let exp = Expectation {
            exact_size: None,
            max_size: known.map_or(config.largest_file_size(), |i| {
                config.types[i].max_file_size
            }),
            min_size: 0,
            declared_type: declared,
            rule_type: known.map(|i| config.types[i].file_type.clone()),
            sha256: None,
            crc32: None,
        };
        let key = new_key();
        let got = receive(shared, Target::Key(key.clone()), &exp, source.body).await?;
        let (_, rule) = config
            .rule_for(&got.content_type)
            .ok_or_else(|| unsupported(config, 0))?;
        if got.size > rule.max_file_size {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!(
                    "{} files may be at most {} bytes",
                    rule.file_type.as_str(),
                    rule.max_file_size
                ),
            )
            .with_data(json!({ "limit": rule.max_file_size })));
        }
        let stored = stored_info(&got);
        got.staged.commit().await.map_err(commit_error)?;
        let now = now_ms();
        let row = NewUpload {
            key: key.clone(),
            slug: config.slug.to_string(),
            status: UploadStatus::Completing,
            name: sanitize_filename(&source.name),
            custom_id: None,
            size: stored.size,
            content_type: stored.content_type.clone(),
            declared_sha256: None,
            acl: rule.acl,
            content_disposition: rule.content_disposition,
            metadata: metadata.clone(),
            expires_at: now,
            created_at: now,
            stored: Some(stored),
            caller: self.owner.as_ref().and_then(|tags| tags.first().cloned()),
            reserved: None,
        };
        if let Err(e) = shared
            .records
            .insert_as(std::slice::from_ref(&row), Some(&shared.instance_id))
            .await
        {
            let _ = shared.storage.delete(&key).await;
            return Err(e.into());
        }
        let rec = shared
            .records
            .get(&key)
            .await?
            .ok_or_else(|| UploadError::internal_msg("record vanished"))?;
        let file = uploaded_file(shared, &self.origin, &rec)
            .ok_or_else(|| UploadError::internal_msg("a stored record has no file"))?;
        hand_off(shared, &route, metadata, file).await?;
        self.get(&key)
            .await?
            .ok_or_else(|| UploadError::internal_msg("the uploaded file is gone"))
    }
}
