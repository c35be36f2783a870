//! Signed uploads without a file route (`docs/signed.md`): an app's own handler hands out a
//! short-lived URL ([`SignedUploads::get_signed_put`]), a browser form
//! ([`SignedUploads::get_signed_post`]) or a bearer token ([`SignedUploads::create_token`])
//! for a folder; the upload streams through the ingest pipeline into
//! `objects/{folder}/{filename}` and answers with a [`FileObject`] in a [`FileEnvelope`].
//!
//! [`FileObject`]: crate::protocol::FileObject
//! [`FileEnvelope`]: crate::protocol::FileEnvelope

use std::collections::BTreeMap;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use crate::error::{ErrorCode, UploadError};
use crate::protocol::{SignedPost, SignedPut, UploadToken};
use crate::route::Acl;
use crate::signing::MAX_EXPIRY_SECS;
use crate::state::Shared;

pub(crate) mod direct;
pub(crate) mod object;
pub(crate) mod path;
pub(crate) mod policy;
pub(crate) use crate::token;
pub(crate) mod url;

/// Largest upload when no size is bound: 1 GiB. Bind `size` to allow more.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
/// Lifetime of a URL, form or token when none is asked for: 15 minutes.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(15 * 60);

/// How big an upload must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRule {
    /// Exactly this many bytes.
    Exact(u64),
    /// Between `min` and `max` bytes, both included.
    Range(u64, u64),
}

impl SizeRule {
    pub(crate) fn bounds(rule: Option<SizeRule>) -> (Option<u64>, u64, u64) {
        match rule {
            Some(SizeRule::Exact(n)) => (Some(n), n, 0),
            Some(SizeRule::Range(min, max)) => (None, max, min),
            None => (None, DEFAULT_MAX_SIZE, 0),
        }
    }
}

/// What a signed `PUT` URL binds. Every field is optional; every set field is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// The file name, which may hold nested folders (`a/b/c.png`). Default: the upload id.
    pub filename: Option<String>,
    /// The `Content-Type` the upload must carry; the bytes must not contradict it.
    pub content_type: Option<String>,
    /// The size the upload must have: exact or a range. Default: at most
    /// [`DEFAULT_MAX_SIZE`](crate::DEFAULT_MAX_SIZE).
    pub size: Option<SizeRule>,
    /// Lowercase hex SHA-256 the bytes must have.
    pub sha256: Option<String>,
    /// CRC32 (IEEE) the bytes must have.
    pub crc32: Option<u32>,
    /// Returned in the file object and kept in the record.
    pub metadata: BTreeMap<String, String>,
    /// `inline` or `attachment` (a file name may follow: `attachment; filename="a.png"`).
    pub content_disposition: Option<String>,
    /// Default `private`.
    pub acl: Acl,
    /// Refuse (412) when the object exists instead of replacing it.
    pub prevent_overwrite: bool,
    /// Default 15 minutes; more than 7 days is refused.
    pub expires_in: Duration,
    /// Default `true`: a second use is refused (409 `ALREADY_USED`).
    pub one_time: bool,
    /// Send the bytes straight to the storage bucket, where the backend can take them
    /// ([`S3Storage`](crate::storage::S3Storage); a form needs S3 POST Object): the answer's
    /// `completeUrl` is then set, and the client `POST`s to it once the bucket has the file.
    /// Elsewhere the URL or form is Uplift's own, as without it. Default `false`.
    pub direct: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            filename: None,
            content_type: None,
            size: None,
            sha256: None,
            crc32: None,
            metadata: BTreeMap::new(),
            content_disposition: None,
            acl: Acl::Private,
            prevent_overwrite: false,
            expires_in: DEFAULT_EXPIRES_IN,
            one_time: true,
            direct: false,
        }
    }
}

/// What a signed POST form binds: [`SignOptions`] plus S3-style conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostOptions {
    /// The options every upload through the form shares (file name, type, size, metadata, ACL, …).
    pub sign: SignOptions,
    /// The browser may choose the rest of the key: the form's `key` is
    /// `{dir}/{key_prefix}${filename}` and `${filename}` becomes the file part's name.
    pub key_prefix: Option<String>,
    /// `content-length-range`: the file's size in bytes, both ends included.
    pub content_length_range: Option<(u64, u64)>,
    /// The file's type must start with this (`image/`).
    pub content_type_prefix: Option<String>,
}

/// What [`SignedUploads::create_token`] is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenRequest {
    /// The folder (and everything under it) the token may write to.
    pub dir: String,
    /// How long the token lives; at most 7 days. Default 15 minutes.
    pub expire_time: Option<Duration>,
    /// The token may also delete objects in the folder (`DELETE {base}/objects/{path}`).
    pub allow_delete: bool,
    /// The token may also list the folder (`GET {base}/objects?dir=…`).
    pub allow_list: bool,
}

/// The server side of signed uploads: mints URLs, forms and tokens. Cheap to clone.
///
/// Get it from [`crate::Uplift::signed_uploads`]; register it with
/// `App::app_data(web::Data::new(handle))` to take it as an extractor in handlers, where it
/// makes absolute URLs from the request's origin (or the configured `public_url`).
#[derive(Clone)]
pub struct SignedUploads {
    pub(crate) shared: Arc<Shared>,
    /// `https://host`, prefixed to the URLs it hands out; empty for server-relative URLs.
    origin: String,
}

impl std::fmt::Debug for SignedUploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedUploads")
            .field("base_path", &self.shared.base_path)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_secs() -> i64 {
    crate::state::now_ms() / 1000
}

pub(crate) use crate::token::new_id;

fn check_expires_in(d: Duration) -> Result<i64, UploadError> {
    let secs = d.as_secs() as i64;
    if !(1..=MAX_EXPIRY_SECS).contains(&secs) {
        return Err(UploadError::new(
            ErrorCode::InvalidInput,
            "expires_in must be between 1 second and 7 days",
        ));
    }
    Ok(secs)
}

/// Most metadata entries one signed URL or form may carry.
const MAX_METADATA_ENTRIES: usize = 32;
/// Longest metadata value, in bytes.
const MAX_METADATA_VALUE: usize = 1024;

/// The options' own consistency, checked before anything is signed.
fn check_options(o: &SignOptions) -> Result<(), UploadError> {
    let bad = |m: &str| UploadError::new(ErrorCode::InvalidInput, m.to_string());
    if let Some(t) = &o.content_type {
        if crate::route::normalize_mime(t).as_deref() != Some(t.as_str()) {
            return Err(bad(
                "content_type must be a lowercase MIME type without parameters",
            ));
        }
    }
    if let Some(SizeRule::Range(min, max)) = o.size {
        if min > max {
            return Err(bad("the size range's minimum is above its maximum"));
        }
    }
    if let Some(h) = &o.sha256 {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("sha256 must be 64 hex digits"));
        }
    }
    if let Some(d) = &o.content_disposition {
        object::parse_disposition(d)
            .ok_or_else(|| bad("content_disposition must be inline or attachment"))?;
    }
    if o.metadata.len() > MAX_METADATA_ENTRIES {
        return Err(bad("at most 32 metadata entries may be signed"));
    }
    if o.metadata.values().any(|v| v.len() > MAX_METADATA_VALUE) {
        return Err(bad("metadata values must be at most 1024 bytes"));
    }
    for k in o.metadata.keys() {
        if k.is_empty()
            || k.len() > 128
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "metadata keys must be 1-128 characters of [A-Za-z0-9_-]",
            ));
        }
    }
    Ok(())
}

impl SignedUploads {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let origin = shared.public_url.clone().unwrap_or_default();
        SignedUploads { shared, origin }
    }

    /// The same handle, making absolute URLs on `origin` (`https://files.example.com`).
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into().trim_end_matches('/').to_string();
        self
    }

    /// The origin URLs are made on; empty for server-relative URLs.
    pub(crate) fn origin_prefix(&self) -> &str {
        &self.origin
    }

    pub(crate) fn object_url(&self, path: &str) -> String {
        format!(
            "{}{}/objects/{}",
            self.origin,
            self.shared.base_path,
            path::to_url(path)
        )
    }

    /// A URL for one `PUT` into `dir`, with the defaults of [`SignOptions`].
    pub fn get_signed_put(&self, dir: &str) -> Result<SignedPut, UploadError> {
        self.get_signed_put_with(dir, &SignOptions::default())
    }

    /// A URL for one `PUT` into `dir` binding `opts`.
    pub fn get_signed_put_with(
        &self,
        dir: &str,
        opts: &SignOptions,
    ) -> Result<SignedPut, UploadError> {
        check_options(opts)?;
        let expires_in = check_expires_in(opts.expires_in)?;
        let id = new_id();
        let filename = opts.filename.clone().unwrap_or_else(|| id.clone());
        let full = path::join(dir, &filename)?;
        let grant = url::Grant {
            expiry: now_secs() + expires_in,
            id: Some(id.clone()),
            content_type: opts.content_type.clone(),
            size: opts.size,
            sha256: opts.sha256.as_ref().map(|h| h.to_ascii_lowercase()),
            crc32: opts.crc32,
            metadata: opts.metadata.clone(),
            disposition: opts.content_disposition.clone(),
            acl: Some(opts.acl),
            prevent_overwrite: opts.prevent_overwrite,
            one_time: opts.one_time,
        };
        if opts.direct {
            if let Some(put) = direct::sign_put(self, &full, &grant)? {
                return Ok(put);
            }
        }
        let query = url::sign(&self.shared.signer, "PUT", &full, &grant);
        let mut headers = BTreeMap::new();
        if let Some(t) = &opts.content_type {
            headers.insert("Content-Type".to_string(), t.clone());
        }
        if opts.prevent_overwrite {
            headers.insert("If-None-Match".to_string(), "*".to_string());
        }
        Ok(SignedPut {
            upload_url: format!("{}?{query}", self.object_url(&full)),
            upload_id: id,
            headers,
            expires_at: grant.expiry,
            complete_url: None,
        })
    }

    /// A browser form for one POST into `dir`, with the defaults of [`PostOptions`].
    pub fn get_signed_post(&self, dir: &str) -> Result<SignedPost, UploadError> {
        self.get_signed_post_with(dir, &PostOptions::default())
    }

    /// A browser form for one POST into `dir` binding `opts`.
    pub fn get_signed_post_with(
        &self,
        dir: &str,
        opts: &PostOptions,
    ) -> Result<SignedPost, UploadError> {
        check_options(&opts.sign)?;
        let expires_in = check_expires_in(opts.sign.expires_in)?;
        policy::sign_form(self, dir, opts, expires_in)
    }

    /// A bearer token for uploads into `dir` (and below) until it expires.
    pub fn create_token(&self, req: TokenRequest) -> Result<UploadToken, UploadError> {
        path::check(&req.dir)?;
        let expires_in = check_expires_in(req.expire_time.unwrap_or(DEFAULT_EXPIRES_IN))?;
        let mut scope = Vec::new();
        if req.allow_delete {
            scope.push(token::DELETE.to_string());
        }
        if req.allow_list {
            scope.push(token::LIST.to_string());
        }
        token::create(
            &self.shared.signer,
            &self.shared.token_key,
            &req.dir,
            now_secs(),
            expires_in,
            scope,
        )
    }

    /// A signed `DELETE` URL of the path `path` (`folder/filename`): whoever holds it may
    /// delete what is stored there (nothing else) until it expires — also an object stored
    /// there after the URL was made.
    pub fn get_signed_delete(
        &self,
        path: &str,
        expires_in: Duration,
    ) -> Result<String, UploadError> {
        path::check(path)?;
        let expires_in = check_expires_in(expires_in)?;
        let grant = url::Grant {
            expiry: now_secs() + expires_in,
            ..Default::default()
        };
        let query = url::sign(&self.shared.signer, "DELETE", path, &grant);
        Ok(format!("{}?{query}", self.object_url(path)))
    }

    /// A signed GET URL for a private object at `path` (`folder/filename`).
    pub fn get_signed_url(&self, path: &str, expires_in: Duration) -> Result<String, UploadError> {
        path::check(path)?;
        let expires_in = check_expires_in(expires_in)?;
        Ok(self.signed_get(path, expires_in))
    }

    pub(crate) fn signed_get(&self, path: &str, expires_in: i64) -> String {
        let grant = url::Grant {
            expiry: now_secs() + expires_in,
            ..Default::default()
        };
        let query = url::sign(&self.shared.signer, "GET", path, &grant);
        format!("{}?{query}", self.object_url(path))
    }
}

impl FromRequest for SignedUploads {
    type Error = UploadError;
    type Future = Ready<Result<Self, UploadError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<SignedUploads>>() {
            Some(handle) => {
                let origin = crate::state::origin(&handle.shared, req);
                Ok(SignedUploads::clone(handle).with_origin(origin))
            }
            None => Err(UploadError::internal_msg(
                "SignedUploads is not registered: add \
                 `.app_data(web::Data::new(uplift.signed_uploads()))` to the App",
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn the_extractor_says_when_the_handle_is_not_registered() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let err = SignedUploads::from_request(&req, &mut Payload::None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Internal);
        assert!(err
            .to_string()
            .contains("app_data(web::Data::new(uplift.signed_uploads()))"));
    }
}

/// What one upload is allowed to be, from a verified URL, form or token.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub path: String,
    pub id: String,
    /// The type the request declares (the bound type, when the signer bound one).
    pub declared_type: String,
    pub exact_size: Option<u64>,
    pub min_size: u64,
    pub max_size: u64,
    /// For forms: the policy condition a size breach violates.
    pub size_condition: Option<&'static str>,
    pub sha256: Option<String>,
    pub crc32: Option<u32>,
    pub metadata: BTreeMap<String, String>,
    pub disposition: Option<String>,
    pub acl: Acl,
    pub prevent_overwrite: bool,
    pub one_time: bool,
}
