//! A strict reader of the JSON the fast path takes: objects, arrays, strings, `null` and whole
//! numbers, read in place with nothing allocated. Each string is looked at once, eight bytes at a
//! time, for its end and for anything that must be decoded or cleaned.
//!
//! It accepts only text serde_json accepts and reads it the same way. What it does not take
//! (escaped keys, numbers with a sign, a fraction or an exponent, control characters, anything
//! malformed) it refuses, and the record goes to serde and the careful path, which say what is
//! wrong and where.

/// Where a string's text is in the buffer (without its quotes), and whether it must be decoded or
/// cleaned there before it can be lent.
#[derive(Debug, Clone, Copy)]
pub struct Lit {
    pub start: u32,
    pub end: u32,
    pub work: bool,
}

/// The names of an object's fields (at most 64, none longer than 15 bytes). Each is kept also as
/// the bytes that follow a key's opening quote, the name and the closing quote, read as one number
/// with a mask: a key is matched against a name in a couple of instructions.
pub struct Names<const N: usize> {
    pub list: [&'static str; N],
    keys: [(u128, u128); N],
}

impl<const N: usize> Names<N> {
    pub const fn new(list: [&'static str; N]) -> Self {
        assert!(N <= 64, "fields seen are kept as bits of a u64");
        let mut keys = [(0, 0); N];
        let mut i = 0;
        while i < N {
            let name = list[i].as_bytes();
            assert!(name.len() < 16, "a name and its closing quote fit in a u128");
            let mut key = (b'"' as u128) << (8 * name.len());
            let mut j = 0;
            while j < name.len() {
                key |= (name[j] as u128) << (8 * j);
                j += 1;
            }
            let mask = if name.len() == 15 { u128::MAX } else { (1 << (8 * (name.len() + 1))) - 1 };
            keys[i] = (key, mask);
            i += 1;
        }
        Self { list, keys }
    }
}

/// A cursor over one record's text, inside the batch's buffer that string positions refer to.
pub struct Lexer<'b> {
    /// The buffer, up to the end of the record.
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Lexer<'b> {
    /// A lexer at the start of `record`, a slice of `buffer`. `None` if the record is not in the
    /// buffer, or lies where positions do not fit in 32 bits.
    pub fn within(buffer: &'b str, record: &str) -> Option<Self> {
        let start = (record.as_ptr() as usize).checked_sub(buffer.as_ptr() as usize)?;
        let end = start.checked_add(record.len()).filter(|&e| e <= buffer.len() && u32::try_from(e).is_ok())?;
        Some(Self { bytes: &buffer.as_bytes()[..end], at: start })
    }

    /// A lexer at `start` of `buffer`, reading up to its end; `None` where positions do not fit in
    /// 32 bits.
    pub fn at(buffer: &'b str, start: usize) -> Option<Self> {
        (start <= buffer.len() && u32::try_from(buffer.len()).is_ok())
            .then_some(Self { bytes: buffer.as_bytes(), at: start })
    }

    /// Where the lexer is.
    pub fn position(&self) -> usize {
        self.at
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        // Most punctuation follows what came before without a space: no need to skip any.
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            return true;
        }
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Reads `null` if that is what comes next.
    pub fn null(&mut self) -> bool {
        let found = self.peek() == Some(b'n') && self.bytes[self.at..].starts_with(b"null");
        self.at += if found { 4 } else { 0 };
        found
    }

    /// A string.
    pub fn string(&mut self) -> Option<Lit> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let mut work = false;
        loop {
            let i = self.at + special(&self.bytes[self.at..])?;
            match self.bytes[i] {
                b'"' => {
                    self.at = i + 1;
                    // `within` made sure every position fits.
                    return Some(Lit { start: start as u32, end: i as u32, work });
                }
                b'\\' => {
                    self.at = i + escape_len(&self.bytes[i..])?;
                    work = true;
                }
                0x7f => {
                    self.at = i + 1;
                    work = true;
                }
                0xc2 => {
                    // U+0080 to U+009F, C1 controls, are cleaned; the rest of the block is text.
                    work |= matches!(self.bytes.get(i + 1), Some(0x80..=0x9f));
                    self.at = i + 1;
                }
                // A control character written as itself: not JSON.
                _ => return None,
            }
        }
    }

    /// A whole number that fits in 64 bits, written as serde_json reads it as one: digits, no
    /// leading zero, no sign, fraction or exponent.
    pub fn count(&mut self) -> Option<u64> {
        self.skip_ws();
        let rest = &self.bytes[self.at..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && rest[0] == b'0') || matches!(rest.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        self.at += digits;
        Some(n)
    }

    /// The field of `known` whose key comes next: `guess` is tried first. Names are matched as
    /// written, so a key written with escapes names no field, as one that is not known does.
    fn field<const N: usize>(&mut self, known: &Names<N>, guess: usize) -> Option<usize> {
        if !self.eat(b'"') {
            return None;
        }
        let rest = &self.bytes[self.at..];
        let word = match rest.first_chunk::<16>() {
            Some(w) => u128::from_le_bytes(*w),
            None => {
                let mut w = [0; 16];
                w[..rest.len()].copy_from_slice(rest);
                u128::from_le_bytes(w)
            }
        };
        let named = |&(key, mask): &(u128, u128)| word & mask == key;
        let n = match known.keys.get(guess) {
            Some(k) if named(k) => guess,
            _ => known.keys.iter().position(named)?,
        };
        self.at += known.list[n].len() + 1;
        Some(n)
    }

    /// An object of fields named in `known`: `member` is called with each field's name, the lexer
    /// before its value, and reads the value. A key that names no field, or a field written twice,
    /// is refused.
    pub fn object<const N: usize>(
        &mut self,
        known: &Names<N>,
        mut member: impl FnMut(&mut Self, &'static str) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        // Fields seen, as bits; the one after the last is the one most files write next.
        let (mut seen, mut next) = (0u64, 0);
        loop {
            let n = self.field(known, next)?;
            if seen & 1 << n != 0 || !self.eat(b':') {
                return None;
            }
            seen |= 1 << n;
            next = n + 1;
            member(self, known.list[n])?;
            if !self.eat(b',') {
                return self.eat(b'}').then_some(());
            }
        }
    }

    /// An array: `item` is called with the lexer before each item, and reads it.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if !self.eat(b',') {
                return self.eat(b']').then_some(());
            }
        }
    }

    /// What comes next starts with `byte` (after whitespace), without reading it.
    pub fn next_is(&mut self, byte: u8) -> bool {
        self.peek() == Some(byte)
    }
}

/// The first byte of `bytes` that ends plain text in a string: a quote, a backslash, a control
/// character, DEL, or 0xC2 (the lead byte of C1 controls). Most strings are short and end within
/// a few machine words, read eight bytes at a time. Past those, thirty-two bytes at a time are
/// asked whether they hold such a byte at all, with no early exit, which the compiler turns into
/// vector compares; only the stretch that does is read a word at a time.
fn special(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for word in bytes.chunks_exact(8).take(2) {
        let found = special_in(word_at(word));
        if found != 0 {
            return Some(at + first(found));
        }
        at += 8;
    }
    let is_special = |b: u8| {
        u8::from(b == b'"') | u8::from(b == b'\\') | u8::from(b < 0x20) | u8::from(b == 0x7f) | u8::from(b == 0xc2)
    };
    for chunk in bytes[at..].chunks_exact(32) {
        if chunk.iter().fold(0, |found, &b| found | is_special(b)) != 0 {
            break;
        }
        at += 32;
    }
    let mut words = bytes[at..].chunks_exact(8);
    for word in words.by_ref() {
        let found = special_in(word_at(word));
        if found != 0 {
            return Some(at + first(found));
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| is_special(b) != 0).map(|p| at + p)
}

fn special_in(w: u64) -> u64 {
    equal(w, b'"') | equal(w, b'\\') | below(w, 0x20) | equal(w, 0x7f) | equal(w, 0xc2)
}

/// The first quote or backslash. Most strings are short, and a word at a time finds their end
/// sooner than setting up a vector search; past a few words, `memchr` takes over.
pub fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for word in bytes.chunks_exact(8).take(4) {
        let w = word_at(word);
        let found = equal(w, b'"') | equal(w, b'\\');
        if found != 0 {
            return Some(at + first(found));
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', &bytes[at..]).map(|k| at + k)
}

// Bytes of a machine word, eight at a time: the classic "has a zero byte" and "has a byte less
// than n" tricks set the high bit of each byte found. Bits above a found byte may be set wrongly
// by the borrow, so only the lowest one (`first`) is exact, which is all a search needs.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

fn word_at(bytes: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

fn equal(w: u64, byte: u8) -> u64 {
    let x = w ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH
}

fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH
}

/// The index of the lowest byte found.
fn first(found: u64) -> usize {
    (found.trailing_zeros() / 8) as usize
}

/// The length of the escape at the start of `text` (which starts with a backslash), if serde would
/// decode it: a known letter, or four hex digits after `\u` with surrogates in pairs.
fn escape_len(text: &[u8]) -> Option<usize> {
    match text.get(1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => match hex4(text.get(2..)?)? {
            0xd800..=0xdbff => {
                let low = text.get(6..8).filter(|p| *p == b"\\u").and_then(|_| hex4(&text[8..]))?;
                (0xdc00..=0xdfff).contains(&low).then_some(12)
            }
            0xdc00..=0xdfff => None,
            _ => Some(6),
        },
        _ => None,
    }
}

/// Four hex digits.
pub fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    digits.iter().try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> Lexer<'_> {
        Lexer { bytes: text.as_bytes(), at: 0 }
    }

    #[test]
    fn strings_end_where_serde_says_and_know_when_they_need_work() {
        for (json, work) in [
            (r#""plain text that runs past a machine word""#, false),
            (r#""""#, false),
            (r#""caf\u00e9 \ud83d\ude00""#, true),
            (r#""a \"quote\" inside, far enough in to cross words""#, true),
            ("\"DEL \u{7f} here\"", true),
            ("\"C1 \u{85} here\"", true),
            ("\"no-break\u{a0}space and \u{a3}\"", false),
        ] {
            let text = format!("{json} ,");
            let mut l = lex(&text);
            let lit = l.string().unwrap_or_else(|| panic!("{json} is a string"));
            assert_eq!(&text[lit.start as usize - 1..lit.end as usize + 1], json);
            assert_eq!(lit.work, work, "{json}");
            assert!(serde_json::from_str::<String>(json).is_ok(), "serde agrees {json}");
        }
        for bad in ["\"raw\ttab\"", "\"unterminated", r#""bad \x escape""#, r#""\ud800 alone""#, r#""\udc00""#] {
            assert!(lex(bad).string().is_none(), "{bad:?} is refused");
            assert!(serde_json::from_str::<String>(bad).is_err(), "serde refuses {bad:?} too");
        }
    }

    #[test]
    fn whole_numbers_only_as_serde_reads_them_as_counts() {
        for (text, n) in [("0", Some(0)), ("37300000", Some(37_300_000)), ("18446744073709551615", Some(u64::MAX))] {
            assert_eq!(lex(text).count(), n, "{text}");
            assert_eq!(serde_json::from_str::<u64>(text).ok(), n, "serde agrees on {text}");
        }
        for text in ["01", "-1", "1.0", "1e3", "18446744073709551616", "x"] {
            assert_eq!(lex(text).count(), None, "{text}");
        }
    }

    #[test]
    fn objects_and_arrays_need_their_commas_and_closers() {
        let keys = |text: &str| {
            let mut found = Vec::new();
            lex(text)
                .object(&Names::new(["a", "b", "ab", "loss_usd", "confidentiality"]), |l, key| {
                    found.push(key);
                    l.array(|l| l.string().map(|_| ()))
                })
                .map(|()| found)
        };
        assert_eq!(keys(r#" { "a" : [ "x" , "y" ] , "b":[] } "#), Some(vec!["a", "b"]));
        assert_eq!(keys(r#"{"b":[],"ab":[],"a":[]}"#), Some(vec!["b", "ab", "a"]), "in any order");
        assert_eq!(keys("{}"), Some(vec![]));
        assert_eq!(keys(r#"{"loss_usd":[], "confidentiality": []}"#), Some(vec!["loss_usd", "confidentiality"]));
        // A key at the very end of the text, with fewer than 16 bytes after its quote.
        assert_eq!(keys(r#"{"b":[]}"#), Some(vec!["b"]));
        // Keys that name no field: unknown, a known one's start or a longer key that starts with one
        // (the longest name included), written with escapes; and a field written twice.
        for other in [
            r#"{"c":[]}"#,
            r#"{"los":[]}"#,
            r#"{"abc":[]}"#,
            r#"{"confidentialit":[]}"#,
            r#"{"confidentialityx":[]}"#,
            r#"{"A":[]}"#,
            r#"{"\u0061":[]}"#,
            r#"{"a\"":[]}"#,
            r#"{"a":[],"a":[]}"#,
        ] {
            assert_eq!(keys(other), None, "{other}");
        }
        for bad in [r#"{"a":["x",]}"#, r#"{"a":[],}"#, r#"{"a":[] "b":[]}"#, r#"{"a"[]}"#, "{"] {
            assert_eq!(keys(bad), None, "{bad}");
        }
    }
}
