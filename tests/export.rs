//! `incidents export`, as a user runs it: each format read back and checked against the records,
//! Navigator layers against the real ATT&CK v18.1 bundles, and files never overwritten unasked.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incidents")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "incidents {}: {}", args.join(" "), stderr(&o));
    o
}

/// What `list --json` prints for these arguments: the records exports must agree with.
fn listed(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&ok(&all).stdout).unwrap()
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// A list field as the CSV joins it.
fn joined(v: &Value, field: &str, item: impl Fn(&Value) -> String) -> String {
    v[field].as_array().into_iter().flatten().map(item).collect::<Vec<_>>().join("; ")
}

fn ttp_key(t: &Value) -> String {
    t.as_str().or(t["id"].as_str()).or(t["name"].as_str()).unwrap().to_string()
}

/// The CSV row an incident should make, column by column.
fn expected_row(i: &Value) -> Vec<String> {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    vec![
        text(i, "id").into(),
        text(i, "date").into(),
        text(i, "victim").into(),
        text(i, "name").into(),
        text(i, "location").into(),
        text(i, "industry").into(),
        i["loss_usd"].as_u64().map(|n| n.to_string()).unwrap_or_default(),
        joined(i, "motives", s),
        joined(i, "actors", |a| s(&a["name"])),
        joined(i, "ttps", ttp_key),
        text(i, "summary").into(),
        text(i, "description").into(),
        text(&i["cia"], "confidentiality").into(),
        text(&i["cia"], "integrity").into(),
        text(&i["cia"], "availability").into(),
        joined(i, "actors", |a| s(&a["type"])),
        joined(i, "tags", s),
        joined(i, "related", s),
        joined(i, "sources", |src| src["url"].as_str().or(src["title"].as_str()).unwrap().to_string()),
    ]
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

const CSV_HEADER: [&str; 19] = [
    "id",
    "date",
    "victim",
    "name",
    "location",
    "industry",
    "loss_usd",
    "motives",
    "actors",
    "ttps",
    "summary",
    "description",
    "confidentiality",
    "integrity",
    "availability",
    "actor_types",
    "tags",
    "related",
    "sources",
];

#[test]
fn csv_reads_back_as_the_records_with_real_text_quoted() {
    let records = listed(&[]);
    let o = ok(&["export", "--csv"]);
    assert!(o.stdout.starts_with(b"id,date,victim,"), "a header row first");
    let first_line_end = o.stdout.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(o.stdout[first_line_end - 1], b'\r', "RFC 4180 lines end in CRLF");
    let (header, rows) = read_csv(&o.stdout);
    assert_eq!(header, CSV_HEADER);
    assert_eq!(rows.len(), records.len(), "one row per incident");
    for (row, record) in rows.iter().zip(&records) {
        assert_eq!(*row, expected_row(record), "row of {}", record["id"]);
    }
    // The real text puts quoting to work: commas in summaries, paragraphs in descriptions.
    assert!(rows.iter().any(|r| r[10].contains(',')), "a summary with a comma");
    assert!(rows.iter().any(|r| r[11].contains('\n')), "a description with a line break");
    assert_eq!(ok(&["list", "--csv"]).stdout, o.stdout, "list --csv and export --csv print the same");
}

/// A dataset whose text needs every kind of quoting, and an incident with a name.
fn awkward_dataset(dir: &Path) -> PathBuf {
    write_json(
        dir,
        "awkward.json",
        &json!([
            {
                "id": "acme-2021",
                "victim": "Acme, \"Widgets\" Ltd",
                "name": "Operation \"Comma, Quote\"",
                "date": "2021-03-04",
                "location": "Estonia",
                "summary": "Line one, with a comma.\nLine two \"quoted\"; and a semicolon.",
                "description": "First paragraph.\n\n  Indented second paragraph, \"quoted\".",
                "loss_usd": 1250000,
                "cia": {"confidentiality": "affected", "integrity": "not-affected", "availability": "unknown"},
                "motives": ["financial", "espionage"],
                "ttps": ["T1566.001", {"id": "T1486", "note": "files encrypted"}, {"name": "Phishing", "framework": "VERIS"}],
                "actors": [
                    {"name": "Crew, The", "type": "organized-crime"},
                    {"name": "Unknown", "type": "unknown"}
                ],
                "sources": [
                    {"title": "A report, with \"quotes\"", "url": "https://example.org/a?x=1,2"},
                    {"title": "Untitled on the web"}
                ],
                "related": ["beta-2020"],
                "tags": ["one", "two words"]
            },
            {
                "id": "beta-2020",
                "victim": "Beta",
                "date": "2020",
                "summary": "Short.",
                "ttps": ["T1566.001"]
            }
        ]),
    )
}

#[test]
fn csv_quotes_commas_quotes_and_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = awkward_dataset(dir.path());
    let path = path.to_str().unwrap();
    let records = listed(&[path, "--sort", "date"]);
    let o = ok(&["export", "--csv", "--sort", "date", path]);
    let raw = stdout(&o);
    assert!(raw.contains(r#""Acme, ""Widgets"" Ltd""#), "quotes doubled inside a quoted field:\n{raw}");
    let (_, rows) = read_csv(&o.stdout);
    assert_eq!(rows.len(), 2);
    for (row, record) in rows.iter().zip(&records) {
        assert_eq!(*row, expected_row(record));
    }
    let acme = &rows[0];
    assert_eq!(acme[3], "Operation \"Comma, Quote\"", "the incident's name has its column");
    assert_eq!(acme[8], "Crew, The; Unknown");
    assert_eq!(acme[9], "T1566.001; T1486; Phishing");
    assert_eq!(acme[15], "organized-crime; unknown");
    assert_eq!(acme[18], "https://example.org/a?x=1,2; Untitled on the web");
}

#[test]
fn json_exports_print_what_list_prints() {
    for format in ["--json", "--jsonl"] {
        let args = ["-q", "actor:lazarus", "--sort", "loss", "--reverse", "--limit", "5"];
        let mut list = vec!["list", format];
        list.extend(args);
        let mut export = vec!["export", format];
        export.extend(args);
        let (l, e) = (ok(&list), ok(&export));
        assert_eq!(e.stdout, l.stdout, "{format}");
        assert!(!e.stdout.is_empty());
    }
    let lines = stdout(&ok(&["export", "--jsonl", "-q", "actor:lazarus"]));
    let ids: Vec<String> =
        lines.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect();
    let expected: Vec<String> =
        listed(&["-q", "actor:lazarus"]).iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, expected, "one incident per line, in result order");
}

/// The active techniques of an ATT&CK STIX bundle: id and tactics (kill chain phase names).
fn attack_techniques(bundle: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let v: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for o in v["objects"].as_array().unwrap() {
        if o["type"] != "attack-pattern" || o["revoked"] == true || o["x_mitre_deprecated"] == true {
            continue;
        }
        let id = o["external_references"].as_array().into_iter().flatten().find_map(|r| {
            let source = r["source_name"].as_str().unwrap_or_default();
            (source.starts_with("mitre") && source.ends_with("attack")).then(|| r["external_id"].as_str()).flatten()
        });
        let Some(id) = id else { continue };
        let phases = o["kill_chain_phases"].as_array().into_iter().flatten();
        out.insert(id.to_string(), phases.map(|p| p["phase_name"].as_str().unwrap().to_string()).collect());
    }
    out
}

/// Each ATT&CK id used by these records, with the ids of the incidents using it.
fn users(records: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        for t in r["ttps"].as_array().into_iter().flatten() {
            if let Some(id) = t.as_str().or(t["id"].as_str()) {
                out.entry(id.to_string()).or_default().insert(r["id"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

/// Checks what makes a layer open in Navigator and mean what it says: the format's versions and
/// domain, every technique in the domain's bundle under one of its own tactics, scores equal to
/// the incidents using each technique (whose ids the comment names), sub-techniques under a
/// parent set to show them, a gradient up to the highest score. Returns the scored ids.
fn check_layer(
    layer: &Value,
    domain: &str,
    catalog: &BTreeMap<String, BTreeSet<String>>,
    users: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeSet<String> {
    assert_eq!(layer["domain"], domain);
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["versions"]["attack"], "18");
    assert!(layer["versions"]["navigator"].as_str().is_some_and(|v| v >= "4.9.0"), "{}", layer["versions"]);
    assert!(layer["name"].as_str().is_some_and(|n| !n.is_empty()));
    let entries = layer["techniques"].as_array().unwrap();
    let mut scored = BTreeSet::new();
    let mut placed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut highest = 0;
    for e in entries {
        let id = e["techniqueID"].as_str().unwrap();
        let tactics = catalog.get(id).unwrap_or_else(|| panic!("{id} is not a technique of {domain} v18.1"));
        let tactic = e["tactic"].as_str().unwrap();
        assert!(tactics.contains(tactic), "{id} placed under {tactic}, not one of its tactics {tactics:?}");
        placed.entry(id.to_string()).or_default().insert(tactic.to_string());
        if let Some(score) = e["score"].as_u64() {
            let using = &users[id];
            assert_eq!(score, using.len() as u64, "score of {id}");
            let comment = e["comment"].as_str().unwrap();
            for incident in using {
                assert!(comment.contains(incident.as_str()), "{id}'s comment names {incident}: {comment}");
            }
            highest = highest.max(score);
            scored.insert(id.to_string());
        }
        if let Some((parent, _)) = id.split_once('.') {
            let parent_entry = entries
                .iter()
                .find(|p| p["techniqueID"] == parent && p["tactic"] == tactic)
                .unwrap_or_else(|| panic!("{id} under {tactic} has no parent {parent} there"));
            assert_eq!(parent_entry["showSubtechniques"], true, "{parent} shows its sub-techniques");
        }
    }
    for id in &scored {
        assert_eq!(&placed[id], &catalog[id], "{id} appears under each of its tactics");
    }
    assert_eq!(layer["gradient"]["minValue"], 0);
    assert_eq!(layer["gradient"]["maxValue"], highest.max(1));
    assert!(layer["gradient"]["colors"].as_array().unwrap().len() >= 2);
    scored
}

#[test]
fn navigator_layer_of_the_bundled_data_opens_in_enterprise_attack() {
    let Some(bundle) = common::fixture("attack/enterprise-attack-18.1-stix20.json") else { return };
    let enterprise = attack_techniques(&bundle);
    let query = "motive:financial";
    let records = listed(&["-q", query]);
    let used = users(&records);
    let o = ok(&["export", "--navigator", "-q", query]);
    let layer: Value = serde_json::from_slice(&o.stdout).unwrap();
    let scored = check_layer(&layer, "enterprise-attack", &enterprise, &used);
    let expected: BTreeSet<String> = used.keys().filter(|id| !id.starts_with("T08")).cloned().collect();
    assert_eq!(scored, expected, "every enterprise technique of the results is in the layer");
    assert!(layer["description"].as_str().unwrap().contains(query), "the description names the query");
    assert!(layer["name"].as_str().unwrap().contains(query));
    let ics: Vec<&String> = used.keys().filter(|id| id.starts_with("T08")).collect();
    for id in ics {
        assert!(stderr(&o).contains(id.as_str()), "the ICS technique {id} left out is noted: {}", stderr(&o));
    }
    // Sub-techniques whose parent no incident names still sit inside it.
    assert!(
        scored.iter().any(|id| id.contains('.') && !used.contains_key(id.split('.').next().unwrap())),
        "the data exercises a parent added for its sub-technique"
    );
}

/// A dataset using these technique ids, one incident per list of ids.
fn dataset_using(dir: &Path, uses: &[&[&str]]) -> PathBuf {
    let records: Vec<Value> = uses
        .iter()
        .enumerate()
        .map(|(n, ids)| {
            json!({
                "id": format!("plant-{n}"),
                "victim": format!("Plant {n}"),
                "name": format!("Operation {n}"),
                "date": format!("{}", 2015 + n),
                "summary": "Controllers were tampered with.",
                "ttps": ids,
            })
        })
        .collect();
    write_json(dir, "plants.json", &Value::Array(records))
}

#[test]
fn navigator_layer_of_ics_techniques_is_an_ics_layer() {
    let Some(bundle) = common::fixture("attack/ics-attack-18.1.json") else { return };
    let ics = attack_techniques(&bundle);
    let ids: Vec<&str> = ics.keys().map(String::as_str).filter(|id| id.starts_with("T08")).take(3).collect();
    assert_eq!(ids.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let data = dataset_using(dir.path(), &[&ids[..], &ids[..1], &ids[1..2]]);
    let data = data.to_str().unwrap();
    let o = ok(&["export", "--navigator", "--attack", bundle.to_str().unwrap(), data]);
    let layer: Value = serde_json::from_slice(&o.stdout).unwrap();
    let scored = check_layer(&layer, "ics-attack", &ics, &users(&listed(&[data])));
    assert_eq!(scored, ids.iter().map(|s| s.to_string()).collect(), "every technique is scored");
    assert!(stderr(&o).is_empty(), "nothing left out: {}", stderr(&o));
    let comment = layer["techniques"][0]["comment"].as_str().unwrap();
    assert!(comment.contains("(Operation "), "incident names beside their ids: {comment}");
}

#[test]
fn navigator_layer_keeps_one_domain_and_leaves_out_unknown_ids() {
    let (Some(ent), Some(ics_bundle)) =
        (common::fixture("attack/enterprise-attack-18.1-stix20.json"), common::fixture("attack/ics-attack-18.1.json"))
    else {
        return;
    };
    let enterprise = attack_techniques(&ent);
    let ics = attack_techniques(&ics_bundle);
    let ics_ids: Vec<&str> = ics.keys().map(String::as_str).filter(|id| id.starts_with("T08")).take(2).collect();
    let unknown = "T1999";
    assert!(!enterprise.contains_key(unknown) && !ics.contains_key(unknown));
    // A catalog table naming both domains' techniques, as the real bundles name them.
    let dir = tempfile::tempdir().unwrap();
    let table: Vec<Value> = ["T1566.001", "T1486"]
        .iter()
        .map(|id| (id, &enterprise[*id]))
        .chain(ics_ids.iter().map(|id| (id, &ics[*id])))
        .map(|(id, tactics)| json!({"id": id, "name": format!("Technique {id}"), "tactics": tactics}))
        .collect();
    let table = write_json(dir.path(), "catalog.json", &Value::Array(table));
    let data = dataset_using(dir.path(), &[&["T1566.001", ics_ids[0], unknown], &["T1486", ics_ids[1]]]);
    let (table, data) = (table.to_str().unwrap(), data.to_str().unwrap());
    let used = users(&listed(&["--attack", table, data]));

    let o = ok(&["export", "--navigator", "--attack", table, data]);
    let layer: Value = serde_json::from_slice(&o.stdout).unwrap();
    let scored = check_layer(&layer, "enterprise-attack", &enterprise, &used);
    assert_eq!(scored, BTreeSet::from(["T1486".to_string(), "T1566.001".to_string()]));
    let notes = stderr(&o);
    assert!(notes.contains(unknown) && notes.contains("not in the technique catalog"), "{notes}");
    for id in &ics_ids {
        assert!(notes.contains(id), "ICS technique {id} left out and noted: {notes}");
    }

    let o = ok(&["export", "--navigator", "--domain", "ics", "--attack", table, data]);
    let layer: Value = serde_json::from_slice(&o.stdout).unwrap();
    let scored = check_layer(&layer, "ics-attack", &ics, &used);
    assert_eq!(scored, ics_ids.iter().map(|s| s.to_string()).collect());
    assert!(stderr(&o).contains("T1566.001"), "enterprise techniques left out are noted: {}", stderr(&o));

    let o = run(&["export", "--json", "--domain", "ics", data]);
    assert_eq!(o.status.code(), Some(2), "--domain belongs to --navigator");
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.md");
    let before = b"analyst notes\r\n\x00kept exactly\n";
    std::fs::write(&target, before).unwrap();
    let t = target.to_str().unwrap();

    let o = run(&["export", "--markdown", "-q", "actor:lazarus", "-o", t]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&target).unwrap(), before, "the file is byte-identical");

    ok(&["export", "--markdown", "-q", "actor:lazarus", "-o", t, "--force"]);
    let written = std::fs::read(&target).unwrap();
    assert_eq!(written, ok(&["export", "--markdown", "-q", "actor:lazarus"]).stdout, "the same as to stdout");
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from("report.md")], "no temporary file left behind");

    let fresh = dir.path().join("layer.json");
    ok(&["export", "--navigator", "-o", fresh.to_str().unwrap()]);
    let layer: Value = serde_json::from_slice(&std::fs::read(&fresh).unwrap()).unwrap();
    assert_eq!(layer["versions"]["layer"], "4.5");

    let nothing = dir.path().join("nothing.csv");
    let o = run(&["export", "--csv", "-q", "zzzqqqxxx", "-o", nothing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "no match is exit 1");
    assert!(!nothing.exists(), "and writes nothing");
    let o = run(&["export", "--csv", "-o", dir.path().join("missing/dir/out.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "an unwritable place is exit 2: {}", stderr(&o));
}

fn short_date(iso: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match iso.split('-').collect::<Vec<_>>().as_slice() {
        [y] => y.to_string(),
        [y, m, ..] => format!("{} {y}", MONTHS[m.parse::<usize>().unwrap() - 1]),
        _ => panic!("bad date {iso}"),
    }
}

#[test]
fn markdown_report_has_a_title_a_table_and_each_incident_as_copied() {
    use incidents::load::{self, LoadOptions};
    use incidents::query::Corpus;
    let query = "actor:lazarus";
    let records = listed(&["-q", query]);
    let report = stdout(&ok(&["export", "--markdown", "-q", query]));
    let mut dates: Vec<&str> = records.iter().map(|r| text(r, "date")).collect();
    dates.sort();
    let title = report.lines().next().unwrap();
    assert!(title.starts_with("# ") && title.contains(query), "{title}");
    let (first, last) = (short_date(dates[0]), short_date(dates[dates.len() - 1]));
    assert!(title.contains(&first) && title.contains(&last), "the date range {first} to {last}: {title}");

    let corpus = Corpus::new(load::bundled(&LoadOptions::default()).unwrap());
    let mut at = 0;
    for r in &records {
        let id = text(r, "id");
        let row = report.lines().find(|l| l.starts_with('|') && l.contains(&format!("`{id}`")));
        assert!(row.is_some(), "a table row for {id}");
        let section = incidents::present::markdown(&corpus, corpus.find(id).unwrap());
        let found = report[at..].find(&section).unwrap_or_else(|| panic!("{id}'s section, in result order"));
        at += found + section.len();
    }
}

#[test]
fn every_format_carries_the_incident_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = awkward_dataset(dir.path());
    let data = data.to_str().unwrap();
    let name = "Operation \"Comma, Quote\"";
    let json: Vec<Value> = serde_json::from_slice(&ok(&["export", "--json", data]).stdout).unwrap();
    assert!(json.iter().any(|i| i["name"] == name));
    let jsonl = stdout(&ok(&["export", "--jsonl", data]));
    assert!(jsonl.lines().any(|l| serde_json::from_str::<Value>(l).unwrap()["name"] == name));
    let (_, rows) = read_csv(&ok(&["export", "--csv", data]).stdout);
    assert!(rows.iter().any(|r| r[3] == name));
    let md = stdout(&ok(&["export", "--markdown", data]));
    assert!(md.lines().any(|l| l.starts_with('|') && l.contains(name)), "in the table:\n{md}");
    assert!(md.contains(&format!("## Acme, \"Widgets\" Ltd ({name})")), "in the section heading:\n{md}");
    let layer: Value = serde_json::from_slice(&ok(&["export", "--navigator", data]).stdout).unwrap();
    let comments: Vec<&str> =
        layer["techniques"].as_array().unwrap().iter().filter_map(|t| t["comment"].as_str()).collect();
    assert!(comments.iter().any(|c| c.contains(&format!("acme-2021 ({name})"))), "{comments:?}");
}
