//! The STIX loader against the OASIS example bundles (expected.json) and the ATT&CK enterprise bundle.

mod common;

use std::collections::BTreeSet;

use incidents::load::{Format, LoadError, LoadOptions, load};
use incidents::model::{Incident, TechniqueRef};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    file: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    targets: Vec<String>,
    locations: Vec<String>,
    attributed_to: Vec<String>,
    techniques: Vec<String>,
    first_seen: Option<String>,
}

fn technique_key(t: &TechniqueRef) -> String {
    match t {
        TechniqueRef::Attack { id, .. } => id.clone(),
        TechniqueRef::Other { name, .. } => name.clone(),
    }
}

/// The expected technique (ATT&CK id, CAPEC id or pattern name) matches the loaded one, which
/// may add the pattern's name after a CAPEC id.
fn same_technique(loaded: &str, expected: &str) -> bool {
    loaded == expected || loaded.strip_prefix(expected).is_some_and(|rest| rest.starts_with(": "))
}

#[test]
fn oasis_bundles_match_their_expected_campaigns() {
    let Some(dir) = common::fixture("stix") else { return };
    let expected: Vec<Expected> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let files: BTreeSet<&str> = expected.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files.len(), 3);
    for file in files {
        let dataset = load(&[dir.join(file)], &LoadOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let want: Vec<&Expected> = expected.iter().filter(|e| e.file == file).collect();
        assert_eq!(dataset.incidents.len(), want.len(), "{file}");
        for (i, e) in dataset.incidents.iter().zip(want) {
            check(file, i, e);
        }
    }
}

fn check(file: &str, i: &Incident, e: &Expected) {
    let what = format!("{file}: {} {:?}", e.kind, e.name);
    assert!(i.id.starts_with(&format!("{}--", e.kind)), "{what}: id {}", i.id);
    assert!(i.tags.contains(&e.kind), "{what}");
    // Victim: the targeted identities, else the campaign's own name.
    let victim = if e.targets.is_empty() { e.name.trim().to_string() } else { e.targets.join(", ") };
    assert_eq!(i.victim, victim, "{what}");
    let location = (!e.locations.is_empty()).then(|| e.locations.join(", "));
    assert_eq!(i.location, location, "{what}");

    let mut actors: Vec<&str> = i.actors.iter().map(|a| a.name.as_str()).collect();
    actors.sort_unstable();
    assert_eq!(actors, e.attributed_to, "{what}");

    let mut techniques: Vec<String> = i.ttps.iter().map(technique_key).collect();
    techniques.sort_unstable();
    assert_eq!(techniques.len(), e.techniques.len(), "{what}: {techniques:?}");
    for (got, want) in techniques.iter().zip(&e.techniques) {
        assert!(same_technique(got, want), "{what}: {got:?} is not {want:?}");
    }

    if let Some(first_seen) = &e.first_seen {
        assert_eq!(i.date.to_string(), first_seen[..10], "{what}");
    }
    assert!(!i.summary.is_empty(), "{what}");
}

#[test]
fn the_defining_campaigns_example_reads_actor_types_and_motives() {
    let Some(path) = common::fixture("stix/defining-campaigns-threat-actors-intrusion-sets.json") else {
        return;
    };
    let d = load(&[path], &LoadOptions { format: Format::Stix, ..Default::default() }).unwrap();
    let flakes = &d.incidents[0];
    assert_eq!(flakes.summary, "A concerted effort to insert false information into the BPP's web pages.");
    assert_eq!(flakes.date.display(), "8 Jan 2016");
    let apt = flakes.actors.iter().find(|a| a.name == "APT BPP").expect("intrusion set");
    assert_eq!(apt.kind.as_str(), "nation-state", "resource_level government");
    assert_eq!(apt.aliases, ["Bran-teaser"]);
    assert_eq!(flakes.motives.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["ideology"]);
    assert!(matches!(&flakes.ttps[0], TechniqueRef::Other { framework: Some(f), .. } if f == "CAPEC"));
}

#[test]
fn the_attack_enterprise_bundle_yields_its_campaigns() {
    let Some(path) = common::fixture("attack/enterprise-attack-18.1-stix20.json") else {
        return;
    };
    let d = load(&[path], &LoadOptions::default()).expect("the ATT&CK bundle loads");
    assert_eq!(d.incidents.len(), 52);
    assert!(d.incidents.iter().all(|i| i.id.starts_with("campaign--")));
    // 25 attributed-to relationships, all campaign → intrusion set; SPACEHOP Activity has two.
    let links: usize = d.incidents.iter().map(|i| i.actors.len()).sum();
    assert_eq!(links, 25);
    let spacehop = d.incidents.iter().find(|i| i.victim == "SPACEHOP Activity").expect("SPACEHOP Activity");
    let mut names: Vec<&str> = spacehop.actors.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["APT5", "Ke3chang"]);
    // 1,019 campaign → attack-pattern `uses` relationships; only C0033 has none.
    assert_eq!(d.incidents.iter().map(|i| i.ttps.len()).sum::<usize>(), 1019);
    for i in &d.incidents {
        assert_eq!(i.ttps.is_empty(), i.victim == "C0033", "{}", i.victim);
        assert!(i.ttps.iter().all(|t| t.attack_id().is_some()), "{}: only ATT&CK techniques", i.victim);
        assert!(i.tags.iter().any(|t| t.starts_with('C') && t.len() == 5), "{}: ATT&CK campaign id tag", i.victim);
        assert!(!i.summary.contains("(Citation:"), "{}", i.victim);
    }
    let dream = d.incidents.iter().find(|i| i.victim == "Operation Dream Job").expect("Operation Dream Job");
    assert_eq!(dream.date.to_string(), "2019-09-01");
    assert_eq!(dream.actors[0].name, "Lazarus Group");
    assert!(dream.actors[0].aliases.iter().any(|a| a == "HIDDEN COBRA"), "{:?}", dream.actors[0].aliases);
    assert!(dream.ttps.iter().any(|t| t.attack_id() == Some("T1566.002")), "spearphishing link");
    assert!(dream.summary.starts_with("Operation Dream Job was a cyber espionage operation"));
    assert!(dream.sources.iter().any(|s| s.url.as_deref() == Some("https://attack.mitre.org/campaigns/C0022")));
    assert!(dream.sources.iter().all(|s| s.title.is_some() || s.url.is_some()));
    // The bundle's own techniques name every technique its campaigns use.
    let t = d.catalog.get("T1614.001").expect("a technique the bundled catalog lacks");
    assert_eq!(t.name, "System Language Discovery");
    assert!(
        d.incidents.iter().flat_map(|i| &i.ttps).filter_map(|t| t.attack_id()).all(|id| d.catalog.get(id).is_some())
    );
}

#[test]
fn bad_bundles_give_positioned_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.json");
    let text = "{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n  {\"type\": \"campaign\", \"id\": \"campaign--1\", \"name\": [\"x\"], \"created\": \"2020-01-01T00:00:00Z\"}\n]}";
    std::fs::write(&path, text).unwrap();
    let Err(LoadError::Invalid(p)) = load(std::slice::from_ref(&path), &LoadOptions::default()) else {
        panic!("a campaign whose name is an array must be reported");
    };
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].record.as_deref(), p[0].field.as_deref()), (Some("campaign--1"), Some("name")));
    assert_eq!(p[0].position.map(|p| (p.line, p.col)), Some((2, 53)));

    std::fs::write(&path, "{\"type\": \"bundle\", \"objects\": [\n  {\"type\": \"campaign\",,}]}").unwrap();
    let Err(LoadError::Invalid(p)) = load(std::slice::from_ref(&path), &LoadOptions::default()) else {
        panic!("broken JSON must be reported");
    };
    assert!(p[0].message.starts_with("invalid JSON"), "{}", p[0].message);
    assert_eq!(p[0].position.map(|p| p.line), Some(2));
}
