//! Reading datasets: format detection, the native, VERIS and STIX loaders, the ATT&CK catalog.
//! Input files are only ever read.

pub mod actors;
pub mod attack;
mod block;
pub mod bundled;
mod chunks;
mod country;
mod fast;
mod fields;
mod lexer;
mod native;
mod problem;
mod progress;
mod reader;
mod stix;
mod veris;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use native::NativeReading;
pub use problem::{LoadError, Position, Problem, Text, json_kind};
pub use progress::{Progress, ProgressSnapshot};

use crate::model::{ActorCatalog, Catalog, Dataset, IdHashes, Incident, Technique};

pub use bundled::Bundled;

/// Input formats; `Auto` looks at each file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Native,
    Veris,
    Stix,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub format: Format,
    /// Load the valid records and report the others instead of failing.
    pub skip_invalid: bool,
    /// An ATT&CK STIX bundle (or a catalog table) naming the techniques.
    pub attack: Option<PathBuf>,
    /// Counters for a progress display, and the way to call the load off.
    pub progress: Option<Arc<Progress>>,
    /// The actors that records may name by name or alias; `None`: the bundled `data/actors.json`.
    pub actors: Option<Arc<ActorCatalog>>,
    /// How native files are read (block size; the careful path alone, for comparison).
    pub native: NativeReading,
    /// How to reach the TAXII servers among the paths, and where to cache their collections.
    pub taxii: crate::taxii::TaxiiOptions,
}

/// What a loader made of one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Each incident with the byte offset of its record, to place problems found later.
    pub incidents: Vec<(Incident, usize)>,
    pub problems: Vec<Problem>,
    /// Records that had problems, by id or position, for the "skipped" list.
    pub rejected: Vec<String>,
    /// What was left out on purpose, not an error: objects of types no incident is made of,
    /// revoked objects, references to objects missing from the file.
    pub notes: Vec<Problem>,
    /// The techniques the file defines (a STIX bundle's ATT&CK attack patterns), in file order.
    /// They name the techniques the catalog lacks.
    pub catalog: Vec<Technique>,
    /// The incidents by id hash, when the check for repeated ids found none.
    pub ids: Option<IdHashes>,
}

/// Loads the bundled dataset.
pub fn bundled(opts: &LoadOptions) -> Result<Dataset, LoadError> {
    let catalog = catalog(opts)?;
    let actors = actor_catalog(opts)?;
    let progress = opts.progress.as_deref();
    let (name, text) = (bundled::INCIDENTS.name, bundled::INCIDENTS.text());
    if let Some(p) = progress {
        p.add_total(text.len() as u64);
        p.set_stage("bundled dataset");
    }
    let mut parsed = Parsed::default();
    let ctx =
        native::Context { lines: false, actors: &actors, reading: opts.native, progress, size: text.len() as u64 };
    native::read(name, text.as_bytes(), &ctx, &mut parsed).map_err(|e| read_error(name.as_ref(), e))?;
    let src = Text::new(name, text);
    reject_duplicates(name, |offsets| offsets.iter().map(|&o| Some(src.position_at(o))).collect(), &mut parsed);
    finish(vec![(name.to_string(), parsed)], catalog, actors, "bundled dataset".into(), opts)
}

/// Loads files and directories (every `.json`, `.jsonl` and `.ndjson` file inside, sorted), and
/// TAXII collections given by URL. Native files are read block by block; VERIS and STIX files,
/// which are small, whole.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset, LoadError> {
    let catalog = catalog(opts)?;
    let actors = actor_catalog(opts)?;
    let (urls, paths): (Vec<&PathBuf>, Vec<PathBuf>) =
        (paths.iter().filter(|p| is_url(p)).collect(), paths.iter().filter(|p| !is_url(p)).cloned().collect());
    let files = expand(&paths)?;
    let progress = opts.progress.as_deref();
    let mut sizes = Vec::with_capacity(files.len());
    for path in &files {
        let size = std::fs::metadata(path).map_err(|e| io_error(path, &e))?.len();
        if let Some(p) = progress {
            p.add_total(size);
        }
        sizes.push(size);
    }
    let mut parsed_files = Vec::with_capacity(files.len() + urls.len());
    for (path, size) in files.iter().zip(sizes) {
        if progress.is_some_and(|p| p.is_cancelled()) {
            return Err(LoadError::Cancelled);
        }
        let name = path.display().to_string();
        if let Some(p) = progress {
            p.set_stage(name.clone());
        }
        let mut parsed = Parsed::default();
        let mut file = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
        // The format shows at the top of a file (VERIS records, which sort their keys, within
        // their first few kilobytes).
        let mut head = Vec::new();
        file.by_ref().take(DETECT_BYTES).read_to_end(&mut head).map_err(|e| io_error(path, &e))?;
        let format = match opts.format {
            Format::Auto => detect(valid_utf8_prefix(&head)),
            chosen => chosen,
        };
        if matches!(format, Format::Native | Format::Auto) {
            let ctx = native::Context { lines: is_lines(path), actors: &actors, reading: opts.native, progress, size };
            native::read(&name, std::io::Cursor::new(head).chain(file), &ctx, &mut parsed)
                .map_err(|e| read_error(path, e))?;
            reject_duplicates(&name, |offsets| positions_in_file(path, offsets), &mut parsed);
        } else {
            file.read_to_end(&mut head).map_err(|e| io_error(path, &e))?;
            if let Some(p) = progress {
                p.add_read(head.len() as u64);
            }
            match utf8_text(&name, head) {
                Ok(text) => parse_source(&name, &text, path, &actors, opts, &mut parsed),
                Err(p) => parsed.problems.push(p),
            }
            if let Some(p) = progress {
                p.add_records(parsed.incidents.len() as u64);
            }
        }
        parsed_files.push((name, parsed));
    }
    let mut collections = Vec::with_capacity(urls.len());
    let mut warnings = Vec::new();
    for url in urls {
        let opened = crate::taxii::open(&url.to_string_lossy(), &opts.taxii, progress)?;
        let mut parsed = Parsed::default();
        let stix = LoadOptions { format: Format::Stix, ..opts.clone() };
        parse_source(&opened.title, &opened.bundle, Path::new(""), &actors, &stix, &mut parsed);
        parsed_files.push((opened.title.clone(), parsed));
        warnings.extend(opened.warnings.iter().cloned());
        collections.push(opened);
    }
    // Named as the analyst named it: one file, one directory (with its file count), one
    // collection (with the age of a cached copy), or a count.
    let name = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    let label = match (paths.as_slice(), files.as_slice(), collections.as_slice()) {
        (_, [], [one]) => match one.warnings.first() {
            Some(note) if one.from_cache => format!("{} ({note})", one.title),
            _ => one.title.clone(),
        },
        (_, [one], []) => name(one),
        ([dir], _, []) => format!("{}/ ({} files)", name(dir), files.len()),
        (_, _, []) => format!("{} files", files.len()),
        _ => format!("{} sources", files.len() + collections.len()),
    };
    let mut dataset = finish(parsed_files, catalog, actors, label, opts)?;
    dataset.warnings = warnings;
    Ok(dataset)
}

/// Whether a PATH argument is the URL of a TAXII collection or server.
fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(crate::taxii::is_url)
}

/// Parses a whole file's or a collection's text; ids must be unique within it.
fn parse_source(name: &str, text: &str, path: &Path, actors: &ActorCatalog, opts: &LoadOptions, parsed: &mut Parsed) {
    parse_text_with(name, text, path, actors, opts, parsed);
    let src = Text::new(name, text);
    reject_duplicates(name, |offsets| offsets.iter().map(|&o| Some(src.position_at(o))).collect(), parsed);
}

/// How much of a file format detection reads.
const DETECT_BYTES: u64 = 1 << 20;

/// Parses one file's text in the given or detected format, with the bundled actor catalog.
/// Returns the format it was read as.
pub fn parse_text(name: &str, text: &str, path: &Path, format: Format, out: &mut Parsed) -> Format {
    let opts = LoadOptions { format, ..LoadOptions::default() };
    match actor_catalog(&opts) {
        Ok(actors) => parse_text_with(name, text, path, &actors, &opts, out),
        Err(e) => {
            if let LoadError::Invalid(problems) = e {
                out.problems.extend(problems);
            }
            opts.format
        }
    }
}

/// `parse_text` with the format, actor catalog and native reading of `opts`.
pub fn parse_text_with(
    name: &str,
    text: &str,
    path: &Path,
    actors: &ActorCatalog,
    opts: &LoadOptions,
    out: &mut Parsed,
) -> Format {
    let format = if opts.format == Format::Auto { detect(text) } else { opts.format };
    match format {
        Format::Veris => veris::parse(name, text, out),
        Format::Stix => stix::parse(name, text, out),
        Format::Native | Format::Auto => {
            let ctx = native::Context {
                lines: is_lines(path),
                actors,
                reading: opts.native,
                progress: None,
                size: text.len() as u64,
            };
            // Reading from memory can neither fail nor, without progress counters, be cancelled.
            let _ = native::read(name, text.as_bytes(), &ctx, out);
        }
    }
    format
}

fn is_lines(path: &Path) -> bool {
    matches!(extension(path).as_deref(), Some("jsonl" | "ndjson"))
}

/// Guesses the format from the keys of a JSON object; arrays and JSON Lines are native. STIX
/// bundles show `objects` with `"type": "bundle"`, a `bundle--` id or `spec_version` near the top;
/// VERIS records are small and sort their keys, so `incident_id` may come after long notes.
pub fn detect(text: &str) -> Format {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if !body.starts_with('{') {
        return Format::Native;
    }
    let mut end = body.len().min(4096);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let head = &body[..end];
    let has = |s: &str, key: &str| s.contains(&format!("\"{key}\""));
    let bundle = head.contains("\"bundle\"") || head.contains("\"bundle--") || has(head, "spec_version");
    if has(head, "objects") && bundle {
        Format::Stix
    } else if has(head, "incidents") {
        Format::Native
    } else if has(body, "incident_id") && (has(body, "schema_version") || has(body, "timeline")) {
        Format::Veris
    } else {
        Format::Native
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Reads a file; bytes that are not UTF-8 are a problem at their position, not an I/O error.
fn read_text(path: &Path) -> Result<Result<String, Problem>, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, &e))?;
    Ok(utf8_text(&path.display().to_string(), bytes))
}

fn utf8_text(name: &str, bytes: Vec<u8>) -> Result<String, Problem> {
    String::from_utf8(bytes).map_err(|e| {
        let before = valid_utf8_prefix(e.as_bytes());
        Problem {
            file: name.to_string(),
            position: Some(Text::new(name, before).position_at(before.len())),
            record: None,
            field: None,
            message: "the file is not valid UTF-8 text".into(),
        }
    })
}

/// The longest start of `bytes` that is UTF-8 text.
fn valid_utf8_prefix(bytes: &[u8]) -> &str {
    // Every byte of a file is checked, twice for native files (before and after decoding their
    // strings in place): a vector check takes a fraction of the time of the standard one, which
    // is still asked where the text goes wrong.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return text;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

fn read_error(path: &Path, e: native::ReadError) -> LoadError {
    match e {
        native::ReadError::Cancelled => LoadError::Cancelled,
        native::ReadError::Io(e) => io_error(path, &e),
    }
}

/// The positions of byte offsets of a file, read again from the disk: a native file is not kept
/// in memory, and positions are needed only for the rare problem found after reading (a repeated
/// id). `None` where the file cannot be read again.
fn positions_in_file(path: &Path, offsets: &[usize]) -> Vec<Option<Position>> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut found = vec![None; offsets.len()];
    let Ok(mut file) = std::fs::File::open(path) else { return found };
    let mut buf = vec![0; 1 << 20];
    let (mut buf_start, mut buf_len) = (0usize, 0usize);
    let (mut at, mut pos) = (0usize, Position { line: 1, col: 1 });
    for i in order {
        let target = offsets[i];
        while target >= buf_start + buf_len {
            pos = problem::advance(pos, &buf[at - buf_start..buf_len]);
            at = buf_start + buf_len;
            buf_start = at;
            buf_len = match file.read(&mut buf) {
                Ok(0) | Err(_) => return found,
                Ok(n) => n,
            };
        }
        pos = problem::advance(pos, &buf[at - buf_start..target - buf_start]);
        at = target;
        found[i] = Some(pos);
    }
    found
}

fn io_error(path: &Path, e: &std::io::Error) -> LoadError {
    let message = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    LoadError::Io { path: path.display().to_string(), message }
}

fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if meta.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_error(path, &e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && matches!(extension(p).as_deref(), Some("json" | "jsonl" | "ndjson")))
                .collect();
            inside.sort();
            if inside.is_empty() {
                return Err(LoadError::Io {
                    path: path.display().to_string(),
                    message: "no .json, .jsonl or .ndjson files in this directory".into(),
                });
            }
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn catalog(opts: &LoadOptions) -> Result<Catalog, LoadError> {
    match &opts.attack {
        None => attack::parse_table(bundled::TECHNIQUES.name, bundled::TECHNIQUES.text()),
        Some(path) => {
            let name = path.display().to_string();
            let text = read_text(path)?.map_err(|p| LoadError::Invalid(vec![p]))?;
            if text.trim_start().starts_with('[') {
                attack::parse_table(&name, &text)
            } else {
                attack::parse_stix(&name, &text)
            }
        }
    }
}

/// The actor catalog of `opts`, else the bundled one (read once per run).
fn actor_catalog(opts: &LoadOptions) -> Result<Arc<ActorCatalog>, LoadError> {
    static BUNDLED: OnceLock<Result<Arc<ActorCatalog>, Vec<Problem>>> = OnceLock::new();
    match &opts.actors {
        Some(actors) => Ok(Arc::clone(actors)),
        None => BUNDLED.get_or_init(|| actors::bundled().map(Arc::new)).clone().map_err(LoadError::Invalid),
    }
}

/// Ids must be unique within a file: a repeated id is a problem at the record that repeats it.
/// `locate` gives the positions of record offsets, worked out only when there is a repeat.
fn reject_duplicates(file: &str, locate: impl Fn(&[usize]) -> Vec<Option<Position>>, parsed: &mut Parsed) {
    // Only ids that share a hash are compared.
    let incidents = &parsed.incidents;
    let hashes = IdHashes::of(incidents, |(i, _)| i.id.as_ref());
    // (record, its first occurrence's offset, its own offset)
    let mut repeated = Vec::new();
    for same_hash in hashes.shared() {
        // In file order: the first record with each id, then those that repeat one.
        let mut firsts: Vec<usize> = Vec::new();
        for n in same_hash.map(|n| n as usize) {
            let id = &incidents[n].0.id;
            match firsts.iter().find(|&&f| incidents[f].0.id == *id) {
                Some(&f) => repeated.push((n, incidents[f].1, incidents[n].1)),
                None => firsts.push(n),
            }
        }
    }
    repeated.sort_unstable();
    if repeated.is_empty() {
        parsed.ids = Some(hashes);
        return;
    }
    let offsets: Vec<usize> = repeated.iter().flat_map(|&(_, earlier, offset)| [offset, earlier]).collect();
    let positions = locate(&offsets);
    let mut problems = Vec::new();
    let mut dropped = vec![false; parsed.incidents.len()];
    for (k, &(n, _, _)) in repeated.iter().enumerate() {
        let (position, earlier) =
            (positions.get(2 * k).copied().flatten(), positions.get(2 * k + 1).copied().flatten());
        let id = parsed.incidents[n].0.id.to_string();
        problems.push(Problem {
            file: file.to_string(),
            position,
            record: Some(id.clone()),
            field: Some("id".into()),
            message: match earlier {
                Some(p) => format!("duplicate id: already used by the record at line {}", p.line),
                None => "duplicate id: already used by an earlier record".into(),
            },
        });
        parsed.rejected.push(id);
        dropped[n] = true;
    }
    // One pass, not a removal per repeat: a file may repeat many ids.
    let mut n = 0;
    parsed.incidents.retain(|_| {
        n += 1;
        !dropped[n - 1]
    });
    parsed.problems.extend(problems);
}

/// Merges files; ids that collide across files get the file's name as a prefix, and the file's
/// own `related` links follow the renamed ids. A `related` id outside the dataset is kept, not an
/// error: a subset cut from a larger dataset (`list --json -q ...`) must load again. Techniques a
/// file defines name those the catalog lacks; the catalog's own names win.
fn finish(
    files: Vec<(String, Parsed)>,
    mut catalog: Catalog,
    actors: Arc<ActorCatalog>,
    label: String,
    opts: &LoadOptions,
) -> Result<Dataset, LoadError> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut rejected = Vec::new();
    let mut incidents: Vec<Incident> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut ids = None;
    let one_file = files.len() == 1;
    for (file, parsed) in files {
        problems.extend(parsed.problems);
        rejected.extend(parsed.rejected);
        notes.extend(parsed.notes);
        catalog.add_missing(parsed.catalog);
        if one_file {
            // Ids are unique within a file already; collected in place, without a second copy
            // of a million records.
            incidents = parsed.incidents.into_iter().map(|(incident, _)| incident).collect();
            ids = parsed.ids;
            continue;
        }
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut kept = Vec::with_capacity(parsed.incidents.len());
        for (mut incident, _) in parsed.incidents {
            if seen.contains(incident.id.as_ref()) {
                let stem = Path::new(&file).file_stem().map_or(file.clone(), |s| s.to_string_lossy().into_owned());
                let prefixed = format!("{stem}/{}", incident.id);
                if seen.contains(&prefixed) {
                    problems.push(Problem {
                        file: file.clone(),
                        position: None,
                        record: Some(prefixed.clone()),
                        field: Some("id".into()),
                        message: "duplicate id, even after prefixing it with the file name".into(),
                    });
                    rejected.push(prefixed);
                    continue;
                }
                let old = std::mem::replace(&mut incident.id, prefixed.into());
                renamed.insert(old.into_owned(), incident.id.to_string());
            }
            seen.insert(incident.id.to_string());
            kept.push(incident);
        }
        for incident in &mut kept {
            for id in &mut incident.related {
                if let Some(new) = renamed.get(id.as_ref()) {
                    *id = new.clone().into();
                }
            }
        }
        incidents.extend(kept);
    }
    if !problems.is_empty() && !opts.skip_invalid {
        return Err(LoadError::Invalid(problems));
    }
    Ok(Dataset {
        incidents,
        catalog,
        actors,
        label,
        skipped: problems.iter().map(ToString::to_string).collect(),
        rejected,
        notes: notes.iter().map(ToString::to_string).collect(),
        warnings: Vec::new(),
        ids,
    })
}
