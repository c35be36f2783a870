//! Where resumable (tus) uploads keep their bytes until the last one arrives.
//!
//! A store holds bytes only: an upload's offset, length, lock and expiry live in its record, so
//! any instance can continue an upload another one started. The tus front end writes at the
//! recorded offset, records the offset a write made durable, and on the last byte either adopts
//! the bytes as the stored file (no copy) or reads them back through the ingest checks.
//!
//! Two stores: [`LocalResumable`], files in a directory (the default next to `LocalStorage`,
//! or any `UpliftBuilder::tus_dir`), and the S3 store of `S3Storage` (parts of a multipart
//! upload in the bucket, nothing on the instance's disk).

use std::io::{self, ErrorKind, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::blocks::{create_new_file, BlockWriter};
use super::{check_key, remove_file, Storage};
use crate::group_sync::GroupSync;

/// The bytes of resumable uploads in progress, by upload key.
#[async_trait]
pub trait ResumableStore: Send + Sync + 'static {
    /// Makes room for a new, empty upload.
    async fn create(&self, key: &str) -> io::Result<()>;

    /// Continues an upload from `offset`, the offset last recorded: bytes the store holds past
    /// it were never acknowledged and are dropped.
    async fn append(&self, key: &str, offset: u64) -> io::Result<Box<dyn ResumableWrite>>;

    /// Makes room for a new upload and opens it to write its first bytes (a creation that
    /// carries them): [`ResumableStore::create`] then [`ResumableStore::append`] at 0, which a
    /// store may do in one step.
    async fn create_writing(&self, key: &str) -> io::Result<Box<dyn ResumableWrite>> {
        self.create(key).await?;
        self.append(key, 0).await
    }

    /// Called when `owner` took the upload's lock from an owner whose lease ran out, which may
    /// still be writing: a store that can makes sure that writer no longer reaches the first
    /// `offset` bytes (the recorded ones).
    async fn fence(&self, _key: &str, _offset: u64, _owner: &str) -> io::Result<()> {
        Ok(())
    }

    /// Every byte of a finished upload, in order.
    async fn read(&self, key: &str) -> io::Result<BoxStream<'static, io::Result<Bytes>>>;

    /// Stores the finished upload `key` as the file `key` of `into` without copying its bytes,
    /// when it can; `Ok(false)` means "copy them instead" (through [`ResumableStore::read`]).
    /// Like a commit, it never replaces an existing file. The upload's bytes stay here until
    /// [`ResumableStore::remove`].
    async fn adopt(&self, key: &str, length: u64, into: &dyn Storage) -> io::Result<bool>;

    /// Removes everything the store holds for `key`; `false` when it held nothing.
    async fn remove(&self, key: &str) -> io::Result<bool>;

    /// Keys of the uploads the store holds bytes of, last written before `before` (the orphan
    /// sweep removes those without a record).
    async fn list(&self, before: SystemTime) -> io::Result<Vec<String>>;

    /// The directory on this machine the store keeps its bytes in, if it does (it tells apart
    /// instances on one host in their default instance ids).
    fn local_dir(&self) -> Option<&Path> {
        None
    }

    /// Removes leftovers older than `before` that belong to no upload (an interrupted
    /// takeover copy). How many.
    async fn cleanup(&self, _before: SystemTime) -> io::Result<usize> {
        Ok(0)
    }
}

/// A checkpoint's flush in flight: when it is done, bytes are durable up to the offset it
/// answers.
pub type Flushing = BoxFuture<'static, io::Result<u64>>;

/// One request's bytes, appended to an upload.
#[async_trait]
pub trait ResumableWrite: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: Bytes) -> io::Result<()>;

    /// Makes bytes durable, and answers up to which offset they are: every byte written (a
    /// file), or the last part boundary (a store that keeps bytes in parts).
    async fn checkpoint(&mut self) -> io::Result<u64>;

    /// [`ResumableWrite::checkpoint`] run beside the writes that follow: what must happen
    /// before the next write happens now, and the flush is handed back to be awaited while
    /// bytes go on arriving. By default the whole checkpoint happens now.
    async fn checkpoint_behind(&mut self) -> io::Result<Flushing> {
        let offset = self.checkpoint().await?;
        Ok(Box::pin(async move { Ok(offset) }))
    }

    /// Ends the write, keeping the upload's first `keep` bytes durably: every byte written, or
    /// (when the request was refused) an offset that was durable before. `last` when those are
    /// every byte of the upload.
    async fn finish(self: Box<Self>, keep: u64, last: bool) -> io::Result<()>;

    /// Told before [`ResumableWrite::finish`] when the upload is stored as soon as this write
    /// ends and no offset of it is ever recorded (its creation carried every byte): what only
    /// a resume would need may be skipped.
    fn stored_at_once(&mut self) {}
}

/// Files in a directory, one per upload, named by key, written at the recorded offset.
#[derive(Debug, Clone)]
pub struct LocalResumable {
    dir: PathBuf,
    /// Makes new files' names in `dir` durable, many creations to one flush.
    entries: Arc<GroupSync>,
}

impl LocalResumable {
    /// A store in `dir` (created when the first upload is).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        LocalResumable {
            entries: Arc::new(GroupSync::dir(dir.clone())),
            dir,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}

#[async_trait]
impl ResumableStore for LocalResumable {
    /// The empty file and its name are durable before the client learns the upload's URL.
    async fn create(&self, key: &str) -> io::Result<()> {
        self.new_file(key).await?;
        self.entries.durable().await
    }

    /// The file is created with its first bytes (a small upload's whole write is one trip to
    /// the blocking pool), and never replaces one. Nothing is flushed yet: the first offset
    /// the upload records (a checkpoint, the end of the write) flushes the file and its name.
    async fn create_writing(&self, key: &str) -> io::Result<Box<dyn ResumableWrite>> {
        Ok(Box::new(LocalWrite {
            out: BlockWriter::create(self.path(key)?),
            written: 0,
            unsynced_name: Some(self.entries.clone()),
        }))
    }

    /// A new inode with the recorded bytes, so a handle the old owner holds no longer
    /// reaches them.
    async fn fence(&self, key: &str, offset: u64, owner: &str) -> io::Result<()> {
        fresh_copy(&self.path(key)?, offset, owner).await
    }

    async fn append(&self, key: &str, offset: u64) -> io::Result<Box<dyn ResumableWrite>> {
        let path = self.path(key)?;
        let file = tokio::task::spawn_blocking(move || -> io::Result<std::fs::File> {
            let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
            // Bytes past the recorded offset were never acknowledged (a crash mid-PATCH).
            file.set_len(offset)?;
            file.seek(io::SeekFrom::End(0))?;
            Ok(file)
        })
        .await??;
        Ok(Box::new(LocalWrite {
            out: BlockWriter::new(file, offset),
            written: offset,
            unsynced_name: None,
        }))
    }

    async fn read(&self, key: &str) -> io::Result<BoxStream<'static, io::Result<Bytes>>> {
        let file = tokio::fs::File::open(self.path(key)?).await?;
        Ok(read_file(file).boxed())
    }

    async fn adopt(&self, key: &str, _length: u64, into: &dyn Storage) -> io::Result<bool> {
        into.adopt(&self.path(key)?, key).await
    }

    async fn remove(&self, key: &str) -> io::Result<bool> {
        remove_file(&self.path(key)?).await
    }

    async fn list(&self, before: SystemTime) -> io::Result<Vec<String>> {
        let (uploads, _) = self.scan(before).await?;
        Ok(uploads)
    }

    fn local_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    async fn cleanup(&self, before: SystemTime) -> io::Result<usize> {
        let (_, copies) = self.scan(before).await?;
        let mut removed = 0;
        for name in copies {
            if remove_file(&self.dir.join(name)).await? {
                tracing::info!(
                    outcome = "orphan removed",
                    "an interrupted tus takeover copy removed"
                );
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl LocalResumable {
    /// A new, empty file for the upload `key`, flushed; the directory is made the first
    /// time.
    async fn new_file(&self, key: &str) -> io::Result<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || create_new_file(&path)?.sync_all()).await?
    }

    /// Files last written before `before`: uploads (by key) and takeover copies (by name).
    /// Files of other names are not Uplift's and are left alone.
    async fn scan(&self, before: SystemTime) -> io::Result<(Vec<String>, Vec<String>)> {
        let d = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let (mut uploads, mut copies) = (Vec::new(), Vec::new());
            let rd = match std::fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok((uploads, copies)),
                Err(e) => return Err(e),
            };
            for entry in rd {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let Some(kind) = tus_file(&name) else {
                    continue;
                };
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    // Renamed or removed since it was listed (a takeover finishing its copy).
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                if meta.is_file() && meta.modified()? < before {
                    match kind {
                        TusFile::Upload => uploads.push(name),
                        TusFile::TakeoverCopy => copies.push(name),
                    }
                }
            }
            Ok((uploads, copies))
        })
        .await?
    }
}

/// A PATCH's bytes going into a local file.
struct LocalWrite {
    out: BlockWriter,
    written: u64,
    /// The file was created by this write and its name is not durable yet: flushed with the
    /// first offset made durable, since a recorded offset must find its file after a crash.
    unsynced_name: Option<Arc<GroupSync>>,
}

#[async_trait]
impl ResumableWrite for LocalWrite {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.out.write(&chunk).await?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    async fn checkpoint(&mut self) -> io::Result<u64> {
        self.checkpoint_behind().await?.await
    }

    /// The bytes so far reach the file now; its flush (and its name's, for a new file) runs
    /// on a second handle while the next bytes are written.
    async fn checkpoint_behind(&mut self) -> io::Result<Flushing> {
        let flush = self.out.flush_behind().await?;
        let name = self.unsynced_name.take();
        let offset = self.written;
        Ok(Box::pin(async move {
            flush.await?;
            if let Some(entries) = name {
                entries.durable().await?;
            }
            Ok(offset)
        }))
    }

    /// A file stored at once is in the storage (linked or copied there, durably) before
    /// anyone can resume it: its own name here needs no flush.
    fn stored_at_once(&mut self) {
        self.unsynced_name = None;
    }

    async fn finish(mut self: Box<Self>, keep: u64, _last: bool) -> io::Result<()> {
        let written = self.written;
        let entries = self.unsynced_name.take();
        // The last bytes, the cut back to `keep` and the flush in one trip.
        self.out
            .finish_with(move |file| {
                if keep < written {
                    file.set_len(keep)?;
                }
                file.sync_data()
            })
            .await?;
        match entries {
            Some(entries) => entries.durable().await,
            None => Ok(()),
        }
    }
}

/// A file, in 1 MiB reads.
fn read_file(file: tokio::fs::File) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(1024 * 1024);
        while buf.len() < buf.capacity() {
            if file.read_buf(&mut buf).await? == 0 {
                break;
            }
        }
        Ok((!buf.is_empty()).then(|| (buf.freeze(), file)))
    })
}

/// What a file in the directory is, by its name.
#[derive(Debug, PartialEq, Eq)]
enum TusFile {
    /// An upload's bytes: `{key}`.
    Upload,
    /// The copy a lock takeover writes before it renames it over `{key}`:
    /// `{key}.takeover-{token}`. One that is still there after the grace period was left by a
    /// process that stopped mid-copy (a live copy writes to it until it renames it).
    TakeoverCopy,
}

fn tus_file(name: &str) -> Option<TusFile> {
    if check_key(name).is_ok() {
        return Some(TusFile::Upload);
    }
    let (key, token) = name.split_once(".takeover-")?;
    (check_key(key).is_ok() && check_key(token).is_ok()).then_some(TusFile::TakeoverCopy)
}

/// Replaces the file at `path` by a copy of its first `len` bytes under the same name: a new
/// inode, so a handle opened on the old one (by an owner whose lease ran out) no longer
/// reaches the upload's bytes. A missing file stays missing.
async fn fresh_copy(path: &Path, len: u64, token: &str) -> io::Result<()> {
    let path = path.to_path_buf();
    let tmp = path.with_file_name(format!(
        "{}.takeover-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("upload"),
        token.rsplit(':').next().unwrap_or(token)
    ));
    tokio::task::spawn_blocking(move || -> io::Result<()> {
        let result = (|| {
            let src = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let dst = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            let mut limited = std::io::Read::take(&src, len);
            let mut out = &dst;
            std::io::copy(&mut limited, &mut out)?;
            dst.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tus_files_are_told_apart_by_name() {
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(tus_file(key), Some(TusFile::Upload));
        assert_eq!(
            tus_file(&format!("{key}.takeover-Zm9vYmFy_-")),
            Some(TusFile::TakeoverCopy)
        );
        assert_eq!(tus_file(&format!("{key}.takeover-")), None);
        assert_eq!(tus_file(&format!("{key}.takeover-a/b")), None);
        assert_eq!(tus_file(&format!("../{key}.takeover-x")), None);
        assert_eq!(tus_file("notes.txt"), None);
        assert_eq!(tus_file(".hidden"), None);
    }

    #[tokio::test]
    async fn a_creation_with_bytes_writes_them_and_never_truncates_an_existing_upload() {
        let dir = tempfile::tempdir().unwrap();
        // The directory is made with the first upload.
        let store = LocalResumable::new(dir.path().join("tus"));
        let key = "BBBBBBBBBBBBBBBBBBBBBBBBBBB";
        let mut w = store.create_writing(key).await.unwrap();
        w.write(Bytes::from_static(b"first bytes")).await.unwrap();
        w.finish(11, false).await.unwrap();
        let path = dir.path().join("tus").join(key);
        assert_eq!(std::fs::read(&path).unwrap(), b"first bytes");
        // A key already there is refused, by either creation, and its bytes stay (a file
        // created with bytes is made when they go to disk: the refusal comes then).
        let mut again = store.create_writing(key).await.unwrap();
        again.write(Bytes::from_static(b"other")).await.unwrap();
        let refused = again.finish(5, true).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            store.create(key).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first bytes");
        // The upload goes on from its recorded offset as any other.
        let mut w = store.append(key, 11).await.unwrap();
        w.write(Bytes::from_static(b"!")).await.unwrap();
        assert_eq!(w.checkpoint().await.unwrap(), 12);
        w.finish(12, true).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first bytes!");
    }

    #[tokio::test]
    async fn a_write_continues_at_the_recorded_offset_and_drops_what_was_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalResumable::new(dir.path().join("tus"));
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
        store.create(key).await.unwrap();
        let mut w = store.append(key, 0).await.unwrap();
        w.write(Bytes::from_static(b"hello world")).await.unwrap();
        assert_eq!(w.checkpoint().await.unwrap(), 11);
        w.finish(11, false).await.unwrap();
        // Only 6 bytes were recorded: the rest goes.
        let mut w = store.append(key, 6).await.unwrap();
        w.write(Bytes::from_static(b"there")).await.unwrap();
        w.finish(11, true).await.unwrap();
        let mut read = store.read(key).await.unwrap();
        let mut all = Vec::new();
        while let Some(b) = read.next().await {
            all.extend_from_slice(&b.unwrap());
        }
        assert_eq!(all, b"hello there");
        // A refused write keeps what was durable before it.
        let mut w = store.append(key, 11).await.unwrap();
        w.write(Bytes::from_static(b"!!!")).await.unwrap();
        w.finish(11, false).await.unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("tus").join(key))
                .unwrap()
                .len(),
            11
        );
        let future = SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(store.list(future).await.unwrap(), vec![key.to_string()]);
        assert!(store.remove(key).await.unwrap());
        assert!(!store.remove(key).await.unwrap());
    }
}
