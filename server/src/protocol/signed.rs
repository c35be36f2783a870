//! Wire types of signed uploads: URLs and forms handed out by the app's own handlers
//! (`get_signed_put`, `get_signed_post`, `create_token`) and the file object an upload answers
//! with. See `docs/signed.md` for the flows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::route::Acl;

/// A URL for one `PUT` of a file's bytes into a folder: `get_signed_put(dir)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignedPut {
    /// `{base}/objects/{folder}/{filename}?expiry=…&signature=…` (plus the bound constraints).
    pub upload_url: String,
    /// The id of the file object the upload will create.
    pub upload_id: String,
    /// Headers the `PUT` must carry, such as the bound `Content-Type`.
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working, in unix seconds.
    pub expires_at: i64,
    /// Set when `uploadUrl` is the storage bucket's (`direct`): once the bucket has the file,
    /// `POST` here (no body) to have it checked and stored; the answer is the `FileEnvelope`
    /// Uplift's own URL would have given. `null` when `uploadUrl` is this server's.
    #[schema(required = true)]
    pub complete_url: Option<String>,
}

/// A browser form for one `multipart/form-data` POST: `get_signed_post(dir)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignedPost {
    /// Where to send the form and which fields to send.
    pub form: PostForm,
    /// The id of the file object the upload will create.
    pub upload_id: String,
    /// When the form's policy expires, in unix seconds.
    pub expires_at: i64,
    /// Set when `form.url` is the storage bucket's (`direct`): once the bucket has the file,
    /// `POST` here (no body) to have it checked and stored. Such a form takes the file's type
    /// as a `Content-Type` field (before `file`) when `form.fields` has none. `null` when the
    /// form goes to this server.
    #[schema(required = true)]
    pub complete_url: Option<String>,
}

/// Where and what to POST: every field, in order, then the file as the last part, named `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PostForm {
    /// The URL to POST the form to.
    pub url: String,
    /// The form fields, among them the signed `policy` and its `signature`.
    pub fields: BTreeMap<String, String>,
}

/// A bearer token that authorizes uploads into one folder until it expires: `create_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UploadToken {
    /// A JWT; send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// The folder it authorizes.
    pub dir: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What kind of media a file is, from its (sniffed) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// `image/*`.
    Image,
    /// `video/*`.
    Video,
    /// `audio/*`.
    Audio,
    /// `application/pdf`.
    Pdf,
    /// `text/*`.
    Text,
    /// Anything else.
    Other,
}

/// A stored file, as a signed upload (URL, form or token) answers with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileObject {
    /// The upload id the URL, form or token upload was given.
    pub id: String,
    /// What kind of media the file is, from its confirmed type.
    pub kind: FileKind,
    /// The MIME type, confirmed by sniffing where the format is recognisable.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Pixel width of an image, read from its header.
    #[schema(required = true)]
    pub width: Option<u32>,
    /// Pixel height of an image, read from its header.
    #[schema(required = true)]
    pub height: Option<u32>,
    /// Size in bytes.
    pub filesize: u64,
    /// The folder, `/`-separated, without leading or trailing `/`.
    pub folder: String,
    /// The file name within `folder`.
    pub filename: String,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the stored bytes.
    pub crc32: u32,
    /// Custom metadata bound into the URL, form or token request.
    pub metadata: BTreeMap<String, String>,
    /// The `Content-Disposition` the file is served with, when one was set.
    #[schema(required = true)]
    pub content_disposition: Option<String>,
    /// Who may read the file: anyone with `url`, or only holders of a signed GET URL.
    pub acl: Acl,
    /// Where to download it: permanent for `public-read`, signed and expiring for `private`.
    pub url: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub updated: String,
}

/// The envelope every signed-upload answer comes in, success or refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct FileEnvelope {
    /// The request id and whether the envelope holds a file or an error.
    pub meta: Meta,
    /// The file object; `null` for a refusal.
    #[schema(required = true)]
    pub data: Option<FileObject>,
    /// Why the request was refused; `null` on success.
    #[schema(required = true)]
    pub error: Option<ErrorBody>,
    /// Links to this request and to the file.
    pub links: Links,
}

/// About the request that produced an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// A random id, also in the server log, to find the request again.
    pub request_id: String,
    /// `file` for a file object, `error` for a refusal.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Links related to an envelope's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Links {
    /// This request's URL, without its signature.
    #[serde(rename = "self")]
    pub self_: String,
    /// Where to download the file, when there is one.
    #[schema(required = true)]
    pub download: Option<String>,
}

/// A folder's objects, by path: `GET {base}/objects?dir=…` with a token allowed to list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct ObjectList {
    /// The objects of this page, in the folder and below.
    pub objects: Vec<FileObject>,
    /// Pass as `cursor` for the next page (the last object's path); `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}
