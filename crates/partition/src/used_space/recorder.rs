//! `Recorder`: the byte source the used-space readers read through. It answers bytes not
//! tried yet with zeros and notes them as needed, notes every range read, and whether a read
//! touched bytes that were tried and could not be read.

use std::cell::{Cell, RefCell};
use std::io;

use super::ranges::Ranges;
use crate::source::ByteSource;

/// What the rescue knows of a byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Every byte was rescued: the image holds the disk's bytes.
    Rescued,
    /// Every byte was tried; some could not be read (the image holds zeros there).
    Unreadable,
    /// Some bytes were not tried yet.
    NotYet,
}

/// Reads through the rescue's knowledge.
pub(crate) struct Recorder<'a> {
    src: &'a dyn ByteSource,
    known: &'a dyn Fn(u64, u64) -> Known,
    needed: RefCell<Ranges>,
    read: RefCell<Ranges>,
    unreadable: Cell<bool>,
    /// Every range read that touched unreadable bytes.
    unreadable_reads: RefCell<Ranges>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(src: &'a dyn ByteSource, known: &'a dyn Fn(u64, u64) -> Known) -> Self {
        Self {
            src,
            known,
            needed: RefCell::default(),
            read: RefCell::default(),
            unreadable: Cell::new(false),
            unreadable_reads: RefCell::default(),
        }
    }

    /// What `[offset, offset + len)` is, as the rescue knows it.
    pub(crate) fn state(&self, offset: u64, len: u64) -> Known {
        (self.known)(offset, len)
    }

    /// Reads `len` bytes at `offset` for a structure that must be read whole: `None` when some
    /// were not tried yet (they are noted as needed) or could not be read.
    pub(crate) fn read_whole(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let was = self.unreadable.replace(false);
        let n = self.read_at(&mut buf, offset).ok()?;
        let bad = self.unreadable.replace(was);
        self.unreadable.set(was || bad);
        if n < len || bad || self.state(offset, len as u64) != Known::Rescued {
            return None;
        }
        Some(buf)
    }

    /// The ranges needed so far (and forgets them).
    pub(crate) fn take_needed(&self) -> Ranges {
        std::mem::take(&mut self.needed.borrow_mut())
    }

    /// The ranges read so far (and forgets them).
    pub(crate) fn take_read(&self) -> Ranges {
        std::mem::take(&mut self.read.borrow_mut())
    }

    /// The ranges read since the last call that touched unreadable bytes (and forgets them).
    pub(crate) fn take_unreadable_reads(&self) -> Ranges {
        std::mem::take(&mut self.unreadable_reads.borrow_mut())
    }

    /// Whether a read since the last call touched unreadable bytes.
    pub(crate) fn take_unreadable(&self) -> bool {
        self.unreadable.replace(false)
    }
}

impl ByteSource for Recorder<'_> {
    fn size_bytes(&self) -> u64 {
        self.src.size_bytes()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let size = self.src.size_bytes();
        let len = (buf.len() as u64).min(size.saturating_sub(offset));
        if len == 0 {
            return Ok(0);
        }
        self.read.borrow_mut().add(offset, len);
        match self.state(offset, len) {
            Known::NotYet => {
                self.needed.borrow_mut().add(offset, len);
                buf[..len as usize].fill(0);
                Ok(len as usize)
            }
            Known::Unreadable => {
                self.unreadable.set(true);
                self.unreadable_reads.borrow_mut().add(offset, len);
                self.src.read_at(&mut buf[..len as usize], offset)
            }
            Known::Rescued => self.src.read_at(&mut buf[..len as usize], offset),
        }
    }

    fn logical_sector_size(&self) -> Option<u32> {
        self.src.logical_sector_size()
    }
}
