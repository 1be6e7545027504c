//! Random and mangled input never panics the loader or the query engine, both loader paths give
//! the same answer in any block size, and a record that is dropped is always explained.
//! `PROPTEST_CASES=1000000 cargo test --release --test robustness` runs a long campaign.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use incidents::load::{self, Format, LoadOptions, NativeReading, Parsed};
use incidents::model::{ActorCatalog, ActorProfile, ActorType, Dataset};
use incidents::query::{Corpus, Matcher, Query, SearchRequest, SortKey, search};
use proptest::prelude::*;
use proptest::sample::select;

/// A catalog with one actor, so string actors in mangled records resolve or fail both ways.
fn actors() -> &'static ActorCatalog {
    static ACTORS: OnceLock<ActorCatalog> = OnceLock::new();
    ACTORS.get_or_init(|| {
        ActorCatalog::new(vec![ActorProfile {
            name: "Lazarus Group".into(),
            attack_id: Some("G0032".into()),
            aliases: vec!["HIDDEN COBRA".into()],
            kind: ActorType::NationState,
            location: Some("North Korea".into()),
            profile: "A group.".into(),
            sources: Vec::new(),
        }])
    })
}

fn parse(text: &str, name: &str, native: NativeReading) -> Parsed {
    let mut out = Parsed::default();
    let opts = LoadOptions { native, ..LoadOptions::default() };
    load::parse_text_with(name, text, Path::new(name), actors(), &opts, &mut out);
    out
}

/// Parses with the careful path in one block, and with the fast path in blocks of `block`
/// bytes; both must say exactly the same, and every problem must have its place.
fn parse_both(text: &str, name: &str, block: usize) -> Parsed {
    let careful = parse(text, name, NativeReading { careful_only: true, ..NativeReading::default() });
    let fast = parse(text, name, NativeReading { block_size: block, careful_only: false });
    assert_eq!(fast.incidents, careful.incidents, "incidents differ:\n{text}");
    assert_eq!(fast.problems, careful.problems, "problems differ:\n{text}");
    assert_eq!(fast.rejected, careful.rejected, "rejected differ:\n{text}");
    for p in &careful.problems {
        assert!(p.position.is_some(), "every problem has a position: {p}");
    }
    careful
}

fn bundled() -> &'static Dataset {
    static BUNDLED: OnceLock<Dataset> = OnceLock::new();
    BUNDLED.get_or_init(|| load::bundled(&LoadOptions::default()).expect("the bundled dataset loads"))
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| Corpus::new(bundled().clone()))
}

/// Real records to mangle: three bundled ones, and real VERIS incidents written as native
/// records with their odd text.
fn real_texts() -> &'static [(String, usize)] {
    static TEXTS: OnceLock<Vec<(String, usize)>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let d = bundled();
        let mut texts = vec![
            (serde_json::to_string_pretty(&d.incidents[..3]).unwrap_or_default(), 3),
            (serde_json::to_string(&d.incidents[40..43]).unwrap_or_default(), 3),
        ];
        if let Some(vcdb) = common::fixture("vcdb/incidents") {
            let opts = LoadOptions { skip_invalid: true, ..LoadOptions::default() };
            if let Ok(v) = load::load(&[vcdb], &opts) {
                texts.push((serde_json::to_string_pretty(&v.incidents[..4]).unwrap_or_default(), 4));
            }
        }
        texts
    })
}

const PIECES: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "-1",
    "\"2023-99\"",
    "\"x\"",
    "\\u0000",
    "1e999",
    "\n",
    "\r\n",
    "é",
    "\u{feff}",
    "\"Lazarus Group\"",
    "\"nobody\"",
    "tru",
    "\\",
    "\"actors\": [\"HIDDEN COBRA\"], ",
];

/// One edit of a text: where (as a share of its length), what, and with which piece.
#[derive(Debug, Clone)]
struct Edit {
    at: f64,
    kind: u8,
    piece: &'static str,
    len: usize,
}

fn edit() -> impl Strategy<Value = Edit> {
    (0.0..1.0f64, 0..3u8, select(PIECES), 1..12usize).prop_map(|(at, kind, piece, len)| Edit { at, kind, piece, len })
}

fn apply(text: &mut String, e: &Edit) {
    let mut at = ((text.len() as f64) * e.at) as usize;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match e.kind {
        0 => text.insert_str(at, e.piece),
        1 => {
            let mut end = (at + e.len).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, "");
        }
        _ => {
            let mut end = (at + 1).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, e.piece);
        }
    }
}

const ALPHABET: &[u8] = b"[]{}\",:0123456789.-eE truefalsnul\\\n\r\tidvctmaeTsumry\x1b\xc3\xa9\xef\xbb\xbf";

proptest! {
    #[test]
    fn random_bytes_never_panic_and_both_paths_agree(
        bytes in prop::collection::vec(select(ALPHABET), 0..160),
        lines in any::<bool>(),
        block in 1..48usize,
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let name = if lines { "r.jsonl" } else { "r.json" };
        let parsed = parse_both(&text, name, block);
        // Every record left out is explained by at least one problem.
        prop_assert!(parsed.rejected.len() <= parsed.problems.len());
    }

    #[test]
    fn mangled_real_records_never_panic_and_always_explain_themselves(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
        lines in any::<bool>(),
        block in 1..256usize,
    ) {
        let (original, count) = &real_texts()[which.index(real_texts().len())];
        let mut text = if lines {
            // The same records as JSON Lines.
            let values: Vec<serde_json::Value> = serde_json::from_str(original).unwrap_or_default();
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\n")
        } else {
            original.clone()
        };
        for e in &edits {
            apply(&mut text, e);
        }
        let name = if lines { "m.jsonl" } else { "m.json" };
        let parsed = parse_both(&text, name, block);
        if parsed.incidents.len() < *count {
            prop_assert!(!parsed.problems.is_empty(), "a dropped record is always explained:\n{}", text);
        }
    }

    #[test]
    fn random_queries_never_panic(words in prop::collection::vec(select(QUERY_WORDS), 0..7)) {
        let q: String = words.concat();
        let d = corpus();
        if let Ok(query) = Query::parse(&q) {
            let matcher = Matcher::new(query.clone());
            let request = SearchRequest { query, sort: SortKey::Score, ..SearchRequest::default() };
            let hits = search(d, &request);
            for h in hits.iter().take(3) {
                let victim = &d.incident(h.index).victim;
                let n = victim.chars().count();
                prop_assert!(matcher.highlight(victim).iter().all(|&i| i < n));
            }
        }
    }
}

const QUERY_WORDS: &[&str] = &[
    "actor:",
    "ttp:",
    "year:",
    "cia:",
    "motive:",
    "!",
    "\"",
    "..",
    "2023",
    "t1566",
    "laz",
    "é",
    "日本",
    ":",
    " ",
    "x",
    "country:",
    "text:",
    "tag:",
    "id:",
    "a\"b",
    "\u{1b}[2J",
    "year:2030..2001",
    "summit bank",
];

#[test]
fn the_auto_format_reads_mangled_files_the_same_as_native() {
    // Detection never sends a native-looking file elsewhere and panics there.
    let (text, _) = &real_texts()[0];
    let mut out = Parsed::default();
    assert_eq!(
        load::parse_text("m.json", &text[..text.len() / 2], Path::new("m.json"), Format::Auto, &mut out),
        Format::Native
    );
    assert!(!out.problems.is_empty());
}
