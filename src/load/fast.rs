//! The fast path for native records: one typed parse straight from the record's bytes, then the
//! same semantic checks as the careful path. Its text is lent from the file rather than copied:
//! the parse notes where each string is in the batch's buffer; strings written with escapes (or
//! needing cleaning) are decoded in that buffer, in place, once the batch is parsed; then the
//! incidents borrow their text from it.
//!
//! Whatever it cannot take whole (a wrong type, an unknown field, a bad date, an unknown actor)
//! it leaves to the careful path, which finds and places every problem. It never reports a problem
//! itself, so the two paths cannot disagree on one: a record it accepts is a record the careful
//! path accepts, converted to the same `Incident`.

use std::borrow::Cow;
use std::sync::Arc;

use foldhash::HashSet;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::model::{
    Actor, ActorCatalog, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, Str, TechniqueRef,
    is_attack_id, needs_cleaning, sanitize, sanitize_owned,
};

/// A field as written, not yet read: strings are looked at without being decoded.
type Raw<'a> = &'a RawValue;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    victim: Raw<'a>,
    #[serde(borrow)]
    name: Option<Raw<'a>>,
    #[serde(borrow)]
    date: Raw<'a>,
    #[serde(borrow)]
    location: Option<Raw<'a>>,
    #[serde(borrow)]
    industry: Option<Raw<'a>>,
    #[serde(borrow)]
    summary: Raw<'a>,
    #[serde(borrow)]
    description: Option<Raw<'a>>,
    loss_usd: Option<u64>,
    #[serde(borrow)]
    cia: Option<CiaRecord<'a>>,
    #[serde(borrow)]
    motives: Option<Vec<Raw<'a>>>,
    #[serde(borrow)]
    ttps: Option<Vec<Raw<'a>>>,
    #[serde(borrow)]
    actors: Option<Vec<Raw<'a>>>,
    #[serde(borrow)]
    sources: Option<Vec<SourceRecord<'a>>>,
    #[serde(borrow)]
    related: Option<Vec<Raw<'a>>>,
    #[serde(borrow)]
    tags: Option<Vec<Raw<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CiaRecord<'a> {
    #[serde(borrow)]
    confidentiality: Raw<'a>,
    #[serde(borrow)]
    integrity: Raw<'a>,
    #[serde(borrow)]
    availability: Raw<'a>,
    #[serde(borrow)]
    note: Option<Raw<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TtpObject<'a> {
    #[serde(borrow)]
    id: Option<Raw<'a>>,
    #[serde(borrow)]
    name: Option<Raw<'a>>,
    #[serde(borrow)]
    framework: Option<Raw<'a>>,
    #[serde(borrow)]
    note: Option<Raw<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorObject<'a> {
    #[serde(borrow)]
    name: Raw<'a>,
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    #[serde(borrow)]
    location: Option<Raw<'a>>,
    #[serde(borrow)]
    aliases: Option<Vec<Raw<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRecord<'a> {
    #[serde(borrow)]
    title: Option<Raw<'a>>,
    #[serde(borrow)]
    publisher: Option<Raw<'a>>,
    #[serde(borrow)]
    url: Option<Raw<'a>>,
    #[serde(borrow)]
    date: Option<Raw<'a>>,
}

/// Where a string's text is in the batch's buffer (without its quotes), and whether it must be
/// decoded or cleaned there before it can be lent.
#[derive(Debug, Clone, Copy)]
struct Lit {
    start: u32,
    end: u32,
    work: bool,
}

/// A string of a record the fast path took: lent from the buffer when the batch is done, or
/// owned already (text that had to be read to be checked, and was written with escapes).
#[derive(Debug)]
enum Val {
    Lent(Lit),
    Owned(String),
}

/// A record the fast path took, its text still in the buffer.
#[derive(Debug)]
pub struct Pending {
    id: Val,
    victim: Val,
    name: Option<Val>,
    date: PartialDate,
    location: Option<Val>,
    industry: Option<Val>,
    summary: Val,
    description: Option<Val>,
    loss_usd: Option<u64>,
    cia: Option<(Impact, Impact, Impact, Option<Val>)>,
    motives: Vec<Motive>,
    ttps: Vec<PendingTtp>,
    actors: Vec<PendingActor>,
    sources: Vec<PendingSource>,
    related: Vec<Val>,
    tags: Vec<Val>,
}

#[derive(Debug)]
enum PendingTtp {
    Attack { id: Val, note: Option<Val> },
    Other { name: Val, framework: Option<Val>, note: Option<Val> },
}

#[derive(Debug)]
enum PendingActor {
    /// From the actor catalog, shared already.
    Known(Arc<Actor>),
    Object {
        name: Val,
        kind: ActorType,
        location: Option<Val>,
        aliases: Vec<Val>,
    },
}

#[derive(Debug)]
struct PendingSource {
    title: Option<Val>,
    publisher: Option<Val>,
    url: Option<Val>,
    date: Option<PartialDate>,
}

/// Reads one record's text (a slice of `buffer`), or `None` to send it down the careful path.
/// Each rule mirrors the careful path's (`fields.rs`): text is sanitised before it is checked,
/// required text must not be blank, null reads as absent.
pub fn record(text: &str, buffer: &str, actors: &ActorCatalog) -> Option<Pending> {
    let r: Record = serde_json::from_str(text).ok()?;
    let at = Reader { buffer };
    let date = PartialDate::parse(&at.checked(r.date)?.1).ok()?;
    let cia = match r.cia {
        None => None,
        Some(c) => Some((
            at.impact(c.confidentiality)?,
            at.impact(c.integrity)?,
            at.impact(c.availability)?,
            at.optional(c.note)?,
        )),
    };
    let mut motives = Vec::new();
    for m in r.motives.unwrap_or_default() {
        let m = Motive::parse(&at.listed(m)?.1)?;
        if !motives.contains(&m) {
            motives.push(m);
        }
    }
    let ttps = r.ttps.unwrap_or_default().into_iter().map(|t| at.ttp(t)).collect::<Option<Vec<_>>>()?;
    let actors = r.actors.unwrap_or_default().into_iter().map(|a| at.actor(a, actors)).collect::<Option<Vec<_>>>()?;
    let sources = r.sources.unwrap_or_default().into_iter().map(|s| at.source(s)).collect::<Option<Vec<_>>>()?;
    let related =
        r.related.unwrap_or_default().into_iter().map(|x| at.listed(x).map(|v| v.0)).collect::<Option<_>>()?;
    let tags = r.tags.unwrap_or_default().into_iter().map(|x| at.listed(x).map(|v| v.0)).collect::<Option<_>>()?;
    let name = match r.name {
        None => None,
        // A blank name is no name.
        Some(n) => at.checked(n).filter(|(_, text)| !text.trim().is_empty()).map(|(v, _)| v),
    };
    Some(Pending {
        id: at.required(r.id)?,
        victim: at.required(r.victim)?,
        name,
        date,
        location: at.optional(r.location)?,
        industry: at.optional(r.industry)?,
        summary: at.required(r.summary)?,
        description: at.optional(r.description)?,
        loss_usd: r.loss_usd,
        cia,
        motives,
        ttps,
        actors,
        sources,
        related,
        tags,
    })
}

/// Reads fields against the buffer they are in.
struct Reader<'b> {
    buffer: &'b str,
}

impl Reader<'_> {
    /// A string field: where its text is, or `None` for anything that is not a well-formed string.
    fn lit(&self, raw: Raw) -> Option<Lit> {
        let written = raw.get();
        let inner = written.strip_prefix('"')?.strip_suffix('"')?;
        let start = (inner.as_ptr() as usize).checked_sub(self.buffer.as_ptr() as usize)?;
        if plain(inner.as_bytes()) {
            let end = start + inner.len();
            return Some(Lit { start: u32::try_from(start).ok()?, end: u32::try_from(end).ok()?, work: false });
        }
        let escaped = memchr::memchr(b'\\', inner.as_bytes()).is_some();
        if escaped && !escapes_are_valid(inner.as_bytes()) {
            return None;
        }
        let work = escaped || needs_cleaning(inner);
        Some(Lit { start: u32::try_from(start).ok()?, end: u32::try_from(start + inner.len()).ok()?, work })
    }

    /// A string whose text must be read now, to be checked: the value, and its text as it will be
    /// shown. Text that needs decoding is decoded (and owned) here.
    fn checked(&self, raw: Raw) -> Option<(Val, Cow<'_, str>)> {
        let lit = self.lit(raw)?;
        if lit.work {
            let decoded: String = serde_json::from_str(raw.get()).ok()?;
            let clean = sanitize_owned(decoded.into());
            Some((Val::Owned(clean.clone()), Cow::Owned(clean)))
        } else {
            Some((Val::Lent(lit), Cow::Borrowed(&self.buffer[lit.start as usize..lit.end as usize])))
        }
    }

    /// Required text: sanitised, and not blank once sanitised.
    fn required(&self, raw: Raw) -> Option<Val> {
        let lit = self.lit(raw)?;
        if lit.work {
            let (v, text) = self.checked(raw)?;
            return (!text.trim().is_empty()).then_some(v);
        }
        let text = &self.buffer[lit.start as usize..lit.end as usize];
        (!text.trim().is_empty()).then_some(Val::Lent(lit))
    }

    /// Optional text: `Some(None)` when absent, `None` when it is not a string.
    fn optional(&self, raw: Option<Raw>) -> Option<Option<Val>> {
        match raw {
            None => Some(None),
            Some(raw) => self.lit(raw).map(|lit| Some(Val::Lent(lit))),
        }
    }

    /// An item of a list of words (motives, related ids, tags): not blank as written, then
    /// sanitised. Returns the value and its text.
    fn listed(&self, raw: Raw) -> Option<(Val, Cow<'_, str>)> {
        let lit = self.lit(raw)?;
        if !lit.work {
            let text = &self.buffer[lit.start as usize..lit.end as usize];
            return (!text.trim().is_empty()).then_some((Val::Lent(lit), Cow::Borrowed(text)));
        }
        let decoded: String = serde_json::from_str(raw.get()).ok()?;
        if decoded.trim().is_empty() {
            return None;
        }
        let clean = sanitize_owned(decoded.into());
        Some((Val::Owned(clean.clone()), Cow::Owned(clean)))
    }

    fn impact(&self, raw: Raw) -> Option<Impact> {
        let (_, text) = self.checked(raw)?;
        if text.trim().is_empty() {
            return None;
        }
        Impact::parse(&text)
    }

    fn ttp(&self, raw: Raw) -> Option<PendingTtp> {
        if raw.get().starts_with('"') {
            // As written: an id with anything to decode or clean would not have the ATT&CK shape.
            let lit = self.lit(raw)?;
            let id = &self.buffer[lit.start as usize..lit.end as usize];
            return (!lit.work && is_attack_id(id)).then_some(PendingTtp::Attack { id: Val::Lent(lit), note: None });
        }
        let o: TtpObject = serde_json::from_str(raw.get()).ok()?;
        let note = self.optional(o.note)?;
        match (o.id, o.name) {
            (Some(id), None) if o.framework.is_none() => {
                let (id, text) = self.checked(id)?;
                (!text.trim().is_empty() && is_attack_id(&text)).then_some(PendingTtp::Attack { id, note })
            }
            (None, Some(name)) => {
                Some(PendingTtp::Other { name: self.required(name)?, framework: self.optional(o.framework)?, note })
            }
            _ => None,
        }
    }

    fn actor(&self, raw: Raw, catalog: &ActorCatalog) -> Option<PendingActor> {
        if raw.get().starts_with('"') {
            let name: String = serde_json::from_str(raw.get()).ok()?;
            return catalog.actor(&sanitize_owned(name.into())).map(PendingActor::Known);
        }
        let o: ActorObject = serde_json::from_str(raw.get()).ok()?;
        let (_, kind) = self.checked(o.kind)?;
        if kind.trim().is_empty() {
            return None;
        }
        Some(PendingActor::Object {
            name: self.required(o.name)?,
            kind: ActorType::parse(&kind)?,
            location: self.optional(o.location)?,
            aliases: o
                .aliases
                .unwrap_or_default()
                .into_iter()
                .map(|a| self.lit(a).map(Val::Lent))
                .collect::<Option<_>>()?,
        })
    }

    fn source(&self, s: SourceRecord) -> Option<PendingSource> {
        let date = match s.date {
            Some(d) => Some(PartialDate::parse(&self.checked(d)?.1).ok()?),
            None => None,
        };
        let (title, url) = (self.optional(s.title)?, self.optional(s.url)?);
        if title.is_none() && url.is_none() {
            return None;
        }
        Some(PendingSource { title, publisher: self.optional(s.publisher)?, url, date })
    }
}

impl Pending {
    /// Calls `f` on every string still in the buffer.
    fn each_lit(&mut self, f: &mut dyn FnMut(&mut Lit)) {
        let mut add = |v: &mut Val| {
            if let Val::Lent(l) = v {
                f(l);
            }
        };
        add(&mut self.id);
        add(&mut self.victim);
        add(&mut self.summary);
        for v in [&mut self.name, &mut self.location, &mut self.industry, &mut self.description].into_iter().flatten() {
            add(v);
        }
        if let Some((_, _, _, Some(note))) = &mut self.cia {
            add(note);
        }
        for t in &mut self.ttps {
            match t {
                PendingTtp::Attack { id, note } => {
                    add(id);
                    note.iter_mut().for_each(&mut add);
                }
                PendingTtp::Other { name, framework, note } => {
                    add(name);
                    framework.iter_mut().chain(note.iter_mut()).for_each(&mut add);
                }
            }
        }
        for a in &mut self.actors {
            if let PendingActor::Object { name, location, aliases, .. } = a {
                add(name);
                location.iter_mut().chain(aliases.iter_mut()).for_each(&mut add);
            }
        }
        for s in &mut self.sources {
            s.title.iter_mut().chain(s.publisher.iter_mut()).chain(s.url.iter_mut()).for_each(&mut add);
        }
        self.related.iter_mut().chain(self.tags.iter_mut()).for_each(&mut add);
    }

    /// Decodes and cleans, in `buffer`, the strings that need it. Decoded text is never longer
    /// than its escaped form, so it fits where it was; what it leaves free becomes spaces, so the
    /// buffer stays text.
    pub fn settle(&mut self, buffer: &mut [u8]) {
        self.each_lit(&mut |lit| {
            if !lit.work {
                return;
            }
            let (start, end) = (lit.start as usize, lit.end as usize);
            let mut len = unescape_in_place(&mut buffer[start..end]);
            let cleaned = match std::str::from_utf8(&buffer[start..start + len]).map(sanitize) {
                Ok(Cow::Owned(clean)) => Some(clean),
                _ => None,
            };
            if let Some(clean) = cleaned {
                buffer[start..start + clean.len()].copy_from_slice(clean.as_bytes());
                len = clean.len();
            }
            buffer[start + len..end].fill(b' ');
            lit.end = (start + len) as u32;
            lit.work = false;
        });
    }

    /// The incident, its text lent from `buffer` (settled). Actors written out in full are shared
    /// through `actors` with the batch's other incidents that name the same one.
    pub fn incident(self, buffer: &'static str, actors: &mut HashSet<Arc<Actor>>) -> Incident {
        let s = |v: Val| -> Str {
            match v {
                Val::Lent(l) => Str::Borrowed(buffer.get(l.start as usize..l.end as usize).unwrap_or_default()),
                Val::Owned(o) => Str::Owned(o),
            }
        };
        let o = |v: Option<Val>| v.map(s);
        Incident {
            id: s(self.id),
            victim: s(self.victim),
            name: o(self.name),
            date: self.date,
            location: o(self.location),
            industry: o(self.industry),
            summary: s(self.summary),
            description: o(self.description),
            loss_usd: self.loss_usd,
            cia: self.cia.map(|(confidentiality, integrity, availability, note)| Cia {
                confidentiality,
                integrity,
                availability,
                note: o(note),
            }),
            motives: self.motives,
            ttps: exact(self.ttps, |t| match t {
                PendingTtp::Attack { id, note } => TechniqueRef::Attack { id: s(id), note: o(note) },
                PendingTtp::Other { name, framework, note } => {
                    TechniqueRef::Other { name: s(name), framework: o(framework), note: o(note) }
                }
            }),
            actors: exact(self.actors, |a| match a {
                PendingActor::Known(actor) => actor,
                PendingActor::Object { name, kind, location, aliases } => {
                    let actor = Actor { name: s(name), kind, location: o(location), aliases: exact(aliases, s) };
                    match actors.get(&actor) {
                        Some(shared) => Arc::clone(shared),
                        None => {
                            let shared = Arc::new(actor);
                            actors.insert(Arc::clone(&shared));
                            shared
                        }
                    }
                }
            }),
            sources: exact(self.sources, |x| Source {
                title: o(x.title),
                publisher: o(x.publisher),
                url: o(x.url),
                date: x.date,
            }),
            related: exact(self.related, s),
            tags: exact(self.tags, s),
        }
    }
}

/// Whether a string's text, as written, has nothing to decode and nothing to clean: no backslash,
/// no byte below 0x20, no DEL and no 0xC2 (the lead byte of C1 controls). One pass, 32 bytes at a
/// time without early exits (vector compares), for the nearly all strings that are plain; the
/// rest are looked at closely by `lit`.
fn plain(bytes: &[u8]) -> bool {
    let odd = |b: u8| u8::from(b < 0x20) | u8::from(b == 0x7f) | u8::from(b == 0xc2) | u8::from(b == b'\\');
    let mut chunks = bytes.chunks_exact(32);
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(0, |acc, &b| acc | odd(b)) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| odd(b) == 0)
}

/// `items` mapped into a list of their own size. `collect` would reuse the pending list's
/// allocation, larger than the incident needs, and keep it for the rest of the run: a million
/// records' worth of room that holds nothing.
fn exact<T, U>(items: Vec<T>, f: impl FnMut(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(items.len());
    out.extend(items.into_iter().map(f));
    out
}

/// Whether the escapes of a JSON string's text are ones serde would decode: a known letter, four
/// hex digits after `\u`, surrogates in pairs.
fn escapes_are_valid(text: &[u8]) -> bool {
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'\\', &text[i..]) {
        i += at + 1;
        match text.get(i) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 1,
            Some(b'u') => {
                let Some(unit) = hex4(&text[i + 1..]) else { return false };
                i += 5;
                match unit {
                    0xd800..=0xdbff => {
                        let low = text.get(i..i + 2).filter(|p| *p == b"\\u").and_then(|_| hex4(&text[i + 2..]));
                        if !low.is_some_and(|l| (0xdc00..=0xdfff).contains(&l)) {
                            return false;
                        }
                        i += 6;
                    }
                    0xdc00..=0xdfff => return false,
                    _ => {}
                }
            }
            _ => return false,
        }
    }
    true
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    let s = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(s, 16).ok().filter(|_| digits.iter().all(u8::is_ascii_hexdigit))
}

/// Decodes a JSON string's text (escapes checked already) where it is; returns its new length.
fn unescape_in_place(buf: &mut [u8]) -> usize {
    let (mut read, mut write) = (0, 0);
    while read < buf.len() {
        let Some(at) = memchr::memchr(b'\\', &buf[read..]) else {
            buf.copy_within(read.., write);
            return write + buf.len() - read;
        };
        buf.copy_within(read..read + at, write);
        write += at;
        read += at + 1;
        let c = match buf[read] {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex4(&buf[read + 1..]).unwrap_or(0xfffd);
                read += 4;
                let code = if (0xd800..=0xdbff).contains(&unit) {
                    let low = hex4(&buf[read + 3..]).unwrap_or(0xdc00);
                    read += 6;
                    0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    unit
                };
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            other => other as char,
        };
        read += 1;
        write += c.encode_utf8(&mut buf[write..write + c.len_utf8()]).len();
    }
    write
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_in_place() {
        for (json, text) in [
            (r#""a\nb""#, "a\nb"),
            (r#""\"quoted\" \\ \/""#, "\"quoted\" \\ /"),
            (r#""caf\u00e9 \ud83d\ude00 end""#, "café 😀 end"),
            (r#""plain""#, "plain"),
        ] {
            let inner = &json[1..json.len() - 1];
            assert!(escapes_are_valid(inner.as_bytes()), "{json}");
            let mut buf = inner.as_bytes().to_vec();
            let n = unescape_in_place(&mut buf);
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), text);
            assert_eq!(serde_json::from_str::<String>(json).unwrap(), text, "serde agrees");
        }
        for bad in [r"\x", r"\u12", r"\ud800", r"\udc00x", r"\ud800\u0041"] {
            assert!(!escapes_are_valid(bad.as_bytes()), "{bad}");
        }
    }
}
