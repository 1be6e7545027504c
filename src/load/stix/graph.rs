//! The relationships between a bundle's objects, by source and without repeats, and the ways the
//! mapping follows them. A reference to an object that is not in the bundle is left out with a
//! note at the reference.

use std::collections::{HashMap, HashSet, VecDeque};

use super::object::{Kind, Objects, is_root_id};
use crate::load::problem::{Problem, Text};

pub struct Edge {
    pub kind: Kind,
    pub target: String,
    /// The relationship's description, for relationships of campaigns and incidents.
    pub description: Option<String>,
}

#[derive(Default)]
pub struct Graph {
    edges: HashMap<String, Vec<Edge>>,
}

impl Graph {
    /// The graph of the relationships read, with a note for each dangling reference: a
    /// relationship's end, or a report's reference to a campaign or incident, that is not in the
    /// bundle.
    pub fn new(objects: &Objects, src: &Text, notes: &mut Vec<Problem>) -> Self {
        let mut graph = Graph::default();
        let mut seen: HashSet<(&str, Kind, &str)> = HashSet::new();
        for rel in &objects.relationships {
            let mut dangling = false;
            for (field, id, raw) in
                [("source_ref", &rel.source, rel.source_raw), ("target_ref", &rel.target, rel.target_raw)]
            {
                if !objects.ids.contains(id.as_str()) {
                    let message =
                        format!("{id:?} is not in the bundle: the {} relationship is left out", rel.kind.as_str());
                    notes.push(src.problem(raw.get(), Some(&rel.id), Some(field), message));
                    dangling = true;
                }
            }
            if dangling || !seen.insert((&rel.source, rel.kind, &rel.target)) {
                continue;
            }
            let edge = Edge { kind: rel.kind, target: rel.target.clone(), description: rel.description.clone() };
            graph.edges.entry(rel.source.clone()).or_default().push(edge);
        }
        for report in &objects.reports {
            for (i, (id, raw)) in report.refs.iter().enumerate() {
                if is_root_id(id) && !objects.ids.contains(id.as_str()) {
                    let field = format!("object_refs[{i}]");
                    notes.push(src.problem(
                        raw.get(),
                        Some(&report.id),
                        Some(&field),
                        format!("{id:?} is not in the bundle"),
                    ));
                }
            }
        }
        graph
    }

    /// The relationships of one kind from an object, in file order.
    pub fn targets<'g>(&'g self, source: &str, kind: Kind) -> impl Iterator<Item = &'g Edge> + use<'g> {
        self.edges.get(source).into_iter().flatten().filter(move |e| e.kind == kind)
    }

    /// The actors a campaign or incident is attributed to: directly, or through the campaigns and
    /// incidents it is attributed to (incident → campaign → intrusion set), nearest first. Each
    /// object is visited once, so a loop of attributions ends and names no actor twice.
    pub fn attribution<'g>(
        &'g self,
        root: &'g str,
        is_actor: impl Fn(&str) -> bool,
        is_root: impl Fn(&str) -> bool,
    ) -> Vec<&'g str> {
        let mut actors = Vec::new();
        let mut seen: HashSet<&str> = HashSet::from([root]);
        let mut queue = VecDeque::from([root]);
        while let Some(id) = queue.pop_front() {
            for e in self.targets(id, Kind::AttributedTo) {
                let target = e.target.as_str();
                if !seen.insert(target) {
                    continue;
                }
                if is_actor(target) {
                    actors.push(target);
                } else if is_root(target) {
                    queue.push_back(target);
                }
            }
        }
        actors
    }
}
