//! The tus 1.0 endpoints in the OpenAPI document: creation per route, and HEAD/PATCH/DELETE on
//! an upload. Their bodies and answers are tus headers, described here so that API consumers
//! can see every status and code without reading the tus specification first.

use serde_json::json;
use utoipa::openapi::path::{Operation, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Required, ResponseBuilder};

use super::{error, header, string_schema, RouteSchemas, INTERNAL};
use crate::error::ErrorCode;
use crate::protocol::tus::{
    EXTENSIONS, KEY_HEADER, SERVER_DATA_HEADER, STATUS_URL_HEADER, TUS_VERSION,
};

fn tus_resumable() -> utoipa::openapi::path::Parameter {
    let mut p = header(
        "Tus-Resumable",
        json!({ "type": "string", "const": TUS_VERSION }),
        "The tus version; every request but OPTIONS must send it.",
    );
    p.required = Required::True;
    p
}

fn id_param() -> utoipa::openapi::path::Parameter {
    utoipa::openapi::path::ParameterBuilder::new()
        .name("id")
        .parameter_in(utoipa::openapi::path::ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "`{key}.{capability}`, exactly as in the creation's `Location`: the upload's storage \
             key and an HMAC of it. Without the capability every request is refused.",
        ))
        .schema(Some(super::raw(json!({ "type": "string" }))))
        .build()
}

/// What `Uplift-Status-Url` is, on every answer that names the upload.
const STATUS_URL_DOC: &str = "The upload's status URL, `{base}/files/{key}?token=…`: the token proves the bearer is the uploader, and a private file's status needs it.";

fn h(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Some(string_schema(description)))
        .build()
}

/// The bytes of a PATCH (`required`: tus refuses a PATCH without
/// `Content-Type: application/offset+octet-stream`), or of a creation-with-upload (optional).
fn offset_body(required: bool) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(Some("The bytes that follow `Upload-Offset`."))
        .required(Some(if required {
            Required::True
        } else {
            Required::False
        }))
        .content(
            "application/offset+octet-stream",
            ContentBuilder::new()
                .schema(Some(super::raw(json!({
                    "type": "string",
                    "contentMediaType": "application/octet-stream"
                }))))
                .build(),
        )
        .build()
}

/// `Upload-Checksum` as the server parses it: a supported algorithm (any case), one space,
/// standard padded base64 of a non-empty digest.
const CHECKSUM_PATTERN: &str =
    "^[sS][hH][aA](1|256) ([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$";

const VERSION: (ErrorCode, &str) = (
    ErrorCode::PreconditionFailed,
    "`Tus-Resumable` is missing or not `1.0.0` (answered with `Tus-Version`)",
);
const CAPABILITY: (ErrorCode, &str) = (
    ErrorCode::SignatureInvalid,
    "the id lacks a valid capability",
);
const LOCKED: (ErrorCode, &str) = (
    ErrorCode::Locked,
    "another request (a PATCH) holds the upload's lock; retry shortly",
);

/// `POST {base}/{slug}/tus`: creation, creation-with-upload, creation-defer-length, concatenation.
pub(super) fn creation(r: &RouteSchemas) -> Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(format!("tusCreate{}", r.pascal)))
        .tag(&r.slug)
        .summary(Some("tus: create a resumable upload"))
        .description(Some(format!(
            "tus 1.0 creation into the `{}` route, for stock tus clients (tus-js-client, Uppy, \
             tuspy). The route's pipeline runs as for the prepare call: `input` (base64 JSON in \
             `Upload-Metadata`) is validated, the declared `Upload-Length` and `filetype` are \
             checked against the route's config, then the middleware runs with this request. \
             With a body (`Content-Type: application/offset+octet-stream`) its bytes are the \
             first PATCH (creation-with-upload). `Upload-Concat: partial` creates a part; \
             `Upload-Concat: final;<urls>` joins parts (absolute or relative URLs). Parts may \
             still be receiving bytes (concatenation-unfinished): the final upload then waits \
             and is joined when its last part has its last byte; parts that are all finished \
             are joined by this request.",
            r.slug
        )))
        .parameter(tus_resumable())
        .parameter(header("Upload-Length", json!({ "type": "integer", "minimum": 0 }), "The upload's size in bytes (or send `Upload-Defer-Length: 1`)."))
        .parameter(header("Upload-Defer-Length", json!({ "type": "string", "const": "1" }), "The size is not known yet; a later PATCH sets `Upload-Length`."))
        .parameter(header("Upload-Metadata", json!({ "type": "string" }), "Comma-separated `key base64value` pairs: `filename`, `filetype`, and `input` (the route's input as JSON). May be empty."))
        .parameter(header("Upload-Concat", json!({ "type": "string", "pattern": "^(partial|final;.*[!-~].*)$" }), "`partial`, or `final;` followed by the parts' URLs separated by spaces."))
        .parameter(header("Upload-Checksum", json!({ "type": "string", "pattern": CHECKSUM_PATTERN }), "`sha1 <base64>` or `sha256 <base64>` of the body (creation-with-upload)."))
        .parameter(header("X-HTTP-Method-Override", json!({ "type": "string" }), "For clients that can only send POST."))
        .request_body(Some(offset_body(false)))
        .response(
            "201",
            ResponseBuilder::new()
                .description("Created. Use `Location` for every later request.")
                .header("Location", h("The upload's URL: `{base}/tus/{key}.{capability}`."))
                .header("Upload-Offset", h("Bytes received so far (creation-with-upload)."))
                .header("Upload-Expires", h("When an unfinished upload (or a final upload waiting for its parts) expires (RFC 7231 date)."))
                .header(KEY_HEADER, h("The storage key, for `GET {base}/files/{key}`."))
                .header(STATUS_URL_HEADER, h(STATUS_URL_DOC))
                .header(SERVER_DATA_HEADER, h("When the body completed the upload (or the final upload's parts were all finished) on a route that awaits it: the server data, base64url JSON."))
                .header("Tus-Resumable", h(TUS_VERSION))
                .build(),
        )
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "a malformed tus header (`Upload-Length`, `Upload-Metadata`, `Upload-Concat`, …)"),
                (ErrorCode::InvalidInput, "`input` is not JSON, does not match the route's input or fails its validation"),
                (ErrorCode::TooManyFiles, "the route's file count limits"),
            ]),
        );
    for (status, response) in super::middleware_refusals() {
        op = op.response(status, response);
    }
    op.response("404", error(&[(ErrorCode::NotFound, "a part named by `Upload-Concat: final` does not exist")]))
        .response("409", error(&[(ErrorCode::Conflict, "a part named by `Upload-Concat: final` is already part of another final upload")]))
        .response("410", error(&[(ErrorCode::Expired, "a part named by `Upload-Concat: final` has expired")]))
        .response("412", error(&[VERSION]))
        .response("413", error(&[(ErrorCode::TooLarge, "`Upload-Length` (or the parts together) exceeds the route's limit for the file's type (`Tus-Max-Size`)")]))
        .response("415", error(&[(ErrorCode::UnsupportedType, "`filetype` is not accepted by the route, or the body is not `application/offset+octet-stream`")]))
        .response("460", error(&[(ErrorCode::ChecksumMismatch, "creation-with-upload: the body does not match `Upload-Checksum`; it was discarded")]))
        .response("500", error(&[(ErrorCode::CompletionFailed, "the body completed the upload and the completion hook failed"), INTERNAL]))
        .response("default", super::other_refusal())
        .build()
}

/// `OPTIONS {base}/{slug}/tus`.
pub(super) fn options(r: &RouteSchemas) -> Operation {
    OperationBuilder::new()
        .operation_id(Some(format!("tusOptions{}", r.pascal)))
        .tag(&r.slug)
        .summary(Some("tus: what the server implements"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The server's tus capabilities for this route.")
                .header("Tus-Version", h(TUS_VERSION))
                .header("Tus-Extension", h(EXTENSIONS))
                .header("Tus-Max-Size", h("The route's largest file, in bytes."))
                .header("Tus-Checksum-Algorithm", h("sha1,sha256"))
                .build(),
        )
        .build()
}

/// `OPTIONS {base}/tus/{id}`: the server's capabilities, without a route's `Tus-Max-Size`.
pub(super) fn upload_options() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("tusOptionsUpload"))
        .tag("protocol")
        .summary(Some("tus: what the server implements"))
        .parameter(id_param())
        .response(
            "200",
            ResponseBuilder::new()
                .description("The server's tus capabilities (any id: nothing is looked up).")
                .header("Tus-Version", h(TUS_VERSION))
                .header("Tus-Extension", h(EXTENSIONS))
                .header("Tus-Checksum-Algorithm", h("sha1,sha256"))
                .build(),
        )
        .build()
}

/// `HEAD {base}/tus/{id}`.
pub(super) fn head() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("tusHead"))
        .tag("protocol")
        .summary(Some("tus: where an upload stands"))
        .description(Some(
            "The offset to resume from. An upload whose last byte arrived just before a server \
             restart is stored (and its hook run) by this request, and so is a final upload \
             whose parts all arrived but were not joined yet. A final upload still waiting for \
             bytes of its parts answers without `Upload-Offset`.",
        ))
        .parameter(id_param())
        .parameter(tus_resumable())
        .response(
            "200",
            ResponseBuilder::new()
                .description("The upload's state (`Cache-Control: no-store`).")
                .header("Upload-Offset", h("Bytes received; absent while a final upload waits for its parts."))
                .header("Upload-Length", h("The size, once known (of a waiting final upload: the sum of its parts' lengths, once all are known)."))
                .header("Upload-Defer-Length", h("`1` while the size is not known."))
                .header(
                    "Upload-Concat",
                    h("`partial`, or `final;…` with the parts."),
                )
                .header("Upload-Expires", h("When the unfinished upload expires."))
                .header(KEY_HEADER, h("The storage key."))
                .header(STATUS_URL_HEADER, h(STATUS_URL_DOC))
                .header(
                    SERVER_DATA_HEADER,
                    h("Once complete on a route that awaits it: the server data, base64url JSON."),
                )
                .build(),
        )
        .response("403", error(&[CAPABILITY]))
        .response(
            "404",
            error(&[(
                ErrorCode::NotFound,
                "no such upload (terminated, swept or a consumed part)",
            )]),
        )
        .response(
            "409",
            error(&[(
                ErrorCode::Conflict,
                "the upload failed; `data.error` says why",
            )]),
        )
        .response(
            "410",
            error(&[(ErrorCode::Expired, "the upload has expired")]),
        )
        .response("412", error(&[VERSION]))
        .response(
            "423",
            error(&[(
                ErrorCode::Locked,
                "every byte arrived and the completion (or the join of a final upload's parts) \
                 is still undecided; retry (`Retry-After`)",
            )]),
        )
        .response("500", error(&[INTERNAL]))
        .build()
}

/// `PATCH {base}/tus/{id}`.
pub(super) fn patch() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("tusPatch"))
        .tag("protocol")
        .summary(Some("tus: append bytes at the offset"))
        .description(Some(
            "Appends the body at `Upload-Offset` under the upload's lock; the new offset is \
             durable before it is answered. The last byte stores the file through the same \
             checks as a signed PUT (type sniffing, SHA-256, atomic commit) and runs the \
             completion hook; on a route that awaits it, the answer carries the server data.",
        ))
        .parameter(id_param())
        .parameter(tus_resumable())
        .parameter({
            let mut p = header("Upload-Offset", json!({ "type": "integer", "minimum": 0 }), "Must equal the upload's current offset.");
            p.required = Required::True;
            p
        })
        .parameter(header("Upload-Checksum", json!({ "type": "string", "pattern": CHECKSUM_PATTERN }), "`sha1 <base64>` or `sha256 <base64>` of this body."))
        .parameter(header("Upload-Length", json!({ "type": "integer", "minimum": 0 }), "Sets a deferred length (once)."))
        .request_body(Some(offset_body(true)))
        .response(
            "204",
            ResponseBuilder::new()
                .description("Appended.")
                .header("Upload-Offset", h("The new offset."))
                .header("Upload-Expires", h("When the unfinished upload expires."))
                .header(KEY_HEADER, h("The storage key, for `GET {base}/files/{key}`."))
                .header(STATUS_URL_HEADER, h(STATUS_URL_DOC))
                .header(SERVER_DATA_HEADER, h("When this PATCH completed an upload on a route that awaits it: the server data, base64url JSON."))
                .build(),
        )
        .response("400", error(&[(ErrorCode::BadRequest, "a missing or malformed `Upload-Offset`, `Upload-Length` or `Upload-Checksum`")]))
        .response("403", error(&[CAPABILITY, (ErrorCode::Forbidden, "a final (concatenated) upload takes no PATCH")]))
        .response("404", error(&[(ErrorCode::NotFound, "no such upload")]))
        .response(
            "409",
            error(&[
                (ErrorCode::OffsetMismatch, "`Upload-Offset` is not the current offset; `data.offset` and the `Upload-Offset` header have it"),
                (ErrorCode::Conflict, "the upload is complete or has failed"),
            ]),
        )
        .response("410", error(&[(ErrorCode::Expired, "the upload has expired")]))
        .response("412", error(&[VERSION]))
        .response("413", error(&[(ErrorCode::TooLarge, "the body goes past `Upload-Length` or the route's limit")]))
        .response("415", error(&[(ErrorCode::UnsupportedType, "the body is not `application/offset+octet-stream`, or the completed file's bytes contradict its type")]))
        .response("423", error(&[LOCKED]))
        .response("460", error(&[(ErrorCode::ChecksumMismatch, "the body does not match `Upload-Checksum`; it was discarded")]))
        .response("500", error(&[(ErrorCode::CompletionFailed, "the file was stored and the completion hook failed"), INTERNAL]))
        .response("default", super::other_refusal())
        .build()
}

/// `DELETE {base}/tus/{id}`.
pub(super) fn delete() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("tusTerminate"))
        .tag("protocol")
        .summary(Some("tus: terminate an unfinished upload"))
        .description(Some(
            "Removes the upload's bytes and record. A completed upload stays. Terminating a \
             final upload that waits for its parts frees them; a part that such a final upload \
             lists cannot be terminated on its own.",
        ))
        .parameter(id_param())
        .parameter(tus_resumable())
        .response(
            "204",
            ResponseBuilder::new().description("Terminated.").build(),
        )
        .response("403", error(&[CAPABILITY]))
        .response("404", error(&[(ErrorCode::NotFound, "no such upload")]))
        .response(
            "409",
            error(&[(
                ErrorCode::Conflict,
                "a part that a final upload waiting for it lists: terminate the final upload first",
            )]),
        )
        .response(
            "410",
            error(&[(
                ErrorCode::Conflict,
                "the upload is complete; it can no longer be terminated (its file stays)",
            )]),
        )
        .response("412", error(&[VERSION]))
        .response("423", error(&[LOCKED]))
        .response("500", error(&[INTERNAL]))
        .build()
}
