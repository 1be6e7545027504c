//! The query language of the search box and `--query`.
//!
//! `coinsp actor:lazarus !motive:espionage year:2019..2023 "atomic wallet" ttp:T1566`

use std::fmt;

/// A parsed query: every term must hold for an incident to match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub negate: bool,
    pub kind: TermKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermKind {
    /// A bare word: fuzzy match on the victim.
    Fuzzy(String),
    /// `"quoted words"`: exact, case-insensitive substring of the victim.
    Exact(String),
    /// `field:value`: case-insensitive substring of that field; `field:=value` the whole value.
    Field { field: Field, value: String, exact: bool },
    /// `year:2023` or `year:2019..2023` (either end may be left open).
    Year(u16, u16),
    /// `cia:availability`: that part was affected.
    Cia(CiaPart),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    Actor,
    Motive,
    Country,
    Industry,
    Tag,
    Ttp,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiaPart {
    Confidentiality,
    Integrity,
    Availability,
}

/// The filter names, for help and error messages.
pub const FILTERS: &[&str] =
    &["actor:", "name:", "motive:", "country:", "loc:", "industry:", "tag:", "ttp:", "year:", "text:", "cia:", "id:"];

/// A query that cannot be read, with the character offset where the trouble is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    pub at: usize,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl std::error::Error for QueryError {}

impl Query {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let chars: Vec<char> = input.chars().collect();
        let mut terms = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let negate = chars[i] == '!';
            if negate {
                i += 1;
            }
            let (token, quoted, end) = read_token(&chars, i)?;
            i = end;
            let kind = if quoted {
                TermKind::Exact(token)
            } else if let Some((name, mut value_at)) = split_field(&chars, start + negate as usize, end) {
                let exact = chars.get(value_at) == Some(&'=');
                if exact {
                    value_at += 1;
                }
                let (value, _, value_end) = if value_at < chars.len() && chars[value_at] == '"' {
                    read_token(&chars, value_at)?
                } else {
                    (chars[value_at..end].iter().collect(), false, end)
                };
                i = value_end.max(end);
                field_term(&name, value.trim(), exact, start)?
            } else if token == "!" || token.is_empty() {
                return Err(QueryError { message: "`!` needs a word or filter after it".into(), at: start });
            } else {
                TermKind::Fuzzy(token)
            };
            terms.push(Term { negate, kind });
        }
        Ok(Query { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether every incident this query matches is also matched by `older`, so that a search
    /// for it may look only at `older`'s results (the analyst typed one more letter or term).
    /// Each of `older`'s terms must be implied by a term of this query.
    pub fn narrows(&self, older: &Query) -> bool {
        older.terms.iter().all(|old| self.terms.iter().any(|new| new.implies(old)))
    }

    /// The bare words that rank and highlight victims.
    pub fn fuzzy_words(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match (&t.kind, t.negate) {
            (TermKind::Fuzzy(w), false) => Some(w.as_str()),
            _ => None,
        })
    }
}

impl Term {
    /// Whether every incident matching this term also matches `other`.
    fn implies(&self, other: &Term) -> bool {
        if self.negate != other.negate {
            return false;
        }
        // A positive term implies a weaker one; a negated term implies another negation when it
        // excludes more (what it excludes is a superset), so the roles of the values swap.
        let (strong, weak) = if self.negate { (&other.kind, &self.kind) } else { (&self.kind, &other.kind) };
        match (strong, weak) {
            (TermKind::Fuzzy(s), TermKind::Fuzzy(w)) if !self.negate => is_subsequence(w, s),
            (TermKind::Fuzzy(s), TermKind::Fuzzy(w)) | (TermKind::Exact(s), TermKind::Exact(w)) => {
                s.to_lowercase().contains(&w.to_lowercase())
            }
            (
                TermKind::Field { field: fs, value: vs, exact: es },
                TermKind::Field { field: fw, value: vw, exact: ew },
            ) if fs == fw => match (es, ew) {
                _ if vs == vw && es == ew => true,
                // Negated exact values exclude a single value each: only the same one implies.
                _ if self.negate => !es && !ew && field_narrows(*fs, vs, vw),
                (true, true) => false,
                (true, false) => *fs != Field::Ttp && vs.contains(vw.as_str()),
                (false, true) => false,
                (false, false) => field_narrows(*fs, vs, vw),
            },
            (TermKind::Year(a, b), TermKind::Year(c, d)) => c <= a && b <= d,
            (TermKind::Cia(a), TermKind::Cia(b)) => a == b,
            _ => false,
        }
    }
}

/// Whether a substring filter on `strong` matches only what one on `weak` matches.
fn field_narrows(field: Field, strong: &str, weak: &str) -> bool {
    match field {
        // `ttp:` reads a value as an id prefix or as words of a name, depending on its shape.
        Field::Ttp => match (looks_like_technique_id(strong), looks_like_technique_id(weak)) {
            (true, true) => strong.starts_with(weak),
            (false, false) => weak.split_whitespace().all(|w| strong.split_whitespace().any(|s| s.contains(w))),
            _ => false,
        },
        _ => strong.contains(weak),
    }
}

/// `t1566`, `t15`: a `ttp:` value read as a technique id prefix rather than name words.
pub fn looks_like_technique_id(value: &str) -> bool {
    let mut c = value.chars();
    c.next() == Some('t') && c.next().is_some_and(|d| d.is_ascii_digit())
}

/// Whether `needle`'s characters appear in `hay` in order, ASCII case ignored (as the fuzzy
/// matcher compares them).
fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut hay = hay.chars();
    needle.chars().all(|n| hay.any(|h| h.eq_ignore_ascii_case(&n)))
}

/// Writes a filter value so that it reads back as the same value: quoted when it has spaces.
pub fn quote_value(value: &str) -> String {
    if value.is_empty() || value.contains(char::is_whitespace) || value.starts_with('"') {
        format!("\"{}\"", value.replace('"', ""))
    } else {
        value.to_string()
    }
}

/// Reads one whitespace-separated token, or a quoted string (which may contain spaces).
fn read_token(chars: &[char], start: usize) -> Result<(String, bool, usize), QueryError> {
    if chars.get(start) == Some(&'"') {
        let close = chars[start + 1..].iter().position(|&c| c == '"');
        return match close {
            Some(n) => Ok((chars[start + 1..start + 1 + n].iter().collect(), true, start + n + 2)),
            None => Err(QueryError { message: "unclosed quote: add a closing \"".into(), at: start }),
        };
    }
    let mut end = start;
    while end < chars.len() && !chars[end].is_whitespace() {
        // `actor:"lazarus group"`: a quote after the colon opens the value.
        let after_colon = end > start
            && (chars[end - 1] == ':' || (chars[end - 1] == '=' && end - 1 > start && chars[end - 2] == ':'));
        if chars[end] == '"' && after_colon {
            let close = chars[end + 1..].iter().position(|&c| c == '"');
            match close {
                Some(n) => end += n + 2,
                None => return Err(QueryError { message: "unclosed quote: add a closing \"".into(), at: end }),
            }
            continue;
        }
        end += 1;
    }
    Ok((chars[start..end].iter().collect(), false, end))
}

/// `name:` at the start of a token: the field name and where its value begins.
fn split_field(chars: &[char], start: usize, end: usize) -> Option<(String, usize)> {
    let colon = chars[start..end].iter().position(|&c| c == ':')?;
    let name: String = chars[start..start + colon].iter().collect();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((name.to_ascii_lowercase(), start + colon + 1))
}

fn field_term(name: &str, value: &str, exact: bool, at: usize) -> Result<TermKind, QueryError> {
    let field = match name {
        "id" => Field::Id,
        "name" => Field::Name,
        "actor" => Field::Actor,
        "motive" => Field::Motive,
        "country" | "loc" | "location" => Field::Country,
        "industry" | "sector" => Field::Industry,
        "tag" => Field::Tag,
        "ttp" | "technique" => Field::Ttp,
        "text" => Field::Text,
        "year" => return year(value, at),
        "cia" => return cia(value, at),
        _ => {
            return Err(QueryError {
                message: format!("unknown filter `{name}:`, expected one of {}", FILTERS.join(" ")),
                at,
            });
        }
    };
    if value.is_empty() {
        return Err(QueryError { message: format!("`{name}:` needs a value"), at });
    }
    Ok(TermKind::Field { field, value: value.to_lowercase(), exact })
}

fn year(value: &str, at: usize) -> Result<TermKind, QueryError> {
    let bad = || QueryError { message: format!("`year:{value}`: expected a year (2023) or a range (2019..2023)"), at };
    let one =
        |s: &str| -> Result<u16, QueryError> { if s.len() == 4 { s.parse().map_err(|_| bad()) } else { Err(bad()) } };
    match value.split_once("..") {
        Some((from, to)) => {
            let from = if from.is_empty() { 0 } else { one(from)? };
            let to = if to.is_empty() { u16::MAX } else { one(to)? };
            if from > to {
                return Err(QueryError { message: format!("`year:{value}`: the range runs backwards"), at });
            }
            if from == 0 && to == u16::MAX {
                return Err(bad());
            }
            Ok(TermKind::Year(from, to))
        }
        None => one(value).map(|y| TermKind::Year(y, y)),
    }
}

fn cia(value: &str, at: usize) -> Result<TermKind, QueryError> {
    let v = value.to_ascii_lowercase();
    let part = [
        ("confidentiality", CiaPart::Confidentiality),
        ("integrity", CiaPart::Integrity),
        ("availability", CiaPart::Availability),
    ]
    .into_iter()
    .find(|(name, _)| !v.is_empty() && name.starts_with(&v));
    match part {
        Some((_, p)) => Ok(TermKind::Cia(p)),
        None => Err(QueryError {
            message: format!("`cia:{value}`: expected confidentiality, integrity or availability"),
            at,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field: Field, value: &str, exact: bool) -> TermKind {
        TermKind::Field { field, value: value.into(), exact }
    }

    fn kinds(q: &str) -> Vec<(bool, TermKind)> {
        Query::parse(q).unwrap().terms.into_iter().map(|t| (t.negate, t.kind)).collect()
    }

    #[test]
    fn words_filters_quotes_and_negation() {
        assert_eq!(
            kinds(r#"coinsp actor:Lazarus !motive:espionage "atomic wallet" ttp:T1566"#),
            vec![
                (false, TermKind::Fuzzy("coinsp".into())),
                (false, field(Field::Actor, "lazarus", false)),
                (true, field(Field::Motive, "espionage", false)),
                (false, TermKind::Exact("atomic wallet".into())),
                (false, field(Field::Ttp, "t1566", false)),
            ]
        );
        assert_eq!(kinds(r#"actor:"lazarus group""#), vec![(false, field(Field::Actor, "lazarus group", false))]);
        assert_eq!(kinds(r#"actor:="Lazarus Group""#), vec![(false, field(Field::Actor, "lazarus group", true))]);
        assert_eq!(
            kinds("actor:=APT1 name:aurora"),
            vec![(false, field(Field::Actor, "apt1", true)), (false, field(Field::Name, "aurora", false))]
        );
        assert_eq!(kinds("!wallet"), vec![(true, TermKind::Fuzzy("wallet".into()))]);
    }

    #[test]
    fn years_and_ranges() {
        assert_eq!(kinds("year:2023"), vec![(false, TermKind::Year(2023, 2023))]);
        assert_eq!(kinds("year:2019..2023"), vec![(false, TermKind::Year(2019, 2023))]);
        assert_eq!(kinds("year:2019.."), vec![(false, TermKind::Year(2019, u16::MAX))]);
        assert_eq!(kinds("cia:avail"), vec![(false, TermKind::Cia(CiaPart::Availability))]);
    }

    #[test]
    fn malformed_queries_are_errors_with_a_place() {
        let e = Query::parse("coin year:20x3").unwrap_err();
        assert_eq!(e.at, 5);
        assert!(e.message.contains("expected a year"), "{}", e.message);
        assert!(Query::parse("colour:red").unwrap_err().message.contains("unknown filter `colour:`"));
        assert!(Query::parse("\"open").unwrap_err().message.contains("unclosed quote"));
        assert!(Query::parse("actor:").unwrap_err().message.contains("needs a value"));
        assert!(Query::parse("year:2023..2019").is_err());
        assert!(Query::parse("cia:x").is_err());
        assert!(Query::parse("!").is_err());
    }

    #[test]
    fn a_longer_query_narrows_the_shorter_one() {
        let narrows = |new: &str, old: &str| Query::parse(new).unwrap().narrows(&Query::parse(old).unwrap());
        assert!(narrows("coins", "coin"));
        assert!(narrows("cnspd", "cns"));
        assert!(narrows("coin actor:laz", "coin"));
        assert!(narrows("actor:lazarus", "actor:laz"));
        assert!(narrows("actor:=lazarus", "actor:laz"));
        assert!(narrows("ttp:t1566", "ttp:t15"));
        assert!(narrows("year:2020..2021", "year:2019..2023"));
        assert!(narrows("!laz", "!lazarus"), "excluding more narrows");
        assert!(narrows("anything", ""));
        assert!(!narrows("!lazarus", "!laz"), "excluding less widens");
        assert!(!narrows("coin", "coins"));
        assert!(!narrows("actor:=laz", "actor:=lazarus"));
        assert!(!narrows("ttp:t1", "ttp:t"), "an id prefix and name words are different tests");
        assert!(!narrows("year:2019..2023", "year:2020"));
    }

    #[test]
    fn empty_query_has_no_terms() {
        assert!(Query::parse("   ").unwrap().is_empty());
    }
}
