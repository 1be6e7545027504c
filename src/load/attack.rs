//! The ATT&CK technique catalog: the bundled table, or techniques read from an ATT&CK STIX bundle.

use serde::Deserialize;

use super::problem::{LoadError, Problem, Text};
use crate::model::{Catalog, Technique};

/// The bundled catalog: every technique the bundled dataset names, as ATT&CK v18.1 names it.
pub const BUNDLED: &str = include_str!("../../data/attack-techniques.json");

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
    let techniques = bundle
        .objects
        .into_iter()
        .filter(|o| o.kind == "attack-pattern" && !o.revoked && !o.x_mitre_deprecated)
        .filter_map(|o| {
            let id = attack_external_id(
                o.external_references.iter().map(|r| (r.source_name.as_str(), r.external_id.as_deref())),
            )?
            .to_string();
            let tactics = o
                .kill_chain_phases
                .into_iter()
                .filter(|p| p.kill_chain_name.starts_with("mitre-"))
                .map(|p| p.phase_name)
                .collect();
            Some(Technique { id, name: o.name, tactics })
        });
    Ok(Catalog::new(techniques))
}
