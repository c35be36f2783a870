//! The app handle on top: [`Uplift`] holds the shared state and mounts every endpoint as one
//! actix-web scope; [`UpliftBuilder`] checks a configuration and builds it.

use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::HttpServiceFactory;

use crate::db::Records;
use crate::pipeline::SweepReport;
use crate::router::Router;
use crate::signing::{Signer, SigningKey, SigningKeyError, MAX_EXPIRY_SECS};
use crate::state::{Limits, Shared};
use crate::storage::{LocalResumable, ResumableStore, Storage};

/// Files sent straight to the bucket that are larger than this (64 MiB) go in parts, by
/// default (see [`UpliftBuilder::direct_multipart_threshold`]).
pub const DEFAULT_DIRECT_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;

/// Cross-origin access for browser frontends served from another origin.
#[derive(Clone, Default)]
enum CorsSetting {
    #[default]
    Off,
    Origins(Vec<String>),
    Custom(Arc<dyn Fn() -> Cors + Send + Sync>),
}

/// Why [`UpliftBuilder::build`] refused a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// [`UpliftBuilder::storage`] was not called.
    #[error("no storage configured: call .storage(LocalStorage::new(dir)?)")]
    NoStorage,
    /// [`UpliftBuilder::records`] was not called.
    #[error("no upload records configured: call .records(Records::sqlite_in_dir(dir).await?)")]
    NoRecords,
    /// A signing key was refused, or none was configured.
    #[error(transparent)]
    Signing(#[from] SigningKeyError),
    /// More than one signing key was refused: every one of them, in the order added.
    #[error("{} signing keys are invalid: {}", .0.len(), join_errors(.0))]
    SigningKeys(Vec<SigningKeyError>),
    /// The base path does not start with `/`, or ends with one.
    #[error("base path `{0}` must start with `/` and not end with one")]
    BasePath(String),
    /// The upload URL lifetime is shorter than 1 second or longer than 7 days.
    #[error("upload_url_ttl must be between 1 second and 7 days")]
    Ttl,
    /// The download URL lifetime is longer than 7 days.
    #[error("download_url_ttl must be at most 7 days")]
    DownloadTtl,
    /// The Ed25519 key pair for upload tokens was refused (see [`UpliftBuilder::token_ed25519`]).
    #[error("upload token key: {0}")]
    TokenKey(String),
    /// The instance id is not 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
    #[error("instance id `{0}` must be 1 to 64 ASCII letters, digits, `.`, `_` or `-`")]
    InstanceId(String),
}

fn join_errors(errors: &[SigningKeyError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A configured Uplift instance. Clone it into each actix worker's `App`.
#[derive(Clone)]
pub struct Uplift {
    pub(crate) shared: Arc<Shared>,
    cors: CorsSetting,
}

/// Builds an [`Uplift`]: `Uplift::builder(router).storage(..).records(..).secret(..).build()`.
pub struct UpliftBuilder {
    router: Router,
    storage: Option<Arc<dyn Storage>>,
    records: Option<Records>,
    keys: Vec<SigningKey>,
    /// Every refused key, so that `build` reports them all, not only the last.
    key_errors: Vec<SigningKeyError>,
    base_path: String,
    public_url: Option<String>,
    trust_forwarded: bool,
    direct_uploads: bool,
    direct_multipart_threshold: u64,
    tus_dir: Option<std::path::PathBuf>,
    limits: Limits,
    caller: Option<crate::state::CallerFn>,
    cors: CorsSetting,
    token_key: Result<crate::token::TokenKey, String>,
    instance_id: Option<String>,
}

impl Uplift {
    /// Starts configuring an app for these routes: base path `/api/uploads`, default [`Limits`], no
    /// CORS. Storage, records and a secret are required before [`build`](UpliftBuilder::build).
    pub fn builder(router: Router) -> UpliftBuilder {
        UpliftBuilder {
            router,
            storage: None,
            records: None,
            keys: Vec::new(),
            key_errors: Vec::new(),
            base_path: "/api/uploads".into(),
            public_url: None,
            trust_forwarded: false,
            direct_uploads: true,
            direct_multipart_threshold: DEFAULT_DIRECT_MULTIPART_THRESHOLD,
            tus_dir: None,
            limits: Limits::default(),
            caller: None,
            cors: CorsSetting::Off,
            token_key: Ok(Default::default()),
            instance_id: None,
        }
    }

    /// The base path the routes are mounted at.
    pub fn base_path(&self) -> &str {
        &self.shared.base_path
    }

    /// The app's file routes.
    pub fn router(&self) -> &Router {
        &self.shared.router
    }

    /// The upload records store the app was built with.
    pub fn records(&self) -> &Records {
        &self.shared.records
    }

    /// The OpenAPI document served at `{base}/openapi.json` (see [`Router::openapi`]).
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        self.shared.router.openapi(&self.shared.base_path)
    }

    /// The exact JSON served at `{base}/openapi.json`.
    pub fn openapi_json(&self) -> &str {
        std::str::from_utf8(&self.shared.openapi_json).expect("generated as a String")
    }

    /// The actix service for `App::service`: every endpoint under the base path.
    pub fn service(&self) -> impl HttpServiceFactory {
        let cors = match &self.cors {
            CorsSetting::Off => None,
            CorsSetting::Origins(origins) => {
                let mut c = Cors::default()
                    .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
                    .allow_any_header()
                    .expose_headers(
                        crate::protocol::tus::EXPOSED_HEADERS
                            .iter()
                            .copied()
                            .chain(["etag", "content-range", "content-disposition"])
                            .chain([crate::endpoints::uploadthing::RANGE_START_HEADER]),
                    )
                    .max_age(3600);
                for o in origins {
                    c = if o == "*" {
                        c.allow_any_origin()
                    } else {
                        c.allowed_origin(o)
                    };
                }
                Some(c)
            }
            CorsSetting::Custom(f) => Some(f()),
        };
        crate::http::scope(self.shared.clone(), cors)
    }

    /// The handle that mints signed upload URLs, forms and tokens (see [`SignedUploads`](crate::SignedUploads)).
    /// Register it with `App::app_data(web::Data::new(uplift.signed_uploads()))` to take
    /// [`SignedUploads`](crate::SignedUploads) as an extractor in the app's handlers.
    pub fn signed_uploads(&self) -> crate::objects::SignedUploads {
        crate::objects::SignedUploads::new(self.shared.clone())
    }

    /// The stored files of the file routes, to list, rename, delete… (`docs/files.md`).
    pub fn files(&self) -> crate::files::Files {
        crate::files::Files::new(self.shared.clone())
    }

    /// Mints a signed download URL for a private file (path only, relative to the server).
    pub fn signed_download_path(&self, key: &str, ttl: Duration) -> String {
        crate::pipeline::views::signed_download_path(&self.shared, key, ttl)
    }

    /// The status path of an upload, `{base}/files/{key}?token=…` (relative to the server), with
    /// the token that opens a private file's status. The upload's answers already carry it as
    /// `statusUrl`; mint it here only for the user who uploaded `key` (e.g. when the app kept
    /// the key and the page was reloaded): whoever holds it reads the file's status.
    pub fn status_path(&self, key: &str) -> String {
        crate::pipeline::views::status_path(&self.shared, key)
    }

    /// Housekeeping: expires unused upload URLs, fails uploads whose server died mid-body or
    /// mid-completion (each reaches the route's `on_upload_error`, once across instances),
    /// removes abandoned staging files and expired tus uploads, joins final tus uploads whose
    /// parts all arrived but which nobody joined (a server stopped in between; their completion
    /// hook is awaited here), deletes failed and expired records past
    /// [`Limits::failed_retention`] with their bytes, and removes stored files without a record
    /// and interrupted tus takeover copies older than [`Limits::orphan_grace`]. The first sweep
    /// of an instance also runs [`Uplift::recover`] if the app has not. Runs once at start in
    /// the demo; call it periodically (or use [`Uplift::spawn_sweeper`]). It runs the routes'
    /// hooks, which are not `Send`: await it on the runtime the app serves on.
    ///
    /// On PostgreSQL one instance sweeps a schema at a time: the sweep holds a session-level
    /// advisory lock, and a sweep that finds it taken does nothing and answers a report with
    /// [`SweepReport::skipped`] set (this instance's own recovery still runs).
    pub async fn sweep(&self) -> Result<SweepReport, crate::error::UploadError> {
        let shared = &self.shared;
        crate::pipeline::sweep::recover_once(shared).await?;
        let Some(lock) = shared.records.try_sweep_lock().await? else {
            tracing::info!(
                instance = %shared.instance_id,
                "sweep skipped: another instance is sweeping"
            );
            return Ok(SweepReport {
                skipped: true,
                ..SweepReport::default()
            });
        };
        let swept = async {
            let mut report = crate::pipeline::sweep::sweep(shared).await?;
            report.tus_joined = crate::endpoints::tus::join_waiting(shared).await?;
            Ok(report)
        }
        .await;
        // A panic or a dropped future skips this line: the lock's connection then closes
        // as it drops, which releases the lock all the same.
        lock.release().await;
        swept
    }

    /// Start-up recovery: what this instance's previous process left in flight when it
    /// stopped — its `PUT`s cut off mid-body and its unfinished completions become `failed`
    /// (and reach the route's `on_upload_error`), its tus locks are released (so clients resume
    /// at once, not after the lease). Call it once at start, before serving; it assumes no
    /// other live process shares this [`instance_id`](UpliftBuilder::instance_id).
    pub async fn recover(&self) -> Result<crate::db::InstanceRecovery, crate::error::UploadError> {
        crate::pipeline::sweep::recover(&self.shared).await
    }

    /// This server instance's id (see [`UpliftBuilder::instance_id`]).
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    /// Runs [`Uplift::sweep`] now and then every `every` on the current runtime, logging what
    /// it removed, until the returned task is aborted or the runtime stops. Abandoned uploads
    /// (prepared, partial or resumable) lose their bytes and records this way. The sweep runs
    /// the routes' hooks, so it is a local task: call this on the actix runtime (in
    /// `#[actix_web::main]`), or inside a `tokio::task::LocalSet`.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let uplift = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match uplift.sweep().await {
                    // `sweep` said so.
                    Ok(r) if r.skipped => {}
                    Ok(r) => tracing::info!(
                        instance = %uplift.instance_id(),
                        expired = r.expired,
                        failed_stale = r.failed_stale,
                        failed_completing = r.failed_completing,
                        staged_removed = r.staged_removed,
                        tus_expired = r.tus_expired,
                        purged = r.purged,
                        orphans_removed = r.orphans_removed,
                        tus_joined = r.tus_joined,
                        "sweep done"
                    ),
                    Err(e) => tracing::warn!("sweep failed: {e}"),
                }
            }
        })
    }
}

impl UpliftBuilder {
    /// Where bytes go: [`crate::storage::LocalStorage`] (the default choice) or another backend.
    pub fn storage(mut self, storage: impl Storage) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// Whether files are sent straight to the storage bucket when the backend can take them
    /// ([`Storage::as_direct`]: `S3Storage`) and the client declared the file's SHA-256 (which
    /// the bucket enforces): prepare then answers with the bucket's presigned `PUT` and a
    /// `completeUrl` the client calls afterwards, so the bytes never pass through this server.
    /// On by default; other files, and every file with `false`, are sent through the server.
    pub fn direct_uploads(mut self, on: bool) -> Self {
        self.direct_uploads = on;
        self
    }

    /// Files sent straight to the bucket that are larger than this many bytes go as a
    /// multipart upload (parts presigned, sent in parallel, resumable) instead of one `PUT`,
    /// when the backend can ([`DirectStorage::multipart_part_size`](crate::storage::DirectStorage::multipart_part_size)).
    /// Default 64 MiB ([`DEFAULT_DIRECT_MULTIPART_THRESHOLD`]); `u64::MAX` never uses multipart.
    pub fn direct_multipart_threshold(mut self, bytes: u64) -> Self {
        self.direct_multipart_threshold = bytes;
        self
    }

    /// Like [`UpliftBuilder::storage`], for a backend the app also uses itself (chosen at run
    /// time, or read from completion hooks with [`Storage::read`]).
    pub fn shared_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Where upload records go: SQLite or PostgreSQL.
    pub fn records(mut self, records: Records) -> Self {
        self.records = Some(records);
        self
    }

    /// One secret (≥ 32 bytes) to sign URLs with, under the key id `k1`.
    pub fn secret(self, secret: impl Into<Vec<u8>>) -> Self {
        self.signing_key("k1", secret)
    }

    /// Adds a signing key. The first one added signs; all are accepted (for rotation, add the
    /// new key first and keep the old one until its URLs have expired).
    pub fn signing_key(mut self, id: &str, secret: impl Into<Vec<u8>>) -> Self {
        match SigningKey::new(id, secret) {
            Ok(k) => self.keys.push(k),
            Err(e) => self.key_errors.push(e),
        }
        self
    }

    /// Mount point, default `/api/uploads`.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// The origin clients reach the server at (`https://files.example.com`), for absolute
    /// URLs behind a proxy. Without it, URLs use the request's own scheme and host.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// Trust `Forwarded` / `X-Forwarded-Proto` / `X-Forwarded-Host` for the origin of tus
    /// `Location` URLs (only behind a proxy that sets them). Default off: `public_url`, or the
    /// request's `Host` header.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
        self
    }

    /// Where tus uploads keep their bytes until complete: files in this directory. Default:
    /// the storage's own place for them — `.tus` under the [`LocalStorage`](crate::LocalStorage)
    /// root, the bucket of an `S3Storage` (nothing on the instance's disk); other backends need
    /// this set for tus.
    pub fn tus_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.tus_dir = Some(dir.into());
        self
    }

    /// This server instance's id: recorded on every upload it is receiving or completing and
    /// on the tus locks it holds, so that [`Uplift::recover`] at its next start fails or
    /// releases what a crash left behind. It must be stable across restarts of one server and
    /// distinct between servers (or processes) running at the same time over one database.
    /// 1 to 64 ASCII letters, digits, `.`, `_` or `-`. Default: the host name and a hash of
    /// the tus directory (else the storage's), e.g. `web-1-3f9a0c12d4e5`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Replaces the request and upload limits (see [`Limits`] for the defaults).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Who a request comes from, for [`Limits::max_unfinished_per_caller`] and
    /// [`Limits::max_reserved_bytes_per_caller`]: typically a user id from the app's session.
    /// `None` (and the default without this call) means the peer's IP address — the client
    /// address from `Forwarded`/`X-Forwarded-For` when [`Self::trust_forwarded_headers`] is on.
    /// Records keep a keyed hash of the identity, never the identity itself.
    pub fn caller(
        mut self,
        caller: impl Fn(&actix_web::HttpRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.caller = Some(Arc::new(caller));
        self
    }

    /// Allows browser requests from these origins (`"*"` for any).
    pub fn cors_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cors = CorsSetting::Origins(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Signs upload tokens with EdDSA (Ed25519) instead of HS256: the private key as PKCS#8
    /// DER, the public key's 32 bytes. HS256 tokens are then refused (`TOKEN_ALGORITHM`).
    pub fn token_ed25519(mut self, private_pkcs8_der: &[u8], public_key: &[u8; 32]) -> Self {
        self.token_key = crate::token::TokenKey::ed25519(private_pkcs8_der, public_key);
        self
    }

    /// Full control over CORS: the closure builds the middleware for each worker.
    pub fn cors(mut self, make: impl Fn() -> Cors + Send + Sync + 'static) -> Self {
        self.cors = CorsSetting::Custom(Arc::new(make));
        self
    }

    /// Checks the configuration and builds the app.
    ///
    /// # Errors
    /// A [`ConfigError`] when storage, records or a signing key is missing, or a setting is out of
    /// range.
    pub fn build(self) -> Result<Uplift, ConfigError> {
        let mut key_errors = self.key_errors;
        match key_errors.len() {
            0 => {}
            1 => return Err(key_errors.remove(0).into()),
            _ => return Err(ConfigError::SigningKeys(key_errors)),
        }
        let ttl = self.limits.upload_url_ttl.as_secs() as i64;
        if !(1..=MAX_EXPIRY_SECS).contains(&ttl) {
            return Err(ConfigError::Ttl);
        }
        if self.limits.download_url_ttl.as_secs() as i64 > MAX_EXPIRY_SECS {
            return Err(ConfigError::DownloadTtl);
        }
        let token_key = self.token_key.map_err(ConfigError::TokenKey)?;
        let storage = self.storage.ok_or(ConfigError::NoStorage)?;
        let records = self.records.ok_or(ConfigError::NoRecords)?;
        let signer = Signer::new(self.keys)?;
        let bp = &self.base_path;
        if !bp.starts_with('/') || (bp.len() > 1 && bp.ends_with('/')) {
            return Err(ConfigError::BasePath(self.base_path));
        }
        let base_path = if bp == "/" {
            String::new()
        } else {
            self.base_path
        };
        let openapi_json = bytes::Bytes::from(self.router.openapi_json(&base_path));
        let docs = Arc::new(crate::endpoints::docs::config());
        let tus: Option<Arc<dyn ResumableStore>> = match self.tus_dir {
            Some(dir) => Some(Arc::new(LocalResumable::new(dir))),
            None => storage.resumable(),
        };
        let instance_id = match self.instance_id {
            Some(id) if is_instance_id(&id) => id,
            Some(id) => return Err(ConfigError::InstanceId(id)),
            None => default_instance_id(tus.as_ref().and_then(|t| t.local_dir())),
        };
        Ok(Uplift {
            shared: Arc::new(Shared {
                router: self.router,
                storage,
                records,
                signer,
                base_path,
                public_url: self.public_url,
                trust_forwarded: self.trust_forwarded,
                direct_uploads: self.direct_uploads,
                direct_multipart_threshold: self.direct_multipart_threshold,
                tus,
                tus_digests: Default::default(),
                limits: self.limits,
                caller: self.caller,
                instance_id,
                recovered: Default::default(),
                token_key,
                openapi_json,
                docs,
            }),
            cors: self.cors,
        })
    }
}

fn is_instance_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The host name (at most 40 characters of it) and 12 hex digits of the SHA-256 of the tus
/// directory's absolute path: stable across restarts of one server, distinct between servers.
fn default_instance_id(dir: Option<&std::path::Path>) -> String {
    use sha2::{Digest, Sha256};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let mut host: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    if host.is_empty() {
        host = "uplift".into();
    }
    let place = dir
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()))
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = Sha256::digest(place.as_bytes());
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes-long!!";

    fn builder() -> UpliftBuilder {
        Uplift::builder(Router::new()).secret(SECRET)
    }

    #[test]
    fn each_ttl_has_its_own_error() {
        let week = Duration::from_secs(MAX_EXPIRY_SECS as u64);
        let over = week + Duration::from_secs(1);
        let e = builder()
            .limits(Limits {
                download_url_ttl: over,
                ..Limits::default()
            })
            .build()
            .err()
            .unwrap();
        assert!(matches!(e, ConfigError::DownloadTtl), "{e:?}");
        assert!(e.to_string().contains("download_url_ttl"), "{e}");
        for upload_url_ttl in [over, Duration::ZERO] {
            let e = builder()
                .limits(Limits {
                    upload_url_ttl,
                    ..Limits::default()
                })
                .build()
                .err()
                .unwrap();
            assert!(matches!(e, ConfigError::Ttl), "{e:?}");
            assert!(e.to_string().contains("upload_url_ttl"), "{e}");
        }
        // at the caps, the TTLs pass (and the build goes on to ask for storage)
        let e = builder()
            .limits(Limits {
                upload_url_ttl: week,
                download_url_ttl: week,
                ..Limits::default()
            })
            .build()
            .err()
            .unwrap();
        assert!(matches!(e, ConfigError::NoStorage), "{e:?}");
    }

    #[test]
    fn every_bad_signing_key_is_reported() {
        let e = Uplift::builder(Router::new())
            .signing_key("k1", SECRET)
            .signing_key("bad id!", SECRET)
            .signing_key("k2", b"short".to_vec())
            .signing_key("k3", SECRET)
            .build()
            .err()
            .unwrap();
        let ConfigError::SigningKeys(errors) = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(&errors[0], SigningKeyError::BadId(id) if id == "bad id!"));
        assert!(matches!(errors[1], SigningKeyError::TooShort(5)));
        assert_eq!(errors.len(), 2);
        let text = e.to_string();
        assert!(text.starts_with("2 signing keys are invalid"), "{text}");
        assert!(
            text.contains("bad id!") && text.contains("5 bytes"),
            "{text}"
        );

        // one bad key keeps its own error
        let e = builder()
            .signing_key("k2", b"short".to_vec())
            .build()
            .err()
            .unwrap();
        assert!(
            matches!(e, ConfigError::Signing(SigningKeyError::TooShort(5))),
            "{e:?}"
        );
    }

    #[test]
    fn default_instance_ids_are_valid_stable_and_follow_the_directory() {
        let a = default_instance_id(Some(std::path::Path::new("/srv/a/.tus")));
        assert!(is_instance_id(&a), "{a}");
        assert_eq!(
            a,
            default_instance_id(Some(std::path::Path::new("/srv/a/.tus")))
        );
        assert_ne!(
            a,
            default_instance_id(Some(std::path::Path::new("/srv/b/.tus")))
        );
        assert!(is_instance_id(&default_instance_id(None)));
    }

    #[test]
    fn instance_ids_are_plain_names() {
        assert!(is_instance_id("web-1.eu_west"));
        assert!(!is_instance_id(""));
        assert!(!is_instance_id("a:b"));
        assert!(!is_instance_id("a b"));
        assert!(!is_instance_id(&"x".repeat(65)));
    }
}
