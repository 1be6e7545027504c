//! Running a query over a corpus on every core: matching in blocks, best-so-far pages while it
//! runs, the top page by partial selection before the full ranking, and cancellation between
//! blocks. The command line calls it directly; the browser through the worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::index::Corpus;
use super::matcher::Matcher;
use super::parse::Query;

/// One matching incident: its index in the dataset and its fuzzy score (0 without words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hit {
    pub index: u32,
    pub score: i32,
}

impl Hit {
    pub fn at(self) -> usize {
        self.index as usize
    }
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Best fuzzy score first, ties newest first; without search words, the same as `Date`.
    #[default]
    Score,
    /// Newest first.
    Date,
    /// A to Z.
    Victim,
    /// Largest reported loss first; incidents without a figure last.
    Loss,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [SortKey::Score, SortKey::Date, SortKey::Victim, SortKey::Loss];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Score => "score",
            SortKey::Date => "date",
            SortKey::Victim => "victim",
            SortKey::Loss => "loss",
        }
    }

    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// What to search for and how to order it. The generation tells answers to an old request from
/// answers to the newest one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchRequest {
    pub generation: u64,
    pub query: Query,
    pub sort: SortKey,
    pub reverse: bool,
    pub limit: Option<usize>,
    /// Count the results too (for the facets and the stats view).
    pub stats: bool,
}

/// Results, or the best of them so far while the search runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchUpdate {
    pub generation: u64,
    /// In final order when `complete`; before that, the best page found so far.
    pub hits: Vec<Hit>,
    /// How many incidents have been looked at, of `total`.
    pub scanned: usize,
    pub total: usize,
    pub complete: bool,
    /// The counts of the complete results, when the request asked for them.
    pub stats: Option<std::sync::Arc<crate::stats::Stats>>,
}

/// Records handed to a thread at a time; cancellation and progress are checked between blocks.
/// Small enough that a narrowed search of a few blocks still keeps every core busy to the end.
const BLOCK: usize = 1024;
/// Below this many candidates one thread does it all: starting threads would cost more than
/// the fuzzy matcher spends on a block (a millisecond or more when most candidates get scored).
const PARALLEL_FROM: usize = 2 * BLOCK;
/// The rows a screen can show, with room to page: what is ranked first, before the rest.
pub const PAGE: usize = 512;
/// From this many hits the first page is ranked and shown before the rest is sorted. Below it,
/// sorting them all takes less time than drawing a frame for the first page would.
const RANK_FIRST_PAGE_FROM: usize = 64 * PAGE;
/// How often a running search shows its best page so far.
const PUBLISH_EVERY: Duration = Duration::from_millis(25);

/// Runs a query to the end on the calling thread and its helpers: for the command line and tests.
pub fn search(corpus: &Corpus, request: &SearchRequest) -> Vec<Hit> {
    run(corpus, request, None, &|| false, &mut |_| {}).map(|(hits, _)| hits).unwrap_or_default()
}

/// Runs a query. `candidates` limits it to incidents an earlier, wider query matched. Returns the
/// ordered hits (cut to the limit) and every incident matched (for narrowing the next query), or
/// `None` when `cancelled` said to stop.
pub(crate) fn run(
    corpus: &Corpus,
    request: &SearchRequest,
    candidates: Option<&[u32]>,
    cancelled: &(dyn Fn() -> bool + Sync),
    publish: &mut dyn FnMut(SearchUpdate),
) -> Option<(Vec<Hit>, Vec<u32>)> {
    let matcher = Matcher::for_corpus(request.query.clone(), corpus);
    // Without candidates, a filter-only query visits incidents newest first, so sorted by date it
    // finds its hits already in order and every page shown early is final. A ranked query is
    // sorted afterwards anyway: it visits them in dataset order, which reads the index's keys
    // and text front to back instead of all over memory.
    let order: Option<&[u32]> = match candidates {
        Some(c) => Some(c),
        None if !matcher.ranks() => Some(corpus.index.by_date()),
        None => None,
    };
    let in_order = candidates.is_none() && !matcher.ranks() && matches!(request.sort, SortKey::Score | SortKey::Date);
    let ranking = Ranking::new(corpus, request, matcher.ranks());
    let total = order.map_or(corpus.len(), <[u32]>::len);
    let started = Instant::now();
    let mut last_publish = started;

    let blocks = total.div_ceil(BLOCK);
    let mut done: Vec<Option<Vec<Hit>>> = vec![None; blocks];
    let mut prefix = 0; // blocks done in a row from the first
    let mut scanned = 0;
    let mut gathered: Vec<Hit> = Vec::new();

    let scan = |matcher: &Matcher, block: usize| -> Vec<Hit> {
        let range = block * BLOCK..((block + 1) * BLOCK).min(total);
        let hit = |i: u32| {
            matcher.score(corpus, i).map(|s| Hit { index: i, score: s.clamp(i32::MIN as i64, i32::MAX as i64) as i32 })
        };
        match order {
            Some(order) => order[range].iter().filter_map(|&i| hit(i)).collect(),
            None => (range.start as u32..range.end as u32).filter_map(hit).collect(),
        }
    };

    let mut receive = |block: usize, hits: Vec<Hit>, done: &mut Vec<Option<Vec<Hit>>>| {
        scanned += (((block + 1) * BLOCK).min(total)) - block * BLOCK;
        done[block] = Some(hits);
        while prefix < blocks
            && let Some(h) = done[prefix].take()
        {
            gathered.extend(h);
            prefix += 1;
        }
        if last_publish.elapsed() >= PUBLISH_EVERY && scanned < total {
            last_publish = Instant::now();
            // Blocks finished out of turn wait in `done`; an early page only shows what is final
            // (in order) or the best of what has been gathered so far.
            let page = if in_order {
                gathered[..gathered.len().min(PAGE)].to_vec()
            } else {
                let mut all: Vec<Hit> = gathered.clone();
                all.extend(done.iter().flatten().flatten());
                ranking.top(&mut all, PAGE);
                all
            };
            publish(SearchUpdate {
                generation: request.generation,
                hits: page,
                scanned,
                total,
                complete: false,
                stats: None,
            });
        }
    };

    if total < PARALLEL_FROM {
        for block in 0..blocks {
            if cancelled() {
                return None;
            }
            let hits = scan(&matcher, block);
            receive(block, hits, &mut done);
        }
    } else {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, Vec<Hit>)>();
        let finished = std::thread::scope(|s| {
            for _ in 0..threads {
                let tx = tx.clone();
                let (next, scan) = (&next, &scan);
                // A matcher of its own for each thread, with its own scratch space.
                let matcher = matcher.clone();
                s.spawn(move || {
                    loop {
                        let block = next.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks || cancelled() {
                            break;
                        }
                        if tx.send((block, scan(&matcher, block))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for (block, hits) in rx {
                receive(block, hits, &mut done);
            }
            !cancelled()
        });
        if !finished {
            return None;
        }
    }
    if cancelled() || prefix < blocks {
        return None;
    }

    let matched = in_dataset_order(&gathered, corpus.len());
    let mut hits = gathered;
    let limit = request.limit.unwrap_or(usize::MAX);
    if !in_order || request.reverse {
        if hits.len() > RANK_FIRST_PAGE_FROM && limit > PAGE {
            // The first page is what the analyst looks at: rank it first and show it, then the rest.
            ranking.select(&mut hits, PAGE);
            hits[..PAGE].sort_unstable_by_key(|h| ranking.key(h));
            publish(SearchUpdate {
                generation: request.generation,
                hits: hits[..PAGE].to_vec(),
                scanned: total,
                total,
                complete: false,
                stats: None,
            });
            if cancelled() {
                return None;
            }
            hits[PAGE..].sort_unstable_by_key(|h| ranking.key(h));
        } else {
            hits.sort_unstable_by_key(|h| ranking.key(h));
        }
    }
    hits.truncate(limit);
    Some((hits, matched))
}

/// The incidents hit, in dataset order, for the next query that narrows this one. Hits found in
/// another order (a filter visits incidents newest first) would have the next query read the
/// index's keys and the text all over memory: after the empty query, the first letter typed over a
/// million records took twice as long. A bit per incident puts them back in order in one pass.
fn in_dataset_order(hits: &[Hit], len: usize) -> Vec<u32> {
    let mut matched: Vec<u32> = hits.iter().map(|h| h.index).collect();
    if matched.is_sorted() {
        return matched;
    }
    let mut bits = vec![0u64; len.div_ceil(64)];
    for &i in &matched {
        bits[i as usize / 64] |= 1 << (i % 64);
    }
    matched.clear();
    for (word, &b) in bits.iter().enumerate() {
        let mut b = b;
        while b != 0 {
            matched.push(word as u32 * 64 + b.trailing_zeros());
            b &= b - 1;
        }
    }
    matched
}

/// The order of results as one integer per hit, so that sorting compares integers only. Every key
/// is unique (ties are broken by date, then by place in the dataset), so the order is total and
/// reversing it is the same as reversing the list.
struct Ranking<'a> {
    rank: &'a [u32],
    by_score: bool,
    reverse: bool,
}

impl<'a> Ranking<'a> {
    fn new(corpus: &'a Corpus, request: &SearchRequest, ranks: bool) -> Self {
        let index = &corpus.index;
        let (rank, by_score) = match request.sort {
            SortKey::Score => (index.date_ranks(), ranks),
            SortKey::Date => (index.date_ranks(), false),
            SortKey::Victim => (index.victim_rank(), false),
            SortKey::Loss => (index.loss_rank(&corpus.dataset), false),
        };
        Self { rank, by_score, reverse: request.reverse }
    }

    fn key(&self, h: &Hit) -> u64 {
        let rank = self.rank[h.at()] as u64;
        // Higher scores first: flip the score so that smaller keys come first.
        let score = if self.by_score { (i32::MAX as i64 - h.score as i64) as u64 } else { 0 };
        let key = (score << 32) | rank;
        if self.reverse { u64::MAX - key } else { key }
    }

    /// Moves the best `n` hits to the front, in no particular order.
    fn select(&self, hits: &mut [Hit], n: usize) {
        if n < hits.len() {
            hits.select_nth_unstable_by_key(n, |h| self.key(h));
        }
    }

    /// Cuts `hits` to its best `n`, in order.
    fn top(&self, hits: &mut Vec<Hit>, n: usize) {
        self.select(hits, n);
        hits.truncate(n);
        hits.sort_unstable_by_key(|h| self.key(h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_found_out_of_order_are_handed_on_in_dataset_order() {
        let hits = |at: &[u32]| at.iter().map(|&index| Hit { index, score: -1 }).collect::<Vec<_>>();
        // Across words of the bit set, at both ends of a word, and the last incident.
        assert_eq!(in_dataset_order(&hits(&[70, 3, 64, 0, 129, 63]), 130), [0, 3, 63, 64, 70, 129]);
        assert_eq!(in_dataset_order(&hits(&[5, 1]), 6), [1, 5]);
        assert_eq!(in_dataset_order(&hits(&[1, 5, 9]), 10), [1, 5, 9]);
        assert!(in_dataset_order(&[], 0).is_empty());
    }
}
