//! The ATT&CK technique catalog: the bundled table, or techniques read from an ATT&CK STIX bundle.

use serde::Deserialize;

use super::problem::{LoadError, Problem, Text};
use crate::model::{Catalog, Technique, is_attack_id};

/// Parses a catalog in the bundled table form: `[{"id", "name", "tactics"}]`.
pub fn parse_table(file: &str, text: &str) -> Result<Catalog, LoadError> {
    serde_json::from_str::<Vec<Technique>>(text)
        .map(Catalog::new)
        .map_err(|e| LoadError::Invalid(vec![Text::new(file, text).json_error(text, &e)]))
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    objects: Vec<Object>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    x_mitre_deprecated: bool,
    #[serde(default)]
    external_references: Vec<ExternalRef>,
    #[serde(default)]
    kill_chain_phases: Vec<Phase>,
}

#[derive(Deserialize)]
struct ExternalRef {
    #[serde(default)]
    source_name: String,
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct Phase {
    kill_chain_name: String,
    phase_name: String,
}

/// The ATT&CK id of an attack pattern, from whichever ATT&CK domain published it.
pub fn attack_external_id<'a>(refs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Option<&'a str> {
    refs.into_iter()
        .find(|(source, _)| source.starts_with("mitre-") && source.ends_with("attack"))
        .and_then(|(_, id)| id)
}

/// A technique from an attack pattern's ATT&CK id, name and kill chain phases: the tactics are
/// the phases of an ATT&CK kill chain (`mitre-attack`, `mitre-ics-attack`, ...), and the name is
/// the pattern's own without the id some bundles repeat in it. `None` when no name is left.
pub fn technique<'p>(id: &str, name: &str, phases: impl IntoIterator<Item = (&'p str, &'p str)>) -> Option<Technique> {
    let name = bare_name(name, id);
    if name.is_empty() {
        return None;
    }
    let tactics = phases
        .into_iter()
        .filter(|(chain, _)| chain.starts_with("mitre-"))
        .map(|(_, phase)| phase.to_string())
        .collect();
    Some(Technique { id: id.to_string(), name: name.to_string(), tactics })
}

/// Characters that part an id from the name around it: `T1566.001: X`, `T1566.001 - X`.
const SEPARATORS: &[char] = &[' ', ':', '-', '\u{2013}', '\u{2014}', '|', '.', ','];

/// A name without the technique id written before or after it: `T1566.001: Spearphishing
/// Attachment`, `[T1566.001] Spearphishing Attachment` and MISP's `Spearphishing Attachment -
/// T1566.001` all read `Spearphishing Attachment`. The id is compared without regard to case.
pub fn bare_name<'n>(name: &'n str, id: &str) -> &'n str {
    let name = name.trim();
    let id = id.trim();
    if id.is_empty() {
        return name;
    }
    let starts = |s: &str, p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let ends =
        |s: &str, p: &str| s.len() >= p.len() && s.get(s.len() - p.len()..).is_some_and(|t| t.eq_ignore_ascii_case(p));
    for (open, close) in [("", ""), ("[", "]"), ("(", ")")] {
        let wrapped = format!("{open}{id}{close}");
        if starts(name, &wrapped) {
            let rest = &name[wrapped.len()..];
            // `T1566.0011` is another id, not `T1566.001` and a name.
            if close.is_empty() && rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            return rest.trim_start_matches(SEPARATORS).trim();
        }
        if ends(name, &wrapped) {
            let rest = &name[..name.len() - wrapped.len()];
            if close.is_empty() && !rest.is_empty() && !rest.ends_with(SEPARATORS) {
                continue;
            }
            return rest.trim_end_matches(SEPARATORS).trim().trim_end_matches(['(', '[']).trim();
        }
    }
    name
}

/// The ATT&CK id a name begins or ends with (`T1566.001: Spearphishing Attachment`), for
/// attack patterns that carry no ATT&CK reference of their own.
pub fn attack_id_in_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let first = name.split_whitespace().next().map(trim_word);
    let last = name.split_whitespace().next_back().map(trim_word);
    [first, last].into_iter().flatten().find(|w| is_attack_id(w))
}

fn trim_word(w: &str) -> &str {
    w.trim_matches(|c: char| SEPARATORS.contains(&c) || "[]()".contains(c))
}

/// Reads the active (not revoked, not deprecated) techniques of an ATT&CK STIX 2.0/2.1 bundle.
pub fn parse_stix(file: &str, text: &str) -> Result<Catalog, LoadError> {
    let bundle: Bundle =
        serde_json::from_str(text).map_err(|e| LoadError::Invalid(vec![Text::new(file, text).json_error(text, &e)]))?;
    if bundle.kind != "bundle" {
        return Err(LoadError::Invalid(vec![Problem {
            file: file.to_string(),
            position: Some(Text::new(file, text).position_at(0)),
            record: None,
            field: Some("type".into()),
            message: format!("expected a STIX bundle (\"type\": \"bundle\"), found {:?}", bundle.kind),
        }]));
    }
    let techniques =
        bundle.objects.iter().filter(|o| o.kind == "attack-pattern" && !o.revoked && !o.x_mitre_deprecated).filter_map(
            |o| {
                let id = attack_external_id(
                    o.external_references.iter().map(|r| (r.source_name.as_str(), r.external_id.as_deref())),
                )?;
                let phases = o.kill_chain_phases.iter().map(|p| (p.kill_chain_name.as_str(), p.phase_name.as_str()));
                technique(id, &o.name, phases)
            },
        );
    Ok(Catalog::new(techniques))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_written_into_a_name_is_dropped() {
        for name in [
            "T1566.001: Spearphishing Attachment",
            "t1566.001 - Spearphishing Attachment",
            "[T1566.001] Spearphishing Attachment",
            "Spearphishing Attachment - T1566.001",
            "Spearphishing Attachment (T1566.001)",
            "Spearphishing Attachment",
        ] {
            assert_eq!(bare_name(name, "T1566.001"), "Spearphishing Attachment", "{name}");
        }
        assert_eq!(bare_name("T1566.0011 Other", "T1566.001"), "T1566.0011 Other", "another id is kept");
        assert_eq!(bare_name("CAPEC-163: Spear Phishing", "CAPEC-163"), "Spear Phishing");
        assert_eq!(bare_name("T1566", "T1566"), "");
    }

    #[test]
    fn an_attack_id_is_found_at_either_end_of_a_name() {
        assert_eq!(attack_id_in_name("T1566.001: Spearphishing Attachment"), Some("T1566.001"));
        assert_eq!(attack_id_in_name("Spearphishing Attachment - T1566.001"), Some("T1566.001"));
        assert_eq!(attack_id_in_name("[T1059] Command and Scripting Interpreter"), Some("T1059"));
        assert_eq!(attack_id_in_name("Spear Phishing"), None);
        assert_eq!(attack_id_in_name("CAPEC-163"), None);
    }

    #[test]
    fn techniques_take_tactics_from_attack_kill_chains_only() {
        let phases = [("mitre-attack", "initial-access"), ("lockheed-martin-cyber-kill-chain", "delivery")];
        let t = technique("T1566.001", "T1566.001: Spearphishing Attachment", phases).unwrap();
        assert_eq!(
            (t.name.as_str(), t.tactics.as_slice()),
            ("Spearphishing Attachment", ["initial-access".to_string()].as_slice())
        );
        assert_eq!(technique("T1566", "T1566", []), None, "a name that is only the id names nothing");
    }
}
