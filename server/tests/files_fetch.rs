//! Server-side uploads (`Files::upload`) and uploads from a URL (`Files::upload_from_url`)
//! over real HTTP, against a local origin on 127.0.0.1 only: refused by default before any
//! connection is opened (127.0.0.1, [::1], localhost, a redirect to 127.0.0.1), taken with
//! private addresses allowed on purpose, and every other refusal (remote error, timeout, size,
//! type, scheme, route) leaving nothing stored.
#![cfg(feature = "fetch")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use common::fixtures::{png, sha256_hex};
use common::TestServer;
use serde::Serialize;
use serde_json::Value;
use uplift::{ErrorCode, FetchOptions, UploadError, UploadSource, UploadedFile};

#[derive(Serialize, schemars::JsonSchema, ts_rs::TS)]
struct Stored {
    sha256: String,
}

async fn stored(_meta: (), file: UploadedFile) -> Result<Stored, UploadError> {
    Ok(Stored {
        sha256: file.sha256,
    })
}

#[uplift::file_route(image(max_file_size = "1MB"), await_server_data, on_upload_complete = stored)]
async fn pictures() -> Result<(), UploadError> {
    Ok(())
}

/// A small origin on 127.0.0.1: its port, and the count of requests it has seen.
fn origin() -> (u16, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let counter = counter.clone();
                App::new()
                    .wrap_fn(move |req, srv| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        actix_web::dev::Service::call(srv, req)
                    })
                    .route(
                        "/cat.png",
                        web::get().to(|| async {
                            HttpResponse::Ok().content_type("image/png").body(png(4000))
                        }),
                    )
                    .route(
                        "/redirect",
                        web::get().to(|req: actix_web::HttpRequest| async move {
                            let port = req.app_config().local_addr().port();
                            HttpResponse::Found()
                                .insert_header((
                                    "location",
                                    format!("http://127.0.0.1:{port}/cat.png"),
                                ))
                                .finish()
                        }),
                    )
                    .route(
                        "/missing",
                        web::get().to(|| async { HttpResponse::NotFound().finish() }),
                    )
                    .route(
                        "/slow",
                        web::get().to(|| async {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                            HttpResponse::Ok().content_type("image/png").body(png(100))
                        }),
                    )
                    .route(
                        "/big.png",
                        web::get().to(|| async {
                            HttpResponse::Ok()
                                .content_type("image/png")
                                .body(png(3 << 20))
                        }),
                    )
                    .route(
                        "/note.txt",
                        web::get().to(|| async {
                            HttpResponse::Ok()
                                .content_type("text/plain")
                                .body("just text")
                        }),
                    )
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0].port()).unwrap();
            let _ = server.run().await;
        });
    });
    (rx.recv().unwrap(), seen)
}

fn allowed() -> FetchOptions {
    FetchOptions {
        allow_private: true,
        timeout: Duration::from_millis(1500),
        ..FetchOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_addresses_are_refused_before_any_connection() {
    let srv = TestServer::start(uplift::router![pictures]);
    let (port, seen) = origin();
    let files = srv.up.files();
    for url in [
        format!("http://127.0.0.1:{port}/cat.png"),
        format!("http://[::1]:{port}/cat.png"),
        format!("http://localhost:{port}/cat.png"),
        format!("http://127.0.0.1:{port}/redirect"),
        format!("http://2130706433:{port}/cat.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/cat.png"),
    ] {
        let e = files
            .upload_from_url("pictures", &url, &FetchOptions::default(), Value::Null)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Forbidden, "{url}: {e}");
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "no request reached the origin"
    );
    // The origin does answer, when asked.
    let r = reqwest::get(format!("http://127.0.0.1:{port}/cat.png"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert!(srv.stored_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_fetched_when_the_app_allows_them() {
    let srv = TestServer::start(uplift::router![pictures]);
    let (port, _) = origin();
    let files = srv.up.files();
    let got = files
        .upload_from_url(
            "pictures",
            &format!("http://127.0.0.1:{port}/cat.png"),
            &allowed(),
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(got.status, uplift::UploadStatus::Complete);
    assert_eq!(got.name, "cat.png");
    let file = got.file.unwrap();
    assert_eq!(file.sha256, sha256_hex(&png(4000)));
    assert_eq!(file.content_type, "image/png");
    // Through a redirect to 127.0.0.1, and by the name localhost.
    let via = files
        .upload_from_url(
            "pictures",
            &format!("http://localhost:{port}/redirect"),
            &allowed(),
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(via.name, "cat.png");
    assert_eq!(srv.stored_files().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_of_a_fetch_leaves_nothing_stored() {
    let srv = TestServer::start(uplift::router![pictures]);
    let (port, _) = origin();
    let files = srv.up.files();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let fetch = |u: String, opts: FetchOptions, slug: &'static str| {
        let files = files.clone();
        async move {
            files
                .upload_from_url(slug, &u, &opts, Value::Null)
                .await
                .unwrap_err()
        }
    };
    assert_eq!(
        fetch(url("/missing"), allowed(), "pictures").await.code(),
        ErrorCode::FetchFailed
    );
    let slow = fetch(url("/slow"), allowed(), "pictures").await;
    assert_eq!(slow.code(), ErrorCode::FetchFailed, "{slow}");
    assert!(slow.message().contains("too long"), "{slow}");
    let small = FetchOptions {
        max_bytes: Some(1000),
        ..allowed()
    };
    assert_eq!(
        fetch(url("/cat.png"), small, "pictures").await.code(),
        ErrorCode::TooLarge
    );
    // The route's own limit (1 MB) against a 3 MB image.
    assert_eq!(
        fetch(url("/big.png"), allowed(), "pictures").await.code(),
        ErrorCode::TooLarge
    );
    assert_eq!(
        fetch(url("/note.txt"), allowed(), "pictures").await.code(),
        ErrorCode::UnsupportedType
    );
    assert_eq!(
        fetch(url("/cat.png"), allowed(), "nope").await.code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        fetch(
            format!("ftp://127.0.0.1:{port}/cat.png"),
            allowed(),
            "pictures"
        )
        .await
        .code(),
        ErrorCode::InvalidInput
    );
    let one_hop = FetchOptions {
        max_redirects: 0,
        ..allowed()
    };
    assert_eq!(
        fetch(url("/redirect"), one_hop, "pictures").await.code(),
        ErrorCode::FetchFailed
    );
    assert!(srv.stored_files().is_empty());
    assert_eq!(srv.staged_files(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_uploads_bytes_it_has_through_the_routes_checks_and_hook() {
    let srv = TestServer::start(uplift::router![pictures]);
    let files = srv.up.files();
    let body = png(2000);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(500)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let source = UploadSource {
        name: "../../avatar.png".into(),
        content_type: "application/octet-stream".into(),
        body: futures_util::stream::iter(chunks),
    };
    let got = files.upload("pictures", source, Value::Null).await.unwrap();
    assert_eq!(got.name, "avatar.png", "sanitized");
    assert_eq!(
        got.file.as_ref().unwrap().content_type,
        "image/png",
        "sniffed"
    );
    assert_eq!(got.file.unwrap().sha256, sha256_hex(&body));
    // HTML declared as a PNG: refused like a client's.
    let html = UploadSource {
        name: "x.png".into(),
        content_type: "image/png".into(),
        body: futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(
            b"<html><script>alert(1)</script></html>",
        ))]),
    };
    let e = files
        .upload("pictures", html, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedType);
    assert_eq!(srv.stored_files().len(), 1);
}
