//! The same upload flows with the records in PostgreSQL instead of SQLite: what several
//! servers sharing one database rely on.

mod common;

use common::{Options, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{HttpRequest, UploadError, UploadedFile};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Serialize, Deserialize)]
pub struct Meta {
    user: String,
}

#[derive(Serialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Saved {
    by: String,
    sha256: String,
}

#[uplift::file_route(text(max_file_size = "1KB", max_file_count = 2), await_server_data, on_upload_complete = saved)]
async fn notes(req: HttpRequest) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| UploadError::unauthorized("who?"))?;
    Ok(Meta { user: user.into() })
}

async fn saved(meta: Meta, file: UploadedFile) -> Result<Saved, UploadError> {
    Ok(Saved {
        by: meta.user,
        sha256: file.sha256,
    })
}

/// A server on a fresh schema, or `None` (with a plain message) when PostgreSQL is absent and
/// not required.
async fn server() -> Option<(TestServer, sqlx::PgPool, String)> {
    let url = std::env::var("UPLIFT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let pool = match sqlx::PgPool::connect(&url).await {
        Ok(p) => p,
        Err(e) => {
            assert!(
                std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL required but not reachable at {url}: {e}"
            );
            eprintln!(
                "PostgreSQL not reachable at {url} ({e}): skipping the PostgreSQL HTTP tests"
            );
            return None;
        }
    };
    let schema = format!("uplift_http_{:016x}", rand::random::<u64>());
    let srv = TestServer::start_with(
        uplift::router![notes],
        Options {
            records_url: Some(url),
            records_schema: Some(schema.clone()),
            ..Default::default()
        },
    );
    Some((srv, pool, schema))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_put_and_multipart_record_in_postgres() {
    let Some((srv, pool, schema)) = server().await else {
        return;
    };
    let c = reqwest::Client::new();

    let prep: Value = c
        .post(format!("{}/notes", srv.base))
        .header("x-user", "ann")
        .json(&json!({ "files": [{ "name": "a.txt", "size": 5, "type": "text/plain" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = prep["files"][0]["uploadUrl"].as_str().unwrap().to_string();
    let key = prep["files"][0]["key"].as_str().unwrap().to_string();
    let res = c
        .put(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["serverData"]["by"], "ann");

    // The row is in PostgreSQL, in our schema, complete with its server data.
    let (status, server_data): (String, Option<String>) = sqlx::query_as(&format!(
        "SELECT status, server_data FROM {schema}.uplift_uploads WHERE key = $1"
    ))
    .bind(&key)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "complete");
    let server_data: Value = serde_json::from_str(&server_data.unwrap()).unwrap();
    assert_eq!(server_data["sha256"], body["file"]["sha256"]);

    // A replay is refused by the database's atomic claim.
    let replay = c
        .put(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);

    let form = reqwest::multipart::Form::new()
        .part(
            "f1",
            reqwest::multipart::Part::text("one")
                .file_name("1.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
        .part(
            "f2",
            reqwest::multipart::Part::text("two")
                .file_name("2.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let res = c
        .post(format!("{}/notes/multipart", srv.base))
        .header("x-user", "bob")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (n,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM {schema}.uplift_uploads WHERE status = 'complete'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 3);

    drop(srv);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_objects_and_one_time_uses_record_in_postgres() {
    let Some((srv, pool, schema)) = server().await else {
        return;
    };
    let c = reqwest::Client::new();
    let opts = uplift::SignOptions {
        filename: Some("b/c.txt".into()),
        metadata: [("k".to_string(), "v".to_string())].into(),
        prevent_overwrite: true,
        ..Default::default()
    };
    let signed = srv.signed.get_signed_put_with("a", &opts).unwrap();
    let res = c
        .put(&signed.upload_url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();

    let (id, size, sha256, metadata): (String, i64, String, String) = sqlx::query_as(&format!(
        "SELECT id, size, sha256, metadata FROM {schema}.uplift_objects WHERE path = $1"
    ))
    .bind("a/b/c.txt")
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(id, signed.upload_id);
    assert_eq!(size, 5);
    assert_eq!(sha256, body["data"]["sha256"].as_str().unwrap());
    assert_eq!(metadata, r#"{"k":"v"}"#);
    let (uses,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM {schema}.uplift_signed_uses WHERE upload_id = $1"
    ))
    .bind(&signed.upload_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(uses, 1);

    // The one-time URL again, with the object gone from disk so only the record can refuse it.
    std::fs::remove_file(srv.data_dir.join("files/objects/a/b/c.txt")).unwrap();
    let replay = c
        .put(&signed.upload_url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ALREADY_USED");

    drop(srv);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
