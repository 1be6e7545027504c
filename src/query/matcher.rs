//! Matching one incident against a parsed query, on the keys the index prepared.
//!
//! A `Matcher` holds its own fuzzy matcher: make one per thread (a shared one serialises the
//! threads on its caches).

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::index::{Corpus, SEP, Span};
use super::parse::{CiaPart, Field, Query, TermKind, looks_like_technique_id};

pub struct Matcher {
    query: Query,
    skim: SkimMatcherV2,
    /// Each term's word prepared once: ASCII-lower-cased bytes for the quick subsequence test,
    /// and lower-cased for substring tests.
    words: Vec<(Vec<u8>, String)>,
}

impl Clone for Matcher {
    fn clone(&self) -> Self {
        Self::new(self.query.clone())
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
        Self { query, skim: SkimMatcherV2::default().ignore_case(), words }
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
        let keys = corpus.index.keys(index);
        let text = |span: Span| corpus.index.text(span);
        let mut total = 0;
        for (term, (ascii, lower)) in self.query.terms.iter().zip(&self.words) {
            let score = match &term.kind {
                TermKind::Fuzzy(w) if !term.negate => {
                    let inc = corpus.incident(index);
                    let on = |hay: Span, original: Option<&str>| {
                        original.filter(|_| is_subsequence(ascii, text(hay).as_bytes()))?;
                        self.skim.fuzzy_match(original?, w)
                    };
                    let victim = on(keys.victim_ascii, Some(&inc.victim));
                    let name = on(keys.name_ascii, inc.name.as_deref());
                    victim.max(name)
                }
                // A negated word excludes victims that contain it, as in fzf.
                TermKind::Fuzzy(_) | TermKind::Exact(_) => (text(keys.victim).contains(lower.as_str())
                    || text(keys.name).contains(lower.as_str()))
                .then_some(0),
                TermKind::Field { field, value, exact } => {
                    self.field_matches(corpus, index, *field, value, *exact).then_some(0)
                }
                TermKind::Year(from, to) => (*from..=*to).contains(&keys.year).then_some(0),
                TermKind::Cia(part) => {
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

    fn field_matches(&self, corpus: &Corpus, index: u32, field: Field, value: &str, exact: bool) -> bool {
        let keys = corpus.index.keys(index);
        let text = |span: Span| corpus.index.text(span);
        let values = |span: Span| text(span).split(SEP);
        let test = |span: Span| {
            if exact { values(span).any(|v| v == value) } else { text(span).contains(value) }
        };
        match field {
            Field::Id => test(keys.id),
            Field::Name => test(keys.name),
            Field::Actor => test(keys.actors),
            Field::Motive => test(keys.motives),
            Field::Country => test(keys.location),
            Field::Industry => test(keys.industry),
            Field::Tag => test(keys.tags),
            Field::Ttp if exact => test(keys.ttp_ids) || test(keys.ttp_names),
            Field::Ttp if looks_like_technique_id(value) => values(keys.ttp_ids).any(|id| id.starts_with(value)),
            Field::Ttp => values(keys.ttp_names).any(|name| value.split_whitespace().all(|w| name.contains(w))),
            Field::Text => {
                let inc = corpus.incident(index);
                let found = |s: &str| {
                    if exact {
                        s.chars().flat_map(char::to_lowercase).eq(value.chars())
                    } else {
                        contains_folded(s, value)
                    }
                };
                found(&inc.summary) || inc.description.as_deref().is_some_and(found)
            }
        }
    }

    /// Character positions in `text` (a victim or a name) that the query's words matched, for
    /// highlighting.
    pub fn highlight(&self, text: &str) -> Vec<usize> {
        let mut positions = Vec::new();
        for term in self.query.terms.iter().filter(|t| !t.negate) {
            match &term.kind {
                TermKind::Fuzzy(w) => {
                    if let Some((_, idx)) = self.skim.fuzzy_indices(text, w) {
                        positions.extend(idx);
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

/// Whether `needle`'s bytes appear in `hay` in order. Both are ASCII-lower-cased, so this is
/// true whenever the fuzzy matcher (which ignores ASCII case only) can match.
fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut at = 0;
    for &b in needle {
        match memchr::memchr(b, &hay[at..]) {
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
        assert!(!is_subsequence(b"dpc", b"coinspaid"));
    }
}
