//! The upload records store, run as one suite against SQLite (a temp-dir file) and PostgreSQL
//! (a fresh schema per test on `UPLIFT_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Without a reachable PostgreSQL the PostgreSQL half says so on stderr and passes, unless
//! `UPLIFT_REQUIRE_POSTGRES=1`, which makes it fail.

use std::io::Write as _;
use std::sync::Once;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Connection as _;
use uplift::{Acl, ContentDisposition, ErrorBody, ErrorCode, UploadStatus};
use uplift::{Backend, NewUpload, ObjectRecord, Records, StoredInfo};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where one test's records live; cleans up after itself (also when the test panics).
struct Harness {
    kind: Kind,
}

enum Kind {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Harness {
    fn sqlite() -> Harness {
        Harness {
            kind: Kind::Sqlite(tempfile::tempdir().expect("temp dir")),
        }
    }

    /// `None` (after saying why, once) when PostgreSQL is not reachable and not required.
    async fn postgres() -> Option<Harness> {
        sqlx::any::install_default_drivers();
        let url = std::env::var("UPLIFT_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_PG_URL.to_string());
        let reachable =
            match tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(&url))
                .await
            {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    Ok(())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out after 5s".to_string()),
            };
        if let Err(why) = reachable {
            let required = std::env::var("UPLIFT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            if required {
                panic!("PostgreSQL not reachable at {url} ({why}) and UPLIFT_REQUIRE_POSTGRES=1");
            }
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Straight to the process's stderr: the test harness captures eprintln!.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "PostgreSQL not reachable at {url} ({why}): skipping the PostgreSQL record \
                     tests (set UPLIFT_REQUIRE_POSTGRES=1 to make this fatal)"
                );
            });
            return None;
        }
        let schema = format!("uplift_test_{:016x}", rand::random::<u64>());
        Some(Harness {
            kind: Kind::Postgres { url, schema },
        })
    }

    /// Connects (again): runs the migrations each time, as a restarted server would.
    async fn open(&self) -> Records {
        let records = match &self.kind {
            Kind::Sqlite(dir) => Records::sqlite_in_dir(dir.path()).await,
            Kind::Postgres { url, schema } => Records::connect_with_schema(url, schema).await,
        }
        .expect("connect to the records database");
        let expected = match self.kind {
            Kind::Sqlite(_) => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        };
        assert_eq!(records.backend(), expected);
        records
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let Kind::Postgres { url, schema } = &self.kind else {
            return; // the TempDir removes itself
        };
        let (url, schema) = (url.clone(), schema.clone());
        // Drop may run inside the test's runtime (or while unwinding): use a fresh one.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut conn = sqlx::AnyConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
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

/// Runs each listed check once per backend: `sqlite::name` and `postgres::name`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite();
                    super::$name(&harness).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(harness) = super::Harness::postgres().await else { return };
                    super::$name(&harness).await;
                }
            )*
        }
    };
}

both_backends!(
    migrations_create_the_table_and_are_idempotent,
    insert_is_all_or_nothing,
    prepared_rows_of_concurrent_requests_are_all_or_nothing_per_request,
    concurrent_completions_each_land_on_their_own_row,
    claim_succeeds_exactly_once_under_races,
    claim_refuses_expired_and_unknown_rows,
    full_lifecycle_round_trips_server_data,
    transitions_out_of_order_are_refused,
    mark_failed_stores_the_error_and_spares_complete_rows,
    expire_pending_expires_only_overdue_pending_rows,
    fail_stale_uploading_fails_only_stale_rows,
    multipart_rows_are_inserted_already_stored,
    sizes_above_u32_round_trip,
    objects_round_trip_and_a_replace_keeps_created,
    signed_uses_are_claimed_once_under_races,
);

fn upload(key: &str) -> NewUpload {
    NewUpload {
        key: key.to_string(),
        slug: "profilePicture".into(),
        status: UploadStatus::Pending,
        name: "cat.png".into(),
        custom_id: None,
        size: 1234,
        content_type: "image/png".into(),
        declared_sha256: None,
        acl: Acl::PublicRead,
        content_disposition: ContentDisposition::Inline,
        metadata: json!({ "user": "ada" }),
        expires_at: 10_000,
        created_at: 1_000,
        stored: None,
        caller: None,
        reserved: None,
    }
}

fn stored(size: u64) -> StoredInfo {
    StoredInfo {
        size,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        crc32: Some(0xDEAD_BEEF),
        content_type: "image/png".into(),
    }
}

fn error_body(code: ErrorCode, message: &str) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
        data: Some(json!({ "expected": 1234, "got": 99 })),
    }
}

async fn status(records: &Records, key: &str) -> UploadStatus {
    records.get(key).await.unwrap().expect("row exists").status
}

async fn count_rows(records: &Records) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM uplift_uploads")
        .fetch_one(records.pool())
        .await
        .unwrap()
}

async fn migrations_create_the_table_and_are_idempotent(h: &Harness) {
    let records = h.open().await;
    assert_eq!(count_rows(&records).await, 0, "a fresh table is empty");
    assert_eq!(records.get("nope").await.unwrap(), None);
    let mut row = upload("kept");
    row.custom_id = Some("cid-1".into());
    row.declared_sha256 = Some(stored(1).sha256);
    row.acl = Acl::Private;
    row.content_disposition = ContentDisposition::Attachment;
    row.metadata = json!({ "user": "ada", "tags": ["a", "ü", 3], "nested": { "n": null } });
    records.insert(std::slice::from_ref(&row)).await.unwrap();
    records.close().await;

    // A restarted server: migrations run again, find themselves applied, rows are kept.
    let again = h.open().await;
    let got = again
        .get("kept")
        .await
        .unwrap()
        .expect("row survives reconnect");
    assert_eq!(got.key, "kept");
    assert_eq!(got.slug, row.slug);
    assert_eq!(got.status, UploadStatus::Pending);
    assert_eq!(got.name, row.name);
    assert_eq!(got.custom_id.as_deref(), Some("cid-1"));
    assert_eq!(got.size, row.size);
    assert_eq!(got.content_type, row.content_type);
    assert_eq!(got.declared_sha256, row.declared_sha256);
    assert_eq!(got.acl, Acl::Private);
    assert_eq!(got.content_disposition, ContentDisposition::Attachment);
    assert_eq!(got.metadata, row.metadata);
    assert_eq!(got.stored, None);
    assert_eq!(got.server_data, None);
    assert_eq!(got.error, None);
    assert_eq!(
        (got.expires_at, got.created_at, got.updated_at),
        (10_000, 1_000, 1_000)
    );
    assert_eq!(count_rows(&again).await, 1);
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(again.pool())
        .await
        .unwrap();
    // As many as there are migration files (the same number for both backends).
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count() as i64;
    assert_eq!(applied, files, "each migration is applied once");
    // A third connection while the second is still open.
    let third = h.open().await;
    assert_eq!(count_rows(&third).await, 1);
    third.close().await;
    again.close().await;
}

async fn insert_is_all_or_nothing(h: &Harness) {
    let records = h.open().await;
    records.insert(&[]).await.unwrap();

    // A duplicate inside the batch: nothing is inserted.
    let err = records
        .insert(&[upload("a"), upload("b"), upload("a")])
        .await
        .unwrap_err();
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "expected a unique violation, got {err:?}"
    );
    assert_eq!(records.get("a").await.unwrap(), None);
    assert_eq!(records.get("b").await.unwrap(), None);

    // A duplicate of an existing row: the new rows of the batch are not inserted either.
    records.insert(&[upload("c")]).await.unwrap();
    assert!(records.insert(&[upload("d"), upload("c")]).await.is_err());
    assert_eq!(records.get("d").await.unwrap(), None);
    assert_eq!(count_rows(&records).await, 1);

    // And a clean batch goes in whole.
    records
        .insert(&[upload("e"), upload("f"), upload("g")])
        .await
        .unwrap();
    assert_eq!(count_rows(&records).await, 4);
    records.close().await;
}

/// Many requests at once, their rows written in shared statements: each request's rows go in
/// whole or not at all, and one request's failure is its own.
async fn prepared_rows_of_concurrent_requests_are_all_or_nothing_per_request(h: &Harness) {
    let records = h.open().await;
    records.insert(&[upload("taken")]).await.unwrap();
    let requests: Vec<Vec<NewUpload>> = (0..200)
        .map(|i| match i {
            // A key that exists: this request fails, and its fresh key is not inserted.
            7 => vec![upload("fresh-7"), upload("taken")],
            // A key twice within one request.
            8 => vec![upload("twice"), upload("twice")],
            // More rows than one statement carries.
            9 => (0..150).map(|j| upload(&format!("big-{j}"))).collect(),
            _ => vec![upload(&format!("k{i}a")), upload(&format!("k{i}b"))],
        })
        .collect();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|rows| {
            let records = records.clone();
            tokio::spawn(async move { records.insert_prepared(rows).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let outcome = task.await.unwrap();
        assert_eq!(
            outcome.is_err(),
            i == 7 || i == 8,
            "request {i}: {outcome:?}"
        );
    }
    assert_eq!(records.get("fresh-7").await.unwrap(), None);
    assert_eq!(records.get("twice").await.unwrap(), None);
    assert_eq!(status(&records, "k199b").await, UploadStatus::Pending);
    assert_eq!(status(&records, "big-149").await, UploadStatus::Pending);
    assert_eq!(count_rows(&records).await, 1 + 197 * 2 + 150);
    records.close().await;
}

async fn concurrent_completions_each_land_on_their_own_row(h: &Harness) {
    let records = h.open().await;
    let rows: Vec<NewUpload> = (0..120)
        .map(|i| {
            let mut row = upload(&format!("c{i}"));
            row.status = UploadStatus::Completing;
            row.stored = Some(stored(10));
            row
        })
        .collect();
    records.insert(&rows).await.unwrap();
    // Two rows no longer completing: their completion changes nothing and says so.
    assert!(records
        .mark_failed("c3", &error_body(ErrorCode::Internal, "gone"), 2_000)
        .await
        .unwrap());
    assert!(records
        .mark_complete("c4", Some(&json!("first")), 2_000)
        .await
        .unwrap());
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let records = records.clone();
            tokio::spawn(async move {
                let data = match i {
                    // No answer and a `null` answer stay apart.
                    5 => None,
                    6 => Some(Value::Null),
                    _ => Some(json!({ "n": i, "quote": "it's \"fine\"" })),
                };
                records
                    .mark_complete(&format!("c{i}"), data.as_ref(), 3_000 + i)
                    .await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let changed = task.await.unwrap().unwrap();
        assert_eq!(changed, i != 3 && i != 4, "row c{i}");
    }
    for i in 0..120 {
        let rec = records.get(&format!("c{i}")).await.unwrap().unwrap();
        let expected = match i {
            3 => {
                assert_eq!(rec.status, UploadStatus::Failed);
                continue;
            }
            4 => Some(json!("first")),
            5 => None,
            6 => Some(Value::Null),
            _ => Some(json!({ "n": i, "quote": "it's \"fine\"" })),
        };
        assert_eq!(rec.status, UploadStatus::Complete, "row c{i}");
        assert_eq!(rec.server_data, expected, "row c{i}");
    }
    records.close().await;
}

async fn claim_succeeds_exactly_once_under_races(h: &Harness) {
    let records = h.open().await;
    records.insert(&[upload("race")]).await.unwrap();

    let start = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let records = records.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                records.claim("race", 2_000).await.expect("claim query")
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one of 16 concurrent claims wins");
    let got = records.get("race").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Uploading);
    assert_eq!(got.updated_at, 2_000);
    assert!(
        !records.claim("race", 2_001).await.unwrap(),
        "a replay is refused"
    );
    records.close().await;
}

async fn claim_refuses_expired_and_unknown_rows(h: &Harness) {
    let records = h.open().await;
    records
        .insert(&[upload("late"), upload("on-time")])
        .await
        .unwrap();
    // expires_at is 10_000: at that instant the URL is already gone.
    assert!(!records.claim("late", 10_000).await.unwrap());
    assert!(!records.claim("late", 50_000).await.unwrap());
    assert_eq!(status(&records, "late").await, UploadStatus::Pending);
    assert!(records.claim("on-time", 9_999).await.unwrap());
    assert!(!records.claim("missing", 1).await.unwrap());
    records.close().await;
}

async fn full_lifecycle_round_trips_server_data(h: &Harness) {
    let records = h.open().await;
    let mut row = upload("life");
    row.declared_sha256 = Some(stored(1234).sha256);
    records.insert(&[row]).await.unwrap();
    assert_eq!(status(&records, "life").await, UploadStatus::Pending);

    assert!(records.claim("life", 2_000).await.unwrap());
    assert_eq!(status(&records, "life").await, UploadStatus::Uploading);
    let claimed = records.get("life").await.unwrap().unwrap();

    assert!(records
        .mark_stored("life", &stored(1234), 3_000)
        .await
        .unwrap());
    let got = records.get("life").await.unwrap().unwrap();
    assert_eq!(got, claimed.stored_as(stored(1234), 3_000));
    assert_eq!(got.status, UploadStatus::Completing);
    assert_eq!(got.stored, Some(stored(1234)));
    assert_eq!(got.server_data, None);
    assert_eq!(got.updated_at, 3_000);

    let server_data = json!({
        "url": "https://cdn.example/life",
        "sizes": [1, 2.5, -3],
        "ok": true,
        "none": null,
        "text": "quote \" backslash \\ unicode ✓",
    });
    assert!(records
        .mark_complete("life", Some(&server_data), 4_000)
        .await
        .unwrap());
    let got = records.get("life").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Complete);
    assert_eq!(got.server_data, Some(server_data));
    assert_eq!(got.stored, Some(stored(1234)), "stored info is kept");
    assert_eq!(got.error, None);
    assert_eq!((got.created_at, got.updated_at), (1_000, 4_000));

    // A hook that answered nothing, and one that answered JSON null.
    records
        .insert(&[upload("quiet"), upload("null")])
        .await
        .unwrap();
    for key in ["quiet", "null"] {
        assert!(records.claim(key, 2_000).await.unwrap());
        assert!(records.mark_stored(key, &stored(1), 3_000).await.unwrap());
    }
    assert!(records.mark_complete("quiet", None, 4_000).await.unwrap());
    assert!(records
        .mark_complete("null", Some(&serde_json::Value::Null), 4_000)
        .await
        .unwrap());
    assert_eq!(
        records.get("quiet").await.unwrap().unwrap().server_data,
        None
    );
    assert_eq!(
        records.get("null").await.unwrap().unwrap().server_data,
        Some(serde_json::Value::Null)
    );
    records.close().await;
}

async fn transitions_out_of_order_are_refused(h: &Harness) {
    let records = h.open().await;
    records.insert(&[upload("order")]).await.unwrap();
    let data = json!({ "x": 1 });
    assert!(!records
        .mark_stored("order", &stored(1), 2_000)
        .await
        .unwrap());
    assert!(!records
        .mark_complete("order", Some(&data), 2_000)
        .await
        .unwrap());
    assert!(records.claim("order", 2_000).await.unwrap());
    assert!(!records
        .mark_complete("order", Some(&data), 2_000)
        .await
        .unwrap());
    assert!(records
        .mark_stored("order", &stored(1), 3_000)
        .await
        .unwrap());
    assert!(!records
        .mark_stored("order", &stored(2), 3_001)
        .await
        .unwrap());
    assert!(!records.claim("order", 3_002).await.unwrap());
    assert!(records
        .mark_complete("order", Some(&data), 4_000)
        .await
        .unwrap());
    assert!(!records.mark_complete("order", None, 4_001).await.unwrap());
    let got = records.get("order").await.unwrap().unwrap();
    assert_eq!(got.stored, Some(stored(1)));
    assert_eq!(got.server_data, Some(data));
    assert!(!records.mark_stored("missing", &stored(1), 1).await.unwrap());
    assert!(!records.mark_complete("missing", None, 1).await.unwrap());
    records.close().await;
}

async fn mark_failed_stores_the_error_and_spares_complete_rows(h: &Harness) {
    let records = h.open().await;
    records
        .insert(&[upload("bad"), upload("hook"), upload("done")])
        .await
        .unwrap();

    // Refused during upload.
    let mismatch = error_body(ErrorCode::SizeMismatch, "the body ended early");
    assert!(records.claim("bad", 2_000).await.unwrap());
    assert!(records.mark_failed("bad", &mismatch, 2_500).await.unwrap());
    let got = records.get("bad").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Failed);
    assert_eq!(got.error, Some(mismatch));
    assert_eq!(got.stored, None);
    assert_eq!(got.updated_at, 2_500);
    assert!(!records.claim("bad", 2_600).await.unwrap());

    // A completion hook failed: the stored bytes (and their record) stay.
    let hook_failed = ErrorBody {
        code: ErrorCode::CompletionFailed,
        message: "the completion hook failed".into(),
        data: None,
    };
    assert!(records.claim("hook", 2_000).await.unwrap());
    assert!(records
        .mark_stored("hook", &stored(1234), 3_000)
        .await
        .unwrap());
    assert!(records
        .mark_failed("hook", &hook_failed, 3_500)
        .await
        .unwrap());
    let got = records.get("hook").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Failed);
    assert_eq!(got.error, Some(hook_failed));
    assert_eq!(got.stored, Some(stored(1234)));
    assert!(!records.mark_complete("hook", None, 3_600).await.unwrap());

    // A complete upload is never turned into a failure.
    assert!(records.claim("done", 2_000).await.unwrap());
    assert!(records
        .mark_stored("done", &stored(1234), 3_000)
        .await
        .unwrap());
    assert!(records.mark_complete("done", None, 4_000).await.unwrap());
    let late = error_body(ErrorCode::Internal, "too late");
    assert!(!records.mark_failed("done", &late, 5_000).await.unwrap());
    let got = records.get("done").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Complete);
    assert_eq!(got.error, None);
    assert_eq!(got.updated_at, 4_000);

    assert!(!records.mark_failed("missing", &late, 5_000).await.unwrap());
    // A second failure loses: the first error stays (and only its winner tells the hook).
    assert!(!records.mark_failed("bad", &late, 6_000).await.unwrap());
    let got = records.get("bad").await.unwrap().unwrap();
    assert_eq!(got.error.map(|e| e.code), Some(ErrorCode::SizeMismatch));
    assert_eq!(got.updated_at, 2_500);
    records.close().await;
}

async fn expire_pending_expires_only_overdue_pending_rows(h: &Harness) {
    let records = h.open().await;
    let mut rows = Vec::new();
    for (key, expires_at) in [("e100", 100), ("e200", 200), ("e300", 300), ("busy", 100)] {
        let mut row = upload(key);
        row.expires_at = expires_at;
        row.created_at = 10;
        rows.push(row);
    }
    records.insert(&rows).await.unwrap();
    assert!(records.claim("busy", 50).await.unwrap());

    assert_eq!(records.expire_pending(200).await.unwrap().len(), 2);
    assert_eq!(status(&records, "e100").await, UploadStatus::Expired);
    assert_eq!(status(&records, "e200").await, UploadStatus::Expired);
    assert_eq!(status(&records, "e300").await, UploadStatus::Pending);
    assert_eq!(status(&records, "busy").await, UploadStatus::Uploading);
    assert_eq!(records.get("e100").await.unwrap().unwrap().updated_at, 200);

    assert_eq!(
        records.expire_pending(200).await.unwrap().len(),
        0,
        "idempotent"
    );
    assert!(
        !records.claim("e100", 150).await.unwrap(),
        "expired stays expired"
    );
    assert_eq!(records.expire_pending(1_000).await.unwrap().len(), 1);
    assert_eq!(status(&records, "e300").await, UploadStatus::Expired);
    records.close().await;
}

async fn fail_stale_uploading_fails_only_stale_rows(h: &Harness) {
    let records = h.open().await;
    records
        .insert(&[
            upload("stale-b"),
            upload("stale-a"),
            upload("fresh"),
            upload("waiting"),
            upload("stored"),
        ])
        .await
        .unwrap();
    assert!(records.claim("stale-b", 100).await.unwrap());
    assert!(records.claim("stale-a", 200).await.unwrap());
    assert!(records.claim("fresh", 500).await.unwrap());
    assert!(records.claim("stored", 100).await.unwrap());
    assert!(records
        .mark_stored("stored", &stored(1), 150)
        .await
        .unwrap());

    let killed = ErrorBody {
        code: ErrorCode::Internal,
        message: "the server stopped during the upload".into(),
        data: None,
    };
    let keys = records
        .fail_stale_uploading(300, &killed, 1_000)
        .await
        .unwrap();
    assert_eq!(keys, vec!["stale-a".to_string(), "stale-b".to_string()]);
    for key in ["stale-a", "stale-b"] {
        let got = records.get(key).await.unwrap().unwrap();
        assert_eq!(got.status, UploadStatus::Failed);
        assert_eq!(got.error.as_ref(), Some(&killed));
        assert_eq!(got.updated_at, 1_000);
    }
    assert_eq!(status(&records, "fresh").await, UploadStatus::Uploading);
    assert_eq!(status(&records, "waiting").await, UploadStatus::Pending);
    assert_eq!(status(&records, "stored").await, UploadStatus::Completing);

    // updated_at == older_than is not stale; nothing left to fail at 300.
    assert!(records
        .fail_stale_uploading(300, &killed, 1_001)
        .await
        .unwrap()
        .is_empty());
    assert!(records
        .fail_stale_uploading(500, &killed, 1_002)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        records
            .fail_stale_uploading(501, &killed, 1_003)
            .await
            .unwrap(),
        vec!["fresh".to_string()]
    );
    records.close().await;
}

async fn multipart_rows_are_inserted_already_stored(h: &Harness) {
    let records = h.open().await;
    let mut rows = Vec::new();
    for key in ["mp-1", "mp-2"] {
        let mut row = upload(key);
        row.status = UploadStatus::Completing;
        row.stored = Some(stored(1234));
        row.custom_id = Some(format!("custom-{key}"));
        rows.push(row);
    }
    records.insert(&rows).await.unwrap();

    let got = records.get("mp-1").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Completing);
    assert_eq!(got.stored, Some(stored(1234)));
    assert_eq!(got.custom_id.as_deref(), Some("custom-mp-1"));
    assert!(
        !records.claim("mp-1", 2_000).await.unwrap(),
        "nothing to upload"
    );
    assert_eq!(records.expire_pending(i64::MAX).await.unwrap().len(), 0);

    let data = json!({ "saved": true });
    assert!(records
        .mark_complete("mp-1", Some(&data), 2_000)
        .await
        .unwrap());
    assert_eq!(status(&records, "mp-1").await, UploadStatus::Complete);
    let err = error_body(ErrorCode::CompletionFailed, "hook failed");
    assert!(records.mark_failed("mp-2", &err, 2_000).await.unwrap());
    let got = records.get("mp-2").await.unwrap().unwrap();
    assert_eq!(got.status, UploadStatus::Failed);
    assert_eq!(got.stored, Some(stored(1234)));
    records.close().await;
}

async fn sizes_above_u32_round_trip(h: &Harness) {
    let records = h.open().await;
    let big = (5u64 << 32) + 7;
    let huge = i64::MAX as u64;
    let mut row = upload("big");
    row.size = big;
    let mut edge = upload("edge");
    edge.size = huge;
    records.insert(&[row, edge]).await.unwrap();
    assert_eq!(records.get("big").await.unwrap().unwrap().size, big);
    assert_eq!(records.get("edge").await.unwrap().unwrap().size, huge);

    assert!(records.claim("big", 2_000).await.unwrap());
    let info = StoredInfo {
        size: big,
        crc32: Some(u32::MAX),
        ..stored(0)
    };
    assert!(records.mark_stored("big", &info, 3_000).await.unwrap());
    assert_eq!(
        records.get("big").await.unwrap().unwrap().stored,
        Some(info)
    );

    // Beyond BIGINT: refused before touching the database.
    let mut too_big = upload("too-big");
    too_big.size = u64::MAX;
    assert!(records.insert(&[too_big]).await.is_err());
    assert_eq!(records.get("too-big").await.unwrap(), None);
    records.close().await;
}

fn object(path: &str, id: &str, at: i64) -> ObjectRecord {
    ObjectRecord {
        path: path.into(),
        id: id.into(),
        content_type: "image/png".into(),
        size: 5 * 1024 * 1024 * 1024,
        sha256: stored(1).sha256,
        crc32: 0xFFFF_FFFF,
        width: Some(4000),
        height: None,
        metadata: [("owner".to_string(), "ü".to_string())].into(),
        disposition: Some("attachment".into()),
        acl: Acl::PublicRead,
        created: at,
        updated: at,
    }
}

async fn objects_round_trip_and_a_replace_keeps_created(h: &Harness) {
    let records = h.open().await;
    assert_eq!(records.get_object("a/b.png").await.unwrap(), None);
    let first = object("a/b.png", "one", 1_000);
    records.put_object(&first).await.unwrap();
    assert_eq!(records.get_object("a/b.png").await.unwrap(), Some(first));
    let mut second = object("a/b.png", "two", 2_000);
    second.acl = Acl::Private;
    second.disposition = None;
    records.put_object(&second).await.unwrap();
    let got = records.get_object("a/b.png").await.unwrap().unwrap();
    assert_eq!(
        (got.id.as_str(), got.created, got.updated),
        ("two", 1_000, 2_000)
    );
    assert_eq!((got.acl, got.disposition), (Acl::Private, None));
    assert!(records.delete_object("a/b.png").await.unwrap());
    assert!(!records.delete_object("a/b.png").await.unwrap());
    records.close().await;
}

async fn signed_uses_are_claimed_once_under_races(h: &Harness) {
    let records = h.open().await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let records = records.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                records
                    .claim_signed_use("once", i)
                    .await
                    .expect("claim query")
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one of 16 concurrent uses wins");
    assert!(records.claim_signed_use("other", 1).await.unwrap());
    records.close().await;
}

/// Instances starting at once on a fresh schema: each creates the schema if it is missing and
/// runs the migrations (sqlx's PostgreSQL migrator holds an advisory lock while it runs). All
/// of them start, and each migration is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_on_a_fresh_postgres_schema_all_succeed() {
    let Some(h) = Harness::postgres().await else {
        return;
    };
    let Kind::Postgres { url, schema } = &h.kind else {
        unreachable!("a PostgreSQL harness")
    };
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (url, schema) = (url.clone(), schema.clone());
        starts.spawn(async move { Records::connect_with_schema(&url, &schema).await });
    }
    let mut opened = Vec::new();
    while let Some(done) = starts.join_next().await {
        opened.push(done.unwrap().expect("every concurrent start succeeds"));
    }
    assert_eq!(opened.len(), 5);
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(opened[0].pool())
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!(applied, files, "each migration is applied once");
    // Every instance writes to the same table.
    for (i, records) in opened.iter().enumerate() {
        records.insert(&[upload(&format!("k{i}"))]).await.unwrap();
    }
    assert_eq!(count_rows(&opened[4]).await, 5);
    for records in opened {
        records.close().await;
    }
}
