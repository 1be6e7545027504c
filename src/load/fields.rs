//! The careful reading of a native record: field by field from the raw JSON, every problem found
//! with its place, its record's id and its field path. Records the typed fast path cannot take
//! come here, so their problems read exactly the same whichever path met them first.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::Parsed;
use super::problem::{Problem, Text, json_kind};
use crate::model::Str;
use crate::model::{
    Actor, ActorCatalog, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, TechniqueRef, is_attack_id,
    sanitize_owned,
};

/// The fields of a native record.
const FIELDS: &[&str] = &[
    "id",
    "victim",
    "name",
    "date",
    "location",
    "industry",
    "summary",
    "description",
    "loss_usd",
    "cia",
    "motives",
    "ttps",
    "actors",
    "sources",
    "related",
    "tags",
];

pub type Map<'a> = BTreeMap<String, &'a RawValue>;

/// Reads the fields of one record, collecting every problem instead of stopping at the first.
pub struct Fields<'s, 'a> {
    src: &'s Text<'s>,
    /// The record's id (or name), once known, so every problem can name it.
    pub id: Option<String>,
    pub problems: Vec<Problem>,
    _raw: std::marker::PhantomData<&'a ()>,
}

impl<'s, 'a> Fields<'s, 'a> {
    pub fn new(src: &'s Text<'s>) -> Self {
        Self { src, id: None, problems: Vec::new(), _raw: std::marker::PhantomData }
    }

    pub fn problem(&mut self, at: &str, field: &str, message: impl Into<String>) {
        let p = self.src.problem(at, self.id.as_deref(), Some(field), message);
        self.problems.push(p);
    }

    pub fn object(&mut self, raw: &'a RawValue, path: &str, allowed: &[&str]) -> Option<Map<'a>> {
        let map = self.map(raw, path)?;
        self.unknown_fields(raw, &map, path, allowed);
        Some(map)
    }

    pub fn map(&mut self, raw: &'a RawValue, path: &str) -> Option<Map<'a>> {
        let map = serde_json::from_str::<Map<'a>>(raw.get()).ok();
        if map.is_none() {
            self.problem(raw.get(), path, format!("expected an object, found {}", json_kind(raw)));
        }
        map
    }

    /// Unknown fields are errors: a typo must not make a field vanish silently.
    pub fn unknown_fields(&mut self, raw: &'a RawValue, map: &Map<'a>, path: &str, allowed: &[&str]) {
        for (key, value) in map {
            if !allowed.contains(&key.as_str()) {
                let at = field_key(raw.get(), key, value);
                let message = format!("unknown field {key:?}, expected one of: {}", allowed.join(", "));
                self.problem(at, &join(path, key), message);
            }
        }
    }

    pub fn string(&mut self, map: &Map<'a>, owner: &'a RawValue, path: &str, key: &str, required: bool) -> Option<Str> {
        let p = join(path, key);
        match present(map, key) {
            None if required => {
                self.problem(owner.get(), &p, "missing required field");
                None
            }
            None => None,
            Some(raw) => match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => {
                    let s = sanitize_owned(s.into());
                    if required && s.trim().is_empty() {
                        self.problem(raw.get(), &p, "must not be empty");
                        None
                    } else {
                        Some(Str::Owned(s))
                    }
                }
                Err(_) => {
                    self.problem(raw.get(), &p, format!("expected a string, found {}", json_kind(raw)));
                    None
                }
            },
        }
    }

    pub fn array(&mut self, map: &Map<'a>, path: &str, key: &str) -> Vec<&'a RawValue> {
        let Some(raw) = present(map, key) else { return Vec::new() };
        match serde_json::from_str::<Vec<&'a RawValue>>(raw.get()) {
            Ok(v) => v,
            Err(_) => {
                self.problem(raw.get(), &join(path, key), format!("expected an array, found {}", json_kind(raw)));
                Vec::new()
            }
        }
    }

    pub fn strings(&mut self, map: &Map<'a>, key: &str) -> Vec<(Str, &'a RawValue)> {
        let mut out = Vec::new();
        for (i, raw) in self.array(map, "", key).into_iter().enumerate() {
            match serde_json::from_str::<String>(raw.get()) {
                Ok(s) if !s.trim().is_empty() => out.push((Str::Owned(sanitize_owned(s.into())), raw)),
                Ok(_) => self.problem(raw.get(), &format!("{key}[{i}]"), "must not be empty"),
                Err(_) => self.problem(
                    raw.get(),
                    &format!("{key}[{i}]"),
                    format!("expected a string, found {}", json_kind(raw)),
                ),
            }
        }
        out
    }

    pub fn date(&mut self, raw: &'a RawValue, path: &str, value: &str) -> Option<PartialDate> {
        match PartialDate::parse(value) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(raw.get(), path, e);
                None
            }
        }
    }

    fn cia(&mut self, raw: &'a RawValue) -> Option<Cia> {
        let map = self.object(raw, "cia", &["confidentiality", "integrity", "availability", "note"])?;
        let mut impact = |key: &str| -> Option<Impact> {
            let p = format!("cia.{key}");
            let value = self.string(&map, raw, "cia", key, true)?;
            let found = Impact::parse(&value);
            if found.is_none() {
                self.problem(
                    map[key].get(),
                    &p,
                    format!("unknown value {value:?}, expected affected, not-affected or unknown"),
                );
            }
            found
        };
        let (c, i, a) = (impact("confidentiality"), impact("integrity"), impact("availability"));
        let note = self.string(&map, raw, "cia", "note", false);
        Some(Cia { confidentiality: c?, integrity: i?, availability: a?, note })
    }

    fn ttp(&mut self, raw: &'a RawValue, path: &str) -> Option<TechniqueRef> {
        if let Ok(id) = serde_json::from_str::<String>(raw.get()) {
            return self.attack_id(raw, path, id.into()).map(|id| TechniqueRef::Attack { id, note: None });
        }
        let map = self.object(raw, path, &["id", "name", "framework", "note"])?;
        let note = self.string(&map, raw, path, "note", false);
        match (present(&map, "id"), present(&map, "name")) {
            (Some(_), _) => {
                let id = self.string(&map, raw, path, "id", true)?;
                if present(&map, "framework").is_some() || present(&map, "name").is_some() {
                    self.problem(
                        raw.get(),
                        path,
                        "give either an ATT&CK \"id\", or a \"name\" with its \"framework\", not both",
                    );
                    return None;
                }
                let id = self.attack_id(map["id"], &format!("{path}.id"), id)?;
                Some(TechniqueRef::Attack { id, note })
            }
            (None, Some(_)) => {
                let name = self.string(&map, raw, path, "name", true)?;
                let framework = self.string(&map, raw, path, "framework", false);
                Some(TechniqueRef::Other { name, framework, note })
            }
            (None, None) => {
                self.problem(raw.get(), path, "expected an ATT&CK \"id\" (T1566.001) or a \"name\"");
                None
            }
        }
    }

    fn attack_id(&mut self, raw: &'a RawValue, path: &str, id: Str) -> Option<Str> {
        if is_attack_id(&id) {
            Some(id)
        } else {
            self.problem(raw.get(), path, format!("invalid ATT&CK technique id {id:?}: expected T1234 or T1234.001"));
            None
        }
    }

    /// An actor object, or the name or alias of an actor in the catalog.
    fn actor(&mut self, raw: &'a RawValue, path: &str, catalog: &ActorCatalog) -> Option<Arc<Actor>> {
        if let Ok(name) = serde_json::from_str::<String>(raw.get()) {
            let name = sanitize_owned(name.into());
            let found = catalog.actor(&name);
            if found.is_none() {
                self.problem(raw.get(), path, unknown_actor(&name));
            }
            return found;
        }
        let map = self.object(raw, path, &["name", "type", "location", "aliases"])?;
        let name = self.string(&map, raw, path, "name", true);
        let actor_type = self.string(&map, raw, path, "type", true).and_then(|t| {
            let found = ActorType::parse(&t);
            if found.is_none() {
                let all: Vec<_> = ActorType::ALL.iter().map(|t| t.as_str()).collect();
                self.problem(
                    map["type"].get(),
                    &format!("{path}.type"),
                    format!("unknown actor type {t:?}, expected one of: {}", all.join(", ")),
                );
            }
            found
        });
        let location = self.string(&map, raw, path, "location", false);
        let mut aliases = Vec::new();
        for (i, a) in self.array(&map, path, "aliases").into_iter().enumerate() {
            match serde_json::from_str::<String>(a.get()) {
                Ok(s) => aliases.push(Str::Owned(sanitize_owned(s.into()))),
                Err(_) => self.problem(
                    a.get(),
                    &format!("{path}.aliases[{i}]"),
                    format!("expected a string, found {}", json_kind(a)),
                ),
            }
        }
        Some(Arc::new(Actor { name: name?, kind: actor_type?, location, aliases }))
    }

    pub fn source(&mut self, raw: &'a RawValue, path: &str) -> Option<Source> {
        let map = self.object(raw, path, &["title", "publisher", "url", "date"])?;
        let title = self.string(&map, raw, path, "title", false);
        let publisher = self.string(&map, raw, path, "publisher", false);
        let url = self.string(&map, raw, path, "url", false);
        let date = match self.string(&map, raw, path, "date", false) {
            Some(d) => Some(self.date(map["date"], &format!("{path}.date"), &d)?),
            None => None,
        };
        if title.is_none() && url.is_none() {
            self.problem(raw.get(), path, "a source needs at least a \"title\" or a \"url\"");
            return None;
        }
        Some(Source { title, publisher, url, date })
    }
}

/// The problem of an actor named by a string that the catalog does not know.
pub fn unknown_actor(name: &str) -> String {
    format!("unknown actor {name:?}: not in the actor catalog; write it as an object with \"name\" and \"type\"")
}

/// Converts one record, or reports why it cannot be.
pub fn record(src: &Text, raw: &RawValue, actors: &ActorCatalog, out: &mut Parsed) {
    let mut f = Fields::new(src);
    let Some(map) = f.map(raw, "") else {
        out.problems.append(&mut f.problems);
        return;
    };
    // The id first, so every later problem can name the record.
    let id = f.string(&map, raw, "", "id", true);
    f.id = id.as_ref().map(|i| i.to_string());
    f.unknown_fields(raw, &map, "", FIELDS);
    let victim = f.string(&map, raw, "", "victim", true);
    let name = f.string(&map, raw, "", "name", false).filter(|n| !n.trim().is_empty());
    let date = f.string(&map, raw, "", "date", true).and_then(|d| f.date(map["date"], "date", &d));
    let location = f.string(&map, raw, "", "location", false);
    let industry = f.string(&map, raw, "", "industry", false);
    let summary = f.string(&map, raw, "", "summary", true);
    let description = f.string(&map, raw, "", "description", false);
    let loss_usd = present(&map, "loss_usd").and_then(|r| match serde_json::from_str::<u64>(r.get()) {
        Ok(n) => Some(n),
        Err(_) => {
            f.problem(
                r.get(),
                "loss_usd",
                format!("expected a whole number of US dollars, found {}", kind_or_value(r)),
            );
            None
        }
    });
    let cia = present(&map, "cia").and_then(|r| f.cia(r));
    let mut motives = Vec::new();
    for (m, r) in f.strings(&map, "motives") {
        match Motive::parse(&m) {
            Some(m) if !motives.contains(&m) => motives.push(m),
            Some(_) => {}
            None => {
                let all: Vec<_> = Motive::ALL.iter().map(|m| m.as_str()).collect();
                let i = motives.len();
                f.problem(
                    r.get(),
                    &format!("motives[{i}]"),
                    format!("unknown motive {m:?}, expected one of: {}", all.join(", ")),
                );
            }
        }
    }
    let ttps: Vec<_> = f
        .array(&map, "", "ttps")
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| f.ttp(r, &format!("ttps[{i}]")))
        .collect();
    let actors: Vec<_> = f
        .array(&map, "", "actors")
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| f.actor(r, &format!("actors[{i}]"), actors))
        .collect();
    let sources: Vec<_> = f
        .array(&map, "", "sources")
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| f.source(r, &format!("sources[{i}]")))
        .collect();
    let related: Vec<_> = f.strings(&map, "related").into_iter().map(|(s, _)| s).collect();
    let tags: Vec<_> = f.strings(&map, "tags").into_iter().map(|(s, _)| s).collect();

    if !f.problems.is_empty() {
        out.problems.append(&mut f.problems);
        out.rejected.push(id.map_or_else(|| format!("record at {}:{}", src.file, pos_str(src, raw)), String::from));
        return;
    }
    let (Some(id), Some(victim), Some(date), Some(summary)) = (id, victim, date, summary) else {
        return;
    };
    out.incidents.push((
        Incident {
            id,
            victim,
            name,
            date,
            location,
            industry,
            summary,
            description,
            loss_usd,
            cia,
            motives,
            ttps,
            actors,
            sources,
            related,
            tags,
        },
        src.file_offset_of(raw.get()),
    ));
}

fn pos_str(src: &Text, raw: &RawValue) -> String {
    let p = src.position_of(raw.get());
    format!("{}:{}", p.line, p.col)
}

/// A field that is there and not `null` (null reads as absent).
fn present<'a>(map: &Map<'a>, key: &str) -> Option<&'a RawValue> {
    map.get(key).copied().filter(|r| r.get() != "null")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Where a key is written inside its object's text, so unknown fields point at the key itself.
fn field_key<'t>(object: &'t str, key: &str, value: &RawValue) -> &'t str {
    let value_at = (value.get().as_ptr() as usize).saturating_sub(object.as_ptr() as usize);
    let quoted = format!("\"{key}\"");
    object[..value_at.min(object.len())].rfind(&quoted).map_or(object, |i| &object[i..])
}

fn kind_or_value(raw: &RawValue) -> String {
    match json_kind(raw) {
        "a number" => raw.get().to_string(),
        k => k.to_string(),
    }
}
