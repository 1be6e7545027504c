//! What searching needs, prepared once when a dataset is loaded: every short field lower-cased
//! into one arena, orders for sorting, and maps from an id or an actor to incidents. A keystroke
//! then neither lower-cases nor allocates per record, and no pane scans the dataset per frame.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::OnceLock;

use crate::model::{Catalog, Dataset, Incident, TechniqueRef};

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
        self.index.find(&self.dataset.incidents, id)
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

    pub(crate) fn shifted(self, by: u32) -> Span {
        if self.len == 0 { self } else { Span { start: self.start + by, len: self.len } }
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

impl Keys {
    /// The same keys in an arena that starts `by` bytes later.
    fn shifted(self, by: u32) -> Keys {
        let s = |span: Span| span.shifted(by);
        Keys {
            victim_ascii: s(self.victim_ascii),
            name_ascii: s(self.name_ascii),
            victim: s(self.victim),
            name: s(self.name),
            id: s(self.id),
            location: s(self.location),
            industry: s(self.industry),
            tags: s(self.tags),
            actors: s(self.actors),
            ttp_ids: s(self.ttp_ids),
            ttp_names: s(self.ttp_names),
            motives: s(self.motives),
            ..self
        }
    }
}

#[derive(Debug, Default)]
pub struct Index {
    arena: String,
    keys: Vec<Keys>,
    /// Incidents by a hash of their id; `find` checks the id itself, and the rare id whose hash
    /// another took waits in `by_id_rest`.
    by_id: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    by_id_rest: HashMap<Box<str>, u32>,
    by_actor: HashMap<Box<str>, Vec<u32>>,
    /// Incidents newest first (ties in dataset order), and each incident's place in that order.
    by_date: Vec<u32>,
    date_rank: Vec<u32>,
    /// Other orders, made when first asked for.
    victim_rank: OnceLock<Vec<u32>>,
    loss_rank: OnceLock<Vec<u32>>,
}

/// The keys of a run of incidents, made on one thread; spans are within its own arena.
#[derive(Default)]
struct Part<'a> {
    arena: String,
    keys: Vec<Keys>,
    /// Actor names and aliases as written, each once, and which incidents (by dataset index)
    /// name each one: lower-casing happens once per name, not once per mention.
    names: HashMap<&'a str, usize>,
    postings: Vec<(&'a str, Vec<u32>)>,
}

impl<'a> Part<'a> {
    fn build(incidents: &'a [Incident], first: usize, catalog: &'a Catalog) -> Self {
        // Most of the arena is short fields; guessing its size spares regrowing a large buffer.
        let guess: usize = incidents.iter().map(|i| 2 * (i.victim.len() + i.id.len()) + 120).sum();
        let mut part =
            Part { arena: String::with_capacity(guess), keys: Vec::with_capacity(incidents.len()), ..Part::default() };
        for (n, inc) in incidents.iter().enumerate() {
            let at = (first + n) as u32;
            let keys = part.keys_of(inc, catalog);
            part.keys.push(keys);
            for actor in inc.actors.iter().filter(|a| a.is_named()) {
                for name in std::iter::once(&actor.name).chain(&actor.aliases) {
                    let slot = *part.names.entry(name.as_ref()).or_insert_with(|| {
                        part.postings.push((name.as_ref(), Vec::new()));
                        part.postings.len() - 1
                    });
                    let list = &mut part.postings[slot].1;
                    if list.last() != Some(&at) {
                        list.push(at);
                    }
                }
            }
        }
        part
    }

    fn span(&self, start: usize) -> Span {
        Span { start: start as u32, len: (self.arena.len() - start) as u32 }
    }

    /// The text with ASCII letters lower-cased: the same bytes otherwise.
    fn push_ascii_lower(&mut self, text: &str) -> Span {
        let start = self.arena.len();
        self.arena.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        self.span(start)
    }

    /// Lower-cased text appended to the arena (without a span).
    fn append_lower(&mut self, text: &str) {
        if text.is_ascii() {
            self.arena.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            self.arena.extend(text.chars().flat_map(char::to_lowercase));
        }
    }

    fn push_lower(&mut self, text: &str) -> Span {
        let start = self.arena.len();
        self.append_lower(text);
        self.span(start)
    }

    fn push_joined<'t>(&mut self, values: impl Iterator<Item = &'t str>) -> Span {
        let start = self.arena.len();
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.arena.push(SEP);
            }
            self.append_lower(v);
        }
        self.span(start)
    }

    fn keys_of(&mut self, inc: &Incident, catalog: &Catalog) -> Keys {
        let victim_ascii = self.push_ascii_lower(&inc.victim);
        // For ASCII text the two lower-cased forms are the same bytes: one copy serves both.
        let victim = if inc.victim.is_ascii() { victim_ascii } else { self.push_lower(&inc.victim) };
        let (name_ascii, name) = match inc.name.as_deref() {
            None => (Span::default(), Span::default()),
            Some(n) => {
                let ascii = self.push_ascii_lower(n);
                (ascii, if n.is_ascii() { ascii } else { self.push_lower(n) })
            }
        };
        let id = self.push_lower(&inc.id);
        let location = self.push_lower(inc.location.as_deref().unwrap_or_default());
        let industry = self.push_lower(inc.industry.as_deref().unwrap_or_default());
        let tags = self.push_joined(inc.tags.iter().map(|t| t.as_ref()));
        let actors = self.push_joined(inc.actors.iter().flat_map(|a| {
            std::iter::once(a.name.as_ref()).chain(a.aliases.iter().map(|x| x.as_ref())).chain([a.kind.as_str()])
        }));
        let ttp_ids = self.push_joined(inc.ttps.iter().filter_map(TechniqueRef::attack_id));
        let ttp_names = self.push_joined(inc.ttps.iter().filter_map(|t| match t {
            TechniqueRef::Attack { id, .. } => catalog.get(id).map(|tech| tech.name.as_str()),
            TechniqueRef::Other { name, .. } => Some(name.as_ref()),
        }));
        let motives = self.push_joined(inc.motives.iter().map(|m| m.as_str()));
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
}

/// Below this many incidents one thread builds the index: starting threads would cost more.
const PARALLEL_FROM: usize = 20_000;

impl Index {
    pub fn build(dataset: &Dataset) -> Self {
        let incidents = &dataset.incidents;
        let catalog = &dataset.catalog;
        let threads = if incidents.len() < PARALLEL_FROM {
            1
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8)
        };
        let chunk = incidents.len().div_ceil(threads).max(1);
        // The parts are made side by side; the orders and maps, which need them all, after.
        let (parts, by_date) = std::thread::scope(|s| {
            let dates = s.spawn(|| {
                let mut by_date: Vec<u32> = (0..incidents.len() as u32).collect();
                by_date.sort_by(|&a, &b| incidents[b as usize].date.cmp(&incidents[a as usize].date).then(a.cmp(&b)));
                by_date
            });
            let handles: Vec<_> = incidents
                .chunks(chunk)
                .enumerate()
                .map(|(k, run)| s.spawn(move || Part::build(run, k * chunk, catalog)))
                .collect();
            let parts: Vec<Part> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
            (parts, dates.join().unwrap_or_default())
        });
        let mut index = Index {
            arena: String::with_capacity(parts.iter().map(|p| p.arena.len()).sum()),
            keys: Vec::with_capacity(incidents.len()),
            ..Default::default()
        };
        // Lower-cased once per name as written; names differing only in case share a list.
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        for part in &parts {
            let base = index.arena.len() as u32;
            index.arena.push_str(&part.arena);
            index.keys.extend(part.keys.iter().map(|k| k.shifted(base)));
            // Parts come in dataset order, so each actor's incidents stay in dataset order.
            for (name, list) in &part.postings {
                let slot = *slots.entry(name.to_lowercase()).or_insert_with(|| {
                    postings.push(Vec::new());
                    postings.len() - 1
                });
                postings[slot].extend(list);
            }
        }
        for (name, slot) in slots {
            let mut list = std::mem::take(&mut postings[slot]);
            // Two spellings of one name (case) meet here: dataset order, each incident once.
            list.sort_unstable();
            list.dedup();
            index.by_actor.insert(name.into_boxed_str(), list);
        }
        index.by_id.reserve(incidents.len());
        for (n, inc) in incidents.iter().enumerate() {
            match index.by_id.entry(id_hash(&inc.id)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(n as u32);
                }
                std::collections::hash_map::Entry::Occupied(o) if incidents[*o.get() as usize].id != inc.id => {
                    index.by_id_rest.entry(inc.id.as_ref().into()).or_insert(n as u32);
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
            }
        }
        index.date_rank = ranks(&by_date);
        index.by_date = by_date;
        index
    }

    /// The incident with this id.
    pub(crate) fn find(&self, incidents: &[Incident], id: &str) -> Option<u32> {
        match self.by_id.get(&id_hash(id)) {
            Some(&i) if incidents[i as usize].id == id => Some(i),
            _ => self.by_id_rest.get(id).copied(),
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

/// A 64-bit FNV-1a hash of an id: quick to make, and spread well enough that two ids of one
/// dataset rarely share one (those that do are kept apart in `by_id_rest`).
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
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
