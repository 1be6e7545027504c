//! The actor catalog file (`data/actors.json`): a JSON array of actors, read as strictly as the
//! incidents, every problem with its place, its actor and its field.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::fields::Fields;
use super::problem::{LoadError, Problem, Text, json_kind};
use crate::model::{ActorCatalog, ActorProfile, ActorType, actor_lookup_key};

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
        let mut f = Fields::new(&src);
        if !raw.get().starts_with('{') {
            problems.push(src.problem(
                raw.get(),
                None,
                None,
                format!("expected an actor object, found {}", json_kind(raw)),
            ));
            continue;
        }
        let Some(map) = f.map(raw, "") else {
            problems.append(&mut f.problems);
            continue;
        };
        // The name first, so every later problem can name the actor.
        let name = f.string(&map, raw, "", "name", true);
        f.id = name.as_ref().map(|n| n.to_string());
        f.unknown_fields(raw, &map, "", FIELDS);
        let kind = f.string(&map, raw, "", "type", true).and_then(|t| {
            let found = ActorType::parse(&t);
            if found.is_none() {
                let all: Vec<_> = ActorType::ALL.iter().map(|t| t.as_str()).collect();
                f.problem(
                    map["type"].get(),
                    "type",
                    format!("unknown actor type {t:?}, expected one of: {}", all.join(", ")),
                );
            }
            found
        });
        let attack_id = f.string(&map, raw, "", "attack_id", false);
        if let Some(id) = &attack_id
            && !is_group_id(id)
        {
            f.problem(
                map["attack_id"].get(),
                "attack_id",
                format!("invalid ATT&CK group id {id:?}: expected G and four digits, as in G0032"),
            );
        }
        let location = f.string(&map, raw, "", "location", false);
        let profile = f.string(&map, raw, "", "profile", true);
        let aliases = f.strings(&map, "aliases");
        let sources: Vec<_> = f
            .array(&map, "", "sources")
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| f.source(r, &format!("sources[{i}]")))
            .collect();
        if let Some(name) = &name {
            let names = std::iter::once((name.as_ref(), map["name"].get(), "name".to_string()))
                .chain(aliases.iter().enumerate().map(|(i, (a, r))| (a.as_ref(), r.get(), format!("aliases[{i}]"))));
            for (n, at, field) in names {
                match taken.get(&actor_lookup_key(n)) {
                    // ATT&CK lists a group's own name among its aliases: harmless.
                    Some(owner) if *owner == **name => {}
                    Some(owner) => f.problem(
                        at,
                        &field,
                        format!("{n:?} already names the actor {owner:?}: a name or alias must name one actor"),
                    ),
                    None => {
                        taken.insert(actor_lookup_key(n), name.to_string());
                    }
                }
            }
        }
        if !f.problems.is_empty() {
            problems.append(&mut f.problems);
            continue;
        }
        if let (Some(name), Some(kind), Some(profile)) = (name, kind, profile) {
            actors.push(ActorProfile {
                name,
                attack_id: attack_id.map(String::from),
                aliases: aliases.into_iter().map(|(a, _)| a).collect(),
                kind,
                location,
                profile: profile.into_owned(),
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
