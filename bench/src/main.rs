//! The two servers `cargo xtask bench` compares, one per process so that each one's peak RSS
//! (VmHWM) is its own:
//!
//! - `uplift-bench uplift DIR`: an Uplift app with local storage and SQLite in `DIR`, one
//!   route `benchFile` taking any file up to 2 GB, not awaiting server data, trivial hooks.
//!   Mounted at `/api/uploads`: prepare `POST /api/uploads/benchFile`, then `PUT` to the
//!   signed URL; or one-shot `POST /api/uploads/benchFile/multipart`.
//! - `uplift-bench baseline DIR`: a bare actix-web handler, `PUT /upload`, streaming the body
//!   to a file in `DIR` with SHA-256, written the straightforward way (`tokio::fs::File`
//!   behind a `BufWriter`, fsync at the end). Answers `{"name","size","sha256"}`.
//!
//! - `uplift-bench uplift-s3 DIR`: the same app storing in the S3 bucket of `UPLIFT_S3_*`
//!   (records in `DIR`), for `cargo xtask bench --storage s3`: at `/api/uploads` a file whose
//!   SHA-256 is declared goes to the bucket in one presigned PUT whatever its size; a second
//!   app at `/api/parts` (same process, its own records) sends such files above 64 MiB in
//!   parts (the default `direct_multipart_threshold`).
//! - `uplift-bench put-parts FILE PLAN CONCURRENCY`: sends FILE's parts as the `multipart`
//!   plan in the JSON file PLAN says (asking its `partsUrl` for the URLs past the first 100),
//!   CONCURRENCY at a time, and prints the seconds it took.
//! - `uplift-bench presign KEY BYTES SHA256`: prints a presigned PUT of the bucket's object
//!   `KEY` (binding its size and SHA-256) and the headers it needs, one per line: the straight
//!   `curl` PUT the S3 bench compares against, with no Uplift server involved.
//! - `uplift-bench rm KEY`: removes the bucket's object `KEY` (after each S3 upload).
//!
//! - `uplift-bench load SPEC`: the load generator (`load.rs`): uploads as SPEC (JSON) says and
//!   prints what it measured as JSON.
//! - `uplift-bench gen FILE BYTES`: writes BYTES random bytes to FILE, fsyncs it, and prints
//!   their SHA-256 (here rather than in xtask, which is built without optimizations).
//!
//! Options: `--workers N` (actix workers, default 1), `--buffer BYTES` (the baseline's
//! `BufWriter` capacity, default 256 KiB). Both print `listening on http://127.0.0.1:PORT`
//! once bound, then serve until killed.

mod load;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};

use uplift::storage::{DirectStorage, S3Config, S3Storage, Storage};
use uplift::{Limits, LocalStorage, Records, Uplift, UploadError, UploadedFile};

/// Any file up to 2 GB; the client is told at once, the hook runs in the background.
#[uplift::file_route(blob(max_file_size = "2GB"), on_upload_complete = stored)]
async fn bench_file() -> Result<(), UploadError> {
    Ok(())
}

async fn stored(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

const SECRET: &[u8] = b"uplift-bench-secret-uplift-bench-secret";

struct Options {
    mode: String,
    dir: PathBuf,
    workers: usize,
    buffer: usize,
    /// `--max-connections N`: connections each worker serves at once (actix-web's
    /// `max_connections`); the rest wait in the listen backlog.
    max_connections: Option<usize>,
    /// `--db URL`: the records' database instead of SQLite in DIR (a `postgres://` URL is
    /// used in the schema `uplift_bench`, emptied at start).
    db: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: uplift-bench <uplift|baseline> DIR [--workers N] [--buffer BYTES] \
         [--max-connections N] [--db URL]";
    let mode = args.next().ok_or(usage)?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let mut opts = Options {
        mode,
        dir,
        workers: 1,
        buffer: 256 * 1024,
        max_connections: None,
        db: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        if flag == "--db" {
            opts.db = Some(value);
            continue;
        }
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--workers" => opts.workers = n.max(1),
            "--buffer" => opts.buffer = n.max(1),
            "--max-connections" => opts.max_connections = Some(n.max(1)),
            _ => return Err(usage.into()),
        }
    }
    Ok(opts)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("gen") {
        let bytes = argv.get(3).and_then(|b| b.parse().ok());
        let (Some(path), Some(bytes)) = (argv.get(2), bytes) else {
            eprintln!("usage: uplift-bench gen FILE BYTES");
            std::process::exit(2);
        };
        match generate(path.as_ref(), bytes) {
            Ok(sha256) => println!("{sha256}"),
            Err(e) => {
                eprintln!("uplift-bench gen {path}: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("load") {
        let spec = argv.get(2).map(String::as_str).unwrap_or("");
        match load::run(spec) {
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("uplift-bench load: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("put-parts") {
        match put_parts(&argv[2..]) {
            Ok(secs) => println!("{secs}"),
            Err(e) => {
                eprintln!("uplift-bench put-parts: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(cmd @ ("presign" | "rm")) = argv.get(1).map(String::as_str) {
        if let Err(e) = s3_command(cmd, &argv[2..]) {
            eprintln!("uplift-bench {cmd}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(async move {
        match opts.mode.as_str() {
            "uplift" => serve_uplift(opts, false).await,
            "uplift-s3" => serve_uplift(opts, true).await,
            "baseline" => serve_baseline(opts).await,
            other => Err(format!("unknown server `{other}`: uplift or baseline")),
        }
    });
    if let Err(e) = result {
        eprintln!("uplift-bench: {e}");
        std::process::exit(1);
    }
}

/// Random bytes from the OS, fsynced so their write-back does not disturb the measurements.
fn generate(path: &std::path::Path, bytes: u64) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut random = std::fs::File::open("/dev/urandom")?;
    let mut out = std::fs::File::create(path)?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        random.read_exact(&mut buf[..n])?;
        sha.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.sync_all()?;
    Ok(hex(&sha.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bench reads this line to learn the port.
fn announce(addrs: &[std::net::SocketAddr]) {
    println!("listening on http://{}", addrs[0]);
}

/// The bucket of `UPLIFT_S3_*`.
fn s3() -> Result<S3Storage, String> {
    let config = S3Config::from_env("UPLIFT_S3_")
        .map_err(|e| e.to_string())?
        .ok_or("UPLIFT_S3_ENDPOINT is not set (eval \"$(tools/garage.sh start)\")")?;
    S3Storage::new(config).map_err(|e| e.to_string())
}

fn s3_command(cmd: &str, args: &[String]) -> Result<(), String> {
    let storage = s3()?;
    match (cmd, args) {
        ("presign", [key, bytes, sha]) => {
            let size = bytes.parse().map_err(|_| "BYTES is not a number")?;
            let put = DirectStorage::presign_put(
                &storage,
                key,
                "application/octet-stream",
                size,
                sha,
                std::time::Duration::from_secs(3600),
            )
            .map_err(|e| e.to_string())?;
            println!("{}", put.url);
            for (k, v) in put.headers {
                println!("{k}: {v}");
            }
            Ok(())
        }
        ("rm", [key]) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(Storage::delete(&storage, key))
                .map(drop)
                .map_err(|e| e.to_string())
        }
        _ => Err("usage: uplift-bench presign KEY BYTES SHA256 | rm KEY".into()),
    }
}

async fn serve_uplift(opts: Options, in_bucket: bool) -> Result<(), String> {
    std::fs::create_dir_all(&opts.dir).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
    let records = match &opts.db {
        Some(url) if url.starts_with("postgres") => {
            let records = Records::connect_with_schema(url, "uplift_bench")
                .await
                .map_err(|e| format!("records: {e}"))?;
            // Each run starts from an empty table, as the SQLite one does.
            sqlx_truncate(&records).await?;
            records
        }
        Some(url) => Records::connect(url)
            .await
            .map_err(|e| format!("records: {e}"))?,
        None => {
            let db = format!("sqlite://{}?mode=rwc", opts.dir.join("uplift.db").display());
            Records::connect(&db)
                .await
                .map_err(|e| format!("records: {e}"))?
        }
    };
    let storage: Arc<dyn Storage> = if in_bucket {
        Arc::new(s3()?)
    } else {
        Arc::new(LocalStorage::new(opts.dir.join("files")).map_err(|e| format!("storage: {e}"))?)
    };
    let up = Uplift::builder(uplift::router![bench_file])
        .shared_storage(storage.clone())
        .records(records)
        .secret(SECRET)
        // One client makes every upload: the per-caller limits would measure the limiter.
        .limits(Limits {
            max_unfinished_per_caller: None,
            max_reserved_bytes_per_caller: None,
            ..Limits::default()
        })
        // One presigned PUT, whatever the size; `/api/parts` below sends large files in parts.
        .direct_multipart_threshold(u64::MAX)
        .build()
        .map_err(|e| e.to_string())?;
    let parts = if in_bucket {
        let db = format!("sqlite://{}?mode=rwc", opts.dir.join("parts.db").display());
        let records = Records::connect(&db)
            .await
            .map_err(|e| format!("records: {e}"))?;
        let app = Uplift::builder(uplift::router![bench_file])
            .shared_storage(storage)
            .records(records)
            .secret(SECRET)
            .base_path("/api/parts")
            .build()
            .map_err(|e| e.to_string())?;
        Some(app)
    } else {
        None
    };
    // Request bytes the app took in (their `Content-Length`), at `GET /bench/received`: what
    // the S3 bench reports as the bytes that passed through the server.
    static RECEIVED: AtomicU64 = AtomicU64::new(0);
    let server = HttpServer::new(move || {
        App::new()
            .wrap_fn(|req, srv| {
                let len = req
                    .headers()
                    .get(actix_web::http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(0);
                RECEIVED.fetch_add(len, Ordering::Relaxed);
                actix_web::dev::Service::call(srv, req)
            })
            .route(
                "/bench/received",
                web::get().to(|| async {
                    HttpResponse::Ok().body(RECEIVED.load(Ordering::Relaxed).to_string())
                }),
            )
            .service(up.service())
            .configure(|cfg| {
                if let Some(p) = &parts {
                    cfg.service(p.service());
                }
            })
    })
    .workers(opts.workers)
    .max_connections(opts.max_connections.unwrap_or(25_000))
    .bind(("127.0.0.1", 0))
    .map_err(|e| e.to_string())?;
    let addrs = server.addrs();
    let server = server.run();
    announce(&addrs);
    server.await.map_err(|e| e.to_string())
}

async fn sqlx_truncate(records: &Records) -> Result<(), String> {
    use sqlx::Executor;
    records
        .pool()
        .execute("TRUNCATE uplift_uploads CASCADE")
        .await
        .map(drop)
        .map_err(|e| format!("records: {e}"))
}

struct Baseline {
    dir: PathBuf,
    buffer: usize,
    next: AtomicU64,
}

async fn serve_baseline(opts: Options) -> Result<(), String> {
    std::fs::create_dir_all(&opts.dir).map_err(|e| e.to_string())?;
    let state = web::Data::new(Baseline {
        dir: opts.dir,
        buffer: opts.buffer,
        next: AtomicU64::new(0),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/upload", web::put().to(baseline))
    })
    .workers(opts.workers)
    .max_connections(opts.max_connections.unwrap_or(25_000))
    .bind(("127.0.0.1", 0))
    .map_err(|e| e.to_string())?;
    let addrs = server.addrs();
    let server = server.run();
    announce(&addrs);
    server.await.map_err(|e| e.to_string())
}

/// What a competent developer writes to receive a file: stream, hash, buffered writes, fsync.
async fn baseline(
    state: web::Data<Baseline>,
    mut body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let name = format!("upload-{}", state.next.fetch_add(1, Ordering::Relaxed));
    let file = tokio::fs::File::create(state.dir.join(&name)).await?;
    let mut out = BufWriter::with_capacity(state.buffer, file);
    let mut sha = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        sha.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    out.into_inner().sync_all().await?;
    let sha256 = hex(&sha.finalize());
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({ "name": name, "size": size, "sha256": sha256 })),
    )
}

/// `put-parts FILE PLAN CONCURRENCY`: every part of FILE to its presigned URL, in parallel.
fn put_parts(args: &[String]) -> Result<f64, String> {
    let [file, plan, concurrency] = args else {
        return Err("usage: uplift-bench put-parts FILE PLAN CONCURRENCY".into());
    };
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plan).map_err(|e| format!("{plan}: {e}"))?)
            .map_err(|e| format!("{plan}: {e}"))?;
    let concurrency: usize = concurrency
        .parse()
        .map_err(|_| "CONCURRENCY is not a number")?;
    let part_size = plan["partSize"].as_u64().ok_or("no partSize")?;
    let count = plan["partCount"].as_u64().ok_or("no partCount")? as u32;
    let file = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let file = Arc::new(file);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let http = reqwest::Client::new();
        let mut urls: Vec<(u32, String)> = Vec::new();
        let add = |urls: &mut Vec<(u32, String)>, v: &serde_json::Value| {
            for p in v.as_array().into_iter().flatten() {
                if let (Some(n), Some(u)) = (p["partNumber"].as_u64(), p["url"].as_str()) {
                    urls.push((n as u32, u.to_string()));
                }
            }
        };
        add(&mut urls, &plan["parts"]);
        let started = std::time::Instant::now();
        // The URLs past the first batch are part of the upload's cost: signed while timing.
        while (urls.len() as u32) < count {
            let first = urls.len() as u32 + 1;
            let res = http
                .post(plan["partsUrl"].as_str().ok_or("no partsUrl")?)
                .json(&serde_json::json!({ "first": first, "count": 100 }))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let more: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
            let before = urls.len();
            add(&mut urls, &more["parts"]);
            if urls.len() == before {
                return Err(format!("the parts URL answered {more}"));
            }
        }
        let sends = futures_util::stream::iter(urls.into_iter().map(|(n, url)| {
            let (http, file) = (http.clone(), file.clone());
            async move {
                let start = u64::from(n - 1) * part_size;
                let len = part_size.min(size - start) as usize;
                let bytes = tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt;
                    let mut buf = vec![0u8; len];
                    file.read_exact_at(&mut buf, start).map(|()| buf)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                let res = http
                    .put(url)
                    .body(bytes)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !res.status().is_success() {
                    return Err(format!("part {n}: HTTP {}", res.status()));
                }
                Ok::<(), String>(())
            }
        }))
        .buffer_unordered(concurrency.max(1));
        let results: Vec<Result<(), String>> = sends.collect().await;
        results.into_iter().collect::<Result<Vec<()>, String>>()?;
        Ok(started.elapsed().as_secs_f64())
    })
}
