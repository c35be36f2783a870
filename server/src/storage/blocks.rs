//! Appending to a local file in large blocks on the blocking pool, one block written while the
//! next fills, with the kernel asked to start writing each block back at once — so the final
//! fsync has only the tail left, and a 1 GiB upload never sits whole in the page cache.

use std::fs::File;
use std::io::{self, Write};

use tokio::task::{spawn_blocking, JoinHandle};

/// Bytes gathered before one write to disk: large writes, bounded memory. A writer holds two
/// blocks: one filling while the other is written.
pub(crate) const BLOCK: usize = 1024 * 1024;

/// A block goes to the kernel in writes of this size. Whole 1 MiB writes at 1 MiB-aligned
/// offsets make the page cache allocate 1 MiB folios, which were often 2-4x slower to fill on
/// the benchmark VM (see bench/RESULTS.md); smaller writes only cost a few more syscalls.
const WRITE_PIECE: usize = 256 * 1024;

/// A block being written on the blocking pool; it hands back the file and the buffer.
type BlockWrite = JoinHandle<io::Result<(File, Vec<u8>)>>;

pub(crate) struct BlockWriter {
    /// `None` while a block is being written on the blocking pool.
    file: Option<File>,
    /// The block being filled; never grows past `BLOCK`.
    buf: Vec<u8>,
    /// The other block, back from the blocking pool and empty, to be filled next.
    spare: Option<Vec<u8>>,
    inflight: Option<BlockWrite>,
    /// Where the next block goes: the file's length once every block is written.
    offset: u64,
}

impl BlockWriter {
    /// Appends to `file`, whose write position is at `offset` (its end).
    pub fn new(file: File, offset: u64) -> Self {
        BlockWriter {
            file: Some(file),
            buf: Vec::with_capacity(BLOCK),
            spare: None,
            inflight: None,
            offset,
        }
    }

    pub async fn write(&mut self, mut rest: &[u8]) -> io::Result<()> {
        // Fill the block exactly: appending a whole chunk past `BLOCK` would make the buffer
        // reallocate (to twice its size, copying what it holds) for nearly every block.
        while !rest.is_empty() {
            let take = (BLOCK - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() >= BLOCK {
                self.flush_block().await?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered and makes it durable; the writer goes on after it.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.flush_block().await?;
        self.settle().await?;
        let file = self.file.take().expect("file present after settle");
        let file = spawn_blocking(move || file.sync_data().map(|()| file)).await??;
        self.file = Some(file);
        Ok(())
    }

    /// Writes what is buffered and hands the file back (not yet fsynced).
    pub async fn finish(mut self) -> io::Result<File> {
        self.flush_block().await?;
        self.settle().await?;
        Ok(self.file.take().expect("file present after settle"))
    }

    async fn settle(&mut self) -> io::Result<()> {
        if let Some(job) = self.inflight.take() {
            let (file, mut block) = job.await??;
            block.clear();
            self.file = Some(file);
            self.spare = Some(block);
        }
        Ok(())
    }

    async fn flush_block(&mut self) -> io::Result<()> {
        self.settle().await?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(BLOCK));
        let block = std::mem::replace(&mut self.buf, next);
        let mut file = self.file.take().expect("file present after settle");
        let offset = self.offset;
        self.offset += block.len() as u64;
        self.inflight = Some(spawn_blocking(move || {
            for piece in block.chunks(WRITE_PIECE) {
                file.write_all(piece)?;
            }
            start_writeback(&file, offset, block.len());
            Ok((file, block))
        }));
        Ok(())
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
        w.finish().await.unwrap().sync_all().unwrap();
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(&stored[..4], b"head");
        assert!(stored[4..] == data[..]);
    }
}
