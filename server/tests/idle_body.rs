//! A request body that goes silent ends the request after `Limits::body_idle_timeout` with a
//! `408 TIMEOUT`, and gives back what it held (staged bytes, the upload record's state); a long
//! upload that keeps sending is never cut. Over raw TCP on 127.0.0.1, for PUT, multipart,
//! signed objects and tus.

mod common;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use uplift::{Limits, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, put_head, read_response, start_put, Resp, PATIENCE};
use common::{Options, TestServer};

const IDLE: Duration = Duration::from_millis(800);

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_: Meta, _: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(max_file_size = "4MB"), on_upload_complete = done)]
async fn pics() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start_with(
        uplift::router![pics],
        Options {
            configure: Box::new(|b| {
                b.limits(Limits {
                    body_idle_timeout: IDLE,
                    ..Limits::default()
                })
            }),
            ..Options::default()
        },
    )
}

/// Reads the answer of a request whose body stalled; it must come after about `IDLE`.
async fn stalled_answer(stream: &mut tokio::net::TcpStream, started: Instant) -> (u16, Value) {
    let r = tokio::time::timeout(PATIENCE, read_response(stream))
        .await
        .expect("the server ends a silent body")
        .expect("an answer");
    assert!(
        started.elapsed() >= IDLE - Duration::from_millis(100),
        "answered before the body went idle: {:?}",
        started.elapsed()
    );
    (r.status, r.body)
}

#[actix_rt::test]
async fn a_silent_put_is_ended_and_its_upload_fails() {
    let srv = server();
    let c = client();
    let png = fixtures::png(256 * 1024);
    let f = srv
        .prepare_one(&c, "pics", "a.png", png.len(), "image/png")
        .await;
    let url = f["uploadUrl"].as_str().unwrap();
    let head = put_head(
        &srv.target(url),
        "image/png",
        &format!("Content-Length: {}", png.len()),
    );
    let started = Instant::now();
    let mut s = start_put(&srv, &head, &png[..png.len() / 2]).await;
    let (status, body) = stalled_answer(&mut s, started).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "TIMEOUT");
    let key = f["key"].as_str().unwrap();
    let rec = srv.wait_status(&c, key, "failed").await;
    assert_eq!(rec["error"]["code"], "TIMEOUT");
    srv.assert_no_staged().await;
    srv.assert_nothing_stored().await;
}

#[actix_rt::test]
async fn a_slow_but_live_put_is_never_cut() {
    let srv = server();
    let c = client();
    let png = fixtures::png(64 * 1024);
    let f = srv
        .prepare_one(&c, "pics", "a.png", png.len(), "image/png")
        .await;
    let url = f["uploadUrl"].as_str().unwrap();
    let head = put_head(
        &srv.target(url),
        "image/png",
        &format!("Content-Length: {}", png.len()),
    );
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    // 8 slices, one every IDLE/2: four times the idle time in all, never silent for long.
    for part in png.chunks(png.len() / 8) {
        s.write_all(part).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(IDLE / 2).await;
    }
    let r = read_response(&mut s).await.expect("an answer");
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(srv.stored_files().len(), 1);
}

#[actix_rt::test]
async fn a_silent_multipart_upload_is_ended_and_nothing_is_staged() {
    let srv = server();
    let boundary = "b0undary";
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let png = fixtures::png(256 * 1024);
    let total = part.len() + png.len() + boundary.len() + 8;
    let head = format!(
        "POST /api/uploads/pics/multipart HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n"
    );
    let mut body = part.into_bytes();
    body.extend_from_slice(&png[..png.len() / 2]);
    let started = Instant::now();
    let mut s = start_put(&srv, &head, &body).await;
    let (status, body) = stalled_answer(&mut s, started).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "TIMEOUT");
    srv.assert_no_staged().await;
    srv.assert_nothing_stored().await;
}

#[actix_rt::test]
async fn a_silent_signed_object_put_is_ended() {
    let srv = server();
    let signed = srv.signed.get_signed_put("inbox").unwrap();
    let head = put_head(
        &srv.target(&signed.upload_url),
        "application/octet-stream",
        "Content-Length: 100000",
    );
    let started = Instant::now();
    let mut s = start_put(&srv, &head, &[7u8; 1000]).await;
    let (status, body) = stalled_answer(&mut s, started).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "TIMEOUT");
    srv.assert_no_staged().await;
    assert!(common::signed::object_paths(&srv).is_empty());
}

#[actix_rt::test]
async fn a_silent_tus_patch_keeps_what_arrived() {
    let srv = server();
    let c = client();
    let png = fixtures::png(200_000);
    let r = Resp::read(
        c.post(srv.url("/pics/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", png.len().to_string())
            .header("upload-metadata", "filetype aW1hZ2UvcG5n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.bytes);
    let location = r.header("location").unwrap();
    let head = format!(
        "PATCH {} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n\
         Content-Length: {}\r\n\r\n",
        srv.target(&location),
        png.len()
    );
    let started = Instant::now();
    let mut s = start_put(&srv, &head, &png[..50_000]).await;
    let (status, body) = stalled_answer(&mut s, started).await;
    assert_eq!(status, 408, "{body}");
    let r = Resp::read(
        c.head(&location)
            .header("tus-resumable", "1.0.0")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("upload-offset").as_deref(), Some("50000"));
    // The rest completes the upload from there.
    let r = Resp::read(
        c.patch(&location)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", "50000")
            .body(png[50_000..].to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", String::from_utf8_lossy(&r.bytes));
}
