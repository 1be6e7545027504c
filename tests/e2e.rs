//! The real binary in a pseudo-terminal: keys typed, the screen read back through a terminal
//! emulator, the terminal checked after the program has gone.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Session {
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for what the emulator does not keep (OSC 52).
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Session {
    fn start(args: &[&str], cols: u16, rows: u16) -> Self {
        Self::start_with(args, cols, rows, &[("LANG", "C.UTF-8")])
    }

    fn start_with(args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Self {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_incidents"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for var in ["LANG", "LC_ALL", "LC_CTYPE", "NO_COLOR", "TMUX", "INCIDENTS_CLIPBOARD_COMMAND"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen =
            Arc::new(Mutex::new(vt100::Parser::new(NonZeroU16::new(rows).unwrap(), NonZeroU16::new(cols).unwrap(), 0)));
        let feed = Arc::clone(&screen);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&raw);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                keep.lock().unwrap().extend_from_slice(&buf[..n]);
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Session { screen, raw, writer, child, _master: pair.master }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn alternate(&self) -> bool {
        self.screen.lock().unwrap().screen().alternate_screen()
    }

    /// Waits until the screen satisfies `ok`; fails with the screen as it is.
    #[track_caller]
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.contents();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the program to exit and returns whether it succeeded.
    fn exit(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if start.elapsed() > TIMEOUT {
                self.child.kill().ok();
                panic!("the program did not exit; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn wait_restored(&self) {
        let start = Instant::now();
        while self.alternate() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(30));
        }
        assert!(!self.alternate(), "the alternate screen was left");
    }
}

const ESC: &str = "\x1b";

#[test]
fn search_for_coinspaid_then_quit_restores_the_terminal() {
    let mut s = Session::start(&[], 120, 40);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    assert!(s.alternate(), "the browser draws on the alternate screen");
    s.send("/coinsp");
    let screen = s.wait("CoinsPaid and its actor", |t| {
        t.contains("/ coinsp")
            && t.lines().nth(2).is_some_and(|l| l.contains(">Jul 2023 CoinsPaid") && l.contains("Lazarus Group"))
    });
    assert!(screen.contains("Estonia · Cryptocurrency payments · $37.3M"), "{screen}");
    // Esc clears the search and q quits, even when both arrive at once (read as Alt-q).
    s.send(&format!("{ESC}q"));
    assert!(s.exit(), "exit status 0");
    s.wait_restored();
}

#[test]
fn fuzzy_typo_ranks_coinspaid_first_and_tabs_switch() {
    let mut s = Session::start(&[], 120, 40);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    s.send("/cnspd");
    // " shown" replaces "searching…" only once the results are in; the list before them holds
    // Lazarus incidents too.
    let screen = s.wait("results for cnspd", |t| t.contains("/ cnspd") && t.contains(" shown"));
    let first_row = screen.lines().nth(2).unwrap();
    assert!(first_row.contains(">Jul 2023 CoinsPaid"), "CoinsPaid first:\n{screen}");
    s.send("\r3");
    s.wait("the TTPs tab", |t| t.contains("T1566.003") && t.contains("Spearphishing via Service"));
    s.send("\x03");
    assert!(s.exit());
    s.wait_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start(&[], 100, 30);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    let pid = s.child.process_id().expect("a pid");
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    s.exit();
    s.wait_restored();
}

#[test]
fn a_malformed_file_is_an_error_before_any_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "[{\"id\": }]").unwrap();
    let mut s = Session::start(&[path.to_str().unwrap()], 80, 24);
    let screen = s.wait("the error", |t| t.contains("invalid JSON"));
    assert!(screen.contains("bad.json:1:9: invalid JSON"), "{screen}");
    assert!(!s.exit(), "a failing exit status");
    assert!(!s.alternate());
}

#[test]
fn a_dropped_session_ends_the_program() {
    // Like an SSH connection that dies: every handle on the terminal's master side is closed.
    let pair = native_pty_system().openpty(PtySize { rows: 30, cols: 100, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_incidents"));
    cmd.env("TERM", "xterm-256color");
    cmd.env("LANG", "C.UTF-8");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let writer = pair.master.take_writer().unwrap();
    let reading = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            // Unchanged cells (spaces on a fresh screen) are skipped, so look for one word.
            if String::from_utf8_lossy(&seen).contains("dataset") {
                break;
            }
        }
    });
    reading.join().unwrap();
    drop(writer);
    drop(pair.master);
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > TIMEOUT {
            child.kill().ok();
            panic!("the program kept running after its terminal went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A native file large enough that loading it takes a while, written fast.
fn large_file(dir: &std::path::Path, records: usize) -> std::path::PathBuf {
    let path = dir.join("large.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let text = "The attackers moved through the network for weeks before anyone noticed. ".repeat(10);
    for i in 0..records {
        writeln!(
            out,
            r#"{{"id": "r-{i}", "victim": "Summit Bank {i}", "date": "2020-01", "summary": "Case {i}.", "description": "{text}", "tags": ["bulk"]}}"#
        )
        .unwrap();
    }
    out.flush().unwrap();
    path
}

#[test]
fn a_large_file_shows_the_loading_gauge_then_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = large_file(dir.path(), 200_000);
    let mut s = Session::start(&[path.to_str().unwrap()], 100, 30);
    let screen = s.wait("the loading screen", |t| t.contains("Loading") && t.contains("q quits"));
    assert!(screen.contains("large.jsonl"), "the screen names what it loads:\n{screen}");
    let screen = s.wait("the list", |t| t.contains("200000 incidents") && t.contains(" shown"));
    assert!(screen.contains("Summit Bank"), "{screen}");
    s.send("q");
    assert!(s.exit());
    s.wait_restored();
}

#[test]
fn q_during_a_load_quits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = large_file(dir.path(), 400_000);
    let mut s = Session::start(&[path.to_str().unwrap()], 100, 30);
    s.wait("the loading screen", |t| t.contains("Loading") && t.contains("q quits"));
    s.send("q");
    assert!(s.exit(), "quitting during the load is a clean exit");
    s.wait_restored();
    assert!(!s.contents().contains("incidents ─ large.jsonl"), "the list was never shown");
}

/// The texts of the OSC 52 clipboard sequences the program wrote, decoded.
fn copied(raw: &[u8]) -> Vec<String> {
    use base64::Engine;
    let text = String::from_utf8_lossy(raw);
    text.split("\x1b]52;c;")
        .skip(1)
        .filter_map(|rest| rest.split_once('\x07').map(|(b64, _)| b64.to_string()))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

#[test]
fn pivot_to_the_actor_step_back_and_copy_as_markdown() {
    let mut s = Session::start(&[], 120, 40);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    s.send("/coinspaid\r");
    s.wait("CoinsPaid", |t| t.contains(">Jul 2023 CoinsPaid") && t.contains("1 shown"));
    s.send("a");
    let screen = s.wait("the actor's incidents", |t| {
        t.contains("Atomic Wallet") && t.contains("Alphapo") && t.contains(" shown")
    });
    assert!(screen.contains("coinspaid › actor:="), "the title shows the trail:\n{screen}");
    s.send("\x7f");
    let screen = s.wait("the search before the pivot", |t| t.contains("/ coinspaid") && t.contains("1 shown"));
    assert!(screen.contains(">Jul 2023 CoinsPaid"), "CoinsPaid is selected again:\n{screen}");
    s.send("y");
    let screen = s.wait("the copy message", |t| t.contains("copied coinspaid-2023 as Markdown"));
    assert!(screen.contains("KB)") || screen.contains(" B)"), "the size is given:\n{screen}");
    let start = Instant::now();
    let texts = loop {
        let texts = copied(&s.raw.lock().unwrap());
        if !texts.is_empty() || start.elapsed() > TIMEOUT {
            break texts;
        }
        std::thread::sleep(Duration::from_millis(30));
    };
    assert_eq!(texts.len(), 1, "one OSC 52 sequence");
    assert!(texts[0].starts_with("## CoinsPaid\n"), "{}", texts[0]);
    assert!(texts[0].contains("- **Location:** Estonia") && texts[0].contains("### Sources"), "{}", texts[0]);
    s.send("q");
    assert!(s.exit());
    s.wait_restored();
}

#[test]
fn inside_tmux_the_copy_is_wrapped_for_tmux() {
    let mut s = Session::start_with(&[], 100, 30, &[("LANG", "C.UTF-8"), ("TMUX", "/tmp/tmux-0/default,1,0")]);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    s.send("/coinspaid\ry");
    s.wait("the copy message", |t| t.contains("copied coinspaid-2023 as Markdown"));
    let start = Instant::now();
    while !String::from_utf8_lossy(&s.raw.lock().unwrap()).contains("\x1bPtmux;\x1b\x1b]52;c;") {
        assert!(start.elapsed() < TIMEOUT, "no tmux passthrough sequence was written");
        std::thread::sleep(Duration::from_millis(30));
    }
    s.send("q");
    assert!(s.exit());
}

#[test]
fn a_c_locale_gets_nothing_but_ascii() {
    let mut s = Session::start_with(&[], 120, 40, &[("LANG", "C")]);
    s.wait("the list", |t| t.contains("bundled dataset") && t.contains(" shown"));
    // Text with a pound sign, accents and typographic punctuation, in the list and the detail.
    s.send("/jaguar\r");
    s.wait("Jaguar Land Rover", |t| t.contains("Jaguar Land Rover") && t.contains("GBP"));
    s.send("\r");
    s.send("5");
    s.wait("the sources", |t| t.contains("5 Sources") || t.contains("Sources"));
    s.send("\x1b\x1b/dusseldorf\r");
    s.send("q");
    assert!(s.exit());
    let raw = s.raw.lock().unwrap();
    let high: Vec<u8> = raw.iter().copied().filter(|&b| b > 127).collect();
    assert!(high.is_empty(), "{} bytes above 127 reached a C-locale terminal", high.len());
}
