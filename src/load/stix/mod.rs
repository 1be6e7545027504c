//! STIX 2.0 / 2.1 bundles (ATT&CK, OpenCTI, MISP exports): each `campaign` and `incident` object
//! becomes an incident, with victims, places, actors, techniques and sources followed through
//! the bundle's relationships and reports. Three steps, one module each: `object` reads the
//! objects the mapping uses, `graph` holds the relationships between them, `mapping` makes the
//! incidents. The bundle's ATT&CK attack patterns also come back as technique catalog entries.

mod graph;
mod mapping;
mod object;
mod text;

use super::Parsed;
use super::problem::Text;

/// Parses one STIX bundle.
pub fn parse(file: &str, text: &str, out: &mut Parsed) {
    let src = Text::new(file, text);
    let Some(mut objects) = object::read(&src, out) else {
        return;
    };
    let graph = graph::Graph::new(&objects, &src, &mut out.notes);
    mapping::incidents(&objects, &graph, &src, out);
    out.catalog.append(&mut objects.techniques);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActorType, Motive, TechniqueRef};

    fn parse_one(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("dir/b.json", text, &mut out);
        out
    }

    const BUNDLE: &str = r#"{"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "campaign", "id": "campaign--1", "name": "Op X", "first_seen": "2020-03-04T00:00:00Z",
         "created": "2021-01-01T00:00:00Z",
         "description": "[Op X](https://attack.mitre.org/campaigns/C0001) hit things.(Citation: A)\n\nMore.",
         "external_references": [
            {"source_name": "mitre-attack", "external_id": "C0001", "url": "https://attack.mitre.org/campaigns/C0001"},
            {"source_name": "Op Y", "description": "(Citation: A)"},
            {"source_name": "A", "description": "Someone. (2020). A report.", "url": "https://a.example"}]},
        {"type": "campaign", "id": "campaign--2", "name": "Old", "created": "2019-01-01T00:00:00Z", "revoked": true},
        {"type": "intrusion-set", "id": "intrusion-set--1", "name": "Group", "aliases": ["Group", "G2"],
         "resource_level": "government", "primary_motivation": "organizational-gain"},
        {"type": "identity", "id": "identity--1", "name": "Victim Org", "sectors": ["finance-sector"]},
        {"type": "location", "id": "location--1", "country": "ee"},
        {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Phishing",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1566"}]},
        {"type": "attack-pattern", "id": "attack-pattern--2", "name": "Spear Phishing",
         "external_references": [{"source_name": "capec", "external_id": "CAPEC-163"}]},
        {"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "campaign--1", "target_ref": "attack-pattern--1", "description": "Sent [lures](https://x.example).(Citation: A)"},
        {"type": "relationship", "id": "relationship--2", "relationship_type": "uses", "source_ref": "campaign--1", "target_ref": "attack-pattern--1"},
        {"type": "relationship", "id": "relationship--3", "relationship_type": "uses", "source_ref": "campaign--1", "target_ref": "attack-pattern--2"},
        {"type": "relationship", "id": "relationship--4", "relationship_type": "uses", "source_ref": "campaign--1", "target_ref": "attack-pattern--404"},
        {"type": "relationship", "id": "relationship--5", "relationship_type": "attributed-to", "source_ref": "campaign--1", "target_ref": "intrusion-set--1"},
        {"type": "relationship", "id": "relationship--6", "relationship_type": "targets", "source_ref": "campaign--1", "target_ref": "identity--1"},
        {"type": "relationship", "id": "relationship--7", "relationship_type": "targets", "source_ref": "campaign--1", "target_ref": "location--1"},
        {"type": "incident", "id": "incident--1", "created": "2022-05-06T07:08:09.000Z"}
    ]}"#;

    #[test]
    fn a_bundle_maps_campaigns_and_incidents() {
        let out = parse_one(BUNDLE);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(out.incidents.len(), 2, "the revoked campaign is skipped");
        let c = &out.incidents[0].0;
        assert_eq!(c.id, "campaign--1");
        assert_eq!(c.victim, "Victim Org");
        assert_eq!(c.location.as_deref(), Some("Estonia"));
        assert_eq!(c.industry.as_deref(), Some("Finance sector"));
        assert_eq!(c.date.to_string(), "2020-03-04");
        assert_eq!(c.summary, "Op X hit things.");
        assert_eq!(c.description.as_deref(), Some("Op X hit things.\n\nMore."));
        assert_eq!(c.actors[0].name, "Group");
        assert_eq!(c.actors[0].aliases, ["G2"]);
        assert_eq!(c.actors[0].kind, ActorType::NationState);
        assert_eq!(c.motives, [Motive::Espionage]);
        assert_eq!(c.ttps.len(), 2, "repeated and dangling relationships are dropped");
        assert_eq!(c.ttps[0], TechniqueRef::Attack { id: "T1566".into(), note: Some("Sent lures.".into()) });
        assert_eq!(
            c.ttps[1],
            TechniqueRef::Other {
                name: "CAPEC-163: Spear Phishing".into(),
                framework: Some("CAPEC".into()),
                note: None
            }
        );
        let titles: Vec<_> = c.sources.iter().map(|s| s.title.as_deref().unwrap_or_default()).collect();
        assert_eq!(titles, ["MITRE ATT&CK C0001", "Someone. (2020). A report."]);
        assert_eq!(c.tags, ["stix", "campaign", "C0001"]);
        let i = &out.incidents[1].0;
        assert_eq!((i.victim.as_ref(), i.date.to_string()), ("Unnamed STIX incident incident--1", "2022-05-06".into()));
        assert_eq!(i.summary, "STIX incident from b.json.");
    }

    #[test]
    fn wrong_types_name_object_field_and_position() {
        let out = parse_one(&BUNDLE.replace(r#""name": "Group""#, r#""name": 7"#));
        assert_eq!(out.problems.len(), 1, "{:?}", out.problems);
        let p = &out.problems[0];
        assert_eq!((p.record.as_deref(), p.field.as_deref()), (Some("intrusion-set--1"), Some("name")));
        assert_eq!(p.position.map(|p| p.line), Some(10));
        assert_eq!(out.rejected, ["intrusion-set--1"]);
        assert!(out.incidents[0].0.actors.is_empty(), "the bad actor is left out, not guessed");
    }

    #[test]
    fn bad_input_is_a_problem_never_a_panic() {
        for text in ["", "{", "[]", "{\"type\": \"campaign\"}", "{\"objects\": 3}", "{\"objects\": [1, {}]}", "null"] {
            let out = parse_one(text);
            assert!(out.incidents.is_empty(), "{text}");
            assert!(!out.problems.is_empty(), "{text}");
        }
        let out = parse_one(&BUNDLE.replace("2020-03-04T", "2020-02-30T"));
        assert_eq!(out.problems[0].field.as_deref(), Some("first_seen"));
    }

    #[test]
    fn objects_without_a_usable_type_or_id_are_each_reported() {
        let text = r#"{"type": "bundle", "objects": [
            {"id": "campaign--1", "name": "No type"},
            {"type": "campaign", "id": "  ", "created": "2020-01-01T00:00:00Z"},
            {"type": 5, "id": "campaign--3"},
            {"type": "c\u0061mpaign", "id": "campaign--4", "created": "2020-01-01T00:00:00Z"},
            {"type": "x-unknown", "id": "x-unknown--5"},
            {"name": "neither"}
        ]}"#;
        let out = parse_one(text);
        let found: Vec<(Option<&str>, Option<&str>, &str)> =
            out.problems.iter().map(|p| (p.record.as_deref(), p.field.as_deref(), p.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (Some("objects[0]"), Some("type"), "missing required field"),
                (Some("objects[1]"), Some("id"), "must not be empty"),
                (Some("objects[2]"), Some("type"), "expected a string, found a number"),
                (Some("objects[5]"), Some("type"), "missing required fields \"type\" and \"id\""),
            ]
        );
        assert_eq!(out.rejected, ["objects[0]", "objects[1]", "objects[2]", "objects[5]"]);
        assert_eq!(out.incidents.len(), 1, "an escaped type still reads");
        assert_eq!(out.incidents[0].0.id, "campaign--4");
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.notes[0].message, "left out 1 object whose types make no incident: x-unknown 1");
    }
}
