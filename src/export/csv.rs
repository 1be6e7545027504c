//! CSV as RFC 4180 has it (CRLF line ends, fields quoted by the `csv` crate when they need it):
//! a header, then one row per incident. Fields that hold lists join their values with `; `.
//! `incidents list --csv` and `incidents export --csv` both write through here.

use std::io::{self, Write};

use super::Selection;
use crate::model::Incident;
use crate::stats::technique_key;

/// The header row, in column order.
pub const COLUMNS: [&str; 19] = [
    "id",
    "date",
    "victim",
    "name",
    "location",
    "industry",
    "loss_usd",
    "motives",
    "actors",
    "ttps",
    "summary",
    "description",
    "confidentiality",
    "integrity",
    "availability",
    "actor_types",
    "tags",
    "related",
    "sources",
];

/// What list fields are joined with.
pub const LIST_SEPARATOR: &str = "; ";

pub fn write(selection: &Selection, out: &mut dyn Write) -> io::Result<()> {
    let mut csv = ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(out);
    csv.write_record(COLUMNS).map_err(into_io)?;
    for inc in selection.incidents() {
        csv.write_record(row(inc)).map_err(into_io)?;
    }
    csv.flush()
}

/// An incident's fields in the order of `COLUMNS`; absent values are empty.
fn row(i: &Incident) -> [String; COLUMNS.len()] {
    let join = |values: &mut dyn Iterator<Item = &str>| values.collect::<Vec<_>>().join(LIST_SEPARATOR);
    let opt = |v: &Option<crate::model::Str>| v.as_deref().unwrap_or_default().to_string();
    let cia = |part: fn(&crate::model::Cia) -> crate::model::Impact| {
        i.cia.as_ref().map(|c| part(c).as_str().to_string()).unwrap_or_default()
    };
    [
        i.id.to_string(),
        i.date.to_string(),
        i.victim.to_string(),
        opt(&i.name),
        opt(&i.location),
        opt(&i.industry),
        i.loss_usd.map(|l| l.to_string()).unwrap_or_default(),
        join(&mut i.motives.iter().map(|m| m.as_str())),
        join(&mut i.actors.iter().map(|a| a.name.as_ref())),
        join(&mut i.ttps.iter().map(technique_key)),
        i.summary.to_string(),
        opt(&i.description),
        cia(|c| c.confidentiality),
        cia(|c| c.integrity),
        cia(|c| c.availability),
        join(&mut i.actors.iter().map(|a| a.kind.as_str())),
        join(&mut i.tags.iter().map(|t| t.as_ref())),
        join(&mut i.related.iter().map(|r| r.as_ref())),
        // A source's address says where to read it; a title stands in when there is none.
        join(&mut i.sources.iter().map(|s| s.url.as_deref().unwrap_or_else(|| s.heading()))),
    ]
}

/// The `csv` crate's error as the I/O error it carries, so that a closed pipe still reads as one.
fn into_io(e: ::csv::Error) -> io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}
