//! Incident dates with the precision the reporting allows: a year, a month or a day.

use std::fmt;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A calendar date that may lack its month or day. Ordering puts a bare year before any month of
/// that year, so sorting by date is stable and never invents precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; the error says what was wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::well_formed(s.as_bytes()).map_or_else(|| Self::checked(s), Ok)
    }

    /// `parse`, part by part, saying what is wrong.
    fn checked(s: &str) -> Result<Self, String> {
        let expected = "expected YYYY, YYYY-MM or YYYY-MM-DD";
        let mut parts = s.split('-');
        let year = parts.next().unwrap_or_default();
        let month = parts.next();
        let day = parts.next();
        if parts.next().is_some() {
            return Err(format!("invalid date {s:?}: {expected}"));
        }
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) {
            return Err(format!("invalid date {s:?}: {expected}"));
        }
        let year: u16 = year.parse().map_err(|_| format!("invalid date {s:?}"))?;
        let month = match month {
            None => None,
            Some(m) if digits(m, 2) => {
                let m: u8 = m.parse().unwrap_or(0);
                if !(1..=12).contains(&m) {
                    return Err(format!("invalid date {s:?}: month must be 01 to 12"));
                }
                Some(m)
            }
            Some(_) => return Err(format!("invalid date {s:?}: {expected}")),
        };
        let day = match (month, day) {
            (_, None) => None,
            (Some(m), Some(d)) if digits(d, 2) => {
                let d: u8 = d.parse().unwrap_or(0);
                if d == 0 || d > days_in_month(year, m) {
                    return Err(format!("invalid date {s:?}: {} {year} has no day {d}", MONTHS[m as usize - 1]));
                }
                Some(d)
            }
            _ => return Err(format!("invalid date {s:?}: {expected}")),
        };
        Ok(Self { year, month, day })
    }

    /// A valid date, read straight from its bytes: every record has one or more, so the common
    /// case skips splitting and the messages. `None` for anything else, which `parse` then explains.
    fn well_formed(b: &[u8]) -> Option<Self> {
        let number = |at: usize, len: usize| {
            b.get(at..at + len)?.iter().try_fold(0u16, |n, &c| c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0')))
        };
        let year = number(0, 4)?;
        let (month, day) = match b.len() {
            4 => (None, None),
            7 if b[4] == b'-' => (Some(number(5, 2)? as u8), None),
            10 if b[4] == b'-' && b[7] == b'-' => (Some(number(5, 2)? as u8), Some(number(8, 2)? as u8)),
            _ => return None,
        };
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return None;
        }
        if let (Some(m), Some(d)) = (month, day)
            && (d == 0 || d > days_in_month(year, m))
        {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// The form used on screen: `2023`, `Jul 2023` or `22 Jul 2023`.
    pub fn display(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{d} {} {}", MONTHS[m as usize - 1], self.year),
            (Some(m), None) => format!("{} {}", MONTHS[m as usize - 1], self.year),
            _ => self.year.to_string(),
        }
    }

    /// A number in the dates' order: sorting numbers is quicker than comparing dates field by field.
    pub fn sort_key(&self) -> u32 {
        let part = |p: Option<u8>| p.map_or(0, |n| u32::from(n) + 1);
        u32::from(self.year) << 16 | part(self.month) << 8 | part(self.day)
    }

    /// The short form for the list column: `Jul 2023` or `2023`.
    pub fn short(&self) -> String {
        match self.month {
            Some(m) => format!("{} {}", MONTHS[m as usize - 1], self.year),
            None => self.year.to_string(),
        }
    }
}

/// The ISO form, as it is written in dataset files.
impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_are_in_the_dates_order() {
        let dates: Vec<PartialDate> =
            ["2023", "2023-01", "2023-01-01", "2023-01-31", "2023-02", "2023-12-31", "2024", "0999"]
                .iter()
                .map(|s| PartialDate::parse(s).unwrap())
                .collect();
        for a in &dates {
            for b in &dates {
                assert_eq!(a.cmp(b), a.sort_key().cmp(&b.sort_key()), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn parses_each_precision_and_displays_it() {
        assert_eq!(PartialDate::parse("2023").unwrap().display(), "2023");
        assert_eq!(PartialDate::parse("2023-07").unwrap().display(), "Jul 2023");
        assert_eq!(PartialDate::parse("2023-07-22").unwrap().display(), "22 Jul 2023");
        assert_eq!(PartialDate::parse("2023-07-22").unwrap().short(), "Jul 2023");
        assert_eq!(PartialDate::parse("2023-07-02").unwrap().to_string(), "2023-07-02");
    }

    #[test]
    fn rejects_impossible_and_malformed_dates() {
        for bad in [
            "",
            "23",
            "2023-7",
            "2023-13",
            "2023-02-29",
            "2023-04-31",
            "2023/07/01",
            "2023-07-22-1",
            "July 2023",
            "2023-00",
        ] {
            assert!(PartialDate::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(PartialDate::parse("2024-02-29").is_ok());
    }

    #[test]
    fn the_quick_reading_agrees_with_the_checked_one() {
        let starts = ["", "0", "202", "1900", "2000", "2023", "2024", "20x4", "٣٣"];
        let parts = [
            "", "-", "0", "1", "-0", "-00", "-01", "-02", "-04", "-12", "-13", "-28", "-29", "-30", "-31", "-32", "-1",
            "-x1",
        ];
        let mut tried = 0;
        for a in starts {
            for b in parts {
                for c in parts {
                    for d in ["", "-", "1", " "] {
                        let s = format!("{a}{b}{c}{d}");
                        let quick = PartialDate::well_formed(s.as_bytes());
                        assert_eq!(quick.ok_or(()), PartialDate::checked(&s).map_err(|_| ()), "{s:?}");
                        tried += usize::from(quick.is_some());
                    }
                }
            }
        }
        assert!(tried > 100, "some of the strings are dates ({tried})");
    }

    #[test]
    fn a_year_sorts_before_its_months() {
        let y = PartialDate::parse("2023").unwrap();
        let m = PartialDate::parse("2023-01").unwrap();
        let d = PartialDate::parse("2023-01-05").unwrap();
        assert!(y < m && m < d);
        assert!(PartialDate::parse("2022-12-31").unwrap() < y);
    }
}
