//! JSON and JSON Lines in the native format, so an export loads again as a dataset.

use std::io::{self, Write};

use serde::Serializer;

use super::Selection;

/// A pretty-printed JSON array of incidents, written as it goes rather than gathered first.
pub fn write_array(selection: &Selection, out: &mut dyn Write) -> io::Result<()> {
    let mut ser = serde_json::Serializer::pretty(&mut *out);
    ser.collect_seq(selection.incidents()).map_err(io::Error::from)?;
    writeln!(out)
}

/// One incident per line.
pub fn write_lines(selection: &Selection, out: &mut dyn Write) -> io::Result<()> {
    for inc in selection.incidents() {
        serde_json::to_writer(&mut *out, inc).map_err(io::Error::from)?;
        writeln!(out)?;
    }
    Ok(())
}
