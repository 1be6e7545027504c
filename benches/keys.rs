//! Keystroke to quiet screen, in a real pseudo-terminal: the browser on a dataset file against
//! fzf on the same victims, typed the same word, in the same harness. For each key the time is
//! from writing the key to the last byte the program draws before it falls quiet.
//!
//!   cargo bench --bench keys -- DATA.json VICTIMS.txt [WORD] [RUNS]
//!
//! `benches/compare.sh` makes both files and runs this after its own pairs.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Output that stops for this long means the program has finished drawing.
const QUIET: Duration = Duration::from_millis(150);
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

struct Program {
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// When each chunk of output arrived.
    arrivals: Arc<Mutex<Vec<Instant>>>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Program {
    fn start(cmd: CommandBuilder) -> Program {
        let pair = native_pty_system()
            .openpty(PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 })
            .expect("a pseudo-terminal");
        let child = pair.slave.spawn_command(cmd).expect("the program starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("a reader");
        let writer = pair.master.take_writer().expect("a writer");
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(40).expect("rows"),
            NonZeroU16::new(120).expect("cols"),
            0,
        )));
        let (a, s) = (Arc::clone(&arrivals), Arc::clone(&screen));
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                a.lock().expect("lock").push(Instant::now());
                s.lock().expect("lock").process(&buf[..n]);
            }
        });
        Program { writer, child, arrivals, screen, _master: pair.master }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
        self.writer.flush().expect("flush");
    }

    /// Waits until the screen shows `text` and the output has been quiet for a while.
    fn settle(&self, text: &str) {
        let start = Instant::now();
        loop {
            let shown = self.screen.lock().expect("lock").screen().contents().contains(text);
            let last = self.arrivals.lock().expect("lock").last().copied();
            if shown && last.is_some_and(|t| t.elapsed() > QUIET * 2) {
                return;
            }
            assert!(start.elapsed() < LOAD_TIMEOUT, "the program never showed {text:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one key and returns the time until the last output before quiet.
    fn key(&mut self, key: u8) -> Duration {
        let before = self.arrivals.lock().expect("lock").len();
        let sent = Instant::now();
        self.send(&[key]);
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let arrivals = self.arrivals.lock().expect("lock");
            let last = arrivals.last().copied();
            if arrivals.len() > before && last.is_some_and(|t| t.elapsed() >= QUIET) {
                return last.map_or(Duration::ZERO, |t| t - sent);
            }
            if arrivals.len() == before && sent.elapsed() > Duration::from_secs(10) {
                return sent.elapsed();
            }
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Types `word` `runs` times (clearing with Ctrl-U between runs); the per-key times.
fn type_word(p: &mut Program, word: &str, runs: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        for b in word.bytes() {
            times.push(p.key(b));
        }
        p.key(0x15);
    }
    times
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(data), Some(victims)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo bench --bench keys -- DATA.json VICTIMS.txt [WORD] [RUNS]");
        std::process::exit(2);
    };
    let word = args.get(2).map_or("summit", String::as_str);
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);

    let mut cmd = CommandBuilder::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/incidents"));
    cmd.arg(data);
    cmd.env("TERM", "xterm-256color");
    cmd.env("LANG", "C.UTF-8");
    let mut ours = Program::start(cmd);
    ours.settle(" shown");
    ours.send(b"/");
    ours.settle("/ ");
    let ours_times = type_word(&mut ours, word, runs);
    drop(ours);

    // fzf reads the victims from a file on stdin and draws on the terminal.
    let mut cmd = CommandBuilder::new("sh");
    cmd.args(["-c", &format!("exec fzf --no-mouse < '{victims}'")]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("LANG", "C.UTF-8");
    let mut fzf = Program::start(cmd);
    fzf.settle("/");
    let fzf_times = type_word(&mut fzf, word, runs);
    drop(fzf);

    // Each key of the word on its own: the first keys search the most.
    let by_key = |times: &[Duration]| -> Vec<f64> {
        let n = word.len();
        (0..n).map(|k| median(times.iter().skip(k).step_by(n).copied().collect()).as_secs_f64() * 1e3).collect()
    };
    let (ours_keys, fzf_keys) = (by_key(&ours_times), by_key(&fzf_times));
    let show = |keys: &[f64]| keys.iter().map(|ms| format!("{ms:.1}")).collect::<Vec<_>>().join(" ");
    println!("per key of {word:?}, median ms: incidents {}; fzf {}", show(&ours_keys), show(&fzf_keys));
    let (a, b) = (median(ours_times), median(fzf_times));
    println!(
        "per key, typing {word:?} ({runs} runs): incidents {:.1} ms, fzf {:.1} ms, ratio {:.2}",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
    // The median of all keys falls between a slow early key and a quick late one, and jumps from
    // run to run; the mean of the keys' medians is the wait per key over the whole word.
    let mean = |keys: &[f64]| keys.iter().sum::<f64>() / keys.len().max(1) as f64;
    let (a, b) = (mean(&ours_keys), mean(&fzf_keys));
    println!("per key, mean of the keys' medians: incidents {a:.1} ms, fzf {b:.1} ms, ratio {:.2}", a / b);
}
