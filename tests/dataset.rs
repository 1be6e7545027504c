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

    let Some(path) = common::fixture("attack/enterprise-attack-18.1-stix20.json") else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let attack = attack::parse_stix(&path.display().to_string(), &text).unwrap();
    assert_eq!(attack.len(), 691, "ATT&CK v18.1 has 691 active techniques and sub-techniques");
    for ours in d.catalog.techniques() {
        let theirs =
            attack.get(&ours.id).unwrap_or_else(|| panic!("{} is not an active ATT&CK v18.1 technique", ours.id));
        assert_eq!(ours, theirs, "{} differs from ATT&CK v18.1", ours.id);
    }
}

#[test]
fn related_links_exist_and_go_both_ways() {
    let d = bundled();
    let by_id: HashMap<&str, _> = d.incidents.iter().map(|i| (i.id.as_str(), i)).collect();
    for inc in &d.incidents {
        for r in &inc.related {
            let other = by_id.get(r.as_str()).unwrap_or_else(|| panic!("{} relates to missing {r}", inc.id));
            assert!(other.related.contains(&inc.id), "{r} does not link back to {}", inc.id);
            assert_ne!(r, &inc.id, "{} relates to itself", inc.id);
        }
    }
}

#[test]
fn every_record_is_sourced_and_complete() {
    for inc in bundled().incidents {
        assert!(!inc.sources.is_empty(), "{} has no source", inc.id);
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
        // 2010 to 2025; Operation Aurora began in December 2009 and was disclosed in January 2010.
        assert!((2009..=2025).contains(&inc.date.year), "{} is outside 2010-2025", inc.id);
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
