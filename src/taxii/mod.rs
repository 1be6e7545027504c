//! TAXII 2.1 collections as datasets: find the collection (by URL, or by title or id on a server),
//! fetch its objects page by page, keep them in an offline cache refreshed with `added_after`,
//! and hand them to the STIX loader as one bundle. When the server cannot be reached the cached
//! copy is used, with a warning that says from when and why.

mod auth;
mod cache;
mod client;
mod envelope;
mod error;

use std::path::PathBuf;
use std::time::Duration;

pub use auth::{Auth, PASSWORD_VAR, TOKEN_VAR};
pub use client::{ACCEPT, is_loopback};
pub use envelope::Collection;
pub use error::TaxiiError;

use crate::load::Progress;
use crate::model::group_thousands;
use cache::{Entry, Header, Objects};
use client::{Client, Reply};

/// A guard against a server that keeps saying there is more.
const MAX_PAGES: usize = 100_000;

/// How to reach a server and where to keep its collections.
#[derive(Debug, Clone)]
pub struct TaxiiOptions {
    /// The collection's title or id, when the URL is a server's discovery or API root.
    pub collection: Option<String>,
    pub auth: Auth,
    /// Use the cache alone.
    pub offline: bool,
    /// Allow plain http:// to hosts other than loopback.
    pub allow_http: bool,
    /// PEM file of the CAs to trust instead of the bundled web roots (an in-house CA).
    pub ca_cert: Option<PathBuf>,
    /// Where caches go; `None`: `$INCIDENTS_CACHE_DIR/taxii`, else the XDG cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Objects asked for per page; servers may send fewer.
    pub page_size: usize,
    pub connect_timeout: Duration,
    /// Longest silence while waiting for or reading an answer.
    pub read_timeout: Duration,
    /// Further attempts after a 429 or 5xx answer.
    pub retries: u32,
    /// First wait between attempts when the server does not say (`Retry-After`); it doubles.
    pub backoff: Duration,
}

impl Default for TaxiiOptions {
    fn default() -> Self {
        TaxiiOptions {
            collection: None,
            auth: Auth::None,
            offline: false,
            allow_http: false,
            ca_cert: None,
            cache_dir: None,
            page_size: 500,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Whether a PATH argument names a TAXII server rather than a file.
pub fn is_url(arg: &str) -> bool {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A collection ready for the STIX loader.
#[derive(Debug)]
pub struct Opened {
    pub title: String,
    pub collection_url: String,
    /// The collection's objects as one STIX bundle, one object per line.
    pub bundle: String,
    pub objects: usize,
    /// Objects fetched from the server this time (0 when only the cache was read).
    pub new_objects: usize,
    pub pages: usize,
    /// When the objects were last fetched from the server (RFC 3339, UTC).
    pub fetched_at: String,
    /// True when the server was not asked (offline) or could not be reached.
    pub from_cache: bool,
    /// For the title bar and stderr: "cached data from …: server unreachable (…)", a damaged
    /// cache file that was fetched again, a cache that could not be written.
    pub warnings: Vec<String>,
}

/// Opens a collection: refreshes the cached copy from the server, or falls back to it.
pub fn open(url: &str, opts: &TaxiiOptions, progress: Option<&Progress>) -> Result<Opened, TaxiiError> {
    let url = with_slash(url);
    let dir = opts.cache_dir.clone().or_else(cache::default_dir);
    let user = opts.auth.user();
    let mut warnings = Vec::new();
    if dir.is_none() {
        warnings.push(
            "no cache directory (set HOME, XDG_CACHE_HOME or INCIDENTS_CACHE_DIR): the collection is not kept for offline use"
                .to_string(),
        );
    }
    if opts.offline {
        let entry = cached(dir.as_ref(), &url, opts, None)?;
        let note = format!("cached data from {} (offline)", cache::readable(&entry.header.fetched_at));
        return Ok(from_cache(entry, note, warnings));
    }
    let client = Client::new(&url, opts)?;
    let collection = match resolve(&client, &url, opts.collection.as_deref(), progress) {
        Ok(c) => c,
        Err(e) if e.is_unreachable() => return fall_back(dir.as_ref(), &url, opts, &e, warnings),
        Err(e) => return Err(e),
    };
    if !collection.info.can_read {
        return Err(TaxiiError::NotReadable {
            title: collection.info.title,
            url: collection.url,
            user: user.map(str::to_string),
        });
    }
    let path = dir.as_ref().map(|d| cache::file_for(d, &collection.url, user));
    let previous = match &path {
        Some(p) => match cache::read(p, Some(&collection.url), user) {
            Ok(entry) => entry,
            Err(why) => {
                warnings.push(format!(
                    "the cached copy {} cannot be trusted ({why}): fetching the whole collection again",
                    p.display()
                ));
                None
            }
        },
        None => None,
    };
    let added_after = previous.as_ref().and_then(|e| e.header.added_after.clone());
    let fetched = match fetch(&client, &collection, added_after.as_deref(), opts.page_size, progress) {
        Ok(f) => f,
        Err(e) if e.is_unreachable() => {
            return match previous {
                Some(entry) => Ok(from_cache(entry, unreachable_note(None, &e), warnings)),
                None => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    let new_objects = fetched.objects.len();
    let mut objects = previous.map(|e| e.objects).unwrap_or_default();
    for o in fetched.objects {
        objects.insert(o);
    }
    let header = Header {
        format: String::new(),
        version: 0,
        collection_url: collection.url.clone(),
        source_url: url.clone(),
        id: collection.info.id.clone(),
        title: collection.info.title.clone(),
        user: user.map(str::to_string),
        fetched_at: cache::now_utc(),
        added_after: cache::later(added_after, fetched.last_added),
        count: objects.len(),
        checksum: String::new(),
    };
    if let Some(p) = &path
        && let Err(e) = cache::write(p, header.clone(), &objects)
    {
        warnings.push(format!("the collection could not be kept for offline use in {}: {e}", p.display()));
    }
    if let Some(p) = progress {
        p.set_stage(format!(
            "fetched {}: {} new objects in {} page{}, {} in all",
            header.title,
            group_thousands(new_objects as u64),
            fetched.pages,
            if fetched.pages == 1 { "" } else { "s" },
            group_thousands(objects.len() as u64)
        ));
    }
    Ok(Opened {
        bundle: bundle(&header.id, &objects),
        objects: objects.len(),
        title: header.title,
        collection_url: header.collection_url,
        new_objects,
        pages: fetched.pages,
        fetched_at: header.fetched_at,
        from_cache: false,
        warnings,
    })
}

/// A server's API roots and the collections of each, as `incidents taxii URL` shows them.
#[derive(Debug)]
pub struct Listing {
    /// The discovery resource's title, when the URL was a discovery URL.
    pub server: Option<String>,
    pub roots: Vec<RootListing>,
}

#[derive(Debug)]
pub struct RootListing {
    pub url: String,
    pub title: Option<String>,
    /// The collections, or why the root could not be listed.
    pub collections: Result<Vec<Collection>, String>,
}

/// Lists the API roots and collections a user can see from a discovery, API root or collection URL.
pub fn list(url: &str, opts: &TaxiiOptions) -> Result<Listing, TaxiiError> {
    let url = with_slash(url);
    let client = Client::new(&url, opts)?;
    let (server, roots) = match collection_parts(&url) {
        Some((root, _)) => (None, vec![root]),
        None => api_roots(&client, &url, None)?,
    };
    let mut listed = Vec::new();
    for root in roots {
        let title = client.get(&root, &[], None).ok().and_then(|r| json::<envelope::ServerResource>(&r, &root).ok());
        let collections = match collections(&client, &root) {
            Ok(c) => Ok(c),
            Err(e @ (TaxiiError::Auth { .. } | TaxiiError::Unreachable { .. } | TaxiiError::Tls { .. })) => {
                return Err(e);
            }
            Err(e) => Err(e.to_string()),
        };
        listed.push(RootListing { url: root, title: title.and_then(|t| t.title), collections });
    }
    Ok(Listing { server, roots: listed })
}

struct Resolved {
    url: String,
    info: Collection,
}

impl Resolved {
    /// The title is the server's text and goes to the title bar: no terminal controls in it.
    fn new(url: String, mut info: Collection) -> Self {
        info.title = crate::model::sanitize(&info.title).replace('\n', " ");
        Resolved { url, info }
    }
}

/// Finds the collection a URL (and `--collection`) names.
fn resolve(
    client: &Client,
    url: &str,
    wanted: Option<&str>,
    progress: Option<&Progress>,
) -> Result<Resolved, TaxiiError> {
    if let Some((root, id)) = collection_parts(url) {
        return match client.get(url, &[], progress) {
            Ok(reply) => Ok(Resolved::new(url.to_string(), json(&reply, url)?)),
            Err(TaxiiError::Status { status: 404, .. }) => {
                let available = collections(client, &root).map(|cs| choices(&cs)).unwrap_or_default();
                Err(TaxiiError::NoCollection { wanted: format!("with id {id:?}"), url: root, available })
            }
            Err(e) => Err(e),
        };
    }
    let (_, roots) = api_roots(client, url, progress)?;
    let mut all = Vec::new();
    for root in roots {
        match collections(client, &root) {
            Ok(cs) => all.extend(cs.into_iter().map(|c| (root.clone(), c))),
            // One API root closed to this user does not hide the collections of the others.
            Err(TaxiiError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let available: Vec<String> = all.iter().map(|(_, c)| c.choice()).collect();
    let Some(wanted) = wanted else {
        return Err(TaxiiError::NotACollection { url: url.to_string(), available });
    };
    let by_id: Vec<&(String, Collection)> = all.iter().filter(|(_, c)| c.id == wanted).collect();
    let found = if by_id.is_empty() {
        all.iter().filter(|(_, c)| c.title.trim().eq_ignore_ascii_case(wanted.trim())).collect()
    } else {
        by_id
    };
    match found.as_slice() {
        [(root, c)] => Ok(Resolved::new(format!("{root}collections/{}/", c.id), c.clone())),
        [] => Err(TaxiiError::NoCollection { wanted: format!("{wanted:?}"), url: url.to_string(), available }),
        many => Err(TaxiiError::Ambiguous {
            wanted: wanted.to_string(),
            url: url.to_string(),
            count: many.len(),
            ids: many.iter().map(|(_, c)| c.id.clone()).collect(),
        }),
    }
}

/// The API roots behind a URL: a discovery resource lists them, an API root is its own.
/// A bare server address is tried at the standard discovery path `/taxii2/`.
fn api_roots(
    client: &Client,
    url: &str,
    progress: Option<&Progress>,
) -> Result<(Option<String>, Vec<String>), TaxiiError> {
    let reply = match client.get(url, &[], progress) {
        Err(TaxiiError::Status { status: 404, .. }) if !url.ends_with("/taxii2/") => {
            let discovery = format!("{url}taxii2/");
            return api_roots(client, &discovery, progress).map_err(|_| TaxiiError::NotTaxii {
                url: url.to_string(),
                why: "no TAXII resource there (HTTP 404), nor a discovery resource at /taxii2/".into(),
            });
        }
        other => other?,
    };
    let resource: envelope::ServerResource = json(&reply, url)?;
    match (resource.api_roots, resource.versions) {
        (Some(roots), _) => Ok((resource.title, roots.iter().map(|r| with_slash(&join(url, r))).collect())),
        (None, Some(_)) => Ok((None, vec![url.to_string()])),
        (None, None) => Err(TaxiiError::NotTaxii {
            url: url.to_string(),
            why: "the answer is neither a discovery resource (api_roots) nor an API root (versions)".into(),
        }),
    }
}

fn collections(client: &Client, root: &str) -> Result<Vec<Collection>, TaxiiError> {
    let url = format!("{root}collections/");
    let reply = client.get(&url, &[], None)?;
    Ok(json::<envelope::Collections>(&reply, &url)?.collections)
}

fn choices(collections: &[Collection]) -> Vec<String> {
    collections.iter().map(Collection::choice).collect()
}

/// Reads a TAXII resource, or says why the answer is not one.
fn json<T: serde::de::DeserializeOwned>(reply: &Reply, url: &str) -> Result<T, TaxiiError> {
    serde_json::from_str(&reply.body).map_err(|e| {
        let kind = reply.content_type.as_deref().unwrap_or("no content type");
        let why = if reply.body.trim_start().starts_with('{') {
            format!("the answer ({kind}) does not hold what the standard asks: {e}")
        } else {
            format!("the answer ({kind}) is not JSON: {:?}", client::excerpt(&reply.body))
        };
        TaxiiError::NotTaxii { url: url.to_string(), why }
    })
}

struct Fetched {
    objects: Vec<envelope::Object>,
    last_added: Option<String>,
    pages: usize,
}

/// Fetches the objects added after a time (all when `None`), page by page: with the server's
/// `next` token, or, where a server pages by time, with `added_after` set to the page's
/// `X-TAXII-Date-Added-Last`.
fn fetch(
    client: &Client,
    collection: &Resolved,
    added_after: Option<&str>,
    page_size: usize,
    progress: Option<&Progress>,
) -> Result<Fetched, TaxiiError> {
    let url = format!("{}objects/", collection.url);
    let title = &collection.info.title;
    let limit = page_size.max(1).to_string();
    let mut after = added_after.map(str::to_string);
    let mut next: Option<String> = None;
    let mut objects = Vec::new();
    let mut last_added = None;
    let mut page = 0;
    loop {
        if progress.is_some_and(Progress::is_cancelled) {
            return Err(TaxiiError::Cancelled);
        }
        page += 1;
        let stuck = |why: &str| TaxiiError::Envelope { url: url.clone(), page, problems: vec![why.to_string()] };
        if page > MAX_PAGES {
            return Err(stuck(&format!("more than {MAX_PAGES} pages: the server keeps saying there is more")));
        }
        if let Some(p) = progress {
            p.set_stage(format!("fetching {title}: page {page}, {} objects", group_thousands(objects.len() as u64)));
        }
        // The same filters on every page: servers (medallion among them) refuse a `next` whose
        // filters changed.
        let mut query = vec![("limit", limit.as_str())];
        if let Some(a) = &after {
            query.push(("added_after", a));
        }
        if let Some(n) = &next {
            query.push(("next", n));
        }
        let reply = client.get(&url, &query, progress)?;
        let content = envelope::parse_page(&reply.body).map_err(|problems| TaxiiError::Envelope {
            url: url.clone(),
            page,
            problems,
        })?;
        let count = content.objects.len();
        if let Some(p) = progress {
            p.add_records(count as u64);
        }
        objects.extend(content.objects);
        last_added = cache::later(last_added, reply.date_added_last.clone());
        if !content.more {
            break;
        }
        match (content.next, reply.date_added_last) {
            (Some(n), _) => {
                if count == 0 && next.as_deref() == Some(n.as_str()) {
                    return Err(stuck("the server sends the same empty page again and again"));
                }
                next = Some(n);
            }
            (None, Some(last)) => {
                if count == 0 || after.as_deref() == Some(last.as_str()) {
                    return Err(stuck("the server says there is more but its pages do not move on"));
                }
                after = Some(last);
            }
            (None, None) => {
                return Err(stuck(
                    "\"more\" is true, but there is neither \"next\" nor an X-TAXII-Date-Added-Last header to ask for the rest",
                ));
            }
        }
    }
    Ok(Fetched { objects, last_added, pages: page })
}

/// The server could not be reached: open the cached copy, if there is one, with a warning.
fn fall_back(
    dir: Option<&PathBuf>,
    url: &str,
    opts: &TaxiiOptions,
    error: &TaxiiError,
    warnings: Vec<String>,
) -> Result<Opened, TaxiiError> {
    let entry = cached(dir, url, opts, Some(error))?;
    let note = unreachable_note(Some(&entry), error);
    Ok(from_cache(entry, note, warnings))
}

fn unreachable_note(entry: Option<&Entry>, error: &TaxiiError) -> String {
    let date = entry.map(|e| cache::readable(&e.header.fetched_at));
    match date {
        Some(date) => format!("cached data from {date}: server unreachable ({})", error.reason()),
        None => format!("cached data: server unreachable ({})", error.reason()),
    }
}

/// The cached copy of the collection a URL (and `--collection`) names.
fn cached(
    dir: Option<&PathBuf>,
    url: &str,
    opts: &TaxiiOptions,
    unreachable: Option<&TaxiiError>,
) -> Result<Entry, TaxiiError> {
    let user = opts.auth.user();
    let prefix = unreachable.map(|e| format!("server unreachable ({}), and ", e.reason())).unwrap_or_default();
    let fail = |why: String| TaxiiError::Cache { url: url.to_string(), why };
    let Some(dir) = dir else {
        return Err(fail(format!("{prefix}no cached copy: there is no cache directory")));
    };
    let path = if collection_parts(url).is_some() {
        cache::file_for(dir, url, user)
    } else {
        // The collection may have been opened through another of the server's URLs.
        let (mine, others): (Vec<_>, Vec<_>) = cache::entries(dir)
            .into_iter()
            .filter(|(_, h)| h.source_url == url || origin(&h.collection_url) == origin(url))
            .partition(|(_, h)| h.user.as_deref() == user);
        let matching = mine;
        let titles = || matching.iter().map(|(_, h)| format!("{:?} (id {})", h.title, h.id)).collect::<Vec<_>>();
        let Some(wanted) = opts.collection.as_deref() else {
            return Err(TaxiiError::NotACollection { url: url.to_string(), available: titles() });
        };
        let found = matching
            .iter()
            .find(|(_, h)| h.id == wanted)
            .or_else(|| matching.iter().find(|(_, h)| h.title.trim().eq_ignore_ascii_case(wanted.trim())));
        match found {
            Some((p, _)) => p.clone(),
            None => {
                let mut users: Vec<&str> = others.iter().filter_map(|(_, h)| h.user.as_deref()).collect();
                users.dedup();
                let cached = if !matching.is_empty() {
                    format!(" (cached from there: {})", titles().join(", "))
                } else if !users.is_empty() {
                    format!(" for this user (there are copies for --user {})", users.join(", "))
                } else {
                    String::new()
                };
                return Err(fail(format!("{prefix}no cached copy of a collection {wanted:?}{cached}")));
            }
        }
    };
    match cache::read(&path, None, user) {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(fail(format!("{prefix}no cached copy of this collection yet (open it once while online)"))),
        Err(why) => Err(fail(format!("{prefix}the cached copy {} cannot be trusted ({why})", path.display()))),
    }
}

fn from_cache(entry: Entry, note: String, mut warnings: Vec<String>) -> Opened {
    warnings.insert(0, note);
    Opened {
        bundle: bundle(&entry.header.id, &entry.objects),
        objects: entry.objects.len(),
        title: entry.header.title,
        collection_url: entry.header.collection_url,
        new_objects: 0,
        pages: 0,
        fetched_at: entry.header.fetched_at,
        from_cache: true,
        warnings,
    }
}

/// The objects as one STIX bundle: what the STIX loader reads from a file.
fn bundle(id: &str, objects: &Objects) -> String {
    let id = serde_json::to_string(&format!("bundle--{id}")).unwrap_or_else(|_| "\"bundle--taxii\"".into());
    format!("{{\"type\": \"bundle\", \"id\": {id}, \"objects\": {}}}\n", objects.to_json_array())
}

/// `…/collections/<id>/` split into the API root and the id.
fn collection_parts(url: &str) -> Option<(String, String)> {
    let trimmed = url.trim_end_matches('/');
    let (root, id) = trimmed.rsplit_once("/collections/")?;
    (!id.is_empty() && !id.contains('/') && !id.contains('?')).then(|| (format!("{root}/"), id.to_string()))
}

/// `scheme://host:port` of a URL, lower-cased.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()).to_ascii_lowercase()
}

/// TAXII resource URLs end with a slash; users often leave it off.
fn with_slash(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') || url.contains('?') { url.to_string() } else { format!("{url}/") }
}

/// Resolves a reference found in a resource (an API root) against the URL it came from.
fn join(base: &str, reference: &str) -> String {
    if is_url(reference) {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = rest.split('/').next().unwrap_or(rest);
    if reference.starts_with('/') {
        format!("{scheme}://{host}{reference}")
    } else {
        format!("{}{reference}", with_slash(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_split() {
        assert!(is_url("https://cti.example.org/taxii2/"));
        assert!(is_url("HTTP://127.0.0.1:5000/"));
        assert!(!is_url("data/incidents.json"));
        assert!(!is_url("http"));
        assert_eq!(
            collection_parts("https://h/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116"),
            Some(("https://h/api1/".into(), "91a7b528-80eb-42ed-a74d-c6fbd5a26116".into()))
        );
        assert_eq!(collection_parts("https://h/api1/collections/"), None);
        assert_eq!(collection_parts("https://h/taxii2/"), None);
        assert_eq!(with_slash("https://h/taxii2"), "https://h/taxii2/");
        assert_eq!(join("https://h:8443/taxii2/", "/api1/"), "https://h:8443/api1/");
        assert_eq!(join("https://h/taxii2/", "https://other/api2/"), "https://other/api2/");
        assert_eq!(join("https://h/taxii2/", "api3/"), "https://h/taxii2/api3/");
    }
}
