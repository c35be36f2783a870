//! One sweeper at a time over one PostgreSQL schema: a session-level advisory lock, held on a
//! connection of its own for the length of a sweep.
//!
//! The key is the pair ([`SWEEP_LOCK_CLASS`], `hashtext(current_schema())`): instances sharing
//! a schema exclude each other, deployments in other schemas of the same database do not. The
//! connection is closed when the lock is let go, not returned to the pool, so a lock can never
//! stay behind on a pooled connection: whatever ends the sweep (success, an error, a panic in a
//! hook, the sweep's future dropped), the session ends and PostgreSQL releases its locks.

use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::{Backend, Records};

/// The first half of the sweep's advisory lock key: `0x75706c66`, "uplf" in ASCII. The second
/// half is `hashtext(current_schema())`.
const SWEEP_LOCK_CLASS: i32 = 0x7570_6c66;

const TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1, hashtext(COALESCE(current_schema(), '')))";
const UNLOCK: &str = "SELECT pg_advisory_unlock($1, hashtext(COALESCE(current_schema(), '')))";

/// The sweep lock, held until [`SweepLock::release`] or drop. On SQLite it holds nothing.
pub(crate) struct SweepLock {
    conn: Option<PoolConnection<Any>>,
}

impl Records {
    /// Takes the sweep lock if no other session holds it: `None` when another instance is
    /// sweeping this schema. SQLite has no such lock: always granted.
    pub(crate) async fn try_sweep_lock(&self) -> Result<Option<SweepLock>, sqlx::Error> {
        if self.backend != Backend::Postgres {
            return Ok(Some(SweepLock { conn: None }));
        }
        let mut conn = self.pool.acquire().await?;
        // Set before the query: should this future be dropped once the lock is taken but
        // before its answer is read, the connection still goes, and the lock with it.
        conn.close_on_drop();
        let taken: bool = sqlx::query_scalar(TRY_LOCK)
            .bind(SWEEP_LOCK_CLASS)
            .fetch_one(&mut *conn)
            .await?;
        Ok(taken.then_some(SweepLock { conn: Some(conn) }))
    }
}

impl SweepLock {
    /// Unlocks at once, then closes the lock's connection (in the background).
    pub(crate) async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query_scalar::<_, bool>(UNLOCK)
                .bind(SWEEP_LOCK_CLASS)
                .fetch_one(&mut *conn)
                .await;
            if !matches!(unlocked, Ok(true)) {
                // Closing the session releases it all the same.
                tracing::warn!(
                    outcome = ?unlocked.map_err(|e| e.to_string()),
                    "the sweep lock was not unlocked; closing its connection releases it"
                );
            }
        }
    }
}
