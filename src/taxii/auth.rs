//! Credentials: basic auth with a password from the environment or a prompt (never from the
//! command line, where `ps` and shell history would show it), or a bearer token (OpenCTI's way).

use std::fmt;
use std::io::IsTerminal;

use base64::Engine;

use super::TaxiiError;

pub const PASSWORD_VAR: &str = "INCIDENTS_TAXII_PASSWORD";
pub const TOKEN_VAR: &str = "INCIDENTS_TAXII_TOKEN";

/// How requests prove who sends them.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
}

/// Secrets stay out of debug output and logs.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Basic { user, .. } => write!(f, "Auth::Basic {{ user: {user:?}, password: <hidden> }}"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer(<hidden>)"),
        }
    }
}

impl Auth {
    /// With a user: basic auth, the password from `INCIDENTS_TAXII_PASSWORD` or asked on the
    /// terminal. Without: a bearer token from `INCIDENTS_TAXII_TOKEN`, else no credentials.
    pub fn resolve(user: Option<&str>) -> Result<Auth, TaxiiError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match user {
            Some(user) => {
                let password = match env(PASSWORD_VAR) {
                    Some(p) => p,
                    None => prompt(user)?,
                };
                Ok(Auth::Basic { user: user.to_string(), password })
            }
            None => Ok(env(TOKEN_VAR).map_or(Auth::None, Auth::Bearer)),
        }
    }

    /// The user name, for messages and to keep one user's cache apart from another's.
    pub fn user(&self) -> Option<&str> {
        match self {
            Auth::Basic { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The `Authorization` header's value.
    pub fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// Asks on the terminal without echo; a script with no terminal gets a clear error instead of a hang.
fn prompt(user: &str) -> Result<String, TaxiiError> {
    if !std::io::stdin().is_terminal() {
        return Err(TaxiiError::NoPassword { user: user.to_string() });
    }
    rpassword::prompt_password(format!("TAXII password for {user}: "))
        .map_err(|e| TaxiiError::Prompt { user: user.to_string(), why: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_debug_keep_secrets_out_of_sight() {
        let basic = Auth::Basic { user: "alice".into(), password: "s3cret".into() };
        assert_eq!(basic.header().as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert!(!format!("{basic:?}").contains("s3cret"));
        let bearer = Auth::Bearer("tok".into());
        assert_eq!(bearer.header().as_deref(), Some("Bearer tok"));
        assert!(!format!("{bearer:?}").contains("tok"));
        assert_eq!(Auth::None.header(), None);
    }
}
