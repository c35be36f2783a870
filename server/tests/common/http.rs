//! Talking to a [`TestServer`] over real HTTP: reqwest for honest clients, raw TCP for clients
//! that lie about sizes or vanish mid-body. Every wait here is a bounded poll.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TestServer;

/// Upper bound for any single wait on the server (a hang fails the test instead of stalling it).
pub const PATIENCE: Duration = Duration::from_secs(15);
const POLL_EVERY: Duration = Duration::from_millis(20);

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// A response, read whole: status, headers and the body (as JSON when it is JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.expect("response body").to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }

    /// Asserts a 200 and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "expected 200, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.bytes)
        );
        self.json()
    }
}

/// Asserts that a refusal has the status, the code and exactly the shape
/// `{"error":{"code","message","data"?}}`; returns the inner `error` object.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) -> Value {
    assert_eq!(status, want_status, "status (body: {body})");
    assert_error_shape(body);
    assert_eq!(
        body["error"]["code"], want_code,
        "error code (body: {body})"
    );
    body["error"].clone()
}

/// The error envelope, and nothing else, whatever the code.
#[track_caller]
pub fn assert_error_shape(body: &Value) {
    let top = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        vec!["error"],
        "error body has other keys than `error`: {body}"
    );
    let err = top["error"]
        .as_object()
        .unwrap_or_else(|| panic!("`error` is not an object: {body}"));
    for k in err.keys() {
        assert!(
            matches!(k.as_str(), "code" | "message" | "data"),
            "unexpected key `{k}` in error: {body}"
        );
    }
    let code = err
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error without a string code: {body}"));
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "code `{code}` is not SCREAMING_SNAKE_CASE"
    );
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error without a string message: {body}"));
    assert!(!message.is_empty(), "empty error message: {body}");
    if let Some(data) = err.get("data") {
        assert!(
            !data.is_null(),
            "`data` present but null (it should be absent): {body}"
        );
    }
}

impl Resp {
    #[track_caller]
    pub fn error(&self, want_status: u16, want_code: &str) -> Value {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "error content-type is `{ct}`"
        );
        assert_error(self.status, &self.json(), want_status, want_code)
    }
}

/// One file declaration for the prepare endpoint.
pub fn decl(name: &str, size: usize, ty: &str) -> Value {
    json!({ "name": name, "size": size, "type": ty })
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST {base}/{slug}` with an arbitrary JSON body.
    pub async fn prepare_raw(
        &self,
        c: &reqwest::Client,
        slug: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = c.post(self.url(&format!("/{slug}"))).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Resp::read(req.send().await.expect("prepare request")).await
    }

    /// `POST {base}/{slug}` with `{files, input}`.
    pub async fn prepare(
        &self,
        c: &reqwest::Client,
        slug: &str,
        files: Value,
        input: Value,
    ) -> Resp {
        self.prepare_raw(c, slug, &json!({ "files": files, "input": input }), &[])
            .await
    }

    /// Prepares one file and returns its prepared entry (key, uploadUrl, …).
    pub async fn prepare_one(
        &self,
        c: &reqwest::Client,
        slug: &str,
        name: &str,
        size: usize,
        ty: &str,
    ) -> Value {
        let r = self
            .prepare(c, slug, json!([decl(name, size, ty)]), Value::Null)
            .await;
        r.ok()["files"][0].clone()
    }

    /// `GET {base}/files/{key}?token=…`, as the uploader asks it (with the upload's status token).
    pub async fn status(&self, c: &reqwest::Client, key: &str) -> Value {
        let r = Resp::read(
            c.get(format!("{}{}", self.origin, self.up.status_path(key)))
                .send()
                .await
                .expect("status request"),
        )
        .await;
        r.ok()
    }

    /// Polls the status endpoint until the upload reaches `want` (bounded), and returns it.
    pub async fn wait_status(&self, c: &reqwest::Client, key: &str, want: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let s = self.status(c, key).await;
            if s["status"] == want {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "upload {key} never became `{want}`; last: {s}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Staging must drain once a request is over; polled because a dropped connection is
    /// noticed by the server a moment after the client is gone.
    pub async fn assert_no_staged(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.staged_files() != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} staged file(s) left behind",
                self.staged_files()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Nothing visible and nothing half-written.
    pub async fn assert_nothing_stored(&self) {
        self.assert_no_staged().await;
        assert_eq!(
            self.stored_files(),
            Vec::<String>::new(),
            "files were stored"
        );
    }

    /// Upload records in the database, read directly (a refused preparation must leave none).
    pub async fn record_count(&self) -> i64 {
        let records = uplift::Records::connect(&self.db_url)
            .await
            .expect("records");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uplift_uploads")
            .fetch_one(records.pool())
            .await
            .expect("count");
        records.close().await;
        n
    }

    /// The request target (`/api/uploads/...?...`) of an absolute URL on this server.
    pub fn target(&self, url: &str) -> String {
        url.strip_prefix(&self.origin)
            .unwrap_or_else(|| panic!("{url} is not on {}", self.origin))
            .to_string()
    }

    pub async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.origin.trim_start_matches("http://"))
            .await
            .expect("connect")
    }
}

/// `PUT` the bytes to a signed URL with reqwest (an honest client).
pub async fn put(
    c: &reqwest::Client,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut req = c.put(url).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    Resp::read(req.send().await.expect("PUT request")).await
}

/// `url` with query parameter `name` replaced by `value`, or removed when `None`.
pub fn with_query(url: &str, name: &str, value: Option<&str>) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        pairs.iter().any(|(k, _)| k == name),
        "{url} has no `{name}` parameter"
    );
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            if k != name {
                q.append_pair(k, v);
            } else if let Some(value) = value {
                q.append_pair(k, value);
            }
        }
    }
    u.to_string()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{url} has no `{name}`"))
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    pub body: Value,
}

/// The request head of a raw `PUT` (ends with the blank line).
pub fn put_head(target: &str, content_type: &str, framing: &str) -> String {
    format!("PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n")
}

/// One chunk of a chunked body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut v = format!("{:x}\r\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\r\n");
    v
}

/// Reads one HTTP/1.1 response (head, then a Content-Length or chunked body), bounded in time.
/// `None` when the server closed the connection without answering.
pub async fn read_response(stream: &mut TcpStream) -> Option<RawResp> {
    tokio::time::timeout(PATIENCE, read_response_inner(stream))
        .await
        .expect("the server neither answered nor closed the connection")
}

async fn read_response_inner(stream: &mut TcpStream) -> Option<RawResp> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut tmp).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let mut body = buf[head_end..].to_vec();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            match stream.read(&mut tmp).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&tmp[..n]),
            }
        }
        body.truncate(len);
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            if let Some(decoded) = dechunk(&body) {
                body = decoded;
                break;
            }
            match stream.read(&mut tmp).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&tmp[..n]),
            }
        }
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()))
    };
    Some(RawResp { status, body })
}

/// Decodes a complete chunked body; `None` while it is incomplete.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&raw[..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if raw.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Sends `head` then `body` on a fresh connection, shuts the write half, and reads the answer.
pub async fn raw_exchange(srv: &TestServer, head: &str, body: &[u8]) -> Option<RawResp> {
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before taking the body: that is allowed.
    let _ = s.write_all(body).await;
    read_response(&mut s).await
}

/// Opens a connection and sends the head and part of the body; the caller decides when the
/// client vanishes (by dropping the returned socket).
pub async fn start_put(srv: &TestServer, head: &str, partial_body: &[u8]) -> TcpStream {
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(partial_body).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// The boundary of [`start_multipart_put`]'s bodies.
pub const MULTIPART_BOUNDARY: &str = "----uploadthingtestboundary";

/// A `PUT` of a file as UploadThing's client sends it (`Range: bytes=0-`, the multipart field
/// `file`), started on a raw connection: its head announcing a whole body for `file_len` bytes,
/// the part's headers and `first` bytes of the file. The rest is the caller's: send more, or
/// drop the stream to cut the body off (a paused upload).
pub async fn start_multipart_put(
    srv: &TestServer,
    url: &str,
    file_len: usize,
    first: &[u8],
) -> TcpStream {
    let b = MULTIPART_BOUNDARY;
    let preamble = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let length = preamble.len() + file_len + format!("\r\n--{b}--\r\n").len();
    let path = &url[url.find("/api/").expect("an ingest URL")..];
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-\r\n\
         Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {length}\r\n\r\n{preamble}"
    );
    start_put(srv, &head, first).await
}
