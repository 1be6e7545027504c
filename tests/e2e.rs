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
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Session {
    fn start(args: &[&str], cols: u16, rows: u16) -> Self {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_incidents"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        cmd.env_remove("LC_ALL");
        cmd.env_remove("NO_COLOR");
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen =
            Arc::new(Mutex::new(vt100::Parser::new(NonZeroU16::new(rows).unwrap(), NonZeroU16::new(cols).unwrap(), 0)));
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Session { screen, writer, child, _master: pair.master }
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
    let screen = s.wait("results for cnspd", |t| t.contains("/ cnspd") && t.contains("Lazarus"));
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
