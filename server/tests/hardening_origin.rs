//! One origin rule for every URL the server mints: `public_url`, else the forwarded headers
//! only when `trust_forwarded_headers` is on, else the request's own `Host` and scheme. A forged
//! `X-Forwarded-Host` or `Forwarded: host=` must not move prepare, status, download, tus or
//! signed-object URLs to another host.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{SignOptions, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, Resp};
use common::signed::file_of;
use common::{Options, TestServer};

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "url": file.url }))
}

#[uplift::file_route(image, await_server_data, on_upload_complete = done)]
async fn pics() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[uplift::file_route(image(acl = "private"), await_server_data, on_upload_complete = done)]
async fn secret() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn router() -> uplift::Router {
    uplift::router![pics, secret]
}

const X_FORWARDED: &[(&str, &str)] = &[
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "https"),
];
const FORWARDED: &[(&str, &str)] = &[("forwarded", "host=evil.example;proto=https")];

fn with(mut rb: reqwest::RequestBuilder, headers: &[(&str, &str)]) -> reqwest::RequestBuilder {
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

/// A minted URL, aimed back at the test server (it may name another host by design).
fn local(srv: &TestServer, url: &str) -> String {
    let path = url.find("/api/uploads/").map(|i| &url[i..]).unwrap();
    format!("{}{path}", srv.origin)
}

/// Every URL minted while `headers` are sent, from each endpoint that mints one.
async fn minted_urls(srv: &TestServer, headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let c = client();
    let png = fixtures::png(200);
    let mut urls = Vec::new();
    for slug in ["pics", "secret"] {
        // prepare
        let r = srv
            .prepare_raw(
                &c,
                slug,
                &json!({ "files": [decl("a.png", png.len(), "image/png")], "input": null }),
                headers,
            )
            .await;
        let f = r.ok()["files"][0].clone();
        let upload_url = f["uploadUrl"].as_str().unwrap().to_string();
        urls.push((format!("{slug} uploadUrl"), upload_url.clone()));
        let status_url = f["statusUrl"].as_str().unwrap().to_string();
        urls.push((format!("{slug} statusUrl"), status_url.clone()));
        // the PUT's answer carries the download URL (signed when private)
        let put = send(with(
            c.put(local(srv, &upload_url))
                .header("content-type", "image/png")
                .body(png.clone()),
            headers,
        ))
        .await
        .ok();
        urls.push((
            format!("{slug} PUT file.url"),
            put["file"]["url"].as_str().unwrap().to_string(),
        ));
        // status (a private file's status needs the uploader's status token: its statusUrl)
        let st = send(with(c.get(local(srv, &status_url)), headers))
            .await
            .ok();
        urls.push((
            format!("{slug} status file.url"),
            st["file"]["url"].as_str().unwrap().to_string(),
        ));
        // multipart
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("b.png")
                .mime_str("image/png")
                .unwrap(),
        );
        let mp = send(with(
            c.post(srv.url(&format!("/{slug}/multipart")))
                .multipart(form),
            headers,
        ))
        .await;
        let mp = mp.ok();
        urls.push((
            format!("{slug} multipart file.url"),
            mp["files"][0]["file"]["url"]
                .as_str()
                .unwrap_or_else(|| panic!("{mp}"))
                .to_string(),
        ));
    }
    // tus creation
    let r = send(with(
        c.post(srv.url("/pics/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "10")
            // base64 of `image/png`
            .header("upload-metadata", "filetype aW1hZ2UvcG5n"),
        headers,
    ))
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    urls.push(("tus Location".into(), r.header("location").unwrap()));
    // a signed object: the answer's self link and the object's (signed GET) URL
    let signed = srv
        .signed
        .get_signed_put_with(
            "docs",
            &SignOptions {
                filename: Some("c.png".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let r = send(with(
        c.put(&signed.upload_url)
            .header("content-type", "image/png")
            .body(png.clone()),
        headers,
    ))
    .await;
    let body = r.json();
    let file = file_of(&r);
    urls.push((
        "signed links.self".into(),
        body["links"]["self"].as_str().unwrap().to_string(),
    ));
    urls.push((
        "signed data.url".into(),
        file["url"].as_str().unwrap().to_string(),
    ));
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forwarded_headers_do_not_move_minted_urls() {
    let srv = TestServer::start(router());
    for headers in [X_FORWARDED, FORWARDED] {
        let urls = minted_urls(&srv, headers).await;
        assert_eq!(urls.len(), 13);
        for (what, url) in urls {
            assert!(
                url.starts_with(&format!("{}/api/uploads/", srv.origin)),
                "{what} follows a forged forwarded header ({headers:?}): {url}"
            );
            assert!(!url.contains("evil"), "{what}: {url}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_forwarded_headers_set_the_origin_of_every_url() {
    let srv = TestServer::start_with(
        router(),
        Options {
            configure: Box::new(|b| b.trust_forwarded_headers(true)),
            ..Default::default()
        },
    );
    for headers in [X_FORWARDED, FORWARDED] {
        let urls = minted_urls(&srv, headers).await;
        assert_eq!(urls.len(), 13);
        for (what, url) in urls {
            assert!(
                url.starts_with("https://evil.example/api/uploads/"),
                "{what} ignores a trusted forwarded header ({headers:?}): {url}"
            );
        }
    }
    // Without forwarded headers, a trusting server still answers with the request's own host.
    let c = client();
    let r = srv
        .prepare(
            &c,
            "pics",
            json!([decl("a.png", 10, "image/png")]),
            Value::Null,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with(&srv.origin), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_wins_over_everything() {
    let srv = TestServer::start_with(
        router(),
        Options {
            configure: Box::new(|b| {
                b.trust_forwarded_headers(true)
                    .public_url("https://files.example.com/")
            }),
            ..Default::default()
        },
    );
    let c = client();
    let r = srv
        .prepare_raw(
            &c,
            "pics",
            &json!({ "files": [decl("a.png", 10, "image/png")], "input": null }),
            X_FORWARDED,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.starts_with("https://files.example.com/api/uploads/upload/"),
        "{url}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_header_is_used_only_when_it_is_a_plain_host() {
    let srv = TestServer::start(router());
    let c = client();
    let upload_url = |host: &'static str| {
        let c = c.clone();
        let srv = &srv;
        async move {
            let r = srv
                .prepare_raw(
                    &c,
                    "pics",
                    &json!({ "files": [decl("a.png", 10, "image/png")], "input": null }),
                    &[("host", host)],
                )
                .await;
            r.ok()["files"][0]["uploadUrl"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // a compose-style service name with a port
    let url = upload_url("files_internal:9000").await;
    assert!(
        url.starts_with("http://files_internal:9000/api/uploads/upload/"),
        "{url}"
    );
    // not a host: never copied into a URL
    let url = upload_url("evil.example/x?<b>").await;
    assert!(!url.contains("evil") && !url.contains("<b>"), "{url}");
    assert!(url.starts_with("http://"), "{url}");
}
