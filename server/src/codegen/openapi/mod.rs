//! The OpenAPI 3.1 document of an app: every endpoint of the protocol, and per file route its
//! own operations with its own input and server-data schemas.
//!
//! Built at run time, since the routes are only known then. The wire DTOs come from their
//! `utoipa::ToSchema` derives; the routes' input and server-data types from `schemars`
//! (JSON Schema 2020-12, the dialect of OpenAPI 3.1), which carries the `#[validate(...)]`
//! constraints (`maxLength`, `minimum`, `format: email`, `pattern`, …). schemars' schemas are
//! embedded verbatim, so no keyword is lost in a conversion.
//!
//! Per route with slug `mediaPost` (PascalCase `MediaPost`):
//!
//! | operation / component        | what |
//! |------------------------------|------|
//! | `prepareMediaPost`           | `POST {base}/mediaPost`, body `MediaPostPrepareRequest` |
//! | `uploadMediaPostMultipart`   | `POST {base}/mediaPost/multipart`, `input` + files, answers `MediaPostMultipartResponse` |
//! | `MediaPostInput`             | the route's input (an alias of the input type's own schema) |
//! | `MediaPostServerData`        | the completion hook's return type (likewise) |
//! | `MediaPostUploadResult`      | `UploadResult` with `serverData: MediaPostServerData \| null` |
//!
//! The shared endpoints (the signed `PUT`, `GET {base}/files/{key}`) answer for any route: their
//! response is `anyOf` the routes' `…UploadResult` (the file's `slug` says which).

use std::collections::BTreeMap;

use schemars::SchemaGenerator;
use serde_json::{json, Value};
use utoipa::openapi::encoding::EncodingBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder,
    PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::ToSchema;

use super::{canonical, pascal_case, HEADER};
use crate::error::{ErrorBody, ErrorCode, ErrorResponse};
use crate::protocol::ObjectList;
use crate::protocol::{
    DeleteResult, Deletion, FileChange, FileDeclaration, FileEnvelope, FileInfo, FileKind,
    FileList, FileObject, FileTypeConfig, Links, Meta, MultipartPlan, MultipartResponse, PartUrl,
    PartsRequest, PartsResponse, PostForm, PrepareRequest, PrepareResponse, PreparedUpload,
    RouteInfo, RouteUsage, RoutesResponse, SignedPost, SignedPut, UploadResult, UploadStatus,
    UploadToken, UploadedFile, UploadedPart, Usage, UtError, UtFileType, UtPresigned, UtRoute,
    UtUploaded,
};
use crate::route::{Acl, ContentDisposition};
use crate::router::Router;

mod tus;
mod uploadthing;

const COMPONENTS: &str = "#/components/schemas/";

mod files;
mod signed;

/// The OpenAPI document of `router` mounted at `base_path` (`/api/uploads` by default).
/// [`openapi_json`] gives its canonical JSON.
pub fn openapi(router: &Router, base_path: &str) -> OpenApi {
    let base = base_path.trim_end_matches('/');
    let mut schemas = Schemas::with_protocol();
    let routes: Vec<RouteSchemas> = route_schemas(router, &mut schemas);
    let managed = router.files_access().is_some();

    let mut paths = PathsBuilder::new()
        .path(at(base, ""), PathItem::new(HttpMethod::Get, list_routes()))
        .path(at(base, "/files/{key}"), {
            let mut item = PathItem::new(HttpMethod::Get, status(&routes));
            if managed {
                item.merge_operations(PathItem::new(HttpMethod::Patch, files::change()));
                item.merge_operations(PathItem::new(HttpMethod::Delete, files::delete()));
            }
            item
        })
        .path(
            at(base, "/upload/{key}"),
            PathItem::new(HttpMethod::Put, upload(&routes)),
        )
        .path(
            at(base, "/upload/{key}/complete"),
            PathItem::new(HttpMethod::Post, complete_direct(&routes)),
        )
        .path(
            at(base, "/upload/{key}/parts"),
            PathItem::new(HttpMethod::Post, direct_parts()),
        )
        .path(
            at(base, "/upload/{key}/abort"),
            PathItem::new(HttpMethod::Post, direct_abort(&routes)),
        )
        .path(at(base, "/download/{key}"), {
            let mut item = PathItem::new(HttpMethod::Get, download(false));
            item.merge_operations(PathItem::new(HttpMethod::Head, download(true)));
            item
        })
        .path(at(base, "/tus/{id}"), {
            let mut item = PathItem::new(HttpMethod::Head, tus::head());
            item.merge_operations(PathItem::new(HttpMethod::Patch, tus::patch()));
            item.merge_operations(PathItem::new(HttpMethod::Delete, tus::delete()));
            item.merge_operations(PathItem::new(HttpMethod::Options, tus::upload_options()));
            item
        })
        .path(at(base, "/uploadthing"), {
            let mut item = PathItem::new(HttpMethod::Get, uploadthing::route_config());
            item.merge_operations(PathItem::new(
                HttpMethod::Post,
                uploadthing::upload_request(&routes),
            ));
            item
        })
        .path(at(base, "/uploadthing/ingest/{id}"), {
            let mut item = PathItem::new(HttpMethod::Head, uploadthing::ingest_head());
            item.merge_operations(PathItem::new(
                HttpMethod::Put,
                uploadthing::ingest_put(&routes),
            ));
            item
        })
        .path(
            at(base, "/openapi.json"),
            PathItem::new(HttpMethod::Get, openapi_document()),
        )
        .path(
            at(base, "/docs"),
            PathItem::new(HttpMethod::Get, docs_redirect()),
        )
        .path(
            at(base, "/docs/"),
            PathItem::new(HttpMethod::Get, docs_page()),
        )
        .path(at(base, "/objects"), {
            let mut item = PathItem::new(HttpMethod::Post, signed::post_form());
            item.merge_operations(PathItem::new(HttpMethod::Get, signed::list_objects()));
            item
        })
        .path(at(base, "/objects/{path}"), {
            let mut item = PathItem::new(HttpMethod::Put, signed::put_object());
            item.merge_operations(PathItem::new(HttpMethod::Post, signed::post_with_token()));
            item.merge_operations(PathItem::new(HttpMethod::Get, signed::get_object(false)));
            item.merge_operations(PathItem::new(HttpMethod::Head, signed::get_object(true)));
            item.merge_operations(PathItem::new(HttpMethod::Delete, signed::delete_object()));
            item
        });
    if managed {
        paths = paths.path(
            at(base, "/files"),
            PathItem::new(HttpMethod::Get, files::list()),
        );
    }
    let mut tags = vec![TagBuilder::new()
        .name("protocol")
        .description(Some(
            "The endpoints every Uplift app has, whatever its file routes.",
        ))
        .build()];
    tags.push(
        TagBuilder::new()
            .name("signed")
            .description(Some(
                "Signed uploads without a file route: URLs, forms and tokens the app hands out \
                 for a folder (`docs/signed.md`).",
            ))
            .build(),
    );
    tags.push(
        TagBuilder::new()
            .name("uploadthing")
            .description(Some(
                "UploadThing's protocol (v7), for frontends built on the stock `uploadthing` and \
                 `@uploadthing/react` packages: point their `url` at `{base}/uploadthing` \
                 (`docs/uploadthing.md`).",
            ))
            .build(),
    );
    if managed {
        tags.push(
            TagBuilder::new()
                .name("files")
                .description(Some(
                    "Managing stored files: the app's own users list, rename, change the ACL of \
                     and delete the files the app lets them manage (`docs/files.md`).",
                ))
                .build(),
        );
    }
    for r in &routes {
        paths = paths
            .path(
                at(base, &format!("/{}", r.slug)),
                PathItem::new(HttpMethod::Post, prepare(r)),
            )
            .path(
                at(base, &format!("/{}/multipart", r.slug)),
                PathItem::new(HttpMethod::Post, multipart(r)),
            )
            .path(at(base, &format!("/{}/tus", r.slug)), {
                let mut item = PathItem::new(HttpMethod::Post, tus::creation(r));
                item.merge_operations(PathItem::new(HttpMethod::Options, tus::options(r)));
                item
            });
        tags.push(
            TagBuilder::new()
                .name(&r.slug)
                .description(Some(route_description(r)))
                .build(),
        );
    }

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas.0.into_iter().map(|(name, schema)| (name, raw(schema))))
        .security_scheme(
            "uploadSignature",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "sig",
                "The signature of an upload URL, minted by the prepare endpoint: an HMAC-SHA256 over the \
                 method, the storage key, `expires`, `size`, `type` and `sha256`. Use the `uploadUrl` as \
                 given; a URL with any of them changed is refused with `SIGNATURE_INVALID`.",
            ))),
        )
        .security_scheme(
            "downloadSignature",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "sig",
                "The signature of a download URL of a private file (an HMAC-SHA256 over the key and \
                 `expires`), as found in the file's `url`. Public files need none.",
            ))),
        )
        .security_scheme(
            "objectSignature",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "signature",
                "The signature of a signed object URL (`get_signed_put`, `get_signed_url`): an \
                 HMAC-SHA256 over the method, the object path and every other query parameter. \
                 Use the URL as given; any change is refused with `SIGNATURE_INVALID`.",
            ))),
        )
        .security_scheme(
            "uploadToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An upload token from `create_token`: a JWT (HS256, or EdDSA when configured) for one folder and \
                         everything below it, until it expires.",
                    ))
                    .build(),
            ),
        )
        .build();

    let info = InfoBuilder::new()
        .title("Uplift file uploads")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(format!(
            "The upload endpoints of this app's file routes, served by Uplift under \
             `{base_or_root}`.\n\n\
             Upload in two steps — `POST {base}/{{slug}}` (prepare: the route's `input` and each \
             file's name, size and type; answers with a signed `uploadUrl` per file), then `PUT` \
             each file's bytes to its `uploadUrl` — or in one `multipart/form-data` request to \
             `POST {base}/{{slug}}/multipart`. `GET {base}` lists every route's limits and the JSON \
             Schema of its input, so a client can check both before sending a byte.\n\n\
             Every error is `{{\"error\": {{\"code\", \"message\", \"data\"?}}}}` (`ErrorResponse`) with \
             a stable `code` (`ErrorCode`).",
            base_or_root = if base.is_empty() { "/" } else { base },
        )))
        .build();

    let mut doc = OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build();
    doc.extensions = Some([("x-generated", HEADER)].into_iter().collect());
    doc
}

/// [`openapi`] as pretty JSON with sorted keys and a final newline: the same bytes for the
/// same routes, whatever the run. This is what `{base}/openapi.json` serves.
pub fn openapi_json(router: &Router, base_path: &str) -> String {
    let value =
        serde_json::to_value(openapi(router, base_path)).expect("an OpenAPI document serializes");
    let mut json = serde_json::to_string_pretty(&canonical(value)).expect("JSON serializes");
    json.push('\n');
    json
}

fn at(base: &str, path: &str) -> String {
    match format!("{base}{path}") {
        p if p.is_empty() => "/".into(),
        p => p,
    }
}

/// A schema embedded as is (`$ref` alone becomes a reference). utoipa's typed schema cannot
/// hold every JSON Schema keyword (`const`, `$defs`, boolean schemas, …); an object schema with
/// no typed field set serializes as exactly its "extensions", which here are the keywords.
fn raw(schema: Value) -> RefOr<Schema> {
    match schema {
        Value::Object(map) if map.len() == 1 && map.get("$ref").is_some_and(Value::is_string) => {
            RefOr::Ref(Ref::new(map["$ref"].as_str().expect("a string")))
        }
        Value::Object(map) => RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .extensions(Some(map.into_iter().collect()))
                .build(),
        )),
        Value::Bool(false) => raw(json!({ "not": {} })),
        _ => raw(json!({})),
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{COMPONENTS}{name}") })
}

/// The document's component schemas, as JSON.
struct Schemas(BTreeMap<String, Value>);

impl Schemas {
    /// Every wire DTO (with what it depends on), from its `ToSchema` derive.
    fn with_protocol() -> Self {
        let mut found = Vec::new();
        fn add<T: ToSchema>(found: &mut Vec<(String, RefOr<Schema>)>) {
            found.push((T::name().into_owned(), T::schema()));
            T::schemas(found);
        }
        add::<RoutesResponse>(&mut found);
        add::<RouteInfo>(&mut found);
        add::<FileTypeConfig>(&mut found);
        add::<PrepareRequest>(&mut found);
        add::<FileDeclaration>(&mut found);
        add::<PrepareResponse>(&mut found);
        add::<PreparedUpload>(&mut found);
        add::<MultipartPlan>(&mut found);
        add::<PartUrl>(&mut found);
        add::<PartsRequest>(&mut found);
        add::<PartsResponse>(&mut found);
        add::<UploadedPart>(&mut found);
        add::<UploadResult>(&mut found);
        add::<UploadedFile>(&mut found);
        add::<UploadStatus>(&mut found);
        add::<MultipartResponse>(&mut found);
        add::<ErrorResponse>(&mut found);
        add::<ErrorBody>(&mut found);
        add::<ErrorCode>(&mut found);
        add::<Acl>(&mut found);
        add::<ContentDisposition>(&mut found);
        add::<SignedPut>(&mut found);
        add::<SignedPost>(&mut found);
        add::<PostForm>(&mut found);
        add::<UploadToken>(&mut found);
        add::<FileEnvelope>(&mut found);
        add::<FileObject>(&mut found);
        add::<FileKind>(&mut found);
        add::<Meta>(&mut found);
        add::<Links>(&mut found);
        add::<ObjectList>(&mut found);
        add::<FileInfo>(&mut found);
        add::<FileList>(&mut found);
        add::<FileChange>(&mut found);
        add::<DeleteResult>(&mut found);
        add::<Deletion>(&mut found);
        add::<Usage>(&mut found);
        add::<RouteUsage>(&mut found);
        add::<UtRoute>(&mut found);
        add::<UtFileType>(&mut found);
        add::<UtPresigned>(&mut found);
        add::<UtUploaded>(&mut found);
        add::<UtError>(&mut found);
        Schemas(
            found
                .into_iter()
                .map(|(name, s)| (name, serde_json::to_value(s).expect("a schema serializes")))
                .collect(),
        )
    }

    /// Adds a generator's definitions. A name already taken by a different schema gets a
    /// numeric suffix, and the references in `definitions` and `uses` follow.
    fn merge(&mut self, mut definitions: serde_json::Map<String, Value>, uses: &mut [&mut Value]) {
        let mut renames = Vec::new();
        for (name, schema) in &definitions {
            match self.0.get(name) {
                Some(existing) if existing != schema => {
                    let new = (2..)
                        .map(|i| format!("{name}{i}"))
                        .find(|n| !self.0.contains_key(n) && !definitions.contains_key(n))
                        .expect("a free name");
                    renames.push((name.clone(), new));
                }
                _ => {}
            }
        }
        for (old, new) in &renames {
            let schema = definitions.remove(old).expect("renamed schemas exist");
            definitions.insert(new.clone(), schema);
            for schema in definitions.values_mut() {
                rename_refs(schema, old, new);
            }
            for used in uses.iter_mut() {
                rename_refs(used, old, new);
            }
        }
        self.0.extend(definitions);
    }

    /// Adds `name` as an alias of `schema`, unless `schema` already is that component. A name
    /// an app's type already took (say, a type called `MediaPostPrepareRequest`) gets a numeric
    /// suffix rather than failing the server's start.
    fn alias(&mut self, name: &str, schema: &Value) -> Value {
        if *schema == reference(name) {
            return schema.clone();
        }
        let name = std::iter::once(name.to_string())
            .chain((2..).map(|i| format!("{name}{i}")))
            .find(|n| !self.0.contains_key(n))
            .expect("a free name");
        self.0.insert(name.clone(), schema.clone());
        reference(&name)
    }
}

fn rename_refs(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if r.strip_prefix(COMPONENTS) == Some(old) {
                    *r = format!("{COMPONENTS}{new}");
                }
            }
            map.values_mut().for_each(|v| rename_refs(v, old, new));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, old, new)),
        _ => {}
    }
}

/// What the operations of one route refer to.
struct RouteSchemas {
    slug: String,
    pascal: String,
    description: Option<String>,
    has_input: bool,
    await_server_data: bool,
    /// `$ref`s to the per-route components.
    input: Value,
    upload_result: Value,
    multipart_response: Value,
    prepare_request: Value,
    /// The most files one upload may carry.
    max_files: u32,
}

fn route_schemas(router: &Router, schemas: &mut Schemas) -> Vec<RouteSchemas> {
    // Inputs are read (deserialized) by the server, server data written (serialized): the two
    // contracts differ for `#[serde(default)]`, `skip_serializing_if`, aliases…
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    let mut inputs: SchemaGenerator = settings.clone().for_deserialize().into_generator();
    let mut outputs: SchemaGenerator = settings.for_serialize().into_generator();
    let mut input_schemas: Vec<Value> = router
        .routes()
        .iter()
        .map(|r| r.input_type().json_schema_in(&mut inputs))
        .collect();
    let mut output_schemas: Vec<Value> = router
        .routes()
        .iter()
        .map(|r| r.server_data_type().json_schema_in(&mut outputs))
        .collect();
    schemas.merge(
        inputs.take_definitions(true),
        &mut input_schemas.iter_mut().collect::<Vec<_>>(),
    );
    schemas.merge(
        outputs.take_definitions(true),
        &mut output_schemas.iter_mut().collect::<Vec<_>>(),
    );

    let mut out = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for ((route, input), server_data) in router
        .routes()
        .iter()
        .zip(input_schemas)
        .zip(output_schemas)
    {
        let slug = route.slug().to_string();
        // `media-post` and `mediaPost` would share operation ids: the second gets a suffix.
        let pascal = std::iter::once(pascal_case(&slug))
            .chain((2..).map(|i| format!("{}{i}", pascal_case(&slug))))
            .find(|p| !taken.contains(p))
            .expect("a free name");
        taken.insert(pascal.clone());
        let input = schemas.alias(&format!("{pascal}Input"), &input);
        let server_data = schemas.alias(&format!("{pascal}ServerData"), &server_data);
        let has_input = !route.input_type().is_no_input();

        let prepare_request = schemas.alias(
            &format!("{pascal}PrepareRequest"),
            &json!({
                "description": format!("The body of `prepare{pascal}`: the files to upload and the route's input."),
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {
                            "allOf": [reference("FileDeclaration"), declaration_rules(route.config())],
                        },
                        "minItems": 1,
                        "maxItems": route.config().max_files(),
                        "description": "The files to upload, in order: at least one, each of a type the \
                                        route accepts and at most that type's size.",
                    },
                    "input": input,
                },
                "required": if has_input { json!(["files", "input"]) } else { json!(["files"]) },
            }),
        );
        let upload_result = schemas.alias(
            &format!("{pascal}UploadResult"),
            &json!({
                "description": format!("An upload through `{slug}`: `UploadResult` with this route's server data."),
                "allOf": [
                    reference("UploadResult"),
                    {
                        "type": "object",
                        "properties": {
                            "serverData": {
                                "description": "The completion hook's answer, once it has answered (`null` before).",
                                "anyOf": [server_data, { "type": "null" }],
                            },
                        },
                    },
                ],
            }),
        );
        let multipart_response = schemas.alias(
            &format!("{pascal}MultipartResponse"),
            &json!({
                "description": format!("The answer of `upload{pascal}Multipart`: every stored file."),
                "type": "object",
                "properties": { "files": { "type": "array", "items": upload_result } },
                "required": ["files"],
            }),
        );
        out.push(RouteSchemas {
            slug,
            pascal,
            description: route.config().description.as_deref().map(str::to_string),
            has_input,
            await_server_data: route.config().await_server_data,
            input,
            upload_result,
            multipart_response,
            prepare_request,
            max_files: route.config().max_files(),
        });
    }
    out
}

/// A MIME type (`type/subtype`, RFC 6838 names) matching a route's type pattern (`image/*`,
/// `application/pdf`, `*/*`), case-insensitively as the server compares them.
fn mime_pattern(pattern: &str) -> String {
    const NAME: &str = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
    let caseless = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                } else if ".+^$*?()[]{}|\\".contains(c) {
                    format!("\\{c}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let pattern = pattern.trim();
    if pattern == "*/*" || pattern == "*" {
        return format!("^{NAME}/{NAME}$");
    }
    match pattern.strip_suffix("/*") {
        Some(top) => format!("^{}/{NAME}$", caseless(top)),
        None => format!("^{}$", caseless(pattern)),
    }
}

/// What a route checks of each declared file that JSON Schema can say: its type is one the
/// route accepts, and its size at most that type's limit. Where rules overlap (`*/*` and
/// `image/png`), the server applies the most specific one; the schema then bounds a type by
/// the smallest limit of the rules it may fall under, so it never promises more than the
/// server takes. What it cannot say (counts per type, the total size) is in the description.
fn declaration_rules(config: &crate::route::RouteConfig) -> Value {
    let branches: Vec<Value> = config
        .types
        .iter()
        .map(|rule| {
            let pattern = rule.file_type.pattern();
            let max = config
                .types
                .iter()
                .filter(|other| {
                    crate::route::pattern_matches(pattern, other.file_type.pattern())
                        || crate::route::pattern_matches(other.file_type.pattern(), pattern)
                })
                .map(|other| other.max_file_size)
                .min()
                .unwrap_or(rule.max_file_size);
            json!({
                "type": "object",
                "properties": {
                    "type": { "type": "string", "pattern": mime_pattern(pattern) },
                    "size": { "type": "integer", "maximum": max },
                },
            })
        })
        .collect();
    json!({ "anyOf": branches })
}

fn route_description(r: &RouteSchemas) -> String {
    let mut d = r.description.clone().unwrap_or_default();
    if !d.is_empty() {
        d.push_str("\n\n");
    }
    d.push_str(if r.await_server_data {
        "The upload answers once the completion hook has: with its server data, or its error."
    } else {
        "The upload answers once the bytes are stored; the server data shows up at the status URL \
         (`statusUrl`) when the completion hook has answered."
    });
    d
}

fn json_content(schema: Value) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(raw(schema))).build()
}

/// The description of a refusal: one line per code answered at its status, with why.
fn codes_description(codes: &[(ErrorCode, &str)]) -> String {
    codes
        .iter()
        .map(|(code, why)| format!("- `{}`: {why}", code.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error response: the envelope, with the codes this endpoint answers with at this status.
fn error(codes: &[(ErrorCode, &str)]) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(codes_description(codes))
        .content("application/json", json_content(reference("ErrorResponse")))
        .build()
}

fn ok(description: &str, schema: Value) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json_content(schema))
        .build()
}

fn string_schema(description: &str) -> RefOr<Schema> {
    raw(json!({ "type": "string", "description": description }))
}

fn path_key(description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("key")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(raw(json!({ "type": "string" }))))
        .build()
}

fn query(
    name: &str,
    required: bool,
    schema: Value,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(raw(schema)))
        .build()
}

fn header(name: &str, schema: Value, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(raw(schema)))
        .build()
}

const INTERNAL: (ErrorCode, &str) = (
    ErrorCode::Internal,
    "something broke on the server; details are in its log only",
);

fn list_routes() -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some("listRoutes"))
        .tag("protocol")
        .summary(Some("Every file route's config"))
        .description(Some(
            "The file types each route accepts with their limits, whether its uploads await the \
             server data, its route-wide limits, and the JSON Schema of its `input` (with its \
             validation constraints): a client can check files and input before sending a byte.",
        ))
        .response(
            "200",
            ok(
                "Every route, in the order the app declares them.",
                reference("RoutesResponse"),
            ),
        )
        .build()
}

/// The refusals of a route's middleware and of the files against the route's config.
fn middleware_refusals() -> [(&'static str, utoipa::openapi::Response); 3] {
    [
        (
            "401",
            error(&[(
                ErrorCode::Unauthorized,
                "the middleware did not recognise the caller",
            )]),
        ),
        (
            "403",
            error(&[(ErrorCode::Forbidden, "the middleware refused the caller")]),
        ),
        (
            "429",
            error(&[(
                ErrorCode::TooManyRequests,
                "the caller already has too many unfinished uploads, or they reserve too many bytes \
                 (`data.limit` is `max_unfinished_per_caller` or `max_reserved_bytes_per_caller`); \
                 or the middleware refused: too many requests",
            )]),
        ),
    ]
}

fn other_refusal() -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(
            "Any other refusal of the route's middleware or hooks (`UploadError::with_status`), with \
             the code that best matches the status (`BAD_REQUEST` for an unlisted 4xx).",
        )
        .content("application/json", json_content(reference("ErrorResponse")))
        .build()
}

fn prepare(r: &RouteSchemas) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(format!("prepare{}", r.pascal)))
        .tag(&r.slug)
        .summary(Some(format!("Prepare an upload through {}", r.slug)))
        .description(Some(format!(
            "Checks, in order, the input, the files against the route's config, then runs the route's \
             middleware; answers with a signed `uploadUrl` per file to `PUT` its bytes to.\n\n{}",
            route_description(r)
        )))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_content(r.prepare_request.clone()))
                .build(),
        ))
        .response("200", ok("The signed upload URL of every file.", reference("PrepareResponse")))
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "the body is not the JSON described, or a `sha256` is not 64 hex digits"),
                (ErrorCode::InvalidInput, "`input` does not match the route's input or fails its validation; `data.fields` has the errors per field"),
                (ErrorCode::TooManyFiles, "more files than the route allows (per type or in total)"),
                (ErrorCode::TooFewFiles, "fewer files than the route requires"),
            ]),
        );
    for (status, response) in middleware_refusals() {
        op = op.response(status, response);
    }
    op.response(
        "413",
        error(&[(ErrorCode::TooLarge, "a file is larger than its type allows, the files together than the route allows, or the JSON body is too large")]),
    )
    .response("415", error(&[(ErrorCode::UnsupportedType, "a file's type is not one the route accepts")]))
    .response("500", error(&[INTERNAL]))
    .response("default", other_refusal())
    .build()
}

fn multipart(r: &RouteSchemas) -> utoipa::openapi::path::Operation {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "input".into(),
        json!({
            "description": "The route's input as JSON, before the files.",
            "allOf": [r.input.clone()],
        }),
    );
    properties.insert(
        "files".into(),
        json!({
            "description": "The files. Any part with a file name is a file, whatever its field name; \
                            its `Content-Type` declares its type (sniffed and checked).",
            "type": "array",
            "items": { "type": "string", "contentMediaType": "application/octet-stream" },
            "minItems": 1,
            "maxItems": r.max_files,
        }),
    );
    let required = if r.has_input {
        json!(["input", "files"])
    } else {
        json!(["files"])
    };
    let body = json!({ "type": "object", "properties": properties, "required": required });
    let content = ContentBuilder::new()
        .schema(Some(raw(body)))
        .encoding(
            "input",
            EncodingBuilder::new()
                .content_type(Some("application/json"))
                .build(),
        )
        .build();
    let mut op = OperationBuilder::new()
        .operation_id(Some(format!("upload{}Multipart", r.pascal)))
        .tag(&r.slug)
        .summary(Some(format!("Upload to {} in one multipart/form-data request", r.slug)))
        .description(Some(format!(
            "For curl, server code and HTML forms without JavaScript: the input (if any) first, then \
             the files, each streamed through the same checks as a signed upload. All or nothing: \
             the files are stored only once every file has passed and the middleware has agreed.\n\n{}",
            route_description(r)
        )))
        .request_body(Some(
            RequestBodyBuilder::new().required(Some(Required::True)).content("multipart/form-data", content).build(),
        ))
        .response("200", ok("Every stored file.", r.multipart_response.clone()))
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "the body is not well-formed multipart, or `input` comes after a file"),
                (ErrorCode::InvalidInput, "`input` is not JSON, does not match the route's input or fails its validation; `data.fields` has the errors per field"),
                (ErrorCode::TooManyFiles, "more files than the route allows (per type or in total)"),
                (ErrorCode::TooFewFiles, "fewer files than the route requires"),
            ]),
        );
    for (status, response) in middleware_refusals() {
        op = op.response(status, response);
    }
    op.response(
        "413",
        error(&[(ErrorCode::TooLarge, "a file is larger than its type allows, the files together than the route allows, or `input` is too large")]),
    )
    .response(
        "415",
        error(&[(ErrorCode::UnsupportedType, "a file's declared or sniffed type is not one the route accepts, or its bytes contradict its declared type")]),
    )
    .response(
        "500",
        error(&[
            (ErrorCode::CompletionFailed, "the files were stored but the completion hook failed (routes that await the server data); `data.files` has every file's state"),
            INTERNAL,
        ]),
    )
    .response("default", other_refusal())
    .build()
}

/// `anyOf` the routes' upload results (or the generic one for an app with no route).
fn any_upload_result(routes: &[RouteSchemas]) -> Value {
    match routes {
        [] => reference("UploadResult"),
        [one] => one.upload_result.clone(),
        many => {
            json!({ "anyOf": many.iter().map(|r| r.upload_result.clone()).collect::<Vec<_>>() })
        }
    }
}

/// What an upload URL's `PUT` and its completion share: the key, the signed query, and the
/// refusals of a URL that is not (or no longer) good.
fn signed_upload_url(op: OperationBuilder) -> OperationBuilder {
    op.parameter(path_key("The file's storage key, from the prepare call."))
        .parameter(query("expires", true, json!({ "type": "integer", "format": "int64" }), "Unix time (seconds) after which the URL is refused."))
        .parameter(query("size", true, json!({ "type": "integer", "format": "int64", "minimum": 0 }), "The prepared size, in bytes: exactly the size of the file."))
        .parameter(query("type", true, json!({ "type": "string" }), "The prepared MIME type; a `Content-Type` header, if sent, must be the same."))
        .parameter(query("sha256", false, json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }), "The declared SHA-256 of the file, if the prepare call declared one."))
        .security(SecurityRequirement::new("uploadSignature", Vec::<String>::new()))
        .response(
            "403",
            error(&[(ErrorCode::SignatureInvalid, "the URL is not signed, its signature does not match, or it does not match the prepared upload")]),
        )
        .response("404", error(&[(ErrorCode::NotFound, "no upload was prepared under this key")]))
        .response("410", error(&[(ErrorCode::Expired, "the URL has expired")]))
}

fn upload(routes: &[RouteSchemas]) -> utoipa::openapi::path::Operation {
    let content = ContentBuilder::new()
        .schema(Some(raw(
            json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
        )))
        .build();
    signed_upload_url(OperationBuilder::new())
        .operation_id(Some("uploadFile"))
        .tag("protocol")
        .summary(Some("Upload one prepared file's bytes to its signed URL"))
        .description(Some(
            "Use the `uploadUrl` and `headers` the prepare call answered with, once, before \
             `expiresAt`. The body is streamed: its size is enforced as it arrives, its first bytes \
             are sniffed for the real type, its SHA-256 (and the declared one, if any) checked. \
             On a route that awaits the server data the answer comes once the completion hook has \
             answered; otherwise at once, with the server data at the status URL later.",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("The file's bytes, exactly `size` of them."))
                .required(Some(Required::True))
                .content("*/*", content)
                .build(),
        ))
        .response("200", ok("The stored file and, on a route that awaits it, the server data.", any_upload_result(routes)))
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "a malformed query string"),
                (ErrorCode::SizeMismatch, "the body ended before `size` bytes"),
                (ErrorCode::ChecksumMismatch, "the bytes do not match the declared `sha256`"),
            ]),
        )
        .response("409", error(&[(ErrorCode::Conflict, "the URL has already been used")]))
        .response("413", error(&[(ErrorCode::TooLarge, "the body is larger than `size`")]))
        .response(
            "415",
            error(&[(ErrorCode::UnsupportedType, "the `Content-Type` is not the prepared type, or the bytes contradict it")]),
        )
        .response(
            "500",
            error(&[(ErrorCode::CompletionFailed, "the file was stored but the completion hook failed (routes that await the server data)"), INTERNAL]),
        )
        .response("default", other_refusal())
        .build()
}

fn complete_direct(routes: &[RouteSchemas]) -> utoipa::openapi::path::Operation {
    signed_upload_url(OperationBuilder::new())
        .operation_id(Some("completeDirectUpload"))
        .tag("protocol")
        .summary(Some("Complete a file whose bytes went straight to the storage bucket"))
        .description(Some(
            "When prepare answered with a `completeUrl`, the `uploadUrl` is the bucket's own              presigned `PUT` (it binds the type, the exact size and the SHA-256). Once that `PUT`              succeeded, `POST` the `completeUrl`: the server checks what arrived (size, the              checksum the bucket verified, the real type sniffed from the first bytes, the              route's rules), runs the completion hook and answers as the upload URL does. A              refused file is removed from the bucket. Called before the bytes arrived, it answers              409 and the URL stays usable. The `completeUrl` of a `multipart` plan is this              same endpoint: it checks that every part arrived (else 409 with `data.missing`, the              URL still usable), each of its planned size, joins them, and reads the object back              once for its SHA-256 (which the bucket does not verify for a file in parts), CRC32 and              type.",
        ))
        .response("200", ok("The stored file and, on a route that awaits it, the server data.", any_upload_result(routes)))
        .response(
            "400",
            error(&[
                (ErrorCode::BadRequest, "a malformed query string"),
                (ErrorCode::SizeMismatch, "the object in the bucket is not `size` bytes long"),
                (ErrorCode::ChecksumMismatch, "the object does not match the declared `sha256`"),
            ]),
        )
        .response(
            "409",
            error(&[(ErrorCode::Conflict, "the bytes have not arrived in the bucket yet, the upload was not prepared for the bucket, or it was already completed")]),
        )
        .response(
            "415",
            error(&[(ErrorCode::UnsupportedType, "the bytes contradict the prepared type, or the route does not take their real type")]),
        )
        .response(
            "500",
            error(&[(ErrorCode::CompletionFailed, "the file was stored but the completion hook failed (routes that await the server data)"), INTERNAL]),
        )
        .response("default", other_refusal())
        .build()
}

fn direct_parts() -> utoipa::openapi::path::Operation {
    signed_upload_url(OperationBuilder::new())
        .operation_id(Some("directUploadParts"))
        .tag("protocol")
        .summary(Some("More part URLs of a large file sent straight to the bucket, and the parts it has"))
        .description(Some(
            "When prepare answered with a `multipart` plan, its `partsUrl` signs the URLs of up to \
             100 more parts from `first`, and lists the parts the bucket already holds (to resume \
             after a reload: send only the others).",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_content(reference("PartsRequest")))
                .build(),
        ))
        .response("200", ok("Part URLs and the parts the bucket holds.", reference("PartsResponse")))
        .response("400", error(&[(ErrorCode::BadRequest, "a malformed query string or body, or parts outside the plan (`data.partCount`, `data.maxCount`)")]))
        .response(
            "409",
            error(&[(ErrorCode::Conflict, "the upload was not prepared in parts, or was completed or cancelled")]),
        )
        .response("500", error(&[INTERNAL]))
        .response("default", other_refusal())
        .build()
}

fn direct_abort(routes: &[RouteSchemas]) -> utoipa::openapi::path::Operation {
    signed_upload_url(OperationBuilder::new())
        .operation_id(Some("abortDirectUpload"))
        .tag("protocol")
        .summary(Some(
            "Cancel a large file sent straight to the bucket in parts",
        ))
        .description(Some(
            "The `abortUrl` of a `multipart` plan: the bucket drops the parts, the upload is \
             recorded as failed with `CANCELLED` (the route's `on_upload_error` hears of it) and \
             its URLs are spent. Answers the upload's status.",
        ))
        .response(
            "200",
            ok(
                "The cancelled upload (`failed`, error `CANCELLED`).",
                any_upload_result(routes),
            ),
        )
        .response(
            "400",
            error(&[(ErrorCode::BadRequest, "a malformed query string")]),
        )
        .response(
            "409",
            error(&[(
                ErrorCode::Conflict,
                "the upload was not prepared in parts, or was already completed or cancelled",
            )]),
        )
        .response("500", error(&[INTERNAL]))
        .response("default", other_refusal())
        .build()
}

fn status(routes: &[RouteSchemas]) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some("getUploadStatus"))
        .tag("protocol")
        .summary(Some("The status and server data of an upload"))
        .description(Some(
            "For polling and reconnects: where the upload stands, the stored file once it is, the \
             server data once the completion hook has answered, or why it failed. Use the \
             `statusUrl` the upload was answered with (prepare, upload, multipart, or tus's \
             `Uplift-Status-Url`): its `token` proves the caller is the uploader. A private \
             file's status needs it; without it (or with a wrong one) the answer is the same 404 \
             as for a key that does not exist. A `public-read` file's status is readable by its \
             key alone (its download URL is public anyway); a token is accepted for it too. \
             When the app manages files over HTTP, a request its access function lets manage \
             the file needs no token.",
        ))
        .parameter(path_key("The file's storage key."))
        .parameter(query(
            "token",
            false,
            json!({ "type": "string" }),
            "The upload's status token, as found in its `statusUrl`: required for a private file.",
        ))
        .response("200", ok("The upload.", any_upload_result(routes)))
        .response(
            "404",
            error(&[(
                ErrorCode::NotFound,
                "no upload has this key, or it is private and `token` is missing or not its token \
                 (the two answers are the same)",
            )]),
        )
        .response("500", error(&[INTERNAL]))
        .build()
}

/// The `200` and `206` answers of a served file or object (`what`), with its bytes unless `head`.
fn served_bytes(head: bool, what: &str) -> (utoipa::openapi::Response, utoipa::openapi::Response) {
    let bytes = || {
        ContentBuilder::new()
            .schema(Some(raw(
                json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
            )))
            .build()
    };
    let h = || HeaderBuilder::new().schema(Some(string_schema(""))).build();
    let mut full = ResponseBuilder::new()
        .description(format!(
            "The {what}, with its stored type and `Content-Disposition`."
        ))
        .header("ETag", h())
        .header("Accept-Ranges", h())
        .header("Content-Disposition", h());
    let mut partial = ResponseBuilder::new()
        .description("The requested byte range.")
        .header("Content-Range", h());
    if !head {
        full = full.content("*/*", bytes());
        partial = partial.content("*/*", bytes());
    }
    (full.build(), partial.build())
}

fn download(head: bool) -> utoipa::openapi::path::Operation {
    let (full, partial) = served_bytes(head, "file");
    let (id, summary) = if head {
        ("headFile", "The headers of a stored file")
    } else {
        ("downloadFile", "A stored file")
    };
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag("protocol")
        .summary(Some(summary))
        .description(Some(
            "A public file at its permanent URL; a private one at a signed, expiring URL (as in the \
             file's `url`). Only completed uploads are served. Served with \
             `Content-Security-Policy: sandbox` and `X-Content-Type-Options: nosniff`; active \
             content (HTML, SVG, XML, JavaScript) always as an attachment.",
        ))
        .parameter(path_key("The file's storage key."))
        .parameter(query("expires", false, json!({ "type": "integer", "format": "int64" }), "Private files: Unix time (seconds) after which the URL is refused."))
        .parameter(header("Range", json!({ "type": "string" }), "A byte range, e.g. `bytes=0-1023`."))
        .parameter(header("If-None-Match", json!({ "type": "string" }), "An `ETag` the client has."))
        .securities(Some([SecurityRequirement::default(), SecurityRequirement::new("downloadSignature", Vec::<String>::new())]))
        .response("200", full)
        .response("206", partial)
        .response("304", ResponseBuilder::new().description("Not modified (`If-None-Match`).").build())
        .response("400", error(&[(ErrorCode::BadRequest, "a malformed query string (say, an `expires` that is not a 64-bit integer)")]))
        .response("403", error(&[(ErrorCode::SignatureInvalid, "the file is private and the URL is not signed, or its signature does not match")]))
        .response("404", error(&[(ErrorCode::NotFound, "no completed upload has this key")]))
        .response("410", error(&[(ErrorCode::Expired, "the signed URL has expired")]))
        .response("416", error(&[(ErrorCode::RangeNotSatisfiable, "the range cannot be served; `Content-Range: bytes */{size}` gives the size")]))
        .response("500", error(&[INTERNAL]))
        .build()
}

fn openapi_document() -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some("getOpenApiDocument"))
        .tag("protocol")
        .summary(Some("This OpenAPI document"))
        .response(
            "200",
            ok(
                "The OpenAPI 3.1 document of this app's upload endpoints.",
                json!({ "type": "object" }),
            ),
        )
        .build()
}

fn docs_redirect() -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some("getDocsRedirect"))
        .tag("protocol")
        .summary(Some("The docs UI (redirects to docs/)"))
        .response(
            "308",
            ResponseBuilder::new()
                .description("To the docs UI at `docs/`.")
                .header(
                    "Location",
                    HeaderBuilder::new()
                        .schema(Some(string_schema("`docs/`")))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn docs_page() -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some("getDocs"))
        .tag("protocol")
        .summary(Some("The docs UI"))
        .description(Some("Swagger UI for this document, served by the app itself: it loads nothing from elsewhere."))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The page.")
                .content("text/html", ContentBuilder::new().schema(Some(raw(json!({ "type": "string" })))).build())
                .build(),
        )
        .build()
}

/// `schemars::JsonSchema` for a wire DTO, from its `utoipa::ToSchema` (one source): so an app's
/// own types may contain protocol types (say, server data holding an `UploadedFile`).
fn json_schema_from_utoipa<T: ToSchema>(generator: &mut SchemaGenerator) -> schemars::Schema {
    let prefix = format!(
        "#{}/",
        generator
            .settings()
            .definitions_path
            .trim_start_matches('#')
            .trim_end_matches('/')
    );
    let rewrite = |schema: RefOr<Schema>| {
        let mut v = serde_json::to_value(schema).expect("a schema serializes");
        retarget_refs(&mut v, &prefix);
        v
    };
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    for (name, schema) in deps {
        if !generator.definitions().contains_key(&name) {
            let v = rewrite(schema);
            generator.definitions_mut().insert(name, v);
        }
    }
    schemars::Schema::try_from(rewrite(T::schema())).expect("a ToSchema schema is a JSON object")
}

fn retarget_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if let Some(name) = r.strip_prefix(COMPONENTS) {
                    *r = format!("{prefix}{name}");
                }
            }
            map.values_mut().for_each(|v| retarget_refs(v, prefix));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget_refs(v, prefix)),
        _ => {}
    }
}

macro_rules! json_schema_via_utoipa {
    ($($ty:ty),* $(,)?) => {$(
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$ty as ToSchema>::name()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("uplift::", stringify!($ty)).into()
            }
            fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
                json_schema_from_utoipa::<$ty>(generator)
            }
        }
    )*};
}

json_schema_via_utoipa!(
    UploadedFile,
    UploadResult,
    UploadStatus,
    Acl,
    ContentDisposition,
    ErrorBody,
    ErrorCode,
    ErrorResponse,
    FileDeclaration,
    FileTypeConfig,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_schemas_serialize_verbatim() {
        let schema = json!({ "type": "object", "properties": { "kind": { "const": "video" } }, "required": ["kind"] });
        assert_eq!(serde_json::to_value(raw(schema.clone())).unwrap(), schema);
        assert_eq!(
            serde_json::to_value(raw(json!({ "$ref": "#/components/schemas/X" }))).unwrap(),
            json!({ "$ref": "#/components/schemas/X" })
        );
        assert_eq!(serde_json::to_value(raw(json!(true))).unwrap(), json!({}));
    }

    #[test]
    fn protocol_types_embedded_in_app_types_point_at_the_protocol_components() {
        let mut generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| s.definitions_path = "/components/schemas".into())
            .into_generator();
        let schema = generator.subschema_for::<Vec<UploadedFile>>().to_value();
        assert_eq!(
            schema,
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/UploadedFile" } })
        );
        let protocol = Schemas::with_protocol();
        for (name, def) in generator.definitions() {
            assert_eq!(Some(def), protocol.0.get(name), "{name}");
        }
        // Standalone, the references stay inside the schema.
        let standalone =
            super::super::TypeDescriptor::of::<UploadedFile>().standalone_json_schema();
        assert_eq!(
            standalone["properties"]["acl"]["$ref"], "#/$defs/Acl",
            "{standalone}"
        );
        assert!(standalone["$defs"]["Acl"].is_object(), "{standalone}");
    }

    #[test]
    fn a_name_taken_by_another_schema_gets_a_suffix() {
        let mut schemas = Schemas::with_protocol();
        let mut defs = serde_json::Map::new();
        defs.insert("UploadedFile".into(), json!({ "type": "string" }));
        defs.insert(
            "Mine".into(),
            json!({ "items": { "$ref": "#/components/schemas/UploadedFile" } }),
        );
        let mut used = json!({ "$ref": "#/components/schemas/UploadedFile" });
        schemas.merge(defs, &mut [&mut used]);
        assert_eq!(
            used,
            json!({ "$ref": "#/components/schemas/UploadedFile2" })
        );
        assert_eq!(schemas.0["UploadedFile2"], json!({ "type": "string" }));
        assert_eq!(
            schemas.0["Mine"]["items"]["$ref"],
            "#/components/schemas/UploadedFile2"
        );
        assert_ne!(schemas.0["UploadedFile"], json!({ "type": "string" }));
    }
}
