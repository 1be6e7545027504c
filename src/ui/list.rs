//! The list pane: one row per matching incident, matched letters highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::Theme;
use crate::app::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    if area.height < 2 {
        return;
    }
    if state.hits.is_empty() {
        let message = if state.dataset.incidents.is_empty() {
            "The dataset is empty."
        } else {
            "No incident matches the search."
        };
        frame.render_widget(Paragraph::new(Line::styled(format!(" {message}"), theme.dim())), area);
        return;
    }
    let rows_visible = (area.height - 1) as usize;
    state.list_rows.set(rows_visible);
    let offset = scrolled_offset(state.list_offset.get(), state.selected, rows_visible, state.hits.len());
    state.list_offset.set(offset);

    // Date and victim first; location and actor take what is left, within reason.
    let spare = area.width.saturating_sub(8 + 3 + 1);
    let location = (spare / 5).clamp(6, 16);
    let actor = (spare / 3).clamp(8, 22);
    let victim = spare.saturating_sub(location + actor) as usize;
    let widths = [Constraint::Length(8), Constraint::Fill(1), Constraint::Length(location), Constraint::Length(actor)];
    let header = Row::new(["Date", "Victim", "Location", "Actor"]).style(theme.header());

    // Only the visible page is turned into rows, whatever the size of the result.
    let end = (offset + rows_visible).min(state.hits.len());
    let actor_width = actor as usize;
    let rows = state.hits[offset..end].iter().map(|hit| {
        let inc = &state.dataset.incidents[hit.index];
        let actor = inc.first_actor().map_or("", |a| a.name.as_str());
        Row::new([
            Cell::from(inc.date.short()),
            Cell::from(highlighted(&fit(&inc.victim, victim, theme), &state.matcher.highlight(&inc.victim), theme)),
            Cell::from(fit(inc.location.as_deref().unwrap_or_default(), location as usize, theme)),
            Cell::from(fit(actor, actor_width, theme)),
        ])
    });
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.selected())
        .highlight_symbol(">")
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut table_state = TableState::default().with_selected(Some(state.selected - offset));
    frame.render_stateful_widget(table, area, &mut table_state);
}

/// Shortens text to `width` columns, marking the cut so a clipped name is not read as whole.
fn fit(text: &str, width: usize, theme: &Theme) -> String {
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
