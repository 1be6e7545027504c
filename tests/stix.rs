//! The STIX loader against the OASIS example bundles (expected.json), the ATT&CK bundles, and
//! small STIX 2.0 and 2.1 bundles of our own in tests/data/stix: vendors' playbooks, OpenCTI-like
//! exports with reports, attribution chains and loops, partial exports with dangling references.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use incidents::load::{Format, LoadError, LoadOptions, Parsed, attack, load, parse_text};
use incidents::model::{Dataset, Incident, TechniqueRef};
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
        TechniqueRef::Attack { id, .. } => id.to_string(),
        TechniqueRef::Other { name, .. } => name.to_string(),
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
    // The object's own name is kept, whether or not the victim is a targeted identity.
    assert_eq!(i.name.as_deref(), Some(e.name.trim()), "{what}");
    assert!(i.tags.iter().any(|t| *t == e.kind), "{what}");
    // Victim: the targeted identities, else the campaign's own name.
    let victim = if e.targets.is_empty() { e.name.trim().to_string() } else { e.targets.join(", ") };
    assert_eq!(i.victim, victim, "{what}");
    let location = (!e.locations.is_empty()).then(|| e.locations.join(", "));
    assert_eq!(i.location.as_deref(), location.as_deref(), "{what}");

    let mut actors: Vec<&str> = i.actors.iter().map(|a| a.name.as_ref()).collect();
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
    let mut names: Vec<&str> = spacehop.actors.iter().map(|a| a.name.as_ref()).collect();
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
    assert!(d.incidents.iter().all(|i| i.name.as_deref() == Some(i.victim.as_ref())), "untargeted: named as victim");
    assert!(d.incidents.iter().all(|i| i.related.is_empty()), "ATT&CK attributes campaigns to groups only");
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

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stix")).join(name)
}

fn load_ok(paths: &[PathBuf]) -> Dataset {
    load(paths, &LoadOptions::default()).unwrap_or_else(|e| panic!("{paths:?}: {e}"))
}

fn by_name<'d>(d: &'d Dataset, name: &str) -> &'d Incident {
    d.incidents.iter().find(|i| i.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no incident named {name}"))
}

#[test]
fn a_campaign_keeps_its_name_beside_the_identity_it_targets() {
    let d = load_ok(&[data("playbook-2.0.json")]);
    assert_eq!(d.incidents.len(), 2, "the revoked campaign is left out");
    let badnews = by_name(&d, "BADNEWS Payload");
    assert_eq!(badnews.victim, "Identity", "the victim is the targeted identity");
    assert_eq!(badnews.industry.as_deref(), Some("Government national"));
    assert_eq!(badnews.date.to_string(), "2017-11-20");
    assert_eq!(badnews.actors[0].name, "Patchwork");
    assert_eq!(badnews.actors[0].kind.as_str(), "nation-state", "STIX 2.0 labels give the actor type");
    assert_eq!(badnews.actors[0].aliases, ["Dropping Elephant"]);
    let quiet = by_name(&d, "Quiet Harvest");
    assert_eq!(quiet.victim, "Quiet Harvest", "without targets the campaign's name is the victim");
    assert!(quiet.summary.contains("\"Quiet Harvest\""), "{}", quiet.summary);
}

#[test]
fn technique_names_come_from_the_catalog_then_from_the_bundle_without_their_ids() {
    let d = load_ok(&[data("playbook-2.0.json")]);
    let name = |id: &str| d.catalog.get(id).map(|t| t.name.as_str()).unwrap_or_else(|| panic!("{id} is not named"));
    // Known to the ATT&CK catalog: its name wins over the bundle's "T1204.002: Malicious File Execution".
    assert_eq!(name("T1566.001"), "Spearphishing Attachment");
    assert_eq!(name("T1204.002"), "Malicious File");
    // Unknown to the catalog: the bundle's own name, without the id written into it; the id is
    // read from the name when the pattern has no ATT&CK reference.
    assert_eq!(name("T1598.002"), "Spearphishing Attachment");
    assert_eq!(d.catalog.get("T1598.002").unwrap().tactics, ["reconnaissance"], "only ATT&CK kill chains");
    let ttps: Vec<&str> = by_name(&d, "BADNEWS Payload").ttps.iter().filter_map(|t| t.attack_id()).collect();
    assert_eq!(ttps, ["T1566.001", "T1204.002"]);
    assert_eq!(by_name(&d, "Quiet Harvest").ttps[0].attack_id(), Some("T1598.002"));
}

#[test]
fn an_incident_finds_its_actor_through_its_campaign_and_both_are_related() {
    let d = load_ok(&[data("attribution-2.1.json")]);
    let incident = by_name(&d, "Frostbite intrusion at Nordic Utility");
    let campaign = by_name(&d, "Operation Frostbite");
    for i in [incident, campaign] {
        assert_eq!(i.actors.len(), 1, "{}", i.id);
        let actor = &i.actors[0];
        assert_eq!((actor.name.as_ref(), actor.kind.as_str()), ("Frost Spider", "nation-state"));
        assert_eq!(actor.aliases, ["ICEBEAR"]);
        assert_eq!(actor.location.as_deref(), Some("Russia"), "a location named \"Russian Federation\"");
        assert_eq!(i.motives.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["espionage"]);
    }
    assert_eq!(incident.related, [campaign.id.as_ref()]);
    assert_eq!(campaign.related, [incident.id.as_ref()]);
    assert_eq!(incident.victim, "Nordic Utility AS");
    assert_eq!(incident.location.as_deref(), Some("Norway"), "the targeted identity is located at Norway");
    assert_eq!(incident.industry.as_deref(), Some("Utilities"));
    assert_eq!(incident.date.to_string(), "2024-01-20", "an incident without first_seen dates from created");
    assert_eq!(
        incident.ttps,
        [TechniqueRef::Attack { id: "T1566.002".into(), note: Some("Links to a fake vendor portal.".into()) }]
    );
    assert_eq!(campaign.victim, "Operation Frostbite");
    assert_eq!(campaign.location.as_deref(), Some("Finland"), "a targeted city with country code fi");
}

#[test]
fn a_report_is_a_source_of_the_campaigns_and_incidents_it_names() {
    let d = load_ok(&[data("attribution-2.1.json")]);
    for name in ["Frostbite intrusion at Nordic Utility", "Operation Frostbite"] {
        let sources = &by_name(&d, name).sources;
        assert_eq!(sources.len(), 1, "{name}: {sources:?}");
        let s = &sources[0];
        assert_eq!(s.title.as_deref(), Some("Operation Frostbite: incident report"));
        assert_eq!(s.publisher.as_deref(), Some("Example CERT"), "the identity that wrote it");
        assert_eq!(s.url.as_deref(), Some("https://cert.example/reports/frostbite"));
        assert_eq!(s.date.map(|d| d.to_string()).as_deref(), Some("2024-02-14"));
    }
    let d = load_ok(&[data("playbook-2.0.json")]);
    let sources = &by_name(&d, "BADNEWS Payload").sources;
    assert_eq!(sources.iter().map(|s| s.heading()).collect::<Vec<_>>(), ["BADNEWS playbook"]);
    assert!(by_name(&d, "Quiet Harvest").sources.is_empty(), "the report does not name it");
}

#[test]
fn the_oasis_reports_become_sources_of_their_campaigns() {
    for (file, publisher, date, campaigns) in [
        ("poisonivy.json", "FireEye, Inc.", "2013-08-21", 3),
        ("fireeye-pivy-report-with-indicators.json", "MITRE", "2015-05-15", 7),
    ] {
        let Some(path) = common::fixture(&format!("stix/{file}")) else { return };
        let d = load_ok(&[path]);
        assert_eq!(d.incidents.len(), campaigns, "{file}");
        for i in &d.incidents {
            let s = i
                .sources
                .iter()
                .find(|s| s.title.as_deref() == Some("Poison Ivy: Assessing Damage and Extracting Intelligence"));
            let s = s.unwrap_or_else(|| panic!("{file}: {} has no report source", i.id));
            assert_eq!(s.publisher.as_deref(), Some(publisher), "{file}");
            assert_eq!(s.date.map(|d| d.to_string()).as_deref(), Some(date), "{file}");
        }
    }
}

#[test]
fn an_attribution_loop_ends_and_names_each_actor_once() {
    let d = load_ok(&[data("attribution-loop-2.1.json")]);
    let first = by_name(&d, "Harbour Lights");
    let second = by_name(&d, "Harbour Lights, second wave");
    let incident = by_name(&d, "Port authority breach");
    for i in [first, second, incident] {
        let names: Vec<&str> = i.actors.iter().map(|a| a.name.as_ref()).collect();
        assert_eq!(names, ["Tidewater", "Tidewater Collective"], "{}", i.id);
    }
    assert_eq!(second.actors[1].kind.as_str(), "organized-crime");
    assert_eq!(first.related, [second.id.as_ref()], "a campaign attributed to itself is not related to itself");
    assert_eq!(second.related, [first.id.clone(), incident.id.clone()]);
    assert_eq!(incident.related, [second.id.as_ref()]);
}

#[test]
fn what_is_left_out_loads_and_is_listed_as_notes() {
    let path = data("dangling-2.1.json");
    let d = load_ok(std::slice::from_ref(&path));
    assert_eq!(d.incidents.len(), 1);
    assert!(d.skipped.is_empty(), "left out on purpose is not an error");
    let campaign = &d.incidents[0];
    assert_eq!(campaign.victim, "Partial Export", "the missing identity is no victim");
    assert!(campaign.actors.is_empty() && campaign.ttps.is_empty());
    assert_eq!(campaign.sources[0].heading(), "Partial export report");

    // Notes, not problems: listed whether or not invalid records are skipped.
    let opts = LoadOptions::default();
    let d = load(std::slice::from_ref(&path), &opts).unwrap();
    let file = path.display().to_string();
    let want = [
        format!(
            "{file}:38:15: record \"relationship--c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e70\", field target_ref: a uses relationship without its target_ref is left out"
        ),
        format!(
            "{file}:35:21: record \"relationship--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6f\", field target_ref: \"identity--00000000-0000-4000-8000-000000000003\" is not in the bundle: the targets relationship is left out"
        ),
        format!(
            "{file}:54:21: record \"relationship--d4e5f6a7-b8c9-4d0e-9f1a-3b4c5d6e7f81\", field target_ref: \"intrusion-set--00000000-0000-4000-8000-000000000004\" is not in the bundle: the attributed-to relationship is left out"
        ),
        format!(
            "{file}:23:9: record \"report--a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e\", field object_refs[1]: \"campaign--00000000-0000-4000-8000-000000000001\" is not in the bundle"
        ),
    ];
    assert_eq!(d.notes, want);
    assert!(d.skipped.is_empty());

    let d = load(&[data("playbook-2.0.json")], &opts).unwrap();
    let file = data("playbook-2.0.json").display().to_string();
    assert_eq!(
        d.notes,
        [
            format!("{file}: left out 2 objects whose types make no incident: indicator 1, x-example-playbook-step 1"),
            format!("{file}: left out 1 revoked or deprecated object: campaign 1"),
        ]
    );
}

#[test]
fn ids_renamed_across_files_keep_their_related_links() {
    let path = data("attribution-2.1.json");
    let d = load_ok(&[path.clone(), path]);
    assert_eq!(d.incidents.len(), 4);
    let copy = d.incidents.iter().find(|i| i.id == "attribution-2.1/incident--9dd98c47-1cd4-4d41-8ba7-72492153ee30");
    let copy = copy.expect("the second copy's ids are prefixed by its file");
    assert_eq!(copy.related, ["attribution-2.1/campaign--3eb273e4-9536-4c93-8502-6881d42315bd"]);
    let first = d.incidents.iter().find(|i| i.id == "incident--9dd98c47-1cd4-4d41-8ba7-72492153ee30").unwrap();
    assert_eq!(first.related, ["campaign--3eb273e4-9536-4c93-8502-6881d42315bd"]);
}

#[test]
fn the_attack_bundles_define_the_same_techniques_as_the_catalog_reader() {
    for file in ["attack/enterprise-attack-18.1-stix20.json", "attack/ics-attack-18.1.json"] {
        let Some(path) = common::fixture(file) else { return };
        let text = std::fs::read_to_string(&path).unwrap();
        let catalog = attack::parse_stix(file, &text).unwrap();
        let mut parsed = Parsed::default();
        assert_eq!(parse_text(file, &text, &path, Format::Auto, &mut parsed), Format::Stix);
        assert!(parsed.problems.is_empty(), "{file}: {:?}", parsed.problems);
        assert_eq!(parsed.catalog.len(), catalog.len(), "{file}: one technique per active attack pattern");
        for t in &parsed.catalog {
            assert_eq!(Some(t), catalog.get(&t.id), "{file}");
        }
        // Loaded as a dataset, every technique its campaigns use is named.
        let d = load_ok(&[path]);
        for id in d.incidents.iter().flat_map(|i| &i.ttps).filter_map(|t| t.attack_id()) {
            assert!(d.catalog.get(id).is_some(), "{file}: {id}");
        }
    }
}

#[test]
fn mangled_bundles_are_problems_never_panics() {
    let mut seed: u64 = 0x2545f4914f6cdd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for file in ["playbook-2.0.json", "attribution-2.1.json", "attribution-loop-2.1.json", "dangling-2.1.json"] {
        let text = std::fs::read_to_string(data(file)).unwrap();
        let bytes = text.as_bytes();
        for _ in 0..200 {
            let mut mangled = bytes.to_vec();
            match next(3) {
                0 => mangled.truncate(next(bytes.len())),
                1 => {
                    let at = next(bytes.len());
                    mangled[at] = b"{}[]\",:0n"[next(9)];
                }
                _ => {
                    let (a, b) = (next(bytes.len()), next(bytes.len()));
                    mangled.drain(a.min(b)..a.max(b));
                }
            }
            let text = String::from_utf8_lossy(&mangled);
            let mut parsed = Parsed::default();
            parse_text(file, &text, std::path::Path::new(file), Format::Stix, &mut parsed);
            for p in &parsed.problems {
                assert!(p.position.is_some() || p.record.is_some(), "{file}: a problem says where: {p}");
            }
        }
    }
}
