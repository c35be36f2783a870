//! Wire types of managing stored files (`docs/files.md`): listings, changes, removals and
//! usage, for the app's own users over HTTP and for the app in Rust.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::{UploadStatus, UploadedFile};
use crate::route::Acl;

/// What a cursor looks like: creation time in unix milliseconds (up to 18 digits), `.`, a key.
pub(crate) const CURSOR_PATTERN: &str = "^[0-9]{1,18}\\.[A-Za-z0-9_-]{1,128}$";

/// One upload of a file route, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// The storage key.
    pub key: String,
    /// The route slug it was uploaded through.
    pub slug: String,
    /// Where the upload stands.
    pub status: UploadStatus,
    /// The display name (also the name a download is saved as).
    pub name: String,
    /// The size in bytes: as stored, or as declared until then.
    pub size: u64,
    /// The stored file, with a URL to fetch it; `null` until stored.
    #[schema(required = true)]
    pub file: Option<UploadedFile>,
    /// Who may read it.
    pub acl: Acl,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the last change of state, name or ACL.
    pub updated_at: String,
}

/// A page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileList {
    /// The files of this page.
    pub files: Vec<FileInfo>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `PATCH {base}/files/{key}`: what to change; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileChange {
    /// A new display name (sanitized as upload names are; also the download's file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// A new ACL: `private` files are served with signed URLs only; `public-read` by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub acl: Option<Acl>,
}

/// What a removal did to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub enum Deletion {
    /// The record and the bytes are gone.
    Deleted,
    /// There was no such file (already deleted, or never there).
    NotFound,
    /// The upload is receiving bytes or completing; it stays (try again once it settled).
    InProgress,
}

/// One key's outcome in a removal of several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeleteResult {
    /// The key asked for.
    pub key: String,
    /// What happened to it.
    pub result: Deletion,
}

/// Stored files and their bytes, in total and per route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Stored files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Per route, by slug.
    pub routes: Vec<RouteUsage>,
}

/// One route's stored files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct RouteUsage {
    /// The route's slug.
    pub slug: String,
    /// Stored files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}
