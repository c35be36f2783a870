//! The signed-upload endpoints under `{base}/objects` (`docs/signed.md`). Their `PUT`/`POST`
//! answers, refusals included, are `FileEnvelope`s; `GET`/`HEAD` serve bytes.

use serde_json::json;
use utoipa::openapi::encoding::EncodingBuilder;
use utoipa::openapi::path::{
    Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Required, Response, ResponseBuilder};

use super::{header, json_content, query, raw, reference, INTERNAL};
use crate::error::ErrorCode;

/// A refusal in the envelope, with the codes answered at its status.
fn refusal(codes: &[(ErrorCode, &str)]) -> Response {
    ResponseBuilder::new()
        .description(super::codes_description(codes))
        .content("application/json", json_content(reference("FileEnvelope")))
        .build()
}

fn stored() -> Response {
    ResponseBuilder::new()
        .description("Stored: `data` is the file object.")
        .content("application/json", json_content(reference("FileEnvelope")))
        .build()
}

/// The schema of one path segment as [`crate::objects::path`] checks it: 1–255 characters
/// (bytes, on the server: a name of multibyte characters is refused sooner) without `/`, `\`
/// or control characters, not `.` or `..`, and no encoded separator once decoded. OpenAPI's
/// path templating percent-encodes a `/` in a parameter, and the server refuses encoded
/// separators: so the document describes a one-segment path; a nested one is its segments,
/// each encoded, joined by plain `/` (as `to_url` makes them).
fn object_path(description: &str) -> Parameter {
    ParameterBuilder::new()
        .name("path")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!(
            "{description} Nested paths send each segment percent-encoded, joined by a plain `/`; \
             the schema describes one segment."
        )))
        .schema(Some(raw(json!({
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]+$",
            "not": { "anyOf": [
                { "enum": [".", ".."] },
                { "pattern": "%(2[fF]|5[cC])" },
            ] },
        }))))
        .build()
}

const PATH_RULES: &str =
    "`folder…/filename`: `/`-separated segments of 1–255 bytes (1024 in all), \
     each percent-encoded once. Refused with `INVALID_PATH`: `.`/`..` segments, empty segments, \
     a leading `/`, `\\`, an encoded separator (`%2F`, `%5C`), NUL and control characters.";

/// The codes every upload (URL, form or token) can be refused with once authorized.
fn upload_refusals(op: OperationBuilder, size_codes: bool) -> OperationBuilder {
    let mut bad = vec![
        (
            ErrorCode::BadRequest,
            "a malformed request or multipart body",
        ),
        (ErrorCode::InvalidPath, "an unsafe folder or file name"),
        (
            ErrorCode::ChecksumMismatch,
            "the bytes do not match the bound `sha256` or `crc32`",
        ),
    ];
    if size_codes {
        bad.push((
            ErrorCode::SizeMismatch,
            "the body ended before the bound exact `size`",
        ));
        bad.push((
            ErrorCode::TooSmall,
            "the body is smaller than the bound `minSize`",
        ));
    }
    let mut op = op
        .response("400", refusal(&bad))
        .response("409", refusal(&[
            (ErrorCode::AlreadyUsed, "the one-time URL or form was already used"),
            (ErrorCode::Conflict, "a file and a folder would share a name; for a completion, the file is not in the storage bucket yet, or was sent to it again while it was checked"),
        ]))
        .response("412", refusal(&[(ErrorCode::PreconditionFailed, "an object exists at the path and the upload may not replace it (`prevent_overwrite`, or `If-None-Match: *` with a token)")]))
        .response("415", refusal(&[(ErrorCode::UnsupportedType, "the `Content-Type` is not the bound type, or the bytes contradict it")]))
        .response("500", refusal(&[INTERNAL]));
    if size_codes {
        op = op.response(
            "413",
            refusal(&[(
                ErrorCode::TooLarge,
                "the body is larger than the bound size (1 GiB when none is bound)",
            )]),
        );
    }
    op
}

fn token_refusals(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "401",
        refusal(&[
            (
                ErrorCode::Unauthorized,
                "neither a signature nor a bearer token",
            ),
            (
                ErrorCode::TokenInvalid,
                "the token is malformed or its signature does not verify",
            ),
            (ErrorCode::TokenExpired, "the token has expired"),
            (
                ErrorCode::TokenAlgorithm,
                "the token's `alg` is not the configured one (HS256 by default; `none` never)",
            ),
        ]),
    )
}

pub(super) fn put_object() -> Operation {
    let q = |name: &str, schema: serde_json::Value, what: &str| query(name, false, schema, what);
    let op = OperationBuilder::new()
        .operation_id(Some("putObject"))
        .tag("signed")
        .summary(Some("Upload a file to a signed object URL, or with an upload token"))
        .description(Some(
            "Send the bytes to the `uploadUrl` of `get_signed_put` (with its `headers`), or to \
             any path in a token's folder with `Authorization: Bearer`. The body streams through \
             the same checks as route uploads (size as it arrives, sniffed type, SHA-256 and \
             CRC32) into a staged write that becomes visible only once every check passed.",
        ))
        .parameter(object_path(PATH_RULES))
        .parameter(q("expiry", json!({ "type": "integer", "format": "int64" }), "Signed URLs: unix seconds after which the URL is refused (`EXPIRED`)."))
        .parameter(q("id", json!({ "type": "string" }), "The upload id, the file object's `id`."))
        .parameter(q("type", json!({ "type": "string" }), "The bound `Content-Type`."))
        .parameter(q("size", json!({ "type": "integer", "format": "int64", "minimum": 0 }), "The bound exact size."))
        .parameter(q("minSize", json!({ "type": "integer", "format": "int64", "minimum": 0 }), "The bound minimum size."))
        .parameter(q("maxSize", json!({ "type": "integer", "format": "int64", "minimum": 0 }), "The bound maximum size."))
        .parameter(q("sha256", json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }), "The bound SHA-256."))
        .parameter(q("crc32", json!({ "type": "integer", "format": "int64", "minimum": 0 }), "The bound CRC32 (IEEE), decimal."))
        .parameter(q("disposition", json!({ "type": "string" }), "The `Content-Disposition` it will be served with."))
        .parameter(q("acl", json!({ "type": "string", "enum": ["public-read", "private"] }), "Who may read it (default `private`)."))
        .parameter(q("noOverwrite", json!({ "type": "string", "enum": ["1"] }), "Refuse (`PRECONDITION_FAILED`) when the object exists."))
        .parameter(q("once", json!({ "type": "string", "enum": ["1"] }), "One-time URL (`ALREADY_USED` on a second use)."))
        .parameter(header("If-None-Match", json!({ "type": "string", "enum": ["*"] }), "Token uploads: refuse to replace an existing object."))
        .securities(Some([
            SecurityRequirement::new("objectSignature", Vec::<String>::new()),
            SecurityRequirement::new("uploadToken", Vec::<String>::new()),
        ]))
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("The file's bytes."))
                .required(Some(Required::True))
                .content("*/*", ContentBuilder::new().schema(Some(raw(json!({ "type": "string", "contentMediaType": "application/octet-stream" })))).build())
                .build(),
        ))
        .response("200", stored())
        .response("403", refusal(&[
            (ErrorCode::SignatureInvalid, "the URL's signature is missing or does not match any of its parameters or its path"),
            (ErrorCode::TokenScope, "the token is for another folder"),
        ]))
        .response("410", refusal(&[(ErrorCode::Expired, "the URL has expired")]));
    upload_refusals(token_refusals(op), true).build()
}

fn multipart_body(fields: &str, required: Required) -> utoipa::openapi::request_body::RequestBody {
    let schema = json!({
        "type": "object",
        "required": ["file"],
        "additionalProperties": { "type": "string" },
        // A field's name travels in its part's `Content-Disposition` header, where control
        // characters (but tab) cannot be.
        "propertyNames": { "pattern": "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$" },
        "properties": { "file": { "type": "string", "contentMediaType": "application/octet-stream" } }
    });
    RequestBodyBuilder::new()
        .description(Some(fields))
        .required(Some(required))
        .content(
            "multipart/form-data",
            ContentBuilder::new()
                .schema(Some(raw(schema)))
                .encoding(
                    "file",
                    EncodingBuilder::new()
                        .content_type(Some("application/octet-stream".to_string()))
                        .build(),
                )
                .build(),
        )
        .build()
}

pub(super) fn post_form() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("postObjectForm"))
        .tag("signed")
        .summary(Some(
            "Upload a file with a signed POST form, or complete one sent straight to the bucket",
        ))
        .description(Some(
            "A browser form from `get_signed_post`: every field of `form.fields` (`key`, \
             `policy`, `signature`, `Content-Type` when bound, `x-uplift-meta-*`), then the file \
             as the last part, named `file`. `${filename}` in `key` becomes the file part's name.\n\n\
             With the query `policy` and `signature` (the `completeUrl` of a `SignedPut` or \
             `SignedPost` made with `direct`) and no body: the file the client sent to the \
             storage bucket is read back through the same checks, then stored. Before the file \
             arrived this is `CONFLICT` and changes nothing; called again after it succeeded, \
             it answers the stored file when its name was fixed when signing.",
        ))
        .parameter(query(
            "policy",
            false,
            json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]+$" }),
            "Completions: the upload's rules, base64url JSON, as the `completeUrl` carries them.",
        ))
        .parameter(query(
            "signature",
            false,
            json!({ "type": "string" }),
            "Completions: the signature of `policy`.",
        ))
        .request_body(Some(multipart_body(
            "The form's fields, then `file`. None for a completion.",
            Required::False,
        )))
        .response("200", stored())
        .response("403", refusal(&[
            (ErrorCode::SignatureInvalid, "no policy or signature, or the signature does not match the policy"),
            (ErrorCode::PolicyViolation, "a condition is broken; `data.condition` is one of `key`, `key-prefix`, `content-length-range`, `content-type`, `content-type-prefix`, `metadata`"),
        ]))
        .response("410", refusal(&[(ErrorCode::Expired, "the policy has expired")]));
    upload_refusals(op, true).build()
}

pub(super) fn post_with_token() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("postObjectWithToken"))
        .tag("signed")
        .summary(Some(
            "Upload a file into a folder with an upload token (multipart)",
        ))
        .description(Some(
            "`Authorization: Bearer <token>`; the `file` part's file name becomes the object's \
             name under `{path}`, which must be the token's folder or below it.",
        ))
        .parameter(object_path("The folder. Same rules as object paths."))
        .parameter(header(
            "If-None-Match",
            json!({ "type": "string", "enum": ["*"] }),
            "Refuse to replace an existing object.",
        ))
        .security(SecurityRequirement::new(
            "uploadToken",
            Vec::<String>::new(),
        ))
        .request_body(Some(multipart_body(
            "A part named `file`, with a file name.",
            Required::True,
        )))
        .response("200", stored())
        .response(
            "403",
            refusal(&[(ErrorCode::TokenScope, "the token is for another folder")]),
        );
    upload_refusals(token_refusals(op), true).build()
}

pub(super) fn get_object(head: bool) -> Operation {
    let (full, partial) = super::served_bytes(head, "object");
    let (id, summary) = if head {
        ("headObject", "The headers of a stored object")
    } else {
        ("getObject", "A stored object")
    };
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag("signed")
        .summary(Some(summary))
        .description(Some(
            "A `public-read` object at its plain URL; a `private` one at a signed URL (the file \
             object's `url`, or `get_signed_url`). Served with `Content-Security-Policy: sandbox` \
             and `X-Content-Type-Options: nosniff`; active content always as an attachment.",
        ))
        .parameter(object_path(PATH_RULES))
        .parameter(query(
            "expiry",
            false,
            json!({ "type": "integer", "format": "int64" }),
            "Private objects: unix seconds after which the URL is refused.",
        ))
        .parameter(header(
            "Range",
            json!({ "type": "string" }),
            "A byte range, e.g. `bytes=0-1023`.",
        ))
        .parameter(header(
            "If-None-Match",
            json!({ "type": "string" }),
            "An `ETag` the client has.",
        ))
        .securities(Some([
            SecurityRequirement::default(),
            SecurityRequirement::new("objectSignature", Vec::<String>::new()),
        ]))
        .response("200", full)
        .response("206", partial)
        .response(
            "304",
            ResponseBuilder::new()
                .description("Not modified (`If-None-Match`).")
                .build(),
        )
        .response(
            "400",
            super::error(&[(ErrorCode::InvalidPath, "an unsafe path")]),
        )
        .response(
            "403",
            super::error(&[(
                ErrorCode::SignatureInvalid,
                "the object is private and the URL is not signed, or its signature does not match",
            )]),
        )
        .response(
            "404",
            super::error(&[(ErrorCode::NotFound, "no object at this path")]),
        )
        .response(
            "410",
            super::error(&[(ErrorCode::Expired, "the signed URL has expired")]),
        )
        .response(
            "416",
            super::error(&[(ErrorCode::RangeNotSatisfiable, "the range cannot be served")]),
        )
        .response("500", super::error(&[INTERNAL]))
        .build()
}

pub(super) fn delete_object() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("deleteObject"))
        .tag("signed")
        .summary(Some(
            "Delete an object: with a signed DELETE URL, or a token that may delete",
        ))
        .description(Some(
            "The URL of `get_signed_delete(path)` (`?expiry=&signature=`), or \
             `Authorization: Bearer` with a token for the object's folder made with \
             `allow_delete`. The record goes first: a deleted path is never served again, its \
             signed GET URLs included. Answers with the object as it was.",
        ))
        .parameter(object_path(PATH_RULES))
        .parameter(query(
            "expiry",
            false,
            json!({ "type": "integer", "format": "int64" }),
            "Signed URLs: unix seconds after which the URL is refused (`EXPIRED`).",
        ))
        .securities(Some([
            SecurityRequirement::new("objectSignature", Vec::<String>::new()),
            SecurityRequirement::new("uploadToken", Vec::<String>::new()),
        ]))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Deleted: `data` is the object as it was.")
                .content("application/json", json_content(reference("FileEnvelope")))
                .build(),
        )
        .response(
            "400",
            refusal(&[(ErrorCode::InvalidPath, "an unsafe folder or file name")]),
        )
        .response(
            "403",
            refusal(&[
                (
                    ErrorCode::SignatureInvalid,
                    "the URL's signature is missing or does not match its path",
                ),
                (
                    ErrorCode::TokenScope,
                    "the token is for another folder, or may not delete",
                ),
            ]),
        )
        .response(
            "404",
            refusal(&[(ErrorCode::NotFound, "nothing is stored at the path")]),
        )
        .response(
            "410",
            refusal(&[(ErrorCode::Expired, "the URL has expired")]),
        )
        .response("500", refusal(&[INTERNAL]));
    token_refusals(op).build()
}

pub(super) fn list_objects() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("listObjects"))
        .tag("signed")
        .summary(Some("List a folder's objects, with a token that may list"))
        .description(Some(
            "`Authorization: Bearer` with a token for the folder (or a parent) made with \
             `allow_list`: the objects in `dir` and below, by path, a page at a time.",
        ))
        .parameter(query(
            "dir",
            true,
            json!({
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "pattern": r"^[^/\\\u0000-\u001f\u007f-\u009f]+(/[^/\\\u0000-\u001f\u007f-\u009f]+)*$",
                "not": { "anyOf": [
                    { "pattern": r"(^|/)\.{1,2}(/|$)" },
                    { "pattern": "%(2[fF]|5[cC])" },
                ] },
            }),
            "The folder: `/`-separated segments, each 1–255 bytes, no `.` or `..` segment.",
        ))
        .parameter(query("cursor", false, json!({ "type": "string", "maxLength": 1024 }), "The `nextCursor` of the page before (the last path listed)."))
        .parameter(query("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), "Most objects on the page (default 50)."))
        .security(SecurityRequirement::new("uploadToken", Vec::<String>::new()))
        .response("200", ResponseBuilder::new()
            .description("A page of objects.")
            .content("application/json", json_content(reference("ObjectList")))
            .build())
        .response("400", ResponseBuilder::new()
            .description("- `BAD_REQUEST`: a limit out of range or an unknown parameter\n- `INVALID_PATH`: an unsafe folder or cursor")
            .content("application/json", json_content(reference("ErrorResponse")))
            .build())
        .response("401", ResponseBuilder::new()
            .description("- `UNAUTHORIZED`: no token\n- `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_ALGORITHM`: as for uploads")
            .content("application/json", json_content(reference("ErrorResponse")))
            .build())
        .response("403", ResponseBuilder::new()
            .description("- `TOKEN_SCOPE`: the token is for another folder, or may not list")
            .content("application/json", json_content(reference("ErrorResponse")))
            .build())
        .response("500", ResponseBuilder::new()
            .description("- `INTERNAL`")
            .content("application/json", json_content(reference("ErrorResponse")))
            .build())
        .build()
}
