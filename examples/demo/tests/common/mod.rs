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

/// Whether the bucket of `UPLIFT_S3_*` is there: `UPLIFT_S3_ENDPOINT` is set. When it is not,
/// the caller skips with a note — unless `UPLIFT_REQUIRE_S3=1`, where that is a failure.
pub fn s3_configured(what: &str) -> bool {
    if std::env::var("UPLIFT_S3_ENDPOINT").is_ok_and(|v| !v.is_empty()) {
        return true;
    }
    assert!(
        std::env::var("UPLIFT_REQUIRE_S3").as_deref() != Ok("1"),
        "UPLIFT_REQUIRE_S3=1 but UPLIFT_S3_ENDPOINT is not set"
    );
    eprintln!("UPLIFT_S3_ENDPOINT not set: skipping {what}");
    false
}

/// A fresh PostgreSQL schema name on `UPLIFT_TEST_DATABASE_URL` (default
/// `postgres://postgres@127.0.0.1:5432/test`), dropped with everything in it when this is
/// dropped (also when the test panics). The schema itself is left for the demo to create.
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    /// `None` (after a note) when PostgreSQL is unreachable and `UPLIFT_REQUIRE_POSTGRES` is
    /// not `1`.
    pub async fn fresh(prefix: &str, what: &str) -> Option<PgSchema> {
        use sqlx::Connection;
        let url = std::env::var("UPLIFT_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
        let reachable =
            tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url)).await;
        match reachable {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out after 5 s".into(),
                };
                assert!(
                    std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "UPLIFT_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {url}: {why}"
                );
                eprintln!("PostgreSQL not reachable at {url} ({why}): skipping {what}");
                return None;
            }
        }
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        Some(PgSchema { url, name })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside the test's runtime (or while unwinding): use a fresh one.
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop the test schema: {dropped:?}");
        }
    }
}

/// A PDF of `pages` uncompressed pages (the demo's review hook counts them).
pub fn pdf(pages: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut body = format!(
        "%PDF-1.4\n1 0 obj<</Type /Catalog /Pages 2 0 R>>endobj\n2 0 obj<</Type /Pages /Kids [{}] /Count {pages}>>endobj\n",
        kids.join(" ")
    );
    for i in 0..pages {
        body += &format!("{} 0 obj<</Type /Page /Parent 2 0 R>>endobj\n", i + 3);
    }
    body += "%%EOF\n";
    body.into_bytes()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a tus upload of `len` bytes of a video on `mediaPost` (as `ann`, with `caption`) on
/// `origin`: its URL and key.
pub async fn tus_create(
    c: &reqwest::Client,
    origin: &str,
    len: usize,
    caption: &str,
) -> (String, String) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let input = serde_json::json!({ "caption": caption }).to_string();
    let meta = format!(
        "input {},filename {},filetype {}",
        STANDARD.encode(input),
        STANDARD.encode("clip.mp4"),
        STANDARD.encode("video/mp4")
    );
    let r = c
        .post(format!("{origin}/api/uploads/mediaPost/tus"))
        .header("tus-resumable", "1.0.0")
        .header("x-user", "ann")
        .header("upload-length", len.to_string())
        .header("upload-metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let url = r.headers()["location"].to_str().unwrap().to_string();
    let key = r.headers()["uplift-key"].to_str().unwrap().to_string();
    (url, key)
}

/// Prepares one video of `len` bytes on `mediaPost` (as `ann`, with `caption`) on `origin`:
/// the prepared file (`key`, `uploadUrl`, …).
pub async fn prepare_video(
    c: &reqwest::Client,
    origin: &str,
    len: usize,
    caption: &str,
) -> serde_json::Value {
    let prepared: serde_json::Value = c
        .post(format!("{origin}/api/uploads/mediaPost"))
        .header("x-user", "ann")
        .json(&serde_json::json!({
            "files": [{ "name": "clip.mp4", "size": len, "type": "video/mp4" }],
            "input": { "caption": caption }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    prepared["files"][0].clone()
}
