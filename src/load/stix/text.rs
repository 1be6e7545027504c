//! STIX prose and vocabulary as the analyst reads them.

/// `finance-sector` → `Finance sector`, `eastern-asia` → `Eastern asia`.
pub fn humanize(s: &str) -> String {
    let s = s.replace(['-', '_'], " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// ATT&CK descriptions are Markdown with citation markers: `[Lazarus Group](https://…)` reads as
/// `Lazarus Group`, and `(Citation: …)` markers (the sources are listed separately) are dropped.
pub fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("(Citation:")
            && let Some(end) = after.find(')')
        {
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('[')
            && let Some(close) = after.find("](")
            && !after[..close].contains(['[', '\n'])
            && let Some(end) = after[close + 2..].find(')')
            && !after[close + 2..close + 2 + end].contains(char::is_whitespace)
        {
            out.push_str(&after[..close]);
            rest = &after[close + 3 + end..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.trim().to_string()
}

/// The first paragraph of a description, and the whole description when there is more.
pub fn summary_and_rest(description: &str) -> (String, Option<String>) {
    let first = description.split("\n\n").map(str::trim).find(|p| !p.is_empty()).unwrap_or(description).to_string();
    let rest = (first.len() < description.len()).then(|| description.to_string());
    (first, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_links_and_citations_are_reduced_to_text() {
        assert_eq!(
            clean_text("[A](https://x) b (Citation: C)(Citation: D) [not a link] [x](y z)"),
            "A b  [not a link] [x](y z)"
        );
    }

    #[test]
    fn vocabulary_reads_as_words() {
        assert_eq!(humanize("isp/telco-sector"), "Isp/telco sector");
        assert_eq!(summary_and_rest("One.\n\nTwo."), ("One.".to_string(), Some("One.\n\nTwo.".to_string())));
        assert_eq!(summary_and_rest("Only."), ("Only.".to_string(), None));
    }
}
