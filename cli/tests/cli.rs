//! The `uplift` binary against the real demo server: a signed PUT and a signed POST form print
//! the stored file object; a refusal exits 1 with the server's code on stderr.
//!
//! The demo binary is taken from `UPLIFT_DEMO_BIN`, else from beside this crate's binary in
//! the same target directory (`cargo test --workspace` builds both).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn demo_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("UPLIFT_DEMO_BIN") {
        return p.into();
    }
    let cli = Path::new(env!("CARGO_BIN_EXE_uplift"));
    let demo = cli.with_file_name(format!("uplift-demo{}", std::env::consts::EXE_SUFFIX));
    assert!(
        demo.is_file(),
        "{} is missing: run `cargo build -p uplift-demo` (or `cargo test --workspace`), \
         or set UPLIFT_DEMO_BIN",
        demo.display()
    );
    demo
}

struct Demo {
    child: Child,
    origin: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(demo_bin())
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

async fn sign(demo: &Demo, what: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/api/demo/{what}", demo.origin))
        .header("x-user", "ann")
        .json(&body)
        .send()
        .await
        .expect("the demo's signing endpoint answers");
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "/api/demo/{what}: {status} {text}");
    serde_json::from_str(&text).unwrap()
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

/// Runs `uplift ARGS`, feeding `stdin`, off the async runtime.
async fn uplift(args: Vec<String>, stdin: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_uplift"))
            .args(&args)
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
    })
    .await
    .unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_post_print_the_file_object_and_refusals_exit_non_zero() {
    let demo = start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (pic, sha) = png(tmp.path(), 150_000);
    let pic_arg = pic.display().to_string();

    // put: a signed URL and a file.
    let signed = sign(
        &demo,
        "signed-put",
        json!({ "dir": "cli", "filename": "put.png" }),
    )
    .await;
    let url = signed["uploadUrl"].as_str().unwrap().to_owned();
    let out = uplift(vec!["put".into(), url.clone(), pic_arg.clone()], None).await;
    let file = stdout_json(&out);
    assert_eq!(file["id"], signed["uploadId"]);
    assert_eq!(file["folder"], "cli");
    assert_eq!(file["filename"], "put.png");
    assert_eq!(file["filesize"], 150_000);
    assert_eq!(file["sha256"], sha.as_str());
    assert_eq!(file["type"], "image/png");

    // The same one-time URL again: refused, exit 1, the code on stderr, nothing on stdout.
    let out = uplift(vec!["put".into(), url, pic_arg.clone()], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ALREADY_USED") && err.contains("409"), "{err}");

    // post: the SignedPost JSON on stdin.
    let post = sign(
        &demo,
        "signed-post",
        json!({ "dir": "cli/forms", "filename": "post.png" }),
    )
    .await;
    let out = uplift(
        vec!["post".into(), "-".into(), pic_arg.clone()],
        Some(post.to_string()),
    )
    .await;
    let file = stdout_json(&out);
    assert_eq!(file["id"], post["uploadId"]);
    assert_eq!(file["folder"], "cli/forms");
    assert_eq!(file["sha256"], sha.as_str());

    // post: a bare PostForm from a file, with a size limit the file breaks.
    let small = sign(
        &demo,
        "signed-post",
        json!({ "dir": "cli", "maxSize": 1000 }),
    )
    .await;
    let form_path = tmp.path().join("form.json");
    std::fs::write(&form_path, small["form"].to_string()).unwrap();
    let out = uplift(
        vec![
            "post".into(),
            form_path.display().to_string(),
            pic_arg.clone(),
        ],
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("uplift: refused:"), "{err}");

    // put with a token.
    let token = sign(&demo, "token", json!({ "dir": "cli/tok" })).await;
    let url = format!("{}/api/uploads/objects/cli/tok/t.png", demo.origin);
    let out = uplift(
        vec![
            "put".into(),
            url,
            pic_arg.clone(),
            "--token".into(),
            token["token"].as_str().unwrap().into(),
        ],
        None,
    )
    .await;
    let file = stdout_json(&out);
    assert_eq!(
        (file["folder"].as_str(), file["filename"].as_str()),
        (Some("cli/tok"), Some("t.png"))
    );

    // A garbage form is a usage error (2), before any request.
    let out = uplift(vec!["post".into(), "-".into(), pic_arg], Some("{}".into())).await;
    assert_eq!(out.status.code(), Some(2));
}
