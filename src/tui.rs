//! The terminal: set up and restore, the event loop, signals.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyModifiers, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::app::{Action, AppState};
use crate::ui::{self, Theme};

/// How long the loop sleeps in `poll` before it looks at the signal flags again. Input wakes it
/// at once; this only bounds how late a SIGTERM or SIGHUP is noticed.
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// Runs the browser until the analyst quits or a signal ends it; the terminal is restored on every
/// way out, panics included (ratatui's hook restores before the panic message is printed).
/// Returns the signal that ended it, if one did.
pub fn run(mut state: AppState, theme: Theme, mouse: bool) -> io::Result<Option<i32>> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "the browser needs a terminal on standard input and output; use `incidents list` to print incidents",
        ));
    }
    let signal = Arc::new(AtomicI32::new(0));
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    let signals_handle = signals.handle();
    let seen = Arc::clone(&signal);
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            seen.store(sig, Ordering::SeqCst);
            // The event loop normally notices within one poll and restores the terminal itself.
            // When the terminal is gone (a dropped SSH session), crossterm's reader can keep
            // reading end-of-file without returning, so after a grace period leave from here.
            std::thread::sleep(SIGNAL_CHECK * 5);
            let _ = ratatui::try_restore();
            std::process::exit(128 + sig);
        }
    });
    let mut terminal = ratatui::try_init()?;
    if mouse {
        let _ = execute!(io::stdout(), EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, &mut state, &theme, &signal);
    if mouse {
        let _ = execute!(io::stdout(), DisableMouseCapture);
    }
    ratatui::try_restore()?;
    signals_handle.close();
    result?;
    Ok(Some(signal.load(Ordering::SeqCst)).filter(|&s| s != 0))
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    state: &mut AppState,
    theme: &Theme,
    signal: &AtomicI32,
) -> io::Result<()> {
    let mut dirty = true;
    while !state.should_quit && signal.load(Ordering::SeqCst) == 0 {
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
        // Esc and the next key arriving together (fast typing, a slow link) read as Alt-key;
        // nothing is bound to Alt, so take them as the two keys they were.
        Event::Key(key @ KeyEvent { code: KeyCode::Char(_), modifiers: KeyModifiers::ALT, .. }) => {
            let esc = handle(state, Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            let next = handle(state, Event::Key(KeyEvent::new(key.code, KeyModifiers::NONE)));
            esc | next
        }
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
