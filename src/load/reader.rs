//! Reading the fields of one record from raw JSON, shared by the loaders. Every problem is
//! collected, never only the first, and names the file, the position, the record and the field
//! path (`actors[0].aliases[1]`). `null` reads as absent, and text is sanitised on the way in.
//!
//! Two readings of text: `string` keeps what was written (a strict format checks it as given),
//! `text` trims it and reads a blank string as absent (what other tools' exports need).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::problem::{Problem, Text, json_kind};
use crate::model::{PartialDate, sanitize, sanitize_owned};

/// Collects the problems of the records of one file.
pub struct Reader<'s> {
    src: &'s Text<'s>,
    /// The id of the record being read, named in each problem.
    record: Option<String>,
    problems: Vec<Problem>,
}

/// The fields of a JSON object, in file order, with the object's text (where a missing field is
/// reported) and its path. Keys are borrowed from the text unless they hold escapes.
pub struct Fields<'a> {
    pub raw: &'a RawValue,
    pub path: String,
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Fields<'a> {
    /// A field that is there and not `null`. A key written twice counts as its last value, as
    /// JSON readers usually take it.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v).filter(|v| v.get() != "null")
    }

    /// The path of one of its fields: `actors[0].type`.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// `path.key`, or `key` at the top of a record.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl<'s> Reader<'s> {
    pub fn new(src: &'s Text<'s>) -> Self {
        Self { src, record: None, problems: Vec::new() }
    }

    pub fn src(&self) -> &'s Text<'s> {
        self.src
    }

    /// Names the record that later problems belong to (`None`: no id known).
    pub fn set_record(&mut self, id: Option<String>) {
        self.record = id;
    }

    /// How many problems have been found; compare before and after reading a record to know
    /// whether it had any.
    pub fn count(&self) -> usize {
        self.problems.len()
    }

    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    /// A problem at `at`, a slice of the file's text.
    pub fn problem(&mut self, at: &str, field: &str, message: impl Into<String>) {
        let p = self.src.problem(at, self.record.as_deref(), Some(field), message);
        self.problems.push(p);
    }

    /// A problem with nothing in the text to point at.
    pub fn problem_unplaced(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.src.file.to_string(),
            position: None,
            record: self.record.clone(),
            field: Some(field.to_string()),
            message: message.into(),
        });
    }

    /// A value of the wrong kind: `expected a string, found a number`.
    pub fn wrong(&mut self, raw: &RawValue, path: &str, expected: &str) {
        self.problem(raw.get(), path, format!("expected {expected}, found {}", json_kind(raw)));
    }

    /// A problem with a field's value, at the value (or at its object when it is not there).
    pub fn problem_at_field(&mut self, fields: &Fields, key: &str, message: impl Into<String>) {
        let at = fields.get(key).map_or(fields.raw.get(), RawValue::get);
        self.problem(at, &fields.path_of(key), message);
    }

    /// Any value serde can read into `T`; `expected` says what in a problem ("a whole number").
    pub fn typed<T: DeserializeOwned>(&mut self, raw: &RawValue, path: &str, expected: &str) -> Option<T> {
        match serde_json::from_str(raw.get()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.wrong(raw, path, expected);
                None
            }
        }
    }

    /// A JSON object with any fields.
    pub fn object<'a>(&mut self, raw: &'a RawValue, path: &str) -> Option<Fields<'a>> {
        match serde_json::from_str::<Entries<'a>>(raw.get()) {
            Ok(Entries(entries)) => Some(Fields { raw, path: path.to_string(), entries }),
            Err(_) => {
                let field = if path.is_empty() { "(record)" } else { path };
                self.wrong(raw, field, "an object");
                None
            }
        }
    }

    /// A field that must be an object, when present.
    pub fn child<'a>(&mut self, fields: &Fields<'a>, key: &str) -> Option<Fields<'a>> {
        let raw = fields.get(key)?;
        self.object(raw, &fields.path_of(key))
    }

    /// An array's items, when present and an array.
    pub fn array<'a>(&mut self, raw: Option<&'a RawValue>, path: &str) -> Vec<&'a RawValue> {
        let Some(raw) = present(raw) else { return Vec::new() };
        match serde_json::from_str::<Vec<&'a RawValue>>(raw.get()) {
            Ok(items) => items,
            Err(_) => {
                self.wrong(raw, path, "an array");
                Vec::new()
            }
        }
    }

    /// A string as written (sanitised), when present.
    pub fn string(&mut self, raw: Option<&RawValue>, path: &str) -> Option<String> {
        let raw = present(raw)?;
        // Borrowed when it holds no escapes: most strings of large files do not.
        if let Ok(s) = serde_json::from_str::<&str>(raw.get()) {
            return Some(sanitize(s).into_owned());
        }
        match serde_json::from_str::<String>(raw.get()) {
            Ok(s) => Some(sanitize_owned(s.into())),
            Err(_) => {
                self.wrong(raw, path, "a string");
                None
            }
        }
    }

    /// A string trimmed, with a blank one read as absent.
    pub fn text(&mut self, raw: Option<&RawValue>, path: &str) -> Option<String> {
        self.string(raw, path).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// A string field trimmed, with a blank one read as absent.
    pub fn text_of(&mut self, fields: &Fields, key: &str) -> Option<String> {
        let raw = fields.get(key)?;
        self.text(Some(raw), &fields.path_of(key))
    }

    /// An array of strings, each trimmed and with its value for positions; blank items are
    /// dropped and items of other kinds are problems at their place.
    pub fn texts<'a>(&mut self, raw: Option<&'a RawValue>, path: &str) -> Vec<(String, &'a RawValue)> {
        let mut out = Vec::new();
        for (i, item) in self.array(raw, path).into_iter().enumerate() {
            if let Some(s) = self.text(Some(item), &format!("{path}[{i}]")) {
                out.push((s, item));
            }
        }
        out
    }

    /// An array field of strings, as `texts`.
    pub fn texts_of<'a>(&mut self, fields: &Fields<'a>, key: &str) -> Vec<(String, &'a RawValue)> {
        let Some(raw) = fields.get(key) else { return Vec::new() };
        self.texts(Some(raw), &fields.path_of(key))
    }

    /// `true` or `false`, when present.
    pub fn boolean(&mut self, raw: Option<&RawValue>, path: &str) -> Option<bool> {
        let raw = present(raw)?;
        self.typed(raw, path, "true or false")
    }

    /// The day of a timestamp (`2016-01-08T12:50:40.123Z`), as STIX writes them.
    pub fn timestamp_day(&mut self, raw: Option<&RawValue>, path: &str) -> Option<PartialDate> {
        let raw = present(raw)?;
        let stamp: String = self.typed(raw, path, "a timestamp string")?;
        let day = stamp.get(..10).unwrap_or(&stamp);
        PartialDate::parse(day)
            .map_err(|e| self.problem(raw.get(), path, format!("{e} (from the timestamp {stamp:?})")))
            .ok()
    }
}

/// The strict reading of the native format: fields checked against the allowed ones, required
/// strings, arrays of objects, dates.
impl Reader<'_> {
    /// A JSON object whose fields must be among `allowed`: a typo must not make a field vanish
    /// silently. Each unknown field is a problem at its key.
    pub fn object_with<'a>(&mut self, raw: &'a RawValue, path: &str, allowed: &[&str]) -> Option<Fields<'a>> {
        let fields = self.object(raw, path)?;
        self.unknown_fields(&fields, allowed);
        Some(fields)
    }

    /// Reports the fields of an object that are not among `allowed`, each at its key.
    pub fn unknown_fields(&mut self, fields: &Fields, allowed: &[&str]) {
        for (key, value) in &fields.entries {
            if !allowed.contains(&key.as_ref()) {
                let at = key_text(fields.raw.get(), value);
                let message = format!("unknown field {key:?}, expected one of: {}", allowed.join(", "));
                self.problem(at, &fields.path_of(key), message);
            }
        }
    }

    /// An array field's items, each with its path (`sources[2]`).
    pub fn items<'a>(&mut self, fields: &Fields<'a>, key: &str) -> Vec<(String, &'a RawValue)> {
        let Some(raw) = fields.get(key) else { return Vec::new() };
        let path = fields.path_of(key);
        self.array(Some(raw), &path).into_iter().enumerate().map(|(i, item)| (format!("{path}[{i}]"), item)).collect()
    }

    /// A string field that must be there and not blank; a missing one is reported at its object.
    pub fn required(&mut self, fields: &Fields, key: &str) -> Option<String> {
        let path = fields.path_of(key);
        let Some(raw) = fields.get(key) else {
            self.problem(fields.raw.get(), &path, "missing required field");
            return None;
        };
        let s = self.string(Some(raw), &path)?;
        if s.trim().is_empty() {
            self.problem(raw.get(), &path, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// A string field as written, when present.
    pub fn optional(&mut self, fields: &Fields, key: &str) -> Option<String> {
        let raw = fields.get(key)?;
        self.string(Some(raw), &fields.path_of(key))
    }

    /// The date a field holds, read as a string already (`required` or `optional`): `YYYY`,
    /// `YYYY-MM` or `YYYY-MM-DD`; anything else is a problem at the field.
    pub fn date_of(&mut self, fields: &Fields, key: &str, written: &str) -> Option<PartialDate> {
        PartialDate::parse(written).map_err(|e| self.problem_at_field(fields, key, e)).ok()
    }
}

/// A value that is there and not `null`.
pub fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| r.get() != "null")
}

/// Where a key is written inside its object's text, so an unknown field points at the key itself.
fn key_text<'t>(object: &'t str, value: &RawValue) -> &'t str {
    let value_at = (value.get().as_ptr() as usize).saturating_sub(object.as_ptr() as usize).min(object.len());
    let before = &object[..value_at];
    // The value follows `"key"` and a colon: step back over the colon, then over the quoted key.
    let Some(colon) = before.rfind(':') else { return object };
    let key_end = before[..colon].trim_end();
    if !key_end.ends_with('"') {
        return object;
    }
    let mut inner = &key_end[..key_end.len() - 1];
    while let Some(i) = inner.rfind('"') {
        let backslashes = inner[..i].bytes().rev().take_while(|b| *b == b'\\').count();
        if backslashes % 2 == 0 {
            return &object[i..];
        }
        inner = &inner[..i];
    }
    object
}

/// An object's entries in file order, keys borrowed when they hold no escapes.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EntriesVisitor<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Key(key)) = map.next_key::<Key<'a>>()? {
                    let value: &'a RawValue = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for KeyVisitor<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Position;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn paths_name_nested_items_and_null_reads_as_absent() {
        let text = r#"{"id": "a-1", "actors": [{"name": "X", "aliases": ["Y", 7]}], "note": null}"#;
        let src = Text::new("f.json", text);
        let mut r = Reader::new(&src);
        let record = r.object_with(raw(text), "", &["id", "actors", "note"]).unwrap();
        let id = r.required(&record, "id");
        r.set_record(id);
        assert_eq!(r.optional(&record, "note"), None);
        let (path, item) = r.items(&record, "actors").remove(0);
        let actor = r.object_with(item, &path, &["name", "aliases"]).unwrap();
        let aliases = r.texts_of(&actor, "aliases");
        assert_eq!(aliases.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["Y"]);
        let p = r.take_problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].record.as_deref(), p[0].field.as_deref()), (Some("a-1"), Some("actors[0].aliases[1]")));
        assert_eq!(p[0].message, "expected a string, found a number");
        assert_eq!(p[0].position, Some(Position { line: 1, col: text.find('7').unwrap() + 1 }));
    }

    #[test]
    fn unknown_fields_point_at_their_key_and_missing_ones_at_their_object() {
        let text = "{\"id\": \"a\",\n \"victm\": \"Acme\", \"sources\": [{\"t\\u0069tel\": 1}]}";
        let src = Text::new("f.json", text);
        let mut r = Reader::new(&src);
        let record = r.object_with(raw(text), "", &["id", "victim", "sources"]).unwrap();
        assert_eq!(r.required(&record, "victim"), None);
        let (path, item) = r.items(&record, "sources").remove(0);
        r.object_with(item, &path, &["title"]);
        let p = r.take_problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[0].field.as_deref(), Some("victm"));
        assert_eq!(p[0].position, Some(Position { line: 2, col: 2 }));
        assert!(p[0].message.starts_with("unknown field \"victm\", expected one of: id, victim"), "{}", p[0].message);
        assert_eq!((p[1].field.as_deref(), p[1].message.as_str()), (Some("victim"), "missing required field"));
        assert_eq!(p[1].position, Some(Position { line: 1, col: 1 }));
        // An escaped key is still found and named as it reads.
        assert_eq!(p[2].field.as_deref(), Some("sources[0].titel"));
        assert_eq!(p[2].position.map(|p| p.col), Some(text.lines().nth(1).unwrap().find("\"t\\").unwrap() + 1));
    }

    #[test]
    fn text_is_trimmed_sanitised_and_blank_is_absent() {
        let text = r#"{"a": "  x\u001b[31m ", "b": "   ", "c": "2020-02-30", "d": "2016-01-08T12:50:40Z", "e": [1]}"#;
        let src = Text::new("f.json", text);
        let mut r = Reader::new(&src);
        let f = r.object(raw(text), "").unwrap();
        assert_eq!(r.text_of(&f, "a").as_deref(), Some("x"));
        assert_eq!(r.text_of(&f, "b"), None);
        assert_eq!(r.optional(&f, "b").as_deref(), Some("   "), "the strict reading keeps what was written");
        assert_eq!(r.count(), 0);
        let written = r.optional(&f, "c").unwrap();
        assert_eq!(r.date_of(&f, "c", &written), None);
        assert_eq!(r.timestamp_day(f.get("d"), "d").map(|d| d.to_string()).as_deref(), Some("2016-01-08"));
        assert_eq!(r.text_of(&f, "e"), None);
        let p = r.take_problems();
        assert_eq!(p.iter().map(|p| p.field.as_deref().unwrap_or_default()).collect::<Vec<_>>(), ["c", "e"]);
        assert!(p[0].message.contains("has no day 30"), "{}", p[0].message);
    }
}
