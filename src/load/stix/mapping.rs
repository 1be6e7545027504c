//! From a bundle's objects and relationships to incidents: each campaign and incident becomes
//! one, named as the object is named, with its victims, places, actors, techniques, sources and
//! the campaigns and incidents it is tied to.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::graph::Graph;
use super::object::{Kind, Objects, Pattern, Root};
use super::text::{humanize, summary_and_rest};
use crate::load::Parsed;
use crate::load::problem::Text;
use crate::model::{Actor, Incident, Motive, Source, TechniqueRef};

/// Adds an incident to `out` for each campaign and incident of the bundle.
pub fn incidents(objects: &Objects, graph: &Graph, src: &Text, out: &mut Parsed) {
    let file_name = Path::new(src.file).file_name().map_or(src.file.into(), |n| n.to_string_lossy());
    let roots: HashSet<&str> = objects.roots.iter().map(|r| r.id.as_str()).collect();
    let reported = report_sources(objects, &roots);
    let related = related(objects, graph, &roots);
    for root in &objects.roots {
        let (victims, locations, sectors) = victims(objects, graph, root);
        let (actors, mut motives) = actors(objects, graph, root, &roots);
        motives.extend(root.motive);
        motives.sort();
        motives.dedup();

        let victim = if !victims.is_empty() {
            victims.join(", ")
        } else if let Some(name) = &root.name {
            name.clone()
        } else {
            format!("Unnamed STIX {} {}", root.kind, root.id)
        };
        let (summary, description) = match &root.description {
            Some(d) => summary_and_rest(d),
            None => {
                let label = root.name.as_deref().map_or_else(String::new, |n| format!(" \"{n}\""));
                (format!("STIX {}{label} from {file_name}.", root.kind), None)
            }
        };
        let mut sources = root.sources.clone();
        for s in reported.get(root.id.as_str()).into_iter().flatten() {
            if !sources.iter().any(|x| same_source(x, s)) {
                sources.push(s.clone());
            }
        }
        let mut tags = vec!["stix".to_string(), root.kind.clone()];
        tags.extend(root.attack_id.clone());
        out.incidents.push((
            Incident {
                id: root.id.clone().into(),
                victim: victim.into(),
                name: root.name.clone().map(Into::into),
                date: root.date,
                location: (!locations.is_empty()).then(|| locations.join(", ").into()),
                industry: (!sectors.is_empty()).then(|| sectors.join(", ").into()),
                summary: summary.into(),
                description: description.map(Into::into),
                loss_usd: None,
                cia: None,
                motives,
                ttps: ttps(objects, graph, root),
                actors: actors.into_iter().map(Arc::new).collect(),
                sources,
                related: related
                    .get(root.id.as_str())
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                tags: tags.into_iter().map(Into::into).collect(),
            },
            src.offset_of(root.raw.get()),
        ));
    }
}

/// The targeted identities' names, the places targeted or where those identities are located,
/// and the identities' sectors; each sorted, without repeats.
fn victims<'o>(objects: &'o Objects, graph: &'o Graph, root: &Root) -> (Vec<&'o str>, Vec<&'o str>, Vec<String>) {
    let mut victims: Vec<&str> = Vec::new();
    let mut locations: Vec<&str> = Vec::new();
    let mut sectors: Vec<String> = Vec::new();
    let located = |id: &str| {
        graph.targets(id, Kind::LocatedAt).filter_map(|l| objects.locations.get(&l.target)).map(String::as_str)
    };
    for e in graph.targets(&root.id, Kind::Targets) {
        if let Some(i) = objects.identities.get(&e.target) {
            victims.push(&i.name);
            sectors.extend(i.sectors.iter().map(|s| humanize(s)));
            locations.extend(located(&e.target));
        } else if let Some(l) = objects.locations.get(&e.target) {
            locations.push(l);
        }
    }
    for list in [&mut victims, &mut locations] {
        list.sort_unstable();
        list.dedup();
    }
    sectors.sort_unstable();
    sectors.dedup();
    (victims, locations, sectors)
}

/// The actors the root is attributed to, directly or through its campaigns, each with its place,
/// and their motives.
fn actors(objects: &Objects, graph: &Graph, root: &Root, roots: &HashSet<&str>) -> (Vec<Actor>, Vec<Motive>) {
    let mut actors = Vec::new();
    let mut motives = Vec::new();
    let ids = graph.attribution(&root.id, |id| objects.actors.contains_key(id), |id| roots.contains(id));
    for id in ids {
        let Some(info) = objects.actors.get(id) else { continue };
        let mut actor = info.actor.clone();
        actor.location =
            graph.targets(id, Kind::LocatedAt).find_map(|l| objects.locations.get(&l.target)).cloned().map(Into::into);
        motives.extend(info.motive);
        actors.push(actor);
    }
    (actors, motives)
}

/// The techniques the root uses, each once, with the relationship's description as its note.
fn ttps(objects: &Objects, graph: &Graph, root: &Root) -> Vec<TechniqueRef> {
    let mut ttps: Vec<TechniqueRef> = Vec::new();
    for e in graph.targets(&root.id, Kind::Uses) {
        let Some(p) = objects.patterns.get(&e.target) else { continue };
        let note = e.description.clone();
        let t = match p {
            Pattern::Attack(id) => TechniqueRef::Attack { id: id.clone().into(), note: note.map(Into::into) },
            Pattern::Other { name, framework } => TechniqueRef::Other {
                name: name.clone().into(),
                framework: Some(framework.to_string().into()),
                note: note.map(Into::into),
            },
        };
        // Two patterns may carry the same id (a bundle mixing versions): keep the first.
        if !ttps.iter().any(|x| same_technique(x, &t)) {
            ttps.push(t);
        }
    }
    ttps
}

fn same_technique(a: &TechniqueRef, b: &TechniqueRef) -> bool {
    match (a, b) {
        (TechniqueRef::Attack { id: x, .. }, TechniqueRef::Attack { id: y, .. }) => x == y,
        (TechniqueRef::Other { name: x, .. }, TechniqueRef::Other { name: y, .. }) => x == y,
        _ => false,
    }
}

/// The same source: the same address, or the same title when neither has an address.
fn same_source(a: &Source, b: &Source) -> bool {
    match (&a.url, &b.url) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.title == b.title,
        _ => false,
    }
}

/// Each report as a source of the campaigns and incidents it names: its name, its publisher
/// (the identity that wrote it), its publication date and its first address.
fn report_sources<'o>(objects: &'o Objects, roots: &HashSet<&str>) -> HashMap<&'o str, Vec<Source>> {
    let mut by_root: HashMap<&str, Vec<Source>> = HashMap::new();
    for report in &objects.reports {
        let source = Source {
            title: Some(report.name.clone().into()),
            publisher: report
                .created_by
                .as_ref()
                .and_then(|id| objects.identities.get(id))
                .map(|i| i.name.clone().into()),
            url: report.url.clone().map(Into::into),
            date: report.published,
        };
        for (id, _) in &report.refs {
            if roots.contains(id.as_str()) {
                let list = by_root.entry(id.as_str()).or_default();
                if !list.iter().any(|x| same_source(x, &source)) {
                    list.push(source.clone());
                }
            }
        }
    }
    by_root
}

/// Campaigns and incidents attributed to one another, linked both ways, in file order.
fn related<'o>(objects: &'o Objects, graph: &'o Graph, roots: &HashSet<&str>) -> HashMap<&'o str, Vec<String>> {
    let mut links: HashMap<&str, Vec<String>> = HashMap::new();
    let mut link = |from: &'o str, to: &'o str| {
        let list = links.entry(from).or_default();
        if !list.iter().any(|x| x == to) {
            list.push(to.to_string());
        }
    };
    for root in &objects.roots {
        for e in graph.targets(&root.id, Kind::AttributedTo) {
            if e.target != root.id && roots.contains(e.target.as_str()) {
                link(&root.id, &e.target);
                link(&e.target, &root.id);
            }
        }
    }
    links
}
