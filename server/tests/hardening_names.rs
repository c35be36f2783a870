//! Display names lose their format characters (U+202E and friends, which disguise
//! `evil\u{202E}gnp.exe` as `evilexe.png`) and are stored in NFC, whichever way they arrive.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put};
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "name": file.name }))
}

#[uplift::file_route(blob(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

const SPOOFED: &str = "evil\u{202E}gnp.exe";
const CLEAN: &str = "evilgnp.exe";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_names_lose_format_characters() {
    let srv = TestServer::start(uplift::router![anyfile]);
    let c = client();
    let bytes = fixtures::text(50);
    let r = srv
        .prepare(
            &c,
            "anyfile",
            json!([decl(SPOOFED, bytes.len(), "application/octet-stream")]),
            Value::Null,
        )
        .await;
    let f = r.ok()["files"][0].clone();
    assert_eq!(f["name"], CLEAN);
    let done = put(
        &c,
        f["uploadUrl"].as_str().unwrap(),
        Some("application/octet-stream"),
        bytes.clone(),
    )
    .await
    .ok();
    assert_eq!(done["file"]["name"], CLEAN);
    assert_eq!(
        done["serverData"]["name"], CLEAN,
        "the hook sees the clean name"
    );
    let key = f["key"].as_str().unwrap();
    assert_eq!(srv.status(&c, key).await["file"]["name"], CLEAN);
    // and the download's Content-Disposition carries no override either
    let r = c
        .get(done["file"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(CLEAN), "{cd}");
    assert!(!cd.to_ascii_lowercase().contains("%e2%80%ae"), "{cd}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_names_are_nfc_without_format_characters() {
    let srv = TestServer::start(uplift::router![anyfile]);
    let c = client();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixtures::text(20))
            .file_name("re\u{301}sume\u{200B}\u{202E}.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = common::http::Resp::read(
        c.post(srv.url("/anyfile/multipart"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.ok()["files"][0]["file"]["name"], "r\u{e9}sume.txt");
}
