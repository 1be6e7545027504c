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
    // What a hand-written reader could wrongly take: a field twice, an escaped key, numbers serde
    // does not read as counts, text that must be cleaned.
    "\"id\": \"again\", ",
    "\"vict\\u0069m\": ",
    "01",
    "-0",
    "1.5",
    "\u{7f}",
    "\u{85}",
    "\\u001b[31m",
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
    fn token_edits_of_a_record_are_read_the_same_by_both_paths(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, select(TOKENS)), 1..4),
        lines in any::<bool>(),
        block in 1..64usize,
    ) {
        // Edits at token boundaries break the syntax far more often than edits of bytes do: a
        // comma before a closer, a field twice, a value of the wrong kind where a reader by hand
        // could slip.
        let mut tokens: Vec<&str> = RECORD.split("  ").collect();
        for (at, kind, token) in &edits {
            let i = at.index(tokens.len() + 1);
            match kind {
                0 => tokens.insert(i, token),
                1 if i < tokens.len() => {
                    tokens.remove(i);
                }
                _ if i < tokens.len() => tokens[i] = token,
                _ => tokens.push(token),
            }
        }
        let record = tokens.join(" ");
        let text = if lines { format!("{record}\n{record}") } else { format!("[{record}, {record}]") };
        let name = if lines { "t.jsonl" } else { "t.json" };
        let parsed = parse_both(&text, name, block);
        prop_assert!(parsed.rejected.len() <= parsed.problems.len());
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

/// A record with every kind of field, its tokens two spaces apart.
const RECORD: &str = concat!(
    r#"{  "id"  :  "r1"  ,  "victim"  :  "Caf\u00e9 \"Bank\""  ,  "name"  :  "Op"  ,  "date"  :  "2023-07"  ,  "#,
    r#""location"  :  null  ,  "summary"  :  "s"  ,  "loss_usd"  :  37300000  ,  "cia"  :  {  "#,
    r#""confidentiality"  :  "affected"  ,  "integrity"  :  "unknown"  ,  "availability"  :  "not-affected"  "#,
    r#"}  ,  "motives"  :  [  "financial"  ]  ,  "ttps"  :  [  "T1566"  ,  {  "id"  :  "T1078"  ,  "note"  :  "n"  "#,
    r#"}  ,  {  "name"  :  "x"  ,  "framework"  :  "f"  }  ]  ,  "actors"  :  [  "Lazarus Group"  ,  {  "name"  :  "#,
    r#""Crew"  ,  "type"  :  "organized-crime"  ,  "aliases"  :  [  "C"  ]  }  ]  ,  "sources"  :  [  {  "title"  :  "#,
    r#""t"  ,  "url"  :  "https://example.org"  ,  "date"  :  "2023"  }  ]  ,  "related"  :  [  "r0"  ]  ,  "#,
    r#""tags"  :  [  "crypto"  ]  }"#,
);

/// Tokens an edit puts into a record.
const TOKENS: &[&str] = &[
    "\u{c}",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "0",
    "01",
    "-0",
    "1.5",
    "1e2",
    "\"\"",
    "\" \"",
    "\"x\"",
    "\"id\"",
    "\"name\"",
    "\"note\"",
    "\"date\"",
    "\"2023-13\"",
    "\"T1566\"",
    "\"\\u0061\"",
    "\"a\\u0000b\"",
    "\"\u{85}\"",
    "\"\u{7f}\"",
    "\"tab\there\"",
    "\"\\ud800\"",
];

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

#[test]
fn the_record_that_token_edits_start_from_is_valid() {
    let parsed = parse_both(&format!("[{RECORD}]"), "t.json", 4096);
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.incidents.len(), 1);
}

#[test]
fn every_single_token_edit_of_a_record_is_read_the_same_by_both_paths() {
    let tokens: Vec<&str> = RECORD.split("  ").collect();
    let mut texts = Vec::new();
    for i in 0..=tokens.len() {
        if i < tokens.len() {
            let mut t = tokens.clone();
            t.remove(i);
            texts.push(t.join(" "));
        }
        for token in TOKENS {
            let mut t = tokens.clone();
            t.insert(i, token);
            texts.push(t.join(" "));
            if i < tokens.len() {
                let mut t = tokens.clone();
                t[i] = token;
                texts.push(t.join(" "));
            }
        }
    }
    for record in texts {
        parse_both(&format!("[{record}]"), "t.json", 4096);
    }
}
