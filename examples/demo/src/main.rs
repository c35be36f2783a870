//! The Uplift demo: UploadThing's example router on local disk + SQLite, with a page to try it.
//!
//! `cargo run -p uplift-demo`, then open http://127.0.0.1:8080/. Configuration is optional and
//! comes from the environment; see `uplift_demo::settings`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_subscriber::EnvFilter;
use uplift::storage::{S3Config, S3Storage, Storage};
use uplift::Backend;
use uplift::{LocalStorage, Records, Uplift};

use uplift_demo::settings::{SecretSource, Settings};
use uplift_demo::{page, routes};

/// How often abandoned uploads are swept while the demo runs (and once at start).
const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Connections each worker serves at once: 256 uploads in flight per worker hold at most
/// ~85 MiB of actix-web's read-ahead.
const MAX_CONNECTIONS_PER_WORKER: usize = 256;

#[actix_web::main]
async fn main() -> ExitCode {
    // `uplift-demo codegen DIR [CLIENT_DIR]`: the OpenAPI document and the TypeScript types,
    // and the TypeScript client's copy of the wire types, for `cargo xtask codegen` (no server,
    // no data dir).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, dir, client_dir @ ..] = args.as_slice() {
        if command == "codegen" && client_dir.len() <= 1 {
            let mut written = uplift_demo::codegen(std::path::Path::new(dir))
                .map_err(|e| format!("could not write into {dir}: {e}"));
            if let (Ok(files), Some(client_dir)) = (&mut written, client_dir.first()) {
                match uplift_demo::codegen_client(std::path::Path::new(client_dir)) {
                    Ok(more) => files.extend(more),
                    Err(e) => written = Err(format!("could not write into {client_dir}: {e}")),
                }
            }
            return match written {
                Ok(files) => {
                    files.iter().for_each(|f| println!("{}", f.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("uplift-demo codegen: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(Settings::from_env()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), String> {
    let data_dir = &settings.data_dir;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("could not create the data dir {}: {e}", data_dir.display()))?;

    // Refuse a bad database URL before anything is written to the data dir.
    let backend =
        match &settings.database_url {
            Some(url) => Some(Backend::from_url(url).ok_or(
                "DATABASE_URL must start with sqlite:// or postgres:// (or postgresql://)",
            )?),
            None => None,
        };
    if settings.database_schema.is_some() && backend != Some(Backend::Postgres) {
        return Err("DATABASE_SCHEMA needs a postgres:// DATABASE_URL".into());
    }
    let (secret, source) = settings.load_secret()?;
    match &source {
        SecretSource::Env => tracing::info!("signing secret: from UPLIFT_SECRET"),
        SecretSource::File(path) => {
            tracing::info!("signing secret: loaded from {}", path.display())
        }
        SecretSource::Generated(path) => {
            tracing::info!("generated a new signing secret in {}", path.display())
        }
    }

    // The database URL may hold a password: log the backend, never the URL.
    let records = match &settings.database_url {
        None => {
            let records = Records::sqlite_in_dir(data_dir)
                .await
                .map_err(|e| format!("could not open SQLite in {}: {e}", data_dir.display()))?;
            tracing::info!(
                "upload records: SQLite at {}",
                data_dir.join("uplift.db").display()
            );
            records
        }
        Some(url) => {
            let records = match &settings.database_schema {
                Some(schema) => Records::connect_with_schema(url, schema).await,
                None => Records::connect(url).await,
            }
            .map_err(|e| format!("could not connect to DATABASE_URL: {e}"))?;
            match &settings.database_schema {
                Some(schema) => tracing::info!(
                    "upload records: {:?} from DATABASE_URL, schema {schema}",
                    records.backend()
                ),
                None => tracing::info!("upload records: {:?} from DATABASE_URL", records.backend()),
            }
            records
        }
    };

    let files_dir = data_dir.join("files");
    let s3 = S3Config::from_env("UPLIFT_S3_").map_err(|e| e.to_string())?;
    let storage: Arc<dyn Storage> = match s3 {
        Some(config) => {
            let bucket = format!("{config:?}");
            let s3 = S3Storage::new(config).map_err(|e| e.to_string())?;
            tracing::info!("files: S3 {bucket}");
            page::set_bucket_origin(s3.bucket_origin());
            if !settings.s3_cors_origins.is_empty() {
                s3.allow_browser_origins(&settings.s3_cors_origins)
                    .await
                    .map_err(|e| format!("could not set the bucket's CORS rule: {e}"))?;
                tracing::info!(origins = ?settings.s3_cors_origins, "bucket CORS rule set");
            }
            Arc::new(s3)
        }
        None => {
            let local = LocalStorage::new(&files_dir)
                .map_err(|e| format!("could not create {}: {e}", files_dir.display()))?;
            tracing::info!("files: {}", files_dir.display());
            Arc::new(local)
        }
    };
    routes::set_storage(storage.clone());
    let web_dir = page::web_dir();
    if web_dir.join("index.html").is_file() {
        tracing::info!("page: the React build in {}", web_dir.display());
    } else {
        tracing::info!(
            "page: plain HTML (no React build in {}; `cargo xtask demo` builds it)",
            web_dir.display()
        );
    }

    let mut builder = Uplift::builder(routes::router())
        .shared_storage(storage)
        .records(records)
        .secret(secret)
        .caller(uplift_demo::auth::caller);
    if let Some(url) = &settings.public_url {
        builder = builder.public_url(url.clone());
    }
    if let Some(id) = &settings.instance_id {
        builder = builder.instance_id(id.clone());
    }
    if let Some(bytes) = settings.direct_multipart_threshold {
        builder = builder.direct_multipart_threshold(bytes);
    }
    if !settings.cors_origins.is_empty() {
        tracing::info!(origins = ?settings.cors_origins, "CORS enabled");
        builder = builder.cors_origins(settings.cors_origins.clone());
    }
    let uplift = builder.build().map_err(|e| e.to_string())?;
    // What this instance's previous process left in flight when it stopped (killed mid-upload
    // or mid-completion): failed or released before anything is served.
    let recovered = uplift
        .recover()
        .await
        .map_err(|e| format!("start-up recovery failed: {e}"))?;
    tracing::info!(
        instance = uplift.instance_id(),
        uploads_failed = recovered.uploads_failed.len(),
        completions_failed = recovered.completions_failed.len(),
        tus_locks_released = recovered.locks_released,
        "start-up recovery"
    );

    let app_uplift = uplift.clone();
    let signed_uploads = web::Data::new(uplift.signed_uploads());
    let server = HttpServer::new(move || {
        App::new()
            // Logs method, path (never the query: it carries signatures), status and time.
            .wrap_fn(|req, srv| {
                let (method, path) = (req.method().clone(), req.path().to_string());
                let started = Instant::now();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    tracing::info!(
                        target: "uplift_demo::http",
                        "{method} {path} {} {:.1}ms",
                        res.status().as_u16(),
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                    Ok(res)
                }
            })
            .app_data(signed_uploads.clone())
            .service(app_uplift.service())
            .configure(uplift_demo::signed::configure)
            .configure(page::configure)
            .default_service(web::to(|| async {
                HttpResponse::NotFound()
                    .content_type("text/plain; charset=utf-8")
                    .body("not found; the demo page is at /")
            }))
    })
    // actix-web reads up to ~330 KiB ahead of each request body it serves; bounding the
    // connections served at once bounds that memory (the others wait in the listen backlog).
    // See docs/configuration.md, "Memory with many uploads at once".
    .max_connections(MAX_CONNECTIONS_PER_WORKER)
    .bind(&settings.bind)
    .map_err(|e| format!("could not listen on {}: {e}", settings.bind))?;

    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or("the server is bound to no address")?;
    let url = match &settings.public_url {
        Some(u) => format!("{}/", u.trim_end_matches('/')),
        None => format!("http://{addr}/"),
    };
    tracing::info!("Uplift demo listening on {addr}: open {url}");

    // At start (what a crash left behind) and then periodically.
    let _sweeper = uplift.spawn_sweeper(SWEEP_EVERY);

    server
        .run()
        .await
        .map_err(|e| format!("server error: {e}"))?;
    uplift.records().close().await;
    tracing::info!("stopped");
    Ok(())
}
