//! The bottom line: the search bar with its error, the sort, and the key hints.

use ratatui::Frame;
use ratatui::layout::{Alignment, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::app::{AppState, Focus};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let typing = state.focus() == Focus::Search;
    let mut left = vec![Span::styled(" / ", theme.key())];
    if state.input().is_empty() && !typing {
        left.push(Span::styled("search", theme.dim()));
    } else {
        left.push(Span::raw(state.input()));
    }
    if let Some(err) = state.query_error() {
        left.push(Span::styled(format!("  {}", err.message), theme.error()));
    }

    let arrow = match (state.reverse(), theme.ascii) {
        (false, false) => "↓",
        (true, false) => "↑",
        (false, true) => "v",
        (true, true) => "^",
    };
    let right = Line::from(vec![
        Span::styled(format!("sort {} {arrow}  ", state.sort().name()), theme.dim()),
        Span::styled("?", theme.key()),
        Span::raw(" help  "),
        Span::styled(if typing { "Esc" } else { "q" }, theme.key()),
        Span::raw(if typing { " clear " } else { " quit " }),
    ]);
    let right_width = right.width() as u16;
    frame.render_widget(Paragraph::new(Line::from(left)), area);
    if area.width > right_width + 30 {
        frame.render_widget(Paragraph::new(right).alignment(Alignment::Right), area);
    }
    if typing {
        let x = area.x + 3 + state.input().chars().count() as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}
