//! Load errors that say where: file, line and column, record and field.

use std::fmt;

/// A position in a file, 1-based; column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// Finds positions of sub-slices of a file's text, or of a piece of it that begins further into
/// the file (a block of a large file read piece by piece).
pub struct Text<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Where `text` begins in its file: a byte offset, and a position.
    start_offset: usize,
    start: Position,
    /// Line starts and character counts, computed on first use: a file with many problems (or a
    /// loader that places every record) must not rescan the text for each position.
    index: std::cell::OnceCell<Index>,
}

/// Byte offsets where lines start, and the number of characters before every `MARK`th byte, so a
/// column on a very long line (a one-line file) costs at most `MARK` bytes of counting.
struct Index {
    line_starts: Vec<usize>,
    char_marks: Vec<usize>,
}

const MARK: usize = 4096;

impl<'a> Text<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Self::within(file, text, 0, Position { line: 1, col: 1 })
    }

    /// A piece of a file that begins at byte `start_offset`, at position `start`.
    pub fn within(file: &'a str, text: &'a str, start_offset: usize, start: Position) -> Self {
        Self { file, text, start_offset, start, index: std::cell::OnceCell::new() }
    }

    /// The byte offset in this text where `part` (a slice of this text) begins.
    pub fn offset_of(&self, part: &str) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize).min(self.text.len())
    }

    /// The byte offset in the file where `part` (a slice of this text) begins.
    pub fn file_offset_of(&self, part: &str) -> usize {
        self.start_offset + self.offset_of(part)
    }

    /// The position where `part` (a slice of this text) begins. Counting the column costs the
    /// length of its line, so positions are only worked out for problems.
    pub fn position_of(&self, part: &str) -> Position {
        self.position_at(self.offset_of(part))
    }

    /// The position of a byte offset in this text.
    pub fn position_at(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = self.index.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let line_starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1)).collect();
            let mut char_marks = vec![0];
            for chunk in bytes.chunks(MARK) {
                char_marks.push(char_marks.last().copied().unwrap_or(0) + count_chars(chunk));
            }
            Index { line_starts, char_marks }
        });
        let chars_before = |at: usize| {
            let mark = at / MARK;
            index.char_marks[mark] + count_chars(&self.text.as_bytes()[mark * MARK..at])
        };
        let line = index.line_starts.partition_point(|&s| s <= offset);
        let line_start = index.line_starts[line - 1];
        let chars = chars_before(offset) - chars_before(line_start);
        if line == 1 {
            Position { line: self.start.line, col: self.start.col + chars }
        } else {
            Position { line: self.start.line + line - 1, col: chars + 1 }
        }
    }

    /// A JSON error that serde reported inside `part` (a slice of this text), placed in the file.
    pub fn json_error(&self, part: &str, e: &serde_json::Error) -> Problem {
        let at = self.offset_of(part) + serde_offset(part, e);
        Problem {
            file: self.file.to_string(),
            position: Some(self.position_at(at)),
            record: None,
            field: None,
            message: json_message(e),
        }
    }

    /// A problem at a slice of this text.
    pub fn problem(
        &self,
        part: &str,
        record: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            file: self.file.to_string(),
            position: Some(self.position_of(part)),
            record: record.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// The byte offset inside `part` where serde, parsing `part`, reported an error: serde counts
/// lines from the start of `part` and columns in bytes.
pub(crate) fn serde_offset(part: &str, e: &serde_json::Error) -> usize {
    let line_start: usize = part.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
    (line_start + e.column().saturating_sub(1)).min(part.len())
}

/// serde's message without the " at line L column C" it appends: the position is shown in front.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    let what = match e.classify() {
        serde_json::error::Category::Data => "unexpected JSON value",
        _ => "invalid JSON",
    };
    format!("{what}: {message}")
}

/// The number of characters in UTF-8 bytes: every byte that does not continue a character.
/// Written without branches so it runs at memory speed.
pub(crate) fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// The position just after `bytes`, which begin at `start`.
pub(crate) fn advance(start: Position, bytes: &[u8]) -> Position {
    match memchr::memrchr(b'\n', bytes) {
        None => Position { line: start.line, col: start.col + count_chars(bytes) },
        Some(last) => Position {
            line: start.line + memchr::memchr_iter(b'\n', &bytes[..=last]).count(),
            col: 1 + count_chars(&bytes[last + 1..]),
        },
    }
}

/// What kind of JSON value a raw value is, for messages.
pub fn json_kind(raw: &serde_json::value::RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// One thing wrong with an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub position: Option<Position>,
    /// The id of the record, when it has one.
    pub record: Option<String>,
    /// The field, as a path: `actors[0].type`.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        write!(f, ": ")?;
        match (&self.record, &self.field) {
            (Some(r), Some(fl)) => write!(f, "record {r:?}, field {fl}: ")?,
            (Some(r), None) => write!(f, "record {r:?}: ")?,
            (None, Some(fl)) => write!(f, "field {fl}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)
    }
}

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read: exit code 2.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The data is invalid: every problem found, exit code 1.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// The load was called off (the analyst quit while it ran).
    #[error("loading was cancelled")]
    Cancelled,
    /// A TAXII collection could not be opened: exit code 2.
    #[error(transparent)]
    Taxii(crate::taxii::TaxiiError),
}

impl From<crate::taxii::TaxiiError> for LoadError {
    fn from(e: crate::taxii::TaxiiError) -> Self {
        match e {
            crate::taxii::TaxiiError::Cancelled => LoadError::Cancelled,
            e => LoadError::Taxii(e),
        }
    }
}

impl LoadError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LoadError::Io { .. } | LoadError::Cancelled | LoadError::Taxii(_) => 2,
            LoadError::Invalid(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "[\n  {\"é\": 1,\n   \"x\": 2}]";
        let t = Text::new("f.json", src);
        let at = src.find("\"x\"").unwrap();
        assert_eq!(t.position_at(at), Position { line: 3, col: 4 });
        let e = src.find('1').unwrap();
        assert_eq!(t.position_of(&src[e..]), Position { line: 2, col: 9 });
    }

    #[test]
    fn a_piece_of_a_file_is_placed_from_where_it_begins() {
        let file = "[{\"a\": \"é\"},\n {\"b\": 1}, {\"c\": 2}]";
        let whole = Text::new("f.json", file);
        let start = file.find("{\"b\"").unwrap();
        let piece = Text::within("f.json", &file[start..], start, whole.position_at(start));
        for needle in ["\"b\"", "1", "{\"c\"", "2}"] {
            let at = file[start..].find(needle).unwrap();
            assert_eq!(piece.position_at(at), whole.position_at(start + at), "{needle}");
        }
        assert_eq!(piece.file_offset_of(&file[start + 3..]), start + 3);
        assert_eq!(advance(Position { line: 1, col: 1 }, file.as_bytes()), whole.position_at(file.len()));
    }

    #[test]
    fn columns_on_a_very_long_line_count_characters() {
        let file = format!("{}x", "é".repeat(10_000));
        let t = Text::new("f.json", &file);
        assert_eq!(t.position_at(file.len() - 1), Position { line: 1, col: 10_001 });
        assert_eq!(t.position_at(2 * 5000), Position { line: 1, col: 5001 });
    }

    #[test]
    fn problems_read_file_line_col_record_field() {
        let p = Problem {
            file: "a.json".into(),
            position: Some(Position { line: 3, col: 5 }),
            record: Some("x-1".into()),
            field: Some("date".into()),
            message: "bad".into(),
        };
        assert_eq!(p.to_string(), "a.json:3:5: record \"x-1\", field date: bad");
    }
}
