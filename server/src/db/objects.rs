//! Records of signed uploads (migration 0003): one row per object path, and one per spent
//! one-time URL or form.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{decode_error, size_to_db, Records};
use crate::route::Acl;

/// A stored object as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// `folder/filename`, checked.
    pub path: String,
    /// The upload id of the URL, form or token upload that wrote it last.
    pub id: String,
    /// The MIME type, confirmed by sniffing where the format is recognisable.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the stored bytes.
    pub crc32: u32,
    /// Pixel width of an image, read from its header; `None` for other files.
    pub width: Option<u32>,
    /// Pixel height of an image, read from its header; `None` for other files.
    pub height: Option<u32>,
    /// Custom metadata bound into the URL, form or token request.
    pub metadata: BTreeMap<String, String>,
    /// `inline` or `attachment`, when one was set.
    pub disposition: Option<String>,
    /// Who may read the object: anyone with its URL, or holders of a signed GET URL.
    pub acl: Acl,
    /// Unix milliseconds.
    pub created: i64,
    /// When the object was last written, in unix milliseconds.
    pub updated: i64,
}

const OBJECT_COLUMNS: &str = "path, id, content_type, size, sha256, crc32, width, height, \
     metadata, disposition, acl, created, updated";

impl Records {
    /// Marks a one-time upload id as spent. `false` when it already was: of any number of
    /// concurrent calls with one id, exactly one gets `true`.
    pub async fn claim_signed_use(
        &self,
        upload_id: &str,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO uplift_signed_uses (upload_id, used_at) VALUES ($1, $2) \
             ON CONFLICT (upload_id) DO NOTHING",
        )
        .bind(upload_id)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets uses older than `before_ms`; their URLs and forms have expired by then.
    pub async fn forget_signed_uses(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM uplift_signed_uses WHERE used_at < $1")
            .bind(before_ms)
            .execute(&self.writer)
            .await?;
        self.durable().await?;
        Ok(done.rows_affected())
    }

    /// Records an object after its bytes were committed: inserts it, or replaces the row of
    /// the object it replaced (keeping that one's `created`).
    pub async fn put_object(&self, o: &ObjectRecord) -> Result<(), sqlx::Error> {
        let metadata =
            serde_json::to_string(&o.metadata).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let sql = format!(
            "INSERT INTO uplift_objects ({OBJECT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (path) DO UPDATE SET id = excluded.id, \
             content_type = excluded.content_type, size = excluded.size, \
             sha256 = excluded.sha256, crc32 = excluded.crc32, width = excluded.width, \
             height = excluded.height, metadata = excluded.metadata, \
             disposition = excluded.disposition, acl = excluded.acl, updated = excluded.updated"
        );
        sqlx::query(&sql)
            .bind(&o.path)
            .bind(&o.id)
            .bind(&o.content_type)
            .bind(size_to_db(o.size)?)
            .bind(&o.sha256)
            .bind(i64::from(o.crc32))
            .bind(o.width.map(i64::from))
            .bind(o.height.map(i64::from))
            .bind(metadata)
            .bind(&o.disposition)
            .bind(o.acl.as_str())
            .bind(o.created)
            .bind(o.updated)
            .execute(&self.writer)
            .await?;
        self.durable().await?;
        Ok(())
    }

    /// The object recorded at `path` (`folder/filename`), or `None` if nothing was stored there.
    pub async fn get_object(&self, path: &str) -> Result<Option<ObjectRecord>, sqlx::Error> {
        let sql = format!("SELECT {OBJECT_COLUMNS} FROM uplift_objects WHERE path = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(path)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        object_from_row(&row).map(Some)
    }

    /// At most `limit` (up to 1001: a page of 1000 and whether there is more) objects in `dir`
    /// and below, by path, after the path `after`.
    pub async fn list_objects(
        &self,
        dir: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectRecord>, sqlx::Error> {
        // A prefix compared as it is (LIKE would fold ASCII case on SQLite and read `_`/`%`).
        let prefix = format!("{dir}/");
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM uplift_objects \
             WHERE substr(path, 1, CAST($1 AS INTEGER)) = $2 AND path > $3 ORDER BY path LIMIT {}",
            limit.clamp(1, 1001)
        );
        let rows = sqlx::query(&sql)
            .bind(prefix.chars().count() as i64)
            .bind(&prefix)
            .bind(after.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(object_from_row).collect()
    }

    /// Removes an object's record; `false` when there was none.
    pub async fn delete_object(&self, path: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM uplift_objects WHERE path = $1")
            .bind(path)
            .execute(&self.writer)
            .await?;
        self.durable().await?;
        Ok(done.rows_affected() == 1)
    }
}

fn object_from_row(row: &sqlx::any::AnyRow) -> Result<ObjectRecord, sqlx::Error> {
    let u32_col = |name: &str| -> Result<Option<u32>, sqlx::Error> {
        row.try_get::<Option<i64>, _>(name)?
            .map(|v| u32::try_from(v).map_err(|e| decode_error(name, e)))
            .transpose()
    };
    let acl: String = row.try_get("acl")?;
    let metadata: String = row.try_get("metadata")?;
    let size: i64 = row.try_get("size")?;
    Ok(ObjectRecord {
        path: row.try_get("path")?,
        id: row.try_get("id")?,
        content_type: row.try_get("content_type")?,
        size: u64::try_from(size).map_err(|e| decode_error("size", e))?,
        sha256: row.try_get("sha256")?,
        crc32: u32_col("crc32")?.ok_or_else(|| decode_error("crc32", "NULL"))?,
        width: u32_col("width")?,
        height: u32_col("height")?,
        metadata: serde_json::from_str(&metadata).map_err(|e| decode_error("metadata", e))?,
        disposition: row.try_get("disposition")?,
        acl: Acl::parse(&acl).ok_or_else(|| decode_error("acl", format!("unknown acl {acl:?}")))?,
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(path: &str, id: &str, t: i64) -> ObjectRecord {
        ObjectRecord {
            path: path.into(),
            id: id.into(),
            content_type: "image/png".into(),
            size: 10,
            sha256: "ab".repeat(32),
            crc32: u32::MAX,
            width: Some(3),
            height: Some(2),
            metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
            disposition: Some("inline".into()),
            acl: Acl::Private,
            created: t,
            updated: t,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn objects_round_trip_and_replace_keeps_created() {
        let r = Records::connect("sqlite::memory:").await.unwrap();
        r.put_object(&object("a/b.png", "one", 10)).await.unwrap();
        assert_eq!(
            r.get_object("a/b.png").await.unwrap().unwrap(),
            object("a/b.png", "one", 10)
        );
        r.put_object(&object("a/b.png", "two", 20)).await.unwrap();
        let got = r.get_object("a/b.png").await.unwrap().unwrap();
        assert_eq!((got.id.as_str(), got.created, got.updated), ("two", 10, 20));
        assert!(r.delete_object("a/b.png").await.unwrap());
        assert!(r.get_object("a/b.png").await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_use_is_claimed_once() {
        let r = Records::connect("sqlite::memory:").await.unwrap();
        assert!(r.claim_signed_use("u1", 1).await.unwrap());
        assert!(!r.claim_signed_use("u1", 2).await.unwrap());
        assert!(r.claim_signed_use("u2", 3).await.unwrap());
        assert_eq!(r.forget_signed_uses(3).await.unwrap(), 1);
        assert!(!r.claim_signed_use("u2", 4).await.unwrap());
    }
}
