//! A fast reader of the export lines a log is mostly made of (SPEC §8): `case_filed`, `draw` and
//! `case_closed` entries exactly as the export writes them (members in the order of the types'
//! fields, no white space, no escapes in strings, integers without sign, fraction or exponent).
//!
//! It reads a strict subset of what serde's derived reader accepts and builds the same value, so it
//! can only save time: any line it does not recognize to the last byte (another event type, white
//! space, an escape, a member out of order, missing or unknown, a number or identifier out of
//! range, a digest not in lower-case hex ...) gives `None`, and the caller reads the line with serde
//! as before, which then accepts it or refuses it with its own message. Every value is checked by
//! the same parsers serde's reader calls (`CaseId::parse`, `Digest32::from_hex`, ...), or by one
//! tested to accept exactly the same bytes (`Digest32::from_hex_bytes`, eight digits a word).

use crate::beacon::BeaconReveal;
use crate::event::{
    Actor, Candidate, ClosingReason, Draw, Event, Excluded, Exclusion, LogEntry, Method, PoolScope,
    Role,
};
use crate::ids::{
    ActorId, CaseId, CaseTypeCode, CourtId, Digest32, DivisionId, JudgeId, is_valid_id,
};

use std::cell::RefCell;
use std::sync::Arc;

/// At most this many texts are shared (see [`Shared`]): a log names a few thousand judges, actors,
/// courts, divisions and case types, and a line naming one past the limit only costs a copy.
const SHARED_MAX: usize = 1 << 14;

/// The slots of [`Shared`]: twice [`SHARED_MAX`], so that the table is at most half full.
const SLOT_BITS: u32 = 15;

thread_local! {
    /// The texts of the identifiers read so far that recur in many lines (judges, actors, courts,
    /// divisions, case types; not cases, which each appear in a few lines only).
    static SHARED: RefCell<Shared> = RefCell::default();
}

/// A case number (checked by [`CaseId::parse`]).
fn case_id(s: &[u8]) -> Option<CaseId> {
    CaseId::parse(std::str::from_utf8(s).ok()?).ok()
}

/// The texts of identifiers already read, so that a line naming one again shares its text: one
/// lookup instead of an allocation (and a free when the entry is dropped), and equal identifiers
/// then share their text, so that comparing them needs no byte comparison.
///
/// An open-addressing table (linear probing, at most half full) keyed by an identifier's length
/// and first 16 bytes, read as two words: most identifiers are shorter, so a lookup is a few
/// word operations, without a general hasher or a byte comparison by call.
#[derive(Default)]
struct Shared {
    /// `1 << SLOT_BITS` slots, allocated on the first lookup.
    slots: Vec<Option<Slot>>,
    /// The slots in use.
    len: usize,
}

/// One text in [`Shared`].
struct Slot {
    /// The text's length and first 16 bytes (see [`Key`]).
    key: Key,
    text: Arc<str>,
}

/// An identifier's length and its first 16 bytes as two little-endian words, zero-padded: equal
/// keys are equal texts when the length is at most 16, and otherwise the rest is compared.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Key {
    len: usize,
    words: [u64; 2],
}

impl Key {
    /// The key of `line[at..at + len]`.
    #[inline]
    fn of(line: &[u8], at: usize, len: usize) -> Key {
        let n = len.min(16);
        // Most identifiers have 16 bytes of the line after their start (at least the closing
        // digests follow): one fixed-size read, the bytes past the text masked off below.
        let b: [u8; 16] = match line.get(at..at + 16) {
            Some(w) => w.try_into().expect("16 bytes"),
            None => {
                let mut b = [0u8; 16];
                b[..n].copy_from_slice(&line[at..at + n]);
                b
            }
        };
        let mut words = [
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
        ];
        if n < 8 {
            words[0] &= (1u64 << (8 * n)) - 1;
            words[1] = 0;
        } else if n < 16 {
            words[1] &= (1u64 << (8 * (n - 8))) - 1;
        }
        Key { len, words }
    }

    /// The first slot to look at (a multiplicative hash: the top bits of the product depend on
    /// every bit of the key).
    #[inline]
    fn slot(&self) -> usize {
        let x = self.words[0] ^ self.words[1].rotate_left(29) ^ self.len as u64;
        (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOT_BITS)) as usize
    }
}

impl Shared {
    /// The identifier text `line[at..at + len]` shared with the earlier lines that named it, if
    /// it is a valid identifier (the check of every identifier type's `parse`).
    fn get(&mut self, line: &[u8], at: usize, len: usize) -> Option<Arc<str>> {
        let s = &line[at..at + len];
        let key = Key::of(line, at, len);
        if self.slots.is_empty() {
            self.slots.resize_with(1 << SLOT_BITS, || None);
        }
        let mask = self.slots.len() - 1;
        let mut k = key.slot();
        while let Some(slot) = &self.slots[k] {
            if slot.key == key && (len <= 16 || slot.text.as_bytes()[16..] == s[16..]) {
                return Some(Arc::clone(&slot.text));
            }
            k = (k + 1) & mask;
        }
        // Not read before (`k` is the free slot where it belongs).
        let text = std::str::from_utf8(s).ok()?;
        if !is_valid_id(text) {
            return None;
        }
        let text: Arc<str> = Arc::from(text);
        if self.len < SHARED_MAX {
            self.slots[k] = Some(Slot {
                key,
                text: Arc::clone(&text),
            });
            self.len += 1;
        }
        Some(text)
    }
}

/// Reads `line` (one export line without its line feed) if it is in the form described above;
/// `None` otherwise (then serde must read it).
///
/// The bytes need not be checked first: a line it accepts is ASCII without control characters
/// (every byte is matched by a literal, a digit, a hex digit, or lies in a string that must be one
/// of the names of an enumeration or a valid identifier), so it would pass every framing check of
/// [`LogEntry::from_export_line`] and is valid UTF-8.
pub(crate) fn parse(line: &[u8]) -> Option<LogEntry> {
    // The table is borrowed once a line, not once an identifier.
    SHARED.with(|t| {
        let mut t = t.borrow_mut();
        let mut p = P {
            s: line,
            i: 0,
            shared: &mut t,
        };
        entry(&mut p)
    })
}

/// A whole line (see [`parse`]). Inlined into the closure that borrows the table, so that the
/// entry is built where the caller receives it rather than moved out of the closure.
#[inline(always)]
fn entry(p: &mut P<'_, '_>) -> Option<LogEntry> {
    p.lit(b"{\"index\":")?;
    let index = p.u64()?;
    p.lit(b",\"at\":")?;
    let at = i64::try_from(p.u64()?).ok()?;
    p.lit(b",\"actor\":{\"role\":")?;
    let role = match p.str()? {
        b"system" => Role::System,
        b"system_admin" => Role::SystemAdmin,
        b"court_admin" => Role::CourtAdmin,
        b"clerk" => Role::Clerk,
        b"judge" => Role::Judge,
        _ => return None,
    };
    p.lit(b",\"id\":")?;
    let id = ActorId::from_checked(p.id()?);
    p.lit(b"},\"event\":{\"type\":")?;
    let event = match p.str()? {
        b"case_filed" => case_filed(p)?,
        b"draw" => Event::Draw(draw(p)?),
        b"case_closed" => case_closed(p)?,
        _ => return None,
    };
    p.lit(b"},\"prev\":")?;
    let prev = p.digest()?;
    p.lit(b",\"hash\":")?;
    let hash = p.digest()?;
    p.lit(b"}")?;
    if p.i != p.s.len() {
        return None;
    }
    Some(LogEntry {
        index,
        at,
        actor: Actor { role, id },
        event,
        prev,
        hash,
    })
}

fn case_filed(p: &mut P<'_, '_>) -> Option<Event> {
    p.lit(b",\"case\":")?;
    let case = case_id(p.str()?)?;
    p.lit(b",\"court\":")?;
    let court = CourtId::from_checked(p.id()?);
    p.lit(b",\"division\":")?;
    let division = DivisionId::from_checked(p.id()?);
    p.lit(b",\"case_type\":")?;
    let case_type = CaseTypeCode::from_checked(p.id()?);
    p.lit(b",\"weight\":")?;
    let weight = u32::try_from(p.u64()?).ok()?;
    p.lit(b",\"parties\":[")?;
    let mut parties = Vec::with_capacity(4);
    if !p.eat(b']') {
        loop {
            parties.push(p.digest()?);
            if p.eat(b']') {
                break;
            }
            p.lit(b",")?;
        }
    }
    p.lit(b",\"claim\":")?;
    let claim = p.digest()?;
    // A related case (an object) is left to serde.
    p.lit(b",\"related\":null,\"earlier_instance\":")?;
    let earlier_instance = if p.eat_lit(b"null") {
        None
    } else {
        Some(case_id(p.str()?)?)
    };
    Some(Event::CaseFiled {
        case,
        court,
        division,
        case_type,
        weight,
        parties,
        claim,
        related: None,
        earlier_instance,
    })
}

fn case_closed(p: &mut P<'_, '_>) -> Option<Event> {
    p.lit(b",\"case\":")?;
    let case = case_id(p.str()?)?;
    p.lit(b",\"reason\":")?;
    let reason = match p.str()? {
        b"judgment" => ClosingReason::Judgment,
        b"settlement" => ClosingReason::Settlement,
        b"withdrawal" => ClosingReason::Withdrawal,
        b"dismissal" => ClosingReason::Dismissal,
        b"transfer" => ClosingReason::Transfer,
        _ => return None,
    };
    Some(Event::CaseClosed { case, reason })
}

fn draw(p: &mut P<'_, '_>) -> Option<Draw> {
    p.lit(b",\"case\":")?;
    let case = case_id(p.str()?)?;
    p.lit(b",\"trigger\":")?;
    let trigger = p.u64()?;
    p.lit(b",\"method\":{\"kind\":")?;
    let kind = p.str()?;
    let method = if kind == b"random" {
        Method::Random
    } else {
        p.lit(b",\"case\":")?;
        let case = case_id(p.str()?)?;
        match kind {
            b"related" => Method::Related { case },
            b"duplicate" => Method::Duplicate { case },
            b"random_after_duplicate" => Method::RandomAfterDuplicate { case },
            b"random_after_related" => Method::RandomAfterRelated { case },
            _ => return None,
        }
    };
    p.lit(b"},\"seats\":")?;
    let seats = u8::try_from(p.u64()?).ok()?;
    p.lit(b",\"scope\":")?;
    let scope = match p.str()? {
        b"division" => PoolScope::Division,
        b"court" => PoolScope::Court,
        b"court_below_minimum" => PoolScope::CourtBelowMinimum,
        _ => return None,
    };
    p.lit(b",\"eligible\":[")?;
    let mut eligible = Vec::with_capacity(8);
    if !p.eat(b']') {
        loop {
            p.lit(b"{\"judge\":")?;
            let judge = JudgeId::from_checked(p.id()?);
            p.lit(b",\"load\":")?;
            let load = p.u64()?;
            p.lit(b",\"weight\":")?;
            let weight = p.u64()?;
            p.lit(b"}")?;
            eligible.push(Candidate {
                judge,
                load,
                weight,
            });
            if p.eat(b']') {
                break;
            }
            p.lit(b",")?;
        }
    }
    p.lit(b",\"excluded\":[")?;
    let mut excluded = Vec::new();
    if !p.eat(b']') {
        loop {
            p.lit(b"{\"judge\":")?;
            let judge = JudgeId::from_checked(p.id()?);
            p.lit(b",\"reason\":")?;
            let reason = match p.str()? {
                b"inactive" => Exclusion::Inactive,
                b"other_division" => Exclusion::OtherDivision,
                b"no_specialization" => Exclusion::NoSpecialization,
                b"absent" => Exclusion::Absent,
                b"conflict" => Exclusion::Conflict,
                b"recused" => Exclusion::Recused,
                b"earlier_instance" => Exclusion::EarlierInstance,
                b"on_case" => Exclusion::OnCase,
                _ => return None,
            };
            p.lit(b"}")?;
            excluded.push(Excluded { judge, reason });
            if p.eat(b']') {
                break;
            }
            p.lit(b",")?;
        }
    }
    // A drand reveal is left to serde.
    p.lit(b",\"beacon\":")?;
    let beacon = if p.eat_lit(b"null") {
        None
    } else {
        p.lit(b"{\"kind\":\"hash_chain\",\"round\":")?;
        let round = p.u64()?;
        p.lit(b",\"value\":")?;
        let value = p.digest()?;
        p.lit(b"}")?;
        Some(BeaconReveal::HashChain { round, value })
    };
    p.lit(b",\"seed\":")?;
    let seed = if p.eat_lit(b"null") {
        None
    } else {
        Some(p.digest()?)
    };
    p.lit(b",\"chosen\":[")?;
    let mut chosen = Vec::with_capacity(3);
    if !p.eat(b']') {
        loop {
            chosen.push(JudgeId::from_checked(p.id()?));
            if p.eat(b']') {
                break;
            }
            p.lit(b",")?;
        }
    }
    Some(Draw {
        case,
        trigger,
        method,
        seats,
        scope,
        eligible,
        excluded,
        beacon,
        seed,
        chosen,
    })
}

/// `0x01` in each byte of a word. Eight bytes of the line are read as one little-endian word, the
/// first byte lowest.
const ONES: u64 = u64::from_ne_bytes([1; 8]);
/// `0x80` in each byte.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The high bit of each byte of `w` that is less than `n` (at most 0x80), exactly up to the first
/// such byte: the borrow of a byte's subtraction only carries into the bytes after it, so the
/// lowest bit set (the first byte in the line) is exact; bits above it may be spurious.
#[inline(always)]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * n as u64) & !w & HIGHS
}

/// The high bit of the bytes of `w` (eight bytes of the line) that end a string: a quote, a
/// backslash or a control character. Exact up to the first one (see [`bytes_below`]).
#[inline(always)]
fn string_stops(w: u64) -> u64 {
    bytes_below(w, 0x20)
        | bytes_below(w ^ (ONES * b'"' as u64), 1)
        | bytes_below(w ^ (ONES * b'\\' as u64), 1)
}

/// A cursor over the line, with the table of shared identifier texts.
struct P<'a, 't> {
    s: &'a [u8],
    i: usize,
    shared: &'t mut Shared,
}

impl<'a> P<'a, '_> {
    /// An identifier in quotes, its text shared (see [`Shared`]).
    fn id(&mut self) -> Option<Arc<str>> {
        let len = self.str()?.len();
        // The text lies just before its closing quote.
        self.shared.get(self.s, self.i - 1 - len, len)
    }

    /// Exactly the bytes `l` (inlined: each literal is compared as a constant, not by a call).
    #[inline(always)]
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(l) {
            self.i += l.len();
            Some(())
        } else {
            None
        }
    }

    /// The bytes `l` if they come next.
    #[inline(always)]
    fn eat_lit(&mut self, l: &[u8]) -> bool {
        self.lit(l).is_some()
    }

    /// The byte `b` if it comes next.
    #[inline(always)]
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// An integer of 1 to 19 decimal digits without sign and without a leading zero (0 itself
    /// excepted); the next byte must not be a digit (it is checked by the literal that follows).
    /// Inlined: a line has several, mostly short.
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        // A local slice and count: the cursor is written once, not once a digit.
        let s = &self.s[self.i..];
        let mut n = 0;
        let mut v: u64 = 0;
        while let Some(&b) = s.get(n)
            && b.is_ascii_digit()
        {
            // 19 digits never overflow a u64; longer numbers are left to serde.
            if n == 19 {
                return None;
            }
            v = v * 10 + (b - b'0') as u64;
            n += 1;
        }
        if n == 0 || (n > 1 && s[0] == b'0') {
            return None;
        }
        self.i += n;
        Some(v)
    }

    /// A string without escapes or control characters, as it lies in the line (its bytes: the
    /// caller matches them against names or checks them as an identifier, which only ASCII
    /// passes).
    fn str(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        // Eight bytes at a time while the line has them, then one at a time: the first quote,
        // backslash or control character ends the string (and only a quote ends it well).
        while let Some(w) = self.s.get(self.i..self.i + 8) {
            let stop = string_stops(u64::from_le_bytes(w.try_into().expect("8 bytes")));
            if stop != 0 {
                self.i += (stop.trailing_zeros() / 8) as usize;
                break;
            }
            self.i += 8;
        }
        loop {
            let b = *self.s.get(self.i)?;
            if b == b'"' {
                break;
            }
            if b == b'\\' || b < 0x20 {
                return None;
            }
            self.i += 1;
        }
        let s = &self.s[start..self.i];
        self.i += 1;
        Some(s)
    }

    /// A digest: 64 lower-case hex digits in quotes. Read in place: the 64 characters between
    /// the quotes must all be hex digits, so none is a quote, a backslash or a control character,
    /// and the result is that of [`P::str`] then [`Digest32::from_hex`].
    #[inline(always)]
    fn digest(&mut self) -> Option<Digest32> {
        let i = self.i;
        if self.s.get(i) != Some(&b'"') || self.s.get(i + 65) != Some(&b'"') {
            return None;
        }
        let d = Digest32::from_hex_bytes(self.s.get(i + 1..i + 65)?.try_into().ok()?)?;
        self.i = i + 66;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = include_str!("../../../tests/vectors/conformance-log.jsonl");

    /// What serde reads of `line`.
    fn slow(line: &str) -> Result<LogEntry, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    /// The fast reader never accepts what serde refuses, and reads what it accepts as serde does.
    fn agrees(line: &str) -> bool {
        match parse(line.as_bytes()) {
            None => false,
            Some(fast) => {
                assert_eq!(slow(line).as_ref(), Ok(&fast), "{line}");
                true
            }
        }
    }

    /// Lines of the three kinds the fast reader takes, from the conformance log and a national
    /// sample (draws with exclusions, panels, by reference).
    fn lines() -> Vec<String> {
        let mut v: Vec<String> = LOG.lines().map(str::to_owned).collect();
        let sample = crate::sample::sample_log(&crate::sample::SampleSpec {
            seed: 3,
            judges: 12,
            cases: 400,
            chain_length: 1 << 12,
        });
        v.extend(sample.iter().map(LogEntry::to_json_line));
        v
    }

    #[test]
    fn reads_every_common_line_as_serde_does() {
        let (mut fast, mut all) = (0, 0);
        let mut kinds = std::collections::BTreeSet::new();
        for line in lines() {
            all += 1;
            let e = slow(&line).expect("a valid line");
            let common = matches!(
                e.event,
                Event::CaseFiled { related: None, .. }
                    | Event::CaseClosed { .. }
                    | Event::Draw(Draw {
                        beacon: None | Some(BeaconReveal::HashChain { .. }),
                        ..
                    })
            );
            assert_eq!(agrees(&line), common, "{line}");
            if common {
                fast += 1;
                kinds.insert(e.event.type_name());
                if let Event::Draw(d) = &e.event {
                    kinds.insert(match d.method {
                        Method::Random => "random",
                        Method::Related { .. } => "related",
                        Method::Duplicate { .. } => "duplicate",
                        Method::RandomAfterDuplicate { .. } => "random_after_duplicate",
                        Method::RandomAfterRelated { .. } => "random_after_related",
                    });
                    if !d.excluded.is_empty() {
                        kinds.insert("excluded");
                    }
                }
            }
        }
        assert!(fast * 2 > all, "{fast} of {all}");
        for k in ["case_filed", "draw", "case_closed", "random", "excluded"] {
            assert!(kinds.contains(k), "no {k} line read fast: {kinds:?}");
        }
    }

    /// Every `step`th of the sample lines the fast reader reads, `take` of them.
    fn fast_lines(step: usize, take: usize) -> Vec<String> {
        lines()
            .into_iter()
            .filter(|l| parse(l.as_bytes()).is_some())
            .step_by(step)
            .take(take)
            .collect()
    }

    /// Every one-byte change (deletion, duplication, replacement by a byte of JSON syntax or a
    /// neighbouring character) of common lines: whatever the fast reader accepts, serde accepts
    /// with the same value. This fails if the fast path accepted something serde refuses.
    #[test]
    fn never_accepts_what_serde_refuses() {
        let picks = fast_lines(7, 40);
        let subs: &[u8] = b"\"\\ ,:{}[]0919-.eaAfgn\x01";
        let mut accepted = 0;
        for line in &picks {
            let b = line.as_bytes();
            for i in 0..b.len() {
                let mut variants: Vec<Vec<u8>> = vec![
                    [&b[..i], &b[i + 1..]].concat(),
                    [&b[..=i], &b[i..]].concat(),
                ];
                for &s in subs {
                    if s != b[i] {
                        let mut v = b.to_vec();
                        v[i] = s;
                        variants.push(v);
                    }
                }
                for v in variants {
                    let Ok(text) = std::str::from_utf8(&v) else {
                        continue;
                    };
                    if agrees(text) {
                        accepted += 1;
                    }
                }
            }
        }
        // Some changes keep the line valid (a digit of a number, a letter of an id).
        assert!(accepted > 0);
    }

    /// The fast reader takes raw bytes, before the framing checks of `from_export_line`: it
    /// must refuse every line those checks refuse (a carriage return, a byte that is not ASCII
    /// or not UTF-8, a control character, nothing at all), so that they still name it.
    #[test]
    fn accepts_only_lines_that_pass_the_framing_checks() {
        assert!(parse(b"").is_none());
        let picks = fast_lines(11, 20);
        let subs: &[&[u8]] = &[
            b"\r",
            b"\x80",
            b"\xff",
            b"\xc3\xa9",
            b"\x00",
            b"\x1f",
            b"\n",
        ];
        for line in &picks {
            let b = line.as_bytes();
            for i in 0..b.len() {
                for s in subs {
                    for v in [
                        [&b[..i], s, &b[i + 1..]].concat(),
                        [&b[..i], s, &b[i..]].concat(),
                    ] {
                        assert!(parse(&v).is_none(), "{}", String::from_utf8_lossy(&v));
                        // (A line feed between two tokens is white space to serde; the
                        // readers of exports split lines at line feeds.)
                        if *s != b"\n" {
                            let framed = [&v[..], b"\n"].concat();
                            assert!(LogEntry::from_export_line(&framed).is_err());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_the_forms_serde_accepts_but_the_export_never_writes() {
        let line = lines()
            .into_iter()
            .find(|l| l.contains("\"type\":\"draw\"") && parse(l.as_bytes()).is_some())
            .expect("a draw");
        // White space, a member moved, an escaped character, a number with an exponent, an
        // upper-case digest: serde reads them (or refuses them) itself.
        let variants = [
            line.replacen(",\"prev\"", ", \"prev\"", 1),
            line.replacen("{\"index\"", "{ \"index\"", 1),
            line.replacen("\"seats\":1", "\"seats\":1e0", 1),
            line.replacen("\"case\":\"", "\"case\":\"\\u004e", 1),
            format!("{line} "),
            line.replace("\"hash\":\"", "\"hash\":\"A"),
            line.replacen("\"trigger\":", "\"trigger\":0", 1),
            line.replacen("\"trigger\":", "\"trigger\":-", 1),
            line.replacen("\"trigger\":", "\"trigger\":99999999999999999999", 1),
        ];
        for v in variants {
            assert_ne!(v, line);
            assert!(parse(v.as_bytes()).is_none(), "{v}");
        }
    }
}
