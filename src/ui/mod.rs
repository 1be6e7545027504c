//! Drawing: a pure function of `AppState`, one module per pane.

mod detail;
mod export;
mod facets;
mod help;
mod list;
mod loading;
mod search;
mod stats;
mod tabs;
mod theme;

pub use list::highlighted;
pub use loading::{Loading, draw_loading};
pub use theme::Theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::{AppState, Focus, View, ViewMetrics};

pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// From this width the list and the detail stand side by side.
pub const WIDE: u16 = 100;

/// Draws the whole screen from the state, and says what it could show (rows of the list, how far
/// the detail text scrolls), for the state to page and scroll by.
pub fn draw(frame: &mut Frame, state: &AppState, theme: &Theme) -> ViewMetrics {
    let area = frame.area();
    let mut metrics = ViewMetrics::default();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height);
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.error())), area);
        return metrics;
    }
    let [main, bar] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    // The title runs between the corners, with a space at each end.
    let room = usize::from(main.width).saturating_sub(4);
    let block = Block::bordered().border_set(theme.border()).title(title(state, theme, room));
    let inner = block.inner(main);
    frame.render_widget(block, main);

    let wide = area.width >= WIDE;
    if state.view() == View::Stats {
        stats::render(frame, inner, state, theme);
    } else if state.focus() == Focus::Detail && !wide {
        // Narrow terminals give the detail the whole screen while it has the focus.
        (metrics.detail_height, metrics.detail_rows) = detail::render(frame, inner, state, theme);
    } else if wide {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        metrics.list_rows = list::render(frame, left, state, theme);
        let divider =
            Block::new().borders(Borders::LEFT).border_set(theme.border()).border_style(focus_style(state, theme));
        let right_inner = divider.inner(right);
        frame.render_widget(divider, right);
        (metrics.detail_height, metrics.detail_rows) = detail::render(frame, right_inner, state, theme);
    } else {
        let [top, bottom] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(inner);
        metrics.list_rows = list::render(frame, top, state, theme);
        let divider = Block::new().borders(Borders::TOP).border_set(theme.border());
        let bottom_inner = divider.inner(bottom);
        frame.render_widget(divider, bottom);
        (metrics.detail_height, metrics.detail_rows) = detail::render(frame, bottom_inner, state, theme);
    }
    search::render(frame, bar, state, theme);
    help::render(frame, area, state, theme);
    if theme.ascii {
        ascii_only(frame.buffer_mut());
    }
    metrics
}

/// The last guard of `--ascii`: whatever text reached the screen without being transliterated
/// (a wide character, a symbol of a widget) becomes `?`, so every byte written is ASCII.
pub(crate) fn ascii_only(buf: &mut ratatui::buffer::Buffer) {
    use unicode_width::UnicodeWidthStr;
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut x = area.left();
        while x < area.right() {
            let cell = &mut buf[(x, y)];
            let symbol = cell.symbol();
            if symbol.is_ascii() {
                x += 1;
                continue;
            }
            let width = symbol.width().max(1) as u16;
            cell.set_symbol("?");
            // A wide character's second column held nothing; it needs a character of its own now.
            for dx in 1..width {
                if x + dx < area.right() {
                    buf[(x + dx, y)].set_symbol(" ");
                }
            }
            x += width;
        }
    }
}

fn focus_style(state: &AppState, theme: &Theme) -> ratatui::style::Style {
    if state.focus() == Focus::Detail { theme.key() } else { ratatui::style::Style::new() }
}

/// ` incidents ─ bundled dataset ─ 214 incidents ─ 12 shown ─ coinspaid › actor:="Lazarus Group" `
fn title<'a>(state: &'a AppState, theme: &Theme, width: usize) -> Line<'a> {
    let dataset = &state.corpus().dataset;
    let results = state.results();
    let shown = if !state.searching() {
        format!("{} shown", results.hits.len())
    } else if state.awaiting_results() || results.total == 0 {
        format!("searching{}", theme.ellipsis())
    } else {
        // A long search says how far it has got, in the units an analyst reads at a glance.
        format!("searching{} {}/{}", theme.ellipsis(), count(results.scanned), count(results.total))
    };
    let mut spans = vec![
        Span::styled(" incidents", theme.title()),
        Span::raw(theme.dash()),
        Span::raw(theme.text(&dataset.label).into_owned()),
        Span::raw(theme.dash()),
        Span::raw(format!("{} incidents", dataset.incidents.len())),
        Span::raw(theme.dash()),
        Span::raw(shown),
    ];
    let skipped = (!dataset.skipped.is_empty()).then(|| {
        // Records left out are what the analyst misses; a file that could not be read at all
        // has problems but no records to count.
        match dataset.rejected.len() {
            0 => format!("{} problems ", dataset.skipped.len()),
            1 => "1 record skipped ".to_string(),
            n => format!("{n} records skipped "),
        }
    });
    // The unfiltered list where it all began is no step worth showing.
    let steps: Vec<String> = state.trail().filter(|q| !q.is_empty()).map(|q| theme.text(q).into_owned()).collect();
    if steps.len() > 1 {
        let used: usize = spans.iter().map(Span::width).sum::<usize>()
            + theme.dash().width()
            + 1
            + skipped.as_deref().map_or(0, UnicodeWidthStr::width);
        spans.push(Span::raw(theme.dash()));
        spans.push(Span::styled(fit_trail(&steps, width.saturating_sub(used), theme), theme.label()));
    }
    spans.push(Span::raw(" "));
    if let Some(what) = skipped {
        spans.push(Span::styled(what, theme.error()));
    }
    Line::from(spans)
}

/// The trail in `width` columns: the newest steps are the ones worth keeping, so the oldest give
/// way first (`… › ttp:T1566.003`), and a last step too long for the room is cut at its end.
fn fit_trail(steps: &[String], width: usize, theme: &Theme) -> String {
    let sep = theme.trail();
    for from in 0..steps.len() {
        let rest = steps[from..].join(sep);
        let text = if from == 0 { rest } else { format!("{}{sep}{rest}", theme.ellipsis()) };
        if text.width() <= width {
            return text;
        }
    }
    let last = steps.last().map_or("", String::as_str);
    list::fit(&format!("{}{sep}{last}", theme.ellipsis()), width, theme)
}

/// `950`, `34k`, `1.2M`: counts in a status line.
fn count(n: usize) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}
