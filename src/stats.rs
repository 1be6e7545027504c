//! Counts over a set of incidents: for the stats view, the facets popup, `incidents stats`, and
//! reports. Pure; no terminal here.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{Catalog, Impact, TechniqueRef};
use crate::query::{Corpus, Hit};

/// How often counting checks whether it should stop (a newer search is waiting).
const CHECK_EVERY: usize = 16_384;

/// The shape of a result set. Maps go from a value to the number of incidents that have it (an
/// incident with two actors counts once for each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub total: u64,
    /// The sum of every reported loss, in US dollars.
    pub loss_usd_total: u64,
    pub by_year: BTreeMap<u16, u64>,
    pub by_motive: BTreeMap<String, u64>,
    /// Named actors only: "Unknown" and role labels do not tie incidents together.
    pub by_actor: BTreeMap<String, u64>,
    pub by_actor_type: BTreeMap<String, u64>,
    pub by_country: BTreeMap<String, u64>,
    /// ATT&CK ids, or the names of techniques of other frameworks.
    pub by_technique: BTreeMap<String, u64>,
    #[serde(skip)]
    pub by_industry: BTreeMap<String, u64>,
    #[serde(skip)]
    pub loss: LossFacts,
    #[serde(skip)]
    pub cia: CiaCounts,
}

/// What the losses add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LossFacts {
    /// Incidents with a reported loss.
    pub reported: u64,
    /// The largest reported loss and the incident it belongs to.
    pub largest: Option<(u64, u32)>,
}

/// How many incidents had each part affected, and how many record a posture at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiaCounts {
    pub recorded: u64,
    pub confidentiality: u64,
    pub integrity: u64,
    pub availability: u64,
}

impl Stats {
    /// Counts the given incidents; `None` when `cancelled` said to stop.
    pub fn compute(corpus: &Corpus, hits: &[Hit], cancelled: &dyn Fn() -> bool) -> Option<Stats> {
        // Counting by borrowed text first and turning keys into owned strings once at the end
        // keeps a million-incident count from allocating per incident.
        let mut years: HashMap<u16, u64> = HashMap::new();
        let mut motives: HashMap<&str, u64> = HashMap::new();
        let mut actors: HashMap<&str, u64> = HashMap::new();
        let mut types: HashMap<&str, u64> = HashMap::new();
        let mut countries: HashMap<&str, u64> = HashMap::new();
        let mut techniques: HashMap<&str, u64> = HashMap::new();
        let mut industries: HashMap<&str, u64> = HashMap::new();
        let mut stats = Stats { total: hits.len() as u64, ..Stats::default() };
        // A record that names a value twice (two actors of one type, a technique with and
        // without a note) still counts once: the maps count incidents, not mentions.
        let mut seen: Vec<&str> = Vec::new();
        for (n, hit) in hits.iter().enumerate() {
            if n % CHECK_EVERY == 0 && cancelled() {
                return None;
            }
            let inc = corpus.incident(hit.index);
            *years.entry(inc.date.year).or_default() += 1;
            count_once(&mut motives, &mut seen, inc.motives.iter().map(|m| m.as_str()));
            count_once(&mut actors, &mut seen, inc.actors.iter().filter(|a| a.is_named()).map(|a| a.name.as_ref()));
            count_once(&mut types, &mut seen, inc.actors.iter().map(|a| a.kind.as_str()));
            if let Some(c) = &inc.location {
                *countries.entry(c).or_default() += 1;
            }
            if let Some(i) = &inc.industry {
                *industries.entry(i).or_default() += 1;
            }
            count_once(&mut techniques, &mut seen, inc.ttps.iter().map(technique_key));
            if let Some(loss) = inc.loss_usd {
                stats.loss_usd_total = stats.loss_usd_total.saturating_add(loss);
                stats.loss.reported += 1;
                if stats.loss.largest.is_none_or(|(max, _)| loss > max) {
                    stats.loss.largest = Some((loss, hit.index));
                }
            }
            if let Some(cia) = &inc.cia {
                stats.cia.recorded += 1;
                stats.cia.confidentiality += (cia.confidentiality == Impact::Affected) as u64;
                stats.cia.integrity += (cia.integrity == Impact::Affected) as u64;
                stats.cia.availability += (cia.availability == Impact::Affected) as u64;
            }
        }
        let owned = |m: HashMap<&str, u64>| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        stats.by_year = years.into_iter().collect();
        stats.by_motive = owned(motives);
        stats.by_actor = owned(actors);
        stats.by_actor_type = owned(types);
        stats.by_country = owned(countries);
        stats.by_technique = owned(techniques);
        stats.by_industry = owned(industries);
        Some(stats)
    }
}

/// Counts each distinct value once: `seen` is scratch space kept between incidents, so counting
/// allocates nothing per incident.
fn count_once<'a>(map: &mut HashMap<&'a str, u64>, seen: &mut Vec<&'a str>, values: impl Iterator<Item = &'a str>) {
    seen.clear();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
            *map.entry(v).or_default() += 1;
        }
    }
}

/// What a technique is counted by: its ATT&CK id, or its name in another framework.
pub fn technique_key(t: &TechniqueRef) -> &str {
    match t {
        TechniqueRef::Attack { id, .. } => id,
        TechniqueRef::Other { name, .. } => name,
    }
}

/// A technique key as it reads beside a count: `T1566.003 Spearphishing via Service (Initial
/// Access)` when the catalog knows the id, else the key itself.
pub fn technique_label(catalog: &Catalog, key: &str) -> String {
    match catalog.get(key) {
        Some(t) => {
            let tactics = t.tactic_names();
            if tactics.is_empty() { format!("{} {}", t.id, t.name) } else { format!("{} {} ({tactics})", t.id, t.name) }
        }
        None => key.to_string(),
    }
}

impl Stats {
    /// Counts the given incidents to the end: for the command line and exports.
    pub fn of(corpus: &Corpus, hits: &[Hit]) -> Stats {
        // Never cancelled, so there is always an answer.
        Self::compute(corpus, hits, &|| false).unwrap_or_default()
    }

    /// Incidents per year from the first year to the last, years without any at zero, so a
    /// chart of them shows the gaps.
    pub fn years(&self) -> Vec<(u16, u64)> {
        match (self.by_year.first_key_value(), self.by_year.last_key_value()) {
            (Some((&first, _)), Some((&last, _))) => {
                (first..=last).map(|y| (y, self.by_year.get(&y).copied().unwrap_or(0))).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A map's entries, largest count first, ties in key order: the "top N" of a facet.
pub fn ranked<K: Clone + Ord>(map: &BTreeMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = map.iter().map(|(k, &n)| (k.clone(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// One group of the facets popup: a field, and its values in the current results with counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    pub name: &'static str,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    /// As shown: `Lazarus Group`, `T1566.003 Spearphishing via Service (Initial Access)`.
    pub label: String,
    pub count: u64,
    /// The query term that keeps exactly the incidents counted: `actor:="Lazarus Group"`.
    pub filter: String,
}

/// How many values of each field the facets show.
pub const FACET_VALUES: usize = 8;

impl Stats {
    /// The facets of these results: motive, actor, actor type, country, year, technique (with
    /// its tactic), industry; each value's filter selects exactly what it counts.
    pub fn facets(&self, catalog: &Catalog) -> Vec<Facet> {
        use crate::query::quote_value;
        let group = |name: &'static str, map: &BTreeMap<String, u64>, filter: &dyn Fn(&str) -> String| Facet {
            name,
            values: ranked(map)
                .into_iter()
                .take(FACET_VALUES)
                .map(|(k, count)| FacetValue { filter: filter(&k), label: k, count })
                .collect(),
        };
        let years: BTreeMap<String, u64> = self.by_year.iter().map(|(y, n)| (y.to_string(), *n)).collect();
        let mut facets = vec![
            group("Motive", &self.by_motive, &|v| format!("motive:={v}")),
            group("Actor", &self.by_actor, &|v| format!("actor:={}", quote_value(v))),
            group("Actor type", &self.by_actor_type, &|v| format!("actor:={v}")),
            group("Country", &self.by_country, &|v| format!("country:={}", quote_value(v))),
        ];
        let mut year_facet = group("Year", &years, &|v| format!("year:{v}"));
        year_facet.values.sort_by(|a, b| b.label.cmp(&a.label));
        facets.push(year_facet);
        let mut techniques =
            group("Technique", &self.by_technique, &|v| format!("ttp:={}", quote_value(&v.to_lowercase())));
        for v in &mut techniques.values {
            v.label = technique_label(catalog, &v.label);
        }
        facets.push(techniques);
        facets.push(group("Industry", &self.by_industry, &|v| format!("industry:={}", quote_value(v))));
        facets.retain(|f| !f.values.is_empty());
        facets
    }
}

/// The stats view's selectable parts: one bar per year, oldest first, then the top values of
/// each field, each value with the filter that pivots to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub years: Vec<FacetValue>,
    pub groups: Vec<Facet>,
}

impl Overview {
    /// The `n`th selectable value: the years, then each group's values in order.
    pub fn item(&self, n: usize) -> Option<&FacetValue> {
        self.years.iter().chain(self.groups.iter().flat_map(|g| &g.values)).nth(n)
    }

    pub fn len(&self) -> usize {
        self.years.len() + self.groups.iter().map(|g| g.values.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stats {
    /// What the stats view shows: every year, oldest first, then the top `top` motives, actor
    /// types, actors, countries and techniques, with the facets' filters and labels.
    pub fn overview(&self, catalog: &Catalog, top: usize) -> Overview {
        // Years without incidents stay in the chart as empty bars, so gaps show.
        let years = self
            .years()
            .into_iter()
            .map(|(y, count)| FacetValue { label: y.to_string(), count, filter: format!("year:{y}") })
            .collect();
        // The facets carry the filters and labels; the view takes more or fewer of each.
        let facets = self.facets(catalog);
        let groups = ["Motive", "Actor type", "Actor", "Country", "Technique"]
            .iter()
            .filter_map(|name| facets.iter().find(|f| f.name == *name))
            .map(|f| Facet { name: f.name, values: f.values.iter().take(top).cloned().collect() })
            .collect();
        Overview { years, groups }
    }
}

/// How many values each "top" list of the text report shows.
pub const TOP: usize = 10;
/// The longest bar of the text report's chart, in characters.
const BAR: u64 = 32;

impl Stats {
    /// The counts as plain text for `incidents stats`: totals, a bar chart of incidents per year,
    /// then each field's values with their counts. `ascii` draws the bars with `#`.
    pub fn text(&self, corpus: &Corpus, ascii: bool) -> String {
        use crate::model::{format_usd, group_thousands};
        let mut out = String::new();
        let years = self.years();
        let span = match (years.first(), years.last()) {
            (Some((first, _)), Some((last, _))) if first != last => format!(", {first} to {last}"),
            (Some((year, _)), _) => format!(", {year}"),
            _ => String::new(),
        };
        let incidents =
            |n: u64| if n == 1 { "1 incident".to_string() } else { format!("{} incidents", group_thousands(n)) };
        out.push_str(&format!("{}{span}\n", incidents(self.total)));
        if self.total == 0 {
            return out;
        }
        match self.loss.largest {
            Some((largest, index)) => {
                let inc = corpus.incident(index);
                out.push_str(&format!(
                    "Reported loss: {} in total, from {}; largest {} ({}, {})\n",
                    format_usd(self.loss_usd_total),
                    incidents(self.loss.reported),
                    format_usd(largest),
                    inc.victim,
                    inc.id
                ));
            }
            None => out.push_str("Reported loss: none reported\n"),
        }

        let bar = if ascii { "#" } else { "\u{2588}" };
        let most = years.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        let rows: Vec<(String, u64)> = years
            .iter()
            .map(|&(year, n)| {
                // Any year with an incident gets at least one mark, so it never reads as empty.
                let len = if n == 0 { 0 } else { ((n * BAR + most / 2) / most).max(1) };
                (format!("{year}  {:<width$}", bar.repeat(len as usize), width = BAR as usize), n)
            })
            .collect();
        section(&mut out, "Incidents per year", &rows);

        let top =
            |map: &BTreeMap<String, u64>, n: usize| -> Vec<(String, u64)> { ranked(map).into_iter().take(n).collect() };
        section(&mut out, "Motives", &top(&self.by_motive, usize::MAX));
        section(&mut out, "Actor types", &top(&self.by_actor_type, usize::MAX));
        section(&mut out, &top_title("actors", self.by_actor.len()), &top(&self.by_actor, TOP));
        section(&mut out, &top_title("countries", self.by_country.len()), &top(&self.by_country, TOP));
        let techniques: Vec<(String, u64)> = top(&self.by_technique, TOP)
            .into_iter()
            .map(|(key, n)| (technique_label(&corpus.dataset.catalog, &key), n))
            .collect();
        section(&mut out, &top_title("techniques", self.by_technique.len()), &techniques);

        let cia = &self.cia;
        let title = format!("CIA posture (recorded for {})", incidents(cia.recorded));
        let rows = [
            ("Confidentiality affected", cia.confidentiality),
            ("Integrity affected", cia.integrity),
            ("Availability affected", cia.availability),
        ]
        .map(|(label, n)| (label.to_string(), n));
        section(&mut out, &title, if cia.recorded == 0 { &[] } else { &rows });
        out
    }
}

/// `Top actors (10 of 57)`, or `Actors` when all of them are shown.
fn top_title(what: &str, of: usize) -> String {
    let mut title = what.to_string();
    if let Some(first) = title.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if of > TOP { format!("Top {what} ({TOP} of {of})") } else { title }
}

/// A titled list of labels with their counts in a column.
fn section(out: &mut String, title: &str, rows: &[(String, u64)]) {
    use unicode_width::UnicodeWidthStr;
    out.push_str(&format!("\n{title}\n"));
    if rows.is_empty() {
        out.push_str("  none recorded\n");
        return;
    }
    let width = rows.iter().map(|(label, _)| label.width()).max().unwrap_or(0);
    let digits = rows.iter().map(|(_, n)| n.to_string().len()).max().unwrap_or(1);
    for (label, n) in rows {
        let pad = " ".repeat(width - label.width());
        out.push_str(&format!("  {label}{pad}  {n:>digits$}\n"));
    }
}
