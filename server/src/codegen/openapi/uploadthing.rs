//! UploadThing's protocol in the OpenAPI document: the route handler (`GET`/`POST
//! {base}/uploadthing`) and the ingest (`HEAD`/`PUT {base}/uploadthing/ingest/{id}`), as the
//! stock UploadThing client packages call them (`docs/uploadthing.md`).

use serde_json::json;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Required, ResponseBuilder};

use super::{header, json_content, ok, query, raw, reference, string_schema, RouteSchemas};
use crate::error::ErrorCode;
use crate::protocol::uploadthing::UPLOADTHING_VERSION;

const TAG: &str = "uploadthing";

/// An error of these endpoints: `UtError` (UploadThing's `message` beside Uplift's body).
fn error(codes: &[(ErrorCode, &str)]) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(super::codes_description(codes))
        .header("x-uploadthing-version", version_header())
        .content("application/json", json_content(reference("UtError")))
        .build()
}

fn version_header() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Some(raw(
            json!({ "type": "string", "const": UPLOADTHING_VERSION }),
        )))
        .description(Some(
            "The UploadThing client version this protocol follows.",
        ))
        .build()
}

fn answer(description: &str, schema: serde_json::Value) -> utoipa::openapi::Response {
    let mut r = ok(description, schema);
    r.headers
        .insert("x-uploadthing-version".into(), version_header().into());
    r
}

const INTERNAL: (ErrorCode, &str) = super::INTERNAL;

/// `GET {base}/uploadthing`.
pub(super) fn route_config() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("uploadthingRouteConfig"))
        .tag(TAG)
        .summary(Some("UploadThing: every route's config"))
        .description(Some(
            "Every route's file types and limits in UploadThing's notation, which \
             `@uploadthing/react`'s hooks and components read on mount (`accept`, `multiple`, \
             their labels).",
        ))
        .response(
            "200",
            answer(
                "Every route, in the order the app declares them.",
                json!({ "type": "array", "items": reference("UtRoute") }),
            ),
        )
        .build()
}

/// `POST {base}/uploadthing?actionType=upload&slug={slug}`.
pub(super) fn upload_request(routes: &[RouteSchemas]) -> Operation {
    let slugs: Vec<&str> = routes.iter().map(|r| r.slug.as_str()).collect();
    let mut op = OperationBuilder::new()
        .operation_id(Some("uploadthingUpload"))
        .tag(TAG)
        .summary(Some("UploadThing: request an upload"))
        .description(Some(
            "The route's pipeline as `POST {base}/{slug}` runs it — `input`, the files against \
             the route's config, the middleware with this request, the caller's limits — then \
             one resumable upload per file: its ingest URL, in the order of `files`. A file \
             declared with an empty `type` is typed by its name's extension (else \
             `application/octet-stream`). The body's schema per route is that route's \
             `…PrepareRequest`.",
        ))
        .parameter(query(
            "actionType",
            true,
            json!({ "type": "string", "const": "upload" }),
            "Always `upload`.",
        ))
        .parameter(query(
            "slug",
            true,
            json!({ "type": "string", "enum": slugs }),
            "The route.",
        ))
        .parameter(header(
            "x-uploadthing-version",
            json!({ "type": "string" }),
            "The client's version (informational).",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_content(reference("PrepareRequest")))
                .build(),
        ))
        .response(
            "200",
            answer(
                "One ingest URL per file, in the order of `files`.",
                json!({ "type": "array", "items": reference("UtPresigned") }),
            ),
        )
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "no `actionType=upload` and `slug`, or the body is not the JSON described"),
                (ErrorCode::InvalidInput, "`input` does not match the route's input or fails its validation"),
                (ErrorCode::TooManyFiles, "more files than the route allows"),
                (ErrorCode::TooFewFiles, "fewer files than the route requires"),
            ]),
        )
        .response("401", error(&[(ErrorCode::Unauthorized, "the middleware did not recognise the caller")]))
        .response("403", error(&[(ErrorCode::Forbidden, "the middleware refused the caller")]))
        .response("404", error(&[(ErrorCode::NotFound, "no route has this slug")]))
        .response("408", error(&[(ErrorCode::Timeout, "no byte of the body arrived for too long")]))
        .response("413", error(&[(ErrorCode::TooLarge, "a file is larger than its type allows, the files together than the route allows, or the body is too large")]))
        .response("415", error(&[(ErrorCode::UnsupportedType, "a file's type is not one the route accepts")]))
        .response("429", error(&[(ErrorCode::TooManyRequests, "the caller has too many unfinished uploads, or they reserve too many bytes")]));
    op = op.response("500", error(&[INTERNAL]));
    op.response(
        "default",
        ResponseBuilder::new()
            .description(
                "Any other refusal of the route's middleware (`UploadError::with_status`).",
            )
            .content("application/json", json_content(reference("UtError")))
            .build(),
    )
    .build()
}

fn id_param() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "`{key}.{capability}`, exactly as in the upload request's `url`. Without the \
             capability every request is refused.",
        ))
        .schema(Some(raw(json!({ "type": "string" }))))
        .build()
}

const CAPABILITY: (ErrorCode, &str) = (
    ErrorCode::SignatureInvalid,
    "the id lacks a valid capability",
);
const LOCKED: (ErrorCode, &str) = (
    ErrorCode::Locked,
    "a PUT is writing the file, or every byte arrived and its completion is running; retry shortly",
);

/// `HEAD {base}/uploadthing/ingest/{id}`.
pub(super) fn ingest_head() -> Operation {
    OperationBuilder::new()
        .operation_id(Some("uploadthingIngestHead"))
        .tag(TAG)
        .summary(Some("UploadThing: how many bytes arrived"))
        .description(Some(
            "The bytes of the file this server holds, durably: a `PUT` resumes from there. \
             While a `PUT` is still writing the file (a paused upload whose end the server has \
             not seen yet), the answer waits for it to end, at most a lock lease \
             (`tus_lock_lease`); then 423.",
        ))
        .parameter(id_param())
        .response(
            "200",
            ResponseBuilder::new()
                .description("The bytes received.")
                .header(
                    "x-ut-range-start",
                    HeaderBuilder::new()
                        .schema(Some(string_schema("Bytes received, from the first.")))
                        .build(),
                )
                .header("x-uploadthing-version", version_header())
                .build(),
        )
        .response(
            "403",
            error(&[
                CAPABILITY,
                (
                    ErrorCode::Forbidden,
                    "the id is of a final (concatenated) tus upload",
                ),
            ]),
        )
        .response("404", error(&[(ErrorCode::NotFound, "no such upload")]))
        .response(
            "409",
            error(&[(ErrorCode::Conflict, "the upload has failed")]),
        )
        .response(
            "410",
            error(&[(ErrorCode::Expired, "the upload has expired")]),
        )
        .response("423", error(&[LOCKED]))
        .response("500", error(&[INTERNAL]))
        .build()
}

/// `PUT {base}/uploadthing/ingest/{id}`.
pub(super) fn ingest_put(routes: &[RouteSchemas]) -> Operation {
    let server_data: Vec<serde_json::Value> = routes
        .iter()
        .map(|r| reference(&format!("{}ServerData", r.pascal)))
        .chain([json!({ "type": "null" })])
        .collect();
    OperationBuilder::new()
        .operation_id(Some("uploadthingIngestPut"))
        .tag(TAG)
        .summary(Some("UploadThing: send the file's bytes"))
        .description(Some(
            "The file from `Range`'s start (the `x-ut-range-start` of a `HEAD`) to its end, as \
             the multipart field `file`. Bytes are kept as they arrive: a `PUT` cut off is \
             resumed from what the next `HEAD` says. The last byte stores the file through the \
             same checks as every upload (sniffed type, SHA-256, the route's limits, atomic \
             commit) and runs the completion hook; on a route that awaits it, the answer waits \
             for the hook and carries its server data (`serverData` is one route's \
             `…ServerData`).",
        ))
        .parameter(id_param())
        .parameter(header(
            "Range",
            json!({ "type": "string", "pattern": "^bytes=[0-9]{1,20}-$" }),
            "`bytes={start}-`: where the body's bytes go (absent: from the first byte).",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "multipart/form-data",
                    ContentBuilder::new()
                        .schema(Some(raw(json!({
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {
                                    "type": "string",
                                    "contentMediaType": "application/octet-stream",
                                    "description": "The file's bytes from `Range`'s start to its end."
                                }
                            }
                        }))))
                        .build(),
                )
                .build(),
        ))
        .response(
            "200",
            answer(
                "The file is stored.",
                json!({
                    "allOf": [reference("UtUploaded")],
                    "properties": { "serverData": { "anyOf": server_data } }
                }),
            ),
        )
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "`Range` is not `bytes={start}-`, or the body is not multipart with one field `file`"),
                (ErrorCode::SizeMismatch, "the body ended, or its multipart framing broke, before the file's last byte (what arrived is kept)"),
            ]),
        )
        .response("403", error(&[CAPABILITY, (ErrorCode::Forbidden, "the id is of a tus upload this protocol cannot continue (deferred length, concatenation)")]))
        .response("404", error(&[(ErrorCode::NotFound, "no such upload")]))
        .response(
            "408",
            error(&[(ErrorCode::Timeout, "no byte of the body arrived for too long; what arrived is kept")]),
        )
        .response(
            "409",
            error(&[
                (ErrorCode::OffsetMismatch, "`Range` does not start where the upload is; `data.offset` has it"),
                (ErrorCode::Conflict, "the upload is complete or has failed"),
            ]),
        )
        .response("410", error(&[(ErrorCode::Expired, "the upload has expired")]))
        .response("413", error(&[(ErrorCode::TooLarge, "the body goes past the file's declared size")]))
        .response("415", error(&[(ErrorCode::UnsupportedType, "the file's bytes contradict its type, or are of a type the route does not take")]))
        .response("423", error(&[LOCKED]))
        .response("500", error(&[(ErrorCode::CompletionFailed, "the file was stored and the completion hook failed"), INTERNAL]))
        .response(
            "default",
            ResponseBuilder::new()
                .description("Any other refusal of the route's hooks (`UploadError::with_status`).")
                .content("application/json", json_content(reference("UtError")))
                .build(),
        )
        .build()
}
