//! Per-caller limits over real HTTP: prepare, multipart and tus creation count the caller's
//! unfinished uploads and reserved bytes and refuse past a limit with 429; finished and failed
//! uploads free the budget; another caller is unaffected; records keep a hash, not the identity.
//! On SQLite, and on PostgreSQL when it is reachable.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};

use common::fixtures::text;
use common::http::{assert_error, client, decl, put, Resp};
use common::{Options, TestServer};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Serialize, Deserialize)]
pub struct Meta {
    user: String,
}

async fn fine(meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "by": meta.user }))
}

#[uplift::file_route(text(max_file_size = "1KB", max_file_count = 5), await_server_data, on_upload_complete = fine)]
async fn notes(req: HttpRequest) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anon");
    Ok(Meta { user: user.into() })
}

/// 3 unfinished uploads or 1500 bytes per caller; the caller is the `x-user` header.
fn options(records: Option<(String, String)>) -> Options {
    let (records_url, records_schema) = records.map_or((None, None), |(u, s)| (Some(u), Some(s)));
    Options {
        records_url,
        records_schema,
        storage: Default::default(),
        configure: Box::new(|b| {
            b.limits(Limits {
                max_unfinished_per_caller: Some(3),
                max_reserved_bytes_per_caller: Some(1500),
                ..Default::default()
            })
            .caller(|req| {
                req.headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
        }),
        ..Default::default()
    }
}

async fn prepare(srv: &TestServer, user: &str, sizes: &[usize]) -> Resp {
    let files: Vec<Value> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| decl(&format!("n{i}.txt"), *s, "text/plain"))
        .collect();
    srv.prepare_raw(
        &client(),
        "notes",
        &json!({ "files": files, "input": null }),
        &[("x-user", user)],
    )
    .await
}

#[track_caller]
fn refused_for(r: &Resp, limit: &str) -> Value {
    let e = assert_error(r.status, &r.json(), 429, "TOO_MANY_REQUESTS");
    assert_eq!(e["data"]["limit"], limit, "{e}");
    e
}

fn tus_meta() -> String {
    format!(
        "filename {},filetype {}",
        STANDARD.encode("t.txt"),
        STANDARD.encode("text/plain")
    )
}

async fn tus_create(srv: &TestServer, user: &str, length: Option<usize>) -> Resp {
    let mut rb = client()
        .post(format!("{}/notes/tus", srv.base))
        .header("tus-resumable", "1.0.0")
        .header("x-user", user)
        .header("upload-metadata", tus_meta());
    rb = match length {
        Some(l) => rb.header("upload-length", l.to_string()),
        None => rb.header("upload-defer-length", "1"),
    };
    Resp::read(rb.send().await.unwrap()).await
}

async fn multipart(srv: &TestServer, user: &str, sizes: &[usize]) -> Resp {
    let mut form = reqwest::multipart::Form::new();
    for (i, s) in sizes.iter().enumerate() {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(text(*s))
                .file_name(format!("m{i}.txt"))
                .mime_str("text/plain")
                .unwrap(),
        );
    }
    Resp::read(
        client()
            .post(srv.url("/notes/multipart"))
            .header("x-user", user)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn scenario(srv: TestServer, records: uplift::Records) {
    let c = client();

    // The count: three unfinished uploads fit, a fourth does not — in one prepare or another.
    let two = prepare(&srv, "ann", &[100, 100]).await.ok();
    let e = refused_for(
        &prepare(&srv, "ann", &[10, 10]).await,
        "max_unfinished_per_caller",
    );
    assert_eq!(
        (e["data"]["max"].as_u64(), e["data"]["unfinished"].as_u64()),
        (Some(3), Some(2))
    );
    prepare(&srv, "ann", &[10]).await.ok();
    refused_for(
        &prepare(&srv, "ann", &[10]).await,
        "max_unfinished_per_caller",
    );
    // tus creation and multipart count the same uploads.
    refused_for(
        &tus_create(&srv, "ann", Some(10)).await,
        "max_unfinished_per_caller",
    );
    refused_for(
        &multipart(&srv, "ann", &[10]).await,
        "max_unfinished_per_caller",
    );
    let rows_before = callers(&records).await.len();

    // Another caller is unaffected.
    prepare(&srv, "bob", &[10, 10, 10]).await.ok();

    // A finished upload frees its place.
    let first = &two["files"][0];
    put(
        &c,
        first["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(100),
    )
    .await
    .ok();
    prepare(&srv, "ann", &[10]).await.ok();
    refused_for(
        &prepare(&srv, "ann", &[10]).await,
        "max_unfinished_per_caller",
    );
    // So does a failed one (the body breaks its signed size).
    let second = &two["files"][1];
    let r = put(
        &c,
        second["uploadUrl"].as_str().unwrap(),
        Some("text/plain"),
        text(99),
    )
    .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(
        srv.status(&c, second["key"].as_str().unwrap()).await["status"],
        "failed"
    );
    prepare(&srv, "ann", &[10]).await.ok();
    assert_eq!(callers(&records).await.len(), rows_before + 3 + 2);

    // The bytes: 1500 per caller, counted across prepare, tus and multipart.
    prepare(&srv, "cat", &[900]).await.ok();
    let e = refused_for(
        &prepare(&srv, "cat", &[700]).await,
        "max_reserved_bytes_per_caller",
    );
    assert_eq!(
        (
            e["data"]["max"].as_u64(),
            e["data"]["reserved"].as_u64(),
            e["data"]["requested"].as_u64()
        ),
        (Some(1500), Some(900), Some(700))
    );
    refused_for(
        &tus_create(&srv, "cat", Some(700)).await,
        "max_reserved_bytes_per_caller",
    );
    // Multipart refuses as the bytes arrive past the budget.
    refused_for(
        &multipart(&srv, "cat", &[400, 400]).await,
        "max_reserved_bytes_per_caller",
    );
    assert_eq!(tus_create(&srv, "cat", Some(600)).await.status, 201);

    // A deferred tus length reserves the route's largest file (1 KB) until it is declared.
    let deferred = tus_create(&srv, "dan", None).await;
    assert_eq!(
        deferred.status,
        201,
        "{}",
        String::from_utf8_lossy(&deferred.bytes)
    );
    let url = deferred.header("location").unwrap();
    refused_for(
        &prepare(&srv, "dan", &[600]).await,
        "max_reserved_bytes_per_caller",
    );
    let r = Resp::read(
        c.patch(&url)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", "0")
            .header("upload-length", "100")
            .body(text(10))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    prepare(&srv, "dan", &[600]).await.ok();

    // Multipart files finish at once: they free their place as they complete.
    for _ in 0..4 {
        multipart(&srv, "eve", &[10, 10]).await.ok();
    }

    // The records keep a keyed hash of the caller, the same for one caller, never the name.
    check_hashes(&callers(&records).await);
    records.close().await;
}

/// The `caller` column of every row, for the hash checks.
async fn callers(records: &uplift::Records) -> Vec<String> {
    sqlx::query_scalar::<_, Option<String>>("SELECT caller FROM uplift_uploads")
        .fetch_all(records.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.expect("every new row names its caller"))
        .collect()
}

fn check_hashes(all: &[String]) {
    assert!(!all.is_empty());
    for c in all {
        assert_eq!(c.len(), 32, "{c}");
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()), "{c}");
        for name in ["ann", "bob", "cat", "dan", "eve", "app:"] {
            assert!(!c.contains(name), "{c} contains {name}");
        }
    }
    let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 5, "one tag per caller: {distinct:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_limited_and_freed_on_sqlite() {
    let srv = TestServer::start_with(uplift::router![notes], options(None));
    let records = uplift::Records::connect(&srv.db_url).await.unwrap();
    scenario(srv, records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_limited_and_freed_on_postgres() {
    let url = std::env::var("UPLIFT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    if let Err(e) = sqlx::PgPool::connect(&url).await {
        assert!(
            std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL required but not reachable at {url}: {e}"
        );
        eprintln!("PostgreSQL not reachable at {url} ({e}): skipping");
        return;
    }
    let schema = format!("uplift_callers_{:016x}", rand::random::<u64>());
    let srv = TestServer::start_with(
        uplift::router![notes],
        options(Some((url.clone(), schema.clone()))),
    );
    let records = uplift::Records::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    scenario(srv, records).await;
}

/// Without `caller`, the peer's address is the caller (here the client address a trusted
/// proxy forwards): one address reaches the limit, another is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_caller_is_the_client_address() {
    let srv = TestServer::start_with(
        uplift::router![notes],
        Options {
            configure: Box::new(|b| {
                b.trust_forwarded_headers(true).limits(Limits {
                    max_unfinished_per_caller: Some(2),
                    ..Default::default()
                })
            }),
            ..Default::default()
        },
    );
    let c = client();
    let body = json!({ "files": [decl("a.txt", 5, "text/plain")], "input": null });
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    srv.prepare_raw(&c, "notes", &body, &from("10.0.0.1"))
        .await
        .ok();
    srv.prepare_raw(&c, "notes", &body, &from("10.0.0.1"))
        .await
        .ok();
    let r = srv.prepare_raw(&c, "notes", &body, &from("10.0.0.1")).await;
    refused_for(&r, "max_unfinished_per_caller");
    srv.prepare_raw(&c, "notes", &body, &from("10.0.0.2"))
        .await
        .ok();
}
