//! The fast path for native records: one pass of a strict lexer over the record's bytes
//! (`lexer.rs`), reading each field as it comes, with the same semantic checks as the careful
//! path. Its text is lent from the file rather than copied: the pass notes where each string is in
//! the batch's buffer; strings written with escapes (or needing cleaning) are decoded in that
//! buffer, in place, once the batch is parsed; then the incidents borrow their text from it.
//!
//! Whatever it cannot take whole (a wrong type, an unknown field, a bad date, an unknown actor)
//! it leaves to the careful path, which finds and places every problem. It never reports a problem
//! itself, so the two paths cannot disagree on one: a record it accepts is a record the careful
//! path accepts, converted to the same `Incident`.

use std::borrow::Cow;
use std::sync::Arc;

use foldhash::HashSet;

use super::fields::{ACTOR_FIELDS, CIA_FIELDS, FIELDS, SOURCE_FIELDS, TTP_FIELDS};
use super::lexer::{Lexer, Lit, hex4};
use crate::model::{
    Actor, ActorCatalog, ActorType, Cia, Impact, Incident, Motive, PartialDate, Source, Str, TechniqueRef,
    is_attack_id, sanitize, sanitize_owned,
};

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
/// required text must not be blank, null reads as absent. Like a typed parse that denies unknown
/// fields, it refuses a record with an unknown or repeated field, or without a required one.
pub fn record(text: &str, buffer: &str, actors: &ActorCatalog) -> Option<Pending> {
    let mut lx = Lexer::within(buffer, text)?;
    let at = Reader { buffer };
    let mut fields = Fields::default();
    let (mut id, mut victim, mut date, mut summary) = (None, None, None, None);
    let (mut name, mut location, mut industry, mut description, mut loss_usd, mut cia) =
        (None, None, None, None, None, None);
    let (mut motives, mut ttps, mut sources, mut related, mut tags) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut named = Vec::new();
    lx.object(|lx, key| {
        match fields.first(key, FIELDS)? {
            "id" => id = Some(at.required(lx.string()?)?),
            "victim" => victim = Some(at.required(lx.string()?)?),
            "date" => date = Some(PartialDate::parse(&at.checked(lx.string()?)?.1).ok()?),
            "summary" => summary = Some(at.required(lx.string()?)?),
            "name" => {
                // A blank name is no name.
                name = if lx.null() { None } else { at.checked(lx.string()?).filter(|(_, t)| !t.trim().is_empty()) };
            }
            "location" => location = at.optional(lx)?,
            "industry" => industry = at.optional(lx)?,
            "description" => description = at.optional(lx)?,
            "loss_usd" => loss_usd = if lx.null() { None } else { Some(lx.count()?) },
            "cia" => cia = if lx.null() { None } else { Some(at.cia(lx)?) },
            "motives" => list(lx, &mut motives, |lx| Motive::parse(&at.listed(lx.string()?)?.1))?,
            "ttps" => list(lx, &mut ttps, |lx| at.ttp(lx))?,
            "actors" => list(lx, &mut named, |lx| at.actor(lx, actors))?,
            "sources" => list(lx, &mut sources, |lx| at.source(lx))?,
            "related" => list(lx, &mut related, |lx| Some(at.listed(lx.string()?)?.0))?,
            "tags" => list(lx, &mut tags, |lx| Some(at.listed(lx.string()?)?.0))?,
            _ => return None,
        }
        Some(())
    })?;
    if !lx.at_end() {
        return None;
    }
    // A motive named twice counts once.
    let mut unique = Vec::with_capacity(motives.len());
    for m in motives {
        if !unique.contains(&m) {
            unique.push(m);
        }
    }
    Some(Pending {
        id: id?,
        victim: victim?,
        name: name.map(|(v, _)| v),
        date: date?,
        location,
        industry,
        summary: summary?,
        description,
        loss_usd,
        cia,
        motives: unique,
        ttps,
        actors: named,
        sources,
        related,
        tags,
    })
}

/// The fields an object has shown so far.
#[derive(Default)]
struct Fields(u32);

impl Fields {
    /// The name of field `key` of `known`, the first time it is seen; `None` for an unknown field
    /// or one written twice.
    fn first(&mut self, key: &[u8], known: &[&'static str]) -> Option<&'static str> {
        let n = known.iter().position(|k| k.as_bytes() == key)?;
        let bit = 1 << n;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(known[n])
    }
}

/// A list field, each item read by `item` onto `out`: `null` reads as an empty list.
fn list<T>(lx: &mut Lexer, out: &mut Vec<T>, mut item: impl FnMut(&mut Lexer) -> Option<T>) -> Option<()> {
    if lx.null() {
        return Some(());
    }
    lx.array(|lx| {
        out.push(item(lx)?);
        Some(())
    })
}

/// Reads fields against the buffer they are in.
struct Reader<'b> {
    buffer: &'b str,
}

impl Reader<'_> {
    fn text(&self, lit: Lit) -> &str {
        &self.buffer[lit.start as usize..lit.end as usize]
    }

    /// The text of a string that needs work, decoded and cleaned.
    fn decoded(&self, lit: Lit) -> Option<String> {
        // The quotes are around the text in the buffer.
        let quoted = self.buffer.get(lit.start as usize - 1..lit.end as usize + 1)?;
        let decoded: String = serde_json::from_str(quoted).ok()?;
        Some(sanitize_owned(decoded.into()))
    }

    /// A string whose text must be read now, to be checked: the value, and its text as it will be
    /// shown. Text that needs decoding is decoded (and owned) here.
    fn checked(&self, lit: Lit) -> Option<(Val, Cow<'_, str>)> {
        if lit.work {
            let clean = self.decoded(lit)?;
            Some((Val::Owned(clean.clone()), Cow::Owned(clean)))
        } else {
            Some((Val::Lent(lit), Cow::Borrowed(self.text(lit))))
        }
    }

    /// Required text: sanitised, and not blank once sanitised.
    fn required(&self, lit: Lit) -> Option<Val> {
        let (v, text) = self.checked(lit)?;
        (!text.trim().is_empty()).then_some(v)
    }

    /// Optional text: `Some(None)` for `null`, `None` when it is not a string.
    fn optional(&self, lx: &mut Lexer) -> Option<Option<Val>> {
        if lx.null() { Some(None) } else { lx.string().map(|lit| Some(Val::Lent(lit))) }
    }

    /// An item of a list of words (motives, related ids, tags): not blank as written, then
    /// sanitised. Returns the value and its text.
    fn listed(&self, lit: Lit) -> Option<(Val, Cow<'_, str>)> {
        if !lit.work {
            let text = self.text(lit);
            return (!text.trim().is_empty()).then_some((Val::Lent(lit), Cow::Borrowed(text)));
        }
        let quoted = self.buffer.get(lit.start as usize - 1..lit.end as usize + 1)?;
        let decoded: String = serde_json::from_str(quoted).ok()?;
        if decoded.trim().is_empty() {
            return None;
        }
        let clean = sanitize_owned(decoded.into());
        Some((Val::Owned(clean.clone()), Cow::Owned(clean)))
    }

    fn impact(&self, lit: Lit) -> Option<Impact> {
        let (_, text) = self.checked(lit)?;
        if text.trim().is_empty() {
            return None;
        }
        Impact::parse(&text)
    }

    fn cia(&self, lx: &mut Lexer) -> Option<(Impact, Impact, Impact, Option<Val>)> {
        let mut fields = Fields::default();
        let (mut c, mut i, mut a, mut note) = (None, None, None, None);
        lx.object(|lx, key| {
            match fields.first(key, CIA_FIELDS)? {
                "confidentiality" => c = Some(self.impact(lx.string()?)?),
                "integrity" => i = Some(self.impact(lx.string()?)?),
                "availability" => a = Some(self.impact(lx.string()?)?),
                _ => note = self.optional(lx)?,
            }
            Some(())
        })?;
        Some((c?, i?, a?, note))
    }

    fn ttp(&self, lx: &mut Lexer) -> Option<PendingTtp> {
        if lx.next_is(b'"') {
            // As written: an id with anything to decode or clean would not have the ATT&CK shape.
            let lit = lx.string()?;
            return (!lit.work && is_attack_id(self.text(lit)))
                .then_some(PendingTtp::Attack { id: Val::Lent(lit), note: None });
        }
        let mut fields = Fields::default();
        let (mut id, mut name, mut framework, mut note) = (None, None, None, None);
        lx.object(|lx, key| {
            let value = self.optional(lx)?;
            match fields.first(key, TTP_FIELDS)? {
                "id" => id = value,
                "name" => name = value,
                "framework" => framework = value,
                _ => note = value,
            }
            Some(())
        })?;
        match (id, name) {
            (Some(Val::Lent(id)), None) if framework.is_none() => {
                let (id, text) = self.checked(id)?;
                (!text.trim().is_empty() && is_attack_id(&text)).then_some(PendingTtp::Attack { id, note })
            }
            (None, Some(Val::Lent(name))) => Some(PendingTtp::Other { name: self.required(name)?, framework, note }),
            _ => None,
        }
    }

    fn actor(&self, lx: &mut Lexer, catalog: &ActorCatalog) -> Option<PendingActor> {
        if lx.next_is(b'"') {
            let lit = lx.string()?;
            let found = if lit.work { catalog.actor(&self.decoded(lit)?) } else { catalog.actor(self.text(lit)) };
            return found.map(PendingActor::Known);
        }
        let mut fields = Fields::default();
        let (mut name, mut kind, mut location, mut aliases) = (None, None, None, Vec::new());
        lx.object(|lx, key| {
            match fields.first(key, ACTOR_FIELDS)? {
                "name" => name = Some(self.required(lx.string()?)?),
                "type" => {
                    let (_, kind_text) = self.checked(lx.string()?)?;
                    if kind_text.trim().is_empty() {
                        return None;
                    }
                    kind = Some(ActorType::parse(&kind_text)?);
                }
                "location" => location = self.optional(lx)?,
                _ => list(lx, &mut aliases, |lx| lx.string().map(Val::Lent))?,
            }
            Some(())
        })?;
        Some(PendingActor::Object { name: name?, kind: kind?, location, aliases })
    }

    fn source(&self, lx: &mut Lexer) -> Option<PendingSource> {
        let mut fields = Fields::default();
        let (mut title, mut publisher, mut url, mut date) = (None, None, None, None);
        lx.object(|lx, key| {
            match fields.first(key, SOURCE_FIELDS)? {
                "title" => title = self.optional(lx)?,
                "publisher" => publisher = self.optional(lx)?,
                "url" => url = self.optional(lx)?,
                _ => {
                    if !lx.null() {
                        date = Some(PartialDate::parse(&self.checked(lx.string()?)?.1).ok()?);
                    }
                }
            }
            Some(())
        })?;
        if title.is_none() && url.is_none() {
            return None;
        }
        Some(PendingSource { title, publisher, url, date })
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

/// `items` mapped into a list of their own size. `collect` would reuse the pending list's
/// allocation, larger than the incident needs, and keep it for the rest of the run: a million
/// records' worth of room that holds nothing.
fn exact<T, U>(items: Vec<T>, f: impl FnMut(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(items.len());
    out.extend(items.into_iter().map(f));
    out
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
            let mut buf = inner.as_bytes().to_vec();
            let n = unescape_in_place(&mut buf);
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), text);
            assert_eq!(serde_json::from_str::<String>(json).unwrap(), text, "serde agrees");
        }
    }
}
