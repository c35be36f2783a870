//! tus uploads kept in the bucket of an `S3Storage` (Garage in CI, named by `UPLIFT_S3_*`;
//! skipped with a note when unset unless `UPLIFT_REQUIRE_S3=1`): nothing on the instance's
//! disk, PATCHes through two servers becoming parts of one multipart upload, bytes past the
//! recorded offset (a refused PATCH, a writer that died) never reaching the stored file, and
//! termination leaving nothing in the bucket. Part size: 5 MiB (the test harness's).
#![cfg(feature = "s3")]

mod common;

use common::fixtures::sha256_hex;
use common::http::{client, Resp};
use common::{s3_available, Backend, Options, TestServer};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uplift::{HttpRequest, UploadError, UploadedFile};

const MIB: usize = 1024 * 1024;
const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

#[derive(Serialize, schemars::JsonSchema, ts_rs::TS)]
struct Stored {
    sha256: String,
}

async fn stored(_meta: (), file: UploadedFile) -> Result<Stored, UploadError> {
    Ok(Stored {
        sha256: file.sha256,
    })
}

#[uplift::file_route(blob(max_file_size = "64MB"), await_server_data = true, on_upload_complete = stored)]
async fn blobs(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

/// A hook that takes its time, so another instance is asked while it runs.
async fn slowly_stored(_meta: (), file: UploadedFile) -> Result<Stored, UploadError> {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    Ok(Stored {
        sha256: file.sha256,
    })
}

#[uplift::file_route(blob(max_file_size = "64MB"), await_server_data = true, on_upload_complete = slowly_stored)]
async fn slow(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

fn server() -> TestServer {
    TestServer::start_with(
        uplift::router![blobs, slow],
        Options {
            storage: Backend::S3,
            ..Options::default()
        },
    )
}

/// A second server on the same records and bucket prefix (SQLite: the same file).
fn twin(srv: &TestServer) -> TestServer {
    let opts = common::backend::Db::Sqlite.sharing(
        srv,
        Options {
            storage: Backend::S3,
            ..Options::default()
        },
    );
    TestServer::start_with(uplift::router![blobs, slow], opts)
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed))
        .collect()
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

async fn create(srv: &TestServer, length: usize) -> (String, String) {
    create_on(srv, "blobs", length).await
}

async fn create_on(srv: &TestServer, slug: &str, length: usize) -> (String, String) {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let r = send(
        client()
            .post(format!("{}/{slug}/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("upload-length", length.to_string())
            .header(
                "upload-metadata",
                format!(
                    "filename {},filetype {}",
                    b64("a.bin"),
                    b64("application/octet-stream")
                ),
            ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    (
        r.header("location").unwrap(),
        r.header("uplift-key").unwrap(),
    )
}

async fn patch(url: &str, offset: usize, body: &[u8], extra: &[(&str, String)]) -> Resp {
    let mut rb = client()
        .patch(url)
        .header(TUS.0, TUS.1)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec());
    for (k, v) in extra {
        rb = rb.header(*k, v);
    }
    send(rb).await
}

async fn head_offset(url: &str) -> usize {
    let r = send(client().head(url).header(TUS.0, TUS.1)).await;
    assert_eq!(r.status, 200);
    r.header("upload-offset").unwrap().parse().unwrap()
}

fn on(srv: &TestServer, url: &str) -> String {
    let path = &url[url.find("/api/").expect("an upload URL")..];
    format!("{}{path}", srv.origin)
}

fn multipart_uploads(srv: &TestServer) -> usize {
    srv.staged_files()
}

#[tokio::test]
async fn patches_through_two_servers_become_parts_in_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let other = twin(&srv);
    let file = data(12 * MIB + 12_345, 1);
    let (url, key) = create(&srv, file.len()).await;
    let mut offset = 0;
    let mut turn = 0;
    // 3 MiB PATCHes, alternating: parts are whole 5 MiB pieces; the rest of each PATCH waits
    // in the bucket for the next one, whichever server takes it.
    while offset < file.len() {
        let end = (offset + 3 * MIB).min(file.len());
        let target = if turn % 2 == 0 {
            url.clone()
        } else {
            on(&other, &url)
        };
        let r = patch(&target, offset, &file[offset..end], &[]).await;
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
        offset = end;
        turn += 1;
        if offset == 6 * MIB {
            assert_eq!(multipart_uploads(&srv), 1, "one part sent");
            assert_eq!(srv.tus_uploads(), 1);
            assert_eq!(head_offset(&on(&other, &url)).await, 6 * MIB);
        }
    }
    let st = srv.wait_status(&client(), &key, "complete").await;
    assert_eq!(st["file"]["sha256"], sha256_hex(&file), "{st}");
    assert_eq!(st["serverData"]["sha256"], sha256_hex(&file), "{st}");
    assert!(srv.stored_bytes(&key) == file, "the stored bytes differ");
    // Nothing of the upload is left in the bucket, and nothing was ever on the disk.
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(multipart_uploads(&srv), 0);
    assert!(!srv.data_dir.join("files").exists());
}

#[tokio::test]
async fn a_refused_patch_across_a_part_boundary_changes_nothing() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let file = data(9 * MIB, 2);
    let (url, key) = create(&srv, file.len()).await;
    assert_eq!(patch(&url, 0, &file[..4 * MIB], &[]).await.status, 204);
    // 3 MiB of other bytes whose checksum header does not match: the first part (crossing
    // 5 MiB) is sent to the bucket before the mismatch is known, then must not count.
    use base64::Engine;
    let wrong = data(3 * MIB, 99);
    let claimed = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"else"));
    let r = patch(
        &url,
        4 * MIB,
        &wrong,
        &[("upload-checksum", format!("sha256 {claimed}"))],
    )
    .await;
    assert_eq!(r.status, 460, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(head_offset(&url).await, 4 * MIB);
    let r = patch(&url, 4 * MIB, &file[4 * MIB..], &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    srv.wait_status(&client(), &key, "complete").await;
    assert!(srv.stored_bytes(&key) == file, "the stored bytes differ");
}

#[tokio::test]
async fn bytes_a_dead_writer_sent_past_the_recorded_offset_are_replaced() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let file = data(11 * MIB, 3);
    let (url, key) = create(&srv, file.len()).await;
    assert_eq!(patch(&url, 0, &file[..2 * MIB], &[]).await.status, 204);
    // A writer that died before recording anything got 7 MiB of other bytes into the bucket:
    // a whole part and a rest.
    srv.write_tus(&key, 2 * MIB as u64, &data(7 * MIB, 77), false);
    assert_eq!(head_offset(&url).await, 2 * MIB);
    let r = patch(&url, 2 * MIB, &file[2 * MIB..], &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    let st = srv.wait_status(&client(), &key, "complete").await;
    assert_eq!(st["file"]["sha256"], sha256_hex(&file));
    assert!(srv.stored_bytes(&key) == file, "the stored bytes differ");
}

#[tokio::test]
async fn termination_leaves_nothing_in_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let file = data(7 * MIB, 4);
    let (url, _) = create(&srv, 20 * MIB).await;
    assert_eq!(patch(&url, 0, &file, &[]).await.status, 204);
    assert_eq!(multipart_uploads(&srv), 1);
    assert_eq!(srv.tus_uploads(), 1);
    let r = send(client().delete(&url).header(TUS.0, TUS.1)).await;
    assert_eq!(r.status, 204);
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(multipart_uploads(&srv), 0);
    assert_eq!(head_status(&url).await, 404);
}

async fn head_status(url: &str) -> u16 {
    send(client().head(url).header(TUS.0, TUS.1)).await.status
}

/// The last PATCH reaches one instance, whose awaited hook takes a while; a HEAD on another
/// instance meanwhile never reports the full offset before the hook answered, then reports it
/// with the hook's server data, and so does the status there.
#[tokio::test]
async fn another_instance_answers_with_the_server_data_once_the_hook_has() {
    if !s3_available() {
        return;
    }
    use base64::Engine;
    let srv = server();
    let other = twin(&srv);
    let file = data(6 * MIB + 1, 5);
    let (url, key) = create_on(&srv, "slow", file.len()).await;
    assert_eq!(patch(&url, 0, &file[..3 * MIB], &[]).await.status, 204);
    let last = {
        let (url, tail) = (url.clone(), file[3 * MIB..].to_vec());
        tokio::spawn(async move { patch(&url, 3 * MIB, &tail, &[]).await })
    };
    // Until the hook answers, HEAD on the other instance reports less than the whole file
    // (or waits); once it reports the whole file, the server data comes with it.
    let started = std::time::Instant::now();
    let head = loop {
        let r = send(client().head(on(&other, &url)).header(TUS.0, TUS.1)).await;
        assert_eq!(r.status, 200, "HEAD on the other instance");
        let offset: usize = r.header("upload-offset").unwrap().parse().unwrap();
        if offset == file.len() {
            break r;
        }
        assert!(started.elapsed().as_secs() < 30, "never completed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let done = last.await.unwrap();
    assert_eq!(done.status, 204);
    assert!(
        started.elapsed().as_millis() >= 1400,
        "the full offset was reported before the hook answered"
    );
    let raw = head
        .header("uplift-server-data")
        .expect("Uplift-Server-Data");
    let data: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(data["sha256"], sha256_hex(&file));
    let st = other.status(&client(), &key).await;
    assert_eq!(st["status"], "complete");
    assert_eq!(st["serverData"], data);
}

/// UploadThing's protocol on the same core: an upload requested from one instance, its `PUT`
/// cut off there mid-file, resumed through the other from what its `HEAD` says, and stored in
/// the bucket with the hook's server data — nothing on either instance's disk.
#[tokio::test]
async fn an_uploadthing_upload_resumes_through_another_instance_into_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let other = twin(&srv);
    let file = data(7 * MIB + 321, 9);
    let r = send(
        client()
            .post(format!("{}/uploadthing?actionType=upload&slug=blobs", srv.base))
            .json(&serde_json::json!({
                "files": [{ "name": "a.bin", "size": file.len(), "type": "application/octet-stream" }]
            })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.json()[0]["url"].as_str().unwrap().to_string();
    // The first instance takes 6 MiB of the file, then the connection drops.
    let stream = common::http::start_multipart_put(&srv, &url, file.len(), &file[..6 * MIB]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stream);
    // The other instance says where to resume (its HEAD waits for the cut PUT to end).
    let r = send(client().head(on(&other, &url))).await;
    assert_eq!(r.status, 200);
    let at: usize = r.header("x-ut-range-start").unwrap().parse().unwrap();
    assert!(at <= 6 * MIB, "{at}");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file[at..].to_vec()).file_name("blob"),
    );
    let r = send(
        client()
            .put(on(&other, &url))
            .header("range", format!("bytes={at}-"))
            .multipart(form),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let done = r.json();
    assert_eq!(done["fileHash"], sha256_hex(&file));
    assert_eq!(done["serverData"]["sha256"], sha256_hex(&file));
    let got = client()
        .get(done["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&file));
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(multipart_uploads(&srv), 0);
}
