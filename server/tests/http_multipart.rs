//! The one-shot `POST {base}/{slug}/multipart` over real HTTP (reqwest's multipart forms): files
//! and the `input` field in one request, all or nothing. Every refusal asserts the status, the
//! code, and that no file, staged write or record was left behind.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use ts_rs::TS;
use uplift::{ErrorCode, HttpRequest, UploadError, UploadedFile};
use validator::Validate;

use common::fixtures;
use common::http::{client, read_response, Resp, PATIENCE};
use common::TestServer;

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct AlbumInput {
    #[validate(length(min = 1, max = 20))]
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
    pub title: String,
}

/// (key, code) of every `on_upload_error` call.
static HOOK_ERRORS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

async fn saved(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    if meta.title == "fail" {
        return Err(
            UploadError::new(ErrorCode::PreconditionFailed, "no more albums")
                .with_data(json!({ "quota": 0 })),
        );
    }
    Ok(
        json!({ "user": meta.user, "title": meta.title, "name": file.name, "type": file.content_type }),
    )
}

async fn failed(_meta: Option<Meta>, error: UploadError, key: String) {
    HOOK_ERRORS
        .lock()
        .unwrap()
        .push((key, error.code().as_str().into()));
}

#[uplift::file_route(
    image(max_file_size = "1KB", max_file_count = 2),
    text(max_file_size = "100B", content_disposition = "attachment"),
    await_server_data,
    on_upload_complete = saved,
    on_upload_error = failed
)]
async fn album(req: HttpRequest, input: AlbumInput) -> Result<Meta, UploadError> {
    if req.headers().contains_key("x-refuse") {
        return Err(UploadError::forbidden("albums are closed"));
    }
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anon");
    Ok(Meta {
        user: user.into(),
        title: input.title,
    })
}

/// Three 1 KB images per upload, but 1.5 KB and two files in all; no awaiting.
#[uplift::file_route(
    image(max_file_size = "1KB", max_file_count = 3),
    max_total_size = "1.5KB",
    max_total_file_count = 2,
    on_upload_complete = saved
)]
async fn bundle() -> Result<Meta, UploadError> {
    Ok(Meta {
        user: "bundle".into(),
        title: "bundle".into(),
    })
}

/// Larger images, one per upload: a file that goes to disk before its part ends.
#[uplift::file_route(image(max_file_size = "1MB"), on_upload_complete = saved)]
async fn posters() -> Result<Meta, UploadError> {
    Ok(Meta {
        user: "posters".into(),
        title: "posters".into(),
    })
}

fn server() -> TestServer {
    TestServer::start(uplift::router![album, bundle, posters])
}

fn file(name: &str, bytes: Vec<u8>, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap()
}

fn titled(title: &str) -> Form {
    Form::new().text("input", json!({ "title": title }).to_string())
}

async fn send(srv: &TestServer, slug: &str, form: Form, headers: &[(&str, &str)]) -> Resp {
    let mut req = client()
        .post(srv.url(&format!("/{slug}/multipart")))
        .multipart(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::read(req.send().await.expect("multipart request")).await
}

/// All or nothing: a refused upload leaves no file, no staged write and no record.
async fn assert_untouched(srv: &TestServer) {
    srv.assert_nothing_stored().await;
    assert_eq!(
        srv.record_count().await,
        0,
        "a refused multipart upload left records"
    );
}

#[tokio::test]
async fn files_and_input_in_one_request_with_awaited_server_data() {
    let srv = server();
    let c = client();
    let png = fixtures::png(500);
    let jpeg = fixtures::jpeg(400);
    let form = titled("trip")
        .part("file", file("../beach.png", png.clone(), "image/png"))
        .part("file", file("dune.jpg", jpeg.clone(), "image/jpeg"))
        .part("notes", file("notes.txt", b"sunny".to_vec(), "text/plain"));
    let body = send(&srv, "album", form, &[("x-user", "ann")]).await.ok();
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let expect = [
        ("beach.png", "image/png", &png),
        ("dune.jpg", "image/jpeg", &jpeg),
    ];
    for (f, (name, ty, bytes)) in files.iter().zip(expect) {
        assert_eq!(f["status"], "complete", "{f}");
        assert_eq!(
            f["serverData"],
            json!({ "user": "ann", "title": "trip", "name": name, "type": ty })
        );
        assert_eq!(
            (f["file"]["name"].clone(), f["file"]["type"].clone()),
            (json!(name), json!(ty))
        );
        assert_eq!(f["file"]["sha256"], fixtures::sha256_hex(bytes));
        let dl = Resp::read(
            c.get(f["file"]["url"].as_str().unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((dl.status, &dl.bytes), (200, bytes));
        let st = srv.status(&c, f["key"].as_str().unwrap()).await;
        assert_eq!(st["status"], "complete");
    }
    assert_eq!(files[2]["file"]["contentDisposition"], "attachment");
    let mut keys: Vec<String> = files
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    assert_eq!(srv.stored_files(), keys);
    srv.assert_no_staged().await;
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_file_is_kept() {
    let srv = server();
    let png = || file("a.png", fixtures::png(100), "image/png");

    let r = send(&srv, "album", titled("").part("file", png()), &[]).await;
    let err = r.error(400, "INVALID_INPUT");
    assert_eq!(err["data"]["fields"]["title"][0]["code"], "length", "{err}");
    let not_json = Form::new()
        .text("input", "{title: trip")
        .part("file", png());
    send(&srv, "album", not_json, &[])
        .await
        .error(400, "INVALID_INPUT");
    let wrong_type = Form::new()
        .text("input", r#"{"title": 42}"#)
        .part("file", png());
    send(&srv, "album", wrong_type, &[])
        .await
        .error(400, "INVALID_INPUT");
    // No input at all: the route's required title is missing.
    send(&srv, "album", Form::new().part("file", png()), &[])
        .await
        .error(400, "INVALID_INPUT");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn input_after_a_file_is_refused() {
    let srv = server();
    let late = |slug_input: &str| {
        Form::new()
            .part("file", file("a.png", fixtures::png(100), "image/png"))
            .text("input", slug_input.to_string())
    };
    // A route without input: the late field itself is the error.
    send(&srv, "bundle", late("{}"), &[])
        .await
        .error(400, "BAD_REQUEST");
    // A route with a required input: its absence before the first file is already an input error.
    send(&srv, "album", late(r#"{"title":"late"}"#), &[])
        .await
        .error(400, "INVALID_INPUT");
    // Twice, even before any file.
    let twice = titled("one").text("input", json!({ "title": "two" }).to_string());
    send(
        &srv,
        "album",
        twice.part("file", file("a.png", fixtures::png(100), "image/png")),
        &[],
    )
    .await
    .error(400, "BAD_REQUEST");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn types_the_route_does_not_take_or_bytes_that_lie_are_refused() {
    let srv = server();
    let cases = [
        file("clip.mp4", fixtures::mp4(300), "video/mp4"), // not accepted by the route
        file("a.jpg", fixtures::png(300), "image/jpeg"),   // a PNG declared as JPEG
        file("a.png", fixtures::text(300), "image/png"),   // text declared as PNG
        file("blob.bin", fixtures::text(50), "application/octet-stream"), // unrecognisable
        file("a.txt", fixtures::png(90), "text/plain"),    // a PNG smuggled in as text
    ];
    for part in cases {
        // A good file first: the refusal of the second must take the first down with it.
        let form = titled("t")
            .part("file", file("ok.png", fixtures::png(100), "image/png"))
            .part("file", part);
        send(&srv, "album", form, &[])
            .await
            .error(415, "UNSUPPORTED_TYPE");
    }
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn octet_stream_parts_get_their_sniffed_type() {
    let srv = server();
    let png = fixtures::png(300);
    let form = titled("t").part(
        "file",
        file("photo", png.clone(), "application/octet-stream"),
    );
    let body = send(&srv, "album", form, &[]).await.ok();
    let f = &body["files"][0];
    assert_eq!(f["file"]["type"], "image/png");
    assert_eq!(f["serverData"]["type"], "image/png");
    // A part without any Content-Type is treated the same way.
    let form = titled("t").part("file", Part::bytes(png).file_name("photo2"));
    assert_eq!(
        send(&srv, "album", form, &[]).await.ok()["files"][0]["file"]["type"],
        "image/png"
    );
}

#[tokio::test]
async fn oversize_parts_are_cut_off() {
    let srv = server();
    let big = || file("big.png", fixtures::png(1025), "image/png");
    let r = send(&srv, "album", titled("t").part("file", big()), &[]).await;
    assert_eq!(r.error(413, "TOO_LARGE")["data"]["limit"], 1024);
    // Oversize after a good file: nothing of the upload is kept.
    let form = titled("t")
        .part("file", file("ok.png", fixtures::png(1024), "image/png"))
        .part("file", big());
    send(&srv, "album", form, &[]).await.error(413, "TOO_LARGE");
    // An octet-stream part is bounded too (by the largest size any type allows).
    let form = titled("t").part(
        "file",
        file("big", fixtures::png(1025), "application/octet-stream"),
    );
    send(&srv, "album", form, &[]).await.error(413, "TOO_LARGE");
    let form = titled("t").part("n", file("n.txt", fixtures::text(101), "text/plain"));
    send(&srv, "album", form, &[]).await.error(413, "TOO_LARGE");
    // Route-wide: two 1 KB images exceed the 1.5 KB total.
    let form = Form::new()
        .part("a", file("a.png", fixtures::png(1024), "image/png"))
        .part("b", file("b.png", fixtures::png(1024), "image/png"));
    send(&srv, "bundle", form, &[])
        .await
        .error(413, "TOO_LARGE");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn too_many_or_too_few_files_are_refused() {
    let srv = server();
    let png = || file("a.png", fixtures::png(100), "image/png");
    // Per type: at most two images.
    let form = titled("t")
        .part("f", png())
        .part("f", png())
        .part("f", png());
    send(&srv, "album", form, &[])
        .await
        .error(400, "TOO_MANY_FILES");
    // Route-wide: at most two files, though three images would pass per type.
    let form = Form::new()
        .part("f", png())
        .part("f", png())
        .part("f", png());
    send(&srv, "bundle", form, &[])
        .await
        .error(400, "TOO_MANY_FILES");
    // Per type, text: at most one.
    let txt = || file("n.txt", b"hi".to_vec(), "text/plain");
    send(
        &srv,
        "album",
        titled("t").part("n", txt()).part("n", txt()),
        &[],
    )
    .await
    .error(400, "TOO_MANY_FILES");
    // No file at all.
    send(&srv, "album", titled("t"), &[])
        .await
        .error(400, "TOO_FEW_FILES");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn a_refusing_middleware_keeps_nothing() {
    let srv = server();
    let form = titled("t").part("file", file("a.png", fixtures::png(100), "image/png"));
    let err = send(&srv, "album", form, &[("x-refuse", "1")])
        .await
        .error(403, "FORBIDDEN");
    assert_eq!(err["message"], "albums are closed");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn a_failing_awaited_hook_answers_with_its_error_and_every_file() {
    let srv = server();
    let form = titled("fail").part("file", file("a.png", fixtures::png(100), "image/png"));
    let err = send(&srv, "album", form, &[])
        .await
        .error(412, "PRECONDITION_FAILED");
    assert_eq!(err["data"]["hook"], json!({ "quota": 0 }));
    let f = &err["data"]["files"][0];
    assert_eq!(f["status"], "failed");
    assert_eq!(f["error"]["code"], "PRECONDITION_FAILED");
    let key = f["key"].as_str().unwrap();
    assert!(HOOK_ERRORS
        .lock()
        .unwrap()
        .iter()
        .any(|(k, c)| k == key && c == "PRECONDITION_FAILED"));
    let st = srv.status(&client(), key).await;
    assert_eq!(st["status"], "failed");
}

#[tokio::test]
async fn without_await_the_answer_does_not_wait_for_the_hook() {
    let srv = server();
    let c = client();
    let form = Form::new().part("f", file("a.png", fixtures::png(100), "image/png"));
    let body = send(&srv, "bundle", form, &[]).await.ok();
    let f = &body["files"][0];
    assert!(
        matches!(f["status"].as_str(), Some("completing" | "complete")),
        "{f}"
    );
    let st = srv
        .wait_status(&c, f["key"].as_str().unwrap(), "complete")
        .await;
    assert_eq!(st["serverData"]["title"], "bundle");
}

#[tokio::test]
async fn unknown_routes_and_non_multipart_bodies_are_refused() {
    let srv = server();
    let c = client();
    let form = titled("t").part("file", file("a.png", fixtures::png(100), "image/png"));
    send(&srv, "nope", form, &[]).await.error(404, "NOT_FOUND");
    let r = c
        .post(srv.url("/album/multipart"))
        .json(&json!({ "title": "t" }))
        .send()
        .await
        .unwrap();
    Resp::read(r).await.error(400, "BAD_REQUEST");
    assert_untouched(&srv).await;
}

#[tokio::test]
async fn an_unused_html_file_input_is_not_a_file() {
    let srv = server();
    // What a browser sends for `<input type="file">` left empty: filename "", no bytes.
    let empty = || {
        Part::bytes(Vec::new())
            .file_name("")
            .mime_str("application/octet-stream")
            .unwrap()
    };
    let form = titled("t")
        .part("video", empty())
        .part("file", file("a.png", fixtures::png(100), "image/png"))
        .part("other", empty());
    let body = send(&srv, "album", form, &[]).await.ok();
    assert_eq!(body["files"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["files"][0]["file"]["name"], "a.png");
    // An empty input before the `input` field does not make that field come "after a file".
    let form = Form::new()
        .part("video", empty())
        .text("input", json!({ "title": "t" }).to_string())
        .part("file", file("b.png", fixtures::png(100), "image/png"));
    assert_eq!(
        send(&srv, "album", form, &[]).await.ok()["files"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Only empty inputs: no file was sent.
    send(&srv, "album", titled("t").part("file", empty()), &[])
        .await
        .error(400, "TOO_FEW_FILES");
    // A nameless part with bytes is still a file, checked like any other.
    let nameless = Part::bytes(fixtures::png(100))
        .file_name("")
        .mime_str("image/png")
        .unwrap();
    let body = send(&srv, "album", titled("t").part("file", nameless), &[])
        .await
        .ok();
    assert_eq!(body["files"][0]["file"]["name"], "file");
    assert_eq!(srv.stored_files().len(), 3);
    srv.assert_no_staged().await;
}

#[tokio::test]
async fn a_client_that_vanishes_mid_part_leaves_nothing() {
    let srv = server();
    let boundary = "XyZzY0123456789";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    // More than one 64 KiB block: the server has its staged file on disk before the part ends
    // (a smaller file would not be on disk before its end).
    body.extend(fixtures::png(200 * 1024));
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        srv.target(&srv.url("/posters/multipart")),
        body.len() + 2000
    );
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    // Vanish once the server has started writing the file.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while srv.staged_files() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never started receiving the file"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(s);
    assert_untouched(&srv).await;

    // The same body, completed properly, is accepted: the refusal above was the disconnect.
    let mut full = body.clone();
    full.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let head = head.replace(
        &format!("Content-Length: {}", body.len() + 2000),
        &format!("Content-Length: {}", full.len()),
    );
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&full).await.unwrap();
    let r = read_response(&mut s).await.expect("an answer");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(srv.stored_files().len(), 1);
}
