//! The native format: a JSON array of incidents, `{"incidents": [...]}`, one incident object, or
//! JSON Lines. Every field is checked and every problem is reported with its position.
//!
//! A file is read in large blocks; the records of a block are found by a quick scan
//! (`chunks.rs`) and parsed in batches on every core: in place by a strict lexer (`fast.rs`), or
//! field by field where a record has a problem (`fields.rs`). Memory stays near the size of the
//! incidents themselves: only a few blocks are alive at once, and positions are worked out only
//! for problems, from each batch's starting line and column.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::mpsc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::chunks::{Mode, Scanner, Stop, split_lines};
use super::problem::{Position, Problem, Text, advance, json_message, serde_offset};
use super::{Parsed, Progress, fast, fields};
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
    seq: usize,
    /// The stretch, starting at a record or a line.
    region: &'static mut [u8],
    /// The byte after the stretch, which serde needs to see to place some syntax errors.
    after: Option<u8>,
    /// Where the stretch begins in the file.
    offset: usize,
    start: Position,
    kind: Kind,
}

enum Kind {
    /// Array items, as ranges of the region.
    Items(Vec<Range<usize>>),
    /// Lines of JSON Lines, split by the worker.
    Lines,
    /// The file's only value: one record, or `{"incidents": ...}` written unusually.
    Single,
}

/// A parsed batch. `stopped`: it ended in a problem that ends the file (invalid JSON or UTF-8).
struct Outcome {
    seq: usize,
    parsed: Parsed,
    stopped: bool,
    /// The bytes of the file the batch covered.
    bytes: usize,
}

/// Reads a native file from `input`, appending its incidents and problems to `out` in file order.
pub fn read(name: &str, input: impl Read, ctx: &Context, out: &mut Parsed) -> Result<(), ReadError> {
    let batch = BATCH.min(ctx.reading.block_size.max(1));
    let workers = if ctx.size <= 2 * batch as u64 {
        0
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
    };
    let mut collector = Collector { next: 0, pending: BTreeMap::new(), stopped: false, size: ctx.size };
    let tail = if workers == 0 {
        produce(name, input, ctx, &mut |b| {
            let outcome = process(b, name, ctx);
            collector.add(outcome, out);
            !collector.stopped
        })
    } else {
        let (tx, rx) = mpsc::sync_channel::<Batch>(2 * workers);
        let rx = Mutex::new(rx);
        let (done_tx, done_rx) = mpsc::channel::<Outcome>();
        std::thread::scope(|s| {
            for _ in 0..workers {
                let (rx, done_tx) = (&rx, done_tx.clone());
                s.spawn(move || {
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(batch) = next else { return };
                        if done_tx.send(process(batch, name, ctx)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let tail = produce(name, input, ctx, &mut |b| {
                while let Ok(outcome) = done_rx.try_recv() {
                    collector.add(outcome, out);
                }
                !collector.stopped && tx.send(b).is_ok()
            });
            drop(tx);
            for outcome in done_rx.iter() {
                collector.add(outcome, out);
            }
            tail
        })
    };
    // A problem that ended the file early in some batch comes before anything the reader saw
    // after that batch.
    if let Some(problem) = tail?
        && !collector.stopped
    {
        out.problems.push(problem);
    }
    Ok(())
}

/// Puts batches back in file order, and drops those after one that ended the file.
struct Collector {
    next: usize,
    pending: BTreeMap<usize, Outcome>,
    stopped: bool,
    /// The file's size, to foresee how many records it holds.
    size: u64,
}

impl Collector {
    fn add(&mut self, outcome: Outcome, out: &mut Parsed) {
        self.pending.insert(outcome.seq, outcome);
        while let Some(mut o) = self.pending.remove(&self.next) {
            self.next += 1;
            if self.stopped {
                continue;
            }
            if self.next == 1 && o.bytes > 0 && !o.parsed.incidents.is_empty() {
                // Records of one file are alike in size: room for all of them at once spares
                // growing a list of a million records by doubling (a copy each time, and up to
                // twice the room).
                let per_record = o.bytes as f64 / o.parsed.incidents.len() as f64;
                let expected = (self.size as f64 / per_record * 1.05) as usize;
                out.incidents.reserve_exact(expected.min(1 << 28));
            }
            out.incidents.append(&mut o.parsed.incidents);
            out.problems.append(&mut o.parsed.problems);
            out.rejected.append(&mut o.parsed.rejected);
            self.stopped = o.stopped;
        }
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

/// Reads blocks, finds their records and hands them out in batches (`submit` returns false when
/// no more are wanted). Returns the problem that ended the file, if the scan met one.
fn produce(
    name: &str,
    mut input: impl Read,
    ctx: &Context,
    submit: &mut dyn FnMut(Batch) -> bool,
) -> Result<Option<Problem>, ReadError> {
    // Blocks are kept for the rest of the run, room and all: a small file gets a block its own
    // size (one byte more, to see its end), not a whole block's worth of memory. A pipe says it
    // holds nothing, and gets whole blocks.
    let block_size = match usize::try_from(ctx.size) {
        Ok(size) if size > 0 => ctx.reading.block_size.max(1).min(size.saturating_add(1)),
        _ => ctx.reading.block_size.max(1),
    };
    let batch_size = BATCH.min(block_size);
    let mut buf: Vec<u8> = Vec::new();
    let mut cursor = Cursor { index: 0, offset: 0, pos: Position { line: 1, col: 1 } };
    let mut scanner = Scanner::new(ctx.lines);
    let mut items = Vec::new();
    let mut seq = 0;
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
    buf.drain(..cursor.index);
    cursor.index = 0;
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
        let safe = scanner.safe;
        if safe > 0 {
            let batches: Vec<(Range<usize>, Kind)> = if scanner.mode == Mode::Lines {
                split_lines(&buf, 0..safe, batch_size).into_iter().map(|r| (r, Kind::Lines)).collect()
            } else {
                group(std::mem::take(&mut items), batch_size)
            };
            let places: Vec<Cursor> = batches.iter().map(|(range, _)| cursor.to(&buf, range.start)).collect();
            let afters: Vec<Option<u8>> = batches.iter().map(|(range, _)| buf.get(range.end).copied()).collect();
            cursor.to(&buf, safe);
            // The rest of the block (a record cut at its end) starts the next buffer; the block
            // itself is kept, for the incidents to borrow their text from.
            let mut next = Vec::with_capacity(block_size + buf.len() - safe);
            next.extend_from_slice(&buf[safe..]);
            let block: &'static mut [u8] = std::mem::replace(&mut buf, next).leak();
            let mut rest = block;
            let mut consumed = 0;
            for (((range, kind), at), after) in batches.into_iter().zip(places).zip(afters) {
                let (_, tail) = rest.split_at_mut(range.start - consumed);
                let (region, tail) = tail.split_at_mut(range.len());
                rest = tail;
                consumed = range.end;
                let kind = match kind {
                    Kind::Items(items) => {
                        Kind::Items(items.into_iter().map(|r| r.start - range.start..r.end - range.start).collect())
                    }
                    other => other,
                };
                let batch = Batch { seq, region, after, offset: at.offset, start: at.pos, kind };
                seq += 1;
                if !submit(batch) {
                    return Ok(None);
                }
            }
            scanner.shift(safe);
            cursor.index = 0;
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
            Ok(()) => {}
        }
    }
    if scanner.mode == Mode::Undecided
        && let Some(first) = scanner.first_value.clone()
    {
        let at = cursor.to(&buf, first.start);
        let after = buf.get(first.end).copied();
        let block: &'static mut [u8] = buf.leak();
        let region = &mut block[first];
        let batch = Batch { seq, region, after, offset: at.offset, start: at.pos, kind: Kind::Single };
        submit(batch);
    }
    Ok(None)
}

/// Reads up to `want` more bytes onto the end of `buf`, counting them as read; fewer only at the
/// end of the input, which it returns true for.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, want: usize, ctx: &Context) -> Result<bool, ReadError> {
    buf.reserve(want);
    let n = input.by_ref().take(want as u64).read_to_end(buf).map_err(ReadError::Io)?;
    if let Some(p) = ctx.progress {
        p.add_read(n as u64);
    }
    Ok(n < want)
}

/// Groups consecutive items into batches of about `size` bytes.
fn group(items: Vec<Range<usize>>, size: usize) -> Vec<(Range<usize>, Kind)> {
    let mut batches = Vec::new();
    let mut current: Vec<Range<usize>> = Vec::new();
    for item in items {
        if let Some(first) = current.first()
            && item.end - first.start > size
        {
            let range = first.start..current.last().map_or(first.start, |l| l.end);
            batches.push((range, Kind::Items(std::mem::take(&mut current))));
        }
        current.push(item);
    }
    if let Some(first) = current.first() {
        let range = first.start..current.last().map_or(first.start, |l| l.end);
        batches.push((range, Kind::Items(current)));
    }
    batches
}

/// A record of a batch, in file order: taken by the fast path (its text still to settle in the
/// buffer), or read by the careful path.
enum Slot {
    Fast(fast::Pending, usize),
    Done(Incident, usize),
}

/// Parses one batch: every record first (problems are placed in the text as written), then the
/// fast path's strings are settled in the buffer, then its incidents borrow their text from it.
fn process(b: Batch, name: &str, ctx: &Context) -> Outcome {
    let Batch { seq, region, after, offset, start, kind } = b;
    let bytes = region.len();
    let mut parsed = Parsed::default();
    let mut slots: Vec<Slot> = Vec::new();
    let mut lists = fast::Lists::default();
    let mut stopped = false;
    let valid = match std::str::from_utf8(region) {
        Ok(_) => bytes,
        Err(e) => e.valid_up_to(),
    };
    {
        let text = std::str::from_utf8(&region[..valid]).unwrap_or_default();
        let bad_utf8 = (valid < bytes).then_some(valid);
        let src = Text::within(name, text, offset, start);
        let mut read =
            Reading { src: &src, buffer: text, ctx, slots: &mut slots, lists: &mut lists, parsed: &mut parsed };
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
        }
        if let (Some(at), false) = (bad_utf8, stopped) {
            parsed.problems.push(Problem {
                file: name.to_string(),
                position: Some(src.position_at(at)),
                record: None,
                field: None,
                message: "the file is not valid UTF-8 text".into(),
            });
            stopped = true;
        }
    }
    for slot in &mut slots {
        if let Slot::Fast(pending, _) = slot {
            pending.settle(&mut region[..valid]);
        }
    }
    lists.settle(&mut region[..valid]);
    let region: &'static [u8] = region;
    // Settled strings leave only text behind them, so what was UTF-8 still is.
    let text: &'static str = std::str::from_utf8(&region[..valid]).unwrap_or_default();
    parsed.incidents.reserve_exact(slots.len());
    let mut actors = foldhash::HashSet::default();
    let mut runs = lists.into_runs();
    for slot in slots {
        parsed.incidents.push(match slot {
            Slot::Fast(pending, at) => (pending.incident(text, &mut runs, &mut actors), at),
            Slot::Done(incident, at) => (incident, at),
        });
    }
    if let Some(p) = ctx.progress {
        p.add_records(parsed.incidents.len() as u64);
    }
    Outcome { seq, parsed, stopped, bytes }
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
        let at = self.src.file_offset_of(text);
        if !self.ctx.reading.careful_only
            && let Some(pending) = fast::record(text, self.buffer, self.ctx.actors, self.lists)
        {
            self.slots.push(Slot::Fast(pending, at));
            return Ok(());
        }
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
    let (valid, bad_utf8) = match std::str::from_utf8(buf) {
        Ok(text) => (text, false),
        Err(e) => (std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(), true),
    };
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
