//! The bottom layer: what every request shares — the routes, the storage, the records, the
//! keys, the limits — and the clock, fresh keys and the one rule for the origin clients see.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::db::Records;
use crate::router::Router;
use crate::signing::Signer;
use crate::storage::Storage;

/// Knobs with safe defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a prepared upload URL stays valid. Default 1 hour, at most 7 days.
    pub upload_url_ttl: Duration,
    /// How long signed download URLs for private files stay valid. Default 1 hour.
    pub download_url_ttl: Duration,
    /// Largest JSON body of the prepare endpoint. Default 1 MiB.
    pub max_json_body: usize,
    /// Largest `input` field of a multipart upload. Default 64 KiB.
    pub max_input_field: usize,
    /// Most files one prepare call may announce, whatever the route says. Default 100.
    pub max_files_per_request: usize,
    /// tus: an upload without progress for this long expires (410) and `sweep` removes it.
    /// Each PATCH restarts the clock. Default 24 hours.
    pub tus_expiry: Duration,
    /// tus: how long a PATCH's lock on its upload lasts without renewal (a running PATCH
    /// renews it). After a crash, the upload is locked for at most this long. Default 15 s.
    pub tus_lock_lease: Duration,
    /// How long a request body may send nothing before the request is ended (`408 TIMEOUT`)
    /// and its staged bytes removed; a tus PATCH keeps what arrived. A body that keeps
    /// sending is never cut, however long it takes. Default 60 s.
    pub body_idle_timeout: Duration,
    /// How long the records of `failed` and `expired` uploads are kept (for status queries and
    /// the app's own inspection) before [`crate::Uplift::sweep`] deletes them, together with any
    /// bytes they still hold. Default 7 days.
    pub failed_retention: Duration,
    /// How old a stored file without a record must be before the sweeper removes it (a crash
    /// between a commit and its record leaves one). Also the age after which abandoned staged
    /// writes, tus files without a record and interrupted tus takeover copies are removed.
    /// Must comfortably exceed the time between a commit and its record (milliseconds);
    /// default 1 hour.
    pub orphan_grace: Duration,
    /// Most unfinished uploads (`pending`, `uploading`, `completing`) one caller may have at a
    /// time; past it, prepare, multipart and tus creation answer `429 TOO_MANY_REQUESTS`.
    /// Default 100 (the default `max_files_per_request`, so one full prepare fits). `None`:
    /// no limit (for an app that enforces its own quotas in middleware).
    pub max_unfinished_per_caller: Option<u32>,
    /// Most bytes one caller's unfinished uploads may reserve: the declared sizes, or the
    /// route's largest file for a tus upload whose length is deferred. Default 1 GiB. `None`:
    /// no limit.
    pub max_reserved_bytes_per_caller: Option<u64>,
    /// A `PUT` whose record has not moved for this long is taken for dead (its server
    /// stopped mid-body) and `sweep` fails it. A live `PUT` touches its record every 30 s (or
    /// every quarter of this, when that is shorter), so a long upload is never taken for dead.
    /// Default 1 hour.
    pub stale_upload_after: Duration,
    /// An upload `completing` (stored, its completion hook running) for longer than this is
    /// taken for dead and `sweep` fails it with `COMPLETION_FAILED`. Default 1 hour.
    pub completion_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            upload_url_ttl: Duration::from_secs(3600),
            download_url_ttl: Duration::from_secs(3600),
            max_json_body: 1024 * 1024,
            max_input_field: 64 * 1024,
            max_files_per_request: 100,
            tus_expiry: Duration::from_secs(24 * 3600),
            tus_lock_lease: Duration::from_secs(15),
            body_idle_timeout: Duration::from_secs(60),
            failed_retention: Duration::from_secs(7 * 24 * 3600),
            orphan_grace: Duration::from_secs(3600),
            max_unfinished_per_caller: Some(100),
            max_reserved_bytes_per_caller: Some(1 << 30),
            stale_upload_after: Duration::from_secs(3600),
            completion_deadline: Duration::from_secs(3600),
        }
    }
}

/// The app's answer to "who is this caller?" (see `UpliftBuilder::caller`).
pub(crate) type CallerFn = Arc<dyn Fn(&HttpRequest) -> Option<String> + Send + Sync>;

/// Everything the endpoints share; built once by `UpliftBuilder::build`.
pub(crate) struct Shared {
    pub router: Router,
    pub storage: Arc<dyn Storage>,
    pub records: Records,
    pub signer: Signer,
    pub base_path: String,
    pub public_url: Option<String>,
    /// Whether `Forwarded`/`X-Forwarded-*` may set the origin of the URLs handed out.
    pub trust_forwarded: bool,
    /// Whether prepare hands out the storage's presigned URLs when it can (see
    /// `UpliftBuilder::direct_uploads`).
    pub direct_uploads: bool,
    /// Direct uploads larger than this go as multipart uploads (see
    /// `UpliftBuilder::direct_multipart_threshold`).
    pub direct_multipart_threshold: u64,
    /// Where resumable (tus) uploads keep their bytes until complete.
    pub tus: Option<Arc<dyn crate::storage::ResumableStore>>,
    /// SHA-256/CRC32 of tus uploads in progress, carried between PATCHes.
    pub tus_digests: crate::ingest::resume::Digests,
    pub limits: Limits,
    /// Who a request comes from, for the per-caller limits; `None`: the peer address.
    pub caller: Option<CallerFn>,
    /// This server instance (see `UpliftBuilder::instance_id`): recorded on what it has in
    /// flight, so its next start can fail or release what a crash left behind.
    pub instance_id: String,
    /// Whether this instance's start-up recovery has run (`Uplift::recover`).
    pub recovered: std::sync::atomic::AtomicBool,
    /// How upload tokens are signed (HS256 unless an Ed25519 pair is configured).
    pub token_key: crate::token::TokenKey,
    /// `{base}/openapi.json`, built once from the routes.
    pub openapi_json: bytes::Bytes,
    /// The docs UI's configuration.
    pub docs: Arc<utoipa_swagger_ui::Config<'static>>,
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The caller of a request as recorded: a keyed hash of the app's identity for it, or of the
/// peer's IP address (the proxy's client address when `Forwarded` headers are trusted) when
/// the app names none.
pub(crate) fn caller_tag(shared: &Shared, req: &HttpRequest) -> String {
    let named = shared.caller.as_ref().and_then(|f| f(req));
    let identity = match named {
        Some(id) => format!("app:{id}"),
        None => {
            let ip = if shared.trust_forwarded {
                req.connection_info()
                    .realip_remote_addr()
                    .map(|a| strip_port(a).to_string())
            } else {
                req.peer_addr().map(|a| a.ip().to_string())
            };
            format!("ip:{}", ip.unwrap_or_default())
        }
    };
    shared.signer.caller_tag(&identity)
}

/// `1.2.3.4:5678` → `1.2.3.4`, `[::1]:80` → `::1`; anything else as it is.
fn strip_port(addr: &str) -> std::borrow::Cow<'_, str> {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(sa) => sa.ip().to_string().into(),
        Err(_) => addr.into(),
    }
}

/// A fresh storage key: 160 random bits, URL-safe, unrelated to anything the client sent. It
/// never starts with `-` or `_`, so that a key is never taken for an option on a command line
/// (`uplift files rm KEY`, `rm KEY`); redrawing those keeps the rest uniformly random.
pub(crate) fn new_key() -> String {
    loop {
        let bytes: [u8; 20] = rand::random();
        // The first character encodes the top six bits: 62 is `-`, 63 is `_`.
        if bytes[0] >> 2 < 62 {
            return URL_SAFE_NO_PAD.encode(bytes);
        }
    }
}

/// `scheme://host` as clients reach the server, for every absolute URL handed out: the
/// configured `public_url`; else `Forwarded` / `X-Forwarded-*` when the app trusts its proxy;
/// else the request's own scheme and `Host`.
pub(crate) fn origin(shared: &Shared, req: &HttpRequest) -> String {
    if let Some(u) = &shared.public_url {
        return u.clone();
    }
    if shared.trust_forwarded {
        let info = req.connection_info();
        if is_host(info.host()) {
            return format!("{}://{}", info.scheme(), info.host());
        }
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .filter(|h| is_host(h))
        .unwrap_or_else(|| req.app_config().host());
    format!("{scheme}://{host}")
}

/// A host name (underscores allowed, as in compose service names), IPv4 or bracketed IPv6
/// address with an optional port: nothing that could change the meaning of the URL it is put
/// into (no `/`, `@`, `?`, `#` or spaces).
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_never_look_like_options() {
        for _ in 0..20_000 {
            let key = super::new_key();
            assert_eq!(key.len(), 27);
            assert!(!key.starts_with(['-', '_']), "{key}");
        }
    }
}
