//! Group commit for SQLite: many writers, one fsync.
//!
//! A SQLite file database runs in WAL mode with `synchronous = NORMAL`: a commit appends its
//! frames to the `-wal` file and returns without waiting for the disk, so the write lock is
//! held for microseconds rather than for an fsync. A write whose caller will be told it
//! happened then waits in [`WalSync::durable`] until an fsync of the WAL file that began after
//! its commit has finished. Writers that commit while one fsync runs all share the next one:
//! under load, dozens of commits cost one disk flush, and none is acknowledged before its
//! frames are on disk (SQLite replays the WAL's committed frames after a crash or power loss).
//!
//! The WAL file is opened anew for every fsync: when every connection closes, SQLite
//! checkpoints and deletes it (after syncing the database), and the next connection makes a
//! new one; an open handle would then flush a file nobody writes. A missing WAL file means
//! every commit is already in the database file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

pub(crate) struct WalSync {
    wal: PathBuf,
    /// Commits that asked for durability so far; each asker holds the number it was given.
    commits: AtomicU64,
    /// The highest commit number known to be on disk. Held while an fsync runs, so that those
    /// who arrive meanwhile wait for it and then for at most one more.
    synced: Mutex<u64>,
}

impl WalSync {
    /// For the database file `db` (its WAL is `{db}-wal`).
    pub(crate) fn new(db: PathBuf) -> WalSync {
        let mut wal = db.into_os_string();
        wal.push("-wal");
        WalSync {
            wal: wal.into(),
            commits: AtomicU64::new(0),
            synced: Mutex::new(0),
        }
    }

    /// Returns once every commit this task made before calling it is on disk.
    pub(crate) async fn durable(&self) -> std::io::Result<()> {
        let mine = self.commits.fetch_add(1, Ordering::AcqRel) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= mine {
            // An fsync that began after this commit covered it.
            return Ok(());
        }
        // Everything committed up to now is covered by the fsync about to start.
        let upto = self.commits.load(Ordering::Acquire);
        let wal = self.wal.clone();
        tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(std::io::Error::other)??;
        *synced = upto;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_fsyncs_and_each_waits_for_one_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(format!("{}-wal", db.display()), b"frames").unwrap();
        let sync = Arc::new(WalSync::new(db));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let s = sync.clone();
                tokio::spawn(async move { s.durable().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // Every asker is covered.
        assert_eq!(*sync.synced.lock().await, 64);
        // A WAL that does not exist (all checkpointed) is nothing to flush.
        let gone = WalSync::new(dir.path().join("none.db"));
        gone.durable().await.unwrap();
    }
}
