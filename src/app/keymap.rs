//! Keys to actions, per context; the help screen is generated from the same table, so it can
//! never disagree with what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Action, CopyWhat};

/// Which screens a binding applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Everywhere.
    Global,
    /// The list and the detail pane.
    Browse,
    /// Typing in the search bar.
    Search,
    /// A popup (help, facets, skipped records) is open.
    Popup,
    /// A popup that takes typing: the export's file name.
    Form,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Anywhere",
            Context::Browse => "Browsing",
            Context::Search => "Search bar",
            Context::Popup => "In a popup",
            Context::Form => "Export",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub keys: Vec<(KeyCode, KeyModifiers)>,
    pub action: Action,
    pub help: &'static str,
}

#[derive(Debug, Clone)]
pub struct KeyMap {
    pub bindings: Vec<Binding>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use Context::*;
        use KeyCode::*;
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let b = |context, keys: &[(KeyCode, KeyModifiers)], action, help| Binding {
            context,
            keys: keys.to_vec(),
            action,
            help,
        };
        let bindings = vec![
            b(Global, &[(Char('c'), ctrl)], Action::Interrupt, "quit"),
            b(Browse, &[(Char('j'), none), (Down, none)], Action::Down, "next incident (in the detail pane: scroll)"),
            b(Browse, &[(Char('k'), none), (Up, none)], Action::Up, "previous incident (in the detail pane: scroll)"),
            b(Browse, &[(Char('g'), none), (Home, none)], Action::First, "first"),
            b(Browse, &[(Char('G'), none), (End, none)], Action::Last, "last"),
            b(Browse, &[(PageDown, none), (Char('d'), ctrl)], Action::PageDown, "page down"),
            b(Browse, &[(PageUp, none), (Char('u'), ctrl)], Action::PageUp, "page up"),
            b(Browse, &[(Char('/'), none)], Action::StartSearch, "search: victim words and filters"),
            b(
                Browse,
                &[(Enter, none)],
                Action::Enter,
                "focus the detail pane (full screen when narrow); on a detail row: pivot to it",
            ),
            b(Browse, &[(Esc, none)], Action::Back, "back to the list, back a step, or clear the search"),
            b(Browse, &[(Tab, none)], Action::NextTab, "next tab"),
            b(Browse, &[(BackTab, none)], Action::PrevTab, "previous tab"),
            b(Browse, &[(Char('1'), none)], Action::SelectTab(super::Tab::Overview), "Overview tab"),
            b(Browse, &[(Char('2'), none)], Action::SelectTab(super::Tab::Motives), "Motives tab"),
            b(Browse, &[(Char('3'), none)], Action::SelectTab(super::Tab::Ttps), "TTPs tab"),
            b(Browse, &[(Char('4'), none)], Action::SelectTab(super::Tab::Actors), "Actors tab"),
            b(Browse, &[(Char('5'), none)], Action::SelectTab(super::Tab::Sources), "Sources tab"),
            b(Browse, &[(Char('6'), none)], Action::SelectTab(super::Tab::Related), "Related tab"),
            b(Browse, &[(Char('a'), none)], Action::PivotActor, "every incident of this incident's actor"),
            b(Browse, &[(Backspace, none)], Action::HistoryBack, "back to before the last pivot or search"),
            b(Browse, &[(Char('f'), none)], Action::ToggleFacets, "facets: counts of the results by field"),
            b(
                Browse,
                &[(Char('v'), none)],
                Action::ToggleStats,
                "stats view of the results (Enter on a bar or row pivots)",
            ),
            b(
                Browse,
                &[(Char('y'), none)],
                Action::Copy(CopyWhat::Markdown),
                "copy the incident as Markdown (a source: its address)",
            ),
            b(Browse, &[(Char('Y'), none)], Action::Copy(CopyWhat::Json), "copy the incident as JSON"),
            b(Browse, &[(Char('e'), none)], Action::ToggleExport, "export the results to a file"),
            b(Browse, &[(Char('s'), none)], Action::CycleSort, "sort by score, date, victim, loss"),
            b(Browse, &[(Char('S'), none)], Action::ReverseSort, "reverse the sort"),
            b(Browse, &[(Char('?'), none)], Action::ToggleHelp, "this help"),
            b(Browse, &[(Char('q'), none)], Action::Quit, "quit"),
            b(Search, &[(Enter, none)], Action::AcceptSearch, "keep the results, back to the list"),
            b(Search, &[(Esc, none)], Action::Back, "clear the search, back to the list"),
            b(Search, &[(Backspace, none), (Char('h'), ctrl)], Action::Backspace, "delete a character"),
            b(Search, &[(Char('w'), ctrl)], Action::DeleteWord, "delete a word"),
            b(Search, &[(Char('u'), ctrl)], Action::ClearInput, "clear the search"),
            b(Search, &[(Down, none), (Char('n'), ctrl)], Action::Down, "next result"),
            b(Search, &[(Up, none), (Char('p'), ctrl)], Action::Up, "previous result"),
            b(Search, &[(Tab, none)], Action::NextTab, "next tab"),
            b(Popup, &[(Char('j'), none), (Down, none)], Action::Down, "down"),
            b(Popup, &[(Char('k'), none), (Up, none)], Action::Up, "up"),
            b(Popup, &[(PageDown, none), (Char('d'), ctrl)], Action::PageDown, "page down"),
            b(Popup, &[(PageUp, none), (Char('u'), ctrl)], Action::PageUp, "page up"),
            b(Popup, &[(Char('g'), none), (Home, none)], Action::First, "first"),
            b(Popup, &[(Char('G'), none), (End, none)], Action::Last, "last"),
            b(Popup, &[(Enter, none)], Action::Enter, "facets: add the value as a filter"),
            b(
                Popup,
                &[(Char('!'), none), (Enter, KeyModifiers::SHIFT)],
                Action::Negate,
                "facets: add the value's negation as a filter",
            ),
            b(Popup, &[(Esc, none), (Char('q'), none)], Action::Back, "close (so does any other key)"),
            b(Form, &[(Up, none), (Char('p'), ctrl)], Action::Up, "previous format"),
            b(Form, &[(Down, none), (Char('n'), ctrl), (Tab, none)], Action::Down, "next format"),
            b(Form, &[(Enter, none)], Action::Enter, "write the file (asks before replacing one)"),
            b(Form, &[(Backspace, none), (Char('h'), ctrl)], Action::Backspace, "delete a character of the name"),
            b(Form, &[(Char('u'), ctrl)], Action::ClearInput, "clear the name"),
            b(Form, &[(Esc, none)], Action::Back, "cancel"),
        ];
        Self { bindings }
    }
}

impl KeyMap {
    /// The action for a key in a context; typed characters go to the search bar, and in a popup
    /// any key it does not use closes it.
    pub fn action(&self, context: Context, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        // Shift is implied by an upper-case character or Shift-Tab, and terminals disagree on reporting it.
        let mods = match key.code {
            KeyCode::Char(_) | KeyCode::BackTab => key.modifiers - KeyModifiers::SHIFT,
            _ => key.modifiers,
        };
        let found = self.bindings.iter().find(|b| {
            (b.context == context || b.context == Context::Global)
                && b.keys.iter().any(|&(code, m)| code == key.code && m == mods)
        });
        match (found, key.code) {
            (Some(b), _) => Some(b.action.clone()),
            (None, KeyCode::Char(c))
                if matches!(context, Context::Search | Context::Form) && (mods - KeyModifiers::ALT).is_empty() =>
            {
                Some(Action::Input(c))
            }
            (None, _) if context == Context::Popup => Some(Action::Back),
            _ => None,
        }
    }

    /// Bindings of one context, for the help screen.
    pub fn in_context(&self, context: Context) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.context == context)
    }
}

/// A key as the help screen writes it: `j`, `↓`, `Ctrl-d`, `PgDn`.
pub fn key_label(code: KeyCode, mods: KeyModifiers, ascii: bool) -> String {
    let name = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Down => if ascii { "Down" } else { "↓" }.to_string(),
        KeyCode::Up => if ascii { "Up" } else { "↑" }.to_string(),
        KeyCode::Left => if ascii { "Left" } else { "←" }.to_string(),
        KeyCode::Right => if ascii { "Right" } else { "→" }.to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::Home => "Home".to_string(),
        KeyCode::End => "End".to_string(),
        KeyCode::Enter => "Enter".to_string(),
        KeyCode::Esc => "Esc".to_string(),
        KeyCode::Tab => "Tab".to_string(),
        KeyCode::BackTab => "Shift-Tab".to_string(),
        KeyCode::Backspace => "Backspace".to_string(),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else if mods.contains(KeyModifiers::SHIFT) && !matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
        format!("Shift-{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn vim_and_arrow_keys_move() {
        let km = KeyMap::default();
        assert_eq!(km.action(Context::Browse, key(KeyCode::Char('j'), KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(km.action(Context::Browse, key(KeyCode::Down, KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(km.action(Context::Browse, key(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Last));
        assert_eq!(km.action(Context::Browse, key(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Action::PageDown));
    }

    #[test]
    fn the_search_bar_takes_letters_that_browse_keys_use() {
        let km = KeyMap::default();
        assert_eq!(km.action(Context::Search, key(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Input('q')));
        assert_eq!(km.action(Context::Search, key(KeyCode::Char('J'), KeyModifiers::SHIFT)), Some(Action::Input('J')));
        assert_eq!(km.action(Context::Search, key(KeyCode::Esc, KeyModifiers::NONE)), Some(Action::Back));
        assert_eq!(km.action(Context::Search, key(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Interrupt));
        assert_eq!(km.action(Context::Browse, key(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::PrevTab));
        assert_eq!(km.action(Context::Browse, key(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Quit));
    }

    #[test]
    fn labels_read_like_the_keys() {
        assert_eq!(key_label(KeyCode::Char('d'), KeyModifiers::CONTROL, false), "Ctrl-d");
        assert_eq!(key_label(KeyCode::Down, KeyModifiers::NONE, false), "↓");
        assert_eq!(key_label(KeyCode::Down, KeyModifiers::NONE, true), "Down");
    }
}
