use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use incidents::app::Start;
use incidents::cli::{self, Cli, Command, Failure};
use incidents::tui::{self, Exit};
use incidents::ui::Theme;

// Huge pages for the heap: a big load faulted its heap in 4 KB at a time (README.md, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Some(Command::List(args)) => cli::list(args, &mut out),
        Some(Command::Show(args)) => cli::show(args, &mut out),
        Some(Command::Validate(args)) => cli::validate(args, &mut out),
        Some(Command::Taxii(args)) => cli::taxii(args, &mut out),
        Some(Command::Stats(args)) => cli::stats(args, &mut out),
        Some(Command::Export(args)) => cli::export(args, &mut out),
        None => {
            drop(out);
            return finish(browse(&cli), &mut io::sink());
        }
    };
    finish(result, &mut out)
}

fn browse(cli: &Cli) -> Result<(), Failure> {
    let args = &cli.browse;
    let theme = Theme {
        color: !args.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        ascii: args.ascii || !cli::locale_is_utf8(),
    };
    let start = Start {
        query: args.query.query.clone().unwrap_or_default(),
        sort: args.query.sort.into(),
        reverse: args.query.reverse,
        limit: args.query.limit,
    };
    let label = cli::describe(&args.data);
    let data = args.data.clone();
    // A TAXII password is asked for now, before the browser takes the terminal.
    let taxii = cli::taxii_options(&args.data)?;
    let load = Box::new(move |progress: &std::sync::Arc<incidents::load::Progress>| {
        cli::load_dataset(&data, Some(std::sync::Arc::clone(progress)), taxii)
    });
    match tui::run(load, tui::Options { theme, mouse: args.mouse, start, label })? {
        Exit::Quit => Ok(()),
        // Ended by a signal: the shell convention, 128 plus its number.
        Exit::Signal(signal) => Err(Failure { code: (128 + signal) as u8, lines: Vec::new() }),
        Exit::LoadFailed(e) => Err(e.into()),
    }
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
