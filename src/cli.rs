//! The command line: clap definitions, and the output of the non-interactive commands.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use unicode_width::UnicodeWidthStr;

use crate::export::{self, Domain, SaveError, Selection};
use crate::load::{self, Format, LoadError, LoadOptions, Progress};
use crate::model::{Dataset, IdHashes, Incident, TechniqueRef, format_usd};
use crate::present;
use crate::query::{Corpus, Hit, Query, SearchRequest, SortKey, search};
use crate::stats::Stats;
use crate::taxii::{self, Auth, TaxiiOptions};

#[derive(Debug, Parser)]
#[command(
    name = "incidents",
    version,
    about = "Browse cyber-incident datasets in the terminal",
    long_about = "Browse cyber-incident datasets in the terminal.\n\nWith no PATH, the bundled dataset is used. PATHs may be files or directories of native JSON or JSON Lines, VERIS incidents or STIX bundles, or the URLs of TAXII 2.1 collections.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub browse: BrowseArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the matching incidents: a table, or --json / --jsonl / --csv.
    List(ListArgs),
    /// Print one incident: text, or --json.
    Show(ShowArgs),
    /// Check dataset files: exit 0 when valid, 1 with every problem listed.
    Validate(ValidateArgs),
    /// Count the matching incidents by year, motive, actor, country and technique: text or --json.
    Stats(StatsArgs),
    /// Write the matching incidents as JSON, JSON Lines, CSV, a Markdown report or an ATT&CK
    /// Navigator layer.
    Export(ExportArgs),
    /// List a TAXII 2.1 server's API roots and collections.
    Taxii(TaxiiListArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Dataset files or directories (default: the bundled dataset).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Input format; auto detects it from each file's content.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// ATT&CK STIX bundle (or technique table) that names the techniques.
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// Load the valid records and report the rest instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub taxii: TaxiiArgs,
}

/// Options for PATHs that are TAXII 2.1 URLs.
#[derive(Debug, Clone, Args, Default)]
pub struct TaxiiArgs {
    /// The collection (title or id) when a URL is a TAXII server or API root.
    #[arg(long, value_name = "TITLE|ID")]
    pub collection: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Use the cached copy of TAXII collections alone; do not contact the servers.
    #[arg(long)]
    pub offline: bool,
}

/// How to reach a TAXII server.
#[derive(Debug, Clone, Args, Default)]
pub struct ConnectionArgs {
    /// TAXII user for basic auth; the password comes from INCIDENTS_TAXII_PASSWORD or a prompt.
    /// Without it, a bearer token from INCIDENTS_TAXII_TOKEN is sent when set.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Allow plain http:// to hosts other than loopback addresses.
    #[arg(long)]
    pub allow_http: bool,
    /// PEM file of the certificate authorities to trust for TAXII servers (an in-house CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

impl ConnectionArgs {
    /// TAXII options, with the password asked for now: before the browser takes the terminal.
    fn options(&self, need_credentials: bool) -> Result<TaxiiOptions, Failure> {
        let auth = if need_credentials {
            Auth::resolve(self.user.as_deref()).map_err(|e| Failure::new(2, e.to_string()))?
        } else {
            // Offline, a user name still picks that user's cached copy.
            self.user.clone().map_or(Auth::None, |user| Auth::Basic { user, password: String::new() })
        };
        Ok(TaxiiOptions { auth, allow_http: self.allow_http, ca_cert: self.ca_cert.clone(), ..TaxiiOptions::default() })
    }
}

#[derive(Debug, Args)]
pub struct TaxiiListArgs {
    /// The server's discovery URL (…/taxii2/), an API root, or a collection URL.
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Query, in the search bar's language: `coinsp actor:lazarus year:2023`.
    #[arg(short, long, value_name = "QUERY")]
    pub query: Option<String>,
    /// Order of the results (score: best match first, then newest).
    #[arg(long, value_enum, default_value_t = SortArg::Score)]
    pub sort: SortArg,
    /// Reverse the order.
    #[arg(long)]
    pub reverse: bool,
    /// Print at most N incidents.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct BrowseArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub query: QueryArgs,
    /// No colour (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
    /// Draw with ASCII only (automatic when the locale is not UTF-8).
    #[arg(long)]
    pub ascii: bool,
    /// Scroll with the mouse wheel.
    #[arg(long)]
    pub mouse: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub query: QueryArgs,
    /// A JSON array of incidents in the native format (loads again as a dataset).
    #[arg(long, group = "output")]
    pub json: bool,
    /// One native JSON incident per line.
    #[arg(long, group = "output")]
    pub jsonl: bool,
    /// CSV with a header row.
    #[arg(long, group = "output")]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The incident's id.
    pub id: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// The incident as native JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Count only the incidents this query matches (the search bar's language).
    #[arg(short, long, value_name = "QUERY")]
    pub query: Option<String>,
    /// The counts as one JSON object: total, loss_usd_total and by_year, by_motive, by_actor,
    /// by_actor_type, by_country, by_technique (each a map from value to count).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("export_format").required(true).args(["json", "jsonl", "csv", "markdown", "navigator"])
))]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub query: QueryArgs,
    /// A JSON array of incidents in the native format (loads again as a dataset).
    #[arg(long)]
    pub json: bool,
    /// One native JSON incident per line.
    #[arg(long)]
    pub jsonl: bool,
    /// CSV (RFC 4180) with a header row; list fields joined by "; ".
    #[arg(long)]
    pub csv: bool,
    /// A Markdown report: a table of the incidents, then a section for each.
    #[arg(long)]
    pub markdown: bool,
    /// An ATT&CK Navigator layer (format 4.5) scoring each technique by the incidents using it.
    #[arg(long)]
    pub navigator: bool,
    /// The layer's ATT&CK domain [default: enterprise, unless every technique is an ICS one].
    #[arg(long, value_enum)]
    pub domain: Option<DomainArg>,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DomainArg {
    Enterprise,
    Ics,
}

impl From<DomainArg> for Domain {
    fn from(d: DomainArg) -> Self {
        match d {
            DomainArg::Enterprise => Domain::Enterprise,
            DomainArg::Ics => Domain::Ics,
        }
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or directories to check.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Auto,
    Native,
    Veris,
    Stix,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Score,
    Date,
    Victim,
    Loss,
}

impl From<SortArg> for SortKey {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Score => SortKey::Score,
            SortArg::Date => SortKey::Date,
            SortArg::Victim => SortKey::Victim,
            SortArg::Loss => SortKey::Loss,
        }
    }
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => Format::Auto,
            FormatArg::Native => Format::Native,
            FormatArg::Veris => Format::Veris,
            FormatArg::Stix => Format::Stix,
        }
    }
}

/// A command's failure, with the exit code it means.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub lines: Vec<String>,
}

impl Failure {
    fn new(code: u8, line: impl Into<String>) -> Self {
        Self { code, lines: vec![line.into()] }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let lines = match &e {
            LoadError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
            LoadError::Io { .. } | LoadError::Cancelled | LoadError::Taxii(_) => vec![e.to_string()],
        };
        Failure { code: e.exit_code(), lines }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        // The reader went away (`incidents list | head`): nothing left to say, and not a failure.
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Failure { code: 0, lines: Vec::new() };
        }
        Failure::new(2, e.to_string())
    }
}

/// Loads the paths, or the bundled dataset when there are none. A load that takes more than a
/// moment shows how far it has got on stderr, when stderr is a terminal. Warnings about TAXII
/// collections (a cached copy opened because the server is unreachable) go to stderr.
pub fn load_data(args: &DataArgs) -> Result<Dataset, Failure> {
    let taxii = taxii_options(args)?;
    let dataset = with_progress(|progress| load_dataset(args, progress, taxii))?;
    for warning in &dataset.warnings {
        eprintln!("incidents: warning: {warning}");
    }
    Ok(dataset)
}

/// Runs a load with a progress line on stderr when stderr is a terminal.
fn with_progress<T>(load: impl FnOnce(Option<Arc<Progress>>) -> Result<T, LoadError>) -> Result<T, LoadError> {
    if !io::stderr().is_terminal() {
        return load(None);
    }
    let progress = Arc::new(Progress::default());
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watched = Arc::clone(&progress);
    let reporter = std::thread::spawn(move || report_progress(&watched, &done_rx));
    let result = load(Some(progress));
    drop(done_tx);
    let _ = reporter.join();
    result
}

/// Writes `loading big.json: 812 MB of 1.7 GB, 480,000 records` (or a TAXII fetch's stage:
/// `fetching Title: page 3, 2,400 objects`) over itself on stderr, from one second into the load
/// until it ends, then clears the line.
fn report_progress(progress: &Progress, done: &std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    const QUIET: std::time::Duration = std::time::Duration::from_secs(1);
    const EVERY: std::time::Duration = std::time::Duration::from_millis(200);
    if done.recv_timeout(QUIET) != Err(RecvTimeoutError::Timeout) {
        return;
    }
    let mut err = io::stderr();
    loop {
        let p = progress.snapshot();
        let line = if p.bytes_read == 0 && p.bytes_total == 0 {
            crate::model::sanitize(&p.stage).into_owned()
        } else {
            let mb = |b: u64| b as f64 / 1e6;
            let mut line = format!("loading {}: {:.0} MB", crate::model::sanitize(&p.stage), mb(p.bytes_read));
            if p.bytes_total > 0 {
                line.push_str(&format!(" of {:.0} MB", mb(p.bytes_total)));
            }
            line.push_str(&format!(", {} records", crate::model::group_thousands(p.records)));
            line
        };
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        if done.recv_timeout(EVERY) != Err(RecvTimeoutError::Timeout) {
            break;
        }
    }
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// Loads the paths, or the bundled dataset, reporting to `progress`.
pub fn load_dataset(
    args: &DataArgs,
    progress: Option<Arc<Progress>>,
    taxii: TaxiiOptions,
) -> Result<Dataset, LoadError> {
    let opts = LoadOptions {
        format: args.format.into(),
        skip_invalid: args.skip_invalid,
        attack: args.attack.clone(),
        progress,
        taxii,
        ..Default::default()
    };
    if args.paths.is_empty() { load::bundled(&opts) } else { load::load(&args.paths, &opts) }
}

/// The inputs as the analyst named them, for the loading screen.
pub fn describe(args: &DataArgs) -> String {
    match args.paths.as_slice() {
        [] => "the bundled dataset".to_string(),
        [one] => one.display().to_string(),
        many => format!("{} paths", many.len()),
    }
}

/// How to reach the TAXII servers among the paths. Asks for a password when one is needed, so
/// it must run before the browser takes the terminal.
pub fn taxii_options(args: &DataArgs) -> Result<TaxiiOptions, Failure> {
    let remote = args.paths.iter().any(|p| p.to_str().is_some_and(taxii::is_url));
    let mut opts = args.taxii.connection.options(remote && !args.taxii.offline)?;
    opts.collection = args.taxii.collection.clone();
    opts.offline = args.taxii.offline;
    Ok(opts)
}

/// Runs a query the way the search bar does.
pub fn run_query(corpus: &Corpus, args: &QueryArgs) -> Result<Vec<Hit>, Failure> {
    let query = Query::parse(args.query.as_deref().unwrap_or_default())
        .map_err(|e| Failure::new(2, format!("--query: {e}")))?;
    let request = SearchRequest {
        generation: 0,
        query,
        sort: args.sort.into(),
        reverse: args.reverse,
        limit: args.limit,
        stats: false,
    };
    Ok(search(corpus, &request))
}

/// Problems skipped under `--skip-invalid` go to stderr, so stdout stays clean for pipes.
fn report_skipped(dataset: &Dataset) {
    for line in &dataset.skipped {
        eprintln!("incidents: skipped: {line}");
    }
}

/// A command's corpus or dataset, never freed: the command ends right after, and the system takes
/// the memory back at once, where freeing a million records one by one takes a tenth of the run.
fn kept<T>(data: T) -> std::mem::ManuallyDrop<T> {
    std::mem::ManuallyDrop::new(data)
}

pub fn list(args: &ListArgs, out: &mut impl Write) -> Result<(), Failure> {
    let dataset = load_data(&args.data)?;
    report_skipped(&dataset);
    let corpus = kept(Corpus::new(dataset));
    let hits = run_query(&corpus, &args.query)?;
    let selection = Selection { corpus: &corpus, hits: &hits, query: args.query.query.as_deref().unwrap_or_default() };
    let incidents: Vec<&Incident> = selection.incidents().collect();
    if args.json {
        export::json::write_array(&selection, out)?;
    } else if args.jsonl {
        export::json::write_lines(&selection, out)?;
    } else if args.csv {
        export::csv::write(&selection, out)?;
    } else {
        write_table(&incidents, matches!(args.query.sort, SortArg::Loss), out)?;
    }
    if incidents.is_empty() && args.query.query.is_some() {
        return Err(Failure::new(1, "no incident matches the query"));
    }
    Ok(())
}

/// The table `list` prints; sorted by loss, it shows the loss it is sorted by.
fn write_table(incidents: &[&Incident], with_loss: bool, out: &mut impl Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            let victim = match &i.name {
                Some(name) if *name != i.victim => format!("{} · {name}", i.victim),
                _ => i.victim.to_string(),
            };
            let mut row = vec![
                i.id.to_string(),
                i.date.short(),
                victim,
                i.location.as_deref().unwrap_or_default().to_string(),
                i.first_actor().map(|a| a.name.to_string()).unwrap_or_default(),
            ];
            if with_loss {
                row.push(i.loss_usd.map(format_usd).unwrap_or_default());
            }
            row
        })
        .collect();
    let mut header: Vec<String> = ["ID", "DATE", "VICTIM", "LOCATION", "ACTOR"].map(String::from).to_vec();
    if with_loss {
        header.push("LOSS".into());
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, &w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(w - cell.width() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub fn show(args: &ShowArgs, out: &mut impl Write) -> Result<(), Failure> {
    let dataset = load_data(&args.data)?;
    report_skipped(&dataset);
    let corpus = kept(Corpus::new(dataset));
    let Some(index) = corpus.find(&args.id) else {
        return Err(Failure::new(1, format!("no incident with id {:?} (see `incidents list` for the ids)", args.id)));
    };
    let inc = corpus.incident(index);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, inc).map_err(io::Error::other)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", present::text(&corpus, index))?;
    }
    Ok(())
}

pub fn stats(args: &StatsArgs, out: &mut impl Write) -> Result<(), Failure> {
    let dataset = load_data(&args.data)?;
    report_skipped(&dataset);
    let corpus = kept(Corpus::new(dataset));
    let query = QueryArgs { query: args.query.clone(), sort: SortArg::Score, reverse: false, limit: None };
    let hits = run_query(&corpus, &query)?;
    let stats = Stats::of(&corpus, &hits);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &stats).map_err(io::Error::from)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", stats.text(&corpus, !locale_is_utf8()))?;
    }
    if hits.is_empty() && args.query.is_some() {
        return Err(Failure::new(1, "no incident matches the query"));
    }
    Ok(())
}

pub fn export(args: &ExportArgs, out: &mut impl Write) -> Result<(), Failure> {
    let format = if args.json {
        export::Format::Json
    } else if args.jsonl {
        export::Format::Jsonl
    } else if args.csv {
        export::Format::Csv
    } else if args.markdown {
        export::Format::Markdown
    } else {
        export::Format::Navigator(args.domain.map(Domain::from))
    };
    // A flag's default value satisfies clap's `requires`, so the tie is checked here.
    if args.domain.is_some() && !args.navigator {
        return Err(Failure::new(2, "--domain chooses the domain of a --navigator layer; it needs --navigator"));
    }
    let exists = |path: &std::path::Path| {
        Failure::new(2, format!("{}: already exists; give --force to replace it", path.display()))
    };
    // Said before a long load rather than after it; `save` checks again when it writes.
    if let Some(path) = &args.output
        && !args.force
        && path.exists()
    {
        return Err(exists(path));
    }
    let dataset = load_data(&args.data)?;
    report_skipped(&dataset);
    let corpus = kept(Corpus::new(dataset));
    let hits = run_query(&corpus, &args.query)?;
    if hits.is_empty() && args.query.query.is_some() {
        return Err(Failure::new(1, "no incident matches the query; nothing written"));
    }
    let selection = Selection { corpus: &corpus, hits: &hits, query: args.query.query.as_deref().unwrap_or_default() };
    let mut notes = Vec::new();
    match &args.output {
        None => notes = format.write(&selection, out)?,
        Some(path) => export::save(path, args.force, |file| {
            notes = format.write(&selection, file)?;
            Ok(())
        })
        .map_err(|e| match e {
            SaveError::Exists { path } => exists(&path),
            SaveError::Io { .. } => Failure::new(2, e.to_string()),
        })?,
    }
    for note in notes {
        eprintln!("incidents: note: {note}");
    }
    Ok(())
}

/// Whether the terminal's locale is UTF-8: the first of LC_ALL, LC_CTYPE and LANG that is set
/// decides; none set means the C locale.
pub fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"].iter().filter_map(|v| std::env::var(v).ok()).find(|v| !v.is_empty()).is_some_and(
        |v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        },
    )
}

pub fn validate(args: &ValidateArgs, out: &mut impl Write) -> Result<(), Failure> {
    // Checking needs the records and their ids, not the search index.
    let dataset = kept(with_progress(|progress| {
        let opts = LoadOptions {
            format: args.format.into(),
            skip_invalid: false,
            attack: args.attack.clone(),
            progress,
            ..Default::default()
        };
        load::load(&args.paths, &opts)
    })?);
    // The ids by hash the load kept, where it kept them (one file); otherwise made here, and only
    // for a dataset that links records at all.
    let made;
    let ids = match &dataset.ids {
        Some(ids) => ids,
        None => {
            let linked = dataset.incidents.iter().any(|i| !i.related.is_empty());
            made = if linked { IdHashes::of(&dataset.incidents, |i| i.id.as_ref()) } else { IdHashes::default() };
            &made
        }
    };
    let known = |id: &str| ids.find(&dataset.incidents, |i| i.id.as_ref(), id).is_some();
    // Every technique of every record is looked up, and records lie all over memory: the parts are
    // checked side by side.
    let parts = crate::parallel::in_parts(&dataset.incidents, |_, part| {
        let unknown: Vec<String> = part
            .iter()
            .flat_map(|i| i.ttps.iter().filter_map(TechniqueRef::attack_id).map(move |t| (i, t)))
            .filter(|(_, t)| dataset.catalog.get(t).is_none())
            .map(|(i, t)| {
                format!("record {:?}: technique {t} is not in the technique catalog (give --attack FILE)", i.id)
            })
            .collect();
        let dangling: Vec<String> = part
            .iter()
            .flat_map(|i| {
                i.related
                    .iter()
                    .filter(|r| !known(r))
                    .map(move |r| format!("record {:?}: related id {r:?} is not in the files given", i.id))
            })
            .collect();
        (unknown, dangling)
    });
    let unknown = parts.iter().flat_map(|(u, _)| u.iter().cloned());
    let dangling = parts.iter().flat_map(|(_, d)| d.iter().cloned());
    for note in dataset.notes.iter().cloned().chain(unknown).chain(dangling) {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out, "ok: {} incidents in {}", dataset.incidents.len(), dataset.label)?;
    Ok(())
}

/// `incidents taxii URL`: the API roots and collections the user can see.
pub fn taxii(args: &TaxiiListArgs, out: &mut impl Write) -> Result<(), Failure> {
    let opts = args.connection.options(true)?;
    let listing = taxii::list(&args.url, &opts).map_err(|e| Failure::new(2, e.to_string()))?;
    let clean = |s: &str| crate::model::sanitize(s).replace('\n', " ");
    if let Some(title) = &listing.server {
        writeln!(out, "{}", clean(title))?;
    }
    for root in &listing.roots {
        let title = root.title.as_deref().map(|t| format!(" ({})", clean(t))).unwrap_or_default();
        writeln!(out, "\nAPI root {}{title}", root.url)?;
        match &root.collections {
            Err(why) => writeln!(out, "  cannot list its collections: {why}")?,
            Ok(cs) if cs.is_empty() => writeln!(out, "  no collections visible to these credentials")?,
            Ok(cs) => {
                let rows: Vec<[String; 4]> = cs
                    .iter()
                    .map(|c| {
                        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
                        [clean(&c.id), clean(&c.title), yes(c.can_read), yes(c.can_write)]
                    })
                    .collect();
                let header = ["ID", "TITLE", "READ", "WRITE"].map(String::from);
                let mut widths = header.clone().map(|h| h.width());
                for row in &rows {
                    for (w, cell) in widths.iter_mut().zip(row) {
                        *w = (*w).max(cell.width());
                    }
                }
                for row in std::iter::once(&header).chain(&rows) {
                    let mut line = String::from("  ");
                    for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                        line.push_str(cell);
                        if i + 1 < row.len() {
                            line.push_str(&" ".repeat(w - cell.width() + 2));
                        }
                    }
                    writeln!(out, "{}", line.trim_end())?;
                }
            }
        }
    }
    writeln!(
        out,
        "\nOpen one with: incidents API_ROOT/collections/ID/  (or: incidents {} --collection TITLE)",
        args.url
    )?;
    Ok(())
}
