//! tus 1.0 over real HTTP: every status of the protocol, the route pipeline at creation, the
//! capability, the lock, expiry, termination and concatenation.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha1::Digest as _;
use tokio::io::AsyncWriteExt;
use ts_rs::TS;
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};
use validator::Validate;

use common::fixtures;
use common::http::{assert_error, client, read_response, Resp, PATIENCE};
use common::{Options, TestServer};

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct NoteInput {
    #[validate(length(min = 1, max = 20))]
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

static HOOK_ERRORS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

async fn record_error(_meta: Option<Meta>, error: UploadError, key: String) {
    HOOK_ERRORS
        .lock()
        .unwrap()
        .push((key, error.code().as_str().into()));
}

async fn noted(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "user": meta.user, "sha256": file.sha256, "size": file.size, "name": file.name }))
}

fn user(req: &HttpRequest) -> Result<Meta, UploadError> {
    match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        None => Err(UploadError::unauthorized("sign in first")),
        Some("mallory") => Err(UploadError::forbidden("not you")),
        Some(u) => Ok(Meta { user: u.into() }),
    }
}

/// Text up to 64 KB with a titled input; the PATCH waits for the server data.
#[uplift::file_route(
    text(max_file_size = "64KB"),
    await_server_data = true,
    on_upload_complete = noted,
    on_upload_error = record_error
)]
async fn notes(req: HttpRequest, input: NoteInput) -> Result<Meta, UploadError> {
    let _ = input.title;
    user(&req)
}

/// Small images; the hook runs in the background.
#[uplift::file_route(image(max_file_size = "1KB"), on_upload_complete = noted, on_upload_error = record_error)]
async fn photo(req: HttpRequest) -> Result<Meta, UploadError> {
    user(&req)
}

/// Anything, no input: for clients that send no metadata at all.
#[uplift::file_route(blob(max_file_size = "1MB"), await_server_data = true, on_upload_complete = noted)]
async fn anything() -> Result<Meta, UploadError> {
    Ok(Meta {
        user: "anon".into(),
    })
}

fn router() -> uplift::Router {
    uplift::router![notes, photo, anything]
}

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OCTET: (&str, &str) = ("content-type", "application/offset+octet-stream");

fn b64(v: impl AsRef<[u8]>) -> String {
    STANDARD.encode(v)
}

fn note_meta(title: &str) -> String {
    format!(
        "input {},filename {},filetype {}",
        b64(json!({ "title": title }).to_string()),
        b64("note.txt"),
        b64("text/plain")
    )
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

/// `POST {base}/{slug}/tus` as `ann`, with `Upload-Length` and these extra headers.
async fn create(
    srv: &TestServer,
    slug: &str,
    length: Option<usize>,
    meta: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let mut rb = client()
        .post(format!("{}/{slug}/tus", srv.base))
        .header(TUS.0, TUS.1)
        .header("x-user", "ann")
        .header("upload-metadata", meta);
    if let Some(l) = length {
        rb = rb.header("upload-length", l.to_string());
    }
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    send(rb).await
}

fn location(r: &Resp) -> String {
    assert_eq!(
        r.status,
        201,
        "creation: {}",
        String::from_utf8_lossy(&r.bytes)
    );
    r.header("location").expect("Location")
}

async fn patch(url: &str, offset: usize, body: &[u8], extra: &[(&str, &str)]) -> Resp {
    let mut rb = client()
        .patch(url)
        .header(TUS.0, TUS.1)
        .header(OCTET.0, OCTET.1)
        .header("upload-offset", offset.to_string())
        .body(body.to_vec());
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    send(rb).await
}

async fn head(url: &str) -> Resp {
    send(client().head(url).header(TUS.0, TUS.1)).await
}

fn offset(r: &Resp) -> usize {
    r.header("upload-offset")
        .expect("Upload-Offset")
        .parse()
        .unwrap()
}

fn server_data(r: &Resp) -> Value {
    let raw = r.header("uplift-server-data").expect("Uplift-Server-Data");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}

async fn status(srv: &TestServer, key: &str) -> Value {
    send(client().get(format!("{}{}", srv.origin, srv.up.status_path(key))))
        .await
        .ok()
}

#[tokio::test]
async fn options_advertise_exactly_what_is_implemented() {
    let srv = TestServer::start(router());
    for url in [srv.url("/notes/tus"), srv.url("/tus/anything")] {
        let r = send(client().request(reqwest::Method::OPTIONS, &url)).await;
        assert_eq!(r.status, 200, "{url}");
        assert_eq!(r.header("tus-resumable").as_deref(), Some("1.0.0"));
        assert_eq!(r.header("tus-version").as_deref(), Some("1.0.0"));
        assert_eq!(
            r.header("tus-extension").as_deref(),
            Some("creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation,concatenation-unfinished")
        );
        assert_eq!(
            r.header("tus-checksum-algorithm").as_deref(),
            Some("sha1,sha256")
        );
    }
    let r = send(client().request(reqwest::Method::OPTIONS, srv.url("/notes/tus"))).await;
    assert_eq!(r.header("tus-max-size").as_deref(), Some("65536"));
}

#[tokio::test]
async fn tus_resumable_is_required() {
    let srv = TestServer::start(router());
    let r = send(
        client()
            .post(srv.url("/notes/tus"))
            .header("x-user", "ann")
            .header("upload-length", "3")
            .header("upload-metadata", note_meta("t")),
    )
    .await;
    assert_error(r.status, &r.json(), 412, "PRECONDITION_FAILED");
    assert_eq!(r.header("tus-version").as_deref(), Some("1.0.0"));
    let url = location(&create(&srv, "notes", Some(3), &note_meta("t"), &[]).await);
    let r = send(
        client()
            .patch(&url)
            .header(OCTET.0, OCTET.1)
            .header("upload-offset", "0")
            .body("abc"),
    )
    .await;
    assert_error(r.status, &r.json(), 412, "PRECONDITION_FAILED");
    assert_eq!(send(client().head(&url)).await.status, 412);
}

#[tokio::test]
async fn an_upload_in_chunks_completes_with_the_server_data() {
    let srv = TestServer::start(router());
    let data = fixtures::text(40_000);
    let r = create(&srv, "notes", Some(data.len()), &note_meta("hello"), &[]).await;
    let url = location(&r);
    assert!(url.starts_with(&format!("{}/tus/", srv.base)), "{url}");
    assert!(r.header("upload-expires").is_some());
    assert_eq!(r.header("tus-resumable").as_deref(), Some("1.0.0"));
    let key = r.header("uplift-key").unwrap();

    let h = head(&url).await;
    assert_eq!(h.status, 200);
    assert_eq!(offset(&h), 0);
    assert_eq!(h.header("upload-length"), Some(data.len().to_string()));
    assert_eq!(h.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(h.header("upload-metadata"), Some(note_meta("hello")));

    let r = patch(&url, 0, &data[..15_000], &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(offset(&r), 15_000);
    assert!(r.header("upload-expires").is_some());
    assert!(r.header("uplift-server-data").is_none());
    assert_eq!(offset(&head(&url).await), 15_000);
    assert_eq!(status(&srv, &key).await["status"], "uploading");

    let r = patch(&url, 15_000, &data[15_000..], &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(offset(&r), data.len());
    let sd = server_data(&r);
    assert_eq!(sd["sha256"], fixtures::sha256_hex(&data));
    assert_eq!(sd["user"], "ann");
    assert_eq!(sd["name"], "note.txt");

    let st = status(&srv, &key).await;
    assert_eq!(st["status"], "complete");
    assert_eq!(st["serverData"], sd);
    assert_eq!(srv.stored_bytes(&key), data);
    assert_eq!(srv.tus_uploads(), 0, "the tus file is gone once stored");
    let h = head(&url).await;
    assert_eq!(offset(&h), data.len());
    assert_eq!(server_data(&h), sd);
    // A PATCH after the end is refused.
    let r = patch(&url, data.len(), b"x", &[]).await;
    assert_error(r.status, &r.json(), 409, "CONFLICT");
}

#[tokio::test]
async fn offset_mismatch_and_wrong_content_type_are_refused() {
    let srv = TestServer::start(router());
    let url = location(&create(&srv, "notes", Some(10), &note_meta("t"), &[]).await);
    let r = patch(&url, 3, b"abc", &[]).await;
    let e = assert_error(r.status, &r.json(), 409, "OFFSET_MISMATCH");
    assert_eq!(e["data"]["offset"], 0);
    let r = send(
        client()
            .patch(&url)
            .header(TUS.0, TUS.1)
            .header("content-type", "application/octet-stream")
            .header("upload-offset", "0")
            .body("abc"),
    )
    .await;
    assert_error(r.status, &r.json(), 415, "UNSUPPORTED_TYPE");
    assert_eq!(offset(&head(&url).await), 0);
}

#[tokio::test]
async fn creation_checks_the_route_limit_input_and_middleware() {
    let srv = TestServer::start(router());
    let r = create(&srv, "notes", Some(64 * 1024 + 1), &note_meta("t"), &[]).await;
    assert_error(r.status, &r.json(), 413, "TOO_LARGE");
    let r = create(&srv, "notes", Some(10), &note_meta(""), &[]).await;
    assert_error(r.status, &r.json(), 400, "INVALID_INPUT");
    let r = create(&srv, "notes", Some(10), "filetype dGV4dC9wbGFpbg==", &[]).await;
    assert_error(r.status, &r.json(), 400, "INVALID_INPUT");
    let meta = format!(
        "input {},filetype {}",
        b64(r#"{"title":"x"}"#),
        b64("image/png")
    );
    let r = create(&srv, "notes", Some(10), &meta, &[]).await;
    assert_error(r.status, &r.json(), 415, "UNSUPPORTED_TYPE");
    let r = send(
        client()
            .post(srv.url("/notes/tus"))
            .header(TUS.0, TUS.1)
            .header("upload-length", "10")
            .header("upload-metadata", note_meta("t")),
    )
    .await;
    assert_error(r.status, &r.json(), 401, "UNAUTHORIZED");
    let r = send(
        client()
            .post(srv.url("/notes/tus"))
            .header(TUS.0, TUS.1)
            .header("x-user", "mallory")
            .header("upload-length", "10")
            .header("upload-metadata", note_meta("t")),
    )
    .await;
    assert_error(r.status, &r.json(), 403, "FORBIDDEN");
    let r = send(
        client()
            .post(srv.url("/nosuch/tus"))
            .header(TUS.0, TUS.1)
            .header("upload-length", "1"),
    )
    .await;
    assert_error(r.status, &r.json(), 404, "NOT_FOUND");
}

#[tokio::test]
async fn zero_length_and_creation_with_upload_complete_at_once() {
    let srv = TestServer::start(router());
    let r = create(&srv, "notes", Some(0), &note_meta("empty"), &[]).await;
    location(&r);
    assert_eq!(offset(&r), 0);
    assert_eq!(server_data(&r)["size"], 0);
    let key = r.header("uplift-key").unwrap();
    assert_eq!(status(&srv, &key).await["status"], "complete");

    let data = fixtures::text(5000);
    let r = send(
        client()
            .post(srv.url("/notes/tus"))
            .header(TUS.0, TUS.1)
            .header(OCTET.0, OCTET.1)
            .header("x-user", "ann")
            .header("upload-length", data.len().to_string())
            .header("upload-metadata", note_meta("one shot"))
            .body(data.clone()),
    )
    .await;
    let url = location(&r);
    assert_eq!(offset(&r), data.len());
    assert_eq!(server_data(&r)["sha256"], fixtures::sha256_hex(&data));
    // Stored without a separate offset write: HEAD reports every byte, nobody holds the lock
    // (a PATCH meets the finished upload, not a 423), and the record is complete.
    let h = head(&url).await;
    assert_eq!(h.status, 200);
    assert_eq!(offset(&h), data.len());
    let r = patch(&url, data.len(), b"", &[]).await;
    assert_error(r.status, &r.json(), 409, "CONFLICT");
    let key = r
        .header("uplift-key")
        .or_else(|| h.header("uplift-key"))
        .unwrap();
    assert_eq!(status(&srv, &key).await["status"], "complete");
}

#[tokio::test]
async fn deferred_length_is_set_by_a_later_patch_and_the_limit_holds_meanwhile() {
    let srv = TestServer::start(router());
    let data = fixtures::text(3000);
    let url = location(
        &create(
            &srv,
            "notes",
            None,
            &note_meta("d"),
            &[("upload-defer-length", "1")],
        )
        .await,
    );
    let h = head(&url).await;
    assert_eq!(h.header("upload-defer-length").as_deref(), Some("1"));
    assert!(h.header("upload-length").is_none());
    let r = patch(&url, 0, &data[..1000], &[]).await;
    assert_eq!(offset(&r), 1000);
    let r = patch(&url, 1000, &data[1000..], &[("upload-length", "3000")]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(server_data(&r)["sha256"], fixtures::sha256_hex(&data));

    // Without a length, the route's 64 KB limit still stops the bytes.
    let url = location(
        &create(
            &srv,
            "notes",
            None,
            &note_meta("d"),
            &[("upload-defer-length", "1")],
        )
        .await,
    );
    let r = patch(&url, 0, &fixtures::text(64 * 1024 + 10), &[]).await;
    assert_error(r.status, &r.json(), 413, "TOO_LARGE");
    let r = patch(&url, 0, b"abc", &[("upload-length", "70000")]).await;
    assert_error(r.status, &r.json(), 413, "TOO_LARGE");
    // Both or neither of the length headers is a bad request.
    let r = create(
        &srv,
        "notes",
        Some(3),
        &note_meta("d"),
        &[("upload-defer-length", "1")],
    )
    .await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
}

#[tokio::test]
async fn checksums_are_verified_per_patch() {
    let srv = TestServer::start(router());
    let data = fixtures::text(3000);
    let url = location(&create(&srv, "notes", Some(3000), &note_meta("c"), &[]).await);
    let sha1 = format!("sha1 {}", b64(sha1::Sha1::digest(&data[..1000])));
    let r = patch(&url, 0, &data[..1000], &[("upload-checksum", &sha1)]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(offset(&r), 1000);

    let wrong = format!("sha256 {}", b64(sha2::Sha256::digest(b"something else")));
    let r = patch(
        &url,
        1000,
        &data[1000..2000],
        &[("upload-checksum", &wrong)],
    )
    .await;
    assert_error(r.status, &r.json(), 460, "CHECKSUM_MISMATCH");
    assert_eq!(offset(&head(&url).await), 1000, "the chunk was discarded");

    let r = patch(
        &url,
        1000,
        &data[1000..2000],
        &[("upload-checksum", "md5 AAAA")],
    )
    .await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");

    let sha256 = format!("sha256 {}", b64(sha2::Sha256::digest(&data[1000..])));
    let r = patch(&url, 1000, &data[1000..], &[("upload-checksum", &sha256)]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(server_data(&r)["sha256"], fixtures::sha256_hex(&data));
}

/// On the actix runtime: the background sweeper is a local task (it runs the routes' hooks).
#[actix_rt::test]
async fn expired_uploads_answer_410_and_the_sweep_removes_them() {
    let srv = TestServer::start_with(
        router(),
        Options {
            configure: Box::new(|b| {
                b.limits(Limits {
                    tus_expiry: Duration::from_millis(1500),
                    ..Default::default()
                })
            }),
            ..Default::default()
        },
    );
    let url = location(&create(&srv, "notes", Some(100), &note_meta("e"), &[]).await);
    let r = patch(&url, 0, b"abc", &[]).await;
    assert_eq!(r.status, 204);
    assert_eq!(srv.tus_uploads(), 1);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(head(&url).await.status, 410);
    let r = patch(&url, 3, b"def", &[]).await;
    assert_error(r.status, &r.json(), 410, "EXPIRED");

    // Another instance on the same records and disk runs the sweep.
    let records = uplift::Records::connect(&srv.db_url).await.unwrap();
    let up = uplift::Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(records)
        .secret(common::SECRET)
        .build()
        .unwrap();
    let report = up.sweep().await.unwrap();
    assert_eq!(report.tus_expired, 1);
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(head(&url).await.status, 404);

    // The background sweeper does the same on its own, without anyone calling `sweep`.
    let url = location(&create(&srv, "notes", Some(100), &note_meta("f"), &[]).await);
    assert_eq!(patch(&url, 0, b"abc", &[]).await.status, 204);
    assert_eq!(srv.tus_uploads(), 1);
    let sweeper = up.spawn_sweeper(Duration::from_millis(200));
    // Bytes go first, then the record: wait (at most 5 s) until both are gone.
    let mut waited = 0;
    while (srv.tus_uploads() > 0 || head(&url).await.status != 404) && waited < 50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    sweeper.abort();
    assert_eq!(
        srv.tus_uploads(),
        0,
        "the sweeper removed the expired upload"
    );
    assert_eq!(head(&url).await.status, 404, "and its record");
}

#[tokio::test]
async fn termination_removes_the_bytes() {
    let srv = TestServer::start(router());
    let url = location(&create(&srv, "notes", Some(100), &note_meta("t"), &[]).await);
    assert_eq!(patch(&url, 0, b"abc", &[]).await.status, 204);
    assert_eq!(srv.tus_uploads(), 1);
    let r = send(client().delete(&url).header(TUS.0, TUS.1)).await;
    assert_eq!(r.status, 204);
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(head(&url).await.status, 404);
    let r = patch(&url, 3, b"def", &[]).await;
    assert_error(r.status, &r.json(), 404, "NOT_FOUND");
}

#[tokio::test]
async fn method_override_reaches_patch_head_and_delete() {
    let srv = TestServer::start(router());
    let url = location(&create(&srv, "notes", Some(100), &note_meta("o"), &[]).await);
    let over = |m: &str| {
        client()
            .post(&url)
            .header(TUS.0, TUS.1)
            .header("x-http-method-override", m)
    };
    let r = send(
        over("PATCH")
            .header(OCTET.0, OCTET.1)
            .header("upload-offset", "0")
            .body("abcd"),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(offset(&r), 4);
    assert_eq!(offset(&send(over("HEAD")).await), 4);
    assert_eq!(send(over("DELETE")).await.status, 204);
    assert_eq!(head(&url).await.status, 404);
}

#[tokio::test]
async fn an_empty_metadata_header_is_accepted() {
    let srv = TestServer::start(router());
    let r = create(&srv, "anything", Some(4), "", &[]).await;
    let url = location(&r);
    let r = patch(&url, 0, b"\x00\x01\x02\x03", &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(server_data(&r)["size"], 4);
}

#[tokio::test]
async fn lying_bytes_are_refused_at_completion() {
    let srv = TestServer::start(router());
    let meta = format!("filename {},filetype {}", b64("me.png"), b64("image/png"));
    let data = fixtures::text(500);
    let r = create(&srv, "photo", Some(data.len()), &meta, &[]).await;
    let url = location(&r);
    let key = r.header("uplift-key").unwrap();
    let r = patch(&url, 0, &data, &[]).await;
    assert_error(r.status, &r.json(), 415, "UNSUPPORTED_TYPE");
    assert!(srv.stored_files().is_empty(), "nothing visible");
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(status(&srv, &key).await["status"], "failed");
    let called = HOOK_ERRORS
        .lock()
        .unwrap()
        .iter()
        .any(|(k, c)| k == &key && c == "UNSUPPORTED_TYPE");
    assert!(called, "on_upload_error was told");

    // A real PNG goes through, and its (background) hook's data shows at the status URL.
    let png = fixtures::png(300);
    let r = create(&srv, "photo", Some(png.len()), &meta, &[]).await;
    let url = location(&r);
    let key = r.header("uplift-key").unwrap();
    assert_eq!(patch(&url, 0, &png, &[]).await.status, 204);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let st = status(&srv, &key).await;
        if st["status"] == "complete" {
            assert_eq!(st["serverData"]["sha256"], fixtures::sha256_hex(&png));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never completed: {st}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn uploads_need_their_capability() {
    let srv = TestServer::start(router());
    let a = location(&create(&srv, "notes", Some(10), &note_meta("a"), &[]).await);
    let b = location(&create(&srv, "notes", Some(10), &note_meta("b"), &[]).await);
    let (a_base, a_id) = a.rsplit_once('/').unwrap();
    let (a_key, _) = a_id.split_once('.').unwrap();
    let (_, b_sig) = b.rsplit_once('/').unwrap().1.split_once('.').unwrap();
    let bare = format!("{a_base}/{a_key}");
    let stolen = format!("{a_base}/{a_key}.{b_sig}");
    for url in [&bare, &stolen] {
        assert_eq!(head(url).await.status, 403, "{url}");
        let r = patch(url, 0, b"abc", &[]).await;
        assert_error(r.status, &r.json(), 403, "SIGNATURE_INVALID");
        let r = send(client().delete(url).header(TUS.0, TUS.1)).await;
        assert_error(r.status, &r.json(), 403, "SIGNATURE_INVALID");
    }
    assert_eq!(offset(&head(&a).await), 0);
}

#[tokio::test]
async fn concurrent_patches_never_both_write() {
    let srv = TestServer::start(router());
    let data = fixtures::text(20_000);
    let url = location(&create(&srv, "notes", Some(data.len()), &note_meta("c"), &[]).await);
    let path = url.strip_prefix(&srv.origin).unwrap();
    let head_text = format!(
        "PATCH {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: 0\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        data.len()
    );
    // The first PATCH sends half its body and stalls, holding the lock.
    let mut first = common::http::start_put(&srv, &head_text, &data[..10_000]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let other = fixtures::text(20_000)
        .iter()
        .map(|b| b.to_ascii_uppercase())
        .collect::<Vec<_>>();
    let r = patch(&url, 0, &other, &[]).await;
    assert!(
        [423, 409].contains(&r.status),
        "the second PATCH must lose: {} {}",
        r.status,
        String::from_utf8_lossy(&r.bytes)
    );
    if r.status == 423 {
        assert_error(r.status, &r.json(), 423, "LOCKED");
    }
    first.write_all(&data[10_000..]).await.unwrap();
    let answer = read_response(&mut first).await.expect("an answer");
    assert_eq!(answer.status, 204);
    let h = head(&url).await;
    assert_eq!(offset(&h), data.len());
    let key = h.header("uplift-key").unwrap();
    assert_eq!(srv.stored_bytes(&key), data);
}

#[tokio::test]
async fn three_partials_concatenate_into_one_stored_file() {
    let srv = TestServer::start(router());
    let data = fixtures::text(30_000);
    let parts = [&data[..7_000], &data[7_000..19_000], &data[19_000..]];
    let partial_meta = format!("input {}", b64(r#"{"title":"part"}"#));
    let mut urls = Vec::new();
    for p in parts {
        let r = create(
            &srv,
            "notes",
            Some(p.len()),
            &partial_meta,
            &[("upload-concat", "partial")],
        )
        .await;
        let url = location(&r);
        assert_eq!(patch(&url, 0, p, &[]).await.status, 204);
        assert_eq!(
            head(&url).await.header("upload-concat").as_deref(),
            Some("partial")
        );
        urls.push(url);
    }
    // A partial takes no completion of its own: nothing is stored yet.
    assert!(srv.stored_files().is_empty());
    // Absolute and relative URLs both work.
    let relative = urls[1].strip_prefix(&srv.origin).unwrap().to_string();
    let concat = format!("final;{} {} {}", urls[0], relative, urls[2]);
    let r = create(
        &srv,
        "notes",
        None,
        &note_meta("joined"),
        &[("upload-concat", &concat)],
    )
    .await;
    let url = location(&r);
    let sd = server_data(&r);
    assert_eq!(sd["sha256"], fixtures::sha256_hex(&data));
    assert_eq!(sd["size"], data.len());
    let key = r.header("uplift-key").unwrap();
    assert_eq!(srv.stored_bytes(&key), data);
    let h = head(&url).await;
    assert_eq!(offset(&h), data.len());
    assert!(h.header("upload-concat").unwrap().starts_with("final;"));
    for u in &urls {
        assert_eq!(head(u).await.status, 404, "partials are consumed");
    }
    assert_eq!(srv.tus_uploads(), 0);
    let r = patch(&url, data.len(), b"x", &[]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn location_follows_forwarded_headers_only_when_trusted() {
    let srv = TestServer::start(router());
    let fwd = [
        ("x-forwarded-host", "files.example.com"),
        ("x-forwarded-proto", "https"),
    ];
    let url = location(&create(&srv, "notes", Some(1), &note_meta("p"), &fwd).await);
    assert!(url.starts_with(&srv.origin), "{url}");
    let srv = TestServer::start_with(
        router(),
        Options {
            configure: Box::new(|b| b.trust_forwarded_headers(true)),
            ..Default::default()
        },
    );
    let url = location(&create(&srv, "notes", Some(1), &note_meta("p"), &fwd).await);
    assert!(
        url.starts_with("https://files.example.com/api/uploads/tus/"),
        "{url}"
    );
}
