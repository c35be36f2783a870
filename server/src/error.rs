//! The one error type of the runtime and its JSON shape.
//!
//! Every refusal leaves the server as `{"error":{"code","message","data"?}}` with a stable
//! machine-readable `code` and the matching HTTP status. Internal causes are logged, never sent.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

/// Stable error codes. Clients switch on these; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, missing field, bad header).
    BadRequest,
    /// `input` failed deserialization or validation; `data` holds per-field errors.
    InvalidInput,
    /// A file is larger than its route allows or than its signed size.
    TooLarge,
    /// The body ended before the signed size was reached.
    SizeMismatch,
    /// The declared or sniffed type is not accepted, or the bytes contradict the declared type.
    UnsupportedType,
    /// More files than the route allows (per type or in total).
    TooManyFiles,
    /// Fewer files than the route requires.
    TooFewFiles,
    /// The middleware did not recognise the caller.
    Unauthorized,
    /// The middleware refused the caller.
    Forbidden,
    /// No such route, upload or file.
    NotFound,
    /// The upload URL was already used, or the upload is in a state that forbids this.
    Conflict,
    /// A precondition (such as `prevent_overwrite`) failed.
    PreconditionFailed,
    /// The signed URL or the prepared upload has expired.
    Expired,
    /// The signature is missing, malformed or does not match.
    SignatureInvalid,
    /// The bytes do not match the declared SHA-256.
    ChecksumMismatch,
    /// The requested byte range cannot be served.
    RangeNotSatisfiable,
    /// The client sent requests too quickly (for middleware that rate-limits).
    TooManyRequests,
    /// No byte of the request body arrived for the configured idle time (408).
    Timeout,
    /// A completion hook failed; `data` may carry the hook's own error.
    CompletionFailed,
    /// Something broke on the server; details are in the server log only.
    Internal,
    /// tus: another request holds this upload's lock (a PATCH is running); retry shortly.
    Locked,
    /// tus: `Upload-Offset` is not the upload's current offset; `data.offset` has the right one.
    OffsetMismatch,
    /// A file is smaller than its signed size range allows.
    TooSmall,
    /// A one-time signed URL or form was already used.
    AlreadyUsed,
    /// A folder or file name is unsafe: `..`, an absolute path, an encoded separator, NUL or
    /// another control character, or too long.
    InvalidPath,
    /// A form POST broke one of its policy's conditions; `data.condition` names it.
    PolicyViolation,
    /// The bearer token is malformed or its signature does not verify with the server's key.
    TokenInvalid,
    /// The bearer token has expired.
    TokenExpired,
    /// The bearer token names an algorithm the server does not accept (such as `none`).
    TokenAlgorithm,
    /// The bearer token is valid but authorizes another folder.
    TokenScope,
    /// The uploader cancelled the upload (a direct multipart upload's abort URL).
    Cancelled,
    /// The file is still being uploaded or completed: it cannot be deleted, renamed or have
    /// its ACL changed until it is stored.
    InProgress,
    /// A file to fetch from a URL could not be fetched: the remote server refused, failed or
    /// took too long.
    FetchFailed,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            BadRequest | InvalidInput | SizeMismatch | TooManyFiles | TooFewFiles
            | ChecksumMismatch | TooSmall | InvalidPath => StatusCode::BAD_REQUEST,
            TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden | SignatureInvalid | PolicyViolation | TokenScope => StatusCode::FORBIDDEN,
            TokenInvalid | TokenExpired | TokenAlgorithm => StatusCode::UNAUTHORIZED,
            NotFound => StatusCode::NOT_FOUND,
            Conflict => StatusCode::CONFLICT,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Expired => StatusCode::GONE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Timeout => StatusCode::REQUEST_TIMEOUT,
            CompletionFailed | Internal => StatusCode::INTERNAL_SERVER_ERROR,
            FetchFailed => StatusCode::BAD_GATEWAY,
            Locked => StatusCode::LOCKED,
            OffsetMismatch | AlreadyUsed | Cancelled | InProgress => StatusCode::CONFLICT,
        }
    }

    /// The code that best describes a bare status, for middleware that refuses with a status.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            410 => ErrorCode::Expired,
            412 => ErrorCode::PreconditionFailed,
            413 => ErrorCode::TooLarge,
            415 => ErrorCode::UnsupportedType,
            408 => ErrorCode::Timeout,
            423 => ErrorCode::Locked,
            429 => ErrorCode::TooManyRequests,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }

    /// The wire spelling, e.g. `TOO_LARGE`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "BAD_REQUEST",
            InvalidInput => "INVALID_INPUT",
            TooLarge => "TOO_LARGE",
            SizeMismatch => "SIZE_MISMATCH",
            UnsupportedType => "UNSUPPORTED_TYPE",
            TooManyFiles => "TOO_MANY_FILES",
            TooFewFiles => "TOO_FEW_FILES",
            Unauthorized => "UNAUTHORIZED",
            Forbidden => "FORBIDDEN",
            NotFound => "NOT_FOUND",
            Conflict => "CONFLICT",
            PreconditionFailed => "PRECONDITION_FAILED",
            Expired => "EXPIRED",
            SignatureInvalid => "SIGNATURE_INVALID",
            ChecksumMismatch => "CHECKSUM_MISMATCH",
            RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE",
            TooManyRequests => "TOO_MANY_REQUESTS",
            Timeout => "TIMEOUT",
            CompletionFailed => "COMPLETION_FAILED",
            Internal => "INTERNAL",
            Locked => "LOCKED",
            OffsetMismatch => "OFFSET_MISMATCH",
            TooSmall => "TOO_SMALL",
            AlreadyUsed => "ALREADY_USED",
            InvalidPath => "INVALID_PATH",
            PolicyViolation => "POLICY_VIOLATION",
            TokenInvalid => "TOKEN_INVALID",
            TokenExpired => "TOKEN_EXPIRED",
            TokenAlgorithm => "TOKEN_ALGORITHM",
            TokenScope => "TOKEN_SCOPE",
            Cancelled => "CANCELLED",
            InProgress => "IN_PROGRESS",
            FetchFailed => "FETCH_FAILED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response: `{"error": ErrorBody}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ErrorBody {
    /// Stable, machine-readable reason (`TOO_LARGE`, `FORBIDDEN`, …).
    pub code: ErrorCode,
    /// Human-readable explanation for developers; clients should branch on `code`.
    pub message: String,
    /// Structured details when the code has them (field errors, the limit that was hit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "unknown")]
    pub data: Option<Value>,
}

/// Why an upload, a preparation or a hook failed.
///
/// Middleware and hooks return it to refuse: `Err(UploadError::forbidden("not your album"))`.
/// An internal cause can be attached with [`UploadError::internal`]; it is logged and never
/// sent to the client.
#[derive(Clone)]
pub struct UploadError {
    code: ErrorCode,
    status: StatusCode,
    message: String,
    data: Option<Value>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl UploadError {
    /// An error with a stable code; the status follows from the code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        UploadError {
            code,
            status: code.status(),
            message: message.into(),
            data: None,
            source: None,
        }
    }

    /// A refusal with an explicit status, as a middleware might answer (`402`, `429`, …).
    /// The code is derived from the status.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        let mut e = UploadError::new(ErrorCode::from_status(status), message);
        e.status = status;
        e
    }

    /// Attaches structured data (field errors, limits) that the client may read.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// A 400 `BAD_REQUEST` refusal.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    /// A 401 `UNAUTHORIZED` refusal: the caller is not signed in.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    /// A 403 `FORBIDDEN` refusal: the caller may not upload here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// A 404 `NOT_FOUND` refusal.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A server-side failure. The client sees only "internal error"; `source` goes to the log.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut e = Self::new(ErrorCode::Internal, "internal error");
        e.source = Some(Arc::new(source));
        e
    }

    /// A server-side failure described by a message that stays in the log.
    pub fn internal_msg(log_message: impl Into<String>) -> Self {
        Self::internal(InternalMessage(log_message.into()))
    }

    /// Keeps the code, answers with another status (tus' 460 for a checksum mismatch).
    pub(crate) fn status_override(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The stable code the client sees.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The message the client sees (for internal errors: only `internal error`).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The structured data the client sees, if any.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// The JSON body the client receives.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
            data: self.data.clone(),
        }
    }

    /// Rebuilds an error from a stored body (for example from an upload record).
    pub fn from_body(body: ErrorBody) -> Self {
        let mut e = UploadError::new(body.code, body.message);
        e.data = body.data;
        e
    }
}

#[derive(Debug)]
struct InternalMessage(String);
impl fmt::Display for InternalMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InternalMessage {}

impl fmt::Debug for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UploadError");
        d.field("code", &self.code)
            .field("status", &self.status.as_u16())
            .field("message", &self.message);
        if let Some(data) = &self.data {
            d.field("data", data);
        }
        if let Some(src) = &self.source {
            d.field("source", &src.to_string());
        }
        d.finish()
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(src) = &self.source {
            write!(f, " ({src})")?;
        }
        Ok(())
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Every error response: `{"error": {"code", "message", "data"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

impl ResponseError for UploadError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.code == ErrorCode::Internal {
            tracing::error!(error = %self, "internal error");
        }
        HttpResponse::build(self.status).json(ErrorResponse { error: self.body() })
    }
}

impl From<sqlx::Error> for UploadError {
    fn from(e: sqlx::Error) -> Self {
        UploadError::internal(e)
    }
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::internal(e)
    }
}

/// Per-field errors from `validator`, shaped `{ "field": [{ "code", "message"? , "params" }] }`.
///
/// The submitted value is dropped from `params`: an error body must not echo back what the
/// client sent (it may be a secret, and it may end up in logs).
pub(crate) fn validation_errors(errors: &validator::ValidationErrors) -> UploadError {
    let mut data = serde_json::to_value(errors).unwrap_or(Value::Null);
    strip_values(&mut data);
    // Name the fields (the route's own names), not the messages: they may quote the value.
    let fields: Vec<&str> = errors.errors().keys().map(|k| k.as_ref()).collect();
    UploadError::new(
        ErrorCode::InvalidInput,
        format!("input is invalid (fields: {})", fields.join(", ")),
    )
    .with_data(serde_json::json!({ "fields": data }))
}

fn strip_values(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(params)) = map.get_mut("params") {
                params.remove("value");
            }
            map.values_mut().for_each(strip_values);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_values),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_do_not_echo_the_submitted_value() {
        use validator::Validate;
        #[derive(Validate)]
        struct Input {
            #[validate(length(min = 10))]
            secret: String,
        }
        let errs = Input {
            secret: "hunter2".into(),
        }
        .validate()
        .unwrap_err();
        let e = validation_errors(&errs);
        let data = e.data().unwrap().to_string();
        assert!(!data.contains("hunter2"), "{data}");
        assert!(!e.message().contains("hunter2"), "{}", e.message());
        assert_eq!(e.message(), "input is invalid (fields: secret)");
        assert!(data.contains("\"min\":10"), "{data}");
    }

    #[test]
    fn codes_serialize_as_their_wire_spelling() {
        for code in [
            ErrorCode::TooLarge,
            ErrorCode::SignatureInvalid,
            ErrorCode::InvalidInput,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, Value::String(code.as_str().to_string()));
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = UploadError::internal_msg("disk /secret/path is full");
        assert_eq!(e.body().message, "internal error");
        assert!(e.to_string().contains("/secret/path"));
    }

    #[test]
    fn status_refusals_pick_a_matching_code() {
        let e = UploadError::with_status(StatusCode::PAYMENT_REQUIRED, "pay first");
        assert_eq!(e.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(e.code(), ErrorCode::BadRequest);
        assert_eq!(
            UploadError::with_status(StatusCode::UNAUTHORIZED, "x").code(),
            ErrorCode::Unauthorized
        );
    }
}
