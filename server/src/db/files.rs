//! Records of stored files, as an app manages them: listings with filters and a keyset
//! cursor, removal and changes that race safely with uploads and with each other, usage.

use sqlx::Row;

use super::{record_from_row, Records, UploadRecord, COLUMNS};
use crate::protocol::UploadStatus;
use crate::route::Acl;

/// What a listing selects. Every set field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFilter {
    /// Only this route's uploads.
    pub slug: Option<String>,
    /// Only uploads in this state.
    pub status: Option<UploadStatus>,
    /// Only uploads with this custom id.
    pub custom_id: Option<String>,
    /// Only uploads made at or after this time (unix milliseconds).
    pub created_from: Option<i64>,
    /// Only uploads made before this time (unix milliseconds).
    pub created_until: Option<i64>,
    /// Only uploads whose middleware metadata has this top-level key with this string value.
    /// The key is 1–64 characters of `[A-Za-z0-9_-]`.
    pub metadata: Option<(String, String)>,
    /// Only uploads of these callers (the keyed hashes the records keep; one identity has
    /// one per signing key). Empty: anyone's.
    pub callers: Vec<String>,
}

/// Where a page starts: after this upload, in the listing's order (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCursor {
    /// The last listed upload's creation time (unix milliseconds).
    pub created_at: i64,
    /// The last listed upload's key.
    pub key: String,
}

/// An upload as a listing returns it: the record, and who made it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    /// The record.
    pub record: UploadRecord,
    /// The keyed hash of its caller, when one was recorded.
    pub caller: Option<String>,
}

/// What a removal found.
#[derive(Debug, Clone, PartialEq)]
pub enum Removal {
    /// The record was removed; it was this.
    Removed(Box<FileRow>),
    /// No such record.
    Missing,
    /// The upload is receiving bytes or completing: it stays.
    InProgress,
}

/// A metadata key a filter may name: it goes into a JSON path.
pub(crate) fn metadata_key_ok(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn row(r: &sqlx::any::AnyRow) -> Result<FileRow, sqlx::Error> {
    Ok(FileRow {
        record: record_from_row(r)?,
        caller: r.try_get("caller")?,
    })
}

impl Records {
    /// At most `limit` uploads matching `filter`, newest first (creation time, then key, both
    /// descending), starting after `after`. Uploads made while a listing is paged come before
    /// its cursor, so no page repeats or skips one.
    pub async fn list_files(
        &self,
        filter: &FileFilter,
        after: Option<&FileCursor>,
        limit: u32,
    ) -> Result<Vec<FileRow>, sqlx::Error> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut push = |clause: &str, values: Vec<Arg>| {
            let mut clause = clause.to_string();
            for v in values {
                args.push(v);
                clause = clause.replacen('?', &format!("${}", args.len()), 1);
            }
            clauses.push(clause);
        };
        if let Some(slug) = &filter.slug {
            push("slug = ?", vec![Arg::Text(slug.clone())]);
        }
        if let Some(status) = filter.status {
            push("status = ?", vec![Arg::Text(status.as_str().to_string())]);
        }
        if let Some(id) = &filter.custom_id {
            push("custom_id = ?", vec![Arg::Text(id.clone())]);
        }
        if let Some(t) = filter.created_from {
            push("created_at >= ?", vec![Arg::Int(t)]);
        }
        if let Some(t) = filter.created_until {
            push("created_at < ?", vec![Arg::Int(t)]);
        }
        if !filter.callers.is_empty() {
            let marks = vec!["?"; filter.callers.len()].join(", ");
            push(
                &format!("caller IN ({marks})"),
                filter.callers.iter().cloned().map(Arg::Text).collect(),
            );
        }
        if let Some((key, value)) = &filter.metadata {
            if !metadata_key_ok(key) {
                return Err(sqlx::Error::Protocol("invalid metadata key".into()));
            }
            let clause = match self.backend {
                super::Backend::Sqlite => "json_extract(metadata, ?) = ?",
                super::Backend::Postgres => "(metadata::jsonb ->> ?) = ?",
            };
            let path = match self.backend {
                super::Backend::Sqlite => format!("$.\"{key}\""),
                super::Backend::Postgres => key.clone(),
            };
            push(clause, vec![Arg::Text(path), Arg::Text(value.clone())]);
        }
        if let Some(c) = after {
            push(
                "(created_at < ? OR (created_at = ? AND key < ?))",
                vec![
                    Arg::Int(c.created_at),
                    Arg::Int(c.created_at),
                    Arg::Text(c.key.clone()),
                ],
            );
        }
        let mut sql = format!("SELECT {COLUMNS}, caller FROM uplift_uploads");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, key DESC LIMIT {}",
            limit.clamp(1, 1000)
        ));
        let mut q = sqlx::query(&sql);
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        q.fetch_all(&self.pool).await?.iter().map(row).collect()
    }

    /// One upload with its caller.
    pub async fn file(&self, key: &str) -> Result<Option<FileRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS}, caller FROM uplift_uploads WHERE key = $1");
        let found = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// Removes an upload's record unless it is receiving bytes or completing. Of concurrent
    /// removals (and a concurrent claim of a pending upload), exactly one succeeds: the row is
    /// removed only in the state it was read in.
    pub async fn remove_file(&self, key: &str) -> Result<Removal, sqlx::Error> {
        for _ in 0..3 {
            let Some(found) = self.file(key).await? else {
                return Ok(Removal::Missing);
            };
            if matches!(
                found.record.status,
                UploadStatus::Uploading | UploadStatus::Completing
            ) {
                return Ok(Removal::InProgress);
            }
            let gone = sqlx::query("DELETE FROM uplift_uploads WHERE key = $1 AND status = $2")
                .bind(key)
                .bind(found.record.status.as_str())
                .execute(&self.writer)
                .await?
                .rows_affected();
            self.durable().await?;
            if gone == 1 {
                return Ok(Removal::Removed(Box::new(found)));
            }
            // The row moved on meanwhile (claimed, completed, removed): read it again.
        }
        Ok(Removal::InProgress)
    }

    /// Sets a stored file's display name and ACL (each when given); `false` when there is no
    /// stored (`complete`) upload under `key`.
    pub async fn change_file(
        &self,
        key: &str,
        name: Option<&str>,
        acl: Option<Acl>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let changed = sqlx::query(
            "UPDATE uplift_uploads SET name = COALESCE($2, name), acl = COALESCE($3, acl), \
             updated_at = $4 WHERE key = $1 AND status = 'complete'",
        )
        .bind(key)
        .bind(name)
        .bind(acl.map(|a| a.as_str()))
        .bind(now_ms)
        .execute(&self.writer)
        .await?
        .rows_affected();
        self.durable().await?;
        Ok(changed == 1)
    }

    /// Stored (`complete`) files and their bytes, per route, for these callers when any.
    pub async fn usage(&self, callers: &[String]) -> Result<Vec<(String, u64, u64)>, sqlx::Error> {
        let only = if callers.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (1..=callers.len()).map(|n| format!("${n}")).collect();
            format!(" AND caller IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT slug, COUNT(*) AS files, CAST(COALESCE(SUM(stored_size), 0) AS BIGINT) AS bytes \
             FROM uplift_uploads WHERE status = 'complete'{only} GROUP BY slug ORDER BY slug"
        );
        let mut q = sqlx::query(&sql);
        for c in callers {
            q = q.bind(c);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let files: i64 = r.try_get("files")?;
                let bytes: i64 = r.try_get("bytes")?;
                Ok((r.try_get("slug")?, files.max(0) as u64, bytes.max(0) as u64))
            })
            .collect()
    }
}

enum Arg {
    Text(String),
    Int(i64),
}
