//! The search worker: queries run on a thread of their own, so typing is never held up by a
//! search. Each request carries a generation; a newer request cancels the one running, and only
//! the newest request's answers are delivered as final.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use super::index::Corpus;
use super::parse::Query;
use super::search::{SearchRequest, SearchUpdate, run};

pub struct Worker {
    jobs: Option<mpsc::Sender<SearchRequest>>,
    latest: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// What the last finished search matched: a later query that narrows it looks only at these.
struct Narrowing {
    query: Query,
    matched: Vec<u32>,
}

impl Worker {
    /// Starts the worker; `deliver` is called on the worker's thread with every update.
    pub fn spawn(corpus: Arc<Corpus>, deliver: impl FnMut(SearchUpdate) + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel::<SearchRequest>();
        let latest = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&latest);
        let thread =
            std::thread::Builder::new().name("search".into()).spawn(move || serve(&corpus, &rx, &seen, deliver)).ok();
        Self { jobs: Some(tx), latest, thread }
    }

    /// Asks for a search; a search still running for an older request stops at its next block.
    pub fn submit(&self, request: SearchRequest) {
        self.latest.fetch_max(request.generation, Ordering::SeqCst);
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(request);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the thread; a search in progress is cancelled first.
        self.latest.store(u64::MAX, Ordering::SeqCst);
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    corpus: &Corpus,
    jobs: &mpsc::Receiver<SearchRequest>,
    latest: &AtomicU64,
    mut deliver: impl FnMut(SearchUpdate),
) {
    let mut last: Option<Narrowing> = None;
    while let Ok(mut request) = jobs.recv() {
        // Requests that queued up while the last search ran: only the newest matters.
        while let Ok(newer) = jobs.try_recv() {
            request = newer;
        }
        let generation = request.generation;
        let stale = || latest.load(Ordering::SeqCst) != generation;
        if stale() {
            continue;
        }
        let candidates = last.as_ref().filter(|n| request.query.narrows(&n.query)).map(|n| n.matched.as_slice());
        let total = candidates.map_or(corpus.len(), <[u32]>::len);
        let result = run(corpus, &request, candidates, &stale, &mut deliver);
        let Some((hits, matched)) = result else { continue };
        deliver(SearchUpdate { generation, hits, scanned: total, total, complete: true });
        last = Some(Narrowing { query: request.query, matched });
    }
}
