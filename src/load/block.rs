//! The memory a native file is read into. Its blocks are kept for the rest of the run: the
//! incidents borrow their text from them.
//!
//! Reading a big file is mostly the kernel handing out and zeroing fresh pages, one 4 KB fault at
//! a time. Whole blocks are therefore mapped apart from the heap and, on Linux, marked for huge
//! pages, which the kernel hands out 2 MB at a time where it has them: measured here, reading a
//! 173 MB file into blocks took a third of the processor time it took with ordinary pages, when the
//! memory had been used a moment before. Memory the host has not backed yet costs more either way,
//! and in runs a few seconds apart neither kind of page was clearly ahead. Small
//! blocks (small files, and the tests' tiny reads) stay on the heap, so that no file is spread
//! over thousands of mappings.

use std::io::{self, Read};
use std::ops::Deref;

/// Blocks this large or larger are mapped apart from the heap: the size of a huge page.
const MAPPED: usize = 2 << 20;

/// Memory of a fixed capacity, zeroed, filled from its start.
enum Room {
    Heap(Box<[u8]>),
    Mapped(memmap2::MmapMut),
}

impl Room {
    fn new(capacity: usize) -> io::Result<Self> {
        if capacity < MAPPED {
            return Ok(Room::Heap(vec![0; capacity].into_boxed_slice()));
        }
        // Whole huge pages: the kernel places a mapping of such a size on huge page boundaries.
        let map = memmap2::MmapMut::map_anon(capacity.next_multiple_of(MAPPED))?;
        // Only a hint: where the kernel has no huge pages to give, ordinary ones serve.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(Room::Mapped(map))
    }

    fn bytes(&mut self) -> &mut [u8] {
        match self {
            Room::Heap(b) => b,
            Room::Mapped(m) => m,
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Room::Heap(b) => b.len(),
            Room::Mapped(m) => m.len(),
        }
    }
}

/// A buffer of file text: the bytes read so far, in room for more.
pub struct Block {
    room: Room,
    len: usize,
}

impl Block {
    /// An empty block with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> io::Result<Self> {
        Ok(Block { room: Room::new(capacity)?, len: 0 })
    }

    /// An empty block with room for `capacity` bytes, every page of it handed out by the kernel
    /// already. Made ahead of need by a thread with a core to spare, it spares the reading thread
    /// the faults and the zeroing, and leaves it only the copying.
    pub fn touched(capacity: usize) -> io::Result<Self> {
        let mut block = Self::with_capacity(capacity)?;
        for byte in block.room.bytes().iter_mut().step_by(4096) {
            *byte = 0;
        }
        Ok(block)
    }

    /// How many bytes it has room for.
    pub fn capacity(&self) -> usize {
        self.room.capacity()
    }

    /// Makes room for `more` bytes after those held, moving them to a larger block if need be.
    fn reserve(&mut self, more: usize) -> io::Result<()> {
        let needed = self.len.checked_add(more).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        if needed > self.room.capacity() {
            let mut larger = Block::with_capacity(needed.max(self.room.capacity().saturating_mul(2)))?;
            larger.room.bytes()[..self.len].copy_from_slice(self);
            larger.len = self.len;
            *self = larger;
        }
        Ok(())
    }

    /// Appends `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reserve(bytes.len())?;
        self.room.bytes()[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    /// Reads from `input` onto the end until the room is full. Where less than half of `want` is
    /// left, room for `want` more bytes is made first; a block that is nearly full is not doubled
    /// for a few bytes. Returns whether the input ended before the room was full.
    pub fn read_from(&mut self, input: &mut impl Read, want: usize) -> io::Result<bool> {
        if self.room.capacity() - self.len < want.div_ceil(2) {
            self.reserve(want)?;
        }
        let end = self.room.capacity();
        while self.len < end {
            match input.read(&mut self.room.bytes()[self.len..end]) {
                Ok(0) => return Ok(true),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Drops the first `n` bytes held.
    pub fn drop_front(&mut self, n: usize) {
        let len = self.len;
        self.room.bytes().copy_within(n..len, 0);
        self.len -= n;
    }

    /// The bytes held, kept for the rest of the run.
    pub fn leak(self) -> &'static mut [u8] {
        let len = self.len;
        let room: &'static mut Room = Box::leak(Box::new(self.room));
        &mut room.bytes()[..len]
    }
}

impl Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.room {
            Room::Heap(b) => &b[..self.len],
            Room::Mapped(m) => &m[..self.len],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_holds_what_was_read_and_grows_past_its_room() {
        for capacity in [3, MAPPED] {
            let text: Vec<u8> = (0..capacity * 2 + 5).map(|i| (i % 251) as u8).collect();
            let mut block = Block::with_capacity(capacity).unwrap();
            let mut input = &text[..];
            assert!(!block.read_from(&mut input, capacity).unwrap());
            assert_eq!(&block[..], &text[..capacity]);
            // More than the room left: the block moves to a larger one, and the input ends.
            assert!(block.read_from(&mut input, capacity * 3).unwrap());
            assert_eq!(&block[..], &text[..]);
            block.drop_front(2);
            block.extend_from_slice(b"end").unwrap();
            assert_eq!(&block[..block.len() - 3], &text[2..]);
            let kept = block.leak();
            assert_eq!(&kept[kept.len() - 3..], b"end");
        }
    }

    #[test]
    fn a_block_made_ahead_is_empty_and_reads_like_any_other() {
        for capacity in [5000, MAPPED + 1] {
            let mut block = Block::touched(capacity).unwrap();
            assert!(block.is_empty());
            let room = block.capacity();
            assert!(room >= capacity);
            let text: Vec<u8> = (0..room).map(|i| (i % 7) as u8 + b'a').collect();
            assert!(!block.read_from(&mut &text[..], room).unwrap(), "filled, not ended");
            assert_eq!(&block[..], &text[..]);
        }
    }

    #[test]
    fn a_block_with_room_for_half_of_what_is_wanted_is_filled_not_doubled() {
        let mut block = Block::with_capacity(8).unwrap();
        block.extend_from_slice(b"ab").unwrap();
        let mut input = &b"cdefghijkl"[..];
        assert!(!block.read_from(&mut input, 8).unwrap());
        assert_eq!(&block[..], b"abcdefgh");
        assert_eq!(block.room.capacity(), 8);
    }
}
