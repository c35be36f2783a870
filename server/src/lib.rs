//! Uplift: typed, self-hosted file uploads for actix-web.
//!
//! Declare file routes as annotated async functions, collect them with [`router!`], and mount
//! them with one call. See the repository README for the protocol and a full example.

#![deny(missing_docs)]

// The layers, bottom up: the shared state; the domain (routes, records, storage, ingest,
// signing, objects); the one upload pipeline; the front ends, one module per URL; the HTTP
// scope; the app handle. Each layer uses only those below it.
mod state;

mod db;
mod definition;
mod describe;
mod error;
mod files;
mod form;
mod group_sync;
mod ingest;
mod objects;
pub mod protocol;
mod route;
mod router;
mod sanitize;
mod serving;
mod signing;
pub mod storage;
mod token;

pub mod codegen;

mod pipeline;

mod endpoints;

mod http;

mod app;

#[cfg(feature = "client")]
pub mod client;

pub use app::{ConfigError, Uplift, UpliftBuilder, DEFAULT_DIRECT_MULTIPART_THRESHOLD};
pub use codegen::GeneratedFile;
pub use db::{
    Backend, FileFilter, InstanceRecovery, LockTaken, NewUpload, ObjectRecord, Records, StoredInfo,
    TusPart, TusState, UploadRecord,
};
pub use definition::{
    CompletionHook, DeleteHook, ErrorHook, FileRoute, InputType, MiddlewareOutput, NoInput,
    PendingFile, PendingFiles, Route, ServerDataType,
};
pub use error::{ErrorBody, ErrorCode, ErrorResponse, UploadError};
#[cfg(feature = "fetch")]
pub use files::{fetch_allowed, FetchOptions};
pub use files::{FileQuery, Files, FilesAccess, UploadSource, MAX_DELETE, MAX_PAGE};
pub use ingest::{Expectation, Ingested, SNIFF_WINDOW};
pub use objects::{
    PostOptions, SignOptions, SignedUploads, SizeRule, TokenRequest, DEFAULT_EXPIRES_IN,
    DEFAULT_MAX_SIZE,
};
pub use pipeline::SweepReport;
pub use protocol::tus::{
    EXPOSED_HEADERS as TUS_EXPOSED_HEADERS, KEY_HEADER, SERVER_DATA_HEADER, STATUS_URL_HEADER,
};
pub use protocol::{UploadStatus, UploadedFile};
pub use route::{
    normalize_mime, pattern_matches, Acl, ContentDisposition, FileType, RouteConfig, TypeRule,
};
pub use router::{Router, RESERVED_SLUGS};
pub use sanitize::{sanitize_filename, MAX_NAME_CHARS};
pub use signing::{SigningKey, SigningKeyError, MAX_EXPIRY_SECS, MIN_SECRET_LEN};
pub use state::Limits;
pub use storage::{ListStorage, Listed, LocalStorage, MemoryStorage, Storage};

/// Declares a file route from its middleware function.
///
/// The function authorizes the upload: it may take the `HttpRequest`, the route's typed
/// input (a `Deserialize + Validate + JsonSchema + TS` struct) and `&mut PendingFiles` (to
/// rename files or set a `custom_id`), in any order, and returns `Result<Metadata, E>`. The
/// metadata is handed to the completion hook, whose return value (`Serialize + JsonSchema +
/// TS`) becomes the route's server data. The function's doc comment describes the route in
/// the OpenAPI document.
///
/// ```
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
/// use ts_rs::TS;
/// use uplift::{HttpRequest, UploadError, UploadedFile};
///
/// /// The metadata: stays on the server, between the middleware and the hook.
/// #[derive(Serialize, Deserialize)]
/// pub struct Session { user: String }
///
/// /// The server data: in the OpenAPI document and the TypeScript types too.
/// #[derive(Serialize, JsonSchema, TS)]
/// pub struct Saved { url: String }
///
/// /// One image of at most 2 MB.
/// #[uplift::file_route(image(max_file_size = "2MB"), on_upload_complete = saved)]
/// async fn profile_picture(req: HttpRequest) -> Result<Session, UploadError> {
///     let user = req.headers().get("x-user").and_then(|v| v.to_str().ok())
///         .ok_or_else(|| UploadError::unauthorized("sign in first"))?;
///     Ok(Session { user: user.to_string() })
/// }
///
/// async fn saved(_session: Session, file: UploadedFile) -> Result<Saved, UploadError> {
///     Ok(Saved { url: file.url })
/// }
///
/// let router = uplift::router![profile_picture];
/// assert_eq!(router.routes()[0].slug(), "profilePicture");
/// ```
///
/// Options: file types `image`, `video`, `audio`, `pdf`, `text`, `blob` or `mime("type/sub")`
/// (wildcards like `"image/*"` allowed), each with `max_file_size = "4MB"`, `max_file_count`,
/// `min_file_count`, `content_disposition = "inline" | "attachment"`,
/// `acl = "public-read" | "private"`; route-wide `await_server_data`, `max_total_file_count`,
/// `max_total_size`, `slug = "..."`, `on_upload_complete = path` (required),
/// `on_upload_error = path` and `on_delete = path`.
pub use uplift_macros::file_route;

pub use actix_web::HttpRequest;

/// The crates whose derives describe an app's types to codegen, at the versions Uplift uses:
/// `#[derive(schemars::JsonSchema, ts_rs::TS)]` on route inputs and server data. Depend on
/// them directly (`schemars = "1"`, `ts-rs = "12"`), or derive through these re-exports with
/// `#[schemars(crate = "uplift::schemars")]` and `#[ts(crate = "uplift::ts_rs")]`.
pub use schemars;
pub use ts_rs;
/// The OpenAPI types of [`Router::openapi`], to merge the document into an app's own.
pub use utoipa;

/// Collects file routes into a [`Router`]: `uplift::router![profile_picture, media_post]`.
#[macro_export]
macro_rules! router {
    ($($route:path),* $(,)?) => {
        $crate::Router::new() $( .route(<$route as $crate::FileRoute>::route()) )*
    };
}

/// Support for generated code. Not public API; may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::definition::Route;

    /// Every endpoint the HTTP scope mounts (with file management, `Router::manage_files`, or
    /// without): its path under the base as the OpenAPI document writes it (`/{slug}` for each
    /// route's slug) and its methods. For the test that holds the scope and the document
    /// together.
    pub fn endpoints(managed: bool) -> Vec<(&'static str, Vec<&'static str>)> {
        crate::http::ENDPOINTS
            .iter()
            .map(|e| (e.documented, e.methods(managed)))
            .filter(|(_, methods)| !methods.is_empty())
            .collect()
    }
    pub use crate::definition::{middleware_output, RouteBuilder, WithHooks, WithMiddleware};
    pub use actix_web::HttpRequest;

    /// The crates whose derives describe an app's types to codegen, at the versions Uplift uses:
    /// `#[derive(schemars::JsonSchema, ts_rs::TS)]` on route inputs and server data. Depend on
    /// them directly (`schemars = "1"`, `ts-rs = "12"`), or derive through these re-exports with
    /// `#[schemars(crate = "uplift::schemars")]` and `#[ts(crate = "uplift::ts_rs")]`.
    pub use schemars;
    pub use ts_rs;
    /// The OpenAPI types of [`Router::openapi`](crate::Router::openapi), to merge the document into an app's own.
    pub use utoipa;
}
