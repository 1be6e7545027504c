//! STIX 2.0 / 2.1 bundles (ATT&CK, OpenCTI, MISP exports): each `campaign` and `incident` object
//! becomes an incident, with victims, locations, actors and techniques followed through the
//! bundle's relationships. Objects are read into typed structs holding only the fields used, and
//! each field is converted on its own, so a wrong type names the object, the field and the place.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::Parsed;
use super::attack::attack_external_id;
use super::country::country_name;
use super::problem::{Problem, Text, json_kind};
use crate::model::{Actor, ActorType, Incident, Motive, PartialDate, Source, TechniqueRef, is_attack_id, sanitize};

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
    aliases: Option<&'a RawValue>,
    #[serde(borrow)]
    external_references: Option<&'a RawValue>,
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
    relationship_type: Option<&'a RawValue>,
    #[serde(borrow)]
    source_ref: Option<&'a RawValue>,
    #[serde(borrow)]
    target_ref: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ExternalRef {
    source_name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    external_id: Option<String>,
}

/// The object types this loader reads; everything else (indicators, malware, ATT&CK's own
/// extensions) is skipped without looking at its fields.
const USED: &[&str] = &[
    "campaign",
    "incident",
    "identity",
    "location",
    "intrusion-set",
    "threat-actor",
    "attack-pattern",
    "relationship",
];

/// Relationship types that feed the mapping.
const RELATIONSHIPS: &[&str] = &["targets", "attributed-to", "uses", "located-at"];

/// Parses one STIX bundle.
pub fn parse(file: &str, text: &str, out: &mut Parsed) {
    let src = Text::new(file, text);
    let body = text.trim_start_matches('\u{feff}');
    let mut reader = Reader { src: &src, problems: Vec::new(), bad: Vec::new() };
    let objects = match serde_json::from_str::<Bundle>(body) {
        Ok(bundle) => {
            if let Some(kind_raw) = bundle.kind
                && serde_json::from_str::<&str>(kind_raw.get()).ok() != Some("bundle")
            {
                let found =
                    serde_json::from_str::<String>(kind_raw.get()).unwrap_or_else(|_| json_kind(kind_raw).to_string());
                let message = format!("expected a STIX bundle (\"type\": \"bundle\"), found {found:?}");
                out.problems.push(src.problem(kind_raw.get(), None, Some("type"), message));
                return;
            }
            let Some(objects) = bundle.objects else {
                let message = "a STIX bundle needs an \"objects\" array";
                out.problems.push(src.problem(body.trim_start(), None, Some("objects"), message));
                return;
            };
            objects
        }
        Err(e) if e.classify() == serde_json::error::Category::Data => match reader.loose(body) {
            Some(objects) => objects,
            None => {
                let mut p = src.json_error(body, &e);
                p.message = format!("expected a STIX bundle object: {}", p.message);
                out.problems.push(p);
                return;
            }
        },
        Err(e) => return out.problems.push(src.json_error(body, &e)),
    };
    let graph = reader.graph(objects);
    out.problems.append(&mut reader.problems);
    out.rejected.append(&mut reader.bad);
    graph.incidents(&src, out);
}

/// One object of the bundle, with its raw text for positions.
struct Object<'a> {
    /// Where the object is reported: its `type` field.
    raw: &'a RawValue,
    kind: String,
    id: String,
    fields: RawObject<'a>,
}

/// Reads objects and their fields, collecting problems.
struct Reader<'s> {
    src: &'s Text<'s>,
    problems: Vec<Problem>,
    /// Ids (or positions) of objects left out because of their problems.
    bad: Vec<String>,
}

/// What an incident needs to know about the objects it points to.
#[derive(Default)]
struct Graph<'a> {
    /// Campaigns and incidents, in file order.
    roots: Vec<Root<'a>>,
    identities: HashMap<String, Identity>,
    locations: HashMap<String, String>,
    actors: HashMap<String, ActorInfo>,
    patterns: HashMap<String, Pattern>,
    /// Relationships by source id: (type, target id, description), without repeats.
    edges: HashMap<String, Vec<Edge>>,
}

struct Root<'a> {
    raw: &'a RawValue,
    kind: String,
    id: String,
    name: Option<String>,
    description: Option<String>,
    date: PartialDate,
    motive: Option<Motive>,
    sources: Vec<Source>,
    attack_id: Option<String>,
}

struct Identity {
    name: String,
    sectors: Vec<String>,
}

struct ActorInfo {
    actor: Actor,
    motive: Option<Motive>,
}

enum Pattern {
    Attack(String),
    Other { name: String, framework: &'static str },
}

struct Edge {
    kind: String,
    target: String,
    description: Option<String>,
}

impl Reader<'_> {
    fn problem(&mut self, at: &RawValue, record: &str, field: &str, message: impl Into<String>) {
        let p = self.src.problem(at.get(), Some(record), Some(field), message);
        self.problems.push(p);
    }

    /// A problem with an object that has no field to point at.
    fn src_problem(&mut self, record: &str, field: &str, message: &str) {
        self.problems.push(Problem {
            file: self.src.file.to_string(),
            position: None,
            record: Some(record.to_string()),
            field: Some(field.to_string()),
            message: message.to_string(),
        });
    }

    /// Converts one field; a wrong type is a problem naming the object and the field.
    fn field<T: DeserializeOwned>(
        &mut self,
        raw: Option<&RawValue>,
        record: &str,
        field: &str,
        expected: &str,
    ) -> Result<Option<T>, ()> {
        let Some(raw) = raw.filter(|r| r.get() != "null") else {
            return Ok(None);
        };
        serde_json::from_str(raw.get()).map(Some).map_err(|_| {
            self.problem(raw, record, field, format!("expected {expected}, found {}", json_kind(raw)));
        })
    }

    fn text(&mut self, raw: Option<&RawValue>, record: &str, field: &str) -> Result<Option<String>, ()> {
        let s: Option<String> = self.field(raw, record, field, "a string")?;
        Ok(s.map(|s| sanitize(&s).trim().to_string()).filter(|s| !s.is_empty()))
    }

    fn texts(&mut self, raw: Option<&RawValue>, record: &str, field: &str) -> Result<Vec<String>, ()> {
        let v: Option<Vec<String>> = self.field(raw, record, field, "an array of strings")?;
        Ok(v.unwrap_or_default().iter().map(|s| sanitize(s).trim().to_string()).filter(|s| !s.is_empty()).collect())
    }

    /// Reads the objects of a bundle one by one, reporting those that are not objects. `None`
    /// when the bundle itself is at fault (no array of objects).
    fn loose<'a>(&mut self, body: &'a str) -> Option<Vec<RawObject<'a>>> {
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
                    let p = self.src.problem(raw.get(), None, Some(&field), message);
                    self.problems.push(p);
                    self.bad.push(field);
                }
            }
        }
        Some(out)
    }

    /// The objects worth reading: known types, not revoked or deprecated, the newest version of each id.
    fn objects<'a>(&mut self, raws: Vec<RawObject<'a>>) -> Vec<Object<'a>> {
        let mut out: Vec<Object<'a>> = Vec::new();
        let mut by_id: HashMap<String, (usize, String)> = HashMap::new();
        for (i, fields) in raws.into_iter().enumerate() {
            // Most objects of a large bundle are of no use here: tell them apart without allocating.
            if let Some(kind) = plain_str(fields.kind)
                && (!USED.contains(&kind) || (kind == "relationship" && !useful_relationship(&fields)))
            {
                continue;
            }
            let record = format!("objects[{i}]");
            let Some(raw) = fields.kind.or(fields.id) else {
                self.src_problem(&record, "type", "missing required fields \"type\" and \"id\"");
                self.bad.push(record);
                continue;
            };
            let Ok(Some(kind)) = self.field::<String>(fields.kind, &record, "type", "a string") else {
                if fields.kind.is_none() {
                    self.problem(raw, &record, "type", "missing required field");
                }
                self.bad.push(record);
                continue;
            };
            if !USED.contains(&kind.as_str()) {
                continue;
            }
            let Ok(Some(id)) = self.field::<String>(fields.id, &record, "id", "a string") else {
                if fields.id.is_none() {
                    self.problem(raw, &record, "id", "missing required field");
                }
                self.bad.push(record);
                continue;
            };
            let flags = (
                self.field::<bool>(fields.revoked, &id, "revoked", "true or false"),
                self.field::<bool>(fields.x_mitre_deprecated, &id, "x_mitre_deprecated", "true or false"),
                self.field::<String>(fields.modified, &id, "modified", "a timestamp string"),
            );
            let (Ok(revoked), Ok(deprecated), Ok(modified)) = flags else {
                self.bad.push(id);
                continue;
            };
            if revoked == Some(true) || deprecated == Some(true) {
                continue;
            }
            // A bundle may carry several versions of an object: the newest one counts.
            let modified = modified.unwrap_or_default();
            match by_id.get_mut(&id) {
                Some((at, newest)) if modified > *newest => {
                    *newest = modified;
                    out[*at] = Object { raw, kind, id, fields };
                }
                Some(_) => {}
                None => {
                    by_id.insert(id.clone(), (out.len(), modified));
                    out.push(Object { raw, kind, id, fields });
                }
            }
        }
        out
    }

    fn graph<'a>(&mut self, raws: Vec<RawObject<'a>>) -> Graph<'a> {
        let mut g = Graph::default();
        let mut seen_edges: HashSet<(String, String, String)> = HashSet::new();
        for o in self.objects(raws) {
            let ok = match o.kind.as_str() {
                "campaign" | "incident" => self.root(&o).map(|r| g.roots.push(r)),
                "identity" => self.identity(&o).map(|i| {
                    g.identities.insert(o.id.clone(), i);
                }),
                "location" => self.location(&o).map(|l| {
                    g.locations.insert(o.id.clone(), l);
                }),
                "intrusion-set" | "threat-actor" => self.actor(&o).map(|a| {
                    g.actors.insert(o.id.clone(), a);
                }),
                "attack-pattern" => self.pattern(&o).map(|p| {
                    if let Some(p) = p {
                        g.patterns.insert(o.id.clone(), p);
                    }
                }),
                _ => self.edge(&o).map(|e| {
                    if let Some((source, edge)) = e
                        && seen_edges.insert((source.clone(), edge.kind.clone(), edge.target.clone()))
                    {
                        g.edges.entry(source).or_default().push(edge);
                    }
                }),
            };
            if ok.is_err() {
                self.bad.push(o.id);
            }
        }
        g
    }

    fn root<'a>(&mut self, o: &Object<'a>) -> Result<Root<'a>, ()> {
        let f = &o.fields;
        let name = self.text(f.name, &o.id, "name");
        let description = self.text(f.description, &o.id, "description");
        let description = description.map(|d| d.map(|d| clean_text(&d)).filter(|d| !d.is_empty()));
        let motive = self.text(f.primary_motivation, &o.id, "primary_motivation");
        let refs = self.refs(f.external_references, &o.id);
        let date = self.date(o);
        let (name, description, motive, (sources, attack_id), date) = (name?, description?, motive?, refs?, date?);
        Ok(Root {
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
    fn date(&mut self, o: &Object) -> Result<PartialDate, ()> {
        let (field, raw) = match (o.fields.first_seen, o.fields.created) {
            (Some(raw), _) if raw.get() != "null" => ("first_seen", raw),
            (_, Some(raw)) if raw.get() != "null" => ("created", raw),
            _ => {
                self.problem(o.raw, &o.id, "first_seen", "no date: expected \"first_seen\" or \"created\"");
                return Err(());
            }
        };
        let stamp: String = self.field(Some(raw), &o.id, field, "a timestamp string")?.unwrap_or_default();
        let day = stamp.get(..10).unwrap_or(&stamp);
        PartialDate::parse(day).map_err(|e| {
            self.problem(raw, &o.id, field, format!("{e} (from the timestamp {stamp:?})"));
        })
    }

    /// Sources from `external_references`, and the ATT&CK id of the object when it has one.
    fn refs(&mut self, raw: Option<&RawValue>, id: &str) -> Result<(Vec<Source>, Option<String>), ()> {
        let refs: Vec<ExternalRef> =
            self.field(raw, id, "external_references", "an array of references")?.unwrap_or_default();
        let mut sources = Vec::new();
        let mut attack_id = None;
        for r in refs {
            let clean = |s: Option<String>| s.map(|s| clean_text(&sanitize(&s))).filter(|s| !s.is_empty());
            let (source_name, description, url) = (clean(r.source_name), clean(r.description), clean(r.url));
            let external_id = clean(r.external_id);
            let is_attack = source_name.as_deref().is_some_and(|s| s.starts_with("mitre-") && s.ends_with("attack"));
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
                (false, Some(x)) => {
                    Some(format!("{} {x}", source_name.as_deref().unwrap_or_default()).trim().to_string())
                }
                (_, None) => source_name,
            });
            sources.push(Source { title, publisher: None, url, date: None });
        }
        Ok((sources, attack_id))
    }

    fn identity(&mut self, o: &Object) -> Result<Identity, ()> {
        let name = self.text(o.fields.name, &o.id, "name");
        let sectors = self.texts(o.fields.sectors, &o.id, "sectors");
        let (name, sectors) = (name?, sectors?);
        Ok(Identity { name: name.unwrap_or_else(|| "Unnamed identity".to_string()), sectors })
    }

    /// A location's label: its name, else its country's name, else its region.
    fn location(&mut self, o: &Object) -> Result<String, ()> {
        let f = &o.fields;
        let (name, country, region) = (
            self.text(f.name, &o.id, "name"),
            self.text(f.country, &o.id, "country"),
            self.text(f.region, &o.id, "region"),
        );
        let (name, country, region) = (name?, country?, region?);
        Ok(name
            .or_else(|| country.map(|c| country_name(&c).map_or(c, str::to_string)))
            .or_else(|| region.map(|r| humanize(&r)))
            .unwrap_or_else(|| "Unnamed location".to_string()))
    }

    fn actor(&mut self, o: &Object) -> Result<ActorInfo, ()> {
        let f = &o.fields;
        let name = self.text(f.name, &o.id, "name");
        let aliases = self.texts(f.aliases, &o.id, "aliases");
        let resource = self.text(f.resource_level, &o.id, "resource_level");
        let types = self.texts(f.threat_actor_types, &o.id, "threat_actor_types");
        // STIX 2.0 put the threat-actor types in `labels`.
        let labels = self.texts(f.labels, &o.id, "labels");
        let motive = self.text(f.primary_motivation, &o.id, "primary_motivation");
        let (name, aliases, resource, mut types, labels, motive) =
            (name?, aliases?, resource?, types?, labels?, motive?);
        types.extend(labels);
        let name = name.unwrap_or_else(|| format!("Unnamed {}", o.kind));
        let aliases = aliases.into_iter().filter(|a| *a != name).collect();
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
        Ok(ActorInfo {
            actor: Actor { name, kind, location: None, aliases },
            motive: motive.as_deref().and_then(motive_of),
        })
    }

    /// An attack pattern as a technique: ATT&CK id, else CAPEC id, else its name.
    fn pattern(&mut self, o: &Object) -> Result<Option<Pattern>, ()> {
        let name = self.text(o.fields.name, &o.id, "name");
        let refs: Result<Option<Vec<ExternalRef>>, ()> =
            self.field(o.fields.external_references, &o.id, "external_references", "an array of references");
        let (name, refs) = (name?, refs?.unwrap_or_default());
        let ids = refs.iter().map(|r| (r.source_name.as_deref().unwrap_or_default(), r.external_id.as_deref()));
        if let Some(id) = attack_external_id(ids).map(|id| sanitize(id).trim().to_string())
            && is_attack_id(&id)
        {
            return Ok(Some(Pattern::Attack(id)));
        }
        let capec = refs
            .iter()
            .find(|r| r.source_name.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("capec")))
            .and_then(|r| r.external_id.as_deref())
            .map(|id| sanitize(id).trim().to_string())
            .filter(|id| !id.is_empty());
        Ok(match (capec, name) {
            (Some(id), Some(name)) if name != id => {
                Some(Pattern::Other { name: format!("{id}: {name}"), framework: "CAPEC" })
            }
            (Some(id), _) => Some(Pattern::Other { name: id, framework: "CAPEC" }),
            (None, Some(name)) => Some(Pattern::Other { name, framework: "STIX" }),
            (None, None) => None,
        })
    }

    fn edge(&mut self, o: &Object) -> Result<Option<(String, Edge)>, ()> {
        let f = &o.fields;
        let kind = self.text(f.relationship_type, &o.id, "relationship_type")?;
        let Some(kind) = kind.filter(|k| RELATIONSHIPS.contains(&k.as_str())) else {
            return Ok(None);
        };
        let source = self.text(f.source_ref, &o.id, "source_ref");
        let target = self.text(f.target_ref, &o.id, "target_ref");
        let (Some(source), Some(target)) = (source?, target?) else {
            return Ok(None);
        };
        // The description becomes a technique's note, so only incidents' relationships need it
        // (STIX ids start with their object's type).
        let description = if source.starts_with("campaign--") || source.starts_with("incident--") {
            self.text(f.description, &o.id, "description")?
        } else {
            None
        };
        let description = description.map(|d| clean_text(&d)).filter(|d| !d.is_empty());
        Ok(Some((source, Edge { kind, target, description })))
    }
}

impl Graph<'_> {
    fn targets<'g>(&'g self, source: &str, kind: &'g str) -> impl Iterator<Item = &'g Edge> + 'g {
        self.edges.get(source).into_iter().flatten().filter(move |e| e.kind == kind)
    }

    fn incidents(&self, src: &Text, out: &mut Parsed) {
        let file_name = Path::new(src.file).file_name().map_or(src.file.into(), |n| n.to_string_lossy());
        for root in &self.roots {
            let mut victims: Vec<&str> = Vec::new();
            let mut locations: Vec<&str> = Vec::new();
            let mut sectors: Vec<String> = Vec::new();
            for e in self.targets(&root.id, "targets") {
                if let Some(i) = self.identities.get(&e.target) {
                    victims.push(&i.name);
                    sectors.extend(i.sectors.iter().map(|s| humanize(s)));
                } else if let Some(l) = self.locations.get(&e.target) {
                    locations.push(l);
                }
            }
            victims.sort_unstable();
            victims.dedup();
            locations.sort_unstable();
            locations.dedup();
            sectors.sort_unstable();
            sectors.dedup();

            let mut motives: Vec<Motive> = root.motive.into_iter().collect();
            let mut actors: Vec<Actor> = Vec::new();
            for e in self.targets(&root.id, "attributed-to") {
                let Some(info) = self.actors.get(&e.target) else {
                    continue;
                };
                let mut actor = info.actor.clone();
                actor.location =
                    self.targets(&e.target, "located-at").find_map(|l| self.locations.get(&l.target)).cloned();
                motives.extend(info.motive);
                actors.push(actor);
            }
            motives.sort();
            motives.dedup();

            let mut ttps: Vec<TechniqueRef> = Vec::new();
            for e in self.targets(&root.id, "uses") {
                let Some(p) = self.patterns.get(&e.target) else {
                    continue;
                };
                let note = e.description.clone();
                let t = match p {
                    Pattern::Attack(id) => TechniqueRef::Attack { id: id.clone(), note },
                    Pattern::Other { name, framework } => {
                        TechniqueRef::Other { name: name.clone(), framework: Some(framework.to_string()), note }
                    }
                };
                // Two patterns may carry the same id (a bundle mixing versions): keep the first.
                if !ttps.iter().any(|x| same_technique(x, &t)) {
                    ttps.push(t);
                }
            }

            let victim = if !victims.is_empty() {
                victims.join(", ")
            } else if let Some(name) = &root.name {
                name.clone()
            } else {
                format!("Unnamed STIX {} {}", root.kind, root.id)
            };
            let label = root.name.as_deref().map_or_else(String::new, |n| format!(" \"{n}\""));
            let (summary, description) = match &root.description {
                Some(d) => {
                    let first = d.split("\n\n").map(str::trim).find(|p| !p.is_empty()).unwrap_or(d).to_string();
                    let rest = (first.len() < d.len()).then(|| d.clone());
                    (first, rest)
                }
                None => (format!("STIX {}{label} from {file_name}.", root.kind), None),
            };
            let mut tags = vec!["stix".to_string(), root.kind.clone()];
            tags.extend(root.attack_id.clone());
            out.incidents.push((
                Incident {
                    id: root.id.clone(),
                    victim,
                    name: root.name.clone(),
                    date: root.date,
                    location: (!locations.is_empty()).then(|| locations.join(", ")),
                    industry: (!sectors.is_empty()).then(|| sectors.join(", ")),
                    summary,
                    description,
                    loss_usd: None,
                    cia: None,
                    motives,
                    ttps,
                    actors,
                    sources: root.sources.clone(),
                    related: Vec::new(),
                    tags,
                },
                src.offset_of(root.raw.get()),
            ));
        }
    }
}

/// A string value without escapes, borrowed from the text; `None` for anything else.
fn plain_str(raw: Option<&RawValue>) -> Option<&str> {
    serde_json::from_str::<&str>(raw?.get()).ok()
}

/// Whether a relationship can feed an incident: one from a campaign or an incident, or an actor's
/// `located-at`. Relationships this cannot tell (escaped or mistyped fields) are read in full.
fn useful_relationship(fields: &RawObject) -> bool {
    let (Some(kind), Some(source)) = (plain_str(fields.relationship_type), plain_str(fields.source_ref)) else {
        return true;
    };
    RELATIONSHIPS.contains(&kind)
        && (kind == "located-at" || source.starts_with("campaign--") || source.starts_with("incident--"))
}

fn same_technique(a: &TechniqueRef, b: &TechniqueRef) -> bool {
    match (a, b) {
        (TechniqueRef::Attack { id: x, .. }, TechniqueRef::Attack { id: y, .. }) => x == y,
        (TechniqueRef::Other { name: x, .. }, TechniqueRef::Other { name: y, .. }) => x == y,
        _ => false,
    }
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

/// `finance-sector` → `Finance sector`, `eastern-asia` → `Eastern asia`.
fn humanize(s: &str) -> String {
    let s = s.replace(['-', '_'], " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// ATT&CK descriptions are Markdown with citation markers: `[Lazarus Group](https://…)` reads as
/// `Lazarus Group`, and `(Citation: …)` markers (the sources are listed separately) are dropped.
fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("(Citation:")
            && let Some(end) = after.find(')')
        {
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('[')
            && let Some(close) = after.find("](")
            && !after[..close].contains(['[', '\n'])
            && let Some(end) = after[close + 2..].find(')')
            && !after[close + 2..close + 2 + end].contains(char::is_whitespace)
        {
            out.push_str(&after[..close]);
            rest = &after[close + 3 + end..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!((i.victim.as_str(), i.date.to_string()), ("Unnamed STIX incident incident--1", "2022-05-06".into()));
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
    fn markdown_links_and_citations_are_reduced_to_text() {
        assert_eq!(
            clean_text("[A](https://x) b (Citation: C)(Citation: D) [not a link] [x](y z)"),
            "A b  [not a link] [x](y z)"
        );
    }
}
