//! The signed `PUT` over real HTTP: a good upload, and every way a client can lie, tamper,
//! replay, race or vanish. Each refusal asserts the status, the code, that nothing is stored or
//! left in staging, the record's final state, and that `on_upload_error` heard of it (with the
//! route's metadata and the right key) whenever the key was already spent.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};

use common::fixtures::{self, sha256_hex};
use common::http::{
    chunk, client, decl, put, put_head, query_param, raw_exchange, read_response, start_put,
    with_query, Resp, PATIENCE,
};
use common::{Options, TestServer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

/// What `on_upload_error` was told: (key, code, metadata).
static HOOK_ERRORS: Mutex<Vec<(String, String, Option<Meta>)>> = Mutex::new(Vec::new());

async fn stored(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "user": meta.user, "sha256": file.sha256 }))
}

async fn failed(meta: Option<Meta>, error: UploadError, key: String) {
    HOOK_ERRORS
        .lock()
        .unwrap()
        .push((key, error.code().as_str().to_string(), meta));
}

#[uplift::file_route(
    image(max_file_size = "64KB"),
    text(max_file_size = "1KB"),
    await_server_data,
    on_upload_complete = stored,
    on_upload_error = failed
)]
async fn photo(req: HttpRequest) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anon");
    Ok(Meta { user: user.into() })
}

fn server() -> TestServer {
    TestServer::start(uplift::router![photo])
}

/// Prepares one file as user `ann`; returns (key, upload URL).
async fn prepare(srv: &TestServer, c: &reqwest::Client, size: usize, ty: &str) -> (String, String) {
    prepare_with(srv, c, decl("f", size, ty)).await
}

async fn prepare_with(srv: &TestServer, c: &reqwest::Client, file: Value) -> (String, String) {
    let r = srv
        .prepare_raw(
            c,
            "photo",
            &json!({ "files": [file] }),
            &[("x-user", "ann")],
        )
        .await;
    let f = r.ok()["files"][0].clone();
    (
        f["key"].as_str().unwrap().to_string(),
        f["uploadUrl"].as_str().unwrap().to_string(),
    )
}

/// The record ended `failed` with `code`, shows no file, and `on_upload_error` was called for
/// exactly this key with the middleware's metadata.
async fn assert_failed(srv: &TestServer, c: &reqwest::Client, key: &str, code: &str) {
    let st = srv.wait_status(c, key, "failed").await;
    assert_eq!(st["error"]["code"], code, "{st}");
    assert_eq!(
        (st["file"].clone(), st["serverData"].clone()),
        (Value::Null, Value::Null),
        "{st}"
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let seen: Vec<_> = HOOK_ERRORS
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _, _)| k == key)
            .cloned()
            .collect();
        if !seen.is_empty() {
            assert_eq!(
                seen.len(),
                1,
                "on_upload_error called more than once for {key}: {seen:?}"
            );
            assert_eq!(seen[0].1, code);
            assert_eq!(
                seen[0].2,
                Some(Meta { user: "ann".into() }),
                "on_upload_error without the metadata"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "on_upload_error was never called for {key}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.assert_nothing_stored().await;
}

fn hook_calls(key: &str) -> usize {
    HOOK_ERRORS
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _, _)| k == key)
        .count()
}

#[tokio::test]
async fn a_signed_put_stores_the_file_once_verified() {
    let srv = server();
    let c = client();
    let png = fixtures::png(1000);
    let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
    let done = put(&c, &url, Some("image/png"), png.clone()).await.ok();
    let file = &done["file"];
    assert_eq!(done["key"], key.as_str());
    assert_eq!(done["status"], "complete");
    assert_eq!(done["error"], Value::Null);
    assert_eq!(
        done["serverData"],
        json!({ "user": "ann", "sha256": sha256_hex(&png) })
    );
    assert_eq!(file["size"], png.len());
    assert_eq!(file["type"], "image/png");
    assert_eq!(file["sha256"], sha256_hex(&png));
    assert_eq!(file["crc32"], crc32fast::hash(&png));
    assert_eq!(file["acl"], "public-read");
    assert_eq!(file["slug"], "photo");
    assert_eq!(file["url"], srv.url(&format!("/download/{key}")));

    assert_eq!(srv.stored_files(), vec![key.clone()]);
    assert_eq!(srv.stored_bytes(&key), png);
    srv.assert_no_staged().await;
    let dl = Resp::read(c.get(file["url"].as_str().unwrap()).send().await.unwrap()).await;
    assert_eq!((dl.status, dl.bytes), (200, png));
    assert_eq!(hook_calls(&key), 0);
}

#[tokio::test]
async fn a_content_length_over_the_signed_size_is_refused_before_reading() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    // The client announces a megabyte and sends nothing: the answer must come without the body.
    let head = put_head(&srv.target(&url), "text/plain", "Content-Length: 1048576");
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    let r = read_response(&mut s)
        .await
        .expect("an answer before the body");
    let err = common::http::assert_error(r.status, &r.body, 413, "TOO_LARGE");
    assert_eq!(err["data"]["limit"], 10);
    assert_failed(&srv, &c, &key, "TOO_LARGE").await;

    // An honest client with a bigger body (reqwest sets the real Content-Length).
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    put(&c, &url, Some("text/plain"), fixtures::text(11))
        .await
        .error(413, "TOO_LARGE");
    assert_failed(&srv, &c, &key, "TOO_LARGE").await;
}

#[tokio::test]
async fn an_oversize_chunked_body_is_cut_off() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    let head = put_head(
        &srv.target(&url),
        "text/plain",
        "Transfer-Encoding: chunked",
    );
    let mut body = chunk(&fixtures::text(6));
    body.extend(chunk(&fixtures::text(6)));
    body.extend(b"0\r\n\r\n");
    let r = raw_exchange(&srv, &head, &body).await.expect("an answer");
    common::http::assert_error(r.status, &r.body, 413, "TOO_LARGE");
    assert_failed(&srv, &c, &key, "TOO_LARGE").await;
}

#[tokio::test]
async fn a_body_shorter_than_signed_is_refused() {
    let srv = server();
    let c = client();

    // Chunked, ending cleanly after 5 of 10 bytes.
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    let head = put_head(
        &srv.target(&url),
        "text/plain",
        "Transfer-Encoding: chunked",
    );
    let mut body = chunk(&fixtures::text(5));
    body.extend(b"0\r\n\r\n");
    let r = raw_exchange(&srv, &head, &body).await.expect("an answer");
    common::http::assert_error(r.status, &r.body, 400, "SIZE_MISMATCH");
    assert_failed(&srv, &c, &key, "SIZE_MISMATCH").await;

    // An honest client that simply has fewer bytes than it declared at prepare time.
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    put(&c, &url, Some("text/plain"), fixtures::text(5))
        .await
        .error(400, "SIZE_MISMATCH");
    assert_failed(&srv, &c, &key, "SIZE_MISMATCH").await;

    // Content-Length 10 with 5 bytes, then the client closes its sending half.
    let (key, url) = prepare(&srv, &c, 10, "text/plain").await;
    let head = put_head(&srv.target(&url), "text/plain", "Content-Length: 10");
    let mut s = start_put(&srv, &head, &fixtures::text(5)).await;
    s.shutdown().await.unwrap();
    let r = read_response(&mut s)
        .await
        .expect("an answer after the half-close");
    common::http::assert_error(r.status, &r.body, 400, "SIZE_MISMATCH");
    assert_failed(&srv, &c, &key, "SIZE_MISMATCH").await;
}

#[tokio::test]
async fn bytes_that_contradict_the_declared_type_are_refused() {
    let srv = server();
    let c = client();
    let png = fixtures::png(200);
    let cases: [(Vec<u8>, &str); 5] = [
        (png.clone(), "image/jpeg"),        // a PNG declared as JPEG
        (fixtures::text(200), "image/png"), // text declared as PNG
        (fixtures::mp4(200), "image/png"),  // a video declared as an image
        (png.clone(), "text/plain"),        // a PNG smuggled in as text
        (fixtures::html(), "text/plain"),   // HTML smuggled in as plain text
    ];
    for (bytes, declared) in cases {
        let (key, url) = prepare(&srv, &c, bytes.len(), declared).await;
        let err = put(&c, &url, Some(declared), bytes)
            .await
            .error(415, "UNSUPPORTED_TYPE");
        // What was detected is said; what was declared is not repeated.
        assert!(err["data"].get("detected").is_some(), "{err}");
        assert!(err["data"].get("declared").is_none(), "{err}");
        assert_failed(&srv, &c, &key, "UNSUPPORTED_TYPE").await;
    }
    // A JPEG declared as JPEG (the `image/jpg` spelling included) goes through.
    let jpeg = fixtures::jpeg(300);
    let (_, url) = prepare(&srv, &c, jpeg.len(), "image/jpg").await;
    assert_eq!(
        put(&c, &url, Some("image/jpg"), jpeg).await.ok()["file"]["type"],
        "image/jpg"
    );
}

#[tokio::test]
async fn a_content_type_header_other_than_the_signed_one_is_refused() {
    let srv = server();
    let c = client();
    let png = fixtures::png(100);
    let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
    put(&c, &url, Some("image/jpeg"), png.clone())
        .await
        .error(415, "UNSUPPORTED_TYPE");
    assert_failed(&srv, &c, &key, "UNSUPPORTED_TYPE").await;

    // Case and parameters do not matter; the type does.
    let (_, url) = prepare(&srv, &c, png.len(), "image/png").await;
    put(&c, &url, Some("Image/PNG; foo=bar"), png.clone())
        .await
        .ok();
    // No Content-Type at all is fine too: the signed one applies.
    let (_, url) = prepare(&srv, &c, png.len(), "image/png").await;
    put(&c, &url, None, png).await.ok();
}

#[tokio::test]
async fn the_declared_sha256_is_enforced() {
    let srv = server();
    let c = client();
    let png = fixtures::png(500);
    let wrong = sha256_hex(b"something else");
    let (key, url) = prepare_with(
        &srv,
        &c,
        json!({ "name": "a.png", "size": 500, "type": "image/png", "sha256": wrong }),
    )
    .await;
    let err = put(&c, &url, Some("image/png"), png.clone())
        .await
        .error(400, "CHECKSUM_MISMATCH");
    assert_eq!(
        (
            err["data"]["expected"].clone(),
            err["data"]["actual"].clone()
        ),
        (json!(wrong), json!(sha256_hex(&png)))
    );
    assert_failed(&srv, &c, &key, "CHECKSUM_MISMATCH").await;

    let right = sha256_hex(&png);
    let (key, url) = prepare_with(
        &srv,
        &c,
        json!({ "name": "a.png", "size": 500, "type": "image/png", "sha256": right }),
    )
    .await;
    let done = put(&c, &url, Some("image/png"), png).await.ok();
    assert_eq!(done["file"]["sha256"], right);
    assert_eq!(srv.stored_files(), vec![key]);
}

#[tokio::test]
async fn tampered_or_unsigned_urls_are_refused_and_do_not_spend_the_key() {
    let srv = server();
    let c = client();
    let png = fixtures::png(100);
    let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
    let sig = query_param(&url, "sig");
    let expires: i64 = query_param(&url, "expires").parse().unwrap();
    let mut flipped = sig.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let (kid, mac) = sig.split_once('.').unwrap();

    let tampered = [
        with_query(&url, "sig", Some(&flipped)),
        with_query(&url, "sig", Some(&format!("k9.{mac}"))),
        with_query(&url, "sig", Some(kid)),
        with_query(&url, "sig", Some("")),
        with_query(&url, "sig", None),
        with_query(&url, "size", Some("101")),
        with_query(&url, "size", Some("99")),
        with_query(&url, "type", Some("image/gif")),
        with_query(&url, "expires", Some(&(expires + 3600).to_string())),
        with_query(&url, "expires", None),
        // Another key with this key's signature.
        url.replace(&key, &"A".repeat(key.len())),
        // A digest added after signing.
        format!("{url}&sha256={}", sha256_hex(&png)),
        url.split('?').next().unwrap().to_string(),
    ];
    for bad in tampered {
        let r = put(&c, &bad, Some("image/png"), png.clone()).await;
        r.error(403, "SIGNATURE_INVALID");
    }
    srv.assert_nothing_stored().await;
    assert_eq!(
        srv.status(&c, &key).await["status"],
        "pending",
        "a refused URL must not spend the key"
    );
    assert_eq!(hook_calls(&key), 0);

    // The genuine URL still works.
    put(&c, &url, Some("image/png"), png).await.ok();
    assert_eq!(srv.stored_files(), vec![key]);
}

#[tokio::test]
async fn an_expired_url_is_refused() {
    let opts = Options {
        configure: Box::new(|b| {
            b.limits(Limits {
                upload_url_ttl: Duration::from_secs(1),
                ..Default::default()
            })
        }),
        ..Default::default()
    };
    let srv = TestServer::start_with(uplift::router![photo], opts);
    let c = client();
    let png = fixtures::png(100);
    let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    put(&c, &url, Some("image/png"), png)
        .await
        .error(410, "EXPIRED");
    srv.assert_nothing_stored().await;
    let st = srv.status(&c, &key).await;
    assert!(
        matches!(st["status"].as_str(), Some("pending" | "expired")),
        "{st}"
    );
    assert_eq!(st["file"], Value::Null);
}

#[tokio::test]
async fn a_replayed_url_is_refused_and_the_first_file_is_unharmed() {
    let srv = server();
    let c = client();
    let first = fixtures::png(300);
    let mut second = fixtures::png(300);
    second[299] ^= 0xFF;
    let (key, url) = prepare(&srv, &c, first.len(), "image/png").await;
    let done = put(&c, &url, Some("image/png"), first.clone()).await.ok();

    put(&c, &url, Some("image/png"), second)
        .await
        .error(409, "CONFLICT");
    srv.assert_no_staged().await;
    assert_eq!(srv.stored_files(), vec![key.clone()]);
    let dl = Resp::read(
        c.get(done["file"]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((dl.status, dl.bytes), (200, first.clone()));
    let st = srv.status(&c, &key).await;
    assert_eq!(
        (st["status"].clone(), st["file"]["sha256"].clone()),
        (json!("complete"), json!(sha256_hex(&first)))
    );
    assert_eq!(
        hook_calls(&key),
        0,
        "a refused replay is not a failure of the stored upload"
    );
}

#[tokio::test]
async fn two_concurrent_puts_of_one_url_have_exactly_one_winner() {
    let srv = server();
    let c = client();
    for round in 0..5 {
        let png = fixtures::png(60 * 1024 - round);
        let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
        let (a, b) = tokio::join!(
            put(&c, &url, Some("image/png"), png.clone()),
            put(&c, &url, Some("image/png"), png.clone())
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} / {b:?}");
        let loser = if a.status == 409 { &a } else { &b };
        loser.error(409, "CONFLICT");
        assert_eq!(srv.status(&c, &key).await["status"], "complete");
        let dl = Resp::read(
            c.get(srv.url(&format!("/download/{key}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(dl.bytes, png);
    }
    srv.assert_no_staged().await;
    assert_eq!(srv.stored_files().len(), 5);
}

#[tokio::test]
async fn a_client_that_vanishes_mid_body_leaves_nothing_but_a_failed_record() {
    let srv = server();
    let c = client();
    let png = fixtures::png(48 * 1024);
    let (key, url) = prepare(&srv, &c, png.len(), "image/png").await;
    let head = put_head(
        &srv.target(&url),
        "image/png",
        &format!("Content-Length: {}", png.len()),
    );
    let s = start_put(&srv, &head, &png[..png.len() / 2]).await;
    // Vanish only once the server is receiving (the key is claimed).
    srv.wait_status(&c, &key, "uploading").await;
    drop(s);
    assert_failed(&srv, &c, &key, "SIZE_MISMATCH").await;
    // The key is spent: the URL cannot be used to slip in a file later.
    put(&c, &url, Some("image/png"), png)
        .await
        .error(409, "CONFLICT");
    srv.assert_nothing_stored().await;
}

#[tokio::test]
async fn an_empty_text_file_is_a_valid_upload_but_an_empty_image_is_not() {
    let srv = server();
    let c = client();
    let (key, url) = prepare(&srv, &c, 0, "text/plain").await;
    let done = put(&c, &url, Some("text/plain"), Vec::new()).await.ok();
    assert_eq!(
        (done["file"]["size"].clone(), done["file"]["sha256"].clone()),
        (json!(0), json!(sha256_hex(b"")))
    );
    let dl = Resp::read(
        c.get(done["file"]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((dl.status, dl.bytes.len()), (200, 0));
    assert_eq!(srv.stored_files(), vec![key]);

    let (key, url) = prepare(&srv, &c, 0, "image/png").await;
    put(&c, &url, Some("image/png"), Vec::new())
        .await
        .error(415, "UNSUPPORTED_TYPE");
    assert_eq!(
        srv.wait_status(&c, &key, "failed").await["error"]["code"],
        "UNSUPPORTED_TYPE"
    );
}
