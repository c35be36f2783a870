//! Every client string is bounded: file names (1024 bytes before sanitizing), MIME types (real
//! MIME syntax, 255 bytes), custom ids (128 bytes), tus `Upload-Metadata` (4 KiB, 32 pairs) and
//! signed-URL metadata (32 entries, 1024-byte values). Past a cap the request is refused with
//! `BAD_REQUEST` / `INVALID_INPUT` and nothing is recorded.

mod common;

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;
use uplift::{ErrorCode, PendingFiles, SignOptions, UploadError, UploadedFile};
use validator::Validate;

use common::http::{client, decl, Resp};
use common::TestServer;

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct TagInput {
    pub id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({}))
}

#[uplift::file_route(blob(max_file_size = "64KB"), on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

/// Tags each file with the id the client asked for (as apps do with their own ids).
#[uplift::file_route(blob(max_file_size = "64KB"), on_upload_complete = done)]
async fn tagged(files: &mut PendingFiles, input: TagInput) -> Result<Meta, UploadError> {
    for f in files.iter_mut() {
        f.set_custom_id(input.id.clone());
    }
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![anyfile, tagged])
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_bounds_names_types_and_custom_ids() {
    let srv = server();
    let c = client();
    let prepare = |name: String, ty: String| {
        let c = c.clone();
        let srv = &srv;
        async move {
            srv.prepare(&c, "anyfile", json!([decl(&name, 10, &ty)]), Value::Null)
                .await
        }
    };
    // the 700 KiB content type seen on a running server, and one just over the cap
    for ty in [
        format!("image/{}", "a".repeat(700 * 1024)),
        format!("image/{}", "a".repeat(250)),
    ] {
        let r = prepare("a.png".into(), ty).await;
        let e = r.error(400, "BAD_REQUEST");
        assert_eq!(e["data"]["limit"], 255);
        assert_eq!(e["data"]["index"], 0);
    }
    // not MIME syntax at all
    prepare("a.png".into(), "image/png/extra".into())
        .await
        .error(415, "UNSUPPORTED_TYPE");
    prepare("a.png".into(), "image png".into())
        .await
        .error(415, "UNSUPPORTED_TYPE");
    // names: refused past 1024 bytes, counted in bytes (é is two)
    let r = prepare("a".repeat(1025), "text/plain".into()).await;
    assert_eq!(r.error(400, "BAD_REQUEST")["data"]["limit"], 1024);
    prepare("é".repeat(513), "text/plain".into())
        .await
        .error(400, "BAD_REQUEST");
    assert_eq!(srv.record_count().await, 0, "nothing was recorded");
    // at the caps, accepted (the name is then cut to its display length)
    let r = prepare("a".repeat(1024), format!("image/{}", "a".repeat(249))).await;
    let f = r.ok()["files"][0].clone();
    assert_eq!(f["name"].as_str().unwrap().len(), 200);
    assert_eq!(f["type"].as_str().unwrap().len(), 255);

    // custom ids set by the middleware: at most 128 bytes
    let tagged = |id: String| {
        let c = c.clone();
        let srv = &srv;
        async move {
            srv.prepare(
                &c,
                "tagged",
                json!([decl("a.txt", 10, "text/plain")]),
                json!({ "id": id }),
            )
            .await
        }
    };
    let before = srv.record_count().await;
    let e = tagged("x".repeat(129)).await.error(400, "BAD_REQUEST");
    assert_eq!(e["data"]["limit"], 128);
    assert_eq!(srv.record_count().await, before);
    let r = tagged("x".repeat(128)).await;
    assert_eq!(r.ok()["files"][0]["customId"], "x".repeat(128));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_and_tus_bound_names_and_metadata() {
    let srv = server();
    let c = client();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec())
            .file_name("n".repeat(2000))
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = send(c.post(srv.url("/anyfile/multipart")).multipart(form)).await;
    r.error(400, "BAD_REQUEST");
    srv.assert_nothing_stored().await;

    let create = |meta: String| {
        c.post(srv.url("/anyfile/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "5")
            .header("upload-metadata", meta)
    };
    // over 4 KiB in all
    let big = format!("filename {}", STANDARD.encode("a".repeat(3200)));
    assert!(big.len() > 4096);
    let r = send(create(big)).await;
    assert_eq!(r.error(400, "BAD_REQUEST")["data"]["limit"], 4096);
    // more than 32 pairs
    let many: Vec<String> = (0..33).map(|i| format!("k{i} YQ==")).collect();
    let r = send(create(many.join(","))).await;
    assert_eq!(r.error(400, "BAD_REQUEST")["data"]["limit"], 32);
    // a file name over 1024 bytes that fits the header
    let long_name = format!("filename {}", STANDARD.encode("b".repeat(1100)));
    send(create(long_name)).await.error(400, "BAD_REQUEST");
    assert_eq!(srv.record_count().await, 0);
    // 32 pairs within 4 KiB are fine
    let r = send(create(many[..32].join(","))).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_metadata_is_bounded() {
    let srv = server();
    let sign = |metadata: BTreeMap<String, String>| {
        srv.signed.get_signed_put_with(
            "docs",
            &SignOptions {
                filename: Some("a.txt".into()),
                metadata,
                ..Default::default()
            },
        )
    };
    let many: BTreeMap<String, String> = (0..33).map(|i| (format!("k{i}"), "v".into())).collect();
    assert_eq!(sign(many).unwrap_err().code(), ErrorCode::InvalidInput);
    let long: BTreeMap<String, String> = [("k".to_string(), "v".repeat(1025))].into();
    assert_eq!(sign(long).unwrap_err().code(), ErrorCode::InvalidInput);
    // at the caps, a URL that uploads and keeps its metadata
    let mut ok: BTreeMap<String, String> = (0..31).map(|i| (format!("k{i}"), "v".into())).collect();
    ok.insert("long".into(), "v".repeat(1024));
    let signed = sign(ok).unwrap();
    let r = send(
        client()
            .put(&signed.upload_url)
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await;
    let f = common::signed::file_of(&r);
    assert_eq!(f["metadata"]["long"].as_str().unwrap().len(), 1024);
}
