//! The offline copy of a collection: one file per server, collection and user under the user's
//! cache directory, holding the objects, the `added_after` mark for the next refresh and the time
//! of the last fetch. A file is checked before it is trusted (format, version, source, object
//! count and checksum) and replaced whole (temporary file, then rename), so a fetch that fails
//! half way never damages the copy already there.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::envelope::Object;

const FORMAT: &str = "incidents TAXII cache";
const VERSION: u32 = 1;

/// The directory of TAXII caches: `$INCIDENTS_CACHE_DIR/taxii`, else `$XDG_CACHE_HOME/incidents/taxii`,
/// else `~/.cache/incidents/taxii`. `None` when none of them can be found.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("INCIDENTS_CACHE_DIR") {
        return Some(dir.join("taxii"));
    }
    // The XDG spec says a relative path is to be ignored.
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(dir.join("incidents").join("taxii"));
    }
    var("HOME").map(|home| home.join(".cache").join("incidents").join("taxii"))
}

/// The file for a collection seen by a user: the host, readable, and a hash of the rest.
pub fn file_for(dir: &Path, collection_url: &str, user: Option<&str>) -> PathBuf {
    let host = collection_url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("server");
    let host: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .take(64)
        .collect();
    let key = format!("{collection_url}\n{}", user.unwrap_or_default());
    dir.join(format!("{host}-{:016x}.json", fnv1a64(key.as_bytes())))
}

/// FNV-1a, 64 bits: enough to tell a damaged file from a sound one, and to name files.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// What a cache file says about itself; the objects follow it in the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub collection_url: String,
    /// The URL the analyst gave (a server or API root when the collection was chosen by name).
    pub source_url: String,
    pub id: String,
    pub title: String,
    pub user: Option<String>,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    /// The server's `X-TAXII-Date-Added-Last` of the newest page: the next refresh asks for what
    /// was added after it.
    pub added_after: Option<String>,
    pub count: usize,
    pub checksum: String,
}

#[derive(Deserialize)]
struct File<'a> {
    format: String,
    version: u32,
    collection_url: String,
    source_url: String,
    id: String,
    title: String,
    user: Option<String>,
    fetched_at: String,
    added_after: Option<String>,
    count: usize,
    checksum: String,
    #[serde(borrow)]
    objects: &'a RawValue,
}

impl File<'_> {
    fn header(self) -> Header {
        Header {
            format: self.format,
            version: self.version,
            collection_url: self.collection_url,
            source_url: self.source_url,
            id: self.id,
            title: self.title,
            user: self.user,
            fetched_at: self.fetched_at,
            added_after: self.added_after,
            count: self.count,
            checksum: self.checksum,
        }
    }
}

/// A collection's objects, each id once (the newest version), in the order first seen.
#[derive(Debug, Default)]
pub struct Objects {
    list: Vec<Object>,
    index: HashMap<String, usize>,
}

impl Objects {
    /// Adds an object, or replaces the copy of the same id unless that copy is newer.
    pub fn insert(&mut self, object: Object) {
        match self.index.get(&object.id) {
            Some(&at) => {
                let kept = &self.list[at];
                if !is_newer(kept.version.as_deref(), object.version.as_deref()) {
                    self.list[at] = object;
                }
            }
            None => {
                self.index.insert(object.id.clone(), self.list.len());
                self.list.push(object);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The objects as a JSON array, one per line.
    pub fn to_json_array(&self) -> String {
        let size: usize = self.list.iter().map(|o| o.raw.get().len() + 2).sum();
        let mut out = String::with_capacity(size + 4);
        out.push_str("[\n");
        for (n, o) in self.list.iter().enumerate() {
            if n > 0 {
                out.push_str(",\n");
            }
            out.push_str(o.raw.get());
        }
        out.push_str("\n]");
        out
    }
}

/// Whether timestamp `a` is later than `b`. RFC 3339 UTC stamps compare as text once their
/// fractions of a second are padded alike.
fn is_newer(a: Option<&str>, b: Option<&str>) -> bool {
    fn key(s: &str) -> (String, String) {
        let s = s.trim_end_matches(['Z', 'z']);
        match s.split_once('.') {
            Some((secs, frac)) => (secs.to_string(), format!("{frac:0<9}")),
            None => (s.to_string(), "000000000".into()),
        }
    }
    match (a, b) {
        (Some(a), Some(b)) => key(a) > key(b),
        _ => false,
    }
}

/// The later of two timestamps.
pub fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if is_newer(Some(&b), Some(&a)) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A cache file read back.
#[derive(Debug)]
pub struct Entry {
    pub header: Header,
    pub objects: Objects,
}

/// Reads a cache file: `Ok(None)` when there is none, `Err(why)` when it cannot be trusted.
pub fn read(path: &Path, collection_url: Option<&str>, user: Option<&str>) -> Result<Option<Entry>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let file: File = serde_json::from_str(text).map_err(|e| format!("not a complete cache file ({e})"))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(format!(
            "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
            file.format, file.version
        ));
    }
    if collection_url.is_some_and(|u| u != file.collection_url) || user != file.user.as_deref() {
        return Err(format!("it holds {} for another source or user", file.collection_url));
    }
    if format!("{:016x}", fnv1a64(file.objects.get().as_bytes())) != file.checksum {
        return Err("the checksum of its objects does not match".into());
    }
    let raws: Vec<&RawValue> =
        serde_json::from_str(file.objects.get()).map_err(|e| format!("its objects are not a JSON array ({e})"))?;
    if raws.len() != file.count {
        return Err(format!("it holds {} objects, its header says {}", raws.len(), file.count));
    }
    let mut objects = Objects::default();
    for (n, raw) in raws.into_iter().enumerate() {
        let page = format!("{{\"objects\": [{}]}}", raw.get());
        let mut parsed =
            super::envelope::parse_page(&page).map_err(|p| format!("object {}: {}", n + 1, p.join("; ")))?;
        if let Some(o) = parsed.objects.pop() {
            objects.insert(o);
        }
    }
    Ok(Some(Entry { header: file.header(), objects }))
}

/// Writes a cache file whole: a temporary file beside it, flushed to disk, then renamed over it.
/// The directory and file are private to the user: collections are often not for everyone's eyes.
pub fn write(path: &Path, mut header: Header, objects: &Objects) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let array = objects.to_json_array();
    header.format = FORMAT.into();
    header.version = VERSION;
    header.count = objects.len();
    header.checksum = format!("{:016x}", fnv1a64(array.as_bytes()));
    let head = serde_json::to_string_pretty(&header).map_err(std::io::Error::other)?;
    let head = head.trim_end().strip_suffix('}').unwrap_or(&head).trim_end();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(head.as_bytes())?;
        f.write_all(b",\n  \"objects\": ")?;
        f.write_all(array.as_bytes())?;
        f.write_all(b"\n}\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Every cache file in the directory that can be read, for finding a collection by name offline.
pub fn entries(dir: &Path) -> Vec<(PathBuf, Header)> {
    let Ok(read_dir) = fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = read_dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let text = fs::read_to_string(&p).ok()?;
            let file: File = serde_json::from_str(&text).ok()?;
            Some((p, file.header()))
        })
        .collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
}

/// Now, as RFC 3339 in UTC to the second.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `2026-05-01T12:03:09Z` → `2026-05-01 12:03 UTC`, for the title bar.
pub fn readable(stamp: &str) -> String {
    match (stamp.get(..10), stamp.get(11..16)) {
        (Some(day), Some(time)) if stamp.as_bytes().get(10) == Some(&b'T') => format!("{day} {time} UTC"),
        _ => stamp.to_string(),
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, modified: &str) -> Object {
        let text = format!(r#"{{"type": "campaign", "id": "{id}", "modified": "{modified}"}}"#);
        let raw = RawValue::from_string(text).unwrap();
        Object { id: id.into(), version: Some(modified.into()), raw }
    }

    fn header(url: &str) -> Header {
        Header {
            format: String::new(),
            version: 0,
            collection_url: url.into(),
            source_url: url.into(),
            id: "c1".into(),
            title: "Reports".into(),
            user: Some("alice".into()),
            fetched_at: "2026-01-02T03:04:05Z".into(),
            added_after: Some("2026-01-02T03:04:00.123456Z".into()),
            count: 0,
            checksum: String::new(),
        }
    }

    #[test]
    fn newer_versions_replace_older_ones_and_not_the_reverse() {
        let mut objects = Objects::default();
        objects.insert(object("campaign--1", "2020-01-01T00:00:00.000Z"));
        objects.insert(object("campaign--1", "2021-01-01T00:00:00Z"));
        objects.insert(object("campaign--1", "2020-06-01T00:00:00.5Z"));
        objects.insert(object("campaign--2", "2020-01-01T00:00:00Z"));
        assert_eq!(objects.len(), 2);
        assert!(objects.to_json_array().contains("2021-01-01"));
        assert_eq!(
            later(Some("2020-01-01T00:00:00.5Z".into()), Some("2020-01-01T00:00:00.25Z".into())).as_deref(),
            Some("2020-01-01T00:00:00.5Z")
        );
    }

    #[test]
    fn a_written_file_reads_back_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://cti.example.org/api1/collections/c1/";
        let path = file_for(dir.path(), url, Some("alice"));
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("cti.example.org-"));
        assert_ne!(path, file_for(dir.path(), url, Some("bob")));
        let mut objects = Objects::default();
        objects.insert(object("campaign--1", "2020-01-01T00:00:00.000Z"));
        objects.insert(object("campaign--2", "2020-01-01T00:00:00.000Z"));
        write(&path, header(url), &objects).unwrap();
        let entry = read(&path, Some(url), Some("alice")).unwrap().unwrap();
        assert_eq!(entry.objects.len(), 2);
        assert_eq!(entry.header.title, "Reports");
        assert_eq!(entry.header.added_after.as_deref(), Some("2026-01-02T03:04:00.123456Z"));
        assert_eq!(entry.header.count, 2);
        assert!(read(&path, Some(url), Some("bob")).is_err());
        assert_eq!(entries(dir.path()).len(), 1);

        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(read(&path, Some(url), Some("alice")).unwrap_err().starts_with("not a complete cache file"));
        fs::write(&path, text.replace("campaign--2", "campaign--3")).unwrap();
        assert_eq!(read(&path, Some(url), Some("alice")).unwrap_err(), "the checksum of its objects does not match");
        assert!(read(&dir.path().join("none.json"), Some(url), None).unwrap().is_none());
    }

    #[test]
    fn dates_read_in_utc() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(readable("2026-05-01T12:03:09Z"), "2026-05-01 12:03 UTC");
        assert!(now_utc().ends_with('Z'));
    }
}
