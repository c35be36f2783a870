//! Signed uploads in the demo: three endpoints that hand out a signed PUT URL, a signed POST
//! form and an upload token, for the TypeScript client's tests and for trying it with curl.
//!
//! Each is for the signed-in user (the demo's toy sign-in, see `crate::auth`; nobody gets a
//! 401) and only into that user's own folder, `users/{name}` or below it: a request for any
//! other folder is refused with 403 before anything is signed. The server itself keeps the
//! rest inside that folder: a filename or key prefix with a `..` segment is refused, and a
//! token only writes below its own folder. A real app makes the same decision here with its
//! own notion of who may upload what.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use uplift::{Acl, PostOptions, SignOptions, SignedUploads, SizeRule, TokenRequest, UploadError};

use crate::auth::{require_user, User};

/// The folder every user's signed uploads live under: `users/{name}`.
pub const USERS_DIR: &str = "users";

/// The user's own folder, `users/{name}`: the default, and the root of what they may sign for.
/// Names are checked (`crate::auth::valid_name`), so it is always a safe path.
pub fn user_dir(user: &User) -> String {
    format!("{USERS_DIR}/{}", user.name)
}

/// The folder to sign for: the requested one when it is the user's own folder or below it,
/// the user's own folder when none is requested, else 403. Compared by whole segments, so
/// `users/ann` does not open `users/anne`; the server then refuses `..` and empty segments
/// (`users/ann/../bob`) as `INVALID_PATH`.
fn scoped_dir(user: &User, requested: Option<&str>) -> Result<String, UploadError> {
    let own = user_dir(user);
    let Some(dir) = requested else {
        return Ok(own);
    };
    let inside = dir == own
        || dir
            .strip_prefix(own.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    if inside {
        Ok(dir.to_string())
    } else {
        Err(UploadError::forbidden(
            "you may only sign uploads into your own folder, users/<your name>, or below it",
        )
        .with_data(json!({ "folder": own })))
    }
}

/// The body of `POST /api/demo/signed-put` and `/signed-post`; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRequest {
    dir: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    min_size: Option<u64>,
    max_size: Option<u64>,
    sha256: Option<String>,
    crc32: Option<u32>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    content_disposition: Option<String>,
    acl: Option<String>,
    prevent_overwrite: Option<bool>,
    one_time: Option<bool>,
    /// Seconds.
    expires_in: Option<u64>,
    /// POST only: the browser chooses the rest of the key.
    key_prefix: Option<String>,
    /// POST only: the file's type must start with this.
    content_type_prefix: Option<String>,
    /// Straight to the storage bucket, where it can take them (see `SignOptions::direct`).
    direct: Option<bool>,
}

/// The body of `POST /api/demo/token`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    dir: Option<String>,
    /// Seconds.
    expires_in: Option<u64>,
    /// The token may delete objects in the folder too.
    allow_delete: Option<bool>,
    /// The token may list the folder too.
    allow_list: Option<bool>,
}

/// An empty body means "all defaults"; anything else must be valid JSON of the type (an
/// unknown field is a mistake worth hearing about, not something to ignore).
fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, UploadError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| UploadError::bad_request(format!("the JSON body is invalid: {e}")))
}

impl SignRequest {
    fn options(&self) -> Result<SignOptions, UploadError> {
        let acl = match self.acl.as_deref() {
            None => Acl::Private,
            Some(a) => Acl::parse(a).ok_or_else(|| {
                UploadError::bad_request("acl must be \"private\" or \"public-read\"")
            })?,
        };
        let size = match (self.size, self.min_size, self.max_size) {
            (Some(n), _, _) => Some(SizeRule::Exact(n)),
            (None, None, None) => None,
            (None, min, max) => Some(SizeRule::Range(
                min.unwrap_or(0),
                max.unwrap_or(uplift::DEFAULT_MAX_SIZE),
            )),
        };
        let defaults = SignOptions::default();
        Ok(SignOptions {
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            size,
            sha256: self.sha256.clone(),
            crc32: self.crc32,
            metadata: self.metadata.clone(),
            content_disposition: self.content_disposition.clone(),
            acl,
            prevent_overwrite: self.prevent_overwrite.unwrap_or(false),
            expires_in: self
                .expires_in
                .map(Duration::from_secs)
                .unwrap_or(defaults.expires_in),
            one_time: self.one_time.unwrap_or(true),
            direct: self.direct.unwrap_or(false),
        })
    }
}

async fn signed_put(
    http: HttpRequest,
    signed: SignedUploads,
    body: web::Bytes,
) -> Result<HttpResponse, UploadError> {
    let user = require_user(&http)?;
    let req: SignRequest = parse(&body)?;
    let dir = scoped_dir(&user, req.dir.as_deref())?;
    let put = signed.get_signed_put_with(&dir, &req.options()?)?;
    Ok(HttpResponse::Ok().json(put))
}

async fn signed_post(
    http: HttpRequest,
    signed: SignedUploads,
    body: web::Bytes,
) -> Result<HttpResponse, UploadError> {
    let user = require_user(&http)?;
    let req: SignRequest = parse(&body)?;
    let dir = scoped_dir(&user, req.dir.as_deref())?;
    let mut sign = req.options()?;
    // For a form, a size range is S3's content-length-range condition.
    let content_length_range = match sign.size {
        Some(SizeRule::Range(min, max)) => {
            sign.size = None;
            Some((min, max))
        }
        _ => None,
    };
    let opts = PostOptions {
        sign,
        key_prefix: req.key_prefix.clone(),
        content_length_range,
        content_type_prefix: req.content_type_prefix.clone(),
    };
    let post = signed.get_signed_post_with(&dir, &opts)?;
    Ok(HttpResponse::Ok().json(post))
}

async fn token(
    http: HttpRequest,
    signed: SignedUploads,
    body: web::Bytes,
) -> Result<HttpResponse, UploadError> {
    let user = require_user(&http)?;
    let req: TokenBody = parse(&body)?;
    let token = signed.create_token(TokenRequest {
        dir: scoped_dir(&user, req.dir.as_deref())?,
        expire_time: req.expires_in.map(Duration::from_secs),
        allow_delete: req.allow_delete.unwrap_or(false),
        allow_list: req.allow_list.unwrap_or(false),
    })?;
    Ok(HttpResponse::Ok().json(token))
}

/// Mounts `POST /api/demo/signed-put`, `/api/demo/signed-post` and `/api/demo/token`. The
/// app must have registered `web::Data<SignedUploads>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources, not a `/api/demo` scope: a scope would swallow the page's other
    // `/api/demo/*` endpoints.
    let small = || web::PayloadConfig::new(64 * 1024);
    cfg.service(
        web::resource("/api/demo/signed-put")
            .app_data(small())
            .route(web::post().to(signed_put)),
    )
    .service(
        web::resource("/api/demo/signed-post")
            .app_data(small())
            .route(web::post().to(signed_post)),
    )
    .service(
        web::resource("/api/demo/token")
            .app_data(small())
            .route(web::post().to(token)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_users_own_folder_is_signed_for() {
        let ann = User { name: "ann".into() };
        assert_eq!(scoped_dir(&ann, None).unwrap(), "users/ann");
        for ok in ["users/ann", "users/ann/a", "users/ann/a/b.c"] {
            assert_eq!(scoped_dir(&ann, Some(ok)).unwrap(), ok);
        }
        for theirs in [
            "users/bob",
            "users/bob/x",
            "users/anne",
            "users/ann.x",
            "users",
            "demo",
            "",
            "/users/ann",
            "../users/ann",
            "Users/ann",
        ] {
            let e = scoped_dir(&ann, Some(theirs)).unwrap_err();
            assert_eq!(e.code(), uplift::ErrorCode::Forbidden, "{theirs:?}");
            assert_eq!(e.data(), Some(&json!({ "folder": "users/ann" })));
        }
    }
}
