//! The actor catalog file (`data/actors.json`): a JSON array of actors, read as strictly as the
//! incidents, every problem with its place, its actor and its field.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::fields;
use super::problem::{LoadError, Problem, Text, json_kind};
use super::reader::Reader;
use crate::model::{ActorCatalog, ActorProfile, actor_lookup_key};

const FIELDS: &[&str] = &["name", "attack_id", "aliases", "type", "location", "profile", "sources"];

/// Reads a catalog; names and aliases must not repeat across actors (in any case), since a
/// record that names one must name exactly one actor.
pub fn parse_catalog(file: &str, text: &str) -> Result<ActorCatalog, LoadError> {
    let src = Text::new(file, text);
    let body = text.trim_start_matches('\u{feff}');
    let items = match serde_json::from_str::<Vec<&RawValue>>(body) {
        Ok(items) => items,
        Err(e) => {
            let mut p = src.json_error(body, &e);
            if body.trim_start().is_empty() {
                p.message = "empty file: expected a JSON array of actors".into();
            } else if !body.trim_start().starts_with('[') {
                p.message = "expected a JSON array of actors".into();
            }
            return Err(LoadError::Invalid(vec![p]));
        }
    };
    let mut problems = Vec::new();
    let mut actors = Vec::new();
    // Each name and alias, in lookup form, with the actor that has it.
    let mut taken: HashMap<String, String> = HashMap::new();
    for raw in items {
        if !raw.get().starts_with('{') {
            problems.push(src.problem(
                raw.get(),
                None,
                None,
                format!("expected an actor object, found {}", json_kind(raw)),
            ));
            continue;
        }
        let mut r = Reader::new(&src);
        let Some(object) = r.object(raw, "") else {
            problems.append(&mut r.take_problems());
            continue;
        };
        // The name first, so every later problem can name the actor.
        let name = r.required(&object, "name");
        r.set_record(name.clone());
        r.unknown_fields(&object, FIELDS);
        let kind = fields::actor_type(&mut r, &object);
        let attack_id = r.optional(&object, "attack_id");
        if let Some(id) = &attack_id
            && !is_group_id(id)
        {
            r.problem_at_field(
                &object,
                "attack_id",
                format!("invalid ATT&CK group id {id:?}: expected G and four digits, as in G0032"),
            );
        }
        let location = r.optional(&object, "location");
        let profile = r.required(&object, "profile");
        let aliases = fields::words(&mut r, &object, "aliases");
        let sources: Vec<_> = r
            .items(&object, "sources")
            .into_iter()
            .filter_map(|(path, item)| fields::source(&mut r, item, &path))
            .collect();
        if let (Some(name), Some(written)) = (&name, object.get("name")) {
            let names = std::iter::once((name.as_str(), written.get(), "name".to_string()))
                .chain(aliases.iter().map(|(a, raw, path)| (a.as_str(), raw.get(), path.clone())));
            for (n, at, field) in names {
                match taken.get(&actor_lookup_key(n)) {
                    // ATT&CK lists a group's own name among its aliases: harmless.
                    Some(owner) if owner == name => {}
                    Some(owner) => r.problem(
                        at,
                        &field,
                        format!("{n:?} already names the actor {owner:?}: a name or alias must name one actor"),
                    ),
                    None => {
                        taken.insert(actor_lookup_key(n), name.clone());
                    }
                }
            }
        }
        if r.count() > 0 {
            problems.append(&mut r.take_problems());
            continue;
        }
        if let (Some(name), Some(kind), Some(profile)) = (name, kind, profile) {
            actors.push(ActorProfile {
                name: name.into(),
                attack_id,
                aliases: aliases.into_iter().map(|(a, ..)| a.into()).collect(),
                kind,
                location: location.map(Into::into),
                profile,
                sources,
            });
        }
    }
    if problems.is_empty() { Ok(ActorCatalog::new(actors)) } else { Err(LoadError::Invalid(problems)) }
}

/// `G0032`.
fn is_group_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 5 && b[0] == b'G' && b[1..].iter().all(u8::is_ascii_digit)
}

/// The bundled catalog, or the problems that keep it from loading, placed in its file.
pub fn bundled() -> Result<ActorCatalog, Vec<Problem>> {
    let file = &super::bundled::ACTORS;
    // The bundled catalog lives as long as the program: its text is kept once, for every
    // incident that names one of its actors to share.
    parse_catalog(file.name, file.text()).map(ActorCatalog::kept_for_good).map_err(|e| match e {
        LoadError::Invalid(p) => p,
        other => vec![Problem {
            file: file.name.into(),
            position: None,
            record: None,
            field: None,
            message: other.to_string(),
        }],
    })
}
