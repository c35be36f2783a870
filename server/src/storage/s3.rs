//! Any S3-compatible bucket (AWS S3, R2, MinIO, Garage…), feature `s3`.
//!
//! Requests are presigned with `rusty-s3` (SigV4, no hand-written signing) and sent with
//! `reqwest`. Layout in the bucket, under the optional prefix: `files/<key>` for route
//! uploads, `objects/<path>` for signed-upload objects.
//!
//! A staged write knows its final object key from the start. Up to one part (8 MiB by default)
//! it stays in memory — the body's chunks as they arrived, never copied into one buffer — and
//! is committed with one `PutObject`; beyond that it becomes a multipart
//! upload to the final key, invisible until `CompleteMultipartUpload` — so memory stays at about
//! one part per upload whatever the file size, and nothing is copied on commit. A dropped write
//! aborts its multipart upload; uploads left by a crashed process are aborted by
//! [`Storage::cleanup_staged`] (`ListMultipartUploads`).
//!
//! "Never replace" is checked with a `HEAD` before the commit and sent as `If-None-Match: *`,
//! which AWS S3 enforces and some stores ignore (Garage): there, two writers racing for one
//! signed-object path in the same instant can both succeed, the later one winning. Route keys
//! are random and never race.
//!
//! Downloads are never proxied: [`Storage::open`] answers with a [`StoredObject::Remote`], and
//! the server redirects the client to a short-lived presigned `GET` that carries the answer's
//! type and disposition (`response-content-type`, `response-content-disposition`).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use rusty_s3::actions::{CreateMultipartUpload, ListObjectsV2, ListParts};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use std::collections::BTreeMap;

use base64::Engine as _;

use super::{
    check_key, check_object_path, ByteStream, DirectPost, DirectPut, DirectStorage, InboxObject,
    InboxRules, ListStorage, Listed, ObjectStat, PresignedGet, ResumableStore, StagedWrite,
    Storage, StoredObject, StoredPart, Target,
};

/// The smallest part S3 accepts (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's largest part.
const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// The largest object one `CopyObject` copies; larger ones are copied through the server.
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// S3's limit on the parts of one upload.
const MAX_PARTS: usize = 10_000;
/// How long a presigned request of the server's own stays valid.
const REQUEST_TTL: Duration = Duration::from_secs(300);
/// Longest listing the sweeper walks in one pass, in pages of 1,000.
const MAX_LIST_PAGES: usize = 1_000;

/// Where and how to reach a bucket. Build it with [`S3Config::new`] and the setters, or from
/// the environment with [`S3Config::from_env`].
#[derive(Clone)]
pub struct S3Config {
    endpoint: String,
    region: String,
    bucket: String,
    access_key_id: String,
    secret_access_key: String,
    path_style: bool,
    prefix: String,
    part_size: usize,
    download_ttl: Duration,
    post_object: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("part_size", &self.part_size)
            .field("download_ttl", &self.download_ttl)
            .field("post_object", &self.post_object)
            .finish()
    }
}

impl S3Config {
    /// A bucket at `endpoint` (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:3900`)
    /// in `region`, with an access key. Defaults: path-style addressing, no prefix, 8 MiB
    /// parts, presigned downloads valid for 5 minutes.
    pub fn new(
        endpoint: impl Into<String>,
        region: impl Into<String>,
        bucket: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        S3Config {
            endpoint: endpoint.into(),
            region: region.into(),
            bucket: bucket.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            path_style: true,
            prefix: String::new(),
            part_size: 8 * 1024 * 1024,
            download_ttl: Duration::from_secs(300),
            post_object: true,
        }
    }

    /// Path-style (`endpoint/bucket/key`, the default; what MinIO and Garage expect) or
    /// virtual-host (`bucket.endpoint/key`, AWS's preference) addressing.
    pub fn path_style(mut self, path_style: bool) -> Self {
        self.path_style = path_style;
        self
    }

    /// Keeps everything under `prefix` (e.g. `uploads/`), so one bucket can serve several apps.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The size of a multipart upload's parts (at least 5 MiB): also what one upload in
    /// progress holds in memory. With S3's 10,000 parts, the largest file is 10,000 × this.
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }

    /// How long the presigned `GET` a download redirects to stays valid (1 s to 7 days).
    pub fn download_ttl(mut self, ttl: Duration) -> Self {
        self.download_ttl = ttl;
        self
    }

    /// Whether the store takes browser forms (S3 POST Object; default `true`). R2 does not:
    /// with `false`, signed forms asked to go straight to the bucket go through the server.
    pub fn post_object(mut self, supported: bool) -> Self {
        self.post_object = supported;
        self
    }

    /// Reads `{prefix}ENDPOINT`, `REGION` (default `us-east-1`), `BUCKET`, `ACCESS_KEY_ID`,
    /// `SECRET_ACCESS_KEY`, and optionally `PATH_STYLE` and `POST_OBJECT` (`true`/`false`,
    /// default `true`) and `KEY_PREFIX`, with `prefix` such as `UPLIFT_S3_`. `Ok(None)` when `{prefix}ENDPOINT`
    /// is not set (or empty); an error naming the first missing or malformed variable otherwise.
    pub fn from_env(prefix: &str) -> Result<Option<Self>, S3ConfigError> {
        let var = |name: &str| {
            std::env::var(format!("{prefix}{name}"))
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let Some(endpoint) = var("ENDPOINT") else {
            return Ok(None);
        };
        let need = |name: &str| var(name).ok_or_else(|| S3ConfigError::Missing(name.into()));
        let mut config = S3Config::new(
            endpoint,
            var("REGION").unwrap_or_else(|| "us-east-1".into()),
            need("BUCKET")?,
            need("ACCESS_KEY_ID")?,
            need("SECRET_ACCESS_KEY")?,
        );
        let flag = |name: &str| -> Result<Option<bool>, S3ConfigError> {
            match var(name).as_deref() {
                None => Ok(None),
                Some("true" | "1") => Ok(Some(true)),
                Some("false" | "0") => Ok(Some(false)),
                Some(_) => Err(S3ConfigError::Invalid(name.into())),
            }
        };
        if let Some(style) = flag("PATH_STYLE")? {
            config.path_style = style;
        }
        if let Some(post) = flag("POST_OBJECT")? {
            config.post_object = post;
        }
        if let Some(p) = var("KEY_PREFIX") {
            config.prefix = p;
        }
        Ok(Some(config))
    }
}

/// A configuration [`S3Storage::new`] cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3ConfigError {
    /// The endpoint is not an `http`/`https` URL with a host, or the bucket name cannot be
    /// addressed that way.
    #[error("the S3 endpoint or bucket cannot be addressed: {0}")]
    Endpoint(String),
    /// The key prefix must be empty or end with `/`, and be a valid object path itself.
    #[error("the S3 key prefix must be empty or a path ending with `/`")]
    Prefix,
    /// Parts must be 5 MiB to 5 GiB.
    #[error("the S3 part size must be between 5 MiB and 5 GiB")]
    PartSize,
    /// Presigned URLs last 1 second to 7 days.
    #[error("the S3 download TTL must be between 1 second and 7 days")]
    DownloadTtl,
    /// An environment variable [`S3Config::from_env`] needs is not set.
    #[error("the environment variable {0} is missing")]
    Missing(String),
    /// An environment variable [`S3Config::from_env`] reads has a value it cannot use.
    #[error("the environment variable {0} has an invalid value")]
    Invalid(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("the HTTP client for S3 could not be built")]
    Client,
}

/// Objects in one S3-compatible bucket. Cheap to clone (the clones share one connection pool).
#[derive(Clone)]
pub struct S3Storage {
    inner: Arc<Inner>,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("bucket", &self.inner.bucket.name())
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

struct Inner {
    bucket: Bucket,
    credentials: Credentials,
    http: reqwest::Client,
    prefix: String,
    part_size: usize,
    download_ttl: Duration,
    /// Whether the store takes browser forms (S3 POST Object).
    post_object: bool,
}

impl S3Storage {
    /// Checks `config` and builds the client. Nothing is sent to the bucket yet.
    pub fn new(config: S3Config) -> Result<Self, S3ConfigError> {
        let endpoint = config
            .endpoint
            .parse()
            .map_err(|_| S3ConfigError::Endpoint("not a URL".into()))?;
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, config.bucket, config.region)
            .map_err(|e| S3ConfigError::Endpoint(e.to_string()))?;
        let prefix_ok = config.prefix.is_empty()
            || (config.prefix.ends_with('/')
                && check_object_path(config.prefix.trim_end_matches('/')).is_ok());
        if !prefix_ok {
            return Err(S3ConfigError::Prefix);
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&config.part_size) {
            return Err(S3ConfigError::PartSize);
        }
        if !(1..=604_800).contains(&config.download_ttl.as_secs()) {
            return Err(S3ConfigError::DownloadTtl);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|_| S3ConfigError::Client)?;
        Ok(S3Storage {
            inner: Arc::new(Inner {
                bucket,
                credentials: Credentials::new(config.access_key_id, config.secret_access_key),
                http,
                prefix: config.prefix,
                part_size: config.part_size,
                download_ttl: config.download_ttl,
                post_object: config.post_object,
            }),
        })
    }

    /// The bucket key a route upload's bytes are stored under.
    pub fn key_of(&self, key: &str) -> String {
        self.inner.file_key(key)
    }

    /// The bucket key a signed-upload object is stored under.
    pub fn key_of_object(&self, path: &str) -> String {
        self.inner.object_key(path)
    }

    /// Multipart uploads in progress under the prefix: staged writes not yet committed, and
    /// resumable (tus) uploads holding whole parts.
    pub async fn multipart_uploads(&self) -> io::Result<usize> {
        Ok(self.inner.list_multipart(&self.inner.prefix).await?.len())
    }
}

/// What a `HEAD` tells.
struct Head {
    modified: SystemTime,
    size: u64,
    /// `x-amz-checksum-sha256`, base64, when the store kept one.
    sha256: Option<String>,
}

impl Inner {
    fn file_key(&self, key: &str) -> String {
        format!("{}files/{key}", self.prefix)
    }

    fn object_key(&self, path: &str) -> String {
        format!("{}objects/{path}", self.prefix)
    }

    fn creds(&self) -> Option<&Credentials> {
        Some(&self.credentials)
    }

    async fn send(&self, req: reqwest::RequestBuilder, op: &str) -> io::Result<reqwest::Response> {
        let res = req
            .send()
            .await
            .map_err(|e| io::Error::other(format!("S3 {op}: {}", without_url(e))))?;
        if res.status().is_success() {
            Ok(res)
        } else {
            Err(status_error(op, res).await)
        }
    }

    async fn head(&self, object: &str) -> io::Result<Option<Head>> {
        let mut action = self.bucket.head_object(self.creds(), object);
        action
            .headers_mut()
            .insert("x-amz-checksum-mode", "ENABLED");
        let url = action.sign(REQUEST_TTL);
        let req = self.http.head(url).header("x-amz-checksum-mode", "ENABLED");
        match self.send(req, "HEAD").await {
            Ok(res) => {
                let h = res.headers();
                let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
                let modified = text("last-modified")
                    .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
                    .map(|z| SystemTime::from(z.timestamp()))
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                let size = text("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let sha256 = text("x-amz-checksum-sha256").map(str::to_string);
                Ok(Some(Head {
                    modified,
                    size,
                    sha256,
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first `limit` (> 0) bytes of an object, read with a ranged `GET`.
    async fn get_range(&self, object: &str, limit: usize) -> io::Result<Option<Bytes>> {
        let url = self
            .bucket
            .get_object(self.creds(), object)
            .sign(REQUEST_TTL);
        let req = self
            .http
            .get(url)
            .header(reqwest::header::RANGE, format!("bytes=0-{}", limit - 1));
        let mut res = req
            .send()
            .await
            .map_err(|e| io::Error::other(format!("S3 GET: {}", without_url(e))))?;
        match res.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            // An empty object has no byte 0.
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Some(Bytes::new())),
            s if !s.is_success() => return Err(status_error("GET", res).await),
            _ => {}
        }
        let mut out = BytesMut::new();
        // A store that ignores Range sends everything: stop reading at the limit.
        while let Some(chunk) = res.chunk().await.map_err(io::Error::other)? {
            let take = chunk.len().min(limit - out.len());
            out.extend_from_slice(&chunk[..take]);
            if out.len() == limit {
                break;
            }
        }
        Ok(Some(out.freeze()))
    }

    async fn delete(&self, object: &str) -> io::Result<()> {
        let url = self
            .bucket
            .delete_object(self.creds(), object)
            .sign(REQUEST_TTL);
        match self.send(self.http.delete(url), "DELETE").await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `true` when the object was there (and is now gone).
    async fn remove(&self, object: &str) -> io::Result<bool> {
        if self.head(object).await?.is_none() {
            return Ok(false);
        }
        self.delete(object).await?;
        Ok(true)
    }

    async fn put(&self, object: &str, body: Part, no_replace: bool) -> io::Result<()> {
        let mut action = self.bucket.put_object(self.creds(), object);
        if no_replace {
            action.headers_mut().insert("if-none-match", "*");
        }
        let url = action.sign(REQUEST_TTL);
        let mut req = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, body.len);
        if no_replace {
            req = req.header(reqwest::header::IF_NONE_MATCH, "*");
        }
        self.send(req.body(body.into_body()), "PUT").await.map(drop)
    }

    async fn create_multipart(&self, object: &str) -> io::Result<String> {
        let url = self
            .bucket
            .create_multipart_upload(self.creds(), object)
            .sign(REQUEST_TTL);
        let res = self
            .send(self.http.post(url), "CreateMultipartUpload")
            .await?;
        let body = res.text().await.map_err(io::Error::other)?;
        let parsed = CreateMultipartUpload::parse_response(&body).map_err(bad_xml)?;
        Ok(parsed.upload_id().to_string())
    }

    async fn upload_part(
        &self,
        object: &str,
        upload_id: &str,
        number: u16,
        body: Part,
    ) -> io::Result<String> {
        let url = self
            .bucket
            .upload_part(self.creds(), object, number, upload_id)
            .sign(REQUEST_TTL);
        let req = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, body.len)
            .body(body.into_body());
        let res = self.send(req, "UploadPart").await?;
        res.headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| io::Error::other("S3 UploadPart: no ETag in the answer"))
    }

    async fn complete(
        &self,
        object: &str,
        upload_id: &str,
        etags: &[String],
        no_replace: bool,
    ) -> io::Result<()> {
        let mut action = self.bucket.complete_multipart_upload(
            self.creds(),
            object,
            upload_id,
            etags.iter().map(String::as_str),
        );
        if no_replace {
            action.headers_mut().insert("if-none-match", "*");
        }
        let url = action.sign(REQUEST_TTL);
        let body = action.body();
        let mut req = self.http.post(url).body(body);
        if no_replace {
            req = req.header(reqwest::header::IF_NONE_MATCH, "*");
        }
        let res = self.send(req, "CompleteMultipartUpload").await?;
        // S3 may answer 200 and still report an error in the body.
        let text = res.text().await.map_err(io::Error::other)?;
        if text.contains("<Error>") {
            return Err(io::Error::other(format!(
                "S3 CompleteMultipartUpload failed: {}",
                error_code(&text).unwrap_or("unknown error")
            )));
        }
        Ok(())
    }

    async fn abort(&self, object: &str, upload_id: &str) -> io::Result<()> {
        let url = self
            .bucket
            .abort_multipart_upload(self.creds(), object, upload_id)
            .sign(REQUEST_TTL);
        match self
            .send(self.http.delete(url), "AbortMultipartUpload")
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix` last written before `before`, with its name after `prefix`.
    async fn list(&self, prefix: &str, before: SystemTime) -> io::Result<Vec<Listed>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut action = ListObjectsV2::new(&self.bucket, self.creds());
            action.with_prefix(prefix);
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let url = action.sign(REQUEST_TTL);
            let res = self.send(self.http.get(url), "ListObjectsV2").await?;
            let text = res.text().await.map_err(io::Error::other)?;
            let page = ListObjectsV2::parse_response(&text).map_err(bad_xml)?;
            for item in page.contents {
                let Some(name) = item.key.strip_prefix(prefix) else {
                    continue;
                };
                let modified = item
                    .last_modified
                    .as_deref()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(SystemTime::from)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                if modified < before {
                    out.push(Listed {
                        name: name.to_string(),
                        modified,
                    });
                }
            }
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
        Ok(out)
    }

    /// Multipart uploads in progress to keys under `prefix`: (object key, upload id, initiated).
    async fn list_multipart(&self, prefix: &str) -> io::Result<Vec<(String, String, SystemTime)>> {
        let mut out = Vec::new();
        let mut markers: Option<(String, String)> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut query = vec![("prefix", prefix), ("uploads", "")];
            if let Some((key, id)) = &markers {
                query.push(("key-marker", key.as_str()));
                query.push(("upload-id-marker", id.as_str()));
            }
            query.sort_unstable();
            let url = rusty_s3::signing::sign(
                &jiff::Timestamp::now(),
                rusty_s3::Method::Get,
                self.bucket.base_url().clone(),
                self.credentials.key(),
                self.credentials.secret(),
                self.credentials.token(),
                self.bucket.region(),
                REQUEST_TTL.as_secs(),
                query.iter().copied(),
                std::iter::empty(),
            );
            let res = self
                .send(self.http.get(url), "ListMultipartUploads")
                .await?;
            let text = res.text().await.map_err(io::Error::other)?;
            let page: xml::ListMultipartUploadsResult =
                instant_xml::from_str(&text).map_err(bad_xml)?;
            for upload in page.uploads {
                let initiated = upload
                    .initiated
                    .parse::<jiff::Timestamp>()
                    .map(SystemTime::from)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                out.push((upload.key, upload.upload_id, initiated));
            }
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (Some(true), Some(k), Some(i)) => markers = Some((k, i)),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }
}

mod cors;
mod inbox;
use inbox::check_inbox_name;
mod resumable;

/// The XML of `ListMultipartUploads` (rusty-s3 has no parser for it).
mod xml {
    use instant_xml::FromXml;

    const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

    #[derive(Debug, FromXml)]
    #[xml(rename = "ListMultipartUploadsResult", ns(NS))]
    pub(super) struct ListMultipartUploadsResult {
        pub(super) uploads: Vec<Upload>,
        #[xml(rename = "IsTruncated")]
        pub(super) is_truncated: Option<bool>,
        #[xml(rename = "NextKeyMarker")]
        pub(super) next_key_marker: Option<String>,
        #[xml(rename = "NextUploadIdMarker")]
        pub(super) next_upload_id_marker: Option<String>,
    }

    #[derive(Debug, FromXml)]
    #[xml(rename = "Upload", ns(NS))]
    pub(super) struct Upload {
        #[xml(rename = "Key")]
        pub(super) key: String,
        #[xml(rename = "UploadId")]
        pub(super) upload_id: String,
        #[xml(rename = "Initiated")]
        pub(super) initiated: String,
    }
}

/// A failed request as an `io::Error`: 404 is `NotFound`, 412 (an `If-None-Match: *` that
/// found an object) is `AlreadyExists`; the S3 error code is kept, never the signed URL.
async fn status_error(op: &str, res: reqwest::Response) -> io::Error {
    let status = res.status();
    let kind = match status {
        StatusCode::NOT_FOUND => io::ErrorKind::NotFound,
        StatusCode::PRECONDITION_FAILED => io::ErrorKind::AlreadyExists,
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    let text = res.text().await.unwrap_or_default();
    let code = error_code(&text).unwrap_or("no error code");
    io::Error::new(kind, format!("S3 {op}: {status} ({code})"))
}

/// `<Code>…</Code>` of an S3 error body, if it is a plain token.
fn error_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    (code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

fn bad_xml(e: instant_xml::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("S3 answered XML that could not be read: {e}"),
    )
}

/// A transport error without the (presigned) URL it carries.
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

#[async_trait]
impl Storage for S3Storage {
    async fn stage(&self, target: Target) -> io::Result<Box<dyn StagedWrite>> {
        target.check()?;
        let (object, replace) = match &target {
            Target::Key(key) => (self.inner.file_key(key), false),
            Target::Object { path, replace } => (self.inner.object_key(path), *replace),
        };
        Ok(Box::new(S3Staged {
            inner: self.inner.clone(),
            object,
            replace,
            buf: Part::default(),
            upload: None,
            etags: Vec::new(),
            committed: false,
        }))
    }

    async fn open(&self, key: &str) -> io::Result<Option<StoredObject>> {
        check_key(key)?;
        self.open_remote(self.inner.file_key(key)).await
    }

    async fn delete(&self, key: &str) -> io::Result<bool> {
        check_key(key)?;
        self.inner.remove(&self.inner.file_key(key)).await
    }

    async fn read(&self, key: &str, limit: usize) -> io::Result<Option<Bytes>> {
        check_key(key)?;
        if limit == 0 {
            return Ok(self
                .inner
                .head(&self.inner.file_key(key))
                .await?
                .map(|_| Bytes::new()));
        }
        self.inner.get_range(&self.inner.file_key(key), limit).await
    }

    async fn open_object(&self, path: &str) -> io::Result<Option<StoredObject>> {
        check_object_path(path)?;
        self.open_remote(self.inner.object_key(path)).await
    }

    async fn delete_object(&self, path: &str) -> io::Result<bool> {
        check_object_path(path)?;
        self.inner.remove(&self.inner.object_key(path)).await
    }

    async fn cleanup_staged(&self, older_than: Duration) -> io::Result<usize> {
        let cutoff = SystemTime::now() - older_than;
        let mut removed = 0;
        // Resumable uploads (under `tus/`) live as long as their records; the tus sweep
        // removes theirs.
        let resumable = format!("{}tus/", self.inner.prefix);
        for (object, upload_id, initiated) in self.inner.list_multipart(&self.inner.prefix).await? {
            if initiated < cutoff && !object.starts_with(&resumable) {
                self.inner.abort(&object, &upload_id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn as_list(&self) -> Option<&dyn ListStorage> {
        Some(self)
    }

    /// tus uploads in progress live in the bucket too (see `resumable.rs`): any instance can
    /// take any PATCH, and none keeps anything on its disk.
    fn resumable(&self) -> Option<Arc<dyn ResumableStore>> {
        Some(Arc::new(resumable::S3Resumable::new(self.inner.clone())))
    }

    fn as_direct(&self) -> Option<&dyn DirectStorage> {
        Some(self)
    }
}

#[async_trait]
impl DirectStorage for S3Storage {
    /// A presigned `PutObject` whose signature covers `content-type`, `content-length` and
    /// `x-amz-checksum-sha256`: the store refuses other bytes (403 for a changed header, 400
    /// for bytes that do not hash to the checksum).
    fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256: &str,
        ttl: Duration,
    ) -> io::Result<DirectPut> {
        check_key(key)?;
        let digest = unhex(sha256).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "a SHA-256 is 64 hex digits")
        })?;
        let checksum = base64::engine::general_purpose::STANDARD.encode(digest);
        let object = self.inner.file_key(key);
        let mut action = self.inner.bucket.put_object(self.inner.creds(), &object);
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        headers.insert("content-length".into(), size.to_string());
        headers.insert("content-type".into(), content_type.to_string());
        headers.insert("x-amz-checksum-sha256".into(), checksum);
        for (k, v) in &headers {
            action.headers_mut().insert(k.clone(), v.clone());
        }
        let url = action.sign(ttl.max(Duration::from_secs(1))).to_string();
        // `content-length` is signed, but clients set it themselves (browsers must).
        headers.remove("content-length");
        Ok(DirectPut { url, headers })
    }

    async fn stat(&self, key: &str) -> io::Result<Option<ObjectStat>> {
        check_key(key)?;
        let head = self.inner.head(&self.inner.file_key(key)).await?;
        Ok(head.map(|h| ObjectStat {
            size: h.size,
            sha256: h.sha256.as_deref().and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .ok()
                    .filter(|d| d.len() == 32)
                    .map(|d| super::local::hex(&d))
            }),
        }))
    }

    /// The configured part size, or larger for a file that would need more than 10,000 parts
    /// of it (rounded up to whole MiB).
    fn multipart_part_size(&self, size: u64) -> Option<u64> {
        const MIB: u64 = 1024 * 1024;
        let fit = size.div_ceil(MAX_PARTS as u64).div_ceil(MIB) * MIB;
        let part = fit.max(self.inner.part_size as u64);
        (part <= MAX_PART_SIZE as u64).then_some(part)
    }

    async fn create_multipart(&self, key: &str, content_type: &str) -> io::Result<()> {
        check_key(key)?;
        let object = self.inner.file_key(key);
        let mut action = self
            .inner
            .bucket
            .create_multipart_upload(self.inner.creds(), &object);
        action
            .headers_mut()
            .insert("content-type", content_type.to_string());
        let url = action.sign(REQUEST_TTL);
        let req = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type);
        let res = self.inner.send(req, "CreateMultipartUpload").await?;
        let body = res.text().await.map_err(io::Error::other)?;
        CreateMultipartUpload::parse_response(&body).map_err(bad_xml)?;
        Ok(())
    }

    /// Presigned `UploadPart`s whose signature covers `content-length`: the store refuses a
    /// part of another size (403).
    async fn presign_parts(
        &self,
        key: &str,
        parts: &[(u32, u64)],
        ttl: Duration,
    ) -> io::Result<Option<Vec<DirectPut>>> {
        check_key(key)?;
        let object = self.inner.file_key(key);
        let Some(upload_id) = self.inner.multipart_of(&object).await? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(parts.len());
        for &(number, size) in parts {
            let number = u16::try_from(number)
                .ok()
                .filter(|n| (1..=MAX_PARTS as u16).contains(n))
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no such part"))?;
            let mut action =
                self.inner
                    .bucket
                    .upload_part(self.inner.creds(), &object, number, &upload_id);
            action
                .headers_mut()
                .insert("content-length", size.to_string());
            let url = action.sign(ttl.max(Duration::from_secs(1))).to_string();
            // `content-length` is signed, but clients set it themselves (browsers must).
            out.push(DirectPut {
                url,
                headers: BTreeMap::new(),
            });
        }
        Ok(Some(out))
    }

    async fn list_parts(&self, key: &str) -> io::Result<Option<Vec<StoredPart>>> {
        check_key(key)?;
        let object = self.inner.file_key(key);
        let Some(upload_id) = self.inner.multipart_of(&object).await? else {
            return Ok(None);
        };
        self.inner.list_parts(&object, &upload_id).await.map(Some)
    }

    async fn complete_multipart(&self, key: &str, parts: &[StoredPart]) -> io::Result<()> {
        check_key(key)?;
        let object = self.inner.file_key(key);
        let upload_id = self.inner.multipart_of(&object).await?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no multipart upload in progress")
        })?;
        let etags: Vec<String> = parts.iter().map(|p| p.etag.clone()).collect();
        self.inner
            .complete(&object, &upload_id, &etags, false)
            .await
    }

    async fn abort_multipart(&self, key: &str) -> io::Result<bool> {
        check_key(key)?;
        let object = self.inner.file_key(key);
        let mut aborted = false;
        for (found, upload_id, _) in self.inner.list_multipart(&object).await? {
            if found == object {
                self.inner.abort(&object, &upload_id).await?;
                aborted = true;
            }
        }
        Ok(aborted)
    }

    fn presign_inbox_put(
        &self,
        name: &str,
        rules: &InboxRules,
        ttl: Duration,
    ) -> io::Result<Option<DirectPut>> {
        self.inner.presign_inbox_put(name, rules, ttl).map(Some)
    }

    fn presign_inbox_post(
        &self,
        name: &str,
        rules: &InboxRules,
        ttl: Duration,
    ) -> io::Result<Option<DirectPost>> {
        if !self.inner.post_object {
            return Ok(None);
        }
        self.inner.presign_inbox_post(name, rules, ttl).map(Some)
    }

    async fn list_inbox(&self, prefix: &str, limit: usize) -> io::Result<Vec<String>> {
        self.inner.list_inbox(prefix, limit).await
    }

    async fn read_inbox(&self, name: &str) -> io::Result<Option<(InboxObject, ByteStream)>> {
        self.inner.read_inbox(name).await
    }

    fn promote_limit(&self) -> u64 {
        MAX_COPY
    }

    async fn promote_inbox(
        &self,
        name: &str,
        etag: &str,
        path: &str,
        replace: bool,
    ) -> io::Result<()> {
        self.inner.promote_inbox(name, etag, path, replace).await
    }

    async fn remove_inbox(&self, name: &str) -> io::Result<bool> {
        check_inbox_name(name)?;
        self.inner.remove(&self.inner.inbox_key(name)).await
    }

    async fn read_all(&self, key: &str) -> io::Result<Option<ByteStream>> {
        check_key(key)?;
        let url = self
            .inner
            .bucket
            .get_object(self.inner.creds(), &self.inner.file_key(key))
            .sign(REQUEST_TTL);
        let res = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| io::Error::other(format!("S3 GET: {}", without_url(e))))?;
        match res.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            s if !s.is_success() => return Err(status_error("GET", res).await),
            _ => {}
        }
        let stream = futures_util::stream::try_unfold(res, |mut res| async move {
            let chunk = res
                .chunk()
                .await
                .map_err(|e| io::Error::other(format!("S3 GET: {}", without_url(e))))?;
            Ok(chunk.map(|c| (c, res)))
        });
        Ok(Some(Box::pin(stream)))
    }
}

// Direct multipart uploads: the store keeps at most one per key (the server creates it at
// prepare), so it is found again by its key alone and nothing about it needs recording.
impl Inner {
    /// The id of `object`'s multipart upload in progress.
    async fn multipart_of(&self, object: &str) -> io::Result<Option<String>> {
        let uploads = self.list_multipart(object).await?;
        Ok(uploads
            .into_iter()
            .find(|(found, _, _)| found == object)
            .map(|(_, id, _)| id))
    }

    /// Every part of an upload, by number (`ListParts`, in pages of 1,000).
    async fn list_parts(&self, object: &str, upload_id: &str) -> io::Result<Vec<StoredPart>> {
        let mut out = Vec::new();
        let mut marker: Option<u16> = None;
        for _ in 0..=(MAX_PARTS / 1000) {
            let mut action = ListParts::new(&self.bucket, self.creds(), object, upload_id);
            if let Some(m) = marker {
                action.set_part_number_marker(m);
            }
            let url = action.sign(REQUEST_TTL);
            let res = self.send(self.http.get(url), "ListParts").await?;
            let text = res.text().await.map_err(io::Error::other)?;
            let page = ListParts::parse_response(&text).map_err(bad_xml)?;
            out.extend(page.parts.into_iter().map(|p| StoredPart {
                number: p.number.into(),
                size: p.size,
                etag: p.etag,
            }));
            match page.next_part_number_marker {
                Some(m) if marker.is_none_or(|old| m > old) => marker = Some(m),
                _ => break,
            }
        }
        out.sort_by_key(|p| p.number);
        Ok(out)
    }
}

/// 64 hex digits as 32 bytes.
fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl S3Storage {
    async fn open_remote(&self, object: String) -> io::Result<Option<StoredObject>> {
        if self.inner.head(&object).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(StoredObject::Remote(Box::new(RemoteGet {
            inner: self.inner.clone(),
            object,
        }))))
    }
}

/// A committed object, fetched by the client from the bucket itself.
struct RemoteGet {
    inner: Arc<Inner>,
    object: String,
}

impl PresignedGet for RemoteGet {
    fn presigned_url(&self, content_type: &str, content_disposition: &str) -> String {
        let mut action = self
            .inner
            .bucket
            .get_object(self.inner.creds(), &self.object);
        let query = action.query_mut();
        query.insert("response-content-type", content_type.to_string());
        query.insert(
            "response-content-disposition",
            content_disposition.to_string(),
        );
        action.sign(self.inner.download_ttl).to_string()
    }
}

#[async_trait]
impl ListStorage for S3Storage {
    async fn list_keys(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        let prefix = self.inner.file_key("");
        let mut keys = self.inner.list(&prefix, before).await?;
        keys.retain(|l| check_key(&l.name).is_ok());
        Ok(keys)
    }

    async fn list_objects(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        let prefix = self.inner.object_key("");
        let mut objects = self.inner.list(&prefix, before).await?;
        objects.retain(|l| check_object_path(&l.name).is_ok());
        Ok(objects)
    }

    async fn delete_if_older(&self, key: &str, before: SystemTime) -> io::Result<bool> {
        check_key(key)?;
        self.delete_older(self.inner.file_key(key), before).await
    }

    async fn delete_object_if_older(&self, path: &str, before: SystemTime) -> io::Result<bool> {
        check_object_path(path)?;
        self.delete_older(self.inner.object_key(path), before).await
    }
}

impl S3Storage {
    /// As on disk, the check and the removal are two steps; the sweeper's grace period keeps
    /// live writers away from what it removes.
    async fn delete_older(&self, object: String, before: SystemTime) -> io::Result<bool> {
        match self.inner.head(&object).await? {
            Some(head) if head.modified < before => {
                self.inner.delete(&object).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Chunks under this size are copied together; larger ones are kept as they arrived.
const COALESCE: usize = 64 * 1024;

/// One request body: the large chunks as they arrived (not copied), small ones gathered into
/// blocks of [`COALESCE`] bytes — so a client that trickles tiny chunks cannot make a part
/// hold millions of them — and the total length, which S3 needs up front.
#[derive(Default)]
struct Part {
    chunks: Vec<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl Part {
    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        if chunk.len() >= COALESCE {
            self.flush_tail();
            self.chunks.push(chunk);
        } else {
            self.tail.extend_from_slice(&chunk);
            if self.tail.len() >= COALESCE {
                self.flush_tail();
            }
        }
    }

    fn flush_tail(&mut self) {
        if !self.tail.is_empty() {
            self.chunks.push(self.tail.split().freeze());
        }
    }

    fn into_body(mut self) -> reqwest::Body {
        self.flush_tail();
        let chunks = self.chunks.into_iter().map(Ok::<_, io::Error>);
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    }
}

/// Bytes on their way to one bucket key: in memory up to one part, then a multipart upload.
struct S3Staged {
    inner: Arc<Inner>,
    object: String,
    replace: bool,
    buf: Part,
    /// The multipart upload, once the bytes outgrew one part.
    upload: Option<String>,
    etags: Vec<String>,
    committed: bool,
}

impl S3Staged {
    async fn send_part(&mut self, part: Part) -> io::Result<()> {
        if self.etags.len() >= MAX_PARTS {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the file needs more than 10,000 parts of the configured part size",
            ));
        }
        let upload_id = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let id = self.inner.create_multipart(&self.object).await?;
                self.upload = Some(id.clone());
                id
            }
        };
        let number = u16::try_from(self.etags.len() + 1).expect("at most 10,000 parts");
        let etag = self
            .inner
            .upload_part(&self.object, &upload_id, number, part)
            .await?;
        self.etags.push(etag);
        Ok(())
    }
}

#[async_trait]
impl StagedWrite for S3Staged {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let part_size = self.inner.part_size;
        let mut rest = chunk;
        while !rest.is_empty() {
            let take = (part_size - self.buf.len).min(rest.len());
            self.buf.push(rest.split_to(take));
            if self.buf.len == part_size {
                let part = std::mem::take(&mut self.buf);
                self.send_part(part).await?;
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> io::Result<()> {
        let no_replace = !self.replace;
        if no_replace && self.inner.head(&self.object).await?.is_some() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists"));
        }
        let rest = std::mem::take(&mut self.buf);
        match self.upload.clone() {
            None => self.inner.put(&self.object, rest, no_replace).await?,
            Some(upload_id) => {
                if rest.len > 0 {
                    self.send_part(rest).await?;
                }
                self.inner
                    .complete(&self.object, &upload_id, &self.etags, no_replace)
                    .await?;
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for S3Staged {
    fn drop(&mut self) {
        // Abandoned: abort the multipart upload so its parts are freed now rather than by the
        // next sweep. Outside a runtime the sweep does it.
        if let (false, Some(upload_id)) = (self.committed, self.upload.take()) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (inner, object) = (self.inner.clone(), std::mem::take(&mut self.object));
                rt.spawn(async move {
                    if let Err(e) = inner.abort(&object, &upload_id).await {
                        tracing::warn!(error = %e, "could not abort an abandoned S3 multipart upload");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_gather_small_chunks_and_keep_large_ones() {
        let mut part = Part::default();
        for _ in 0..100_000 {
            part.push(Bytes::from_static(b"x"));
        }
        let big = Bytes::from(vec![7u8; COALESCE]);
        part.push(big.clone());
        part.push(Bytes::from_static(b"end"));
        assert_eq!(part.len, 100_000 + COALESCE + 3);
        // 100,000 one-byte chunks become two blocks, then the large chunk itself.
        assert_eq!(part.chunks.len(), 3);
        assert_eq!(part.chunks[2].as_ptr(), big.as_ptr(), "not copied");
        part.flush_tail();
        let total: usize = part.chunks.iter().map(Bytes::len).sum();
        assert_eq!(total, part.len);
        assert_eq!(part.chunks.last().unwrap().as_ref(), b"end");
    }

    #[test]
    fn config_is_checked() {
        let ok = || S3Config::new("http://127.0.0.1:3900", "garage", "b", "k", "s");
        assert!(S3Storage::new(ok()).is_ok());
        assert!(matches!(
            S3Storage::new(S3Config::new("ftp://x", "r", "b", "k", "s")),
            Err(S3ConfigError::Endpoint(_))
        ));
        assert!(matches!(
            S3Storage::new(ok().prefix("no-slash")),
            Err(S3ConfigError::Prefix)
        ));
        assert!(matches!(
            S3Storage::new(ok().prefix("../up/")),
            Err(S3ConfigError::Prefix)
        ));
        assert!(S3Storage::new(ok().prefix("apps/one/")).is_ok());
        assert!(matches!(
            S3Storage::new(ok().part_size(1024)),
            Err(S3ConfigError::PartSize)
        ));
        assert!(matches!(
            S3Storage::new(ok().download_ttl(Duration::from_secs(8 * 86_400))),
            Err(S3ConfigError::DownloadTtl)
        ));
        let debug = format!("{:?}", ok());
        assert!(!debug.contains("\"s\""), "the secret is redacted: {debug}");
    }

    #[test]
    fn error_codes_are_read_only_when_plain() {
        assert_eq!(
            error_code("<Error><Code>NoSuchKey</Code></Error>"),
            Some("NoSuchKey")
        );
        assert_eq!(error_code("<Error><Code>a b<script></Code></Error>"), None);
        assert_eq!(error_code("nothing"), None);
    }

    #[test]
    fn list_multipart_uploads_parses() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>files/k2</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker><Prefix></Prefix><MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>files/k1</Key><UploadId>id1</UploadId><Initiator><ID>x</ID><DisplayName>x</DisplayName></Initiator><Owner><ID>x</ID><DisplayName>x</DisplayName></Owner><StorageClass>STANDARD</StorageClass><Initiated>2026-11-30T14:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>"#;
        let page: xml::ListMultipartUploadsResult = instant_xml::from_str(xml).unwrap();
        assert_eq!(page.uploads.len(), 1);
        assert_eq!(page.uploads[0].key, "files/k1");
        assert_eq!(page.is_truncated, Some(true));
        assert_eq!(page.next_upload_id_marker.as_deref(), Some("id2"));
    }
}
