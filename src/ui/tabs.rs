//! The detail pane's tab bar and the text of each tab.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Tabs;

use super::Theme;
use crate::app::{AppState, Tab};
use crate::model::{Incident, TechniqueRef, format_usd, group_thousands};

pub fn render_bar(frame: &mut Frame, area: Rect, tab: Tab, theme: &Theme) {
    // Numbered titles tell which digit picks the tab; a narrow pane keeps just the names.
    let numbered: Vec<String> = Tab::ALL.iter().enumerate().map(|(i, t)| format!("{} {}", i + 1, t.title())).collect();
    let width: usize = numbered.iter().map(|t| t.len()).sum::<usize>() + numbered.len() - 1;
    let titles =
        if width <= area.width as usize { numbered } else { Tab::ALL.iter().map(|t| t.title().to_string()).collect() };
    let selected = Tab::ALL.iter().position(|&t| t == tab);
    let tabs = Tabs::new(titles)
        .select(selected)
        .style(theme.dim())
        .highlight_style(theme.active_tab())
        .divider(" ")
        .padding("", "");
    frame.render_widget(tabs, area);
}

/// The text of the current tab for one incident.
pub fn body<'a>(state: &'a AppState, inc: &'a Incident, theme: &Theme) -> Text<'a> {
    let mut lines: Vec<Line> = vec![Line::raw("")];
    match state.tab() {
        Tab::Overview => overview(inc, theme, &mut lines),
        Tab::Motives => motives(inc, theme, &mut lines),
        Tab::Ttps => ttps(state, inc, theme, &mut lines),
        Tab::Actors => actors(state, inc, theme, &mut lines),
        Tab::Sources => sources(inc, theme, &mut lines),
        Tab::Related => related(state, inc, theme, &mut lines),
    }
    Text::from(lines)
}

fn none<'a>(what: &str, theme: &Theme) -> Line<'a> {
    Line::styled(format!("No {what} recorded."), theme.dim())
}

fn overview<'a>(inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    lines.push(Line::styled(inc.summary.as_str(), theme.title()));
    if let Some(desc) = &inc.description {
        for para in desc.split("\n\n") {
            lines.push(Line::raw(""));
            lines.extend(para.lines().map(Line::raw));
        }
    }
    lines.push(Line::raw(""));
    if let Some(loss) = inc.loss_usd {
        lines.push(Line::from(vec![
            Span::styled("Loss      ", theme.label()),
            Span::raw(format!("{} (US$ {})", format_usd(loss), group_thousands(loss))),
        ]));
    }
    if let Some(note) = inc.cia.as_ref().and_then(|c| c.note.as_deref()) {
        lines.push(Line::from(vec![Span::styled("CIA       ", theme.label()), Span::raw(note)]));
    }
    if !inc.tags.is_empty() {
        lines.push(Line::from(vec![Span::styled("Tags      ", theme.label()), Span::raw(inc.tags.join(", "))]));
    }
    lines.push(Line::from(vec![Span::styled("Id        ", theme.label()), Span::styled(inc.id.as_str(), theme.id())]));
}

fn motives<'a>(inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if inc.motives.is_empty() {
        return lines.push(none("motive", theme));
    }
    for m in &inc.motives {
        lines
            .push(Line::from(vec![Span::styled(format!("{:<12}", m.as_str()), theme.title()), Span::raw(m.meaning())]));
    }
}

fn ttps<'a>(state: &'a AppState, inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if inc.ttps.is_empty() {
        return lines.push(none("technique", theme));
    }
    for t in &inc.ttps {
        match t {
            TechniqueRef::Attack { id, .. } => {
                let (name, tactics) = match state.corpus().dataset.catalog.get(id) {
                    Some(tech) => (tech.name.clone(), tech.tactic_names()),
                    None => ("(not in the technique catalog)".to_string(), String::new()),
                };
                let mut spans = vec![Span::styled(format!("{id:<10}"), theme.id()), Span::styled(name, theme.title())];
                if !tactics.is_empty() {
                    spans.push(Span::styled(format!("  {tactics}"), theme.label()));
                }
                lines.push(Line::from(spans));
            }
            TechniqueRef::Other { name, framework, .. } => {
                let fw = framework.as_deref().unwrap_or("other");
                lines.push(Line::from(vec![
                    Span::styled(format!("{fw:<10}"), theme.id()),
                    Span::styled(name.as_str(), theme.title()),
                ]));
            }
        }
        if let Some(note) = t.note() {
            lines.push(Line::styled(format!("          {note}"), theme.dim()));
        }
    }
}

fn actors<'a>(state: &'a AppState, inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if inc.actors.is_empty() {
        return lines.push(none("actor", theme));
    }
    let me = state.selected_hit().map_or(u32::MAX, |h| h.index);
    for (n, a) in inc.actors.iter().enumerate() {
        if n > 0 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(a.name.as_str(), theme.title()));
        lines.push(Line::from(vec![Span::styled("  Type      ", theme.label()), Span::raw(a.kind.as_str())]));
        lines.push(Line::from(vec![
            Span::styled("  Location  ", theme.label()),
            Span::raw(a.location.as_deref().unwrap_or("unknown")),
        ]));
        if !a.aliases.is_empty() {
            lines.push(Line::from(vec![Span::styled("  Aliases   ", theme.label()), Span::raw(a.aliases.join(", "))]));
        }
        let corpus = state.corpus();
        let others: Vec<u32> = if a.is_named() {
            corpus.incidents_of_actor(&a.name).iter().copied().filter(|&i| i != me).collect()
        } else {
            Vec::new()
        };
        if !others.is_empty() {
            lines.push(Line::styled(format!("  Other incidents ({})", others.len()), theme.label()));
            for i in others {
                let o = corpus.incident(i);
                lines.push(Line::raw(format!("    {:<9}{}", o.date.short(), o.victim)));
            }
        }
    }
}

fn sources<'a>(inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if inc.sources.is_empty() {
        return lines.push(none("source", theme));
    }
    for (n, s) in inc.sources.iter().enumerate() {
        let mut spans = vec![Span::styled(format!("{}. ", n + 1), theme.label())];
        spans.push(Span::styled(s.heading(), theme.title()));
        if let Some(by) = s.byline() {
            spans.push(Span::raw(format!(" — {by}")));
        }
        lines.push(Line::from(spans));
        if let Some(url) = s.url_below() {
            lines.push(Line::styled(format!("   {url}"), theme.dim()));
        }
    }
}

fn related<'a>(state: &'a AppState, inc: &'a Incident, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if inc.related.is_empty() {
        return lines.push(none("related incident", theme));
    }
    for id in &inc.related {
        match state.corpus().find(id) {
            Some(i) => {
                let o = state.corpus().incident(i);
                lines.push(Line::from(vec![
                    Span::raw(format!("{:<9}", o.date.short())),
                    Span::styled(o.victim.as_str(), theme.title()),
                    Span::styled(format!("  {id}"), theme.dim()),
                ]));
                lines.push(Line::raw(format!("         {}", first_sentence(&o.summary))));
            }
            None => lines.push(Line::styled(format!("{id} (not in this dataset)"), theme.dim())),
        }
    }
}

fn first_sentence(s: &str) -> &str {
    s.find(". ").map_or(s, |i| &s[..=i])
}
