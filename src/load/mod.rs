//! Reading datasets: format detection, the native, VERIS and STIX loaders, the ATT&CK catalog.
//! Input files are only ever read.

pub mod attack;
mod country;
mod native;
mod problem;
mod progress;
mod reader;
mod stix;
mod veris;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use problem::{LoadError, Position, Problem, Text, json_kind};
pub use progress::{Progress, ProgressSnapshot};

use crate::model::{Catalog, Dataset, Incident, Technique};

/// The bundled dataset, compiled into the binary.
pub const BUNDLED_INCIDENTS: &str = include_str!("../../data/incidents.json");
const BUNDLED_NAME: &str = "data/incidents.json";

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
    /// revoked objects, references to objects missing from the file. Listed under
    /// `--skip-invalid`.
    pub notes: Vec<Problem>,
    /// The techniques the file defines (a STIX bundle's ATT&CK attack patterns), in file order.
    /// They name the techniques the catalog lacks.
    pub catalog: Vec<Technique>,
}

/// Loads the bundled dataset.
pub fn bundled(opts: &LoadOptions) -> Result<Dataset, LoadError> {
    let catalog = catalog(opts)?;
    let mut parsed = Parsed::default();
    native::parse(BUNDLED_NAME, BUNDLED_INCIDENTS, false, &mut parsed);
    reject_duplicates(&Text::new(BUNDLED_NAME, BUNDLED_INCIDENTS), &mut parsed);
    finish(vec![(BUNDLED_NAME.to_string(), parsed)], catalog, "bundled dataset".into(), opts)
}

/// Loads files and directories (every `.json`, `.jsonl` and `.ndjson` file inside, sorted), and
/// TAXII collections given by URL.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset, LoadError> {
    let catalog = catalog(opts)?;
    let (urls, paths): (Vec<&PathBuf>, Vec<PathBuf>) =
        (paths.iter().filter(|p| is_url(p)).collect(), paths.iter().filter(|p| !is_url(p)).cloned().collect());
    let files = expand(&paths)?;
    let mut parsed_files = Vec::with_capacity(files.len() + urls.len());
    for path in &files {
        let name = path.display().to_string();
        let text = read_text(path)?;
        let mut parsed = Parsed::default();
        match text {
            Ok(text) => parse_source(&name, &text, path, opts.format, &mut parsed),
            Err(p) => parsed.problems.push(p),
        }
        parsed_files.push((name, parsed));
    }
    let mut collections = Vec::with_capacity(urls.len());
    let mut warnings = Vec::new();
    for url in urls {
        let opened = crate::taxii::open(&url.to_string_lossy(), &opts.taxii, opts.progress.as_deref())?;
        let mut parsed = Parsed::default();
        parse_source(&opened.title, &opened.bundle, Path::new(""), Format::Stix, &mut parsed);
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
    let mut dataset = finish(parsed_files, catalog, label, opts)?;
    dataset.warnings = warnings;
    Ok(dataset)
}

/// Whether a PATH argument is the URL of a TAXII collection or server.
fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(crate::taxii::is_url)
}

/// Parses a file's or a collection's text; ids must be unique within it.
fn parse_source(name: &str, text: &str, path: &Path, format: Format, parsed: &mut Parsed) {
    parse_text(name, text, path, format, parsed);
    reject_duplicates(&Text::new(name, text), parsed);
}

/// Parses one file's text in the given or detected format.
/// Returns the format it was read as.
pub fn parse_text(name: &str, text: &str, path: &Path, format: Format, out: &mut Parsed) -> Format {
    let lines = matches!(extension(path).as_deref(), Some("jsonl" | "ndjson"));
    let format = if format == Format::Auto { detect(text) } else { format };
    match format {
        Format::Veris => veris::parse(name, text, out),
        Format::Stix => stix::parse(name, text, out),
        Format::Native | Format::Auto => native::parse(name, text, lines, out),
    }
    format
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
    Ok(String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let before = String::from_utf8_lossy(&bytes[..valid]);
        let name = path.display().to_string();
        Problem {
            file: name.clone(),
            position: Some(Text::new(&name, &before).position_at(before.len())),
            record: None,
            field: None,
            message: "the file is not valid UTF-8 text".into(),
        }
    }))
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
        None => attack::parse_table("data/attack-techniques.json", attack::BUNDLED),
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

/// Ids must be unique within a file: a repeated id is a problem at the record that repeats it.
fn reject_duplicates(src: &Text, parsed: &mut Parsed) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut repeated = Vec::new();
    for (n, (incident, offset)) in parsed.incidents.iter().enumerate() {
        if let Some(&earlier) = first.get(incident.id.as_str()) {
            repeated.push((n, earlier, *offset));
        } else {
            first.insert(&incident.id, *offset);
        }
    }
    let mut problems = Vec::new();
    for &(n, earlier, offset) in repeated.iter().rev() {
        let (incident, _) = parsed.incidents.remove(n);
        problems.push(Problem {
            file: src.file.to_string(),
            position: Some(src.position_at(offset)),
            record: Some(incident.id.clone()),
            field: Some("id".into()),
            message: format!("duplicate id: already used by the record at line {}", src.position_at(earlier).line),
        });
        parsed.rejected.push(incident.id);
    }
    problems.reverse();
    parsed.problems.extend(problems);
}

/// Merges files; ids that collide across files get the file's name as a prefix, and the file's
/// own `related` links follow the renamed ids. A `related` id outside the dataset is kept, not an
/// error: a subset cut from a larger dataset (`list --json -q ...`) must load again. Techniques a
/// file defines name those the catalog lacks; the catalog's own names win.
fn finish(
    files: Vec<(String, Parsed)>,
    mut catalog: Catalog,
    label: String,
    opts: &LoadOptions,
) -> Result<Dataset, LoadError> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut rejected = Vec::new();
    let mut incidents: Vec<Incident> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (file, parsed) in files {
        problems.extend(parsed.problems);
        rejected.extend(parsed.rejected);
        notes.extend(parsed.notes);
        catalog.add_missing(parsed.catalog);
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut kept = Vec::with_capacity(parsed.incidents.len());
        for (mut incident, _) in parsed.incidents {
            if seen.contains(&incident.id) {
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
                let old = std::mem::replace(&mut incident.id, prefixed);
                renamed.insert(old, incident.id.clone());
            }
            seen.insert(incident.id.clone());
            kept.push(incident);
        }
        for incident in &mut kept {
            for id in &mut incident.related {
                if let Some(new) = renamed.get(id.as_str()) {
                    id.clone_from(new);
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
        label,
        skipped: problems.iter().map(ToString::to_string).collect(),
        rejected,
        notes: notes.iter().map(ToString::to_string).collect(),
        warnings: Vec::new(),
    })
}
