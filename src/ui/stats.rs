//! The stats view: the shape of the current results at a glance. Incidents per year as a bar
//! chart, then the top motives, actor types, actors, countries and techniques, and the losses and
//! CIA posture in a line; a cursor on a bar or a value, Enter to pivot to it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::Theme;
use super::list::fit;
use crate::app::AppState;
use crate::model::format_usd;
use crate::stats::{Facet, Stats};

const ASCII_BARS: symbols::bar::Set = symbols::bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "#",
    five_eighths: "#",
    half: "#",
    three_eighths: "#",
    one_quarter: "#",
    one_eighth: "#",
    empty: " ",
};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let (Some(stats), Some(overview)) = (state.stats(), state.overview()) else {
        let text = format!(" counting{}", theme.ellipsis());
        frame.render_widget(Paragraph::new(Line::styled(text, theme.dim())), area);
        return;
    };
    if stats.total == 0 {
        frame.render_widget(Paragraph::new(Line::styled(" No incident matches the search.", theme.dim())), area);
        return;
    }
    let chart_height = (area.height / 3).clamp(5, 12);
    let [summary, chart, _, lists] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(chart_height),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }));
    frame.render_widget(Paragraph::new(summary_lines(stats, state, theme)), summary);

    let cursor = state.stats_cursor();
    render_chart(frame, chart, &overview.years, cursor, theme);

    // The values, in columns that fill from the left; the cursor counts on after the years.
    let columns = if lists.width >= 100 { 3 } else { 2 };
    let areas = Layout::horizontal(vec![Constraint::Fill(1); columns]).spacing(2).split(lists);
    let mut heights = vec![0usize; columns];
    let mut texts: Vec<Vec<Line>> = vec![Vec::new(); columns];
    let mut n = overview.years.len();
    for group in &overview.groups {
        let col = (0..columns).min_by_key(|&c| heights[c]).unwrap_or(0);
        let lines = group_lines(group, n, cursor, areas[col].width as usize, theme);
        n += group.values.len();
        heights[col] += lines.len();
        texts[col].extend(lines);
    }
    for (lines, area) in texts.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(lines), *area);
    }
}

/// `214 incidents · reported losses $2.3B in 57 · largest $625M (Ronin Network)` and the CIA line.
fn summary_lines<'a>(stats: &Stats, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let mut first = vec![Span::styled(format!("{} incidents", stats.total), theme.title())];
    if stats.loss.reported > 0 {
        first.push(Span::styled(theme.dot(), theme.dim()));
        first.push(Span::raw(format!(
            "reported losses {} in {}",
            format_usd(stats.loss_usd_total),
            stats.loss.reported
        )));
    }
    if let Some((loss, index)) = stats.loss.largest {
        let victim = &state.corpus().incident(index).victim;
        first.push(Span::styled(theme.dot(), theme.dim()));
        first.push(Span::raw(format!("largest {} ({})", format_usd(loss), theme.text(victim))));
    }
    let cia = &stats.cia;
    let second = if cia.recorded == 0 {
        Line::styled("CIA posture not recorded", theme.dim())
    } else {
        Line::from(vec![
            Span::styled("CIA affected ", theme.label()),
            Span::raw(format!(
                "C {}  I {}  A {}  of {} with a recorded posture",
                cia.confidentiality, cia.integrity, cia.availability, cia.recorded
            )),
        ])
    };
    vec![Line::from(first), second]
}

fn render_chart(frame: &mut Frame, area: Rect, years: &[crate::stats::FacetValue], cursor: usize, theme: &Theme) {
    if years.is_empty() || area.height < 3 {
        return;
    }
    let n = years.len() as u16;
    // As wide as the pane allows: a full year under wide bars, its last two digits under narrow ones.
    let bar_width = (area.width.saturating_sub(n) / n).clamp(1, 6);
    let bars: Vec<Bar> = years
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let label = if bar_width >= 4 { y.label.clone() } else { y.label.chars().skip(2).collect() };
            let style = if i == cursor { theme.selected().patch(theme.key()) } else { theme.label() };
            Bar::default().value(y.count).label(Line::from(label)).style(style).value_style(theme.selected())
        })
        .collect();
    let mut chart = BarChart::default()
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .label_style(theme.dim());
    if theme.ascii {
        chart = chart.bar_set(ASCII_BARS);
    }
    frame.render_widget(chart, area);
}

/// A group's title and its values, `label ..... count`, with the cursor mark on the chosen one.
fn group_lines<'a>(group: &Facet, first: usize, cursor: usize, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::styled(group.name, theme.header())];
    let count_width = group.values.iter().map(|v| v.count.to_string().len()).max().unwrap_or(1);
    for (i, v) in group.values.iter().enumerate() {
        let on = first + i == cursor;
        let room = width.saturating_sub(3 + count_width);
        let label = fit(&theme.text(&v.label), room, theme);
        let pad = room.saturating_sub(label.width());
        let style = if on { theme.selected() } else { Style::new() };
        lines.push(
            Line::from(vec![
                Span::styled(if on { theme.cursor() } else { "  " }, theme.key()),
                Span::raw(label),
                Span::raw(" ".repeat(pad + 1)),
                Span::styled(format!("{:>count_width$}", v.count), theme.label()),
            ])
            .style(style),
        );
    }
    lines.push(Line::raw(""));
    lines
}
