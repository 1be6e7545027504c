//! The native loader on good and bad files: every problem found, each with its place, whether a
//! record is read by the fast path or the careful one, in one block or across many.

mod common;
#[path = "../examples/gen.rs"]
#[allow(dead_code)]
mod generator;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use incidents::load::{self, Format, LoadError, LoadOptions, NativeReading, Parsed, Progress};
use incidents::model::{ActorCatalog, ActorType, Dataset, Impact, Motive, TechniqueRef};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn problems(name: &str, text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, name, text);
    match load::load(&[path], &LoadOptions::default()) {
        Err(LoadError::Invalid(p)) => {
            p.iter().map(|p| p.to_string().replace(&format!("{}/", dir.path().display()), "")).collect()
        }
        Err(e) => panic!("expected invalid data, got {e}"),
        Ok(d) => panic!("expected problems, loaded {} incidents", d.incidents.len()),
    }
}

const GOOD: &str = r#"{"id": "a-1", "victim": "Acme", "date": "2023-07", "summary": "Something happened."}"#;

#[test]
fn the_bundled_dataset_loads_with_its_model_record() {
    let d = load::bundled(&LoadOptions::default()).unwrap();
    assert!(d.incidents.len() >= 12);
    assert_eq!(d.label, "bundled dataset");
    let find = |id: &str| d.incidents.iter().position(|i| i.id == id);
    let c = &d.incidents[find("coinspaid-2023").expect("CoinsPaid is bundled")];
    assert_eq!(c.victim, "CoinsPaid");
    assert_eq!(c.date.display(), "22 Jul 2023");
    assert_eq!(c.location.as_deref(), Some("Estonia"));
    assert_eq!(c.loss_usd, Some(37_300_000));
    assert_eq!(c.motives, vec![Motive::Financial]);
    assert_eq!(c.actors[0].name, "Lazarus Group");
    assert_eq!(c.actors[0].kind, ActorType::NationState);
    assert_eq!(c.cia.as_ref().unwrap().availability, Impact::Affected);
    for id in ["atomic-wallet-2023", "alphapo-2023"] {
        assert!(c.related.iter().any(|r| r == id), "CoinsPaid is related to {id}");
        let other = &d.incidents[find(id).unwrap()];
        assert!(other.related.iter().any(|r| r == "coinspaid-2023"), "{id} links back");
    }
    assert!(c.ttps.iter().any(|t| matches!(t, TechniqueRef::Attack { id, .. } if id == "T1566.003")));
}

#[test]
fn array_object_and_json_lines_all_load() {
    let dir = tempfile::tempdir().unwrap();
    let b = GOOD.replace("a-1", "b-2");
    let array = write(&dir, "a.json", &format!("[{GOOD}]"));
    let object = write(&dir, "b.json", &format!("{{\"incidents\": [{b}]}}"));
    let lines = write(&dir, "c.jsonl", &format!("{}\n\n{}\n", GOOD.replace("a-1", "c-3"), GOOD.replace("a-1", "c-4")));
    let d = load::load(&[array, object, lines], &LoadOptions::default()).unwrap();
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_ref()).collect();
    assert_eq!(ids, ["a-1", "b-2", "c-3", "c-4"]);
    assert_eq!(d.label, "3 files");
    // JSON Lines is recognised without the extension too, and a lone object is one incident.
    let unmarked = write(&dir, "d.json", &format!("{}\n{}\n", GOOD.replace("a-1", "d-5"), GOOD.replace("a-1", "d-6")));
    assert_eq!(load::load(&[unmarked], &LoadOptions::default()).unwrap().incidents.len(), 2);
    let single = write(&dir, "e.json", GOOD);
    assert_eq!(load::load(&[single], &LoadOptions::default()).unwrap().incidents[0].id, "a-1");
}

#[test]
fn a_directory_loads_its_dataset_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "2.json", &format!("[{}]", GOOD.replace("a-1", "two")));
    write(&dir, "1.JSONL", &format!("{}\n", GOOD.replace("a-1", "one")));
    write(&dir, "notes.txt", "not a dataset");
    let d = load::load(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap();
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_ref()).collect();
    assert_eq!(ids, ["one", "two"]);
    let dir_name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(d.label, format!("{dir_name}/ (2 files)"));
}

#[test]
fn malformed_json_is_reported_at_its_line_and_column() {
    let p = problems("bad.json", "[\n  {\"id\": \"a\",\n   \"victim\" \"Acme\"}\n]");
    assert_eq!(p, ["bad.json:3:13: invalid JSON: expected `:`"]);
    let p = problems("bad.jsonl", &format!("{GOOD}\n{{\"id\": \n"));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("bad.jsonl:2:"), "{}", p[0]);
    let p = problems("empty.json", "  \n");
    assert!(p[0].contains("empty file"), "{}", p[0]);
    let p = problems("text.json", "hello");
    assert!(p[0].starts_with("text.json:1:1: expected a JSON array of incidents"), "{}", p[0]);
}

#[test]
fn every_problem_of_every_record_is_listed_with_record_and_field() {
    let text = r#"[
  {"id": "x-1", "victim": "", "date": "2023-13", "summary": "S", "motives": ["financial", "greed"],
   "loss_usd": -5, "cia": {"confidentiality": "yes", "integrity": "affected", "availability": "unknown"},
   "ttps": ["T1566", "T15", {"id": "T1078", "name": "x"}], "actors": [{"name": "A", "type": "martian"}],
   "sources": [{"publisher": "P"}], "colour": "red"},
  {"id": "x-2", "victim": "Fine", "date": 2023, "summary": "S", "tags": "one"}
]"#;
    let p = problems("bad.json", text);
    let expect = [
        "bad.json:2:27: record \"x-1\", field victim: must not be empty",
        "bad.json:2:39: record \"x-1\", field date: invalid date \"2023-13\": month must be 01 to 12",
        "bad.json:2:91: record \"x-1\", field motives[1]: unknown motive \"greed\"",
        "bad.json:3:16: record \"x-1\", field loss_usd: expected a whole number of US dollars, found -5",
        "bad.json:3:47: record \"x-1\", field cia.confidentiality: unknown value \"yes\"",
        "bad.json:4:22: record \"x-1\", field ttps[1]: invalid ATT&CK technique id \"T15\"",
        "bad.json:4:29: record \"x-1\", field ttps[2]: give either an ATT&CK \"id\"",
        "bad.json:4:93: record \"x-1\", field actors[0].type: unknown actor type \"martian\"",
        "bad.json:5:16: record \"x-1\", field sources[0]: a source needs at least a \"title\" or a \"url\"",
        "bad.json:5:37: record \"x-1\", field colour: unknown field \"colour\"",
        "bad.json:6:43: record \"x-2\", field date: expected a string, found a number",
        "bad.json:6:73: record \"x-2\", field tags: expected an array, found a string",
    ];
    for e in expect {
        assert!(p.iter().any(|line| line.starts_with(e)), "missing {e:?} in:\n{}", p.join("\n"));
    }
    assert_eq!(p.len(), expect.len(), "{}", p.join("\n"));
}

#[test]
fn required_fields_and_duplicates() {
    let text = format!(
        "[{GOOD},\n{GOOD},\n{{\"id\": \"b\"}},\n{}]",
        GOOD.replace("a-1", "c").replace("}", ", \"related\": [\"nope\"]}")
    );
    let p = problems("dup.json", &text);
    assert!(
        p.iter().any(|l| l
            .starts_with("dup.json:2:1: record \"a-1\", field id: duplicate id: already used by the record at line 1")),
        "{p:?}"
    );
    for field in ["victim", "date", "summary"] {
        assert!(
            p.iter()
                .any(|l| l.starts_with(&format!("dup.json:3:1: record \"b\", field {field}: missing required field"))),
            "{p:?}"
        );
    }
    assert!(!p.iter().any(|l| l.contains("record \"c\"")), "a related id outside the file is no error: {p:?}");
}

#[test]
fn every_repeat_of_every_id_is_a_problem_at_its_record_in_file_order() {
    // Three ids, each used over and over: every record after the first with its id is rejected,
    // and points at that first one.
    let records: Vec<String> = (0..600).map(|n| GOOD.replace("a-1", &format!("id-{}", n % 3))).collect();
    let text = format!("[{}]", records.join(",\n"));
    let p = problems("rep.json", &text);
    assert_eq!(p.len(), 597, "{:?}", &p[..3]);
    for (k, line) in p.iter().enumerate() {
        let n = k + 3;
        let expected = format!(
            "rep.json:{}:1: record \"id-{}\", field id: duplicate id: already used by the record at line {}",
            n + 1,
            n % 3,
            n % 3 + 1
        );
        assert!(line.starts_with(&expected), "{line} / {expected}");
    }
}

#[test]
fn skip_invalid_keeps_the_valid_records_and_lists_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "mixed.json", &format!("[{GOOD}, {{\"id\": \"bad\", \"victim\": \"V\"}}]"));
    let opts = LoadOptions { skip_invalid: true, ..LoadOptions::default() };
    let d = load::load(&[path], &opts).unwrap();
    assert_eq!(d.incidents.len(), 1);
    assert_eq!(d.skipped.len(), 2, "{:?}", d.skipped);
    assert!(d.skipped.iter().all(|s| s.contains("record \"bad\"")));
}

#[test]
fn ids_colliding_across_files_are_prefixed_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "first.json", &format!("[{GOOD}]"));
    let b = write(&dir, "second.json", &format!("[{GOOD}]"));
    let d = load::load(&[a, b], &LoadOptions::default()).unwrap();
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_ref()).collect();
    assert_eq!(ids, ["a-1", "second/a-1"]);
}

#[test]
fn escape_sequences_in_text_are_removed_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let evil = r#"[{"id": "e", "victim": "Evil\u001b]0;owned\u0007 Corp\u001b[2J", "date": "2020", "summary": "Hi\u001b[31m red\u009b1m"}]"#;
    let path = write(&dir, "evil.json", evil);
    let d = load::load(&[path], &LoadOptions::default()).unwrap();
    assert_eq!(d.incidents[0].victim, "Evil Corp");
    assert_eq!(d.incidents[0].summary, "Hi red");
}

#[test]
fn io_errors_and_non_utf8_files() {
    let missing = load::load(&[PathBuf::from("/nonexistent/x.json")], &LoadOptions::default()).unwrap_err();
    assert_eq!(missing.exit_code(), 2);
    assert_eq!(missing.to_string(), "/nonexistent/x.json: no such file or directory");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.json");
    std::fs::write(&path, b"[\n{\"id\": \"caf\xe9\"}]").unwrap();
    let e = load::load(&[path], &LoadOptions::default()).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().ends_with("latin1.json:2:12: the file is not valid UTF-8 text"), "{e}");
}

#[test]
fn loading_never_writes_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[{GOOD}]");
    let path = write(&dir, "a.json", &text);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    load::load(std::slice::from_ref(&path), &LoadOptions::default()).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), before);
}

#[test]
fn json_output_of_the_model_loads_again_unchanged() {
    let d = load::bundled(&LoadOptions::default()).unwrap();
    let json = serde_json::to_string(&d.incidents).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "round.json", &json);
    let again = load::load(&[path], &LoadOptions::default()).unwrap();
    assert_eq!(again.incidents, d.incidents);
}

// ---------------------------------------------------------------------------------------------
// The fast path and the careful path, whole files and small blocks.

/// The readings every comparison covers: the default, and tiny blocks that put records, strings,
/// escapes and multi-byte characters across block edges, each on both paths.
fn readings() -> Vec<NativeReading> {
    let mut all = Vec::new();
    for block_size in [NativeReading::default().block_size, 4096, 97, 7] {
        for careful_only in [false, true] {
            all.push(NativeReading { block_size, careful_only });
        }
    }
    all
}

fn load_with(paths: &[PathBuf], native: NativeReading) -> Result<Dataset, LoadError> {
    load::load(paths, &LoadOptions { native, ..LoadOptions::default() })
}

/// Loads the files with every reading and checks they all give the same dataset.
fn same_everywhere(paths: &[PathBuf]) -> Dataset {
    let reference = load_with(paths, NativeReading { careful_only: true, ..NativeReading::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    for native in readings() {
        let d = load_with(paths, native).unwrap_or_else(|e| panic!("{native:?}: {e}"));
        assert_eq!(d.incidents.len(), reference.incidents.len(), "{native:?}");
        for (a, b) in d.incidents.iter().zip(&reference.incidents) {
            assert_eq!(a, b, "{native:?}");
        }
        assert_eq!(d.skipped, reference.skipped, "{native:?}");
    }
    reference
}

/// The problems of a file, the same with every reading; the directory is left out of names.
fn problems_everywhere(name: &str, text: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let mut first: Option<Vec<String>> = None;
    for native in readings() {
        let found = match load_with(std::slice::from_ref(&path), native) {
            Err(LoadError::Invalid(p)) => {
                p.iter().map(|p| p.to_string().replace(&format!("{}/", dir.path().display()), "")).collect()
            }
            Err(e) => panic!("expected invalid data, got {e}"),
            Ok(d) => panic!("{native:?}: expected problems, loaded {} incidents", d.incidents.len()),
        };
        match &first {
            None => first = Some(found),
            Some(f) => assert_eq!(&found, f, "{native:?} differs from the default reading"),
        }
    }
    first.unwrap_or_default()
}

/// `line:col` of the `nth` occurrence of `needle`, counting characters as the loader does.
fn place(text: &str, needle: &str, nth: usize) -> String {
    let at = text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap_or_else(|| panic!("no {needle:?}"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    format!("{line}:{col}")
}

fn generated(count: usize, seed: u64, jsonl: bool) -> Vec<u8> {
    let mut out = Vec::new();
    generator::write_records(&mut out, count, seed, jsonl).unwrap();
    out
}

#[test]
fn both_paths_read_the_bundled_dataset_alike() {
    let mut reference: Option<Dataset> = None;
    for native in readings() {
        let d = load::bundled(&LoadOptions { native, ..LoadOptions::default() }).unwrap();
        match &reference {
            None => reference = Some(d),
            Some(r) => assert_eq!(d.incidents, r.incidents, "{native:?}"),
        }
    }
    assert!(reference.is_some_and(|r| r.incidents.len() >= 100));
}

#[test]
fn both_paths_read_generated_arrays_and_json_lines_alike() {
    let dir = tempfile::tempdir().unwrap();
    let array = write_bytes(&dir, "gen.json", &generated(300, 11, false));
    let lines = write_bytes(&dir, "gen.jsonl", &generated(300, 11, true));
    let a = same_everywhere(&[array]);
    let l = same_everywhere(&[lines]);
    assert_eq!(a.incidents.len(), 300);
    assert_eq!(a.incidents, l.incidents, "array and JSON Lines hold the same records");
    // The generator's records are rich: names, losses, noted techniques, actors with aliases.
    assert!(a.incidents.iter().any(|i| i.name.is_some()));
    assert!(a.incidents.iter().any(|i| i.loss_usd.is_some()));
    assert!(a.incidents.iter().any(|i| i.actors.iter().any(|x| !x.aliases.is_empty())));
    assert!(a.incidents.iter().any(|i| i.ttps.iter().any(|t| t.note().is_some())));
}

#[test]
fn both_paths_read_real_data_written_in_the_native_format_alike() {
    // The fixtures are VERIS and STIX; their incidents, written out as native records (as
    // `list --json` does), are real native files with real, messy text.
    let mut paths = Vec::new();
    if let Some(p) = common::fixture("vcdb/incidents") {
        paths.push(p);
    }
    for bundle in ["stix/poisonivy.json", "stix/fireeye-pivy-report-with-indicators.json"] {
        if let Some(p) = common::fixture(bundle) {
            paths.push(p);
        }
    }
    if paths.is_empty() {
        return;
    }
    let opts = LoadOptions { skip_invalid: true, ..LoadOptions::default() };
    let source = load::load(&paths, &opts).unwrap();
    assert!(source.incidents.len() > 20, "{}", source.incidents.len());
    let dir = tempfile::tempdir().unwrap();
    let native = write(&dir, "real.json", &serde_json::to_string_pretty(&source.incidents).unwrap());
    let d = same_everywhere(&[native]);
    assert_eq!(d.incidents, source.incidents);
}

fn write_bytes(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn generated_files_validate_with_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, jsonl) in [("g.json", false), ("g.jsonl", true)] {
        let path = write_bytes(&dir, name, &generated(200, 3, jsonl));
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_incidents")).arg("validate").arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {}{stdout}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.ends_with(&format!("ok: 200 incidents in {name}\n")), "{stdout}");
    }
    // The same seed writes the same file; another seed another.
    assert_eq!(generated(50, 9, false), generated(50, 9, false));
    assert_ne!(generated(50, 9, false), generated(50, 10, false));
}

#[test]
fn generated_records_look_real() {
    let mut parsed = Parsed::default();
    let text = String::from_utf8(generated(2000, 5, false)).unwrap();
    assert_eq!(load::parse_text("g.json", &text, Path::new("g.json"), Format::Auto, &mut parsed), Format::Native);
    let incidents: Vec<_> = parsed.incidents.into_iter().map(|(i, _)| i).collect();
    assert_eq!(incidents.len(), 2000);
    let summit_banks = incidents.iter().filter(|i| i.victim.contains("Summit") && i.victim.contains("Bank")).count();
    assert!((2..=40).contains(&summit_banks), "{summit_banks} Summit banks in 2000");
    // About 1.7 KB a record, as real records run; descriptions from a paragraph to 3 KB.
    let per_record = text.len() / incidents.len();
    assert!((1500..=1950).contains(&per_record), "records average {per_record} bytes");
    let longest = incidents.iter().map(|i| i.description.as_ref().map_or(0, |d| d.len())).max().unwrap_or(0);
    assert!((2000..=3200).contains(&longest), "the longest description is {longest} bytes");
    assert!(incidents.iter().all(|i| (2005..=2025).contains(&i.date.year)));
    // An actor is described the same way wherever it appears.
    let mut aliases = std::collections::HashMap::new();
    for a in incidents.iter().flat_map(|i| &i.actors) {
        assert_eq!(aliases.entry(a.name.clone()).or_insert_with(|| a.aliases.clone()), &a.aliases, "{}", a.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Problems found by the careful path keep their places, wherever the record sits.

#[test]
fn records_the_fast_path_refuses_keep_their_exact_problems() {
    let text = r#"[
  {"id": "deep", "victim": "V", "date": "2023", "summary": "S", "actors": [
    {"name": "A", "type": "unknown"}, {"name": "B", "type": "unknown"},
    {"name": "C", "type": "unknown", "aliases": [7, "ok"]}]},
  {"id": "typo", "victim": "V", "date": "2023", "summary": "S", "sumary": "x"},
  {"id": "when", "victim": "V", "date": "2023-02-30", "summary": "S"}
]"#;
    let p = problems_everywhere("deep.json", text.as_bytes());
    assert_eq!(
        p,
        [
            format!(
                "deep.json:{}: record \"deep\", field actors[2].aliases[0]: expected a string, found a number",
                place(text, "7", 0)
            ),
            format!(
                "deep.json:{}: record \"typo\", field sumary: unknown field \"sumary\", expected one of: id, victim, name, date, location, industry, summary, description, loss_usd, cia, motives, ttps, actors, sources, related, tags",
                place(text, "\"sumary\"", 0)
            ),
            format!(
                "deep.json:{}: record \"when\", field date: invalid date \"2023-02-30\": Feb 2023 has no day 30",
                place(text, "\"2023-02-30\"", 0)
            ),
        ]
    );
}

/// Sixty small records, the 41st with a bad date: far past the first block of a 4 KB reading.
fn many_records(separator: &str) -> String {
    let records: Vec<String> = (0..60)
        .map(|n| {
            let date = if n == 40 { "2023-13" } else { "2023-07" };
            format!(r#"{{"id": "r-{n}", "victim": "Zürich Bank № {n}", "date": "{date}", "summary": "Ünïcode summary {n}."}}"#)
        })
        .collect();
    format!("[{}]", records.join(separator))
}

#[test]
fn a_problem_deep_in_a_large_file_is_placed_exactly() {
    let text = many_records(",\n  ");
    assert!(text.find("\"r-40\"").unwrap() > 4096, "the record is past the first 4 KB block");
    let p = problems_everywhere("big.json", text.as_bytes());
    let expected = format!(
        "big.json:{}: record \"r-40\", field date: invalid date \"2023-13\": month must be 01 to 12",
        place(&text, "\"2023-13\"", 0)
    );
    assert_eq!(p, std::slice::from_ref(&expected));
    assert!(expected.starts_with("big.json:41:"), "{expected}");
}

#[test]
fn a_problem_on_a_very_long_single_line_is_placed_exactly() {
    let text = many_records(", ");
    assert!(!text.contains('\n'));
    let p = problems_everywhere("line.json", text.as_bytes());
    let col = text[..text.find("\"2023-13\"").unwrap()].chars().count() + 1;
    assert_eq!(
        p,
        [format!("line.json:1:{col}: record \"r-40\", field date: invalid date \"2023-13\": month must be 01 to 12")]
    );
}

#[test]
fn byte_order_marks_and_windows_line_endings_do_not_shift_places() {
    let text = format!("\u{feff}{}", many_records(",\r\n"));
    let p = problems_everywhere("crlf.json", text.as_bytes());
    // The mark counts as one character of the first line; line 41 is unaffected.
    assert_eq!(
        p,
        [format!(
            "crlf.json:{}: record \"r-40\", field date: invalid date \"2023-13\": month must be 01 to 12",
            place(&text, "\"2023-13\"", 0)
        )]
    );
    let lines = format!("\u{feff}{}", GOOD.replace("a-1", "x") + "\r\n" + &GOOD.replace("\"2023-07\"", "\"07/2023\""));
    let p = problems_everywhere("crlf.jsonl", lines.as_bytes());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(&format!("crlf.jsonl:{}: record \"a-1\", field date", place(&lines, "\"07/2023\"", 0))),
        "{p:?}"
    );
}

/// What serde says, reading the whole text at once, placed as the loader places positions:
/// the reference for invalid JSON anywhere in a file.
fn serde_says(name: &str, text: &str) -> String {
    let e = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(text).unwrap_err();
    let line_text = text.split('\n').nth(e.line() - 1).unwrap();
    let col = String::from_utf8_lossy(&line_text.as_bytes()[..e.column().saturating_sub(1).min(line_text.len())])
        .chars()
        .count()
        + 1;
    let message = e.to_string();
    let message = message.rsplit_once(" at line ").unwrap().0;
    format!("{name}:{}:{col}: invalid JSON: {message}", e.line())
}

#[test]
fn invalid_json_anywhere_is_reported_as_serde_reads_it() {
    let good = many_records(",\n").replace("2023-13", "2023-12");
    let cut = good.len() - 700;
    let broken = [
        ("truncated", good[..cut].to_string()),
        ("stray comma", good.replacen("},\n", "},,\n", 50)),
        ("garbage after", format!("{good}\n  ] oops")),
        ("missing comma", good.replacen("},\n", "}\n", 45)),
        ("trailing comma", good.replace("}]", "},\n]")),
        ("bad token inside", good.replacen("\"victim\"", "\"victim\" tru", 50)),
        ("bad word item", good.replacen("},\n{", "},\n tru,\n{", 30)),
        ("unclosed string", good.replacen("\"Ünïcode summary 35.\"", "\"Ünïcode summary 35.", 1)),
        ("control character", good.replacen("summary 52.", "summary\t52.", 1)),
    ];
    for (what, text) in broken {
        let p = problems_everywhere("broken.json", text.as_bytes());
        assert_eq!(p, [serde_says("broken.json", &text)], "{what}");
    }
}

/// Records whose lists of objects are written an object a line, at the records' own indent, with
/// escapes in their text: a reader that guesses from the layout where records end guesses wrong
/// inside them, and must find the records again exactly.
fn nested_at_record_indent(count: usize) -> String {
    let records: Vec<String> = (0..count)
        .map(|n| {
            format!(
                "{{\"id\": \"n-{n}\", \"victim\": \"Victim {n}\", \"date\": \"2021-0{}\", \"summary\": \"Summary {n}.\", \"sources\": [\n{{\"title\": \"First \\\"{n}\\\"\", \"url\": \"https://example.com/{n}/a\"}},\n{{\"title\": \"Second\", \"url\": \"https://example.com/{n}/b\"}}\n], \"tags\": [\"caf\\u00e9-{n}\"]}}",
                1 + n % 9
            )
        })
        .collect();
    format!("[\n{}\n]\n", records.join(",\n"))
}

#[test]
fn records_are_found_exactly_where_their_layout_misleads() {
    let dir = tempfile::tempdir().unwrap();
    let text = nested_at_record_indent(200);
    let d = same_everywhere(&[write(&dir, "nested.json", &text)]);
    assert_eq!(d.incidents.len(), 200);
    assert_eq!(d.incidents[150].sources[0].title.as_deref(), Some("First \"150\""));
    assert_eq!(d.incidents[150].tags, ["café-150"]);

    let bad_date = text.replace(
        "\"n-150\", \"victim\": \"Victim 150\", \"date\": \"2021-07\"",
        "\"n-150\", \"victim\": \"Victim 150\", \"date\": \"2021-13\"",
    );
    let p = problems_everywhere("nested.json", bad_date.as_bytes());
    assert_eq!(
        p,
        [format!(
            "nested.json:{}: record \"n-150\", field date: invalid date \"2021-13\": month must be 01 to 12",
            place(&bad_date, "\"2021-13\"", 0)
        )]
    );

    let missing_comma = text.replacen("}\n],", "}\n]", 170);
    let p = problems_everywhere("nested.json", missing_comma.as_bytes());
    assert_eq!(p, [serde_says("nested.json", &missing_comma)]);
}

#[test]
fn a_file_that_breaks_far_into_its_records_is_read_again_exactly_from_there() {
    // One record a line: read in large blocks, the reader finds most records by guessing and
    // parsing, and only meets the mistake there.
    let records: Vec<String> = (0..400)
        .map(|n| {
            format!(r#"{{"id": "g-{n}", "victim": "Ünïcode Bank {n}", "date": "2022-11", "summary": "Line \"{n}\"."}}"#)
        })
        .collect();
    let good = format!("[\n{}\n]\n", records.join(",\n"));
    for (what, text) in [
        ("missing comma", replace_nth(&good, "},\n", "}\n", 350)),
        ("stray comma", replace_nth(&good, "},\n", "},,\n", 300)),
        ("bad word", replace_nth(&good, "\"date\"", "\"date\" nul", 320)),
        ("truncated", good[..good.len() - 300].to_string()),
    ] {
        let p = problems_everywhere("far.json", text.as_bytes());
        assert_eq!(p, [serde_says("far.json", &text)], "{what}");
    }
    let at = good.find("Bank 333").unwrap();
    let mut latin = good.as_bytes().to_vec();
    latin[at] = 0xe9;
    let p = problems_everywhere("far.json", &latin);
    assert_eq!(p, [format!("far.json:{}: the file is not valid UTF-8 text", place(&good, "Bank 333", 0))]);
}

/// `text` with only the `nth` (from 0) occurrence of `pattern` replaced.
fn replace_nth(text: &str, pattern: &str, with: &str, nth: usize) -> String {
    let at = text.match_indices(pattern).nth(nth).map(|(i, _)| i).unwrap_or_else(|| panic!("no {pattern:?} {nth}"));
    format!("{}{with}{}", &text[..at], &text[at + pattern.len()..])
}

#[test]
fn files_of_many_blocks_read_alike_and_break_where_serde_says() {
    // Ten megabytes: the default reading keeps each 4 MB block apart from the heap (in huge
    // pages where the system has them), guesses where records end in the blocks after the
    // first, and reads again from a mistake.
    let good = String::from_utf8(generated(6000, 17, false)).unwrap();
    assert!(good.len() > 8 << 20, "{}", good.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "big.json", &good);
    let default = load_with(std::slice::from_ref(&path), NativeReading::default()).unwrap();
    let careful = load_with(&[path], NativeReading { careful_only: true, block_size: 4096 }).unwrap();
    assert_eq!(default.incidents.len(), 6000);
    assert!(default.incidents == careful.incidents, "the default reading differs from the careful one");
    // Broken in the third block: every record before the break is read, and the problem is
    // placed where serde places it.
    let broken = replace_nth(&good, "},\n{", "}\n{", 5000);
    let path = write(&dir, "broken.json", &broken);
    for native in [NativeReading::default(), NativeReading { careful_only: true, ..NativeReading::default() }] {
        let found: Vec<String> = match load_with(std::slice::from_ref(&path), native) {
            Err(LoadError::Invalid(p)) => {
                p.iter().map(|p| p.to_string().replace(&format!("{}/", dir.path().display()), "")).collect()
            }
            other => panic!("{native:?}: expected a problem, got {:?}", other.map(|d| d.incidents.len())),
        };
        assert_eq!(found, [serde_says("broken.json", &broken)], "{native:?}");
    }
}

#[test]
fn the_incidents_object_reads_like_an_array() {
    let text = format!("{{\"incidents\": {}}}", many_records(",\n"));
    let p = problems_everywhere("wrapped.json", text.as_bytes());
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(&format!("wrapped.json:{}: record \"r-40\"", place(&text, "\"2023-13\"", 0))), "{p:?}");
    let extra = format!("{{\"incidents\": [{GOOD}], \"version\": 2}}");
    let p = problems_everywhere("extra.json", extra.as_bytes());
    // Placed where serde, reading the whole file as that object, places it.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Only {
        #[serde(rename = "incidents")]
        _incidents: serde::de::IgnoredAny,
    }
    let col = serde_json::from_str::<Only>(&extra).err().map(|e| e.column()).unwrap();
    assert_eq!(
        p,
        [format!("extra.json:1:{col}: unexpected JSON value: unknown field `version`, expected `incidents`")]
    );
}

#[test]
fn bytes_that_are_not_utf8_are_placed_in_any_block() {
    let good = many_records(",\n").replace("2023-13", "2023-12");
    let at = good.find("Ünïcode summary 44").unwrap();
    let mut bytes = good.as_bytes().to_vec();
    bytes[at] = 0xff;
    let p = problems_everywhere("latin.json", &bytes);
    assert_eq!(p, [format!("latin.json:{}: the file is not valid UTF-8 text", place(&good, "Ünïcode summary 44", 0))]);
    // Characters cut by a block edge are not mistaken for bad bytes (the 7-byte reading cuts
    // most of them): the clean file loads alike with every reading.
    let dir = tempfile::tempdir().unwrap();
    let clean = many_records(",\n").replace("2023-13", "2023-12");
    let d = same_everywhere(&[write(&dir, "clean.json", &clean)]);
    assert_eq!(d.incidents[3].victim, "Zürich Bank № 3");
}

#[test]
fn repeated_ids_in_large_files_are_placed_by_reading_the_file_again() {
    let text =
        format!("\u{feff}{}", many_records(",\r\n").replace("2023-13", "2023-12").replace("\"r-50\"", "\"r-7\""));
    let p = problems_everywhere("dup.json", text.as_bytes());
    assert_eq!(
        p,
        [format!(
            "dup.json:{}: record \"r-7\", field id: duplicate id: already used by the record at line 8",
            place(&text, "{\"id\": \"r-7\"", 1)
        )]
    );
}

#[test]
fn every_record_is_found_by_its_id_whether_or_not_the_load_kept_the_ids() {
    // A clean file: the load's check for repeated ids hands its work on to the search index.
    let dir = tempfile::tempdir().unwrap();
    let clean = load::load(&[write_bytes(&dir, "clean.json", &generated(3000, 23, false))], &LoadOptions::default());
    let clean = clean.unwrap();
    assert!(clean.ids.as_ref().is_some_and(|ids| ids.len() == 3000));
    // Repeats dropped under --skip-invalid: the places have moved, and the index finds its own.
    let text = many_records(",\n").replace("2023-13", "2023-12").replace("\"r-50\"", "\"r-7\"");
    let opts = LoadOptions { skip_invalid: true, ..LoadOptions::default() };
    let dropped = load::load(&[write(&dir, "dup.json", &text)], &opts).unwrap();
    assert_eq!(dropped.incidents.len(), 59);
    assert!(dropped.ids.is_none());
    for dataset in [clean, dropped] {
        let ids: Vec<String> = dataset.incidents.iter().map(|i| i.id.to_string()).collect();
        let corpus = incidents::query::Corpus::new(dataset);
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(corpus.find(id), Some(n as u32), "{id}");
        }
        assert_eq!(corpus.find("no such id"), None);
    }
}

#[test]
fn progress_counts_bytes_and_records_and_a_cancelled_load_stops() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(500, 1, false);
    let path = write_bytes(&dir, "p.json", &bytes);
    let progress = Arc::new(Progress::default());
    let native = NativeReading { block_size: 64 << 10, careful_only: false };
    let opts = LoadOptions { progress: Some(Arc::clone(&progress)), native, ..LoadOptions::default() };
    let d = load::load(std::slice::from_ref(&path), &opts).unwrap();
    let s = progress.snapshot();
    assert_eq!((s.bytes_total, s.bytes_read, s.records), (bytes.len() as u64, bytes.len() as u64, 500));
    assert_eq!(s.stage, path.display().to_string());
    assert_eq!(d.incidents.len(), 500);
    // VERIS and STIX files count too.
    if let Some(vcdb) = common::fixture("vcdb/incidents") {
        let progress = Arc::new(Progress::default());
        let opts = LoadOptions { progress: Some(Arc::clone(&progress)), skip_invalid: true, ..LoadOptions::default() };
        let d = load::load(&[vcdb], &opts).unwrap();
        let s = progress.snapshot();
        assert!(s.bytes_total > 0 && s.bytes_read == s.bytes_total, "{s:?}");
        assert_eq!(s.records, d.incidents.len() as u64);
    }
    let cancelled = Arc::new(Progress::default());
    cancelled.cancel();
    let opts = LoadOptions { progress: Some(cancelled), ..LoadOptions::default() };
    assert!(matches!(load::load(&[path], &opts), Err(LoadError::Cancelled)));
}

// ---------------------------------------------------------------------------------------------
// The actor catalog.

const CATALOG: &str = r#"[
  {"name": "Lazarus Group", "attack_id": "G0032", "aliases": ["Labyrinth Chollima", "HIDDEN COBRA"],
   "type": "nation-state", "location": "North Korea",
   "profile": "A North Korean state-sponsored group.",
   "sources": [{"title": "Lazarus Group, G0032", "publisher": "MITRE ATT&CK", "url": "https://attack.mitre.org/groups/G0032/"}]},
  {"name": "FIN7", "aliases": ["Carbon Spider"], "type": "organized-crime", "profile": "A financially motivated group."}
]"#;

fn catalog(text: &str) -> Result<ActorCatalog, Vec<String>> {
    load::actors::parse_catalog("actors.json", text).map_err(|e| match e {
        LoadError::Invalid(p) => p.iter().map(ToString::to_string).collect(),
        e => vec![e.to_string()],
    })
}

#[test]
fn the_bundled_actor_catalog_reads_and_comes_with_every_dataset() {
    let bundled = catalog(load::bundled::ACTORS.text()).unwrap();
    let d = load::bundled(&LoadOptions::default()).unwrap();
    assert_eq!(d.actors.len(), bundled.len());
}

#[test]
fn actors_named_by_a_string_are_resolved_from_the_catalog() {
    let actors = Arc::new(catalog(CATALOG).unwrap());
    let lazarus = actors.get("hidden cobra").unwrap();
    assert_eq!(lazarus.attack_id.as_deref(), Some("G0032"));
    assert_eq!(lazarus.sources[0].publisher.as_deref(), Some("MITRE ATT&CK"));
    let record = GOOD.replace("}", r#", "actors": ["Lazarus Group", "carbon spider", {"name": "Unknown", "type": "unknown"}, "labyrinth CHOLLIMA"]}"#);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "named.json", &format!("[{record}]"));
    for native in readings() {
        let opts = LoadOptions { actors: Some(Arc::clone(&actors)), native, ..LoadOptions::default() };
        let d = load::load(std::slice::from_ref(&path), &opts).unwrap();
        let a = &d.incidents[0].actors;
        let names: Vec<_> = a.iter().map(|x| x.name.as_ref()).collect();
        assert_eq!(names, ["Lazarus Group", "FIN7", "Unknown", "Lazarus Group"], "{native:?}");
        assert_eq!(a[0].kind, ActorType::NationState);
        assert_eq!(a[0].location.as_deref(), Some("North Korea"));
        assert_eq!(a[0].aliases, ["Labyrinth Chollima", "HIDDEN COBRA"]);
        assert_eq!(a[1].kind, ActorType::OrganizedCrime);
        // Written out in the object form, so the output loads without the catalog.
        let json = serde_json::to_value(&d.incidents[0]).unwrap();
        assert_eq!(
            json["actors"][1],
            serde_json::json!({"name": "FIN7", "type": "organized-crime", "aliases": ["Carbon Spider"]})
        );
    }
}

#[test]
fn an_actor_missing_from_the_catalog_is_a_positioned_problem() {
    let record = GOOD.replace("}", r#", "actors": ["FIN7", "Fancy Bear"]}"#);
    let text = format!("[\n{record}\n]");
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "unknown.json", &text);
    let actors = Arc::new(catalog(CATALOG).unwrap());
    for native in readings() {
        let opts = LoadOptions { actors: Some(Arc::clone(&actors)), native, ..LoadOptions::default() };
        let Err(LoadError::Invalid(p)) = load::load(std::slice::from_ref(&path), &opts) else { panic!("loaded") };
        let p: Vec<_> = p.iter().map(|p| p.to_string().replace(&format!("{}/", dir.path().display()), "")).collect();
        assert_eq!(
            p,
            [format!(
                "unknown.json:{}: record \"a-1\", field actors[1]: unknown actor \"Fancy Bear\": not in the actor catalog; write it as an object with \"name\" and \"type\"",
                place(&text, "\"Fancy Bear\"", 0)
            )],
            "{native:?}"
        );
    }
}

#[test]
fn bad_actor_catalogs_list_every_problem_with_its_place() {
    let text = r#"[
  {"name": "A", "type": "nation-state", "profile": "P", "aliases": ["x", 3]},
  {"name": "B", "type": "martian", "profile": "P", "colour": "red"},
  {"name": "C", "type": "unknown"},
  {"name": "D", "type": "unknown", "profile": "P", "attack_id": "G32", "sources": [{"publisher": "M"}]},
  {"name": "E", "type": "unknown", "profile": "P", "aliases": ["a"]},
  "F"
]"#;
    let p = catalog(text).unwrap_err();
    assert_eq!(
        p,
        [
            format!(
                "actors.json:{}: record \"A\", field aliases[1]: expected a string, found a number",
                place(text, "3]", 0)
            ),
            format!(
                "actors.json:{}: record \"B\", field colour: unknown field \"colour\", expected one of: name, attack_id, aliases, type, location, profile, sources",
                place(text, "\"colour\"", 0)
            ),
            format!(
                "actors.json:{}: record \"B\", field type: unknown actor type \"martian\", expected one of: nation-state, state-affiliated, organized-crime, hacktivist, insider, unaffiliated, unknown",
                place(text, "\"martian\"", 0)
            ),
            format!(
                "actors.json:{}: record \"C\", field profile: missing required field",
                place(text, "{\"name\": \"C\"", 0)
            ),
            format!(
                "actors.json:{}: record \"D\", field attack_id: invalid ATT&CK group id \"G32\": expected G and four digits, as in G0032",
                place(text, "\"G32\"", 0)
            ),
            format!(
                "actors.json:{}: record \"D\", field sources[0]: a source needs at least a \"title\" or a \"url\"",
                place(text, "{\"publisher\"", 0)
            ),
            format!(
                "actors.json:{}: record \"E\", field aliases[0]: \"a\" already names the actor \"A\": a name or alias must name one actor",
                place(text, "\"a\"]", 0)
            ),
            format!("actors.json:{}: expected an actor object, found a string", place(text, "\"F\"", 0)),
        ]
    );
    assert!(catalog("{}").unwrap_err()[0].contains("expected a JSON array of actors"));
    assert!(catalog("").unwrap_err()[0].contains("empty file"));
}

#[test]
fn byte_order_marks_are_skipped_whatever_the_size_of_the_reads() {
    for block_size in [1, 2, 3, 4, 1 << 20] {
        let native = NativeReading { block_size, careful_only: false };
        let opts = LoadOptions { native, ..LoadOptions::default() };
        let parse = |text: &str| {
            let mut out = Parsed::default();
            load::parse_text_with("b.json", text, Path::new("b.json"), &ActorCatalog::default(), &opts, &mut out);
            out
        };
        let only = parse("\u{feff}");
        assert_eq!(only.problems.len(), 1, "{block_size}");
        assert_eq!(only.problems[0].to_string(), "b.json:1:2: empty file: expected a JSON array of incidents");
        let two = parse(&format!("\u{feff}\u{feff}[{GOOD}]"));
        assert_eq!(two.incidents.len(), 1, "{block_size}: {:?}", two.problems);
        assert_eq!(two.incidents[0].1, 7, "the record's offset counts the marks and the bracket");
    }
}
