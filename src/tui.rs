//! The terminal: set up and restore, the event loop, signals.
//!
//! Everything that can wake the browser arrives on one channel: keys (from a thread that reads
//! the terminal), search results (from the worker), the loaded dataset (from the loader thread)
//! and signals. The loop handles all that has arrived, then draws one frame (after a key that
//! starts a quick search, once the answer is in or a few milliseconds have passed); with nothing
//! arriving it sleeps, so an idle browser costs nothing.

mod clipboard;

use std::io::{self, IsTerminal};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, KeyCode,
    KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::app::{Action, AppState, Effect, Start, ViewMetrics};
use crate::load::{LoadError, Progress};
use crate::model::Dataset;
use crate::query::{Corpus, Query, SearchRequest, SearchUpdate, Worker};
use crate::ui::{self, Loading, Theme};

/// How long a dataset may take to load before the loading screen is shown instead of waiting:
/// small datasets go straight to the list, without a flash of the gauge.
const QUIET_LOAD: Duration = Duration::from_millis(15);
/// How often the loading gauge is redrawn.
const GAUGE_EVERY: Duration = Duration::from_millis(100);
/// How long the frame after a key that starts a quick search may wait for the search's answer.
/// The answer is drawn in that same frame, sparing a frame (and its bytes over a slow link) that
/// it would replace at once; should it be late, the echo is on screen this late at most, well
/// within a frame at 60 Hz.
const ECHO_WAIT: Duration = Duration::from_millis(8);
/// A search is taken to be quick when it narrows an answer of at most this many incidents.
/// Narrowing runs through about five thousand of them a millisecond here, caches cold, so these
/// take well under `ECHO_WAIT`. A longer search gets its echo drawn at once: a frame drawn in
/// the middle of it would take a core from it on a two-core machine.
const QUICK_UP_TO: usize = 32 * 1024;
/// After a signal, how long the loop has to restore the terminal itself before the signal thread
/// does it and leaves (a dropped SSH session can leave the loop stuck on a dead terminal).
const GRACE: Duration = Duration::from_secs(1);

/// Loads the dataset on a thread of its own, reporting progress.
pub type Loader = Box<dyn FnOnce(&Arc<Progress>) -> Result<Dataset, LoadError> + Send>;

/// How the browser is set up.
pub struct Options {
    pub theme: Theme,
    pub mouse: bool,
    pub start: Start,
    /// What is being loaded, for the loading screen.
    pub label: String,
}

/// How the browser ended.
#[derive(Debug)]
pub enum Exit {
    Quit,
    /// A signal ended it (SIGTERM, SIGHUP, SIGINT).
    Signal(i32),
    /// The dataset could not be loaded; the terminal is restored before this is returned.
    LoadFailed(LoadError),
}

enum Msg {
    Event(Event),
    /// The terminal cannot be read any more.
    InputClosed,
    Signal(i32),
    Loaded(Box<Result<Corpus, LoadError>>),
    Search(SearchUpdate),
}

enum Phase {
    /// Keys typed while loading wait in `typed` and are applied once the list is there, so an
    /// analyst can start a search before a large file has loaded; `typing` tells a `q` typed
    /// into the search bar from one that quits.
    Loading { progress: Arc<Progress>, started: Instant, typed: Vec<Event>, typing: bool },
    /// `waiting` holds keys that act on the results, typed before the newest search answered,
    /// and every key typed after them; each is read in the focus it meets when it is applied.
    Ready { state: Box<AppState>, worker: Worker, metrics: Option<ViewMetrics>, waiting: Vec<Event> },
}

/// Runs the browser until the analyst quits or a signal ends it; the terminal is restored on every
/// way out, panics included.
pub fn run(load: Loader, options: Options) -> io::Result<Exit> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "the browser needs a terminal on standard input and output; use `incidents list` to print incidents",
        ));
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let signals_handle = watch_signals(tx.clone())?;

    let progress = Arc::new(Progress::default());
    let loader_progress = Arc::clone(&progress);
    let loaded = tx.clone();
    std::thread::Builder::new().name("load".into()).spawn(move || {
        // The tabs and the filters need the facets' index at once: made here, not in a frame.
        let result = load(&loader_progress).map(Corpus::new).inspect(|corpus| {
            corpus.facets();
        });
        let _ = loaded.send(Msg::Loaded(Box::new(result)));
    })?;

    let mut terminal = init(options.mouse)?;
    let input = tx.clone();
    std::thread::Builder::new().name("input".into()).spawn(move || read_input(&input))?;

    let mut phase = Phase::Loading { progress, started: Instant::now(), typed: Vec::new(), typing: false };
    let result = event_loop(&mut terminal, &mut phase, &options, &tx, &rx);
    restore();
    signals_handle.close();
    result
}

fn init(mouse: bool) -> io::Result<DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    // ratatui's hook restores raw mode and the screen; paste and mouse reporting are ours to undo.
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(io::stdout(), DisableBracketedPaste, DisableMouseCapture);
            previous(info);
        }));
    });
    execute!(io::stdout(), EnableBracketedPaste)?;
    if mouse {
        execute!(io::stdout(), EnableMouseCapture)?;
    }
    Ok(terminal)
}

fn restore() {
    let _ = execute!(io::stdout(), DisableBracketedPaste, DisableMouseCapture);
    let _ = ratatui::try_restore();
}

fn watch_signals(tx: Sender<Msg>) -> io::Result<signal_hook::iterator::Handle> {
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    let handle = signals.handle();
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = tx.send(Msg::Signal(sig));
            // The loop normally restores the terminal and returns at once. When the terminal is
            // gone, writing to it can block; leave from here after a grace period.
            std::thread::sleep(GRACE);
            restore();
            std::process::exit(128 + sig);
        }
    })?;
    Ok(handle)
}

fn read_input(tx: &Sender<Msg>) {
    loop {
        match event::read() {
            Ok(ev) => {
                if tx.send(Msg::Event(ev)).is_err() {
                    return;
                }
            }
            Err(_) => {
                let _ = tx.send(Msg::InputClosed);
                return;
            }
        }
    }
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    phase: &mut Phase,
    options: &Options,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> io::Result<Exit> {
    // A small dataset is ready before a frame is worth drawing.
    let mut first = match rx.recv_timeout(QUIET_LOAD) {
        Ok(msg) => Some(msg),
        Err(RecvTimeoutError::Timeout) => None,
        Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Quit),
    };
    let mut dirty = true;
    let mut echo = Echo::default();
    loop {
        let mut pending: Option<SearchRequest> = None;
        let mut exit = None;
        if let Some(msg) = first.take() {
            echo.saw(&msg);
            handle(msg, phase, options, tx, &mut pending, &mut exit, &mut dirty);
        } else {
            let searching = matches!(phase, Phase::Ready { state, .. } if state.searching());
            let held = echo.held(searching, Instant::now());
            if dirty && held.is_none() {
                draw(terminal, phase, options)?;
                dirty = false;
                echo.drawn();
            }
            let timeout = match phase {
                Phase::Loading { .. } => Some(GAUGE_EVERY),
                Phase::Ready { .. } => held.filter(|_| dirty),
            };
            let msg = match timeout {
                Some(timeout) => match rx.recv_timeout(timeout) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        // The gauge is due, or the search has had its time: draw.
                        dirty = true;
                        echo.drawn();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Quit),
                },
                None => match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => return Ok(Exit::Quit),
                },
            };
            echo.saw(&msg);
            handle(msg, phase, options, tx, &mut pending, &mut exit, &mut dirty);
        }
        // Everything that has arrived is handled before the next frame is drawn.
        while exit.is_none()
            && let Ok(msg) = rx.try_recv()
        {
            echo.saw(&msg);
            handle(msg, phase, options, tx, &mut pending, &mut exit, &mut dirty);
        }
        if let Some(exit) = exit {
            return Ok(exit);
        }
        // Only the last search a batch of keys asked for is worth running.
        if let (Some(request), Phase::Ready { worker, .. }) = (pending, &*phase) {
            echo.asked(&request, Instant::now());
            worker.submit(request);
        }
    }
}

/// Whether the next frame waits for a search's answer (see `ECHO_WAIT`).
#[derive(Default)]
struct Echo {
    /// The newest search asked for, and its limit.
    asked: Option<(u64, Query, Option<usize>)>,
    /// The last search answered in full, and how many incidents it matched.
    answered: Option<(Query, usize)>,
    /// Until when the next frame waits.
    until: Option<Instant>,
}

impl Echo {
    fn asked(&mut self, request: &SearchRequest, now: Instant) {
        let quick =
            self.answered.as_ref().is_some_and(|(query, hits)| *hits <= QUICK_UP_TO && request.query.narrows(query));
        // The first deadline stands: keys typed in a stream never put the echo off.
        self.until = if quick { self.until.or(Some(now + ECHO_WAIT)) } else { None };
        self.asked = Some((request.generation, request.query.clone(), request.limit));
    }

    fn saw(&mut self, msg: &Msg) {
        if let Msg::Search(update) = msg
            && update.complete
            && let Some((_, query, limit)) = self.asked.take_if(|(generation, ..)| *generation == update.generation)
        {
            // Hits cut to the limit do not say how many matched.
            let cut = limit.is_some_and(|limit| update.hits.len() >= limit);
            self.answered = Some((query, if cut { usize::MAX } else { update.hits.len() }));
        }
    }

    /// How much longer the next frame may wait, while the search runs.
    fn held(&self, searching: bool, now: Instant) -> Option<Duration> {
        self.until.and_then(|until| until.checked_duration_since(now)).filter(|d| searching && !d.is_zero())
    }

    fn drawn(&mut self) {
        self.until = None;
    }
}

fn draw(terminal: &mut DefaultTerminal, phase: &mut Phase, options: &Options) -> io::Result<()> {
    match phase {
        Phase::Loading { progress, started, .. } => {
            let view = Loading { label: &options.label, progress: progress.snapshot(), elapsed: started.elapsed() };
            terminal.draw(|frame| ui::draw_loading(frame, &view, &options.theme))?;
        }
        Phase::Ready { state, metrics, .. } => {
            let mut measured = ViewMetrics::default();
            terminal.draw(|frame| measured = ui::draw(frame, state, &options.theme))?;
            if metrics.as_ref() != Some(&measured) {
                // Paging and scrolling need what the frame could show; a frame drawn from the
                // corrected state follows at once.
                *metrics = Some(measured.clone());
                state.update(Action::Measured(measured));
                terminal.draw(|frame| {
                    ui::draw(frame, state, &options.theme);
                })?;
            }
        }
    }
    Ok(())
}

fn handle(
    msg: Msg,
    phase: &mut Phase,
    options: &Options,
    tx: &Sender<Msg>,
    pending: &mut Option<SearchRequest>,
    exit: &mut Option<Exit>,
    dirty: &mut bool,
) {
    match msg {
        Msg::Signal(sig) => *exit = Some(Exit::Signal(sig)),
        Msg::InputClosed => *exit = Some(Exit::Quit),
        Msg::Loaded(result) => match *result {
            Ok(corpus) => {
                let corpus = Arc::new(corpus);
                let results = tx.clone();
                let worker = Worker::spawn(Arc::clone(&corpus), move |update| {
                    let _ = results.send(Msg::Search(update));
                });
                let (state, effect) = AppState::new(corpus, options.start.clone());
                let typed = match phase {
                    Phase::Loading { typed, .. } => std::mem::take(typed),
                    Phase::Ready { .. } => Vec::new(),
                };
                *phase = Phase::Ready { state: Box::new(state), worker, metrics: None, waiting: Vec::new() };
                apply(effect, pending, exit);
                *dirty = true;
                for event in typed {
                    handle(Msg::Event(event), phase, options, tx, pending, exit, dirty);
                }
            }
            Err(e) => *exit = Some(Exit::LoadFailed(e)),
        },
        Msg::Search(update) => {
            if let Phase::Ready { state, waiting, .. } = phase {
                state.update(Action::Results(update));
                *dirty = true;
                // Keys that waited for these results go now, in order, until one starts a new search.
                while !state.awaiting_results() && !waiting.is_empty() {
                    let event = waiting.remove(0);
                    if let Some(action) = action(state, event) {
                        perform(state, action, pending, exit);
                    }
                }
            }
        }
        Msg::Event(Event::Resize(..)) => *dirty = true,
        Msg::Event(event) => match phase {
            Phase::Loading { progress, typed, typing, .. } => {
                if let Event::Key(key) = event
                    && key.kind != KeyEventKind::Release
                {
                    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || (!*typing && matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)) {
                        progress.cancel();
                        *exit = Some(Exit::Quit);
                        return;
                    }
                    match key.code {
                        KeyCode::Char('/') if !*typing => *typing = true,
                        KeyCode::Enter | KeyCode::Esc => *typing = false,
                        _ => {}
                    }
                }
                typed.push(event);
            }
            Phase::Ready { state, waiting, .. } => {
                // Each key is read in the focus the key before it left.
                for event in split_alt(event) {
                    *dirty = true;
                    if !waiting.is_empty() {
                        waiting.push(event);
                        continue;
                    }
                    let Some(action) = action(state, event.clone()) else { continue };
                    if state.awaiting_results() && action.acts_on_results(state.focus()) {
                        waiting.push(event);
                        continue;
                    }
                    perform(state, action, pending, exit);
                }
            }
        },
    }
}

fn perform(state: &mut AppState, action: Action, pending: &mut Option<SearchRequest>, exit: &mut Option<Exit>) {
    let Some(effect) = state.update(action) else { return };
    let answer = match effect {
        Effect::Export { format, path, replace } => Some(export(state, format, &path, replace)),
        other => apply(other, pending, exit),
    };
    if let Some(answer) = answer {
        state.update(answer);
    }
}

/// Writes the current results to a file, never over an existing one unless asked to.
fn export(state: &AppState, format: crate::export::Format, path: &str, replace: bool) -> Action {
    use crate::export::{SaveError, Selection, save};
    let path = match path.strip_prefix("~/") {
        Some(rest) => {
            std::env::var_os("HOME").map_or_else(|| path.into(), |home| std::path::Path::new(&home).join(rest))
        }
        None => std::path::PathBuf::from(path),
    };
    let selection = Selection { corpus: state.corpus(), hits: state.hits(), query: state.input() };
    let mut notes = Vec::new();
    let result = save(&path, replace, |out| {
        notes = format.write(&selection, out)?;
        Ok(())
    });
    let shown = std::path::absolute(&path).unwrap_or(path);
    match result {
        Ok(()) => {
            let size = std::fs::metadata(&shown).map(|m| m.len()).unwrap_or(0);
            let mut text =
                format!("wrote {} incidents to {} ({} KB)", selection.hits.len(), shown.display(), size.div_ceil(1024));
            if !notes.is_empty() {
                text.push_str(&format!("; {}", notes.join("; ")));
            }
            Action::ExportFinished(text)
        }
        Err(SaveError::Exists { .. }) => Action::ExportExists,
        Err(e) => Action::ExportFinished(format!("not written: {e}")),
    }
}

fn apply(effect: Effect, pending: &mut Option<SearchRequest>, exit: &mut Option<Exit>) -> Option<Action> {
    match effect {
        Effect::Search(request) => *pending = Some(request),
        Effect::Quit => *exit = Some(Exit::Quit),
        // Written where the state is at hand (`perform`).
        Effect::Export { .. } => {}
        Effect::Copy(text) => {
            return match clipboard::copy(&text) {
                Ok(_) => None,
                Err(why) => Some(Action::Notice(format!("not copied: {why}"))),
            };
        }
    }
    None
}

/// Esc and the next key arriving together (fast typing, a slow link) read as Alt-key; nothing is
/// bound to Alt, so take them as the two keys they were.
fn split_alt(event: Event) -> Vec<Event> {
    match event {
        Event::Key(key @ KeyEvent { code: KeyCode::Char(_), modifiers: KeyModifiers::ALT, .. }) => vec![
            Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            Event::Key(KeyEvent::new(key.code, KeyModifiers::NONE)),
        ],
        other => vec![other],
    }
}

/// What a terminal event asks of the state, in the focus it has now.
fn action(state: &AppState, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) => state.keymap().action(state.key_context(), key),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::ScrollUp => Some(Action::Up),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{ECHO_WAIT, Echo, Msg, QUICK_UP_TO};
    use crate::query::{Hit, Query, SearchRequest, SearchUpdate};

    fn request(generation: u64, text: &str) -> SearchRequest {
        SearchRequest { generation, query: Query::parse(text).expect("parses"), ..SearchRequest::default() }
    }

    fn answer(generation: u64, hits: usize, complete: bool) -> Msg {
        let hits = vec![Hit::default(); hits];
        Msg::Search(SearchUpdate { generation, scanned: hits.len(), total: hits.len(), hits, complete, stats: None })
    }

    #[test]
    fn only_a_search_that_narrows_a_small_answer_holds_the_frame() {
        let t = Instant::now();
        let mut echo = Echo::default();
        // Nothing answered yet: the first search is drawn at once.
        echo.asked(&request(1, "s"), t);
        assert_eq!(echo.held(true, t), None);
        // A large answer: narrowing it is no quick search either.
        echo.saw(&answer(1, QUICK_UP_TO + 1, true));
        echo.asked(&request(2, "su"), t);
        assert_eq!(echo.held(true, t), None);
        // A small answer, but only a partial one so far: not yet the answer to narrow.
        echo.saw(&answer(2, 10, false));
        echo.asked(&request(3, "sum"), t);
        assert_eq!(echo.held(true, t), None);
        echo.saw(&answer(3, QUICK_UP_TO, true));
        // A letter typed: the frame waits, but never past ECHO_WAIT, and not once the search is done.
        echo.asked(&request(4, "summ"), t);
        assert_eq!(echo.held(true, t), Some(ECHO_WAIT));
        assert_eq!(echo.held(false, t), None, "the answer is in");
        assert_eq!(echo.held(true, t + ECHO_WAIT), None, "waited long enough");
        // Another key before the frame: the first deadline stands.
        echo.saw(&answer(4, 5, true));
        echo.asked(&request(5, "summi"), t + Duration::from_millis(3));
        assert_eq!(echo.held(true, t + Duration::from_millis(3)), Some(ECHO_WAIT - Duration::from_millis(3)));
        echo.drawn();
        assert_eq!(echo.held(true, t), None, "a frame was drawn");
        // A letter taken away widens the search: drawn at once.
        echo.saw(&answer(5, 5, true));
        echo.asked(&request(6, "summ"), t);
        assert_eq!(echo.held(true, t), None);
        // Hits cut to a limit may hide a large answer.
        echo.asked(&SearchRequest { limit: Some(5), ..request(7, "s") }, t);
        echo.saw(&answer(7, 5, true));
        echo.asked(&SearchRequest { limit: Some(5), ..request(8, "su") }, t);
        assert_eq!(echo.held(true, t), None);
    }
}
