//! The incident record and its parts, independent of any file format or screen.

mod actor;
mod date;
mod ids;
mod technique;
mod text;

use std::sync::Arc;

pub use actor::{ActorCatalog, ActorProfile, lookup_key as actor_lookup_key};
pub use date::PartialDate;
pub use ids::IdHashes;
pub use technique::{Catalog, Technique, TechniqueRef, is_attack_id, tactic_name};
pub use text::{needs_cleaning, sanitize, sanitize_owned, to_ascii};

use serde::Serialize;

/// Text of a record: borrowed from the loaded file where the file has it as it is shown (most
/// text of a large file), owned where it had to be decoded or cleaned, or was made.
pub type Str = std::borrow::Cow<'static, str>;

/// One cyber incident, as the native format describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: Str,
    pub victim: Str,
    /// The name the incident or campaign is known by ("NotPetya", "Operation Aurora").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    #[serde(serialize_with = "serialize_date")]
    pub date: PartialDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<Str>,
    pub summary: Str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_usd: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cia: Option<Cia>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub motives: Vec<Motive>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttps: Vec<TechniqueRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<Arc<Actor>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Str>,
}

fn serialize_date<S: serde::Serializer>(d: &PartialDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

impl Incident {
    /// The actor shown in the list: the first one named.
    pub fn first_actor(&self) -> Option<&Actor> {
        self.actors.first().map(|a| &**a)
    }
}

/// Confidentiality, integrity and availability: what the incident touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cia {
    pub confidentiality: Impact,
    pub integrity: Impact,
    pub availability: Impact,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    Affected,
    NotAffected,
    Unknown,
}

impl Impact {
    pub const ALL: [Impact; 3] = [Impact::Affected, Impact::NotAffected, Impact::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Affected => "affected",
            Impact::NotAffected => "not-affected",
            Impact::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// Why the actor acted: the VERIS actor motives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Motive {
    Financial,
    Espionage,
    Ideology,
    Grudge,
    Fun,
    Convenience,
    Fear,
    Secondary,
    Other,
    Unknown,
}

impl Motive {
    pub const ALL: [Motive; 10] = [
        Motive::Financial,
        Motive::Espionage,
        Motive::Ideology,
        Motive::Grudge,
        Motive::Fun,
        Motive::Convenience,
        Motive::Fear,
        Motive::Secondary,
        Motive::Other,
        Motive::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Motive::Financial => "financial",
            Motive::Espionage => "espionage",
            Motive::Ideology => "ideology",
            Motive::Grudge => "grudge",
            Motive::Fun => "fun",
            Motive::Convenience => "convenience",
            Motive::Fear => "fear",
            Motive::Secondary => "secondary",
            Motive::Other => "other",
            Motive::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What the motive means, in the words of the VERIS definitions.
    pub fn meaning(self) -> &'static str {
        match self {
            Motive::Financial => "Financial or personal gain",
            Motive::Espionage => "Espionage or competitive advantage",
            Motive::Ideology => "Ideology or protest",
            Motive::Grudge => "Grudge or personal offense",
            Motive::Fun => "Fun, curiosity or pride",
            Motive::Convenience => "Convenience or expediency",
            Motive::Fear => "Fear or duress",
            Motive::Secondary => "Helping another attack (a means to another end)",
            Motive::Other => "Another motive than those listed",
            Motive::Unknown => "Motive not known",
        }
    }
}

/// Who did it. Incidents share their actors: a dataset names the same few actors again and again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Actor {
    pub name: Str,
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Str>,
}

/// Labels that describe an actor nobody named: `Unknown`, or a role such as
/// `External actor (Organized crime)` as VERIS records give it. Such actors are shown, but they
/// do not tie incidents together.
pub const UNNAMED_ACTOR_LABELS: [&str; 5] = ["Unknown", "External actor", "Internal actor", "Partner", "Unknown actor"];

impl Actor {
    /// Whether the actor has a name of its own, as opposed to a description of its role.
    pub fn is_named(&self) -> bool {
        Self::name_is_named(&self.name)
    }

    /// Whether an actor of this name has a name of its own.
    pub fn name_is_named(name: &str) -> bool {
        !UNNAMED_ACTOR_LABELS.iter().any(|label| {
            name.eq_ignore_ascii_case(label) || name.strip_prefix(label).is_some_and(|rest| rest.starts_with(" ("))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorType {
    NationState,
    StateAffiliated,
    OrganizedCrime,
    Hacktivist,
    Insider,
    Unaffiliated,
    Unknown,
}

impl ActorType {
    pub const ALL: [ActorType; 7] = [
        ActorType::NationState,
        ActorType::StateAffiliated,
        ActorType::OrganizedCrime,
        ActorType::Hacktivist,
        ActorType::Insider,
        ActorType::Unaffiliated,
        ActorType::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::NationState => "nation-state",
            ActorType::StateAffiliated => "state-affiliated",
            ActorType::OrganizedCrime => "organized-crime",
            ActorType::Hacktivist => "hacktivist",
            ActorType::Insider => "insider",
            ActorType::Unaffiliated => "unaffiliated",
            ActorType::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where the facts come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Str>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_date")]
    pub date: Option<PartialDate>,
}

impl Source {
    /// What the source is called: its title, else its address.
    pub fn heading(&self) -> &str {
        self.title.as_deref().or(self.url.as_deref()).unwrap_or_default()
    }

    /// Who published it and when: `SC Media, 28 Jul 2023`.
    pub fn byline(&self) -> Option<String> {
        let parts: Vec<String> =
            self.publisher.iter().map(|p| p.to_string()).chain(self.date.map(|d| d.display())).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The address, when the heading is the title and so does not show it.
    pub fn url_below(&self) -> Option<&str> {
        self.title.as_ref().and(self.url.as_deref())
    }
}

fn serialize_opt_date<S: serde::Serializer>(d: &Option<PartialDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// A loaded dataset: the incidents, the technique catalog to name their TTPs, the actor catalog,
/// and where they came from.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub incidents: Vec<Incident>,
    pub catalog: Catalog,
    /// The actors records may name by name or alias (the bundled `data/actors.json`).
    pub actors: Arc<ActorCatalog>,
    /// Shown in the title bar: "bundled dataset" or the file names.
    pub label: String,
    /// Records left out under `--skip-invalid`, one line each.
    pub skipped: Vec<String>,
    /// The records left out, by id or place: one problem may reject a record, or a whole file.
    pub rejected: Vec<String>,
    /// What a loader left out on purpose, one line each: objects that make no incident,
    /// revoked objects, references to objects not in the file. Never errors.
    pub notes: Vec<String>,
    /// Said once, on stderr and in the title bar: "cached data from …: server unreachable (…)".
    pub warnings: Vec<String>,
    /// The incidents by id hash, as the load found them checking for repeated ids, for the search
    /// index to start from. `None` where the load did not keep them (ids were dropped or renamed);
    /// whoever changes `incidents` after the load must set it to `None`.
    pub ids: Option<IdHashes>,
}

/// A loss as analysts say it: `$37.3M`, `$1.5B`, `$850K`, `$9,500`.
pub fn format_usd(n: u64) -> String {
    let scaled = |div: f64, unit: &str| {
        let v = n as f64 / div;
        let s = if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
        format!("${}{unit}", s.trim_end_matches(".0"))
    };
    match n {
        1_000_000_000.. => scaled(1e9, "B"),
        1_000_000.. => scaled(1e6, "M"),
        10_000.. => scaled(1e3, "K"),
        _ => format!("${}", group_thousands(n)),
    }
}

/// `1500000000` → `1,500,000,000`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Actor, ActorType, format_usd};

    #[test]
    fn role_descriptions_are_not_names() {
        let actor = |name: &str| Actor {
            name: name.to_string().into(),
            kind: ActorType::Unknown,
            location: None,
            aliases: vec![],
        };
        assert!(actor("Lazarus Group").is_named());
        assert!(actor("Partners in Crime").is_named());
        for unnamed in [
            "Unknown",
            "unknown",
            "External actor",
            "External actor (Organized crime)",
            "Internal actor (System admin)",
        ] {
            assert!(!actor(unnamed).is_named(), "{unnamed}");
        }
    }

    #[test]
    fn losses_read_as_analysts_write_them() {
        assert_eq!(format_usd(37_300_000), "$37.3M");
        assert_eq!(format_usd(1_500_000_000), "$1.5B");
        assert_eq!(format_usd(4_400_000), "$4.4M");
        assert_eq!(format_usd(625_000_000), "$625M");
        assert_eq!(format_usd(850_000), "$850K");
        assert_eq!(format_usd(9_500), "$9,500");
        assert_eq!(format_usd(2_000_000), "$2M");
    }
}
