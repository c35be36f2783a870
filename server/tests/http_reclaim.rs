//! Nothing leaks: each leak is reproduced over real HTTP, then a sweep (another instance on the
//! same records and disk, with its own `failed_retention` / `orphan_grace`) reclaims it — and
//! never touches live data (a complete upload, a pending one inside its TTL, a tus upload in
//! progress, a recorded signed object). On SQLite, and on PostgreSQL when it is reachable.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{ErrorCode, HttpRequest, Limits, SignOptions, UploadError, UploadedFile};

use common::fixtures::text;
use common::http::{client, put, Resp};
use common::signed::{file_of, object_paths, refused};
use common::{Options, TestServer, SECRET};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Serialize, Deserialize)]
pub struct Meta {
    user: String,
}

fn meta(req: &HttpRequest) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anon");
    Ok(Meta { user: user.into() })
}

async fn fine(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "by": meta.user, "key": file.key }))
}

async fn refuse(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Err(UploadError::new(ErrorCode::Forbidden, "not this one"))
}

#[uplift::file_route(text(max_file_size = "4KB"), await_server_data, on_upload_complete = fine)]
async fn notes(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text(max_file_size = "4KB"), await_server_data, on_upload_complete = refuse)]
async fn flaky(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

fn router() -> uplift::Router {
    uplift::router![notes, flaky]
}

/// Where the records live: the server's SQLite file, or a PostgreSQL schema.
#[derive(Clone)]
enum Db {
    Sqlite,
    Postgres { url: String, schema: String },
}

impl Db {
    fn options(&self) -> Options {
        match self {
            Db::Sqlite => Options::default(),
            Db::Postgres { url, schema } => Options {
                records_url: Some(url.clone()),
                records_schema: Some(schema.clone()),
                ..Default::default()
            },
        }
    }

    async fn records(&self, srv: &TestServer) -> uplift::Records {
        match self {
            Db::Sqlite => uplift::Records::connect(&srv.db_url).await.unwrap(),
            Db::Postgres { url, schema } => uplift::Records::connect_with_schema(url, schema)
                .await
                .unwrap(),
        }
    }
}

/// A PostgreSQL schema of its own, or `None` when PostgreSQL is absent and not required.
async fn postgres() -> Option<Db> {
    let url = std::env::var("UPLIFT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    if let Err(e) = sqlx::PgPool::connect(&url).await {
        assert!(
            std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL required but not reachable at {url}: {e}"
        );
        eprintln!("PostgreSQL not reachable at {url} ({e}): skipping");
        return None;
    }
    let schema = format!("uplift_reclaim_{:016x}", rand::random::<u64>());
    Some(Db::Postgres { url, schema })
}

/// Another instance on the same records and disk, sweeping with these settings.
async fn sweeper(
    db: &Db,
    srv: &TestServer,
    retention: Duration,
    grace: Duration,
) -> uplift::Uplift {
    uplift::Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(db.records(srv).await)
        .secret(SECRET)
        .limits(Limits {
            failed_retention: retention,
            orphan_grace: grace,
            ..Default::default()
        })
        .build()
        .unwrap()
}

async fn status_code(c: &reqwest::Client, srv: &TestServer, key: &str) -> (u16, Value) {
    let r = Resp::read(
        c.get(srv.url(&format!("/files/{key}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = serde_json::from_slice(&r.bytes).unwrap_or(Value::Null);
    (r.status, body)
}

fn tus_files(srv: &TestServer) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(srv.data_dir.join("files/.tus"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

async fn tus_create(c: &reqwest::Client, srv: &TestServer, length: usize) -> String {
    let meta = format!(
        "filename {},filetype {}",
        STANDARD.encode("live.txt"),
        STANDARD.encode("text/plain")
    );
    let r = Resp::read(
        c.post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("upload-length", length.to_string())
            .header("upload-metadata", meta)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    r.header("location").unwrap()
}

async fn tus_patch(c: &reqwest::Client, url: &str, offset: usize, body: &[u8]) -> Resp {
    Resp::read(
        c.patch(url)
            .header(TUS.0, TUS.1)
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(body.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn scenario(db: Db) {
    let srv = TestServer::start_with(router(), db.options());
    let c = client();
    let files = srv.data_dir.join("files");

    // Live: a complete upload, a pending one inside its TTL, a tus upload in progress, and a
    // recorded signed object.
    let done = srv
        .prepare_one(&c, "notes", "done.txt", 10, "text/plain")
        .await;
    put(
        &c,
        done["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(10),
    )
    .await
    .ok();
    let done_key = done["key"].as_str().unwrap().to_string();
    let pending = srv
        .prepare_one(&c, "notes", "later.txt", 12, "text/plain")
        .await;
    let live_tus = tus_create(&c, &srv, 20).await;
    assert_eq!(
        tus_patch(&c, &live_tus, 0, &text(20)[..8]).await.status,
        204
    );
    let kept = srv
        .signed
        .get_signed_put_with(
            "team",
            &SignOptions {
                filename: Some("kept.txt".into()),
                ..Default::default()
            },
        )
        .unwrap();
    file_of(&put(&c, &kept.upload_url, Some("text/plain"), text(7)).await);

    // (a) A failing completion hook: the upload is failed and its bytes are gone at once.
    let failed = srv
        .prepare_one(&c, "flaky", "bad.txt", 10, "text/plain")
        .await;
    let failed_key = failed["key"].as_str().unwrap().to_string();
    let r = put(
        &c,
        failed["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(10),
    )
    .await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(
        status_code(&c, &srv, &failed_key).await.1["status"],
        "failed"
    );
    assert!(
        !files.join(&failed_key).exists(),
        "a failed upload's bytes are removed when its hook fails"
    );
    // A process that stopped right after marking it failed would have left the bytes: the
    // purge takes them with the record.
    std::fs::write(files.join(&failed_key), text(10)).unwrap();

    // (b) An expired prepared upload: its URL's time has passed (the clock moved for this row).
    let stale = srv
        .prepare_one(&c, "notes", "never.txt", 5, "text/plain")
        .await;
    let stale_key = stale["key"].as_str().unwrap().to_string();
    let records = db.records(&srv).await;
    sqlx::query("UPDATE uplift_uploads SET expires_at = 0 WHERE key = $1")
        .bind(&stale_key)
        .execute(records.pool())
        .await
        .unwrap();

    // (c) Files left between a commit and its record by a crash: a route key, a signed object
    // and a tus file, none with a record.
    let orphan_key = "OrphanKey0123456789abcdefghij";
    std::fs::write(files.join(orphan_key), b"lost").unwrap();
    std::fs::create_dir_all(files.join("objects/team")).unwrap();
    std::fs::write(files.join("objects/team/ghost.txt"), b"lost").unwrap();
    let tus_orphan = "TusOrphan0123456789abcdefghijk";
    std::fs::write(files.join(".tus").join(tus_orphan), b"lost").unwrap();

    // (d) The orphan object blocks every prevent_overwrite upload to its path, for now.
    let no_overwrite = SignOptions {
        filename: Some("ghost.txt".into()),
        prevent_overwrite: true,
        ..Default::default()
    };
    let ghost = srv
        .signed
        .get_signed_put_with("team", &no_overwrite)
        .unwrap();
    let r = put(&c, &ghost.upload_url, Some("text/plain"), text(6)).await;
    refused(&r, 412, "PRECONDITION_FAILED");

    // A sweep within the retention and the grace period reclaims nothing but the expiry.
    let patient = sweeper(
        &db,
        &srv,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    )
    .await;
    let report = patient.sweep().await.unwrap();
    assert_eq!(
        (report.expired, report.purged, report.orphans_removed),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(
        status_code(&c, &srv, &failed_key).await.1["status"],
        "failed"
    );
    assert_eq!(
        status_code(&c, &srv, &stale_key).await.1["status"],
        "expired"
    );
    assert!(files.join(orphan_key).exists());
    assert!(files.join(&failed_key).exists());

    // Time passes (bounded: 300 ms); a sweep with a short retention and grace reclaims it all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let quick = sweeper(
        &db,
        &srv,
        Duration::from_millis(100),
        Duration::from_millis(100),
    )
    .await;
    let report = quick.sweep().await.unwrap();
    assert_eq!(
        report.purged, 2,
        "the failed and the expired record: {report:?}"
    );
    assert_eq!(
        report.orphans_removed, 3,
        "key, object and tus file: {report:?}"
    );
    assert_eq!(status_code(&c, &srv, &failed_key).await.0, 404);
    assert_eq!(status_code(&c, &srv, &stale_key).await.0, 404);
    assert!(!files.join(&failed_key).exists(), "purged with its bytes");
    assert!(!files.join(orphan_key).exists());
    assert!(!files.join("objects/team/ghost.txt").exists());
    assert!(!tus_files(&srv).contains(&tus_orphan.to_string()));

    // Once collected, the path takes a prevent_overwrite upload again.
    let ghost = srv
        .signed
        .get_signed_put_with("team", &no_overwrite)
        .unwrap();
    file_of(&put(&c, &ghost.upload_url, Some("text/plain"), text(6)).await);

    // Live data is untouched: the complete file downloads, the pending URL uploads, the tus
    // upload resumes and completes, the recorded object is still there.
    let (code, st) = status_code(&c, &srv, &done_key).await;
    assert_eq!((code, st["status"].as_str()), (200, Some("complete")));
    let got = c
        .get(st["file"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), text(10));
    put(
        &c,
        pending["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(12),
    )
    .await
    .ok();
    let r = tus_patch(&c, &live_tus, 8, &text(20)[8..]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(
        object_paths(&srv),
        vec!["team/ghost.txt".to_string(), "team/kept.txt".to_string()]
    );

    // Everything left has a record: another sweep finds nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = quick.sweep().await.unwrap();
    assert_eq!(
        (report.purged, report.orphans_removed),
        (0, 0),
        "{report:?}"
    );
    assert!(files.join(&done_key).exists());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uplift_uploads")
        .fetch_one(records.pool())
        .await
        .unwrap();
    assert_eq!(
        rows, 3,
        "complete, the formerly pending one, and the tus upload"
    );
    srv.assert_no_staged().await;
    records.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_reclaim_every_leak_and_spare_live_data_on_sqlite() {
    scenario(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_reclaim_every_leak_and_spare_live_data_on_postgres() {
    if let Some(db) = postgres().await {
        scenario(db).await;
    }
}

/// A background completion hook that fails also takes the bytes with it.
#[uplift::file_route(text, on_upload_complete = refuse)]
async fn flaky_background(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_hook_removes_the_bytes() {
    let srv = TestServer::start(uplift::router![flaky_background]);
    let c = client();
    let f = srv
        .prepare_one(&c, "flakyBackground", "a.txt", 10, "text/plain")
        .await;
    let key = f["key"].as_str().unwrap();
    put(
        &c,
        f["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(10),
    )
    .await
    .ok();
    srv.wait_status(&c, key, "failed").await;
    // The record is failed before the bytes go: poll (bounded) for the removal.
    let deadline = tokio::time::Instant::now() + common::http::PATIENCE;
    while srv.stored_files().contains(&key.to_string()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bytes never removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Multipart too: the stored file of a failed hook is removed.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(text(5))
            .file_name("b.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = c
        .post(srv.url("/flakyBackground/multipart"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let key = body["files"][0]["key"].as_str().unwrap().to_string();
    srv.wait_status(&c, &key, "failed").await;
    let deadline = tokio::time::Instant::now() + common::http::PATIENCE;
    while srv.stored_files().contains(&key) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bytes never removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
