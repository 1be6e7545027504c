//! The fast path for native records: one typed parse straight from the record's bytes, strings
//! borrowed where the JSON has no escapes, then the same semantic checks as the careful path.
//! Whatever it cannot take whole (a wrong type, an unknown field, a bad date, an unknown actor)
//! it leaves to the careful path, which finds and places every problem. It never reports a problem
//! itself, so the two paths cannot disagree on one: a record it accepts is a record the careful
//! path accepts, converted to the same `Incident`.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};

use crate::model::Str as Text;
use crate::model::{
    Actor, ActorCatalog, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, TechniqueRef, is_attack_id,
    sanitize_owned,
};

/// A string as the JSON has it: borrowed from the input unless it had escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    victim: Str<'a>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    date: Str<'a>,
    #[serde(borrow)]
    location: Option<Str<'a>>,
    #[serde(borrow)]
    industry: Option<Str<'a>>,
    #[serde(borrow)]
    summary: Str<'a>,
    #[serde(borrow)]
    description: Option<Str<'a>>,
    loss_usd: Option<u64>,
    #[serde(borrow)]
    cia: Option<CiaRecord<'a>>,
    #[serde(borrow)]
    motives: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    ttps: Option<Vec<Ttp<'a>>>,
    #[serde(borrow)]
    actors: Option<Vec<ActorItem<'a>>>,
    #[serde(borrow)]
    sources: Option<Vec<SourceRecord<'a>>>,
    #[serde(borrow)]
    related: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    tags: Option<Vec<Str<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CiaRecord<'a> {
    #[serde(borrow)]
    confidentiality: Str<'a>,
    #[serde(borrow)]
    integrity: Str<'a>,
    #[serde(borrow)]
    availability: Str<'a>,
    #[serde(borrow)]
    note: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TtpObject<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    framework: Option<Str<'a>>,
    #[serde(borrow)]
    note: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorObject<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, rename = "type")]
    kind: Str<'a>,
    #[serde(borrow)]
    location: Option<Str<'a>>,
    #[serde(borrow)]
    aliases: Option<Vec<Str<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRecord<'a> {
    #[serde(borrow)]
    title: Option<Str<'a>>,
    #[serde(borrow)]
    publisher: Option<Str<'a>>,
    #[serde(borrow)]
    url: Option<Str<'a>>,
    #[serde(borrow)]
    date: Option<Str<'a>>,
}

/// A technique: an ATT&CK id as a string, or an object.
enum Ttp<'a> {
    Id(Cow<'a, str>),
    Object(TtpObject<'a>),
}

/// An actor: a catalog name or alias as a string, or an object.
enum ActorItem<'a> {
    Name(Cow<'a, str>),
    Object(ActorObject<'a>),
}

/// A visitor for "a string or an object" without serde's buffering `untagged` enums: the string
/// is kept borrowed where it can be, the object is read by its derived type.
struct StringOrObject<T>(std::marker::PhantomData<T>);

trait FromStringOrObject<'de>: Sized {
    fn from_str(s: Cow<'de, str>) -> Self;
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

impl<'de, T: FromStringOrObject<'de>> Visitor<'de> for StringOrObject<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an object")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<T, E> {
        Ok(T::from_str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        Ok(T::from_str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<T, E> {
        Ok(T::from_str(Cow::Owned(s)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

impl<'de> FromStringOrObject<'de> for Ttp<'de> {
    fn from_str(s: Cow<'de, str>) -> Self {
        Ttp::Id(s)
    }

    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        TtpObject::deserialize(MapAccessDeserializer::new(map)).map(Ttp::Object)
    }
}

impl<'de> FromStringOrObject<'de> for ActorItem<'de> {
    fn from_str(s: Cow<'de, str>) -> Self {
        ActorItem::Name(s)
    }

    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        ActorObject::deserialize(MapAccessDeserializer::new(map)).map(ActorItem::Object)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Ttp<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrObject::<Ttp<'de>>(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ActorItem<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrObject::<ActorItem<'de>>(std::marker::PhantomData))
    }
}

/// The incident of a record the fast path can take whole, or `None` to send it down the careful
/// path. Each rule mirrors the careful path's (`fields.rs`): text is sanitised before it is
/// checked, required text must not be blank, null reads as absent.
pub fn record(text: &str, actors: &ActorCatalog) -> Option<Incident> {
    let r: Record = serde_json::from_str(text).ok()?;
    let date = PartialDate::parse(&required(r.date)?).ok()?;
    let cia = match r.cia {
        None => None,
        Some(c) => Some(Cia {
            confidentiality: impact(c.confidentiality)?,
            integrity: impact(c.integrity)?,
            availability: impact(c.availability)?,
            note: optional(c.note),
        }),
    };
    let mut motives = Vec::new();
    for m in r.motives.unwrap_or_default() {
        let m = Motive::parse(&listed(m)?)?;
        if !motives.contains(&m) {
            motives.push(m);
        }
    }
    let ttps = r.ttps.unwrap_or_default().into_iter().map(ttp).collect::<Option<Vec<_>>>()?;
    let actors = r.actors.unwrap_or_default().into_iter().map(|a| actor(a, actors)).collect::<Option<Vec<_>>>()?;
    let sources = r.sources.unwrap_or_default().into_iter().map(source).collect::<Option<Vec<_>>>()?;
    let related = r.related.unwrap_or_default().into_iter().map(listed).collect::<Option<Vec<_>>>()?;
    let tags = r.tags.unwrap_or_default().into_iter().map(listed).collect::<Option<Vec<_>>>()?;
    Some(Incident {
        id: required(r.id)?,
        victim: required(r.victim)?,
        name: optional(r.name).filter(|n| !n.trim().is_empty()),
        date,
        location: optional(r.location),
        industry: optional(r.industry),
        summary: required(r.summary)?,
        description: optional(r.description),
        loss_usd: r.loss_usd,
        cia,
        motives,
        ttps,
        actors,
        sources,
        related,
        tags,
    })
}

/// Required text: sanitised, and not blank once sanitised.
fn required(s: Str) -> Option<Text> {
    Some(Text::Owned(sanitize_owned(s.0))).filter(|s| !s.trim().is_empty())
}

fn optional(s: Option<Str>) -> Option<Text> {
    s.map(|s| Text::Owned(sanitize_owned(s.0)))
}

/// An item of a list of words (motives, related ids, tags): not blank as written, then sanitised.
fn listed(s: Str) -> Option<Text> {
    (!s.0.trim().is_empty()).then(|| Text::Owned(sanitize_owned(s.0)))
}

fn impact(s: Str) -> Option<Impact> {
    Impact::parse(&required(s)?)
}

fn ttp(t: Ttp) -> Option<TechniqueRef> {
    match t {
        // As written: an id with anything to clean would not have the ATT&CK shape anyway.
        Ttp::Id(id) => is_attack_id(&id).then(|| TechniqueRef::Attack { id: Text::Owned(id.into_owned()), note: None }),
        Ttp::Object(o) => {
            let note = optional(o.note);
            match (o.id, o.name) {
                (Some(id), None) if o.framework.is_none() => {
                    let id = required(id)?;
                    is_attack_id(&id).then_some(TechniqueRef::Attack { id, note })
                }
                (None, Some(name)) => {
                    Some(TechniqueRef::Other { name: required(name)?, framework: optional(o.framework), note })
                }
                _ => None,
            }
        }
    }
}

fn actor(a: ActorItem, catalog: &ActorCatalog) -> Option<Actor> {
    match a {
        ActorItem::Name(name) => catalog.get(&sanitize_owned(name)).map(|profile| profile.actor()),
        ActorItem::Object(o) => Some(Actor {
            name: required(o.name)?,
            kind: ActorType::parse(&required(o.kind)?)?,
            location: optional(o.location),
            aliases: o.aliases.unwrap_or_default().into_iter().map(|a| Text::Owned(sanitize_owned(a.0))).collect(),
        }),
    }
}

fn source(s: SourceRecord) -> Option<Source> {
    let date = match optional(s.date) {
        Some(d) => Some(PartialDate::parse(&d).ok()?),
        None => None,
    };
    let (title, url) = (optional(s.title), optional(s.url));
    if title.is_none() && url.is_none() {
        return None;
    }
    Some(Source { title, publisher: optional(s.publisher), url, date })
}
