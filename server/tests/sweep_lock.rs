//! One sweeper at a time on PostgreSQL: a sweep holds the documented advisory lock
//! `(0x75706c66, hashtext(current_schema()))` for its whole length, and a sweep that finds it
//! taken does nothing and says so (`SweepReport::skipped`). The lock is let go on every path: a
//! finished sweep, a failed one, and one whose future is dropped in the middle. SQLite sweeps
//! are never skipped.

mod common;

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uplift::{Limits, UploadError, UploadedFile};

use common::backend::Db;
use common::http::client;
use common::{Options, TestServer, SECRET};

/// An `on_upload_error` hook that takes 3 s: long enough for another sweep to start meanwhile.
async fn lingering_told(_meta: Option<Value>, _error: UploadError, _key: String) {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

async fn fine(_meta: Value, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "sha256": file.sha256 }))
}

#[uplift::file_route(text(max_file_size = "4KB"), on_upload_complete = fine, on_upload_error = lingering_told)]
async fn notes() -> Result<Value, UploadError> {
    Ok(json!({}))
}

fn router() -> uplift::Router {
    uplift::router![notes]
}

async fn instance(db: &Db, srv: &TestServer, id: &str) -> uplift::Uplift {
    uplift::Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(db.records(srv).await)
        .secret(SECRET)
        .instance_id(id)
        .limits(Limits {
            stale_upload_after: Duration::from_secs(60),
            ..Limits::default()
        })
        .build()
        .unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An upload whose server (`gone`) died mid-body two hours ago: the next sweep fails it.
async fn stale_upload(db: &Db, srv: &TestServer) -> String {
    let p = srv
        .prepare_one(&client(), "notes", "a.txt", 10, "text/plain")
        .await;
    let key = p["key"].as_str().unwrap().to_string();
    let records = db.records(srv).await;
    assert!(records
        .claim_as(&key, Some("gone"), now_ms() - 7_200_000)
        .await
        .unwrap());
    records.close().await;
    key
}

/// A session of its own in the test's schema, standing for another instance.
struct Other(PgConnection);

impl Other {
    async fn connect(db: &Db) -> Other {
        let Db::Postgres { url, schema } = db else {
            unreachable!("PostgreSQL only")
        };
        let mut conn = PgConnection::connect(url).await.unwrap();
        sqlx::query(&format!("SET search_path TO \"{schema}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        Other(conn)
    }

    /// Tries the sweep lock, as documented.
    async fn try_lock(&mut self) -> bool {
        sqlx::query_scalar("SELECT pg_try_advisory_lock(1970302054, hashtext(current_schema()))")
            .fetch_one(&mut self.0)
            .await
            .unwrap()
    }

    async fn unlock(&mut self) {
        let done: bool =
            sqlx::query_scalar("SELECT pg_advisory_unlock(1970302054, hashtext(current_schema()))")
                .fetch_one(&mut self.0)
                .await
                .unwrap();
        assert!(done, "this session held the lock");
    }

    /// Takes the lock within 10 s (the closing of a connection is seen by PostgreSQL a moment
    /// later), then lets it go.
    async fn lock_comes_free(&mut self, after: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.try_lock().await {
            assert!(
                Instant::now() < deadline,
                "the sweep lock is still held after {after}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.unlock().await;
    }

    async fn exec(&mut self, sql: &str) {
        sqlx::query(sql).execute(&mut self.0).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_sweeps_a_postgres_schema_at_a_time() {
    let Some(db) = Db::postgres("uplift_sweep_lock").await else {
        return;
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        sweeps_take_turns(db.clone()),
    ))
    .await;
    db.drop_schema().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

async fn sweeps_take_turns(db: Db) {
    let srv = TestServer::start_with(router(), db.options(Options::default()));
    let (one, two) = (
        instance(&db, &srv, "one").await,
        instance(&db, &srv, "two").await,
    );
    let mut other = Other::connect(&db).await;
    // Each instance's start-up recovery is its own business: done before the lock matters.
    one.recover().await.unwrap();
    two.recover().await.unwrap();

    // Another session holds the lock: the sweep does nothing and says so.
    let stale = stale_upload(&db, &srv).await;
    assert!(other.try_lock().await);
    let report = one.sweep().await.unwrap();
    assert!(report.skipped, "{report:?}");
    assert_eq!(report.failed_stale, 0, "{report:?}");
    assert_eq!(srv.status(&client(), &stale).await["status"], "uploading");
    other.unlock().await;

    // While one instance sweeps (in a hook of 3 s), another skips; the first does the work.
    let second = async {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        two.sweep().await
    };
    let (a, b) = tokio::join!(one.sweep(), second);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(!a.skipped && a.failed_stale == 1, "{a:?}");
    assert!(b.skipped && b.failed_stale == 0, "{b:?}");
    assert_eq!(srv.status(&client(), &stale).await["status"], "failed");
    other.lock_comes_free("a sweep that finished").await;

    // A sweep that fails (a table it needs is gone) lets the lock go too.
    other
        .exec("ALTER TABLE uplift_signed_uses RENAME TO uplift_signed_uses_away")
        .await;
    assert!(one.sweep().await.is_err(), "the sweep cannot work");
    other.lock_comes_free("a sweep that failed").await;
    other
        .exec("ALTER TABLE uplift_signed_uses_away RENAME TO uplift_signed_uses")
        .await;

    // A sweep dropped in the middle (here in its 3 s hook) lets it go as its connection closes.
    let stale = stale_upload(&db, &srv).await;
    let cut = tokio::time::timeout(Duration::from_millis(1_000), one.sweep()).await;
    assert!(cut.is_err(), "the sweep was still in its hook: {cut:?}");
    assert_eq!(srv.status(&client(), &stale).await["status"], "failed");
    other.lock_comes_free("a sweep dropped mid-way").await;

    // And sweeping goes on as before.
    let report = two.sweep().await.unwrap();
    assert!(!report.skipped, "{report:?}");
    let _ = other.0.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sweeps_are_never_skipped() {
    let srv = TestServer::start(router());
    let (one, two) = (
        instance(&Db::Sqlite, &srv, "one").await,
        instance(&Db::Sqlite, &srv, "two").await,
    );
    let stale = stale_upload(&Db::Sqlite, &srv).await;
    let (a, b) = tokio::join!(one.sweep(), two.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(!a.skipped && !b.skipped, "{a:?} {b:?}");
    assert_eq!(a.failed_stale + b.failed_stale, 1, "{a:?} {b:?}");
    assert_eq!(srv.status(&client(), &stale).await["status"], "failed");
}
