//! The default backend: files on the local disk.
//!
//! Writes go to `root/.staging/<random>`, are fsynced, then hard-linked to `root/<key>` (a
//! link fails if the target exists, so nothing is overwritten even under races) and the
//! staging name is removed. The directory is fsynced so the new name survives a crash.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::task::spawn_blocking;

use crate::group_sync::GroupSync;

use super::blocks::BlockWriter;
use super::{
    check_key, check_object_path, remove_file, ListStorage, Listed, StagedWrite, Storage,
    StoredObject, Target,
};
use super::{LocalResumable, ResumableStore};

/// Files under one directory.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: Arc<PathBuf>,
    /// The root's entries (stored files are linked in there), flushed for many links at once.
    root_sync: Arc<GroupSync>,
}

impl LocalStorage {
    /// Uses (and creates) `root` and its `.staging` subdirectory.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join(".staging"))?;
        Ok(LocalStorage {
            root_sync: Arc::new(GroupSync::dir(root.clone())),
            root: Arc::new(root),
        })
    }

    /// The directory objects are stored under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// Signed-upload objects live under `root/objects/`, in nested folders.
    fn signed_object_path(&self, path: &str) -> io::Result<PathBuf> {
        check_object_path(path)?;
        Ok(self.root.join("objects").join(path))
    }
}

async fn open_file(path: PathBuf) -> io::Result<Option<StoredObject>> {
    match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => Ok(Some(StoredObject::File(path))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // A path through a file (`a.txt/b`) names nothing.
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn stage(&self, target: Target) -> io::Result<Box<dyn StagedWrite>> {
        target.check()?;
        let name: [u8; 16] = rand::random();
        let path = self.root.join(".staging").join(hex(&name));
        // Created with its first bytes: a small file is created, written, flushed and put in
        // place in one trip to the blocking pool.
        Ok(Box::new(LocalStaged {
            root: self.root.clone(),
            root_sync: self.root_sync.clone(),
            target,
            out: Some(BlockWriter::create(path.clone())),
            path,
            abandoned: Arc::new(AtomicBool::new(false)),
        }))
    }

    async fn open(&self, key: &str) -> io::Result<Option<StoredObject>> {
        open_file(self.object_path(key)?).await
    }

    async fn delete(&self, key: &str) -> io::Result<bool> {
        remove_file(&self.object_path(key)?).await
    }

    async fn open_object(&self, path: &str) -> io::Result<Option<StoredObject>> {
        open_file(self.signed_object_path(path)?).await
    }

    async fn delete_object(&self, path: &str) -> io::Result<bool> {
        remove_file(&self.signed_object_path(path)?).await
    }

    fn resumable(&self) -> Option<std::sync::Arc<dyn ResumableStore>> {
        Some(std::sync::Arc::new(LocalResumable::new(
            self.root.join(".tus"),
        )))
    }

    /// A hard link, as in `commit`: never replaces, and nothing is copied (nor flushed again:
    /// the resumable store flushed the bytes when it recorded them). A file on another
    /// file system (a `tus_dir` elsewhere) is copied by the caller instead. The same file
    /// linked already (a crash came after the link and before the record) is adopted.
    async fn adopt(&self, path: &Path, key: &str) -> io::Result<bool> {
        use std::os::unix::fs::MetadataExt as _;
        let target = self.object_path(key)?;
        let source = path.to_path_buf();
        let linked = spawn_blocking(move || match std::fs::hard_link(&source, &target) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let (ours, there) = (std::fs::metadata(&source)?, std::fs::metadata(&target)?);
                if (ours.dev(), ours.ino()) == (there.dev(), there.ino()) {
                    Ok(true)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        })
        .await??;
        if linked {
            self.root_sync.durable().await?;
        }
        Ok(linked)
    }

    async fn cleanup_staged(&self, older_than: Duration) -> io::Result<usize> {
        let dir = self.root.join(".staging");
        spawn_blocking(move || {
            let mut removed = 0;
            let cutoff = SystemTime::now() - older_than;
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let old = entry
                    .metadata()?
                    .modified()
                    .map(|m| m < cutoff)
                    .unwrap_or(false);
                if old && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await?
    }

    fn as_list(&self) -> Option<&dyn ListStorage> {
        Some(self)
    }
}

/// Last-written time of a regular file, `None` for anything else (folders, links, gone).
fn file_modified(path: &Path) -> io::Result<Option<SystemTime>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m.modified()?)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes `path` if it is a regular file last written before `before`. The check and the
/// removal are two steps; a file replaced in between is written "now", so only a replacement
/// landing in that instant could be lost — the sweeper's grace period keeps live writers away.
fn remove_if_older(path: &Path, before: SystemTime) -> io::Result<bool> {
    match file_modified(path)? {
        Some(m) if m < before => match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        },
        _ => Ok(false),
    }
}

/// Walks `root/objects` depth-first (no links followed), collecting files older than `before`.
fn walk_objects(
    dir: &Path,
    prefix: &str,
    before: SystemTime,
    out: &mut Vec<Listed>,
) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk_objects(&entry.path(), &path, before, out)?;
        } else if kind.is_file() && check_object_path(&path).is_ok() {
            let modified = entry.metadata()?.modified()?;
            if modified < before {
                out.push(Listed {
                    name: path,
                    modified,
                });
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ListStorage for LocalStorage {
    /// Regular files directly under the root whose names are keys (`.staging`, `.tus`,
    /// `objects` and anything with a dot, such as a database kept there, are not keys).
    async fn list_keys(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        let root = self.root.clone();
        spawn_blocking(move || {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(root.as_path())? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name == "objects" || check_key(&name).is_err() || !entry.file_type()?.is_file() {
                    continue;
                }
                let modified = entry.metadata()?.modified()?;
                if modified < before {
                    out.push(Listed { name, modified });
                }
            }
            Ok(out)
        })
        .await?
    }

    async fn list_objects(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        let dir = self.root.join("objects");
        spawn_blocking(move || {
            let mut out = Vec::new();
            walk_objects(&dir, "", before, &mut out)?;
            Ok(out)
        })
        .await?
    }

    async fn delete_if_older(&self, key: &str, before: SystemTime) -> io::Result<bool> {
        let path = self.object_path(key)?;
        spawn_blocking(move || remove_if_older(&path, before)).await?
    }

    async fn delete_object_if_older(&self, path: &str, before: SystemTime) -> io::Result<bool> {
        let path = self.signed_object_path(path)?;
        spawn_blocking(move || remove_if_older(&path, before)).await?
    }
}

struct LocalStaged {
    root: Arc<PathBuf>,
    root_sync: Arc<GroupSync>,
    target: Target,
    path: PathBuf,
    /// `None` once committed.
    out: Option<BlockWriter>,
    /// Set when the write is dropped before its commit ended: a commit still queued for the
    /// blocking pool then puts nothing in place.
    abandoned: Arc<AtomicBool>,
}

#[async_trait]
impl StagedWrite for LocalStaged {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.out
            .as_mut()
            .expect("a staged write is written to until it is committed")
            .write(&chunk)
            .await
    }

    async fn commit(self: Box<Self>) -> io::Result<()> {
        let (target, replace) = match &self.target {
            Target::Key(key) => (self.root.join(key), false),
            Target::Object { path, replace } => (self.root.join("objects").join(path), *replace),
        };
        self.finish(target, replace).await
    }
}

impl LocalStaged {
    /// fsync, then put the staged file in place: `link(2)` (fails if the name exists, so
    /// nothing is overwritten and one racer wins) or, with `replace`, `rename(2)` (atomic swap).
    /// Then the directory is fsynced so the name survives a crash: for keys, which all live in
    /// the root, one fsync of the root covers every link made while the previous one ran.
    async fn finish(mut self: Box<Self>, target: PathBuf, replace: bool) -> io::Result<()> {
        let out = self.out.take().expect("committed once");
        let staged = self.path.clone();
        let in_root = target.parent() == Some(self.root.as_path());
        let abandoned = self.abandoned.clone();
        // The last block, the fsync and the link in one trip to the blocking pool.
        out.finish_with(move |file| {
            file.sync_all()?;
            drop(file);
            if abandoned.load(Ordering::Acquire) {
                let _ = std::fs::remove_file(&staged);
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "the staged write was abandoned before its commit",
                ));
            }
            let dir = target.parent().expect("targets are under the root");
            if !in_root {
                std::fs::create_dir_all(dir)?;
            }
            if replace {
                std::fs::rename(&staged, &target)?;
            } else {
                std::fs::hard_link(&staged, &target)?;
                std::fs::remove_file(&staged)?;
            }
            if in_root {
                return Ok(());
            }
            File::open(dir)?.sync_all()
        })
        .await?;
        // In place: nothing left for Drop to clean up, even should the flush below fail.
        self.path = PathBuf::new();
        if in_root {
            self.root_sync.durable().await?;
        }
        Ok(())
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        // Abandoned (error, refusal, client gone): the staged bytes never become visible. The
        // file is removed once a block write in flight has ended: that write may be the one
        // that creates it.
        if self.path.as_os_str().is_empty() {
            return;
        }
        self.abandoned.store(true, Ordering::Release);
        let path = std::mem::take(&mut self.path);
        let pending = self.out.take().map(BlockWriter::abandon);
        match (pending, tokio::runtime::Handle::try_current()) {
            (Some(pending), Ok(rt)) => {
                rt.spawn(async move {
                    pending.await;
                    let _ = tokio::fs::remove_file(path).await;
                });
            }
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::blocks::BLOCK;

    fn obj(path: &str, replace: bool) -> Target {
        Target::Object {
            path: path.into(),
            replace,
        }
    }

    /// Stages `bytes` for `target` and commits them.
    async fn store(s: &impl Storage, target: Target, bytes: &'static [u8]) {
        let mut w = s.stage(target).await.unwrap();
        w.write(Bytes::from_static(bytes)).await.unwrap();
        w.commit().await.unwrap();
    }

    fn staged_files(root: &Path) -> usize {
        std::fs::read_dir(root.join(".staging")).unwrap().count()
    }

    #[tokio::test]
    async fn commit_makes_bytes_visible_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        let mut w = s.stage(Target::Key("key1".into())).await.unwrap();
        w.write(Bytes::from(vec![1u8; BLOCK + 10])).await.unwrap();
        w.write(Bytes::from_static(b"tail")).await.unwrap();
        w.commit().await.unwrap();
        let data = std::fs::read(dir.path().join("key1")).unwrap();
        assert_eq!(data.len(), BLOCK + 14);
        assert_eq!(&data[BLOCK + 10..], b"tail");
        assert_eq!(staged_files(dir.path()), 0);

        let mut w2 = s.stage(Target::Key("key1".into())).await.unwrap();
        w2.write(Bytes::from_static(b"other")).await.unwrap();
        let err = w2.commit().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read(dir.path().join("key1")).unwrap().len(),
            BLOCK + 14
        );
        assert_eq!(
            staged_files(dir.path()),
            0,
            "a refused commit leaves no staged file"
        );
    }

    #[tokio::test]
    async fn chunks_straddling_blocks_arrive_intact() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        let data: Vec<u8> = (0..3 * BLOCK + 5).map(|i| (i % 251) as u8).collect();
        let mut w = s.stage(Target::Key("odd".into())).await.unwrap();
        for chunk in data.chunks(7919) {
            w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        w.commit().await.unwrap();
        assert!(std::fs::read(dir.path().join("odd")).unwrap() == data);
    }

    #[tokio::test]
    async fn adopting_links_once_and_takes_back_its_own_link_but_no_other_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        let part = dir.path().join(".staging").join("part");
        std::fs::write(&part, b"bytes").unwrap();
        assert!(s.adopt(&part, "adopted").await.unwrap());
        assert_eq!(std::fs::read(dir.path().join("adopted")).unwrap(), b"bytes");
        // Linked already (a crash between the link and the record): the same file, adopted.
        assert!(s.adopt(&part, "adopted").await.unwrap());
        // Another file under that name is never replaced.
        std::fs::write(dir.path().join("taken"), b"other").unwrap();
        let err = s.adopt(&part, "taken").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(dir.path().join("taken")).unwrap(), b"other");
    }

    #[tokio::test]
    async fn dropping_a_staged_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        let mut w = s.stage(Target::Key("unused".into())).await.unwrap();
        w.write(Bytes::from(vec![0u8; 3 * BLOCK])).await.unwrap();
        drop(w);
        // Removed once the block write in flight has ended.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while staged_files(dir.path()) != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the staged file stayed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(s.open("nothing").await.unwrap().is_none());
    }

    #[test]
    fn a_commit_dropped_while_it_waits_for_the_blocking_pool_puts_nothing_in_place() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let s = LocalStorage::new(dir.path()).unwrap();
            let mut w = s.stage(Target::Key("late".into())).await.unwrap();
            w.write(Bytes::from_static(b"small")).await.unwrap();
            // The one blocking thread is busy: the commit's trip waits in the queue.
            let (free, wait) = std::sync::mpsc::channel::<()>();
            let busy = tokio::task::spawn_blocking(move || {
                let _ = wait.recv();
            });
            let mut commit = w.commit();
            let waited = tokio::time::timeout(Duration::from_millis(50), &mut commit).await;
            assert!(waited.is_err(), "the commit did not wait for the pool");
            drop(commit);
            free.send(()).unwrap();
            busy.await.unwrap();
            // The queued trip has run once the pool takes the next job.
            tokio::task::spawn_blocking(|| ()).await.unwrap();
            assert!(s.open("late").await.unwrap().is_none());
            assert_eq!(staged_files(dir.path()), 0);
        });
    }

    #[tokio::test]
    async fn objects_nest_and_either_replace_or_never_do() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        store(&s, obj("a/b/c.txt", false), b"one").await;
        let at = dir.path().join("objects/a/b/c.txt");
        assert_eq!(std::fs::read(&at).unwrap(), b"one");

        let mut w = s.stage(obj("a/b/c.txt", false)).await.unwrap();
        w.write(Bytes::from_static(b"two")).await.unwrap();
        let err = w.commit().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&at).unwrap(), b"one");

        store(&s, obj("a/b/c.txt", true), b"three").await;
        assert_eq!(std::fs::read(&at).unwrap(), b"three");
        assert_eq!(staged_files(dir.path()), 0);
        assert!(s.open_object("a/b/c.txt").await.unwrap().is_some());
        assert!(s.open_object("a/b/c.txt/d").await.unwrap().is_none());
        assert!(s.delete_object("a/b/c.txt").await.unwrap());
        for bad in ["../x", "a//b", "/abs", "a/./b", "a\\b", ""] {
            assert!(s.open_object(bad).await.is_err(), "{bad}");
        }
    }

    /// The HTTP race test mostly loses at the cheap existence check; this one races the
    /// commits themselves: 50 staged writes, all passed to the no-replace commit at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_no_replace_commits_have_exactly_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(50));
        let mut tasks = Vec::new();
        for i in 0..50u8 {
            let mut w = s.stage(obj("r/one.bin", false)).await.unwrap();
            w.write(Bytes::from(vec![i; 4096])).await.unwrap();
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                (i, w.commit().await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (i, Ok(())) => winners.push(i),
                (_, Err(e)) => assert_eq!(e.kind(), io::ErrorKind::AlreadyExists),
            }
        }
        assert_eq!(winners.len(), 1);
        let stored = std::fs::read(dir.path().join("objects/r/one.bin")).unwrap();
        assert_eq!(stored, vec![winners[0]; 4096]);
        assert_eq!(staged_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn listings_name_keys_and_objects_only_and_removal_respects_age() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        store(&s, Target::Key("key1".into()), b"k").await;
        store(&s, obj("a/b/c.txt", false), b"o").await;
        // Not keys: a staged write, a tus file, a database beside the files, a folder.
        let _staged = s.stage(Target::Key("unused".into())).await.unwrap();
        std::fs::create_dir_all(dir.path().join(".tus")).unwrap();
        std::fs::write(dir.path().join(".tus/t1"), b"t").unwrap();
        std::fs::write(dir.path().join("uplift.db"), b"d").unwrap();
        std::fs::create_dir_all(dir.path().join("folder")).unwrap();

        let list = s.as_list().expect("local storage lists");
        let later = SystemTime::now() + Duration::from_secs(60);
        let names = |v: Vec<Listed>| v.into_iter().map(|l| l.name).collect::<Vec<_>>();
        assert_eq!(names(list.list_keys(later).await.unwrap()), ["key1"]);
        assert_eq!(
            names(list.list_objects(later).await.unwrap()),
            ["a/b/c.txt"]
        );
        // Nothing was written before an hour ago: nothing is listed or removed.
        let earlier = SystemTime::now() - Duration::from_secs(3600);
        assert!(list.list_keys(earlier).await.unwrap().is_empty());
        assert!(list.list_objects(earlier).await.unwrap().is_empty());
        assert!(!list.delete_if_older("key1", earlier).await.unwrap());
        assert!(!list
            .delete_object_if_older("a/b/c.txt", earlier)
            .await
            .unwrap());
        assert!(s.open("key1").await.unwrap().is_some());
        // Older than `later`: removed; a second removal finds nothing.
        assert!(list.delete_if_older("key1", later).await.unwrap());
        assert!(!list.delete_if_older("key1", later).await.unwrap());
        assert!(list
            .delete_object_if_older("a/b/c.txt", later)
            .await
            .unwrap());
        assert!(s.open_object("a/b/c.txt").await.unwrap().is_none());
        assert!(list.delete_if_older("../x", later).await.is_err());
        assert!(list.delete_object_if_older("../x", later).await.is_err());
    }

    #[tokio::test]
    async fn memory_storage_lists_and_ages_the_same_way() {
        let s = crate::storage::MemoryStorage::new();
        store(&s, Target::Key("key1".into()), b"k").await;
        store(&s, obj("a/b.txt", false), b"o").await;
        let list = s.as_list().expect("memory storage lists");
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        assert!(list.list_keys(hour_ago).await.unwrap().is_empty());
        assert!(s.set_modified("key1", hour_ago - Duration::from_secs(1)));
        let keys = list.list_keys(hour_ago).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "key1");
        assert!(list.list_objects(hour_ago).await.unwrap().is_empty());
        let later = SystemTime::now() + Duration::from_secs(60);
        let objects = list.list_objects(later).await.unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].name, "a/b.txt");
        assert!(!list
            .delete_object_if_older("a/b.txt", hour_ago)
            .await
            .unwrap());
        assert!(list.delete_if_older("key1", hour_ago).await.unwrap());
        assert!(list.delete_object_if_older("a/b.txt", later).await.unwrap());
        assert!(s.is_empty());
    }

    #[tokio::test]
    async fn keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path()).unwrap();
        assert!(s.open("../etc").await.is_err());
        assert!(s.stage(Target::Key("a/b".into())).await.is_err());
        assert!(s.stage(obj("../x", true)).await.is_err());
    }
}
