//! The demo binary as these tests run it: on a port of 127.0.0.1 over a data directory, ready
//! once `GET /api/uploads` answers, SIGKILLed when dropped; and what the tests send it.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MIB: usize = 1024 * 1024;
/// The demo's signing secret in these tests (64 hex digits).
pub const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running demo and its origin (`http://127.0.0.1:PORT`); SIGKILLed when dropped.
pub struct Demo(Child, pub String);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo on a free port over `dir`.
pub async fn start(dir: &Path) -> Demo {
    start_on(dir, free_port()).await
}

/// Starts the demo on `port` over `dir` (a restart reuses both), on local disk.
pub async fn start_on(dir: &Path, port: u16) -> Demo {
    start_with(dir, port, &[("UPLIFT_S3_ENDPOINT", "")]).await
}

/// Starts the demo on `port` over `dir` with more environment variables.
pub async fn start_with(dir: &Path, port: u16, env: &[(&str, &str)]) -> Demo {
    let child = Command::new(env!("CARGO_BIN_EXE_uplift-demo"))
        .envs(env.iter().copied())
        .env("UPLIFT_DATA_DIR", dir)
        .env("UPLIFT_BIND", format!("127.0.0.1:{port}"))
        .env("UPLIFT_SECRET", SECRET)
        .env("UPLIFT_DEMO_WEB_DIR", dir.join("no-web"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo binary starts");
    let demo = Demo(child, format!("http://127.0.0.1:{port}"));
    let c = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !c
        .get(format!("{}/api/uploads", demo.1))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "the demo did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    demo
}

/// An MP4 `ftyp` box, then a position-dependent pattern.
pub fn video(size: usize) -> Vec<u8> {
    let mut v = vec![
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02,
        0x00, b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1',
    ];
    v.extend((v.len()..size).map(|i| (i % 251) as u8 ^ (i >> 20) as u8));
    v
}

/// A tus PATCH of `body` at `offset`.
pub async fn patch(
    c: &reqwest::Client,
    url: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    c.patch(url)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .await
        .expect("PATCH")
}
