//! tus 1.0 to the letter: a creation body of the wrong type is 415 (and creates nothing); a
//! 409 `OFFSET_MISMATCH` carries `Upload-Offset`; OPTIONS answers 200; DELETE of a complete
//! upload answers 410 Gone and leaves its stored file alone.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, Resp};
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "size": file.size }))
}

#[uplift::file_route(blob(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OCTET: &str = "application/offset+octet-stream";

fn server() -> TestServer {
    TestServer::start(uplift::router![anyfile])
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

fn creation(srv: &TestServer, length: usize) -> reqwest::RequestBuilder {
    client()
        .post(srv.url("/anyfile/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_body_of_another_type_is_415_and_creates_nothing() {
    let srv = server();
    let data = fixtures::text(20);
    for ct in [Some("text/plain"), Some("application/octet-stream"), None] {
        let mut rb = creation(&srv, data.len()).body(data.clone());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = send(rb).await;
        r.error(415, "UNSUPPORTED_TYPE");
        assert_eq!(r.header("tus-resumable").as_deref(), Some("1.0.0"));
        assert!(r.header("location").is_none(), "{ct:?}");
    }
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(srv.record_count().await, 0);

    // no body: a plain creation; an offset+octet-stream body: creation-with-upload
    let r = send(creation(&srv, data.len())).await;
    assert_eq!(r.status, 201);
    assert!(r.header("upload-offset").is_none());
    let r = send(
        creation(&srv, data.len())
            .header("content-type", OCTET)
            .body(data.clone()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.header("upload-offset").as_deref(), Some("20"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_mismatch_carries_the_current_offset() {
    let srv = server();
    let r = send(creation(&srv, 10)).await;
    let url = r.header("location").unwrap();
    let patch = |offset: usize, body: &'static [u8]| {
        client()
            .patch(&url)
            .header(TUS.0, TUS.1)
            .header("content-type", OCTET)
            .header("upload-offset", offset.to_string())
            .body(body)
    };
    let r = send(patch(0, b"abcd")).await;
    assert_eq!(r.status, 204);
    for wrong in [0, 2, 7] {
        let r = send(patch(wrong, b"ef")).await;
        let e = r.error(409, "OFFSET_MISMATCH");
        assert_eq!(e["data"]["offset"], 4);
        assert_eq!(r.header("upload-offset").as_deref(), Some("4"), "{wrong}");
        assert_eq!(r.header("tus-resumable").as_deref(), Some("1.0.0"));
    }
    // other refusals carry no Upload-Offset
    let r = send(
        client()
            .patch(&url)
            .header(TUS.0, TUS.1)
            .header("content-type", "text/plain")
            .header("upload-offset", "4")
            .body("ef"),
    )
    .await;
    r.error(415, "UNSUPPORTED_TYPE");
    assert!(r.header("upload-offset").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_answer_200() {
    let srv = server();
    let r = send(creation(&srv, 10)).await;
    let url = r.header("location").unwrap();
    for u in [srv.url("/anyfile/tus"), url] {
        let r = send(client().request(reqwest::Method::OPTIONS, &u)).await;
        assert_eq!(r.status, 200, "{u}");
        assert_eq!(r.header("tus-version").as_deref(), Some("1.0.0"));
        assert!(r.header("tus-extension").unwrap().contains("termination"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_complete_upload_is_410_and_keeps_the_file() {
    let srv = server();
    let c = client();
    let data = fixtures::text(12);
    let r = send(
        creation(&srv, data.len())
            .header("content-type", OCTET)
            .body(data.clone()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    srv.wait_status(&c, &key, "complete").await;

    let r = send(c.delete(&url).header(TUS.0, TUS.1)).await;
    let e = r.error(410, "CONFLICT");
    assert!(e["message"].as_str().unwrap().contains("complete"));
    assert_eq!(r.header("tus-resumable").as_deref(), Some("1.0.0"));

    // the file is untouched: its status, its bytes
    let st = srv.status(&c, &key).await;
    assert_eq!(st["status"], "complete");
    let got = send(c.get(st["file"]["url"].as_str().unwrap())).await;
    assert_eq!((got.status, got.bytes), (200, data));

    // an unfinished upload is still terminated with 204, and is then gone
    let r = send(creation(&srv, 50)).await;
    let url = r.header("location").unwrap();
    assert_eq!(send(c.delete(&url).header(TUS.0, TUS.1)).await.status, 204);
    let r = send(c.head(&url).header(TUS.0, TUS.1)).await;
    assert_eq!(r.status, 404);
}
