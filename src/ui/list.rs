//! The list pane: one row per matching incident, matched letters highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::Theme;
use crate::app::AppState;
use crate::model::Incident;

/// Draws the list; returns how many rows of incidents it has room for.
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) -> usize {
    if area.height < 2 {
        return 1;
    }
    let rows_visible = (area.height - 1) as usize;
    let hits = state.hits();
    if hits.is_empty() {
        let message = if state.corpus().is_empty() {
            "The dataset is empty."
        } else if state.searching() {
            "Searching…"
        } else {
            "No incident matches the search."
        };
        let message = if theme.ascii { message.replace('…', "...") } else { message.to_string() };
        frame.render_widget(Paragraph::new(Line::styled(format!(" {message}"), theme.dim())), area);
        return rows_visible;
    }
    // The state keeps the selection on screen; a frame drawn before it has measured this one
    // still must not put the selection off the page.
    let selected = state.selected().min(hits.len() - 1);
    let offset = scrolled_offset(state.list_offset(), selected, rows_visible, hits.len());

    // Date and victim first; location and actor take what is left, within reason.
    let spare = area.width.saturating_sub(8 + 3 + 1);
    let location = (spare / 5).clamp(6, 16);
    let actor = (spare / 3).clamp(8, 22);
    let victim = spare.saturating_sub(location + actor) as usize;
    let widths = [Constraint::Length(8), Constraint::Fill(1), Constraint::Length(location), Constraint::Length(actor)];
    let header = Row::new(["Date", "Victim", "Location", "Actor"]).style(theme.header());

    // Only the visible page is turned into rows, whatever the size of the result.
    let end = (offset + rows_visible).min(hits.len());
    let actor_width = actor as usize;
    let rows = hits[offset..end].iter().map(|hit| {
        let inc = state.corpus().incident(hit.index);
        let actor = inc.first_actor().map_or("", |a| a.name.as_ref());
        Row::new([
            Cell::from(inc.date.short()),
            Cell::from(victim_cell(inc, victim, state, theme)),
            Cell::from(fit(&theme.text(inc.location.as_deref().unwrap_or_default()), location as usize, theme)),
            Cell::from(fit(&theme.text(actor), actor_width, theme)),
        ])
    });
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.selected())
        .highlight_symbol(">")
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut table_state = TableState::default().with_selected(Some(selected - offset));
    frame.render_stateful_widget(table, area, &mut table_state);
    rows_visible
}

/// The victim, and the incident's own name after it when it has one (`Google · Operation
/// Aurora`), with the letters the search matched in either.
fn victim_cell(inc: &Incident, width: usize, state: &AppState, theme: &Theme) -> Line<'static> {
    let matcher = state.matcher();
    let mut text = inc.victim.to_string();
    let mut positions = matcher.highlight(&inc.victim);
    if let Some(name) = inc.name.as_deref().filter(|n| *n != inc.victim) {
        let base = text.chars().count() + theme.dot().chars().count();
        text.push_str(theme.dot());
        text.push_str(name);
        positions.extend(matcher.highlight(name).into_iter().map(|p| p + base));
    }
    // Transliteration keeps one character per character for letters, so positions still hold.
    highlighted(&fit(&theme.text(&text), width, theme), &positions, theme)
}

/// Shortens text to `width` columns, marking the cut so a clipped name is not read as whole.
pub(super) fn fit(text: &str, width: usize, theme: &Theme) -> String {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    let mark = if theme.ascii { "~" } else { "…" };
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push_str(mark);
    out
}

/// Keeps the selection on screen while moving the page as little as possible.
fn scrolled_offset(offset: usize, selected: usize, rows: usize, len: usize) -> usize {
    let rows = rows.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + rows {
        selected + 1 - rows
    } else {
        offset
    };
    offset.min(len.saturating_sub(rows))
}

/// A victim name with the matched characters styled.
pub fn highlighted(text: &str, positions: &[usize], theme: &Theme) -> Line<'static> {
    if positions.is_empty() {
        return Line::from(text.to_string());
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_matched = false;
    for (i, c) in text.chars().enumerate() {
        let m = positions.binary_search(&i).is_ok();
        if m != run_matched && !run.is_empty() {
            spans.push(if run_matched {
                Span::styled(std::mem::take(&mut run), theme.matched())
            } else {
                Span::raw(std::mem::take(&mut run))
            });
        }
        run_matched = m;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(if run_matched { Span::styled(run, theme.matched()) } else { Span::raw(run) });
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::scrolled_offset;

    #[test]
    fn the_page_moves_only_when_the_selection_leaves_it() {
        assert_eq!(scrolled_offset(0, 5, 10, 100), 0);
        assert_eq!(scrolled_offset(0, 10, 10, 100), 1);
        assert_eq!(scrolled_offset(20, 5, 10, 100), 5);
        assert_eq!(scrolled_offset(95, 99, 10, 100), 90);
    }
}
