//! Matching one incident against a parsed query, on the keys the index prepared.
//!
//! A `Matcher` holds its own fuzzy matcher and scratch space: make one per thread (clones are
//! cheap).

use std::cell::RefCell;

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Config, Utf32Str};

use super::index::{ActorKeys, Corpus, NONE, Span, TechniqueKeys, motive_bit};
use super::parse::{CiaPart, Field, Query, TermKind, looks_like_technique_id};
use crate::model::Motive;

pub struct Matcher {
    query: Query,
    /// Each fuzzy word of the query, as the fuzzy matcher takes it.
    atoms: Vec<Option<Atom>>,
    fuzzy: RefCell<Fuzzy>,
    /// Each term's word prepared once: ASCII-lower-cased bytes for the quick subsequence test,
    /// and lower-cased for substring tests.
    words: Vec<(Vec<u8>, String)>,
    /// Each filter's verdict on every distinct value of its field, worked out once per search
    /// (`for_corpus`): then an incident is tested by looking its values up.
    verdicts: Vec<Option<Verdicts>>,
}

/// The fuzzy matcher (fzf's algorithm, from nucleo) with its scratch space.
struct Fuzzy {
    matcher: nucleo_matcher::Matcher,
    chars: Vec<char>,
    indices: Vec<u32>,
}

impl Fuzzy {
    fn new() -> Self {
        Self { matcher: nucleo_matcher::Matcher::new(Config::DEFAULT), chars: Vec::new(), indices: Vec::new() }
    }

    /// The score of `atom` in `text`, with the character positions it matched when `positions`.
    fn score(&mut self, atom: &Atom, text: &str, positions: bool) -> Option<u16> {
        // Characters, not graphemes, so positions are what highlighting counts.
        let hay = if text.is_ascii() {
            Utf32Str::Ascii(text.as_bytes())
        } else {
            self.chars.clear();
            self.chars.extend(text.chars());
            Utf32Str::Unicode(&self.chars)
        };
        if positions {
            self.indices.clear();
            atom.indices(hay, &mut self.matcher, &mut self.indices)
        } else {
            atom.score(hay, &mut self.matcher)
        }
    }
}

/// Which values of a field a filter takes.
#[derive(Debug, Clone)]
enum Verdicts {
    Values(Vec<bool>),
    Motives(u16),
}

impl Clone for Matcher {
    fn clone(&self) -> Self {
        let mut m = Self::new(self.query.clone());
        m.verdicts.clone_from(&self.verdicts);
        m
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").field("query", &self.query).finish()
    }
}

impl Matcher {
    pub fn new(query: Query) -> Self {
        let words = query
            .terms
            .iter()
            .map(|t| match &t.kind {
                TermKind::Fuzzy(w) | TermKind::Exact(w) => (w.to_ascii_lowercase().into_bytes(), w.to_lowercase()),
                _ => Default::default(),
            })
            .collect();
        // Case is ignored for ASCII letters only, as the subsequence test does; no accents are
        // folded away.
        let atoms = query
            .terms
            .iter()
            .map(|t| match &t.kind {
                TermKind::Fuzzy(w) => {
                    Some(Atom::new(w, CaseMatching::Ignore, Normalization::Never, AtomKind::Fuzzy, false))
                }
                _ => None,
            })
            .collect();
        Self { query, atoms, fuzzy: RefCell::new(Fuzzy::new()), words, verdicts: Vec::new() }
    }

    /// A matcher for searching a corpus: each filter is tested once against every distinct value
    /// of its field.
    pub fn for_corpus(query: Query, corpus: &Corpus) -> Self {
        let mut m = Self::new(query);
        m.verdicts = m
            .query
            .terms
            .iter()
            .map(|t| match &t.kind {
                TermKind::Field { field, value, exact } => verdicts(corpus, *field, value, *exact),
                _ => None,
            })
            .collect();
        m
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether results are ranked by fuzzy score (there are words to match), not only filtered.
    pub fn ranks(&self) -> bool {
        self.query.fuzzy_words().next().is_some()
    }

    /// The incident's score when every term holds, else `None`.
    pub fn score(&self, corpus: &Corpus, index: u32) -> Option<i64> {
        let keys = corpus.index.entry(index);
        let text = |span: Span| keys.text(span);
        let mut total = 0;
        for (n, (term, (ascii, lower))) in self.query.terms.iter().zip(&self.words).enumerate() {
            let score = match (&term.kind, &self.atoms[n]) {
                (TermKind::Fuzzy(_), Some(atom)) if !term.negate => {
                    let on = |written: Span| {
                        let hay = text(written);
                        if hay.is_empty() || !is_subsequence(ascii, hay.as_bytes()) {
                            return None;
                        }
                        self.fuzzy.borrow_mut().score(atom, hay, false).map(i64::from)
                    };
                    on(keys.victim_as_written).max(on(keys.name_as_written))
                }
                // A negated word excludes victims that contain it, as in fzf.
                (TermKind::Fuzzy(_) | TermKind::Exact(_), _) => (text(keys.victim).contains(lower.as_str())
                    || text(keys.name).contains(lower.as_str()))
                .then_some(0),
                (TermKind::Field { field, value, exact }, _) => {
                    let verdicts = self.verdicts.get(n).and_then(Option::as_ref);
                    field_matches(corpus, index, verdicts, *field, value, *exact).then_some(0)
                }
                (TermKind::Year(from, to), _) => (*from..=*to).contains(&keys.year).then_some(0),
                (TermKind::Cia(part), _) => {
                    let bit = match part {
                        CiaPart::Confidentiality => 1,
                        CiaPart::Integrity => 2,
                        CiaPart::Availability => 4,
                    };
                    (keys.cia & bit != 0).then_some(0)
                }
            };
            match (score, term.negate) {
                (Some(s), false) => total += s,
                (None, true) => {}
                _ => return None,
            }
        }
        Some(total)
    }

    /// Character positions in `text` (a victim or a name) that the query's words matched, for
    /// highlighting.
    pub fn highlight(&self, text: &str) -> Vec<usize> {
        let mut positions = Vec::new();
        for ((term, atom), (ascii, _)) in self.query.terms.iter().zip(&self.atoms).zip(&self.words) {
            if term.negate {
                continue;
            }
            match &term.kind {
                TermKind::Fuzzy(_) => {
                    let mut fuzzy = self.fuzzy.borrow_mut();
                    if let Some(atom) = atom
                        && is_subsequence(ascii, text.as_bytes())
                        && fuzzy.score(atom, text, true).is_some()
                    {
                        positions.extend(fuzzy.indices.iter().map(|&i| i as usize));
                    }
                }
                TermKind::Exact(w) => {
                    let lower = text.to_lowercase();
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

/// Whether an incident passes a filter: by the verdicts worked out for its field's values when
/// there are some, else by testing its values one by one.
fn field_matches(
    corpus: &Corpus,
    index: u32,
    verdicts: Option<&Verdicts>,
    field: Field,
    value: &str,
    exact: bool,
) -> bool {
    let keys = corpus.index.entry(index);
    // Only the filters on the fields that repeat read their index (asking for it makes it).
    let facet = || {
        let facets = corpus.facets();
        (facets.entry(index), &facets.values)
    };
    let test = |text: &str| if exact { text == value } else { text.contains(value) };
    let take = |id: u32, check: &dyn Fn(usize) -> bool| match verdicts {
        Some(Verdicts::Values(v)) => v.get(id as usize).copied().unwrap_or(false),
        _ => check(id as usize),
    };
    match field {
        Field::Id => {
            let id = &corpus.incident(index).id;
            if exact { id.chars().flat_map(char::to_lowercase).eq(value.chars()) } else { contains_folded(id, value) }
        }
        Field::Name => test(keys.text(keys.name)),
        Field::Motive => {
            let mask = match verdicts {
                Some(Verdicts::Motives(mask)) => *mask,
                _ => motive_mask(value, exact),
            };
            keys.motives & mask != 0
        }
        Field::Country => {
            let (f, values) = facet();
            f.location != NONE && take(f.location, &|i| test(&values.locations[i]))
        }
        Field::Industry => {
            let (f, values) = facet();
            f.industry != NONE && take(f.industry, &|i| test(&values.industries[i]))
        }
        Field::Tag => {
            let (f, values) = facet();
            f.refs(f.tags).iter().any(|&t| take(t, &|i| test(&values.tags[i])))
        }
        Field::Actor => {
            let (f, values) = facet();
            f.refs(f.actors).iter().any(|&a| take(a, &|i| actor_matches(&values.actors[i], value, exact)))
        }
        Field::Ttp => {
            let (f, values) = facet();
            f.refs(f.ttps).iter().any(|&t| take(t, &|i| technique_matches(&values.techniques[i], value, exact)))
        }
        Field::Text => {
            let inc = corpus.incident(index);
            let found = |s: &str| {
                if exact { s.chars().flat_map(char::to_lowercase).eq(value.chars()) } else { contains_folded(s, value) }
            };
            found(&inc.summary) || inc.description.as_deref().is_some_and(found)
        }
    }
}

/// A filter's verdict on every distinct value of its field.
fn verdicts(corpus: &Corpus, field: Field, value: &str, exact: bool) -> Option<Verdicts> {
    let test = |text: &str| if exact { text == value } else { text.contains(value) };
    let over = |texts: &[Box<str>]| Verdicts::Values(texts.iter().map(|t| test(t)).collect());
    let values = match field {
        Field::Motive => return Some(Verdicts::Motives(motive_mask(value, exact))),
        Field::Id | Field::Name | Field::Text => return None,
        // Asking for the values makes their index.
        Field::Country | Field::Industry | Field::Tag | Field::Actor | Field::Ttp => &corpus.facets().values,
    };
    Some(match field {
        Field::Country => over(&values.locations),
        Field::Industry => over(&values.industries),
        Field::Tag => over(&values.tags),
        Field::Actor => Verdicts::Values(values.actors.iter().map(|a| actor_matches(a, value, exact)).collect()),
        Field::Ttp => Verdicts::Values(values.techniques.iter().map(|t| technique_matches(t, value, exact)).collect()),
        Field::Motive | Field::Id | Field::Name | Field::Text => return None,
    })
}

/// `actor:`: a name, an alias or the type.
fn actor_matches(a: &ActorKeys, value: &str, exact: bool) -> bool {
    a.names.iter().any(|n| if exact { &**n == value } else { n.contains(value) })
}

/// `ttp:t1566` matches T1566 and its sub-techniques; other values match words of the technique's
/// name; `ttp:=` the whole id or name.
fn technique_matches(t: &TechniqueKeys, value: &str, exact: bool) -> bool {
    if exact {
        (!t.id.is_empty() && &*t.id == value) || &*t.name == value
    } else if looks_like_technique_id(value) {
        !t.id.is_empty() && t.id.starts_with(value)
    } else {
        !t.name.is_empty() && value.split_whitespace().all(|w| t.name.contains(w))
    }
}

/// The motives a `motive:` value takes, as bits.
fn motive_mask(value: &str, exact: bool) -> u16 {
    Motive::ALL
        .iter()
        .filter(|m| if exact { m.as_str() == value } else { m.as_str().contains(value) })
        .fold(0, |mask, m| mask | 1 << motive_bit(*m))
}

/// Whether `needle`'s bytes (ASCII-lower-cased) appear in `hay` in order, ASCII letters in either
/// case. Every fuzzy match passes this test first, so it decides what matches: case is ignored for
/// ASCII letters only (the fuzzy matcher would fold more), and the fuzzy matcher only ranks.
fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut at = 0;
    for &b in needle {
        let found = if b.is_ascii_lowercase() {
            memchr::memchr2(b, b.to_ascii_uppercase(), &hay[at..])
        } else {
            memchr::memchr(b, &hay[at..])
        };
        match found {
            Some(i) => at += i + 1,
            None => return false,
        }
    }
    true
}

/// Whether `hay` contains `needle` (already lower-case), ignoring case, without allocating.
pub(crate) fn contains_folded(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let n = needle.as_bytes();
        let h = hay.as_bytes();
        let (lo, up) = (n[0], n[0].to_ascii_uppercase());
        let mut from = 0;
        while let Some(i) = memchr::memchr2(lo, up, &h[from..]) {
            let at = from + i;
            if h.len() - at >= n.len() && h[at..at + n.len()].eq_ignore_ascii_case(n) {
                return true;
            }
            from = at + 1;
        }
        return false;
    }
    // Rare: a needle beyond ASCII. Compare character by character, lower-casing as we go.
    hay.char_indices().any(|(i, _)| {
        let mut h = hay[i..].chars().flat_map(char::to_lowercase);
        needle.chars().all(|n| h.next() == Some(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_search_ignores_case_in_both_scripts() {
        assert!(contains_folded("The RANSOM note", "ransom"));
        assert!(contains_folded("ÉLECTRICITÉ de France", "électricité"));
        assert!(!contains_folded("Ransom", "ransomware"));
        assert!(contains_folded("x", ""));
    }

    #[test]
    fn subsequences_follow_order() {
        assert!(is_subsequence(b"cnspd", b"coinspaid"));
        assert!(is_subsequence(b"cnspd", b"CoinsPaid"));
        assert!(!is_subsequence(b"dpc", b"CoinsPaid"));
    }
}
