//! The `uplift` binary against a real Uplift server over HTTP: a signed PUT, a signed POST form
//! and a token upload print the stored file object; a refusal exits 1 with the server's code
//! on stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uplift::{
    LocalStorage, PostOptions, Records, SignOptions, SignedUploads, TokenRequest, Uplift,
};

/// A real Uplift server on 127.0.0.1 (local disk and SQLite in a temp dir) on its own thread,
/// and its signing handle; stopped with the process.
struct Server {
    base: String,
    signed: SignedUploads,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let records = Records::sqlite_in_dir(&data).await.expect("SQLite records");
            let up = Uplift::builder(uplift::Router::new())
                .storage(LocalStorage::new(data.join("files")).unwrap())
                .records(records)
                .secret(b"cli-test-secret-cli-test-secret-!".as_slice())
                .build()
                .expect("config");
            let app_up = up.clone();
            let server = HttpServer::new(move || App::new().service(app_up.service()))
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .unwrap();
            let port = server.addrs()[0].port();
            let server = server.run();
            tx.send((port, up.signed_uploads())).unwrap();
            let _ = server.await;
        })
    });
    let (port, signed) = rx.recv().expect("the server starts");
    let origin = format!("http://127.0.0.1:{port}");
    Server {
        base: format!("{origin}/api/uploads"),
        signed: signed.with_origin(origin),
        _dir: dir,
    }
}

fn png(dir: &Path, size: usize) -> (PathBuf, String) {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend((v.len()..size).map(|i| (i * 7 % 256) as u8));
    let path = dir.join("pic.png");
    std::fs::write(&path, &v).unwrap();
    let sha: String = Sha256::digest(&v)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (path, sha)
}

/// Runs `uplift ARGS`, feeding `stdin`.
fn uplift(args: &[&str], stdin: Option<String>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_uplift"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("uplift starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "uplift failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is the file object as JSON")
}

#[test]
fn put_and_post_print_the_file_object_and_refusals_exit_non_zero() {
    let srv = start();
    let tmp = tempfile::tempdir().unwrap();
    let (pic, sha) = png(tmp.path(), 150_000);
    let pic_arg = pic.display().to_string();

    // put: a signed URL and a file.
    let signed = srv
        .signed
        .get_signed_put_with(
            "cli",
            &SignOptions {
                filename: Some("put.png".into()),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let out = uplift(&["put", &signed.upload_url, &pic_arg], None);
    let file = stdout_json(&out);
    assert_eq!(file["id"], signed.upload_id.as_str());
    assert_eq!(file["folder"], "cli");
    assert_eq!(file["filename"], "put.png");
    assert_eq!(file["filesize"], 150_000);
    assert_eq!(file["sha256"], sha.as_str());
    assert_eq!(file["type"], "image/png");

    // The same one-time URL again: refused, exit 1, the code on stderr, nothing on stdout.
    let out = uplift(&["put", &signed.upload_url, &pic_arg], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused: ALREADY_USED (409)"), "{err}");

    // put: a SignedPut JSON on stdin sends the Content-Type it binds, whatever the file's
    // extension says; the bare URL of another one relies on the extension, and is refused.
    let dat = tmp.path().join("pic.dat");
    std::fs::copy(&pic, &dat).unwrap();
    let dat_arg = dat.display().to_string();
    let bound = |name: &str| {
        srv.signed
            .get_signed_put_with(
                "cli/typed",
                &SignOptions {
                    filename: Some(name.into()),
                    content_type: Some("image/png".into()),
                    ..SignOptions::default()
                },
            )
            .unwrap()
    };
    let json = serde_json::to_string(&bound("a.png")).unwrap();
    let file = stdout_json(&uplift(&["put", "-", &dat_arg], Some(json)));
    assert_eq!(
        (file["filename"].as_str(), file["type"].as_str()),
        (Some("a.png"), Some("image/png"))
    );
    let out = uplift(&["put", &bound("b.png").upload_url, &dat_arg], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused: UNSUPPORTED_TYPE (415)"), "{err}");

    // post: the SignedPost JSON on stdin.
    let post = srv.signed.get_signed_post("cli/forms").unwrap();
    let json = serde_json::to_string(&post).unwrap();
    let out = uplift(&["post", "-", &pic_arg], Some(json));
    let file = stdout_json(&out);
    assert_eq!(file["id"], post.upload_id.as_str());
    assert_eq!(file["folder"], "cli/forms");
    assert_eq!(file["sha256"], sha.as_str());

    // post: a bare PostForm from a file, with a length range the file breaks.
    let small = srv
        .signed
        .get_signed_post_with(
            "cli",
            &PostOptions {
                content_length_range: Some((0, 1000)),
                ..PostOptions::default()
            },
        )
        .unwrap();
    let form_path = tmp.path().join("form.json");
    std::fs::write(&form_path, serde_json::to_string(&small.form).unwrap()).unwrap();
    let out = uplift(&["post", &form_path.display().to_string(), &pic_arg], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused: POLICY_VIOLATION (403)"), "{err}");

    // put with a token, to `{base}/objects/{dir}/{name}`.
    let token = srv
        .signed
        .create_token(TokenRequest {
            dir: "cli/tok".into(),
            expire_time: Some(Duration::from_secs(60)),
            ..Default::default()
        })
        .unwrap();
    let url = format!("{}/objects/cli/tok/t.png", srv.base);
    let out = uplift(&["put", &url, &pic_arg, "--token", &token.token], None);
    let file = stdout_json(&out);
    assert_eq!(
        (file["folder"].as_str(), file["filename"].as_str()),
        (Some("cli/tok"), Some("t.png"))
    );
    // Without it: UNAUTHORIZED.
    let out = uplift(&["put", &url, &pic_arg], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNAUTHORIZED (401)"));

    // A garbage form is a usage error (2), before any request; a missing file is 3.
    let out = uplift(&["post", "-", &pic_arg], Some("{}".into()));
    assert_eq!(out.status.code(), Some(2));
    let missing = tmp.path().join("missing.png").display().to_string();
    let out = uplift(&["put", &url, &missing, "--token", &token.token], None);
    assert_eq!(out.status.code(), Some(3));
}
