//! An ATT&CK Navigator layer (layer format 4.5) of the techniques a result set uses: each
//! technique scored by the number of incidents that use it, under each of its tactics, with those
//! incidents' ids in its comment.
//!
//! Navigator refuses or misdraws layers it cannot place, so only what it can open goes in: ids
//! the technique catalog knows, of one domain, and sub-techniques beside their parent, which is
//! set to show them. Everything left out is reported in notes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;

use super::Selection;
use crate::model::{Catalog, Incident, TechniqueRef};

/// The layer format written, and the releases it is written for.
pub const LAYER_VERSION: &str = "4.5";
pub const ATTACK_VERSION: &str = "18";
pub const NAVIGATOR_VERSION: &str = "5.1.0";

/// How many incident ids a technique's comment names before it only counts the rest.
const COMMENT_IDS: usize = 50;
/// How many technique ids a note names before it only counts the rest.
const NOTE_IDS: usize = 12;

/// An ATT&CK domain: one matrix of Navigator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Domain {
    Enterprise,
    Ics,
}

impl Domain {
    /// The domain a technique id belongs to: ICS ids are `T0800` to `T0899`, enterprise ids
    /// `T1001` onwards.
    pub fn of(id: &str) -> Domain {
        if id.starts_with("T08") { Domain::Ics } else { Domain::Enterprise }
    }

    /// As Navigator names it in a layer's `domain`.
    pub fn layer_name(self) -> &'static str {
        match self {
            Domain::Enterprise => "enterprise-attack",
            Domain::Ics => "ics-attack",
        }
    }

    /// As analysts say it.
    pub fn title(self) -> &'static str {
        match self {
            Domain::Enterprise => "enterprise",
            Domain::Ics => "ICS",
        }
    }
}

/// A layer and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub layer: LayerFile,
    pub domain: Domain,
    /// ATT&CK ids the catalog does not know, with the number of incidents that use each.
    pub unknown: BTreeMap<String, usize>,
    /// Techniques of the other domain, with the number of incidents that use each.
    pub other_domain: BTreeMap<String, usize>,
    /// Incidents that name techniques of other frameworks (VERIS actions), which ATT&CK has no
    /// place for.
    pub not_attack: usize,
}

/// The JSON of a layer file, in the order of the format's property table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerFile {
    pub name: String,
    pub versions: Versions,
    pub domain: &'static str,
    pub description: String,
    /// 3: the highest score first within each tactic.
    pub sorting: u8,
    pub layout: Layout,
    pub techniques: Vec<TechniqueEntry>,
    pub gradient: Gradient,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    pub attack: &'static str,
    pub navigator: &'static str,
    pub layer: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub layout: &'static str,
    #[serde(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TechniqueEntry {
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
    /// The tactic's short name (`initial-access`); absent when the catalog records none, so the
    /// entry applies under every tactic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    /// Incidents that use the technique; absent on a parent shown only for its sub-techniques.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    pub show_subtechniques: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: [&'static str; 2],
    pub min_value: u64,
    pub max_value: u64,
}

impl Layer {
    /// The layer of a selection. `domain` chooses the matrix; `None` takes enterprise unless
    /// every technique the catalog knows is an ICS one.
    pub fn build(selection: &Selection, domain: Option<Domain>) -> Layer {
        let catalog = &selection.corpus.dataset.catalog;
        let mut users: Users = BTreeMap::new();
        let mut not_attack = 0;
        for inc in selection.incidents() {
            let mut other = false;
            for t in &inc.ttps {
                match t {
                    TechniqueRef::Attack { id, .. } => {
                        let list = users.entry(id).or_default();
                        if !list.last().is_some_and(|last| std::ptr::eq(*last, inc)) {
                            list.push(inc);
                        }
                    }
                    TechniqueRef::Other { .. } => other = true,
                }
            }
            not_attack += other as usize;
        }

        let mut unknown = BTreeMap::new();
        let mut known: BTreeMap<Domain, Vec<&str>> = BTreeMap::new();
        for &id in users.keys() {
            if vouched(catalog, id, &users) {
                known.entry(Domain::of(id)).or_default().push(id);
            } else {
                unknown.insert(id.to_string(), users[id].len());
            }
        }
        let domain = domain.unwrap_or(if known.keys().eq([&Domain::Ics]) { Domain::Ics } else { Domain::Enterprise });
        let other_domain = known
            .iter()
            .filter(|(d, _)| **d != domain)
            .flat_map(|(_, ids)| ids.iter().map(|&id| (id.to_string(), users[id].len())))
            .collect();

        let mut entries: BTreeMap<(String, Option<String>), TechniqueEntry> = BTreeMap::new();
        for &id in known.get(&domain).map_or(&[][..], Vec::as_slice) {
            let incidents = &users[id];
            for tactic in tactics(catalog, id, &users) {
                entries.insert(
                    (id.to_string(), tactic.clone()),
                    TechniqueEntry {
                        technique_id: id.to_string(),
                        tactic,
                        score: Some(incidents.len() as u64),
                        comment: comment(incidents),
                        show_subtechniques: false,
                    },
                );
            }
        }
        // Navigator draws a sub-technique only inside its parent's cell, under the same tactic.
        let subs: Vec<(String, Option<String>)> = entries.keys().filter(|(id, _)| id.contains('.')).cloned().collect();
        let parents: BTreeSet<String> = subs.iter().filter_map(|(id, _)| parent(id)).map(str::to_string).collect();
        for (id, tactic) in subs {
            if let Some(p) = parent(&id) {
                entries.entry((p.to_string(), tactic.clone())).or_insert_with(|| TechniqueEntry {
                    technique_id: p.to_string(),
                    tactic,
                    score: None,
                    comment: String::new(),
                    show_subtechniques: true,
                });
            }
        }
        for entry in entries.values_mut() {
            entry.show_subtechniques |= parents.contains(&entry.technique_id);
        }

        let techniques: Vec<TechniqueEntry> = entries.into_values().collect();
        let highest = techniques.iter().filter_map(|t| t.score).max().unwrap_or(0);
        let query = selection.query.trim();
        let incidents = selection.hits.len();
        let layer = LayerFile {
            name: if query.is_empty() { "incidents".to_string() } else { format!("incidents: {query}") },
            versions: Versions { attack: ATTACK_VERSION, navigator: NAVIGATOR_VERSION, layer: LAYER_VERSION },
            domain: domain.layer_name(),
            description: format!(
                "ATT&CK {} techniques of {incidents} incident{}. Query: {}. Data: {}. Score: the number of those incidents that used the technique.",
                domain.title(),
                if incidents == 1 { "" } else { "s" },
                selection.query_or_all(),
                selection.corpus.dataset.label,
            ),
            sorting: 3,
            layout: Layout { layout: "side", show_id: true, show_name: true },
            techniques,
            // Navigator requires the top of the gradient above its bottom.
            gradient: Gradient { colors: ["#ffffff", "#ff6666"], min_value: 0, max_value: highest.max(1) },
        };
        Layer { layer, domain, unknown, other_domain, not_attack }
    }

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &self.layer).map_err(io::Error::from)?;
        writeln!(out)
    }

    /// One line for each kind of thing left out, naming it.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let list = |m: &BTreeMap<String, usize>| {
            let mut named: Vec<String> = m
                .iter()
                .take(NOTE_IDS)
                .map(|(id, n)| format!("{id} ({n} incident{})", if *n == 1 { "" } else { "s" }))
                .collect();
            if m.len() > NOTE_IDS {
                named.push(format!("and {} more", m.len() - NOTE_IDS));
            }
            named.join(", ")
        };
        let techniques = |n: usize| if n == 1 { "1 technique".to_string() } else { format!("{n} techniques") };
        if !self.unknown.is_empty() {
            notes.push(format!(
                "left out of the layer: {} not in the technique catalog: {}",
                techniques(self.unknown.len()),
                list(&self.unknown)
            ));
        }
        if !self.other_domain.is_empty() {
            let other = match self.domain {
                Domain::Enterprise => Domain::Ics,
                Domain::Ics => Domain::Enterprise,
            };
            notes.push(format!(
                "left out of the {} layer (a layer holds one domain): {} of the {} domain: {}",
                self.domain.title(),
                techniques(self.other_domain.len()),
                other.title(),
                list(&self.other_domain)
            ));
        }
        if self.not_attack > 0 {
            notes.push(format!(
                "{} incident{} name techniques of other frameworks (VERIS), which an ATT&CK layer has no place for",
                self.not_attack,
                if self.not_attack == 1 { "" } else { "s" }
            ));
        }
        notes
    }
}

/// Each technique id used, with the incidents that use it in result order, each once.
type Users<'a> = BTreeMap<&'a str, Vec<&'a Incident>>;

/// Whether the layer can hold this id: the catalog knows it, or it is the parent of a used
/// sub-technique the catalog knows (a small catalog may hold only the techniques in use).
fn vouched(catalog: &Catalog, id: &str, users: &Users) -> bool {
    catalog.get(id).is_some() || subtechniques(catalog, id, users).next().is_some()
}

/// The used sub-techniques of `id` that the catalog knows.
fn subtechniques<'a>(
    catalog: &'a Catalog,
    id: &'a str,
    users: &'a Users,
) -> impl Iterator<Item = &'a crate::model::Technique> + 'a {
    users.keys().filter(move |k| parent(k) == Some(id)).filter_map(|k| catalog.get(k))
}

/// The tactics to place a technique under: the catalog's, else those of its known sub-techniques;
/// `[None]` when there are none, which Navigator reads as every tactic of the technique.
fn tactics(catalog: &Catalog, id: &str, users: &Users) -> Vec<Option<String>> {
    let from_catalog = catalog.get(id).map(|t| t.tactics.clone()).unwrap_or_default();
    let tactics: BTreeSet<String> = if from_catalog.is_empty() {
        subtechniques(catalog, id, users).flat_map(|t| t.tactics.iter().cloned()).collect()
    } else {
        from_catalog.into_iter().collect()
    };
    if tactics.is_empty() { vec![None] } else { tactics.into_iter().map(Some).collect() }
}

/// `T1566` of `T1566.001`.
fn parent(id: &str) -> Option<&str> {
    id.split_once('.').map(|(p, _)| p)
}

/// `Used by 2 incidents: notpetya-2017 (NotPetya), maersk-2017`: ids, with the incident's
/// name where it has one.
fn comment(incidents: &[&Incident]) -> String {
    let n = incidents.len();
    let named = incidents
        .iter()
        .take(COMMENT_IDS)
        .map(|i| match &i.name {
            Some(name) => format!("{} ({name})", i.id),
            None => i.id.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rest = if n > COMMENT_IDS { format!(" and {} more", n - COMMENT_IDS) } else { String::new() };
    format!("Used by {n} incident{}: {named}{rest}", if n == 1 { "" } else { "s" })
}
