//! The VERIS loader against real VCDB records and their hand-checkable facts (expected.json).

mod common;

use std::path::Path;

use incidents::load::{Format, LoadError, LoadOptions, load};
use incidents::model::{Incident, Motive};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    file: String,
    incident_id: String,
    victim_id: Option<String>,
    year: u16,
    month: Option<u8>,
    country: Vec<String>,
    motives: Vec<String>,
    actions: Vec<String>,
    summary_present: bool,
}

fn expected(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

fn veris_options() -> LoadOptions {
    LoadOptions { format: Format::Veris, ..Default::default() }
}

#[test]
fn every_vcdb_record_loads_and_matches_its_expected_facts() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let expected = expected(&dir);
    assert_eq!(expected.len(), 50);
    let mut fallbacks = 0;
    for e in &expected {
        let path = dir.join("incidents").join(&e.file);
        let dataset = load(std::slice::from_ref(&path), &veris_options())
            .unwrap_or_else(|err| panic!("{} should load: {err}", e.file));
        assert_eq!(dataset.incidents.len(), 1, "{}", e.file);
        let i = &dataset.incidents[0];
        assert_eq!(i.id, e.incident_id, "{}", e.file);

        match e.victim_id.as_deref().filter(|v| !v.eq_ignore_ascii_case("unknown")) {
            Some(v) => assert_eq!(i.victim, v, "{}", e.file),
            None => {
                fallbacks += 1;
                assert!(i.victim.starts_with("Unnamed victim"), "{}: {}", e.file, i.victim);
            }
        }

        assert_eq!(i.date.year, e.year, "{}", e.file);
        assert_eq!(i.date.month, e.month, "{}", e.file);

        let country = e.country.iter().find(|c| *c != "Unknown" && *c != "Other");
        assert_eq!(i.location.is_some(), country.is_some(), "{}: {:?}", e.file, i.location);

        let mut motives: Vec<&str> = i.motives.iter().map(|m| m.as_str()).collect();
        motives.sort_unstable();
        let mut want: Vec<String> = e.motives.iter().filter(|m| *m != "NA").map(|m| m.to_lowercase()).collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(motives, want, "{}", e.file);

        assert!(!i.summary.trim().is_empty(), "{}", e.file);
        if !e.summary_present {
            assert!(i.summary.starts_with("No summary in the VERIS record"), "{}: {}", e.file, i.summary);
            for action in e.actions.iter() {
                assert!(i.summary.contains(action.as_str()), "{}: {} should name {action}", e.file, i.summary);
            }
        } else {
            assert!(!i.summary.starts_with("No summary in the VERIS record"), "{}", e.file);
        }
        assert!(i.tags.iter().any(|t| t == "veris"), "{}", e.file);
    }
    assert_eq!(fallbacks, 3 + unknown_victims(&expected));
}

fn unknown_victims(expected: &[Expected]) -> usize {
    expected.iter().filter(|e| e.victim_id.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("unknown"))).count()
}

fn load_one(dir: &Path, file: &str) -> Incident {
    let path = dir.join("incidents").join(file);
    let mut d = load(&[path], &LoadOptions::default()).expect("loads");
    d.incidents.remove(0)
}

#[test]
fn records_without_victim_id_get_an_honest_fallback() {
    let Some(dir) = common::fixture("vcdb") else { return };
    // Public Administration (NAICS 92), Indonesia: the record names neither the victim nor more.
    let i = load_one(&dir, "024775f8-d5f9-4f9d-98b7-8de93177f3de.json");
    assert_eq!(i.victim, "Unnamed victim (Public Administration, ID)");
    assert_eq!(i.location.as_deref(), Some("Indonesia"));
    assert_eq!(i.date.to_string(), "2019-07");
    assert_eq!(i.actors[0].name, "ShaggyPanther");
    assert_eq!(i.actors[0].kind.as_str(), "nation-state");
    assert_eq!(i.actors[0].location.as_deref(), Some("China"));
    assert_eq!(i.motives, [Motive::Espionage]);
    assert!(i.sources.is_empty(), "the record has no reference");
    let ttps: Vec<String> = i.ttps.iter().map(|t| serde_json::to_value(t).unwrap()["name"].to_string()).collect();
    assert_eq!(
        ttps,
        ["\"Hacking: Exploit vuln\"", "\"Malware: Backdoor\"", "\"Malware: Backdoor or C2\""],
        "action varieties become VERIS techniques"
    );
    for file in ["00C8C622-32DD-4EA6-94EB-5DCF1037EEAB.json", "014490d4-e3d6-46ab-b1cf-777b3f8fa397.json"] {
        let i = load_one(&dir, file);
        assert!(i.victim.starts_with("Unnamed victim ("), "{file}: {}", i.victim);
    }
}

#[test]
fn a_directory_load_detects_veris_and_reads_upper_case_json_files() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let dataset = load(&[dir.join("incidents")], &LoadOptions::default()).expect("the VCDB directory loads");
    assert_eq!(dataset.incidents.len(), 50);
    assert!(dataset.skipped.is_empty());
    // 014ee3c9-….JSON holds incident 7d74e80d-… under another id; check every .JSON file arrived.
    let expected = expected(&dir);
    for e in expected.iter().filter(|e| e.file.ends_with(".JSON")) {
        assert!(dataset.incidents.iter().any(|i| i.id == e.incident_id), "{} was not loaded", e.file);
    }
}

#[test]
fn reference_urls_become_sources_and_cia_follows_attributes() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let i = load_one(&dir, "000D403E-2DC9-4EA7-9294-BD3938D1C3C7.json");
    let urls: Vec<&str> = i.sources.iter().filter_map(|s| s.url.as_deref()).collect();
    assert_eq!(urls.len(), 2);
    assert!(urls[0].starts_with("http://www.njbiz.com/") && urls[1].starts_with("http://www.scmagazine.com/"));
    let cia = i.cia.expect("attribute section");
    assert_eq!(
        (cia.confidentiality.as_str(), cia.integrity.as_str(), cia.availability.as_str()),
        ("affected", "unknown", "affected")
    );
    assert_eq!(i.industry.as_deref(), Some("Healthcare"));
    assert_eq!(i.actors[0].name, "Partner");
}

fn problems(err: LoadError) -> Vec<incidents::load::Problem> {
    match err {
        LoadError::Invalid(p) => p,
        other => panic!("expected invalid data, got {other}"),
    }
}

#[test]
fn bad_veris_files_give_positioned_problems() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(dir.join("incidents/024775f8-d5f9-4f9d-98b7-8de93177f3de.json")).unwrap();

    // A wrong type: the year as a string.
    let wrong = good.replace("\"year\": 2019", "\"year\": \"2019\"");
    assert_ne!(wrong, good);
    let path = tmp.path().join("wrong.json");
    std::fs::write(&path, &wrong).unwrap();
    let p = problems(load(std::slice::from_ref(&path), &LoadOptions::default()).unwrap_err());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].record.as_deref(), Some("c2531320-2b4a-11ea-9dc8-9fe5cd17ac1d"));
    assert_eq!(p[0].field.as_deref(), Some("timeline.incident.year"));
    let line = wrong.lines().position(|l| l.contains("\"year\": \"2019\"")).unwrap() + 1;
    let col = wrong.lines().nth(line - 1).unwrap().find("\"2019\"").unwrap() + 1;
    assert_eq!(p[0].position.map(|p| (p.line, p.col)), Some((line, col)));
    assert!(p[0].to_string().starts_with(&format!("{}:{line}:{col}: record ", path.display())), "{}", p[0]);

    // With --skip-invalid the record is left out and reported.
    let opts = LoadOptions { skip_invalid: true, ..Default::default() };
    let d = load(std::slice::from_ref(&path), &opts).unwrap();
    assert!(d.incidents.is_empty());
    assert_eq!(d.skipped.len(), 1);

    // Broken JSON: the place where parsing stopped.
    let broken = good.replacen("\"action\": {", "\"action\": {,", 1);
    let path = tmp.path().join("broken.json");
    std::fs::write(&path, &broken).unwrap();
    let p = problems(load(std::slice::from_ref(&path), &veris_options()).unwrap_err());
    assert_eq!(p.len(), 1);
    assert!(p[0].message.starts_with("invalid JSON"), "{}", p[0].message);
    let line = broken.lines().position(|l| l.contains("\"action\": {,")).unwrap() + 1;
    assert_eq!(p[0].position.map(|p| p.line), Some(line));
}

#[test]
fn detection_finds_veris_keys_after_long_notes() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let good = std::fs::read_to_string(dir.join("incidents/024775f8-d5f9-4f9d-98b7-8de93177f3de.json")).unwrap();
    // Keys are sorted, so a long note under `action` pushes `incident_id` and `schema_version` far down.
    let long = good.replacen("\"action\": {", &format!("\"action\": {{\"notes\": \"{}\",", "word ".repeat(2000)), 1);
    assert!(long.find("\"incident_id\"").unwrap() > 8192);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("long.json");
    std::fs::write(&path, long).unwrap();
    let d = load(&[path], &LoadOptions::default()).unwrap_or_else(|e| panic!("detected as VERIS: {e}"));
    assert_eq!(d.incidents[0].id, "c2531320-2b4a-11ea-9dc8-9fe5cd17ac1d");
}

#[test]
fn every_problem_of_a_record_is_listed_with_its_field_path() {
    let Some(dir) = common::fixture("vcdb") else { return };
    let good = std::fs::read_to_string(dir.join("incidents/024775f8-d5f9-4f9d-98b7-8de93177f3de.json")).unwrap();
    let bad = good
        .replacen("\"CN\"", "86", 1)
        .replacen("\"Espionage\"", "\"Espionage\", \"Greed\"", 1)
        .replacen("\"country\": [\n      \"ID\"\n    ]", "\"country\": \"ID\"", 1)
        .replacen("\"month\": 7", "\"month\": null", 1);
    assert_eq!(bad.matches("\"country\": \"ID\"").count(), 1, "the victim's country is now a bare string");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.json");
    std::fs::write(&path, &bad).unwrap();
    let p = problems(load(std::slice::from_ref(&path), &veris_options()).unwrap_err());
    let fields: Vec<&str> = p.iter().map(|p| p.field.as_deref().unwrap_or_default()).collect();
    assert_eq!(fields, ["victim.country", "actor.external.motive[1]", "actor.external.country[0]"], "{p:?}");
    for (p, at) in p.iter().zip(["\"country\": \"ID\"", "\"Greed\"", "86"]) {
        assert_eq!(p.record.as_deref(), Some("c2531320-2b4a-11ea-9dc8-9fe5cd17ac1d"));
        let offset = bad.find(at).unwrap() + if at.starts_with("\"country") { "\"country\": ".len() } else { 0 };
        let line = bad[..offset].matches('\n').count() + 1;
        let col = offset - bad[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
        assert_eq!(p.position.map(|p| (p.line, p.col)), Some((line, col)), "{p}");
    }
    assert!(p[0].message.contains("expected an array, found a string"), "{}", p[0].message);
    assert!(p[1].message.starts_with("unknown motive \"Greed\""), "{}", p[1].message);
    assert!(p[2].message.contains("expected a string, found a number"), "{}", p[2].message);
}
