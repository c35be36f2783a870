//! Helpers for the signed-upload tests: the file-object envelope, the objects on disk, raw
//! requests that reqwest would normalise (`..`, `%2e%2e`, `\`).

use std::path::Path;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::http::{read_response, RawResp, Resp};
use super::TestServer;

/// Every object under `files/objects` (or in the bucket), as (`folder/filename`, bytes), sorted.
pub fn objects(srv: &TestServer) -> Vec<(String, Vec<u8>)> {
    #[cfg(feature = "s3")]
    if let Some(s3) = srv.s3.clone() {
        return super::block_on(async move {
            use uplift::storage::{Storage, StoredObject};
            let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
            let mut out = Vec::new();
            for l in s3.as_list().unwrap().list_objects(later).await.unwrap() {
                let Some(StoredObject::Remote(r)) = s3.open_object(&l.name).await.unwrap() else {
                    continue;
                };
                let url = r.presigned_url("application/octet-stream", "attachment");
                let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
                out.push((l.name, bytes.to_vec()));
            }
            out.sort();
            out
        });
    }
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let root = srv.data_dir.join("files/objects");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// The object paths only.
pub fn object_paths(srv: &TestServer) -> Vec<String> {
    objects(srv).into_iter().map(|(p, _)| p).collect()
}

/// Asserts the envelope shape `{meta, data, error, links}` and returns it.
#[track_caller]
pub fn assert_envelope(body: &Value) {
    let top = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    let mut keys: Vec<&str> = top.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "error", "links", "meta"], "{body}");
    assert!(
        body["meta"]["requestId"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    assert!(body["links"]["self"].as_str().is_some(), "{body}");
}

/// A successful upload: 200, `data` is the file object; returns it.
#[track_caller]
pub fn file_of(r: &Resp) -> Value {
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_envelope(&body);
    assert_eq!(body["meta"]["type"], "file", "{body}");
    assert!(body["error"].is_null(), "{body}");
    assert_eq!(body["links"]["download"], body["data"]["url"], "{body}");
    body["data"].clone()
}

/// A refusal: the status, the code, `data: null`; returns `error`.
#[track_caller]
pub fn refusal(status: u16, body: &Value, want_status: u16, want_code: &str) -> Value {
    assert_envelope(body);
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["meta"]["type"], "error", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    body["error"].clone()
}

#[track_caller]
pub fn refused(r: &Resp, want_status: u16, want_code: &str) -> Value {
    refusal(r.status, &r.json(), want_status, want_code)
}

/// A raw `PUT` of `body` to `target` (sent exactly as given, no normalisation).
pub async fn raw_put(srv: &TestServer, target: &str, content_type: &str, body: &[u8]) -> RawResp {
    let mut s = srv.connect().await;
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    read_response(&mut s).await.expect("an answer")
}

/// A PNG header declaring `width`×`height` (the IHDR fields; `infer` and `imagesize` read no
/// further), padded to `size` bytes.
pub fn png_sized(width: u32, height: u32, size: usize) -> Vec<u8> {
    let mut v = super::fixtures::png(size);
    v[16..20].copy_from_slice(&width.to_be_bytes());
    v[20..24].copy_from_slice(&height.to_be_bytes());
    v
}

/// A baseline JPEG: SOI, a JFIF APP0 and an SOF0 frame header declaring `width`×`height`,
/// padded to `size` bytes.
pub fn jpeg_sized(width: u16, height: u16, size: usize) -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08,
    ];
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    v.extend((v.len()..size).map(|i| (i % 251) as u8));
    v
}
