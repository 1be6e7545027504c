//! The facets popup: counts of the current results by field, a cursor on one value, Enter to
//! add it as a filter. The counts come from the search worker, never from a scan per frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::Theme;
use crate::app::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(90);
    let height = area.height.saturating_sub(2);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(popup);
    let results = state.results();
    let title = format!(" Facets{}{} results ", theme.dash(), results.hits.len());
    let block = Block::bordered()
        .border_set(theme.border())
        .title(Line::styled(title, theme.title()))
        .title_bottom(Line::styled(" Enter add as filter  ! exclude  Esc close ", theme.dim()));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);

    let Some(facets) = state.facets() else {
        let text = format!(" counting{}", theme.ellipsis());
        frame.render_widget(Paragraph::new(Line::styled(text, theme.dim())), inner);
        return;
    };
    if facets.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled(" Nothing to count.", theme.dim())), inner);
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_line = 0;
    let mut n = 0;
    let count_width = 8;
    for facet in &facets {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(facet.name, theme.header()));
        for v in &facet.values {
            let on = n == state.facet_cursor();
            if on {
                cursor_line = lines.len();
            }
            let room = (inner.width as usize).saturating_sub(4 + count_width);
            let label = super::list::fit(&theme.text(&v.label), room, theme);
            let pad = room.saturating_sub(label.width());
            let mark = if on { theme.cursor() } else { "  " };
            let row = vec![
                Span::styled(mark, theme.key()),
                Span::raw(label),
                Span::raw(" ".repeat(pad)),
                Span::styled(format!("{:>count_width$}", v.count), theme.label()),
            ];
            let line = Line::from(row);
            lines.push(if on { line.style(theme.selected()) } else { line });
            n += 1;
        }
    }
    // The cursor stays in view: the list scrolls around it.
    let visible = inner.height as usize;
    let scroll = cursor_line.saturating_sub(visible.saturating_sub(3)).min(lines.len().saturating_sub(visible));
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);
}
