//! The bottom line: the search bar, then the query's error or the last message in the room the
//! key hints take otherwise, never cut into them.

use ratatui::Frame;
use ratatui::layout::{Alignment, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::Theme;
use super::list::fit;
use crate::app::{AppState, Focus};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let typing = state.focus() == Focus::Search;
    let input = theme.text(state.input());
    let mut left = vec![Span::styled(" / ", theme.key())];
    if input.is_empty() && !typing {
        left.push(Span::styled("search", theme.dim()));
    } else {
        left.push(Span::raw(input.to_string()));
    }
    let left_width = Line::from(left.clone()).width();

    // A message replaces the hints: an error in the query first, then what the last key did.
    let message: Option<(String, Style)> = match (state.query_error(), state.status()) {
        (Some(err), _) => Some((err.message.clone(), theme.error())),
        (None, Some(status)) => Some((status.to_string(), theme.label())),
        (None, None) => None,
    };
    match message {
        Some((text, style)) => {
            let room = (area.width as usize).saturating_sub(left_width + 3);
            if room > 4 {
                left.push(Span::raw("  "));
                left.push(Span::styled(fit(&theme.text(&text), room, theme), style));
            }
            frame.render_widget(Paragraph::new(Line::from(left)), area);
        }
        None => {
            frame.render_widget(Paragraph::new(Line::from(left)), area);
            let right = hints(state, theme, typing);
            if area.width as usize > right.width() + left_width + 2 {
                frame.render_widget(Paragraph::new(right).alignment(Alignment::Right), area);
            }
        }
    }
    if typing {
        let x = area.x + 3 + input.width() as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}

fn hints(state: &AppState, theme: &Theme, typing: bool) -> Line<'static> {
    let arrow = match (state.reverse(), theme.ascii) {
        (false, false) => "↓",
        (true, false) => "↑",
        (false, true) => "v",
        (true, true) => "^",
    };
    Line::from(vec![
        Span::styled(format!("sort {} {arrow}  ", state.sort().name()), theme.dim()),
        Span::styled("?", theme.key()),
        Span::raw(" help  "),
        Span::styled(if typing { "Esc" } else { "q" }, theme.key()),
        Span::raw(if typing { " clear " } else { " quit " }),
    ])
}
