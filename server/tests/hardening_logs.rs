//! Keys, signed URLs and tus capabilities are capabilities: the INFO log (and its spans) names
//! uploads by a short fingerprint only — never by the key itself.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uplift::{UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, Resp};
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, _file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({}))
}

#[uplift::file_route(blob(max_file_size = "64KB"), await_server_data, on_upload_complete = done)]
async fn anyfile() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tag(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_logs_name_uploads_by_fingerprint_only() {
    let log = Capture::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let srv = TestServer::start(uplift::router![anyfile]);
    let c = client();
    let mut secrets = Vec::new();

    // prepare + PUT (span and events), then a failed upload (the refusal is logged)
    for body in [fixtures::text(40), fixtures::text(39)] {
        let r = srv
            .prepare(
                &c,
                "anyfile",
                json!([decl("a.txt", 40, "text/plain")]),
                Value::Null,
            )
            .await;
        let f = r.ok()["files"][0].clone();
        let url = f["uploadUrl"].as_str().unwrap().to_string();
        let key = f["key"].as_str().unwrap().to_string();
        let _ = put(&c, &url, Some("text/plain"), body).await;
        secrets.push(key.clone());
        secrets.push(url.split_once('?').unwrap().1.to_string());
    }
    // multipart
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixtures::text(10))
            .file_name("m.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = Resp::read(
        c.post(srv.url("/anyfile/multipart"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    secrets.push(r.ok()["files"][0]["key"].as_str().unwrap().to_string());
    // tus creation and termination
    let r = Resp::read(
        c.post(srv.url("/anyfile/tus"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "10")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201);
    let location = r.header("location").unwrap();
    let id = location.rsplit('/').next().unwrap().to_string();
    let (tus_key, capability) = id.split_once('.').unwrap();
    secrets.extend([tus_key.to_string(), capability.to_string()]);
    let r = c
        .delete(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    drop(srv);
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(text.contains("upload prepared"), "{text}");
    assert!(text.contains("tus upload terminated"), "{text}");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "`{s}` is in the log:\n{text}");
    }
    // …but each upload can still be followed by its fingerprint.
    for key in [&secrets[0], &secrets[2], &secrets[4], &secrets[5]] {
        assert!(
            text.contains(&format!("key={}", tag(key))),
            "{key}:\n{text}"
        );
    }
}
