//! `uplift files ls | rm | mv | acl | url` against a real Uplift server over HTTP that lets
//! each token's user manage their own files: tables and JSON on stdout, refusals with the
//! server's code and exit 1, bad usage exit 2, an unreachable server exit 3.

use std::process::{Command, Output};
use std::sync::mpsc;

use actix_web::{App, HttpServer};
use serde_json::Value;
use uplift::{
    FilesAccess, HttpRequest, LocalStorage, NoInput, Records, Uplift, UploadError, UploadSource,
    UploadedFile,
};

async fn done(_: (), _: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, await_server_data, on_upload_complete = done)]
async fn pictures(_input: NoInput) -> Result<(), UploadError> {
    Ok(())
}

/// `Authorization: Bearer t-{user}` names the user.
fn user_of(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer t-")
        .map(str::to_string)
}

fn png(seed: u8) -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend((0..500).map(|i: u32| (i as u8).wrapping_mul(seed)));
    v
}

/// A server with three pictures of ann's: its base URL and their keys (newest first).
fn start() -> (String, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let records = Records::sqlite_in_dir(&data).await.expect("SQLite records");
            let router = uplift::router![pictures].manage_files(|req| {
                user_of(req)
                    .map(FilesAccess::Owner)
                    .ok_or_else(|| UploadError::unauthorized("send your token"))
            });
            let up = Uplift::builder(router)
                .storage(LocalStorage::new(data.join("files")).unwrap())
                .records(records)
                .secret(b"cli-test-secret-cli-test-secret-!".as_slice())
                .caller(user_of)
                .build()
                .expect("config");
            let mut keys = Vec::new();
            for i in 0..3u8 {
                let source = UploadSource {
                    name: format!("p{i}.png"),
                    content_type: "image/png".into(),
                    body: futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
                        bytes::Bytes::from(png(i + 3)),
                    )]),
                };
                let f = up
                    .files()
                    .owned_by("ann")
                    .upload("pictures", source, Value::Null)
                    .await
                    .expect("stored");
                keys.insert(0, f.key);
            }
            let app_up = up.clone();
            let server = HttpServer::new(move || App::new().service(app_up.service()))
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .unwrap();
            let port = server.addrs()[0].port();
            let server = server.run();
            tx.send((port, keys)).unwrap();
            let _ = server.await;
        })
    });
    let (port, keys) = rx.recv().expect("the server starts");
    (format!("http://127.0.0.1:{port}/api/uploads"), keys, dir)
}

fn uplift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uplift"))
        .args(args)
        .env_remove("UPLIFT_BASE")
        .env_remove("UPLIFT_TOKEN")
        .output()
        .expect("uplift runs")
}

fn ok_text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "uplift failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn ok_json(out: &Output) -> Value {
    serde_json::from_str(&ok_text(out)).expect("JSON on stdout")
}

#[test]
fn files_are_listed_renamed_re_permissioned_signed_and_deleted() {
    let (base, keys, _dir) = start();
    let ann = |rest: &[&str]| {
        let mut args = vec!["files", "--base", &base, "--token", "t-ann"];
        args.extend_from_slice(rest);
        uplift(&args)
    };

    // A table: a header, then the files newest first.
    let table = ok_text(&ann(&["ls"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("KEY"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    for (line, key) in lines[1..].iter().zip(&keys) {
        assert!(line.starts_with(key.as_str()), "{table}");
        assert!(
            line.contains("pictures") && line.contains("complete"),
            "{line}"
        );
    }
    // JSON pages, and every page with --all.
    let page = ok_json(&ann(&["ls", "--limit", "2", "--json"]));
    assert_eq!(page["files"].as_array().unwrap().len(), 2);
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    let rest = ok_json(&ann(&["ls", "--limit", "2", "--cursor", &cursor, "--json"]));
    assert_eq!(rest["files"][0]["key"], keys[2].as_str());
    let all = ok_json(&ann(&["ls", "--all", "--limit", "1", "--json"]));
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(listed, keys.iter().map(String::as_str).collect::<Vec<_>>());

    let renamed = ok_json(&ann(&["mv", &keys[0], "holiday.png", "--json"]));
    assert_eq!(renamed["name"], "holiday.png");
    let private = ok_json(&ann(&["acl", &keys[0], "private", "--json"]));
    assert_eq!(private["acl"], "private");
    let url = ok_text(&ann(&["url", &keys[0]]));
    assert!(
        url.trim()
            .starts_with(&format!("{base}/download/{}", keys[0])),
        "{url}"
    );
    assert!(
        url.contains("sig="),
        "a private file's URL is signed: {url}"
    );

    let removed = ok_text(&ann(&["rm", &keys[0], &keys[1]]));
    assert_eq!(
        removed,
        format!("{}\tdeleted\n{}\tdeleted\n", keys[0], keys[1])
    );
    // Again: gone either way, so done.
    let again = ok_text(&ann(&["rm", &keys[0]]));
    assert_eq!(again, format!("{}\tnot found\n", keys[0]));
    let left = ok_json(&ann(&["ls", "--json"]));
    assert_eq!(left["files"].as_array().unwrap().len(), 1);

    // Bob sees nothing of ann's, and cannot touch it.
    let bob = uplift(&["files", "--base", &base, "--token", "t-bob", "ls", "--json"]);
    assert_eq!(ok_json(&bob)["files"], serde_json::json!([]));
    let out = uplift(&[
        "files", "--base", &base, "--token", "t-bob", "mv", &keys[2], "x.png",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_FOUND"));
}

#[test]
fn refusals_and_usage_errors_have_their_exit_codes() {
    let (base, keys, _dir) = start();
    // No token: the app's access function refuses.
    let out = uplift(&["files", "--base", &base, "ls"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UNAUTHORIZED"),
        "{out:?}"
    );
    // A malformed header, an unknown ACL: bad usage.
    let out = uplift(&["files", "--base", &base, "-H", "no-colon", "ls"]);
    assert_eq!(out.status.code(), Some(2));
    let out = uplift(&[
        "files", "--base", &base, "--token", "t-ann", "acl", &keys[0], "world",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A bad cursor: the server's refusal.
    let out = uplift(&[
        "files", "--base", &base, "--token", "t-ann", "ls", "--cursor", "nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BAD_REQUEST"));
    // Nobody listening.
    let out = uplift(&[
        "files",
        "--base",
        "http://127.0.0.1:9/api/uploads",
        "--token",
        "t",
        "ls",
    ]);
    assert_eq!(out.status.code(), Some(3));
}
