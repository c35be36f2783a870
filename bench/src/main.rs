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
//! - `uplift-bench gen FILE BYTES`: writes BYTES random bytes to FILE, fsyncs it, and prints
//!   their SHA-256 (here rather than in xtask, which is built without optimizations).
//!
//! Options: `--workers N` (actix workers, default 1), `--buffer BYTES` (the baseline's
//! `BufWriter` capacity, default 256 KiB). Both print `listening on http://127.0.0.1:PORT`
//! once bound, then serve until killed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};
use uplift::{LocalStorage, Records, Uplift, UploadError, UploadedFile};

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
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: uplift-bench <uplift|baseline> DIR [--workers N] [--buffer BYTES]";
    let mode = args.next().ok_or(usage)?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let mut opts = Options {
        mode,
        dir,
        workers: 1,
        buffer: 256 * 1024,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--workers" => opts.workers = n.max(1),
            "--buffer" => opts.buffer = n.max(1),
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
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(async move {
        match opts.mode.as_str() {
            "uplift" => serve_uplift(opts).await,
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

async fn serve_uplift(opts: Options) -> Result<(), String> {
    std::fs::create_dir_all(&opts.dir).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
    let db = format!("sqlite://{}?mode=rwc", opts.dir.join("uplift.db").display());
    let records = Records::connect(&db)
        .await
        .map_err(|e| format!("records: {e}"))?;
    let storage = LocalStorage::new(opts.dir.join("files")).map_err(|e| format!("storage: {e}"))?;
    let up = Uplift::builder(uplift::router![bench_file])
        .storage(storage)
        .records(records)
        .secret(SECRET)
        .build()
        .map_err(|e| e.to_string())?;
    let server = HttpServer::new(move || App::new().service(up.service()))
        .workers(opts.workers)
        .bind(("127.0.0.1", 0))
        .map_err(|e| e.to_string())?;
    let addrs = server.addrs();
    let server = server.run();
    announce(&addrs);
    server.await.map_err(|e| e.to_string())
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
