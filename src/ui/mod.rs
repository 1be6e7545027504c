//! Drawing: a pure function of `AppState`, one module per pane.

mod detail;
mod help;
mod list;
mod search;
mod tabs;
mod theme;

pub use list::highlighted;
pub use theme::Theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::{AppState, Focus};

pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// From this width the list and the detail stand side by side.
pub const WIDE: u16 = 100;

pub fn draw(frame: &mut Frame, state: &AppState, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height);
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.error())), area);
        return;
    }
    let [main, bar] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let block = Block::bordered().border_set(theme.border()).title(title(state, theme));
    let inner = block.inner(main);
    frame.render_widget(block, main);

    let wide = area.width >= WIDE;
    if state.focus == Focus::Detail && !wide {
        // Narrow terminals give the detail the whole screen while it has the focus.
        detail::render(frame, inner, state, theme);
    } else if wide {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        list::render(frame, left, state, theme);
        let divider =
            Block::new().borders(Borders::LEFT).border_set(theme.border()).border_style(focus_style(state, theme));
        let right_inner = divider.inner(right);
        frame.render_widget(divider, right);
        detail::render(frame, right_inner, state, theme);
    } else {
        let [top, bottom] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(inner);
        list::render(frame, top, state, theme);
        let divider = Block::new().borders(Borders::TOP).border_set(theme.border());
        let bottom_inner = divider.inner(bottom);
        frame.render_widget(divider, bottom);
        detail::render(frame, bottom_inner, state, theme);
    }
    search::render(frame, bar, state, theme);
    help::render(frame, area, state, theme);
}

fn focus_style(state: &AppState, theme: &Theme) -> ratatui::style::Style {
    if state.focus == Focus::Detail { theme.key() } else { ratatui::style::Style::new() }
}

/// ` incidents ─ bundled dataset ─ 214 incidents ─ 12 shown `
fn title<'a>(state: &'a AppState, theme: &Theme) -> Line<'a> {
    let total = state.dataset.incidents.len();
    let mut spans = vec![
        Span::styled(" incidents", theme.title()),
        Span::raw(theme.dash()),
        Span::raw(state.dataset.label.as_str()),
        Span::raw(theme.dash()),
        Span::raw(format!("{total} incidents")),
        Span::raw(theme.dash()),
        Span::raw(format!("{} shown ", state.hits.len())),
    ];
    if !state.dataset.skipped.is_empty() {
        spans.push(Span::styled(format!("{} problems skipped ", state.dataset.skipped.len()), theme.error()));
    }
    Line::from(spans)
}
