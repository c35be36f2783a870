//! Where a route narrows the type family (`image`, not `blob`), content whose declared
//! image/video/audio/PDF type the sniffer cannot confirm (`image/x-evil`) is refused, by PUT,
//! multipart and tus alike; a real PNG still passes, and a `blob` route takes anything.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, Resp};
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "type": file.content_type }))
}

#[uplift::file_route(image(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn photos() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[uplift::file_route(blob(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![photos, anyfile])
}

/// Bytes no sniffer recognises.
fn random_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7919 % 251) as u8 ^ 0x5a).collect()
}

async fn prepare_put(
    srv: &TestServer,
    c: &reqwest::Client,
    slug: &str,
    ty: &str,
    bytes: &[u8],
) -> Resp {
    let r = srv
        .prepare(
            c,
            slug,
            json!([decl("x.img", bytes.len(), ty)]),
            Value::Null,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    put(c, &url, Some(ty), bytes.to_vec()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverifiable_images_are_refused_on_an_images_only_route() {
    let srv = server();
    let c = client();
    let evil = random_bytes(300);

    // signed PUT
    let r = prepare_put(&srv, &c, "photos", "image/x-evil", &evil).await;
    r.error(415, "UNSUPPORTED_TYPE");
    srv.assert_nothing_stored().await;

    // multipart
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(evil.clone())
            .file_name("x.img")
            .mime_str("image/x-evil")
            .unwrap(),
    );
    let r = Resp::read(
        c.post(srv.url("/photos/multipart"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(415, "UNSUPPORTED_TYPE");
    srv.assert_nothing_stored().await;

    // tus: creation with upload
    let r = Resp::read(
        c.post(srv.url("/photos/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", evil.len().to_string())
            .header(
                "upload-metadata",
                format!("filetype {}", STANDARD.encode("image/x-evil")),
            )
            .header("content-type", "application/offset+octet-stream")
            .body(evil.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.json()["error"]["code"], "UNSUPPORTED_TYPE");
    srv.assert_nothing_stored().await;

    // a real PNG passes
    let png = fixtures::png(200);
    let done = prepare_put(&srv, &c, "photos", "image/png", &png)
        .await
        .ok();
    assert_eq!(done["file"]["type"], "image/png");
    assert_eq!(done["serverData"]["type"], "image/png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_route_takes_unverifiable_types_as_declared() {
    let srv = server();
    let c = client();
    let done = prepare_put(&srv, &c, "anyfile", "image/x-evil", &random_bytes(100))
        .await
        .ok();
    assert_eq!(done["file"]["type"], "image/x-evil");
}
