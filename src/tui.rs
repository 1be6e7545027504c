//! The terminal: set up and restore, the event loop, signals.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, MouseEventKind};
use ratatui::crossterm::execute;

use crate::app::{Action, AppState};
use crate::ui::{self, Theme};

/// How long the loop sleeps in `poll` before it looks at the signal flags again. Input wakes it
/// at once; this only bounds how late a SIGTERM or SIGHUP is noticed.
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// Runs the browser until the analyst quits or a signal ends it; the terminal is restored on every
/// way out, panics included (ratatui's hook restores before the panic message is printed).
pub fn run(mut state: AppState, theme: Theme, mouse: bool) -> io::Result<()> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "the browser needs a terminal on standard input and output; use `incidents list` to print incidents",
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let mut terminal = ratatui::try_init()?;
    if mouse {
        let _ = execute!(io::stdout(), EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, &mut state, &theme, &stop);
    if mouse {
        let _ = execute!(io::stdout(), DisableMouseCapture);
    }
    ratatui::try_restore()?;
    result
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    state: &mut AppState,
    theme: &Theme,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut dirty = true;
    while !state.should_quit && !stop.load(Ordering::Relaxed) {
        if dirty {
            terminal.draw(|frame| ui::draw(frame, state, theme))?;
            dirty = false;
        }
        if !event::poll(SIGNAL_CHECK)? {
            continue;
        }
        // Everything that has arrived is handled before the next frame is drawn.
        loop {
            dirty |= handle(state, event::read()?);
            if state.should_quit || !event::poll(Duration::ZERO)? {
                break;
            }
        }
        state.settle();
    }
    Ok(())
}

fn handle(state: &mut AppState, event: Event) -> bool {
    match event {
        Event::Key(key) => match state.keymap.action(state.focus, key) {
            Some(action) => state.update(action),
            None => false,
        },
        Event::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                state.update(Action::Input(c));
            }
            true
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => state.update(Action::Down),
            MouseEventKind::ScrollUp => state.update(Action::Up),
            _ => false,
        },
        Event::Resize(..) => true,
        _ => false,
    }
}
