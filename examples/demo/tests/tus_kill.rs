//! SIGKILL in the middle of a large tus upload: the demo binary is killed while a PATCH is
//! streaming, restarted on the same data directory, and the upload resumes from the offset
//! HEAD reports, to a stored file whose SHA-256 is the source's.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

mod common;
use common::{free_port, patch, start_on as start, video, MIB};

async fn head_offset(c: &reqwest::Client, url: &str) -> usize {
    let r = c
        .head(url)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_a_large_upload_to_the_right_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = video(64 * MIB);
    let want = Sha256::digest(&data).to_vec();
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let demo = start(dir.path(), port).await;
    let meta = format!(
        "input {},filename {},filetype {}",
        STANDARD.encode(r#"{"caption":"a long video"}"#),
        STANDARD.encode("clip.mp4"),
        STANDARD.encode("video/mp4")
    );
    let r = c
        .post(format!("http://127.0.0.1:{port}/api/uploads/mediaPost/tus"))
        .header("tus-resumable", "1.0.0")
        .header("x-user", "ann")
        .header("upload-length", data.len().to_string())
        .header("upload-metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let url = r.headers()["location"].to_str().unwrap().to_string();
    let key = r.headers()["uplift-key"].to_str().unwrap().to_string();

    // 16 MiB in four PATCHes, acknowledged.
    for i in 0..4 {
        let r = patch(&c, &url, i * 4 * MIB, &data[i * 4 * MIB..(i + 1) * 4 * MIB]).await;
        assert_eq!(r.status(), 204);
    }
    // Then one PATCH for the rest that the server never finishes: killed after 20 MiB of it.
    let path = url.split_once(&format!("127.0.0.1:{port}")).unwrap().1;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {}\r\n\
         content-length: {}\r\n\r\n",
        16 * MIB,
        48 * MIB
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&data[16 * MIB..36 * MIB]).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(demo); // SIGKILL
    drop(s);

    let _demo = start(dir.path(), port).await;
    let offset = head_offset(&c, &url).await;
    assert!(
        (16 * MIB..=36 * MIB).contains(&offset),
        "offset after the restart: {offset}"
    );
    // Resume in 8 MiB PATCHes; the dead PATCH's lease may still hold the lock briefly (423).
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut offset = offset;
    while offset < data.len() {
        assert!(Instant::now() < deadline, "the upload did not finish");
        let end = (offset + 8 * MIB).min(data.len());
        let r = patch(&c, &url, offset, &data[offset..end]).await;
        match r.status().as_u16() {
            204 => {
                offset = r.headers()["upload-offset"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            }
            423 => tokio::time::sleep(Duration::from_millis(500)).await,
            other => panic!("PATCH at {offset}: {other} {}", r.text().await.unwrap()),
        }
    }
    // The hook runs in the background; the status endpoint shows the outcome.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st: serde_json::Value = c
            .get(format!("http://127.0.0.1:{port}/api/uploads/files/{key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if st["status"] == "complete" {
            break;
        }
        assert_ne!(st["status"], "failed", "{st}");
        assert!(Instant::now() < deadline, "never completed: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = std::fs::read(dir.path().join("files").join(&key)).unwrap();
    assert_eq!(stored.len(), data.len());
    assert_eq!(Sha256::digest(&stored).to_vec(), want, "stored SHA-256");
}
