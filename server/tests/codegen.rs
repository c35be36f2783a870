//! Codegen for routes whose types go beyond the demo's: generic and nested types, protocol types
//! inside an app's types, JSON values, tuples, enums, optional fields, a name clash with a
//! protocol type, and slugs that would share operation ids.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;
use uplift::{UploadError, UploadedFile};
use validator::Validate;

#[derive(Serialize, Deserialize)]
struct Meta {}

/// A tag to file the upload under.
#[derive(Deserialize, Serialize, Validate, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
struct AlbumInput {
    #[validate(length(min = 1, max = 40))]
    album_name: String,
    #[validate(range(min = 1, max = 10))]
    copies: u8,
    #[validate(email)]
    notify: Option<String>,
    #[validate(url)]
    link: Option<String>,
    tags: Vec<Tag>,
}

#[derive(Deserialize, Serialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
enum Tag {
    Holiday,
    Work,
}

#[derive(Serialize, JsonSchema, TS)]
struct Page<T> {
    items: Vec<T>,
    total: u64,
}

/// The stored file, echoed with where it was filed.
#[derive(Serialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Filed {
    Stored {
        file: UploadedFile,
        album: String,
    },
    #[allow(dead_code)]
    Skipped {
        reason: String,
    },
}

async fn filed(_meta: Meta, file: UploadedFile) -> Result<Page<Filed>, UploadError> {
    Ok(Page {
        items: vec![Filed::Stored {
            file,
            album: "a".into(),
        }],
        total: 1,
    })
}

/// Files go into albums.
#[uplift::file_route(image, slug = "album-upload", on_upload_complete = filed)]
async fn album(_input: AlbumInput) -> Result<Meta, UploadError> {
    Ok(Meta {})
}

async fn pair(_meta: Meta, _file: UploadedFile) -> Result<(u64, Value), UploadError> {
    Ok((1, json!({})))
}

#[uplift::file_route(blob, slug = "albumUpload", await_server_data, on_upload_complete = pair)]
async fn same_pascal_case() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn router() -> uplift::Router {
    uplift::router![album, same_pascal_case]
}

fn doc() -> Value {
    serde_json::from_str(&router().openapi_json("/uploads")).unwrap()
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no component {name}");
    schema
}

#[test]
fn every_validate_constraint_reaches_the_input_schema() {
    let doc = doc();
    let input = component(&doc, "AlbumInput");
    let props = &input["properties"];
    assert_eq!(props["albumName"]["maxLength"], 40);
    assert_eq!(props["albumName"]["minLength"], 1);
    assert_eq!(props["copies"]["minimum"], 1);
    assert_eq!(props["copies"]["maximum"], 10);
    assert_eq!(props["notify"]["format"], "email");
    assert_eq!(props["link"]["format"], "uri");
    assert_eq!(props["tags"]["items"]["$ref"], "#/components/schemas/Tag");
    assert_eq!(component(&doc, "Tag")["enum"], json!(["holiday", "work"]));
    assert_eq!(input["description"], "A tag to file the upload under.");
    // The route's alias and its prepare body point at it; the input is required.
    assert_eq!(
        component(&doc, "AlbumUploadInput")["$ref"],
        "#/components/schemas/AlbumInput"
    );
    let body = component(&doc, "AlbumUploadPrepareRequest");
    assert_eq!(body["required"], json!(["files", "input"]));
    // The same schema, standalone, at `GET {base}`.
    let standalone = router().get("album-upload").unwrap().input_schema().clone();
    assert_eq!(standalone["properties"]["albumName"]["maxLength"], 40);
    assert_eq!(
        standalone["properties"]["tags"]["items"]["$ref"],
        "#/$defs/Tag"
    );
}

#[test]
fn protocol_types_inside_app_types_are_the_protocol_components() {
    let doc = doc();
    let names: HashSet<&str> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("UploadedFile") && *n != "UploadedFile"),
        "{names:?}"
    );
    let server_data = component(&doc, "AlbumUploadServerData");
    let page = &doc["components"]["schemas"][server_data["$ref"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()];
    assert_eq!(page["properties"]["total"]["minimum"], 0, "{page}");
    let filed = component(&doc, "Filed");
    assert!(
        filed
            .to_string()
            .contains("#/components/schemas/UploadedFile"),
        "{filed}"
    );
    // An internally tagged enum keeps its `const` tags (utoipa's typed schema would drop them).
    assert!(filed.to_string().contains(r#""const":"stored""#), "{filed}");
}

#[test]
fn slugs_with_the_same_pascal_case_get_distinct_operation_ids() {
    let doc = doc();
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let unique: HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(
        ids.contains(&"prepareAlbumUpload") && ids.contains(&"prepareAlbumUpload2"),
        "{ids:?}"
    );
    // A tuple of a number and any JSON, inline.
    let pair = component(&doc, "AlbumUpload2ServerData");
    assert_eq!(pair["type"], "array", "{pair}");
    assert_eq!(pair["prefixItems"][0]["type"], "integer", "{pair}");
}

#[test]
fn the_router_typescript_declares_app_types_and_imports_protocol_ones() {
    let files = router().typescript();
    let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert_eq!(names, ["protocol.ts", "router.ts"]);
    let ts = &files[1].contents;
    assert!(
        ts.starts_with("// generated by uplift — do not edit; run `cargo xtask codegen`\n"),
        "{ts}"
    );
    assert!(
        ts.contains("import type { NoInput, UploadedFile } from \"./protocol.js\";"),
        "{ts}"
    );
    for decl in [
        "export type AlbumInput = ",
        "export type Tag = ",
        "export type Page<T> = ",
        "export type Filed = ",
        "export type JsonValue = ",
    ] {
        assert_eq!(ts.matches(decl).count(), 1, "{decl} in\n{ts}");
    }
    assert!(!ts.contains("export type UploadedFile"), "{ts}");
    assert!(ts.contains("total: number"), "u64 is a number: {ts}");
    assert!(ts.contains("\"album-upload\": {\n    input: AlbumInput;\n    serverData: Page<Filed>;\n    awaitServerData: false;"), "{ts}");
    assert!(ts.contains("\"albumUpload\": {\n    input: NoInput;\n    serverData: [number, JsonValue];\n    awaitServerData: true;"), "{ts}");
    assert!(
        ts.contains("config: (typeof routeConfig)[\"album-upload\"];"),
        "{ts}"
    );
}

/// An app type called like a protocol type.
#[derive(Serialize, JsonSchema, TS)]
struct UploadResult {
    mine: bool,
}

async fn clash(_meta: Meta, _file: UploadedFile) -> Result<UploadResult, UploadError> {
    Ok(UploadResult { mine: true })
}

#[uplift::file_route(text, on_upload_complete = clash)]
async fn clashing() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[test]
fn a_name_clash_with_a_protocol_type_is_renamed_in_openapi_and_refused_in_typescript() {
    let router = uplift::router![clashing];
    let doc: Value = serde_json::from_str(&router.openapi_json("/uploads")).unwrap();
    assert_eq!(
        component(&doc, "ClashingServerData")["$ref"],
        "#/components/schemas/UploadResult2"
    );
    assert_eq!(
        component(&doc, "UploadResult2")["properties"]["mine"]["type"],
        "boolean"
    );
    assert!(component(&doc, "UploadResult")["properties"]["status"].is_object());

    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| router.typescript())).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("uses a type called `UploadResult`, which is the name of a protocol type"),
        "{message}"
    );
}

#[test]
fn the_tus_endpoints_and_their_refusals_are_in_the_document() {
    let doc = doc();
    let paths = &doc["paths"];
    let creation = &paths["/uploads/album-upload/tus"];
    assert!(
        creation["post"].is_object() && creation["options"].is_object(),
        "{creation}"
    );
    assert_eq!(creation["post"]["tags"][0], "album-upload");
    let upload = &paths["/uploads/tus/{id}"];
    for method in ["head", "patch", "delete"] {
        assert!(upload[method].is_object(), "no {method} on /tus/{{id}}");
    }
    let patch = &upload["patch"]["responses"];
    for (status, code) in [
        ("409", "OFFSET_MISMATCH"),
        ("412", "PRECONDITION_FAILED"),
        ("423", "LOCKED"),
        ("460", "CHECKSUM_MISMATCH"),
    ] {
        let description = patch[status]["description"].as_str().unwrap_or_default();
        assert!(description.contains(code), "PATCH {status}: {description}");
    }
    let created = &creation["post"]["responses"]["201"]["headers"];
    assert!(created["Location"].is_object() && created["Uplift-Server-Data"].is_object());
}
