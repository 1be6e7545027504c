//! VERIS 1.3/1.4 incidents, as the VERIS Community Database stores them: one incident object per
//! file. Only the fields the model needs are read; other fields (VCDB's `plus.*` among them) are
//! allowed. Every problem names the file, the position, the record and the field.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::Parsed;
use super::country::country_name;
use super::problem::{Problem, Text, json_kind};
use crate::model::{
    Actor, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, TechniqueRef, UNNAMED_ACTOR_LABELS, sanitize,
};

/// Parses one VERIS incident file.
pub fn parse(file: &str, text: &str, out: &mut Parsed) {
    let src = Text::new(file, text);
    let body = text.trim_start_matches('\u{feff}');
    match serde_json::from_str::<&RawValue>(body) {
        Ok(raw) => record(&src, raw, out),
        Err(e) => out.problems.push(src.json_error(body, &e)),
    }
}

type Map<'a> = BTreeMap<String, &'a RawValue>;

/// Reads fields of one record, collecting every problem instead of stopping at the first.
struct Reader<'s> {
    src: &'s Text<'s>,
    id: Option<String>,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, at: &RawValue, field: &str, message: impl Into<String>) {
        let p = self.src.problem(at.get(), self.id.as_deref(), Some(field), message);
        self.problems.push(p);
    }

    /// A field that is there and not `null` (null reads as absent).
    fn field<'a>(map: &Map<'a>, key: &str) -> Option<&'a RawValue> {
        map.get(key).copied().filter(|r| r.get() != "null")
    }

    fn typed<T: DeserializeOwned>(&mut self, raw: &RawValue, path: &str, expected: &str) -> Option<T> {
        match serde_json::from_str(raw.get()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(raw, path, format!("expected {expected}, found {}", json_kind(raw)));
                None
            }
        }
    }

    fn object<'a>(&mut self, raw: &'a RawValue, path: &str) -> Option<Map<'a>> {
        match serde_json::from_str::<Map<'a>>(raw.get()) {
            Ok(m) => Some(m),
            Err(_) => {
                let field = if path.is_empty() { "(record)" } else { path };
                self.problem(raw, field, format!("expected an object, found {}", json_kind(raw)));
                None
            }
        }
    }

    fn child<'a>(&mut self, map: &Map<'a>, path: &str, key: &str) -> Option<Map<'a>> {
        let raw = Self::field(map, key)?;
        self.object(raw, &join(path, key))
    }

    /// A string field; blank strings read as absent.
    fn string(&mut self, map: &Map, path: &str, key: &str) -> Option<String> {
        let raw = Self::field(map, key)?;
        let s: String = self.typed(raw, &join(path, key), "a string")?;
        let s = sanitize(&s);
        (!s.trim().is_empty()).then(|| s.trim().to_string())
    }

    /// An array of strings, each with its raw value for positions; blank items are dropped.
    fn strings<'a>(&mut self, map: &Map<'a>, path: &str, key: &str) -> Vec<(String, &'a RawValue)> {
        let Some(raw) = Self::field(map, key) else {
            return Vec::new();
        };
        let p = join(path, key);
        let Some(items) = self.typed_items(raw, &p) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            if let Some(s) = self.typed::<String>(item, &format!("{p}[{i}]"), "a string") {
                let s = sanitize(&s);
                if !s.trim().is_empty() {
                    out.push((s.trim().to_string(), item));
                }
            }
        }
        out
    }

    fn typed_items<'a>(&mut self, raw: &'a RawValue, path: &str) -> Option<Vec<&'a RawValue>> {
        match serde_json::from_str::<Vec<&'a RawValue>>(raw.get()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(raw, path, format!("expected an array, found {}", json_kind(raw)));
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// The action categories of VERIS, in the order the schema lists them.
const ACTIONS: [&str; 8] = ["hacking", "malware", "social", "error", "misuse", "physical", "environmental", "unknown"];

/// The actor categories of VERIS.
const ACTORS: [&str; 4] = ["external", "internal", "partner", "unknown"];

fn record(src: &Text, raw: &RawValue, out: &mut Parsed) {
    let mut r = Reader { src, id: None, problems: Vec::new() };
    let position = src.position_of(raw.get());
    let Some(root) = r.object(raw, "") else {
        out.problems.append(&mut r.problems);
        out.rejected.push(format!("record at {}:{}:{}", src.file, position.line, position.col));
        return;
    };
    // The id first, so every later problem can name the record.
    let id = r.string(&root, "", "incident_id");
    if id.is_none() && r.problems.is_empty() {
        r.problem(raw, "incident_id", "missing required field");
    }
    r.id = id.clone();

    let date = date(&mut r, &root, raw);
    let victim_map = r.child(&root, "", "victim").unwrap_or_default();
    // VCDB writes "Unknown" when the victim was not named: the fallback says more.
    let victim_id = r.string(&victim_map, "victim", "victim_id").filter(|v| !v.eq_ignore_ascii_case("unknown"));
    let countries = r.strings(&victim_map, "victim", "country");
    let country = countries.iter().map(|(c, _)| c.as_str()).find(|c| country_name(c).is_some());
    let location = country.and_then(country_name).map(str::to_string);
    let industry = r.string(&victim_map, "victim", "industry").as_deref().and_then(naics_sector);

    let (actors, motives) = actors(&mut r, &root);
    let categories = action_categories(&mut r, &root);
    let ttps = categories.iter().flat_map(|(_, ttps)| ttps.iter().cloned()).collect();
    let category_names: Vec<&str> = categories.iter().map(|(c, _)| *c).collect();

    let summary = r.string(&root, "", "summary").map(|s| unquote(&s).to_string()).unwrap_or_else(|| {
        if category_names.is_empty() {
            "No summary in the VERIS record.".to_string()
        } else {
            format!("No summary in the VERIS record; actions: {}.", category_names.join(", "))
        }
    });
    let description = r.string(&root, "", "notes");
    let cia = cia(&mut r, &root);
    let loss_usd = loss(&mut r, &root);
    let sources = r.string(&root, "", "reference").map(|s| sources(&s)).unwrap_or_default();

    let mut tags = vec!["veris".to_string()];
    if let Some(source_id) = r.string(&root, "", "source_id") {
        tags.push(source_id.to_lowercase());
    }
    tags.extend(category_names.iter().filter(|c| **c != "unknown").map(|c| c.to_string()));
    tags.dedup();

    let victim = victim_id.unwrap_or_else(|| {
        let parts: Vec<&str> = industry.iter().map(String::as_str).chain(country).collect();
        if parts.is_empty() { "Unnamed victim".to_string() } else { format!("Unnamed victim ({})", parts.join(", ")) }
    });

    if !r.problems.is_empty() {
        out.problems.append(&mut r.problems);
        out.rejected.push(id.unwrap_or_else(|| format!("record at {}:{}:{}", src.file, position.line, position.col)));
        return;
    }
    let (Some(id), Some(date)) = (id, date) else {
        return;
    };
    let incident = Incident {
        id,
        victim,
        name: None,
        date,
        location,
        industry,
        summary,
        description,
        loss_usd,
        cia,
        motives,
        ttps,
        actors,
        sources,
        related: Vec::new(),
        tags,
    };
    out.incidents.push((incident, src.offset_of(raw.get())));
}

/// `timeline.incident`: the year is required; month and day add precision when present.
fn date(r: &mut Reader, root: &Map, raw: &RawValue) -> Option<PartialDate> {
    let Some(timeline) = r.child(root, "", "timeline") else {
        if Reader::field(root, "timeline").is_none() {
            r.problem(raw, "timeline.incident.year", "missing required field");
        }
        return None;
    };
    let timeline_raw = root["timeline"];
    let Some(incident) = r.child(&timeline, "timeline", "incident") else {
        if Reader::field(&timeline, "incident").is_none() {
            r.problem(timeline_raw, "timeline.incident.year", "missing required field");
        }
        return None;
    };
    let incident_raw = timeline["incident"];
    let mut number = |key: &str| -> Option<(i64, &RawValue)> {
        let raw = Reader::field(&incident, key)?;
        let n = r.typed::<i64>(raw, &format!("timeline.incident.{key}"), "a whole number")?;
        Some((n, raw))
    };
    let year = number("year");
    let month = number("month");
    let day = number("day");
    let Some((year, year_raw)) = year else {
        if Reader::field(&incident, "year").is_none() {
            r.problem(incident_raw, "timeline.incident.year", "missing required field");
        }
        return None;
    };
    if !(1950..=2050).contains(&year) {
        r.problem(
            year_raw,
            "timeline.incident.year",
            format!("year {year} is out of range: VERIS allows 1950 to 2050"),
        );
        return None;
    }
    let mut text = year.to_string();
    if let Some((month, month_raw)) = month {
        if !(1..=12).contains(&month) {
            r.problem(month_raw, "timeline.incident.month", format!("month {month} is out of range: expected 1 to 12"));
            return None;
        }
        text.push_str(&format!("-{month:02}"));
        if let Some((day, day_raw)) = day {
            if !(1..=31).contains(&day) {
                r.problem(day_raw, "timeline.incident.day", format!("day {day} is out of range: expected 1 to 31"));
                return None;
            }
            text.push_str(&format!("-{day:02}"));
            return match PartialDate::parse(&text) {
                Ok(d) => Some(d),
                Err(e) => {
                    r.problem(day_raw, "timeline.incident.day", e);
                    None
                }
            };
        }
    }
    // A day without a month says nothing usable, so it is left out.
    PartialDate::parse(&text).ok()
}

/// NAICS 2-digit sectors (`victim.industry` is a NAICS code), named as the DBIR names them.
pub(super) fn naics_sector(code: &str) -> Option<String> {
    let prefix = code.trim().get(..2)?;
    let name = match prefix {
        "11" => "Agriculture",
        "21" => "Mining",
        "22" => "Utilities",
        "23" => "Construction",
        "31" | "32" | "33" => "Manufacturing",
        "42" => "Wholesale Trade",
        "44" | "45" => "Retail",
        "48" | "49" => "Transportation",
        "51" => "Information",
        "52" => "Finance",
        "53" => "Real Estate",
        "54" => "Professional Services",
        "55" => "Management of Companies",
        "56" => "Administrative Services",
        "61" => "Education",
        "62" => "Healthcare",
        "71" => "Entertainment",
        "72" => "Accommodation and Food Services",
        "81" => "Other Services",
        "92" => "Public Administration",
        _ => return None,
    };
    Some(name.to_string())
}

fn motive(value: &str) -> Result<Option<Motive>, ()> {
    Ok(Some(match value {
        "Financial" => Motive::Financial,
        "Espionage" => Motive::Espionage,
        "Ideology" => Motive::Ideology,
        "Grudge" => Motive::Grudge,
        "Fun" => Motive::Fun,
        "Convenience" => Motive::Convenience,
        "Fear" => Motive::Fear,
        "Secondary" => Motive::Secondary,
        "Other" => Motive::Other,
        "Unknown" => Motive::Unknown,
        "NA" => return Ok(None),
        _ => return Err(()),
    }))
}

/// The actor type an external actor's varieties support, strongest claim first.
fn external_type(varieties: &[&str]) -> ActorType {
    let ranked = [
        ("Nation-state", ActorType::NationState),
        ("State-affiliated", ActorType::StateAffiliated),
        ("Organized crime", ActorType::OrganizedCrime),
        ("Activist", ActorType::Hacktivist),
        ("Unaffiliated", ActorType::Unaffiliated),
        ("Acquaintance", ActorType::Unaffiliated),
        ("Former employee", ActorType::Unaffiliated),
        ("Customer", ActorType::Unaffiliated),
    ];
    ranked.into_iter().find(|(v, _)| varieties.contains(v)).map_or(ActorType::Unknown, |(_, t)| t)
}

/// `actor.<category>`: one actor per category present, and the union of their motives.
fn actors(r: &mut Reader, root: &Map) -> (Vec<Actor>, Vec<Motive>) {
    let mut actors = Vec::new();
    let mut motives = Vec::new();
    let Some(actor_map) = r.child(root, "", "actor") else {
        return (actors, motives);
    };
    for category in ACTORS {
        let path = format!("actor.{category}");
        let Some(a) = r.child(&actor_map, "actor", category) else {
            continue;
        };
        for (i, (value, raw)) in r.strings(&a, &path, "motive").into_iter().enumerate() {
            match motive(&value) {
                Ok(Some(m)) if !motives.contains(&m) => motives.push(m),
                Ok(_) => {}
                Err(()) => r.problem(
                    raw,
                    &format!("{path}.motive[{i}]"),
                    format!(
                        "unknown motive {value:?}, expected one of: Financial, Espionage, Ideology, Grudge, Fun, \
                         Convenience, Fear, Secondary, Other, Unknown, NA"
                    ),
                ),
            }
        }
        let varieties: Vec<String> = r.strings(&a, &path, "variety").into_iter().map(|(v, _)| v).collect();
        let varieties: Vec<&str> = varieties.iter().map(String::as_str).collect();
        let location = r.strings(&a, &path, "country").iter().find_map(|(c, _)| country_name(c)).map(str::to_string);
        let names: Vec<String> = match category {
            "external" => r.strings(&a, &path, "name").into_iter().map(|(n, _)| n).filter(|n| !is_uuid(n)).collect(),
            _ => Vec::new(),
        };
        let kind = match category {
            "external" => external_type(&varieties),
            "internal" => ActorType::Insider,
            _ => ActorType::Unknown,
        };
        // The model's labels for unnamed actors, so they do not tie unrelated incidents together.
        let [_, external, internal, partner, unknown] = UNNAMED_ACTOR_LABELS;
        let label = match category {
            "external" => external,
            "internal" => internal,
            "partner" => partner,
            _ => unknown,
        };
        let shown: Vec<&str> = varieties.iter().copied().filter(|v| *v != "Unknown").collect();
        let mut names = names.into_iter();
        let name = names.next().unwrap_or_else(|| {
            if shown.is_empty() { label.to_string() } else { format!("{label} ({})", shown.join(", ")) }
        });
        actors.push(Actor { name, kind, location, aliases: names.collect() });
    }
    motives.sort();
    (actors, motives)
}

/// `action.<category>.variety` values as VERIS techniques, grouped by category in schema order.
fn action_categories(r: &mut Reader, root: &Map) -> Vec<(&'static str, Vec<TechniqueRef>)> {
    let Some(action) = r.child(root, "", "action") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for category in ACTIONS {
        let Some(a) = r.child(&action, "action", category) else {
            continue;
        };
        let mut ttps: Vec<TechniqueRef> = Vec::new();
        for (variety, _) in r.strings(&a, &format!("action.{category}"), "variety") {
            let t = TechniqueRef::Other {
                name: format!("{}: {variety}", capitalize(category)),
                framework: Some("VERIS".to_string()),
                note: None,
            };
            if !ttps.contains(&t) {
                ttps.push(t);
            }
        }
        out.push((category, ttps));
    }
    out
}

/// `attribute.*` present means the record says that property was affected; absent says nothing.
fn cia(r: &mut Reader, root: &Map) -> Option<Cia> {
    let attribute = r.child(root, "", "attribute")?;
    let mut impact = |key: &str| match r.child(&attribute, "attribute", key) {
        Some(_) => Impact::Affected,
        None => Impact::Unknown,
    };
    let (confidentiality, integrity, availability) =
        (impact("confidentiality"), impact("integrity"), impact("availability"));
    if [confidentiality, integrity, availability].iter().all(|i| *i == Impact::Unknown) {
        return None;
    }
    let note = r
        .child(&attribute, "attribute", "confidentiality")
        .and_then(|c| r.string(&c, "attribute.confidentiality", "data_disclosure"))
        .map(|d| format!("Data disclosure (VERIS): {d}"));
    Some(Cia { confidentiality, integrity, availability, note })
}

/// `impact.overall_amount`, only when it is in US dollars.
fn loss(r: &mut Reader, root: &Map) -> Option<u64> {
    let impact = r.child(root, "", "impact")?;
    let currency = r.string(&impact, "impact", "iso_currency_code");
    let raw = Reader::field(&impact, "overall_amount")?;
    let amount: f64 = r.typed(raw, "impact.overall_amount", "a number")?;
    if amount < 0.0 || !amount.is_finite() {
        r.problem(raw, "impact.overall_amount", format!("expected a positive amount, found {amount}"));
        return None;
    }
    // Amounts above u64 range saturate, which is the intended reading of an absurd figure.
    (currency.as_deref() == Some("USD")).then(|| amount.round() as u64)
}

/// `reference` is free text: usually URLs separated by `;`, sometimes case numbers or titles.
fn sources(reference: &str) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    for part in reference.split(';') {
        let mut words = Vec::new();
        for word in part.split_whitespace() {
            if word.starts_with("http://") || word.starts_with("https://") {
                let url = word.trim_end_matches([',', '.', ')']).to_string();
                if !out.iter().any(|s| s.url.as_deref() == Some(&url)) {
                    out.push(Source { title: None, publisher: None, url: Some(url), date: None });
                }
            } else {
                words.push(word);
            }
        }
        let title = words.join(" ");
        if !title.is_empty() {
            out.push(Source { title: Some(title), publisher: None, url: None, date: None });
        }
    }
    out
}

/// Some VCDB summaries are wrapped in a pair of literal double quotes.
fn unquote(s: &str) -> &str {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') && !inner.trim().is_empty() => inner.trim(),
        _ => s,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// VCDB sometimes stores a record id where an actor's name belongs.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Position;

    fn parse_one(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("t.json", text, &mut out);
        out
    }

    const MINIMAL: &str = r#"{"incident_id": "x-1", "schema_version": "1.3.7",
        "timeline": {"incident": {"year": 2021, "month": 2, "day": 28}},
        "victim": {"industry": "622110", "country": ["US"]},
        "action": {"hacking": {"variety": ["Exploit vuln", "Exploit vuln"]}, "malware": {"variety": ["Ransomware"]}},
        "actor": {"external": {"variety": ["Organized crime"], "motive": ["Financial", "NA"], "country": ["RU"]}},
        "attribute": {"availability": {"variety": ["Interruption"]}},
        "impact": {"overall_amount": 1500.4, "iso_currency_code": "USD"},
        "reference": "https://a.example/x; Case 42 https://b.example/y,"}"#;

    #[test]
    fn a_minimal_record_maps_every_field() {
        let out = parse_one(MINIMAL);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let (i, pos) = &out.incidents[0];
        assert_eq!(*pos, 0, "the record starts the file");
        assert_eq!(i.id, "x-1");
        assert_eq!(i.victim, "Unnamed victim (Healthcare, US)");
        assert_eq!(i.date.to_string(), "2021-02-28");
        assert_eq!(i.location.as_deref(), Some("United States"));
        assert_eq!(i.summary, "No summary in the VERIS record; actions: hacking, malware.");
        assert_eq!(i.motives, vec![Motive::Financial]);
        assert_eq!(i.actors[0].name, "External actor (Organized crime)");
        assert_eq!(i.actors[0].kind, ActorType::OrganizedCrime);
        assert_eq!(i.actors[0].location.as_deref(), Some("Russia"));
        let names: Vec<_> = i.ttps.iter().map(|t| serde_json::to_string(t).unwrap()).collect();
        assert_eq!(
            names,
            [
                r#"{"name":"Hacking: Exploit vuln","framework":"VERIS"}"#,
                r#"{"name":"Malware: Ransomware","framework":"VERIS"}"#
            ]
        );
        let cia = i.cia.as_ref().unwrap();
        assert_eq!((cia.confidentiality, cia.availability), (Impact::Unknown, Impact::Affected));
        assert_eq!(i.loss_usd, Some(1500));
        let urls: Vec<_> = i.sources.iter().map(|s| s.url.as_deref().or(s.title.as_deref()).unwrap()).collect();
        assert_eq!(urls, ["https://a.example/x", "https://b.example/y", "Case 42"]);
        assert_eq!(i.tags, ["veris", "hacking", "malware"]);
    }

    #[test]
    fn other_currencies_and_bad_days_are_not_invented() {
        let text = MINIMAL.replace("\"USD\"", "\"EUR\"");
        assert_eq!(parse_one(&text).incidents[0].0.loss_usd, None);
        let out = parse_one(&MINIMAL.replace("\"day\": 28", "\"day\": 30"));
        assert!(out.incidents.is_empty());
        assert_eq!(out.problems[0].field.as_deref(), Some("timeline.incident.day"));
        assert_eq!(out.rejected, ["x-1"]);
    }

    #[test]
    fn wrong_types_name_record_field_and_position() {
        let out = parse_one(&MINIMAL.replace("\"year\": 2021", "\"year\": \"2021\""));
        let p = &out.problems[0];
        assert_eq!(p.record.as_deref(), Some("x-1"));
        assert_eq!(p.field.as_deref(), Some("timeline.incident.year"));
        assert_eq!(p.position, Some(Position { line: 2, col: 43 }));
        assert!(p.message.contains("expected a whole number, found a string"), "{}", p.message);
    }

    #[test]
    fn malformed_json_has_a_position_and_never_panics() {
        let out = parse_one("{\n  \"incident_id\": \"x\",\n  \"timeline\": {\n}");
        assert_eq!(out.problems.len(), 1);
        assert!(out.problems[0].message.starts_with("invalid JSON"), "{}", out.problems[0].message);
        assert_eq!(out.problems[0].position.map(|p| p.line), Some(4));
        for text in [
            "",
            "[]",
            "null",
            "\"x\"",
            "{\"incident_id\": 5}",
            "{\"victim\": []}",
            "\u{feff}{}",
            "{\"actor\": {\"external\": {\"motive\": [\"Greed\"]}}}",
        ] {
            let out = parse_one(text);
            assert!(out.incidents.is_empty() && !out.problems.is_empty(), "{text}");
        }
    }

    #[test]
    fn naics_prefixes_name_sectors() {
        assert_eq!(naics_sector("622110").as_deref(), Some("Healthcare"));
        assert_eq!(naics_sector("31-33").as_deref(), Some("Manufacturing"));
        assert_eq!(naics_sector("000"), None);
        assert_eq!(naics_sector("9"), None);
    }
}
