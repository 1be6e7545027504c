//! The careful reading of a native record: field by field from the raw JSON, on the loaders'
//! shared record reader, every problem found with its place, its record's id and its field path.
//! Records the fast path cannot take come here, so their problems read exactly the same
//! whichever path met them first.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::Parsed;
use super::lexer::Names;
use super::problem::{Text, json_kind};
use super::reader::{Fields, Reader};
use crate::model::{
    Actor, ActorCatalog, ActorType, Cia, Impact, Incident, Motive, Source, Str, TechniqueRef, is_attack_id,
    sanitize_owned,
};

/// The fields of a native record, and of the objects inside one: the fast path takes the same.
pub(super) const FIELDS: Names<16> = Names::new([
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
]);
pub(super) const CIA_FIELDS: Names<4> = Names::new(["confidentiality", "integrity", "availability", "note"]);
pub(super) const TTP_FIELDS: Names<4> = Names::new(["id", "name", "framework", "note"]);
pub(super) const ACTOR_FIELDS: Names<4> = Names::new(["name", "type", "location", "aliases"]);
pub(super) const SOURCE_FIELDS: Names<4> = Names::new(["title", "publisher", "url", "date"]);

/// A string item of a list as written, not yet sanitised: `null` or another kind is a problem at
/// its place.
fn item(r: &mut Reader, raw: &RawValue, path: &str) -> Option<String> {
    serde_json::from_str(raw.get()).map_err(|_| r.wrong(raw, path, "a string")).ok()
}

/// A list field of words (motives, related ids, tags, a catalog actor's aliases): each a string,
/// not blank as written. Each comes sanitised, with its value and its path, for problems found
/// later.
pub fn words<'a>(r: &mut Reader, object: &Fields<'a>, key: &str) -> Vec<(String, &'a RawValue, String)> {
    let mut out = Vec::new();
    for (path, raw) in r.items(object, key) {
        let Some(s) = item(r, raw, &path) else { continue };
        if s.trim().is_empty() {
            r.problem(raw.get(), &path, "must not be empty");
        } else {
            out.push((sanitize_owned(s.into()), raw, path));
        }
    }
    out
}

fn cia(r: &mut Reader, raw: &RawValue) -> Option<Cia> {
    let object = r.object_with(raw, "cia", &CIA_FIELDS.list)?;
    let mut impact = |key: &str| -> Option<Impact> {
        let value = r.required(&object, key)?;
        let found = Impact::parse(&value);
        if found.is_none() {
            r.problem_at_field(
                &object,
                key,
                format!("unknown value {value:?}, expected affected, not-affected or unknown"),
            );
        }
        found
    };
    let (c, i, a) = (impact("confidentiality"), impact("integrity"), impact("availability"));
    let note = r.optional(&object, "note").map(Str::from);
    Some(Cia { confidentiality: c?, integrity: i?, availability: a?, note })
}

fn ttp(r: &mut Reader, raw: &RawValue, path: &str) -> Option<TechniqueRef> {
    if let Ok(id) = serde_json::from_str::<String>(raw.get()) {
        return attack_id(r, raw, path, id).map(|id| TechniqueRef::Attack { id: id.into(), note: None });
    }
    let object = r.object_with(raw, path, &TTP_FIELDS.list)?;
    let note = r.optional(&object, "note").map(Str::from);
    match (object.get("id"), object.get("name")) {
        (Some(written), _) => {
            let id = r.required(&object, "id")?;
            if object.get("framework").is_some() || object.get("name").is_some() {
                r.problem(
                    raw.get(),
                    path,
                    "give either an ATT&CK \"id\", or a \"name\" with its \"framework\", not both",
                );
                return None;
            }
            let id = attack_id(r, written, &object.path_of("id"), id)?;
            Some(TechniqueRef::Attack { id: id.into(), note })
        }
        (None, Some(_)) => {
            let name = r.required(&object, "name")?;
            let framework = r.optional(&object, "framework").map(Str::from);
            Some(TechniqueRef::Other { name: name.into(), framework, note })
        }
        (None, None) => {
            r.problem(raw.get(), path, "expected an ATT&CK \"id\" (T1566.001) or a \"name\"");
            None
        }
    }
}

fn attack_id(r: &mut Reader, raw: &RawValue, path: &str, id: String) -> Option<String> {
    if is_attack_id(&id) {
        Some(id)
    } else {
        r.problem(raw.get(), path, format!("invalid ATT&CK technique id {id:?}: expected T1234 or T1234.001"));
        None
    }
}

/// An actor type, or a problem at the field naming the types there are.
pub fn actor_type(r: &mut Reader, object: &Fields) -> Option<ActorType> {
    let t = r.required(object, "type")?;
    let found = ActorType::parse(&t);
    if found.is_none() {
        let all: Vec<_> = ActorType::ALL.iter().map(|t| t.as_str()).collect();
        r.problem_at_field(object, "type", format!("unknown actor type {t:?}, expected one of: {}", all.join(", ")));
    }
    found
}

/// An actor object, or the name or alias of an actor in the catalog.
fn actor(r: &mut Reader, raw: &RawValue, path: &str, catalog: &ActorCatalog) -> Option<Arc<Actor>> {
    if let Ok(name) = serde_json::from_str::<String>(raw.get()) {
        let name = sanitize_owned(name.into());
        let found = catalog.actor(&name);
        if found.is_none() {
            r.problem(raw.get(), path, unknown_actor(&name));
        }
        return found;
    }
    let object = r.object_with(raw, path, &ACTOR_FIELDS.list)?;
    let name = r.required(&object, "name");
    let kind = actor_type(r, &object);
    let location = r.optional(&object, "location").map(Str::from);
    let mut aliases = Vec::new();
    for (path, raw) in r.items(&object, "aliases") {
        if let Some(alias) = item(r, raw, &path) {
            aliases.push(Str::from(sanitize_owned(alias.into())));
        }
    }
    Some(Arc::new(Actor { name: name?.into(), kind: kind?, location, aliases }))
}

/// A source object: at least a title or an address.
pub fn source(r: &mut Reader, raw: &RawValue, path: &str) -> Option<Source> {
    let object = r.object_with(raw, path, &SOURCE_FIELDS.list)?;
    let title = r.optional(&object, "title").map(Str::from);
    let publisher = r.optional(&object, "publisher").map(Str::from);
    let url = r.optional(&object, "url").map(Str::from);
    let date = match r.optional(&object, "date") {
        Some(d) => Some(r.date_of(&object, "date", &d)?),
        None => None,
    };
    if title.is_none() && url.is_none() {
        r.problem(raw.get(), path, "a source needs at least a \"title\" or a \"url\"");
        return None;
    }
    Some(Source { title, publisher, url, date })
}

/// The problem of an actor named by a string that the catalog does not know.
pub fn unknown_actor(name: &str) -> String {
    format!("unknown actor {name:?}: not in the actor catalog; write it as an object with \"name\" and \"type\"")
}

/// Converts one record, or reports why it cannot be.
pub fn record(src: &Text, raw: &RawValue, actors: &ActorCatalog, out: &mut Parsed) {
    let mut r = Reader::new(src);
    let Some(object) = r.object(raw, "") else {
        out.problems.append(&mut r.take_problems());
        return;
    };
    // The id first, so every later problem can name the record.
    let id = r.required(&object, "id");
    r.set_record(id.clone());
    r.unknown_fields(&object, &FIELDS.list);
    let victim = r.required(&object, "victim");
    let name = r.optional(&object, "name").filter(|n| !n.trim().is_empty());
    let date = r.required(&object, "date").and_then(|d| r.date_of(&object, "date", &d));
    let location = r.optional(&object, "location");
    let industry = r.optional(&object, "industry");
    let summary = r.required(&object, "summary");
    let description = r.optional(&object, "description");
    let loss_usd = object.get("loss_usd").and_then(|raw| match serde_json::from_str::<u64>(raw.get()) {
        Ok(n) => Some(n),
        Err(_) => {
            let found = kind_or_value(raw);
            r.problem(raw.get(), "loss_usd", format!("expected a whole number of US dollars, found {found}"));
            None
        }
    });
    let cia = object.get("cia").and_then(|raw| cia(&mut r, raw));
    let mut motives = Vec::new();
    for (m, raw, path) in words(&mut r, &object, "motives") {
        match Motive::parse(&m) {
            Some(m) if !motives.contains(&m) => motives.push(m),
            Some(_) => {}
            None => {
                let all: Vec<_> = Motive::ALL.iter().map(|m| m.as_str()).collect();
                r.problem(raw.get(), &path, format!("unknown motive {m:?}, expected one of: {}", all.join(", ")));
            }
        }
    }
    let ttps: Vec<_> = r.items(&object, "ttps").into_iter().filter_map(|(path, raw)| ttp(&mut r, raw, &path)).collect();
    let actors: Vec<_> =
        r.items(&object, "actors").into_iter().filter_map(|(path, raw)| actor(&mut r, raw, &path, actors)).collect();
    let sources: Vec<_> =
        r.items(&object, "sources").into_iter().filter_map(|(path, raw)| source(&mut r, raw, &path)).collect();
    let related: Vec<Str> = words(&mut r, &object, "related").into_iter().map(|(s, ..)| s.into()).collect();
    let tags: Vec<Str> = words(&mut r, &object, "tags").into_iter().map(|(s, ..)| s.into()).collect();

    if r.count() > 0 {
        out.problems.append(&mut r.take_problems());
        out.rejected.push(id.unwrap_or_else(|| format!("record at {}:{}", src.file, pos_str(src, raw))));
        return;
    }
    let (Some(id), Some(victim), Some(date), Some(summary)) = (id, victim, date, summary) else {
        return;
    };
    out.incidents.push((
        Incident {
            id: id.into(),
            victim: victim.into(),
            name: name.map(Str::from),
            date,
            location: location.map(Str::from),
            industry: industry.map(Str::from),
            summary: summary.into(),
            description: description.map(Str::from),
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

fn kind_or_value(raw: &RawValue) -> String {
    match json_kind(raw) {
        "a number" => raw.get().to_string(),
        k => k.to_string(),
    }
}
