//! Random and mangled input never panics the loader or the query engine.

use std::path::Path;

use incidents::load::{self, Format, LoadOptions, Parsed};
use incidents::query::{Matcher, Query, SortKey, search};

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn parse(text: &str, name: &str) -> Parsed {
    let mut out = Parsed::default();
    load::parse_text(name, text, Path::new(name), Format::Auto, &mut out);
    out
}

#[test]
fn random_bytes_never_panic_the_loader() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let alphabet = b"[]{}\",:0123456789.-eE truefalsnul\\\n\tidvctmaeTsumry\x1b\xc3\xa9";
    for round in 0..3000 {
        let len = rng.below(120);
        let bytes: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let text = String::from_utf8_lossy(&bytes);
        let name = if round % 2 == 0 { "r.json" } else { "r.jsonl" };
        let parsed = parse(&text, name);
        assert!(parsed.incidents.len() + parsed.problems.len() + parsed.rejected.len() <= len + 1);
    }
}

#[test]
fn mangled_real_records_never_panic_and_always_explain_themselves() {
    let d = load::bundled(&LoadOptions::default()).unwrap();
    let good = serde_json::to_string_pretty(&d.incidents[..3]).unwrap();
    let mut rng = Rng(42);
    let pieces = ["\"", "{", "}", "[", "]", ",", ":", "null", "-1", "\"2023-99\"", "\"x\"", "\\u0000", "1e999", "\n"];
    for _ in 0..400 {
        let mut text = good.clone();
        for _ in 0..1 + rng.below(3) {
            let mut at = rng.below(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => text.insert_str(at, pieces[rng.below(pieces.len())]),
                1 => {
                    let mut end = (at + 1 + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => text.replace_range(at..at, pieces[rng.below(pieces.len())]),
            }
        }
        let parsed = parse(&text, "m.json");
        if parsed.incidents.len() < 3 {
            assert!(!parsed.problems.is_empty(), "a dropped record is always explained:\n{text}");
        }
        for p in &parsed.problems {
            assert!(p.position.is_some(), "every problem has a position: {p}");
        }
    }
}

#[test]
fn random_queries_never_panic() {
    let d = incidents::query::Corpus::new(load::bundled(&LoadOptions::default()).unwrap());
    let mut rng = Rng(7);
    let words = [
        "actor:", "ttp:", "year:", "cia:", "motive:", "!", "\"", "..", "2023", "t1566", "laz", "é", "日本", ":", " ",
        "x", "country:", "text:", "tag:", "id:", "a\"b",
    ];
    for _ in 0..2000 {
        let q: String = (0..rng.below(6)).map(|_| words[rng.below(words.len())]).collect();
        if let Ok(query) = Query::parse(&q) {
            let matcher = Matcher::new(query.clone());
            let request = incidents::query::SearchRequest { query, sort: SortKey::Score, ..Default::default() };
            let hits = search(&d, &request);
            for h in hits.iter().take(3) {
                let victim = &d.incident(h.index).victim;
                let n = victim.chars().count();
                assert!(matcher.highlight(victim).iter().all(|&i| i < n));
            }
        }
    }
}
