//! A Markdown report: a title with the query and the dates it spans, a table of the incidents,
//! then each incident's section exactly as `y` copies it.

use std::io::{self, Write};

use super::Selection;
use crate::model::{format_usd, group_thousands};
use crate::present::{self, md};

pub fn write(selection: &Selection, out: &mut dyn Write) -> io::Result<()> {
    let incidents: Vec<_> = selection.incidents().collect();
    let query = selection.query.trim();
    let what = if query.is_empty() { "all incidents".to_string() } else { md(query) };
    let first = incidents.iter().map(|i| i.date).min();
    let last = incidents.iter().map(|i| i.date).max();
    let span = match (first, last) {
        (Some(a), Some(b)) if a.short() == b.short() => format!(" ({})", a.short()),
        (Some(a), Some(b)) => format!(" ({} to {})", a.short(), b.short()),
        _ => String::new(),
    };
    writeln!(out, "# Incident report: {what}{span}\n")?;

    let query = match query {
        "" => "none (every incident)".to_string(),
        q if q.contains('`') => md(q),
        q => format!("`{q}`"),
    };
    writeln!(out, "- **Query:** {query}")?;
    writeln!(out, "- **Data:** {}", md(&selection.corpus.dataset.label))?;
    writeln!(out, "- **Incidents:** {}", group_thousands(incidents.len() as u64))?;
    let losses: Vec<u64> = incidents.iter().filter_map(|i| i.loss_usd).collect();
    if !losses.is_empty() {
        let total = losses.iter().fold(0u64, |a, &b| a.saturating_add(b));
        writeln!(
            out,
            "- **Reported loss:** {} in total, from {} of them",
            format_usd(total),
            group_thousands(losses.len() as u64)
        )?;
    }
    writeln!(out)?;

    if !incidents.is_empty() {
        writeln!(out, "| Date | Victim | Name | Location | Actors | Loss | Id |")?;
        writeln!(out, "| --- | --- | --- | --- | --- | ---: | --- |")?;
        for i in &incidents {
            let actors: Vec<&str> = i.actors.iter().map(|a| a.name.as_ref()).collect();
            let cells = [
                i.date.display(),
                cell(&i.victim),
                cell(i.name.as_deref().unwrap_or_default()),
                cell(i.location.as_deref().unwrap_or_default()),
                cell(&actors.join(", ")),
                i.loss_usd.map(format_usd).unwrap_or_default(),
                format!("`{}`", i.id.replace('`', "'")),
            ];
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    for hit in selection.hits {
        writeln!(out)?;
        out.write_all(present::markdown(selection.corpus, hit.index).as_bytes())?;
    }
    Ok(())
}

/// Text for one table cell: escaped, and on one line, since a line break ends a table row.
fn cell(s: &str) -> String {
    md(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}
