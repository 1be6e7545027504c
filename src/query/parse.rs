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
    /// `field:value`: case-insensitive substring of that field.
    Field(Field, String),
    /// `year:2023` or `year:2019..2023` (either end may be left open).
    Year(u16, u16),
    /// `cia:availability`: that part was affected.
    Cia(CiaPart),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
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
    &["actor:", "motive:", "country:", "loc:", "industry:", "tag:", "ttp:", "year:", "text:", "cia:", "id:"];

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
            } else if let Some((name, value_at)) = split_field(&chars, start + negate as usize, end) {
                let (value, value_quoted, value_end) = if value_at < chars.len() && chars[value_at] == '"' {
                    read_token(&chars, value_at)?
                } else {
                    (chars[value_at..end].iter().collect(), false, end)
                };
                i = value_end.max(end);
                let _ = value_quoted;
                field_term(&name, value.trim(), start)?
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

    /// The bare words that rank and highlight victims.
    pub fn fuzzy_words(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match (&t.kind, t.negate) {
            (TermKind::Fuzzy(w), false) => Some(w.as_str()),
            _ => None,
        })
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
        if chars[end] == '"' && end > start && chars[end - 1] == ':' {
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

fn field_term(name: &str, value: &str, at: usize) -> Result<TermKind, QueryError> {
    let field = match name {
        "id" => Field::Id,
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
    Ok(TermKind::Field(field, value.to_lowercase()))
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

    fn kinds(q: &str) -> Vec<(bool, TermKind)> {
        Query::parse(q).unwrap().terms.into_iter().map(|t| (t.negate, t.kind)).collect()
    }

    #[test]
    fn words_filters_quotes_and_negation() {
        assert_eq!(
            kinds(r#"coinsp actor:Lazarus !motive:espionage "atomic wallet" ttp:T1566"#),
            vec![
                (false, TermKind::Fuzzy("coinsp".into())),
                (false, TermKind::Field(Field::Actor, "lazarus".into())),
                (true, TermKind::Field(Field::Motive, "espionage".into())),
                (false, TermKind::Exact("atomic wallet".into())),
                (false, TermKind::Field(Field::Ttp, "t1566".into())),
            ]
        );
        assert_eq!(
            kinds(r#"actor:"lazarus group""#),
            vec![(false, TermKind::Field(Field::Actor, "lazarus group".into()))]
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
    fn empty_query_has_no_terms() {
        assert!(Query::parse("   ").unwrap().is_empty());
    }
}
