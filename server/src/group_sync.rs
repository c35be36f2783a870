//! Group fsync: many writers, one flush.
//!
//! Used for SQLite's write-ahead log and for the directory stored files are linked into. Each
//! writer that needs its change on disk waits in [`GroupSync::durable`] until an fsync of the
//! file that began after its change has finished; writers that arrive while one fsync runs all
//! share the next. Under load, dozens of changes cost one flush, and none is acknowledged
//! before it is on disk.
//!
//! A SQLite file database runs in WAL mode with `synchronous = NORMAL`: a commit appends its
//! frames to the `-wal` file and returns without waiting for the disk, so the write lock is
//! held for microseconds rather than for an fsync. A write whose caller will be told it
//! happened then waits in [`GroupSync::durable`] until an fsync of the WAL file that began after
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

#[derive(Debug)]
pub(crate) struct GroupSync {
    path: PathBuf,
    /// A directory (`fsync`, and it must exist) rather than a file (`fdatasync`; a missing file
    /// has nothing to flush).
    dir: bool,
    /// Commits that asked for durability so far; each asker holds the number it was given.
    commits: AtomicU64,
    /// The highest commit number known to be on disk. Held while an fsync runs, so that those
    /// who arrive meanwhile wait for it and then for at most one more.
    synced: Mutex<u64>,
}

impl GroupSync {
    /// For the write-ahead log of the SQLite database file `db` (`{db}-wal`).
    pub(crate) fn wal(db: PathBuf) -> GroupSync {
        let mut wal = db.into_os_string();
        wal.push("-wal");
        GroupSync::new(wal.into(), false)
    }

    /// For the entries of the directory `dir` (names linked, renamed or removed in it).
    pub(crate) fn dir(dir: PathBuf) -> GroupSync {
        GroupSync::new(dir, true)
    }

    fn new(path: PathBuf, dir: bool) -> GroupSync {
        GroupSync {
            path,
            dir,
            commits: AtomicU64::new(0),
            synced: Mutex::new(0),
        }
    }

    /// Returns once every change this task made before calling it is on disk.
    pub(crate) async fn durable(&self) -> std::io::Result<()> {
        let mine = self.commits.fetch_add(1, Ordering::AcqRel) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= mine {
            // An fsync that began after this commit covered it.
            return Ok(());
        }
        // Everything committed up to now is covered by the fsync about to start.
        let upto = self.commits.load(Ordering::Acquire);
        let (path, dir) = (self.path.clone(), self.dir);
        tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
            Ok(f) if dir => f.sync_all(),
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir => Ok(()),
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
        let sync = Arc::new(GroupSync::wal(db));
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
        let gone = GroupSync::wal(dir.path().join("none.db"));
        gone.durable().await.unwrap();
        // A directory must be there.
        GroupSync::dir(dir.path().to_path_buf())
            .durable()
            .await
            .unwrap();
        let missing = GroupSync::dir(dir.path().join("none"));
        assert!(missing.durable().await.is_err());
    }
}
