//! `Writer`: the write side of the copy. The rescuer writes each good read itself, at once,
//! while the bytes are still in its CPU cache (a copy to another thread first costs more than
//! the write); the image's hash is computed on a hasher thread from the same buffers, and a
//! write-behind thread starts the disk writeback (`sync_file_range`) as the image grows, so
//! the fsync before each map save has little left to do. A buffer goes back to a fixed pool
//! once hashed: the rescuer only waits for the hash when the pool runs dry.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::aligned_buf::AlignedBuf;
use super::hasher::ImageHasher;

/// Bytes collected before their writeback is started.
const WRITE_BEHIND: u64 = 32 << 20;

/// The image file, the hasher thread, the write-behind thread and the buffer pool.
pub(crate) struct Writer {
    file: File,
    sparse_from: Option<u64>,
    pool: Receiver<AlignedBuf>,
    pool_return: Sender<AlignedBuf>,
    to_hash: Option<SyncSender<(u64, AlignedBuf, usize)>>,
    hasher: Option<JoinHandle<ImageHasher>>,
    idle_hasher: Option<ImageHasher>,
    written: Option<SyncSender<(u64, u64)>>,
    behind: Option<JoinHandle<()>>,
}

fn is_zero(data: &[u8]) -> bool {
    let mut chunks = data.chunks_exact(64);
    let whole = chunks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0);
    whole && chunks.remainder().iter().all(|&b| b == 0)
}

/// Starts writeback of `[start, start + len)`; with `wait`, also waits until it is written.
fn sync_range(file: &File, start: u64, len: u64, wait: bool) {
    let (Ok(start), Ok(len)) = (libc::off64_t::try_from(start), libc::off64_t::try_from(len))
    else {
        return;
    };
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    // SAFETY: a plain syscall on an open fd; an error only means no early writeback.
    unsafe { libc::sync_file_range(file.as_raw_fd(), start, len, flags) };
}

/// The write-behind loop: collects contiguous written ranges, starts their writeback every
/// `WRITE_BEHIND` bytes and waits for the previous window, which bounds the dirty data.
fn write_behind(file: File, ranges: Receiver<(u64, u64)>) {
    let mut current: Option<(u64, u64)> = None;
    let mut previous: Option<(u64, u64)> = None;
    let start = |range: Option<(u64, u64)>, previous: &mut Option<(u64, u64)>| {
        if let Some((s, n)) = range {
            sync_range(&file, s, n, false);
            if let Some((ps, pn)) = previous.replace((s, n)) {
                sync_range(&file, ps, pn, true);
            }
        }
    };
    for (pos, len) in ranges {
        match &mut current {
            Some((s, n)) if *s + *n == pos => *n += len,
            _ => {
                start(current.take(), &mut previous);
                current = Some((pos, len));
            }
        }
        if current.is_some_and(|(_, n)| n >= WRITE_BEHIND) {
            start(current.take(), &mut previous);
        }
    }
}

impl Writer {
    /// Starts the threads for `file`, with `buffers` buffers of `buf_size` bytes. With
    /// `sparse_from`, zero blocks at or past that position are not written.
    pub(crate) fn start(
        file: File,
        hasher: ImageHasher,
        buffers: usize,
        buf_size: usize,
        sparse_from: Option<u64>,
    ) -> std::io::Result<Self> {
        let (pool_tx, pool_rx) = channel();
        for _ in 0..buffers {
            let _ = pool_tx.send(AlignedBuf::new(buf_size));
        }
        let (to_hash, hasher_handle, idle_hasher) = if hasher.enabled() {
            let (tx, rx) = sync_channel::<(u64, AlignedBuf, usize)>(buffers);
            let back = pool_tx.clone();
            let handle = std::thread::Builder::new()
                .name("salvage-hash".into())
                .spawn(move || {
                    let mut hasher = hasher;
                    for (pos, buf, len) in rx {
                        hasher.offer(pos, &buf.as_slice()[..len]);
                        let _ = back.send(buf);
                    }
                    hasher
                })?;
            (Some(tx), Some(handle), None)
        } else {
            (None, None, Some(hasher))
        };
        let behind_file = file.try_clone()?;
        let (written_tx, written_rx) = sync_channel::<(u64, u64)>(64);
        let behind = std::thread::Builder::new()
            .name("salvage-writeback".into())
            .spawn(move || write_behind(behind_file, written_rx))?;
        Ok(Self {
            file,
            sparse_from,
            pool: pool_rx,
            pool_return: pool_tx,
            to_hash,
            hasher: hasher_handle,
            idle_hasher,
            written: Some(written_tx),
            behind: Some(behind),
        })
    }

    /// A free buffer (waits while all are being hashed); `None` if the hasher is gone.
    pub(crate) fn take_buf(&self) -> Option<AlignedBuf> {
        self.pool.recv().ok()
    }

    /// Returns an unused buffer to the pool.
    pub(crate) fn give_back(&self, buf: AlignedBuf) {
        let _ = self.pool_return.send(buf);
    }

    /// Writes `buf[..len]` at `pos` now, then hands the buffer to the hasher. On an error the
    /// buffer goes back to the pool and nothing was hashed.
    pub(crate) fn write(&mut self, pos: u64, buf: AlignedBuf, len: usize) -> std::io::Result<()> {
        let data = &buf.as_slice()[..len];
        let skip = self.sparse_from.is_some_and(|from| pos >= from) && is_zero(data);
        if !skip {
            if let Err(e) = self.file.write_all_at(data, pos) {
                self.give_back(buf);
                return Err(e);
            }
            if let Some(w) = &self.written {
                let _ = w.send((pos, len as u64));
            }
        }
        match &self.to_hash {
            Some(tx) => {
                if let Err(std::sync::mpsc::SendError((_, buf, _))) = tx.send((pos, buf, len)) {
                    self.give_back(buf);
                }
            }
            None => self.give_back(buf),
        }
        Ok(())
    }

    /// Makes everything written so far durable (fdatasync).
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Stops the threads and returns the hash state.
    pub(crate) fn finish(mut self) -> Option<ImageHasher> {
        drop(self.to_hash.take());
        drop(self.written.take());
        if let Some(b) = self.behind.take() {
            let _ = b.join();
        }
        match self.hasher.take() {
            Some(h) => h.join().ok(),
            None => self.idle_hasher.take(),
        }
    }
}
