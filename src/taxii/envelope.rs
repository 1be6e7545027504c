//! TAXII resources as the standard defines them: the envelope of a page of objects, collections,
//! discovery and API roots. Each is checked field by field, and every problem of a page is named
//! with the object it is in.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::load::{Text, json_kind};

/// One STIX object of a page, kept as the server sent it.
#[derive(Debug)]
pub struct Object {
    pub id: String,
    /// `modified`, else `created`: which of two copies of an object is newer.
    pub version: Option<String>,
    pub raw: Box<RawValue>,
}

/// One page of `…/objects/`.
#[derive(Debug)]
pub struct Page {
    pub objects: Vec<Object>,
    pub more: bool,
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(default, borrow)]
    more: Option<&'a RawValue>,
    #[serde(default, borrow)]
    next: Option<&'a RawValue>,
    #[serde(default, borrow)]
    objects: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Head<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    modified: Option<&'a RawValue>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
}

/// Reads a page; on failure, every problem found on it.
pub fn parse_page(text: &str) -> Result<Page, Vec<String>> {
    let src = Text::new("page", text);
    let envelope: RawEnvelope = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) => {
            let p = src.json_error(text, &e);
            let at = p.position.map(|p| format!(" at line {} column {}", p.line, p.col)).unwrap_or_default();
            let why = if text.trim_start().starts_with('{') {
                p.message
            } else {
                format!("expected a JSON object, found {:?}", super::client::excerpt(text))
            };
            return Err(vec![format!("{why}{at}")]);
        }
    };
    let mut problems = Vec::new();
    let more = match envelope.more {
        None => false,
        Some(raw) => serde_json::from_str::<bool>(raw.get()).unwrap_or_else(|_| {
            problems.push(format!("\"more\" is {}, expected true or false", json_kind(raw)));
            false
        }),
    };
    let next = match envelope.next {
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) => serde_json::from_str::<String>(raw.get()).map_or_else(
            |_| {
                problems.push(format!("\"next\" is {}, expected a string", json_kind(raw)));
                None
            },
            Some,
        ),
    };
    let raws: Vec<&RawValue> = match envelope.objects {
        None => Vec::new(),
        Some(raw) => serde_json::from_str(raw.get()).unwrap_or_else(|_| {
            problems.push(format!("\"objects\" is {}, expected an array", json_kind(raw)));
            Vec::new()
        }),
    };
    let mut objects = Vec::with_capacity(raws.len());
    for (n, raw) in raws.into_iter().enumerate() {
        match object(raw) {
            Ok(o) => objects.push(o),
            Err(why) => problems.push(format!("object {} {why}", n + 1)),
        }
    }
    if problems.is_empty() { Ok(Page { objects, more, next }) } else { Err(problems) }
}

/// Checks that an object has what a STIX object must have to be kept and merged: a type and an
/// id of that type.
fn object(raw: &RawValue) -> Result<Object, String> {
    let head: Head =
        serde_json::from_str(raw.get()).map_err(|_| format!("is {}, expected a STIX object", json_kind(raw)))?;
    let string = |field: Option<&RawValue>| field.and_then(|f| serde_json::from_str::<String>(f.get()).ok());
    let id = string(head.id);
    let kind = string(head.kind);
    let (id, kind) = match (id, kind) {
        (Some(id), Some(kind)) => (id, kind),
        (None, _) => return Err(describe(head.id, "id", None)),
        (Some(id), None) => return Err(describe(head.kind, "type", Some(&id))),
    };
    if id.split_once("--").is_none_or(|(prefix, rest)| prefix != kind || rest.is_empty()) {
        return Err(format!("(id {id:?}): the id does not have the form {kind}--<uuid>"));
    }
    let version = string(head.modified).or_else(|| string(head.created));
    Ok(Object { id, version, raw: raw.to_owned() })
}

fn describe(field: Option<&RawValue>, name: &str, id: Option<&str>) -> String {
    let which = id.map(|id| format!("(id {id:?}) ")).unwrap_or_default();
    match field {
        None => format!("{which}has no \"{name}\""),
        Some(raw) => format!("{which}has \"{name}\" as {}, expected a string", json_kind(raw)),
    }
}

/// A collection resource.
#[derive(Debug, Clone, Deserialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub can_read: bool,
    #[serde(default)]
    pub can_write: bool,
}

impl Collection {
    /// `"Title" (id …)`, for lists of choices in messages.
    pub fn choice(&self) -> String {
        format!("{:?} (id {})", self.title, self.id)
    }
}

/// The collections resource; a server with none may answer `{}`.
#[derive(Debug, Deserialize)]
pub struct Collections {
    #[serde(default)]
    pub collections: Vec<Collection>,
}

/// What the URL a user gave turned out to be.
#[derive(Debug, Deserialize)]
pub struct ServerResource {
    #[serde(default)]
    pub title: Option<String>,
    /// Present in a discovery resource.
    #[serde(default)]
    pub api_roots: Option<Vec<String>>,
    /// Present in an API root resource.
    #[serde(default)]
    pub versions: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_objects_more_and_next() {
        let page = parse_page(
            r#"{"more": true, "next": "abc", "objects": [
                {"type": "campaign", "id": "campaign--1", "created": "2020-01-01T00:00:00.000Z"},
                {"type": "identity", "id": "identity--2", "created": "2020-01-01T00:00:00Z", "modified": "2021-01-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert!(page.more);
        assert_eq!(page.next.as_deref(), Some("abc"));
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.objects[1].version.as_deref(), Some("2021-01-01T00:00:00Z"));
        assert!(page.objects[0].raw.get().starts_with("{\"type\": \"campaign\""));
        let empty = parse_page("{}").unwrap();
        assert!(!empty.more && empty.objects.is_empty());
    }

    #[test]
    fn every_bad_object_of_a_page_is_named() {
        let problems = parse_page(
            r#"{"more": "yes", "objects": [
                {"type": "campaign", "id": "campaign--1"},
                {"type": "campaign"},
                42,
                {"type": "identity", "id": "campaign--3"},
                {"id": "identity--4", "type": 7}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "\"more\" is a string, expected true or false",
                "object 2 has no \"id\"",
                "object 3 is a number, expected a STIX object",
                "object 4 (id \"campaign--3\"): the id does not have the form identity--<uuid>",
                "object 5 (id \"identity--4\") has \"type\" as a number, expected a string",
            ]
        );
    }

    #[test]
    fn text_that_is_not_json_is_placed() {
        let problems = parse_page("<html><body>Bad gateway</body></html>").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("expected a JSON object, found \"<html>"), "{problems:?}");
        let problems = parse_page("{\"objects\": [\n  {\"type\": ").unwrap_err();
        assert!(problems[0].contains("at line 2"), "{problems:?}");
    }
}
