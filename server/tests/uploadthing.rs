//! UploadThing's protocol over real HTTP, as the stock client speaks it: the route config in
//! UploadThing's notation, the upload request through the route's pipeline, and the ingest —
//! `HEAD` for `x-ut-range-start`, `PUT` of a multipart field `file` from `Range`'s start —
//! including a `PUT` cut off mid-file and resumed, the server data of a route that awaits
//! it, and every refusal with UploadThing's `message` beside Uplift's error body.

mod common;

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use ts_rs::TS;
use uplift::{HttpRequest, UploadError, UploadedFile};
use validator::Validate;

use common::fixtures;
use common::http::{client, start_multipart_put, Resp, PATIENCE};
use common::TestServer;

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct PostInput {
    #[validate(length(min = 1, max = 20))]
    pub post_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
    pub post: String,
}

async fn attached(meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "uploadedBy": meta.user, "post": meta.post, "size": file.size }))
}

/// Up to two images of 1 MiB and one PDF; the PUT waits for the server data.
#[uplift::file_route(
    image(max_file_size = "1MB", max_file_count = 2),
    pdf(max_file_size = "1500000B"),
    await_server_data = true,
    on_upload_complete = attached
)]
async fn post_media(req: HttpRequest, input: PostInput) -> Result<Meta, UploadError> {
    match req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some("Bearer alice") => Ok(Meta {
            user: "alice".into(),
            post: input.post_id,
        }),
        Some(_) => Err(UploadError::forbidden("not your post")),
        None => Err(UploadError::unauthorized("sign in first")),
    }
}

async fn kept(_: (), _: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

/// Any file up to 4 MiB, no input; the hook runs in the background.
#[uplift::file_route(blob(max_file_size = "4MB"), on_upload_complete = kept)]
async fn anything() -> Result<(), UploadError> {
    Ok(())
}

fn server() -> TestServer {
    TestServer::start(uplift::router![post_media, anything])
}

/// The upload request as the stock client sends it.
async fn request(s: &TestServer, slug: &str, body: Value, auth: Option<&str>) -> Resp {
    let mut req = client()
        .post(s.url(&format!("/uploadthing?actionType=upload&slug={slug}")))
        .header("x-uploadthing-version", "7.7.4")
        .header("x-uploadthing-package", "uploadthing/client")
        .json(&body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    Resp::read(req.send().await.unwrap()).await
}

/// An UploadThing error: the status, `message` for UploadThing's client and Uplift's code.
fn ut_error(r: &Resp, status: u16, code: &str) -> String {
    let body = r.json();
    assert_eq!(r.status, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["message"].as_str().expect("a message").to_string();
    assert_eq!(body["error"]["message"], message.as_str());
    message
}

async fn head(url: &str) -> u64 {
    let r = client().head(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["x-ut-range-start"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn put(url: &str, start: u64, bytes: Vec<u8>) -> Resp {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("blob"),
    );
    let r = client()
        .put(url)
        .header("range", format!("bytes={start}-"))
        .header("x-uploadthing-version", "7.7.4")
        .multipart(form)
        .send()
        .await
        .unwrap();
    Resp::read(r).await
}

#[actix_rt::test]
async fn the_route_config_is_in_uploadthings_notation() {
    let s = server();
    let r = Resp::read(client().get(s.url("/uploadthing")).send().await.unwrap()).await;
    assert_eq!(r.header("x-uploadthing-version").as_deref(), Some("7.7.4"));
    assert_eq!(
        r.ok(),
        json!([
            { "slug": "postMedia", "config": {
                "image": { "maxFileSize": "1MB", "maxFileCount": 2, "minFileCount": 1, "contentDisposition": "inline", "acl": "public-read" },
                "pdf": { "maxFileSize": "1500000B", "maxFileCount": 1, "minFileCount": 1, "contentDisposition": "inline", "acl": "public-read" }
            }},
            { "slug": "anything", "config": {
                "blob": { "maxFileSize": "4MB", "maxFileCount": 1, "minFileCount": 1, "contentDisposition": "inline", "acl": "public-read" }
            }}
        ])
    );
}

#[actix_rt::test]
async fn an_upload_runs_the_route_and_answers_with_the_server_data() {
    let s = server();
    let png = fixtures::png(40_000);
    let pdf = fixtures::pdf(30_000);
    let r = request(
        &s,
        "postMedia",
        json!({
            "files": [
                { "name": "cat.png", "size": png.len(), "type": "image/png", "lastModified": 1_700_000_000_000u64 },
                { "name": "notes.pdf", "size": pdf.len(), "type": "" }
            ],
            "input": { "post_id": "p1" }
        }),
        Some("Bearer alice"),
    )
    .await;
    let presigned = r.ok();
    let files = presigned.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "cat.png");
    assert_eq!(files[1]["name"], "notes.pdf");
    assert_eq!(files[0]["customId"], Value::Null);
    for (file, bytes) in files.iter().zip([png, pdf]) {
        let url = file["url"].as_str().unwrap();
        assert!(url.contains("/api/uploads/uploadthing/ingest/"), "{url}");
        assert_eq!(head(url).await, 0);
        let r = put(url, 0, bytes.clone()).await;
        let done = r.ok();
        assert_eq!(done["fileHash"], fixtures::sha256_hex(&bytes));
        assert_eq!(
            done["serverData"],
            json!({ "uploadedBy": "alice", "post": "p1", "size": bytes.len() })
        );
        assert_eq!(done["url"], done["ufsUrl"]);
        assert_eq!(done["url"], done["appUrl"]);
        let got = client()
            .get(done["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
        // The whole file is there: HEAD says so, and a repeated last PUT (its answer lost)
        // gets the same answer.
        assert_eq!(head(url).await, bytes.len() as u64);
        let again = put(url, bytes.len() as u64, Vec::new()).await.ok();
        assert_eq!(again["fileHash"], done["fileHash"]);
        let status = s.status(&client(), file["key"].as_str().unwrap()).await;
        assert_eq!(status["status"], "complete");
    }
}

#[actix_rt::test]
async fn a_put_cut_off_mid_file_resumes_from_what_head_says() {
    let s = server();
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = request(
        &s,
        "anything",
        json!({ "files": [{ "name": "data.bin", "size": bytes.len(), "type": "application/octet-stream" }] }),
        None,
    )
    .await;
    let url = r.ok()[0]["url"].as_str().unwrap().to_string();
    // A browser pausing: the multipart body stops after 1 MB of the file, mid-stream.
    let mut stream = start_multipart_put(&s, &url, bytes.len(), &bytes[..1_000_000]).await;
    // The last bytes sent look like the start of a closing boundary: they must not be kept.
    stream.write_all(b"\r\n--").await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    // The server keeps what arrived (all but its unconfirmed tail).
    let mut at = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = client().head(&url).send().await.unwrap();
        if r.status() == 200 {
            at = r.headers()["x-ut-range-start"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            if at > 0 {
                break;
            }
        }
    }
    assert!(at > 900_000 && at <= 1_000_000, "resumes from {at}");
    let done = put(&url, at, bytes[at as usize..].to_vec()).await.ok();
    assert_eq!(done["fileHash"], fixtures::sha256_hex(&bytes));
    assert_eq!(done["serverData"], Value::Null);
    let got = client()
        .get(done["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().len(), bytes.len());
}

#[actix_rt::test]
async fn refusals_carry_uploadthings_message_and_uplifts_code() {
    let s = server();
    let png = fixtures::png(1000);
    let one = |size: usize, ty: &str| json!({ "files": [{ "name": "a.png", "size": size, "type": ty }], "input": { "post_id": "p1" } });
    // The route's pipeline, in order.
    let r = request(&s, "nope", one(10, "image/png"), Some("Bearer alice")).await;
    ut_error(&r, 404, "NOT_FOUND");
    let r = request(&s, "postMedia", one(10, "image/png"), None).await;
    assert_eq!(ut_error(&r, 401, "UNAUTHORIZED"), "sign in first");
    let r = request(&s, "postMedia", one(10, "image/png"), Some("Bearer bob")).await;
    assert_eq!(ut_error(&r, 403, "FORBIDDEN"), "not your post");
    let r = request(
        &s,
        "postMedia",
        one(2 * 1024 * 1024, "image/png"),
        Some("Bearer alice"),
    )
    .await;
    ut_error(&r, 413, "TOO_LARGE");
    let r = request(&s, "postMedia", one(10, "video/mp4"), Some("Bearer alice")).await;
    ut_error(&r, 415, "UNSUPPORTED_TYPE");
    let r = request(
        &s,
        "postMedia",
        json!({ "files": [{ "name": "a.png", "size": 10, "type": "image/png" }], "input": { "post_id": "" } }),
        Some("Bearer alice"),
    )
    .await;
    ut_error(&r, 400, "INVALID_INPUT");
    let r = request(
        &s,
        "postMedia",
        json!({ "input": {} }),
        Some("Bearer alice"),
    )
    .await;
    ut_error(&r, 400, "BAD_REQUEST");
    let r = Resp::read(
        client()
            .post(s.url("/uploadthing?actionType=multipart-complete&slug=anything"))
            .json(&json!({ "files": [] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    ut_error(&r, 400, "BAD_REQUEST");
    // Nothing was created by a refused request.
    assert_eq!(s.tus_uploads(), 0);

    // The ingest: the capability first, then the offset, the field, the size, the bytes.
    let r = request(
        &s,
        "postMedia",
        one(png.len(), "image/png"),
        Some("Bearer alice"),
    )
    .await;
    let url = r.ok()[0]["url"].as_str().unwrap().to_string();
    let forged = format!("{}x", &url[..url.len() - 1]);
    let r = Resp::read(client().head(&forged).send().await.unwrap()).await;
    assert_eq!(r.status, 403);
    let r = put(&forged, 0, png.clone()).await;
    ut_error(&r, 403, "SIGNATURE_INVALID");
    let r = put(&url, 5, png.clone()).await;
    let message = ut_error(&r, 409, "OFFSET_MISMATCH");
    assert!(
        message.starts_with("Range does not start where the upload is: it holds 0 bytes"),
        "{message}"
    );
    assert_eq!(r.json()["error"]["data"]["offset"], 0);
    let r = Resp::read(
        client()
            .put(&url)
            .header("range", "bytes=0-9")
            .multipart(reqwest::multipart::Form::new().text("file", "x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    ut_error(&r, 400, "BAD_REQUEST");
    let r = Resp::read(
        client()
            .put(&url)
            .multipart(reqwest::multipart::Form::new().text("other", "x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    ut_error(&r, 400, "BAD_REQUEST");
    let mut longer = png.clone();
    longer.extend_from_slice(b"more");
    let r = put(&url, 0, longer).await;
    ut_error(&r, 413, "TOO_LARGE");
    // Bytes that are not the declared image: refused when the file is complete.
    let mut fake = fixtures::text(png.len());
    fake.truncate(png.len());
    let r = put(&url, head(&url).await, fake).await;
    ut_error(&r, 415, "UNSUPPORTED_TYPE");
    let key = url.rsplit('/').next().unwrap().split('.').next().unwrap();
    let status = s.status(&client(), key).await;
    assert_eq!(status["status"], "failed", "{status}");

    // A tus upload shares the capability, but one of unknown length is not for this protocol.
    let created = client()
        .post(s.url("/anything/tus"))
        .header("tus-resumable", "1.0.0")
        .header("upload-defer-length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let id = location.rsplit('/').next().unwrap();
    let ingest = s.url(&format!("/uploadthing/ingest/{id}"));
    let r = Resp::read(client().head(&ingest).send().await.unwrap()).await;
    assert_eq!(r.status, 403);
    let r = put(&ingest, 0, b"abc".to_vec()).await;
    ut_error(&r, 403, "FORBIDDEN");
}

#[actix_rt::test]
async fn a_head_during_a_put_waits_for_the_put_to_end() {
    // UploadThing's client resumes at once after a pause, from whatever HEAD says, whatever
    // its status: a HEAD while the paused PUT is still being written must wait for its end.
    let s = server();
    let r = request(
        &s,
        "anything",
        json!({ "files": [{ "name": "d.bin", "size": 400_000, "type": "application/octet-stream" }] }),
        None,
    )
    .await;
    let url = r.ok()[0]["url"].as_str().unwrap().to_string();
    let stream = start_multipart_put(&s, &url, 400_000, &[1u8; 100_000]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let head_url = url.clone();
    let head = actix_rt::spawn(async move {
        let r = client().head(&head_url).send().await.unwrap();
        let at = r
            .headers()
            .get("x-ut-range-start")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), at)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !head.is_finished(),
        "HEAD answered while the PUT was still open"
    );
    drop(stream); // the pause
    let (status, at) = tokio::time::timeout(PATIENCE, head)
        .await
        .expect("HEAD answers once the PUT ended")
        .unwrap();
    assert_eq!(status, 200);
    let at: u64 = at.expect("x-ut-range-start").parse().unwrap();
    // What arrived, but for what the parser and the boundary guard had not confirmed yet.
    assert!(at > 100_000 - 20_000 && at <= 100_000, "{at}");
    // The resume from there completes the file.
    let done = put(&url, at, vec![1u8; 400_000 - at as usize]).await.ok();
    assert_eq!(done["fileHash"], fixtures::sha256_hex(&[1u8; 400_000]));
}
