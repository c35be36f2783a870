//! A real Uplift server on 127.0.0.1 for integration tests: local disk + SQLite in a temp dir
//! by default, one actix worker on its own thread, stopped when dropped. With
//! `Options::storage` = `Backend::S3` the bytes go to the S3-compatible bucket named by the
//! `UPLIFT_S3_*` variables (Garage in CI), under a fresh key prefix per server.

#![allow(dead_code)]

pub mod backend;
pub mod fixtures;
pub mod http;
pub mod signed;

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

use actix_web::{App, HttpServer};
use uplift::{LocalStorage, Records, Router, Uplift};

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// `http://127.0.0.1:PORT/api/uploads`
    pub base: String,
    pub data_dir: PathBuf,
    pub db_url: String,
    /// With `Backend::S3`: the bucket and the key prefix this server writes under.
    #[cfg(feature = "s3")]
    pub s3: Option<uplift::storage::S3Storage>,
    /// With `Backend::S3`: its configuration (for another instance on the same bucket prefix).
    #[cfg(feature = "s3")]
    pub s3_config: Option<uplift::storage::S3Config>,
    /// The app's signed-upload handle, making URLs on `origin`.
    pub signed: uplift::SignedUploads,
    /// The app itself (e.g. to mint an upload's status path with `Uplift::status_path`).
    pub up: Uplift,
    handle: actix_web::dev::ServerHandle,
    thread: Option<thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// Where a test server keeps its bytes. The default is local disk, or the bucket when
/// `UPLIFT_TEST_STORAGE=s3` (how `cargo xtask test` runs suites a second time on S3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    /// The bucket of `UPLIFT_S3_*`, under a fresh prefix (feature `s3`).
    S3,
}

impl Default for Backend {
    fn default() -> Self {
        match std::env::var("UPLIFT_TEST_STORAGE").as_deref() {
            Ok("s3") => Backend::S3,
            _ => Backend::Local,
        }
    }
}

/// Runs `f` to completion on a runtime of its own, from any context (sync helpers of async
/// tests).
pub fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("the helper thread")
}

pub struct Options {
    pub storage: Backend,
    pub records_url: Option<String>,
    /// With a `postgres://` `records_url`: keep the records in this schema (created if missing).
    pub records_schema: Option<String>,
    pub configure: Box<dyn Fn(uplift::UpliftBuilder) -> uplift::UpliftBuilder + Send>,
    /// Serve from this data directory (another server's: two instances on one disk) instead of
    /// a fresh temporary one. Its owner removes it.
    pub data_dir: Option<PathBuf>,
    /// With `Backend::S3`: this bucket instead of the one `UPLIFT_S3_*` names.
    #[cfg(feature = "s3")]
    pub s3_config: Option<uplift::storage::S3Config>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            storage: Backend::default(),
            records_url: None,
            records_schema: None,
            configure: Box::new(|b| b),
            data_dir: None,
            #[cfg(feature = "s3")]
            s3_config: None,
        }
    }
}

impl TestServer {
    pub fn start(router: Router) -> TestServer {
        Self::start_with(router, Options::default())
    }

    pub fn start_with(router: Router, opts: Options) -> TestServer {
        let (dir, data_dir) = match opts.data_dir.clone() {
            Some(d) => (None, d),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let d = dir.path().to_path_buf();
                (Some(dir), d)
            }
        };
        let db_url = opts.records_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("uplift.db").display())
        });
        #[cfg(feature = "s3")]
        let s3_config =
            (opts.storage == Backend::S3).then(|| opts.s3_config.clone().unwrap_or_else(s3_config));
        #[cfg(feature = "s3")]
        let s3 = s3_config
            .clone()
            .map(|c| uplift::storage::S3Storage::new(c).expect("S3 configuration"));
        #[cfg(not(feature = "s3"))]
        assert_eq!(
            opts.storage,
            Backend::Local,
            "S3 tests need the `s3` feature"
        );
        #[cfg(feature = "s3")]
        let s3_for_app = s3.clone();
        let (tx, rx) = mpsc::channel();
        let (dd, url) = (data_dir.clone(), db_url.clone());
        let thread = thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let records = match &opts.records_schema {
                    Some(schema) => Records::connect_with_schema(&url, schema)
                        .await
                        .expect("records"),
                    None => Records::connect(&url).await.expect("records"),
                };
                let builder = Uplift::builder(router).records(records).secret(SECRET);
                #[cfg(feature = "s3")]
                let builder = match s3_for_app {
                    Some(s3) => builder.storage(s3),
                    None => builder.storage(LocalStorage::new(dd.join("files")).unwrap()),
                };
                #[cfg(not(feature = "s3"))]
                let builder = builder.storage(LocalStorage::new(dd.join("files")).unwrap());
                let up = (opts.configure)(builder).build().expect("config");
                let app_up = up.clone();
                let server = HttpServer::new(move || App::new().service(app_up.service()))
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .bind(("127.0.0.1", 0))
                    .unwrap();
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle(), up.signed_uploads(), up.clone()))
                    .unwrap();
                let _ = server.await;
            })
        });
        let (port, handle, signed, up) = rx.recv().expect("server started");
        let origin = format!("http://127.0.0.1:{port}");
        let signed = signed.with_origin(origin.clone());
        TestServer {
            base: format!("{origin}/api/uploads"),
            origin,
            data_dir,
            db_url,
            #[cfg(feature = "s3")]
            s3,
            #[cfg(feature = "s3")]
            s3_config,
            signed,
            up,
            handle,
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Files committed to storage (excluding staging): route keys, and `objects` when there
    /// are signed objects.
    pub fn stored_files(&self) -> Vec<String> {
        #[cfg(feature = "s3")]
        if let Some(s3) = self.fresh_s3() {
            return block_on(async move {
                use uplift::storage::Storage;
                let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
                let list = s3.as_list().expect("S3 lists");
                let mut names: Vec<String> = list
                    .list_keys(later)
                    .await
                    .expect("list keys")
                    .into_iter()
                    .map(|l| l.name)
                    .collect();
                if !list.list_objects(later).await.expect("list").is_empty() {
                    names.push("objects".into());
                }
                names.sort();
                names
            });
        }
        let dir = self.data_dir.join("files");
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A client of the server's bucket prefix of its own: a client's pooled connections belong
    /// to the runtime that opened them, and tests call from several.
    #[cfg(feature = "s3")]
    fn fresh_s3(&self) -> Option<uplift::storage::S3Storage> {
        self.s3_config
            .clone()
            .map(|c| uplift::storage::S3Storage::new(c).expect("S3 configuration"))
    }

    /// The server's storage (its bucket prefix, or its data directory): for another app on
    /// the same bytes.
    pub fn storage(&self) -> std::sync::Arc<dyn uplift::storage::Storage> {
        #[cfg(feature = "s3")]
        if let Some(s3) = self.fresh_s3() {
            return std::sync::Arc::new(s3);
        }
        std::sync::Arc::new(LocalStorage::new(self.data_dir.join("files")).unwrap())
    }

    /// Writes `bytes` at `offset` of a tus upload straight into the server's store, as a
    /// PATCH that stops before recording anything would (`last`: they end the upload).
    pub fn write_tus(&self, key: &str, offset: u64, bytes: &[u8], last: bool) {
        let store = self.storage().resumable().expect("a tus store");
        let (key, bytes) = (key.to_string(), bytes::Bytes::copy_from_slice(bytes));
        block_on(async move {
            if offset == 0 {
                // The upload's place, unless its creation made it already.
                match store.create(&key).await {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        panic!("create: {e}")
                    }
                    _ => {}
                }
            }
            let mut w = store.append(&key, offset).await.expect("append");
            let end = offset + bytes.len() as u64;
            w.write(bytes).await.expect("write");
            w.finish(end, last).await.expect("finish");
        })
    }

    /// The bytes stored under a route key (on disk or in the bucket).
    pub fn stored_bytes(&self, key: &str) -> Vec<u8> {
        #[cfg(feature = "s3")]
        if let Some(s3) = self.fresh_s3() {
            let key = key.to_string();
            return block_on(async move {
                use uplift::storage::Storage;
                s3.read(&key, usize::MAX)
                    .await
                    .expect("read from the bucket")
                    .unwrap_or_else(|| panic!("no stored file {key}"))
                    .to_vec()
            });
        }
        std::fs::read(self.data_dir.join("files").join(key))
            .unwrap_or_else(|e| panic!("stored file {key}: {e}"))
    }

    /// Resumable (tus) uploads whose bytes the store holds (in the tus directory, or in the
    /// bucket).
    pub fn tus_uploads(&self) -> usize {
        use uplift::storage::ResumableStore;
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        #[cfg(feature = "s3")]
        if let Some(s3) = self.fresh_s3() {
            return block_on(async move {
                use uplift::storage::Storage;
                let tus = s3.resumable().expect("S3 keeps tus uploads");
                tus.list(later).await.expect("list tus uploads").len()
            });
        }
        let dir = self.data_dir.join("files/.tus");
        block_on(async move {
            uplift::storage::LocalResumable::new(dir)
                .list(later)
                .await
                .expect("list tus uploads")
                .len()
        })
    }

    /// Files left in staging (should be none once a request has finished); on S3, multipart
    /// uploads in progress (smaller writes stay in memory until committed).
    pub fn staged_files(&self) -> usize {
        #[cfg(feature = "s3")]
        if let Some(s3) = self.fresh_s3() {
            return block_on(async move { s3.multipart_uploads().await.expect("list uploads") });
        }
        std::fs::read_dir(self.data_dir.join("files/.staging"))
            .map(|rd| rd.count())
            .unwrap_or(0)
    }
}

/// The bucket of `UPLIFT_S3_*` under a fresh prefix, with the smallest part size S3 allows (so
/// a few MiB exercise multipart uploads). Panics when the variables are missing: callers
/// check [`s3_available`] first.
#[cfg(feature = "s3")]
pub fn s3_storage() -> uplift::storage::S3Storage {
    uplift::storage::S3Storage::new(s3_config()).expect("S3 configuration")
}

/// The configuration [`s3_storage`] uses: a fresh prefix each call.
#[cfg(feature = "s3")]
pub fn s3_config() -> uplift::storage::S3Config {
    uplift::storage::S3Config::from_env("UPLIFT_S3_")
        .expect("UPLIFT_S3_* variables")
        .expect("UPLIFT_S3_ENDPOINT is set")
        .prefix(format!("t{:016x}/", rand::random::<u64>()))
        .part_size(uplift::storage::MIN_PART_SIZE)
}

/// Whether the S3 tests can run: `UPLIFT_S3_ENDPOINT` is set. When it is not, the tests skip
/// with a note — unless `UPLIFT_REQUIRE_S3=1` (CI), where that is a failure.
pub fn s3_available() -> bool {
    let set = std::env::var("UPLIFT_S3_ENDPOINT").is_ok() && cfg!(feature = "s3");
    if !set {
        assert!(
            std::env::var("UPLIFT_REQUIRE_S3").as_deref() != Ok("1"),
            "UPLIFT_REQUIRE_S3=1 but UPLIFT_S3_ENDPOINT is not set (or the `s3` feature is off)"
        );
        eprintln!("UPLIFT_S3_ENDPOINT not set: skipping an S3 test");
    }
    set
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Drop may run inside the test's runtime: stop the server from a thread of its own.
        let _ = thread::spawn(move || actix_rt::System::new().block_on(handle.stop(false))).join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
