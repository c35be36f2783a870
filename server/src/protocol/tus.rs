//! The tus 1.0 side of the wire: the version served, the extensions implemented, the body type
//! of PATCH requests, and Uplift's own response headers.

/// The one tus version served.
pub const TUS_VERSION: &str = "1.0.0";
/// The tus extensions implemented, as `Tus-Extension` lists them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation,concatenation-unfinished";
/// The content type of PATCH bodies.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// The header carrying the completion hook's server data (base64url JSON) on the final PATCH.
pub const SERVER_DATA_HEADER: &str = "Uplift-Server-Data";
/// The header carrying the upload's storage key (for `GET {base}/files/{key}`).
pub const KEY_HEADER: &str = "Uplift-Key";

/// The header carrying the upload's status URL (`{base}/files/{key}?token=…`), with the token
/// that opens a private file's status: on creation, HEAD and PATCH answers, to the uploader only.
pub const STATUS_URL_HEADER: &str = "Uplift-Status-Url";

/// Headers a browser client must be allowed to read (CORS).
pub const EXPOSED_HEADERS: &[&str] = &[
    "location",
    "upload-offset",
    "upload-length",
    "upload-defer-length",
    "upload-metadata",
    "upload-expires",
    "upload-concat",
    "tus-resumable",
    "tus-version",
    "tus-extension",
    "tus-max-size",
    "tus-checksum-algorithm",
    "uplift-server-data",
    "uplift-key",
    "uplift-status-url",
];
