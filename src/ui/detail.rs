//! The detail pane: a header with the facts an analyst reads first, then the tabs.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Theme, tabs};
use crate::app::AppState;
use crate::model::{Incident, format_usd};

/// Draws the detail pane; returns the last line its text can scroll to.
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) -> u16 {
    let Some(inc) = state.selected_incident() else {
        frame.render_widget(Paragraph::new(Line::styled(" Nothing selected.", theme.dim())), area);
        return 0;
    };
    let [title, facts, cia, tab_bar, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }));

    let date = inc.date.display();
    let mut heading = vec![Span::styled(inc.victim.as_str(), theme.title())];
    if let Some(name) = inc.name.as_deref().filter(|n| *n != inc.victim) {
        heading.push(Span::styled(theme.dot(), theme.dim()));
        heading.push(Span::styled(name, theme.id()));
    }
    frame.render_widget(Paragraph::new(Line::from(heading)), title);
    frame.render_widget(Paragraph::new(Line::from(date)).alignment(Alignment::Right), title);
    frame.render_widget(Paragraph::new(facts_line(inc, theme)), facts);
    frame.render_widget(Paragraph::new(cia_line(inc, theme)), cia);
    tabs::render_bar(frame, tab_bar, state.tab(), theme);

    let text = tabs::body(state, inc, theme);
    let paragraph = Paragraph::new(text).wrap(Wrap { trim: false });
    let lines = paragraph.line_count(body.width) as u16;
    let max = lines.saturating_sub(body.height);
    frame.render_widget(paragraph.scroll((state.detail_scroll().min(max), 0)), body);
    max
}

/// `Estonia · Cryptocurrency payments · $37.3M`
fn facts_line<'a>(inc: &'a Incident, theme: &Theme) -> Line<'a> {
    let mut parts: Vec<Span> = Vec::new();
    let mut push = |s: Span<'a>| {
        if !parts.is_empty() {
            parts.push(Span::styled(theme.dot(), theme.dim()));
        }
        parts.push(s);
    };
    push(Span::raw(inc.location.as_deref().unwrap_or("location unknown")));
    if let Some(industry) = &inc.industry {
        push(Span::raw(industry.as_str()));
    }
    if let Some(loss) = inc.loss_usd {
        push(Span::styled(format_usd(loss), theme.title()));
    }
    Line::from(parts)
}

/// `C affected  I affected  A unknown`
fn cia_line<'a>(inc: &Incident, theme: &Theme) -> Line<'a> {
    let Some(cia) = &inc.cia else {
        return Line::styled("CIA posture not recorded", theme.dim());
    };
    let mut spans = Vec::new();
    for (letter, impact) in [("C ", cia.confidentiality), ("I ", cia.integrity), ("A ", cia.availability)] {
        spans.push(Span::styled(letter, theme.label()));
        spans.push(Span::styled(impact.as_str(), theme.impact(impact)));
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}
