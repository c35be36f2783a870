//! `GET {base}` and `POST {base}/{slug}` over real HTTP: the route config clients read, every
//! refusal of the prepare step (input, files against the route, middleware) in its documented
//! order, what the middleware may change, and how client file names are kept away from storage.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;
use uplift::{HttpRequest, PendingFiles, UploadError, UploadedFile};
use validator::Validate;

use common::fixtures;
use common::http::{client, decl, put, Resp};
use common::TestServer;

const KB: usize = 1024;
const MB: usize = 1024 * 1024;

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct PostInput {
    #[validate(length(min = 1, max = 10))]
    pub caption: String,
    #[validate(range(min = 1, max = 5))]
    pub rating: u32,
    #[validate(email)]
    pub email: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {
    pub who: String,
}

async fn done(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "who": meta.who, "name": file.name, "customId": file.custom_id }))
}

/// Up to four 2 MB images, one 1.5 KB video, two or three PDFs; five files and 3 MB in all.
#[uplift::file_route(
    image(max_file_size = "2MB", max_file_count = 4),
    video(max_file_size = "1.5KB"),
    pdf(min_file_count = 2, max_file_count = 3),
    max_total_file_count = 5,
    max_total_size = "3MB",
    on_upload_complete = done
)]
async fn media_post(req: HttpRequest, input: PostInput) -> Result<Meta, UploadError> {
    match req.headers().get("x-refuse").and_then(|v| v.to_str().ok()) {
        Some("forbidden") => Err(UploadError::forbidden("this album is not yours")),
        Some("pay") => Err(UploadError::with_status(
            StatusCode::PAYMENT_REQUIRED,
            "upgrade your plan",
        )),
        _ => Ok(Meta { who: input.caption }),
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct OrderInput {
    #[validate(length(min = 3))]
    pub name: String,
}

/// How often `ordered`'s middleware ran; only `prepare_checks_run_in_order` uses that route.
static ORDERED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[uplift::file_route(text(max_file_size = "1KB"), on_upload_complete = done)]
async fn ordered(input: OrderInput) -> Result<Meta, UploadError> {
    ORDERED_RUNS.fetch_add(1, Ordering::SeqCst);
    Err(UploadError::forbidden(format!(
        "{} may not upload",
        input.name
    )))
}

/// Renames every file (with a path in front, which must not survive) and tags it.
#[uplift::file_route(text(max_file_count = 3), await_server_data = true, on_upload_complete = done)]
async fn renamer(files: &mut PendingFiles, req: HttpRequest) -> Result<Meta, UploadError> {
    for (i, f) in files.iter_mut().enumerate() {
        let name = format!("../../doc-{i}-{}", f.name());
        f.rename(name);
        f.set_custom_id(format!("cid-{i}"));
    }
    Ok(Meta {
        who: req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anon")
            .into(),
    })
}

#[uplift::file_route(
    blob(max_file_count = 50),
    mime("application/json", max_file_size = "10KB", acl = "private", content_disposition = "attachment"),
    audio,
    slug = "bulk",
    on_upload_complete = done
)]
async fn many_files() -> Result<Meta, UploadError> {
    Ok(Meta { who: "bulk".into() })
}

fn server() -> TestServer {
    TestServer::start(uplift::router![media_post, ordered, renamer, many_files])
}

fn good_input() -> Value {
    json!({ "caption": "holiday", "rating": 3, "email": "ann@example.com" })
}

async fn prepare_media(srv: &TestServer, c: &reqwest::Client, files: Value) -> Resp {
    srv.prepare(c, "mediaPost", files, good_input()).await
}

/// A refused preparation leaves no record, no file, no staged write.
async fn assert_untouched(srv: &TestServer) {
    srv.assert_nothing_stored().await;
    assert_eq!(
        srv.record_count().await,
        0,
        "a refused preparation created records"
    );
}

#[tokio::test]
async fn route_config_endpoint_describes_every_route() {
    let srv = server();
    let c = client();
    let r = Resp::read(c.get(&srv.base).send().await.unwrap()).await;
    let mut body = r.ok();
    // The input schemas are checked in `route_config_endpoint_has_each_routes_input_schema`.
    for route in body["routes"].as_array_mut().expect("routes array") {
        route
            .as_object_mut()
            .unwrap()
            .remove("inputSchema")
            .expect("an inputSchema");
    }
    let routes = body["routes"].as_array().expect("routes array");
    let slugs: Vec<&str> = routes.iter().map(|r| r["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["mediaPost", "ordered", "renamer", "bulk"]);

    let type_rule = |ty: &str, mime: &str, size: usize, max: u32, min: u32, cd: &str, acl: &str| {
        json!({
            "type": ty, "mime": mime, "maxFileSize": size, "maxFileCount": max, "minFileCount": min,
            "contentDisposition": cd, "acl": acl,
        })
    };
    assert_eq!(
        routes[0],
        json!({
            "slug": "mediaPost",
            "types": [
                type_rule("image", "image/*", 2 * MB, 4, 1, "inline", "public-read"),
                type_rule("video", "video/*", 1536, 1, 1, "inline", "public-read"),
                type_rule("pdf", "application/pdf", 4 * MB, 3, 2, "inline", "public-read"),
            ],
            "awaitServerData": false,
            "maxTotalFileCount": 5,
            "maxTotalSize": 3 * MB,
        })
    );
    assert_eq!(
        routes[1],
        json!({
            "slug": "ordered",
            "types": [type_rule("text", "text/*", KB, 1, 1, "inline", "public-read")],
            "awaitServerData": false,
            "maxTotalFileCount": null,
            "maxTotalSize": null,
        })
    );
    assert_eq!(routes[2]["awaitServerData"], true);
    assert_eq!(
        routes[2]["types"][0],
        type_rule("text", "text/*", 64 * KB, 3, 1, "inline", "public-read")
    );
    assert_eq!(
        routes[3]["types"],
        json!([
            type_rule("blob", "*/*", 8 * MB, 50, 1, "inline", "public-read"),
            type_rule(
                "application/json",
                "application/json",
                10 * KB,
                1,
                1,
                "attachment",
                "private"
            ),
            type_rule("audio", "audio/*", 8 * MB, 1, 1, "inline", "public-read"),
        ])
    );
}

/// Each route's input as a JSON Schema, with the `#[validate]` constraints, so a client can
/// check the input before sending anything.
#[tokio::test]
async fn route_config_endpoint_has_each_routes_input_schema() {
    let srv = server();
    let body = Resp::read(client().get(&srv.base).send().await.unwrap())
        .await
        .ok();
    let schema = |i: usize| body["routes"][i]["inputSchema"].clone();

    let media = schema(0);
    assert_eq!(
        media["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(media["title"], "PostInput");
    assert_eq!(media["type"], "object");
    assert_eq!(media["required"], json!(["caption", "rating", "email"]));
    let props = &media["properties"];
    assert_eq!(
        props["caption"],
        json!({ "type": "string", "minLength": 1, "maxLength": 10 })
    );
    assert_eq!(props["rating"]["minimum"], 1);
    assert_eq!(props["rating"]["maximum"], 5);
    assert_eq!(
        props["email"],
        json!({ "type": "string", "format": "email" })
    );

    assert_eq!(
        schema(1)["properties"]["name"],
        json!({ "type": "string", "minLength": 3 })
    );
    // No input: `null` or `{}`.
    for i in [2, 3] {
        assert_eq!(
            schema(i)["type"],
            json!(["object", "null"]),
            "{}",
            schema(i)
        );
        assert_eq!(schema(i)["additionalProperties"], false);
    }
}

#[tokio::test]
async fn invalid_input_fields_are_reported_per_field() {
    let srv = server();
    let c = client();
    let files = json!([decl("a.png", 10, "image/png")]);

    let r = srv
        .prepare(
            &c,
            "mediaPost",
            files.clone(),
            json!({ "caption": "", "rating": 9, "email": "nope" }),
        )
        .await;
    let err = r.error(400, "INVALID_INPUT");
    let fields = &err["data"]["fields"];
    assert_eq!(fields["caption"][0]["code"], "length", "{err}");
    assert_eq!(fields["rating"][0]["code"], "range", "{err}");
    assert_eq!(fields["email"][0]["code"], "email", "{err}");
    assert_eq!(
        fields.as_object().unwrap().len(),
        3,
        "only the bad fields are listed: {err}"
    );

    // One bad field: only that one is listed.
    let r = srv
        .prepare(
            &c,
            "mediaPost",
            files.clone(),
            json!({ "caption": "this is far too long", "rating": 2, "email": "a@b.co" }),
        )
        .await;
    let err = r.error(400, "INVALID_INPUT");
    assert_eq!(
        err["data"]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["caption"],
        "{err}"
    );

    // Wrong JSON types and missing input are input errors too, not generic bad requests.
    for input in [
        json!({ "caption": "ok", "rating": "three", "email": "a@b.co" }),
        json!({ "caption": 5, "rating": 1, "email": "a@b.co" }),
        json!("just a string"),
        Value::Null,
    ] {
        let r = srv
            .prepare(&c, "mediaPost", files.clone(), input.clone())
            .await;
        r.error(400, "INVALID_INPUT");
    }
    assert_untouched(&srv).await;

    // The same request with a valid input is accepted.
    prepare_media(&srv, &c, files).await.ok();
}

#[tokio::test]
async fn files_are_checked_against_the_route() {
    let srv = server();
    let c = client();
    let png = |n: usize| decl("p.png", n, "image/png");
    let pdf = |n: usize| decl("d.pdf", n, "application/pdf");

    // A type the route does not take; a string that is no MIME type at all.
    let err = prepare_media(&srv, &c, json!([decl("song.mp3", 10, "audio/mpeg")]))
        .await
        .error(415, "UNSUPPORTED_TYPE");
    // The file is named by its index: neither its name nor its type is echoed.
    assert_eq!(err["data"]["index"], 0);
    assert!(err["data"].get("type").is_none(), "{err}");
    assert_eq!(
        err["data"]["accepted"],
        json!(["image/*", "video/*", "application/pdf"])
    );
    prepare_media(&srv, &c, json!([decl("x", 10, "not a mime")]))
        .await
        .error(415, "UNSUPPORTED_TYPE");

    // Declared sizes over the type's limit; the video limit proves "1.5KB" = 1536 bytes.
    let err = prepare_media(&srv, &c, json!([png(2 * MB + 1)]))
        .await
        .error(413, "TOO_LARGE");
    assert_eq!(err["data"]["limit"], 2 * MB);
    prepare_media(&srv, &c, json!([decl("v.mp4", 1537, "video/mp4")]))
        .await
        .error(413, "TOO_LARGE");

    // Per type: at most 4 images, at least 2 PDFs when PDFs are sent.
    let err = prepare_media(&srv, &c, json!([png(1), png(1), png(1), png(1), png(1)]))
        .await
        .error(400, "TOO_MANY_FILES");
    assert_eq!(
        (err["data"]["type"].clone(), err["data"]["max"].clone()),
        (json!("image"), json!(4))
    );
    let err = prepare_media(&srv, &c, json!([pdf(10)]))
        .await
        .error(400, "TOO_FEW_FILES");
    assert_eq!(
        (err["data"]["type"].clone(), err["data"]["min"].clone()),
        (json!("pdf"), json!(2))
    );
    prepare_media(
        &srv,
        &c,
        json!([
            decl("v1.mp4", 10, "video/mp4"),
            decl("v2.mp4", 10, "video/mp4")
        ]),
    )
    .await
    .error(400, "TOO_MANY_FILES");

    // Route-wide: 4 images + 2 PDFs pass per type but exceed five files in all.
    let err = prepare_media(
        &srv,
        &c,
        json!([png(1), png(1), png(1), png(1), pdf(1), pdf(1)]),
    )
    .await
    .error(400, "TOO_MANY_FILES");
    assert_eq!(err["data"]["max"], 5);
    // Route-wide: two 2 MB images pass per file but exceed 3 MB together.
    let err = prepare_media(&srv, &c, json!([png(2 * MB), png(2 * MB)]))
        .await
        .error(413, "TOO_LARGE");
    assert_eq!(err["data"]["limit"], 3 * MB);

    // No files at all.
    prepare_media(&srv, &c, json!([]))
        .await
        .error(400, "TOO_FEW_FILES");
    assert_untouched(&srv).await;

    // At the limits exactly, everything passes.
    let ok = prepare_media(
        &srv,
        &c,
        json!([
            png(MB),
            png(MB),
            pdf(MB / 2),
            pdf(MB / 2 - 1536),
            decl("v.mp4", 1536, "video/mp4")
        ]),
    )
    .await
    .ok();
    assert_eq!(ok["files"].as_array().unwrap().len(), 5);
    assert_eq!(srv.record_count().await, 5);
}

#[tokio::test]
async fn unknown_routes_and_malformed_requests_are_refused() {
    let srv = server();
    let c = client();
    srv.prepare(
        &c,
        "noSuchRoute",
        json!([decl("a.png", 1, "image/png")]),
        Value::Null,
    )
    .await
    .error(404, "NOT_FOUND");
    srv.prepare_raw(&c, "mediaPost", &json!({ "nofiles": true }), &[])
        .await
        .error(400, "BAD_REQUEST");
    let r = Resp::read(
        c.post(srv.url("/mediaPost"))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(400, "BAD_REQUEST");
    let r = Resp::read(
        c.post(srv.url("/mediaPost"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(400, "BAD_REQUEST");
    let bad_sha = json!([{ "name": "a.png", "size": 1, "type": "image/png", "sha256": "xyz" }]);
    prepare_media(&srv, &c, bad_sha)
        .await
        .error(400, "BAD_REQUEST");
    // Whatever the route allows, one request announces at most 100 files.
    let files: Vec<Value> = (0..101)
        .map(|i| decl(&format!("{i}.txt"), 1, "text/plain"))
        .collect();
    let err = srv
        .prepare(&c, "bulk", Value::Array(files), Value::Null)
        .await
        .error(400, "TOO_MANY_FILES");
    assert_eq!(err["data"]["max"], 100);
    let r = Resp::read(c.get(srv.url("/no/such/endpoint")).send().await.unwrap()).await;
    r.error(404, "NOT_FOUND");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn middleware_can_refuse_with_a_code_or_a_status() {
    let srv = server();
    let c = client();
    let body = json!({ "files": [decl("a.png", 10, "image/png")], "input": good_input() });

    let r = srv
        .prepare_raw(&c, "mediaPost", &body, &[("x-refuse", "forbidden")])
        .await;
    let err = r.error(403, "FORBIDDEN");
    assert_eq!(err["message"], "this album is not yours");

    let r = srv
        .prepare_raw(&c, "mediaPost", &body, &[("x-refuse", "pay")])
        .await;
    // The status is the middleware's own; the code is the closest stable one (4xx → BAD_REQUEST).
    let err = r.error(402, "BAD_REQUEST");
    assert_eq!(err["message"], "upgrade your plan");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn prepare_checks_run_in_order_input_then_files_then_middleware() {
    let srv = server();
    let c = client();
    let runs = || ORDERED_RUNS.load(Ordering::SeqCst);
    let bad_file = json!([decl("big.png", 10 * MB, "image/png")]);
    let good_file = json!([decl("a.txt", 10, "text/plain")]);

    // Bad input, bad file (and a middleware that would refuse): the input error wins.
    srv.prepare(&c, "ordered", bad_file.clone(), json!({ "name": "x" }))
        .await
        .error(400, "INVALID_INPUT");
    // Good input, bad files: the file errors win over the middleware, which never ran.
    srv.prepare(&c, "ordered", bad_file, json!({ "name": "ann" }))
        .await
        .error(415, "UNSUPPORTED_TYPE");
    srv.prepare(
        &c,
        "ordered",
        json!([decl("big.txt", 2 * KB, "text/plain")]),
        json!({ "name": "ann" }),
    )
    .await
    .error(413, "TOO_LARGE");
    srv.prepare(
        &c,
        "ordered",
        json!([
            decl("a.txt", 1, "text/plain"),
            decl("b.txt", 1, "text/plain")
        ]),
        json!({ "name": "ann" }),
    )
    .await
    .error(400, "TOO_MANY_FILES");
    assert_eq!(
        runs(),
        0,
        "the middleware ran although the request was already refused"
    );

    // Only a request that passes both reaches the middleware.
    let err = srv
        .prepare(&c, "ordered", good_file, json!({ "name": "ann" }))
        .await
        .error(403, "FORBIDDEN");
    assert_eq!(err["message"], "ann may not upload");
    assert_eq!(runs(), 1);
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn middleware_renames_files_and_sets_custom_ids_everywhere() {
    let srv = server();
    let c = client();
    let files = json!([
        decl("a.txt", 5, "text/plain"),
        decl("b.txt", 6, "text/plain")
    ]);
    let r = srv
        .prepare_raw(
            &c,
            "renamer",
            &json!({ "files": files }),
            &[("x-user", "ann")],
        )
        .await;
    let prepared = r.ok();
    assert_eq!(prepared["awaitServerData"], true);
    let f0 = &prepared["files"][0];
    assert_eq!(
        (f0["name"].clone(), f0["customId"].clone()),
        (json!("doc-0-a.txt"), json!("cid-0"))
    );
    assert_eq!(
        (
            prepared["files"][1]["name"].clone(),
            prepared["files"][1]["customId"].clone()
        ),
        (json!("doc-1-b.txt"), json!("cid-1"))
    );

    let key = f0["key"].as_str().unwrap();
    let done = put(
        &c,
        f0["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        b"hello".to_vec(),
    )
    .await
    .ok();
    // The completion hook saw the new name and the custom id, and so does the client.
    assert_eq!(
        done["serverData"],
        json!({ "who": "ann", "name": "doc-0-a.txt", "customId": "cid-0" })
    );
    assert_eq!(
        (
            done["file"]["name"].clone(),
            done["file"]["customId"].clone()
        ),
        (json!("doc-0-a.txt"), json!("cid-0"))
    );
    let status = srv.status(&c, key).await;
    assert_eq!(status["status"], "complete");
    assert_eq!(
        (
            status["file"]["name"].clone(),
            status["file"]["customId"].clone()
        ),
        (json!("doc-0-a.txt"), json!("cid-0"))
    );
    assert_eq!(status["serverData"]["customId"], "cid-0");

    let dl = Resp::read(
        c.get(done["file"]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(dl.status, 200);
    assert_eq!(
        dl.header("content-disposition").unwrap(),
        "inline; filename=\"doc-0-a.txt\""
    );
    assert_eq!(
        srv.stored_files(),
        vec![key.to_string()],
        "the storage key, not the name, names the file"
    );
}

fn is_key(k: &str) -> bool {
    // ≥ 22 base64url characters carry ≥ 132 random bits.
    k.len() >= 22
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[tokio::test]
async fn names_are_sanitized_and_never_reach_storage_keys() {
    let srv = server();
    let c = client();
    let hostile = [
        ("../../etc/passwd", "passwd"),
        ("a\r\nb.txt", "ab.txt"),
        ("a\0b.txt", "ab.txt"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("\u{7}\u{1b}", "file"),
        ("..", "file"),
        ("say \"hi\".txt", "say hi.txt"),
    ];
    let mut files: Vec<Value> = hostile
        .iter()
        .map(|(n, _)| decl(n, 4, "text/plain"))
        .collect();
    files.extend((files.len()..50).map(|i| decl(&format!("f{i}.txt"), 4, "text/plain")));
    let prepared = srv
        .prepare(&c, "bulk", Value::Array(files), Value::Null)
        .await
        .ok();
    let prepared = prepared["files"].as_array().unwrap().clone();
    assert_eq!(prepared.len(), 50);
    for (p, (_, want)) in prepared.iter().zip(hostile) {
        assert_eq!(p["name"], want);
    }

    // A second request: keys stay unique across requests too.
    let again = srv
        .prepare(
            &c,
            "bulk",
            json!([decl("../../etc/passwd", 4, "text/plain")]),
            Value::Null,
        )
        .await
        .ok();
    let mut keys = HashSet::new();
    for p in prepared.iter().chain(again["files"].as_array().unwrap()) {
        let key = p["key"].as_str().unwrap();
        assert!(is_key(key), "key `{key}` is not ≥128-bit base64url");
        assert!(
            !key.contains("passwd") && !key.contains('.'),
            "key `{key}` carries the name"
        );
        let url = p["uploadUrl"].as_str().unwrap();
        assert!(
            url.starts_with(&srv.url(&format!("/upload/{key}?"))),
            "{url}"
        );
        assert!(
            // Not `etc` alone: a random key or signature may hold those three letters.
            !url.contains("passwd") && !url.contains("etc/") && !url.contains("etc%2F"),
            "the upload URL carries the name: {url}"
        );
        assert!(keys.insert(key.to_string()), "duplicate key {key}");
    }
    assert_eq!(keys.len(), 51);

    // Uploading the traversal file stores it under its key, inside the storage root, nowhere else.
    let p = &prepared[0];
    let key = p["key"].as_str().unwrap();
    put(
        &c,
        p["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        b"root".to_vec(),
    )
    .await
    .ok();
    srv.wait_status(&c, key, "complete").await;
    assert_eq!(srv.stored_files(), vec![key.to_string()]);
    let mut found = Vec::new();
    let mut dirs = vec![srv.data_dir.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            }
            found.push(name);
        }
    }
    assert!(
        !found.iter().any(|n| n.contains("passwd") || n == "etc"),
        "a file name reached the disk: {found:?}"
    );
    let dl = Resp::read(
        c.get(srv.url(&format!("/download/{key}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(dl.bytes, b"root");
    assert_eq!(
        dl.header("content-disposition").unwrap(),
        "inline; filename=\"passwd\""
    );
}

#[tokio::test]
async fn a_valid_preparation_returns_signed_urls_and_pending_records() {
    let srv = server();
    let c = client();
    let png = fixtures::png(100);
    let sha = fixtures::sha256_hex(&png);
    let files = json!([{ "name": "a.png", "size": 100, "type": "IMAGE/PNG", "lastModified": 1_700_000_000_000i64, "sha256": sha.to_uppercase() },
                       decl("d1.pdf", 10, "application/pdf"), decl("d2.pdf", 10, "application/pdf")]);
    let r = prepare_media(&srv, &c, files).await.ok();
    assert_eq!(
        (r["slug"].clone(), r["awaitServerData"].clone()),
        (json!("mediaPost"), json!(false))
    );
    let f = &r["files"][0];
    assert_eq!(f["type"], "image/png", "types are normalized");
    assert_eq!(
        (
            f["size"].clone(),
            f["method"].clone(),
            f["customId"].clone()
        ),
        (json!(100), json!("PUT"), Value::Null)
    );
    assert_eq!(f["headers"], json!({ "content-type": "image/png" }));
    let key = f["key"].as_str().unwrap();
    let status_url = format!("{}{}", srv.origin, srv.up.status_path(key));
    assert_eq!(f["statusUrl"], status_url.as_str());
    assert!(status_url.starts_with(&srv.url(&format!("/files/{key}?token="))));
    let url = f["uploadUrl"].as_str().unwrap();
    assert_eq!(
        common::http::query_param(url, "sha256"),
        sha,
        "the digest is signed into the URL, lowercased"
    );
    assert_eq!(common::http::query_param(url, "size"), "100");
    assert!(f["expiresAt"].as_i64().unwrap() > 0);

    let st = srv.status(&c, key).await;
    assert_eq!(
        st,
        json!({ "key": key, "status": "pending", "file": null, "serverData": null, "error": null, "statusUrl": status_url })
    );
    assert_eq!(srv.record_count().await, 3);
    srv.assert_nothing_stored().await;
    let r = Resp::read(
        c.get(srv.url("/files/doesNotExistAtAll000000000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn wrong_methods_get_a_405_in_the_error_envelope() {
    let srv = server();
    let c = client();
    let cases = [
        ("POST", "", "GET"),
        ("GET", "/mediaPost", "POST"),
        ("PUT", "/mediaPost", "POST"),
        ("GET", "/mediaPost/multipart", "POST"),
        ("GET", "/upload/someKey", "PUT"),
        ("POST", "/upload/someKey", "PUT"),
        ("DELETE", "/files/someKey", "GET"),
        ("PUT", "/download/someKey", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = c
            .request(method.parse().unwrap(), srv.url(path))
            .send()
            .await
            .unwrap();
        let r = Resp::read(r).await;
        r.error(405, "BAD_REQUEST");
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{method} {path}");
    }
    assert_untouched(&srv).await;
}
