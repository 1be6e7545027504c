//! Finding records in a native file read block by block: the top-level values of a JSON array (or
//! of `{"incidents": [...]}`), or the lines of JSON Lines. The scan only tracks strings (skipped
//! whole) and nesting; the records themselves are parsed later, on every core. Past the first
//! records, the reader mostly guesses where records end instead (`guess_record_end`).
//! Whatever is not a record boundary is left to serde: on anything unexpected the scanner stops
//! and says where the text it can vouch for ends.

use std::ops::Range;

use super::lexer::quote_or_backslash;

/// How the file holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not known yet: the file starts with an object that is not `{"incidents": [...]}`. It is one
    /// record if nothing follows it, JSON Lines otherwise.
    Undecided,
    Array,
    /// `{"incidents": [...]}`.
    Wrapper,
    Lines,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first value of the file.
    Start,
    /// After `[`: an item or `]`.
    First,
    /// After `,`: an item.
    Next,
    /// Inside an object or array item, this deep.
    Nested(u32),
    /// Inside a string of an item, at this depth (0: the item is the string); `escaped` when the
    /// block ended just after a backslash.
    Str { depth: u32, escaped: bool },
    /// Inside a number or literal item.
    Scalar,
    /// After an item: `,` or `]`.
    After,
    /// After the wrapper's array: `}`.
    WrapperEnd,
    /// After the file's value: nothing but whitespace.
    End,
}

/// Why the scan stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The first non-blank character cannot start a dataset (or the file is blank); at this index.
    NotADataset(usize),
    /// The JSON is not what a dataset can be at this index; serde will say exactly why, reading
    /// from `safe`.
    Unexpected(usize),
}

/// The scanner's state, kept across blocks. Indexes are into the current buffer; `shift` moves
/// them when the buffer's consumed front is dropped.
#[derive(Debug)]
pub struct Scanner {
    pub mode: Mode,
    state: State,
    /// Next byte to look at.
    pos: usize,
    /// Where the item being scanned began.
    item_start: usize,
    /// Everything before this index has been handed out as items (or, in JSON Lines, lines), and
    /// what follows is read in the state just after an item (or at the start of the file).
    pub safe: usize,
    /// Whether `safe` still is the start of the file, where nothing has been handed out.
    pub at_start: bool,
    /// Undecided mode: the first value, once complete.
    pub first_value: Option<Range<usize>>,
    /// The scan stops at the first record boundary at or after this index (read guesses ahead of
    /// the scan from there).
    pub stop_at: usize,
}

/// JSON's whitespace.
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Scanner {
    pub fn new(lines: bool) -> Self {
        Self {
            mode: if lines { Mode::Lines } else { Mode::Undecided },
            state: State::Start,
            pos: 0,
            item_start: 0,
            safe: 0,
            at_start: true,
            first_value: None,
            stop_at: usize::MAX,
        }
    }

    /// The next byte to look at.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether everything scanned has been handed out, and the scan is just after an item of the
    /// array.
    pub fn at_boundary(&self) -> bool {
        self.state == State::After && self.pos == self.safe
    }

    /// Carries on from `at`, just after an item, as if the scan had found everything before it.
    pub fn resume_after_item(&mut self, at: usize) {
        self.pos = at;
        self.safe = at;
        self.item_start = at;
        self.at_start = false;
        self.state = State::After;
    }

    /// The buffer lost its first `n` bytes (all before `safe`).
    pub fn shift(&mut self, n: usize) {
        self.pos -= n;
        self.item_start = self.item_start.saturating_sub(n);
        self.safe -= n;
    }

    /// Scans `buf` from where the last call stopped, pushing each complete item. `eof` says no
    /// more bytes will come.
    pub fn scan(&mut self, buf: &[u8], eof: bool, items: &mut Vec<Range<usize>>) -> Result<(), Stop> {
        if self.mode == Mode::Lines {
            self.scan_lines(buf, eof);
            return Ok(());
        }
        while self.pos < buf.len() {
            if self.pos >= self.stop_at && self.at_boundary() {
                return Ok(());
            }
            let b = buf[self.pos];
            match self.state {
                State::Start => {
                    if is_ws(b) {
                        self.pos += 1;
                        continue;
                    }
                    match b {
                        b'[' => {
                            self.mode = Mode::Array;
                            self.state = State::First;
                            self.pos += 1;
                        }
                        b'{' => match wrapper_head(&buf[self.pos..]) {
                            Some(len) => {
                                self.mode = Mode::Wrapper;
                                self.state = State::First;
                                self.pos += len;
                            }
                            None if !eof && buf.len() - self.pos < 64 => return Ok(()),
                            None => {
                                self.item_start = self.pos;
                                self.state = State::Nested(1);
                                self.pos += 1;
                            }
                        },
                        _ => return Err(Stop::NotADataset(self.pos)),
                    }
                }
                State::First | State::Next => {
                    if is_ws(b) {
                        self.pos += 1;
                        continue;
                    }
                    self.item_start = self.pos;
                    match b {
                        b']' if self.state == State::First => {
                            self.pos += 1;
                            self.state = self.closed();
                        }
                        b'{' | b'[' => {
                            self.pos += 1;
                            self.state = State::Nested(1);
                        }
                        b'"' => {
                            self.pos += 1;
                            self.state = State::Str { depth: 0, escaped: false };
                        }
                        b',' | b']' | b'}' | b':' => return Err(Stop::Unexpected(self.pos)),
                        _ => self.state = State::Scalar,
                    }
                }
                State::Nested(depth) => self.nested(buf, depth, items),
                State::Str { depth, escaped } => match skip_string(buf, self.pos, escaped) {
                    Ok(end) => {
                        self.pos = end;
                        if depth == 0 {
                            self.item_done(items);
                        } else {
                            self.state = State::Nested(depth);
                        }
                    }
                    Err(escaped) => {
                        self.pos = buf.len();
                        self.state = State::Str { depth, escaped };
                    }
                },
                State::Scalar => {
                    if matches!(b, b',' | b']' | b'}' | b'[' | b'{' | b'"' | b':') || is_ws(b) {
                        self.item_done(items);
                    } else {
                        self.pos += 1;
                    }
                }
                State::After => {
                    if is_ws(b) {
                        self.pos += 1;
                        continue;
                    }
                    match b {
                        b',' => self.state = State::Next,
                        b']' => self.state = self.closed(),
                        _ => return Err(Stop::Unexpected(self.pos)),
                    }
                    self.pos += 1;
                }
                State::WrapperEnd => {
                    if is_ws(b) {
                        self.pos += 1;
                        continue;
                    }
                    if b != b'}' {
                        return Err(Stop::Unexpected(self.pos));
                    }
                    self.pos += 1;
                    self.state = State::End;
                }
                State::End => {
                    if is_ws(b) {
                        self.pos += 1;
                        continue;
                    }
                    if self.mode == Mode::Undecided {
                        // A second value: JSON Lines without the extension, read from the start.
                        self.mode = Mode::Lines;
                        self.pos = 0;
                        self.scan_lines(buf, eof);
                        return Ok(());
                    }
                    return Err(Stop::Unexpected(self.pos));
                }
            }
        }
        if eof {
            if self.state == State::Scalar {
                self.item_done(items);
            }
            return match self.state {
                State::Start => Err(Stop::NotADataset(self.pos)),
                State::End => Ok(()),
                _ => Err(Stop::Unexpected(self.pos)),
            };
        }
        Ok(())
    }

    fn closed(&self) -> State {
        if self.mode == Mode::Wrapper { State::WrapperEnd } else { State::End }
    }

    /// Inside an object or array: strings are skipped whole, brackets counted.
    fn nested(&mut self, buf: &[u8], mut depth: u32, items: &mut Vec<Range<usize>>) {
        let mut i = self.pos;
        while i < buf.len() {
            match buf[i] {
                b'"' => match skip_string(buf, i + 1, false) {
                    Ok(end) => {
                        i = end;
                        continue;
                    }
                    Err(escaped) => {
                        self.pos = buf.len();
                        self.state = State::Str { depth, escaped };
                        return;
                    }
                },
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        self.item_done(items);
                        return;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        self.state = State::Nested(depth);
    }

    fn item_done(&mut self, items: &mut Vec<Range<usize>>) {
        let item = self.item_start..self.pos;
        if self.mode == Mode::Undecided {
            self.first_value = Some(item);
            self.state = State::End;
        } else {
            items.push(item);
            self.safe = self.pos;
            self.at_start = false;
            self.state = State::After;
        }
    }

    /// JSON Lines: everything up to the last newline is ready; the lines are split later. Only
    /// the bytes new since the last call are searched, so a huge line costs one pass.
    fn scan_lines(&mut self, buf: &[u8], eof: bool) {
        let from = self.pos.max(self.safe).min(buf.len());
        let end = if eof { Some(buf.len()) } else { memchr::memrchr(b'\n', &buf[from..]).map(|i| from + i + 1) };
        if let Some(end) = end {
            self.safe = end;
            self.at_start = false;
        }
        self.pos = buf.len();
    }
}

/// The length of `{"incidents": [` at the start of `bytes`, blanks included, if it is there.
fn wrapper_head(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    let skip = |i: &mut usize| {
        while bytes.get(*i).copied().is_some_and(is_ws) {
            *i += 1;
        }
    };
    skip(&mut i);
    let key = b"\"incidents\"";
    if !bytes[i..].starts_with(key) {
        return None;
    }
    i += key.len();
    skip(&mut i);
    (bytes.get(i) == Some(&b':')).then_some(())?;
    i += 1;
    skip(&mut i);
    (bytes.get(i) == Some(&b'[')).then_some(i + 1)
}

/// From just inside a string, the index after its closing quote; or, when the buffer ends first,
/// whether it ended on an escaping backslash.
fn skip_string(buf: &[u8], mut i: usize, escaped: bool) -> Result<usize, bool> {
    if escaped {
        if i >= buf.len() {
            return Err(true);
        }
        i += 1;
    }
    loop {
        match quote_or_backslash(&buf[i..]) {
            None => return Err(false),
            Some(k) if buf[i + k] == b'"' => return Ok(i + k + 1),
            Some(k) => {
                if i + k + 1 >= buf.len() {
                    return Err(true);
                }
                i += k + 2;
            }
        }
    }
}

/// The index just after the object or array that starts at `start`, found by skipping strings
/// and counting brackets (nothing else is checked); `None` if `bytes` ends first.
pub fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0u32;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_string(bytes, i + 1, false).ok()?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where a record probably ends, found without reading what comes before: at the first line
/// from `from` on that starts (after `indent` blanks, if known) with `{`, and whose previous line
/// ends with `},`, the index just after that `}`. A guess: a line inside a record can look the
/// same, so whatever is read from a guessed place is checked (see `native.rs`).
pub fn guess_record_end(bytes: &[u8], from: usize, indent: Option<usize>) -> Option<usize> {
    let mut i = from;
    while let Some(k) = memchr::memchr(b'\n', &bytes[i..]) {
        let newline = i + k;
        i = newline + 1;
        let blanks = bytes[i..].iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if bytes.get(i + blanks) != Some(&b'{') || indent.is_some_and(|n| n != blanks) {
            continue;
        }
        let before = &bytes[..newline];
        let mut end = before.len();
        while end > 0 && matches!(before[end - 1], b' ' | b'\t' | b'\r') {
            end -= 1;
        }
        if end < 2 || before[end - 1] != b',' {
            continue;
        }
        end -= 1;
        while end > 0 && matches!(before[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        if end > from && before[end - 1] == b'}' {
            return Some(end);
        }
    }
    None
}

/// Splits `[start, end)` of a buffer of lines into pieces of about `size` bytes that end just
/// after a newline.
pub fn split_lines(buf: &[u8], range: Range<usize>, size: usize) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let target = (start + size.max(1)).min(range.end);
        let end = if target >= range.end {
            range.end
        } else {
            memchr::memchr(b'\n', &buf[target - 1..range.end]).map_or(range.end, |i| target + i)
        };
        pieces.push(start..end);
        start = end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `text` fed in pieces of `step` bytes, as the reader does, and returns the items.
    fn items(text: &str, step: usize) -> (Mode, Vec<String>, Result<(), Stop>) {
        let bytes = text.as_bytes();
        let mut scanner = Scanner::new(false);
        let mut found = Vec::new();
        let mut items = Vec::new();
        let mut end = 0;
        loop {
            end = (end + step).min(bytes.len());
            let eof = end == bytes.len();
            let result = scanner.scan(&bytes[..end], eof, &mut items);
            found.extend(items.drain(..).map(|r| text[r].to_string()));
            if result.is_err() || eof {
                return (scanner.mode, found, result);
            }
        }
    }

    #[test]
    fn items_of_an_array_are_found_whatever_the_block_edges() {
        let text = r#" [ {"a": "x}\"{", "b": [1, {"c": "\\"}]}, "s\"", 12, true ,{}] "#;
        for step in 1..text.len() + 1 {
            let (mode, found, result) = items(text, step);
            assert_eq!(mode, Mode::Array);
            assert_eq!(result, Ok(()), "step {step}");
            assert_eq!(
                found,
                [r#"{"a": "x}\"{", "b": [1, {"c": "\\"}]}"#, r#""s\"""#, "12", "true", "{}"],
                "step {step}"
            );
        }
    }

    #[test]
    fn the_incidents_object_holds_its_items() {
        let (mode, found, result) = items("{ \"incidents\" :\n [{\"id\": 1}, {\"id\": 2}]\n}\n", 5);
        assert_eq!((mode, result), (Mode::Wrapper, Ok(())));
        assert_eq!(found, ["{\"id\": 1}", "{\"id\": 2}"]);
    }

    #[test]
    fn one_object_or_several_decide_the_mode() {
        let (mode, found, result) = items("{\"id\": \"a\"}\n", 3);
        assert_eq!((mode, result), (Mode::Undecided, Ok(())));
        assert!(found.is_empty());
        let (mode, _, result) = items("{\"id\": \"a\"}\n{\"id\": \"b\"}\n", 3);
        assert_eq!((mode, result), (Mode::Lines, Ok(())));
    }

    #[test]
    fn unexpected_text_stops_the_scan_where_it_is() {
        let text = "[{\"a\": 1},, {}]";
        assert_eq!(items(text, 4).2, Err(Stop::Unexpected(10)));
        assert_eq!(items("[{}] x", 2).2, Err(Stop::Unexpected(5)));
        assert_eq!(items("[{}, {\"a\": ", 3).2, Err(Stop::Unexpected(11)));
        assert_eq!(items("  hello", 3).2, Err(Stop::NotADataset(2)));
        assert_eq!(items("  \n", 3).2, Err(Stop::NotADataset(3)));
    }

    #[test]
    fn lines_split_after_newlines() {
        let buf = b"aaaa\nbb\ncccccc\nd";
        assert_eq!(split_lines(buf, 0..buf.len(), 3), [0..5, 5..8, 8..15, 15..16]);
        assert_eq!(split_lines(buf, 0..buf.len(), 100), vec![0..16]);
    }
}
