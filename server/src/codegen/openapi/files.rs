//! The file-management endpoints (`Router::manage_files`, `docs/files.md`): a listing, and
//! changes and removals of one file, each within what the app's access function allows. In
//! the document only when the router manages files, as they are mounted only then.

use serde_json::json;
use utoipa::openapi::path::{Operation, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::Required;

use super::{error, json_content, ok, path_key, query, reference, INTERNAL};
use crate::error::ErrorCode;

const ACCESS: &str = "Allowed by the app's access function (`Router::manage_files`), which \
     decides for each request whose files it may manage: its caller's own (the identity the app \
     names for the requests that uploaded them), or every file. Another caller's file answers \
     as a missing one.";

fn refused(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "401",
        error(&[(
            ErrorCode::Unauthorized,
            "the app's access function refused the request (no session, say)",
        )]),
    )
    .response(
        "403",
        error(&[(
            ErrorCode::Forbidden,
            "the app's access function refused the request",
        )]),
    )
    .response("500", error(&[INTERNAL]))
}

pub(super) fn list() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("listFiles"))
        .tag("files")
        .summary(Some("List the files the caller may manage, newest first"))
        .description(Some(format!(
            "{ACCESS} Pages are stable while uploads go on: a new file comes before the first \
             page's cursor, so following `nextCursor` never repeats or skips one."
        )))
        .parameter(query("route", false, json!({ "type": "string" }), "Only this route's files (its slug)."))
        .parameter(query(
            "status",
            false,
            json!({ "type": "string", "enum": ["pending", "uploading", "completing", "complete", "failed", "expired"] }),
            "Only files in this state.",
        ))
        .parameter(query("customId", false, json!({ "type": "string" }), "Only files with this custom id."))
        .parameter(query("createdFrom", false, json!({ "type": "integer", "format": "int64" }), "Only files uploaded at or after this time (unix milliseconds)."))
        .parameter(query("createdUntil", false, json!({ "type": "integer", "format": "int64" }), "Only files uploaded before this time (unix milliseconds)."))
        .parameter(query("cursor", false, json!({ "type": "string", "pattern": crate::protocol::files::CURSOR_PATTERN }), "The `nextCursor` of the page before."))
        .parameter(query("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 100 }), "Most files on the page (default 20)."))
        .response("200", ok("A page of files.", reference("FileList")))
        .response(
            "400",
            error(&[(
                ErrorCode::BadRequest,
                "a malformed cursor, an unknown status, a limit out of range, or an unknown parameter",
            )]),
        );
    refused(op).build()
}

pub(super) fn change() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("changeFile"))
        .tag("files")
        .summary(Some(
            "Rename a stored file, or change its ACL (neither: the file as it is)",
        ))
        .description(Some(format!(
            "{ACCESS} The name is sanitized as upload names are, and is the name a download is \
             saved as. A file made `private` is served with signed URLs only: its public URL \
             answers 404 from then on."
        )))
        .parameter(path_key("The file's storage key."))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_content(reference("FileChange")))
                .build(),
        ))
        .response("200", ok("The file as it is now.", reference("FileInfo")))
        .response(
            "400",
            error(&[
                (
                    ErrorCode::BadRequest,
                    "a malformed body, or one that changes nothing",
                ),
                (ErrorCode::InvalidInput, "a blank or over-long name"),
            ]),
        )
        .response(
            "404",
            error(&[(ErrorCode::NotFound, "no such file the caller may manage")]),
        )
        .response(
            "409",
            error(&[
                (
                    ErrorCode::InProgress,
                    "the file is still being uploaded or completed",
                ),
                (
                    ErrorCode::Conflict,
                    "the upload failed or expired: there is no stored file to change",
                ),
            ]),
        );
    refused(op).build()
}

pub(super) fn delete() -> Operation {
    let op = OperationBuilder::new()
        .operation_id(Some("deleteFile"))
        .tag("files")
        .summary(Some("Delete a file: its bytes and its record"))
        .description(Some(format!(
            "{ACCESS} A deleted key is never served again: its download URLs, signed or not, \
             answer 404. The route's `on_delete` hook runs once the file is gone."
        )))
        .parameter(path_key("The file's storage key."))
        .response("200", ok("Deleted.", reference("DeleteResult")))
        .response(
            "404",
            error(&[(
                ErrorCode::NotFound,
                "no such file the caller may manage (or it was deleted already)",
            )]),
        )
        .response(
            "409",
            error(&[(
                ErrorCode::InProgress,
                "the file is still being uploaded or completed",
            )]),
        );
    refused(op).build()
}
