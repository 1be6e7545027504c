//! What searching needs, prepared once when a dataset is loaded: every short field lower-cased
//! into one arena, orders for sorting, and maps from an id or an actor to incidents. A keystroke
//! then neither lower-cases nor allocates per record, and no pane scans the dataset per frame.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use crate::model::{Dataset, Incident, TechniqueRef};

/// Separates values of one field in the arena (a query value never contains it).
pub(crate) const SEP: char = '\u{1f}';

/// A dataset and its index, shared by the screen and the search worker.
#[derive(Debug)]
pub struct Corpus {
    pub dataset: Dataset,
    pub index: Index,
}

impl Corpus {
    pub fn new(dataset: Dataset) -> Self {
        let index = Index::build(&dataset);
        Self { dataset, index }
    }

    pub fn incident(&self, index: u32) -> &Incident {
        &self.dataset.incidents[index as usize]
    }

    pub fn len(&self) -> usize {
        self.dataset.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dataset.incidents.is_empty()
    }

    /// The incident with this id.
    pub fn find(&self, id: &str) -> Option<u32> {
        self.index.by_id.get(id).copied()
    }

    /// Incidents that name this actor (by name or alias, case ignored), in dataset order: the one
    /// definition of "the same actor" that pivots, the Actors tab and `actor:=` share.
    pub fn incidents_of_actor(&self, name: &str) -> &[u32] {
        self.index.by_actor.get(name.to_lowercase().as_str()).map_or(&[], Vec::as_slice)
    }
}

/// A range of the arena.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// One incident's searchable keys.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keys {
    /// Victim and name with ASCII letters lower-cased (the same bytes otherwise), for the quick
    /// subsequence test that spares the fuzzy matcher most records.
    pub victim_ascii: Span,
    pub name_ascii: Span,
    /// Victim and name lower-cased.
    pub victim: Span,
    pub name: Span,
    pub id: Span,
    pub location: Span,
    pub industry: Span,
    /// Each field's values joined by `SEP`.
    pub tags: Span,
    /// Actor names, aliases and types.
    pub actors: Span,
    pub ttp_ids: Span,
    pub ttp_names: Span,
    pub motives: Span,
    /// Bit 0: confidentiality affected, 1: integrity, 2: availability.
    pub cia: u8,
    pub year: u16,
}

#[derive(Debug, Default)]
pub struct Index {
    arena: String,
    keys: Vec<Keys>,
    by_id: HashMap<Box<str>, u32>,
    by_actor: HashMap<Box<str>, Vec<u32>>,
    /// Incidents newest first (ties in dataset order), and each incident's place in that order.
    by_date: Vec<u32>,
    date_rank: Vec<u32>,
    /// Other orders, made when first asked for.
    victim_rank: OnceLock<Vec<u32>>,
    loss_rank: OnceLock<Vec<u32>>,
}

impl Index {
    pub fn build(dataset: &Dataset) -> Self {
        let incidents = &dataset.incidents;
        let mut index = Index { keys: Vec::with_capacity(incidents.len()), ..Default::default() };
        let mut scratch = String::new();
        for (n, inc) in incidents.iter().enumerate() {
            let keys = index.keys_of(inc, &dataset.catalog, &mut scratch);
            index.keys.push(keys);
            index.by_id.entry(inc.id.as_str().into()).or_insert(n as u32);
            for actor in inc.actors.iter().filter(|a| a.is_named()) {
                for name in std::iter::once(&actor.name).chain(&actor.aliases) {
                    let list = index.by_actor.entry(name.to_lowercase().into_boxed_str()).or_default();
                    if list.last() != Some(&(n as u32)) {
                        list.push(n as u32);
                    }
                }
            }
        }
        index.arena.shrink_to_fit();
        let mut by_date: Vec<u32> = (0..incidents.len() as u32).collect();
        by_date.sort_by(|&a, &b| incidents[b as usize].date.cmp(&incidents[a as usize].date).then(a.cmp(&b)));
        index.date_rank = ranks(&by_date);
        index.by_date = by_date;
        index
    }

    fn push(&mut self, text: &str) -> Span {
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        Span { start, len: text.len() as u32 }
    }

    fn push_lower(&mut self, text: &str, scratch: &mut String) -> Span {
        if text.chars().all(|c| !c.is_uppercase()) {
            return self.push(text);
        }
        scratch.clear();
        scratch.extend(text.chars().flat_map(char::to_lowercase));
        let start = self.arena.len() as u32;
        self.arena.push_str(scratch);
        Span { start, len: scratch.len() as u32 }
    }

    fn push_joined<'a>(&mut self, values: impl Iterator<Item = &'a str>, scratch: &mut String) -> Span {
        let mut joined = String::new();
        for (i, v) in values.enumerate() {
            if i > 0 {
                joined.push(SEP);
            }
            joined.push_str(v);
        }
        self.push_lower(&joined, scratch)
    }

    fn keys_of(&mut self, inc: &Incident, catalog: &crate::model::Catalog, scratch: &mut String) -> Keys {
        let ascii = |s: &str| s.to_ascii_lowercase();
        let victim_ascii = self.push(&ascii(&inc.victim));
        let name_ascii = inc.name.as_deref().map_or_else(Span::default, |n| self.push(&ascii(n)));
        let victim = self.push_lower(&inc.victim, scratch);
        let name = inc.name.as_deref().map_or_else(Span::default, |n| self.push_lower(n, scratch));
        let id = self.push_lower(&inc.id, scratch);
        let location = self.push_lower(inc.location.as_deref().unwrap_or_default(), scratch);
        let industry = self.push_lower(inc.industry.as_deref().unwrap_or_default(), scratch);
        let tags = self.push_joined(inc.tags.iter().map(String::as_str), scratch);
        let actors = self.push_joined(
            inc.actors.iter().flat_map(|a| {
                std::iter::once(a.name.as_str()).chain(a.aliases.iter().map(String::as_str)).chain([a.kind.as_str()])
            }),
            scratch,
        );
        let ttp_ids = self.push_joined(inc.ttps.iter().filter_map(TechniqueRef::attack_id), scratch);
        let ttp_names = self.push_joined(
            inc.ttps.iter().filter_map(|t| match t {
                TechniqueRef::Attack { id, .. } => catalog.get(id).map(|tech| tech.name.as_str()),
                TechniqueRef::Other { name, .. } => Some(name.as_str()),
            }),
            scratch,
        );
        let motives = self.push_joined(inc.motives.iter().map(|m| m.as_str()), scratch);
        let cia = inc.cia.as_ref().map_or(0, |c| {
            use crate::model::Impact::Affected;
            (c.confidentiality == Affected) as u8
                | ((c.integrity == Affected) as u8) << 1
                | ((c.availability == Affected) as u8) << 2
        });
        Keys {
            victim_ascii,
            name_ascii,
            victim,
            name,
            id,
            location,
            industry,
            tags,
            actors,
            ttp_ids,
            ttp_names,
            motives,
            cia,
            year: inc.date.year,
        }
    }

    pub(crate) fn keys(&self, index: u32) -> &Keys {
        &self.keys[index as usize]
    }

    pub(crate) fn text(&self, span: Span) -> &str {
        &self.arena[span.range()]
    }

    /// Incidents newest first.
    pub fn by_date(&self) -> &[u32] {
        &self.by_date
    }

    /// An incident's place among all incidents ordered newest first.
    pub fn date_rank(&self, index: u32) -> u32 {
        self.date_rank[index as usize]
    }

    /// Every incident's place among all incidents ordered newest first.
    pub fn date_ranks(&self) -> &[u32] {
        &self.date_rank
    }

    /// An incident's place among all incidents ordered by victim, A to Z.
    pub fn victim_rank(&self) -> &[u32] {
        self.victim_rank.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
            order.sort_by(|&a, &b| self.text(self.keys(a).victim).cmp(self.text(self.keys(b).victim)).then(a.cmp(&b)));
            ranks(&order)
        })
    }

    /// An incident's place among all incidents ordered by loss, largest first, then newest.
    pub fn loss_rank(&self, dataset: &Dataset) -> &[u32] {
        self.loss_rank.get_or_init(|| {
            let inc = &dataset.incidents;
            let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
            order.sort_by(|&a, &b| {
                inc[b as usize].loss_usd.cmp(&inc[a as usize].loss_usd).then(self.date_rank(a).cmp(&self.date_rank(b)))
            });
            ranks(&order)
        })
    }
}

/// The position of each incident in an order.
fn ranks(order: &[u32]) -> Vec<u32> {
    let mut rank = vec![0; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i as usize] = pos as u32;
    }
    rank
}
