//! Uploads straight to the bucket (`S3Storage` on a real S3-compatible store, Garage in CI;
//! skipped with a note when `UPLIFT_S3_*` is unset unless `UPLIFT_REQUIRE_S3=1`): prepare
//! hands out the bucket's presigned PUT, the bucket enforces type, size and SHA-256, and the
//! completion URL checks what arrived, runs the hook and answers with the server data. Refused
//! bytes leave nothing in the bucket; nothing is readable before it was checked.
#![cfg(feature = "s3")]

mod common;

use std::time::{Duration, SystemTime};

use common::http::{client, Resp};
use common::{s3_available, Backend, Options, TestServer};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};

#[derive(Serialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Seen {
    sha256: String,
    crc32: Option<u32>,
}

#[uplift::file_route(
    text(max_file_size = "1MB"),
    blob(max_file_size = "8MB"),
    await_server_data,
    on_upload_complete = seen
)]
async fn notes(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

async fn seen(_meta: (), file: UploadedFile) -> Result<Seen, UploadError> {
    Ok(Seen {
        sha256: file.sha256,
        crc32: file.crc32,
    })
}

fn server_with(configure: fn(uplift::UpliftBuilder) -> uplift::UpliftBuilder) -> TestServer {
    TestServer::start_with(
        uplift::router![notes],
        Options {
            storage: Backend::S3,
            configure: Box::new(configure),
            ..Options::default()
        },
    )
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn prepare(
    srv: &TestServer,
    c: &reqwest::Client,
    name: &str,
    body: &[u8],
    ty: &str,
) -> Value {
    let decl = json!({ "name": name, "size": body.len(), "type": ty, "sha256": sha(body) });
    srv.prepare(c, "notes", json!([decl]), Value::Null)
        .await
        .ok()["files"][0]
        .clone()
}

/// `PUT` to the bucket with the prepared headers (and any changes).
async fn put_direct(
    c: &reqwest::Client,
    prepared: &Value,
    body: Vec<u8>,
    change: &[(&str, &str)],
) -> reqwest::Response {
    // A bucket closes the connection after refusing a body it did not read: no reuse.
    let mut req = c
        .put(prepared["uploadUrl"].as_str().unwrap())
        .header("connection", "close")
        .body(body);
    for (k, v) in prepared["headers"].as_object().unwrap() {
        if !change.iter().any(|(n, _)| n == k) {
            req = req.header(k, v.as_str().unwrap());
        }
    }
    for (k, v) in change {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn complete(c: &reqwest::Client, prepared: &Value) -> Resp {
    let url = prepared["completeUrl"].as_str().expect("a completeUrl");
    Resp::read(c.post(url).send().await.unwrap()).await
}

async fn bucket_keys(srv: &TestServer) -> Vec<String> {
    let later = SystemTime::now() + Duration::from_secs(60);
    let s3 = srv.s3.as_ref().unwrap();
    let list = uplift::storage::Storage::as_list(s3).unwrap();
    list.list_keys(later)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect()
}

#[tokio::test]
async fn bytes_go_to_the_bucket_and_complete_through_the_server() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| b);
    let c = client();
    let body = b"straight to the bucket, never through the server".to_vec();
    let prepared = prepare(&srv, &c, "note.txt", &body, "text/plain").await;
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(prepared["uploadUrl"]
        .as_str()
        .unwrap()
        .starts_with(&endpoint));
    assert_eq!(prepared["method"], "PUT");
    assert_eq!(prepared["headers"]["content-type"], "text/plain");
    assert!(prepared["headers"]["x-amz-checksum-sha256"].is_string());
    let key = prepared["key"].as_str().unwrap().to_string();

    // Too early: nothing arrived; the key is not spent.
    complete(&c, &prepared).await.error(409, "CONFLICT");
    assert_eq!(srv.status(&c, &key).await["status"], "pending");

    let res = put_direct(&c, &prepared, body.clone(), &[]).await;
    assert_eq!(res.status(), 200, "the bucket takes the bytes");
    // In the bucket, but not a file yet: nothing of it is served.
    assert_eq!(srv.status(&c, &key).await["status"], "pending");
    let dl = c
        .get(srv.url(&format!("/download/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status(), 404);

    let done = complete(&c, &prepared).await.ok();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["serverData"]["sha256"], sha(&body).as_str());
    assert_eq!(
        done["serverData"]["crc32"],
        Value::Null,
        "never read by the server"
    );
    assert_eq!(done["file"]["crc32"], Value::Null);
    assert_eq!(done["file"]["type"], "text/plain");
    assert_eq!(done["file"]["size"], body.len());
    assert_eq!(bucket_keys(&srv).await, vec![key.clone()]);
    let got = reqwest::get(done["file"]["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), &body[..]);
    // Spent: a second completion is refused, the file stays.
    complete(&c, &prepared).await.error(409, "CONFLICT");
    assert_eq!(srv.status(&c, &key).await["status"], "complete");
}

#[tokio::test]
async fn the_bucket_refuses_what_the_signature_does_not_cover() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| b);
    let c = client();
    let body = vec![b'a'; 4096];
    let prepared = prepare(&srv, &c, "a.txt", &body, "text/plain").await;
    // Same length, other bytes: the checksum does not match (400).
    let res = put_direct(&c, &prepared, vec![b'b'; 4096], &[]).await;
    assert_eq!(res.status(), 400);
    // Another length or another type: the signature does not match (403).
    let res = put_direct(&c, &prepared, vec![b'a'; 4095], &[]).await;
    assert_eq!(res.status(), 403);
    let res = put_direct(
        &c,
        &prepared,
        body.clone(),
        &[("content-type", "text/html")],
    )
    .await;
    assert_eq!(res.status(), 403);
    // A tampered signature.
    let mut tampered = prepared.clone();
    let url = prepared["uploadUrl"].as_str().unwrap();
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..at + 1] == "0" { "1" } else { "0" };
    tampered["uploadUrl"] = json!(format!("{}{}{}", &url[..at], flipped, &url[at + 1..]));
    let res = put_direct(&c, &tampered, body.clone(), &[]).await;
    assert_eq!(res.status(), 403);
    assert!(
        bucket_keys(&srv).await.is_empty(),
        "nothing reached the bucket"
    );
    // The right bytes still go through.
    assert_eq!(put_direct(&c, &prepared, body, &[]).await.status(), 200);
    assert_eq!(complete(&c, &prepared).await.ok()["status"], "complete");
}

#[tokio::test]
async fn a_refused_object_is_removed_from_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| b);
    let c = client();
    // Declared text, but a PNG: the bucket cannot tell; the completion sniffs it.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(vec![7u8; 2000]);
    let prepared = prepare(&srv, &c, "fake.txt", &png, "text/plain").await;
    let key = prepared["key"].as_str().unwrap().to_string();
    assert_eq!(put_direct(&c, &prepared, png, &[]).await.status(), 200);
    assert_eq!(bucket_keys(&srv).await, vec![key.clone()]);
    complete(&c, &prepared).await.error(415, "UNSUPPORTED_TYPE");
    assert!(
        bucket_keys(&srv).await.is_empty(),
        "the refused object is gone"
    );
    let st = srv.status(&c, &key).await;
    assert_eq!(st["status"], "failed");
    assert_eq!(st["error"]["code"], "UNSUPPORTED_TYPE");
}

#[tokio::test]
async fn an_expired_presign_is_refused_by_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| {
        b.limits(Limits {
            upload_url_ttl: Duration::from_secs(1),
            ..Limits::default()
        })
    });
    let c = client();
    let body = b"late".to_vec();
    let prepared = prepare(&srv, &c, "late.txt", &body, "text/plain").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // AWS answers 403; Garage 2.5 answers 400 for an expired presigned URL.
    let status = put_direct(&c, &prepared, body, &[]).await.status().as_u16();
    assert!(matches!(status, 400 | 403), "{status}");
    assert!(bucket_keys(&srv).await.is_empty());
    complete(&c, &prepared).await.error(410, "EXPIRED");
}

#[tokio::test]
async fn without_a_declared_sha256_or_when_turned_off_bytes_go_through_the_server() {
    if !s3_available() {
        return;
    }
    let c = client();
    let srv = server_with(|b| b);
    let prepared = srv
        .prepare_one(&c, "notes", "plain.txt", 5, "text/plain")
        .await;
    assert!(prepared["uploadUrl"]
        .as_str()
        .unwrap()
        .starts_with(&srv.base));
    assert_eq!(prepared["completeUrl"], Value::Null);
    let done = common::http::put(
        &c,
        prepared["uploadUrl"].as_str().unwrap(),
        None,
        b"hello".to_vec(),
    )
    .await
    .ok();
    assert!(done["file"]["crc32"].is_u64(), "read by the server: {done}");

    let off = server_with(|b| b.direct_uploads(false));
    let body = b"declared".to_vec();
    let prepared = prepare(&off, &c, "d.txt", &body, "text/plain").await;
    assert!(prepared["uploadUrl"]
        .as_str()
        .unwrap()
        .starts_with(&off.base));
    assert_eq!(prepared["completeUrl"], Value::Null);
    // And a completion URL made up for it finds nothing to complete.
    let made_up = prepared["uploadUrl"]
        .as_str()
        .unwrap()
        .replacen("?", "/complete?", 1);
    let r = Resp::read(c.post(made_up).send().await.unwrap()).await;
    r.error(409, "CONFLICT");
}

#[tokio::test]
async fn bytes_sent_but_never_completed_are_swept_from_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| {
        b.limits(Limits {
            upload_url_ttl: Duration::from_secs(1),
            ..Limits::default()
        })
    });
    let c = client();
    let body = b"uploaded, then the client vanished".to_vec();
    let prepared = prepare(&srv, &c, "gone.txt", &body, "text/plain").await;
    let key = prepared["key"].as_str().unwrap().to_string();
    assert_eq!(put_direct(&c, &prepared, body, &[]).await.status(), 200);
    assert_eq!(bucket_keys(&srv).await, vec![key.clone()]);
    // Never completed: unreadable through Uplift, and gone after the URL expired and a sweep.
    let dl = c
        .get(srv.url(&format!("/download/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status(), 404);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The sweep that expires the URL removes the bytes too, not the record's later purge.
    let report = srv.up.sweep().await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    assert!(bucket_keys(&srv).await.is_empty(), "{report:?}");
    assert_eq!(srv.status(&c, &key).await["status"], "expired");
    complete(&c, &prepared).await.error(410, "EXPIRED");
}
