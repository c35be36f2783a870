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
    #[serde(with = "whole::u64")]
    #[ts(as = "u64")]
    pub size: u64,
    /// Declared MIME type; the bytes are sniffed and must agree.
    #[serde(rename = "type")]
    pub content_type: String,
    /// The file's last modification, in unix milliseconds, as browsers report it
    /// (`File.lastModified`). Informational: the server does not use it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "whole::option_i64"
    )]
    #[ts(as = "Option<i64>")]
    pub last_modified: Option<i64>,
    /// Optional lowercase hex SHA-256 of the content; the upload is refused if it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
}

/// Integers a client sends. JSON Schema (and so the OpenAPI document) counts `5.0` as the
/// integer 5, and some JSON encoders write whole numbers that way: they are taken as integers;
/// a fraction, or a number out of range, is refused as serde refuses any wrong type.
mod whole {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::Deserialize;
    use std::fmt;

    /// A whole number, however the JSON spelled it.
    struct Whole(i128);

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Whole;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an integer")
                }
                fn visit_u64<E: Error>(self, v: u64) -> Result<Whole, E> {
                    Ok(Whole(v.into()))
                }
                fn visit_i64<E: Error>(self, v: i64) -> Result<Whole, E> {
                    Ok(Whole(v.into()))
                }
                fn visit_f64<E: Error>(self, v: f64) -> Result<Whole, E> {
                    // Within ±2^64 every f64 with no fraction is exactly an i128.
                    if v.fract() == 0.0 && v.abs() <= 1.8446744073709552e19 {
                        Ok(Whole(v as i128))
                    } else {
                        Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                    }
                }
            }
            d.deserialize_any(V)
        }
    }

    fn fit<T: TryFrom<i128>, E: Error>(w: Whole) -> Result<T, E> {
        T::try_from(w.0).map_err(|_| E::custom("the integer is out of range"))
    }

    /// `#[serde(with)]` modules: written as serde writes the type, read as a [`Whole`].
    pub mod u64 {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
            v.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
            super::fit(super::Whole::deserialize(d)?)
        }
    }

    pub mod u32 {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
            v.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
            super::fit(super::Whole::deserialize(d)?)
        }
    }

    pub mod option_i64 {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            v.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Option::<super::Whole>::deserialize(d)?
                .map(super::fit)
                .transpose()
        }
    }
}

/// `POST {base}/{slug}`: the files to upload and the route's typed input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct PrepareRequest {
    /// The files, one entry each; the route's type rules decide how many it may hold.
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
    /// The identifier the middleware attached, or `null`.
    #[schema(required = true)]
    pub custom_id: Option<String>,
    /// The declared size in bytes; the upload must send exactly this many.
    pub size: u64,
    /// The declared, normalized MIME type.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Signed URL to `PUT` the bytes to, until `expiresAt`: this server's, or — when
    /// `completeUrl` is set — the storage bucket's own presigned URL.
    pub upload_url: String,
    /// The HTTP method to send the bytes with: always `PUT`.
    pub method: String,
    /// Headers the upload request must carry, exactly.
    pub headers: BTreeMap<String, String>,
    /// Set when the bytes go straight to the storage bucket (`uploadUrl` is the bucket's): once
    /// the `PUT` succeeded, `POST` this URL (no body) to have the file checked and completed.
    /// Its answer is what this server's own upload URL would have answered. `null` when
    /// `uploadUrl` is this server's.
    #[schema(required = true)]
    pub complete_url: Option<String>,
    /// Set for a large file that may go straight to the storage bucket in parts: send them as
    /// the plan says, then `POST` the plan's `completeUrl`. `null` otherwise. `uploadUrl` is
    /// then this server's own: a client that does not send parts `PUT`s the whole file there
    /// instead, as without a plan.
    #[schema(required = true)]
    pub multipart: Option<MultipartPlan>,
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
    /// The route the files were prepared for.
    pub slug: String,
    /// Whether the client should wait for the completion hook's answer (poll `statusUrl`) before it
    /// reports the upload as done.
    pub await_server_data: bool,
    /// One entry per declared file, in the same order.
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
    /// The status as stored and sent: `pending`, `uploading`, `completing`, `complete`, `failed` or
    /// `expired`.
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
    /// The status a stored or received string names; `None` for anything else.
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
    /// The storage key: random, unguessable, independent of the file name.
    pub key: String,
    /// The display name, sanitized (and possibly renamed by the middleware).
    pub name: String,
    /// The identifier the middleware attached, or `null`.
    #[schema(required = true)]
    pub custom_id: Option<String>,
    /// Size in bytes, as stored.
    pub size: u64,
    /// The MIME type, confirmed by sniffing where the format is recognisable.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the stored bytes; `null` for a file sent straight to the storage
    /// bucket (see `completeUrl`), whose bytes this server never read.
    #[schema(required = true)]
    pub crc32: Option<u32>,
    /// Who may read the file: anyone with `url`, or only holders of a signed URL.
    pub acl: Acl,
    /// Whether browsers show the file (`inline`) or download it (`attachment`).
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
    /// The storage key of the upload.
    pub key: String,
    /// Where the upload stands.
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
    /// One result per file part, in the order the parts arrived.
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
    /// The largest file of this type, in bytes.
    pub max_file_size: u64,
    /// The most files of this type one upload may hold.
    pub max_file_count: u32,
    /// The fewest files of this type one upload must hold.
    pub min_file_count: u32,
    /// Whether browsers show files of this type (`inline`) or download them (`attachment`).
    pub content_disposition: ContentDisposition,
    /// Who may read files of this type once stored.
    pub acl: Acl,
}

/// One route as clients see it, so they can check files before sending a byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct RouteInfo {
    /// The route's name on the wire: `POST {base}/{slug}` prepares an upload.
    pub slug: String,
    /// The file types the route accepts, with their limits.
    pub types: Vec<FileTypeConfig>,
    /// Whether the client waits for the completion hook's answer before it reports the upload as
    /// done.
    pub await_server_data: bool,
    /// At most this many files per upload, whatever their types; `null` for no route-wide limit.
    #[schema(required = true)]
    pub max_total_file_count: Option<u32>,
    /// At most this many bytes per upload, all files together; `null` for no route-wide limit.
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
    /// Every route of the app, in the order they were added to the router.
    pub routes: Vec<RouteInfo>,
}

pub(crate) mod files;
mod multipart;
mod signed;
pub mod tus;
pub(crate) mod uploadthing;
pub use files::{DeleteResult, Deletion, FileChange, FileInfo, FileList, RouteUsage, Usage};
pub use multipart::{MultipartPlan, PartUrl, PartsRequest, PartsResponse, UploadedPart};
pub use signed::{
    FileEnvelope, FileKind, FileObject, Links, Meta, ObjectList, PostForm, SignedPost, SignedPut,
    UploadToken,
};
pub use uploadthing::{UtError, UtFileType, UtPresigned, UtRoute, UtUploaded};
