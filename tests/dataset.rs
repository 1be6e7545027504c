//! The bundled dataset is correct: it validates, its techniques match ATT&CK v18.1, its links
//! go both ways, every record has a source, and no incident is told twice.

mod common;

use std::collections::{HashMap, HashSet};

use incidents::load::{self, LoadOptions, attack};
use incidents::model::{Dataset, TechniqueRef};

fn bundled() -> Dataset {
    load::bundled(&LoadOptions::default()).expect("the bundled dataset validates")
}

#[test]
fn the_bundled_file_validates_strictly() {
    let d = bundled();
    assert!(d.skipped.is_empty());
    assert!(d.incidents.len() >= 12);
}

#[test]
fn every_technique_is_in_the_catalog_and_the_catalog_matches_attack_18_1() {
    let d = bundled();
    let used: HashSet<&str> =
        d.incidents.iter().flat_map(|i| i.ttps.iter().filter_map(TechniqueRef::attack_id)).collect();
    for id in &used {
        assert!(d.catalog.get(id).is_some(), "{id} is used but not in data/attack-techniques.json");
    }
    let catalog_ids: HashSet<&str> = d.catalog.techniques().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(catalog_ids, used, "the catalog holds exactly the techniques the dataset uses");

    let Some(enterprise) = attack_catalog("attack/enterprise-attack-18.1-stix20.json") else { return };
    let Some(ics) = attack_catalog("attack/ics-attack-18.1.json") else { return };
    assert_eq!(enterprise.len(), 691, "ATT&CK v18.1 has 691 active enterprise techniques and sub-techniques");
    for ours in d.catalog.techniques() {
        // ICS techniques are T08xx; the two domains never share an id.
        let domain = if ours.id.starts_with("T08") { &ics } else { &enterprise };
        let theirs =
            domain.get(&ours.id).unwrap_or_else(|| panic!("{} is not an active ATT&CK v18.1 technique", ours.id));
        assert_eq!(ours, theirs, "{} differs from ATT&CK v18.1", ours.id);
    }
    assert!(d.catalog.techniques().iter().any(|t| t.id.starts_with("T08")), "ICS techniques are used");
}

fn attack_catalog(rel: &str) -> Option<incidents::model::Catalog> {
    let path = common::fixture(rel)?;
    let text = std::fs::read_to_string(&path).unwrap();
    Some(attack::parse_stix(&path.display().to_string(), &text).unwrap())
}

/// The raw JSON of a bundled data file, as written.
fn raw(file: &str) -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");
    serde_json::from_str(&std::fs::read_to_string(format!("{path}{file}")).unwrap()).unwrap()
}

/// ATT&CK's intrusion sets, by group id: name and aliases (aliases start with the name).
fn attack_groups() -> Option<HashMap<String, (String, Vec<String>)>> {
    let mut groups = HashMap::new();
    for rel in ["attack/enterprise-attack-18.1-stix20.json", "attack/ics-attack-18.1.json"] {
        let path = common::fixture(rel)?;
        let bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for o in bundle["objects"].as_array().unwrap() {
            let active = o["revoked"].as_bool() != Some(true) && o["x_mitre_deprecated"].as_bool() != Some(true);
            if o["type"] != "intrusion-set" || !active {
                continue;
            }
            let Some(id) = o["external_references"].as_array().and_then(|refs| {
                refs.iter().find(|r| r["source_name"] == "mitre-attack").and_then(|r| r["external_id"].as_str())
            }) else {
                continue;
            };
            let aliases = o["aliases"]
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect());
            groups.insert(id.to_string(), (o["name"].as_str().unwrap_or_default().to_string(), aliases));
        }
    }
    Some(groups)
}

#[test]
fn actors_are_records_keyed_to_attack_groups() {
    let actors = raw("actors.json");
    let names: HashSet<&str> = actors.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), actors.len(), "every actor is written once");
    // Every named actor of an incident is a reference to an actor record, and every record is used.
    let mut used = HashSet::new();
    for inc in raw("incidents.json") {
        for a in inc["actors"].as_array().into_iter().flatten() {
            if let Some(name) = a.as_str() {
                assert!(names.contains(name), "{}: actor {name:?} has no record in data/actors.json", inc["id"]);
                used.insert(name.to_string());
            }
        }
    }
    for name in &names {
        assert!(used.contains(*name), "actor {name} is in data/actors.json but no incident names it");
    }
    let d = bundled();
    assert_eq!(d.actors.len(), actors.len());
    let Some(groups) = attack_groups() else { return };
    let mut keyed = 0;
    for a in &actors {
        let name = a["name"].as_str().unwrap();
        let aliases: Vec<String> =
            a["aliases"].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect();
        assert!(a["sources"].as_array().is_some_and(|s| !s.is_empty()), "{name} has no source");
        assert!(a["profile"].as_str().is_some_and(|p| p.len() > 80), "{name} needs a profile");
        let Some(id) = a["attack_id"].as_str() else {
            // Not an ATT&CK group: none of its names may be an ATT&CK group's.
            for (gid, (gname, galiases)) in &groups {
                for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
                    assert!(
                        n != gname && !galiases.iter().any(|g| g == n),
                        "{name}: {n:?} is ATT&CK's {gid} ({gname}); give it that attack_id"
                    );
                }
            }
            continue;
        };
        keyed += 1;
        let (gname, galiases) = groups.get(id).unwrap_or_else(|| panic!("{name}: {id} is not an active ATT&CK group"));
        assert_eq!(name, gname, "{id} is named {gname} in ATT&CK v18.1");
        let expected: Vec<String> = galiases.iter().filter(|x| *x != gname).cloned().collect();
        assert_eq!(aliases, expected, "{name} ({id}): aliases exactly as ATT&CK v18.1 lists them");
    }
    assert!(keyed >= 15, "the groups ATT&CK knows carry their ids ({keyed})");
    // The alias mistake the second edition fixed: APT38 is its own group, not a Lazarus alias.
    let lazarus = d.actors.get("Lazarus Group").expect("Lazarus Group is an actor");
    assert!(!lazarus.aliases.iter().any(|a| a == "APT38"));
}

#[test]
fn related_links_exist_and_go_both_ways() {
    let d = bundled();
    let by_id: HashMap<&str, _> = d.incidents.iter().map(|i| (i.id.as_ref(), i)).collect();
    for inc in &d.incidents {
        for r in &inc.related {
            let other = by_id.get(r.as_ref()).unwrap_or_else(|| panic!("{} relates to missing {r}", inc.id));
            assert!(other.related.contains(&inc.id), "{r} does not link back to {}", inc.id);
            assert_ne!(r, &inc.id, "{} relates to itself", inc.id);
        }
    }
}

#[test]
fn every_record_is_sourced_and_complete() {
    let d = bundled();
    assert!(d.incidents.len() >= 200, "the second edition has 200 incidents or more");
    for inc in d.incidents {
        let publishers: HashSet<String> =
            inc.sources.iter().filter_map(|s| s.publisher.as_ref().map(|p| p.to_lowercase())).collect();
        assert!(publishers.len() >= 2, "{} needs two independent sources, has {publishers:?}", inc.id);
        for s in &inc.sources {
            assert!(
                s.title.is_some() && s.publisher.is_some(),
                "{}: every bundled source names title and publisher",
                inc.id
            );
        }
        assert!(inc.location.is_some() || inc.description.is_some(), "{}", inc.id);
        assert!(inc.cia.is_some(), "{} has no CIA posture", inc.id);
        assert!(!inc.motives.is_empty(), "{} has no motive", inc.id);
        assert!(!inc.actors.is_empty(), "{} has no actor (use \"Unknown\")", inc.id);
        assert!(inc.description.as_deref().is_some_and(|d| d.len() > 200), "{} needs a description", inc.id);
        assert!((2005..=2025).contains(&inc.date.year), "{} is outside 2005-2025", inc.id);
    }
}

#[test]
fn no_incident_is_told_twice() {
    let d = bundled();
    let mut seen = HashMap::new();
    for inc in &d.incidents {
        let key = (inc.victim.to_lowercase(), inc.date.year);
        if let Some(other) = seen.insert(key, &inc.id) {
            panic!("{} and {other} describe the same victim in the same year", inc.id);
        }
    }
}
