//! The search engine as the browser uses it: narrowing a query as it grows gives exactly the
//! results of searching afresh, the worker's answers to old queries never replace newer ones,
//! keys typed during a slow search are all kept, and every order is the one promised.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use incidents::app::{Action, AppState, Effect, Start};
use incidents::load::{self, LoadOptions};
use incidents::model::{Actor, ActorType, Dataset, Incident, Motive, PartialDate, TechniqueRef};
use incidents::query::{Corpus, Hit, Query, SearchRequest, SearchUpdate, SortKey, Worker, search};
use proptest::prelude::*;

const VICTIMS: [&str; 12] = [
    "Summit Bank",
    "First Summit Bank of Oregon",
    "CoinsPaid",
    "Coinbase",
    "Atomic Wallet",
    "City of Atlanta",
    "Saint Mary's Hospital",
    "Costa Rica Ministry of Finance",
    "Maersk",
    "Münchner Stadtwerke",
    "ÉLECTRICITÉ Réseau",
    "Bank of Summit County",
];
const ACTORS: [(&str, &str); 5] = [
    ("Lazarus Group", "HIDDEN COBRA"),
    ("APT1", "Comment Crew"),
    ("APT10", "menuPass"),
    ("Sandworm Team", "Voodoo Bear"),
    ("LockBit", "LockBit 3.0"),
];
const TTPS: [&str; 5] = ["T1566", "T1566.001", "T1486", "T1190", "T1657"];

/// A synthetic dataset of `n` incidents with overlapping names, actors and techniques, so that
/// queries match some and not others in many ways.
fn synthetic(n: usize) -> Dataset {
    let incidents = (0..n)
        .map(|i| {
            let (actor, alias) = ACTORS[i % ACTORS.len()];
            let year = 2005 + (i * 7 % 21) as u16;
            let month = 1 + (i * 5 % 12) as u8;
            Incident {
                id: format!("rec-{i}").into(),
                victim: format!("{} {}", VICTIMS[i % VICTIMS.len()], i % 97).into(),
                name: (i % 3 == 0)
                    .then(|| format!("Operation {}", ["Aurora", "Dust Storm", "Summit"][(i / 3) % 3]).into()),
                date: PartialDate::parse(&format!("{year}-{month:02}")).unwrap(),
                location: Some(["Estonia", "United States", "Japan", "Costa Rica"][i % 4].into()),
                industry: Some(["Banking", "Healthcare", "Government"][i % 3].into()),
                summary: format!("Summary {i} of a ransom case.").into(),
                description: (i % 2 == 0).then(|| "A longer text about the RANSOMWARE and the wallet.".into()),
                loss_usd: (i % 4 != 0).then_some((i as u64 * 7919) % 100_000_000),
                cia: None,
                motives: vec![[Motive::Financial, Motive::Espionage][i % 2]],
                ttps: vec![TechniqueRef::Attack { id: TTPS[i % TTPS.len()].into(), note: None }],
                actors: vec![std::sync::Arc::new(Actor {
                    name: actor.into(),
                    kind: ActorType::NationState,
                    location: None,
                    aliases: vec![alias.into()],
                })],
                sources: Vec::new(),
                related: Vec::new(),
                tags: vec![["crypto", "ransomware", "espionage"][i % 3].into()],
            }
        })
        .collect();
    Dataset { incidents, label: "synthetic".into(), ..Dataset::default() }
}

fn request(generation: u64, query: &str, sort: SortKey, reverse: bool) -> SearchRequest {
    SearchRequest { generation, query: Query::parse(query).unwrap(), sort, reverse, limit: None, stats: false }
}

/// A worker whose answers arrive on a channel.
fn worker(corpus: &Arc<Corpus>) -> (Worker, mpsc::Receiver<SearchUpdate>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let worker = Worker::spawn(Arc::clone(corpus), move |u| {
        let _ = tx.lock().unwrap().send(u);
    });
    (worker, rx)
}

/// Waits for the complete answer to one generation.
fn complete(rx: &mpsc::Receiver<SearchUpdate>, generation: u64) -> Vec<Hit> {
    loop {
        let u = rx.recv_timeout(Duration::from_secs(60)).expect("the worker answers");
        if u.generation == generation && u.complete {
            return u.hits;
        }
    }
}

/// Pieces of queries: words, filters and negations that overlap in what they match.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("s".to_string()),
        Just("su".to_string()),
        Just("summit".to_string()),
        Just("bank".to_string()),
        Just("coin".to_string()),
        Just("é".to_string()),
        Just("actor:laz".to_string()),
        Just("actor:lazarus".to_string()),
        Just("actor:=apt1".to_string()),
        Just("actor:apt1".to_string()),
        Just("!actor:apt10".to_string()),
        Just("!sum".to_string()),
        Just("!summit".to_string()),
        Just("ttp:t15".to_string()),
        Just("ttp:t1566".to_string()),
        Just("ttp:phish".to_string()),
        Just("year:2010..2020".to_string()),
        Just("year:2015".to_string()),
        Just("!year:2012..2014".to_string()),
        Just("text:ransom".to_string()),
        Just("name:aurora".to_string()),
        Just("\"atomic wal\"".to_string()),
        Just("motive:fin".to_string()),
        Just("country:est".to_string()),
    ]
}

/// How the analyst changes the query between two searches: mostly typing on, sometimes deleting.
#[derive(Debug, Clone)]
enum Edit {
    Append(String),
    AppendChar(char),
    DeleteChar,
    DeleteWord,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => piece().prop_map(Edit::Append),
        3 => prop::sample::select(vec!['a', 'n', 'k', 's', 'u', 'm', 'i', 't', '1', ' ']).prop_map(Edit::AppendChar),
        1 => Just(Edit::DeleteChar),
        1 => Just(Edit::DeleteWord),
    ]
}

fn apply_edit(input: &mut String, edit: &Edit) {
    match edit {
        Edit::Append(p) => {
            if !input.is_empty() && !input.ends_with(' ') {
                input.push(' ');
            }
            input.push_str(p);
        }
        Edit::AppendChar(c) => input.push(*c),
        Edit::DeleteChar => {
            input.pop();
        }
        Edit::DeleteWord => {
            let kept = input.trim_end().rfind(' ').map_or(0, |i| i + 1);
            input.truncate(kept);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// However the query changes, the worker (which narrows when it can) answers exactly what a
    /// fresh search over the whole dataset answers.
    #[test]
    fn narrowing_gives_the_results_of_a_full_search(
        edits in prop::collection::vec(edit(), 1..12),
        sort in prop::sample::select(SortKey::ALL.to_vec()),
        reverse in any::<bool>(),
    ) {
        let corpus = Arc::new(Corpus::new(synthetic(3_000)));
        let (worker, rx) = worker(&corpus);
        let mut input = String::new();
        for (generation, edit) in (1..).zip(&edits) {
            apply_edit(&mut input, edit);
            let Ok(query) = Query::parse(&input) else { continue };
            let req = SearchRequest { generation, query, sort, reverse, ..SearchRequest::default() };
            worker.submit(req.clone());
            let narrowed = complete(&rx, generation);
            prop_assert_eq!(&narrowed, &search(&corpus, &req), "query {:?}", input);
        }
    }
}

#[test]
fn a_large_narrowed_search_equals_a_full_one() {
    // Large enough for the blocks to be spread over every core and the top page ranked first.
    let corpus = Arc::new(Corpus::new(synthetic(120_000)));
    let (worker, rx) = worker(&corpus);
    for (generation, query) in (1..).zip(["s", "su", "sum", "summit", "summit b", "summit ba actor:apt1", "summit"]) {
        let req = request(generation, query, SortKey::Score, false);
        worker.submit(req.clone());
        let hits = complete(&rx, generation);
        assert_eq!(hits, search(&corpus, &req), "{query}");
        assert!(!hits.is_empty(), "{query} matches something");
    }
}

#[test]
fn an_index_built_in_parts_answers_as_the_records_do() {
    // Large enough to be built in parts side by side: every part's keys must still name the right
    // records and values, at the edges of the parts too.
    let corpus = Corpus::new(synthetic(70_000));
    for i in [0, 1, 4095, 4096, 16_383, 16_384, 32_767, 32_768, 65_535, 65_536, 69_999] {
        assert_eq!(corpus.find(&format!("rec-{i}")), Some(i), "rec-{i}");
    }
    assert_eq!(corpus.find("rec-70000"), None);
    let found = |query: &str| {
        let mut all: Vec<u32> =
            search(&corpus, &request(0, query, SortKey::Date, false)).iter().map(|h| h.index).collect();
        all.sort_unstable();
        all
    };
    let expected = |holds: &dyn Fn(&Incident) -> bool| -> Vec<u32> {
        (0..corpus.len() as u32).filter(|&i| holds(corpus.incident(i))).collect()
    };
    assert_eq!(found("country:japan"), expected(&|i| i.location.as_deref() == Some("Japan")));
    assert_eq!(found("industry:=government"), expected(&|i| i.industry.as_deref() == Some("Government")));
    assert_eq!(found("ttp:=t1486"), expected(&|i| i.ttps.iter().any(|t| t.attack_id() == Some("T1486"))));
    assert_eq!(found("actor:=\"voodoo bear\""), expected(&|i| i.actors.iter().any(|a| a.name == "Sandworm Team")));
    assert_eq!(found("name:dust"), expected(&|i| i.name.as_deref() == Some("Operation Dust Storm")));
    let by_victim = search(&corpus, &request(0, "", SortKey::Victim, false));
    assert_eq!(by_victim.len(), 70_000);
    let victims: Vec<String> = by_victim.iter().map(|h| corpus.incident(h.index).victim.to_lowercase()).collect();
    assert!(victims.windows(2).all(|w| w[0] <= w[1]), "victims A to Z");
}

#[test]
fn orders_are_the_ones_promised() {
    let corpus = Corpus::new(synthetic(5_000));
    let inc = |h: &Hit| corpus.incident(h.index);
    let by = |sort, reverse| search(&corpus, &request(0, "actor:laz", sort, reverse));

    let date = by(SortKey::Date, false);
    assert!(date.windows(2).all(|w| inc(&w[0]).date >= inc(&w[1]).date), "newest first");
    assert!(
        date.windows(2).all(|w| inc(&w[0]).date > inc(&w[1]).date || w[0].index < w[1].index),
        "incidents of one date in dataset order"
    );
    let victim = by(SortKey::Victim, false);
    assert!(victim.windows(2).all(|w| inc(&w[0]).victim.to_lowercase() <= inc(&w[1]).victim.to_lowercase()));
    let loss = by(SortKey::Loss, false);
    assert!(loss.windows(2).all(|w| inc(&w[0]).loss_usd >= inc(&w[1]).loss_usd), "largest loss first, none last");
    assert!(loss.last().is_some_and(|h| inc(h).loss_usd.is_none()));
    for sort in SortKey::ALL {
        let mut reversed = by(sort, true);
        reversed.reverse();
        assert_eq!(reversed, by(sort, false), "--reverse reverses {sort:?}");
    }
    let scored = search(&corpus, &request(0, "summit", SortKey::Score, false));
    assert!(scored.windows(2).all(|w| w[0].score >= w[1].score), "best score first");
    let limited = search(&corpus, &SearchRequest { limit: Some(7), ..request(0, "summit", SortKey::Score, false) });
    assert_eq!(limited, scored[..7]);
}

#[test]
fn answers_to_an_older_query_never_replace_newer_results() {
    let corpus = Arc::new(Corpus::new(load::bundled(&LoadOptions::default()).unwrap()));
    let (mut state, first) = AppState::new(Arc::clone(&corpus), Start::default());
    let Effect::Search(first) = first else { panic!("a search first") };
    state.run_search(&first);
    let Some(Effect::Search(old)) = state.update(Action::Input('c')) else { panic!("typing searches") };
    let Some(Effect::Search(new)) = state.update(Action::Input('o')) else { panic!("typing searches") };
    state.run_search(&new);
    let newest = state.hits().to_vec();
    // The answer to `c` arrives late, after the answer to `co`.
    let late = search(&corpus, &old);
    assert_ne!(late, newest, "the two queries have different results");
    let total = corpus.len();
    state.update(Action::Results(SearchUpdate {
        generation: old.generation,
        hits: late,
        scanned: total,
        total,
        complete: true,
        stats: None,
    }));
    assert_eq!(state.hits(), newest.as_slice(), "the late answer is ignored");
}

#[test]
fn keys_typed_during_a_slow_search_are_all_kept() {
    // Big enough that each search takes a while, so keys arrive while searches run.
    let corpus = Arc::new(Corpus::new(synthetic(400_000)));
    let (worker, rx) = worker(&corpus);
    let (mut state, first) = AppState::new(Arc::clone(&corpus), Start::default());
    let Effect::Search(first) = first else { panic!("a search first") };
    worker.submit(first);
    let typed = "summit bank actor:laz";
    let mut last = 0;
    state.update(Action::StartSearch);
    for c in typed.chars() {
        // Each key is handled at once, whatever the worker is doing.
        if let Some(Effect::Search(req)) = state.update(Action::Input(c)) {
            last = req.generation;
            worker.submit(req);
        }
        while let Ok(update) = rx.try_recv() {
            state.update(Action::Results(update));
        }
    }
    assert_eq!(state.input(), typed, "every key reached the search bar");
    loop {
        let update = rx.recv_timeout(Duration::from_secs(120)).expect("the worker answers");
        let done = update.generation == last && update.complete;
        state.update(Action::Results(update));
        if done {
            break;
        }
    }
    let expected = search(&corpus, &request(0, typed, SortKey::Score, false));
    assert_eq!(state.hits(), expected.as_slice(), "the results are those of everything typed");
    assert!(!state.searching());
}
