//! Dataset text is untrusted: it must not be able to drive the analyst's terminal.

use std::borrow::Cow;

/// Removes control characters and whole escape sequences (CSI, OSC, DCS and the like), keeping
/// newlines so paragraphs survive; tabs become spaces. Applied once, when a record is loaded, so
/// every output (screen, table, JSON) sees clean text. Clean text (nearly all of it) is returned
/// as it is, without a copy.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if needs_cleaning(s) { Cow::Owned(clean(s)) } else { Cow::Borrowed(s) }
}

/// `sanitize` for text the caller already has as a `Cow` or `String`: clean text is handed back
/// without a copy when it is owned, and copied once when it is borrowed.
pub fn sanitize_owned(s: Cow<'_, str>) -> String {
    if needs_cleaning(&s) { clean(&s) } else { s.into_owned() }
}

/// Whether the text holds a control character other than a newline: C0 (one byte below 0x20),
/// DEL, or C1 (U+0080 to U+009F, written 0xC2 0x80..=0x9F). Every string of every record passes
/// here, so bytes are first looked at in bulk for any byte below 0x20, 0x7F or 0xC2: 32 at a time
/// without early exits (vector compares), then 8 at a time in a machine word; only the rare piece
/// with such a byte is looked at closely.
pub fn needs_cleaning(s: &str) -> bool {
    let bytes = s.as_bytes();
    let control_at = |i: usize| match bytes[i] {
        b'\n' => false,
        0..0x20 | 0x7f => true,
        0xc2 => bytes.get(i + 1).is_some_and(|next| (0x80..=0x9f).contains(next)),
        _ => false,
    };
    let closely = |start: usize, len: usize| (start..start + len).any(control_at);
    let mut chunks = bytes.chunks_exact(32);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let found =
            chunk.iter().fold(0, |acc, &b| acc | u8::from(b < 0x20) | u8::from(b == 0x7f) | u8::from(b == 0xc2));
        if found != 0 && closely(n * 32, 32) {
            return true;
        }
    }
    let rest = chunks.remainder();
    let mut at = bytes.len() - rest.len();
    let mut words = rest.chunks_exact(8);
    for word in words.by_ref() {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        if word_suspicious(u64::from_le_bytes(w)) && closely(at, 8) {
            return true;
        }
        at += 8;
    }
    closely(at, words.remainder().len())
}

/// Whether any byte of the word is below 0x20, 0x7F or 0xC2 (the classic "has a zero byte" and
/// "has a byte less than n" tricks, exact as yes-or-no answers).
fn word_suspicious(v: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let has_below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGHS != 0;
    has_below_space || has_zero(v ^ (ONES * 0x7f)) || has_zero(v ^ (ONES * 0xc2))
}

fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            '\x1b' => skip_escape(&mut chars),
            // C1 introducers (CSI, OSC, DCS, SOS, PM, APC) start sequences of their own.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two- and three-byte escapes such as `ESC ( B` or `ESC c`.
        Some(c) if (' '..='/').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// A CSI sequence ends at its first byte in `@`..=`~`.
fn skip_until_final(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS-style strings end at BEL or ST (`ESC \` or U+009C).
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => break,
            '\x1b' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{sanitize, sanitize_owned};

    #[test]
    fn clean_text_is_unchanged() {
        assert_eq!(sanitize("CoinsPaid\n\nEstonia — ünïcode"), "CoinsPaid\n\nEstonia — ünïcode");
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(sanitize("a\x1b[31mred\x1b[0m b"), "ared b");
        assert_eq!(sanitize("x\x1b]0;pwned title\x07y"), "xy");
        assert_eq!(sanitize("x\x1b]52;c;ZXZpbA==\x1b\\y"), "xy");
        assert_eq!(sanitize("x\x1bP+q\x1b\\y"), "xy");
        assert_eq!(sanitize("x\u{9b}2Jy"), "xy");
        assert_eq!(sanitize("bell\x07 cr\r tab\tend\x1bc"), "bell cr tab end");
        assert_eq!(sanitize("del\x7f here"), "del here");
    }

    #[test]
    fn only_text_that_needs_cleaning_is_copied() {
        let long = "Zürich — a clean paragraph.\n\n".repeat(20);
        assert!(matches!(sanitize(&long), Cow::Borrowed(_)));
        // A control character far into the text, past the first 32-byte chunk.
        let dirty = format!("{long}\x1b[2Jend");
        assert_eq!(sanitize(&dirty), format!("{long}end"));
        assert!(matches!(sanitize("\u{85}next line"), Cow::Owned(_)));
        // 0xC2 starts printable characters too (U+00A0 to U+00BF): those stay.
        assert!(matches!(sanitize("price: 5 £, 3 ¢, nbsp\u{a0}"), Cow::Borrowed(_)));
        assert_eq!(sanitize_owned(Cow::Owned("tab\there".to_string())), "tab here");
        assert_eq!(sanitize_owned(Cow::Borrowed("plain")), "plain");
        // Every place in a short string: the 8-byte words and the last few bytes.
        for at in 0..20 {
            let mut s = "abcdefghijklmnopqrst".to_string();
            s.insert(at, '\u{7f}');
            assert_eq!(sanitize(&s), "abcdefghijklmnopqrst", "{at}");
            let mut s = "abcdefghijklmnopqrst".to_string();
            s.insert(at, '\u{a0}');
            assert!(matches!(sanitize(&s), Cow::Borrowed(_)), "{at}");
        }
    }
}

/// Text for a terminal that shows ASCII only: accented letters lose their accents, typographic
/// punctuation becomes its plain form, currency signs their codes (`£` → `GBP`), and anything
/// else becomes `?`, so every byte written is ASCII and the width of the text is not changed
/// by more than the spelled-out signs.
pub fn to_ascii(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(ascii_for(c));
        }
    }
    std::borrow::Cow::Owned(out)
}

fn ascii_for(c: char) -> &'static str {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ď' | 'đ' | 'ð' => "d",
        'Ď' | 'Đ' | 'Ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĥ' | 'ħ' => "h",
        'Ĥ' | 'Ħ' => "H",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ĵ' => "j",
        'Ĵ' => "J",
        'ķ' => "k",
        'Ķ' => "K",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'œ' => "oe",
        'Œ' => "OE",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'þ' => "th",
        'Þ' => "TH",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ŵ' => "w",
        'Ŵ' => "W",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        '‘' | '’' | '‚' | '‛' | '′' | 'ʼ' => "'",
        '“' | '”' | '„' | '‟' | '″' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        '•' | '·' | '∙' => "*",
        '«' => "<<",
        '»' => ">>",
        '‹' => "<",
        '›' => ">",
        '×' => "x",
        '÷' => "/",
        '±' => "+/-",
        '°' => " deg",
        '€' => "EUR",
        '£' => "GBP",
        '¥' => "JPY",
        '₩' => "KRW",
        '₹' => "INR",
        '₽' => "RUB",
        '¢' => "c",
        '©' => "(c)",
        '®' => "(R)",
        '™' => "(TM)",
        '§' => "S",
        '¶' => "P",
        '\u{a0}' | '\u{2002}' | '\u{2003}' | '\u{2009}' | '\u{202f}' => " ",
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' => "",
        '→' => "->",
        '←' => "<-",
        '↑' => "^",
        '↓' => "v",
        '½' => "1/2",
        '¼' => "1/4",
        '¾' => "3/4",
        '¹' => "1",
        '²' => "2",
        '³' => "3",
        _ => "?",
    }
}

#[cfg(test)]
mod ascii_tests {
    use super::to_ascii;

    #[test]
    fn text_for_an_ascii_terminal() {
        assert_eq!(to_ascii("Düsseldorf — “Møller” £1.5bn…"), "Dusseldorf - \"Moller\" GBP1.5bn...");
        assert_eq!(to_ascii("Petróleos Mexicanos"), "Petroleos Mexicanos");
        assert_eq!(to_ascii("日本 ok"), "?? ok");
        assert!(matches!(to_ascii("plain"), std::borrow::Cow::Borrowed("plain")));
    }
}
