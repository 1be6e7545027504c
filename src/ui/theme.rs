//! Colours and drawing characters. The 16 ANSI colours plus bold and reverse, so the screen
//! follows the analyst's palette; no colour at all under `NO_COLOR`; ASCII-only drawing on request.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use crate::model::Impact;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Default for Theme {
    fn default() -> Self {
        Self { color: true, ascii: false }
    }
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn border(&self) -> border::Set<'static> {
        if self.ascii { ASCII_BORDER } else { border::PLAIN }
    }

    /// The dot between facts in a line.
    pub fn dot(&self) -> &'static str {
        if self.ascii { " - " } else { " · " }
    }

    /// The dash between parts of the title.
    pub fn dash(&self) -> &'static str {
        if self.ascii { " - " } else { " ─ " }
    }

    pub fn ellipsis(&self) -> &'static str {
        if self.ascii { "..." } else { "…" }
    }

    /// Between the steps of the pivot trail.
    pub fn trail(&self) -> &'static str {
        if self.ascii { " > " } else { " › " }
    }

    pub fn vertical(&self) -> &'static str {
        if self.ascii { "|" } else { "│" }
    }

    pub fn horizontal(&self) -> &'static str {
        if self.ascii { "-" } else { "─" }
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Letters the search matched.
    pub fn matched(&self) -> Style {
        let s = self.fg(Color::Yellow).add_modifier(Modifier::BOLD);
        if self.color { s } else { s.add_modifier(Modifier::UNDERLINED) }
    }

    pub fn dim(&self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new().add_modifier(Modifier::DIM) }
    }

    pub fn label(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn id(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    pub fn active_tab(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn impact(&self, impact: Impact) -> Style {
        match impact {
            Impact::Affected => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Impact::NotAffected => self.fg(Color::Green),
            Impact::Unknown => self.dim(),
        }
    }
}
