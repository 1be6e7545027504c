//! TAXII 2.1 collections against OASIS's reference server, medallion (installed by
//! `tests/taxii/install.sh`), serving the STIX example bundles on a loopback port with a small page
//! size; and against small fake servers on loopback for the answers medallion never gives
//! (garbage, broken envelopes, 406, 429, TLS). Every server is stopped when its test ends, even
//! when the test fails.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use incidents::load::{self, LoadOptions};
use incidents::taxii::{self, Auth, TaxiiOptions};

const BUNDLES: [&str; 2] = ["defining-campaigns-threat-actors-intrusion-sets.json", "poisonivy.json"];
const OBJECTS: usize = 26 + 155;
const PAGE_SIZE: usize = 20;
const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const USER: &str = "analyst";
const PASSWORD: &str = "correct horse";

/// A medallion process on a free loopback port; killed when dropped.
struct Medallion {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Medallion {
    /// Starts medallion, or returns `None` (skipping the test) when it is not installed; under
    /// `CI=true` its absence fails the test.
    fn start() -> Option<Medallion> {
        let python = std::env::var_os("MEDALLION_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/medallion-venv/bin/python"));
        if !python.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "medallion is not installed at {}: run tests/taxii/install.sh",
                python.display()
            );
            eprintln!("skipped: medallion is not installed (run tests/taxii/install.sh)");
            return None;
        }
        let stix = common::fixture("stix")?;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("medallion.log");
        let port = free_port();
        let child = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/taxii/serve.py"))
            .args(["--port", &port.to_string(), "--page-size", &PAGE_SIZE.to_string(), "--workdir"])
            .arg(dir.path())
            .args(BUNDLES.iter().map(|b| stix.join(b)))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("medallion.err")).unwrap())
            .spawn()
            .unwrap();
        let mut server = Medallion { child, port, log, _dir: dir };
        // Up to 30 s for Python to start on a busy machine.
        for _ in 0..300 {
            if let Some(status) = server.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(server._dir.path().join("medallion.err")).unwrap_or_default();
                panic!("medallion exited with {status}: {err}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = &server.log;
        panic!("medallion did not start listening on port {port}");
    }

    fn discovery(&self) -> String {
        format!("http://127.0.0.1:{}/taxii2/", self.port)
    }

    fn collection(&self) -> String {
        format!("http://127.0.0.1:{}/api1/collections/{COLLECTION}/", self.port)
    }

    /// Adds objects to the writable collection, as another analyst's tool would.
    fn post(&self, objects: &str) {
        let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
        let reply = agent
            .post(format!("{}objects/", self.collection()))
            .header("Accept", taxii::ACCEPT)
            .header("Content-Type", taxii::ACCEPT)
            .header("Authorization", Auth::Basic { user: USER.into(), password: PASSWORD.into() }.header().unwrap())
            .send(format!("{{\"objects\": [{objects}]}}"))
            .unwrap();
        assert_eq!(reply.status().as_u16(), 202);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn options(cache: &Path) -> TaxiiOptions {
    TaxiiOptions {
        auth: Auth::Basic { user: USER.into(), password: PASSWORD.into() },
        // Where the binary puts it with INCIDENTS_CACHE_DIR=cache.
        cache_dir: Some(cache.join("taxii")),
        page_size: 1000,
        ..TaxiiOptions::default()
    }
}

/// The binary, with the cache in `cache` and no credentials but those given.
fn run(args: &[&str], cache: &Path, password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_incidents"));
    cmd.args(args)
        .env("INCIDENTS_CACHE_DIR", cache)
        .env_remove("INCIDENTS_TAXII_PASSWORD")
        .env_remove("INCIDENTS_TAXII_TOKEN")
        .stdin(Stdio::null());
    if let Some(p) = password {
        cmd.env("INCIDENTS_TAXII_PASSWORD", p);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The incidents as native JSON, in id order.
fn incidents_json(dataset: &incidents::model::Dataset) -> Vec<serde_json::Value> {
    let mut all: Vec<serde_json::Value> = dataset.incidents.iter().map(|i| serde_json::to_value(i).unwrap()).collect();
    all.sort_by_key(|v| v["id"].as_str().unwrap_or_default().to_string());
    all
}

#[test]
fn a_collection_loads_to_the_incidents_of_the_same_bundles_as_files() {
    let Some(server) = Medallion::start() else { return };
    let Some(stix) = common::fixture("stix") else { return };
    let cache = tempfile::tempdir().unwrap();

    // Paged in pages of 20 (the server's limit), so ten pages.
    let opened = taxii::open(&server.collection(), &options(cache.path()), None).unwrap();
    assert_eq!(opened.title, "Incident reports");
    assert_eq!((opened.objects, opened.new_objects), (OBJECTS, OBJECTS));
    assert_eq!(opened.pages, OBJECTS.div_ceil(PAGE_SIZE));
    assert!(!opened.from_cache && opened.warnings.is_empty(), "{:?}", opened.warnings);

    let files: Vec<PathBuf> = BUNDLES.iter().map(|b| stix.join(b)).collect();
    let from_files = load::load(&files, &LoadOptions::default()).unwrap();
    // By the server's discovery URL and the collection's title, in another case.
    let opts = LoadOptions {
        taxii: TaxiiOptions { collection: Some("incident REPORTS".into()), ..options(cache.path()) },
        ..LoadOptions::default()
    };
    let progress = std::sync::Arc::new(load::Progress::default());
    let opts = LoadOptions { progress: Some(progress.clone()), ..opts };
    let from_server = load::load(&[PathBuf::from(server.discovery())], &opts).unwrap();
    assert_eq!(from_server.label, "Incident reports");
    assert!(from_server.warnings.is_empty(), "{:?}", from_server.warnings);
    assert_eq!(from_files.incidents.len(), 5);
    assert_eq!(incidents_json(&from_server), incidents_json(&from_files));
    assert!(
        progress.snapshot().stage.starts_with("fetched Incident reports: 0 new objects"),
        "{:?}",
        progress.snapshot()
    );
}

#[test]
fn a_wrong_password_exits_2_naming_the_user_and_url() {
    let Some(server) = Medallion::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = run(&["list", "--user", USER, &server.collection()], cache.path(), Some("wrong"));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("authentication failed for {USER} at {}", server.collection())), "{err}");
    assert!(out.stdout.is_empty());

    // No password and no terminal to ask on: said plainly, not a hang.
    let out = run(&["list", "--user", USER, &server.collection()], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no password for analyst: set INCIDENTS_TAXII_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn with_the_server_stopped_the_cache_opens_with_a_warning() {
    let Some(server) = Medallion::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let url = server.collection();
    let discovery = server.discovery();
    let online = run(&["list", "--user", USER, &url], cache.path(), Some(PASSWORD));
    assert!(online.status.success(), "{}", text(&online.stderr));
    assert!(text(&online.stdout).contains("menuPass"));
    drop(server);

    for args in [
        vec!["list", "--user", USER, &url],
        vec!["list", "--user", USER, &discovery, "--collection", "Incident reports"],
    ] {
        let offline = run(&args, cache.path(), Some(PASSWORD));
        assert!(offline.status.success(), "{}", text(&offline.stderr));
        assert_eq!(text(&offline.stdout), text(&online.stdout));
        let err = text(&offline.stderr);
        assert!(err.contains("incidents: warning: cached data from 20"), "{err}");
        assert!(err.contains(": server unreachable (connection refused)"), "{err}");
    }

    // The title bar carries the same warning.
    let opts = LoadOptions { taxii: options(cache.path()), ..LoadOptions::default() };
    let dataset = load::load(&[PathBuf::from(&url)], &opts).unwrap();
    assert!(dataset.label.starts_with("Incident reports (cached data from 20"), "{}", dataset.label);
    assert!(dataset.label.ends_with("server unreachable (connection refused))"), "{}", dataset.label);

    // --offline never asks the server, and needs no password.
    let out = run(&["list", "--offline", "--user", USER, &url], cache.path(), None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&online.stdout));
    assert!(text(&out.stderr).contains("(offline)"));

    // Another user has no cached copy: a clear error, exit 2.
    let out = run(&["list", "--offline", &discovery, "--collection", "Incident reports"], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "no cached copy of a collection \"Incident reports\" for this user (there are copies for --user analyst)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_refresh_fetches_only_the_objects_added_since() {
    let Some(server) = Medallion::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let first = taxii::open(&server.collection(), &opts, None).unwrap();
    assert_eq!(first.new_objects, OBJECTS);

    server.post(
        r#"{"type": "campaign", "spec_version": "2.1", "id": "campaign--0b7c7a4e-0d0c-4d7e-9a8b-0c1d2e3f4a5b",
            "created": "2026-01-05T10:00:00.000Z", "modified": "2026-01-05T10:00:00.000Z",
            "name": "Operation Late Addition", "first_seen": "2025-12-01T00:00:00Z"}"#,
    );
    let second = taxii::open(&server.collection(), &opts, None).unwrap();
    assert_eq!((second.new_objects, second.pages, second.objects), (1, 1, OBJECTS + 1));

    // Nothing new: one page, nothing fetched, and the dataset holds the added campaign.
    let load_opts = LoadOptions { taxii: opts, ..LoadOptions::default() };
    let dataset = load::load(&[PathBuf::from(server.collection())], &load_opts).unwrap();
    assert_eq!(dataset.incidents.len(), 6);
    assert!(dataset.incidents.iter().any(|i| i.victim == "Operation Late Addition"));
}

#[test]
fn a_damaged_cache_is_reported_and_fetched_again() {
    let Some(server) = Medallion::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    taxii::open(&server.collection(), &opts, None).unwrap();
    let files: Vec<PathBuf> =
        std::fs::read_dir(cache.path().join("taxii")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one file per server and collection: {files:?}");
    let whole = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::write(&files[0], &whole[..whole.len() * 2 / 3]).unwrap();

    let again = taxii::open(&server.collection(), &opts, None).unwrap();
    assert_eq!(again.new_objects, OBJECTS);
    assert!(again.warnings[0].contains("cannot be trusted (not a complete cache file"), "{:?}", again.warnings);
    assert!(again.warnings[0].ends_with("fetching the whole collection again"));
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap().len(), whole.len());

    // Damaged while the server is away: an error naming the file, not half a dataset.
    std::fs::write(&files[0], &whole[..100]).unwrap();
    drop(server);
    let out = run(&["list", "--user", USER, &again.collection_url], cache.path(), Some(PASSWORD));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("server unreachable (connection refused), and the cached copy"), "{err}");
    assert!(err.contains("cannot be trusted"), "{err}");
}

#[test]
fn taxii_lists_api_roots_and_collections_and_names_what_is_missing() {
    let Some(server) = Medallion::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = run(&["taxii", "--user", USER, &server.discovery()], cache.path(), Some(PASSWORD));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.starts_with("Test TAXII server\n"), "{listing}");
    assert!(
        listing.contains(&format!("API root http://127.0.0.1:{}/api1/ (Incident sharing)", server.port)),
        "{listing}"
    );
    assert!(listing.contains(&format!("{COLLECTION}  Incident reports  yes   yes")), "{listing}");
    assert!(listing.contains("52892447-4d7e-4f70-b94d-d7f22742ff63  Restricted feed   no    no"), "{listing}");

    // A collection id the server does not have: 404, with the titles it does have.
    let missing = format!("http://127.0.0.1:{}/api1/collections/no-such-id/", server.port);
    let out = run(&["list", "--user", USER, &missing], cache.path(), Some(PASSWORD));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no collection with id \"no-such-id\""), "{err}");
    assert!(err.contains(&format!("\"Incident reports\" (id {COLLECTION}), \"Restricted feed\"")), "{err}");

    // A server URL with no --collection, or an unknown title, lists the choices.
    let out = run(&["list", "--user", USER, &server.discovery()], cache.path(), Some(PASSWORD));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a TAXII server, not a collection: choose one with --collection"));
    let out =
        run(&["list", "--user", USER, &server.discovery(), "--collection", "Reports"], cache.path(), Some(PASSWORD));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no collection \"Reports\""), "{}", text(&out.stderr));
    let out = run(
        &["list", "--user", USER, &server.discovery(), "--collection", "restricted feed"],
        cache.path(),
        Some(PASSWORD),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not readable for analyst"), "{}", text(&out.stderr));
}

/// A fake server on loopback: answers each connection with the next canned response, then
/// stops. Sends back each request's head.
fn fake_server(responses: Vec<String>) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for response in responses {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while let Ok(n) = reader.read_line(&mut head) {
                if n == 0 || head.ends_with("\r\n\r\n") {
                    break;
                }
            }
            let _ = tx.send(head);
            let _ = stream.write_all(response.as_bytes());
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
    });
    (port, rx)
}

fn http(status: &str, headers: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}", body.len())
}

const COLLECTION_JSON: &str = r#"{"id": "c1", "title": "Feed", "can_read": true, "can_write": false}"#;

#[test]
fn a_server_that_answers_garbage_gets_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let (port, requests) =
        fake_server(vec![http("200 OK", "Content-Type: text/html\r\n", "<html><body>Welcome to nginx!</body></html>")]);
    let url = format!("http://127.0.0.1:{port}/taxii2/");
    let out = run(&["list", &url, "--collection", "Feed"], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{url} is not a TAXII 2.1 server: the answer (text/html) is not JSON: \"<html><body>Welcome to nginx!"
        )),
        "{err}"
    );
    let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /taxii2/ HTTP/1.1\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("accept: application/taxii+json;version=2.1\r\n"), "{head}");

    // Not even HTTP.
    let (port, _requests) = fake_server(vec!["SSH-2.0-OpenSSH_9.2p1\r\n".into()]);
    let out = run(&["list", &format!("http://127.0.0.1:{port}/taxii2/")], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a TAXII 2.1 server: the answer is not HTTP"), "{}", text(&out.stderr));
}

#[test]
fn a_malformed_envelope_names_the_page_and_every_bad_object() {
    let cache = tempfile::tempdir().unwrap();
    let taxii = "Content-Type: application/taxii+json;version=2.1\r\n";
    let page1 = r#"{"more": true, "next": "p2", "objects": [{"type": "campaign", "id": "campaign--1", "name": "A"}]}"#;
    let page2 = r#"{"more": false, "objects": [{"type": "campaign", "id": "campaign--2"}, {"type": "campaign", "name": "no id"}, "text"]}"#;
    let (port, requests) = fake_server(vec![
        http("200 OK", taxii, COLLECTION_JSON),
        http("200 OK", taxii, page1),
        http("200 OK", taxii, page2),
    ]);
    let url = format!("http://127.0.0.1:{port}/api1/collections/c1/");
    let out = run(&["list", &url], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{url}objects/: page 2 of the collection is not a valid TAXII envelope: object 2 has no \"id\"; object 3 is a string, expected a STIX object"
        )),
        "{err}"
    );
    let heads: Vec<String> = requests.try_iter().collect();
    assert!(heads[2].starts_with("GET /api1/collections/c1/objects/?limit=500&next=p2 HTTP/1.1"), "{heads:?}");
    // Nothing was cached from the half-read collection.
    assert!(std::fs::read_dir(cache.path().join("taxii")).map_or(true, |mut d| d.next().is_none()));
}

#[test]
fn not_a_taxii_2_1_server_and_tls_failures_are_named() {
    let cache = tempfile::tempdir().unwrap();
    let (port, _r) = fake_server(vec![http("406 Not Acceptable", "", "")]);
    let out = run(&["list", &format!("http://127.0.0.1:{port}/api1/collections/c1/")], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("is not a TAXII 2.1 server: it does not serve application/taxii+json;version=2.1 (HTTP 406)"),
        "{}",
        text(&out.stderr)
    );

    // https to a server that does not speak TLS.
    let (port, _r) = fake_server(vec![http("400 Bad Request", "", "plain")]);
    let out = run(&["list", &format!("https://127.0.0.1:{port}/api1/collections/c1/")], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("incidents: TLS with 127.0.0.1 failed: "), "{}", text(&out.stderr));

    // Plain http to anything but loopback is refused before a connection is made.
    let out = run(&["list", "http://cti.example.org/taxii2/", "--collection", "x"], cache.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("plain http:// is only used for loopback addresses"), "{}", text(&out.stderr));
}

#[test]
fn busy_answers_are_retried_as_retry_after_asks() {
    let cache = tempfile::tempdir().unwrap();
    let taxii = "Content-Type: application/taxii+json;version=2.1\r\n";
    let page = r#"{"objects": [{"type": "campaign", "id": "campaign--1", "name": "Busy", "created": "2020-01-01T00:00:00Z"}]}"#;
    let (port, requests) = fake_server(vec![
        http("200 OK", taxii, COLLECTION_JSON),
        http("429 Too Many Requests", "Retry-After: 1\r\n", ""),
        http("503 Service Unavailable", "Retry-After: 0\r\n", ""),
        http("200 OK", taxii, page),
    ]);
    let url = format!("http://127.0.0.1:{port}/api1/collections/c1/");
    let opts = TaxiiOptions { cache_dir: Some(cache.path().to_path_buf()), ..TaxiiOptions::default() };
    let opened = taxii::open(&url, &opts, None).unwrap();
    assert_eq!((opened.objects, opened.title.as_str()), (1, "Feed"));
    assert_eq!(requests.try_iter().count(), 4);

    // A server that stays busy is given up on after the bounded retries, and counts as unreachable.
    let busy = http("503 Service Unavailable", "Retry-After: 0\r\n", "");
    let (port, _r) = fake_server(vec![http("200 OK", taxii, COLLECTION_JSON), busy.clone(), busy.clone(), busy]);
    let url = format!("http://127.0.0.1:{port}/api1/collections/c1/");
    let opts = TaxiiOptions { retries: 2, ..opts };
    let err = taxii::open(&url, &opts, None).unwrap_err();
    assert!(err.is_unreachable());
    assert!(err.to_string().ends_with("server unreachable (HTTP 503, 3 attempts)"), "{err}");
}

#[test]
fn a_collection_title_cannot_drive_the_terminal() {
    let cache = tempfile::tempdir().unwrap();
    let taxii = "Content-Type: application/taxii+json;version=2.1\r\n";
    let collection = r#"{"id": "c1", "title": "\u001b]0;owned\u0007Feed\u001b[2J", "can_read": true}"#;
    let page = r#"{"objects": [{"type": "campaign", "id": "campaign--1", "name": "Quiet", "created": "2020-01-01T00:00:00Z"}]}"#;
    let (port, _r) = fake_server(vec![http("200 OK", taxii, collection), http("200 OK", taxii, page)]);
    let url = format!("http://127.0.0.1:{port}/api1/collections/c1/");
    let opts = LoadOptions { taxii: options(cache.path()), ..LoadOptions::default() };
    let dataset = load::load(&[PathBuf::from(url)], &opts).unwrap();
    assert_eq!(dataset.label, "Feed");
    assert_eq!(dataset.incidents[0].victim, "Quiet");
}
