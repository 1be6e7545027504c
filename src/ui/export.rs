//! The export popup: a format to choose, a file name to edit, and the question before an
//! existing file is replaced.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::Theme;
use crate::app::{AppState, EXPORT_FORMATS};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let form = state.export_form();
    let height = EXPORT_FORMATS.len() as u16 + 8;
    let [popup] =
        Layout::horizontal([Constraint::Length(area.width.saturating_sub(4).min(80))]).flex(Flex::Center).areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(popup);
    let title = format!(" Export {} incidents ", state.hits().len());
    let hint =
        if form.confirm { " y replace  any other key: back " } else { " ↑↓ format  Enter write  Esc cancel " };
    let block = Block::bordered()
        .border_set(theme.border())
        .title(Line::styled(title, theme.title()))
        .title_bottom(Line::styled(theme.text(hint).into_owned(), theme.dim()));
    let inner = block.inner(popup).inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 });
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);

    let mut lines: Vec<Line> = vec![Line::styled("Format", theme.header())];
    for (i, (_, name)) in EXPORT_FORMATS.iter().enumerate() {
        let on = i == form.format;
        let line =
            Line::from(vec![Span::styled(if on { theme.cursor() } else { "  " }, theme.key()), Span::raw(*name)]);
        lines.push(if on { line.style(theme.selected()) } else { line });
    }
    lines.push(Line::raw(""));
    let path = theme.text(&form.path).into_owned();
    let label = "File   ";
    lines.push(Line::from(vec![Span::styled(label, theme.label()), Span::raw(path.clone())]));
    lines.push(Line::raw(""));
    if form.confirm {
        lines.push(Line::styled(format!("{path} exists. Replace it? (y/n)"), theme.error()));
    } else {
        lines.push(Line::styled("Relative names are written in the directory the browser started in.", theme.dim()));
    }
    let path_row = inner.y + EXPORT_FORMATS.len() as u16 + 2;
    frame.render_widget(Paragraph::new(lines), inner);
    if !form.confirm && path_row < inner.bottom() {
        let x = inner.x + (label.width() + path.width()) as u16;
        frame.set_cursor_position(Position::new(x.min(inner.right().saturating_sub(1)), path_row));
    }
}
