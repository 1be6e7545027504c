//! Whole screens drawn into ratatui's TestBackend, read back as a user would read them.

use std::sync::Arc;

use incidents::app::{Action, AppState, Effect, Focus, Start, Tab};
use incidents::load::{self, LoadOptions};
use incidents::model::Dataset;
use incidents::query::Corpus;
use incidents::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// The browser's state as it starts, with its first search run.
fn open(dataset: Dataset, start: Start) -> AppState {
    let (mut state, effect) = AppState::new(Arc::new(Corpus::new(dataset)), start);
    let Effect::Search(request) = effect else { panic!("the browser starts with a search") };
    state.run_search(&request);
    state
}

fn bundled() -> AppState {
    open(load::bundled(&LoadOptions::default()).expect("the bundled dataset loads"), Start::default())
}

/// Draws a frame and gives the state what it measured, as the event loop does.
fn draw(state: &mut AppState, width: u16, height: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut metrics = None;
    terminal.draw(|f| metrics = Some(ui::draw(f, state, &theme))).unwrap();
    if let Some(m) = metrics {
        state.update(Action::Measured(m));
        terminal
            .draw(|f| {
                ui::draw(f, state, &theme);
            })
            .unwrap();
    }
    terminal
}

fn screen(state: &mut AppState, width: u16, height: u16) -> Vec<String> {
    lines(&draw(state, width, height, Theme::default()))
}

fn lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
        .collect()
}

fn search(state: &mut AppState, text: &str) {
    state.apply([Action::StartSearch]);
    state.apply(text.chars().map(Action::Input));
}

fn has(screen: &[String], text: &str) -> bool {
    screen.iter().any(|l| l.contains(text))
}

#[track_caller]
fn assert_has(screen: &[String], text: &str) {
    assert!(has(screen, text), "{text:?} not on screen:\n{}", screen.join("\n"));
}

#[test]
fn wide_screen_shows_list_and_detail_side_by_side() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    let s = screen(&mut state, 120, 40);
    let total = state.corpus().len();
    assert!(s[0].contains(&format!("incidents ─ bundled dataset ─ {total} incidents ─ 1 shown")), "{}", s[0]);
    // The list header and the detail title share the first row inside the frame.
    assert!(s[1].contains("Date") && s[1].contains("Victim") && s[1].contains("Location") && s[1].contains("Actor"));
    assert!(s[1].contains("CoinsPaid") && s[1].contains("22 Jul 2023"), "{}", s[1]);
    let row = s.iter().find(|l| l.contains(">Jul 2023 CoinsPaid")).expect("selected CoinsPaid row");
    assert!(row.contains("Estonia") && row.contains("Lazarus Group"), "{row}");
    assert_has(&s, "Estonia · Cryptocurrency payments · $37.3M");
    assert_has(&s, "C affected  I affected  A affected");
    assert_has(&s, "1 Overview 2 Motives 3 TTPs 4 Actors 5 Sources 6 Related");
    assert_has(&s, "/ coinspaid");
    assert!(s[39].contains("? help"));
}

#[test]
fn matched_letters_are_highlighted_in_the_list() {
    let mut state = bundled();
    search(&mut state, "cnspd");
    let terminal = draw(&mut state, 120, 40, Theme::default());
    let s = lines(&terminal);
    let y = s.iter().position(|l| l.contains(">Jul 2023 CoinsPaid")).expect("CoinsPaid is first") as u16;
    assert_eq!(y, 2, "CoinsPaid should be the first row:\n{}", s.join("\n"));
    let buf = terminal.backend().buffer();
    let byte = s[y as usize].find("CoinsPaid").unwrap();
    let x0 = s[y as usize][..byte].chars().count() as u16;
    let styled: String = (0..9)
        .filter(|i| buf[(x0 + i, y)].fg == Color::Yellow)
        .map(|i| buf[(x0 + i, y)].symbol().to_string())
        .collect();
    assert_eq!(styled, "CnsPd", "the letters c, n, s, p, d of CoinsPaid are highlighted");
}

#[test]
fn narrow_screen_stacks_the_panes_and_enter_zooms_the_detail() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    let s = screen(&mut state, 80, 24);
    let list_row = s.iter().position(|l| l.contains(">Jul 2023 CoinsPaid")).unwrap();
    let detail_row = s.iter().position(|l| l.contains("Estonia · Cryptocurrency payments")).unwrap();
    assert!(list_row < detail_row, "list above detail");
    state.apply([Action::AcceptSearch, Action::Enter]);
    assert_eq!(state.focus(), Focus::Detail);
    let zoomed = screen(&mut state, 80, 24);
    assert!(!has(&zoomed, "Date     Victim"), "the list is hidden while the detail is zoomed");
    assert!(zoomed[1].contains("CoinsPaid"));
    state.apply([Action::Back]);
    assert_has(&screen(&mut state, 80, 24), "Date     Victim");
}

/// The zoomed detail pane as one line of words, so assertions do not depend on where text wraps.
fn flat(screen: &[String]) -> String {
    let text: String = screen.iter().map(|l| l.trim_matches(|c| c == '│' || c == ' ')).collect::<Vec<_>>().join(" ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_tab_shows_its_content() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    state.apply([Action::AcceptSearch, Action::Enter]);
    let tab = |state: &mut AppState, n: usize| {
        state.apply([Action::SelectTab(Tab::ALL[n])]);
        flat(&screen(state, 80, 60))
    };
    let s = tab(&mut state, 0);
    let inc = state.selected_incident().unwrap().clone();
    assert!(s.contains(&*inc.summary), "the summary is shown whole:\n{s}");
    assert!(s.contains("emptied roughly USD 37.3 million from hot wallets"), "{s}");
    assert!(s.contains("Id coinspaid-2023"), "{s}");
    let s = tab(&mut state, 1);
    assert!(s.contains("financial Financial or personal gain"), "{s}");
    let s = tab(&mut state, 2);
    assert!(s.contains("T1566.003 Spearphishing via Service Initial Access"), "{s}");
    assert!(s.contains("T1657 Financial Theft Impact"), "{s}");
    let s = tab(&mut state, 3);
    assert!(s.contains("Lazarus Group G0032 Type nation-state Location North Korea"), "{s}");
    assert!(s.contains("Profile North Korean state-sponsored group"), "the actor's profile: {s}");
    let count = state.corpus().incidents_of_actor("Lazarus Group").len();
    assert!(s.contains(&format!("Incidents {count} in this dataset")), "the actor's incident count: {s}");
    assert!(s.contains("Atomic Wallet"), "the actor's other incidents are listed: {s}");
    let s = tab(&mut state, 4);
    assert!(s.contains("1. Over $37M CoinsPaid crypto theft pinned on Lazarus Group — SC Media"), "{s}");
    let s = tab(&mut state, 5);
    assert!(s.contains("Jun 2023 Atomic Wallet atomic-wallet-2023"), "{s}");
    assert!(s.contains("alphapo-2023"), "{s}");
    // Tab and Shift-Tab wrap around.
    state.apply([Action::NextTab]);
    assert!(flat(&screen(&mut state, 80, 60)).contains("Id coinspaid-2023"));
    state.apply([Action::PrevTab]);
    assert!(flat(&screen(&mut state, 80, 60)).contains("alphapo-2023"));
}

#[test]
fn the_detail_pane_scrolls_within_its_text() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    state.apply([Action::AcceptSearch, Action::Enter]);
    let top = screen(&mut state, 80, 16);
    state.apply([Action::Down, Action::Down]);
    let scrolled = screen(&mut state, 80, 16);
    assert_ne!(top, scrolled, "j scrolls the focused detail");
    state.apply([Action::Last]);
    screen(&mut state, 80, 16);
    state.apply([Action::Down, Action::Down, Action::Down]);
    let end = flat(&screen(&mut state, 80, 16));
    assert!(end.contains("Id coinspaid-2023"), "the end of the text is reachable and scrolling stops there: {end}");
}

#[test]
fn smallest_supported_and_too_small_terminals() {
    let mut state = bundled();
    search(&mut state, "coinsp");
    let s = screen(&mut state, 40, 10);
    assert_has(&s, "CoinsPaid");
    assert_has(&s, "/ coinsp");
    let s = screen(&mut state, 39, 10);
    assert!(s[0].starts_with("terminal too small: 39x10, need 40x10"), "{}", s[0]);
    let s = screen(&mut state, 80, 3);
    assert!(s[0].starts_with("terminal too small"));
    let s = screen(&mut state, 1, 1);
    assert_eq!(s[0], "t");
}

#[test]
fn a_malformed_query_is_shown_in_the_search_bar_and_keeps_the_results() {
    let mut state = bundled();
    search(&mut state, "coinsp");
    state.apply([Action::Paste(" year:20x3".into())]);
    let s = screen(&mut state, 120, 40);
    assert!(s[39].contains("expected a year"), "{}", s[39]);
    assert_has(&s, ">Jul 2023 CoinsPaid");
}

#[test]
fn no_match_says_so() {
    let mut state = bundled();
    search(&mut state, "zzzzzzzzqqq");
    let s = screen(&mut state, 120, 40);
    assert_has(&s, "No incident matches the search.");
    assert_has(&s, "0 shown");
    assert_has(&s, "Nothing selected.");
}

#[test]
fn help_lists_every_binding_of_the_key_map() {
    let mut state = bundled();
    state.apply([Action::ToggleHelp]);
    let s = screen(&mut state, 120, 40);
    assert_has(&s, "Help");
    for b in state.keymap().in_context(incidents::app::Context::Browse).take(10) {
        assert_has(&s, b.help);
    }
    state.apply([Action::Down]);
    assert!(state.popup().is_some(), "scrolling keeps the help open");
    state.apply([Action::Back]);
    assert!(state.popup().is_none());
}

#[test]
fn no_color_theme_emits_no_colour_and_ascii_theme_no_box_drawing() {
    let mut state = bundled();
    let terminal = draw(&mut state, 120, 40, Theme { color: false, ascii: true });
    let buf = terminal.backend().buffer();
    assert!(buf.content.iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset), "no colour at all");
    assert!(buf.content.iter().all(|c| c.symbol().is_ascii() || !"─│┌┐└┘·↓".contains(c.symbol())));
    let s = lines(&terminal);
    assert!(s[0].starts_with("+ incidents - bundled dataset"), "{}", s[0]);
}

#[test]
fn moving_and_paging_keep_the_selection_on_screen() {
    let mut state = bundled();
    let n = state.hits().len();
    assert!(n > 20, "the bundled dataset has enough incidents to page");
    screen(&mut state, 80, 24);
    state.apply([Action::Last]);
    let last = state.selected_incident().unwrap().victim.clone();
    let s = screen(&mut state, 80, 24);
    assert!(s.iter().any(|l| l.contains('>') && l.contains(&last[..last.len().min(20)])), "{}", s.join("\n"));
    state.apply([Action::First, Action::Down, Action::Down]);
    assert_eq!(state.selected(), 2);
    state.apply([Action::PageDown]);
    assert!(state.selected() > 2);
    state.apply([Action::PageUp, Action::Up, Action::Up, Action::Up]);
    assert_eq!(state.selected(), 0);
}

#[test]
fn sorting_cycles_and_reverses_keeping_the_selection() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    state.apply([Action::AcceptSearch, Action::Back]);
    state.apply([Action::CycleSort]);
    assert_has(&screen(&mut state, 120, 40), "sort date ↓");
    state.apply([Action::CycleSort]);
    let s = screen(&mut state, 120, 40);
    assert_has(&s, "sort victim ↓");
    let first = s[2].clone();
    let selected = state.selected_incident().unwrap().id.clone();
    state.apply([Action::ReverseSort]);
    let s = screen(&mut state, 120, 40);
    assert_has(&s, "sort victim ↑");
    assert_ne!(first, s[2], "the first row changes when the order is reversed");
    assert_eq!(state.selected_incident().unwrap().id, selected, "the selected incident stays selected");
}

#[test]
fn a_pivots_to_every_incident_of_the_actor() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    state.apply([Action::AcceptSearch, Action::PivotActor]);
    assert_eq!(state.input(), "actor:=\"Lazarus Group\"");
    assert!(state.hits().len() > 5, "Lazarus Group has many incidents");
    for h in state.hits() {
        let inc = state.corpus().incident(h.index);
        assert!(
            inc.actors.iter().any(|a| a.name == "Lazarus Group" || a.aliases.iter().any(|x| x == "Lazarus Group")),
            "{} is not a Lazarus Group incident",
            inc.id
        );
    }
    let s = screen(&mut state, 120, 40);
    assert_has(&s, "/ actor:=\"Lazarus Group\"");
    assert!(s[0].contains("coinspaid › actor:=\"Lazarus Group\""), "the title shows the trail: {}", s[0]);
    state.apply([Action::Back]);
    assert_eq!(state.input(), "coinspaid", "Esc steps back to the search before the pivot");
    assert_eq!(state.selected_incident().unwrap().id, "coinspaid-2023");
    state.apply([Action::Back]);
    assert_eq!(state.hits().len(), state.corpus().len(), "then Esc clears the search");
}

#[test]
fn skipped_records_are_counted_and_listed_in_a_popup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.json");
    std::fs::write(
        &path,
        r#"[{"id": "ok", "victim": "Acme", "date": "2021", "summary": "S"},
 {"id": "bad", "victim": "Bad Co", "date": "someday", "summary": "S"}]"#,
    )
    .unwrap();
    let opts = LoadOptions { skip_invalid: true, ..LoadOptions::default() };
    let mut state = open(load::load(&[path], &opts).unwrap(), Start::default());
    let s = screen(&mut state, 120, 40);
    assert!(s[0].contains("1 shown") && s[0].contains("1 record skipped"), "{}", s[0]);
    assert_has(&s, "1 record left out, 1 problem:");
    assert_has(&s, "Skipped records");
    assert_has(&s, "record \"bad\", field date: invalid date \"someday\"");
    state.apply([Action::Back]);
    let s = screen(&mut state, 120, 40);
    assert!(!has(&s, "Skipped records"), "any key closes the popup");
    assert_has(&s, ">2021     Acme");
}

#[test]
fn starting_with_a_sort_selects_the_first_row_of_that_order() {
    let dataset = load::bundled(&LoadOptions::default()).unwrap();
    let mut state = open(dataset, Start { sort: incidents::query::SortKey::Loss, ..Start::default() });
    let first = state.selected_incident().unwrap();
    let max = state.corpus().dataset.incidents.iter().filter_map(|i| i.loss_usd).max();
    assert_eq!(first.loss_usd, max, "the largest reported loss comes first and is selected");
    assert_has(&screen(&mut state, 120, 40), "sort loss ↓");
}

// Whole screens as snapshots (`tests/snapshots/`): what changes in a screen shows up in review as
// a picture. Each is over the bundled dataset, whose counts change only when the data does.

fn snapshot(state: &mut AppState, width: u16, height: u16) -> String {
    screen(state, width, height).iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")
}

/// The screen at 120×40 and at 80×24, the smallest size every feature is made for.
fn both_sizes(name: &str, state: &mut AppState) {
    insta::assert_snapshot!(format!("{name}_120x40"), snapshot(state, 120, 40));
    insta::assert_snapshot!(format!("{name}_80x24"), snapshot(state, 80, 24));
}

#[test]
fn stats_view_at_120_by_40() {
    let mut state = bundled();
    state.apply([Action::ToggleStats]);
    insta::assert_snapshot!(snapshot(&mut state, 120, 40));
}

#[test]
fn stats_view_at_80_by_24_follows_the_query() {
    let mut state = bundled();
    search(&mut state, "motive:financial");
    state.apply([Action::AcceptSearch, Action::ToggleStats]);
    let s = snapshot(&mut state, 80, 24);
    assert!(s.contains("motive:financial"), "the stats view says which results it counts:\n{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn stats_view_in_ascii() {
    let mut state = bundled();
    state.apply([Action::ToggleStats]);
    let s = lines(&draw(&mut state, 100, 30, Theme { color: true, ascii: true }));
    assert!(s.iter().all(|l| l.is_ascii()), "{}", s.join("\n"));
    insta::assert_snapshot!(s.iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n"));
}

#[test]
fn facets_popup_counts_the_results() {
    let mut state = bundled();
    search(&mut state, "year:2023");
    state.apply([Action::AcceptSearch, Action::ToggleFacets]);
    both_sizes("facets", &mut state);
}

#[test]
fn a_technique_pivot_shows_its_trail() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    state.apply([Action::AcceptSearch, Action::Enter, Action::SelectTab(Tab::Ttps), Action::Enter]);
    assert!(state.input().starts_with("ttp:"), "Enter on a TTP row pivots to it: {}", state.input());
    both_sizes("pivot_trail", &mut state);
}

#[test]
fn copying_says_what_and_how_big() {
    let mut state = bundled();
    search(&mut state, "coinspaid");
    let effects = state.apply([Action::AcceptSearch, Action::Copy(incidents::app::CopyWhat::Markdown)]);
    assert!(matches!(effects.as_slice(), [Effect::Copy(text)] if text.contains("CoinsPaid")), "{effects:?}");
    let s = screen(&mut state, 120, 40);
    assert!(s[39].contains("copied coinspaid-2023 as Markdown ("), "{}", s[39]);
    both_sizes("copy_status", &mut state);
}

#[test]
fn help_popup() {
    let mut state = bundled();
    state.apply([Action::ToggleHelp]);
    both_sizes("help", &mut state);
}

/// `incidents show` and the detail tabs are one presentation: for every bundled record, each row
/// every tab draws is in what `show` prints, under that tab's title and in the same order.
#[test]
fn show_prints_every_row_of_every_tab_for_every_bundled_record() {
    let mut state = bundled();
    let ids: Vec<String> =
        (0..state.corpus().len() as u32).map(|i| state.corpus().incident(i).id.to_string()).collect();
    for id in ids {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_incidents")).args(["show", &id]).output().unwrap();
        assert!(out.status.success(), "show {id}: {}", String::from_utf8_lossy(&out.stderr));
        let shown = String::from_utf8(out.stdout).unwrap();
        search(&mut state, &format!("id:={id}"));
        state.apply([Action::AcceptSearch]);
        assert_eq!(state.selected_incident().map(|i| i.id.to_string()), Some(id.clone()));
        let mut rows = 0;
        for tab in Tab::ALL {
            state.apply([Action::SelectTab(tab)]);
            let mut rest = shown
                .split_once(&format!("\n{}\n", tab.title()))
                .map(|(_, r)| r)
                .unwrap_or_else(|| panic!("show {id} has no {} section:\n{shown}", tab.title()));
            for row in state.detail_rows() {
                let text = row.text();
                let text = text.trim_end();
                let at = rest.find(text).unwrap_or_else(|| {
                    panic!(
                        "{id}, {} tab: row {text:?} is not in `show`, or not in the same order:\n{shown}",
                        tab.title()
                    )
                });
                rest = &rest[at + text.len()..];
                rows += 1;
            }
        }
        assert!(rows >= 3, "{id}: the tabs drew only {rows} rows");
        state.apply([Action::StartSearch, Action::ClearInput, Action::AcceptSearch]);
    }
}
