//! Upload records: what was prepared, where each upload stands, and what was stored.
//!
//! One table, `uplift_uploads`, in SQLite or PostgreSQL through the sqlx `Any` driver, so one
//! set of queries serves both. Columns keep to portable types: `BIGINT` for integers (sizes are
//! `u64` stored as `i64`, times are unix milliseconds) and `TEXT` for everything else, JSON
//! included.
//!
//! Every state transition is a single `UPDATE … WHERE key = $1 AND status = …` whose affected
//! row count says whether it happened, so transitions are atomic across tasks and processes:
//! of any number of concurrent [`Records::claim`]s of one key, exactly one wins.
//!
//! ```text
//! pending ──claim──▶ uploading ──mark_stored──▶ completing ──mark_complete──▶ complete
//!    │                   │                          │
//!    └─expire_pending─▶ expired   (any but complete, failed) ──mark_failed──▶ failed
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor, Row};

use crate::error::ErrorBody;
use crate::protocol::UploadStatus;
use crate::route::{Acl, ContentDisposition};

mod batch;
mod files;
mod objects;
mod sweep_lock;
mod tus;
pub(crate) use files::metadata_key_ok;
pub use files::{FileCursor, FileFilter, FileRow, Removal};
pub use objects::ObjectRecord;
pub use tus::{LockTaken, TusPart, TusState};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// Which database the records live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (`sqlite:` URLs): one file, WAL journal; the default for one machine.
    Sqlite,
    /// PostgreSQL (`postgres:` or `postgresql:` URLs), optionally in its own schema.
    Postgres,
}

impl Backend {
    /// The backend a connection URL names: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// What was actually stored for an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInfo {
    /// Bytes stored.
    pub size: u64,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the stored bytes; `None` for bytes sent straight to the store, which
    /// Uplift never read.
    pub crc32: Option<u32>,
    /// The MIME type as confirmed by sniffing.
    pub content_type: String,
}

/// A record to insert, usually at prepare time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpload {
    /// The storage key: random, unguessable, independent of the file name.
    pub key: String,
    /// The route slug the upload was prepared through.
    pub slug: String,
    /// Usually [`UploadStatus::Pending`]; the multipart path inserts `Completing` directly.
    pub status: UploadStatus,
    /// The display name, sanitized (see [`sanitize_filename`](crate::sanitize_filename)).
    pub name: String,
    /// The identifier the middleware attached with
    /// [`PendingFile::set_custom_id`](crate::PendingFile::set_custom_id).
    pub custom_id: Option<String>,
    /// The declared size.
    pub size: u64,
    /// The declared MIME type.
    pub content_type: String,
    /// Lowercase hex SHA-256 the client declared; the stored bytes must match it.
    pub declared_sha256: Option<String>,
    /// Who may read the file once stored.
    pub acl: Acl,
    /// How the file is served.
    pub content_disposition: ContentDisposition,
    /// The middleware's output, handed to the completion hook.
    pub metadata: Value,
    /// When the signed upload URL stops working, in unix milliseconds.
    pub expires_at: i64,
    /// When the record was made, in unix milliseconds.
    pub created_at: i64,
    /// `Some` for rows inserted already stored (multipart).
    pub stored: Option<StoredInfo>,
    /// Who started the upload, as a keyed hash (see [`crate::UpliftBuilder::caller`]);
    /// counted against the per-caller limits while unfinished.
    pub caller: Option<String>,
    /// Bytes the upload reserves against its caller's limit; `None`: its declared `size`.
    pub reserved: Option<u64>,
}

impl NewUpload {
    /// The record as [`Records::insert`] writes it: what a read right after the insert returns.
    pub(crate) fn as_record(&self) -> UploadRecord {
        UploadRecord {
            key: self.key.clone(),
            slug: self.slug.clone(),
            status: self.status,
            name: self.name.clone(),
            custom_id: self.custom_id.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            declared_sha256: self.declared_sha256.clone(),
            stored: self.stored.clone(),
            acl: self.acl,
            content_disposition: self.content_disposition,
            metadata: self.metadata.clone(),
            server_data: None,
            error: None,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

/// One upload as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    /// The storage key: random, unguessable, independent of the file name.
    pub key: String,
    /// The route slug the upload was prepared through.
    pub slug: String,
    /// Where the upload stands.
    pub status: UploadStatus,
    /// The display name, sanitized and possibly renamed by the middleware.
    pub name: String,
    /// The identifier the middleware attached, if any.
    pub custom_id: Option<String>,
    /// The declared size.
    pub size: u64,
    /// The declared MIME type.
    pub content_type: String,
    /// Lowercase hex SHA-256 the client declared, if it declared one.
    pub declared_sha256: Option<String>,
    /// Present once the bytes are stored (also kept when a completion hook failed).
    pub stored: Option<StoredInfo>,
    /// Who may read the file once stored.
    pub acl: Acl,
    /// How the file is served.
    pub content_disposition: ContentDisposition,
    /// The middleware's output (JSON), handed to the completion hook.
    pub metadata: Value,
    /// The completion hook's answer; `Some(Value::Null)` if it answered `null`.
    pub server_data: Option<Value>,
    /// Why the upload or its completion failed, once it has.
    pub error: Option<ErrorBody>,
    /// When the signed upload URL stops working, in unix milliseconds.
    pub expires_at: i64,
    /// When the record was made, in unix milliseconds.
    pub created_at: i64,
    /// When the record last changed status, in unix milliseconds.
    pub updated_at: i64,
}

impl UploadRecord {
    /// This record as [`Records::mark_stored_as`] leaves it when it stores `stored` at
    /// `now_ms`: `completing`, with what was stored. Every other column is as this copy has it,
    /// which is the row's for a copy read since the upload was claimed (a PUT's); a tus
    /// upload's copy, read when its last PATCH began, may be behind the row's expiry and
    /// (for a length declared late) its declared size.
    pub fn stored_as(&self, stored: StoredInfo, now_ms: i64) -> UploadRecord {
        UploadRecord {
            status: UploadStatus::Completing,
            stored: Some(stored),
            updated_at: now_ms,
            ..self.clone()
        }
    }
}

/// The upload records store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Records {
    /// Reads, and everything on PostgreSQL.
    pool: AnyPool,
    /// Where writes go. A SQLite file database has one writer at a time: its writes queue for
    /// this single connection, in order, rather than sleeping in SQLite's busy handler (whose
    /// back-off turned contention into tens of milliseconds of latency), and a transaction
    /// that reads then writes never finds its snapshot stale. Elsewhere the same pool as `pool`.
    writer: AnyPool,
    /// Prepared rows waiting to be inserted together (see `batch.rs`).
    batch: Arc<batch::Batcher<batch::Rows>>,
    /// New tus uploads (creation-with-upload) waiting to be inserted together.
    tus_batch: Arc<batch::Batcher<batch::Rows>>,
    /// Completions waiting to be written together.
    completions: Arc<batch::Batcher<batch::Completion>>,
    /// Records of stored bytes waiting to be written together.
    stored: Arc<batch::Batcher<batch::Stored>>,
    /// tus lock releases waiting to be written together.
    unlocks: Arc<batch::Batcher<batch::Unlock>>,
    /// Claims of prepared uploads waiting to be written together.
    claims: Arc<batch::Batcher<batch::Claim>>,
    backend: Backend,
    /// SQLite file databases: the group commit every acknowledged write waits in.
    wal: Option<Arc<crate::group_sync::GroupSync>>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "key, slug, status, name, custom_id, size, content_type, declared_sha256, \
     acl, content_disposition, metadata, stored_size, stored_sha256, stored_crc32, \
     stored_content_type, server_data, error, expires_at, created_at, updated_at";

/// Statuses of uploads that are not finished: they count against their caller's limits.
const UNFINISHED: &str = "('pending', 'uploading', 'completing')";

/// What one caller's unfinished uploads hold: how many, and how many bytes they reserve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallerUsage {
    pub unfinished: u64,
    pub reserved_bytes: u64,
}

impl Records {
    /// Connects to `sqlite://path/to/file.db` (the file is created if missing; WAL journal,
    /// foreign keys on, a busy timeout for writers) or `postgres://…`, and runs the embedded
    /// migrations for that backend.
    pub async fn connect(url: &str) -> Result<Records, sqlx::Error> {
        sqlx::any::install_default_drivers();
        match backend_of(url)? {
            Backend::Sqlite => connect_sqlite(url).await,
            Backend::Postgres => connect_postgres(url, None).await,
        }
    }

    /// A SQLite database at `dir/uplift.db`; the directory and the file are created on first
    /// start.
    pub async fn sqlite_in_dir(dir: &Path) -> Result<Records, sqlx::Error> {
        std::fs::create_dir_all(dir)?;
        let url = sqlite_file_url(&dir.join("uplift.db"))?;
        Records::connect(&url).await
    }

    /// PostgreSQL only: uses (and creates if missing) the schema `schema` for every pooled
    /// connection, so several deployments or tests can share one database. `schema` must be
    /// an identifier: ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes.
    /// Instances may start at once on a new schema: one creates it, and sqlx's migrator holds a
    /// PostgreSQL advisory lock while it migrates, so each migration runs once.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Records, sqlx::Error> {
        sqlx::any::install_default_drivers();
        if backend_of(url)? != Backend::Postgres {
            return Err(sqlx::Error::Configuration(
                "connect_with_schema needs a postgres:// URL".into(),
            ));
        }
        if !is_identifier(schema) {
            return Err(sqlx::Error::Configuration(
                format!("{schema:?} is not a valid schema name").into(),
            ));
        }
        let quoted = format!("\"{schema}\"");
        let mut conn = sqlx::AnyConnection::connect(url).await?;
        match conn
            .execute(format!("CREATE SCHEMA IF NOT EXISTS {quoted}").as_str())
            .await
        {
            Ok(_) => {}
            // Instances starting at once race to create it: `IF NOT EXISTS` does not cover a
            // schema another session creates at the same moment (a unique violation on the
            // catalog). It exists now, which is all this asked for.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("23505" | "42P06")) => {}
            Err(e) => return Err(e),
        }
        conn.close().await?;
        connect_postgres(url, Some(Arc::from(quoted))).await
    }

    /// Returns once every write this task committed is on disk, so it survives a power cut.
    /// PostgreSQL commits are durable when they return; SQLite commits wait here for a group
    /// commit (see `group_sync.rs`). Called by every write whose outcome someone is told of.
    pub(crate) async fn durable(&self) -> Result<(), sqlx::Error> {
        match &self.wal {
            Some(wal) => wal.durable().await.map_err(sqlx::Error::Io),
            None => Ok(()),
        }
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for maintenance queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pools; waits for checked-out connections to come back.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await
    }

    /// Inserts all rows in one transaction: all or nothing (a duplicate key inserts nothing).
    pub async fn insert(&self, rows: &[NewUpload]) -> Result<(), sqlx::Error> {
        self.insert_as(rows, None).await
    }

    /// [`Records::insert`], recording `instance` as the server instance responsible for the
    /// rows (for rows inserted already `completing`: see [`Records::fail_instance_rows`]).
    pub async fn insert_as(
        &self,
        rows: &[NewUpload],
        instance: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO uplift_uploads ({COLUMNS}, caller, reserved, instance_id) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
              $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        );
        if let [row] = rows {
            // One statement is atomic on its own: no transaction's round trips.
            bind_caller(bind_new(sqlx::query(&sql), row)?, row)?
                .bind(instance)
                .execute(&self.writer)
                .await?;
        } else {
            let mut tx = self.writer.begin().await?;
            for row in rows {
                bind_caller(bind_new(sqlx::query(&sql), row)?, row)?
                    .bind(instance)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        // A prepared key nobody has used yet need not survive a power cut: its client is
        // told nothing that a lost row would contradict (its URL answers "unknown key").
        if rows.iter().any(|r| r.status != UploadStatus::Pending) {
            self.durable().await?;
        }
        Ok(())
    }

    /// The record of `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<UploadRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM uplift_uploads WHERE key = $1");
        let row = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Atomically `pending → uploading`, only while the row is pending and
    /// `expires_at > now_ms`. Of concurrent callers, exactly one gets `true`: each prepared key
    /// is uploaded once.
    pub async fn claim(&self, key: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        self.claim_as(key, None, now_ms).await
    }

    /// A live upload says so: `updated_at = now_ms` while the row is `uploading`, so
    /// [`Records::fail_stale_uploading`] never takes it for a dead one. `false` if the row is
    /// no longer `uploading`.
    pub async fn touch_uploading(&self, key: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uplift_uploads SET updated_at = $2 WHERE key = $1 AND status = 'uploading'",
        )
        .bind(key)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// `uploading → completing`, recording what was actually stored (a tus upload's offset
    /// becomes its stored size: every byte arrived). `false` if the row was not `uploading`.
    pub async fn mark_stored(
        &self,
        key: &str,
        stored: &StoredInfo,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        self.mark_stored_as(key, stored, None, now_ms).await
    }

    /// Any status except `complete` and `failed` → `failed`, storing `error`. Also used when a
    /// completion hook fails (`completing → failed`): the stored columns (sha256 etc.) are
    /// kept. `false` if there is no such row, or it is complete, or it already failed (its
    /// first error stays): of several failures of one upload, one wins, and only its winner
    /// reports it to `on_upload_error`.
    pub async fn mark_failed(
        &self,
        key: &str,
        error: &ErrorBody,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uplift_uploads SET status = 'failed', error = $2, updated_at = $3 \
             WHERE key = $1 AND status NOT IN ('complete', 'failed')",
        )
        .bind(key)
        .bind(error_to_db(error)?)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending rows with `expires_at <= now_ms` → `expired`; returns their keys, sorted.
    pub async fn expire_pending(&self, now_ms: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE uplift_uploads SET status = 'expired', updated_at = $1 \
             WHERE status = 'pending' AND expires_at <= $1 RETURNING key",
        )
        .bind(now_ms)
        .fetch_all(&self.writer)
        .await?;
        let mut keys = rows
            .iter()
            .map(|r| r.try_get::<String, _>("key"))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    /// Rows stuck in `uploading` with `updated_at < older_than_ms` (a server killed mid-upload)
    /// → `failed` with `error`; returns their keys, sorted.
    pub async fn fail_stale_uploading(
        &self,
        older_than_ms: i64,
        error: &ErrorBody,
        now_ms: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE uplift_uploads SET status = 'failed', error = $1, updated_at = $2 \
             WHERE status = 'uploading' AND updated_at < $3 AND tus_offset IS NULL RETURNING key",
        )
        .bind(error_to_db(error)?)
        .bind(now_ms)
        .bind(older_than_ms)
        .fetch_all(&self.writer)
        .await?;
        sorted_keys(rows)
    }

    /// Rows stuck in `completing` with `updated_at < older_than_ms` (a completion hook that
    /// died or never ended) → `failed` with `error`; returns their keys, sorted.
    pub async fn fail_stale_completing(
        &self,
        older_than_ms: i64,
        error: &ErrorBody,
        now_ms: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE uplift_uploads SET status = 'failed', error = $1, updated_at = $2 \
             WHERE status = 'completing' AND updated_at < $3 RETURNING key",
        )
        .bind(error_to_db(error)?)
        .bind(now_ms)
        .bind(older_than_ms)
        .fetch_all(&self.writer)
        .await?;
        sorted_keys(rows)
    }

    /// What a killed process of `instance` left behind, at the start of its next one: its
    /// `uploading` rows that are not tus uploads (a `PUT` cut off mid-body) → `failed` with
    /// `interrupted`; its `completing` rows (a completion that never ended) → `failed` with
    /// `completion`; the tus locks it held → released. The failed keys, sorted.
    pub async fn recover_instance(
        &self,
        instance: &str,
        interrupted: &ErrorBody,
        completion: &ErrorBody,
        now_ms: i64,
    ) -> Result<InstanceRecovery, sqlx::Error> {
        let uploads = sqlx::query(
            "UPDATE uplift_uploads SET status = 'failed', error = $2, updated_at = $3 \
             WHERE instance_id = $1 AND status = 'uploading' AND tus_offset IS NULL \
             RETURNING key",
        )
        .bind(instance)
        .bind(error_to_db(interrupted)?)
        .bind(now_ms)
        .fetch_all(&self.writer)
        .await?;
        let completions = sqlx::query(
            "UPDATE uplift_uploads SET status = 'failed', error = $2, updated_at = $3, \
             tus_lock_owner = NULL, tus_lock_until = NULL \
             WHERE instance_id = $1 AND status = 'completing' RETURNING key",
        )
        .bind(instance)
        .bind(error_to_db(completion)?)
        .bind(now_ms)
        .fetch_all(&self.writer)
        .await?;
        let locks = sqlx::query(
            "UPDATE uplift_uploads SET tus_lock_owner = NULL, tus_lock_until = NULL \
             WHERE instance_id = $1 AND tus_lock_owner IS NOT NULL",
        )
        .bind(instance)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(InstanceRecovery {
            uploads_failed: sorted_keys(uploads)?,
            completions_failed: sorted_keys(completions)?,
            locks_released: locks.rows_affected(),
        })
    }
}

/// What [`Records::recover_instance`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceRecovery {
    /// Uploads the instance was receiving (not tus), now `failed`.
    pub uploads_failed: Vec<String>,
    /// Uploads whose completion the instance was running, now `failed`.
    pub completions_failed: Vec<String>,
    /// tus locks the instance held, released.
    pub locks_released: u64,
}

fn sorted_keys(rows: Vec<AnyRow>) -> Result<Vec<String>, sqlx::Error> {
    let mut keys = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    keys.sort();
    Ok(keys)
}

impl Records {
    /// The unfinished uploads of `caller` (see [`CallerUsage`]). Pending uploads whose URL has
    /// expired and tus uploads past their expiry no longer count, swept or not.
    pub async fn caller_usage(
        &self,
        caller: &str,
        now_ms: i64,
    ) -> Result<CallerUsage, sqlx::Error> {
        let sql = format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(COALESCE(reserved, size)), 0) AS BIGINT) \
             FROM uplift_uploads WHERE caller = $1 AND status IN {UNFINISHED} \
             AND NOT (status = 'pending' AND expires_at <= $2) \
             AND NOT (tus_offset IS NOT NULL AND expires_at <= $2)"
        );
        let row = sqlx::query(&sql)
            .bind(caller)
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await?;
        let count: i64 = row.try_get(0)?;
        let reserved: i64 = row.try_get(1)?;
        Ok(CallerUsage {
            unfinished: count.max(0) as u64,
            reserved_bytes: reserved.max(0) as u64,
        })
    }

    /// Up to `limit` `failed` and `expired` uploads last changed before `before_ms`, oldest
    /// first: key, and whether it is a tus upload.
    pub async fn purgeable(
        &self,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, bool)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, tus_offset FROM uplift_uploads \
             WHERE status IN ('failed', 'expired') AND updated_at < $1 \
             ORDER BY updated_at, key LIMIT $2",
        )
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let tus = r.try_get::<Option<i64>, _>(1)?.is_some();
                Ok((r.try_get::<String, _>(0)?, tus))
            })
            .collect()
    }

    /// Deletes the record of `key` if it is still `failed` or `expired`; `false` otherwise.
    pub async fn purge(&self, key: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM uplift_uploads WHERE key = $1 AND status IN ('failed', 'expired')",
        )
        .bind(key)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which of `keys` have an upload record (in any status).
    pub async fn known_keys(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        self.known("SELECT key FROM uplift_uploads WHERE key IN", keys)
            .await
    }

    /// Which of `paths` have an object record.
    pub async fn known_objects(
        &self,
        paths: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        self.known("SELECT path FROM uplift_objects WHERE path IN", paths)
            .await
    }

    async fn known(
        &self,
        select: &str,
        names: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        let mut found = std::collections::HashSet::new();
        for chunk in names.chunks(500) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{select} ({})", params.join(", "));
            let mut q = sqlx::query(&sql);
            for n in chunk {
                q = q.bind(n);
            }
            for row in q.fetch_all(&self.pool).await? {
                found.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(found)
    }
}

fn backend_of(url: &str) -> Result<Backend, sqlx::Error> {
    Backend::from_url(url).ok_or_else(|| {
        sqlx::Error::Configuration(
            "the records database URL must start with sqlite: or postgres:".into(),
        )
    })
}

async fn connect_sqlite(url: &str) -> Result<Records, sqlx::Error> {
    let (database, params) = match url.split_once('?') {
        Some((d, p)) => (d, Some(p)),
        None => (url, None),
    };
    let path = database
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let in_memory = path.is_empty()
        || path == ":memory:"
        || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
    let has_mode = params.is_some_and(|p| p.split('&').any(|kv| kv.starts_with("mode=")));
    // A file database is created if missing unless the URL says otherwise.
    let url = match (in_memory, has_mode, params) {
        (false, false, None) => format!("{url}?mode=rwc"),
        (false, false, Some(_)) => format!("{url}&mode=rwc"),
        _ => url.to_string(),
    };
    let options: AnyConnectOptions = url.parse()?;

    if in_memory {
        // The Any driver re-parses the URL for every connection, and each parse of
        // `:memory:` names a fresh database: keep exactly one connection, forever, for
        // reads and writes alike.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |conn, _| sqlite_session(conn, !in_memory))
            .connect_with(options)
            .await?;
        return finish(pool.clone(), pool, Backend::Sqlite).await;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _| sqlite_session(conn, !in_memory))
        .connect_with(options.clone())
        .await?;
    let writer = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| sqlite_session(conn, !in_memory))
        .connect_with(options)
        .await?;
    finish(pool, writer, Backend::Sqlite).await
}

/// Settings every SQLite connection starts with.
fn sqlite_session(
    conn: &mut sqlx::AnyConnection,
    file: bool,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        if file {
            // Persistent in the file; a no-op once set.
            conn.execute("PRAGMA journal_mode = WAL").await?;
            // Commits do not wait for the disk; the writes that must survive a power cut
            // wait for a shared fsync of the WAL instead (`Records::durable`).
            conn.execute("PRAGMA synchronous = NORMAL").await?;
        }
        conn.execute("PRAGMA foreign_keys = ON").await?;
        conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str())
            .await?;
        Ok(())
    })
}

async fn connect_postgres(url: &str, schema: Option<Arc<str>>) -> Result<Records, sqlx::Error> {
    let options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            let schema = schema.clone();
            Box::pin(async move {
                if let Some(schema) = schema {
                    conn.execute(format!("SET search_path TO {schema}").as_str())
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    finish(pool.clone(), pool, Backend::Postgres).await
}

async fn finish(pool: AnyPool, writer: AnyPool, backend: Backend) -> Result<Records, sqlx::Error> {
    backend.migrator().run(&writer).await?;
    let wal = match backend {
        Backend::Sqlite => {
            let file: Option<String> =
                sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                    .fetch_optional(&pool)
                    .await?;
            // An in-memory database has no file, and nothing to flush.
            file.filter(|f| !f.is_empty())
                .map(|f| Arc::new(crate::group_sync::GroupSync::wal(f.into())))
        }
        Backend::Postgres => None,
    };
    Ok(Records {
        pool,
        writer,
        batch: Arc::default(),
        tus_batch: Arc::default(),
        completions: Arc::default(),
        stored: Arc::default(),
        unlocks: Arc::default(),
        claims: Arc::default(),
        backend,
        wal,
    })
}

/// `sqlite://` URL for a file path, percent-encoding everything but unreserved characters and
/// `/` (sqlx percent-decodes the path, so `?`, `#`, `%` and spaces in names survive).
fn sqlite_file_url(path: &Path) -> Result<String, sqlx::Error> {
    let path = path.to_str().ok_or_else(|| {
        sqlx::Error::Configuration(format!("database path {path:?} is not UTF-8").into())
    })?;
    let mut url = String::from("sqlite://");
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(url)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn size_to_db(size: u64) -> Result<i64, sqlx::Error> {
    i64::try_from(size)
        .map_err(|_| sqlx::Error::Encode(format!("size {size} does not fit in BIGINT").into()))
}

fn json_to_db(value: &Value) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(e.into()))
}

fn error_to_db(error: &ErrorBody) -> Result<String, sqlx::Error> {
    serde_json::to_string(error).map_err(|e| sqlx::Error::Encode(e.into()))
}

fn decode_error(column: &str, what: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: what.to_string().into(),
    }
}

fn record_from_row(row: &AnyRow) -> Result<UploadRecord, sqlx::Error> {
    fn size(row: &AnyRow, column: &str) -> Result<Option<u64>, sqlx::Error> {
        row.try_get::<Option<i64>, _>(column)?
            .map(|v| u64::try_from(v).map_err(|e| decode_error(column, e)))
            .transpose()
    }
    fn json<T: serde::de::DeserializeOwned>(
        row: &AnyRow,
        column: &str,
    ) -> Result<Option<T>, sqlx::Error> {
        row.try_get::<Option<String>, _>(column)?
            .map(|s| serde_json::from_str(&s).map_err(|e| decode_error(column, e)))
            .transpose()
    }

    let status: String = row.try_get("status")?;
    let status = UploadStatus::parse(&status)
        .ok_or_else(|| decode_error("status", format!("unknown status {status:?}")))?;
    let acl: String = row.try_get("acl")?;
    let acl =
        Acl::parse(&acl).ok_or_else(|| decode_error("acl", format!("unknown acl {acl:?}")))?;
    let disposition: String = row.try_get("content_disposition")?;
    let content_disposition = match disposition.as_str() {
        "inline" => ContentDisposition::Inline,
        "attachment" => ContentDisposition::Attachment,
        other => {
            return Err(decode_error(
                "content_disposition",
                format!("unknown content disposition {other:?}"),
            ))
        }
    };

    let stored = match (
        size(row, "stored_size")?,
        row.try_get::<Option<String>, _>("stored_sha256")?,
        row.try_get::<Option<i64>, _>("stored_crc32")?,
        row.try_get::<Option<String>, _>("stored_content_type")?,
    ) {
        (Some(size), Some(sha256), crc32, Some(content_type)) => Some(StoredInfo {
            size,
            sha256,
            crc32: crc32
                .map(u32::try_from)
                .transpose()
                .map_err(|e| decode_error("stored_crc32", e))?,
            content_type,
        }),
        _ => None,
    };

    Ok(UploadRecord {
        key: row.try_get("key")?,
        slug: row.try_get("slug")?,
        status,
        name: row.try_get("name")?,
        custom_id: row.try_get("custom_id")?,
        size: size(row, "size")?.ok_or_else(|| decode_error("size", "NULL"))?,
        content_type: row.try_get("content_type")?,
        declared_sha256: row.try_get("declared_sha256")?,
        stored,
        acl,
        content_disposition,
        metadata: json(row, "metadata")?.unwrap_or(Value::Null),
        server_data: json(row, "server_data")?,
        error: json(row, "error")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>;

/// Binds a new upload's `caller, reserved`, after its [`COLUMNS`].
pub(crate) fn bind_caller<'q>(
    q: AnyQuery<'q>,
    row: &'q NewUpload,
) -> Result<AnyQuery<'q>, sqlx::Error> {
    Ok(q.bind(&row.caller)
        .bind(row.reserved.map(size_to_db).transpose()?))
}

/// Binds a new upload's [`COLUMNS`], in their order.
pub(crate) fn bind_new<'q>(
    q: AnyQuery<'q>,
    row: &'q NewUpload,
) -> Result<AnyQuery<'q>, sqlx::Error> {
    let stored = row.stored.as_ref();
    Ok(q.bind(&row.key)
        .bind(&row.slug)
        .bind(row.status.as_str())
        .bind(&row.name)
        .bind(&row.custom_id)
        .bind(size_to_db(row.size)?)
        .bind(&row.content_type)
        .bind(&row.declared_sha256)
        .bind(row.acl.as_str())
        .bind(row.content_disposition.as_str())
        .bind(json_to_db(&row.metadata)?)
        .bind(stored.map(|s| size_to_db(s.size)).transpose()?)
        .bind(stored.map(|s| s.sha256.clone()))
        .bind(stored.and_then(|s| s.crc32.map(i64::from)))
        .bind(stored.map(|s| s.content_type.clone()))
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(row.expires_at)
        .bind(row.created_at)
        .bind(row.created_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_follow_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("PostgreSQL://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
        assert_eq!(Backend::from_url("nonsense"), None);
    }

    #[test]
    fn schema_names_must_be_plain_identifiers() {
        assert!(is_identifier("uplift_test_01"));
        assert!(is_identifier("_x"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("1abc"));
        assert!(!is_identifier("a\"; DROP SCHEMA public; --"));
        assert!(!is_identifier(&"a".repeat(64)));
    }

    #[test]
    fn file_urls_escape_awkward_names() {
        let url = sqlite_file_url(Path::new("/tmp/a b/100%?#x.db")).unwrap();
        assert_eq!(url, "sqlite:///tmp/a%20b/100%25%3F%23x.db");
    }

    #[test]
    fn sizes_beyond_bigint_are_refused() {
        assert_eq!(size_to_db(1 << 40).unwrap(), 1 << 40);
        assert!(size_to_db(u64::MAX).is_err());
    }

    fn upload(key: &str) -> NewUpload {
        NewUpload {
            key: key.to_string(),
            slug: "s".into(),
            status: UploadStatus::Pending,
            name: "a.txt".into(),
            custom_id: None,
            size: 3,
            content_type: "text/plain".into(),
            declared_sha256: None,
            acl: Acl::Private,
            content_disposition: ContentDisposition::Attachment,
            metadata: serde_json::json!({"user": "u"}),
            expires_at: 1_000,
            created_at: 10,
            stored: None,
            caller: None,
            reserved: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_sqlite_keeps_its_rows_across_calls() {
        let records = Records::connect("sqlite::memory:").await.unwrap();
        assert_eq!(records.backend(), Backend::Sqlite);
        records.insert(&[upload("k1")]).await.unwrap();
        assert!(records.claim("k1", 20).await.unwrap());
        let got = records.get("k1").await.unwrap().unwrap();
        assert_eq!(got.status, UploadStatus::Uploading);
        assert_eq!(got.acl, Acl::Private);
        assert_eq!(got.content_disposition, ContentDisposition::Attachment);
        assert_eq!(got.updated_at, 20);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_files_with_awkward_names_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a b%20c?#");
        let records = Records::sqlite_in_dir(&sub).await.unwrap();
        records.insert(&[upload("k")]).await.unwrap();
        records.close().await;
        assert!(sub.join("uplift.db").is_file());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_files_use_wal() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::sqlite_in_dir(dir.path()).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(records.pool())
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(records.pool())
            .await
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[tokio::test]
    async fn connect_with_schema_refuses_sqlite_and_bad_names() {
        assert!(Records::connect_with_schema("sqlite::memory:", "x")
            .await
            .is_err());
        assert!(
            Records::connect_with_schema("postgres://127.0.0.1:1/x", "a;b")
                .await
                .is_err()
        );
        assert!(Records::connect("mysql://h/db").await.is_err());
    }
}
