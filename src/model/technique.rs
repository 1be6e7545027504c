//! ATT&CK techniques: the references incidents make, and the catalog that names them.

use foldhash::HashMap;
use serde::{Deserialize, Serialize, Serializer};

use super::Str;

/// A technique an incident used: an ATT&CK id, or a technique of another framework (VERIS actions).
#[derive(Debug, Clone, PartialEq)]
pub enum TechniqueRef {
    Attack { id: Str, note: Option<Str> },
    Other { name: Str, framework: Option<Str>, note: Option<Str> },
}

impl TechniqueRef {
    pub fn attack_id(&self) -> Option<&str> {
        match self {
            TechniqueRef::Attack { id, .. } => Some(id),
            TechniqueRef::Other { .. } => None,
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            TechniqueRef::Attack { note, .. } | TechniqueRef::Other { note, .. } => note.as_deref(),
        }
    }
}

/// Written back in the shortest native form, so `list --json` output loads again unchanged.
impl Serialize for TechniqueRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            TechniqueRef::Attack { id, note: None } => s.serialize_str(id),
            TechniqueRef::Attack { id, note: Some(note) } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("note", note)?;
                m.end()
            }
            TechniqueRef::Other { name, framework, note } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("name", name)?;
                if let Some(f) = framework {
                    m.serialize_entry("framework", f)?;
                }
                if let Some(n) = note {
                    m.serialize_entry("note", n)?;
                }
                m.end()
            }
        }
    }
}

/// `T1566` or `T1566.001`.
pub fn is_attack_id(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..5]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..9]),
        _ => false,
    }
}

/// One ATT&CK technique: its id, name and the tactics (ATT&CK short names) it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
}

impl Technique {
    /// Its tactics as ATT&CK writes them: `Initial Access, Execution`.
    pub fn tactic_names(&self) -> String {
        self.tactics.iter().map(|t| tactic_name(t)).collect::<Vec<_>>().join(", ")
    }
}

/// Technique names by id. Looked up for every technique of every record, so hashed quickly
/// (the ids are public, not chosen to collide).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    by_id: HashMap<String, Technique>,
}

impl Catalog {
    pub fn new(techniques: impl IntoIterator<Item = Technique>) -> Self {
        Self { by_id: techniques.into_iter().map(|t| (t.id.clone(), t)).collect() }
    }

    /// Adds the techniques whose ids it does not hold yet: the names it has win, and of two new
    /// techniques with one id the first wins.
    pub fn add_missing(&mut self, techniques: impl IntoIterator<Item = Technique>) {
        for t in techniques {
            self.by_id.entry(t.id.clone()).or_insert(t);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Technique> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// All techniques, sorted by id.
    pub fn techniques(&self) -> Vec<&Technique> {
        let mut v: Vec<_> = self.by_id.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

/// `command-and-control` → `Command and Control`, as ATT&CK writes tactic names.
pub fn tactic_name(short: &str) -> String {
    short
        .split('-')
        .enumerate()
        .map(|(i, w)| match w {
            "and" | "of" if i > 0 => w.to_string(),
            _ => {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_have_the_attack_shape() {
        assert!(is_attack_id("T1566"));
        assert!(is_attack_id("T1566.001"));
        for bad in ["T156", "t1566", "T1566.1", "T1566-001", "S0001", "T15660"] {
            assert!(!is_attack_id(bad), "{bad}");
        }
    }

    #[test]
    fn tactic_short_names_read_as_attack_writes_them() {
        assert_eq!(tactic_name("initial-access"), "Initial Access");
        assert_eq!(tactic_name("command-and-control"), "Command and Control");
    }

    #[test]
    fn references_serialize_in_the_shortest_native_form() {
        let plain = TechniqueRef::Attack { id: "T1566".into(), note: None };
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#""T1566""#);
        let noted = TechniqueRef::Attack { id: "T1566".into(), note: Some("lure".into()) };
        assert_eq!(serde_json::to_string(&noted).unwrap(), r#"{"id":"T1566","note":"lure"}"#);
    }
}
