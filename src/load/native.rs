//! The native format: a JSON array of incidents, `{"incidents": [...]}`, one incident object, or
//! JSON Lines. Every field is checked and every problem is reported with its position.
//!
//! A file is read in large blocks and parsed in batches on every core: in place by a strict lexer
//! (`fast.rs`), or field by field where a record has a problem (`fields.rs`). The reading thread
//! finds where batches begin: by scanning every byte (`chunks.rs`) at first, then, in an array,
//! by guessing from the layout where records end about a batch apart, leaving the workers to find
//! the records between guesses as they parse them. Guesses are checked, in file order, before
//! any text is settled; after a wrong one the rest is scanned, so every record and every problem
//! is the same either way. Memory stays near the size of the incidents themselves: only a few
//! blocks are alive at once, and positions are worked out only for problems, from each batch's
//! starting line and column.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::block::Block;
use super::chunks::{Mode, Scanner, Stop, guess_record_end, is_ws, split_lines, value_end};
use super::problem::{Position, Problem, Text, advance, json_message, serde_offset};
use super::{Parsed, Progress, fast, fields, valid_utf8_prefix};
use crate::model::{ActorCatalog, Incident};

/// How native files are read. The defaults are what loading uses; tests read with tiny blocks, to
/// put records across block edges, and compare the fast path with the careful one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeReading {
    /// Bytes read at a time.
    pub block_size: usize,
    /// Read every record field by field, as the fast path's reference.
    pub careful_only: bool,
}

impl Default for NativeReading {
    fn default() -> Self {
        Self { block_size: 4 << 20, careful_only: false }
    }
}

/// Records are parsed in batches of about this many bytes: enough to keep a core busy, few enough
/// that both cores finish together.
const BATCH: usize = 1 << 20;

/// The batch size for blocks of `block` bytes: a few batches a block, so that guesses where
/// records end (see `produce`) fall inside what has been read.
fn batch_size(block: usize) -> usize {
    BATCH.min(block.div_ceil(4)).max(1)
}

/// What reading a native file needs besides the file.
pub struct Context<'a> {
    /// JSON Lines, from the file's extension.
    pub lines: bool,
    pub actors: &'a ActorCatalog,
    pub reading: NativeReading,
    pub progress: Option<&'a Progress>,
    /// The input's size in bytes, to decide whether threads pay off.
    pub size: u64,
}

/// Why reading stopped before the end of the file.
#[derive(Debug)]
pub enum ReadError {
    Cancelled,
    Io(std::io::Error),
}

/// Records found in one stretch of a block, to parse together. The batch owns its stretch of the
/// buffer: the buffer is kept for the rest of the run, and the incidents borrow their text from it.
struct Batch {
    /// Its place in the file's order, given when it is handed out.
    seq: usize,
    /// The stretch. Stretches follow each other with nothing between them.
    region: &'static mut [u8],
    /// The byte after the stretch, which serde needs to see to place some syntax errors.
    after: Option<u8>,
    /// Where the stretch begins in the file.
    offset: usize,
    start: Position,
    kind: Kind,
    /// Handed out after a guess (see `Kind::Run`): its text is settled only once every batch
    /// before it has been read as expected.
    guarded: bool,
}

enum Kind {
    /// Array items, as ranges of the region.
    Items(Vec<Range<usize>>),
    /// Lines of JSON Lines, split by the worker.
    Lines,
    /// The file's only value: one record, or `{"incidents": ...}` written unusually.
    Single,
    /// `, item` repeated, from just after an item to just after an item, where the end (and, but
    /// for the first run, the start) was guessed rather than scanned for (`guess_record_end`).
    /// The worker finds the items itself as it parses them.
    Run,
}

/// A parsed batch. `stopped`: it ended in a problem that ends the file (invalid JSON or UTF-8).
struct Outcome {
    seq: usize,
    parsed: Parsed,
    stopped: bool,
    /// The bytes of the file the batch covered.
    bytes: usize,
    /// The stretch, handed back as it was, when a guess before it or at its end proved wrong.
    unread: Option<&'static [u8]>,
    offset: usize,
    start: Position,
}

/// The text to read again, exactly, after a wrong guess: the stretches handed out from the first
/// batch that was not read as expected, in order, and where the first begins.
struct Rewind {
    regions: Vec<&'static [u8]>,
    offset: usize,
    pos: Position,
}

/// What the reader does after handing out a batch.
enum Flow {
    Go,
    /// No more batches are wanted: one ended the file.
    Stop,
    Rewind(Rewind),
}

/// Where batches go: parsed at once, or by a pool of workers.
trait Sink {
    fn submit(&mut self, batch: Batch) -> Flow;
    /// Waits for every batch handed out, and says whether the text must be read again.
    fn sync(&mut self) -> Option<Rewind>;

    /// An empty block with room for at least `capacity` bytes, for the text after a hand-out.
    fn block(&mut self, capacity: usize) -> std::io::Result<Block> {
        Block::with_capacity(capacity)
    }
}

/// Each batch says whether it was read as expected; a guarded batch waits, before settling its
/// text, until every earlier one has said so, since a wrong guess before it means its stretch
/// did not begin where a record begins.
#[derive(Default)]
struct Verdicts {
    said: Mutex<Said>,
    changed: Condvar,
}

#[derive(Default)]
struct Said {
    /// Every batch before this one has said.
    upto: usize,
    /// The first batch, of those, that was not read as expected.
    failed: Option<usize>,
    /// What later batches said, waiting for the earlier ones.
    early: BTreeMap<usize, bool>,
}

impl Verdicts {
    /// Batch `seq` says whether it was read as expected; a guarded one waits for every earlier
    /// batch and returns whether all of them and itself were.
    fn say(&self, seq: usize, expected: bool, guarded: bool) -> bool {
        let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
        said.early.insert(seq, expected);
        loop {
            let upto = said.upto;
            let Some(ok) = said.early.remove(&upto) else { break };
            if !ok && said.failed.is_none() {
                said.failed = Some(upto);
            }
            said.upto += 1;
        }
        self.changed.notify_all();
        if !guarded {
            return expected;
        }
        while said.upto <= seq {
            said = self.changed.wait(said).unwrap_or_else(PoisonError::into_inner);
        }
        said.failed.is_none_or(|f| f > seq)
    }

    /// After a rewind: batches from `seq` on (every earlier one has said) start afresh.
    fn restart(&self, seq: usize) {
        let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
        *said = Said { upto: seq, ..Said::default() };
    }
}

/// A batch that has not said yet how it was read. Should parsing it panic, it says "not as
/// expected" on the way out, so that later batches waiting for it do not wait forever.
struct Unsaid<'v> {
    verdicts: &'v Verdicts,
    seq: Option<usize>,
}

impl Drop for Unsaid<'_> {
    fn drop(&mut self) {
        if let Some(seq) = self.seq {
            self.verdicts.say(seq, false, false);
        }
    }
}

/// A batch being parsed by a worker. Should parsing it panic, an outcome that ends the file takes
/// its place on the way out, so that the reader, waiting for every outcome, stops and the panic
/// reaches the caller instead of leaving it waiting.
struct Lost<'d> {
    done: &'d mpsc::Sender<Outcome>,
    seq: Option<usize>,
    start: Position,
}

impl Drop for Lost<'_> {
    fn drop(&mut self) {
        if let Some(seq) = self.seq {
            let parsed = Parsed::default();
            let outcome = Outcome { seq, parsed, stopped: true, bytes: 0, unread: None, offset: 0, start: self.start };
            let _ = self.done.send(outcome);
        }
    }
}

/// Reads a native file from `input`, appending its incidents and problems to `out` in file order.
pub fn read(name: &str, input: impl Read, ctx: &Context, out: &mut Parsed) -> Result<(), ReadError> {
    let block_size = block_size(ctx);
    let batch = batch_size(ctx.reading.block_size);
    let workers = if ctx.size <= 2 * batch as u64 {
        0
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
    };
    let verdicts = Verdicts::default();
    let mut collector = Collector {
        next: 0,
        pending: BTreeMap::new(),
        stopped: false,
        size: ctx.size,
        rewind: None,
        reserved: false,
        out,
    };
    let tail = if workers == 0 {
        let mut sink =
            Inline { collector: &mut collector, name, ctx, verdicts: &verdicts, sent: 0, scratch: Scratch::default() };
        produce(name, input, ctx, false, &mut sink)
    } else {
        let (tx, rx) = mpsc::sync_channel::<Batch>(2 * workers);
        let rx = Mutex::new(rx);
        let (done_tx, done_rx) = mpsc::channel::<Outcome>();
        // Blocks are made ahead, one waiting and one in the making, as many as the file needs
        // past the first.
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Block>(1);
        let ahead = usize::try_from(ctx.size).unwrap_or(0) / block_size;
        std::thread::scope(|s| {
            s.spawn(move || {
                for _ in 0..ahead {
                    let Ok(block) = Block::touched(block_size) else { return };
                    if spare_tx.send(block).is_err() {
                        return;
                    }
                }
            });
            for _ in 0..workers {
                let (rx, done_tx, verdicts) = (&rx, done_tx.clone(), &verdicts);
                s.spawn(move || {
                    let mut scratch = Scratch::default();
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(batch) = next else { return };
                        let mut lost = Lost { done: &done_tx, seq: Some(batch.seq), start: batch.start };
                        let outcome = process(batch, name, ctx, verdicts, &mut scratch);
                        lost.seq = None;
                        if done_tx.send(outcome).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut pool = Pool {
                collector: &mut collector,
                tx: Some(tx),
                done: done_rx,
                verdicts: &verdicts,
                sent: 0,
                spare: spare_rx,
            };
            // Guessing where records end spares the reading thread a scan of every byte: it pays
            // when workers parse while it reads.
            let tail = produce(name, input, ctx, true, &mut pool);
            pool.tx = None;
            pool.drain();
            tail
        })
    };
    // A problem that ended the file early in some batch comes before anything the reader saw
    // after that batch.
    if let Some(problem) = tail?
        && !collector.stopped
    {
        collector.out.problems.push(problem);
    }
    Ok(())
}

/// Batches parsed as they come, on the reading thread.
struct Inline<'c, 'o, 'a> {
    collector: &'c mut Collector<'o>,
    name: &'a str,
    ctx: &'a Context<'a>,
    verdicts: &'a Verdicts,
    sent: usize,
    scratch: Scratch,
}

impl Sink for Inline<'_, '_, '_> {
    fn submit(&mut self, mut batch: Batch) -> Flow {
        batch.seq = self.sent;
        self.sent += 1;
        self.collector.add(process(batch, self.name, self.ctx, self.verdicts, &mut self.scratch));
        self.collector.flow()
    }

    fn sync(&mut self) -> Option<Rewind> {
        let rewind = self.collector.rewind.take();
        self.verdicts.restart(self.sent);
        rewind
    }
}

/// Batches parsed by workers.
struct Pool<'c, 'o, 'a> {
    collector: &'c mut Collector<'o>,
    tx: Option<mpsc::SyncSender<Batch>>,
    done: mpsc::Receiver<Outcome>,
    verdicts: &'a Verdicts,
    sent: usize,
    /// Blocks made ahead by another thread.
    spare: mpsc::Receiver<Block>,
}

impl Pool<'_, '_, '_> {
    /// Waits for the outcome of every batch handed out.
    fn drain(&mut self) {
        while self.collector.next < self.sent {
            match self.done.recv() {
                Ok(outcome) => self.collector.add(outcome),
                Err(_) => break,
            }
        }
    }
}

impl Sink for Pool<'_, '_, '_> {
    fn submit(&mut self, mut batch: Batch) -> Flow {
        while let Ok(outcome) = self.done.try_recv() {
            self.collector.add(outcome);
        }
        if self.collector.rewind.is_some() {
            // This batch, and those after it, come after the wrong guess too.
            return match self.sync() {
                Some(mut rewind) => {
                    rewind.regions.push(batch.region);
                    Flow::Rewind(rewind)
                }
                None => Flow::Stop,
            };
        }
        if self.collector.stopped {
            return Flow::Stop;
        }
        batch.seq = self.sent;
        match &self.tx {
            Some(tx) if tx.send(batch).is_ok() => {
                self.sent += 1;
                Flow::Go
            }
            _ => Flow::Stop,
        }
    }

    fn block(&mut self, capacity: usize) -> std::io::Result<Block> {
        match self.spare.try_recv() {
            Ok(block) if block.capacity() >= capacity => Ok(block),
            _ => Block::with_capacity(capacity),
        }
    }

    fn sync(&mut self) -> Option<Rewind> {
        self.drain();
        let rewind = self.collector.rewind.take();
        self.verdicts.restart(self.sent);
        rewind
    }
}

/// Puts batches back in file order, and drops those after one that ended the file.
struct Collector<'o> {
    next: usize,
    pending: BTreeMap<usize, Outcome>,
    stopped: bool,
    /// The file's size, to foresee how many records it holds.
    size: u64,
    /// The stretches handed back after a wrong guess, to read again.
    rewind: Option<Rewind>,
    /// Room for the file's records has been made.
    reserved: bool,
    out: &'o mut Parsed,
}

impl Collector<'_> {
    fn add(&mut self, outcome: Outcome) {
        self.pending.insert(outcome.seq, outcome);
        while let Some(mut o) = self.pending.remove(&self.next) {
            self.next += 1;
            if self.stopped {
                continue;
            }
            if let Some(region) = o.unread {
                self.rewind
                    .get_or_insert_with(|| Rewind { regions: Vec::new(), offset: o.offset, pos: o.start })
                    .regions
                    .push(region);
                continue;
            }
            if !self.reserved && o.bytes > 0 && !o.parsed.incidents.is_empty() {
                self.reserved = true;
                // Records of one file are alike in size: room for all of them at once spares
                // growing a list of a million records by doubling (a copy each time, and up to
                // twice the room).
                let per_record = o.bytes as f64 / o.parsed.incidents.len() as f64;
                let expected = (self.size as f64 / per_record * 1.05) as usize;
                self.out.incidents.reserve_exact(expected.min(1 << 28));
            }
            self.out.incidents.append(&mut o.parsed.incidents);
            self.out.problems.append(&mut o.parsed.problems);
            self.out.rejected.append(&mut o.parsed.rejected);
            self.stopped = o.stopped;
        }
    }

    fn flow(&self) -> Flow {
        if self.stopped { Flow::Stop } else { Flow::Go }
    }
}

/// Where the reader is in the current buffer: an index, and its offset and position in the file.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    index: usize,
    offset: usize,
    pos: Position,
}

impl Cursor {
    fn to(&mut self, buf: &[u8], index: usize) -> Self {
        self.pos = advance(self.pos, &buf[self.index..index]);
        self.offset += index - self.index;
        self.index = index;
        *self
    }
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Reads blocks, finds their records and hands them out in batches to `sink`. Returns the problem
/// that ended the file, if the scan met one.
///
/// With `guess`, once an array's records are found by scanning, the reader guesses where records
/// end about a batch apart (`guess_record_end`) instead of scanning every byte, and hands out runs
/// of records between guesses; the workers find the records as they parse them. A run that does
/// not read as `, record` repeated to its very end means a guess was wrong (or the text is): the
/// stretches from there on come back untouched, and are scanned exactly like any other file.
fn produce(
    name: &str,
    mut input: impl Read,
    ctx: &Context,
    guess: bool,
    sink: &mut dyn Sink,
) -> Result<Option<Problem>, ReadError> {
    let block_size = block_size(ctx);
    let batch_size = batch_size(block_size);
    let mut buf = Block::with_capacity(block_size).map_err(ReadError::Io)?;
    let mut cursor = Cursor { index: 0, offset: 0, pos: Position { line: 1, col: 1 } };
    let mut scanner = Scanner::new(ctx.lines);
    let mut items = Vec::new();
    // Byte order marks are skipped; they count as a character of the first line, as an editor
    // that shows them would place the text after them. However small the reads, each mark is
    // seen whole before the scan starts.
    let mut eof = false;
    loop {
        while buf.len() < cursor.index + BOM.len() && !eof {
            eof = fill(&mut input, &mut buf, block_size, ctx)?;
        }
        if !buf[cursor.index..].starts_with(BOM) {
            break;
        }
        cursor.index += BOM.len();
        cursor.offset += BOM.len();
        cursor.pos.col += 1;
    }
    buf.drop_front(cursor.index);
    cursor.index = 0;
    let mut guessing = guess && !ctx.lines;
    // Guessing has begun: the batches handed out from then on are guarded.
    let mut guarded = false;
    // How far records are indented, from the first one (`None`: any indent).
    let mut indent: Option<Option<usize>> = None;
    // The bytes read while looking for marks are scanned before anything more is read.
    let mut read_ahead = true;
    loop {
        if ctx.progress.is_some_and(|p| p.is_cancelled()) {
            return Err(ReadError::Cancelled);
        }
        if !read_ahead && !eof {
            eof = fill(&mut input, &mut buf, block_size, ctx)?;
        }
        read_ahead = false;
        let mut stop_at = usize::MAX;
        if guessing && !eof && matches!(scanner.mode, Mode::Array | Mode::Wrapper) {
            if scanner.at_boundary() {
                let from = scanner.safe;
                if buf.len() - from < 2 * batch_size {
                    // Too little to guess in: read more first.
                    continue;
                }
                let ends = guesses(&buf, from, batch_size, indent.flatten());
                if let Some(&last) = ends.last() {
                    guarded = true;
                    let mut runs = Vec::with_capacity(ends.len());
                    let mut start = from;
                    for end in ends {
                        runs.push((start..end, Kind::Run));
                        start = end;
                    }
                    let flow = hand_out(&mut buf, &mut cursor, last, runs, block_size, guarded, sink)?;
                    scanner.resume_after_item(0);
                    match flow {
                        Flow::Go => continue,
                        Flow::Stop => return Ok(None),
                        Flow::Rewind(rewind) => {
                            rewound(rewind, &mut buf, &mut cursor, &mut scanner, block_size)?;
                            (guessing, read_ahead) = (false, true);
                            continue;
                        }
                    }
                }
            } else {
                // Finish the record in progress, then guess from its end.
                stop_at = scanner.position() + 1;
            }
        }
        scanner.stop_at = stop_at;
        let was_undecided = scanner.mode == Mode::Undecided;
        let scanned = scanner.scan(&buf, eof, &mut items);
        if was_undecided
            && scanner.mode == Mode::Lines
            && let Some(first) = scanner.first_value.clone()
            && serde_json::from_slice::<IgnoredAny>(&buf[first.clone()]).is_err()
        {
            // More than one value, but the first is not valid JSON: not JSON Lines that went
            // wrong on its first line, but a broken file, reported as serde reads it.
            return Ok(Some(syntax_problem(name, &buf[..first.end], cursor, "", Shape::Value)));
        }
        if indent.is_none()
            && let Some(first) = items.first()
        {
            let line = memchr::memrchr(b'\n', &buf[..first.start]).map(|i| i + 1);
            indent = Some(
                line.filter(|&l| buf[l..first.start].iter().all(|&b| b == b' ' || b == b'\t')).map(|l| first.start - l),
            );
        }
        let safe = scanner.safe;
        if safe > 0 {
            let batches: Vec<(Range<usize>, Kind)> = if scanner.mode == Mode::Lines {
                split_lines(&buf, 0..safe, batch_size).into_iter().map(|r| (r, Kind::Lines)).collect()
            } else {
                group(std::mem::take(&mut items), batch_size)
            };
            let flow = hand_out(&mut buf, &mut cursor, safe, batches, block_size, guarded, sink)?;
            scanner.shift(safe);
            match flow {
                Flow::Go => {}
                Flow::Stop => return Ok(None),
                Flow::Rewind(rewind) => {
                    rewound(rewind, &mut buf, &mut cursor, &mut scanner, block_size)?;
                    (guessing, read_ahead) = (false, true);
                    continue;
                }
            }
        }
        // Before the file ends (well or not), every batch after a guess must have been read as
        // expected: otherwise, the scan itself began in the wrong place.
        let rewind = if guarded && (scanned.is_err() || eof) { sink.sync() } else { None };
        if let Some(rewind) = rewind {
            // What was scanned came after a wrong guess: read it again, exactly.
            rewound(rewind, &mut buf, &mut cursor, &mut scanner, block_size)?;
            (guessing, read_ahead) = (false, true);
            items.clear();
            continue;
        }
        match scanned {
            Err(stop) => {
                if !eof {
                    // serde may need to read past the place the scan stopped to say what is wrong.
                    fill(&mut input, &mut buf, 1 << 16, ctx)?;
                }
                return Ok(Some(stop_problem(name, &buf, cursor, &scanner, stop)));
            }
            Ok(()) if eof => break,
            Ok(()) => {
                if stop_at != usize::MAX && scanner.at_boundary() {
                    // Guess from the record just finished, in what is left of this block.
                    read_ahead = true;
                }
            }
        }
    }
    if scanner.mode == Mode::Undecided
        && let Some(first) = scanner.first_value.clone()
    {
        let at = cursor.to(&buf, first.start);
        let after = buf.get(first.end).copied();
        let block: &'static mut [u8] = buf.leak();
        let region = &mut block[first];
        let batch =
            Batch { seq: 0, region, after, offset: at.offset, start: at.pos, kind: Kind::Single, guarded: false };
        sink.submit(batch);
    }
    Ok(None)
}

/// How much room blocks are made with. They are kept for the rest of the run, room and all: a
/// small file gets a block its own size (one byte more, to see its end), not a whole block's worth
/// of memory. A pipe says it holds nothing, and gets whole blocks.
fn block_size(ctx: &Context) -> usize {
    match usize::try_from(ctx.size) {
        Ok(size) if size > 0 => ctx.reading.block_size.max(1).min(size.saturating_add(1)),
        _ => ctx.reading.block_size.max(1),
    }
}

/// Guessed record ends about `size` apart from `from`, and the last one in `buf`: the text after
/// it starts the next buffer, and the block keeps it too, unused.
fn guesses(buf: &[u8], from: usize, size: usize, indent: Option<usize>) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = from;
    while at + size < buf.len() {
        match guess_record_end(buf, at + size, indent) {
            Some(end) => {
                ends.push(end);
                at = end;
            }
            None => break,
        }
    }
    if !ends.is_empty() {
        let mut last = None;
        let mut search = at.max(buf.len().saturating_sub(size.min(64 << 10)));
        while let Some(end) = guess_record_end(buf, search, indent) {
            last = Some(end);
            search = end;
        }
        ends.extend(last);
    }
    ends
}

/// Hands out `batches`, stretches of `buf` that cover it up to `safe`; the block is kept for the
/// incidents to borrow their text from, and what follows `safe` starts the next buffer.
fn hand_out(
    buf: &mut Block,
    cursor: &mut Cursor,
    safe: usize,
    batches: Vec<(Range<usize>, Kind)>,
    block_size: usize,
    guarded: bool,
    sink: &mut dyn Sink,
) -> Result<Flow, ReadError> {
    let places: Vec<Cursor> = batches.iter().map(|(range, _)| cursor.to(buf, range.start)).collect();
    let afters: Vec<Option<u8>> = batches.iter().map(|(range, _)| buf.get(range.end).copied()).collect();
    cursor.to(buf, safe);
    let mut next = sink.block(block_size.max(2 * (buf.len() - safe))).map_err(ReadError::Io)?;
    next.extend_from_slice(&buf[safe..]).map_err(ReadError::Io)?;
    let block: &'static mut [u8] = std::mem::replace(buf, next).leak();
    cursor.index = 0;
    let mut rest = block;
    let mut consumed = 0;
    let mut rewind: Option<Rewind> = None;
    for (((range, kind), at), after) in batches.into_iter().zip(places).zip(afters) {
        let (_, tail) = rest.split_at_mut(range.start - consumed);
        let (region, tail) = tail.split_at_mut(range.len());
        rest = tail;
        consumed = range.end;
        if let Some(r) = &mut rewind {
            r.regions.push(region);
            continue;
        }
        let kind = match kind {
            Kind::Items(items) => {
                Kind::Items(items.into_iter().map(|r| r.start - range.start..r.end - range.start).collect())
            }
            other => other,
        };
        let batch = Batch { seq: 0, region, after, offset: at.offset, start: at.pos, kind, guarded };
        match sink.submit(batch) {
            Flow::Go => {}
            Flow::Stop => return Ok(Flow::Stop),
            Flow::Rewind(r) => rewind = Some(r),
        }
    }
    Ok(rewind.map_or(Flow::Go, Flow::Rewind))
}

/// Starts the buffer again from a rewind's stretches, followed by what is left of it, just after
/// an item: the place every batch begins.
fn rewound(
    rewind: Rewind,
    buf: &mut Block,
    cursor: &mut Cursor,
    scanner: &mut Scanner,
    block_size: usize,
) -> Result<(), ReadError> {
    let len: usize = rewind.regions.iter().map(|r| r.len()).sum();
    let mut text = Block::with_capacity(len + buf.len() + block_size).map_err(ReadError::Io)?;
    for region in rewind.regions.iter().map(|r| &**r).chain([&**buf]) {
        text.extend_from_slice(region).map_err(ReadError::Io)?;
    }
    *buf = text;
    *cursor = Cursor { index: 0, offset: rewind.offset, pos: rewind.pos };
    scanner.resume_after_item(0);
    Ok(())
}

/// Reads more onto the end of `buf`, as much as its room holds and at least half of `want`,
/// counting it as read; less only at the end of the input, which it returns true for.
fn fill(input: &mut impl Read, buf: &mut Block, want: usize, ctx: &Context) -> Result<bool, ReadError> {
    let before = buf.len();
    let ended = buf.read_from(input, want).map_err(ReadError::Io)?;
    if let Some(p) = ctx.progress {
        p.add_read((buf.len() - before) as u64);
    }
    Ok(ended)
}

/// Groups consecutive items into batches of about `size` bytes. The batches cover the buffer from
/// its start, each up to the end of its last item, with nothing left between them.
fn group(items: Vec<Range<usize>>, size: usize) -> Vec<(Range<usize>, Kind)> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut current: Vec<Range<usize>> = Vec::new();
    for item in items {
        if let (Some(first), Some(last)) = (current.first(), current.last())
            && item.end - first.start > size
        {
            let end = last.end;
            batches.push((start..end, Kind::Items(std::mem::take(&mut current))));
            start = end;
        }
        current.push(item);
    }
    if let Some(last) = current.last() {
        batches.push((start..last.end, Kind::Items(current)));
    }
    batches
}

/// A record of a batch, in file order: taken by the fast path (its text still to settle in the
/// buffer), or read by the careful path.
enum Slot {
    Fast(fast::Pending, usize),
    Done(Incident, usize),
}

/// What a thread that parses batches keeps from one to the next: the room its lists grew to,
/// which a batch would otherwise grow again from nothing, a fresh page at a time.
#[derive(Default)]
struct Scratch {
    slots: Vec<Slot>,
    lists: fast::Lists,
}

/// Parses one batch: every record first (problems are placed in the text as written), then the
/// fast path's strings are settled in the buffer, then its incidents borrow their text from it.
/// A batch that was not read as expected, or comes after one, is handed back untouched.
fn process(b: Batch, name: &str, ctx: &Context, verdicts: &Verdicts, scratch: &mut Scratch) -> Outcome {
    let Batch { seq, region, after, offset, start, kind, guarded } = b;
    let mut unsaid = Unsaid { verdicts, seq: Some(seq) };
    let bytes = region.len();
    let mut parsed = Parsed::default();
    let Scratch { slots, lists } = scratch;
    let mut stopped = false;
    let mut expected = true;
    let valid = {
        let text = valid_utf8_prefix(region);
        let valid = text.len();
        let bad_utf8 = (valid < bytes).then_some(valid);
        let src = Text::within(name, text, offset, start);
        let mut read = Reading { src: &src, buffer: text, ctx, slots, lists, parsed: &mut parsed };
        match &kind {
            Kind::Items(items) => {
                read.slots.reserve_exact(items.len());
                for (n, item) in items.iter().enumerate() {
                    let Some(record) = text.get(item.clone()) else {
                        break;
                    };
                    if let Err(e) = read.record(record) {
                        let next = if n + 1 == items.len() && item.end == bytes {
                            after
                        } else {
                            text.as_bytes().get(item.end).copied()
                        };
                        read.parsed.problems.push(item_syntax_problem(&src, record, next, &e));
                        stopped = true;
                        break;
                    }
                }
            }
            Kind::Lines => {
                // With bytes that are not UTF-8, only the lines before theirs.
                let whole = if bad_utf8.is_some() { &text[..text.rfind('\n').map_or(0, |i| i + 1)] } else { text };
                for line in whole.split('\n') {
                    let trimmed = line.trim();
                    if trimmed.is_empty() {
                        continue;
                    }
                    if let Err(e) = read.record(trimmed) {
                        read.parsed.problems.push(src.json_error(trimmed, &e));
                    }
                }
            }
            Kind::Single => {
                if bad_utf8.is_none() {
                    single(&mut read);
                }
            }
            Kind::Run => expected = bad_utf8.is_none() && read.run(),
        }
        if let (Some(at), false, true) = (bad_utf8, stopped, expected) {
            parsed.problems.push(Problem {
                file: name.to_string(),
                position: Some(src.position_at(at)),
                record: None,
                field: None,
                message: "the file is not valid UTF-8 text".into(),
            });
            stopped = true;
        }
        valid
    };
    unsaid.seq = None;
    if !verdicts.say(seq, expected, guarded) {
        slots.clear();
        lists.clear();
        return Outcome { seq, parsed: Parsed::default(), stopped: false, bytes, unread: Some(region), offset, start };
    }
    for slot in slots.iter_mut() {
        if let Slot::Fast(pending, _) = slot {
            pending.settle(&mut region[..valid]);
        }
    }
    lists.settle(&mut region[..valid]);
    let region: &'static [u8] = region;
    // Settled strings leave only text behind them, so what was UTF-8 still is.
    let text: &'static str = valid_utf8_prefix(&region[..valid]);
    parsed.incidents.reserve_exact(slots.len());
    let mut actors = foldhash::HashSet::default();
    let mut runs = lists.runs();
    for slot in slots.drain(..) {
        parsed.incidents.push(match slot {
            Slot::Fast(pending, at) => (pending.incident(text, &mut runs, &mut actors), at),
            Slot::Done(incident, at) => (incident, at),
        });
    }
    if let Some(p) = ctx.progress {
        p.add_records(parsed.incidents.len() as u64);
    }
    Outcome { seq, parsed, stopped, bytes, unread: None, offset, start }
}

/// Reading the records of a batch.
struct Reading<'r, 't> {
    src: &'r Text<'t>,
    /// The batch's text: the fast path notes where its strings are in it.
    buffer: &'t str,
    ctx: &'r Context<'r>,
    slots: &'r mut Vec<Slot>,
    /// The lists of the records the fast path took.
    lists: &'r mut fast::Lists,
    parsed: &'r mut Parsed,
}

impl Reading<'_, '_> {
    /// One record: the fast path if it takes it, else the careful one. Fails only on invalid JSON.
    fn record(&mut self, text: &str) -> Result<(), serde_json::Error> {
        if !self.ctx.reading.careful_only
            && let Some(pending) = fast::record(text, self.buffer, self.ctx.actors, self.lists)
        {
            self.slots.push(Slot::Fast(pending, self.src.file_offset_of(text)));
            return Ok(());
        }
        self.careful(text)
    }

    /// A run (`Kind::Run`): `, record` repeated to the very end of the batch. False if the text is
    /// anything else, invalid JSON included: the records are then found again by a scan.
    fn run(&mut self) -> bool {
        let bytes = self.buffer.as_bytes();
        let blank = |i: usize| i + bytes[i..].iter().take_while(|&&b| is_ws(b)).count();
        let mut at = 0;
        while at < bytes.len() {
            at = blank(at);
            if bytes.get(at) != Some(&b',') {
                return false;
            }
            at = blank(at + 1);
            if !self.ctx.reading.careful_only
                && let Some((pending, end)) = fast::record_at(self.buffer, at, self.ctx.actors, self.lists)
            {
                self.slots.push(Slot::Fast(pending, self.src.file_offset_of(&self.buffer[at..])));
                at = end;
                continue;
            }
            let Some(end) = value_end(bytes, at) else { return false };
            if self.careful(&self.buffer[at..end]).is_err() {
                return false;
            }
            at = end;
        }
        true
    }

    /// A record read field by field, every problem placed. Fails only on invalid JSON.
    fn careful(&mut self, text: &str) -> Result<(), serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(text)?;
        let mut careful = Parsed::default();
        fields::record(self.src, raw, self.ctx.actors, &mut careful);
        self.slots.extend(careful.incidents.into_iter().map(|(incident, at)| Slot::Done(incident, at)));
        self.parsed.problems.append(&mut careful.problems);
        self.parsed.rejected.append(&mut careful.rejected);
        Ok(())
    }
}

/// A file holding one object: one incident, or `{"incidents": [...]}` that the scan did not
/// recognise (its key written with escapes, say).
fn single(read: &mut Reading) {
    let src = read.src;
    let body = src.text;
    match serde_json::from_str::<BTreeMap<String, &RawValue>>(body) {
        Ok(map) if map.len() == 1 && map.contains_key("incidents") => {
            let list = map["incidents"];
            match serde_json::from_str::<Vec<&RawValue>>(list.get()) {
                Ok(records) => {
                    for r in records {
                        // Valid JSON already: only the record's own problems remain.
                        let _ = read.record(r.get());
                    }
                }
                Err(_) => read.parsed.problems.push(src.problem(
                    list.get(),
                    None,
                    Some("incidents"),
                    "expected an array of incidents",
                )),
            }
        }
        Ok(_) => {
            let _ = read.record(body);
        }
        Err(e) => read.parsed.problems.push(src.json_error(body, &e)),
    }
}

/// The JSON error of a record that is not valid JSON, as serde reading the whole file reports it:
/// the record is read as an array item, followed by the character after it (serde decides that a
/// bare word such as `tru` is wrong only on the character that follows it).
fn item_syntax_problem(src: &Text, record: &str, next: Option<u8>, alone: &serde_json::Error) -> Problem {
    let mut synthetic = String::with_capacity(record.len() + 2);
    synthetic.push('[');
    synthetic.push_str(record);
    if let Some(c) = next.filter(u8::is_ascii) {
        synthetic.push(c as char);
    }
    if let Err(e) = serde_json::from_str::<Vec<IgnoredAny>>(&synthetic) {
        let at = serde_offset(&synthetic, &e).saturating_sub(1);
        if at <= record.len() && !e.is_eof() {
            let mut p = src.json_error(record, alone);
            p.position = Some(src.position_at(src.offset_of(record) + at));
            p.message = json_message(&e);
            return p;
        }
    }
    src.json_error(record, alone)
}

/// What the file must be, for serde to find what is wrong with it.
#[derive(Clone, Copy)]
enum Shape {
    Array,
    Wrapper,
    Value,
}

/// `{"incidents": [...]}` and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapperShape {
    #[serde(rename = "incidents")]
    _incidents: IgnoredAny,
}

/// The problem the scan stopped at. Where it stopped on unexpected JSON, serde reads the text
/// from the last record boundary, prefixed with what puts it in the same state as reading the
/// whole file would, so the message and place are exactly serde's.
fn stop_problem(name: &str, buf: &[u8], cursor: Cursor, scanner: &Scanner, stop: Stop) -> Problem {
    match stop {
        Stop::NotADataset(at) => {
            let (index, message) = if at >= buf.len() {
                (0, "empty file: expected a JSON array of incidents")
            } else {
                (at, "expected a JSON array of incidents, an object {\"incidents\": [...]}, or JSON Lines")
            };
            let pos = advance(cursor.pos, &buf[..index.min(buf.len())]);
            Problem { file: name.to_string(), position: Some(pos), record: None, field: None, message: message.into() }
        }
        Stop::Unexpected(_) => {
            let (prefix, shape) = match (scanner.mode, scanner.at_start) {
                (Mode::Wrapper, true) => ("", Shape::Wrapper),
                (Mode::Wrapper, false) => ("{\"incidents\":[0", Shape::Wrapper),
                (Mode::Array, true) => ("", Shape::Array),
                (Mode::Array, false) => ("[0", Shape::Array),
                _ => ("", Shape::Value),
            };
            syntax_problem(name, buf, cursor, prefix, shape)
        }
    }
}

/// serde's first error in `prefix` + `buf` (which begins at `cursor`), placed in the file.
fn syntax_problem(name: &str, buf: &[u8], cursor: Cursor, prefix: &str, shape: Shape) -> Problem {
    let valid = valid_utf8_prefix(buf);
    let bad_utf8 = valid.len() < buf.len();
    let src = Text::within(name, valid, cursor.offset, cursor.pos);
    let synthetic = format!("{prefix}{valid}");
    let result = match shape {
        Shape::Array => serde_json::from_str::<Vec<IgnoredAny>>(&synthetic).map(|_| ()),
        Shape::Wrapper => serde_json::from_str::<WrapperShape>(&synthetic).map(|_| ()),
        Shape::Value => serde_json::from_str::<IgnoredAny>(&synthetic).map(|_| ()),
    };
    let at_end = |pos| Problem {
        file: name.to_string(),
        position: Some(pos),
        record: None,
        field: None,
        message: "the file is not valid UTF-8 text".into(),
    };
    match result {
        Err(e) if bad_utf8 && e.is_eof() => at_end(src.position_at(valid.len())),
        Err(e) => {
            let at = serde_offset(&synthetic, &e).saturating_sub(prefix.len());
            Problem {
                file: name.to_string(),
                position: Some(src.position_at(at)),
                record: None,
                field: None,
                message: json_message(&e),
            }
        }
        Ok(()) if bad_utf8 => at_end(src.position_at(valid.len())),
        Ok(()) => Problem {
            file: name.to_string(),
            position: Some(src.position_at(0)),
            record: None,
            field: None,
            message: "invalid JSON: unexpected text after the incidents".into(),
        },
    }
}
