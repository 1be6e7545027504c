//! `incidents stats`, as a user runs it, checked against counts made here from the raw files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incidents")).args(args).output().unwrap()
}

fn run_in_locale(args: &[&str], locale: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incidents"))
        .args(args)
        .env_remove("LC_CTYPE")
        .env_remove("LANG")
        .env("LC_ALL", locale)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel).to_string_lossy().into_owned()
}

/// The bundled records as written, `{"incidents": [...]}` or a bare array.
fn raw_incidents() -> Vec<Value> {
    let text = std::fs::read_to_string(data("incidents.json")).unwrap();
    match serde_json::from_str::<Value>(&text).unwrap() {
        Value::Array(records) => records,
        Value::Object(mut o) => o.remove("incidents").and_then(|v| v.as_array().cloned()).unwrap(),
        other => panic!("unexpected dataset shape: {other}"),
    }
}

/// Actors named by reference resolve through `data/actors.json`, by name or alias, case and
/// surrounding spaces ignored.
struct ActorBook(Vec<Value>);

impl ActorBook {
    fn load() -> Self {
        let path = data("actors.json");
        let actors = match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<Value>(&text).unwrap() {
                Value::Array(a) => a,
                Value::Object(mut o) => o.remove("actors").and_then(|v| v.as_array().cloned()).unwrap_or_default(),
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        Self(actors)
    }

    /// The actor's name and type as a record gives it, inline or by reference.
    fn resolve(&self, actor: &Value) -> (String, String) {
        if let Some(reference) = actor.as_str() {
            let key = reference.trim().to_lowercase();
            let found = self
                .0
                .iter()
                .find(|a| {
                    let names = std::iter::once(&a["name"]).chain(a["aliases"].as_array().into_iter().flatten());
                    names.filter_map(Value::as_str).any(|n| n.trim().to_lowercase() == key)
                })
                .unwrap_or_else(|| panic!("actor {reference:?} is not in data/actors.json"));
            return (found["name"].as_str().unwrap().to_string(), found["type"].as_str().unwrap().to_string());
        }
        (actor["name"].as_str().unwrap().to_string(), actor["type"].as_str().unwrap().to_string())
    }
}

/// Whether an actor name is a name, not a label for an actor nobody named (the rule the product
/// documents: "Unknown", and VERIS role labels such as "External actor (Organized crime)").
fn is_named(name: &str) -> bool {
    !incidents::model::UNNAMED_ACTOR_LABELS.iter().any(|label| {
        name.eq_ignore_ascii_case(label) || name.strip_prefix(label).is_some_and(|rest| rest.starts_with(" ("))
    })
}

fn technique_key(t: &Value) -> String {
    match t {
        Value::String(id) => id.clone(),
        other => other["id"].as_str().or(other["name"].as_str()).unwrap().to_string(),
    }
}

/// Adds one to each distinct value: the counts are of incidents, not of mentions.
fn count(map: &mut BTreeMap<String, u64>, values: impl IntoIterator<Item = String>) {
    let mut seen = std::collections::BTreeSet::new();
    for v in values {
        if seen.insert(v.clone()) {
            *map.entry(v).or_default() += 1;
        }
    }
}

fn as_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

#[test]
fn stats_json_counts_the_bundled_data_as_written() {
    let records = raw_incidents();
    let book = ActorBook::load();
    let (mut years, mut motives, mut actors, mut types, mut countries, mut techniques) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut loss = 0u64;
    for r in &records {
        count(&mut years, [r["date"].as_str().unwrap()[..4].to_string()]);
        let strings = |field: &str| -> Vec<String> {
            r[field].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_string()).collect()
        };
        count(&mut motives, strings("motives"));
        let named: Vec<(String, String)> =
            r["actors"].as_array().into_iter().flatten().map(|a| book.resolve(a)).collect();
        count(&mut actors, named.iter().filter(|(n, _)| is_named(n)).map(|(n, _)| n.clone()));
        count(&mut types, named.iter().map(|(_, t)| t.clone()));
        count(&mut countries, r["location"].as_str().map(String::from));
        count(&mut techniques, r["ttps"].as_array().into_iter().flatten().map(technique_key));
        loss += r["loss_usd"].as_u64().unwrap_or(0);
    }

    let o = run(&["stats", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected_keys =
        ["total", "loss_usd_total", "by_year", "by_motive", "by_actor", "by_actor_type", "by_country", "by_technique"];
    expected_keys.sort();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(sorted_keys, expected_keys, "exactly the documented shape");
    assert_eq!(v["total"], records.len() as u64);
    assert_eq!(v["loss_usd_total"], loss);
    assert_eq!(as_counts(&v["by_year"]), years);
    assert_eq!(as_counts(&v["by_motive"]), motives);
    assert_eq!(as_counts(&v["by_actor"]), actors);
    assert_eq!(as_counts(&v["by_actor_type"]), types);
    assert_eq!(as_counts(&v["by_country"]), countries);
    assert_eq!(as_counts(&v["by_technique"]), techniques);
}

#[test]
fn stats_of_a_query_count_what_list_prints() {
    let listed = run(&["list", "--json", "-q", "motive:financial"]);
    let listed: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(!listed.is_empty());
    let o = run(&["stats", "--json", "-q", "motive:financial"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], listed.len() as u64);
    assert_eq!(v["by_motive"]["financial"], listed.len() as u64, "every incident counted has the motive");
    let years: u64 = as_counts(&v["by_year"]).values().sum();
    assert_eq!(years, listed.len() as u64, "each incident falls in one year");
    let loss: u64 = listed.iter().filter_map(|i| i["loss_usd"].as_u64()).sum();
    assert_eq!(v["loss_usd_total"], loss);
}

#[test]
fn stats_text_shows_totals_years_and_each_field() {
    let json: Value = serde_json::from_slice(&run(&["stats", "--json"]).stdout).unwrap();
    let o = run_in_locale(&["stats"], "en_US.UTF-8");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let total = json["total"].as_u64().unwrap();
    assert!(out.starts_with(&format!("{total} incidents, ")), "{out}");
    let lower = out.to_lowercase();
    for title in ["incidents per year", "motives", "actor types", "actors", "countries", "techniques", "cia posture"] {
        assert!(
            lower.lines().any(|l| l.starts_with(title) || l.starts_with(&format!("top {title}"))),
            "no {title}:\n{out}"
        );
    }
    // Each year from the first to the last has a row with its count, in the chart's column.
    let years = as_counts(&json["by_year"]);
    let first: u16 = years.keys().next().unwrap().parse().unwrap();
    let last: u16 = years.keys().next_back().unwrap().parse().unwrap();
    for year in first..=last {
        let n = years.get(&year.to_string()).copied().unwrap_or(0);
        let row = out.lines().find(|l| l.trim_start().starts_with(&format!("{year}  "))).unwrap();
        assert!(row.trim_end().ends_with(&format!(" {n}")), "{row}");
        assert_eq!(row.contains('\u{2588}'), n > 0, "a bar for a year with incidents: {row}");
    }
    // The busiest actor is listed first under its heading, with its count.
    let actors = as_counts(&json["by_actor"]);
    let most = actors.values().max().unwrap();
    let top = actors.iter().filter(|(_, n)| *n == most).map(|(k, _)| k).min().unwrap();
    let heading = out.lines().position(|l| l == "Actors" || l.starts_with("Top actors")).unwrap();
    let first_row = out.lines().nth(heading + 1).unwrap();
    assert!(first_row.contains(top.as_str()) && first_row.trim_end().ends_with(&most.to_string()), "{first_row}");
    // Techniques read with their ATT&CK names.
    let techniques = as_counts(&json["by_technique"]);
    let busiest = techniques.iter().max_by_key(|(k, n)| (**n, std::cmp::Reverse(k.as_str()))).unwrap().0;
    let row = out.lines().find(|l| l.trim_start().starts_with(&format!("{busiest} "))).unwrap();
    assert!(row.split_whitespace().count() > 2, "the technique is named: {row}");
}

#[test]
fn stats_bars_are_ascii_outside_utf8_locales() {
    let o = run_in_locale(&["stats"], "C");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains('\u{2588}'), "no block characters in the C locale:\n{out}");
    assert!(out.lines().any(|l| l.contains("##")), "bars drawn with #:\n{out}");
}

#[test]
fn stats_of_no_match_exit_1() {
    let o = run(&["stats", "-q", "zzzqqqxxx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no incident matches"), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("0 incidents"), "{}", stdout(&o));
    let o = run(&["stats", "-q", "year:soon"]);
    assert_eq!(o.status.code(), Some(2), "a malformed query is a usage error");
}

#[test]
fn a_value_named_twice_in_one_record_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twice.json");
    std::fs::write(
        &path,
        r#"[{"id": "a", "victim": "Acme", "date": "2020-02", "summary": "S.",
             "motives": ["financial"],
             "ttps": ["T1566", {"id": "T1566", "note": "a second lure"}],
             "actors": [{"name": "Crew One", "type": "organized-crime"}, {"name": "Crew Two", "type": "organized-crime"}]},
            {"id": "b", "victim": "Beta", "date": "2021", "summary": "S.", "ttps": ["T1566"], "loss_usd": 5}]"#,
    )
    .unwrap();
    let o = run(&["stats", "--json", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["by_technique"]["T1566"], 2, "two incidents, whatever the mentions");
    assert_eq!(v["by_actor_type"]["organized-crime"], 1);
    assert_eq!(v["by_actor"]["Crew One"], 1);
    assert_eq!(v["loss_usd_total"], 5);
}
