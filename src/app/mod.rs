//! Application state and the only code that changes it: `update(Action)`. No drawing, no I/O.

mod keymap;

pub use keymap::{Binding, Context, KeyMap, key_label};

use std::cell::Cell;

use crate::model::{Dataset, Incident};
use crate::query::{Hit, Matcher, Query, QueryError, SortKey, search, sort_hits};

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

    fn index(self) -> usize {
        Self::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Self {
        let n = Self::ALL.len() as isize;
        Self::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }
}

/// A window drawn over the panes; keys scroll it, any other key closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// The records `--skip-invalid` left out, shown once at start.
    Skipped,
}

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    StartSearch,
    Input(char),
    Backspace,
    DeleteWord,
    ClearInput,
    AcceptSearch,
    Back,
    Enter,
    NextTab,
    PrevTab,
    SelectTab(usize),
    CycleSort,
    ReverseSort,
    ToggleHelp,
    /// Show every incident of the selected incident's first actor.
    PivotActor,
    Quit,
    /// Ctrl-C: quits from anywhere, the help included.
    Interrupt,
}

pub struct AppState {
    pub dataset: Dataset,
    pub input: String,
    pub query_error: Option<QueryError>,
    pub matcher: Matcher,
    pub hits: Vec<Hit>,
    /// Index into `hits`.
    pub selected: usize,
    pub focus: Focus,
    pub tab: Tab,
    pub sort: SortKey,
    pub reverse: bool,
    pub popup: Option<Popup>,
    pub popup_scroll: u16,
    pub detail_scroll: u16,
    pub should_quit: bool,
    /// Set by the list pane as it draws: how many rows it shows and the first one shown. Paging
    /// needs the height, and the offset keeps the list from jumping between frames.
    pub list_rows: Cell<usize>,
    pub list_offset: Cell<usize>,
    /// Set by the detail pane as it draws: the last line it can scroll to.
    pub detail_max_scroll: Cell<u16>,
    pub keymap: KeyMap,
    /// The input changed since the last search; searching waits until a batch of keys is in.
    stale: bool,
}

impl AppState {
    pub fn new(dataset: Dataset) -> Self {
        let popup = (!dataset.skipped.is_empty()).then_some(Popup::Skipped);
        let mut state = Self {
            dataset,
            input: String::new(),
            query_error: None,
            matcher: Matcher::new(Query::default()),
            hits: Vec::new(),
            selected: 0,
            focus: Focus::List,
            tab: Tab::Overview,
            sort: SortKey::default(),
            reverse: false,
            popup,
            popup_scroll: 0,
            detail_scroll: 0,
            should_quit: false,
            list_rows: Cell::new(20),
            list_offset: Cell::new(0),
            detail_max_scroll: Cell::new(u16::MAX),
            keymap: KeyMap::default(),
            stale: false,
        };
        state.refresh();
        state
    }

    /// Starts with a query already typed (`--query`), as if the analyst had entered it.
    pub fn with_query(mut self, query: &str) -> Self {
        self.input = query.to_string();
        self.refresh();
        self
    }

    pub fn with_sort(mut self, sort: SortKey) -> Self {
        self.sort = sort;
        // The hits are already there; only their order changes, and the first row is selected.
        self.resort();
        self.selected = 0;
        self
    }

    pub fn selected_hit(&self) -> Option<Hit> {
        self.hits.get(self.selected).copied()
    }

    pub fn selected_incident(&self) -> Option<&Incident> {
        self.selected_hit().map(|h| &self.dataset.incidents[h.index])
    }

    /// Applies one action. Returns whether anything visible may have changed. Typing only marks
    /// the results stale; they are brought up to date by `settle`, or before any other action.
    pub fn update(&mut self, action: Action) -> bool {
        if !matches!(action, Action::Input(_) | Action::Backspace | Action::DeleteWord | Action::ClearInput) {
            self.settle();
        }
        if self.popup.is_some() {
            return self.update_popup(action);
        }
        match action {
            Action::Quit | Action::Interrupt => self.should_quit = true,
            Action::ToggleHelp => {
                self.popup = Some(Popup::Help);
                self.popup_scroll = 0;
            }
            Action::PivotActor => {
                let Some(actor) = self.selected_incident().and_then(|i| i.actors.iter().find(|a| a.is_named())) else {
                    return false;
                };
                self.input = format!("actor:\"{}\"", actor.name.replace('"', ""));
                self.refresh();
                self.focus = Focus::List;
            }
            Action::StartSearch => self.focus = Focus::Search,
            Action::Input(c) => {
                self.input.push(c);
                self.stale = true;
            }
            Action::Backspace => {
                self.input.pop();
                self.stale = true;
            }
            Action::DeleteWord => {
                let kept = self.input.trim_end().rfind(char::is_whitespace).map_or(0, |i| i + 1);
                self.input.truncate(kept);
                self.stale = true;
            }
            Action::ClearInput => {
                self.input.clear();
                self.stale = true;
            }
            Action::AcceptSearch => self.focus = Focus::List,
            Action::Back => match self.focus {
                Focus::Search => {
                    self.input.clear();
                    self.refresh();
                    self.focus = Focus::List;
                }
                Focus::Detail => self.focus = Focus::List,
                Focus::List if !self.input.is_empty() => {
                    self.input.clear();
                    self.refresh();
                }
                Focus::List => return false,
            },
            Action::Enter => match self.focus {
                Focus::List if self.selected_hit().is_some() => self.focus = Focus::Detail,
                Focus::Search => self.focus = Focus::List,
                _ => return false,
            },
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::First | Action::Last => {
                if self.focus == Focus::Detail {
                    self.scroll_detail(action);
                } else {
                    self.move_selection(action);
                }
            }
            Action::NextTab => self.set_tab(self.tab.offset(1)),
            Action::PrevTab => self.set_tab(self.tab.offset(-1)),
            Action::SelectTab(n) => match Tab::ALL.get(n) {
                Some(&t) => self.set_tab(t),
                None => return false,
            },
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.resort();
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                self.resort();
            }
        }
        true
    }

    fn update_popup(&mut self, action: Action) -> bool {
        match action {
            Action::Down => self.popup_scroll = self.popup_scroll.saturating_add(1),
            Action::Up => self.popup_scroll = self.popup_scroll.saturating_sub(1),
            Action::PageDown => self.popup_scroll = self.popup_scroll.saturating_add(10),
            Action::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
            Action::Interrupt => self.should_quit = true,
            _ => self.popup = None,
        }
        true
    }

    fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.detail_scroll = 0;
    }

    fn move_selection(&mut self, action: Action) {
        let Some(last) = self.hits.len().checked_sub(1) else { return };
        let page = self.list_rows.get().max(1);
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
    }

    fn scroll_detail(&mut self, action: Action) {
        let max = self.detail_max_scroll.get();
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

    /// Runs the search if the input changed since it last ran.
    pub fn settle(&mut self) {
        if self.stale {
            self.refresh();
        }
    }

    /// Applies actions in order, then settles: what one batch of keys does.
    pub fn apply(&mut self, actions: impl IntoIterator<Item = Action>) {
        for a in actions {
            self.update(a);
        }
        self.settle();
    }

    /// Re-parses the input and re-runs the search; a malformed query keeps the last good results.
    fn refresh(&mut self) {
        self.stale = false;
        match Query::parse(&self.input) {
            Ok(q) => {
                self.query_error = None;
                self.matcher = Matcher::new(q);
                self.hits = search(&self.dataset, &self.matcher, self.sort, self.reverse);
                self.selected = 0;
                self.list_offset.set(0);
                self.detail_scroll = 0;
            }
            Err(e) => self.query_error = Some(e),
        }
    }

    /// Re-orders the hits, keeping the selected incident selected.
    fn resort(&mut self) {
        let keep = self.selected_hit().map(|h| h.index);
        sort_hits(&mut self.hits, &self.dataset, self.sort);
        if self.reverse {
            self.hits.reverse();
        }
        self.selected = keep.and_then(|k| self.hits.iter().position(|h| h.index == k)).unwrap_or(0);
    }
}
