//! SIGKILL in the middle of a large tus upload: the demo binary is killed while a PATCH is
//! streaming, restarted on the same data directory, and the upload resumes from the offset
//! HEAD reports, to a stored file whose SHA-256 is the source's.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const MIB: usize = 1024 * 1024;
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(dir: &std::path::Path, port: u16) -> Demo {
    let child = Command::new(env!("CARGO_BIN_EXE_uplift-demo"))
        .env("UPLIFT_DATA_DIR", dir)
        .env("UPLIFT_BIND", format!("127.0.0.1:{port}"))
        .env("UPLIFT_SECRET", SECRET)
        .env("UPLIFT_DEMO_WEB_DIR", dir.join("no-web"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo binary starts");
    let demo = Demo(child);
    let c = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = c
            .get(format!("http://127.0.0.1:{port}/api/uploads"))
            .send()
            .await
        {
            if r.status() == 200 {
                return demo;
            }
        }
        assert!(Instant::now() < deadline, "the demo did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An MP4 `ftyp` box, then a position-dependent pattern.
fn video(size: usize) -> Vec<u8> {
    let mut v = vec![
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02,
        0x00, b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1',
    ];
    v.extend((v.len()..size).map(|i| (i % 251) as u8 ^ (i >> 20) as u8));
    v
}

async fn patch(c: &reqwest::Client, url: &str, offset: usize, body: &[u8]) -> reqwest::Response {
    c.patch(url)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .await
        .expect("PATCH")
}

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
