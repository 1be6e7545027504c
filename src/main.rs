use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use incidents::app::AppState;
use incidents::cli::{self, Cli, Command, Failure};
use incidents::tui;
use incidents::ui::Theme;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Some(Command::List(args)) => cli::list(args, &mut out),
        Some(Command::Show(args)) => cli::show(args, &mut out),
        Some(Command::Validate(args)) => cli::validate(args, &mut out),
        Some(Command::Taxii(args)) => cli::taxii(args, &mut out),
        None => {
            drop(out);
            return finish(browse(&cli), &mut io::sink());
        }
    };
    finish(result, &mut out)
}

fn browse(cli: &Cli) -> Result<(), Failure> {
    let args = &cli.browse;
    let dataset = cli::load_data(&args.data)?;
    let state = AppState::new(dataset)
        .with_sort(args.query.sort.into())
        .with_query(args.query.query.as_deref().unwrap_or_default());
    let theme = Theme {
        color: !args.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        ascii: args.ascii || !locale_is_utf8(),
    };
    match tui::run(state, theme, args.mouse)? {
        // Ended by a signal: the shell convention, 128 plus its number.
        Some(signal) => Err(Failure { code: (128 + signal) as u8, lines: Vec::new() }),
        None => Ok(()),
    }
}

/// The first of LC_ALL, LC_CTYPE and LANG that is set decides; none set means the C locale.
fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"].iter().filter_map(|v| std::env::var(v).ok()).find(|v| !v.is_empty()).is_some_and(
        |v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        },
    )
}

fn finish(result: Result<(), Failure>, out: &mut impl Write) -> ExitCode {
    // A closed pipe (`incidents list | head`) is not an error worth a message.
    let flushed = out.flush();
    match result {
        Ok(()) => match flushed {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                eprintln!("incidents: {e}");
                ExitCode::from(2)
            }
            _ => ExitCode::SUCCESS,
        },
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            let mut err = io::stderr().lock();
            for line in &f.lines {
                let _ = writeln!(err, "incidents: {line}");
            }
            ExitCode::from(f.code)
        }
    }
}
