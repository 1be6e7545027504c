//! The native loader on good and bad files: every problem found, each with its place.

use std::path::PathBuf;

use incidents::load::{self, LoadError, LoadOptions};
use incidents::model::{ActorType, Impact, Motive, TechniqueRef};

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
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_str()).collect();
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
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_str()).collect();
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
    let ids: Vec<_> = d.incidents.iter().map(|i| i.id.as_str()).collect();
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
