//! The actor catalog: named threat actors with their aliases, type, location and profile, so a
//! record can name an actor by name or alias and get the rest from one place.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use serde::Serialize;

use super::{Actor, ActorType, Source, Str};

/// One actor of the catalog, as `data/actors.json` describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActorProfile {
    pub name: Str,
    /// The ATT&CK group id, `G0032`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Str>,
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Str>,
    /// Two or three sentences on who the actor is.
    pub profile: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

impl ActorProfile {
    /// The actor as an incident names it.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            kind: self.kind,
            location: self.location.clone(),
            aliases: self.aliases.clone(),
        }
    }
}

/// Actors by name and alias, looked up without regard to case.
#[derive(Debug, Clone, Default)]
pub struct ActorCatalog {
    actors: Vec<ActorProfile>,
    /// Each actor as incidents name it, made once and shared by all of them.
    shared: Vec<Arc<Actor>>,
    by_name: HashMap<String, usize>,
}

impl ActorCatalog {
    /// A catalog of these actors. Where two share a name or alias the first keeps it; the loader
    /// reports such clashes before it builds a catalog.
    pub fn new(actors: Vec<ActorProfile>) -> Self {
        let mut by_name = HashMap::new();
        for (i, actor) in actors.iter().enumerate() {
            for name in std::iter::once(&actor.name).chain(&actor.aliases) {
                by_name.entry(lookup_key(name)).or_insert(i);
            }
        }
        let shared = actors.iter().map(|a| Arc::new(a.actor())).collect();
        Self { actors, shared, by_name }
    }

    /// The same catalog with its names kept for the rest of the run, so that every incident that
    /// names an actor shares its text instead of holding a copy.
    pub fn kept_for_good(self) -> Self {
        fn keep(s: &mut Str) {
            if let Str::Owned(owned) = s {
                *s = Str::Borrowed(Box::leak(std::mem::take(owned).into_boxed_str()));
            }
        }
        let mut actors = self.actors;
        for a in &mut actors {
            keep(&mut a.name);
            a.aliases.iter_mut().for_each(keep);
            a.location.iter_mut().for_each(keep);
        }
        Self::new(actors)
    }

    /// The actor with this name or alias, in any case.
    pub fn get(&self, name: &str) -> Option<&ActorProfile> {
        self.by_name.get(&lookup_key(name)).map(|&i| &self.actors[i])
    }

    /// The actor with this name or alias, as incidents name it (shared).
    pub fn actor(&self, name: &str) -> Option<Arc<Actor>> {
        self.by_name.get(&lookup_key(name)).map(|&i| Arc::clone(&self.shared[i]))
    }

    /// The actors in catalog order.
    pub fn actors(&self) -> &[ActorProfile] {
        &self.actors
    }

    pub fn len(&self) -> usize {
        self.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }
}

/// How names are compared: case and surrounding spaces do not matter.
pub fn lookup_key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str, aliases: &[&str]) -> ActorProfile {
        ActorProfile {
            name: name.to_string().into(),
            attack_id: None,
            aliases: aliases.iter().map(|a| a.to_string().into()).collect(),
            kind: ActorType::NationState,
            location: Some("North Korea".into()),
            profile: "A group.".into(),
            sources: Vec::new(),
        }
    }

    #[test]
    fn actors_are_found_by_name_or_alias_in_any_case() {
        let catalog = ActorCatalog::new(vec![profile("Lazarus Group", &["HIDDEN COBRA", "Diamond Sleet"])]);
        for name in ["Lazarus Group", "lazarus group", " Hidden Cobra ", "DIAMOND SLEET"] {
            assert_eq!(catalog.get(name).map(|a| a.name.as_ref()), Some("Lazarus Group"), "{name}");
        }
        assert!(catalog.get("Lazarus").is_none());
        let actor = catalog.get("hidden cobra").map(ActorProfile::actor).unwrap();
        assert_eq!(actor.name, "Lazarus Group");
        assert_eq!(actor.aliases, ["HIDDEN COBRA", "Diamond Sleet"]);
        assert_eq!(actor.location.as_deref(), Some("North Korea"));
    }
}
