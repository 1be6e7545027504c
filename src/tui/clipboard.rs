//! Copying to the analyst's clipboard from wherever the browser runs: OSC 52 asks the terminal
//! (the one on the analyst's laptop, across SSH) to take the text, wrapped for tmux when inside
//! it; `INCIDENTS_CLIPBOARD_COMMAND` (`xclip -sel c`, `pbcopy`, `wl-copy`) pipes it to a command
//! instead.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The environment variable naming a command that takes the text on its standard input.
pub const COMMAND_VAR: &str = "INCIDENTS_CLIPBOARD_COMMAND";

/// Puts `text` on the clipboard. Returns how, for the status line, or why it failed.
pub fn copy(text: &str) -> Result<&'static str, String> {
    match std::env::var(COMMAND_VAR).ok().filter(|c| !c.trim().is_empty()) {
        Some(command) => pipe(&command, text).map(|()| "by the clipboard command"),
        None => {
            let tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
            let mut out = io::stdout();
            out.write_all(&osc52(text, tmux)).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
            Ok(if tmux { "through tmux to the terminal" } else { "to the terminal" })
        }
    }
}

fn pipe(command: &str, text: &str) -> Result<(), String> {
    let mut child = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{COMMAND_VAR} ({command}) could not start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).map_err(|e| format!("{command}: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("{command}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{COMMAND_VAR} ({command}) failed: {status}")) }
}

/// The OSC 52 sequence that sets the clipboard to `text`. Inside tmux it is wrapped in tmux's
/// passthrough (DCS `tmux;` with every ESC doubled) so it reaches the outer terminal.
pub fn osc52(text: &str, tmux: bool) -> Vec<u8> {
    let seq = format!("\x1b]52;c;{}\x07", STANDARD.encode(text.as_bytes()));
    if tmux { format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")).into_bytes() } else { seq.into_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmux_gets_the_sequence_wrapped_with_escapes_doubled() {
        assert_eq!(osc52("hi", false), b"\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("hi", true), b"\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
    }
}
