//! Start-up recovery after SIGKILL, on the real demo binary: a resume loses at most 8 MiB of a
//! PATCH cut off mid-body, the dead process's tus locks are released at once, a PUT cut off
//! mid-body reads `failed`, and HEAD never reports an upload killed after its last byte as
//! complete before its completion is decided. Every wait is a bounded poll.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod common;
use common::{free_port, patch, start_on as start, video, MIB};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

struct Upload {
    url: String,
    path: String,
    key: String,
}

async fn create(c: &reqwest::Client, port: u16, len: usize) -> Upload {
    let origin = format!("http://127.0.0.1:{port}");
    let (url, key) = common::tus_create(c, &origin, len, "crash").await;
    let path = url.split_once(&origin).unwrap().1.to_string();
    Upload { url, path, key }
}

/// HEAD: status and `Upload-Offset`.
async fn head(c: &reqwest::Client, url: &str) -> (u16, Option<usize>) {
    let r = c
        .head(url)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD");
    let offset = r
        .headers()
        .get("upload-offset")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (r.status().as_u16(), offset)
}

async fn status(c: &reqwest::Client, port: u16, key: &str) -> Value {
    c.get(format!("http://127.0.0.1:{port}/api/uploads/files/{key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A raw PATCH of `body` at `offset`, sent in the background; the socket is closed when the
/// task is aborted or the server goes.
fn raw_patch(port: u16, path: &str, offset: usize, body: Vec<u8>) -> tokio::task::JoinHandle<()> {
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {offset}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    tokio::spawn(async move {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = s.write_all(head.as_bytes()).await;
        for piece in body.chunks(MIB) {
            if s.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = s.flush().await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
}

fn tus_file(dir: &Path, key: &str) -> PathBuf {
    dir.join("files").join(".tus").join(key)
}

fn size_of(p: &Path) -> usize {
    std::fs::metadata(p).map(|m| m.len() as usize).unwrap_or(0)
}

/// Polls until `f` holds (at most 30 s, every `every`).
async fn until(what: &str, every: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(every).await;
    }
}

/// Sends the rest in 8 MiB PATCHes: every one must be accepted at once (no 423).
async fn finish(c: &reqwest::Client, url: &str, data: &[u8], mut offset: usize) {
    while offset < data.len() {
        let end = (offset + 8 * MIB).min(data.len());
        let r = patch(c, url, offset, &data[offset..end]).await;
        assert_eq!(
            r.status(),
            204,
            "PATCH at {offset}: {}",
            r.text().await.unwrap()
        );
        offset = end;
    }
}

async fn wait_complete(c: &reqwest::Client, port: u16, key: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = status(c, port, key).await;
        if st["status"] == "complete" {
            return st;
        }
        assert_ne!(st["status"], "failed", "{st}");
        assert!(Instant::now() < deadline, "never completed: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_patch_costs_at_most_8_mib_and_frees_the_lock_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = video(48 * MIB);
    let c = client();
    let demo = start(dir.path(), port).await;
    let up = create(&c, port, data.len()).await;

    // One PATCH of the whole file, killed once ≥ 30 MiB of it are on disk.
    let sender = raw_patch(port, &up.path, 0, data.clone());
    let file = tus_file(dir.path(), &up.key);
    until("30 MiB on disk", Duration::from_millis(2), || {
        size_of(&file) >= 30 * MIB
    })
    .await;
    let seen = size_of(&file);
    drop(demo); // SIGKILL
    sender.abort();

    let restarted = Instant::now();
    let _demo = start(dir.path(), port).await;
    let (code, offset) = head(&c, &up.url).await;
    assert_eq!(code, 200);
    let offset = offset.unwrap();
    assert!(
        offset + 8 * MIB >= seen && offset <= data.len(),
        "resumed at {offset} with {seen} bytes on disk at the kill"
    );
    // The dead process's lock is gone: the resume is accepted at once, not after the lease.
    let end = (offset + 8 * MIB).min(data.len());
    let r = patch(&c, &up.url, offset, &data[offset..end]).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    assert!(restarted.elapsed() < Duration::from_secs(10));
    finish(&c, &up.url, &data, end).await;
    wait_complete(&c, port, &up.key).await;
    let stored = std::fs::read(dir.path().join("files").join(&up.key)).unwrap();
    assert!(
        Sha256::digest(&stored) == Sha256::digest(&data),
        "stored SHA-256"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_killed_mid_body_reads_failed_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = video(24 * MIB);
    let c = client();
    let demo = start(dir.path(), port).await;
    let origin = format!("http://127.0.0.1:{port}");
    let file = &common::prepare_video(&c, &origin, data.len(), "crash").await;
    let key = file["key"].as_str().expect("prepared").to_string();
    let url = file["uploadUrl"].as_str().unwrap();
    let target = url.split_once(&format!("127.0.0.1:{port}")).unwrap().1;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "PUT {target} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: video/mp4\r\n\
         content-length: {}\r\n\r\n",
        data.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&data[..8 * MIB]).await.unwrap();
    s.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&c, port, &key).await["status"] != "uploading" {
        assert!(Instant::now() < deadline, "the PUT never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(demo); // SIGKILL, the body half sent
    drop(s);

    let _demo = start(dir.path(), port).await;
    let st = status(&c, port, &key).await;
    assert_eq!(st["status"], "failed", "{st}");
    assert_eq!(st["error"]["code"], "SIZE_MISMATCH", "{st}");
    assert!(!dir.path().join("files").join(&key).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_after_a_kill_after_the_last_byte_waits_for_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = video(64 * MIB);
    let c = client();
    let demo = start(dir.path(), port).await;
    let up = create(&c, port, data.len()).await;

    // First kill mid-way, so the running digest is lost and completion re-reads the file:
    // that re-read is the window between the last byte and a decided completion.
    let sender = raw_patch(port, &up.path, 0, data[..32 * MIB].to_vec());
    let file = tus_file(dir.path(), &up.key);
    until("16 MiB on disk", Duration::from_millis(5), || {
        size_of(&file) >= 16 * MIB
    })
    .await;
    drop(demo);
    sender.abort();
    let demo = start(dir.path(), port).await;
    let offset = head(&c, &up.url).await.1.unwrap();

    // The rest in one PATCH; killed as soon as its last byte is recorded, while completion
    // reads the file back to hash it (its digest went with the first process).
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("uplift.db").display()
    ))
    .await
    .unwrap();
    let sender = raw_patch(port, &up.path, offset, data[offset..].to_vec());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (offset, status): (Option<i64>, String) =
            sqlx::query_as("SELECT tus_offset, status FROM uplift_uploads WHERE key = ?")
                .bind(&up.key)
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(status, "uploading", "completion ended before the kill");
        if offset == Some(data.len() as i64) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last byte was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(demo);
    sender.abort();
    db.close().await;

    let _demo = start(dir.path(), port).await;
    // HEAD reports the full offset only once the upload is stored; never while `uploading`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, offset) = head(&c, &up.url).await;
        let st = status(&c, port, &up.key).await;
        if code == 200 && offset == Some(data.len()) {
            assert!(
                st["status"] == "completing" || st["status"] == "complete",
                "HEAD reported completion while the upload was {st}"
            );
            break;
        }
        assert!(
            code == 423 || (code == 200 && offset < Some(data.len())),
            "HEAD: {code} {offset:?}, upload {st}"
        );
        assert!(Instant::now() < deadline, "HEAD never reported completion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_complete(&c, port, &up.key).await;
    let stored = std::fs::read(dir.path().join("files").join(&up.key)).unwrap();
    assert!(
        Sha256::digest(&stored) == Sha256::digest(&data),
        "stored SHA-256"
    );
}
