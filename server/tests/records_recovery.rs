//! The records side of crash recovery, on SQLite (a temp-dir file) and PostgreSQL (a fresh
//! schema on `UPLIFT_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! skipped with a note when unreachable unless `UPLIFT_REQUIRE_POSTGRES=1`): what an instance
//! left in flight, the tus lock takeover, and the stale `completing` rule.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection as _;
use uplift::{Acl, ContentDisposition, ErrorBody, ErrorCode, UploadStatus};
use uplift::{InstanceRecovery, LockTaken, NewUpload, Records, StoredInfo, TusState};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn sqlite() -> (Records, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Records::sqlite_in_dir(dir.path()).await.unwrap(), dir)
}

/// A fresh schema, dropped again by the caller; `None` when PostgreSQL is unreachable and not
/// required.
async fn postgres() -> Option<(Records, String, String)> {
    sqlx::any::install_default_drivers();
    let url = std::env::var("UPLIFT_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_string());
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(&url)).await,
        Ok(Ok(_))
    );
    if !ok {
        assert!(
            std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL not reachable at {url} and UPLIFT_REQUIRE_POSTGRES=1"
        );
        eprintln!("PostgreSQL not reachable at {url}: skipping");
        return None;
    }
    let schema = format!("uplift_test_{:016x}", rand::random::<u64>());
    let records = Records::connect_with_schema(&url, &schema).await.unwrap();
    Some((records, url, schema))
}

async fn drop_schema(url: &str, schema: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
}

fn upload(key: &str) -> NewUpload {
    NewUpload {
        key: key.to_string(),
        slug: "s".into(),
        status: UploadStatus::Pending,
        name: "a.png".into(),
        custom_id: None,
        size: 10,
        content_type: "image/png".into(),
        declared_sha256: None,
        acl: Acl::PublicRead,
        content_disposition: ContentDisposition::Inline,
        metadata: json!({}),
        expires_at: 100_000,
        created_at: 1_000,
        stored: None,
        caller: None,
        reserved: None,
    }
}

fn stored() -> StoredInfo {
    StoredInfo {
        size: 10,
        sha256: "00".repeat(32),
        crc32: Some(1),
        content_type: "image/png".into(),
    }
}

fn err(code: ErrorCode) -> ErrorBody {
    ErrorBody {
        code,
        message: "m".into(),
        data: None,
    }
}

fn tus() -> TusState {
    TusState {
        offset: 0,
        length: Some(10),
        concat: None,
        metadata: None,
        locked: false,
    }
}

/// Recovery of instance "a": interrupted uploads fail with `SIZE_MISMATCH`, completions with
/// `COMPLETION_FAILED`.
async fn recover_a(r: &Records, now_ms: i64) -> InstanceRecovery {
    r.recover_instance(
        "a",
        &err(ErrorCode::SizeMismatch),
        &err(ErrorCode::CompletionFailed),
        now_ms,
    )
    .await
    .unwrap()
}

async fn status(r: &Records, key: &str) -> (UploadStatus, Option<ErrorCode>) {
    let rec = r.get(key).await.unwrap().unwrap();
    (rec.status, rec.error.map(|e| e.code))
}

async fn recovery_fails_and_releases_only_this_instances_rows(r: &Records) {
    // Instance "a": a PUT mid-body, a completion, a tus lock, a tus upload mid-way.
    r.insert(&[
        upload("put-a"),
        upload("put-b"),
        upload("done-a"),
        upload("put-none"),
    ])
    .await
    .unwrap();
    assert!(r.claim_as("put-a", Some("a"), 2_000).await.unwrap());
    assert!(r.claim_as("put-b", Some("b"), 2_000).await.unwrap());
    assert!(r.claim("put-none", 2_000).await.unwrap());
    assert!(r.claim_as("done-a", Some("a"), 2_000).await.unwrap());
    assert!(r
        .mark_stored_as("done-a", &stored(), None, 2_100)
        .await
        .unwrap());
    let mut row = upload("tus-a");
    row.status = UploadStatus::Uploading;
    r.tus_insert(&row, &tus()).await.unwrap();
    let mut row = upload("tus-b");
    row.status = UploadStatus::Uploading;
    r.tus_insert(&row, &tus()).await.unwrap();
    assert_eq!(
        r.tus_lock("tus-a", "a:1", Some("a"), 3_000, 50_000)
            .await
            .unwrap(),
        LockTaken::Free
    );
    assert_eq!(
        r.tus_lock("tus-b", "b:1", Some("b"), 3_000, 50_000)
            .await
            .unwrap(),
        LockTaken::Free
    );
    assert_eq!(
        r.tus_lock("tus-a", "x:2", Some("x"), 3_001, 50_000)
            .await
            .unwrap(),
        LockTaken::Refused
    );

    let done = recover_a(r, 4_000).await;
    assert_eq!(done.uploads_failed, vec!["put-a".to_string()]);
    assert_eq!(done.completions_failed, vec!["done-a".to_string()]);
    assert_eq!(done.locks_released, 1);
    assert_eq!(
        status(r, "put-a").await,
        (UploadStatus::Failed, Some(ErrorCode::SizeMismatch))
    );
    assert_eq!(
        status(r, "done-a").await,
        (UploadStatus::Failed, Some(ErrorCode::CompletionFailed))
    );
    // Stored columns are kept on a failed completion.
    assert!(r.get("done-a").await.unwrap().unwrap().stored.is_some());
    // Other instances' rows (and rows of no instance) are untouched; the tus upload goes on.
    assert_eq!(status(r, "put-b").await.0, UploadStatus::Uploading);
    assert_eq!(status(r, "put-none").await.0, UploadStatus::Uploading);
    assert_eq!(status(r, "tus-a").await.0, UploadStatus::Uploading);
    let (_, t) = r.tus_get("tus-a", 4_000).await.unwrap().unwrap();
    assert!(!t.locked, "the lock is released at once");
    let (_, t) = r.tus_get("tus-b", 4_000).await.unwrap().unwrap();
    assert!(t.locked);
    // A lock released by recovery is free, not taken over.
    assert_eq!(
        r.tus_lock("tus-a", "a:3", Some("a"), 4_001, 50_000)
            .await
            .unwrap(),
        LockTaken::Free
    );
    // Twice is harmless.
    let again = recover_a(r, 5_000).await;
    assert!(again.uploads_failed.is_empty() && again.completions_failed.is_empty());
}

async fn an_expired_lease_is_taken_over_and_its_owner_is_fenced(r: &Records) {
    let mut row = upload("t");
    row.status = UploadStatus::Uploading;
    r.tus_insert(&row, &tus()).await.unwrap();
    assert_eq!(
        r.tus_lock("t", "old", None, 1_000, 2_000).await.unwrap(),
        LockTaken::Free
    );
    assert!(r.tus_renew("t", "old", 3_000).await.unwrap());
    assert_eq!(
        r.tus_lock("t", "new", None, 2_999, 5_000).await.unwrap(),
        LockTaken::Refused
    );
    assert_eq!(
        r.tus_lock("t", "new", None, 3_000, 5_000).await.unwrap(),
        LockTaken::TakenOver
    );
    // The old owner can neither renew nor record progress any more.
    assert!(!r.tus_renew("t", "old", 9_000).await.unwrap());
    assert!(!r
        .tus_progress("t", "old", 5, None, Some(9_000), 9_000, 3_001)
        .await
        .unwrap());
    assert!(r
        .tus_progress("t", "new", 5, None, None, 9_000, 3_001)
        .await
        .unwrap());
    assert_eq!(
        r.tus_lock("t", "third", None, 3_002, 5_000).await.unwrap(),
        LockTaken::Free
    );
}

async fn live_uploads_are_touched_and_stale_completions_fail(r: &Records) {
    r.insert(&[upload("live"), upload("done")]).await.unwrap();
    assert!(r.claim("live", 1_000).await.unwrap());
    assert!(r.touch_uploading("live", 5_000).await.unwrap());
    let failed = r
        .fail_stale_uploading(4_000, &err(ErrorCode::SizeMismatch), 6_000)
        .await
        .unwrap();
    assert!(failed.is_empty(), "a touched upload is not stale");
    assert!(
        !r.touch_uploading("done", 5_000).await.unwrap(),
        "not uploading"
    );

    assert!(r.claim("done", 1_000).await.unwrap());
    assert!(r.mark_stored("done", &stored(), 2_000).await.unwrap());
    let e = err(ErrorCode::CompletionFailed);
    assert!(r
        .fail_stale_completing(2_000, &e, 7_000)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        r.fail_stale_completing(2_001, &e, 7_000).await.unwrap(),
        vec!["done".to_string()]
    );
    assert_eq!(
        status(r, "done").await,
        (UploadStatus::Failed, Some(ErrorCode::CompletionFailed))
    );
    assert!(!r.mark_complete("done", None, 8_000).await.unwrap());
}

fn part(key: &str) -> (NewUpload, TusState) {
    let mut row = upload(key);
    row.status = UploadStatus::Uploading;
    let t = TusState {
        concat: Some("partial".into()),
        ..tus()
    };
    (row, t)
}

fn final_state() -> TusState {
    TusState {
        offset: 0,
        length: None,
        concat: Some("final;/a /b".into()),
        metadata: None,
        locked: false,
    }
}

fn final_row(key: &str, expires_at: i64) -> NewUpload {
    let mut row = upload(key);
    row.status = UploadStatus::Uploading;
    row.expires_at = expires_at;
    row
}

async fn finals_claim_their_parts_once(r: &Records) {
    for key in ["p1", "p2", "p3"] {
        let (row, t) = part(key);
        r.tus_insert(&row, &t).await.unwrap();
    }
    let mut whole = upload("whole");
    whole.status = UploadStatus::Uploading;
    r.tus_insert(&whole, &tus()).await.unwrap();
    let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();

    let f1 = final_row("f1", 150_000);
    let claimed = r
        .tus_insert_final(&f1, &final_state(), "http://o", &keys(&["p1", "p2"]), 2_000)
        .await
        .unwrap();
    assert_eq!(claimed, None);
    // p2 is taken, `whole` is no partial upload: nothing of those finals is inserted.
    let f2 = final_row("f2", 150_000);
    let refused = r
        .tus_insert_final(&f2, &final_state(), "http://o", &keys(&["p3", "p2"]), 2_000)
        .await
        .unwrap();
    assert_eq!(refused, Some(1));
    assert!(r.get("f2").await.unwrap().is_none());
    assert_eq!(r.tus_final_of("p3").await.unwrap(), None, "rolled back");
    let f3 = final_row("f3", 150_000);
    let refused = r
        .tus_insert_final(&f3, &final_state(), "http://o", &keys(&["whole"]), 2_000)
        .await
        .unwrap();
    assert_eq!(refused, Some(0));
    // Past its expiry, a part can no longer be claimed.
    let f4 = final_row("f4", 150_000);
    let refused = r
        .tus_insert_final(&f4, &final_state(), "http://o", &keys(&["p3"]), 100_000)
        .await
        .unwrap();
    assert_eq!(refused, Some(0));

    // Claimed parts belong to f1: the same expiry, no termination of their own.
    assert_eq!(r.tus_final_of("p1").await.unwrap(), Some("f1".to_string()));
    assert_eq!(r.get("p1").await.unwrap().unwrap().expires_at, 150_000);
    assert!(!r.tus_terminate("p1").await.unwrap());
    assert!(r.tus_terminate("whole").await.unwrap());
    let parts = r.tus_parts("f1", 2_000).await.unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| !p.is_finished() && !p.locked));
    r.tus_extend_final("f1", 160_000).await.unwrap();
    r.tus_extend_final("f1", 155_000).await.unwrap();
    for key in ["f1", "p1", "p2"] {
        assert_eq!(r.get(key).await.unwrap().unwrap().expires_at, 160_000);
    }
    assert_eq!(r.get("p3").await.unwrap().unwrap().expires_at, 100_000);

    // Joinable once every part has its bytes and nothing is locked.
    assert!(r.tus_joinable(3_000, 10).await.unwrap().is_empty());
    for key in ["p1", "p2"] {
        assert_eq!(
            r.tus_lock(key, "w", None, 3_000, 9_000).await.unwrap(),
            LockTaken::Free
        );
        assert!(r
            .tus_progress(key, "w", 10, None, None, 160_000, 3_000)
            .await
            .unwrap());
    }
    assert_eq!(
        r.tus_joinable(3_000, 10).await.unwrap(),
        vec![("f1".to_string(), Some("http://o".to_string()))]
    );
    assert_eq!(
        r.tus_lock("p1", "w", None, 3_000, 9_000).await.unwrap(),
        LockTaken::Free
    );
    assert!(
        r.tus_joinable(3_000, 10).await.unwrap().is_empty(),
        "a part is locked"
    );
    r.tus_unlock("p1", "w").await.unwrap();
    assert!(
        r.tus_joinable(200_000, 10).await.unwrap().is_empty(),
        "expired"
    );

    // A claim outlives its final upload only until someone looks: then it is void.
    assert!(r
        .mark_failed("f1", &err(ErrorCode::Expired), 4_000)
        .await
        .unwrap());
    assert_eq!(r.tus_final_of("p1").await.unwrap(), None);
    assert!(r.tus_release_stale_claim("p1").await.unwrap());
    assert!(!r.tus_release_stale_claim("p1").await.unwrap());
    assert_eq!(r.tus_release_parts("f1").await.unwrap(), 1, "p2 only");
    assert!(r.tus_terminate("p1").await.unwrap());

    // Terminating a waiting final upload frees its parts at once.
    let f5 = final_row("f5", 150_000);
    assert_eq!(
        r.tus_insert_final(&f5, &final_state(), "http://o", &keys(&["p2"]), 5_000)
            .await
            .unwrap(),
        None
    );
    assert!(r.tus_terminate_final("f5").await.unwrap());
    assert!(!r.tus_terminate_final("f5").await.unwrap());
    assert!(r.tus_terminate("p2").await.unwrap());
}

async fn concurrent_finals_claim_a_part_once(r: &Records) {
    for round in 0..10 {
        let p = format!("part-{round}");
        let (row, t) = part(&p);
        r.tus_insert(&row, &t).await.unwrap();
        let (fa, fb) = (
            final_row(&format!("fa-{round}"), 150_000),
            final_row(&format!("fb-{round}"), 150_000),
        );
        let parts = vec![p.clone()];
        let state = final_state();
        let (a, b) = tokio::join!(
            r.tus_insert_final(&fa, &state, "o", &parts, 1_000),
            r.tus_insert_final(&fb, &state, "o", &parts, 1_000),
        );
        let won = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|o| o.is_none())
            .count();
        assert_eq!(won, 1, "round {round}");
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                let (r, _dir) = super::sqlite().await;
                super::$name(&r).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some((r, url, schema)) = super::postgres().await else { return };
                let outcome = futures_util::FutureExt::catch_unwind(
                    std::panic::AssertUnwindSafe(super::$name(&r)),
                )
                .await;
                r.close().await;
                super::drop_schema(&url, &schema).await;
                if let Err(p) = outcome {
                    std::panic::resume_unwind(p);
                }
            })*
        }
    };
}

async fn a_row_created_locked_is_held_and_storing_records_the_whole_offset(r: &Records) {
    let mut row = upload("made-locked");
    row.status = UploadStatus::Uploading;
    r.tus_insert_locked(&row, &tus(), "a:1", 50_000, Some("a"))
        .await
        .unwrap();
    let (_, t) = r.tus_get("made-locked", 2_000).await.unwrap().unwrap();
    assert!(t.locked, "the creating request holds the lock");
    assert_eq!(t.offset, 0);
    // Nobody else takes it while the lease runs; its owner renews it.
    assert_eq!(
        r.tus_lock("made-locked", "b:1", Some("b"), 3_000, 60_000)
            .await
            .unwrap(),
        LockTaken::Refused
    );
    assert!(r.tus_renew("made-locked", "a:1", 55_000).await.unwrap());
    // Stored without a last progress write: the offset is the stored size.
    assert!(r
        .mark_stored_as("made-locked", &stored(), Some("a"), 4_000)
        .await
        .unwrap());
    let (rec, t) = r.tus_get("made-locked", 4_000).await.unwrap().unwrap();
    assert_eq!(rec.status, UploadStatus::Completing);
    assert_eq!(t.offset, 10);
    // A row that is not a tus upload keeps no offset.
    r.insert(&[upload("plain")]).await.unwrap();
    assert!(r.claim("plain", 2_000).await.unwrap());
    assert!(r.mark_stored("plain", &stored(), 4_000).await.unwrap());
    assert!(r.tus_get("plain", 4_000).await.unwrap().is_none());
}

async fn rows_inserted_in_batches_keep_their_instance(r: &Records) {
    let stored_row = |key: &str| {
        let mut row = upload(key);
        row.status = UploadStatus::Completing;
        row.stored = Some(stored());
        row
    };
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .flat_map(|instance| (0..20).map(move |i| (instance, i)))
        .map(|(instance, i)| {
            let (r, row) = (r.clone(), stored_row(&format!("{instance}-{i}")));
            tokio::spawn(async move { r.insert_batched(vec![row], Some(instance)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let done = recover_a(r, 4_000).await;
    let mut failed = done.completions_failed.clone();
    failed.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("a-{i}")).collect();
    expected.sort();
    assert_eq!(
        failed, expected,
        "only instance a's completions are its own"
    );
    assert_eq!(status(r, "b-7").await.0, UploadStatus::Completing);
}

async fn concurrent_stores_and_unlocks_each_land_on_their_own_row(r: &Records) {
    // Created at once: the rows go in together.
    let creations: Vec<_> = (0..60)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                let mut row = upload(&format!("s{i}"));
                row.status = UploadStatus::Uploading;
                r.tus_insert_locked(&row, &tus(), &format!("owner-{i}"), 50_000, None)
                    .await
            })
        })
        .collect();
    for c in creations {
        c.await.unwrap().unwrap();
    }
    // One row is no longer uploading: storing it changes nothing and says so.
    assert!(r
        .mark_failed("s2", &err(ErrorCode::Internal), 2_000)
        .await
        .unwrap());
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                let info = StoredInfo {
                    size: 10,
                    sha256: format!("{i:064x}"),
                    crc32: (i % 2 == 0).then_some(i as u32),
                    content_type: format!("image/x-{i}"),
                };
                let instance = format!("i{i}");
                let before = r.get(&format!("s{i}")).await.unwrap().unwrap();
                // Each row its own time: a batch keeps every row's.
                let now = 3_000 + i64::from(i);
                let stored = r
                    .mark_stored_as(&format!("s{i}"), &info, Some(&instance), now)
                    .await
                    .unwrap();
                // Only the right owner's release takes: every other row stays locked.
                let owner = if i % 3 == 0 {
                    "someone else".to_string()
                } else {
                    format!("owner-{i}")
                };
                r.tus_unlock(&format!("s{i}"), &owner).await.unwrap();
                (stored, before.stored_as(info, now))
            })
        })
        .collect();
    let mut expected = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let (stored, as_stored) = t.await.unwrap();
        assert_eq!(stored, i != 2, "row s{i}");
        expected.push(as_stored);
    }
    for i in 0..60u32 {
        let (rec, t) = r.tus_get(&format!("s{i}"), 4_000).await.unwrap().unwrap();
        assert_eq!(t.locked, i % 3 == 0, "row s{i}");
        if i == 2 {
            assert_eq!(rec.status, UploadStatus::Failed);
            continue;
        }
        // What the request builds instead of reading the row back is the row.
        assert_eq!(rec, expected[i as usize], "row s{i}");
        assert_eq!(rec.status, UploadStatus::Completing, "row s{i}");
        assert_eq!(t.offset, 10);
        let stored = rec.stored.unwrap();
        assert_eq!(stored.sha256, format!("{i:064x}"));
        assert_eq!(stored.crc32, (i % 2 == 0).then_some(i));
        assert_eq!(stored.content_type, format!("image/x-{i}"));
    }
}

async fn a_stale_owners_release_beside_the_live_ones_still_frees_the_lock(r: &Records) {
    let mut row = upload("contested");
    row.status = UploadStatus::Uploading;
    r.tus_insert_locked(&row, &tus(), "live", 50_000, Some("a"))
        .await
        .unwrap();
    // Releases queued together: stale owners' first, the live owner's last.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let r = r.clone();
            let owner = if i == 19 {
                "live".to_string()
            } else {
                format!("stale-{i}")
            };
            tokio::spawn(async move { r.tus_unlock("contested", &owner).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (_, t) = r.tus_get("contested", 2_000).await.unwrap().unwrap();
    assert!(!t.locked, "the live owner's release took");
    // A row created locked names its instance: a restart of that instance releases it.
    let mut row = upload("created-by-a");
    row.status = UploadStatus::Uploading;
    r.tus_insert_locked(&row, &tus(), "a:9", 50_000, Some("a"))
        .await
        .unwrap();
    let done = recover_a(r, 3_000).await;
    assert_eq!(done.locks_released, 1);
    let (_, t) = r.tus_get("created-by-a", 3_000).await.unwrap().unwrap();
    assert!(!t.locked);
}

both!(
    a_stale_owners_release_beside_the_live_ones_still_frees_the_lock,
    concurrent_stores_and_unlocks_each_land_on_their_own_row,
    rows_inserted_in_batches_keep_their_instance,
    a_row_created_locked_is_held_and_storing_records_the_whole_offset,
    recovery_fails_and_releases_only_this_instances_rows,
    an_expired_lease_is_taken_over_and_its_owner_is_fenced,
    live_uploads_are_touched_and_stale_completions_fail,
    finals_claim_their_parts_once,
    concurrent_finals_claim_a_part_once,
);
