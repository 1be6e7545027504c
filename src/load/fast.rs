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

/// A record the fast path took, its text still in the buffer. Its lists are runs of the batch's
/// `Lists`, in record order: it keeps only how many items each has.
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
    ttps: u32,
    actors: u32,
    sources: u32,
    related: u32,
    tags: u32,
}

/// The list items of a batch's records, end to end: one list of each kind grows for the whole
/// batch, instead of small lists made (and regrown) for every record and then copied again into
/// lists of their exact size.
#[derive(Debug, Default)]
pub struct Lists {
    ttps: Vec<PendingTtp>,
    actors: Vec<PendingActor>,
    sources: Vec<PendingSource>,
    related: Vec<Val>,
    tags: Vec<Val>,
    aliases: Vec<Val>,
}

impl Lists {
    fn lens(&self) -> [usize; 6] {
        [
            self.ttps.len(),
            self.actors.len(),
            self.sources.len(),
            self.related.len(),
            self.tags.len(),
            self.aliases.len(),
        ]
    }

    /// Drops what a record that was not taken left.
    fn truncate(&mut self, [t, a, s, r, g, l]: [usize; 6]) {
        self.ttps.truncate(t);
        self.actors.truncate(a);
        self.sources.truncate(s);
        self.related.truncate(r);
        self.tags.truncate(g);
        self.aliases.truncate(l);
    }

    /// Decodes and cleans, in `buffer`, the strings of the lists that need it (see `settle`).
    pub fn settle(&mut self, buffer: &mut [u8]) {
        let mut fix = |v: &mut Val| settle_val(v, buffer);
        for t in &mut self.ttps {
            match t {
                PendingTtp::Attack { id, note } => {
                    fix(id);
                    note.iter_mut().for_each(&mut fix);
                }
                PendingTtp::Other { name, framework, note } => {
                    fix(name);
                    framework.iter_mut().chain(note.iter_mut()).for_each(&mut fix);
                }
            }
        }
        for a in &mut self.actors {
            if let PendingActor::Object { name, location, .. } = a {
                fix(name);
                location.iter_mut().for_each(&mut fix);
            }
        }
        for s in &mut self.sources {
            s.title.iter_mut().chain(s.publisher.iter_mut()).chain(s.url.iter_mut()).for_each(&mut fix);
        }
        self.related.iter_mut().chain(self.tags.iter_mut()).chain(self.aliases.iter_mut()).for_each(fix);
    }

    /// Empties the lists, keeping their room for the next batch.
    pub fn clear(&mut self) {
        self.truncate([0; 6]);
    }

    /// The lists, to be handed out in record order; they are left empty, their room kept.
    pub fn runs(&mut self) -> Runs<'_> {
        Runs {
            ttps: self.ttps.drain(..),
            actors: self.actors.drain(..),
            sources: self.sources.drain(..),
            related: self.related.drain(..),
            tags: self.tags.drain(..),
            aliases: self.aliases.drain(..),
        }
    }
}

/// The batch's list items, taken by each record in turn.
pub struct Runs<'l> {
    ttps: std::vec::Drain<'l, PendingTtp>,
    actors: std::vec::Drain<'l, PendingActor>,
    sources: std::vec::Drain<'l, PendingSource>,
    related: std::vec::Drain<'l, Val>,
    tags: std::vec::Drain<'l, Val>,
    aliases: std::vec::Drain<'l, Val>,
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
        /// How many of the batch's aliases are this actor's.
        aliases: u32,
    },
}

#[derive(Debug)]
struct PendingSource {
    title: Option<Val>,
    publisher: Option<Val>,
    url: Option<Val>,
    date: Option<PartialDate>,
}

/// Reads one record's text (a slice of `buffer`), its lists onto the batch's `lists`, or `None`
/// to send it down the careful path. Each rule mirrors the careful path's (`fields.rs`): text is
/// sanitised before it is checked, required text must not be blank, null reads as absent. Like a
/// typed parse that denies unknown fields, it refuses a record with an unknown or repeated field,
/// or without a required one.
pub fn record(text: &str, buffer: &str, actors: &ActorCatalog, lists: &mut Lists) -> Option<Pending> {
    let mut lx = Lexer::within(buffer, text)?;
    taken(lists, |lists| read_record(&mut lx, buffer, actors, lists).filter(|_| lx.at_end()))
}

/// Reads the record that starts at `start` of `buffer` and returns it with the index just after
/// it, or `None` to send it down the careful path (which must first find where it ends).
pub fn record_at(buffer: &str, start: usize, actors: &ActorCatalog, lists: &mut Lists) -> Option<(Pending, usize)> {
    let mut lx = Lexer::at(buffer, start)?;
    let pending = taken(lists, |lists| read_record(&mut lx, buffer, actors, lists))?;
    Some((pending, lx.position()))
}

/// `read` on `lists`, which keep nothing of a record that was not taken.
fn taken(lists: &mut Lists, read: impl FnOnce(&mut Lists) -> Option<Pending>) -> Option<Pending> {
    let before = lists.lens();
    let pending = read(lists);
    if pending.is_none() {
        lists.truncate(before);
    }
    pending
}

fn read_record(lx: &mut Lexer, buffer: &str, actors: &ActorCatalog, lists: &mut Lists) -> Option<Pending> {
    let at = Reader { buffer };
    let (mut id, mut victim, mut date, mut summary) = (None, None, None, None);
    let (mut name, mut location, mut industry, mut description, mut loss_usd, mut cia) =
        (None, None, None, None, None, None);
    // Each motive once, in the order first written: there are only so many.
    let mut motives = [Motive::Unknown; Motive::ALL.len()];
    let mut distinct = 0;
    let (mut ttps, mut named, mut sources, mut related, mut tags) = (0, 0, 0, 0, 0);
    lx.object(&FIELDS, |lx, key| {
        match key {
            "id" => id = Some(at.required(lx.string()?)?),
            "victim" => victim = Some(at.required(lx.string()?)?),
            "date" => date = Some(PartialDate::parse(&at.checked(lx.string()?)?.1).ok()?),
            "summary" => summary = Some(at.required(lx.string()?)?),
            "name" => {
                // A blank name is no name.
                name = if lx.null() { None } else { at.checked(lx.string()?).filter(|(_, t)| !blank(t)) };
            }
            "location" => location = at.optional(lx)?,
            "industry" => industry = at.optional(lx)?,
            "description" => description = at.optional(lx)?,
            "loss_usd" => loss_usd = if lx.null() { None } else { Some(lx.count()?) },
            "cia" => cia = if lx.null() { None } else { Some(at.cia(lx)?) },
            "motives" => {
                list(lx, |lx| {
                    let m = Motive::parse(&at.listed(lx.string()?)?.1)?;
                    if !motives[..distinct].contains(&m) {
                        motives[distinct] = m;
                        distinct += 1;
                    }
                    Some(())
                })?;
            }
            "ttps" => ttps = list(lx, |lx| at.ttp(lx).map(|t| lists.ttps.push(t)))?,
            "actors" => {
                named = list(lx, |lx| {
                    let actor = at.actor(lx, actors, &mut lists.aliases)?;
                    lists.actors.push(actor);
                    Some(())
                })?;
            }
            "sources" => sources = list(lx, |lx| at.source(lx).map(|x| lists.sources.push(x)))?,
            "related" => related = list(lx, |lx| at.listed(lx.string()?).map(|(v, _)| lists.related.push(v)))?,
            "tags" => tags = list(lx, |lx| at.listed(lx.string()?).map(|(v, _)| lists.tags.push(v)))?,
            _ => return None,
        }
        Some(())
    })?;
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
        motives: motives[..distinct].to_vec(),
        ttps,
        actors: named,
        sources,
        related,
        tags,
    })
}

/// Text with nothing but whitespace, or none. Most text starts with a letter or digit, which
/// settles it without looking further.
fn blank(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => text.trim().is_empty(),
    }
}

/// A list field, each item read by `item`; returns how many there were. `null` reads as an empty
/// list.
fn list(lx: &mut Lexer, mut item: impl FnMut(&mut Lexer) -> Option<()>) -> Option<u32> {
    let mut n = 0;
    if lx.null() {
        return Some(n);
    }
    lx.array(|lx| {
        item(lx)?;
        n += 1;
        Some(())
    })?;
    Some(n)
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
        Some(sanitize_owned(self.unescaped(lit)?.into()))
    }

    /// The text of a string with its escapes decoded, as written otherwise.
    fn unescaped(&self, lit: Lit) -> Option<String> {
        // The quotes are around the text in the buffer.
        let quoted = self.buffer.get(lit.start as usize - 1..lit.end as usize + 1)?;
        serde_json::from_str(quoted).ok()
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
        (!blank(&text)).then_some(v)
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
            return (!blank(text)).then_some((Val::Lent(lit), Cow::Borrowed(text)));
        }
        let decoded = self.unescaped(lit)?;
        if blank(&decoded) {
            return None;
        }
        let clean = sanitize_owned(decoded.into());
        Some((Val::Owned(clean.clone()), Cow::Owned(clean)))
    }

    fn impact(&self, lit: Lit) -> Option<Impact> {
        let (_, text) = self.checked(lit)?;
        if blank(&text) {
            return None;
        }
        Impact::parse(&text)
    }

    fn cia(&self, lx: &mut Lexer) -> Option<(Impact, Impact, Impact, Option<Val>)> {
        let (mut c, mut i, mut a, mut note) = (None, None, None, None);
        lx.object(&CIA_FIELDS, |lx, key| {
            match key {
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
        let (mut id, mut name, mut framework, mut note) = (None, None, None, None);
        lx.object(&TTP_FIELDS, |lx, key| {
            let value = self.optional(lx)?;
            match key {
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
                (!blank(&text) && is_attack_id(&text)).then_some(PendingTtp::Attack { id, note })
            }
            (None, Some(Val::Lent(name))) => Some(PendingTtp::Other { name: self.required(name)?, framework, note }),
            _ => None,
        }
    }

    /// An actor: a name from the catalog, or an object (its aliases onto `aliases`).
    fn actor(&self, lx: &mut Lexer, catalog: &ActorCatalog, aliases: &mut Vec<Val>) -> Option<PendingActor> {
        if lx.next_is(b'"') {
            let lit = lx.string()?;
            let found = if lit.work { catalog.actor(&self.decoded(lit)?) } else { catalog.actor(self.text(lit)) };
            return found.map(PendingActor::Known);
        }
        let (mut name, mut kind, mut location, mut count) = (None, None, None, 0);
        lx.object(&ACTOR_FIELDS, |lx, key| {
            match key {
                "name" => name = Some(self.required(lx.string()?)?),
                "type" => {
                    let (_, kind_text) = self.checked(lx.string()?)?;
                    if blank(&kind_text) {
                        return None;
                    }
                    kind = Some(ActorType::parse(&kind_text)?);
                }
                "location" => location = self.optional(lx)?,
                _ => count = list(lx, |lx| lx.string().map(|lit| aliases.push(Val::Lent(lit))))?,
            }
            Some(())
        })?;
        Some(PendingActor::Object { name: name?, kind: kind?, location, aliases: count })
    }

    fn source(&self, lx: &mut Lexer) -> Option<PendingSource> {
        let (mut title, mut publisher, mut url, mut date) = (None, None, None, None);
        lx.object(&SOURCE_FIELDS, |lx, key| {
            match key {
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
    /// Decodes and cleans, in `buffer`, the strings of the record's own fields that need it (its
    /// lists are settled with the batch's, by `Lists::settle`). Decoded text is never longer than
    /// its escaped form, so it fits where it was; what it leaves free becomes spaces, so the buffer
    /// stays text.
    pub fn settle(&mut self, buffer: &mut [u8]) {
        let mut fix = |v: &mut Val| settle_val(v, buffer);
        fix(&mut self.id);
        fix(&mut self.victim);
        fix(&mut self.summary);
        for v in [&mut self.name, &mut self.location, &mut self.industry, &mut self.description].into_iter().flatten() {
            fix(v);
        }
        if let Some((_, _, _, Some(note))) = &mut self.cia {
            fix(note);
        }
    }

    /// The incident, its text lent from `buffer` (settled) and its lists taken from `runs`. Actors
    /// written out in full are shared through `actors` with the batch's other incidents that name
    /// the same one.
    pub fn incident(self, buffer: &'static str, runs: &mut Runs<'_>, actors: &mut HashSet<Arc<Actor>>) -> Incident {
        let s = |v: Val| -> Str {
            match v {
                Val::Lent(l) => Str::Borrowed(buffer.get(l.start as usize..l.end as usize).unwrap_or_default()),
                Val::Owned(o) => Str::Owned(o),
            }
        };
        let o = |v: Option<Val>| v.map(s);
        let Runs { ttps, actors: named, sources, related, tags, aliases } = runs;
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
            ttps: take(ttps, self.ttps, |t| match t {
                PendingTtp::Attack { id, note } => TechniqueRef::Attack { id: s(id), note: o(note) },
                PendingTtp::Other { name, framework, note } => {
                    TechniqueRef::Other { name: s(name), framework: o(framework), note: o(note) }
                }
            }),
            actors: take(named, self.actors, |a| match a {
                PendingActor::Known(actor) => actor,
                PendingActor::Object { name, kind, location, aliases: count } => {
                    let actor = Actor { name: s(name), kind, location: o(location), aliases: take(aliases, count, s) };
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
            sources: take(sources, self.sources, |x| Source {
                title: o(x.title),
                publisher: o(x.publisher),
                url: o(x.url),
                date: x.date,
            }),
            related: take(related, self.related, s),
            tags: take(tags, self.tags, s),
        }
    }
}

/// Decodes and cleans one string in `buffer`, if it needs it.
fn settle_val(v: &mut Val, buffer: &mut [u8]) {
    let Val::Lent(lit) = v else { return };
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
}

/// The next `n` items of a run, mapped into a list of exactly their number.
fn take<T, U>(run: &mut impl Iterator<Item = T>, n: u32, f: impl FnMut(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(n as usize);
    out.extend(run.by_ref().take(n as usize).map(f));
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
    fn blank_text_is_whitespace_of_any_kind_or_nothing() {
        for text in ["", " ", "\t\n", "\u{a0}", " \u{3000} "] {
            assert!(blank(text), "{text:?}");
        }
        for text in ["x", " x", "\u{a0}x", "é", "-", "\u{3000}1"] {
            assert!(!blank(text), "{text:?}");
        }
    }

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
