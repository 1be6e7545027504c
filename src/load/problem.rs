//! Load errors that say where: file, line and column, record and field.

use std::fmt;

/// A position in a file, 1-based; column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// Finds positions of sub-slices of a file's text.
pub struct Text<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Byte offsets where lines start, computed on first use: a file with many problems (or a
    /// loader that places every record) must not rescan the text for each position.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Text<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Self { file, text, line_starts: std::cell::OnceCell::new() }
    }

    /// The byte offset where `part` (a slice of this text) begins.
    pub fn offset_of(&self, part: &str) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize).min(self.text.len())
    }

    /// The position where `part` (a slice of this text) begins. Counting the column costs the
    /// length of its line, so positions are only worked out for problems.
    pub fn position_of(&self, part: &str) -> Position {
        self.position_at(self.offset_of(part))
    }

    /// The position of a byte offset.
    pub fn position_at(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let starts = self
            .line_starts
            .get_or_init(|| std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect());
        let line = starts.partition_point(|&s| s <= offset);
        let line_start = starts[line - 1];
        let col = self.text[line_start..offset].chars().count() + 1;
        Position { line, col }
    }

    /// A JSON error that serde reported inside `part` (a slice of this text), placed in the file.
    pub fn json_error(&self, part: &str, e: &serde_json::Error) -> Problem {
        // serde counts lines from the start of `part` and columns in bytes; positions here count
        // characters from the start of the file.
        let line_start: usize = part.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
        let inside = (line_start + e.column().saturating_sub(1)).min(part.len());
        let part_start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let message = e.to_string();
        // serde appends " at line L column C"; the position is already in front.
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
        let what = match e.classify() {
            serde_json::error::Category::Data => "unexpected JSON value",
            _ => "invalid JSON",
        };
        Problem {
            file: self.file.to_string(),
            position: Some(self.position_at(part_start + inside)),
            record: None,
            field: None,
            message: format!("{what}: {message}"),
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
