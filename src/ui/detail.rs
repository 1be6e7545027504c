//! The detail pane: a header with the facts an analyst reads first, then the tabs.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Theme, tabs};
use crate::app::{AppState, Focus};
use crate::present;

/// Draws the detail pane; returns the height of its text area and where each row of the tab
/// starts and how many lines it takes.
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) -> (u16, Vec<(u16, u16)>) {
    let Some(inc) = state.selected_incident() else {
        frame.render_widget(Paragraph::new(Line::styled(" Nothing selected.", theme.dim())), area);
        return (area.height, Vec::new());
    };
    let [title, facts_area, cia, tab_bar, gap, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }));
    let _ = gap;

    let h = present::header(inc);
    let mut heading = vec![Span::styled(theme.text(&h.victim).into_owned(), theme.title())];
    if let Some(name) = &h.name {
        heading.push(Span::styled(theme.dot(), theme.dim()));
        heading.push(Span::styled(theme.text(name).into_owned(), theme.id()));
    }
    frame.render_widget(Paragraph::new(Line::from(heading)), title);
    frame.render_widget(Paragraph::new(Line::from(h.date)).alignment(Alignment::Right), title);
    let mut spans: Vec<Span> = Vec::new();
    // The loss stands out: it is the figure analysts quote.
    let facts = h.facts.iter().map(|f| (f, theme.plain())).chain(h.loss.iter().map(|l| (l, theme.title())));
    for (i, (fact, style)) in facts.enumerate() {
        if i > 0 {
            spans.push(Span::styled(theme.dot(), theme.dim()));
        }
        spans.push(Span::styled(theme.text(fact).into_owned(), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), facts_area);
    let cia_line = match h.cia {
        None => Line::styled("CIA posture not recorded", theme.dim()),
        Some(parts) => {
            let mut spans = Vec::new();
            for (letter, value) in parts {
                spans.push(Span::styled(format!("{letter} "), theme.label()));
                spans.push(Span::styled(value, theme.impact(value)));
                spans.push(Span::raw("  "));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(cia_line), cia);
    tabs::render_bar(frame, tab_bar, state.tab(), theme);

    let rows = state.detail_rows();
    let cursor = (state.focus() == Focus::Detail).then_some(state.detail_row());
    let (lines, extents) = tabs::layout(&rows, body.width, cursor, theme);
    let max = (lines.len() as u16).saturating_sub(body.height);
    frame.render_widget(Paragraph::new(lines).scroll((state.detail_scroll().min(max), 0)), body);
    (body.height, extents)
}
