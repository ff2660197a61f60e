//! `Writer`: the write side of the copy. The rescuer writes each good read itself, at once,
//! while the bytes are still in its CPU cache (a copy to another thread first costs more than
//! the write), or has the kernel copy a good area straight from the source into the image
//! (`copy_file_range`, [`Writer::copied`]). The image's hash is computed on a hasher thread:
//! from the same buffers, or, for kernel copies, from the image pages the copy just filled
//! ([`ImagePages`]). The writer keeps the ranges written since the last fdatasync; a sync
//! thread makes them durable in the background ([`Writer::start_sync`]), so the copy never
//! waits for the disk unless asked to ([`Writer::flush`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use super::aligned_buf::{ALIGN, AlignedBuf};
use super::hasher::ImageHasher;
use super::image_pages::ImagePages;
use super::unsynced::add_range;

/// Pieces waiting for the hasher at most. Kept short so the hasher reads bytes the copy has
/// just touched while they are still in the CPU's cache: on a 2-core machine this took the
/// healthy-file benchmark from 1.01 s to 0.88 s (median of 5; `cp`: 0.81 s).
const HASH_QUEUE: usize = 4;

/// Pieces shorter than this are not hashed from memory: they come from trimming, scraping and
/// retrying (a sector at a time, between reads of a failing disk), and the 1 MiB leaves they
/// fall in hold unrescued sectors, so the hasher reads those leaves back from the image at
/// the end anyway. Handing each sector to the hasher thread cost a thread wake-up per read:
/// 1000 scattered bad sectors on 256 MiB took 13.4 s instead of 3.5 s.
const HASH_INLINE_MIN: usize = 64 * 1024;

/// Pieces are handed to the hasher in batches of this many bytes (or as soon as the rescuer
/// needs their buffers back), so a run of cluster-sized reads wakes the hasher once per batch
/// rather than once per read.
const HASH_BATCH_BYTES: usize = 1 << 20;

/// What the hasher is given: a buffer that was written, or a range of the image the kernel
/// copied (hashed from the image's pages).
enum Piece {
    Buffer(u64, AlignedBuf, usize),
    InImage(u64, usize),
}

/// An fdatasync of the image failed: the bytes written since the sync before may not be on
/// disk, whatever a later fsync says (the kernel reports a writeback error once).
#[derive(Debug)]
pub(crate) struct SyncFailure {
    pub(crate) err: std::io::Error,
    /// The ranges that may be lost.
    pub(crate) lost: Vec<(u64, u64)>,
}

/// The image file, the hasher and sync threads, the buffer pool and what is not yet on disk.
pub(crate) struct Writer {
    file: File,
    /// The image opened O_DIRECT (`--odirect`): aligned writes go through it.
    direct: Option<File>,
    sparse_from: Option<u64>,
    pool: Receiver<AlignedBuf>,
    pool_return: Sender<AlignedBuf>,
    to_hash: Option<SyncSender<Vec<Piece>>>,
    /// Pieces not yet handed to the hasher, and their bytes.
    batch: Vec<Piece>,
    batch_bytes: usize,
    hasher: Option<JoinHandle<ImageHasher>>,
    idle_hasher: Option<ImageHasher>,
    /// Written since the last sync was started.
    pending: Vec<(u64, u64)>,
    /// Written before the sync now running started.
    in_flight: Option<Vec<(u64, u64)>>,
    sync_request: Option<Sender<()>>,
    sync_done: Receiver<std::io::Result<()>>,
}

fn is_zero(data: &[u8]) -> bool {
    let mut chunks = data.chunks_exact(64);
    let whole = chunks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0);
    whole && chunks.remainder().iter().all(|&b| b == 0)
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
            let (tx, rx) = sync_channel::<Vec<Piece>>(HASH_QUEUE.min(buffers));
            let back = pool_tx.clone();
            let image = file.try_clone()?;
            let handle = std::thread::Builder::new()
                .name("salvage-hash".into())
                .spawn(move || {
                    let mut hasher = hasher;
                    let mut pages = ImagePages::new(image);
                    for piece in rx.into_iter().flatten() {
                        match piece {
                            Piece::Buffer(pos, buf, len) => {
                                hasher.offer(pos, &buf.as_slice()[..len]);
                                let _ = back.send(buf);
                            }
                            Piece::InImage(pos, len) => {
                                // If the bytes cannot be read here, the hasher reads the gap
                                // back from the image at the end.
                                pages.with_bytes(pos, len, |b| hasher.offer(pos, b));
                            }
                        }
                    }
                    hasher
                })?;
            (Some(tx), Some(handle), None)
        } else {
            (None, None, Some(hasher))
        };
        let sync_file = file.try_clone()?;
        let (request_tx, request_rx) = channel::<()>();
        let (done_tx, done_rx) = channel();
        // Never joined: a sync still running when the rescue ends finishes on its own.
        std::thread::Builder::new()
            .name("salvage-sync".into())
            .spawn(move || {
                for () in request_rx {
                    if done_tx.send(sync_file.sync_data()).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            file,
            sparse_from,
            pool: pool_rx,
            pool_return: pool_tx,
            direct: None,
            to_hash,
            batch: Vec::new(),
            batch_bytes: 0,
            hasher: hasher_handle,
            idle_hasher,
            pending: Vec::new(),
            in_flight: None,
            sync_request: Some(request_tx),
            sync_done: done_rx,
        })
    }

    /// Writes aligned pieces through `direct` (the image opened O_DIRECT) from now on.
    pub(crate) fn write_direct(&mut self, direct: File) {
        self.direct = Some(direct);
    }

    /// True when kernel copies may write the image (not in sparse mode, where every block
    /// must be looked at before it is written, nor with direct output).
    pub(crate) fn takes_kernel_copies(&self) -> bool {
        self.sparse_from.is_none() && self.direct.is_none()
    }

    /// The image, for kernel copies into it.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// A free buffer (waits while all are being hashed); `None` if the hasher is gone.
    pub(crate) fn take_buf(&mut self) -> Option<AlignedBuf> {
        if let Ok(buf) = self.pool.try_recv() {
            return Some(buf);
        }
        // Every buffer is waiting in the batch or at the hasher: hand the batch over first.
        self.send_batch();
        self.pool.recv().ok()
    }

    /// Queues `piece` for the hasher, handing the batch over once it is large enough.
    fn hash_later(&mut self, piece: Piece, len: usize) {
        self.batch.push(piece);
        self.batch_bytes += len;
        if self.batch_bytes >= HASH_BATCH_BYTES {
            self.send_batch();
        }
    }

    /// Hands the queued pieces to the hasher (buffers come back to the pool if it is gone).
    fn send_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        if let Some(tx) = &self.to_hash {
            if let Err(std::sync::mpsc::SendError(batch)) = tx.send(batch) {
                for piece in batch {
                    if let Piece::Buffer(_, buf, _) = piece {
                        let _ = self.pool_return.send(buf);
                    }
                }
            }
        }
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
            let aligned = pos % ALIGN as u64 == 0 && len % ALIGN == 0;
            let file = match &self.direct {
                Some(d) if aligned => d,
                _ => &self.file,
            };
            if let Err(e) = file.write_all_at(data, pos) {
                self.give_back(buf);
                return Err(e);
            }
            add_range(&mut self.pending, pos, len as u64);
        }
        if self.to_hash.is_some() && len >= HASH_INLINE_MIN {
            self.hash_later(Piece::Buffer(pos, buf, len), len);
        } else {
            self.give_back(buf);
        }
        Ok(())
    }

    /// Records that the kernel copied `len` bytes into the image at `pos`, and hashes them.
    pub(crate) fn copied(&mut self, pos: u64, len: u64) {
        add_range(&mut self.pending, pos, len);
        if let (true, Ok(len)) = (self.to_hash.is_some(), usize::try_from(len)) {
            self.hash_later(Piece::InImage(pos, len), len);
        }
    }

    /// Takes the result of the background sync if it has finished.
    pub(crate) fn poll_sync(&mut self) -> Result<(), SyncFailure> {
        if self.in_flight.is_none() {
            return Ok(());
        }
        match self.sync_done.try_recv() {
            Ok(result) => self.sync_finished(result),
            Err(TryRecvError::Empty) => Ok(()),
            Err(TryRecvError::Disconnected) => {
                self.sync_finished(Err(std::io::Error::other("the sync thread stopped")))
            }
        }
    }

    fn sync_finished(&mut self, result: std::io::Result<()>) -> Result<(), SyncFailure> {
        let synced = self.in_flight.take().unwrap_or_default();
        result.map_err(|err| SyncFailure { err, lost: synced })
    }

    /// Starts an fdatasync of everything written so far in the background, unless one is
    /// already running.
    pub(crate) fn start_sync(&mut self) {
        if self.in_flight.is_some() || self.pending.is_empty() {
            return;
        }
        let Some(request) = &self.sync_request else {
            return;
        };
        if request.send(()).is_ok() {
            self.in_flight = Some(std::mem::take(&mut self.pending));
        }
    }

    /// Makes everything written so far durable: waits for the background sync, then
    /// fdatasyncs the image.
    pub(crate) fn flush(&mut self) -> Result<(), SyncFailure> {
        if self.in_flight.is_some() {
            let result = self
                .sync_done
                .recv()
                .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread stopped")));
            if let Err(mut failure) = self.sync_finished(result) {
                for (pos, len) in std::mem::take(&mut self.pending) {
                    add_range(&mut failure.lost, pos, len);
                }
                return Err(failure);
            }
        }
        match self.file.sync_data() {
            Ok(()) => {
                self.pending.clear();
                Ok(())
            }
            Err(err) => Err(SyncFailure {
                err,
                lost: std::mem::take(&mut self.pending),
            }),
        }
    }

    /// The ranges written but not yet known to be on disk.
    pub(crate) fn unsynced(&self) -> Vec<(u64, u64)> {
        let mut all = self.in_flight.clone().unwrap_or_default();
        for &(pos, len) in &self.pending {
            add_range(&mut all, pos, len);
        }
        all
    }

    /// Stops the hasher and returns the hash state. A background sync still running goes on
    /// by itself.
    pub(crate) fn finish(mut self) -> Option<ImageHasher> {
        self.send_batch();
        drop(self.to_hash.take());
        drop(self.sync_request.take());
        match self.hasher.take() {
            Some(h) => h.join().ok(),
            None => self.idle_hasher.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::HashAlgorithm;

    fn writer(dir: &std::path::Path) -> Writer {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("img"))
            .unwrap();
        Writer::start(
            file,
            ImageHasher::new(HashAlgorithm::Blake3, 0, 3 << 20),
            4,
            1 << 20,
            None,
        )
        .unwrap()
    }

    #[test]
    fn tracks_what_is_not_synced_yet() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        let mut buf = w.take_buf().unwrap();
        buf.as_mut_slice().fill(7);
        w.write(0, buf, 4096).unwrap();
        let buf = w.take_buf().unwrap();
        w.write(1 << 20, buf, 512).unwrap();
        assert_eq!(w.unsynced(), vec![(0, 4096), (1 << 20, 512)]);
        w.start_sync();
        // What is written while the sync runs stays pending after it.
        let buf = w.take_buf().unwrap();
        w.write(4096, buf, 4096).unwrap();
        assert_eq!(w.unsynced(), vec![(0, 8192), (1 << 20, 512)]);
        w.flush().unwrap();
        assert_eq!(w.unsynced(), Vec::new());
        assert!(w.finish().is_some());
    }

    #[test]
    fn hashes_kernel_copies_from_the_image_pages() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        // Written behind the writer's back, as copy_file_range does, at an unaligned offset.
        std::fs::write(dir.path().join("img"), &data).unwrap();
        let mut w = writer(dir.path());
        w.copied(0, 1000);
        w.copied(1000, (3 << 20) - 1000);
        let img = File::open(dir.path().join("img")).unwrap();
        let hash = w.finish().unwrap().finish(&img).unwrap().unwrap();
        assert_eq!(hash, format!("blake3:{}", blake3::hash(&data).to_hex()));
    }
}
