//! Completion hooks over real HTTP: `await_server_data` true (the PUT answers with the server
//! data or the hook's error) and false (the PUT answers at once, the status endpoint shows the
//! outcome), and failing hooks reaching both the client and `on_upload_error`, with internal
//! details kept out of every response.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{ErrorCode, HttpRequest, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, put_head, start_put, Resp, PATIENCE};
use common::TestServer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

/// What `on_upload_error` was told about one upload: (key, code, message, metadata).
type HookCall = (String, String, String, Option<Meta>);
static HOOK_ERRORS: Mutex<Vec<HookCall>> = Mutex::new(Vec::new());
/// Holds `background`'s hook until the test has its PUT answer in hand.
static RELEASE_BACKGROUND: AtomicBool = AtomicBool::new(false);
/// Holds `awaited_slow`'s hook until its client has gone away.
static RELEASE_SLOW: AtomicBool = AtomicBool::new(false);

const SECRET_DETAIL: &str = "password=hunter2 at /var/lib/secret.db";

fn meta(req: &HttpRequest) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anon");
    Ok(Meta { user: user.into() })
}

async fn record_error(meta: Option<Meta>, error: UploadError, key: String) {
    HOOK_ERRORS.lock().unwrap().push((
        key,
        error.code().as_str().into(),
        error.message().into(),
        meta,
    ));
}

async fn greet(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "hello": meta.user, "name": file.name, "size": file.size, "key": file.key }))
}

async fn wait_for(flag: &AtomicBool) -> Result<(), UploadError> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !flag.load(Ordering::SeqCst) {
        if tokio::time::Instant::now() > deadline {
            return Err(UploadError::bad_request("the test never released the hook"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn greet_when_released(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    wait_for(&RELEASE_BACKGROUND).await?;
    greet(meta, file).await
}

async fn greet_slowly(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    wait_for(&RELEASE_SLOW).await?;
    greet(meta, file).await
}

async fn refuse(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Err(
        UploadError::new(ErrorCode::PreconditionFailed, "the album is full")
            .with_data(json!({ "album": 7 })),
    )
}

async fn crash(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Err(UploadError::internal(std::io::Error::other(SECRET_DETAIL)))
}

async fn explode(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    panic!("{SECRET_DETAIL}")
}

#[uplift::file_route(text, await_server_data, on_upload_complete = greet, on_upload_error = record_error)]
async fn awaited(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, on_upload_complete = greet_when_released, on_upload_error = record_error)]
async fn background(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, await_server_data, on_upload_complete = greet_slowly, on_upload_error = record_error)]
async fn awaited_slow(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, await_server_data, on_upload_complete = refuse, on_upload_error = record_error)]
async fn refused_awaited(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, on_upload_complete = refuse, on_upload_error = record_error)]
async fn refused_background(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, await_server_data, on_upload_complete = crash, on_upload_error = record_error)]
async fn crash_awaited(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, on_upload_complete = crash, on_upload_error = record_error)]
async fn crash_background(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

#[uplift::file_route(text, await_server_data, on_upload_complete = explode, on_upload_error = record_error)]
async fn panic_awaited(req: HttpRequest) -> Result<Meta, UploadError> {
    meta(&req)
}

fn server() -> TestServer {
    TestServer::start(uplift::router![
        awaited,
        awaited_slow,
        background,
        refused_awaited,
        refused_background,
        crash_awaited,
        crash_background,
        panic_awaited
    ])
}

/// Prepares `hello.txt` as user `ann` on `slug`; returns (key, upload URL).
async fn prepare(
    srv: &TestServer,
    c: &reqwest::Client,
    slug: &str,
    size: usize,
) -> (String, String) {
    let body = json!({ "files": [decl("hello.txt", size, "text/plain")] });
    let f = srv
        .prepare_raw(c, slug, &body, &[("x-user", "ann")])
        .await
        .ok()["files"][0]
        .clone();
    (
        f["key"].as_str().unwrap().into(),
        f["uploadUrl"].as_str().unwrap().into(),
    )
}

/// `on_upload_error` was called exactly once for `key`, with the metadata; returns (code, message).
async fn hook_error(key: &str) -> (String, String) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let seen: Vec<_> = HOOK_ERRORS
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.0 == key)
            .cloned()
            .collect();
        if let [(_, code, message, meta)] = seen.as_slice() {
            assert_eq!(
                meta,
                &Some(Meta { user: "ann".into() }),
                "on_upload_error without the metadata"
            );
            return (code.clone(), message.clone());
        }
        assert!(
            seen.len() < 2,
            "on_upload_error called {} times for {key}",
            seen.len()
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "on_upload_error was never called for {key}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn no_hook_error(key: &str) {
    assert!(
        !HOOK_ERRORS.lock().unwrap().iter().any(|e| e.0 == key),
        "on_upload_error called for {key}"
    );
}

/// The stored bytes of a failed upload are never served.
async fn assert_not_served(srv: &TestServer, c: &reqwest::Client, key: &str) {
    let r = Resp::read(
        c.get(srv.url(&format!("/download/{key}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn awaited_server_data_comes_with_the_put_answer() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, "awaited", 5).await;
    let done = put(&c, &url, Some("text/plain"), b"hello".to_vec())
        .await
        .ok();
    let expected = json!({ "hello": "ann", "name": "hello.txt", "size": 5, "key": key });
    assert_eq!(done["status"], "complete");
    assert_eq!(done["serverData"], expected);
    assert_eq!(done["file"]["key"], key.as_str());
    let st = srv.status(&c, &key).await;
    assert_eq!(
        (st["status"].clone(), st["serverData"].clone()),
        (json!("complete"), expected)
    );
    assert_eq!(
        srv.prepare(
            &c,
            "awaited",
            json!([decl("a.txt", 1, "text/plain")]),
            Value::Null
        )
        .await
        .ok()["awaitServerData"],
        true
    );
    no_hook_error(&key);
}

#[tokio::test]
async fn without_await_the_put_answers_before_the_hook_and_the_status_shows_its_result() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, "background", 5).await;
    // The hook cannot finish before it is released, so this answer cannot have waited for it.
    let done = put(&c, &url, Some("text/plain"), b"hello".to_vec())
        .await
        .ok();
    assert_eq!(done["status"], "completing", "{done}");
    assert_eq!(done["serverData"], Value::Null);
    assert_eq!(done["file"]["sha256"], fixtures::sha256_hex(b"hello"));
    assert_eq!(srv.status(&c, &key).await["status"], "completing");
    // Stored bytes are already served while the hook runs.
    let dl = Resp::read(
        c.get(done["file"]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((dl.status, dl.bytes), (200, b"hello".to_vec()));

    RELEASE_BACKGROUND.store(true, Ordering::SeqCst);
    let st = srv.wait_status(&c, &key, "complete").await;
    assert_eq!(
        st["serverData"],
        json!({ "hello": "ann", "name": "hello.txt", "size": 5, "key": key })
    );
    assert_eq!(st["error"], Value::Null);
    no_hook_error(&key);
}

#[tokio::test]
async fn an_awaited_failing_hook_answers_the_put_and_reaches_on_upload_error() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, "refusedAwaited", 5).await;
    let err = put(&c, &url, Some("text/plain"), b"hello".to_vec())
        .await
        .error(412, "PRECONDITION_FAILED");
    assert_eq!(
        (err["message"].clone(), err["data"].clone()),
        (json!("the album is full"), json!({ "album": 7 }))
    );
    assert_eq!(
        hook_error(&key).await,
        ("PRECONDITION_FAILED".into(), "the album is full".into())
    );
    let st = srv.status(&c, &key).await;
    assert_eq!(st["status"], "failed");
    assert_eq!(
        st["error"],
        json!({ "code": "PRECONDITION_FAILED", "message": "the album is full", "data": { "album": 7 } })
    );
    assert_eq!(st["serverData"], Value::Null);
    assert_not_served(&srv, &c, &key).await;
    srv.assert_no_staged().await;
}

#[tokio::test]
async fn a_background_failing_hook_shows_in_the_status_and_reaches_on_upload_error() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, "refusedBackground", 5).await;
    let done = put(&c, &url, Some("text/plain"), b"hello".to_vec())
        .await
        .ok();
    assert!(
        matches!(done["status"].as_str(), Some("completing" | "failed")),
        "{done}"
    );
    let st = srv.wait_status(&c, &key, "failed").await;
    assert_eq!(st["error"]["code"], "PRECONDITION_FAILED");
    assert_eq!(st["error"]["data"], json!({ "album": 7 }));
    assert_eq!(st["serverData"], Value::Null);
    assert_eq!(hook_error(&key).await.0, "PRECONDITION_FAILED");
    assert_not_served(&srv, &c, &key).await;
}

#[tokio::test]
async fn an_internal_hook_error_is_completion_failed_without_its_details() {
    let srv = server();
    let c = client();
    for slug in ["crashAwaited", "panicAwaited"] {
        let (key, url) = prepare(&srv, &c, slug, 5).await;
        let r = put(&c, &url, Some("text/plain"), b"hello".to_vec()).await;
        r.error(500, "COMPLETION_FAILED");
        let text = String::from_utf8_lossy(&r.bytes).to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("/var/lib"),
            "{slug}: internal details leaked: {text}"
        );
        let st = srv.status(&c, &key).await;
        assert_eq!(st["error"]["code"], "COMPLETION_FAILED");
        assert!(
            !st.to_string().contains("hunter2"),
            "{slug}: leaked into the status: {st}"
        );
        assert_eq!(hook_error(&key).await.0, "COMPLETION_FAILED");
        assert_not_served(&srv, &c, &key).await;
    }

    let (key, url) = prepare(&srv, &c, "crashBackground", 5).await;
    put(&c, &url, Some("text/plain"), b"hello".to_vec())
        .await
        .ok();
    let st = srv.wait_status(&c, &key, "failed").await;
    assert_eq!(st["error"]["code"], "COMPLETION_FAILED");
    assert!(
        !st.to_string().contains("hunter2"),
        "leaked into the status: {st}"
    );
    assert_eq!(hook_error(&key).await.0, "COMPLETION_FAILED");
}

#[tokio::test]
async fn ingest_failures_after_preparation_reach_on_upload_error_with_their_key() {
    let srv = server();
    let c = client();
    // Too large, then a sniffed lie; each for its own key.
    let (big, url) = prepare(&srv, &c, "awaited", 5).await;
    put(&c, &url, Some("text/plain"), b"hello world".to_vec())
        .await
        .error(413, "TOO_LARGE");
    let (lie, url) = prepare(&srv, &c, "awaited", 67).await;
    put(&c, &url, Some("text/plain"), fixtures::png(67))
        .await
        .error(415, "UNSUPPORTED_TYPE");
    assert_eq!(hook_error(&big).await.0, "TOO_LARGE");
    assert_eq!(hook_error(&lie).await.0, "UNSUPPORTED_TYPE");
    srv.assert_nothing_stored().await;
}

#[tokio::test]
async fn an_awaited_hook_still_completes_when_its_client_goes_away() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, "awaitedSlow", 5).await;
    let head = put_head(&srv.target(&url), "text/plain", "Content-Length: 5");
    let socket = start_put(&srv, &head, b"hello").await;
    // The bytes are stored and the hook is running; the client hangs up before the answer.
    srv.wait_status(&c, &key, "completing").await;
    drop(socket);
    // Give the server a moment to notice the hang-up before the hook may finish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    RELEASE_SLOW.store(true, Ordering::SeqCst);
    // The hook's work is not lost with the connection: the upload completes with its data.
    let st = srv.wait_status(&c, &key, "complete").await;
    assert_eq!(st["serverData"]["hello"], "ann");
    no_hook_error(&key);
}
