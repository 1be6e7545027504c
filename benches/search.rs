//! In-process figures, on generated records (`examples/gen.rs`, seed 7) at 10k, 100k and 1M:
//!
//! - `load`: native load throughput (bytes of file per second), from a file in a fresh temporary
//!   directory, as the browser and the command line load it (10k and 100k; see below for 1M).
//! - `key`: the time from one keystroke's query to its complete ranking, typing a victim's name
//!   (`summit bank`) and an actor filter (`actor:lazarus`) one letter at a time through the search
//!   worker, as the browser does (each query narrows the one before). `rescan` is the same last
//!   query run afresh over every record, without narrowing.
//! - `matcher`: nucleo-matcher (fzf's algorithm, the one the browser uses) beside fuzzy-matcher's
//!   skim algorithm (the design's first choice) on the same victims, one thread.
//!
//!   cargo bench --bench search                      # every size
//!   INCIDENTS_BENCH_SIZES=10000,100000 cargo bench --bench search
//!
//! The million-record file is about 1.7 GB, written to the temporary directory.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use incidents::load::{self, LoadOptions};
use incidents::query::{Corpus, Query, SearchRequest, SearchUpdate, Worker, search};

#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod generator;

const SEED: u64 = 7;

// The binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn sizes() -> Vec<usize> {
    std::env::var("INCIDENTS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

/// A generated file of `count` records, in a directory removed when the value is dropped.
struct Generated {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: u64,
}

fn generate(count: usize) -> Generated {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(format!("{count}.json"));
    let file = std::fs::File::create(&path).expect("the file is created");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    generator::write_records(&mut out, count, SEED, false).expect("records are written");
    drop(out);
    let bytes = std::fs::metadata(&path).expect("the file is there").len();
    Generated { _dir: dir, path, bytes }
}

fn load_corpus(file: &Generated) -> Arc<Corpus> {
    let dataset = load::load(std::slice::from_ref(&file.path), &LoadOptions::default()).expect("generated data loads");
    Arc::new(Corpus::new(dataset))
}

/// The queries typing `word` sends, one per key, leaving out those that do not parse yet
/// (`actor:` before its value), which the browser does not search either.
fn keystrokes(word: &str) -> Vec<Query> {
    word.char_indices().filter_map(|(i, c)| Query::parse(&word[..i + c.len_utf8()]).ok()).collect()
}

/// A worker whose answers arrive on a channel.
fn worker(corpus: &Arc<Corpus>) -> (Worker, mpsc::Receiver<SearchUpdate>) {
    let (tx, rx) = mpsc::channel();
    let worker = Worker::spawn(Arc::clone(corpus), move |u| {
        let _ = tx.send(u);
    });
    (worker, rx)
}

/// Types the queries one after another, each waiting for its complete ranking; the mean time per
/// key.
fn type_through(
    worker: &Worker,
    rx: &mpsc::Receiver<SearchUpdate>,
    queries: &[Query],
    generation: &mut u64,
) -> Duration {
    let start = Instant::now();
    for query in queries {
        *generation += 1;
        worker.submit(SearchRequest { generation: *generation, query: query.clone(), ..SearchRequest::default() });
        loop {
            let u = rx.recv().expect("the worker answers");
            if u.generation == *generation && u.complete {
                black_box(u.hits);
                break;
            }
        }
    }
    start.elapsed() / queries.len() as u32
}

fn benches(c: &mut Criterion) {
    for count in sizes() {
        let file = generate(count);
        let samples = if count >= 1_000_000 { 10 } else { 20 };

        // A load keeps the file's text for the rest of the run (the records borrow it), so each
        // load of a million records would hold on to 1.7 GB: that size is timed a whole process
        // at a time, by `COUNT=1000000 benches/compare.sh`.
        if count < 1_000_000 {
            let mut group = c.benchmark_group("load");
            group.sample_size(10).throughput(Throughput::Bytes(file.bytes));
            group.bench_function(BenchmarkId::from_parameter(count), |b| {
                // Freeing the records is not part of loading them.
                b.iter_with_large_drop(|| load::load(std::slice::from_ref(&file.path), &LoadOptions::default()))
            });
            group.finish();
        }

        let corpus = load_corpus(&file);
        let mut group = c.benchmark_group("key");
        group.sample_size(samples);
        for word in ["summit bank", "actor:lazarus"] {
            let queries = keystrokes(word);
            group.bench_function(BenchmarkId::new(format!("typing {word:?}, per key"), count), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut generation = 0;
                    for _ in 0..iters {
                        // A fresh worker each time: typing starts from the whole dataset.
                        let (w, rx) = worker(&corpus);
                        total += type_through(&w, &rx, &queries, &mut generation);
                    }
                    total
                })
            });
            let last = queries.last().expect("the word parses").clone();
            group.bench_function(BenchmarkId::new(format!("rescan {word:?}"), count), |b| {
                let request = SearchRequest { query: last.clone(), ..SearchRequest::default() };
                b.iter(|| black_box(search(&corpus, &request)))
            });
        }
        group.finish();

        if count == 100_000 {
            matchers(c, &corpus);
        }
    }
}

/// The two matchers on the same victims: how long one pass over all of them takes, for a word's
/// first letter (most victims match and are scored) and for a whole query (most are not).
fn matchers(c: &mut Criterion, corpus: &Corpus) {
    use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
    let victims: Vec<&str> = (0..corpus.len() as u32).map(|i| corpus.incident(i).victim.as_ref()).collect();
    let mut group = c.benchmark_group("matcher");
    group.sample_size(20).throughput(Throughput::Elements(victims.len() as u64));
    for needle in ["s", "summit bank"] {
        group.bench_function(BenchmarkId::new("fuzzy-matcher skim", needle), |b| {
            let m = SkimMatcherV2::default().ignore_case();
            b.iter(|| victims.iter().filter(|v| m.fuzzy_match(v, needle).is_some()).count())
        });
        group.bench_function(BenchmarkId::new("nucleo-matcher", needle), |b| {
            let mut m = nucleo_matcher::Matcher::new(nucleo_matcher::Config::DEFAULT);
            // One needle, spaces included, as skim takes it.
            let pattern = Atom::new(needle, CaseMatching::Ignore, Normalization::Never, AtomKind::Fuzzy, false);
            let mut buf = Vec::new();
            b.iter(|| {
                victims
                    .iter()
                    .filter(|v| pattern.score(nucleo_matcher::Utf32Str::new(v, &mut buf), &mut m).is_some())
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(search_benches, benches);
criterion_main!(search_benches);
