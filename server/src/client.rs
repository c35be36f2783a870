//! Client side of signed uploads (feature `client`): send a file from disk to a signed `PUT`
//! URL, a signed POST form or a folder authorized by a bearer token, and get the stored
//! [`FileObject`] back. See `docs/signed.md`.
//!
//! Files are streamed from disk in chunks (never read whole), with their length announced up
//! front, so a multi-gigabyte upload costs a few buffers of memory and the server can refuse an
//! oversized body before it arrives.
//!
//! ```no_run
//! # async fn run() -> Result<(), uplift::client::ClientError> {
//! use uplift::client::{upload_put, Uploader};
//!
//! // A URL from the app's own handler (`SignedUploads::get_signed_put`).
//! let url = "http://localhost:8080/api/uploads/objects/avatars/me.png?expiry=…&signature=…";
//! let file = upload_put(url, "me.png").await?;
//! println!("stored {} bytes, sha256 {}", file.filesize, file.sha256);
//!
//! // The same with progress and a bearer token instead of a signed URL.
//! let file = Uploader::new()
//!     .on_progress(|sent, total| eprintln!("{sent}/{total}"))
//!     .put_with_token("http://localhost:8080/api/uploads", "avatars", "me.png", "me.png", "eyJ…")
//!     .await?;
//! # let _ = file; Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE,
};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, Url};
use tokio_util::io::ReaderStream;

use crate::error::{ErrorBody, ErrorResponse};
use crate::protocol::{
    DeleteResult, Deletion, FileChange, FileEnvelope, FileInfo, FileList, FileObject, PostForm,
    SignedPost, SignedPut,
};

/// Read size from disk: one chunk in flight per read, and the granularity of progress.
const CHUNK: usize = 64 * 1024;

/// Why an upload did not produce a [`FileObject`].
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the upload; `error.code` says why (`TOO_LARGE`, `EXPIRED`, …).
    #[error("the server refused the upload ({status}): {} {}", .error.code, .error.message)]
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// The server's error body: its stable code, message and data.
        error: ErrorBody,
    },
    /// The server answered something that is neither a file object nor an error envelope
    /// (a proxy's HTML page, say).
    #[error("the server answered {status} with an unexpected body: {body}")]
    Unexpected {
        /// The HTTP status of the answer.
        status: u16,
        /// The answer's body, as text.
        body: String,
    },
    /// The request could not be made or the connection broke before an answer.
    #[error("the request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The local file could not be opened or read.
    #[error("could not read {path}: {source}")]
    File {
        /// The file's path, as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An argument cannot make a request (a URL that does not parse, a bad header).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl ClientError {
    /// The server's error body, when the server refused.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            ClientError::Refused { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }
}

type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Uploads with options: progress, a bearer token, a content type, extra headers, or an own
/// `reqwest::Client` (proxies, timeouts). Cheap to clone; one can run many uploads.
#[derive(Clone, Default)]
pub struct Uploader {
    client: reqwest::Client,
    progress: Option<Progress>,
    token: Option<String>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Uploader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploader")
            .field("progress", &self.progress.is_some())
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("content_type", &self.content_type)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Uploader {
    /// An uploader with a default `reqwest::Client`, no progress callback, no token and no extra
    /// headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this client (its timeouts, proxies, TLS settings) for every request.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            ..Self::default()
        }
    }

    /// Called with `(bytes sent, file size)` after each chunk is handed to the connection; the
    /// last call has `sent == total`. Counts never go down within one upload.
    pub fn on_progress(mut self, f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Sends `Authorization: Bearer <token>` (a token from `create_token`).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The file's `Content-Type`. Without it: the type a [`SignedPut`] or form binds, else one
    /// guessed from the file's extension, else `application/octet-stream`.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// An extra request header (for example one a [`SignedPut`] lists).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `PUT`s the file to a signed upload URL.
    pub async fn put(
        &self,
        upload_url: &str,
        path: impl AsRef<Path>,
    ) -> Result<FileObject, ClientError> {
        let url = parse_url(upload_url)?;
        let (status, text) = self.put_to(url, path.as_ref(), &[], Peer::Server).await?;
        parse_answer(status, &text)
    }

    /// `PUT`s the file to a [`SignedPut`]'s URL with the headers it requires.
    pub async fn put_signed(
        &self,
        signed: &SignedPut,
        path: impl AsRef<Path>,
    ) -> Result<FileObject, ClientError> {
        let url = parse_url(&signed.upload_url)?;
        let headers: Vec<(String, String)> = signed
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let peer = Peer::of(signed.complete_url.as_deref());
        let (status, text) = self.put_to(url, path.as_ref(), &headers, peer).await?;
        match &signed.complete_url {
            None => parse_answer(status, &text),
            Some(complete) => {
                bucket_answer(status, &text, BucketRequest::Put)?;
                self.complete(complete).await
            }
        }
    }

    /// POSTs the file through a [`SignedPost`]'s form; when the form goes straight to the
    /// storage bucket, completes it at its `complete_url` (sending the file's type as a
    /// `Content-Type` field when the form binds none).
    pub async fn post_signed(
        &self,
        signed: &SignedPost,
        path: impl AsRef<Path>,
    ) -> Result<FileObject, ClientError> {
        let path = path.as_ref();
        let url = parse_url(&signed.form.url)?;
        let Some(complete) = &signed.complete_url else {
            let (status, text) = self
                .post_to(url, signed.form.fields.iter(), path, Peer::Server)
                .await?;
            return parse_answer(status, &text);
        };
        let mut fields = signed.form.fields.clone();
        if !fields
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            let content_type = self
                .content_type
                .clone()
                .unwrap_or_else(|| guess_type(path).to_owned());
            fields.insert("Content-Type".into(), content_type);
        }
        let (status, text) = self.post_to(url, fields.iter(), path, Peer::Bucket).await?;
        bucket_answer(status, &text, BucketRequest::Form)?;
        self.complete(complete).await
    }

    /// The completion of a file sent straight to the bucket: the server checks it and answers
    /// with the stored file object.
    async fn complete(&self, complete_url: &str) -> Result<FileObject, ClientError> {
        let url = parse_url(complete_url)?;
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            insert(&mut headers, k, v)?;
        }
        let res = self.client.post(url).headers(headers).send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        parse_answer(status, &text)
    }

    /// `PUT`s the file to `{base}/objects/{dir}/{filename}` with a bearer token for `dir`.
    /// `base` is where the app mounts Uplift, such as `https://example.com/api/uploads`.
    pub async fn put_with_token(
        &self,
        base: &str,
        dir: &str,
        filename: &str,
        path: impl AsRef<Path>,
        token: &str,
    ) -> Result<FileObject, ClientError> {
        let url = objects_url(base, &[dir, filename])?;
        let (status, text) = self
            .clone()
            .bearer_token(token)
            .put_to(url, path.as_ref(), &[], Peer::Server)
            .await?;
        parse_answer(status, &text)
    }

    /// POSTs the file as the `file` part of a signed form, after the form's fields.
    pub async fn post(
        &self,
        form: &PostForm,
        path: impl AsRef<Path>,
    ) -> Result<FileObject, ClientError> {
        let url = parse_url(&form.url)?;
        let (status, text) = self
            .post_to(url, form.fields.iter(), path.as_ref(), Peer::Server)
            .await?;
        parse_answer(status, &text)
    }

    /// POSTs the file to `{base}/objects/{dir}` with a bearer token for `dir`; it is stored
    /// under the file's own name.
    pub async fn post_with_token(
        &self,
        base: &str,
        dir: &str,
        path: impl AsRef<Path>,
        token: &str,
    ) -> Result<FileObject, ClientError> {
        let url = objects_url(base, &[dir])?;
        let (status, text) = self
            .clone()
            .bearer_token(token)
            .post_to(url, std::iter::empty(), path.as_ref(), Peer::Server)
            .await?;
        parse_answer(status, &text)
    }

    async fn put_to(
        &self,
        url: Url,
        path: &Path,
        signed_headers: &[(String, String)],
        peer: Peer,
    ) -> Result<(u16, String), ClientError> {
        let (body, len) = self.file_body(path).await?;
        let mut headers = HeaderMap::new();
        let bound_type = signed_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        let content_type = self
            .content_type
            .clone()
            .or(bound_type)
            .unwrap_or_else(|| guess_type(path).to_owned());
        insert(&mut headers, CONTENT_TYPE.as_str(), &content_type)?;
        for (k, v) in signed_headers.iter().chain(&self.headers) {
            if !k.eq_ignore_ascii_case("content-type") && !k.eq_ignore_ascii_case("content-length")
            {
                insert(&mut headers, k, v)?;
            }
        }
        // Announced up front: the server can refuse an oversized file before reading it.
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        peer.connection(&mut headers);
        self.send(
            self.client
                .request(Method::PUT, url)
                .headers(headers)
                .body(body),
        )
        .await
    }

    async fn post_to<'a>(
        &self,
        url: Url,
        fields: impl Iterator<Item = (&'a String, &'a String)>,
        path: &Path,
        peer: Peer,
    ) -> Result<(u16, String), ClientError> {
        let mut form = Form::new();
        let mut bound_type = None;
        for (k, v) in fields {
            if k.eq_ignore_ascii_case("content-type") {
                bound_type = Some(v.clone());
            }
            form = form.text(k.clone(), v.clone());
        }
        let content_type = self
            .content_type
            .clone()
            .or(bound_type)
            .unwrap_or_else(|| guess_type(path).to_owned());
        let (body, len) = self.file_body(path).await?;
        let part = Part::stream_with_length(body, len)
            .file_name(file_name(path))
            .mime_str(&content_type)
            .map_err(|_| ClientError::Invalid(format!("not a MIME type: {content_type}")))?;
        // The file last: the server reads the fields (policy, signature) before any byte.
        form = form.part("file", part);
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            insert(&mut headers, k, v)?;
        }
        peer.connection(&mut headers);
        // reqwest sets the multipart Content-Type and, every part's length being known, the
        // Content-Length.
        self.send(self.client.post(url).headers(headers).multipart(form))
            .await
    }

    /// The status and body of the answer.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, String), ClientError> {
        let req = match &self.token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        };
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.text().await?))
    }

    /// The file as a streamed body, and its length.
    async fn file_body(&self, path: &Path) -> Result<(Body, u64), ClientError> {
        let file_err = |source| ClientError::File {
            path: path.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(file_err)?;
        let total = file.metadata().await.map_err(file_err)?.len();
        let progress = self.progress.clone();
        if let Some(p) = &progress {
            p(0, total);
        }
        let mut sent = 0u64;
        let stream = ReaderStream::with_capacity(file, CHUNK).map(move |chunk| {
            if let (Ok(bytes), Some(p)) = (&chunk, &progress) {
                sent += bytes.len() as u64;
                p(sent, total);
            }
            chunk
        });
        Ok((Body::wrap_stream(stream), total))
    }
}

/// `PUT`s a file to a signed upload URL and returns the stored file object.
pub async fn upload_put(
    upload_url: &str,
    path: impl AsRef<Path>,
) -> Result<FileObject, ClientError> {
    Uploader::new().put(upload_url, path).await
}

/// `PUT`s a file to a [`SignedPut`], with the headers it binds (such as `Content-Type`).
pub async fn upload_signed_put(
    signed: &SignedPut,
    path: impl AsRef<Path>,
) -> Result<FileObject, ClientError> {
    Uploader::new().put_signed(signed, path).await
}

/// POSTs a file through a [`SignedPost`] (completing it when it went straight to the bucket)
/// and returns the stored file object.
pub async fn upload_signed_post(
    signed: &SignedPost,
    path: impl AsRef<Path>,
) -> Result<FileObject, ClientError> {
    Uploader::new().post_signed(signed, path).await
}

/// POSTs a file through a signed form (`SignedPost::form`) and returns the stored file object.
pub async fn upload_post(
    form: &PostForm,
    path: impl AsRef<Path>,
) -> Result<FileObject, ClientError> {
    Uploader::new().post(form, path).await
}

/// A [`SignedPost`] or its bare [`PostForm`], as JSON: what the CLI reads.
pub fn parse_form(json: &str) -> Result<PostForm, serde_json::Error> {
    match serde_json::from_str::<SignedPost>(json) {
        Ok(signed) => Ok(signed.form),
        Err(_) => serde_json::from_str::<PostForm>(json),
    }
}

/// The file object of a success, the server's error body of a refusal (in a [`FileEnvelope`]
/// or in the plain `{"error": …}` of refusals made before the signed-upload handler).
pub fn parse_answer(status: u16, text: &str) -> Result<FileObject, ClientError> {
    if let Ok(env) = serde_json::from_str::<FileEnvelope>(text) {
        match (env.data, env.error) {
            (Some(file), None) if (200..300).contains(&status) => return Ok(file),
            (_, Some(error)) => return Err(ClientError::Refused { status, error }),
            _ => {}
        }
    } else if let Ok(res) = serde_json::from_str::<ErrorResponse>(text) {
        return Err(ClientError::Refused {
            status,
            error: res.error,
        });
    }
    Err(ClientError::Unexpected {
        status,
        body: text.chars().take(500).collect(),
    })
}

/// Managing stored files on a server whose router calls `manage_files` (`docs/files.md`):
/// list, delete, rename, change the ACL, and a file's status (with a fresh download URL). The
/// server's access function decides from the request's headers: a bearer token, a session
/// header. Cheap to clone.
#[derive(Clone, Debug)]
pub struct FilesClient {
    client: reqwest::Client,
    base: String,
    headers: Vec<(String, String)>,
}

impl FilesClient {
    /// A client of the Uplift mounted at `base` (`https://example.com/api/uploads`).
    pub fn new(base: &str) -> Self {
        FilesClient {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            headers: Vec::new(),
        }
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sends a header with every request (a session the app's access function reads).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `{base}/files`, or `{base}/files/{key}` with the key as one encoded segment.
    fn url(&self, key: Option<&str>) -> Result<Url, ClientError> {
        let mut url = parse_url(&format!("{}/files", self.base))?;
        if let Some(k) = key {
            url.path_segments_mut()
                .map_err(|_| ClientError::Invalid("the base URL cannot take a path".into()))?
                .push(k);
        }
        Ok(url)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            insert(&mut headers, k, v)?;
        }
        let res = req.headers(headers).send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|_| ClientError::Unexpected {
                status,
                body: text.chars().take(500).collect(),
            });
        }
        match serde_json::from_str::<ErrorResponse>(&text) {
            Ok(e) => Err(ClientError::Refused {
                status,
                error: e.error,
            }),
            Err(_) => Err(ClientError::Unexpected {
                status,
                body: text.chars().take(500).collect(),
            }),
        }
    }

    /// A page of files, newest first; `query` holds the listing's query parameters (`route`,
    /// `status`, `customId`, `createdFrom`, `createdUntil`, `cursor`, `limit`).
    pub async fn list(&self, query: &[(&str, String)]) -> Result<FileList, ClientError> {
        let mut url = self.url(None)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.call(self.client.get(url)).await
    }

    /// A file's status, with its download URL (fresh and signed for a private file).
    pub async fn status(&self, key: &str) -> Result<crate::protocol::UploadResult, ClientError> {
        self.call(self.client.get(self.url(Some(key))?)).await
    }

    /// Deletes one file: its result, `notFound` included (a 404 is that outcome).
    pub async fn delete(&self, key: &str) -> Result<DeleteResult, ClientError> {
        match self.call(self.client.delete(self.url(Some(key))?)).await {
            Err(ClientError::Refused { error, .. }) if error.code == crate::ErrorCode::NotFound => {
                Ok(DeleteResult {
                    key: key.to_string(),
                    result: Deletion::NotFound,
                })
            }
            Err(ClientError::Refused { error, .. })
                if error.code == crate::ErrorCode::InProgress =>
            {
                Ok(DeleteResult {
                    key: key.to_string(),
                    result: Deletion::InProgress,
                })
            }
            other => other,
        }
    }

    /// Renames and/or re-permissions a stored file; the file as it is now.
    pub async fn change(&self, key: &str, change: &FileChange) -> Result<FileInfo, ClientError> {
        self.call(self.client.patch(self.url(Some(key))?).json(change))
            .await
    }
}

/// Who receives an upload's bytes: the Uplift server, or the storage bucket directly.
#[derive(Clone, Copy)]
enum Peer {
    Server,
    Bucket,
}

impl Peer {
    /// A signed upload with a completion URL goes straight to the bucket.
    fn of(complete_url: Option<&str>) -> Self {
        match complete_url {
            Some(_) => Peer::Bucket,
            None => Peer::Server,
        }
    }

    /// A bucket that refuses an upload before reading its body answers and then closes the
    /// connection. Had the connection gone back to the pool, the next request could be sent
    /// on it before the close arrives, and fail with no answer. So each upload to a bucket
    /// uses a connection of its own; the file's transfer dwarfs the handshake.
    fn connection(self, headers: &mut HeaderMap) {
        if let Peer::Bucket = self {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

/// Which request a storage bucket answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketRequest {
    Put,
    Form,
}

/// A storage bucket's answer to a file sent straight to it: nothing on success; its refusal
/// in Uplift's terms otherwise (the store's own error code, a plain token, in the message).
fn bucket_answer(status: u16, text: &str, request: BucketRequest) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let s3_code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or("no error code");
    let (code, what) = match (request, status, s3_code) {
        (
            BucketRequest::Put,
            400,
            "BadDigest" | "InvalidDigest" | "XAmzContentChecksumMismatch",
        ) => (
            crate::ErrorCode::ChecksumMismatch,
            "the bytes are not the ones the URL was signed for",
        ),
        // An expired URL is 403 on AWS and 400 (`InvalidRequest`) on Garage.
        (BucketRequest::Put, 400 | 403, _) => (
            crate::ErrorCode::SignatureInvalid,
            "the URL was changed, has expired, or a bound header differs",
        ),
        (BucketRequest::Form, 400 | 403, _) => (
            crate::ErrorCode::PolicyViolation,
            "the file breaks the form's policy, or the form has expired",
        ),
        _ => (crate::ErrorCode::Internal, "it could not take the file"),
    };
    Err(ClientError::Refused {
        status,
        error: ErrorBody {
            code,
            message: format!("the storage bucket refused the upload ({s3_code}): {what}"),
            data: None,
        },
    })
}

fn parse_url(url: &str) -> Result<Url, ClientError> {
    Url::parse(url).map_err(|e| ClientError::Invalid(format!("bad URL {url:?}: {e}")))
}

/// `{base}/objects/{parts…}`, each `/`-separated segment percent-encoded on its own (so a `?`
/// or `#` in a name stays in the name).
pub fn objects_url(base: &str, parts: &[&str]) -> Result<Url, ClientError> {
    let mut url = parse_url(base)?;
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|_| ClientError::Invalid(format!("{base:?} cannot be a base URL")))?;
        segs.pop_if_empty().push("objects");
        for part in parts {
            segs.extend(part.split('/').filter(|s| !s.is_empty()));
        }
    }
    Ok(url)
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), ClientError> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ClientError::Invalid(format!("bad header name {name:?}")))?;
    let v = HeaderValue::from_str(value)
        .map_err(|_| ClientError::Invalid(format!("bad value for header {name}")))?;
    headers.insert(n, v);
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned())
}

/// A `Content-Type` from the extension, for the common kinds the server sniffs; the server
/// checks the bytes either way.
pub fn guess_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn objects_url_encodes_each_segment() {
        let u = objects_url("http://h/api/uploads/", &["a/b", "c d?.png"]).unwrap();
        assert_eq!(u.as_str(), "http://h/api/uploads/objects/a/b/c%20d%3F.png");
        let u = objects_url("http://h/api/uploads", &["a"]).unwrap();
        assert_eq!(u.as_str(), "http://h/api/uploads/objects/a");
    }

    #[test]
    fn answers_become_file_objects_or_refusals() {
        let refused = r#"{"meta":{"requestId":"r","type":"error"},"data":null,
            "error":{"code":"TOO_LARGE","message":"too big"},"links":{"self":"/x","download":null}}"#;
        match parse_answer(413, refused) {
            Err(ClientError::Refused { status, error }) => {
                assert_eq!(status, 413);
                assert_eq!(error.code, ErrorCode::TooLarge);
            }
            other => panic!("{other:?}"),
        }
        match parse_answer(
            403,
            r#"{"error":{"code":"SIGNATURE_INVALID","message":"no"}}"#,
        ) {
            Err(ClientError::Refused { error, .. }) => {
                assert_eq!(error.code, ErrorCode::SignatureInvalid)
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_answer(502, "<html>bad gateway</html>"),
            Err(ClientError::Unexpected { status: 502, .. })
        ));
    }

    #[test]
    fn forms_parse_from_a_signed_post_or_a_bare_form() {
        let bare = r#"{"url":"http://h/api/uploads/objects","fields":{"key":"a/b.png"}}"#;
        assert_eq!(parse_form(bare).unwrap().fields["key"], "a/b.png");
        let signed = format!(r#"{{"form":{bare},"uploadId":"u","expiresAt":1}}"#);
        assert_eq!(
            parse_form(&signed).unwrap().url,
            "http://h/api/uploads/objects"
        );
        assert!(parse_form("{}").is_err());
    }

    #[test]
    fn types_guess_from_extensions() {
        assert_eq!(guess_type(Path::new("a/B.PNG")), "image/png");
        assert_eq!(guess_type(Path::new("clip.mp4")), "video/mp4");
        assert_eq!(guess_type(Path::new("noext")), "application/octet-stream");
    }
}
