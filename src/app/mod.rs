//! Application state and the only code that changes it: `update(Action)`. No drawing, no I/O:
//! what should happen outside (a search, a copy, quitting) is returned as an `Effect`.

mod keymap;

pub use keymap::{Binding, Context, KeyMap, key_label};

use std::sync::Arc;

use crate::export::Format as ExportFormat;
use crate::model::Incident;
pub use crate::present::Section as Tab;
use crate::present::{self, Row};
use crate::query::{Corpus, Hit, Matcher, Query, QueryError, SearchRequest, SearchUpdate, SortKey, quote_value};
use crate::stats::{Facet, Overview, Stats};

/// How many values of each field the stats view lists.
pub const STATS_TOP: usize = 8;

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
    Detail,
}

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The list and the detail pane.
    Browse,
    /// Charts and counts of the current results.
    Stats,
}

/// A window drawn over the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// The records `--skip-invalid` left out, shown once at start.
    Skipped,
    /// Counts of the current results by field; Enter adds a value as a filter.
    Facets,
    /// Writing the results to a file: a format and a file name.
    Export,
}

/// The formats `e` offers, in the order shown.
pub const EXPORT_FORMATS: [(ExportFormat, &str); 5] = [
    (ExportFormat::Csv, "CSV"),
    (ExportFormat::Json, "JSON (native incidents)"),
    (ExportFormat::Jsonl, "JSON Lines"),
    (ExportFormat::Markdown, "Markdown report"),
    (ExportFormat::Navigator(None), "ATT&CK Navigator layer"),
];

/// The export popup's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportForm {
    /// Index into `EXPORT_FORMATS`.
    pub format: usize,
    pub path: String,
    /// Whether the analyst typed the name (else it follows the format).
    pub edited: bool,
    /// The file exists: waiting for y or n before replacing it.
    pub confirm: bool,
}

/// What `y` and `Y` copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyWhat {
    /// The incident as Markdown, or the address of the Sources row under the cursor.
    Markdown,
    /// The incident as native JSON.
    Json,
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
    /// In the facets: add the value's negation as a filter.
    Negate,
    NextTab,
    PrevTab,
    SelectTab(Tab),
    CycleSort,
    ReverseSort,
    ToggleHelp,
    ToggleFacets,
    ToggleStats,
    ToggleExport,
    /// Show every incident of the selected incident's first named actor.
    PivotActor,
    Copy(CopyWhat),
    Quit,
    /// Ctrl-C: quits from anywhere, the help included.
    Interrupt,
    /// Results from the search worker.
    Results(SearchUpdate),
    /// What the last frame could show, measured as it was drawn.
    Measured(ViewMetrics),
    /// A message from outside for the status line (a copy that failed).
    Notice(String),
    /// The export's file exists: ask before replacing it.
    ExportExists,
    /// The export is done (or failed): close the popup and say so.
    ExportFinished(String),
}

impl Action {
    /// Whether the action works on the selected incident or the list position, so that, typed
    /// right after a search, it must wait for that search's results (`/coinspaid⏎y` copies
    /// CoinsPaid, not whatever was selected before).
    pub fn acts_on_results(&self, focus: Focus) -> bool {
        match self {
            Action::Copy(_) | Action::PivotActor => true,
            Action::Enter => focus != Focus::Search,
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::First | Action::Last => true,
            _ => false,
        }
    }
}

/// What the state asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run this search and send back `Action::Results`.
    Search(SearchRequest),
    /// Put this text on the analyst's clipboard.
    Copy(String),
    /// Write the current results to a file; an existing file only when `replace`.
    Export {
        format: ExportFormat,
        path: String,
        replace: bool,
    },
    Quit,
}

/// The geometry of the last frame, which paging and scrolling need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMetrics {
    /// Rows of incidents the list shows.
    pub list_rows: usize,
    /// Lines the detail pane's text area shows.
    pub detail_height: u16,
    /// Where each row of the current tab starts and how many lines it takes, as wrapped.
    pub detail_rows: Vec<(u16, u16)>,
}

impl Default for ViewMetrics {
    fn default() -> Self {
        Self { list_rows: 20, detail_height: u16::MAX, detail_rows: Vec::new() }
    }
}

impl ViewMetrics {
    fn detail_lines(&self) -> u16 {
        self.detail_rows.last().map_or(0, |&(top, h)| top + h)
    }

    /// The last line the detail text can scroll to.
    fn max_scroll(&self) -> u16 {
        self.detail_lines().saturating_sub(self.detail_height)
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
    pub stats: Option<Arc<Stats>>,
}

/// A place to come back to: what the analyst was looking at before a pivot or a search.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    input: String,
    selected: Option<u32>,
    tab: Tab,
    detail_row: usize,
    detail_scroll: u16,
}

/// The largest copy a terminal is asked to take: OSC 52 payloads beyond this are dropped or
/// truncated by terminals and tmux.
pub const COPY_LIMIT: usize = 100 * 1024;

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
    /// The facet value under the cursor, counted across every facet's values.
    facet_cursor: usize,
    export: ExportForm,
    view: View,
    /// The stats view's bar or value under the cursor.
    stats_cursor: usize,
    /// The detail row under the cursor, and the first line shown.
    detail_row: usize,
    detail_scroll: u16,
    metrics: ViewMetrics,
    history: Vec<Snapshot>,
    /// The state when the search bar was opened, kept in history if the search is accepted.
    before_search: Option<Snapshot>,
    /// A message for the status line, until the next key.
    status: Option<String>,
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
            facet_cursor: 0,
            export: ExportForm::default(),
            view: View::Browse,
            stats_cursor: 0,
            detail_row: 0,
            detail_scroll: 0,
            metrics: ViewMetrics::default(),
            history: Vec::new(),
            before_search: None,
            status: None,
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

    /// Which bindings apply now.
    pub fn key_context(&self) -> Context {
        match (self.popup, self.focus) {
            (Some(Popup::Export), _) => Context::Form,
            (Some(_), _) => Context::Popup,
            (None, Focus::Search) => Context::Search,
            (None, _) => Context::Browse,
        }
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

    /// Whether the newest search has not answered at all yet.
    pub fn awaiting_results(&self) -> bool {
        self.results.generation != self.generation
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

    pub fn facet_cursor(&self) -> usize {
        self.facet_cursor
    }

    pub fn export_form(&self) -> &ExportForm {
        &self.export
    }

    pub fn view(&self) -> View {
        self.view
    }

    pub fn stats_cursor(&self) -> usize {
        self.stats_cursor
    }

    /// The counts of the current results, once the worker has made them.
    pub fn stats(&self) -> Option<&Stats> {
        self.results.stats.as_deref().filter(|_| self.results.generation == self.generation)
    }

    /// What the stats view shows and selects from.
    pub fn overview(&self) -> Option<Overview> {
        self.stats().map(|s| s.overview(&self.corpus.dataset.catalog, STATS_TOP))
    }

    pub fn detail_row(&self) -> usize {
        self.detail_row
    }

    pub fn detail_scroll(&self) -> u16 {
        self.detail_scroll
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
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

    /// The rows of the current tab for the selected incident.
    pub fn detail_rows(&self) -> Vec<Row> {
        self.selected_hit().map_or_else(Vec::new, |h| present::section(&self.corpus, h.index, self.tab))
    }

    /// The facets of the current results, once they are counted.
    pub fn facets(&self) -> Option<Vec<Facet>> {
        Some(self.stats()?.facets(&self.corpus.dataset.catalog))
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
                self.fit_detail();
                self.fix_offset();
                return None;
            }
            Action::Notice(text) => {
                self.status = Some(text);
                return None;
            }
            Action::ExportExists => {
                self.export.confirm = true;
                return None;
            }
            Action::ExportFinished(text) => {
                if self.popup == Some(Popup::Export) {
                    self.popup = None;
                }
                self.status = Some(text);
                return None;
            }
            _ => {}
        }
        self.status = None;
        if self.popup.is_some() {
            return self.update_popup(action);
        }
        if self.view == View::Stats
            && self.focus != Focus::Search
            && let Some(effect) = self.update_stats(&action)
        {
            return effect;
        }
        match action {
            Action::Quit | Action::Interrupt => return Some(Effect::Quit),
            Action::ToggleHelp => self.open(Popup::Help),
            Action::ToggleFacets => {
                self.open(Popup::Facets);
                self.facet_cursor = 0;
                // Counting is asked for only while someone looks at the counts.
                if self.facets().is_none() {
                    return self.research();
                }
            }
            Action::ToggleExport => {
                self.open(Popup::Export);
                let format = self.export.format;
                self.export = ExportForm { format, ..ExportForm::default() };
                self.export.path = self.default_export_path();
            }
            Action::ToggleStats => {
                if self.view == View::Stats {
                    self.view = View::Browse;
                    return None;
                }
                self.view = View::Stats;
                self.stats_cursor = 0;
                if self.stats().is_none() {
                    return self.research();
                }
            }
            Action::PivotActor => {
                let actor = self.selected_incident().and_then(|i| i.actors.iter().find(|a| a.is_named()))?;
                let query = format!("actor:={}", quote_value(&actor.name));
                return self.pivot(query);
            }
            Action::Copy(what) => return self.copy(what),
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
                Focus::List if self.selected_hit().is_some() => {
                    self.focus = Focus::Detail;
                    self.fit_detail();
                }
                Focus::Detail => {
                    let pivot = self.detail_rows().get(self.detail_row).and_then(|r| r.pivot.clone())?;
                    return self.pivot(pivot);
                }
                Focus::Search => return self.update(Action::AcceptSearch),
                Focus::List => {}
            },
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::First | Action::Last => {
                if self.focus == Focus::Detail {
                    self.move_in_detail(&action);
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
            Action::Negate
            | Action::Results(_)
            | Action::Measured(_)
            | Action::Notice(_)
            | Action::ExportExists
            | Action::ExportFinished(_) => {}
        }
        None
    }

    fn open(&mut self, popup: Popup) {
        self.popup = Some(popup);
        self.popup_scroll = 0;
    }

    fn update_popup(&mut self, action: Action) -> Option<Effect> {
        match self.popup {
            Some(Popup::Facets) => return self.update_facets(action),
            Some(Popup::Export) => return self.update_export(action),
            _ => {}
        }
        match action {
            Action::Down => self.popup_scroll = self.popup_scroll.saturating_add(1),
            Action::Up => self.popup_scroll = self.popup_scroll.saturating_sub(1),
            Action::PageDown => self.popup_scroll = self.popup_scroll.saturating_add(10),
            Action::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
            Action::First => self.popup_scroll = 0,
            Action::Interrupt => return Some(Effect::Quit),
            _ => self.popup = None,
        }
        None
    }

    fn update_facets(&mut self, action: Action) -> Option<Effect> {
        let values: Vec<String> =
            self.facets().unwrap_or_default().into_iter().flat_map(|f| f.values).map(|v| v.filter).collect();
        let last = values.len().saturating_sub(1);
        match action {
            Action::Down => self.facet_cursor = (self.facet_cursor + 1).min(last),
            Action::Up => self.facet_cursor = self.facet_cursor.saturating_sub(1),
            Action::PageDown => self.facet_cursor = (self.facet_cursor + 8).min(last),
            Action::PageUp => self.facet_cursor = self.facet_cursor.saturating_sub(8),
            Action::First => self.facet_cursor = 0,
            Action::Last => self.facet_cursor = last,
            Action::Enter | Action::Negate => {
                let filter = values.get(self.facet_cursor)?;
                let term = if action == Action::Negate { format!("!{filter}") } else { filter.clone() };
                // The popup stays open: its counts follow the narrowed results.
                let mut query = self.input.trim_end().to_string();
                if !query.is_empty() {
                    query.push(' ');
                }
                query.push_str(&term);
                self.facet_cursor = 0;
                return self.pivot(query);
            }
            Action::Interrupt => return Some(Effect::Quit),
            _ => self.popup = None,
        }
        None
    }

    /// Keys in the stats view: move over bars and values, Enter pivots, Esc leaves. Returns
    /// `None` for keys the view leaves to the rest (search, tabs, quitting).
    fn update_stats(&mut self, action: &Action) -> Option<Option<Effect>> {
        let items = self.overview().map_or(0, |o| o.len());
        let last = items.saturating_sub(1);
        match action {
            Action::Down => self.stats_cursor = (self.stats_cursor + 1).min(last),
            Action::Up => self.stats_cursor = self.stats_cursor.saturating_sub(1),
            Action::PageDown => self.stats_cursor = (self.stats_cursor + STATS_TOP).min(last),
            Action::PageUp => self.stats_cursor = self.stats_cursor.saturating_sub(STATS_TOP),
            Action::First => self.stats_cursor = 0,
            Action::Last => self.stats_cursor = last,
            Action::Enter | Action::Negate => {
                let filter = self.overview().and_then(|o| o.item(self.stats_cursor).map(|v| v.filter.clone()));
                let Some(filter) = filter else { return Some(None) };
                let term = if *action == Action::Negate { format!("!{filter}") } else { filter };
                let mut query = self.input.trim_end().to_string();
                if !query.is_empty() {
                    query.push(' ');
                }
                query.push_str(&term);
                self.stats_cursor = 0;
                let effect = self.pivot(query);
                // A pivot from the stats stays in the stats: the charts follow the narrowed results.
                self.view = View::Stats;
                return Some(effect);
            }
            Action::Back => self.view = View::Browse,
            _ => return None,
        }
        Some(None)
    }

    /// `incidents-actor-lazarus-group.csv`: a file name from the query and the format.
    fn default_export_path(&self) -> String {
        let mut slug = String::new();
        for c in self.input.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
        let ext = EXPORT_FORMATS[self.export.format].0.extension();
        let ext = if matches!(EXPORT_FORMATS[self.export.format].0, ExportFormat::Navigator(_)) {
            format!("layer.{ext}")
        } else {
            ext.to_string()
        };
        if slug.is_empty() {
            format!("incidents.{ext}")
        } else {
            format!("incidents-{}.{ext}", slug.trim_end_matches('-'))
        }
    }

    fn update_export(&mut self, action: Action) -> Option<Effect> {
        let searching = self.searching();
        let form = &mut self.export;
        if form.confirm {
            match action {
                Action::Input('y' | 'Y') => {
                    form.confirm = false;
                    let format = EXPORT_FORMATS[form.format].0;
                    return Some(Effect::Export { format, path: form.path.clone(), replace: true });
                }
                Action::Interrupt => return Some(Effect::Quit),
                _ => form.confirm = false,
            }
            return None;
        }
        match action {
            Action::Input(c) => {
                form.path.push(c);
                form.edited = true;
            }
            Action::Paste(text) => {
                form.path.push_str(text.trim());
                form.edited = true;
            }
            Action::Backspace => {
                form.path.pop();
                form.edited = true;
            }
            Action::ClearInput => {
                form.path.clear();
                form.edited = true;
            }
            Action::Down | Action::Up => {
                let n = EXPORT_FORMATS.len();
                form.format = if action == Action::Down { (form.format + 1) % n } else { (form.format + n - 1) % n };
                if !self.export.edited {
                    self.export.path = self.default_export_path();
                }
            }
            Action::Enter if self.results.hits.is_empty() && !searching => {
                self.status = Some("no incident to export: the search matches none".into());
            }
            Action::Enter if searching => {
                self.status = Some("the search is still running: export when it has finished".into());
            }
            Action::Enter if !form.path.trim().is_empty() => {
                let format = EXPORT_FORMATS[form.format].0;
                return Some(Effect::Export { format, path: form.path.trim().to_string(), replace: false });
            }
            Action::Interrupt => return Some(Effect::Quit),
            Action::Back => self.popup = None,
            _ => {}
        }
        None
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            input: self.input.clone(),
            selected: self.selected_hit().map(|h| h.index),
            tab: self.tab,
            detail_row: self.detail_row,
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
        self.detail_row = back.detail_row;
        self.detail_scroll = back.detail_scroll;
        self.focus = Focus::List;
        effect
    }

    fn copy(&mut self, what: CopyWhat) -> Option<Effect> {
        let hit = self.selected_hit()?;
        let inc = self.corpus.incident(hit.index);
        let row_copy = (self.focus == Focus::Detail && what == CopyWhat::Markdown)
            .then(|| self.detail_rows().get(self.detail_row).and_then(|r| r.copy.clone()))
            .flatten();
        let (text, label) = match (row_copy, what) {
            (Some(url), _) => (url, "the source's address".to_string()),
            (None, CopyWhat::Markdown) => {
                (present::markdown(&self.corpus, hit.index), format!("{} as Markdown", inc.id))
            }
            (None, CopyWhat::Json) => match serde_json::to_string_pretty(inc) {
                Ok(json) => (json, format!("{} as JSON", inc.id)),
                Err(e) => {
                    self.status = Some(format!("cannot copy: {e}"));
                    return None;
                }
            },
        };
        if text.len() > COPY_LIMIT {
            self.status = Some(format!(
                "not copied: {label} is {}, over the {} KB a terminal takes",
                size(text.len()),
                COPY_LIMIT / 1024
            ));
            return None;
        }
        self.status = Some(format!("copied {label} ({})", size(text.len())));
        Some(Effect::Copy(text))
    }

    fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.detail_row = 0;
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
            self.detail_row = 0;
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

    /// j/k in the detail move a cursor from row to row; a row taller than the pane is scrolled
    /// through line by line first, so every line can be read.
    fn move_in_detail(&mut self, action: &Action) {
        let rows = &self.metrics.detail_rows;
        let Some(last) = rows.len().checked_sub(1) else { return };
        let height = self.metrics.detail_height.max(1);
        let max = self.metrics.max_scroll();
        let (top, h) = rows[self.detail_row.min(last)];
        match action {
            Action::Down if top + h > self.detail_scroll + height => self.detail_scroll += 1,
            Action::Down => self.detail_row = (self.detail_row + 1).min(last),
            Action::Up if top < self.detail_scroll => self.detail_scroll -= 1,
            Action::Up => self.detail_row = self.detail_row.saturating_sub(1),
            Action::PageDown => {
                self.detail_scroll = (self.detail_scroll + height).min(max);
                self.detail_row = self.row_at(self.detail_scroll);
            }
            Action::PageUp => {
                self.detail_scroll = self.detail_scroll.saturating_sub(height);
                self.detail_row = self.row_at(self.detail_scroll);
            }
            Action::First => {
                self.detail_row = 0;
                self.detail_scroll = 0;
            }
            Action::Last => {
                self.detail_row = last;
                self.detail_scroll = max;
            }
            _ => {}
        }
        if matches!(action, Action::Down | Action::Up) {
            self.fit_detail();
        }
    }

    /// The first row that shows at this scroll position.
    fn row_at(&self, line: u16) -> usize {
        self.metrics.detail_rows.iter().position(|&(top, h)| top + h > line).unwrap_or(0)
    }

    /// Keeps the cursor row in view and the scroll within the text.
    fn fit_detail(&mut self) {
        let rows = &self.metrics.detail_rows;
        let Some(last) = rows.len().checked_sub(1) else {
            self.detail_row = 0;
            return;
        };
        self.detail_row = self.detail_row.min(last);
        let height = self.metrics.detail_height.max(1);
        let (top, h) = rows[self.detail_row];
        let bottom = top + h;
        if top < self.detail_scroll {
            // Coming from below: show as much of the row's end as fits.
            self.detail_scroll = top.max(bottom.saturating_sub(height));
        } else if bottom > self.detail_scroll + height {
            self.detail_scroll = top.min(bottom.saturating_sub(height));
        }
        self.detail_scroll = self.detail_scroll.min(self.metrics.max_scroll());
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
            stats: self.popup == Some(Popup::Facets) || self.view == View::Stats,
        })
    }

    /// Asks for the same results in the new order, keeping the selected incident selected.
    fn resort(&mut self) -> Option<Effect> {
        self.reselect = self.selected_hit().map(|h| h.index);
        self.research()
    }

    /// Asks again for the current query (to count its results, or to order them anew).
    fn research(&mut self) -> Option<Effect> {
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
            stats: update.stats,
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
            self.detail_row = 0;
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
        let stats = request.stats.then(|| Stats::compute(&self.corpus, &hits, &|| false).map(Arc::new)).flatten();
        let total = self.corpus.len();
        self.update(Action::Results(SearchUpdate {
            generation: request.generation,
            hits,
            scanned: total,
            total,
            complete: true,
            stats,
        }));
    }
}

/// `1.2 KB`, `850 B`: sizes in the status line.
fn size(bytes: usize) -> String {
    if bytes < 1024 { format!("{bytes} B") } else { format!("{:.1} KB", bytes as f64 / 1024.0) }
}
