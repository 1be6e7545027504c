//! HTTP for TAXII 2.1: the media type, credentials, timeouts, bounded retries with backoff, and
//! statuses turned into errors an analyst can act on.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ureq::Agent;
use ureq::http::Uri;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::{Auth, TaxiiError, TaxiiOptions};
use crate::load::Progress;

/// The only media type a TAXII 2.1 client may ask for.
pub const ACCEPT: &str = "application/taxii+json;version=2.1";

/// One page of a big collection can be large; more than this is not a TAXII page.
const BODY_LIMIT: u64 = 512 * 1024 * 1024;

/// Longest wait a `Retry-After` may ask for before the server is taken as unavailable.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    pub body: String,
    /// `X-TAXII-Date-Added-Last`: when the newest object of the page was added.
    pub date_added_last: Option<String>,
    pub content_type: Option<String>,
}

/// A connection to one TAXII server.
pub struct Client {
    agent: Agent,
    auth: Auth,
    allow_http: bool,
    retries: u32,
    backoff: Duration,
}

impl Client {
    /// Checks the URL (plain http only to loopback unless allowed) and sets up TLS and timeouts.
    pub fn new(url: &str, opts: &TaxiiOptions) -> Result<Client, TaxiiError> {
        let uri = parse_url(url)?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default();
        if !https && !opts.allow_http && !is_loopback(host) {
            return Err(TaxiiError::PlainHttp { url: url.to_string() });
        }
        let mut tls = TlsConfig::builder();
        if let Some(path) = &opts.ca_cert {
            tls = tls.root_certs(read_roots(path)?);
        }
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // A redirect must not take an https session down to plain http.
            .https_only(https)
            // A proxy cannot reach this machine's own loopback addresses.
            .proxy(if is_loopback(host) { None } else { ureq::Proxy::try_from_env() })
            .user_agent(concat!("incidents/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_per_read(Some(opts.read_timeout))
            .timeout_recv_response(Some(opts.read_timeout))
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.new_agent(),
            auth: opts.auth.clone(),
            allow_http: opts.allow_http,
            retries: opts.retries,
            backoff: opts.backoff,
        })
    }

    /// GETs a TAXII resource. 429 and 5xx are retried a bounded number of times, waiting as
    /// `Retry-After` asks or with a doubling backoff; `progress` can call the wait off.
    pub fn get(&self, url: &str, query: &[(&str, &str)], progress: Option<&Progress>) -> Result<Reply, TaxiiError> {
        let uri = parse_url(url)?;
        let host = uri.host().unwrap_or_default().to_string();
        // A discovery resource may point to API roots on other hosts.
        if uri.scheme_str() == Some("http") && !self.allow_http && !is_loopback(&host) {
            return Err(TaxiiError::PlainHttp { url: url.to_string() });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.agent.get(url).header("Accept", ACCEPT);
            if let Some(value) = self.auth.header() {
                request = request.header("Authorization", value);
            }
            for (key, value) in query {
                request = request.query(*key, *value);
            }
            let mut response = request.call().map_err(|e| transport_error(url, &host, e))?;
            let status = response.status().as_u16();
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());
            let retry_after = header("retry-after");
            let date_added_last = header("x-taxii-date-added-last");
            let content_type = header("content-type");
            if status == 429 || (500..600).contains(&status) {
                let wait = retry_after.as_deref().and_then(parse_retry_after);
                if let Some(wait) = wait
                    && wait > MAX_RETRY_AFTER
                {
                    return Err(TaxiiError::Unreachable {
                        url: url.to_string(),
                        why: format!("HTTP {status}, and the server asks to wait {} s", wait.as_secs()),
                    });
                }
                if attempt <= self.retries {
                    let wait = wait.unwrap_or(self.backoff * 2u32.saturating_pow(attempt - 1));
                    sleep(wait, progress)?;
                    continue;
                }
                let tries = if attempt == 1 { "1 attempt".to_string() } else { format!("{attempt} attempts") };
                return Err(TaxiiError::Unreachable { url: url.to_string(), why: format!("HTTP {status}, {tries}") });
            }
            let body = response
                .body_mut()
                .with_config()
                .limit(BODY_LIMIT)
                .lossy_utf8(true)
                .read_to_string()
                .map_err(|e| transport_error(url, &host, e))?;
            return match status {
                200..=299 => Ok(Reply { body, date_added_last, content_type }),
                401 | 403 => {
                    Err(TaxiiError::Auth { user: self.auth.user().map(str::to_string), url: url.to_string(), status })
                }
                406 => Err(TaxiiError::NotTaxii {
                    url: url.to_string(),
                    why: format!("it does not serve {ACCEPT} (HTTP 406{})", error_detail(&body)),
                }),
                _ => Err(TaxiiError::Status { url: url.to_string(), status, detail: error_detail(&body) }),
            };
        }
    }
}

/// Parses an absolute http(s) URL.
pub fn parse_url(url: &str) -> Result<Uri, TaxiiError> {
    let bad = |why: &str| TaxiiError::BadUrl { url: url.to_string(), why: why.to_string() };
    let uri: Uri = url.parse().map_err(|e: ureq::http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("expected an http:// or https:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host name"));
    }
    Ok(uri)
}

/// `localhost` and the loopback ranges 127.0.0.0/8 and ::1.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Trusted roots from a PEM file, for servers signed by an in-house CA.
fn read_roots(path: &Path) -> Result<RootCerts, TaxiiError> {
    let fail = |why: String| TaxiiError::Tls { host: path.display().to_string(), why };
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read the CA certificates: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(fail(format!("not a PEM certificate file: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(fail("no PEM certificate in the file".into()));
    }
    Ok(RootCerts::new_with_certs(&certs.iter().map(Certificate::to_owned).collect::<Vec<_>>()))
}

/// Seconds; an HTTP date is left to the backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// Waits in short steps so that quitting during a backoff is not held up.
fn sleep(wait: Duration, progress: Option<&Progress>) -> Result<(), TaxiiError> {
    let step = Duration::from_millis(100);
    let mut left = wait;
    while !left.is_zero() {
        if progress.is_some_and(Progress::is_cancelled) {
            return Err(TaxiiError::Cancelled);
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    Ok(())
}

/// A TAXII error message's title and description, when the body is one; else a short excerpt.
fn error_detail(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorMessage {
        title: Option<String>,
        description: Option<String>,
    }
    match serde_json::from_str::<ErrorMessage>(body) {
        Ok(m) => [m.title, m.description].into_iter().flatten().collect::<Vec<_>>().join(": "),
        Err(_) => excerpt(body),
    }
}

/// The start of a text, on one line, for messages about answers that are not what was expected.
pub fn excerpt(body: &str) -> String {
    let line: String = crate::model::sanitize(body).split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

fn transport_error(url: &str, host: &str, e: ureq::Error) -> TaxiiError {
    let unreachable = |why: String| TaxiiError::Unreachable { url: url.to_string(), why };
    let tls = |why: String| TaxiiError::Tls { host: host.to_string(), why };
    match e {
        ureq::Error::Io(io) => {
            // rustls reports handshake failures through the socket's I/O errors.
            let text = io.to_string();
            if io.kind() == std::io::ErrorKind::InvalidData || text.contains("certificate") || text.contains("TLS") {
                return tls(text);
            }
            unreachable(match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::TimedOut => "timed out".into(),
                std::io::ErrorKind::ConnectionReset => "connection reset".into(),
                std::io::ErrorKind::UnexpectedEof => "the connection closed early".into(),
                _ => text,
            })
        }
        ureq::Error::HostNotFound => unreachable(format!("host {host} not found")),
        ureq::Error::ConnectionFailed => unreachable("connection failed".into()),
        ureq::Error::Timeout(t) => unreachable(format!("timed out: {t}")),
        ureq::Error::ConnectProxyFailed(why) => unreachable(format!("the proxy refused: {why}")),
        ureq::Error::Tls(why) => tls(why.to_string()),
        ureq::Error::Rustls(e) => tls(e.to_string()),
        ureq::Error::Pem(e) => tls(format!("{e:?}")),
        ureq::Error::Protocol(e) => {
            TaxiiError::NotTaxii { url: url.to_string(), why: format!("the answer is not HTTP ({e})") }
        }
        ureq::Error::RequireHttpsOnly(why) => {
            TaxiiError::PlainHttp { url: why.split_whitespace().last().unwrap_or(url).to_string() }
        }
        other => TaxiiError::Status { url: url.to_string(), status: 0, detail: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        let opts = TaxiiOptions::default();
        assert!(Client::new("http://127.0.0.1:9/taxii2/", &opts).is_ok());
        assert!(Client::new("http://[::1]:9/taxii2/", &opts).is_ok());
        assert!(Client::new("http://localhost/taxii2/", &opts).is_ok());
        let e = Client::new("http://cti.example.org/taxii2/", &opts).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("--allow-http")));
        let allow = TaxiiOptions { allow_http: true, ..TaxiiOptions::default() };
        assert!(Client::new("http://cti.example.org/taxii2/", &allow).is_ok());
        assert!(Client::new("https://cti.example.org/taxii2/", &opts).is_ok());
        assert!(matches!(Client::new("ftp://cti.example.org/", &opts), Err(TaxiiError::BadUrl { .. })));
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn error_bodies_read_as_taxii_error_messages() {
        assert_eq!(
            error_detail(r#"{"title": "ProcessingError", "description": "bad limit", "http_status": "400"}"#),
            "ProcessingError: bad limit"
        );
        assert_eq!(error_detail("<html>\n<b>oops</b>\x1b[2J</html>"), "<html> <b>oops</b></html>");
    }
}
