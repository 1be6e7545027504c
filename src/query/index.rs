//! What searching needs, prepared once when a dataset is loaded: every short field lower-cased
//! into arenas (one per run of incidents, made side by side), orders for sorting, and maps from an
//! id or an actor to incidents. A keystroke then neither lower-cases nor allocates per record, and
//! no pane scans the dataset per frame. The fields that repeat (locations, industries, tags, actors,
//! techniques) are indexed when first asked for: a search for words alone never needs them, and
//! indexing them is a tenth of listing a million records.

use std::ops::{Deref, Range};
use std::sync::{Arc, OnceLock};

use crate::model::{ActorType, Dataset, IdHashes, Incident, Motive, Str, TechniqueRef};

/// A dataset and its index, shared by the screen and the search worker.
#[derive(Debug)]
pub struct Corpus {
    pub dataset: Dataset,
    pub index: Index,
}

impl Corpus {
    pub fn new(mut dataset: Dataset) -> Self {
        let ids = dataset.ids.take();
        let index = Index::build(&dataset, ids);
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
        self.facets().by_actor.get(name.to_lowercase().as_str()).map_or(&[], Vec::as_slice)
    }

    /// The index of the fields that repeat, made on the first call (on every core) and kept.
    pub(crate) fn facets(&self) -> &Facets {
        self.index.facets.get_or_init(|| Facets::build(&self.dataset, self.index.shift))
    }
}

/// A range of a piece's arena.
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

/// A run of a piece's refs: the values one incident has of a field that repeats.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Refs {
    start: u32,
    len: u32,
}

impl Refs {
    fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// No value.
pub(crate) const NONE: u32 = u32::MAX;

/// One incident's searchable keys.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keys {
    /// Victim and name as written, beside each other in the arena rather than scattered through
    /// the file's text: for the fuzzy matcher (which scores changes of case), and for the quick
    /// subsequence test that spares it most records.
    pub victim_as_written: Span,
    pub name_as_written: Span,
    /// Victim and name lower-cased.
    pub victim: Span,
    pub name: Span,
    /// Bit n: the n-th of `Motive::ALL`.
    pub motives: u16,
    /// Bit 0: confidentiality affected, 1: integrity, 2: availability.
    pub cia: u8,
    pub year: u16,
}

/// One incident's values of the fields that repeat.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FacetKeys {
    /// Values of `Values::locations` and `Values::industries`, or `NONE`.
    pub location: u32,
    pub industry: u32,
    /// Runs of the piece's refs naming values of `tags`, `actors` and `techniques`.
    pub tags: Refs,
    pub actors: Refs,
    pub ttps: Refs,
}

/// One actor as search sees it: its name, aliases and type, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActorKeys {
    pub names: Box<[Box<str>]>,
    pub named: bool,
}

/// One technique as search sees it: its ATT&CK id (empty for other frameworks) and its name,
/// lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TechniqueKeys {
    pub id: Box<str>,
    pub name: Box<str>,
}

/// The values fields that repeat take, each lower-cased once: incidents refer to them by number,
/// so a filter is tested once per distinct value, not once per incident.
#[derive(Debug, Default)]
pub(crate) struct Values {
    pub locations: Vec<Box<str>>,
    pub industries: Vec<Box<str>>,
    pub tags: Vec<Box<str>>,
    pub actors: Vec<ActorKeys>,
    pub techniques: Vec<TechniqueKeys>,
}

#[derive(Debug, Default)]
pub struct Index {
    /// The keys of every incident, in runs of `1 << shift` incidents: the runs made side by side
    /// are kept as they were made rather than copied into one.
    pieces: Vec<Piece>,
    shift: u32,
    count: usize,
    facets: OnceLock<Facets>,
    /// Incidents by a hash of their id; `find` checks the id itself.
    by_id: IdHashes,
    /// Incidents newest first (ties in dataset order), and each incident's place in that order.
    by_date: Vec<u32>,
    date_rank: Vec<u32>,
    /// Other orders, made when first asked for.
    victim_rank: OnceLock<Vec<u32>>,
    loss_rank: OnceLock<Vec<u32>>,
}

/// The fields that repeat, indexed: each incident's values, in runs as `Index::pieces` are, each
/// value lower-cased once, and the incidents of each actor.
#[derive(Debug, Default)]
pub(crate) struct Facets {
    pieces: Vec<FacetPiece>,
    shift: u32,
    pub(crate) values: Values,
    by_actor: foldhash::HashMap<Box<str>, Vec<u32>>,
}

/// A part's numbers of each field's values, and the whole dataset's.
struct Renumbering {
    place: Vec<u32>,
    industry: Vec<u32>,
    tag: Vec<u32>,
    actor: Vec<u32>,
    technique: Vec<u32>,
}

/// The keys of a run of incidents, with the arena their spans are in.
#[derive(Debug, Default)]
struct Piece {
    arena: String,
    keys: Vec<Keys>,
}

/// The values of a run of incidents, with the refs their runs are.
#[derive(Debug, Default)]
struct FacetPiece {
    keys: Vec<FacetKeys>,
    refs: Vec<u32>,
}

/// One incident's keys, with the text they point into.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'i> {
    keys: &'i Keys,
    arena: &'i str,
}

impl<'i> Entry<'i> {
    pub(crate) fn text(&self, span: Span) -> &'i str {
        &self.arena[span.range()]
    }
}

impl Deref for Entry<'_> {
    type Target = Keys;

    fn deref(&self) -> &Keys {
        self.keys
    }
}

/// One incident's values, with the refs they point into.
#[derive(Clone, Copy)]
pub(crate) struct FacetEntry<'i> {
    keys: &'i FacetKeys,
    refs: &'i [u32],
}

impl<'i> FacetEntry<'i> {
    /// The values a run of refs names.
    pub(crate) fn refs(&self, refs: Refs) -> &'i [u32] {
        &self.refs[refs.range()]
    }
}

impl Deref for FacetEntry<'_> {
    type Target = FacetKeys;

    fn deref(&self) -> &FacetKeys {
        self.keys
    }
}

/// Distinct values met by one part, numbered in the order met.
struct Dict<K> {
    ids: foldhash::HashMap<K, u32>,
    items: Vec<K>,
}

impl<K> Default for Dict<K> {
    fn default() -> Self {
        Self { ids: foldhash::HashMap::default(), items: Vec::new() }
    }
}

impl<K: std::hash::Hash + Eq + Copy> Dict<K> {
    fn id(&mut self, key: K) -> u32 {
        *self.ids.entry(key).or_insert_with(|| {
            self.items.push(key);
            (self.items.len() - 1) as u32
        })
    }
}

type ActorKey<'a> = (&'a str, &'a [Str], ActorType);
/// `true` and the id for an ATT&CK technique; `false` and the name for another framework's.
type TechniqueKey<'a> = (bool, &'a str);

/// The keys of a run of incidents, made on one thread, with the arena their spans are in.
struct Part {
    arena: String,
    keys: Vec<Keys>,
}

impl Part {
    fn build(incidents: &[Incident]) -> Piece {
        // Most of the arena is victims and names; guessing its size spares regrowing it.
        let guess: usize = incidents.iter().map(|i| i.victim.len() + 16).sum();
        let mut part = Part { arena: String::with_capacity(guess), keys: Vec::with_capacity(incidents.len()) };
        for inc in incidents {
            let keys = part.keys_of(inc);
            part.keys.push(keys);
        }
        Piece { arena: part.arena, keys: part.keys }
    }

    fn span(&self, start: usize) -> Span {
        Span { start: start as u32, len: (self.arena.len() - start) as u32 }
    }

    fn push(&mut self, text: &str) -> Span {
        let start = self.arena.len();
        self.arena.push_str(text);
        self.span(start)
    }

    fn push_lower(&mut self, text: &str) -> Span {
        let start = self.arena.len();
        if text.is_ascii() {
            self.arena.push_str(text);
            self.arena[start..].make_ascii_lowercase();
        } else {
            self.arena.extend(text.chars().flat_map(char::to_lowercase));
        }
        self.span(start)
    }

    /// A text as written and lower-cased; kept once when they are the same.
    fn push_both(&mut self, text: &str) -> (Span, Span) {
        let written = self.push(text);
        let lower = self.push_lower(text);
        if self.arena[lower.range()] == self.arena[written.range()] {
            self.arena.truncate(lower.start as usize);
            (written, written)
        } else {
            (written, lower)
        }
    }

    fn keys_of(&mut self, inc: &Incident) -> Keys {
        let (victim_as_written, victim) = self.push_both(&inc.victim);
        let (name_as_written, name) = inc.name.as_deref().map_or_else(Default::default, |n| self.push_both(n));
        let motives = inc.motives.iter().fold(0u16, |bits, m| bits | 1 << motive_bit(*m));
        let cia = inc.cia.as_ref().map_or(0, |c| {
            use crate::model::Impact::Affected;
            (c.confidentiality == Affected) as u8
                | ((c.integrity == Affected) as u8) << 1
                | ((c.availability == Affected) as u8) << 2
        });
        Keys { victim_as_written, name_as_written, victim, name, motives, cia, year: inc.date.year }
    }
}

/// The values of a run of incidents, made on one thread. Values are numbered within the part, and
/// renumbered when the parts are joined.
#[derive(Default)]
struct FacetPart<'a> {
    keys: Vec<FacetKeys>,
    refs: Vec<u32>,
    locations: Dict<&'a str>,
    industries: Dict<&'a str>,
    tags: Dict<&'a str>,
    actors: Dict<ActorKey<'a>>,
    /// Actors already numbered, by where they are in memory: loaders share one actor between the
    /// incidents that name it, and a pointer is quicker to look up than names and aliases.
    shared_actors: foldhash::HashMap<usize, u32>,
    techniques: Dict<TechniqueKey<'a>>,
    /// For each actor of `actors`, the incidents (dataset indices) that name it.
    postings: Vec<Vec<u32>>,
}

impl<'a> FacetPart<'a> {
    fn build(incidents: &'a [Incident], first: usize) -> Self {
        let mut part = FacetPart {
            keys: Vec::with_capacity(incidents.len()),
            refs: Vec::with_capacity(incidents.len() * 8),
            ..FacetPart::default()
        };
        for (n, inc) in incidents.iter().enumerate() {
            let keys = part.keys_of(inc, (first + n) as u32);
            part.keys.push(keys);
        }
        part
    }

    /// The part's keys and refs, numbered for the whole dataset.
    fn into_piece(self, r: &Renumbering) -> FacetPiece {
        let FacetPart { mut keys, mut refs, .. } = self;
        let renumber = |ids: &[u32], run: Refs, refs: &mut [u32]| {
            for n in &mut refs[run.range()] {
                *n = ids[*n as usize];
            }
        };
        for k in &mut keys {
            k.location = if k.location == NONE { NONE } else { r.place[k.location as usize] };
            k.industry = if k.industry == NONE { NONE } else { r.industry[k.industry as usize] };
            renumber(&r.tag, k.tags, &mut refs);
            renumber(&r.actor, k.actors, &mut refs);
            renumber(&r.technique, k.ttps, &mut refs);
        }
        FacetPiece { keys, refs }
    }

    /// The refs pushed since `start`.
    fn refs_from(&self, start: usize) -> Refs {
        Refs { start: start as u32, len: (self.refs.len() - start) as u32 }
    }

    fn keys_of(&mut self, inc: &'a Incident, at: u32) -> FacetKeys {
        let location = inc.location.as_deref().map_or(NONE, |l| self.locations.id(l));
        let industry = inc.industry.as_deref().map_or(NONE, |i| self.industries.id(i));
        let start = self.refs.len();
        for t in &inc.tags {
            let id = self.tags.id(t);
            self.refs.push(id);
        }
        let tags = self.refs_from(start);
        let start = self.refs.len();
        for a in &inc.actors {
            let id = match self.shared_actors.get(&(Arc::as_ptr(a) as usize)) {
                Some(&id) => id,
                None => {
                    let id = self.actors.id((&a.name, &a.aliases, a.kind));
                    self.shared_actors.insert(Arc::as_ptr(a) as usize, id);
                    id
                }
            };
            if id as usize == self.postings.len() {
                self.postings.push(Vec::new());
            }
            if self.postings[id as usize].last() != Some(&at) {
                self.postings[id as usize].push(at);
            }
            self.refs.push(id);
        }
        let actors = self.refs_from(start);
        let start = self.refs.len();
        for t in &inc.ttps {
            let id = match t {
                TechniqueRef::Attack { id, .. } => self.techniques.id((true, id)),
                TechniqueRef::Other { name, .. } => self.techniques.id((false, name)),
            };
            self.refs.push(id);
        }
        let ttps = self.refs_from(start);
        FacetKeys { location, industry, tags, actors, ttps }
    }
}

/// Where a motive's bit is in `Keys::motives`.
pub(crate) fn motive_bit(m: Motive) -> u16 {
    Motive::ALL.iter().position(|&x| x == m).unwrap_or(0) as u16
}

/// Numbers for the distinct lower-cased values of one field, across parts.
struct Numbering<K> {
    ids: foldhash::HashMap<K, u32>,
}

impl<K: std::hash::Hash + Eq> Numbering<K> {
    fn new() -> Self {
        Self { ids: foldhash::HashMap::default() }
    }

    /// The number of `key`; `fresh` makes the value's keys the first time it is met.
    fn id<V>(&mut self, key: K, values: &mut Vec<V>, fresh: impl FnOnce() -> V) -> u32 {
        *self.ids.entry(key).or_insert_with(|| {
            values.push(fresh());
            (values.len() - 1) as u32
        })
    }
}

/// Below this many incidents one thread builds the index: starting threads would cost more.
const PARALLEL_FROM: usize = 20_000;

impl Index {
    /// The index of the dataset; `ids`, the incidents by id hash, if the load kept them.
    pub fn build(dataset: &Dataset, ids: Option<IdHashes>) -> Self {
        let incidents = &dataset.incidents;
        let threads = if incidents.len() < PARALLEL_FROM {
            1
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8)
        };
        // Parts a power of two long (up to twice as many as threads), so that finding an
        // incident's part is a shift.
        let per_thread = incidents.len().div_ceil(threads).max(1);
        let shift = if threads == 1 { per_thread.next_power_of_two() } else { 1 << per_thread.ilog2() }.ilog2();
        let chunk = 1usize << shift;
        // The parts are made side by side; the orders and the ids, which need every incident,
        // meanwhile.
        let (pieces, by_date, by_id) = std::thread::scope(|s| {
            let by_id = s.spawn(|| match ids {
                Some(ids) if ids.len() == incidents.len() => ids,
                _ => IdHashes::of(incidents, |i| i.id.as_ref()),
            });
            let dates = s.spawn(|| {
                // Sorted as numbers, each with its place: newest first (the date's key inverted),
                // ties in dataset order. Comparing dates through the incidents would visit them
                // all over memory at every comparison.
                let mut dated: Vec<u64> =
                    incidents.iter().enumerate().map(|(n, i)| u64::from(!i.date.sort_key()) << 32 | n as u64).collect();
                dated.sort_unstable();
                dated.into_iter().map(|d| d as u32).collect::<Vec<u32>>()
            });
            let pieces = crate::parallel::in_runs(incidents, chunk, |_, run| Part::build(run));
            // A panic while sorting is a bug: it reaches the caller, as one in a part does,
            // rather than leaving an index with no date order.
            let by_date = dates.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (pieces, by_date, by_id.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        Index {
            pieces,
            shift,
            count: incidents.len(),
            facets: OnceLock::new(),
            by_id,
            date_rank: ranks(&by_date),
            by_date,
            victim_rank: OnceLock::new(),
            loss_rank: OnceLock::new(),
        }
    }

    /// The incident with this id.
    pub(crate) fn find(&self, incidents: &[Incident], id: &str) -> Option<u32> {
        self.by_id.find(incidents, |i| i.id.as_ref(), id)
    }

    /// An incident's keys.
    pub(crate) fn entry(&self, index: u32) -> Entry<'_> {
        let (run, at) = place(index, self.shift);
        let piece = &self.pieces[run];
        Entry { keys: &piece.keys[at], arena: &piece.arena }
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
            let victim = |i: u32| {
                let e = self.entry(i);
                e.text(e.victim)
            };
            let mut order: Vec<u32> = (0..self.count as u32).collect();
            order.sort_by(|&a, &b| victim(a).cmp(victim(b)).then(a.cmp(&b)));
            ranks(&order)
        })
    }

    /// An incident's place among all incidents ordered by loss, largest first, then newest.
    pub fn loss_rank(&self, dataset: &Dataset) -> &[u32] {
        self.loss_rank.get_or_init(|| {
            let inc = &dataset.incidents;
            let mut order: Vec<u32> = (0..self.count as u32).collect();
            order.sort_by(|&a, &b| {
                inc[b as usize].loss_usd.cmp(&inc[a as usize].loss_usd).then(self.date_rank(a).cmp(&self.date_rank(b)))
            });
            ranks(&order)
        })
    }
}

impl Facets {
    /// Made on every core, in runs of `1 << shift` incidents as the index's keys are.
    fn build(dataset: &Dataset, shift: u32) -> Self {
        let parts = crate::parallel::in_runs(&dataset.incidents, 1 << shift, |first, run| FacetPart::build(run, first));
        merge(parts, &dataset.catalog, shift)
    }

    /// An incident's values.
    pub(crate) fn entry(&self, index: u32) -> FacetEntry<'_> {
        let (run, at) = place(index, self.shift);
        let piece = &self.pieces[run];
        FacetEntry { keys: &piece.keys[at], refs: &piece.refs }
    }
}

/// The parts' values, renumbered for the whole dataset, in one index.
fn merge(parts: Vec<FacetPart<'_>>, catalog: &crate::model::Catalog, shift: u32) -> Facets {
    let mut index = Facets { shift, ..Default::default() };
    let mut renumbered = Vec::with_capacity(parts.len());
    let lower = |s: &str| s.to_lowercase().into_boxed_str();
    let (mut locations, mut industries, mut tags) = (Numbering::new(), Numbering::new(), Numbering::new());
    let (mut actors, mut techniques) = (Numbering::new(), Numbering::new());
    let mut postings: Vec<Vec<u32>> = Vec::new();
    let values = &mut index.values;
    for part in &parts {
        // Each part's numbers, renumbered for the whole dataset: lower-casing once per value.
        let place: Vec<u32> =
            part.locations.items.iter().map(|l| locations.id(lower(l), &mut values.locations, || lower(l))).collect();
        let industry: Vec<u32> = part
            .industries
            .items
            .iter()
            .map(|i| industries.id(lower(i), &mut values.industries, || lower(i)))
            .collect();
        let tag: Vec<u32> = part.tags.items.iter().map(|t| tags.id(lower(t), &mut values.tags, || lower(t))).collect();
        let actor: Vec<u32> = part
            .actors
            .items
            .iter()
            .map(|&(name, aliases, kind)| {
                let names: Box<[Box<str>]> = std::iter::once(name)
                    .chain(aliases.iter().map(|a| a.as_ref()))
                    .chain([kind.as_str()])
                    .map(lower)
                    .collect();
                let named = crate::model::Actor::name_is_named(name);
                actors.id(names.clone(), &mut values.actors, || ActorKeys { names, named })
            })
            .collect();
        for (local, list) in part.postings.iter().enumerate() {
            let global = actor[local] as usize;
            if postings.len() <= global {
                postings.resize_with(global + 1, Vec::new);
            }
            postings[global].extend(list);
        }
        let technique: Vec<u32> = part
            .techniques
            .items
            .iter()
            .map(|&(attack, key)| {
                let keys = if attack {
                    let name = catalog.get(key).map_or("", |t| t.name.as_str());
                    TechniqueKeys { id: lower(key), name: lower(name) }
                } else {
                    TechniqueKeys { id: "".into(), name: lower(key) }
                };
                techniques.id(keys.clone(), &mut values.techniques, || keys)
            })
            .collect();
        renumbered.push(Renumbering { place, industry, tag, actor, technique });
    }
    // Each part's keys and refs renumbered where they are, side by side.
    index.pieces = std::thread::scope(|s| {
        let handles: Vec<_> =
            parts.into_iter().zip(&renumbered).map(|(part, r)| s.spawn(move || part.into_piece(r))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    // Names and aliases, for finding an actor's incidents: only actors with a name of their own.
    let mut by_actor: foldhash::HashMap<Box<str>, Vec<u32>> = foldhash::HashMap::default();
    for (keys, list) in values.actors.iter().zip(&postings) {
        if !keys.named {
            continue;
        }
        // The last of an actor's keys is its type, which is no name.
        for name in &keys.names[..keys.names.len() - 1] {
            by_actor.entry(name.clone()).or_default().extend(list);
        }
    }
    for list in by_actor.values_mut() {
        // Spellings and actors that share a name meet here: dataset order, each incident once.
        list.sort_unstable();
        list.dedup();
    }
    index.by_actor = by_actor;
    index
}

/// Which run of `1 << shift` incidents an incident is in, and where in that run.
fn place(index: u32, shift: u32) -> (usize, usize) {
    let index = index as usize;
    (index >> shift, index & ((1 << shift) - 1))
}

/// The position of each incident in an order.
fn ranks(order: &[u32]) -> Vec<u32> {
    let mut rank = vec![0; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i as usize] = pos as u32;
    }
    rank
}
