//! Uplift: typed, self-hosted file uploads for actix-web.
//!
//! Declare file routes as annotated async functions, collect them with [`router!`], and mount
//! them with one call. See the repository README for the protocol and a full example.

#[cfg(feature = "client")]
pub mod client;
pub mod codegen;
pub mod config;
pub mod db;
pub mod definition;
pub mod error;
pub mod ingest;
pub mod protocol;
pub mod route;
pub mod router;
pub mod sanitize;
mod service;
pub mod signed;
pub mod signing;
pub mod storage;
pub mod tus;

pub use codegen::GeneratedFile;
pub use config::{ConfigError, Limits, SweepReport, Uplift, UpliftBuilder};
pub use db::Records;
pub use definition::{FileRoute, NoInput, PendingFile, PendingFiles, Route};
pub use error::{ErrorBody, ErrorCode, ErrorResponse, UploadError};
pub use protocol::{UploadStatus, UploadedFile};
pub use route::{Acl, ContentDisposition, FileType, RouteConfig, TypeRule};
pub use router::Router;
pub use signed::{PostOptions, SignOptions, SignedUploads, SizeRule, TokenRequest};
pub use storage::{LocalStorage, MemoryStorage, Storage};

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
/// `max_total_size`, `slug = "..."`, `on_upload_complete = path` (required) and
/// `on_upload_error = path`.
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
    pub use crate::definition::{middleware_output, RouteBuilder};
    pub use actix_web::HttpRequest;

    /// The crates whose derives describe an app's types to codegen, at the versions Uplift uses:
    /// `#[derive(schemars::JsonSchema, ts_rs::TS)]` on route inputs and server data. Depend on
    /// them directly (`schemars = "1"`, `ts-rs = "12"`), or derive through these re-exports with
    /// `#[schemars(crate = "uplift::schemars")]` and `#[ts(crate = "uplift::ts_rs")]`.
    pub use schemars;
    pub use ts_rs;
    /// The OpenAPI types of [`Router::openapi`], to merge the document into an app's own.
    pub use utoipa;
}
