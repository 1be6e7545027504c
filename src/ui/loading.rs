//! The screen shown while a large dataset loads: what is read, how far it has got, how to leave.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use crate::load::ProgressSnapshot;

/// What the loading screen shows.
pub struct Loading<'a> {
    /// The paths given, as the analyst wrote them.
    pub label: &'a str,
    pub progress: ProgressSnapshot,
    pub elapsed: Duration,
}

pub fn draw_loading(frame: &mut Frame, view: &Loading, theme: &Theme) {
    let area = frame.area();
    let block = Block::bordered().border_set(theme.border()).title(Line::from(vec![
        ratatui::text::Span::styled(" incidents", theme.title()),
        format!("{}loading ", theme.dash()).into(),
    ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let p = &view.progress;
    let stage = if p.stage.is_empty() { view.label } else { p.stage.as_str() };
    let width = inner.width.saturating_sub(4).min(60) as usize;
    let mut lines = vec![
        Line::styled(format!("Loading {stage}"), theme.title()),
        Line::raw(""),
        Line::raw(bar(p.ratio(), width, theme)),
        Line::raw(""),
        Line::raw(amounts(p)),
        Line::styled(format!("{:.1} s", view.elapsed.as_secs_f64()), theme.dim()),
        Line::raw(""),
    ];
    lines.push(Line::styled("q quits", theme.dim()));
    let height = lines.len() as u16;
    let [middle] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(inner);
    frame.render_widget(Paragraph::new(lines).centered(), middle);
}

/// `[██████░░░░░░] 48%`, or `[######------] 48%` in ASCII.
fn bar(ratio: f64, width: usize, theme: &Theme) -> String {
    let inside = width.saturating_sub(7).max(10);
    let filled = ((ratio * inside as f64).round() as usize).min(inside);
    let (full, empty) = if theme.ascii { ("#", "-") } else { ("█", "░") };
    format!("[{}{}] {:>3.0}%", full.repeat(filled), empty.repeat(inside - filled), ratio * 100.0)
}

/// `812 MB of 1.7 GB read, 480,000 records`
fn amounts(p: &ProgressSnapshot) -> String {
    let read = if p.bytes_total > 0 {
        format!("{} of {} read", size(p.bytes_read), size(p.bytes_total))
    } else {
        format!("{} read", size(p.bytes_read))
    };
    format!("{read}, {} records", crate::model::group_thousands(p.records))
}

fn size(bytes: u64) -> String {
    match bytes {
        0..1_000_000 => format!("{} KB", bytes / 1_000),
        1_000_000..1_000_000_000 => format!("{} MB", bytes / 1_000_000),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_ratio() {
        let theme = Theme { color: false, ascii: true };
        assert_eq!(bar(0.5, 27, &theme), "[##########----------]  50%");
        assert_eq!(bar(0.0, 17, &theme), "[----------]   0%");
        assert_eq!(size(1_700_000_000), "1.7 GB");
        assert_eq!(size(163_000_000), "163 MB");
    }
}
