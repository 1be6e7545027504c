//! Exports of a result set, terminal-free: JSON and JSON Lines in the native format, CSV, a
//! Markdown report and an ATT&CK Navigator layer, one file per format. The command line and the
//! browser write through here, so the same results export the same way from either.

pub mod csv;
mod file;
pub mod json;
pub mod markdown;
pub mod navigator;

use std::io::{self, Write};

pub use file::{SaveError, save};
pub use navigator::Domain;

use crate::model::Incident;
use crate::query::{Corpus, Hit};

/// What is exported: the results of a query, in their order.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub corpus: &'a Corpus,
    pub hits: &'a [Hit],
    /// The query as the analyst typed it ("" for everything), named in reports and layers.
    pub query: &'a str,
}

impl<'a> Selection<'a> {
    pub fn incidents(&self) -> impl ExactSizeIterator<Item = &'a Incident> + 'a {
        let corpus = self.corpus;
        self.hits.iter().map(move |h| corpus.incident(h.index))
    }

    /// The query, or what having none means, as exports name it.
    pub fn query_or_all(&self) -> &'a str {
        match self.query.trim() {
            "" => "none (every incident)",
            q => q,
        }
    }
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of native incidents (it loads again as a dataset).
    Json,
    /// One native JSON incident per line.
    Jsonl,
    Csv,
    Markdown,
    /// An ATT&CK Navigator layer of one domain; `None` chooses it from the techniques.
    Navigator(Option<Domain>),
}

impl Format {
    /// The usual file name extension, for suggesting a file name.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json | Format::Navigator(_) => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Markdown => "md",
        }
    }

    /// Writes the selection in this format. Returns notes on what was left out (only a Navigator
    /// layer leaves anything out), for the analyst to read beside the output.
    pub fn write(self, selection: &Selection, out: &mut dyn Write) -> io::Result<Vec<String>> {
        match self {
            Format::Json => json::write_array(selection, out)?,
            Format::Jsonl => json::write_lines(selection, out)?,
            Format::Csv => csv::write(selection, out)?,
            Format::Markdown => markdown::write(selection, out)?,
            Format::Navigator(domain) => {
                let layer = navigator::Layer::build(selection, domain);
                layer.write(out)?;
                return Ok(layer.notes());
            }
        }
        Ok(Vec::new())
    }
}
