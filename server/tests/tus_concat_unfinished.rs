//! tus concatenation-unfinished over real HTTP: a final upload created before its parts are
//! finished waits for them and is joined when the last byte of the last part arrives — by that
//! PATCH, or lazily by a HEAD of the final upload or by the sweep when a server stopped in
//! between. Its parts belong to it (no termination, one shared expiry), refusals are JSON
//! errors with stable codes, and two servers sharing the records join it exactly once. On
//! SQLite and on PostgreSQL (see `common::backend`).

mod common;

use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};

use common::backend::Db;
use common::fixtures;
use common::http::{assert_error, client, Resp, PATIENCE};
use common::{Options, TestServer, SECRET};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

/// What the hooks were told: `(key, "complete" | error code, the file URL handed over)`.
static EVENTS: Mutex<Vec<(String, String, String)>> = Mutex::new(Vec::new());

async fn joined(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    EVENTS
        .lock()
        .unwrap()
        .push((file.key.clone(), "complete".into(), file.url.clone()));
    Ok(json!({ "user": meta.user, "sha256": file.sha256, "size": file.size, "url": file.url }))
}

async fn failed(_meta: Option<Meta>, error: UploadError, key: String) {
    EVENTS
        .lock()
        .unwrap()
        .push((key, error.code().as_str().into(), String::new()));
}

fn events(key: &str) -> Vec<String> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _, _)| k == key)
        .map(|(_, what, _)| what.clone())
        .collect()
}

fn user(req: &HttpRequest) -> Result<Meta, UploadError> {
    match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        Some(u) => Ok(Meta { user: u.into() }),
        None => Err(UploadError::unauthorized("sign in first")),
    }
}

/// Public text up to 64 KB; the answer waits for the server data.
#[uplift::file_route(
    text(max_file_size = "64KB", acl = "public-read"),
    await_server_data = true,
    on_upload_complete = joined,
    on_upload_error = failed
)]
async fn notes(req: HttpRequest) -> Result<Meta, UploadError> {
    user(&req)
}

/// The same, with the hook in the background.
#[uplift::file_route(
    text(max_file_size = "64KB", acl = "public-read"),
    on_upload_complete = joined,
    on_upload_error = failed
)]
async fn memos(req: HttpRequest) -> Result<Meta, UploadError> {
    user(&req)
}

fn router() -> uplift::Router {
    uplift::router![notes, memos]
}

fn options(db: &Db, limits: Limits, instance: &'static str) -> Options {
    db.options(Options {
        configure: Box::new(move |b| b.limits(limits.clone()).instance_id(instance)),
        ..Default::default()
    })
}

fn server(db: &Db, limits: Limits) -> TestServer {
    TestServer::start_with(router(), options(db, limits, "first"))
}

/// A second server instance on the same records and disk as `srv`.
fn twin(db: &Db, srv: &TestServer, limits: Limits) -> TestServer {
    TestServer::start_with(router(), db.sharing(srv, options(db, limits, "twin")))
}

/// An app on the same records and disk, not serving: to sweep or recover with.
async fn app(db: &Db, srv: &TestServer, instance: &str) -> uplift::Uplift {
    uplift::Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(db.records(srv).await)
        .secret(SECRET)
        .instance_id(instance)
        .build()
        .unwrap()
}

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

fn final_meta() -> String {
    format!(
        "filename {},filetype {}",
        STANDARD.encode("joined.txt"),
        STANDARD.encode("text/plain")
    )
}

/// A partial upload of `length` bytes (deferred with `None`); its URL.
async fn partial(srv: &TestServer, slug: &str, length: Option<usize>) -> String {
    let mut rb = client()
        .post(format!("{}/{slug}/tus", srv.base))
        .header(TUS.0, TUS.1)
        .header("x-user", "ann")
        .header("upload-concat", "partial");
    rb = match length {
        Some(l) => rb.header("upload-length", l.to_string()),
        None => rb.header("upload-defer-length", "1"),
    };
    let r = send(rb).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    r.header("location").unwrap()
}

/// `POST {base}/{slug}/tus` with `Upload-Concat: final;<urls>`.
async fn create_final(srv: &TestServer, slug: &str, urls: &[&str]) -> Resp {
    send(
        client()
            .post(format!("{}/{slug}/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("x-user", "ann")
            .header("upload-metadata", final_meta())
            .header("upload-concat", format!("final;{}", urls.join(" "))),
    )
    .await
}

async fn patch(url: &str, offset: usize, body: &[u8], extra: &[(&str, &str)]) -> Resp {
    let mut rb = client()
        .patch(url)
        .header(TUS.0, TUS.1)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec());
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    send(rb).await
}

async fn patch_ok(url: &str, offset: usize, body: &[u8]) {
    let r = patch(url, offset, body, &[]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
}

async fn head(url: &str) -> Resp {
    send(client().head(url).header(TUS.0, TUS.1)).await
}

async fn delete(url: &str) -> Resp {
    send(client().delete(url).header(TUS.0, TUS.1)).await
}

fn server_data(r: &Resp) -> Value {
    let raw = r.header("uplift-server-data").expect("Uplift-Server-Data");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}

fn key_of(url: &str) -> String {
    let id = url.rsplit('/').next().unwrap();
    id.split_once('.').unwrap().0.to_string()
}

/// HEAD of a final upload that waits: 200, no offset, the length only when known.
async fn assert_waiting(url: &str, length: Option<usize>) -> Resp {
    let h = head(url).await;
    assert_eq!(h.status, 200, "{}", String::from_utf8_lossy(&h.bytes));
    assert!(
        h.header("upload-offset").is_none(),
        "a waiting final upload has no offset"
    );
    assert_eq!(h.header("upload-length"), length.map(|l| l.to_string()));
    assert!(h.header("upload-expires").is_some());
    assert!(h.header("uplift-server-data").is_none());
    h
}

/// Created before any part is finished, with one part's length deferred; the parts finish out
/// of order; the last PATCH joins them, and the final upload is stored with the server data.
async fn parts_finished_in_any_order_are_joined_by_the_last_patch(db: Db) {
    let srv = server(&db, Limits::default());
    let data = fixtures::text(30_000);
    let cuts = [0, 9_000, 21_000, 30_000];
    let a = partial(&srv, "notes", Some(9_000)).await;
    let b = partial(&srv, "notes", None).await;
    let c = partial(&srv, "notes", Some(9_000)).await;
    patch_ok(&a, 0, &data[..4_000]).await;

    let r = create_final(&srv, "notes", &[&a, &b, &c]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    assert!(r.header("uplift-server-data").is_none());
    assert!(r.header("upload-expires").is_some());
    assert_eq!(srv.status(&client(), &key).await["status"], "uploading");

    let h = assert_waiting(&url, None).await;
    let concat = h.header("upload-concat").unwrap();
    assert!(concat.starts_with("final;"), "{concat}");
    assert_eq!(concat.split_whitespace().count(), 3, "{concat}");
    assert_eq!(h.header("upload-metadata"), Some(final_meta()));

    // A final upload takes no bytes of its own, and its parts cannot be terminated.
    let r = patch(&url, 0, b"abc", &[]).await;
    assert_error(r.status, &r.json(), 403, "FORBIDDEN");
    let r = delete(&c).await;
    assert_error(r.status, &r.json(), 409, "CONFLICT");
    assert_eq!(head(&c).await.status, 200, "the part is still there");

    // The third part first, then the deferred one declares its length: now it is known.
    patch_ok(&c, 0, &data[cuts[2]..]).await;
    assert_waiting(&url, None).await;
    let r = patch(&b, 0, &data[cuts[1]..15_000], &[("upload-length", "12000")]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert_waiting(&url, Some(data.len())).await;
    patch_ok(&b, 6_000, &data[15_000..cuts[2]]).await;
    assert_waiting(&url, Some(data.len())).await;
    assert!(
        srv.stored_files().is_empty(),
        "nothing stored before the join"
    );

    // The first part's last bytes join them.
    patch_ok(&a, 4_000, &data[4_000..cuts[1]]).await;
    let h = head(&url).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.header("upload-offset"), Some(data.len().to_string()));
    assert_eq!(h.header("upload-length"), Some(data.len().to_string()));
    let sd = server_data(&h);
    assert_eq!(sd["sha256"], fixtures::sha256_hex(&data));
    assert_eq!(sd["size"], data.len());
    assert_eq!(sd["user"], "ann");
    assert_eq!(srv.stored_bytes(&key), data);
    let st = srv.status(&client(), &key).await;
    assert_eq!(st["status"], "complete", "{st}");
    assert_eq!(st["serverData"], sd);
    for part in [&a, &b, &c] {
        assert_eq!(head(part).await.status, 404, "the parts are consumed");
    }
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(events(&key), vec!["complete"]);
    let r = patch(&url, data.len(), b"x", &[]).await;
    assert_error(r.status, &r.json(), 403, "FORBIDDEN");
    let r = delete(&url).await;
    assert_error(r.status, &r.json(), 410, "CONFLICT");
}

/// A final upload whose parts are all finished is joined by its creation, whose answer
/// carries the server data.
async fn finished_parts_are_joined_at_creation(db: Db) {
    let srv = server(&db, Limits::default());
    let data = fixtures::text(5_000);
    let a = partial(&srv, "notes", Some(2_000)).await;
    let b = partial(&srv, "notes", Some(3_000)).await;
    patch_ok(&b, 0, &data[2_000..]).await;
    patch_ok(&a, 0, &data[..2_000]).await;
    let relative = a.strip_prefix(&srv.origin).unwrap();
    let r = create_final(&srv, "notes", &[relative, &b]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    assert!(r.header("upload-expires").is_none());
    assert_eq!(server_data(&r)["sha256"], fixtures::sha256_hex(&data));
    let key = r.header("uplift-key").unwrap();
    assert_eq!(srv.stored_bytes(&key), data);
}

/// Refusals are JSON errors with stable codes, and create nothing.
async fn bad_final_uploads_are_refused(db: Db) {
    let srv = server(&db, Limits::default());
    // Another deployment: same signing key, records of its own.
    let other = TestServer::start(router());
    let a = partial(&srv, "notes", Some(10)).await;
    let b = partial(&srv, "notes", Some(10)).await;
    let memo = partial(&srv, "memos", Some(10)).await;

    // A URL that is not an upload of this server.
    let r = create_final(&srv, "notes", &[&a, "https://elsewhere.example/files/abc"]).await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
    // Another server's upload: a valid capability, but no such upload here.
    let foreign = partial(&other, "notes", Some(10)).await;
    let r = create_final(&srv, "notes", &[&a, &foreign]).await;
    assert_error(r.status, &r.json(), 404, "NOT_FOUND");
    // A key without its capability, or with another upload's.
    let (a_base, a_id) = a.rsplit_once('/').unwrap();
    let (a_key, _) = a_id.split_once('.').unwrap();
    let (_, b_sig) = b.rsplit_once('/').unwrap().1.split_once('.').unwrap();
    for forged in [
        format!("{a_base}/{a_key}"),
        format!("{a_base}/{a_key}.{b_sig}"),
    ] {
        let r = create_final(&srv, "notes", &[&forged, &b]).await;
        assert_error(r.status, &r.json(), 403, "SIGNATURE_INVALID");
    }
    // A part of another route, the same part twice, an upload that is not a partial one.
    let r = create_final(&srv, "notes", &[&a, &memo]).await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
    let r = create_final(&srv, "notes", &[&a, &a]).await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
    let whole = send(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("x-user", "ann")
            .header("upload-metadata", final_meta())
            .header("upload-length", "10"),
    )
    .await
    .header("location")
    .unwrap();
    let r = create_final(&srv, "notes", &[&a, &whole]).await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
    // A terminated part.
    let gone = partial(&srv, "notes", Some(10)).await;
    assert_eq!(delete(&gone).await.status, 204);
    let r = create_final(&srv, "notes", &[&a, &gone]).await;
    assert_error(r.status, &r.json(), 404, "NOT_FOUND");
    // A final upload takes no Upload-Length.
    let r = send(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("x-user", "ann")
            .header("upload-length", "20")
            .header("upload-concat", format!("final;{a} {b}")),
    )
    .await;
    assert_error(r.status, &r.json(), 400, "BAD_REQUEST");
    // The middleware runs for the final upload too.
    let r = send(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("upload-metadata", final_meta())
            .header("upload-concat", format!("final;{a} {b}")),
    )
    .await;
    assert_error(r.status, &r.json(), 401, "UNAUTHORIZED");
    // Nothing above claimed the parts: a final upload takes them, and a second one is refused.
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let r = create_final(&srv, "notes", &[&b]).await;
    assert_error(r.status, &r.json(), 409, "CONFLICT");
    drop(other);
}

/// Terminating a waiting final upload frees its parts: they can be terminated, or joined by
/// another final upload.
async fn terminating_a_waiting_final_upload_frees_its_parts(db: Db) {
    let srv = server(&db, Limits::default());
    let data = fixtures::text(3_000);
    let a = partial(&srv, "notes", Some(1_000)).await;
    let b = partial(&srv, "notes", Some(2_000)).await;
    patch_ok(&a, 0, &data[..1_000]).await;
    let first = create_final(&srv, "notes", &[&a, &b]).await;
    let first = first.header("location").unwrap();
    assert_eq!(delete(&a).await.status, 409);
    assert_eq!(delete(&first).await.status, 204);
    assert_eq!(head(&first).await.status, 404);
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.header("location").unwrap();
    patch_ok(&b, 0, &data[1_000..]).await;
    let h = head(&url).await;
    assert_eq!(server_data(&h)["sha256"], fixtures::sha256_hex(&data));

    let c = partial(&srv, "notes", Some(10)).await;
    let r = create_final(&srv, "notes", &[&c]).await;
    assert_eq!(delete(&r.header("location").unwrap()).await.status, 204);
    assert_eq!(
        delete(&c).await.status,
        204,
        "a freed part can be terminated"
    );
}

/// Every byte of every part recorded, but the server stopped before joining them: the next
/// HEAD of the final upload joins them (here on another server instance).
async fn a_head_joins_what_a_stopped_server_left(db: Db) {
    let srv = server(&db, Limits::default());
    let data = fixtures::text(4_000);
    let a = partial(&srv, "notes", Some(1_500)).await;
    let b = partial(&srv, "notes", Some(2_500)).await;
    patch_ok(&a, 0, &data[..1_500]).await;
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    // The last part's bytes land and are recorded, as its PATCH does, without the join that
    // PATCH would run next (its server was killed).
    let records = db.records(&srv).await;
    let b_key = key_of(&b);
    srv.write_tus(&b_key, 0, &data[1_500..], true);
    let now = now_ms();
    assert_eq!(
        records
            .tus_lock(&b_key, "dead:1", Some("dead"), now, now + 60_000)
            .await
            .unwrap(),
        uplift::LockTaken::Free
    );
    assert!(records
        .tus_progress(&b_key, "dead:1", 2_500, None, None, now + 60_000, now)
        .await
        .unwrap());
    records.close().await;

    let twin = twin(&db, &srv, Limits::default());
    let on_twin = url.replace(&srv.origin, &twin.origin);
    let h = head(&on_twin).await;
    assert_eq!(h.status, 200, "{}", String::from_utf8_lossy(&h.bytes));
    assert_eq!(h.header("upload-offset"), Some(data.len().to_string()));
    assert_eq!(server_data(&h)["sha256"], fixtures::sha256_hex(&data));
    assert_eq!(srv.stored_bytes(&key), data);
    assert_eq!(events(&key), vec!["complete"]);
    assert_eq!(head(&a).await.status, 404);
    drop(twin);
}

/// A join that died with its server (the final upload locked, its length recorded): start-up
/// recovery of that instance releases the locks, and the sweep joins it, handing the hook URLs
/// of the origin the final upload was created through.
async fn the_sweep_joins_what_a_killed_join_left(db: Db) {
    let srv = server(
        &db,
        Limits {
            tus_lock_lease: Duration::from_secs(1),
            ..Limits::default()
        },
    );
    let data = fixtures::text(6_000);
    let a = partial(&srv, "memos", Some(2_000)).await;
    let b = partial(&srv, "memos", Some(4_000)).await;
    patch_ok(&a, 0, &data[..2_000]).await;
    let r = create_final(&srv, "memos", &[&a, &b]).await;
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    let records = db.records(&srv).await;
    let b_key = key_of(&b);
    srv.write_tus(&b_key, 0, &data[2_000..], true);
    let now = now_ms();
    let far = now + 3_600_000;
    // The part's bytes, then the join's start: the final upload's length recorded, it and
    // both parts locked by the dead process for an hour.
    for (k, owner, offset) in [(&b_key, "dead:1", 4_000u64), (&key, "dead:2", 6_000)] {
        assert_eq!(
            records
                .tus_lock(k, owner, Some("dead"), now, far)
                .await
                .unwrap(),
            uplift::LockTaken::Free
        );
        let length = (k == &key).then_some(offset);
        assert!(records
            .tus_progress(k, owner, offset, length, Some(far), far, now)
            .await
            .unwrap());
    }
    assert_eq!(
        records
            .tus_lock(&key_of(&a), "dead:3", Some("dead"), now, far)
            .await
            .unwrap(),
        uplift::LockTaken::Free
    );
    records.close().await;
    let h = head(&url).await;
    assert_eq!(h.status, 423, "a join that may still run is not reported");

    // Locked by a dead process: HEAD cannot decide it, and the sweep of another instance
    // leaves it to its lease.
    let other = app(&db, &srv, "other").await;
    assert_eq!(other.sweep().await.unwrap().tus_joined, 0);
    // The dead instance starts again: recovery releases its locks, its sweep joins.
    let restarted = app(&db, &srv, "dead").await;
    restarted.recover().await.unwrap();
    let report = restarted.sweep().await.unwrap();
    assert_eq!(report.tus_joined, 1, "{report:?}");
    assert_eq!(events(&key), vec!["complete"], "the hook ran once");
    let handed = EVENTS
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _, _)| k == &key)
        .unwrap()
        .2
        .clone();
    assert!(handed.starts_with(&srv.origin), "{handed}");
    let h = head(&url).await;
    assert_eq!(h.header("upload-offset"), Some(data.len().to_string()));
    assert_eq!(server_data(&h)["sha256"], fixtures::sha256_hex(&data));
    assert_eq!(restarted.sweep().await.unwrap().tus_joined, 0, "once");
    assert_eq!(srv.tus_uploads(), 0);
}

/// A part that went from under its final upload (its record removed behind Uplift's back):
/// the final upload fails cleanly, `on_upload_error` hears of it once, and the other parts
/// are freed.
async fn a_final_upload_whose_part_is_gone_fails_cleanly(db: Db) {
    let srv = server(&db, Limits::default());
    let a = partial(&srv, "notes", Some(10)).await;
    let b = partial(&srv, "notes", Some(10)).await;
    patch_ok(&a, 0, b"0123456789").await;
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    let url = r.header("location").unwrap();
    let key = r.header("uplift-key").unwrap();
    let records = db.records(&srv).await;
    assert!(records.tus_delete(&key_of(&b)).await.unwrap());
    records.close().await;

    let h = head(&url).await;
    assert_eq!(h.status, 409, "{}", String::from_utf8_lossy(&h.bytes));
    let st = srv.status(&client(), &key).await;
    assert_eq!(st["status"], "failed", "{st}");
    assert_eq!(st["error"]["code"], "EXPIRED", "{st}");
    assert_eq!(head(&url).await.status, 409);
    assert_eq!(events(&key), vec!["EXPIRED"], "told once");
    assert_eq!(delete(&a).await.status, 204, "the other part is free again");
}

/// One shared expiry: a finished part waiting for a slow sibling does not expire while the
/// sibling makes progress; once nothing moves for `tus_expiry`, all of them expire and the
/// sweep removes them.
async fn parts_share_the_final_uploads_expiry(db: Db) {
    let limits = Limits {
        tus_expiry: Duration::from_millis(2_000),
        ..Limits::default()
    };
    let srv = server(&db, limits);
    let data = fixtures::text(300);
    let a = partial(&srv, "notes", Some(100)).await;
    let b = partial(&srv, "notes", Some(200)).await;
    patch_ok(&a, 0, &data[..100]).await;
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    let url = r.header("location").unwrap();
    for step in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        patch_ok(&b, step * 10, &data[100 + step * 10..110 + step * 10]).await;
    }
    // 3 s after `a`'s last PATCH, past its own expiry: alive through its sibling.
    assert_eq!(head(&a).await.status, 200);
    assert_waiting(&url, Some(300)).await;
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    for u in [&a, &b, &url] {
        assert_eq!(head(u).await.status, 410, "{u}");
    }
    let report = app(&db, &srv, "sweeper").await.sweep().await.unwrap();
    assert_eq!(report.tus_expired, 3, "{report:?}");
    assert_eq!(srv.tus_uploads(), 0);
    assert_eq!(head(&url).await.status, 404);

    // And a finished part is joined when its late sibling finally arrives.
    let a = partial(&srv, "notes", Some(100)).await;
    let b = partial(&srv, "notes", Some(200)).await;
    patch_ok(&a, 0, &data[..100]).await;
    let url = create_final(&srv, "notes", &[&a, &b])
        .await
        .header("location")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    patch_ok(&b, 0, &data[100..150]).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    patch_ok(&b, 50, &data[150..]).await;
    assert_eq!(
        server_data(&head(&url).await)["sha256"],
        fixtures::sha256_hex(&data)
    );
}

/// The final upload asks no room of the caller's limits (its parts hold it until they are
/// joined), and the room is free again once it is stored.
async fn a_waiting_final_upload_takes_over_its_parts_reservations(db: Db) {
    let srv = server(
        &db,
        Limits {
            max_reserved_bytes_per_caller: Some(10_000),
            ..Limits::default()
        },
    );
    let data = fixtures::text(10_000);
    let a = partial(&srv, "notes", Some(6_000)).await;
    let b = partial(&srv, "notes", Some(4_000)).await;
    let r = create_final(&srv, "notes", &[&a, &b]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let url = r.header("location").unwrap();
    let r = send(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("x-user", "ann")
            .header("upload-metadata", final_meta())
            .header("upload-length", "1"),
    )
    .await;
    assert_error(r.status, &r.json(), 429, "TOO_MANY_REQUESTS");
    patch_ok(&a, 0, &data[..6_000]).await;
    patch_ok(&b, 0, &data[6_000..]).await;
    assert_eq!(
        server_data(&head(&url).await)["sha256"],
        fixtures::sha256_hex(&data)
    );
    let r = send(
        client()
            .post(format!("{}/notes/tus", srv.base))
            .header(TUS.0, TUS.1)
            .header("x-user", "ann")
            .header("upload-metadata", final_meta())
            .header("upload-length", "1"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
}

/// Two server instances on one database and disk: the last bytes of the two last parts arrive
/// at once, one on each. The final upload is joined exactly once.
async fn two_servers_finishing_the_last_parts_at_once_join_once(db: Db) {
    let srv = server(&db, Limits::default());
    let twin = twin(&db, &srv, Limits::default());
    for round in 0..3 {
        let data = fixtures::text(20_000 + round);
        let a = partial(&srv, "notes", Some(10_000)).await;
        let b = partial(&srv, "notes", Some(10_000 + round)).await;
        patch_ok(&a, 0, &data[..9_000]).await;
        patch_ok(&b, 0, &data[10_000..19_000]).await;
        let r = create_final(&srv, "notes", &[&a, &b]).await;
        let url = r.header("location").unwrap();
        let key = r.header("uplift-key").unwrap();
        let b_twin = b.replace(&srv.origin, &twin.origin);
        let (ra, rb) = tokio::join!(
            patch(&a, 9_000, &data[9_000..10_000], &[]),
            patch(&b_twin, 9_000, &data[19_000..], &[]),
        );
        assert_eq!((ra.status, rb.status), (204, 204));
        // Either PATCH joined it, or left it to the one holding the lock; HEAD waits for that.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let h = loop {
            let h = head(&url).await;
            if h.status != 423 {
                break h;
            }
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(h.status, 200, "{}", String::from_utf8_lossy(&h.bytes));
        assert_eq!(server_data(&h)["sha256"], fixtures::sha256_hex(&data));
        assert_eq!(events(&key), vec!["complete"], "joined once");
    }
    drop(twin);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

on_both_backends!(
    parts_finished_in_any_order_are_joined_by_the_last_patch,
    finished_parts_are_joined_at_creation,
    bad_final_uploads_are_refused,
    terminating_a_waiting_final_upload_frees_its_parts,
    a_head_joins_what_a_stopped_server_left,
    the_sweep_joins_what_a_killed_join_left,
    a_final_upload_whose_part_is_gone_fails_cleanly,
    parts_share_the_final_uploads_expiry,
    a_waiting_final_upload_takes_over_its_parts_reservations,
    two_servers_finishing_the_last_parts_at_once_join_once,
);
