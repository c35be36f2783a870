//! What the sweep and start-up recovery fail reaches the route's `on_upload_error` — once, also
//! when two instances sweep at the same moment or the request path fails the same upload
//! later — and the sweep removes the takeover copies a crash left in the tus directory. Over
//! the real app, on SQLite and on PostgreSQL (see `common::backend`).

mod common;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{Limits, StoredInfo, UploadError, UploadedFile};

use common::backend::Db;
use common::fixtures::text;
use common::http::{client, put, Resp};
use common::{Options, TestServer, SECRET};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

/// `(key, error code)` for every call of `on_upload_error`.
static TOLD: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

async fn told(_meta: Option<Meta>, error: UploadError, key: String) {
    TOLD.lock()
        .unwrap()
        .push((key, error.code().as_str().into()));
}

fn told_of(key: &str) -> Vec<String> {
    TOLD.lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, code)| code.clone())
        .collect()
}

async fn fine(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "user": meta.user, "sha256": file.sha256 }))
}

/// A completion hook that refuses, after 1.5 s.
async fn late_refusal(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    Err(UploadError::forbidden("too late"))
}

async fn anyone() -> Result<Meta, UploadError> {
    Ok(Meta { user: "ann".into() })
}

#[uplift::file_route(text(max_file_size = "4KB"), await_server_data, on_upload_complete = fine, on_upload_error = told)]
async fn notes() -> Result<Meta, UploadError> {
    anyone().await
}

#[uplift::file_route(text(max_file_size = "4KB"), await_server_data, on_upload_complete = late_refusal, on_upload_error = told)]
async fn slow() -> Result<Meta, UploadError> {
    anyone().await
}

fn router() -> uplift::Router {
    uplift::router![notes, slow]
}

/// Another instance on `srv`'s records and disk, with these limits.
async fn instance(db: &Db, srv: &TestServer, id: &str, limits: Limits) -> uplift::Uplift {
    uplift::Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(db.records(srv).await)
        .secret(SECRET)
        .instance_id(id)
        .limits(limits)
        .build()
        .unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn prepared_key(srv: &TestServer, slug: &str) -> (String, String) {
    let p = srv
        .prepare_one(&client(), slug, "a.txt", 10, "text/plain")
        .await;
    (
        p["key"].as_str().unwrap().to_string(),
        p["uploadUrl"].as_str().unwrap().to_string(),
    )
}

/// A PUT whose server died mid-body, and a completion that ran past its deadline: two
/// instances sweep at once, and each failure reaches `on_upload_error` once — not again when
/// the late hook's own refusal arrives.
async fn sweep_failures_reach_on_upload_error_once(db: Db) {
    let srv = TestServer::start_with(router(), db.options(Options::default()));
    let limits = Limits {
        stale_upload_after: Duration::from_secs(60),
        completion_deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    let (one, two) = (
        instance(&db, &srv, "one", limits.clone()).await,
        instance(&db, &srv, "two", limits).await,
    );

    // Received by a server that was killed two hours ago, and never restarted.
    let (stale, _) = prepared_key(&srv, "notes").await;
    let records = db.records(&srv).await;
    assert!(records
        .claim_as(&stale, Some("gone"), now_ms() - 7_200_000)
        .await
        .unwrap());
    let (a, b) = tokio::join!(one.sweep(), two.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.failed_stale + b.failed_stale, 1, "{a:?} {b:?}");
    assert_eq!(told_of(&stale), vec!["SIZE_MISMATCH"]);
    assert_eq!(srv.status(&client(), &stale).await["status"], "failed");

    // A completion hook that outlives the deadline: failed by a sweep, told once.
    let (slow_key, url) = prepared_key(&srv, "slow").await;
    let request =
        tokio::spawn(async move { put(&client(), &url, Some("text/plain"), text(10)).await });
    srv.wait_status(&client(), &slow_key, "completing").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (a, b) = tokio::join!(one.sweep(), two.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.failed_completing + b.failed_completing, 1, "{a:?} {b:?}");
    assert_eq!(told_of(&slow_key), vec!["COMPLETION_FAILED"]);
    // The hook's own refusal still answers the request, but the upload had already failed.
    let answer: Resp = request.await.unwrap();
    assert_eq!(
        answer.status,
        403,
        "{}",
        String::from_utf8_lossy(&answer.bytes)
    );
    assert_eq!(told_of(&slow_key), vec!["COMPLETION_FAILED"], "told once");
    let st = srv.status(&client(), &slow_key).await;
    assert_eq!(st["error"]["code"], "COMPLETION_FAILED", "{st}");
    // Later sweeps tell nobody again.
    one.sweep().await.unwrap();
    assert_eq!(told_of(&stale), vec!["SIZE_MISMATCH"]);
    records.close().await;
}

/// Start-up recovery fails what the killed process of its instance left in flight — a PUT and
/// a completion — and tells `on_upload_error` of each, once.
async fn recovery_failures_reach_on_upload_error_once(db: Db) {
    let srv = TestServer::start_with(router(), db.options(Options::default()));
    let (put_key, _) = prepared_key(&srv, "notes").await;
    let (done_key, _) = prepared_key(&srv, "notes").await;
    let records = db.records(&srv).await;
    let now = now_ms();
    assert!(records
        .claim_as(&put_key, Some("node-a"), now)
        .await
        .unwrap());
    assert!(records
        .claim_as(&done_key, Some("node-a"), now)
        .await
        .unwrap());
    let stored = StoredInfo {
        size: 10,
        sha256: "00".repeat(32),
        crc32: Some(0),
        content_type: "text/plain".into(),
    };
    assert!(records
        .mark_stored_as(&done_key, &stored, Some("node-a"), now)
        .await
        .unwrap());

    let restarted = instance(&db, &srv, "node-a", Limits::default()).await;
    let done = restarted.recover().await.unwrap();
    assert_eq!(done.uploads_failed, vec![put_key.clone()]);
    assert_eq!(done.completions_failed, vec![done_key.clone()]);
    assert_eq!(told_of(&put_key), vec!["SIZE_MISMATCH"]);
    assert_eq!(told_of(&done_key), vec!["COMPLETION_FAILED"]);
    restarted.recover().await.unwrap();
    restarted.sweep().await.unwrap();
    assert_eq!(told_of(&put_key).len(), 1);
    assert_eq!(told_of(&done_key).len(), 1);
    records.close().await;
}

fn age(path: &std::path::Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

/// A takeover copy interrupted by a crash (`{key}.takeover-{token}` in the tus directory) is
/// removed once older than the grace period, like a tus file without a record; a fresh one,
/// the live upload's file and files that are not Uplift's stay. (Local disk only: on S3 a
/// takeover copies nothing.)
async fn interrupted_takeover_copies_are_swept(db: Db) {
    let local = Options {
        storage: common::Backend::Local,
        ..Options::default()
    };
    let srv = TestServer::start_with(router(), db.options(local));
    let meta = format!(
        "filename {},filetype {}",
        STANDARD.encode("a.txt"),
        STANDARD.encode("text/plain")
    );
    let r = Resp::read(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "20")
            .header("upload-metadata", meta)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    let patch = |offset: usize, body: Vec<u8>| {
        let url = url.clone();
        async move {
            Resp::read(
                client()
                    .patch(&url)
                    .header("tus-resumable", "1.0.0")
                    .header("content-type", "application/offset+octet-stream")
                    .header("upload-offset", offset.to_string())
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let data = text(20);
    assert_eq!(patch(0, data[..8].to_vec()).await.status, 204);

    let dir = srv.data_dir.join("files/.tus");
    let leftover = dir.join(format!("{key}.takeover-AAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let fresh = dir.join(format!("{key}.takeover-BBBBBBBBBBBBBBBBBBBBBBBBBBB"));
    let unrecorded = dir.join("CCCCCCCCCCCCCCCCCCCCCCCCCCC");
    let foreign = dir.join("notes.txt");
    for p in [&leftover, &fresh, &unrecorded, &foreign] {
        std::fs::write(p, &data[..8]).unwrap();
    }
    for p in [&leftover, &unrecorded, &foreign, &dir.join(&key)] {
        age(p, Duration::from_secs(2 * 3600));
    }
    let sweeper = instance(&db, &srv, "sweeper", Limits::default()).await;
    let report = sweeper.sweep().await.unwrap();
    assert_eq!(report.orphans_removed, 2, "{report:?}");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want = vec![
        key.clone(),
        fresh.file_name().unwrap().to_string_lossy().into_owned(),
        "notes.txt".to_string(),
    ];
    want.sort();
    assert_eq!(left, want);
    // The upload goes on.
    let r = patch(8, data[8..].to_vec()).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(srv.status(&client(), &key).await["status"], "complete");
}

/// tus bytes of an upload that was stored (left by a removal that failed) belong to nothing:
/// the sweep removes them once older than the grace period, and the stored file stays.
async fn tus_bytes_a_stored_upload_left_are_swept(db: Db) {
    let srv = TestServer::start_with(router(), db.options(Options::default()));
    let meta = format!(
        "filename {},filetype {}",
        STANDARD.encode("a.txt"),
        STANDARD.encode("text/plain")
    );
    let data = text(20);
    let r = Resp::read(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "20")
            .header("upload-metadata", meta)
            .header("content-type", "application/offset+octet-stream")
            .body(data.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let key = r.header("uplift-key").unwrap();
    srv.wait_status(&client(), &key, "complete").await;
    assert_eq!(srv.tus_uploads(), 0);
    srv.write_tus(&key, 0, b"left behind", false);
    assert_eq!(srv.tus_uploads(), 1);
    // Older than a grace period of one millisecond (S3 dates have whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let limits = Limits {
        orphan_grace: Duration::from_millis(1),
        ..Limits::default()
    };
    let report = instance(&db, &srv, "sweeper", limits)
        .await
        .sweep()
        .await
        .unwrap();
    assert_eq!(report.orphans_removed, 1, "{report:?}");
    assert_eq!(srv.tus_uploads(), 0);
    assert!(srv.stored_bytes(&key) == data, "the stored file stays");
}

on_both_backends!(
    sweep_failures_reach_on_upload_error_once,
    tus_bytes_a_stored_upload_left_are_swept,
    recovery_failures_reach_on_upload_error_once,
    interrupted_takeover_copies_are_swept,
);
