//! Managing the stored files of file routes (`docs/files.md`): list, get, rename, change the
//! ACL, sign a download URL, delete, usage — for the app in Rust ([`Files`], from
//! [`crate::Uplift::files`]), and over HTTP for the app's own users when the router says who
//! may do what ([`crate::Router::manage_files`]).

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "fetch")]
mod fetch;
mod upload;

#[cfg(feature = "fetch")]
pub use fetch::{fetch_allowed, FetchOptions};
pub use upload::UploadSource;

use crate::db::{FileCursor, FileFilter, FileRow, Removal};
use crate::error::{ErrorCode, UploadError};
use crate::objects::object::rfc3339;
use crate::pipeline::views::{signed_download_path, uploaded_file};
use crate::protocol::{
    DeleteResult, Deletion, FileInfo, FileList, RouteUsage, UploadStatus, Usage,
};
use crate::route::Acl;
pub use crate::router::FilesAccess;
use crate::state::{now_ms, Shared};

/// Most files one page lists.
pub const MAX_PAGE: u32 = 100;
/// Most keys one [`Files::delete`] call removes.
pub const MAX_DELETE: usize = 100;

/// What a listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileQuery {
    /// Which files.
    pub filter: FileFilter,
    /// Where the page starts: the `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Most files on the page, 1 to [`MAX_PAGE`]; 0 means 20.
    pub limit: u32,
}

/// The stored files of file routes, as the app manages them. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    shared: Arc<Shared>,
    origin: String,
    /// When managing for one caller: their keyed hashes (one per signing key, the current
    /// one first, so files recorded before a key rotation stay theirs); every operation stays
    /// within them.
    owner: Option<Vec<String>>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("origin", &self.origin)
            .field("owner", &self.owner.is_some())
            .finish_non_exhaustive()
    }
}

fn bad_cursor() -> UploadError {
    UploadError::new(ErrorCode::BadRequest, "the cursor is malformed")
}

/// A cursor names the last file of a page: `{created_at}.{key}`, nothing secret (whoever
/// holds it could list that page anyway). Its shape is `protocol::files::CURSOR_PATTERN`.
fn encode_cursor(c: &FileCursor) -> String {
    format!("{}.{}", c.created_at, c.key)
}

fn decode_cursor(s: &str) -> Result<FileCursor, UploadError> {
    let (at, key) = s.split_once('.').ok_or_else(bad_cursor)?;
    let digits = !at.is_empty() && at.len() <= 18 && at.bytes().all(|b| b.is_ascii_digit());
    if !digits || crate::storage::check_key(key).is_err() {
        return Err(bad_cursor());
    }
    Ok(FileCursor {
        created_at: at.parse::<i64>().map_err(|_| bad_cursor())?,
        key: key.to_string(),
    })
}

fn in_progress() -> UploadError {
    UploadError::new(
        ErrorCode::InProgress,
        "the file is still being uploaded or completed: try again once it is stored",
    )
}

fn no_such_file() -> UploadError {
    UploadError::not_found("no such file")
}

impl Files {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let origin = shared.public_url.clone().unwrap_or_default();
        Files {
            shared,
            origin,
            owner: None,
        }
    }

    /// The same handle, making absolute URLs on `origin` (`https://files.example.com`).
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into().trim_end_matches('/').to_string();
        self
    }

    /// The same handle, limited to the files `caller` uploaded (the identity
    /// [`crate::UpliftBuilder::caller`] named for their requests): others are not listed,
    /// counted or changed, and answer as missing.
    pub fn owned_by(mut self, caller: &str) -> Self {
        self.owner = Some(self.shared.signer.caller_tags(&format!("app:{caller}")));
        self
    }

    pub(crate) fn for_access(self, access: FilesAccess) -> Self {
        match access {
            FilesAccess::Owner(caller) => self.owned_by(&caller),
            FilesAccess::All => self,
        }
    }

    fn info(&self, row: &FileRow) -> FileInfo {
        let rec = &row.record;
        let file = uploaded_file(&self.shared, &self.origin, rec);
        FileInfo {
            key: rec.key.clone(),
            slug: rec.slug.clone(),
            status: rec.status,
            name: rec.name.clone(),
            size: rec.stored.as_ref().map_or(rec.size, |s| s.size),
            file,
            acl: rec.acl,
            created_at: rfc3339(rec.created_at),
            updated_at: rfc3339(rec.updated_at),
        }
    }

    fn mine(&self, row: &FileRow) -> bool {
        match (&self.owner, &row.caller) {
            (None, _) => true,
            (Some(tags), Some(caller)) => tags.contains(caller),
            (Some(_), None) => false,
        }
    }

    /// The file under `key`, `None` when there is none (or it is another caller's).
    async fn row(&self, key: &str) -> Result<Option<FileRow>, UploadError> {
        if crate::storage::check_key(key).is_err() {
            return Ok(None);
        }
        Ok(self
            .shared
            .records
            .file(key)
            .await?
            .filter(|r| self.mine(r)))
    }

    /// A page of files, newest first. Stable while uploads go on: new files come before the
    /// cursor, so a page never repeats or skips one.
    pub async fn list(&self, query: &FileQuery) -> Result<FileList, UploadError> {
        let limit = match query.limit {
            0 => 20,
            n => n.min(MAX_PAGE),
        };
        let mut filter = query.filter.clone();
        if self.owner.is_some() {
            filter.callers = self.owner.clone().unwrap_or_default();
        }
        if let Some((key, _)) = &filter.metadata {
            if !crate::db::metadata_key_ok(key) {
                return Err(UploadError::new(
                    ErrorCode::BadRequest,
                    "a metadata key is 1-64 characters of [A-Za-z0-9_-]",
                ));
            }
        }
        let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
        // One more than the page: whether there is a next one.
        let mut rows = self
            .shared
            .records
            .list_files(&filter, after.as_ref(), limit + 1)
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = more.then(|| {
            let last = &rows[rows.len() - 1].record;
            encode_cursor(&FileCursor {
                created_at: last.created_at,
                key: last.key.clone(),
            })
        });
        Ok(FileList {
            files: rows.iter().map(|r| self.info(r)).collect(),
            next_cursor,
        })
    }

    /// One file, `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<FileInfo>, UploadError> {
        Ok(self.row(key).await?.map(|r| self.info(&r)))
    }

    /// Removes files, bytes and records, each key on its own: a key that is missing (or
    /// already deleted) is `NotFound`, one still uploading or completing is `InProgress` and
    /// stays. A deleted key is never served again: its download URLs, signed or not, answer
    /// 404. The route's `on_delete` hook runs for each deleted file.
    pub async fn delete(&self, keys: &[&str]) -> Result<Vec<DeleteResult>, UploadError> {
        if keys.len() > MAX_DELETE {
            return Err(UploadError::new(
                ErrorCode::BadRequest,
                format!("at most {MAX_DELETE} keys at once"),
            ));
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(DeleteResult {
                key: key.to_string(),
                result: self.delete_one(key).await?,
            });
        }
        Ok(out)
    }

    async fn delete_one(&self, key: &str) -> Result<Deletion, UploadError> {
        if self.row(key).await?.is_none() {
            return Ok(Deletion::NotFound);
        }
        let removed = match self.shared.records.remove_file(key).await? {
            Removal::Removed(row) => *row,
            Removal::Missing => return Ok(Deletion::NotFound),
            Removal::InProgress => return Ok(Deletion::InProgress),
        };
        // The record is gone first: nothing serves the key any more. Bytes whose removal
        // fails are a file without a record, which the sweep collects.
        if let Err(e) = self.shared.storage.delete(key).await {
            tracing::warn!(key = %crate::sanitize::log_tag(key), error = %e, "could not remove a deleted file's bytes (the sweep will)");
        }
        let info = self.info(&removed);
        if let Some(route) = self.shared.router.get(&info.slug) {
            route
                .run_on_delete(removed.record.metadata.clone(), info)
                .await;
        }
        Ok(Deletion::Deleted)
    }

    /// Changes a stored file's display name (the name downloads are saved as), sanitized as
    /// upload names are.
    pub async fn rename(&self, key: &str, name: &str) -> Result<FileInfo, UploadError> {
        let clean = crate::sanitize::sanitize_filename(name);
        self.change(key, Some(&clean), None).await
    }

    /// Makes a stored file public (`public-read`: its URL is its key's) or private (signed
    /// URLs only: its public URL answers 404 from now on).
    pub async fn set_acl(&self, key: &str, acl: Acl) -> Result<FileInfo, UploadError> {
        self.change(key, None, Some(acl)).await
    }

    pub(crate) async fn change(
        &self,
        key: &str,
        name: Option<&str>,
        acl: Option<Acl>,
    ) -> Result<FileInfo, UploadError> {
        // Another caller's file answers as a missing one.
        let row = self.row(key).await?.ok_or_else(no_such_file)?;
        if name.is_none() && acl.is_none() {
            return Ok(self.info(&row));
        }
        if !self
            .shared
            .records
            .change_file(key, name, acl, now_ms())
            .await?
        {
            // Not stored (yet, or any more): say which.
            return Err(match self.row(key).await? {
                None => no_such_file(),
                Some(r)
                    if matches!(
                        r.record.status,
                        UploadStatus::Pending | UploadStatus::Uploading | UploadStatus::Completing
                    ) =>
                {
                    in_progress()
                }
                Some(_) => UploadError::new(
                    ErrorCode::Conflict,
                    "only a stored file can be renamed or have its ACL changed",
                ),
            });
        }
        let row = self.row(key).await?.ok_or_else(no_such_file)?;
        Ok(self.info(&row))
    }

    /// A download URL of a stored file that works for `ttl` (1 second to 7 days), whatever
    /// its ACL.
    pub async fn signed_url(&self, key: &str, ttl: Duration) -> Result<String, UploadError> {
        if !(1..=crate::signing::MAX_EXPIRY_SECS as u64).contains(&ttl.as_secs()) {
            return Err(UploadError::new(
                ErrorCode::InvalidInput,
                "ttl must be between 1 second and 7 days",
            ));
        }
        let row = self.row(key).await?.ok_or_else(no_such_file)?;
        if row.record.stored.is_none() {
            return Err(no_such_file());
        }
        Ok(format!(
            "{}{}",
            self.origin,
            signed_download_path(&self.shared, key, ttl)
        ))
    }

    /// Stored files and their bytes, in total and per route.
    pub async fn usage(&self) -> Result<Usage, UploadError> {
        let routes: Vec<RouteUsage> = self
            .shared
            .records
            .usage(self.owner.as_deref().unwrap_or_default())
            .await?
            .into_iter()
            .map(|(slug, files, bytes)| RouteUsage { slug, files, bytes })
            .collect();
        Ok(Usage {
            files: routes.iter().map(|r| r.files).sum(),
            bytes: routes.iter().map(|r| r.bytes).sum(),
            routes,
        })
    }
}
