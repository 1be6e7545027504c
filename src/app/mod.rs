//! Application state and the only code that changes it: `update(Action)`. No drawing, no I/O:
//! what should happen outside (a search, a copy, quitting) is returned as an `Effect`.

mod keymap;

pub use keymap::{Binding, Context, KeyMap, key_label};

use std::sync::Arc;

use crate::model::Incident;
use crate::query::{Corpus, Hit, Matcher, Query, QueryError, SearchRequest, SearchUpdate, SortKey, quote_value};

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
    Detail,
}

/// The detail pane's tabs, in the order of their number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Motives,
    Ttps,
    Actors,
    Sources,
    Related,
}

impl Tab {
    pub const ALL: [Tab; 6] = [Tab::Overview, Tab::Motives, Tab::Ttps, Tab::Actors, Tab::Sources, Tab::Related];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Motives => "Motives",
            Tab::Ttps => "TTPs",
            Tab::Actors => "Actors",
            Tab::Sources => "Sources",
            Tab::Related => "Related",
        }
    }

    pub fn number(self) -> usize {
        Self::ALL.iter().position(|&t| t == self).unwrap_or(0) + 1
    }

    fn offset(self, by: isize) -> Self {
        let n = Self::ALL.len() as isize;
        Self::ALL[(self.number() as isize - 1 + by).rem_euclid(n) as usize]
    }
}

/// A window drawn over the panes; keys scroll it, any other key closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// The records `--skip-invalid` left out, shown once at start.
    Skipped,
}

/// Everything that can happen to the state: keys, and answers from outside.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    StartSearch,
    Input(char),
    /// Text pasted into the terminal: it goes to the search bar, never to the key map.
    Paste(String),
    Backspace,
    DeleteWord,
    ClearInput,
    AcceptSearch,
    Back,
    /// Back through the pivot and search history.
    HistoryBack,
    Enter,
    NextTab,
    PrevTab,
    SelectTab(Tab),
    CycleSort,
    ReverseSort,
    ToggleHelp,
    /// Show every incident of the selected incident's first named actor.
    PivotActor,
    Quit,
    /// Ctrl-C: quits from anywhere, the help included.
    Interrupt,
    /// Results from the search worker.
    Results(SearchUpdate),
    /// What the last frame could show, measured as it was drawn.
    Measured(ViewMetrics),
}

/// What the state asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run this search and send back `Action::Results`.
    Search(SearchRequest),
    Quit,
}

/// The geometry of the last frame, which paging and scrolling need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewMetrics {
    /// Rows of incidents the list shows.
    pub list_rows: usize,
    /// The last line the detail pane's text can scroll to.
    pub detail_max_scroll: u16,
}

impl Default for ViewMetrics {
    fn default() -> Self {
        Self { list_rows: 20, detail_max_scroll: u16::MAX }
    }
}

/// How the browser starts: the command line's query options.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub query: String,
    pub sort: SortKey,
    pub reverse: bool,
    pub limit: Option<usize>,
}

/// The results on screen: the newest answer from the worker.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub generation: u64,
    pub hits: Vec<Hit>,
    pub complete: bool,
    pub scanned: usize,
    pub total: usize,
}

/// A place to come back to: what the analyst was looking at before a pivot or a search.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    input: String,
    selected: Option<u32>,
    tab: Tab,
    detail_scroll: u16,
}

pub struct AppState {
    corpus: Arc<Corpus>,
    keymap: KeyMap,
    input: String,
    query_error: Option<QueryError>,
    /// The query of the newest search, for highlighting matched letters.
    matcher: Matcher,
    /// The generation of the newest search asked for.
    generation: u64,
    results: Results,
    /// Index into `results.hits`.
    selected: usize,
    /// The first row the list shows.
    list_offset: usize,
    /// After the next results arrive, select this incident (a re-sort, a step back).
    reselect: Option<u32>,
    focus: Focus,
    tab: Tab,
    sort: SortKey,
    reverse: bool,
    limit: Option<usize>,
    popup: Option<Popup>,
    popup_scroll: u16,
    detail_scroll: u16,
    metrics: ViewMetrics,
    history: Vec<Snapshot>,
    /// The state when the search bar was opened, kept in history if the search is accepted.
    before_search: Option<Snapshot>,
}

impl AppState {
    /// The state for a corpus, and the first search to run.
    pub fn new(corpus: Arc<Corpus>, start: Start) -> (Self, Effect) {
        let popup = (!corpus.dataset.skipped.is_empty()).then_some(Popup::Skipped);
        let mut state = Self {
            corpus,
            keymap: KeyMap::default(),
            input: start.query,
            query_error: None,
            matcher: Matcher::new(Query::default()),
            generation: 0,
            results: Results::default(),
            selected: 0,
            list_offset: 0,
            reselect: None,
            focus: Focus::List,
            tab: Tab::Overview,
            sort: start.sort,
            reverse: start.reverse,
            limit: start.limit,
            popup,
            popup_scroll: 0,
            detail_scroll: 0,
            metrics: ViewMetrics::default(),
            history: Vec::new(),
            before_search: None,
        };
        // A malformed --query shows its error in the search bar over every incident.
        let effect = match state.search() {
            Some(effect) => effect,
            None => {
                let input = std::mem::take(&mut state.input);
                let effect = state.search().unwrap_or(Effect::Quit);
                state.input = input;
                effect
            }
        };
        (state, effect)
    }

    pub fn corpus(&self) -> &Corpus {
        &self.corpus
    }

    pub fn keymap(&self) -> &KeyMap {
        &self.keymap
    }

    pub fn input(&self) -> &str {
        &self.input
    }

    pub fn query_error(&self) -> Option<&QueryError> {
        self.query_error.as_ref()
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    pub fn results(&self) -> &Results {
        &self.results
    }

    pub fn hits(&self) -> &[Hit] {
        &self.results.hits
    }

    /// Whether the newest search is still running.
    pub fn searching(&self) -> bool {
        self.results.generation != self.generation || !self.results.complete
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn list_offset(&self) -> usize {
        self.list_offset
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn sort(&self) -> SortKey {
        self.sort
    }

    pub fn reverse(&self) -> bool {
        self.reverse
    }

    pub fn popup(&self) -> Option<Popup> {
        self.popup
    }

    pub fn popup_scroll(&self) -> u16 {
        self.popup_scroll
    }

    pub fn detail_scroll(&self) -> u16 {
        self.detail_scroll
    }

    /// The queries that led here, oldest first, ending with the current one.
    pub fn trail(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(|s| s.input.as_str()).chain(std::iter::once(self.input.as_str()))
    }

    pub fn selected_hit(&self) -> Option<Hit> {
        self.results.hits.get(self.selected).copied()
    }

    pub fn selected_incident(&self) -> Option<&Incident> {
        self.selected_hit().map(|h| self.corpus.incident(h.index))
    }

    /// Applies one action; returns what should happen outside, if anything.
    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Results(update) => {
                self.receive(update);
                return None;
            }
            Action::Measured(metrics) => {
                self.metrics = metrics;
                self.detail_scroll = self.detail_scroll.min(metrics.detail_max_scroll);
                self.fix_offset();
                return None;
            }
            _ => {}
        }
        if self.popup.is_some() {
            return self.update_popup(action);
        }
        match action {
            Action::Quit | Action::Interrupt => return Some(Effect::Quit),
            Action::ToggleHelp => {
                self.popup = Some(Popup::Help);
                self.popup_scroll = 0;
            }
            Action::PivotActor => {
                let actor = self.selected_incident().and_then(|i| i.actors.iter().find(|a| a.is_named()))?;
                let query = format!("actor:={}", quote_value(&actor.name));
                return self.pivot(query);
            }
            Action::StartSearch => {
                self.before_search = Some(self.snapshot());
                self.focus = Focus::Search;
            }
            Action::Input(c) => {
                self.focus = Focus::Search;
                self.input.push(c);
                return self.search();
            }
            Action::Paste(text) => {
                if self.focus != Focus::Search {
                    self.before_search = Some(self.snapshot());
                    self.focus = Focus::Search;
                }
                // A pasted line break must not submit anything: it becomes a space.
                let clean: String =
                    text.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).filter(|c| !c.is_control()).collect();
                self.input.push_str(&clean);
                return self.search();
            }
            Action::Backspace => {
                self.input.pop();
                return self.search();
            }
            Action::DeleteWord => {
                let kept = self.input.trim_end().rfind(char::is_whitespace).map_or(0, |i| i + 1);
                self.input.truncate(kept);
                return self.search();
            }
            Action::ClearInput => {
                self.input.clear();
                return self.search();
            }
            Action::AcceptSearch => {
                self.focus = Focus::List;
                if let Some(before) = self.before_search.take()
                    && before.input != self.input
                {
                    self.history.push(before);
                }
            }
            Action::Back => match self.focus {
                Focus::Search => {
                    self.focus = Focus::List;
                    let before = self.before_search.take();
                    self.input.clear();
                    if let Some(before) = before.filter(|b| b.input.is_empty()) {
                        self.reselect = before.selected;
                    }
                    return self.search();
                }
                Focus::Detail => self.focus = Focus::List,
                Focus::List if !self.history.is_empty() => return self.step_back(),
                Focus::List if !self.input.is_empty() => {
                    self.input.clear();
                    return self.search();
                }
                Focus::List => {}
            },
            Action::HistoryBack => return self.step_back(),
            Action::Enter => match self.focus {
                Focus::List if self.selected_hit().is_some() => self.focus = Focus::Detail,
                Focus::Search => return self.update(Action::AcceptSearch),
                _ => {}
            },
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::First | Action::Last => {
                if self.focus == Focus::Detail {
                    self.scroll_detail(&action);
                } else {
                    self.move_selection(&action);
                }
            }
            Action::NextTab => self.set_tab(self.tab.offset(1)),
            Action::PrevTab => self.set_tab(self.tab.offset(-1)),
            Action::SelectTab(t) => self.set_tab(t),
            Action::CycleSort => {
                self.sort = self.sort.next();
                return self.resort();
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                return self.resort();
            }
            Action::Results(_) | Action::Measured(_) => {}
        }
        None
    }

    fn update_popup(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Down => self.popup_scroll = self.popup_scroll.saturating_add(1),
            Action::Up => self.popup_scroll = self.popup_scroll.saturating_sub(1),
            Action::PageDown => self.popup_scroll = self.popup_scroll.saturating_add(10),
            Action::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
            Action::Interrupt => return Some(Effect::Quit),
            _ => self.popup = None,
        }
        None
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            input: self.input.clone(),
            selected: self.selected_hit().map(|h| h.index),
            tab: self.tab,
            detail_scroll: self.detail_scroll,
        }
    }

    /// Replaces the query with a pivot's, keeping the way back.
    fn pivot(&mut self, query: String) -> Option<Effect> {
        if query == self.input {
            return None;
        }
        self.history.push(self.snapshot());
        self.input = query;
        self.focus = Focus::List;
        self.search()
    }

    /// Goes back to the state before the last pivot or accepted search.
    fn step_back(&mut self) -> Option<Effect> {
        let back = self.history.pop()?;
        self.input = back.input;
        self.reselect = back.selected;
        self.tab = back.tab;
        let effect = self.search();
        // Restored after `search`, which starts new results at the top.
        self.detail_scroll = back.detail_scroll;
        self.focus = Focus::List;
        effect
    }

    fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.detail_scroll = 0;
    }

    fn move_selection(&mut self, action: &Action) {
        let Some(last) = self.results.hits.len().checked_sub(1) else { return };
        let page = self.metrics.list_rows.max(1);
        let before = self.selected;
        self.selected = match action {
            Action::Down => (self.selected + 1).min(last),
            Action::Up => self.selected.saturating_sub(1),
            Action::PageDown => (self.selected + page).min(last),
            Action::PageUp => self.selected.saturating_sub(page),
            Action::First => 0,
            Action::Last => last,
            _ => self.selected,
        };
        if self.selected != before {
            self.detail_scroll = 0;
        }
        self.fix_offset();
    }

    /// Keeps the selection on screen while moving the page as little as possible.
    fn fix_offset(&mut self) {
        let rows = self.metrics.list_rows.max(1);
        let len = self.results.hits.len();
        if self.selected < self.list_offset {
            self.list_offset = self.selected;
        } else if self.selected >= self.list_offset + rows {
            self.list_offset = self.selected + 1 - rows;
        }
        self.list_offset = self.list_offset.min(len.saturating_sub(rows));
    }

    fn scroll_detail(&mut self, action: &Action) {
        let max = self.metrics.detail_max_scroll;
        self.detail_scroll = match action {
            Action::Down => self.detail_scroll.saturating_add(1),
            Action::Up => self.detail_scroll.saturating_sub(1),
            Action::PageDown => self.detail_scroll.saturating_add(10),
            Action::PageUp => self.detail_scroll.saturating_sub(10),
            Action::First => 0,
            Action::Last => max,
            _ => self.detail_scroll,
        }
        .min(max);
    }

    /// Parses the input and asks for its results; a malformed query keeps the last good results
    /// on screen and shows its error.
    fn search(&mut self) -> Option<Effect> {
        match Query::parse(&self.input) {
            Ok(query) => {
                self.query_error = None;
                self.matcher = Matcher::new(query.clone());
                Some(self.request(query))
            }
            Err(e) => {
                self.query_error = Some(e);
                None
            }
        }
    }

    fn request(&mut self, query: Query) -> Effect {
        self.generation += 1;
        Effect::Search(SearchRequest {
            generation: self.generation,
            query,
            sort: self.sort,
            reverse: self.reverse,
            limit: self.limit,
        })
    }

    /// Asks for the same results in the new order, keeping the selected incident selected.
    fn resort(&mut self) -> Option<Effect> {
        self.reselect = self.selected_hit().map(|h| h.index);
        let query = self.matcher.query().clone();
        Some(self.request(query))
    }

    fn receive(&mut self, update: SearchUpdate) {
        if update.generation != self.generation {
            return;
        }
        let fresh = self.results.generation != update.generation;
        let keep = if fresh { None } else { self.selected_hit().filter(|_| self.selected > 0).map(|h| h.index) };
        let was = self.selected_hit().map(|h| h.index);
        self.results = Results {
            generation: update.generation,
            hits: update.hits,
            complete: update.complete,
            scanned: update.scanned,
            total: update.total,
        };
        let hits = &self.results.hits;
        // A re-sort or a step back looks for its incident until the full results are in.
        let wanted = self.reselect.or(keep);
        let found = wanted.and_then(|w| hits.iter().position(|h| h.index == w));
        if found.is_some() || self.results.complete {
            self.reselect = None;
        }
        self.selected = match (found, fresh) {
            (Some(at), _) => at,
            (None, true) => 0,
            (None, false) => self.selected.min(hits.len().saturating_sub(1)),
        };
        if self.selected_hit().map(|h| h.index) != was {
            self.detail_scroll = 0;
        }
        if fresh {
            self.list_offset = 0;
        }
        self.fix_offset();
    }

    /// Applies actions in order and runs every search they ask for at once, on this thread: what
    /// a batch of keys does, without a worker (tests, scripts). Returns the other effects.
    pub fn apply(&mut self, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for a in actions {
            if let Some(effect) = self.update(a) {
                match effect {
                    Effect::Search(request) => self.run_search(&request),
                    other => effects.push(other),
                }
            }
        }
        effects
    }

    /// Runs a search inline and takes its results.
    pub fn run_search(&mut self, request: &SearchRequest) {
        let hits = crate::query::search(&self.corpus, request);
        let total = self.corpus.len();
        self.update(Action::Results(SearchUpdate {
            generation: request.generation,
            hits,
            scanned: total,
            total,
            complete: true,
        }));
    }
}
