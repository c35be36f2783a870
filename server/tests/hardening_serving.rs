//! Serving is an allow-list: only known-inert types (raster images but not SVG, audio, video,
//! PDF, plain text) are served inline as themselves; everything else — RSS with XHTML script,
//! JavaScript, HTML, SVG — is an `attachment` with a neutral `application/octet-stream`, for
//! route downloads and signed objects alike, always with `nosniff` and `CSP: sandbox`.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{Acl, SignOptions, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, Resp};
use common::signed::file_of;
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "url": file.url }))
}

/// Anything at all, rendered inline where that is safe.
#[uplift::file_route(blob(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![anyfile])
}

/// An RSS feed without an XML declaration (so no sniffer calls it XML) carrying XHTML script.
fn rss() -> Vec<u8> {
    br#"<rss version="2.0"><channel><title>t</title><item><description><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(document.domain)</script></html></description></item></channel></rss>"#.to_vec()
}

fn svg() -> Vec<u8> {
    br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec()
}

fn js() -> Vec<u8> {
    b"alert(document.cookie);".to_vec()
}

/// The active payloads, with the type they are uploaded as.
fn active() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("feed.rss", "application/rss+xml", rss()),
        ("app.js", "text/javascript", js()),
        ("page.html", "text/html", fixtures::html()),
        ("pic.svg", "image/svg+xml", svg()),
    ]
}

async fn get(c: &reqwest::Client, url: &str) -> Resp {
    Resp::read(c.get(url).send().await.unwrap()).await
}

/// Uploads through the route; returns the file's download URL.
async fn route_upload(
    srv: &TestServer,
    c: &reqwest::Client,
    name: &str,
    ty: &str,
    bytes: &[u8],
) -> String {
    let r = srv
        .prepare(
            c,
            "anyfile",
            json!([decl(name, bytes.len(), ty)]),
            Value::Null,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let done = put(c, &url, Some(ty), bytes.to_vec()).await.ok();
    done["file"]["url"].as_str().unwrap().to_string()
}

/// Uploads a signed object; returns its URL (signed GET when private).
async fn signed_upload(
    srv: &TestServer,
    c: &reqwest::Client,
    name: &str,
    ty: &str,
    bytes: &[u8],
    acl: Acl,
) -> String {
    let signed = srv
        .signed
        .get_signed_put_with(
            "serve",
            &SignOptions {
                filename: Some(name.into()),
                acl,
                ..Default::default()
            },
        )
        .unwrap();
    let r = put(c, &signed.upload_url, Some(ty), bytes.to_vec()).await;
    file_of(&r)["url"].as_str().unwrap().to_string()
}

#[track_caller]
fn assert_guarded(r: &Resp) {
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        r.header("content-security-policy").as_deref(),
        Some("sandbox")
    );
}

#[track_caller]
fn assert_neutral_download(what: &str, r: &Resp, bytes: &[u8], name: &str) {
    assert_eq!(r.status, 200, "{what}");
    assert_eq!(r.bytes, bytes, "{what}");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/octet-stream"),
        "{what} is served as itself"
    );
    let cd = r.header("content-disposition").unwrap_or_default();
    assert!(cd.starts_with("attachment"), "{what}: {cd}");
    assert!(cd.contains(name), "{what}: {cd}");
    assert_guarded(r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_types_are_neutral_attachments_on_route_downloads() {
    let srv = server();
    let c = client();
    for (name, ty, bytes) in active() {
        let url = route_upload(&srv, &c, name, ty, &bytes).await;
        let r = get(&c, &url).await;
        assert_neutral_download(ty, &r, &bytes, name);
        // the status still reports the type the file was stored as
        let key = url.rsplit('/').next().unwrap();
        assert_eq!(srv.status(&c, key).await["file"]["type"], ty);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_types_are_neutral_attachments_as_signed_objects() {
    let srv = server();
    let c = client();
    for acl in [Acl::PublicRead, Acl::Private] {
        for (name, ty, bytes) in active() {
            let url = signed_upload(&srv, &c, name, ty, &bytes, acl).await;
            let r = get(&c, &url).await;
            assert_neutral_download(&format!("{ty} ({acl:?})"), &r, &bytes, name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inert_types_are_served_inline_as_themselves() {
    let srv = server();
    let c = client();
    let png = fixtures::png(300);
    let text = fixtures::text(100);
    for (name, ty, bytes) in [("a.png", "image/png", &png), ("a.txt", "text/plain", &text)] {
        let url = route_upload(&srv, &c, name, ty, bytes).await;
        let r = get(&c, &url).await;
        assert_eq!(r.status, 200);
        assert_eq!(&r.bytes, bytes);
        let ct = r.header("content-type").unwrap();
        assert!(ct.starts_with(ty), "{ct}");
        assert!(r
            .header("content-disposition")
            .unwrap()
            .starts_with("inline"));
        assert_guarded(&r);

        let url = signed_upload(&srv, &c, name, ty, bytes, Acl::PublicRead).await;
        let r = get(&c, &url).await;
        assert_eq!(r.status, 200);
        let ct = r.header("content-type").unwrap();
        assert!(ct.starts_with(ty), "{ct}");
        assert!(r
            .header("content-disposition")
            .unwrap()
            .starts_with("inline"));
        assert_guarded(&r);
    }
}
