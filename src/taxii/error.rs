//! What can go wrong talking to a TAXII server or reading its cache, said so that an analyst
//! knows what to change: the credentials, the URL, the collection's name, the network.

/// Why a collection could not be opened or listed. Every variant is a usage or I/O error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TaxiiError {
    #[error("{url}: not a URL the tool can open: {why}")]
    BadUrl { url: String, why: String },

    /// Credentials would cross the network in clear text.
    #[error(
        "{url}: plain http:// is only used for loopback addresses (credentials and data would cross the network unencrypted); use https://, or --allow-http if you must"
    )]
    PlainHttp { url: String },

    /// 401 or 403.
    #[error("authentication failed{} at {url} (HTTP {status}){}", user_part(.user), auth_hint(.user, *.status))]
    Auth { user: Option<String>, url: String, status: u16 },

    #[error("no password for {user}: set INCIDENTS_TAXII_PASSWORD, or run in a terminal to be asked for it")]
    NoPassword { user: String },

    #[error("reading the password for {user}: {why}")]
    Prompt { user: String, why: String },

    /// A collection URL (or a `--collection` name) that the server does not have.
    #[error("no collection {wanted} at {url}; {}", choices(.available))]
    NoCollection { wanted: String, url: String, available: Vec<String> },

    /// Several collections carry the title asked for.
    #[error("{count} collections at {url} are titled {wanted:?}; name one by id: {}", .ids.join(", "))]
    Ambiguous { wanted: String, url: String, count: usize, ids: Vec<String> },

    /// A server or API root was given where a collection is needed.
    #[error("{url} is a TAXII server, not a collection: choose one with --collection TITLE|ID; {}", choices(.available))]
    NotACollection { url: String, available: Vec<String> },

    #[error("collection {title:?} at {url} is not readable for {}", .user.as_deref().unwrap_or("anonymous users"))]
    NotReadable { title: String, url: String, user: Option<String> },

    /// 406, or an answer that is not TAXII JSON at all.
    #[error("{url} is not a TAXII 2.1 server: {why}")]
    NotTaxii { url: String, why: String },

    /// Pages that do not hold what the standard says, with every problem found on the page.
    #[error("{url}: page {page} of the collection is not a valid TAXII envelope: {}", .problems.join("; "))]
    Envelope { url: String, page: usize, problems: Vec<String> },

    #[error("TLS with {host} failed: {why}")]
    Tls { host: String, why: String },

    /// The network or the server is down: the cache, when there is one, stands in.
    #[error("{url}: server unreachable ({why})")]
    Unreachable { url: String, why: String },

    /// Any other status the standard does not ask a client to handle.
    #[error("{url}: the server answered HTTP {status}{}", with_detail(.detail))]
    Status { url: String, status: u16, detail: String },

    #[error("{url}: {why}")]
    Cache { url: String, why: String },

    #[error("fetching was cancelled")]
    Cancelled,
}

impl TaxiiError {
    /// A failure of the network or the server, not of the request: the cached copy may be used.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TaxiiError::Unreachable { .. })
    }

    /// The short reason shown in "cached data from …: server unreachable (why)".
    pub fn reason(&self) -> String {
        match self {
            TaxiiError::Unreachable { why, .. } => why.clone(),
            other => other.to_string(),
        }
    }
}

fn user_part(user: &Option<String>) -> String {
    user.as_ref().map(|u| format!(" for {u}")).unwrap_or_default()
}

fn auth_hint(user: &Option<String>, status: u16) -> &'static str {
    match (user, status) {
        (_, 403) => ": the server refuses these credentials access",
        (None, _) => {
            ": give --user (password from INCIDENTS_TAXII_PASSWORD or a prompt), or a token in INCIDENTS_TAXII_TOKEN"
        }
        (Some(_), _) => ": check the user name and password",
    }
}

fn choices(available: &[String]) -> String {
    if available.is_empty() {
        "the server lists no collections for these credentials".to_string()
    } else {
        format!("the collections there are: {}", available.join(", "))
    }
}

fn with_detail(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_user_url_and_choices() {
        let e = TaxiiError::Auth { user: Some("alice".into()), url: "https://h/api/".into(), status: 401 };
        assert_eq!(
            e.to_string(),
            "authentication failed for alice at https://h/api/ (HTTP 401): check the user name and password"
        );
        let e = TaxiiError::NoCollection {
            wanted: "\"x\"".into(),
            url: "https://h/api/".into(),
            available: vec!["\"A\" (id 1)".into(), "\"B\" (id 2)".into()],
        };
        assert_eq!(
            e.to_string(),
            "no collection \"x\" at https://h/api/; the collections there are: \"A\" (id 1), \"B\" (id 2)"
        );
        assert!(TaxiiError::Unreachable { url: "u".into(), why: "connection refused".into() }.is_unreachable());
    }
}
