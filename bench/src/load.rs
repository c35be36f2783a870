//! `uplift-bench load SPEC`: the load generator every server in `cargo xtask bench` is driven
//! by, so that Uplift, its peers and the bare baseline all meet the same client.
//!
//! SPEC is a JSON object (see [`Spec`]). The generator opens `concurrency` keep-alive HTTP/1.1
//! connections (hyper's client connection, no pool, no TLS) and has each one send requests
//! until `count` operations are done or `max_seconds` pass. An *operation* is one upload
//! as a client of that protocol makes it (prepare + signed PUT counts as one), and its
//! latency is measured from its first byte sent to its last byte received. The file's bytes are
//! random, made once, and shared by every request; only a tiny prefix differs, so no two
//! uploads store identical files.
//!
//! It prints one JSON object: operations done, errors (and the first one), seconds, operations
//! per second and latency percentiles. It runs on one thread so that it leaves the other core
//! to the server under test, and it is lean enough (a few µs per request) not to be what is
//! measured.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Value};

/// What to load and how hard.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// What one operation is.
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`; every URL the servers answer must be on it.
    pub origin: String,
    /// The path of the first request: the route (`/api/uploads/benchFile`), the tus creation
    /// URL's path, or the baseline's `/upload`.
    pub path: String,
    /// Bytes per file (ignored by `prepare`).
    #[serde(default)]
    pub size: u64,
    /// Operations to complete.
    pub count: u64,
    /// Connections, each with one operation in flight.
    pub concurrency: usize,
    /// Stop after this long even if `count` is not reached (reported as such).
    pub max_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Uplift's one-shot `POST {route}/multipart` with the file as form field `file`.
    Multipart,
    /// Uplift's prepare (`POST {route}`) then `PUT` to the signed URL it answers.
    Put,
    /// Uplift's prepare alone.
    Prepare,
    /// tus 1.0 creation-with-upload: one `POST` carrying the whole file (any tus server).
    Tus,
    /// `PUT` of the bytes (the bare baseline).
    Baseline,
}

const BOUNDARY: &str = "uplift-bench-boundary-7d1f0c";

struct Shared {
    spec: Spec,
    host: String,
    /// The file, after an 8-byte per-upload prefix.
    payload: Bytes,
    /// Multipart: the body before the file bytes and after them.
    form_head: Bytes,
    form_tail: Bytes,
    prepare_body: Bytes,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

pub fn run(spec_json: &str) -> Result<Value, String> {
    let spec: Spec = serde_json::from_str(spec_json).map_err(|e| format!("spec: {e}"))?;
    let host = spec
        .origin
        .strip_prefix("http://")
        .ok_or("origin must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_string();
    let size = if spec.kind == Kind::Prepare {
        0
    } else {
        spec.size
    };
    let mut random = vec![0u8; size.saturating_sub(8) as usize];
    fill_random(&mut random);
    let declared_size = size;
    let shared = std::rc::Rc::new(Shared {
        host,
        payload: Bytes::from(random),
        form_head: Bytes::from(format!(
            "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; \
             filename=\"random.bin\"\r\ncontent-type: application/octet-stream\r\n\r\n"
        )),
        form_tail: Bytes::from(format!("\r\n--{BOUNDARY}--\r\n")),
        prepare_body: Bytes::from(
            json!({
                "files": [{ "name": "random.bin", "size": declared_size, "type": "application/octet-stream" }],
                "input": null,
            })
            .to_string(),
        ),
        spec,
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    let (tally, seconds) = local.block_on(&rt, async {
        let next = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let deadline = Instant::now() + Duration::from_secs_f64(shared.spec.max_seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..shared.spec.concurrency.max(1) {
            let (shared, next) = (shared.clone(), next.clone());
            tasks.push(tokio::task::spawn_local(async move {
                worker(&shared, &next, deadline).await
            }));
        }
        let mut all = Tally::default();
        for t in tasks {
            let t = t.await.unwrap_or_default();
            all.latencies_us.extend(t.latencies_us);
            all.errors += t.errors;
            if all.first_error.is_none() {
                all.first_error = t.first_error;
            }
        }
        (all, started.elapsed().as_secs_f64())
    });
    let mut lat = tally.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| -> Value {
        if lat.is_empty() {
            return Value::Null;
        }
        let i = ((p / 100.0) * (lat.len() as f64 - 1.0)).round() as usize;
        json!(lat[i.min(lat.len() - 1)] as f64 / 1000.0)
    };
    let ok = lat.len() as u64;
    Ok(json!({
        "ok": ok,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "seconds": seconds,
        "per_s": ok as f64 / seconds,
        "p50_ms": pct(50.0),
        "p90_ms": pct(90.0),
        "p99_ms": pct(99.0),
        "max_ms": pct(100.0),
        "complete": ok == shared.spec.count,
    }))
}

/// One connection: takes operation numbers until `count` is reached or time is up.
async fn worker(shared: &Shared, next: &std::cell::Cell<u64>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<SendRequest<Full<Bytes>>> = None;
    loop {
        let n = next.get();
        if n >= shared.spec.count || Instant::now() >= deadline {
            return tally;
        }
        next.set(n + 1);
        let started = Instant::now();
        match operation(shared, &mut conn, n).await {
            Ok(()) => tally
                .latencies_us
                .push(started.elapsed().as_micros() as u64),
            Err(e) => {
                conn = None;
                tally.errors += 1;
                tally.first_error.get_or_insert(e);
                // A refusing server is not hammered in a tight loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn operation(
    shared: &Shared,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    n: u64,
) -> Result<(), String> {
    let spec = &shared.spec;
    match spec.kind {
        Kind::Prepare => {
            let answer = send(shared, conn, prepare(shared)?).await?;
            expect(&answer, StatusCode::OK, "prepare")?;
            Ok(())
        }
        Kind::Put => {
            let answer = send(shared, conn, prepare(shared)?).await?;
            expect(&answer, StatusCode::OK, "prepare")?;
            let body: Value = serde_json::from_slice(answer.body())
                .map_err(|e| format!("prepare answered no JSON: {e}"))?;
            let file = &body["files"][0];
            let url = file["uploadUrl"].as_str().ok_or("prepare: no uploadUrl")?;
            let path = path_of(url, &spec.origin)?;
            let mut req = Request::builder().method(Method::PUT).uri(path);
            for (k, v) in file["headers"].as_object().into_iter().flatten() {
                req = req.header(k.as_str(), v.as_str().unwrap_or(""));
            }
            let req = req
                .header("content-type", "application/octet-stream")
                .body(Full::new(file_bytes(shared, n)))
                .map_err(|e| e.to_string())?;
            let answer = send(shared, conn, req).await?;
            expect(&answer, StatusCode::OK, "signed PUT")
        }
        Kind::Multipart => {
            let file = file_bytes(shared, n);
            let mut body = BytesMut::with_capacity(
                shared.form_head.len() + file.len() + shared.form_tail.len(),
            );
            body.extend_from_slice(&shared.form_head);
            body.extend_from_slice(&file);
            body.extend_from_slice(&shared.form_tail);
            let req = Request::builder()
                .method(Method::POST)
                .uri(format!("{}/multipart", spec.path))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Full::new(body.freeze()))
                .map_err(|e| e.to_string())?;
            let answer = send(shared, conn, req).await?;
            expect(&answer, StatusCode::OK, "multipart POST")
        }
        Kind::Tus => {
            let req = Request::builder()
                .method(Method::POST)
                .uri(&spec.path)
                .header("tus-resumable", "1.0.0")
                .header("upload-length", spec.size.to_string())
                // filename random.bin, filetype application/octet-stream
                .header(
                    "upload-metadata",
                    "filename cmFuZG9tLmJpbg==,filetype YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFt",
                )
                .header("content-type", "application/offset+octet-stream")
                .body(Full::new(file_bytes(shared, n)))
                .map_err(|e| e.to_string())?;
            let answer = send(shared, conn, req).await?;
            expect(&answer, StatusCode::CREATED, "tus creation-with-upload")?;
            let offset = answer
                .headers()
                .get("upload-offset")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if offset != Some(spec.size) {
                return Err(format!(
                    "tus creation-with-upload: Upload-Offset {offset:?}, not {}",
                    spec.size
                ));
            }
            Ok(())
        }
        Kind::Baseline => {
            let req = Request::builder()
                .method(Method::PUT)
                .uri(&spec.path)
                .header("content-type", "application/octet-stream")
                .body(Full::new(file_bytes(shared, n)))
                .map_err(|e| e.to_string())?;
            let answer = send(shared, conn, req).await?;
            expect(&answer, StatusCode::OK, "baseline PUT")
        }
    }
}

fn prepare(shared: &Shared) -> Result<Request<Full<Bytes>>, String> {
    Request::builder()
        .method(Method::POST)
        .uri(&shared.spec.path)
        .header("content-type", "application/json")
        .body(Full::new(shared.prepare_body.clone()))
        .map_err(|e| e.to_string())
}

/// Upload `n`'s bytes: an 8-byte prefix of its own, then the shared random payload.
fn file_bytes(shared: &Shared, n: u64) -> Bytes {
    if shared.spec.size < 8 {
        return shared.payload.clone();
    }
    let mut b = BytesMut::with_capacity(shared.spec.size as usize);
    b.extend_from_slice(&n.to_le_bytes());
    b.extend_from_slice(&shared.payload);
    b.freeze()
}

fn path_of<'a>(url: &'a str, origin: &str) -> Result<&'a str, String> {
    match url.strip_prefix(origin) {
        Some(p) if p.starts_with('/') => Ok(p),
        _ if url.starts_with('/') => Ok(url),
        _ => Err(format!("a URL on another origin: {url}")),
    }
}

fn expect(answer: &Response<Bytes>, want: StatusCode, what: &str) -> Result<(), String> {
    if answer.status() == want {
        return Ok(());
    }
    let body = String::from_utf8_lossy(answer.body());
    Err(format!(
        "{what}: HTTP {} {}",
        answer.status(),
        body.chars().take(300).collect::<String>()
    ))
}

/// Sends on the worker's connection, opening one when it has none (or the last one closed).
async fn send(
    shared: &Shared,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    mut req: Request<Full<Bytes>>,
) -> Result<Response<Bytes>, String> {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = Some(connect(&shared.host).await?);
    }
    let sender = conn.as_mut().expect("connected above");
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    req.headers_mut().insert(
        hyper::header::HOST,
        shared.host.parse().map_err(|_| "host header")?,
    );
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (parts, body) = res.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("answer: {e}"))?
        .to_bytes();
    Ok(Response::from_parts(parts, body))
}

async fn connect(host: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| format!("connect {host}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Random bytes from the OS (the files must not compress or deduplicate).
fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(buf);
    }
}
