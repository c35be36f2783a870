//! Wire types of direct multipart uploads: a large file sent straight to the storage bucket in
//! parts (see `PreparedUpload.multipart`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// How to send a large file straight to the storage bucket, in parts of `partSize` bytes (the
/// last one holds the rest). Send the parts in any order, in parallel, each with a `PUT` of
/// exactly its bytes to its URL; then `POST` the plan's `completeUrl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct MultipartPlan {
    /// The size of every part but the last, in bytes.
    pub part_size: u64,
    /// How many parts the file has (`ceil(size / partSize)`, at least 1).
    pub part_count: u32,
    /// Presigned URLs of the first parts (at most 100); ask `partsUrl` for the others.
    pub parts: Vec<PartUrl>,
    /// `POST` a `PartsRequest` here for more part URLs and the parts the bucket already has
    /// (to resume after a reload).
    pub parts_url: String,
    /// `POST` here (no body) to cancel the upload: the bucket drops the parts and the upload
    /// fails with `CANCELLED`.
    pub abort_url: String,
    /// Once every part is in, `POST` here (no body) to have the file checked and completed;
    /// it answers what this server's own upload URL would have answered. Called before every
    /// part arrived, it answers 409 `CONFLICT` with `data.missing` and stays usable.
    pub complete_url: String,
}

/// Where to send one part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PartUrl {
    /// The part's number, from 1: bytes `(n - 1) × partSize` up to the next part's.
    pub part_number: u32,
    /// The bucket's presigned URL: `PUT` the part's bytes, exactly, until the upload's
    /// `expiresAt`. The bucket refuses another length.
    pub url: String,
}

/// `POST {base}/upload/{key}/parts?…`: which part URLs to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PartsRequest {
    /// The first part number to sign (from 1).
    #[serde(with = "super::whole::u32")]
    #[ts(as = "u32")]
    pub first: u32,
    /// How many part URLs, from `first` (at most 100; fewer past the last part).
    #[serde(with = "super::whole::u32")]
    #[ts(as = "u32")]
    pub count: u32,
}

/// Answer of the parts endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PartsResponse {
    /// The size of every part but the last, in bytes.
    pub part_size: u64,
    /// How many parts the file has.
    pub part_count: u32,
    /// The part URLs asked for.
    pub parts: Vec<PartUrl>,
    /// The parts the bucket already holds, by number (no need to send them again).
    pub uploaded: Vec<UploadedPart>,
    /// Unix time in milliseconds after which the URLs are refused.
    pub expires_at: i64,
}

/// A part the bucket holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UploadedPart {
    /// The part's number, from 1.
    pub part_number: u32,
    /// Its size in bytes, as the bucket holds it.
    pub size: u64,
}
