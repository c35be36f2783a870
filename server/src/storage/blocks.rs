//! Appending to a local file in blocks on the blocking pool, one block written while the next
//! fills, with the kernel asked to start writing each block back at once — so the final fsync
//! has only the tail left, and a 1 GiB upload never sits whole in the page cache.
//!
//! Blocks are sized to the upload and bounded in total: every writer starts with a 64 KiB
//! block (all a small file ever uses), moves to 1 MiB blocks once it has filled one, and only
//! while all writers together hold less than 64 MiB of them; past that it goes on with its one
//! 64 KiB block, refilled once its write is done. Large blocks are pooled for the next writer.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::task::{spawn_blocking, JoinHandle};

/// The large block: bytes gathered before one write to disk once an upload has shown it is
/// large. A writer holds at most two blocks: one filling while the other is written.
pub(crate) const BLOCK: usize = 1024 * 1024;

/// Every writer starts with a block this small, so a small file never costs a large one (nor
/// the `mmap`/`munmap` of a fresh 1 MiB allocation), and a writer past the large blocks'
/// budget goes on with small ones.
pub(crate) const SMALL_BLOCK: usize = 64 * 1024;

/// Most bytes all writers of the process may hold in large blocks at once. With 1,000 uploads
/// at once, the rest write in small blocks: memory stays bounded whatever the concurrency.
const LARGE_BUDGET: usize = 64 * BLOCK;

/// Large blocks kept for reuse when no writer holds them (part of the budget while held).
const POOLED: usize = 16;

static LARGE_IN_USE: AtomicUsize = AtomicUsize::new(0);
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A block buffer. A large one counts against [`LARGE_BUDGET`] until dropped, wherever it is
/// dropped (a write abandoned on the blocking pool included), and goes back to the pool.
struct Block {
    buf: Vec<u8>,
    len: usize,
    large: bool,
}

impl Block {
    /// A large block, if the budget has room.
    fn large() -> Option<Block> {
        if LARGE_IN_USE.fetch_add(BLOCK, Ordering::AcqRel) + BLOCK > LARGE_BUDGET {
            LARGE_IN_USE.fetch_sub(BLOCK, Ordering::AcqRel);
            return None;
        }
        let pooled = POOL.lock().ok().and_then(|mut p| p.pop());
        Some(Block {
            buf: pooled.unwrap_or_else(|| Vec::with_capacity(BLOCK)),
            len: BLOCK,
            large: true,
        })
    }

    fn small() -> Block {
        Block {
            buf: Vec::with_capacity(SMALL_BLOCK),
            len: SMALL_BLOCK,
            large: false,
        }
    }

    fn room(&self) -> usize {
        self.len - self.buf.len()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.large {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            if let Ok(mut pool) = POOL.lock() {
                if pool.len() < POOLED {
                    pool.push(buf);
                }
            }
            LARGE_IN_USE.fetch_sub(BLOCK, Ordering::AcqRel);
        }
    }
}

/// A block goes to the kernel in writes of this size. Whole 1 MiB writes at 1 MiB-aligned
/// offsets make the page cache allocate 1 MiB folios, which were often 2-4x slower to fill on
/// the benchmark VM (see bench/RESULTS.md); smaller writes only cost a few more syscalls.
const WRITE_PIECE: usize = 256 * 1024;

/// A block being written on the blocking pool; it hands back the file and the block.
type BlockWrite = JoinHandle<io::Result<(File, Block)>>;

/// The file a writer appends to.
enum Handle {
    Open(File),
    /// To be created (never replacing a file) by the first trip to the blocking pool that
    /// writes to it: a small file is created, written, flushed and put in place in one trip.
    ToCreate(PathBuf),
}

impl Handle {
    /// On the blocking pool.
    fn open(self) -> io::Result<File> {
        match self {
            Handle::Open(file) => Ok(file),
            Handle::ToCreate(path) => create_new_file(&path),
        }
    }
}

/// A new file at `path`, open to write, never replacing one (blocking). A directory that is
/// missing (the first file of a store, or one removed while the server runs) is made, and its
/// name flushed in its parent.
pub(crate) fn create_new_file(path: &Path) -> io::Result<File> {
    let create = || File::options().write(true).create_new(true).open(path);
    match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = path.parent().ok_or(e)?;
            std::fs::create_dir_all(dir)?;
            if let Some(parent) = dir.parent() {
                File::open(parent)?.sync_all()?;
            }
            create()
        }
        other => other,
    }
}

pub(crate) struct BlockWriter {
    /// `None` while a block is being written on the blocking pool.
    file: Option<Handle>,
    /// The block being filled; never grows past its length.
    buf: Block,
    /// The other block, back from the blocking pool and empty, to be filled next.
    spare: Option<Block>,
    inflight: Option<BlockWrite>,
    /// Where the next block goes: the file's length once every block is written.
    offset: u64,
}

impl BlockWriter {
    /// Appends to `file`, whose write position is at `offset` (its end).
    pub fn new(file: File, offset: u64) -> Self {
        Self::with(Handle::Open(file), offset)
    }

    /// Writes a new file at `path`, created with the first bytes that go to disk (it must not
    /// exist).
    pub fn create(path: PathBuf) -> Self {
        Self::with(Handle::ToCreate(path), 0)
    }

    fn with(file: Handle, offset: u64) -> Self {
        BlockWriter {
            file: Some(file),
            buf: Block::small(),
            spare: None,
            inflight: None,
            offset,
        }
    }

    pub async fn write(&mut self, mut rest: &[u8]) -> io::Result<()> {
        // Fill the block exactly: appending a whole chunk past its length would make the
        // buffer reallocate (to twice its size, copying what it holds). A full block goes to
        // disk when more bytes come, so a file that fits one block goes with its end.
        while !rest.is_empty() {
            if self.buf.room() == 0 {
                self.flush_block().await?;
            }
            let take = self.buf.room().min(rest.len());
            self.buf.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        Ok(())
    }

    /// Writes what is buffered, and hands back the flush of every byte written so far, to run
    /// on a second handle to the file while the writer goes on.
    pub async fn flush_behind(
        &mut self,
    ) -> io::Result<impl std::future::Future<Output = io::Result<()>> + Send + 'static> {
        self.flush_block().await?;
        self.settle().await?;
        let file = match self.file.take().expect("file present after settle") {
            Handle::Open(file) => file,
            // Nothing written yet: the file is made now.
            created => spawn_blocking(move || created.open()).await??,
        };
        let second = file.try_clone();
        self.file = Some(Handle::Open(file));
        let second = second?;
        Ok(async move { spawn_blocking(move || second.sync_data()).await? })
    }

    /// Writes what is buffered with `then` on the same trip to the blocking pool, and returns
    /// what `then` returns: for a small file, the whole write, its fsync and its commit cost
    /// one hand-off instead of three.
    pub async fn finish_with<T, F>(mut self, then: F) -> io::Result<T>
    where
        F: FnOnce(File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.settle().await?;
        let handle = self.file.take().expect("file present after settle");
        let block = std::mem::replace(&mut self.buf, Block::empty());
        spawn_blocking(move || {
            let mut file = handle.open()?;
            for piece in block.buf.chunks(WRITE_PIECE) {
                file.write_all(piece)?;
            }
            drop(block);
            then(file)
        })
        .await?
    }

    /// Gives the writer up: the future ends once a block write in flight (which may be the
    /// one that creates the file) has ended, so what the caller removes next stays removed.
    pub fn abandon(mut self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let inflight = self.inflight.take();
        async move {
            if let Some(job) = inflight {
                let _ = job.await;
            }
        }
    }

    async fn settle(&mut self) -> io::Result<()> {
        // Taken only once it ended: a writer dropped while it waits still holds the job, for
        // `abandon` to wait for.
        if let Some(job) = self.inflight.as_mut() {
            let done = job.await;
            self.inflight = None;
            let (file, mut block) = done??;
            block.buf.clear();
            self.file = Some(Handle::Open(file));
            self.spare = Some(block);
        }
        Ok(())
    }

    async fn flush_block(&mut self) -> io::Result<()> {
        self.settle().await?;
        if self.buf.buf.is_empty() {
            return Ok(());
        }
        // The first block filled: the upload is not small, so the next may be large. A small
        // spare is not reused once a large block can be had.
        let spare = self.spare.take().filter(|b| b.large);
        let next = spare.or_else(Block::large);
        // Past the large blocks' budget a writer keeps one small block: it waits for the
        // block's write before filling it again. The connection is not held up meanwhile
        // (actix-web goes on reading its socket into its own buffer), and with many uploads
        // at once this halves what each one holds.
        let alone = next.is_none();
        let next = next.unwrap_or_else(Block::empty);
        let block = std::mem::replace(&mut self.buf, next);
        let handle = self.file.take().expect("file present after settle");
        let offset = self.offset;
        self.offset += block.buf.len() as u64;
        self.inflight = Some(spawn_blocking(move || {
            let mut file = handle.open()?;
            for piece in block.buf.chunks(WRITE_PIECE) {
                file.write_all(piece)?;
            }
            start_writeback(&file, offset, block.buf.len());
            Ok((file, block))
        }));
        if alone {
            self.settle().await?;
            self.buf = self.spare.take().expect("the block is back after settle");
        }
        Ok(())
    }
}

impl Block {
    /// Holds nothing (the place of a block handed away).
    fn empty() -> Block {
        Block {
            buf: Vec::new(),
            len: 0,
            large: false,
        }
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if let Some(job) = self.inflight.take() {
            job.abort();
        }
    }
}

/// Asks the kernel to start writing a block to disk now, without waiting for it, so the disk
/// works while the rest of the body arrives and the final fsync has only the tail left to do.
/// A hint: the fsync is what makes the bytes durable, so errors are ignored.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn sync_file_range(fd: i32, offset: i64, nbytes: i64, flags: u32) -> i32;
    }
    const SYNC_FILE_RANGE_WRITE: u32 = 2;
    // SAFETY: a plain syscall on a file descriptor we own; no memory is passed.
    unsafe {
        sync_file_range(
            file.as_raw_fd(),
            offset as i64,
            len as i64,
            SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_after_the_offset_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"head").unwrap();
        let file = File::options().append(true).open(&path).unwrap();
        let mut w = BlockWriter::new(file, 4);
        let data: Vec<u8> = (0..2 * BLOCK + 5).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(7919) {
            w.write(chunk).await.unwrap();
        }
        w.finish_with(|f| f.sync_all()).await.unwrap();
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(&stored[..4], b"head");
        assert!(stored[4..] == data[..]);
    }

    #[test]
    fn large_blocks_stay_within_their_budget() {
        let held: Vec<Option<Block>> = (0..2 * LARGE_BUDGET / BLOCK)
            .map(|_| Block::large())
            .collect();
        let large = held.iter().flatten().count();
        assert!(large * BLOCK <= LARGE_BUDGET, "{large} large blocks");
        assert!(
            held.iter().any(Option::is_none),
            "past the budget there are none"
        );
        assert!(LARGE_IN_USE.load(Ordering::Acquire) <= LARGE_BUDGET);
        drop(held);
        // Given back: a large block can be had again.
        assert!(Block::large().is_some() || LARGE_IN_USE.load(Ordering::Acquire) > 0);
    }

    #[tokio::test]
    async fn past_the_budget_a_writer_refills_its_one_small_block() {
        // Every large block taken (by "other uploads"): this writer gets none.
        let mut others = Vec::new();
        while let Some(b) = Block::large() {
            others.push(b);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = BlockWriter::new(File::create(&path).unwrap(), 0);
        let data: Vec<u8> = (0..5 * SMALL_BLOCK + 17).map(|i| (i % 253) as u8).collect();
        let mut refilled = 0;
        for chunk in data.chunks(10_007) {
            // Blocks other tests give back meanwhile are taken too.
            while let Some(b) = Block::large() {
                others.push(b);
            }
            w.write(chunk).await.unwrap();
            assert!(w.spare.as_ref().is_none_or(|b| b.large), "no small spare");
            if !w.buf.large && w.offset > 0 {
                assert!(w.inflight.is_none(), "its write done before it fills again");
                refilled += 1;
            }
        }
        assert!(refilled > 0);
        drop(others);
        w.finish_with(|f| f.sync_all()).await.unwrap();
        assert!(std::fs::read(&path).unwrap() == data);
    }

    #[tokio::test]
    async fn a_small_file_is_written_in_one_small_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = BlockWriter::new(File::create(&path).unwrap(), 0);
        assert!(!w.buf.large);
        w.write(&[7u8; 1000]).await.unwrap();
        assert!(w.inflight.is_none(), "nothing written before the end");
        let len = w
            .finish_with(|f| f.metadata().map(|m| m.len()))
            .await
            .unwrap();
        assert_eq!(len, 1000);
    }
}
