//! The status of an upload over real HTTP: `GET {base}/files/{key}?token=…`. A private file's
//! status needs the token handed to its uploader (prepare, PUT, multipart and tus answers);
//! without it, or with any other, the answer is byte for byte the 404 of an unknown key. A
//! public file's status stays readable by its key. No log line carries a capability.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;
use uplift::{UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, query_param, with_query, Resp};
use common::TestServer;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "seen": file.name }))
}

/// Private images; the upload waits for the server data.
#[uplift::file_route(
    image(max_file_size = "1KB", acl = "private"),
    await_server_data,
    on_upload_complete = done
)]
async fn secret() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

/// Private images; the hook runs in the background.
#[uplift::file_route(image(max_file_size = "1KB", acl = "private"), on_upload_complete = done)]
async fn later() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

/// Public images.
#[uplift::file_route(image(max_file_size = "1KB"), on_upload_complete = done)]
async fn open() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![secret, later, open])
}

async fn get(url: &str) -> Resp {
    Resp::read(client().get(url).send().await.expect("status request")).await
}

/// Prepares one 67-byte PNG on `slug`: (key, uploadUrl, statusUrl).
async fn prepare(srv: &TestServer, slug: &str) -> (String, String, String) {
    let r = srv
        .prepare(
            &client(),
            slug,
            json!([decl("a.png", 67, "image/png")]),
            Value::Null,
        )
        .await
        .ok();
    let f = &r["files"][0];
    let s = |k: &str| f[k].as_str().expect(k).to_string();
    (s("key"), s("uploadUrl"), s("statusUrl"))
}

/// The status URL of `key` without any token.
fn bare(srv: &TestServer, key: &str) -> String {
    srv.url(&format!("/files/{key}"))
}

/// The answer every refused status must be identical to: an unknown key's.
async fn unknown(srv: &TestServer) -> Resp {
    let r = get(&bare(srv, "noSuchKeyNoSuchKeyNoSuchKey0")).await;
    r.error(404, "NOT_FOUND");
    r
}

/// `r` is exactly the unknown key's answer: status, content type and body bytes.
#[track_caller]
fn assert_like_unknown(r: &Resp, unknown: &Resp, what: &str) {
    assert_eq!(
        r.status,
        404,
        "{what}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
    assert_eq!(
        r.header("content-type"),
        unknown.header("content-type"),
        "{what}"
    );
    assert_eq!(
        String::from_utf8_lossy(&r.bytes),
        String::from_utf8_lossy(&unknown.bytes),
        "{what}: the body tells nothing more than an unknown key's"
    );
}

/// Every way to ask a private file's status without its token answers as an unknown key.
async fn assert_closed_without_token(srv: &TestServer, key: &str, status_url: &str) {
    let unknown = unknown(srv).await;
    let token = query_param(status_url, "token");
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (kid, mac) = token.split_once('.').expect("`{key id}.{mac}`");
    let cases = [
        ("no token", bare(srv, key)),
        ("an empty token", with_query(status_url, "token", Some(""))),
        (
            "a tampered token",
            with_query(status_url, "token", Some(&tampered)),
        ),
        (
            "garbage",
            with_query(status_url, "token", Some("not-a-token")),
        ),
        (
            "an unknown key id",
            with_query(status_url, "token", Some(&format!("zz.{mac}"))),
        ),
        (
            "the key id alone",
            with_query(status_url, "token", Some(kid)),
        ),
        (
            "the token under another name",
            format!("{}?sig={token}", bare(srv, key)),
        ),
    ];
    for (what, url) in cases {
        assert_like_unknown(&get(&url).await, &unknown, what);
    }
}

#[tokio::test]
async fn a_private_status_opens_with_its_token_and_answers_like_an_unknown_key_without() {
    let srv = server();
    let c = client();
    let (key, upload_url, status_url) = prepare(&srv, "secret").await;
    assert!(
        status_url.starts_with(&format!("{}?token=", bare(&srv, &key))),
        "{status_url}"
    );

    // Pending: even that the key exists stays hidden.
    assert_closed_without_token(&srv, &key, &status_url).await;
    let pending = get(&status_url).await.ok();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["statusUrl"], status_url.as_str());

    let r = put(&c, &upload_url, Some("image/png"), fixtures::png(67)).await;
    let answer = r.ok();
    assert_eq!(answer["status"], "complete");
    assert_eq!(
        answer["statusUrl"],
        status_url.as_str(),
        "the PUT answer names the same URL"
    );

    let st = get(&status_url).await.ok();
    assert_eq!(st["status"], "complete");
    assert_eq!(st["serverData"], json!({ "seen": "a.png" }));
    assert_eq!(st["statusUrl"], status_url.as_str());
    let url = st["file"]["url"].as_str().unwrap();
    assert!(url.contains(&format!("/download/{key}?expires=")), "{url}");
    assert!(
        !query_param(url, "sig").is_empty(),
        "a signed download URL: {url}"
    );
    let bytes = c.get(url).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(bytes.bytes().await.unwrap().to_vec(), fixtures::png(67));

    // Complete: still nothing without the token.
    assert_closed_without_token(&srv, &key, &status_url).await;
}

#[tokio::test]
async fn a_token_for_one_key_does_not_open_another() {
    let srv = server();
    let unknown = unknown(&srv).await;
    let (key_a, _, url_a) = prepare(&srv, "secret").await;
    let (key_b, _, url_b) = prepare(&srv, "secret").await;
    assert_ne!(key_a, key_b);
    let token_a = query_param(&url_a, "token");
    let token_b = query_param(&url_b, "token");
    assert_ne!(token_a, token_b);
    let crossed = format!("{}?token={token_a}", bare(&srv, &key_b));
    assert_like_unknown(&get(&crossed).await, &unknown, "A's token on B");
    let crossed = format!("{}?token={token_b}", bare(&srv, &key_a));
    assert_like_unknown(&get(&crossed).await, &unknown, "B's token on A");
    // Nor a token on a key that does not exist.
    let nowhere = format!(
        "{}?token={token_a}",
        bare(&srv, "noSuchKeyNoSuchKeyNoSuchKey0")
    );
    assert_like_unknown(&get(&nowhere).await, &unknown, "a token on an unknown key");
    assert_eq!(get(&url_a).await.ok()["key"], key_a.as_str());
    assert_eq!(get(&url_b).await.ok()["key"], key_b.as_str());
}

#[tokio::test]
async fn a_public_status_stays_readable_by_key_and_takes_a_token_too() {
    let srv = server();
    let c = client();
    let (key, upload_url, status_url) = prepare(&srv, "open").await;
    put(&c, &upload_url, Some("image/png"), fixtures::png(67))
        .await
        .ok();
    let by_key = srv.wait_status(&c, &key, "complete").await;
    assert_eq!(by_key["file"]["acl"], "public-read");

    let st = get(&bare(&srv, &key)).await.ok();
    assert_eq!(st["status"], "complete");
    assert_eq!(st["file"]["url"], srv.url(&format!("/download/{key}")));
    assert_eq!(
        st["statusUrl"],
        bare(&srv, &key),
        "a reader by key is not handed the uploader's token"
    );
    let with_token = get(&status_url).await.ok();
    assert_eq!(with_token["file"], st["file"]);
    assert_eq!(with_token["statusUrl"], status_url.as_str());
    let wrong = with_query(&status_url, "token", Some("not-a-token"));
    assert_eq!(get(&wrong).await.ok()["file"], st["file"]);
}

#[tokio::test]
async fn the_put_answer_of_a_background_route_carries_the_status_url() {
    let srv = server();
    let c = client();
    let (key, upload_url, status_url) = prepare(&srv, "later").await;
    let answer = put(&c, &upload_url, Some("image/png"), fixtures::png(67))
        .await
        .ok();
    let from_put = answer["statusUrl"].as_str().unwrap().to_string();
    assert_eq!(from_put, status_url);
    let st = srv.wait_status(&c, &key, "complete").await;
    assert_eq!(st["serverData"], json!({ "seen": "a.png" }));
    assert_eq!(get(&from_put).await.ok()["status"], "complete");
    assert_closed_without_token(&srv, &key, &from_put).await;
}

#[tokio::test]
async fn the_multipart_answer_carries_each_files_status_url() {
    let srv = server();
    let part = |name: &str| {
        Part::bytes(fixtures::png(67))
            .file_name(name.to_string())
            .mime_str("image/png")
            .unwrap()
    };
    for slug in ["secret", "later"] {
        let form = Form::new().part("files", part("m.png"));
        let r = Resp::read(
            client()
                .post(srv.url(&format!("/{slug}/multipart")))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let body = r.ok();
        let f = &body["files"][0];
        let key = f["key"].as_str().unwrap();
        let status_url = f["statusUrl"].as_str().unwrap();
        assert!(status_url.starts_with(&format!("{}?token=", bare(&srv, key))));
        let st = get(status_url).await.ok();
        assert_eq!(st["key"], key, "{slug}");
        assert_eq!(st["file"]["acl"], "private");
        assert_closed_without_token(&srv, key, status_url).await;
    }
}

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OCTET: (&str, &str) = ("content-type", "application/offset+octet-stream");

fn b64(v: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

async fn tus_create(srv: &TestServer, length: usize, extra: &[(&str, &str)]) -> Resp {
    let mut rb = client()
        .post(srv.url("/secret/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string());
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    Resp::read(rb.send().await.unwrap()).await
}

async fn tus_patch(url: &str, offset: usize, body: &[u8]) -> Resp {
    Resp::read(
        client()
            .patch(url)
            .header(TUS.0, TUS.1)
            .header(OCTET.0, OCTET.1)
            .header("upload-offset", offset.to_string())
            .body(body.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn tus_head(url: &str) -> Resp {
    Resp::read(
        client()
            .head(url)
            .header(TUS.0, TUS.1)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The `Uplift-Status-Url` of a tus answer, checked to belong to its `Uplift-Key`.
#[track_caller]
fn named(srv: &TestServer, r: &Resp) -> String {
    let key = r.header("uplift-key").expect("Uplift-Key");
    let url = r.header("uplift-status-url").expect("Uplift-Status-Url");
    assert!(
        url.starts_with(&format!("{}?token=", bare(srv, &key))),
        "{url}"
    );
    url
}

#[tokio::test]
async fn tus_names_the_status_url_on_creation_patch_and_head() {
    let srv = server();
    let png = fixtures::png(67);
    let meta = format!("filename {},filetype {}", b64("t.png"), b64("image/png"));
    let created = tus_create(&srv, png.len(), &[("upload-metadata", &meta)]).await;
    assert_eq!(created.status, 201);
    let location = created.header("location").unwrap();
    let status_url = named(&srv, &created);
    let key = created.header("uplift-key").unwrap();

    let first = tus_patch(&location, 0, &png[..30]).await;
    assert_eq!(first.status, 204);
    assert_eq!(named(&srv, &first), status_url);
    let head = tus_head(&location).await;
    assert_eq!(head.status, 200);
    assert_eq!(named(&srv, &head), status_url);
    assert_eq!(get(&status_url).await.ok()["status"], "uploading");
    assert_closed_without_token(&srv, &key, &status_url).await;

    let last = tus_patch(&location, 30, &png[30..]).await;
    assert_eq!(last.status, 204);
    assert_eq!(named(&srv, &last), status_url);
    let st = get(&status_url).await.ok();
    assert_eq!(st["status"], "complete");
    assert_eq!(st["file"]["acl"], "private");
    assert_eq!(st["statusUrl"], status_url.as_str());
    assert_closed_without_token(&srv, &key, &status_url).await;

    // The tus capability is not a status token (nor the other way round).
    let capability = location.rsplit_once('.').unwrap().1.to_string();
    let unknown = unknown(&srv).await;
    let with_cap = format!("{}?token={capability}", bare(&srv, &key));
    assert_like_unknown(&get(&with_cap).await, &unknown, "the tus capability");
    let token = query_param(&status_url, "token");
    let as_cap = format!("{}/tus/{key}.{token}", srv.base);
    assert_eq!(tus_head(&as_cap).await.status, 403);
}

#[tokio::test]
async fn a_concatenated_tus_upload_names_its_status_url_on_creation() {
    let srv = server();
    let png = fixtures::png(67);
    let mut parts = Vec::new();
    for (i, bytes) in [&png[..30], &png[30..]].into_iter().enumerate() {
        let r = tus_create(&srv, bytes.len(), &[("upload-concat", "partial")]).await;
        assert_eq!(r.status, 201, "part {i}");
        let location = r.header("location").unwrap();
        assert_eq!(tus_patch(&location, 0, bytes).await.status, 204);
        parts.push(location);
    }
    let meta = format!("filename {},filetype {}", b64("c.png"), b64("image/png"));
    let concat = format!("final;{}", parts.join(" "));
    let mut rb = client()
        .post(srv.url("/secret/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-concat", concat)
        .header("upload-metadata", meta);
    rb = rb.header("content-length", "0");
    let r = Resp::read(rb.send().await.unwrap()).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let status_url = named(&srv, &r);
    let key = r.header("uplift-key").unwrap();
    let st = get(&status_url).await.ok();
    assert_eq!(st["status"], "complete");
    assert_eq!(st["file"]["size"], 67);
    assert_closed_without_token(&srv, &key, &status_url).await;
}

/// Everything the `uplift` crate logs, from every test of this binary.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("uplift=trace"))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_token_signature_or_capability() {
    let logs = captured_logs();
    let srv = server();
    let c = client();
    let (key, upload_url, status_url) = prepare(&srv, "later").await;
    put(&c, &upload_url, Some("image/png"), fixtures::png(67))
        .await
        .ok();
    let st = srv.wait_status(&c, &key, "complete").await;
    let download = st["file"]["url"].as_str().unwrap().to_string();
    let unknown = unknown(&srv).await;
    assert_like_unknown(&get(&bare(&srv, &key)).await, &unknown, "no token");

    let png = fixtures::png(67);
    let meta = format!("filename {},filetype {}", b64("l.png"), b64("image/png"));
    let created = tus_create(&srv, png.len(), &[("upload-metadata", &meta)]).await;
    let location = created.header("location").unwrap();
    let tus_status = named(&srv, &created);
    assert_eq!(tus_patch(&location, 0, &png).await.status, 204);

    let secrets = [
        ("status token", query_param(&status_url, "token")),
        ("upload signature", query_param(&upload_url, "sig")),
        ("download signature", query_param(&download, "sig")),
        (
            "tus capability",
            location.rsplit_once('.').unwrap().1.to_string(),
        ),
        ("tus status token", query_param(&tus_status, "token")),
    ];
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    // The capture works: the upload is logged by its fingerprint (never by its key).
    let tag: String = sha2::Sha256::digest(key.as_bytes())[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        text.contains(&format!("key={tag}")),
        "nothing was captured: {text}"
    );
    assert!(!text.contains(&key), "the logs carry the key: {text}");
    for (what, secret) in secrets {
        let mac = secret.split_once('.').map_or(secret.as_str(), |(_, m)| m);
        assert!(mac.len() >= 20, "{what}: {secret}");
        assert!(!text.contains(mac), "the logs carry a {what}: {text}");
    }
}
