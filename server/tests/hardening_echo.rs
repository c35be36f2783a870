//! Refusals say what is wrong without repeating what was sent: a marker planted in every place
//! a client controls (JSON body, query, path, input, file name, MIME type, form field names,
//! tus metadata and headers, signed-URL parameters) never comes back in a body or a header.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;
use uplift::{SignOptions, UploadError, UploadedFile};
use validator::Validate;

use common::fixtures;
use common::http::{assert_error_shape, client, decl, Resp};
use common::TestServer;

const MARKER: &str = "<script>MARKER</script>";

#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct NoteInput {
    #[validate(length(min = 1, max = 5))]
    pub title: String,
    pub count: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({}))
}

#[uplift::file_route(image(max_file_size = "1KB"), await_server_data, on_upload_complete = done)]
async fn notes(input: NoteInput) -> Result<Meta, UploadError> {
    let _ = input;
    Ok(Meta {})
}

#[uplift::file_route(blob(max_file_size = "1KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Neither the body nor any header carries the marker, in any case or encoding.
#[track_caller]
fn assert_no_echo(what: &str, r: &Resp) {
    assert!(
        r.status >= 400,
        "{what}: expected a refusal, got {}: {}",
        r.status,
        String::from_utf8_lossy(&r.bytes)
    );
    let body = String::from_utf8_lossy(&r.bytes).to_lowercase();
    for needle in ["marker", "%3cscript", "\\u003cscript"] {
        assert!(
            !body.contains(needle),
            "{what}: the body echoes the input: {body}"
        );
    }
    for (name, value) in &r.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_lowercase();
        assert!(!v.contains("marker"), "{what}: header {name} echoes: {v}");
    }
    if r.header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json"))
    {
        let v = r.json();
        if v.get("error").is_some() && v.get("meta").is_none() {
            assert_error_shape(&v);
        }
    }
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.expect("request")).await
}

fn server() -> TestServer {
    TestServer::start(uplift::router![notes, anyfile])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_refusals_do_not_echo() {
    let srv = server();
    let c = client();
    let png = decl("a.png", 10, "image/png");
    let input = json!({ "title": "t" });
    let cases: Vec<(&str, Value)> = vec![
        // JSON body of the wrong shape
        (
            "files is a string",
            json!({ "files": MARKER, "input": input }),
        ),
        (
            "file size is a string",
            json!({ "files": [{ "name": "a.png", "size": MARKER, "type": "image/png" }], "input": input }),
        ),
        // input: wrong type, failed validation, unknown type for a field
        (
            "input count is a string",
            json!({ "files": [png], "input": { "title": "t", "count": MARKER } }),
        ),
        (
            "input title too long",
            json!({ "files": [png], "input": { "title": MARKER } }),
        ),
        (
            "input is a string",
            json!({ "files": [png], "input": MARKER }),
        ),
        // file name and type
        (
            "type is not MIME",
            json!({ "files": [decl(MARKER, 10, MARKER)], "input": input }),
        ),
        (
            "type not accepted",
            json!({ "files": [decl(MARKER, 10, "application/x-marker")], "input": input }),
        ),
        (
            "file too large",
            json!({ "files": [decl(MARKER, 5000, "image/png")], "input": input }),
        ),
    ];
    for (what, body) in cases {
        let r = srv.prepare_raw(&c, "notes", &body, &[]).await;
        assert_no_echo(what, &r);
    }
    // JSON that is not JSON at all
    let r = send(
        c.post(srv.url("/notes"))
            .header("content-type", "application/json")
            .body(format!("{{\"files\": [{MARKER}")),
    )
    .await;
    assert_no_echo("malformed JSON", &r);
    // unknown route (the slug is the marker)
    let r = srv
        .prepare_raw(&c, &enc(MARKER), &json!({ "files": [png] }), &[])
        .await;
    assert_no_echo("unknown slug", &r);
    let r = send(c.post(srv.url(&format!("/{}/multipart", enc(MARKER))))).await;
    assert_no_echo("unknown slug (multipart)", &r);
    let r = send(
        c.post(srv.url(&format!("/{}/tus", enc(MARKER))))
            .header("tus-resumable", "1.0.0"),
    )
    .await;
    assert_no_echo("unknown slug (tus)", &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_put_refusals_do_not_echo() {
    let srv = server();
    let c = client();
    let r = srv
        .prepare(
            &c,
            "anyfile",
            json!([decl("a.txt", 10, "text/plain")]),
            Value::Null,
        )
        .await;
    let f = r.ok()["files"][0].clone();
    let key = f["key"].as_str().unwrap();
    let url = f["uploadUrl"].as_str().unwrap();
    // a query that does not deserialize
    let r = send(c.get(srv.url(&format!("/download/{key}?expires={}&sig=x", enc(MARKER))))).await;
    assert_no_echo("download query", &r);
    let r = send(
        c.put(format!("{url}&expires={}", enc(MARKER)))
            .body("0123456789"),
    )
    .await;
    assert_no_echo("upload query", &r);
    // a PUT with a marker Content-Type
    let r = send(c.put(url).header("content-type", MARKER).body("0123456789")).await;
    assert_no_echo("upload content-type", &r);
    // a PUT whose Content-Type differs from a prepared marker type
    let r = srv
        .prepare(
            &c,
            "anyfile",
            json!([decl("a.bin", 10, "application/x-marker")]),
            Value::Null,
        )
        .await;
    let marked = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let r = send(
        c.put(&marked)
            .header("content-type", "text/plain")
            .body("0123456789"),
    )
    .await;
    assert_no_echo("upload with another type than prepared", &r);
    // signed objects: unknown parameter, a bound type and a marker declared type
    let signed = srv
        .signed
        .get_signed_put_with(
            "docs",
            &SignOptions {
                filename: Some("a.txt".into()),
                content_type: Some("text/plain".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let r = send(
        c.put(format!("{}&{}=1", signed.upload_url, enc(MARKER)))
            .header("content-type", "text/plain")
            .body("abc"),
    )
    .await;
    assert_no_echo("signed PUT unknown parameter", &r);
    let r = send(
        c.put(&signed.upload_url)
            .header("content-type", "application/x-marker")
            .body("abc"),
    )
    .await;
    assert_no_echo("signed PUT wrong type", &r);
    let r = send(c.get(format!("{}/objects/docs/{}?x=1", srv.base, enc(MARKER)))).await;
    assert_no_echo("signed GET", &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_refusals_do_not_echo() {
    let srv = server();
    let c = client();
    let part = |bytes: Vec<u8>, name: &str, ty: &str| {
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(ty)
            .unwrap()
    };
    let forms: Vec<(&str, reqwest::multipart::Form)> = vec![
        (
            "input not JSON",
            reqwest::multipart::Form::new().text("input", MARKER),
        ),
        (
            "input of the wrong type",
            reqwest::multipart::Form::new().text(
                "input",
                json!({ "title": "t", "count": MARKER }).to_string(),
            ),
        ),
        (
            "field too large",
            reqwest::multipart::Form::new().text(MARKER, "x".repeat(70 * 1024)),
        ),
        (
            "type not accepted",
            reqwest::multipart::Form::new()
                .text("input", json!({ "title": "t" }).to_string())
                .part(
                    "file",
                    part(fixtures::text(10), MARKER, "application/x-marker"),
                ),
        ),
        (
            "file too large",
            reqwest::multipart::Form::new()
                .text("input", json!({ "title": "t" }).to_string())
                .part("file", part(fixtures::png(2000), MARKER, "image/png")),
        ),
        (
            "content does not match its type",
            reqwest::multipart::Form::new()
                .text("input", json!({ "title": "t" }).to_string())
                .part("file", part(fixtures::text(100), MARKER, "image/png")),
        ),
    ];
    for (what, form) in forms {
        let r = send(c.post(srv.url("/notes/multipart")).multipart(form)).await;
        assert_no_echo(what, &r);
    }
    // a body that is not multipart at all, with a marker boundary
    let r = send(
        c.post(srv.url("/notes/multipart"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary=\"{MARKER}\""),
            )
            .body(format!(
                "--{MARKER}\r\nContent-Disposition: form-data; name=\"{MARKER}\"\r\n\r\nx"
            )),
    )
    .await;
    assert_no_echo("malformed multipart", &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_refusals_do_not_echo() {
    let srv = server();
    let c = client();
    let b = |s: &str| STANDARD.encode(s);
    let create = |meta: String| {
        c.post(srv.url("/notes/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "10")
            .header("upload-metadata", meta)
    };
    let good_input = b(&json!({ "title": "t" }).to_string());
    let cases = vec![
        ("metadata key", format!("{MARKER} !!!")),
        ("metadata value not base64", format!("filename {MARKER}")),
        ("metadata key twice", format!("{MARKER} YQ==,{MARKER} YQ==")),
        ("input not JSON", format!("input {}", b(MARKER))),
        (
            "input of the wrong type",
            format!(
                "input {}",
                b(&json!({ "title": "t", "count": MARKER }).to_string())
            ),
        ),
        (
            "file type not MIME",
            format!(
                "input {good_input},filename {},filetype {}",
                b(MARKER),
                b(MARKER)
            ),
        ),
        (
            "file type not accepted",
            format!(
                "input {good_input},filename {},filetype {}",
                b(MARKER),
                b("application/x-marker")
            ),
        ),
    ];
    for (what, meta) in cases {
        let r = send(create(meta)).await;
        assert_no_echo(what, &r);
    }
    let r = send(
        c.post(srv.url("/notes/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-concat", format!("final;{MARKER} {MARKER}")),
    )
    .await;
    assert_no_echo("concat URLs", &r);

    // PATCH with a marker checksum algorithm
    let r = send(create(format!(
        "input {good_input},filename {},filetype {}",
        b("a.png"),
        b("image/png")
    )))
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let location = r.header("location").unwrap();
    let r = send(
        c.patch(&location)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", "0")
            .header("upload-checksum", format!("{MARKER} AAAA"))
            .body("abc"),
    )
    .await;
    assert_no_echo("checksum algorithm", &r);
    let r = send(
        c.patch(&location)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", MARKER)
            .body("abc"),
    )
    .await;
    assert_no_echo("upload offset", &r);
}
