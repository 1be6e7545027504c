//! One presentation of an incident, terminal-free: sections of typed rows, each with what it says,
//! where Enter on it leads (a pivot query) and what `y` copies from it. `incidents show`, the
//! detail pane's tabs, copying and pivots all read this, so they cannot drift apart.

use crate::model::{Incident, TechniqueRef, format_usd, group_thousands};
use crate::query::{Corpus, quote_value};

/// The parts of an incident, one per tab of the detail pane, in the order of their number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Overview,
    Motives,
    Ttps,
    Actors,
    Sources,
    Related,
}

impl Section {
    pub const ALL: [Section; 6] =
        [Section::Overview, Section::Motives, Section::Ttps, Section::Actors, Section::Sources, Section::Related];

    pub fn title(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Motives => "Motives",
            Section::Ttps => "TTPs",
            Section::Actors => "Actors",
            Section::Sources => "Sources",
            Section::Related => "Related",
        }
    }

    /// What the section says when the incident has nothing for it.
    fn empty(self) -> &'static str {
        match self {
            Section::Overview => "No summary recorded.",
            Section::Motives => "No motive recorded.",
            Section::Ttps => "No technique recorded.",
            Section::Actors => "No actor recorded.",
            Section::Sources => "No source recorded.",
            Section::Related => "No related incident recorded.",
        }
    }

    pub fn number(self) -> usize {
        Self::ALL.iter().position(|&s| s == self).unwrap_or(0) + 1
    }

    pub fn offset(self, by: isize) -> Self {
        let n = Self::ALL.len() as isize;
        Self::ALL[(self.number() as isize - 1 + by).rem_euclid(n) as usize]
    }
}

/// What a piece of text is, for the screen to style it (the command line prints it plain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The thing the row is about: a victim, a technique name, an actor.
    Title,
    Text,
    /// The name of a field: `Type`, `Loss`.
    Label,
    /// Ids: incident ids, technique ids.
    Id,
    /// Secondary text: notes, addresses, dates.
    Dim,
}

/// A run of text in one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub role: Role,
    pub text: String,
}

/// One row: pieces on one logical line, indented; wrapped lines keep the indent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// A blank line before this row.
    pub gap: bool,
    pub indent: u16,
    /// How much further than the first line wrapped lines start (past a label or an id column).
    pub hang: u16,
    pub pieces: Vec<Piece>,
    /// Lines under the first, at the hanging indent: a technique's note, a source's address.
    pub more: Vec<Piece>,
    /// The query Enter on this row runs (`ttp:T1566.003`, `actor:="Lazarus Group"`).
    pub pivot: Option<String>,
    /// What `y` copies from this row instead of the whole incident (a source's address).
    pub copy: Option<String>,
}

impl Row {
    fn new(indent: u16) -> Self {
        Self { indent, ..Self::default() }
    }

    fn hang(mut self, by: u16) -> Self {
        self.hang = by;
        self
    }

    fn gap(mut self) -> Self {
        self.gap = true;
        self
    }

    fn push(mut self, role: Role, text: impl AsRef<str>) -> Self {
        self.pieces.push(Piece { role, text: text.as_ref().to_string() });
        self
    }

    /// A label padded to a column, then its value.
    fn field(indent: u16, label: &str, width: usize, value: impl AsRef<str>) -> Self {
        Row::new(indent).push(Role::Label, format!("{label:<width$}")).push(Role::Text, value).hang(width as u16)
    }

    fn pivot(mut self, query: String) -> Self {
        self.pivot = Some(query);
        self
    }

    fn more(mut self, role: Role, text: impl Into<String>) -> Self {
        self.more.push(Piece { role, text: text.into() });
        self
    }

    /// The first line as plain text, without its indent.
    pub fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }
}

/// The facts shown above the tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub victim: String,
    pub name: Option<String>,
    pub date: String,
    /// `Estonia`, `Cryptocurrency payments`: the place and the sector.
    pub facts: Vec<String>,
    /// `$37.3M`
    pub loss: Option<String>,
    /// `[("C", "affected"), ...]`, or `None` when no posture is recorded.
    pub cia: Option<[(char, &'static str); 3]>,
}

pub fn header(inc: &Incident) -> Header {
    let mut facts = vec![inc.location.as_deref().unwrap_or("location unknown").to_string()];
    facts.extend(inc.industry.as_ref().map(|i| i.to_string()));
    Header {
        loss: inc.loss_usd.map(format_usd),
        victim: inc.victim.to_string(),
        name: inc.name.as_ref().filter(|n| **n != inc.victim).map(|n| n.to_string()),
        date: inc.date.display(),
        facts,
        cia: inc
            .cia
            .as_ref()
            .map(|c| [('C', c.confidentiality.as_str()), ('I', c.integrity.as_str()), ('A', c.availability.as_str())]),
    }
}

/// The rows of one section of an incident.
pub fn section(corpus: &Corpus, index: u32, section: Section) -> Vec<Row> {
    let inc = corpus.incident(index);
    let rows = match section {
        Section::Overview => overview(inc),
        Section::Motives => motives(inc),
        Section::Ttps => ttps(corpus, inc),
        Section::Actors => actors(corpus, index, inc),
        Section::Sources => sources(inc),
        Section::Related => related(corpus, inc),
    };
    if rows.is_empty() { vec![Row::new(0).push(Role::Dim, section.empty())] } else { rows }
}

const LABEL: usize = 10;

fn overview(inc: &Incident) -> Vec<Row> {
    let mut rows = vec![Row::new(0).push(Role::Title, &inc.summary)];
    if let Some(desc) = &inc.description {
        for para in desc.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            rows.push(Row::new(0).gap().push(Role::Text, para.replace('\n', " ")));
        }
    }
    let mut facts = Vec::new();
    if let Some(loc) = &inc.location {
        facts.push(Row::field(0, "Location", LABEL, loc).pivot(format!("country:={}", quote_value(loc))));
    }
    if let Some(ind) = &inc.industry {
        facts.push(Row::field(0, "Industry", LABEL, ind).pivot(format!("industry:={}", quote_value(ind))));
    }
    if let Some(loss) = inc.loss_usd {
        facts.push(Row::field(0, "Loss", LABEL, format!("{} (US$ {})", format_usd(loss), group_thousands(loss))));
    }
    if let Some(note) = inc.cia.as_ref().and_then(|c| c.note.as_deref()) {
        facts.push(Row::field(0, "CIA", LABEL, note));
    }
    for tag in &inc.tags {
        facts.push(Row::field(0, "Tag", LABEL, tag).pivot(format!("tag:={}", quote_value(tag))));
    }
    facts.push(Row::new(0).push(Role::Label, format!("{:<LABEL$}", "Id")).push(Role::Id, &inc.id));
    if let Some(first) = facts.first_mut() {
        first.gap = true;
    }
    rows.extend(facts);
    rows
}

fn motives(inc: &Incident) -> Vec<Row> {
    inc.motives
        .iter()
        .map(|m| {
            Row::new(0)
                .push(Role::Title, format!("{:<12}", m.as_str()))
                .push(Role::Text, m.meaning())
                .hang(12)
                .pivot(format!("motive:={}", m.as_str()))
        })
        .collect()
}

fn ttps(corpus: &Corpus, inc: &Incident) -> Vec<Row> {
    let mut rows = Vec::new();
    for t in &inc.ttps {
        let row = match t {
            TechniqueRef::Attack { id, .. } => {
                let row = Row::new(0).push(Role::Id, format!("{id:<10}"));
                let row = match corpus.dataset.catalog.get(id) {
                    Some(tech) => {
                        let row = row.push(Role::Title, &tech.name);
                        let tactics = tech.tactic_names();
                        if tactics.is_empty() { row } else { row.push(Role::Label, format!("  {tactics}")) }
                    }
                    None => row.push(Role::Dim, "(not in the technique catalog)"),
                };
                row.hang(10).pivot(format!("ttp:{id}"))
            }
            TechniqueRef::Other { name, framework, .. } => Row::new(0)
                .push(Role::Id, format!("{:<10}", framework.as_deref().unwrap_or("other")))
                .push(Role::Title, name)
                .hang(10)
                .pivot(format!("ttp:={}", quote_value(&name.to_lowercase()))),
        };
        rows.push(match t.note() {
            Some(note) => row.more(Role::Dim, note),
            None => row,
        });
    }
    rows
}

fn actors(corpus: &Corpus, index: u32, inc: &Incident) -> Vec<Row> {
    let mut rows = Vec::new();
    for (n, a) in inc.actors.iter().enumerate() {
        let profile = corpus.dataset.actors.get(&a.name).filter(|_| a.is_named());
        let mut head = Row::new(0).push(Role::Title, &a.name);
        if let Some(id) = profile.and_then(|p| p.attack_id.as_deref()) {
            head = head.push(Role::Id, format!("  {id}"));
        }
        if n > 0 {
            head = head.gap();
        }
        if a.is_named() {
            head = head.pivot(format!("actor:={}", quote_value(&a.name)));
        }
        rows.push(head);
        rows.push(Row::field(2, "Type", LABEL, a.kind.as_str()).pivot(format!("actor:={}", a.kind.as_str())));
        rows.push(Row::field(2, "Location", LABEL, a.location.as_deref().unwrap_or("unknown")));
        if !a.aliases.is_empty() {
            rows.push(Row::field(2, "Aliases", LABEL, a.aliases.join(", ")));
        }
        if let Some(p) = profile {
            rows.push(Row::field(2, "Profile", LABEL, &p.profile));
        }
        let all: &[u32] = if a.is_named() { corpus.incidents_of_actor(&a.name) } else { &[] };
        if a.is_named() {
            let count = match all.len() {
                1 => "1 in this dataset".to_string(),
                n => format!("{n} in this dataset"),
            };
            rows.push(Row::field(2, "Incidents", LABEL, count).pivot(format!("actor:={}", quote_value(&a.name))));
        }
        let others: Vec<u32> = all.iter().copied().filter(|&i| i != index).collect();
        if !others.is_empty() {
            rows.push(Row::new(2).push(Role::Label, format!("Other incidents ({})", others.len())));
            for i in others {
                let o = corpus.incident(i);
                rows.push(
                    Row::new(4)
                        .push(Role::Text, format!("{:<9}{}", o.date.short(), o.victim))
                        .push(Role::Dim, format!("  {}", o.id))
                        .hang(9)
                        .pivot(format!("id:={}", quote_value(&o.id))),
                );
            }
        }
    }
    rows
}

fn sources(inc: &Incident) -> Vec<Row> {
    let mut rows = Vec::new();
    for (n, s) in inc.sources.iter().enumerate() {
        let number = format!("{}. ", n + 1);
        let hang = number.len() as u16;
        let mut row = Row::new(0).push(Role::Label, number).push(Role::Title, s.heading()).hang(hang);
        if let Some(by) = s.byline() {
            row = row.push(Role::Text, format!(" — {by}"));
        }
        row.copy = s.url.as_ref().map(|u| u.to_string());
        if let Some(url) = s.url_below() {
            row = row.more(Role::Dim, url);
        }
        rows.push(row);
    }
    rows
}

fn related(corpus: &Corpus, inc: &Incident) -> Vec<Row> {
    let mut rows = Vec::new();
    for id in &inc.related {
        match corpus.find(id) {
            Some(i) => {
                let o = corpus.incident(i);
                let pivot = format!("id:={}", quote_value(id));
                rows.push(
                    Row::new(0)
                        .push(Role::Text, format!("{:<9}", o.date.short()))
                        .push(Role::Title, &o.victim)
                        .push(Role::Dim, format!("  {id}"))
                        .hang(9)
                        .more(Role::Text, first_sentence(&o.summary))
                        .pivot(pivot),
                );
            }
            None => rows.push(Row::new(0).push(Role::Dim, format!("{id} (not in this dataset)"))),
        }
    }
    rows
}

fn first_sentence(s: &str) -> &str {
    s.find(". ").map_or(s, |i| &s[..=i])
}

/// The incident as plain text: the header, then every section under its title. What
/// `incidents show` prints.
pub fn text(corpus: &Corpus, index: u32) -> String {
    let inc = corpus.incident(index);
    let h = header(inc);
    let mut out = String::new();
    out.push_str(&h.victim);
    if let Some(name) = &h.name {
        out.push_str(&format!(" · {name}"));
    }
    let facts: Vec<&str> = h.facts.iter().chain(&h.loss).map(String::as_str).collect();
    out.push_str(&format!("  ({})\n{}\n", h.date, facts.join(" · ")));
    match h.cia {
        Some(cia) => {
            let parts: Vec<String> = cia.iter().map(|(c, v)| format!("{c} {v}")).collect();
            out.push_str(&format!("{}\n", parts.join("  ")));
        }
        None => out.push_str("CIA posture not recorded\n"),
    }
    for s in Section::ALL {
        out.push_str(&format!("\n{}\n", s.title()));
        for row in section(corpus, index, s) {
            if row.gap {
                out.push('\n');
            }
            out.push_str(&" ".repeat(2 + row.indent as usize));
            out.push_str(row.text().trim_end());
            out.push('\n');
            for more in &row.more {
                out.push_str(&" ".repeat(2 + (row.indent + row.hang) as usize));
                out.push_str(more.text.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

/// The incident as Markdown, for a ticket: victim, date, place, loss, summary, actors, techniques
/// with names, sources with addresses.
pub fn markdown(corpus: &Corpus, index: u32) -> String {
    let inc = corpus.incident(index);
    let h = header(inc);
    let mut out = format!("## {}", md(&h.victim));
    if let Some(name) = &h.name {
        out.push_str(&format!(" ({})", md(name)));
    }
    out.push_str("\n\n");
    let mut facts = vec![format!("- **Date:** {}", h.date)];
    if let Some(l) = &inc.location {
        facts.push(format!("- **Location:** {}", md(l)));
    }
    if let Some(i) = &inc.industry {
        facts.push(format!("- **Industry:** {}", md(i)));
    }
    if let Some(loss) = inc.loss_usd {
        facts.push(format!("- **Loss:** {} (US$ {})", format_usd(loss), group_thousands(loss)));
    }
    if let Some(cia) = h.cia {
        let parts: Vec<String> = cia.iter().map(|(c, v)| format!("{c} {v}")).collect();
        facts.push(format!("- **CIA:** {}", parts.join(", ")));
    }
    if !inc.motives.is_empty() {
        let m: Vec<&str> = inc.motives.iter().map(|m| m.as_str()).collect();
        facts.push(format!("- **Motives:** {}", m.join(", ")));
    }
    facts.push(format!("- **Id:** `{}`", inc.id));
    out.push_str(&facts.join("\n"));
    out.push_str(&format!("\n\n{}\n", md(&inc.summary)));
    if !inc.actors.is_empty() {
        out.push_str("\n### Actors\n\n");
        for a in &inc.actors {
            let mut line = format!("- {} ({}", md(&a.name), a.kind.as_str());
            if let Some(id) = corpus.dataset.actors.get(&a.name).and_then(|p| p.attack_id.as_deref()) {
                line.push_str(&format!(", ATT&CK {id}"));
            }
            if let Some(l) = &a.location {
                line.push_str(&format!(", {}", md(l)));
            }
            line.push(')');
            if !a.aliases.is_empty() {
                line.push_str(&format!(", also known as {}", md(&a.aliases.join(", "))));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !inc.ttps.is_empty() {
        out.push_str("\n### Techniques\n\n");
        for t in &inc.ttps {
            let line = match t {
                TechniqueRef::Attack { id, .. } => match corpus.dataset.catalog.get(id) {
                    Some(tech) => format!("- {id} {} ({})", md(&tech.name), tech.tactic_names()),
                    None => format!("- {id}"),
                },
                TechniqueRef::Other { name, framework, .. } => {
                    format!("- {} ({})", md(name), framework.as_deref().unwrap_or("other"))
                }
            };
            out.push_str(&line);
            if let Some(note) = t.note() {
                out.push_str(&format!(": {}", md(note)));
            }
            out.push('\n');
        }
    }
    if !inc.sources.is_empty() {
        out.push_str("\n### Sources\n\n");
        for s in &inc.sources {
            let title = md(s.heading());
            let mut line = match &s.url {
                Some(url) if s.title.is_some() => format!("- [{title}]({url})"),
                _ => format!("- {title}"),
            };
            if let Some(by) = s.byline() {
                line.push_str(&format!(", {}", md(&by)));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Text safe inside Markdown: characters that would start markup are escaped.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
