//! `Writer`: the write side of the copy, off the read path: a writer thread `pwrite`s what the
//! rescuer read (in submission order) and hands the buffers to a hasher thread, which feeds the
//! image's hash and returns them to a fixed pool. The reader never waits on the hash unless
//! the pool runs dry.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::aligned_buf::AlignedBuf;
use super::hasher::ImageHasher;

enum Job {
    Data {
        seq: u64,
        pos: u64,
        buf: AlignedBuf,
        len: usize,
    },
    Flush(SyncSender<std::io::Result<()>>),
}

/// The first failed write: its position and error.
pub(crate) type WriteFailure = (u64, std::io::Error);

/// The writer and hasher threads and the buffer pool.
pub(crate) struct Writer {
    jobs: Option<SyncSender<Job>>,
    pool: Receiver<AlignedBuf>,
    pool_return: Sender<AlignedBuf>,
    written_seq: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<WriteFailure>>>,
    writer: Option<JoinHandle<()>>,
    hasher: Option<JoinHandle<ImageHasher>>,
    idle_hasher: Option<ImageHasher>,
    next_seq: u64,
}

/// Starts writeback of the image as it is written (Linux `sync_file_range`), one window
/// behind, so the final fdatasync has little left to do and dirty pages stay bounded.
#[derive(Default)]
struct WriteBehind {
    /// The range being collected: `(start, len)`.
    current: Option<(u64, u64)>,
    /// The range whose writeback was started last.
    previous: Option<(libc::off64_t, libc::off64_t)>,
}

/// Bytes collected before their writeback is started.
const WRITE_BEHIND: u64 = 32 << 20;

impl WriteBehind {
    fn wrote(&mut self, file: &File, pos: u64, len: u64) {
        match &mut self.current {
            Some((start, n)) if *start + *n == pos => *n += len,
            _ => {
                self.start(file);
                self.current = Some((pos, len));
            }
        }
        if self.current.is_some_and(|(_, n)| n >= WRITE_BEHIND) {
            self.start(file);
        }
    }

    /// Starts writeback of the current range and waits for the previous one's.
    fn start(&mut self, file: &File) {
        use std::os::fd::AsRawFd;
        let Some((start, len)) = self.current.take() else {
            return;
        };
        let fd = file.as_raw_fd();
        let (Ok(start), Ok(len)) = (libc::off64_t::try_from(start), libc::off64_t::try_from(len))
        else {
            return;
        };
        if let Some((ps, pl)) = self.previous.take() {
            // SAFETY: a plain syscall on an fd we own; an error only means no write-behind.
            unsafe {
                libc::sync_file_range(
                    fd,
                    ps,
                    pl,
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE
                        | libc::SYNC_FILE_RANGE_WRITE
                        | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                )
            };
        }
        // SAFETY: as above.
        unsafe { libc::sync_file_range(fd, start, len, libc::SYNC_FILE_RANGE_WRITE) };
        self.previous = Some((start, len));
    }
}

fn is_zero(data: &[u8]) -> bool {
    let mut chunks = data.chunks_exact(64);
    let whole = chunks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0);
    whole && chunks.remainder().iter().all(|&b| b == 0)
}

impl Writer {
    /// Starts the threads writing to `file`, with `buffers` buffers of `buf_size` bytes.
    /// With `sparse`, zero buffers at or past `sparse_from` are not written.
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
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(buffers);
        let written_seq = Arc::new(AtomicU64::new(0));
        let failure: Arc<Mutex<Option<WriteFailure>>> = Arc::new(Mutex::new(None));
        let (hash_tx, hasher_handle, idle_hasher) = if hasher.enabled() {
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
        let back = pool_tx.clone();
        let seq_w = Arc::clone(&written_seq);
        let fail_w = Arc::clone(&failure);
        let writer = std::thread::Builder::new()
            .name("salvage-write".into())
            .spawn(move || {
                let mut failed = false;
                let mut behind = WriteBehind::default();
                for job in jobs_rx {
                    match job {
                        Job::Data { seq, pos, buf, len } => {
                            if !failed {
                                let data = &buf.as_slice()[..len];
                                let skip =
                                    sparse_from.is_some_and(|from| pos >= from) && is_zero(data);
                                let result = if skip {
                                    Ok(())
                                } else {
                                    file.write_all_at(data, pos)
                                };
                                match result {
                                    Ok(()) => {
                                        seq_w.store(seq, Ordering::Release);
                                        if !skip {
                                            behind.wrote(&file, pos, len as u64);
                                        }
                                    }
                                    Err(e) => {
                                        failed = true;
                                        if let Ok(mut f) = fail_w.lock() {
                                            *f = Some((pos, e));
                                        }
                                    }
                                }
                            }
                            match &hash_tx {
                                Some(tx) if !failed => {
                                    if let Err(std::sync::mpsc::SendError((_, buf, _))) =
                                        tx.send((pos, buf, len))
                                    {
                                        let _ = back.send(buf);
                                    }
                                }
                                _ => {
                                    let _ = back.send(buf);
                                }
                            }
                        }
                        Job::Flush(reply) => {
                            let result = if failed {
                                Err(std::io::Error::other("an earlier write failed"))
                            } else {
                                file.sync_data()
                            };
                            let _ = reply.send(result);
                        }
                    }
                }
            })?;
        Ok(Self {
            jobs: Some(jobs_tx),
            pool: pool_rx,
            pool_return: pool_tx,
            written_seq,
            failure,
            writer: Some(writer),
            hasher: hasher_handle,
            idle_hasher,
            next_seq: 1,
        })
    }

    /// A free buffer (waits while all are in flight); `None` if the threads are gone.
    pub(crate) fn take_buf(&self) -> Option<AlignedBuf> {
        self.pool.recv().ok()
    }

    /// Returns an unused buffer to the pool.
    pub(crate) fn give_back(&self, buf: AlignedBuf) {
        let _ = self.pool_return.send(buf);
    }

    /// Queues `buf[..len]` for writing at `pos`; returns its sequence number, or `None` when
    /// the writer is gone.
    pub(crate) fn submit(&mut self, pos: u64, buf: AlignedBuf, len: usize) -> Option<u64> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.jobs
            .as_ref()?
            .send(Job::Data { seq, pos, buf, len })
            .ok()?;
        Some(seq)
    }

    /// The highest sequence number written so far (writes complete in order).
    pub(crate) fn written_seq(&self) -> u64 {
        self.written_seq.load(Ordering::Acquire)
    }

    /// True when a write failed.
    pub(crate) fn has_failed(&self) -> bool {
        self.failure.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    /// Takes the first write failure, if any.
    pub(crate) fn take_failure(&self) -> Option<WriteFailure> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// Waits until everything queued is written, then fdatasyncs the image.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let (tx, rx) = sync_channel(1);
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| std::io::Error::other("writer stopped"))?;
        jobs.send(Job::Flush(tx))
            .map_err(|_| std::io::Error::other("writer stopped"))?;
        rx.recv()
            .map_err(|_| std::io::Error::other("writer stopped"))?
    }

    /// Stops the threads; returns the hash state and the first write failure, if any.
    pub(crate) fn finish(mut self) -> (Option<ImageHasher>, Option<WriteFailure>) {
        drop(self.jobs.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        let hasher = match self.hasher.take() {
            Some(h) => h.join().ok(),
            None => self.idle_hasher.take(),
        };
        let failure = self.failure.lock().ok().and_then(|mut f| f.take());
        (hasher, failure)
    }
}
