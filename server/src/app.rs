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
use crate::storage::Storage;

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
    #[error("no storage configured: call .storage(LocalStorage::new(dir)?)")]
    NoStorage,
    #[error("no upload records configured: call .records(Records::sqlite_in_dir(dir).await?)")]
    NoRecords,
    #[error(transparent)]
    Signing(#[from] SigningKeyError),
    #[error("base path `{0}` must start with `/` and not end with one")]
    BasePath(String),
    #[error("upload_url_ttl must be between 1 second and 7 days")]
    Ttl,
    #[error("upload token key: {0}")]
    TokenKey(String),
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
    key_error: Option<SigningKeyError>,
    base_path: String,
    public_url: Option<String>,
    trust_forwarded: bool,
    tus_dir: Option<std::path::PathBuf>,
    limits: Limits,
    cors: CorsSetting,
    token_key: Result<crate::objects::token::TokenKey, String>,
}

impl Uplift {
    pub fn builder(router: Router) -> UpliftBuilder {
        UpliftBuilder {
            router,
            storage: None,
            records: None,
            keys: Vec::new(),
            key_error: None,
            base_path: "/api/uploads".into(),
            public_url: None,
            trust_forwarded: false,
            tus_dir: None,
            limits: Limits::default(),
            cors: CorsSetting::Off,
            token_key: Ok(Default::default()),
        }
    }

    /// The base path the routes are mounted at.
    pub fn base_path(&self) -> &str {
        &self.shared.base_path
    }

    pub fn router(&self) -> &Router {
        &self.shared.router
    }

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
                        crate::endpoints::tus::EXPOSED_HEADERS
                            .iter()
                            .copied()
                            .chain(["etag", "content-range", "content-disposition"]),
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

    /// Housekeeping: expires unused upload URLs, fails uploads whose server died mid-body,
    /// removes abandoned staging files. Runs once at start in the demo; call it periodically.
    pub async fn sweep(&self) -> Result<SweepReport, crate::error::UploadError> {
        crate::pipeline::sweep::sweep(&self.shared).await
    }

    /// Runs [`Uplift::sweep`] now and then every `every` on the current runtime, logging what
    /// it removed, until the returned task is aborted or the runtime stops. Abandoned uploads
    /// (prepared, partial or resumable) lose their bytes and records this way.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let uplift = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match uplift.sweep().await {
                    Ok(r) => tracing::info!(
                        expired = r.expired,
                        failed_stale = r.failed_stale,
                        staged_removed = r.staged_removed,
                        tus_expired = r.tus_expired,
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
            Err(e) => self.key_error = Some(e),
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

    /// Where tus uploads keep their bytes until complete. Default: `.tus` under the
    /// [`LocalStorage`](crate::LocalStorage) root; other backends need this set for tus.
    pub fn tus_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.tus_dir = Some(dir.into());
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
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
        self.token_key = crate::objects::token::TokenKey::ed25519(private_pkcs8_der, public_key);
        self
    }

    /// Full control over CORS: the closure builds the middleware for each worker.
    pub fn cors(mut self, make: impl Fn() -> Cors + Send + Sync + 'static) -> Self {
        self.cors = CorsSetting::Custom(Arc::new(make));
        self
    }

    pub fn build(self) -> Result<Uplift, ConfigError> {
        if let Some(e) = self.key_error {
            return Err(e.into());
        }
        let token_key = self.token_key.map_err(ConfigError::TokenKey)?;
        let storage = self.storage.ok_or(ConfigError::NoStorage)?;
        let records = self.records.ok_or(ConfigError::NoRecords)?;
        let signer = Signer::new(self.keys)?;
        let bp = &self.base_path;
        if !bp.starts_with('/') || (bp.len() > 1 && bp.ends_with('/')) {
            return Err(ConfigError::BasePath(self.base_path));
        }
        let ttl = self.limits.upload_url_ttl.as_secs() as i64;
        if !(1..=MAX_EXPIRY_SECS).contains(&ttl)
            || self.limits.download_url_ttl.as_secs() as i64 > MAX_EXPIRY_SECS
        {
            return Err(ConfigError::Ttl);
        }
        let base_path = if bp == "/" {
            String::new()
        } else {
            self.base_path
        };
        let openapi_json = bytes::Bytes::from(self.router.openapi_json(&base_path));
        let docs = Arc::new(crate::endpoints::docs::config());
        let tus_dir = self.tus_dir.or_else(|| storage.resumable_dir());
        Ok(Uplift {
            shared: Arc::new(Shared {
                router: self.router,
                storage,
                records,
                signer,
                base_path,
                public_url: self.public_url,
                trust_forwarded: self.trust_forwarded,
                tus_dir,
                tus_digests: Default::default(),
                limits: self.limits,
                token_key,
                openapi_json,
                docs,
            }),
            cors: self.cors,
        })
    }
}
