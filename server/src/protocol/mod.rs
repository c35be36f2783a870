//! Wire types: every JSON body the server reads or writes.
//!
//! These structs are the single source of the protocol; the OpenAPI document and the
//! TypeScript types are generated from them. Field names are camelCase on the wire.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::route::{Acl, ContentDisposition};

/// One file the client intends to upload, as sent to the prepare endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileDeclaration {
    /// The client's file name; used for display and `Content-Disposition` only.
    pub name: String,
    /// Exact size in bytes; the upload must match it.
    pub size: u64,
    /// Declared MIME type; the bytes are sniffed and must agree.
    #[serde(rename = "type")]
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
    /// Optional lowercase hex SHA-256 of the content; the upload is refused if it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `POST {base}/{slug}`: the files to upload and the route's typed input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct PrepareRequest {
    pub files: Vec<FileDeclaration>,
    /// The route's input; `null` or absent for a route without one.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[ts(type = "unknown")]
    pub input: Value,
}

/// Where and how to send one prepared file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PreparedUpload {
    /// The storage key: random, unguessable, independent of the file name.
    pub key: String,
    /// The display name after sanitizing (and after any rename by the middleware).
    pub name: String,
    #[schema(required = true)]
    pub custom_id: Option<String>,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    /// Signed URL to `PUT` the bytes to; usable once, until `expiresAt`.
    pub upload_url: String,
    pub method: String,
    /// Headers the upload request must carry.
    pub headers: BTreeMap<String, String>,
    /// Unix time in milliseconds after which the URL is refused.
    pub expires_at: i64,
    /// Where to poll for the upload's status and server data: `{base}/files/{key}?token=…`.
    /// The token proves the bearer is the uploader; a private file's status is refused (404)
    /// without it, so hand this URL only to whoever uploads the file.
    pub status_url: String,
}

/// Answer of the prepare endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PrepareResponse {
    pub slug: String,
    pub await_server_data: bool,
    pub files: Vec<PreparedUpload>,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    /// Prepared; waiting for the bytes.
    Pending,
    /// Bytes are arriving.
    Uploading,
    /// Bytes are stored; the completion hook is running.
    Completing,
    /// Stored and the completion hook has answered.
    Complete,
    /// Refused or broken; `error` says why. Nothing of it is visible.
    Failed,
    /// The signed URL ran out before any byte arrived.
    Expired,
}

impl UploadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Pending => "pending",
            UploadStatus::Uploading => "uploading",
            UploadStatus::Completing => "completing",
            UploadStatus::Complete => "complete",
            UploadStatus::Failed => "failed",
            UploadStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => UploadStatus::Pending,
            "uploading" => UploadStatus::Uploading,
            "completing" => UploadStatus::Completing,
            "complete" => UploadStatus::Complete,
            "failed" => UploadStatus::Failed,
            "expired" => UploadStatus::Expired,
            _ => return None,
        })
    }
}

/// A stored file, as completion hooks receive it and clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UploadedFile {
    pub key: String,
    pub name: String,
    #[schema(required = true)]
    pub custom_id: Option<String>,
    pub size: u64,
    /// The MIME type, confirmed by sniffing where the format is recognisable.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the stored bytes.
    pub crc32: u32,
    pub acl: Acl,
    pub content_disposition: ContentDisposition,
    /// Where to download it: permanent for `public-read`, signed and expiring for `private`.
    pub url: String,
    /// The route slug it was uploaded through.
    pub slug: String,
}

/// `GET {base}/files/{key}`, and the answer of an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    pub key: String,
    pub status: UploadStatus,
    /// Present once the bytes are stored.
    #[schema(required = true)]
    pub file: Option<UploadedFile>,
    /// The completion hook's answer, once it has answered (always `null` before).
    #[schema(required = true)]
    #[ts(type = "unknown")]
    pub server_data: Option<Value>,
    /// Why the upload or its completion failed.
    #[schema(required = true)]
    pub error: Option<ErrorBody>,
    /// Where to poll for this upload's status: `{base}/files/{key}?token=…`, the token proving
    /// the bearer is the uploader (see `PreparedUpload.statusUrl`).
    pub status_url: String,
}

/// Answer of the multipart one-shot endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct MultipartResponse {
    pub files: Vec<UploadResult>,
}

/// One file type of a route, as clients see it (`GET {base}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileTypeConfig {
    /// `image`, `video`, `audio`, `pdf`, `text`, `blob`, or a MIME type/wildcard.
    #[serde(rename = "type")]
    pub file_type: String,
    /// The MIME pattern it stands for: `image/*`, `application/pdf`, … (for `blob`: any type).
    pub mime: String,
    pub max_file_size: u64,
    pub max_file_count: u32,
    pub min_file_count: u32,
    pub content_disposition: ContentDisposition,
    pub acl: Acl,
}

/// One route as clients see it, so they can check files before sending a byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct RouteInfo {
    pub slug: String,
    pub types: Vec<FileTypeConfig>,
    pub await_server_data: bool,
    #[schema(required = true)]
    pub max_total_file_count: Option<u32>,
    #[schema(required = true)]
    pub max_total_size: Option<u64>,
    /// JSON Schema (draft 2020-12) of the route's `input`, with its validation constraints
    /// (`maxLength`, `minimum`, `format`, `pattern`, …), so clients can check it before sending.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    #[ts(type = "Record<string, unknown>")]
    pub input_schema: Value,
}

/// `GET {base}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct RoutesResponse {
    pub routes: Vec<RouteInfo>,
}

impl RouteInfo {
    /// The route as `GET {base}` describes it.
    pub fn of(route: &crate::definition::Route) -> Self {
        let c = route.config();
        RouteInfo {
            slug: c.slug.to_string(),
            types: c
                .types
                .iter()
                .map(|r| FileTypeConfig {
                    file_type: r.file_type.as_str().to_string(),
                    mime: r.file_type.pattern().to_string(),
                    max_file_size: r.max_file_size,
                    max_file_count: r.max_file_count,
                    min_file_count: r.min_file_count,
                    content_disposition: r.content_disposition,
                    acl: r.acl,
                })
                .collect(),
            await_server_data: c.await_server_data,
            max_total_file_count: c.max_total_file_count,
            max_total_size: c.max_total_size,
            input_schema: route.input_schema().clone(),
        }
    }
}

mod signed;
pub use signed::{
    FileEnvelope, FileKind, FileObject, Links, Meta, PostForm, SignedPost, SignedPut, UploadToken,
};
