//! VERIS 1.3/1.4 incidents, as the VERIS Community Database stores them: one incident object per
//! file. Only the fields the model needs are read; other fields (VCDB's `plus.*` among them) are
//! allowed. Every problem names the file, the position, the record and the field.

use serde_json::value::RawValue;
use std::sync::Arc;

use super::Parsed;
use super::country::country_name;
use super::problem::Text;
use super::reader::{Fields, Reader};
use crate::model::{
    Actor, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, TechniqueRef, UNNAMED_ACTOR_LABELS,
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

/// The action categories of VERIS, in the order the schema lists them.
const ACTIONS: [&str; 8] = ["hacking", "malware", "social", "error", "misuse", "physical", "environmental", "unknown"];

/// The actor categories of VERIS.
const ACTORS: [&str; 4] = ["external", "internal", "partner", "unknown"];

fn record(src: &Text, raw: &RawValue, out: &mut Parsed) {
    let mut r = Reader::new(src);
    let position = src.position_of(raw.get());
    let unplaced = || format!("record at {}:{}:{}", src.file, position.line, position.col);
    let Some(root) = r.object(raw, "") else {
        out.problems.append(&mut r.take_problems());
        out.rejected.push(unplaced());
        return;
    };
    // The id first, so every later problem can name the record.
    let id = r.text_of(&root, "incident_id");
    if id.is_none() && r.count() == 0 {
        r.problem(raw.get(), "incident_id", "missing required field");
    }
    r.set_record(id.clone());

    let date = date(&mut r, &root);
    let victim_map = r.child(&root, "victim");
    // VCDB writes "Unknown" when the victim was not named: the fallback says more.
    let victim_id =
        victim_map.as_ref().and_then(|v| r.text_of(v, "victim_id")).filter(|v| !v.eq_ignore_ascii_case("unknown"));
    let countries = victim_map.as_ref().map(|v| r.texts_of(v, "country")).unwrap_or_default();
    let country = countries.iter().map(|(c, _)| c.as_str()).find(|c| country_name(c).is_some());
    let location = country.and_then(country_name).map(str::to_string);
    let industry = victim_map.as_ref().and_then(|v| r.text_of(v, "industry")).as_deref().and_then(naics_sector);

    let (actors, motives) = actors(&mut r, &root);
    let categories = action_categories(&mut r, &root);
    let ttps = categories.iter().flat_map(|(_, ttps)| ttps.iter().cloned()).collect();
    let category_names: Vec<&str> = categories.iter().map(|(c, _)| *c).collect();

    let summary = r.text_of(&root, "summary").map(|s| unquote(&s).to_string()).unwrap_or_else(|| {
        if category_names.is_empty() {
            "No summary in the VERIS record.".to_string()
        } else {
            format!("No summary in the VERIS record; actions: {}.", category_names.join(", "))
        }
    });
    let description = r.text_of(&root, "notes");
    let cia = cia(&mut r, &root);
    let loss_usd = loss(&mut r, &root);
    let sources = r.text_of(&root, "reference").map(|s| sources(&s)).unwrap_or_default();

    let mut tags = vec!["veris".to_string()];
    if let Some(source_id) = r.text_of(&root, "source_id") {
        tags.push(source_id.to_lowercase());
    }
    tags.extend(category_names.iter().filter(|c| **c != "unknown").map(|c| c.to_string()));
    tags.dedup();

    let victim = victim_id.unwrap_or_else(|| {
        let parts: Vec<&str> = industry.iter().map(String::as_str).chain(country).collect();
        if parts.is_empty() { "Unnamed victim".to_string() } else { format!("Unnamed victim ({})", parts.join(", ")) }
    });

    if r.count() > 0 {
        out.problems.append(&mut r.take_problems());
        out.rejected.push(id.unwrap_or_else(unplaced));
        return;
    }
    let (Some(id), Some(date)) = (id, date) else {
        return;
    };
    let incident = Incident {
        id: id.into(),
        victim: victim.into(),
        name: None,
        date,
        location: location.map(Into::into),
        industry: industry.map(Into::into),
        summary: summary.into(),
        description: description.map(Into::into),
        loss_usd,
        cia,
        motives,
        ttps,
        actors: actors.into_iter().map(Arc::new).collect(),
        sources,
        related: Vec::new(),
        tags: tags.into_iter().map(Into::into).collect(),
    };
    out.incidents.push((incident, src.offset_of(raw.get())));
}

/// `timeline.incident`: the year is required; month and day add precision when present.
fn date(r: &mut Reader, root: &Fields) -> Option<PartialDate> {
    let missing = "timeline.incident.year";
    let Some(timeline) = r.child(root, "timeline") else {
        if root.get("timeline").is_none() {
            r.problem(root.raw.get(), missing, "missing required field");
        }
        return None;
    };
    let Some(incident) = r.child(&timeline, "incident") else {
        if timeline.get("incident").is_none() {
            r.problem(timeline.raw.get(), missing, "missing required field");
        }
        return None;
    };
    let mut number = |key: &str| -> Option<(i64, &RawValue)> {
        let raw = incident.get(key)?;
        let n = r.typed::<i64>(raw, &incident.path_of(key), "a whole number")?;
        Some((n, raw))
    };
    let year = number("year");
    let month = number("month");
    let day = number("day");
    let Some((year, year_raw)) = year else {
        if incident.get("year").is_none() {
            r.problem(incident.raw.get(), missing, "missing required field");
        }
        return None;
    };
    if !(1950..=2050).contains(&year) {
        let message = format!("year {year} is out of range: VERIS allows 1950 to 2050");
        r.problem(year_raw.get(), missing, message);
        return None;
    }
    let mut text = year.to_string();
    if let Some((month, month_raw)) = month {
        if !(1..=12).contains(&month) {
            let message = format!("month {month} is out of range: expected 1 to 12");
            r.problem(month_raw.get(), "timeline.incident.month", message);
            return None;
        }
        text.push_str(&format!("-{month:02}"));
        if let Some((day, day_raw)) = day {
            if !(1..=31).contains(&day) {
                let message = format!("day {day} is out of range: expected 1 to 31");
                r.problem(day_raw.get(), "timeline.incident.day", message);
                return None;
            }
            text.push_str(&format!("-{day:02}"));
            return match PartialDate::parse(&text) {
                Ok(d) => Some(d),
                Err(e) => {
                    r.problem(day_raw.get(), "timeline.incident.day", e);
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
fn actors(r: &mut Reader, root: &Fields) -> (Vec<Actor>, Vec<Motive>) {
    let mut actors = Vec::new();
    let mut motives = Vec::new();
    let Some(actor_map) = r.child(root, "actor") else {
        return (actors, motives);
    };
    for category in ACTORS {
        let Some(a) = r.child(&actor_map, category) else {
            continue;
        };
        for (i, (value, raw)) in r.texts_of(&a, "motive").into_iter().enumerate() {
            match motive(&value) {
                Ok(Some(m)) if !motives.contains(&m) => motives.push(m),
                Ok(_) => {}
                Err(()) => r.problem(
                    raw.get(),
                    &format!("{}[{i}]", a.path_of("motive")),
                    format!(
                        "unknown motive {value:?}, expected one of: Financial, Espionage, Ideology, Grudge, Fun, \
                         Convenience, Fear, Secondary, Other, Unknown, NA"
                    ),
                ),
            }
        }
        let varieties: Vec<String> = r.texts_of(&a, "variety").into_iter().map(|(v, _)| v).collect();
        let varieties: Vec<&str> = varieties.iter().map(String::as_str).collect();
        let location = r.texts_of(&a, "country").iter().find_map(|(c, _)| country_name(c)).map(str::to_string);
        let names: Vec<String> = match category {
            "external" => r.texts_of(&a, "name").into_iter().map(|(n, _)| n).filter(|n| !is_uuid(n)).collect(),
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
        actors.push(Actor {
            name: name.into(),
            kind,
            location: location.map(Into::into),
            aliases: names.map(Into::into).collect(),
        });
    }
    motives.sort();
    (actors, motives)
}

/// `action.<category>.variety` values as VERIS techniques, grouped by category in schema order.
fn action_categories(r: &mut Reader, root: &Fields) -> Vec<(&'static str, Vec<TechniqueRef>)> {
    let Some(action) = r.child(root, "action") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for category in ACTIONS {
        let Some(a) = r.child(&action, category) else {
            continue;
        };
        let mut ttps: Vec<TechniqueRef> = Vec::new();
        for (variety, _) in r.texts_of(&a, "variety") {
            let t = TechniqueRef::Other {
                name: format!("{}: {variety}", capitalize(category)).into(),
                framework: Some("VERIS".into()),
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
fn cia(r: &mut Reader, root: &Fields) -> Option<Cia> {
    let attribute = r.child(root, "attribute")?;
    let mut impact = |key: &str| match r.child(&attribute, key) {
        Some(_) => Impact::Affected,
        None => Impact::Unknown,
    };
    let (confidentiality, integrity, availability) =
        (impact("confidentiality"), impact("integrity"), impact("availability"));
    if [confidentiality, integrity, availability].iter().all(|i| *i == Impact::Unknown) {
        return None;
    }
    let note = r
        .child(&attribute, "confidentiality")
        .and_then(|c| r.text_of(&c, "data_disclosure"))
        .map(|d| format!("Data disclosure (VERIS): {d}"));
    Some(Cia { confidentiality, integrity, availability, note: note.map(Into::into) })
}

/// `impact.overall_amount`, only when it is in US dollars.
fn loss(r: &mut Reader, root: &Fields) -> Option<u64> {
    let impact = r.child(root, "impact")?;
    let currency = r.text_of(&impact, "iso_currency_code");
    let raw = impact.get("overall_amount")?;
    let amount: f64 = r.typed(raw, "impact.overall_amount", "a number")?;
    if amount < 0.0 || !amount.is_finite() {
        r.problem(raw.get(), "impact.overall_amount", format!("expected a positive amount, found {amount}"));
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
                    out.push(Source { title: None, publisher: None, url: Some(url.into()), date: None });
                }
            } else {
                words.push(word);
            }
        }
        let title = words.join(" ");
        if !title.is_empty() {
            out.push(Source { title: Some(title.into()), publisher: None, url: None, date: None });
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
