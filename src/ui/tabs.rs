//! The detail pane's tab bar, and the rows of a tab laid out as lines: wrapped to the pane with
//! their hanging indents, with a cursor mark on the row Enter acts on.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Tabs;
use unicode_width::UnicodeWidthStr;

use super::Theme;
use crate::app::Tab;
use crate::present::{Piece, Role, Row};

pub fn render_bar(frame: &mut Frame, area: Rect, tab: Tab, theme: &Theme) {
    // Numbered titles tell which digit picks the tab; a narrow pane keeps just the names.
    let numbered: Vec<String> = Tab::ALL.iter().map(|t| format!("{} {}", t.number(), t.title())).collect();
    let width: usize = numbered.iter().map(|t| t.len()).sum::<usize>() + numbered.len() - 1;
    let titles =
        if width <= area.width as usize { numbered } else { Tab::ALL.iter().map(|t| t.title().to_string()).collect() };
    let tabs = Tabs::new(titles)
        .select(Some(tab.number() - 1))
        .style(theme.dim())
        .highlight_style(theme.active_tab())
        .divider(" ")
        .padding("", "");
    frame.render_widget(tabs, area);
}

/// Columns left of the rows for the cursor mark.
pub const GUTTER: u16 = 2;

/// The rows as lines `width` columns wide (the gutter included), and where each row starts and
/// how many lines it takes.
pub fn layout(rows: &[Row], width: u16, cursor: Option<usize>, theme: &Theme) -> (Vec<Line<'static>>, Vec<(u16, u16)>) {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut extents = Vec::with_capacity(rows.len());
    let text_width = width.saturating_sub(GUTTER).max(1) as usize;
    for (n, row) in rows.iter().enumerate() {
        if row.gap {
            lines.push(Line::raw(""));
        }
        let top = lines.len() as u16;
        let mut wrapped = wrap(&row.pieces, row.indent, row.hang, text_width, theme);
        for piece in &row.more {
            let under = row.indent + row.hang;
            wrapped.extend(wrap(std::slice::from_ref(piece), under, 0, text_width, theme));
        }
        let mark = if cursor == Some(n) { theme.cursor() } else { "  " };
        for (i, spans) in wrapped.into_iter().enumerate() {
            let gutter = if i == 0 { mark } else { "  " };
            let mut all = vec![Span::styled(gutter, theme.key())];
            all.extend(spans);
            lines.push(Line::from(all));
        }
        extents.push((top, lines.len() as u16 - top));
    }
    (lines, extents)
}

fn style(role: Role, theme: &Theme) -> Style {
    match role {
        Role::Title => theme.title(),
        Role::Text => Style::new(),
        Role::Label => theme.label(),
        Role::Id => theme.id(),
        Role::Dim => theme.dim(),
    }
}

/// Word-wraps one row: the first line at the row's indent, the rest at indent plus hang. Words
/// longer than a line are cut.
fn wrap(pieces: &[Piece], indent: u16, hang: u16, width: usize, theme: &Theme) -> Vec<Vec<Span<'static>>> {
    let first = (indent as usize).min(width.saturating_sub(1));
    let rest = (indent as usize + hang as usize).min(width.saturating_sub(1));
    let mut lines: Vec<Vec<Span<'static>>> = vec![vec![Span::raw(" ".repeat(first))]];
    let mut used = first;
    let mut limit = width;
    for piece in pieces {
        let text = theme.text(&piece.text);
        let st = style(piece.role, theme);
        for token in tokens(&text) {
            let w = token.width();
            let blank = token.trim().is_empty();
            if used + w > limit && used > (if lines.len() == 1 { first } else { rest }) {
                if blank {
                    // A break swallows the spaces where it falls.
                    continue;
                }
                if let Some(line) = lines.last_mut()
                    && line.len() > 1
                    && line.last().is_some_and(|s| s.content.trim().is_empty())
                {
                    line.pop();
                }
                lines.push(vec![Span::raw(" ".repeat(rest))]);
                used = rest;
                limit = width;
            }
            if used + w <= limit {
                push(lines.last_mut(), token.to_string(), st);
                used += w;
                continue;
            }
            // A word longer than the line: cut it where the line ends, as often as needed.
            let mut chunk = String::new();
            for c in token.chars() {
                let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                if used + cw > limit && used > rest {
                    push(lines.last_mut(), std::mem::take(&mut chunk), st);
                    lines.push(vec![Span::raw(" ".repeat(rest))]);
                    used = rest;
                }
                chunk.push(c);
                used += cw;
            }
            push(lines.last_mut(), chunk, st);
        }
    }
    lines
}

fn push(line: Option<&mut Vec<Span<'static>>>, text: String, style: Style) {
    if let Some(line) = line
        && !text.is_empty()
    {
        line.push(Span::styled(text, style));
    }
}

/// Words and the runs of spaces between them, in order.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let space = rest.starts_with(' ');
        let end = rest.find(|c: char| (c == ' ') != space).unwrap_or(rest.len());
        let (token, tail) = rest.split_at(end);
        rest = tail;
        Some(token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(indent: u16, hang: u16, text: &str) -> Row {
        Row { indent, hang, pieces: vec![Piece { role: Role::Text, text: text.into() }], ..Row::default() }
    }

    fn wrap_row(row: &Row, width: usize) -> Vec<Vec<Span<'static>>> {
        wrap(&row.pieces, row.indent, row.hang, width, &Theme::default())
    }

    fn plain(lines: &[Vec<Span>]) -> Vec<String> {
        lines.iter().map(|l| l.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn wrapped_lines_keep_the_hanging_indent() {
        let lines = wrap_row(&row(10, 0, "used a fake job offer to deliver the payload"), 30);
        assert_eq!(plain(&lines), ["          used a fake job", "          offer to deliver the", "          payload"]);
        let lines = wrap_row(&row(0, 10, "T1566.003 Spearphishing via Service"), 24);
        assert_eq!(plain(&lines), ["T1566.003 Spearphishing", "          via Service"]);
    }

    #[test]
    fn long_words_are_cut_not_lost() {
        let lines = wrap_row(&row(0, 2, "https://example.com/a/very/long/path"), 12);
        let text: String = plain(&lines).iter().map(|l| l.trim()).collect();
        assert_eq!(text, "https://example.com/a/very/long/path");
        assert!(plain(&lines).iter().all(|l| l.width() <= 12));
    }
}
