//! Query engine: parse a query, match and rank incidents, sort. Pure; no terminal here.

mod parse;

pub use parse::{CiaPart, FILTERS, Field, Query, QueryError, Term, TermKind};

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use crate::model::{Catalog, Dataset, Impact, Incident, TechniqueRef};

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Best fuzzy score first, ties newest first; without search words, the same as `Date`.
    #[default]
    Score,
    /// Newest first.
    Date,
    /// A to Z.
    Victim,
    /// Largest reported loss first; incidents without a figure last.
    Loss,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [SortKey::Score, SortKey::Date, SortKey::Victim, SortKey::Loss];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Score => "score",
            SortKey::Date => "date",
            SortKey::Victim => "victim",
            SortKey::Loss => "loss",
        }
    }

    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// One matching incident: its index in the dataset and its fuzzy score (0 without words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub index: usize,
    pub score: i64,
}

/// Matches incidents against a parsed query.
pub struct Matcher {
    query: Query,
    skim: SkimMatcherV2,
}

impl Matcher {
    pub fn new(query: Query) -> Self {
        Self { query, skim: SkimMatcherV2::default().ignore_case() }
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The incident's score when every term holds, else `None`.
    pub fn score(&self, incident: &Incident, catalog: &Catalog) -> Option<i64> {
        let mut total = 0;
        for term in &self.query.terms {
            let score = match &term.kind {
                TermKind::Fuzzy(w) if !term.negate => self.skim.fuzzy_match(&incident.victim, w),
                // A negated word excludes victims that contain it, as in fzf.
                TermKind::Fuzzy(w) | TermKind::Exact(w) => contains(&incident.victim, w).then_some(0),
                TermKind::Field(field, value) => field_matches(incident, catalog, *field, value).then_some(0),
                TermKind::Year(from, to) => (*from..=*to).contains(&incident.date.year).then_some(0),
                TermKind::Cia(part) => cia_affected(incident, *part).then_some(0),
            };
            match (score, term.negate) {
                (Some(s), false) => total += s,
                (None, true) => {}
                _ => return None,
            }
        }
        Some(total)
    }

    /// Character positions in the victim name that the query's words matched, for highlighting.
    pub fn highlight(&self, victim: &str) -> Vec<usize> {
        let mut positions = Vec::new();
        for term in self.query.terms.iter().filter(|t| !t.negate) {
            match &term.kind {
                TermKind::Fuzzy(w) => {
                    if let Some((_, idx)) = self.skim.fuzzy_indices(victim, w) {
                        positions.extend(idx);
                    }
                }
                TermKind::Exact(w) => {
                    let lower = victim.to_lowercase();
                    if let Some(byte) = lower.find(&w.to_lowercase()) {
                        let start = lower[..byte].chars().count();
                        positions.extend(start..start + w.chars().count());
                    }
                }
                _ => {}
            }
        }
        positions.sort_unstable();
        positions.dedup();
        positions
    }
}

/// Runs a query over a dataset and orders the hits.
pub fn search(dataset: &Dataset, matcher: &Matcher, sort: SortKey, reverse: bool) -> Vec<Hit> {
    let mut hits: Vec<Hit> = dataset
        .incidents
        .iter()
        .enumerate()
        .filter_map(|(index, inc)| matcher.score(inc, &dataset.catalog).map(|score| Hit { index, score }))
        .collect();
    sort_hits(&mut hits, dataset, sort);
    if reverse {
        hits.reverse();
    }
    hits
}

pub fn sort_hits(hits: &mut [Hit], dataset: &Dataset, sort: SortKey) {
    let inc = |h: &Hit| &dataset.incidents[h.index];
    let newest = |a: &Hit, b: &Hit| inc(b).date.cmp(&inc(a).date).then(a.index.cmp(&b.index));
    match sort {
        SortKey::Score => hits.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| newest(a, b))),
        SortKey::Date => hits.sort_by(newest),
        SortKey::Victim => hits.sort_by_cached_key(|h| (inc(h).victim.to_lowercase(), h.index)),
        SortKey::Loss => hits.sort_by(|a, b| inc(b).loss_usd.cmp(&inc(a).loss_usd).then_with(|| newest(a, b))),
    }
}

fn contains(haystack: &str, lower_needle: &str) -> bool {
    haystack.to_lowercase().contains(&lower_needle.to_lowercase())
}

fn field_matches(inc: &Incident, catalog: &Catalog, field: Field, value: &str) -> bool {
    match field {
        Field::Id => contains(&inc.id, value),
        Field::Actor => inc.actors.iter().any(|a| {
            contains(&a.name, value) || a.aliases.iter().any(|x| contains(x, value)) || a.kind.as_str().contains(value)
        }),
        Field::Motive => inc.motives.iter().any(|m| m.as_str().contains(value)),
        Field::Country => inc.location.as_deref().is_some_and(|l| contains(l, value)),
        Field::Industry => inc.industry.as_deref().is_some_and(|l| contains(l, value)),
        Field::Tag => inc.tags.iter().any(|t| contains(t, value)),
        Field::Text => contains(&inc.summary, value) || inc.description.as_deref().is_some_and(|d| contains(d, value)),
        Field::Ttp => inc.ttps.iter().any(|t| ttp_matches(t, catalog, value)),
    }
}

/// `t1566` matches T1566 and its sub-techniques; other values match words of the technique's name.
fn ttp_matches(t: &TechniqueRef, catalog: &Catalog, value: &str) -> bool {
    let looks_like_id = value.starts_with('t') && value[1..].chars().next().is_some_and(|c| c.is_ascii_digit());
    match t {
        TechniqueRef::Attack { id, .. } if looks_like_id => id.to_lowercase().starts_with(value),
        TechniqueRef::Attack { id, .. } => catalog.get(id).is_some_and(|tech| words_in(&tech.name, value)),
        TechniqueRef::Other { name, .. } => !looks_like_id && words_in(name, value),
    }
}

fn words_in(name: &str, value: &str) -> bool {
    let name = name.to_lowercase();
    value.split_whitespace().all(|w| name.contains(w))
}

fn cia_affected(inc: &Incident, part: CiaPart) -> bool {
    inc.cia.as_ref().is_some_and(|c| {
        let impact = match part {
            CiaPart::Confidentiality => c.confidentiality,
            CiaPart::Integrity => c.integrity,
            CiaPart::Availability => c.availability,
        };
        impact == Impact::Affected
    })
}
