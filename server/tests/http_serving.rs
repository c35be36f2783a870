//! Serving stored files over real HTTP: public files by URL, private ones only by a signed,
//! expiring URL; Range, ETag and Content-Disposition; nothing served that is not complete; active
//! content never rendered inline.

mod common;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{Limits, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, query_param, with_query, Resp};
use common::{Options, TestServer};

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "url": file.url }))
}

#[uplift::file_route(
    image,
    pdf(content_disposition = "attachment"),
    text(max_file_size = "1KB"),
    mime("text/html"),
    await_server_data,
    on_upload_complete = done
)]
async fn gallery() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[uplift::file_route(image(acl = "private"), await_server_data, on_upload_complete = done)]
async fn vault() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![gallery, vault])
}

/// Prepares and uploads one file; returns the PUT's answer.
async fn upload(
    srv: &TestServer,
    c: &reqwest::Client,
    slug: &str,
    name: &str,
    ty: &str,
    bytes: &[u8],
) -> Value {
    let r = srv
        .prepare(c, slug, json!([decl(name, bytes.len(), ty)]), Value::Null)
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    put(c, &url, Some(ty), bytes.to_vec()).await.ok()
}

async fn get(c: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = c.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn public_files_are_served_by_url_with_ranges_and_etags() {
    let srv = server();
    let c = client();
    let png = fixtures::png(1000);
    let done = upload(&srv, &c, "gallery", "photo.png", "image/png", &png).await;
    let url = done["file"]["url"].as_str().unwrap();
    assert_eq!(done["serverData"]["url"], url, "the hook sees the same URL");

    let r = get(&c, url, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.bytes, png);
    assert_eq!(r.header("content-type").unwrap(), "image/png");
    assert_eq!(
        r.header("content-disposition").unwrap(),
        "inline; filename=\"photo.png\""
    );
    assert_eq!(r.header("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(r.header("accept-ranges").unwrap(), "bytes");

    let r = get(&c, url, &[("range", "bytes=2-5")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range").unwrap(), "bytes 2-5/1000");
    assert_eq!(r.bytes, &png[2..6]);
    let r = get(&c, url, &[("range", "bytes=-3")]).await;
    assert_eq!((r.status, r.bytes.as_slice()), (206, &png[997..]));
    let r = get(&c, url, &[("range", "bytes=990-")]).await;
    assert_eq!((r.status, r.bytes.as_slice()), (206, &png[990..]));

    let etag = r.header("etag").expect("an ETag");
    let r = get(&c, url, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.bytes.is_empty());
    let r = get(&c, url, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!((r.status, r.bytes.len()), (200, 1000));

    let r = Resp::read(c.head(url).send().await.unwrap()).await;
    assert_eq!(
        (r.status, r.header("content-length").as_deref()),
        (200, Some("1000"))
    );
}

#[tokio::test]
async fn an_unsatisfiable_range_is_refused() {
    let srv = server();
    let c = client();
    let png = fixtures::png(100);
    let done = upload(&srv, &c, "gallery", "photo.png", "image/png", &png).await;
    let r = get(
        &c,
        done["file"]["url"].as_str().unwrap(),
        &[("range", "bytes=500-600")],
    )
    .await;
    r.error(416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(r.header("content-range").as_deref(), Some("bytes */100"));
}

#[tokio::test]
async fn content_disposition_follows_the_route_with_the_sanitized_name() {
    let srv = server();
    let c = client();
    let pdf = fixtures::pdf(300);
    let done = upload(
        &srv,
        &c,
        "gallery",
        "../../secret \"report\".pdf",
        "application/pdf",
        &pdf,
    )
    .await;
    let r = get(&c, done["file"]["url"].as_str().unwrap(), &[]).await;
    assert_eq!(r.bytes, pdf);
    assert_eq!(
        r.header("content-disposition").unwrap(),
        "attachment; filename=\"secret report.pdf\""
    );

    let done = upload(
        &srv,
        &c,
        "gallery",
        "résumé\r\n.png",
        "image/png",
        &fixtures::png(80),
    )
    .await;
    assert_eq!(done["file"]["name"], "résumé.png");
    let r = get(&c, done["file"]["url"].as_str().unwrap(), &[]).await;
    let cd = r.header("content-disposition").unwrap();
    assert!(cd.starts_with("inline; filename=\"r_sum_.png\""), "{cd}");
    assert!(cd.contains("filename*=UTF-8''r%C3%A9sum%C3%A9.png"), "{cd}");
}

#[tokio::test]
async fn active_content_is_always_an_attachment_and_never_sniffed() {
    let srv = server();
    let c = client();
    let html = fixtures::html();
    let done = upload(&srv, &c, "gallery", "page.html", "text/html", &html).await;
    let r = get(&c, done["file"]["url"].as_str().unwrap(), &[]).await;
    assert_eq!(r.bytes, html);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        r.header("content-disposition").unwrap(),
        "attachment; filename=\"page.html\""
    );
    assert_eq!(r.header("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(r.header("content-security-policy").unwrap(), "sandbox");

    // SVG is an image that can run script and that no sniffer can confirm: `image` refuses
    // it (a `blob` route takes it, and serves it as an attachment: see hardening_serving).
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
    let r = srv
        .prepare(
            &c,
            "gallery",
            json!([decl("logo.svg", svg.len(), "image/svg+xml")]),
            Value::Null,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    put(&c, &url, Some("image/svg+xml"), svg)
        .await
        .error(415, "UNSUPPORTED_TYPE");
}

#[tokio::test]
async fn private_files_need_a_valid_signed_url() {
    let srv = server();
    let c = client();
    let png = fixtures::png(300);
    let done = upload(&srv, &c, "vault", "me.png", "image/png", &png).await;
    let key = done["key"].as_str().unwrap();
    let signed = done["file"]["url"].as_str().unwrap();
    assert_eq!(done["file"]["acl"], "private");
    assert!(
        signed.starts_with(&srv.url(&format!("/download/{key}?"))),
        "{signed}"
    );

    let r = get(&c, signed, &[]).await;
    assert_eq!((r.status, &r.bytes), (200, &png));
    assert_eq!(r.header("cache-control").unwrap(), "private, no-store");

    // Unsigned, a private file answers as an unknown key does (no existence oracle).
    let plain = srv.url(&format!("/download/{key}"));
    get(&c, &plain, &[]).await.error(404, "NOT_FOUND");
    let sig = query_param(signed, "sig");
    let mut flipped = sig.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let expires: i64 = query_param(signed, "expires").parse().unwrap();
    for bad in [
        with_query(signed, "sig", Some(&flipped)),
        with_query(signed, "sig", None),
        with_query(signed, "expires", Some(&(expires + 60).to_string())),
        format!("{plain}?sig={sig}"),
    ] {
        get(&c, &bad, &[]).await.error(403, "SIGNATURE_INVALID");
    }

    // A signature is bound to its key: another private file's URL opens only that file.
    let other = upload(
        &srv,
        &c,
        "vault",
        "other.png",
        "image/png",
        &fixtures::png(90),
    )
    .await;
    let other_url = other["file"]["url"].as_str().unwrap();
    let swapped = other_url.replace(other["key"].as_str().unwrap(), key);
    get(&c, &swapped, &[]).await.error(403, "SIGNATURE_INVALID");

    // The status endpoint hands out a fresh signed URL that works.
    let fresh = srv.status(&c, key).await["file"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&c, &fresh, &[]).await.bytes, png);
}

#[tokio::test]
async fn an_expired_download_url_is_refused() {
    let opts = Options {
        configure: Box::new(|b| {
            b.limits(Limits {
                download_url_ttl: Duration::from_secs(1),
                ..Default::default()
            })
        }),
        ..Default::default()
    };
    let srv = TestServer::start_with(uplift::router![gallery, vault], opts);
    let c = client();
    let done = upload(
        &srv,
        &c,
        "vault",
        "me.png",
        "image/png",
        &fixtures::png(100),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    get(&c, done["file"]["url"].as_str().unwrap(), &[])
        .await
        .error(410, "EXPIRED");
}

#[tokio::test]
async fn pending_failed_and_unknown_uploads_are_not_served() {
    let srv = server();
    let c = client();
    let png = fixtures::png(100);
    let prepared = srv
        .prepare(
            &c,
            "gallery",
            json!([decl("a.png", 100, "image/png")]),
            Value::Null,
        )
        .await
        .ok();
    let pending = prepared["files"][0]["key"].as_str().unwrap();
    get(&c, &srv.url(&format!("/download/{pending}")), &[])
        .await
        .error(404, "NOT_FOUND");

    let prepared = srv
        .prepare(
            &c,
            "gallery",
            json!([decl("a.png", 100, "image/png")]),
            Value::Null,
        )
        .await
        .ok();
    let f = &prepared["files"][0];
    let failed = f["key"].as_str().unwrap();
    put(
        &c,
        f["uploadUrl"].as_str().unwrap(),
        Some("image/png"),
        fixtures::jpeg(100),
    )
    .await
    .error(415, "UNSUPPORTED_TYPE");
    assert_eq!(srv.status(&c, failed).await["status"], "failed");
    get(&c, &srv.url(&format!("/download/{failed}")), &[])
        .await
        .error(404, "NOT_FOUND");

    for unknown in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
    ] {
        get(&c, &srv.url(&format!("/download/{unknown}")), &[])
            .await
            .error(404, "NOT_FOUND");
    }
    // An upload that succeeds afterwards is served; the others still are not.
    let ok = upload(&srv, &c, "gallery", "b.png", "image/png", &png).await;
    assert_eq!(
        get(&c, ok["file"]["url"].as_str().unwrap(), &[])
            .await
            .bytes,
        png
    );
    get(&c, &srv.url(&format!("/download/{pending}")), &[])
        .await
        .error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_in_memory_backend_serves_alike() {
    let memory = uplift::MemoryStorage::new();
    let handle = memory.clone();
    let opts = Options {
        configure: Box::new(move |b| b.storage(memory.clone())),
        ..Default::default()
    };
    let srv = TestServer::start_with(uplift::router![gallery, vault], opts);
    let c = client();
    let png = fixtures::png(1000);
    let done = upload(&srv, &c, "gallery", "photo.png", "image/png", &png).await;
    let key = done["key"].as_str().unwrap();
    assert_eq!(handle.get(key).as_deref(), Some(png.as_slice()));
    assert!(
        srv.stored_files().is_empty(),
        "nothing on disk with the memory backend"
    );
    let url = done["file"]["url"].as_str().unwrap();

    let r = get(&c, url, &[]).await;
    assert_eq!((r.status, &r.bytes), (200, &png));
    assert_eq!(
        r.header("content-disposition").unwrap(),
        "inline; filename=\"photo.png\""
    );
    assert_eq!(r.header("x-content-type-options").unwrap(), "nosniff");
    let r = get(&c, url, &[("range", "bytes=2-5")]).await;
    assert_eq!((r.status, r.bytes.as_slice()), (206, &png[2..6]));
    assert_eq!(r.header("content-range").unwrap(), "bytes 2-5/1000");
    let r = get(&c, url, &[("range", "bytes=5000-")]).await;
    r.error(416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(r.header("content-range").as_deref(), Some("bytes */1000"));

    let etag = get(&c, url, &[]).await.header("etag").expect("an ETag");
    let r = get(&c, url, &[("if-none-match", &etag)]).await;
    assert_eq!((r.status, r.bytes.len()), (304, 0));
    assert_eq!(r.header("etag").as_deref(), Some(etag.as_str()));
    let r = get(&c, url, &[("if-none-match", &format!("\"x\", {etag}"))]).await;
    assert_eq!(r.status, 304);
    let r = get(&c, url, &[("if-none-match", "\"x\"")]).await;
    assert_eq!(r.status, 200);
}
