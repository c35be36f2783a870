//! Large files straight to the bucket in parts (`S3Storage` on a real S3-compatible store,
//! Garage in CI; skipped with a note when `UPLIFT_S3_*` is unset unless `UPLIFT_REQUIRE_S3=1`):
//! prepare starts the bucket's multipart upload and hands out presigned part URLs; parts go in
//! any order, in parallel; the parts URL lists what arrived (resume); the abort URL cancels;
//! completion checks every part, joins them and reads the object back (SHA-256, type) before
//! the hook runs. Refused, cancelled and abandoned uploads leave nothing in the bucket.
#![cfg(feature = "s3")]

mod common;

use std::time::{Duration, SystemTime};

use common::http::{client, Resp};
use common::{s3_available, Backend, Options, TestServer};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uplift::{HttpRequest, Limits, UploadError, UploadedFile};

const MIB: usize = 1024 * 1024;
/// Three parts of the tests' 5 MiB: 5 MiB, 5 MiB and the rest.
const SIZE: usize = 12 * MIB + 123;

#[derive(Serialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Seen {
    sha256: String,
    crc32: Option<u32>,
}

#[uplift::file_route(blob(max_file_size = "64MB"), await_server_data, on_upload_complete = seen)]
async fn big(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

async fn seen(_meta: (), file: UploadedFile) -> Result<Seen, UploadError> {
    Ok(Seen {
        sha256: file.sha256,
        crc32: file.crc32,
    })
}

fn server_with(configure: fn(uplift::UpliftBuilder) -> uplift::UpliftBuilder) -> TestServer {
    TestServer::start_with(
        uplift::router![big],
        Options {
            storage: Backend::S3,
            configure: Box::new(configure),
            ..Options::default()
        },
    )
}

/// Files above 6 MiB go in parts.
fn in_parts(b: uplift::UpliftBuilder) -> uplift::UpliftBuilder {
    b.direct_multipart_threshold(6 * MIB as u64)
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 % 251) as u8).collect()
}

async fn prepare_as(
    srv: &TestServer,
    c: &reqwest::Client,
    body: &[u8],
    ty: &str,
    sha256: &str,
) -> Value {
    let decl = json!({ "name": "big.bin", "size": body.len(), "type": ty, "sha256": sha256 });
    srv.prepare(c, "big", json!([decl]), Value::Null).await.ok()["files"][0].clone()
}

async fn prepare(srv: &TestServer, c: &reqwest::Client, body: &[u8]) -> Value {
    prepare_as(srv, c, body, "application/octet-stream", &sha(body)).await
}

/// Part `n`'s bytes under the plan.
fn part(prepared: &Value, body: &[u8], n: u64) -> Vec<u8> {
    let size = prepared["multipart"]["partSize"].as_u64().unwrap();
    let start = ((n - 1) * size) as usize;
    body[start..(start + size as usize).min(body.len())].to_vec()
}

fn part_url(prepared: &Value, n: u64) -> String {
    let parts = prepared["multipart"]["parts"].as_array().unwrap();
    let p = parts.iter().find(|p| p["partNumber"] == n).unwrap();
    p["url"].as_str().unwrap().to_string()
}

async fn put_part(c: &reqwest::Client, prepared: &Value, body: &[u8], n: u64) -> u16 {
    let res = c
        .put(part_url(prepared, n))
        .header("connection", "close")
        .body(part(prepared, body, n))
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn post(c: &reqwest::Client, url: &str, body: Option<Value>) -> Resp {
    let mut req = c.post(url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Resp::read(req.send().await.unwrap()).await
}

async fn complete(c: &reqwest::Client, prepared: &Value) -> Resp {
    post(
        c,
        prepared["multipart"]["completeUrl"].as_str().unwrap(),
        None,
    )
    .await
}

async fn listing(c: &reqwest::Client, prepared: &Value) -> Resp {
    let url = prepared["multipart"]["partsUrl"].as_str().unwrap();
    post(c, url, Some(json!({ "first": 1, "count": 100 }))).await
}

async fn bucket_keys(srv: &TestServer) -> Vec<String> {
    let later = SystemTime::now() + Duration::from_secs(60);
    let s3 = srv.s3.as_ref().unwrap();
    let list = uplift::storage::Storage::as_list(s3).unwrap();
    list.list_keys(later)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect()
}

async fn in_progress(srv: &TestServer) -> usize {
    srv.s3.as_ref().unwrap().multipart_uploads().await.unwrap()
}

#[tokio::test]
async fn parts_go_in_parallel_out_of_order_and_resume_from_the_listing() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    let plan = &prepared["multipart"];
    assert_eq!(plan["partSize"], 5 * MIB, "{prepared}");
    assert_eq!(plan["partCount"], 3);
    assert_eq!(plan["parts"].as_array().unwrap().len(), 3);
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(part_url(&prepared, 1).starts_with(&endpoint));
    // The upload URL stays this server's own (for clients that send no parts).
    assert!(prepared["uploadUrl"]
        .as_str()
        .unwrap()
        .starts_with(&srv.base));
    assert_eq!(prepared["completeUrl"], Value::Null, "the plan has its own");
    assert!(plan["completeUrl"].is_string());
    assert_eq!(in_progress(&srv).await, 1);

    // One part, then a "reload": the listing says what the bucket has and signs the rest.
    assert_eq!(put_part(&c, &prepared, &body, 2).await, 200);
    let listed = listing(&c, &prepared).await.ok();
    assert_eq!(
        listed["uploaded"],
        json!([{ "partNumber": 2, "size": 5 * MIB }])
    );
    assert_eq!(listed["partCount"], 3);
    assert_eq!(listed["parts"].as_array().unwrap().len(), 3);
    assert_eq!(srv.status(&c, &key).await["status"], "pending");

    // The others at once, last first.
    let mut resumed = prepared.clone();
    resumed["multipart"]["parts"] = listed["parts"].clone();
    let (a, b) = tokio::join!(
        put_part(&c, &resumed, &body, 3),
        put_part(&c, &resumed, &body, 1)
    );
    assert_eq!((a, b), (200, 200));
    // Nothing is readable before completion.
    let dl = c
        .get(srv.url(&format!("/download/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status(), 404);

    let done = complete(&c, &prepared).await.ok();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["serverData"]["sha256"], sha(&body).as_str());
    let crc = crc32fast::hash(&body);
    assert_eq!(done["serverData"]["crc32"], crc, "read back by the server");
    assert_eq!(done["file"]["size"], SIZE);
    assert_eq!(in_progress(&srv).await, 0);
    assert_eq!(bucket_keys(&srv).await, vec![key.clone()]);
    let got = reqwest::get(done["file"]["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), &body[..]);
    // Spent.
    complete(&c, &prepared).await.error(409, "CONFLICT");
    listing(&c, &prepared).await.error(409, "CONFLICT");
}

#[tokio::test]
async fn a_client_that_knows_no_plans_puts_through_the_server() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    assert!(prepared["multipart"].is_object());
    let done = common::http::put(
        &c,
        prepared["uploadUrl"].as_str().unwrap(),
        Some("application/octet-stream"),
        body.clone(),
    )
    .await
    .ok();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["serverData"]["sha256"], sha(&body).as_str());
    assert_eq!(in_progress(&srv).await, 0, "the plan's upload was dropped");
    complete(&c, &prepared).await.error(409, "CONFLICT");
}

#[tokio::test]
async fn parts_outside_the_plan_are_refused() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let url = prepared["multipart"]["partsUrl"].as_str().unwrap();
    for ask in [
        json!({ "first": 0, "count": 1 }),
        json!({ "first": 4, "count": 1 }),
        json!({ "first": 1, "count": 101 }),
    ] {
        post(&c, url, Some(ask)).await.error(400, "BAD_REQUEST");
    }
    // Whole numbers however JSON spells them; anything else is refused as JSON.
    let two = post(&c, url, Some(json!({ "first": 2.0, "count": 1.0 })))
        .await
        .ok();
    assert_eq!(two["parts"][0]["partNumber"], 2);
    for bad in [
        json!({ "first": 1.5, "count": 1 }),
        json!({ "first": 1 }),
        json!([1]),
    ] {
        post(&c, url, Some(bad)).await.error(400, "BAD_REQUEST");
    }
    // A tampered query is refused like the upload URL's.
    let tampered = url.replace("size=", "size=1");
    post(&c, &tampered, Some(json!({ "first": 1, "count": 1 })))
        .await
        .error(403, "SIGNATURE_INVALID");
    // Smaller files, and files without a declared SHA-256, get no plan.
    let small = prepare(&srv, &c, &body[..MIB]).await;
    assert_eq!(small["multipart"], Value::Null);
    assert!(small["uploadUrl"]
        .as_str()
        .unwrap()
        .starts_with(&std::env::var("UPLIFT_S3_ENDPOINT").unwrap()));
    let plain = srv
        .prepare_one(&c, "big", "plain.bin", SIZE, "application/octet-stream")
        .await;
    assert_eq!(plain["multipart"], Value::Null);
    assert_eq!(plain["completeUrl"], Value::Null);
}

#[tokio::test]
async fn a_part_of_another_size_is_refused_by_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let mut short = part(&prepared, &body, 1);
    short.pop();
    // The signature binds the length: 403, or (Garage) the connection closed before the body
    // was all sent.
    match c
        .put(part_url(&prepared, 1))
        .header("connection", "close")
        .body(short)
        .send()
        .await
    {
        Ok(res) => assert_eq!(res.status(), 403),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    let listed = listing(&c, &prepared).await.ok();
    assert_eq!(listed["uploaded"], json!([]));
    // The right part still goes.
    assert_eq!(put_part(&c, &prepared, &body, 1).await, 200);
}

#[tokio::test]
async fn completing_with_a_missing_part_waits_for_it() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    complete(&c, &prepared).await.error(409, "CONFLICT");
    assert_eq!(put_part(&c, &prepared, &body, 1).await, 200);
    assert_eq!(put_part(&c, &prepared, &body, 3).await, 200);
    let refused = complete(&c, &prepared).await.error(409, "CONFLICT");
    assert_eq!(refused["data"]["missing"], json!([2]), "{refused}");
    // Not spent: send it and complete.
    assert_eq!(srv.status(&c, &key).await["status"], "pending");
    assert_eq!(put_part(&c, &prepared, &body, 2).await, 200);
    assert_eq!(complete(&c, &prepared).await.ok()["status"], "complete");
}

#[tokio::test]
async fn bytes_that_do_not_match_the_declared_sha256_are_refused_and_removed() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let mut other = body.clone();
    other[SIZE - 1] ^= 1;
    // Declared the SHA-256 of `other`; parts of `body` (no part checksum stops them).
    let prepared = prepare_as(&srv, &c, &body, "application/octet-stream", &sha(&other)).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    for n in 1..=3 {
        assert_eq!(put_part(&c, &prepared, &body, n).await, 200);
    }
    complete(&c, &prepared)
        .await
        .error(400, "CHECKSUM_MISMATCH");
    let st = srv.status(&c, &key).await;
    assert_eq!(st["status"], "failed");
    assert_eq!(st["error"]["code"], "CHECKSUM_MISMATCH");
    assert!(
        bucket_keys(&srv).await.is_empty(),
        "the refused object is gone"
    );
    assert_eq!(in_progress(&srv).await, 0);
}

#[tokio::test]
async fn a_contradicted_type_is_refused_and_removed() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(body(SIZE - png.len()));
    let prepared = prepare_as(&srv, &c, &png, "text/plain", &sha(&png)).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    for n in 1..=3 {
        assert_eq!(put_part(&c, &prepared, &png, n).await, 200);
    }
    complete(&c, &prepared).await.error(415, "UNSUPPORTED_TYPE");
    assert_eq!(
        srv.status(&c, &key).await["error"]["code"],
        "UNSUPPORTED_TYPE"
    );
    assert!(bucket_keys(&srv).await.is_empty());
    assert_eq!(in_progress(&srv).await, 0);
}

#[tokio::test]
async fn cancel_aborts_the_multipart_upload() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    assert_eq!(put_part(&c, &prepared, &body, 1).await, 200);
    let abort = prepared["multipart"]["abortUrl"].as_str().unwrap();
    let st = post(&c, abort, None).await.ok();
    assert_eq!(st["status"], "failed", "{st}");
    assert_eq!(st["error"]["code"], "CANCELLED");
    assert_eq!(in_progress(&srv).await, 0);
    assert!(bucket_keys(&srv).await.is_empty());
    // Spent: no more parts, no completion, no second cancel.
    listing(&c, &prepared).await.error(409, "CONFLICT");
    complete(&c, &prepared).await.error(409, "CONFLICT");
    post(&c, abort, None).await.error(409, "CONFLICT");
    // The bucket has no such upload any more: 404, or the connection closed before the body
    // was all sent.
    match c
        .put(part_url(&prepared, 2))
        .header("connection", "close")
        .body(part(&prepared, &body, 2))
        .send()
        .await
    {
        Ok(res) => assert_eq!(res.status(), 404),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(srv.status(&c, &key).await["error"]["code"], "CANCELLED");
}

#[tokio::test]
async fn a_vanished_client_is_swept_from_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| {
        in_parts(b).limits(Limits {
            upload_url_ttl: Duration::from_secs(2),
            ..Limits::default()
        })
    });
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    assert_eq!(put_part(&c, &prepared, &body, 1).await, 200);
    assert_eq!(in_progress(&srv).await, 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let report = srv.up.sweep().await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(in_progress(&srv).await, 0, "{report:?}");
    assert!(bucket_keys(&srv).await.is_empty());
    assert_eq!(srv.status(&c, &key).await["status"], "expired");
    complete(&c, &prepared).await.error(410, "EXPIRED");
}

#[tokio::test]
async fn parts_and_abort_refuse_an_upload_sent_in_one_put_and_spend_nothing() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let small = body(MIB);
    let prepared = prepare(&srv, &c, &small).await;
    assert!(prepared["multipart"].is_null(), "{prepared}");
    let complete_url = prepared["completeUrl"].as_str().unwrap().to_string();
    let parts_url = complete_url.replace("/complete?", "/parts?");
    let abort_url = complete_url.replace("/complete?", "/abort?");
    let r = post(&c, &parts_url, Some(json!({ "first": 1, "count": 1 }))).await;
    let e = r.error(409, "CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not prepared in parts"),
        "{e}"
    );
    post(&c, &abort_url, None).await.error(409, "CONFLICT");
    // A URL for another key, or changed, is refused before anything is looked at.
    let forged = parts_url.replace("sig=", "sig=x");
    assert!(forged != parts_url);
    let r = post(&c, &forged, Some(json!({ "first": 1, "count": 1 }))).await;
    assert_eq!(r.status, 403, "{}", r.json());
    // Nothing was spent: the file still goes in its one PUT.
    let res = c
        .put(prepared["uploadUrl"].as_str().unwrap())
        .header("connection", "close")
        .headers(
            prepared["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), v.as_str().unwrap().parse().unwrap()))
                .collect(),
        )
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done = post(&c, &complete_url, None).await.ok();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["file"]["sha256"], sha(&small));
}

#[tokio::test]
async fn a_multipart_upload_aborted_behind_uplifts_back_is_refused_until_cancelled() {
    if !s3_available() {
        return;
    }
    let srv = server_with(in_parts);
    let c = client();
    let body = body(SIZE);
    let prepared = prepare(&srv, &c, &body).await;
    let key = prepared["key"].as_str().unwrap().to_string();
    assert_eq!(put_part(&c, &prepared, &body, 1).await, 200);
    // The bucket's lifecycle rule, or an operator, aborts it.
    let storage = srv.storage();
    let direct = storage.as_direct().unwrap();
    assert!(direct.abort_multipart(&key).await.unwrap());
    let e = listing(&c, &prepared).await.error(409, "CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("no multipart upload"),
        "{e}"
    );
    complete(&c, &prepared).await.error(409, "CONFLICT");
    // Not spent by those refusals: the client cancels, and the upload fails as cancelled.
    assert_eq!(srv.status(&c, &key).await["status"], "pending");
    let abort = prepared["multipart"]["abortUrl"].as_str().unwrap();
    let st = post(&c, abort, None).await.ok();
    assert_eq!(st["error"]["code"], "CANCELLED", "{st}");
    assert_eq!(in_progress(&srv).await, 0);
    assert!(bucket_keys(&srv).await.is_empty());
}
