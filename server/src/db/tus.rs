//! The tus columns of an upload record (migration 0002): offset, length, concatenation,
//! the raw metadata and the per-upload lock; and (migration 0006) the claim of a partial
//! upload by the final upload that lists it, and the origin a final upload was created through.
//!
//! The lock is a lease: one atomic `UPDATE … WHERE lock is free or expired` takes it, so it
//! holds across tasks, processes and machines sharing the database. A PATCH renews it while it
//! streams and releases it (with the new offset) in one `UPDATE` guarded by its owner token.

use sqlx::Row;

use super::{record_from_row, size_to_db, NewUpload, Records, UploadRecord, COLUMNS};

/// The tus side of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TusState {
    /// Bytes received and durable.
    pub offset: u64,
    /// The total length; `None` while deferred.
    pub length: Option<u64>,
    /// `None`, `"partial"`, or `"final;<url> <url> …"`.
    pub concat: Option<String>,
    /// The raw `Upload-Metadata` header.
    pub metadata: Option<String>,
    /// Whether a lease is currently held (at the time of reading).
    pub locked: bool,
}

impl TusState {
    /// Whether this is a partial upload, to be concatenated into a final one (`Upload-Concat:
    /// partial`).
    pub fn is_partial(&self) -> bool {
        self.concat.as_deref() == Some("partial")
    }
    /// Whether this upload is the concatenation of partial uploads (`Upload-Concat: final;…`).
    pub fn is_final(&self) -> bool {
        self.concat
            .as_deref()
            .is_some_and(|c| c.starts_with("final"))
    }
}

/// What [`Records::tus_lock`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockTaken {
    /// Someone else's lease is running.
    Refused,
    /// Nobody held it.
    Free,
    /// Taken from an owner whose lease had run out.
    TakenOver,
}

/// A partial upload claimed by a final upload, as [`Records::tus_parts`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TusPart {
    /// The partial upload's key.
    pub key: String,
    /// Bytes received and durable.
    pub offset: u64,
    /// Its length; `None` while deferred.
    pub length: Option<u64>,
    /// Whether a lease is currently held (a PATCH is writing to it).
    pub locked: bool,
}

impl TusPart {
    /// Whether every byte of the part arrived.
    pub fn is_finished(&self) -> bool {
        self.length == Some(self.offset)
    }
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO uplift_uploads ({COLUMNS}, caller, reserved, \
         tus_offset, tus_length, tus_concat, tus_metadata, tus_origin) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
          $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)"
    )
}

fn insert_query<'q>(
    sql: &'q str,
    row: &'q NewUpload,
    tus: &'q TusState,
    origin: Option<&'q str>,
) -> Result<super::AnyQuery<'q>, sqlx::Error> {
    let q = super::bind_new(sqlx::query(sql), row)?;
    Ok(super::bind_caller(q, row)?
        .bind(size_to_db(tus.offset)?)
        .bind(tus.length.map(size_to_db).transpose()?)
        .bind(&tus.concat)
        .bind(&tus.metadata)
        .bind(origin))
}

const TUS_COLUMNS: &str = "tus_offset, tus_length, tus_concat, tus_metadata, tus_lock_until";

impl Records {
    /// Inserts a tus upload (status from `row`, normally `uploading`).
    pub async fn tus_insert(&self, row: &NewUpload, tus: &TusState) -> Result<(), sqlx::Error> {
        let sql = insert_sql();
        insert_query(&sql, row, tus, None)?
            .execute(&self.writer)
            .await?;
        self.durable().await?;
        Ok(())
    }

    /// Inserts a final upload (`Upload-Concat: final;…`) and claims its partial uploads for it,
    /// in one transaction: each partial must be a partial upload still `uploading`, not past its
    /// expiry at `now_ms` and not claimed by another final upload. A claimed partial shares the
    /// final upload's expiry (`row.expires_at`). `origin` is kept for a join without a request.
    /// `Ok(None)` when done; `Ok(Some(i))` when `parts[i]` could not be claimed (nothing is
    /// inserted or claimed then).
    pub async fn tus_insert_final(
        &self,
        row: &NewUpload,
        tus: &TusState,
        origin: &str,
        parts: &[String],
        now_ms: i64,
    ) -> Result<Option<usize>, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let sql = insert_sql();
        insert_query(&sql, row, tus, Some(origin))?
            .execute(&mut *tx)
            .await?;
        for (i, part) in parts.iter().enumerate() {
            let done = sqlx::query(
                "UPDATE uplift_uploads SET tus_final = $2, expires_at = $3 \
                 WHERE key = $1 AND tus_concat = 'partial' AND status = 'uploading' \
                 AND tus_final IS NULL AND expires_at > $4",
            )
            .bind(part)
            .bind(&row.key)
            .bind(row.expires_at)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(Some(i));
            }
        }
        tx.commit().await?;
        self.durable().await?;
        Ok(None)
    }

    /// The final upload that claimed the partial upload `key`, while that final upload is
    /// still `uploading` (waiting for its parts, or being joined).
    pub async fn tus_final_of(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT f.key FROM uplift_uploads p JOIN uplift_uploads f ON f.key = p.tus_final \
             WHERE p.key = $1 AND f.status = 'uploading'",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    /// Releases the claim on the partial upload `key` when the final upload that claimed it is
    /// no longer `uploading` (it failed, or it is gone): a claim left behind by a crash between
    /// the final upload's end and the release of its parts. `true` if a claim was released.
    pub async fn tus_release_stale_claim(&self, key: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uplift_uploads SET tus_final = NULL WHERE key = $1 AND tus_final IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM uplift_uploads f \
              WHERE f.key = uplift_uploads.tus_final AND f.status = 'uploading')",
        )
        .bind(key)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases every partial upload claimed by the final upload `key` (which failed before its
    /// parts were joined): they are ordinary partial uploads again. How many.
    pub async fn tus_release_parts(&self, key: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("UPDATE uplift_uploads SET tus_final = NULL WHERE tus_final = $1")
            .bind(key)
            .execute(&self.writer)
            .await?;
        self.durable().await?;
        Ok(done.rows_affected())
    }

    /// The partial uploads claimed by the final upload `key` that are still `uploading`.
    pub async fn tus_parts(&self, key: &str, now_ms: i64) -> Result<Vec<TusPart>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, tus_offset, tus_length, tus_lock_until FROM uplift_uploads \
             WHERE tus_final = $1 AND status = 'uploading' AND tus_offset IS NOT NULL",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TusPart {
                    key: r.try_get(0)?,
                    offset: r.try_get::<i64, _>(1)? as u64,
                    length: r.try_get::<Option<i64>, _>(2)?.map(|v| v as u64),
                    locked: r
                        .try_get::<Option<i64>, _>(3)?
                        .is_some_and(|until| until > now_ms),
                })
            })
            .collect()
    }

    /// Pushes the expiry of the final upload `key` and of every partial upload it claimed to
    /// `expires_at` (never back): a PATCH to one part keeps the whole upload alive.
    pub async fn tus_extend_final(&self, key: &str, expires_at: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE uplift_uploads SET expires_at = $2 \
             WHERE (key = $1 OR tus_final = $1) AND status = 'uploading' AND expires_at < $2",
        )
        .bind(key)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(())
    }

    /// Final uploads still `uploading`, unexpired and not locked at `now_ms`, whose claimed
    /// parts all have every byte and are not locked (or are gone): what is left to join, with
    /// the origin each was created through. At most `limit`, sorted by key.
    pub async fn tus_joinable(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT f.key, f.tus_origin FROM uplift_uploads f \
             WHERE f.status = 'uploading' AND f.tus_concat LIKE 'final;%' AND f.expires_at > $1 \
             AND (f.tus_lock_until IS NULL OR f.tus_lock_until <= $1) \
             AND NOT EXISTS (SELECT 1 FROM uplift_uploads p WHERE p.tus_final = f.key \
              AND p.status = 'uploading' AND (p.tus_length IS NULL OR p.tus_offset <> p.tus_length \
               OR (p.tus_lock_until IS NOT NULL AND p.tus_lock_until > $1))) \
             ORDER BY f.key LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Terminates a tus upload that no final upload claimed: its record goes (its lock with
    /// it). `false` if there is no such upload or a final upload claimed it.
    pub async fn tus_terminate(&self, key: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM uplift_uploads WHERE key = $1 AND tus_offset IS NOT NULL \
             AND tus_final IS NULL",
        )
        .bind(key)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Terminates the final upload `key` (unless it is complete or completing) and releases the
    /// partial uploads it claimed, in one transaction. `false` if there is no such upload to
    /// terminate.
    pub async fn tus_terminate_final(&self, key: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "DELETE FROM uplift_uploads WHERE key = $1 AND tus_offset IS NOT NULL \
             AND status NOT IN ('complete', 'completing')",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE uplift_uploads SET tus_final = NULL WHERE tus_final = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.durable().await?;
        Ok(true)
    }

    /// The record and its tus state; `None` if there is no such upload or it is not a tus one.
    pub async fn tus_get(
        &self,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<(UploadRecord, TusState)>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS}, {TUS_COLUMNS} FROM uplift_uploads WHERE key = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let Some(offset) = row.try_get::<Option<i64>, _>("tus_offset")? else {
            return Ok(None);
        };
        let rec = record_from_row(&row)?;
        let tus = TusState {
            offset: offset as u64,
            length: row
                .try_get::<Option<i64>, _>("tus_length")?
                .map(|v| v as u64),
            concat: row.try_get("tus_concat")?,
            metadata: row.try_get("tus_metadata")?,
            locked: row
                .try_get::<Option<i64>, _>("tus_lock_until")?
                .is_some_and(|until| until > now_ms),
        };
        Ok(Some((rec, tus)))
    }

    /// Takes the lock of `key` for `owner` (of server instance `instance`) until `until_ms`,
    /// if nobody holds it. Atomic. [`LockTaken::TakenOver`] when it was taken from an owner
    /// whose lease ran out without releasing it: that owner may still be alive and about to
    /// write, so the new owner must not share the upload's file with it.
    pub async fn tus_lock(
        &self,
        key: &str,
        owner: &str,
        instance: Option<&str>,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<LockTaken, sqlx::Error> {
        for (free, outcome) in [
            ("tus_lock_owner IS NULL", LockTaken::Free),
            ("tus_lock_owner IS NOT NULL", LockTaken::TakenOver),
        ] {
            let sql = format!(
                "UPDATE uplift_uploads SET tus_lock_owner = $2, tus_lock_until = $4, \
                 instance_id = COALESCE($5, instance_id) \
                 WHERE key = $1 AND tus_offset IS NOT NULL AND {free} \
                 AND (tus_lock_until IS NULL OR tus_lock_until <= $3)"
            );
            let done = sqlx::query(&sql)
                .bind(key)
                .bind(owner)
                .bind(now_ms)
                .bind(until_ms)
                .bind(instance)
                .execute(&self.writer)
                .await?;
            self.durable().await?;
            if done.rows_affected() == 1 {
                return Ok(outcome);
            }
        }
        Ok(LockTaken::Refused)
    }

    /// Renews `owner`'s lease until `until_ms`, and nothing else: the check a writer makes
    /// before it writes. `false` if the lock is no longer `owner`'s.
    pub async fn tus_renew(
        &self,
        key: &str,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uplift_uploads SET tus_lock_until = $3 \
             WHERE key = $1 AND tus_lock_owner = $2",
        )
        .bind(key)
        .bind(owner)
        .bind(until_ms)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records progress while holding the lock: the offset (bytes durable on disk), the
    /// length once known (which then replaces the route maximum the upload reserved), the lease's renewal and the new expiry. `false` if the lock is lost.
    #[allow(clippy::too_many_arguments)]
    pub async fn tus_progress(
        &self,
        key: &str,
        owner: &str,
        offset: u64,
        length: Option<u64>,
        lock_until_ms: Option<i64>,
        expires_at: i64,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uplift_uploads SET tus_offset = $3, \
             tus_length = COALESCE($4, tus_length), size = COALESCE($4, size), \
             reserved = CASE WHEN $4 IS NULL THEN reserved ELSE NULL END, \
             tus_lock_until = $5, tus_lock_owner = CASE WHEN $5 IS NULL THEN NULL ELSE tus_lock_owner END, \
             expires_at = $6, updated_at = $7 \
             WHERE key = $1 AND tus_lock_owner = $2",
        )
        .bind(key)
        .bind(owner)
        .bind(size_to_db(offset)?)
        .bind(length.map(size_to_db).transpose()?)
        .bind(lock_until_ms)
        .bind(expires_at)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a tus upload's record (termination, concatenated partials, expiry).
    pub async fn tus_delete(&self, key: &str) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM uplift_uploads WHERE key = $1 AND tus_offset IS NOT NULL")
                .bind(key)
                .execute(&self.writer)
                .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Unfinished tus uploads past their expiry and not locked: their keys, sorted.
    pub async fn tus_expired(&self, now_ms: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key FROM uplift_uploads WHERE tus_offset IS NOT NULL \
             AND status IN ('uploading', 'expired') AND expires_at <= $1 \
             AND (tus_lock_until IS NULL OR tus_lock_until <= $1) ORDER BY key",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
    }
}
