//! Wire types of UploadThing's protocol (v7), as its stock client packages (`uploadthing`,
//! `@uploadthing/react`) speak it to a route handler and to the ingest: see
//! `docs/uploadthing.md`. The upload request's body is a [`PrepareRequest`](super::PrepareRequest)
//! (UploadThing's files are [`FileDeclaration`](super::FileDeclaration)s).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::route::{Acl, ContentDisposition};

/// The version of UploadThing's client this protocol was checked against; answered in
/// `x-uploadthing-version`.
pub const UPLOADTHING_VERSION: &str = "7.7.4";

/// One route in UploadThing's notation (`GET {base}/uploadthing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct UtRoute {
    /// The route's slug.
    pub slug: String,
    /// Each file type the route takes (`image`, `pdf`, `blob`, a MIME type, …) with its limits.
    pub config: BTreeMap<String, UtFileType>,
}

/// One file type of a route, in UploadThing's notation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UtFileType {
    /// The largest file: `4MB`, `512KB`, or, when the route's limit is not a whole number of
    /// a binary unit, the exact bytes (`1500000B`).
    #[schema(pattern = "^[1-9][0-9]*(B|KB|MB|GB)$|^0B$")]
    pub max_file_size: String,
    /// The most files of this type one upload may hold.
    pub max_file_count: u32,
    /// The fewest files of this type one upload must hold.
    pub min_file_count: u32,
    /// How files of this type are served.
    pub content_disposition: ContentDisposition,
    /// Who may read files of this type once stored.
    pub acl: Acl,
}

/// Where to send one file of an upload request, in the order of the request's `files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UtPresigned {
    /// The file's ingest URL, `{base}/uploadthing/ingest/{id}`: `HEAD` it for the bytes
    /// already received, `PUT` the rest there. It carries a capability: keep it private.
    pub url: String,
    /// The storage key of the file.
    pub key: String,
    /// The file's name as stored (sanitized, or as the middleware renamed it).
    pub name: String,
    /// The id the middleware gave the file, if any.
    #[schema(required = true)]
    pub custom_id: Option<String>,
}

/// The answer to the ingest `PUT` that completed a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UtUploaded {
    /// Where the file can be fetched (a signed URL for a private file).
    pub url: String,
    /// The same URL (UploadThing's client reads it under this name too).
    pub app_url: String,
    /// The same URL (UploadThing's client reads it under this name too).
    pub ufs_url: String,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub file_hash: String,
    /// The completion hook's answer: on a route that awaits server data; `null` otherwise.
    #[schema(required = true)]
    #[ts(type = "unknown")]
    pub server_data: Option<Value>,
}

/// An error of the UploadThing endpoints: UploadThing's client shows `message` (of the upload
/// request's answer); `error` is Uplift's usual error body, with its stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct UtError {
    /// What went wrong, for people.
    pub message: String,
    /// The error as every Uplift endpoint answers it.
    pub error: ErrorBody,
}
