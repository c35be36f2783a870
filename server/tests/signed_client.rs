//! `uplift::client` against a real server over HTTP: the reSolve seed flow (signed PUT, signed
//! POST form, bearer token, each minted by `SignedUploads`) and the Remotion flow (presign with
//! a 200 MB limit and a content type, PUT with progress, one byte over refused), checking the
//! file objects and the bytes in storage.
//!
//! Needs the `client` feature (on in `cargo test --workspace`, through the CLI crate).

#![cfg(feature = "client")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fixtures::{png, sha256_hex};
use common::signed::objects;
use common::TestServer;
use uplift::client::{upload_post, upload_put, upload_signed_put, ClientError, Uploader};
use uplift::{ErrorCode, SignOptions, SizeRule, TokenRequest};

const MB: u64 = 1_000_000;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An MP4 (`ftyp isom` box, then zeros) of `size` bytes, sparse: 200 MB cost no disk.
fn sparse_mp4(dir: &Path, name: &str, size: u64) -> PathBuf {
    let head = [
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02,
        0x00, b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1',
    ];
    let path = write(dir, name, &head);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(size)
        .unwrap();
    path
}

/// The bytes stored at `folder/filename`.
fn stored(srv: &TestServer, key: &str) -> Vec<u8> {
    objects(srv)
        .into_iter()
        .find(|(p, _)| p == key)
        .unwrap_or_else(|| panic!("{key} is not stored: {:?}", objects(srv)))
        .1
}

#[track_caller]
fn refused(e: ClientError) -> (u16, ErrorCode) {
    match e {
        ClientError::Refused { status, error } => (status, error.code),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_seed_flow_put_post_and_token() {
    let srv = TestServer::start(uplift::Router::new());
    let tmp = tempfile::tempdir().unwrap();

    // getSignedPut(dir) → uploadPut(url, path)
    let a = png(300_000);
    let a_path = write(tmp.path(), "a.png", &a);
    let signed = srv.signed.get_signed_put("seed/put").unwrap();
    let file = upload_put(&signed.upload_url, &a_path).await.unwrap();
    assert_eq!(file.id, signed.upload_id);
    assert_eq!(file.folder, "seed/put");
    assert_eq!(file.filesize, 300_000);
    assert_eq!(file.content_type, "image/png");
    assert_eq!(file.sha256, sha256_hex(&a));
    assert_eq!(file.crc32, crc32fast::hash(&a));
    assert_eq!(stored(&srv, &format!("seed/put/{}", file.filename)), a);
    // One-time by default: the same URL again is refused, the object unchanged.
    let e = upload_put(&signed.upload_url, &a_path).await.unwrap_err();
    assert_eq!(refused(e), (409, ErrorCode::AlreadyUsed));

    // getSignedPost(dir) → uploadPost(form, path)
    let b = png(200_001);
    let b_path = write(tmp.path(), "b.png", &b);
    let post = srv.signed.get_signed_post("seed/post").unwrap();
    let file = upload_post(&post.form, &b_path).await.unwrap();
    assert_eq!(file.id, post.upload_id);
    assert_eq!(
        (file.folder.as_str(), file.filesize),
        ("seed/post", 200_001)
    );
    assert_eq!(file.sha256, sha256_hex(&b));
    assert_eq!(stored(&srv, &format!("seed/post/{}", file.filename)), b);

    // createToken({ dir, expire_time }) → PUT and POST with the token.
    let token = srv
        .signed
        .create_token(TokenRequest {
            dir: "seed/token".into(),
            expire_time: Some(Duration::from_secs(600)),
            ..Default::default()
        })
        .unwrap();
    let file = Uploader::new()
        .put_with_token(&srv.base, &token.dir, "nested/c.png", &a_path, &token.token)
        .await
        .unwrap();
    assert_eq!(
        (file.folder.as_str(), file.filename.as_str()),
        ("seed/token/nested", "c.png")
    );
    assert_eq!(file.sha256, sha256_hex(&a));
    assert_eq!(stored(&srv, "seed/token/nested/c.png"), a);
    let file = Uploader::new()
        .post_with_token(&srv.base, &token.dir, &b_path, &token.token)
        .await
        .unwrap();
    assert_eq!(
        (file.folder.as_str(), file.filename.as_str()),
        ("seed/token", "b.png")
    );
    assert_eq!(stored(&srv, "seed/token/b.png"), b);
    // Another folder, or a token that is not one, is refused with the server's code.
    let e = Uploader::new()
        .put_with_token(&srv.base, "elsewhere", "c.png", &a_path, &token.token)
        .await
        .unwrap_err();
    assert_eq!(refused(e), (403, ErrorCode::TokenScope));
    let e = Uploader::new()
        .put_with_token(&srv.base, &token.dir, "c.png", &a_path, "not.a.jwt")
        .await
        .unwrap_err();
    assert_eq!(refused(e), (401, ErrorCode::TokenInvalid));
    assert!(!objects(&srv)
        .iter()
        .any(|(p, _)| p.starts_with("elsewhere")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remotion_flow_presigned_put_with_progress_and_a_size_limit() {
    let srv = TestServer::start(uplift::Router::new());
    let tmp = tempfile::tempdir().unwrap();
    let presign = |name: &str| {
        srv.signed
            .get_signed_put_with(
                "renders",
                &SignOptions {
                    filename: Some(name.into()),
                    content_type: Some("video/mp4".into()),
                    size: Some(SizeRule::Range(0, 200 * MB)),
                    ..SignOptions::default()
                },
            )
            .unwrap()
    };

    let size = 24 * 1024 * 1024 + 7;
    let clip = sparse_mp4(tmp.path(), "clip.bin", size);
    let signed = presign("clip.mp4");
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let log = seen.clone();
    let file = Uploader::new()
        .on_progress(move |sent, total| log.lock().unwrap().push((sent, total)))
        .put_signed(&signed, &clip)
        .await
        .unwrap();
    assert_eq!(
        (file.filesize, file.content_type.as_str()),
        (size, "video/mp4")
    );
    assert_eq!(stored(&srv, "renders/clip.mp4").len() as u64, size);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 100, "progress in chunks: {} calls", seen.len());
    assert!(seen.iter().all(|&(_, total)| total == size));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "monotonic");
    assert_eq!(seen.last().unwrap().0, size, "ends at the file size");

    // Not the bound content type: refused.
    let e = Uploader::new()
        .content_type("video/webm")
        .put_signed(&presign("other.mp4"), &clip)
        .await
        .unwrap_err();
    assert_eq!(refused(e), (415, ErrorCode::UnsupportedType));

    // One byte over 200 MB: refused, and nothing is stored.
    let big = sparse_mp4(tmp.path(), "big.bin", 200 * MB + 1);
    let e = upload_signed_put(&presign("big.mp4"), &big)
        .await
        .unwrap_err();
    assert_eq!(refused(e), (413, ErrorCode::TooLarge));
    assert_eq!(
        objects(&srv)
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        ["renders/clip.mp4"]
    );
}
