//! The client side of signed uploads against the real demo binary over HTTP: the reSolve seed
//! flow (signed PUT, signed POST form, bearer token) and the Remotion flow (presign with a
//! 200 MB limit and a content type, PUT with progress, one byte over refused), each through
//! `uplift::client`, checking the file objects and the bytes the server stored.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uplift::client::{upload_post, upload_put, upload_signed_put, ClientError, Uploader};
use uplift::protocol::{FileObject, SignedPost, SignedPut, UploadToken};
use uplift::ErrorCode;

const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const MB: u64 = 1_000_000;

struct Demo {
    child: Child,
    origin: String,
    files: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    async fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_uplift-demo"))
            .env("UPLIFT_DATA_DIR", dir.path())
            .env("UPLIFT_BIND", format!("127.0.0.1:{port}"))
            .env("UPLIFT_SECRET", SECRET)
            .env("UPLIFT_DEMO_WEB_DIR", dir.path().join("no-web"))
            .env("UPLIFT_PUBLIC_URL", "")
            .env("DATABASE_URL", "")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the demo binary starts");
        let demo = Demo {
            child,
            origin: format!("http://127.0.0.1:{port}"),
            files: dir.path().join("files"),
            _dir: dir,
        };
        let c = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = c.get(format!("{}/api/uploads", demo.origin)).send().await {
                if r.status() == 200 {
                    return demo;
                }
            }
            assert!(Instant::now() < deadline, "the demo did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn base(&self) -> String {
        format!("{}/api/uploads", self.origin)
    }

    /// One of the demo's signing endpoints (`signed-put`, `signed-post`, `token`).
    async fn sign<T: serde::de::DeserializeOwned>(&self, what: &str, body: Value) -> T {
        let r = reqwest::Client::new()
            .post(format!("{}/api/demo/{what}", self.origin))
            .header("x-user", "ann")
            .json(&body)
            .send()
            .await
            .expect("the demo's signing endpoint answers");
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "/api/demo/{what}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("/api/demo/{what}: {e}: {text}"))
    }

    /// The stored bytes of an object, from the local backend's layout.
    fn stored(&self, file: &FileObject) -> Vec<u8> {
        let path = self
            .files
            .join("objects")
            .join(&file.folder)
            .join(&file.filename);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// A PNG header, then a position-dependent pattern: `size` bytes the sniffer takes for a PNG.
fn png(dir: &Path, name: &str, size: usize) -> (PathBuf, String) {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend((v.len()..size).map(|i| (i % 251) as u8 ^ (i >> 16) as u8));
    let path = dir.join(name);
    std::fs::write(&path, &v).unwrap();
    (path, hex(&Sha256::digest(&v)))
}

/// An MP4 (`ftyp isom`) of `size` bytes: the box, then zeros. Written sparse, so a 200 MB file
/// costs no disk.
fn sparse_mp4(dir: &Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    let head = [
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02,
        0x00, b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1',
    ];
    std::fs::write(&path, head).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(size)
        .unwrap();
    path
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refused(e: ClientError) -> (u16, ErrorCode) {
    match e {
        ClientError::Refused { status, error } => (status, error.code),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_seed_flow_put_post_and_token() {
    let demo = Demo::start().await;
    let tmp = tempfile::tempdir().unwrap();

    // getSignedPut(dir) → uploadPut(url, path)
    let (a, a_sha) = png(tmp.path(), "a.png", 300_000);
    let signed: SignedPut = demo
        .sign(
            "signed-put",
            json!({ "dir": "seed/put", "filename": "a.png" }),
        )
        .await;
    let file = upload_put(&signed.upload_url, &a)
        .await
        .expect("the PUT is stored");
    assert_eq!(file.id, signed.upload_id);
    assert_eq!(
        (file.folder.as_str(), file.filename.as_str()),
        ("seed/put", "a.png")
    );
    assert_eq!(file.filesize, 300_000);
    assert_eq!(file.sha256, a_sha);
    assert_eq!(file.content_type, "image/png");
    assert_eq!(hex(&Sha256::digest(demo.stored(&file))), a_sha);
    // One-time by default: the same URL again is refused.
    let again = upload_put(&signed.upload_url, &a).await.unwrap_err();
    assert_eq!(refused(again), (409, ErrorCode::AlreadyUsed));

    // getSignedPost(dir) → uploadPost(form, path)
    let (b, b_sha) = png(tmp.path(), "b.png", 200_001);
    let post: SignedPost = demo
        .sign(
            "signed-post",
            json!({ "dir": "seed/post", "filename": "b.png" }),
        )
        .await;
    let file = upload_post(&post.form, &b)
        .await
        .expect("the POST is stored");
    assert_eq!(file.id, post.upload_id);
    assert_eq!(file.folder, "seed/post");
    assert_eq!(file.filesize, 200_001);
    assert_eq!(file.sha256, b_sha);
    assert_eq!(hex(&Sha256::digest(demo.stored(&file))), b_sha);

    // createToken({ dir, expire_time }) → an upload with the token, PUT and POST.
    let token: UploadToken = demo
        .sign("token", json!({ "dir": "seed/token", "expiresIn": 600 }))
        .await;
    assert_eq!(token.dir, "seed/token");
    let (c, c_sha) = png(tmp.path(), "c.png", 70_000);
    let file = Uploader::new()
        .put_with_token(&demo.base(), "seed/token", "nested/c.png", &c, &token.token)
        .await
        .expect("the token PUT is stored");
    assert_eq!(file.folder, "seed/token/nested");
    assert_eq!(file.filename, "c.png");
    assert_eq!(file.sha256, c_sha);
    assert_eq!(hex(&Sha256::digest(demo.stored(&file))), c_sha);
    let file = Uploader::new()
        .post_with_token(&demo.base(), "seed/token", &b, &token.token)
        .await
        .expect("the token POST is stored");
    assert_eq!(
        (file.folder.as_str(), file.filename.as_str()),
        ("seed/token", "b.png")
    );
    assert_eq!(file.sha256, b_sha);
    // The token authorizes its folder only.
    let other = Uploader::new()
        .put_with_token(&demo.base(), "elsewhere", "c.png", &c, &token.token)
        .await
        .unwrap_err();
    assert_eq!(refused(other), (403, ErrorCode::TokenScope));
    let bad = Uploader::new()
        .put_with_token(&demo.base(), "seed/token", "c.png", &c, "not.a.jwt")
        .await
        .unwrap_err();
    assert_eq!(refused(bad), (401, ErrorCode::TokenInvalid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remotion_flow_presigned_put_with_progress_and_a_size_limit() {
    let demo = Demo::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let presign = |name: &str| {
        json!({
            "dir": "renders",
            "filename": name,
            "contentType": "video/mp4",
            "maxSize": 200 * MB,
        })
    };

    let size = 24 * 1024 * 1024 + 7;
    let clip = sparse_mp4(tmp.path(), "clip.mp4", size);
    let signed: SignedPut = demo.sign("signed-put", presign("clip.mp4")).await;
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let log = seen.clone();
    let file = Uploader::new()
        .on_progress(move |sent, total| log.lock().unwrap().push((sent, total)))
        .put_signed(&signed, &clip)
        .await
        .expect("the render is stored");
    assert_eq!(file.filesize, size);
    assert_eq!(file.content_type, "video/mp4");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 10, "progress came in chunks: {}", seen.len());
    assert!(seen.iter().all(|&(_, total)| total == size));
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress is monotonic"
    );
    assert_eq!(
        seen.last().unwrap().0,
        size,
        "progress ends at the file size"
    );

    // A content type other than the bound one is refused.
    let signed: SignedPut = demo.sign("signed-put", presign("other.mp4")).await;
    let e = Uploader::new()
        .content_type("image/png")
        .put_signed(&signed, &clip)
        .await
        .unwrap_err();
    assert_eq!(refused(e), (415, ErrorCode::UnsupportedType));

    // One byte over 200 MB: refused, whether on the announced length or on the bytes.
    let big = sparse_mp4(tmp.path(), "big.mp4", 200 * MB + 1);
    let signed: SignedPut = demo.sign("signed-put", presign("big.mp4")).await;
    let e = upload_signed_put(&signed, &big).await.unwrap_err();
    assert_eq!(refused(e), (413, ErrorCode::TooLarge));
    assert!(!demo.files.join("objects/renders/big.mp4").exists());
}
