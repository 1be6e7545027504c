//! Reading a bundle's objects: one pass over the text that keeps only the fields any mapping
//! uses, then the objects worth reading (types the mapping uses, not revoked or deprecated, the
//! newest version of each id), each read into the typed form the mapping needs. Fields are
//! converted one by one through the shared reader, so a wrong type names the object, the field
//! and the place. What is left out on purpose is counted in notes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::text::{clean_text, humanize};
use crate::load::Parsed;
use crate::load::attack::{attack_external_id, attack_id_in_name, bare_name, technique};
use crate::load::country::country;
use crate::load::problem::{Problem, Text, json_kind};
use crate::load::reader::{Reader, present};
use crate::model::{Actor, ActorType, Motive, PartialDate, Source, Technique, is_attack_id};

/// A bundle read in one pass, each object straight into its used fields.
#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow)]
    objects: Option<Vec<RawObject<'a>>>,
}

/// The same bundle with its objects left raw: read only when the one-pass form fails, to report
/// each object that is not a STIX object.
#[derive(Deserialize)]
struct LooseBundle<'a> {
    #[serde(default, borrow)]
    objects: Option<&'a RawValue>,
}

/// The fields of a STIX object that any mapping uses, still as raw JSON; the rest is skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawObject<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    modified: Option<&'a RawValue>,
    #[serde(borrow)]
    revoked: Option<&'a RawValue>,
    #[serde(borrow)]
    x_mitre_deprecated: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    description: Option<&'a RawValue>,
    #[serde(borrow)]
    first_seen: Option<&'a RawValue>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    created_by_ref: Option<&'a RawValue>,
    #[serde(borrow)]
    aliases: Option<&'a RawValue>,
    #[serde(borrow)]
    external_references: Option<&'a RawValue>,
    #[serde(borrow)]
    kill_chain_phases: Option<&'a RawValue>,
    #[serde(borrow)]
    primary_motivation: Option<&'a RawValue>,
    #[serde(borrow)]
    resource_level: Option<&'a RawValue>,
    #[serde(borrow)]
    threat_actor_types: Option<&'a RawValue>,
    #[serde(borrow)]
    labels: Option<&'a RawValue>,
    #[serde(borrow)]
    sectors: Option<&'a RawValue>,
    #[serde(borrow)]
    country: Option<&'a RawValue>,
    #[serde(borrow)]
    region: Option<&'a RawValue>,
    #[serde(borrow)]
    published: Option<&'a RawValue>,
    #[serde(borrow)]
    object_refs: Option<&'a RawValue>,
    #[serde(borrow)]
    relationship_type: Option<&'a RawValue>,
    #[serde(borrow)]
    source_ref: Option<&'a RawValue>,
    #[serde(borrow)]
    target_ref: Option<&'a RawValue>,
}

/// The object types the mapping reads; everything else (indicators, malware, ATT&CK's own
/// extensions) is counted and skipped without looking at its fields.
const USED: &[&str] = &[
    "campaign",
    "incident",
    "identity",
    "location",
    "intrusion-set",
    "threat-actor",
    "attack-pattern",
    "report",
    "relationship",
];

/// The relationship types the mapping follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Targets,
    AttributedTo,
    Uses,
    LocatedAt,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "targets" => Some(Kind::Targets),
            "attributed-to" => Some(Kind::AttributedTo),
            "uses" => Some(Kind::Uses),
            "located-at" => Some(Kind::LocatedAt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Targets => "targets",
            Kind::AttributedTo => "attributed-to",
            Kind::Uses => "uses",
            Kind::LocatedAt => "located-at",
        }
    }
}

/// The objects of a bundle the mapping uses, by kind.
#[derive(Default)]
pub struct Objects<'a> {
    /// Campaigns and incidents, in file order.
    pub roots: Vec<Root<'a>>,
    pub identities: HashMap<String, Identity>,
    /// Each location's place: a country's name, else its own name, else its region.
    pub locations: HashMap<String, String>,
    pub actors: HashMap<String, ActorInfo>,
    pub patterns: HashMap<String, Pattern>,
    /// The ATT&CK techniques the attack patterns define, in file order.
    pub techniques: Vec<Technique>,
    pub reports: Vec<Report<'a>>,
    pub relationships: Vec<Relationship<'a>>,
    /// The id of every object in the bundle, of any type, revoked or not: a reference to an id
    /// outside it is dangling.
    pub ids: HashSet<Cow<'a, str>>,
}

/// A campaign or an incident: what becomes an incident.
pub struct Root<'a> {
    /// Where the object is placed: its `type` field.
    pub raw: &'a RawValue,
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub date: PartialDate,
    pub motive: Option<Motive>,
    pub sources: Vec<Source>,
    /// Its ATT&CK id (`C0022`), when ATT&CK published it.
    pub attack_id: Option<String>,
}

pub struct Identity {
    pub name: String,
    pub sectors: Vec<String>,
}

pub struct ActorInfo {
    pub actor: Actor,
    pub motive: Option<Motive>,
}

/// An attack pattern as a technique: an ATT&CK id, or a technique of another framework.
pub enum Pattern {
    Attack(String),
    Other { name: String, framework: &'static str },
}

/// A report, as the source it is for the campaigns and incidents it names.
pub struct Report<'a> {
    pub id: String,
    pub name: String,
    pub published: Option<PartialDate>,
    pub url: Option<String>,
    /// The identity that wrote it: its publisher.
    pub created_by: Option<String>,
    /// The ids it names, each with its place for notes.
    pub refs: Vec<(String, &'a RawValue)>,
}

pub struct Relationship<'a> {
    pub id: String,
    pub kind: Kind,
    pub source: String,
    pub source_raw: &'a RawValue,
    pub target: String,
    pub target_raw: &'a RawValue,
    /// What it says, kept for relationships of campaigns and incidents (a technique's note).
    pub description: Option<String>,
}

/// One object chosen for reading.
struct Selected<'a> {
    /// Where the object is reported: its `type` field.
    raw: &'a RawValue,
    kind: String,
    id: String,
    fields: RawObject<'a>,
}

/// Reads the objects of a bundle; problems, rejected objects and notes go to `out`. `None` when
/// the text is not a bundle at all.
pub fn read<'a>(src: &Text<'a>, out: &mut Parsed) -> Option<Objects<'a>> {
    let text: &'a str = src.text;
    let body = text.trim_start_matches('\u{feff}');
    let mut r = Reader::new(src);
    let mut rejected = Vec::new();
    let raws = match serde_json::from_str::<Bundle<'a>>(body) {
        Ok(bundle) => {
            if let Some(kind_raw) = bundle.kind
                && serde_json::from_str::<&str>(kind_raw.get()).ok() != Some("bundle")
            {
                let found =
                    serde_json::from_str::<String>(kind_raw.get()).unwrap_or_else(|_| json_kind(kind_raw).to_string());
                let message = format!("expected a STIX bundle (\"type\": \"bundle\"), found {found:?}");
                out.problems.push(src.problem(kind_raw.get(), None, Some("type"), message));
                return None;
            }
            let Some(objects) = bundle.objects else {
                let message = "a STIX bundle needs an \"objects\" array";
                out.problems.push(src.problem(body.trim_start(), None, Some("objects"), message));
                return None;
            };
            objects
        }
        Err(e) if e.classify() == serde_json::error::Category::Data => match loose(&mut r, body, &mut rejected) {
            Some(objects) => objects,
            None => {
                let mut p = src.json_error(body, &e);
                p.message = format!("expected a STIX bundle object: {}", p.message);
                out.problems.push(p);
                return None;
            }
        },
        Err(e) => {
            out.problems.push(src.json_error(body, &e));
            return None;
        }
    };
    let mut objects = Objects::default();
    let selected = select(&mut r, raws, &mut objects.ids, &mut rejected, &mut out.notes);
    for o in selected {
        r.set_record(Some(o.id.clone()));
        let before = r.count();
        let read = match o.kind.as_str() {
            "campaign" | "incident" => root(&mut r, &o).map(Read::Root),
            "identity" => Some(Read::Identity(identity(&mut r, &o))),
            "location" => location(&mut r, &o).map(Read::Location),
            "intrusion-set" | "threat-actor" => Some(Read::Actor(actor(&mut r, &o))),
            "attack-pattern" => pattern(&mut r, &o).map(|(p, t)| Read::Pattern(p, t)),
            "report" => Some(Read::Report(report(&mut r, &o))),
            _ => relationship(&mut r, &o, &mut out.notes).map(Read::Relationship),
        };
        if r.count() > before {
            rejected.push(o.id);
            continue;
        }
        match read {
            Some(Read::Root(x)) => objects.roots.push(x),
            Some(Read::Identity(x)) => {
                objects.identities.insert(o.id, x);
            }
            Some(Read::Location(x)) => {
                objects.locations.insert(o.id, x);
            }
            Some(Read::Actor(x)) => {
                objects.actors.insert(o.id, x);
            }
            Some(Read::Pattern(p, t)) => {
                objects.techniques.extend(t);
                objects.patterns.insert(o.id, p);
            }
            Some(Read::Report(x)) => objects.reports.push(x),
            Some(Read::Relationship(x)) => objects.relationships.push(x),
            None => {}
        }
    }
    out.problems.append(&mut r.take_problems());
    out.rejected.append(&mut rejected);
    Some(objects)
}

/// What one object was read as.
enum Read<'a> {
    Root(Root<'a>),
    Identity(Identity),
    Location(String),
    Actor(ActorInfo),
    Pattern(Pattern, Option<Technique>),
    Report(Report<'a>),
    Relationship(Relationship<'a>),
}

/// Reads the objects of a bundle one by one, reporting those that are not objects. `None` when
/// the bundle itself is at fault (no array of objects).
fn loose<'a>(r: &mut Reader, body: &'a str, rejected: &mut Vec<String>) -> Option<Vec<RawObject<'a>>> {
    let objects = serde_json::from_str::<LooseBundle>(body).ok()?.objects?;
    let raws = serde_json::from_str::<Vec<&RawValue>>(objects.get()).ok()?;
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        match serde_json::from_str::<RawObject>(raw.get()) {
            Ok(o) => out.push(o),
            Err(e) => {
                let field = format!("objects[{i}]");
                let message = if raw.get().starts_with('{') {
                    let e = e.to_string();
                    let e = e.rsplit_once(" at line ").map_or(e.as_str(), |m| m.0);
                    format!("invalid STIX object: {e}")
                } else {
                    format!("expected a STIX object, found {}", json_kind(raw))
                };
                r.problem(raw.get(), &field, message);
                rejected.push(field);
            }
        }
    }
    Some(out)
}

/// The objects worth reading: types the mapping uses, not revoked or deprecated, the newest
/// version of each id. The others are counted in notes; every id goes into `ids`.
fn select<'a>(
    r: &mut Reader,
    raws: Vec<RawObject<'a>>,
    ids: &mut HashSet<Cow<'a, str>>,
    rejected: &mut Vec<String>,
    notes: &mut Vec<Problem>,
) -> Vec<Selected<'a>> {
    let mut out: Vec<Selected<'a>> = Vec::new();
    let mut by_id: HashMap<String, (usize, String)> = HashMap::new();
    let mut unmapped: BTreeMap<Cow<'a, str>, usize> = BTreeMap::new();
    let mut retired: BTreeMap<Cow<'a, str>, usize> = BTreeMap::new();
    for (i, fields) in raws.into_iter().enumerate() {
        if let Some(id) = fields.id {
            match plain_str(Some(id)) {
                Some(id) => ids.insert(Cow::Borrowed(id)),
                None => serde_json::from_str::<String>(id.get()).is_ok_and(|id| ids.insert(Cow::Owned(id))),
            };
        }
        // Most objects of a large bundle are of no use here: tell them apart without allocating.
        if let Some(kind) = plain_str(fields.kind) {
            if !USED.contains(&kind) {
                *unmapped.entry(Cow::Borrowed(kind)).or_default() += 1;
                continue;
            }
            if kind == "relationship" && !useful_relationship(&fields) {
                continue;
            }
        }
        let record = format!("objects[{i}]");
        r.set_record(Some(record.clone()));
        let Some(raw) = fields.kind.or(fields.id) else {
            r.problem_unplaced("type", "missing required fields \"type\" and \"id\"");
            rejected.push(record);
            continue;
        };
        // `string` is silent only when the field is absent: a wrong type is already a problem.
        let before = r.count();
        let Some(kind) = r.string(fields.kind, "type") else {
            if r.count() == before {
                r.problem(raw.get(), "type", "missing required field");
            }
            rejected.push(record);
            continue;
        };
        if !USED.contains(&kind.as_str()) {
            *unmapped.entry(Cow::Owned(kind)).or_default() += 1;
            continue;
        }
        let Some(id) = r.string(fields.id, "id").filter(|id| !id.trim().is_empty()) else {
            if r.count() == before {
                match present(fields.id) {
                    Some(blank) => r.problem(blank.get(), "id", "must not be empty"),
                    None => r.problem(raw.get(), "id", "missing required field"),
                }
            }
            rejected.push(record);
            continue;
        };
        r.set_record(Some(id.clone()));
        let before = r.count();
        let revoked = r.boolean(fields.revoked, "revoked");
        let deprecated = r.boolean(fields.x_mitre_deprecated, "x_mitre_deprecated");
        let modified = r.string(fields.modified, "modified");
        if r.count() > before {
            rejected.push(id);
            continue;
        }
        if revoked == Some(true) || deprecated == Some(true) {
            *retired.entry(Cow::Owned(kind)).or_default() += 1;
            continue;
        }
        // A bundle may carry several versions of an object: the newest one counts.
        let modified = modified.unwrap_or_default();
        match by_id.get_mut(&id) {
            Some((at, newest)) if modified > *newest => {
                *newest = modified;
                out[*at] = Selected { raw, kind, id, fields };
            }
            Some(_) => {}
            None => {
                by_id.insert(id.clone(), (out.len(), modified));
                out.push(Selected { raw, kind, id, fields });
            }
        }
    }
    let file = r.src().file;
    notes.extend(counted(file, &unmapped, |n, objects| format!("left out {n} {objects} whose types make no incident")));
    notes.extend(counted(file, &retired, |n, objects| format!("left out {n} revoked or deprecated {objects}")));
    out
}

/// One note counting what was left out, by type, most first; `what` words the count (given with
/// `object` or `objects`).
fn counted(file: &str, counts: &BTreeMap<Cow<str>, usize>, what: impl Fn(usize, &str) -> String) -> Option<Problem> {
    let total: usize = counts.values().sum();
    if total == 0 {
        return None;
    }
    let mut by_count: Vec<(&Cow<str>, &usize)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let list: Vec<String> = by_count.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    Some(Problem {
        file: file.to_string(),
        position: None,
        record: None,
        field: None,
        message: format!("{}: {}", what(total, if total == 1 { "object" } else { "objects" }), list.join(", ")),
    })
}

/// A string value without escapes, borrowed from the text; `None` for anything else.
fn plain_str(raw: Option<&RawValue>) -> Option<&str> {
    serde_json::from_str::<&str>(raw?.get()).ok()
}

/// Whether a relationship can feed an incident: one from a campaign or an incident, or a
/// `located-at` (of a victim or an actor). Relationships this cannot tell (escaped or mistyped
/// fields) are read in full.
fn useful_relationship(fields: &RawObject) -> bool {
    let (Some(kind), Some(source)) = (plain_str(fields.relationship_type), plain_str(fields.source_ref)) else {
        return true;
    };
    match Kind::parse(kind) {
        Some(Kind::LocatedAt) => true,
        Some(_) => is_root_id(source),
        None => false,
    }
}

/// Whether a STIX id names a campaign or an incident (ids begin with their object's type).
pub fn is_root_id(id: &str) -> bool {
    id.starts_with("campaign--") || id.starts_with("incident--")
}

fn root<'a>(r: &mut Reader, o: &Selected<'a>) -> Option<Root<'a>> {
    let f = &o.fields;
    let name = r.text(f.name, "name");
    let description = r.text(f.description, "description").map(|d| clean_text(&d)).filter(|d| !d.is_empty());
    let motive = r.text(f.primary_motivation, "primary_motivation");
    let (sources, attack_id) = sources(external_refs(r, f.external_references));
    let date = date(r, o)?;
    Some(Root {
        raw: o.raw,
        kind: o.kind.clone(),
        id: o.id.clone(),
        name,
        description,
        date,
        motive: motive.as_deref().and_then(motive_of),
        sources,
        attack_id,
    })
}

/// `first_seen`, else `created`, reduced to the day.
fn date(r: &mut Reader, o: &Selected) -> Option<PartialDate> {
    let f = &o.fields;
    if present(f.first_seen).is_some() {
        r.timestamp_day(f.first_seen, "first_seen")
    } else if present(f.created).is_some() {
        r.timestamp_day(f.created, "created")
    } else {
        r.problem(o.raw.get(), "first_seen", "no date: expected \"first_seen\" or \"created\"");
        None
    }
}

struct ExternalRef {
    source_name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    external_id: Option<String>,
}

/// `external_references`, each field read on its own.
fn external_refs(r: &mut Reader, raw: Option<&RawValue>) -> Vec<ExternalRef> {
    let mut out = Vec::new();
    for (i, item) in r.array(raw, "external_references").into_iter().enumerate() {
        let Some(f) = r.object(item, &format!("external_references[{i}]")) else { continue };
        out.push(ExternalRef {
            source_name: r.text_of(&f, "source_name"),
            description: r.text_of(&f, "description"),
            url: r.text_of(&f, "url"),
            external_id: r.text_of(&f, "external_id"),
        });
    }
    out
}

fn is_attack_source(source_name: Option<&str>) -> bool {
    source_name.is_some_and(|s| s.starts_with("mitre-") && s.ends_with("attack"))
}

/// Sources from `external_references`, and the ATT&CK id of the object when it has one.
fn sources(refs: Vec<ExternalRef>) -> (Vec<Source>, Option<String>) {
    let mut sources = Vec::new();
    let mut attack_id = None;
    for r in refs {
        let clean = |s: Option<String>| s.map(|s| clean_text(&s)).filter(|s| !s.is_empty());
        let (source_name, description, url) = (clean(r.source_name), clean(r.description), clean(r.url));
        let external_id = clean(r.external_id);
        let is_attack = is_attack_source(source_name.as_deref());
        if is_attack && attack_id.is_none() {
            attack_id.clone_from(&external_id);
        }
        // A reference with neither a link nor a citation of its own only points at other
        // citations (ATT&CK writes campaign aliases this way): it is not a source.
        if url.is_none() && description.is_none() {
            continue;
        }
        let title = description.or_else(|| match (is_attack, &external_id) {
            (true, Some(x)) => Some(format!("MITRE ATT&CK {x}")),
            (false, Some(x)) => Some(format!("{} {x}", source_name.as_deref().unwrap_or_default()).trim().to_string()),
            (_, None) => source_name,
        });
        sources.push(Source { title: title.map(Into::into), publisher: None, url: url.map(Into::into), date: None });
    }
    (sources, attack_id)
}

fn identity(r: &mut Reader, o: &Selected) -> Identity {
    let name = r.text(o.fields.name, "name");
    let sectors = r.texts(o.fields.sectors, "sectors").into_iter().map(|(s, _)| s).collect();
    Identity { name: name.unwrap_or_else(|| "Unnamed identity".to_string()), sectors }
}

/// A location's place: its country's name (from `country`, else from a `name` that is a
/// country), else its own name, else its region. `None` when it names no place at all.
fn location(r: &mut Reader, o: &Selected) -> Option<String> {
    let f = &o.fields;
    let name = r.text(f.name, "name");
    let code = r.text(f.country, "country");
    let region = r.text(f.region, "region");
    code.as_deref()
        .and_then(country)
        .or_else(|| name.as_deref().and_then(country))
        .map(str::to_string)
        .or(name)
        .or(code)
        .or_else(|| region.map(|r| humanize(&r)))
}

fn actor(r: &mut Reader, o: &Selected) -> ActorInfo {
    let f = &o.fields;
    let texts = |r: &mut Reader, raw, field| r.texts(raw, field).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
    let name = r.text(f.name, "name");
    let aliases = texts(r, f.aliases, "aliases");
    let resource = r.text(f.resource_level, "resource_level");
    let mut types = texts(r, f.threat_actor_types, "threat_actor_types");
    // STIX 2.0 put the threat-actor types in `labels`.
    types.extend(texts(r, f.labels, "labels"));
    let motive = r.text(f.primary_motivation, "primary_motivation");
    let name = name.unwrap_or_else(|| format!("Unnamed {}", o.kind));
    let aliases: Vec<String> = aliases.into_iter().filter(|a| *a != name).collect();
    let kind = if resource.as_deref() == Some("government") || types.iter().any(|t| t == "nation-state") {
        ActorType::NationState
    } else if types.iter().any(|t| t == "crime-syndicate") {
        ActorType::OrganizedCrime
    } else if types.iter().any(|t| t == "activist") {
        ActorType::Hacktivist
    } else if types.iter().any(|t| t.starts_with("insider-")) {
        ActorType::Insider
    } else {
        ActorType::Unknown
    };
    let actor =
        Actor { name: name.into(), kind, location: None, aliases: aliases.into_iter().map(Into::into).collect() };
    ActorInfo { actor, motive: motive.as_deref().and_then(motive_of) }
}

/// An attack pattern as a technique: ATT&CK id (from its ATT&CK reference, else written in its
/// name), else CAPEC id, else its name. An ATT&CK pattern also defines a catalog technique.
fn pattern(r: &mut Reader, o: &Selected) -> Option<(Pattern, Option<Technique>)> {
    let name = r.text(o.fields.name, "name");
    let refs = external_refs(r, o.fields.external_references);
    let from_refs = attack_external_id(
        refs.iter().map(|x| (x.source_name.as_deref().unwrap_or_default(), x.external_id.as_deref())),
    );
    let attack_id = from_refs.filter(|id| is_attack_id(id)).or_else(|| name.as_deref().and_then(attack_id_in_name));
    if let Some(id) = attack_id.map(str::to_string) {
        let phases = kill_chain_phases(r, o.fields.kill_chain_phases);
        let phases = phases.iter().map(|(chain, phase)| (chain.as_str(), phase.as_str()));
        let technique = name.as_deref().and_then(|name| technique(&id, name, phases));
        return Some((Pattern::Attack(id), technique));
    }
    let capec = refs
        .iter()
        .find(|x| x.source_name.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("capec")))
        .and_then(|x| x.external_id.clone());
    let pattern = match (capec, name) {
        (Some(id), Some(name)) => match bare_name(&name, &id) {
            "" => Pattern::Other { name: id, framework: "CAPEC" },
            bare => Pattern::Other { name: format!("{id}: {bare}"), framework: "CAPEC" },
        },
        (Some(id), None) => Pattern::Other { name: id, framework: "CAPEC" },
        (None, Some(name)) => Pattern::Other { name, framework: "STIX" },
        (None, None) => return None,
    };
    Some((pattern, None))
}

/// `kill_chain_phases` as (kill chain, phase) pairs; incomplete phases are left out.
fn kill_chain_phases(r: &mut Reader, raw: Option<&RawValue>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, item) in r.array(raw, "kill_chain_phases").into_iter().enumerate() {
        let Some(f) = r.object(item, &format!("kill_chain_phases[{i}]")) else { continue };
        if let (Some(chain), Some(phase)) = (r.text_of(&f, "kill_chain_name"), r.text_of(&f, "phase_name")) {
            out.push((chain, phase));
        }
    }
    out
}

fn report<'a>(r: &mut Reader, o: &Selected<'a>) -> Report<'a> {
    let f = &o.fields;
    let name = r.text(f.name, "name");
    let published = r.timestamp_day(f.published, "published");
    let url = external_refs(r, f.external_references).into_iter().find_map(|x| x.url);
    let created_by = r.text(f.created_by_ref, "created_by_ref");
    let refs = r.texts(f.object_refs, "object_refs");
    Report {
        id: o.id.clone(),
        name: name.unwrap_or_else(|| format!("STIX report {}", o.id)),
        published,
        url,
        created_by,
        refs,
    }
}

/// A relationship of a type the mapping follows. One without both ends is left out with a note.
fn relationship<'a>(r: &mut Reader, o: &Selected<'a>, notes: &mut Vec<Problem>) -> Option<Relationship<'a>> {
    let f = &o.fields;
    let kind = r.text(f.relationship_type, "relationship_type").as_deref().and_then(Kind::parse)?;
    let before = r.count();
    let source = r.text(f.source_ref, "source_ref");
    let target = r.text(f.target_ref, "target_ref");
    let (source, target, source_raw, target_raw) = match (source, target, present(f.source_ref), present(f.target_ref))
    {
        (Some(source), Some(target), Some(source_raw), Some(target_raw)) => (source, target, source_raw, target_raw),
        (source, target, ..) => {
            // A mistyped end is a problem already; an absent or blank one loses only this link.
            if r.count() == before {
                for (field, end) in [("source_ref", source), ("target_ref", target)] {
                    if end.is_none() {
                        let message = format!("a {} relationship without its {field} is left out", kind.as_str());
                        notes.push(r.src().problem(o.raw.get(), Some(&o.id), Some(field), message));
                    }
                }
            }
            return None;
        }
    };
    // The description becomes a technique's note, so only incidents' relationships need it.
    let description = if is_root_id(&source) { r.text(f.description, "description") } else { None };
    let description = description.map(|d| clean_text(&d)).filter(|d| !d.is_empty());
    Some(Relationship { id: o.id.clone(), kind, source, source_raw, target, target_raw, description })
}

/// STIX `attack-motivation-ov` values that say the same as a VERIS motive; the rest
/// (accidental, dominance, unpredictable) have no honest counterpart.
fn motive_of(value: &str) -> Option<Motive> {
    match value {
        "personal-gain" => Some(Motive::Financial),
        "organizational-gain" => Some(Motive::Espionage),
        "ideology" => Some(Motive::Ideology),
        "revenge" => Some(Motive::Grudge),
        "notoriety" | "personal-satisfaction" => Some(Motive::Fun),
        "coercion" => Some(Motive::Fear),
        _ => None,
    }
}
