//! Popups: the help, generated from the key map so it always tells the truth, and the list of
//! records that `--skip-invalid` left out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::Theme;
use crate::app::{AppState, Context, Popup, key_label};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    match state.popup() {
        Some(Popup::Help) => popup(frame, area, " Help ", help_lines(state, theme), state.popup_scroll(), theme),
        Some(Popup::Skipped) => {
            let mut lines = vec![Line::styled(skipped_heading(&state.corpus().dataset), theme.header()), Line::raw("")];
            let dataset = &state.corpus().dataset;
            lines.extend(dataset.skipped.iter().map(|s| Line::raw(theme.text(s).into_owned())));
            if !dataset.notes.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled("Left out on purpose:", theme.header()));
                lines.extend(dataset.notes.iter().map(|s| Line::raw(theme.text(s).into_owned())));
            }
            popup(frame, area, " Skipped records ", lines, state.popup_scroll(), theme)
        }
        Some(Popup::Facets) => super::facets::render(frame, area, state, theme),
        Some(Popup::Export) => super::export::render(frame, area, state, theme),
        None => {}
    }
}

/// `2 records left out, 3 problems:`
fn skipped_heading(dataset: &crate::model::Dataset) -> String {
    let problems = match dataset.skipped.len() {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    match dataset.rejected.len() {
        0 => format!("{problems}:"),
        1 => format!("1 record left out, {problems}:"),
        n => format!("{n} records left out, {problems}:"),
    }
}

fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, scroll: u16, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(100);
    let height = area.height.saturating_sub(2);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(popup);
    let block = Block::bordered()
        .border_set(theme.border())
        .title(Line::styled(title.to_string(), theme.title()))
        .title_bottom(Line::styled(" j/k scroll, any other key closes ", theme.dim()));
    let paragraph = Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(Clear, popup);
    frame.render_widget(paragraph, popup);
}

fn help_lines<'a>(state: &'a AppState, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for context in [Context::Browse, Context::Search, Context::Popup, Context::Form, Context::Global] {
        lines.push(Line::styled(context.title(), theme.header()));
        for b in state.keymap().in_context(context) {
            let keys: Vec<String> = b.keys.iter().map(|&(c, m)| key_label(c, m, theme.ascii)).collect();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<18}", keys.join(" ")), theme.key()),
                Span::raw(b.help),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("Search", theme.header()));
    for (example, meaning) in QUERY_HELP {
        lines.push(Line::from(vec![Span::styled(format!("  {example:<26}"), theme.key()), Span::raw(*meaning)]));
    }
    lines
}

const QUERY_HELP: &[(&str, &str)] = &[
    ("cnspd", "fuzzy match on the victim; all words must match"),
    ("\"atomic wallet\"", "exact words in the victim"),
    ("!word  !actor:x", "exclude"),
    ("actor:lazarus", "actor name, alias or type"),
    ("motive:financial", "motive"),
    ("country:estonia  loc:", "victim's country"),
    ("industry:  tag:  id:", "sector, tag, incident id"),
    ("ttp:T1566  ttp:phishing", "technique id prefix, or name words"),
    ("year:2023  year:2019..2023", "year or range"),
    ("text:ransom", "summary and description"),
    ("cia:availability", "availability affected"),
];
