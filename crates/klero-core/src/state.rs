//! State as a fold over events (SPEC §7). [`State::apply`] is the only way state changes, and the
//! same function serves the live writer and the replaying verifier, so replayed state equals live
//! state by construction. Every handler checks everything before it changes anything: a rejected
//! event leaves the state as it was.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use foldhash::{HashMap, HashSet};
use smallvec::SmallVec;
use std::fmt;

use crate::beacon::{BeaconReveal, ChainAnchor, chain_step, seed};
use crate::case_index::CaseIndex;
use crate::checkpoint::CosignatureVerifier;
use crate::day::{Day, Millis};
use crate::drand::{DrandChain, DrandPublicKey, DrandSignature};
use crate::draw::{
    LoadInput, WeightBuffers, absence_credit, balanced_rates_by, draw_each, joining_credit,
    normalized_load, weights_into,
};
use crate::encode::{Dec, DecodeError, DecodeErrorKind, Enc};
use crate::event::*;
use crate::hash::duplicate_key;
use crate::ids::*;
use crate::policy::{Fallback, Policy};
use crate::resident::{Archived, Cases, Seen, Wanted};

/// The case index of credited intake (absence or joining credit) in a judge's intake.
const NO_CASE: usize = usize::MAX;

/// What kind of rule an event broke; the portal maps these to HTTP problem types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// The event refers to something that does not exist (court, division, judge, case, case type,
    /// absence).
    NotFound,
    /// The event would create something that already exists.
    AlreadyExists,
    /// The event is malformed or contradicts the rules (bad share, unsorted list, wrong weight...).
    Invalid,
    /// The event does not fit the case's current state (closed, awaiting a draw, judge not on it).
    WrongState,
    /// Too few judges can take the case under the policy.
    NoEligibleJudges,
    /// The actor may not cause this event.
    Forbidden,
    /// A draw does not match its recomputation, or its beacon value does not check.
    DrawMismatch,
}

/// Why an event was refused, in words for a court official.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The kind of rule broken.
    pub kind: RejectKind,
    /// A plain sentence.
    pub message: String,
    /// The SPEC section that states the rule, when it is not the section of the event's own rules
    /// (§7.1, §7.8 for a draw, §7.9 for credentials): §3.5 for a policy, §6.1 for the beacon, §7.3
    /// for too few judges, §7.7 for a binding. [`crate::verify::section_of`] names the section.
    pub section: Option<&'static str>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// A rejection of `kind` in words, under the section of the event's own rules.
    pub fn new(kind: RejectKind, message: impl Into<String>) -> Rejection {
        Rejection {
            kind,
            message: message.into(),
            section: None,
        }
    }
}

fn rej<T>(kind: RejectKind, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        kind,
        message: message.into(),
        section: None,
    })
}

/// [`rej`] for a rule stated in SPEC section `section` rather than with the event.
fn rej_in<T>(
    section: &'static str,
    kind: RejectKind,
    message: impl Into<String>,
) -> Result<T, Rejection> {
    Err(Rejection {
        kind,
        message: message.into(),
        section: Some(section),
    })
}

use RejectKind::*;

/// A court and its divisions.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct CourtState {
    /// Name for people.
    pub name: String,
    /// Divisions and their names.
    pub divisions: BTreeMap<DivisionId, String>,
    /// The court's judges (indices into the judge table) in ascending order of judge id.
    judges: Vec<usize>,
    /// The window's case mix (SPEC §7.5): per division and specialization, the weighted intake of
    /// first allocations by random draw, in daily totals.
    mix: BTreeMap<(DivisionId, Specialization), Mix>,
}

/// One class's intake over the window, as daily totals (SPEC §7.5): at most `window_days` entries,
/// whatever the number of cases.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
struct Mix {
    /// (day, thousandths of a case-weight unit times seats), in order of day, one entry per day.
    days: VecDeque<(Day, u64)>,
    /// Sum of `days`.
    sum: u64,
}

impl Mix {
    fn expire(&mut self, day: Day, window_days: u32) {
        while let Some(&(d, v)) = self.days.front() {
            if d.0 as i64 > day.0 as i64 - window_days as i64 {
                break;
            }
            self.sum -= v;
            self.days.pop_front();
        }
    }

    fn add(&mut self, day: Day, amount: u64) {
        match self.days.back_mut() {
            Some((d, v)) if *d == day => *v += amount,
            _ => self.days.push_back((day, amount)),
        }
        self.sum += amount;
    }
}

/// One recorded absence.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct AbsenceState {
    /// Reference.
    pub id: AbsenceId,
    /// First day away.
    pub from: Day,
    /// Last day away.
    pub until: Day,
    /// Why.
    pub reason: AbsenceReason,
    /// Cancelled later.
    pub cancelled: bool,
}

/// A judge as the log has made them.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct JudgeState {
    /// Identifier.
    pub id: JudgeId,
    /// Court.
    pub court: CourtId,
    /// Division.
    pub division: DivisionId,
    /// Specializations, ascending.
    pub specializations: Vec<Specialization>,
    /// Share in thousandths.
    pub share_permille: u32,
    /// Takes cases.
    pub active: bool,
    /// Every absence recorded.
    pub absences: Vec<AbsenceState>,
    /// Declared conflicts (commitments).
    pub conflicts: HashSet<Commitment>,
    /// Intake still inside the window: (day, thousandths of a weight unit, case index or NO_CASE).
    intake: VecDeque<(Day, u64, usize)>,
    /// Sum of `intake`, in thousandths of a weight unit.
    intake_sum: u64,
    /// Entries turned case-less since `intake` was last compacted (see
    /// [`JudgeState::forget_case`]).
    #[serde(default)]
    forgotten: usize,
    /// Has been in a draw's pool since registration or re-activation (SPEC §7.4, joining credit).
    pooled: bool,
    /// Open cases the judge currently sits on, by case ordinal, in the order assigned (a case
    /// leaves when it closes, or when the judge recuses or is reassigned).
    docket: Vec<usize>,
}

impl JudgeState {
    /// True if a non-cancelled absence covers `day`.
    pub fn absent_on(&self, day: Day) -> bool {
        self.absences
            .iter()
            .any(|a| !a.cancelled && a.from <= day && day <= a.until)
    }

    /// Weighted intake (thousandths of a case-weight unit, credits included) inside the window as of
    /// the last draw that touched this judge.
    pub fn intake(&self) -> u64 {
        self.intake_sum
    }

    /// Weighted intake (thousandths, credits included) in the `window_days` ending on `day`
    /// (read-only; does not drop old entries).
    pub fn intake_on(&self, day: Day, window_days: u32) -> u64 {
        self.intake
            .iter()
            .filter(|(d, _, _)| d.0 as i64 > day.0 as i64 - window_days as i64)
            .map(|(_, w, _)| *w)
            .sum()
    }

    fn expire(&mut self, day: Day, window_days: u32) {
        while let Some(&(d, w, _)) = self.intake.front() {
            if d.0 as i64 > day.0 as i64 - window_days as i64 {
                break;
            }
            self.intake_sum -= w;
            self.intake.pop_front();
        }
    }

    /// A case closed: its intake entry no longer needs its case (only a recusal or reassignment,
    /// impossible once closed, looks an entry up by case), so it becomes an entry like a credit,
    /// and same-day entries without a case are merged now and then. The sums over any window are
    /// unchanged; only the number of entries stops growing with the cases (a day's closed intake is
    /// one entry).
    fn forget_case(&mut self, ci: usize) {
        if let Some(e) = self.intake.iter_mut().rev().find(|e| e.2 == ci) {
            e.2 = NO_CASE;
            self.forgotten += 1;
        }
        // Compacting costs the length; doing it once half the entries are new case-less ones
        // keeps the cost per closing constant and the length within twice the compacted one.
        if 2 * self.forgotten > self.intake.len() + 64 {
            let mut out: VecDeque<(Day, u64, usize)> = VecDeque::with_capacity(self.intake.len());
            for e in self.intake.drain(..) {
                match out.back_mut() {
                    Some(b) if e.2 == NO_CASE && b.2 == NO_CASE && b.0 == e.0 => b.1 += e.1,
                    _ => out.push_back(e),
                }
            }
            self.intake = out;
            self.forgotten = 0;
        }
    }

    fn holds(&self, s: &Specialization) -> bool {
        // A judge holds a few: comparing for equality (texts of other lengths differ at once)
        // costs less than ordering them.
        if self.specializations.len() <= 8 {
            self.specializations.contains(s)
        } else {
            self.specializations.binary_search(s).is_ok()
        }
    }
}

/// A case as the log has made it.
///
/// Its serde form is a map of its fields in a human-readable format (JSON); in a binary one (the
/// CBOR of the store's state snapshots) it is bytes: the case number (a varint byte length and
/// the UTF-8 bytes), the duplicate key (32 bytes) and [`CaseState::encode_record`], about a third
/// of the map's bytes and much less work to write. A binary reader also takes the map, which
/// snapshots and archive records written before held.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(remote = "Self")]
pub struct CaseState {
    /// Case number.
    pub id: CaseId,
    /// Court.
    pub court: CourtId,
    /// Division.
    pub division: DivisionId,
    /// Case type.
    pub case_type: CaseTypeCode,
    /// Weight at filing.
    pub weight: u32,
    /// Seats (1, or the panel size).
    pub panel: u8,
    /// Party and counsel commitments.
    pub parties: PartyList,
    /// The duplicate key.
    pub duplicate_key: Digest32,
    /// The appealed case, if any.
    pub earlier_instance: Option<CaseId>,
    /// The related case, if any, and what relates them.
    pub related: Option<(CaseId, RelationReason)>,
    /// The appealed case's ordinal (it stays in memory while this case is open: rule 7 of §7.2
    /// reads its judges at every draw of this case).
    earlier_ix: Option<usize>,
    /// Current judges (indices), the presiding judge first.
    judges: JudgeList,
    /// Every judge who ever sat.
    ever: JudgeList,
    /// Judges who recused or were removed.
    recused: JudgeList,
    /// Closed, and how.
    pub closed: Option<ClosingReason>,
    /// Index of the filing entry.
    pub filed_index: u64,
    /// Indices of the case's draw entries, in order: the first allocation, then any replacement.
    pub draws: DrawList,
    /// Time of the filing entry.
    pub filed_at: Millis,
}

/// A case's judges (indices into the state's judge table, which stays far below 2^32 entries):
/// up to four in the case itself, the size of a vector's own three words, so that a case of a
/// few judges allocates nothing for them (issue 10: a verifier keeps every case).
pub(crate) type JudgeList = SmallVec<[u32; 4]>;

/// A judge's index as a case's lists hold it. Every judge is an entry of the log, so a table of
/// 2^32 judges or more cannot be replayed in memory anyway.
fn short(ji: usize) -> u32 {
    u32::try_from(ji).expect("fewer than 2^32 judges")
}

/// A case's party and counsel commitments: the first two in the case itself, so that a filing of
/// two (the commonest) allocates nothing for them.
pub type PartyList = SmallVec<[Commitment; 2]>;

/// The indices of a case's draw entries: the first two in the case itself (a case is drawn once,
/// and again only at a recusal or reassignment), in a vector's three words.
pub type DrawList = SmallVec<[u64; 2]>;

/// The version byte that starts an archive record ([`CaseState::encode_record`]): 2, the compact
/// record with varints. Records of version 1 (the same fields in the fixed widths of SPEC §3)
/// are still read. A record the store wrote before either (CBOR of the serde form) starts with a
/// CBOR map byte, 0xA0 to 0xBF, so all three are told apart by the first byte.
pub const RECORD_VERSION: u8 = 2;

impl serde::Serialize for CaseState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return CaseState::serialize(self, s);
        }
        let mut e = Enc::with_capacity(160);
        e.var_str(self.id.as_str());
        e.digest(&self.duplicate_key);
        let mut bytes = e.into_bytes();
        bytes.extend_from_slice(&self.encode_record());
        s.serialize_bytes(&bytes)
    }
}

impl<'de> serde::Deserialize<'de> for CaseState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return CaseState::deserialize(d);
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CaseState;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a case: its number, duplicate key and archive record, or a map")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<CaseState, E> {
                CaseState::from_snapshot_bytes(v).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<CaseState, A::Error> {
                CaseState::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(V)
    }
}

impl CaseState {
    /// Reads the bytes of the binary serde form: the case number, the duplicate key, the record.
    fn from_snapshot_bytes(bytes: &[u8]) -> Result<CaseState, DecodeError> {
        let mut d = Dec::new(bytes);
        let id = d.var_id::<CaseId>()?;
        let key = d.digest()?;
        let at = d.position();
        CaseState::decode_record(&bytes[at..], id, key).map_err(|e| DecodeError {
            offset: e.offset + at,
            kind: e.kind,
        })
    }
}

/// The version byte of the archive records before [`RECORD_VERSION`]: fixed widths.
const RECORD_VERSION_FIXED: u8 = 1;

impl CaseState {
    /// The case as the store archives it when it closes (`case_archive.record`, issue 10): the
    /// [`RECORD_VERSION`] byte, then court, division and case type (each a varint byte length and
    /// the UTF-8 bytes), weight (varint), seats (u8), the party and counsel commitments (a varint
    /// count of 32-byte digests), the earlier instance (optional string), the related case
    /// (optional: string, then the relation reason's byte), the earlier instance's ordinal
    /// (optional varint), the current judges, every judge who ever sat and the recused judges
    /// (each a varint count of varint indices into the state's judge table, which only grows, so
    /// an index names the same judge for the life of the log), how it closed (optional closing
    /// reason byte), the filing entry's index (varint), the draw entries' indices (a varint count,
    /// then each as the varint of its difference from the index before it, the filing entry's for
    /// the first, modulo 2^64) and the filing entry's time (the varint of its zigzag form:
    /// `(t << 1) ^ (t >> 63)`). Varints are LEB128 in their shortest form ([`Enc::var`]); options
    /// are a 0x00 or 0x01 flag as in SPEC §3.
    ///
    /// About 107 bytes for a case with two parties and one judge, against 155 in the fixed widths of version 1.
    /// The case number and the duplicate key are not in the record: the archive row holds them
    /// in columns of their own (and its MAC covers them), and [`CaseState::decode_record`] takes
    /// them from there.
    pub fn encode_record(&self) -> Vec<u8> {
        let index = |e: &mut Enc, &j: &u32| e.var(u64::from(j));
        let mut e = Enc::with_capacity(128);
        e.u8(RECORD_VERSION);
        e.var_str(self.court.as_str());
        e.var_str(self.division.as_str());
        e.var_str(self.case_type.as_str());
        e.var(u64::from(self.weight));
        e.u8(self.panel);
        e.var_list(&self.parties, |e, p| e.digest(p));
        e.opt(&self.earlier_instance, |e, c| e.var_str(c.as_str()));
        e.opt(&self.related, |e, (c, reason)| {
            e.var_str(c.as_str());
            e.u8(reason.byte());
        });
        e.opt(&self.earlier_ix, |e, &ci| e.var(ci as u64));
        e.var_list(&self.judges, index);
        e.var_list(&self.ever, index);
        e.var_list(&self.recused, index);
        e.opt(&self.closed, |e, r| e.u8(r.byte()));
        e.var(self.filed_index);
        let mut before = self.filed_index;
        e.var_list(&self.draws, |e, &d| {
            e.var(d.wrapping_sub(before));
            before = d;
        });
        e.var(((self.filed_at << 1) ^ (self.filed_at >> 63)) as u64);
        e.into_bytes()
    }

    /// Reads back a record of [`CaseState::encode_record`] (or of version 1, its fixed-width
    /// predecessor), with the case number `id` and the duplicate key `duplicate_key` that its
    /// archive row holds beside it. Accepts exactly the bytes the encoder of the record's version
    /// writes: another version byte, a truncated record, a varint not in its shortest form, a tag
    /// or flag byte with no meaning, an identifier the log would refuse or a byte left over is
    /// refused, with the offset of the refused field.
    pub fn decode_record(
        bytes: &[u8],
        id: CaseId,
        duplicate_key: Digest32,
    ) -> Result<CaseState, DecodeError> {
        let mut d = Dec::new(bytes);
        let at = d.position();
        let c = match d.u8()? {
            RECORD_VERSION => Self::decode_compact(&mut d, id, duplicate_key)?,
            RECORD_VERSION_FIXED => Self::decode_fixed(&mut d, id, duplicate_key)?,
            version => {
                return Err(d.error_at(
                    at,
                    DecodeErrorKind::UnknownTag {
                        what: "archive record version",
                        byte: version,
                    },
                ));
            }
        };
        d.finish()?;
        Ok(c)
    }

    /// The fields of a record of [`RECORD_VERSION`], after its version byte.
    fn decode_compact(
        d: &mut Dec<'_>,
        id: CaseId,
        duplicate_key: Digest32,
    ) -> Result<CaseState, DecodeError> {
        // A judge index, below the number of judges: one of 2^32 or more is refused.
        let index = |d: &mut Dec<'_>| {
            let at = d.position();
            u32::try_from(d.var()?).map_err(|_| d.error_at(at, DecodeErrorKind::InvalidVarint))
        };
        let court = d.var_id::<CourtId>()?;
        let division = d.var_id::<DivisionId>()?;
        let case_type = d.var_id::<CaseTypeCode>()?;
        let at = d.position();
        let weight =
            u32::try_from(d.var()?).map_err(|_| d.error_at(at, DecodeErrorKind::InvalidVarint))?;
        let panel = d.u8()?;
        let parties = d.var_list(Dec::digest)?.into();
        let earlier_instance = d.opt(|d| d.var_id::<CaseId>())?;
        let related = d.opt(|d| {
            Ok((
                d.var_id::<CaseId>()?,
                d.tag("relation reason", RelationReason::from_byte)?,
            ))
        })?;
        let earlier_ix = d.opt(|d| d.var().map(|ci| ci as usize))?;
        let judges = d.var_list(index)?.into();
        let ever = d.var_list(index)?.into();
        let recused = d.var_list(index)?.into();
        let closed = d.opt(|d| d.tag("closing reason", ClosingReason::from_byte))?;
        let filed_index = d.var()?;
        let mut before = filed_index;
        let draws = d
            .var_list(|d| {
                before = before.wrapping_add(d.var()?);
                Ok(before)
            })?
            .into();
        let z = d.var()?;
        let filed_at = (z >> 1) as i64 ^ -((z & 1) as i64);
        Ok(CaseState {
            id,
            court,
            division,
            case_type,
            weight,
            panel,
            parties,
            duplicate_key,
            earlier_instance,
            related,
            earlier_ix,
            judges,
            ever,
            recused,
            closed,
            filed_index,
            draws,
            filed_at,
        })
    }

    /// The fields of a record of version 1, after its version byte: those of
    /// [`CaseState::encode_record`] in the fixed widths of SPEC §3 (u32 lengths, counts, weight and
    /// judge indices; u64 ordinal, filing index and draw indices; i64 time).
    fn decode_fixed(
        d: &mut Dec<'_>,
        id: CaseId,
        duplicate_key: Digest32,
    ) -> Result<CaseState, DecodeError> {
        let index = |d: &mut Dec<'_>| d.u32();
        Ok(CaseState {
            id,
            court: d.id::<CourtId>()?,
            division: d.id::<DivisionId>()?,
            case_type: d.id::<CaseTypeCode>()?,
            weight: d.u32()?,
            panel: d.u8()?,
            parties: d.list(Dec::digest)?.into(),
            duplicate_key,
            earlier_instance: d.opt(|d| d.id::<CaseId>())?,
            related: d.opt(|d| {
                Ok((
                    d.id::<CaseId>()?,
                    d.tag("relation reason", RelationReason::from_byte)?,
                ))
            })?,
            // An ordinal is below the number of cases filed, which a 64-bit `usize` holds.
            earlier_ix: d.opt(|d| d.u64().map(|ci| ci as usize))?,
            judges: d.list(index)?.into(),
            ever: d.list(index)?.into(),
            recused: d.list(index)?.into(),
            closed: d.opt(|d| d.tag("closing reason", ClosingReason::from_byte))?,
            filed_index: d.u64()?,
            draws: d.list(Dec::u64)?.into(),
            filed_at: d.i64()?,
        })
    }
}

/// A credential as the log has made it (SPEC §7.9).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct CredentialState {
    /// The role it grants.
    pub role: Role,
    /// The person who holds it.
    pub holder: ActorId,
    /// The court it is scoped to.
    pub court: Option<CourtId>,
    /// Who issued it (for a judge, the judge completing an enrollment).
    pub issued_by: Actor,
    /// Index of the entry that issued it.
    pub issued_index: u64,
    /// Revoked, and by which entry.
    pub revoked: Option<u64>,
}

/// A draw that has been opened by its trigger entry and awaits its draw entry.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
struct Pending {
    trigger: u64,
    trigger_hash: Digest32,
    method: Method,
    seats: u8,
    scope: PoolScope,
    eligible: Vec<Candidate>,
    excluded: Vec<Excluded>,
    /// For by-reference methods: the judges taken over.
    reference: Vec<usize>,
    /// The drand chain in force at the trigger, for a random draw that waits for a drand round
    /// (SPEC §6.4); `None` for the hash chain or a draw by reference.
    drand: Option<Arc<DrandChain>>,
    /// The trigger entry's time.
    trigger_at: Millis,
    /// A `beacon_delayed` entry was recorded for this draw.
    delayed: bool,
}

/// Working space [`State::plan`] keeps from one draw to the next, so that planning a draw
/// allocates only what the pending draw keeps (its eligible and excluded judges). Positions are
/// into the court's judge list. Not part of the state: never serialized, and empty when
/// deserialized.
#[derive(Clone, Debug, Default)]
struct PlanBuffers {
    /// Positions of the eligible judges.
    ok: Vec<usize>,
    /// Positions of the excluded judges, in the order of the draw's exclusions.
    out: Vec<usize>,
    /// Each judge's balanced-rate factor, by position.
    rates: Vec<u64>,
    /// The balance group (the division's active judges), by position.
    group: Vec<usize>,
    /// The group's shares.
    shares: Vec<u32>,
    /// Whether each of the group holds the case type's specialization.
    holds_need: Vec<bool>,
    /// The volumes of the division's classes with intake in the window.
    volumes: Vec<u64>,
    /// Whether the group's judge `j` holds class `k`, at `k * group.len() + j`.
    holds: Vec<bool>,
    /// The group's factors.
    factors: Vec<u64>,
    /// The eligible judges as the weight rule sees them.
    inputs: Vec<LoadInput>,
    /// Their weights.
    weights: Vec<u64>,
    /// The weight rule's working space.
    weight: WeightBuffers,
}

/// The parts of the state a draw's planning reads and changes, borrowed apart.
struct Planning<'a> {
    policy: &'a Policy,
    courts: &'a mut HashMap<CourtId, CourtState>,
    judges: &'a mut Vec<JudgeState>,
    cases: &'a Cases,
    buf: &'a mut PlanBuffers,
}

/// A draw that waits for a drand round (SPEC §7.7), as [`State::pending_drand`] lists it.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingDrand {
    /// The case.
    pub case: CaseId,
    /// The trigger entry's index.
    pub trigger: u64,
    /// How the draw is made (a random method).
    pub method: Method,
    /// The trigger entry's time.
    pub trigger_at: Millis,
    /// The trigger's commit time in Unix seconds, once known (SPEC §6.4).
    pub commit_time: Option<u64>,
    /// The round the draw must use, once the commit time is known.
    pub round: Option<u64>,
    /// The chain in force at the trigger.
    pub chain: Arc<DrandChain>,
    /// Whether a `beacon_delayed` entry was recorded for it.
    pub delayed: bool,
}

/// The current hash chain of the built-in beacon.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug)]
struct BeaconState {
    anchor: ChainAnchor,
    round: u64,
    current: Digest32,
}

/// The witnesses in force (SPEC §5.3).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
struct WitnessSet {
    /// The `witnesses_configured` entry that put them in force.
    index: u64,
    witnesses: Vec<Witness>,
    verifiers: Vec<CosignatureVerifier>,
    quorum: u8,
}

/// A `checkpoint_witnessed` entry, as the timing rule (SPEC §6.4) reads it.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug)]
struct Witnessed {
    /// The entry's index.
    index: u64,
    /// The checkpoint's size.
    size: u64,
    /// The quorum-th smallest cosignature time, in seconds.
    time: u64,
}

/// The state of the court system after a prefix of the log.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct State {
    log_id: Option<ActorId>,
    policy: Option<Arc<Policy>>,
    beacon: Option<BeaconState>,
    courts: HashMap<CourtId, CourtState>,
    judges: Vec<JudgeState>,
    judge_ix: HashMap<JudgeId, usize>,
    cases: Cases,
    case_ix: CaseIndex,
    /// Numbers and duplicate keys of evicted cases (see [`crate::resident`]).
    seen: Seen,
    /// Closed cases still in memory, which [`State::evict_closed`] may remove.
    closed_resident: Vec<usize>,
    /// Cases named as the earlier instance of an open case, with how many: kept in memory.
    pins: HashMap<usize, u32>,
    absence_ix: HashMap<AbsenceId, (usize, usize)>,
    duplicates: HashMap<Digest32, usize>,
    pending: HashMap<usize, Pending>,
    /// The drand chain in force (SPEC §6.3), if any.
    drand: Option<Arc<DrandChain>>,
    /// Open draws that wait for a drand round: trigger index -> case index, in trigger order.
    drand_pending: BTreeMap<u64, usize>,
    /// The last drand round that verified, so draws sharing a round verify it once.
    drand_verified: Option<(u64, DrandSignature, DrandPublicKey)>,
    draws: u64,
    /// Working space of the draw's planning (not state).
    #[serde(skip)]
    plan_buffers: PlanBuffers,
    credentials: HashMap<Digest32, CredentialState>,
    /// Open enrollments: fingerprint -> judge index.
    enrollments: HashMap<Digest32, usize>,
    /// Fingerprints of completed enrollments (never reusable).
    enrolled: HashSet<Digest32>,
    /// The log's published checkpoint key (SPEC §5.1).
    log_key: Option<String>,
    /// The witnesses in force (SPEC §5.3).
    witnesses: Option<Arc<WitnessSet>>,
    /// The first `witnesses_configured` entry: from it on, witnesses are always in force.
    witnesses_since: Option<u64>,
    /// The `checkpoint_witnessed` entries that may still give an open or future draw's commit
    /// time, in log order.
    witnessed: Vec<Witnessed>,
    /// The index of the last `checkpoint_witnessed` entry dropped from `witnessed` (0: none).
    #[serde(default)]
    witnessed_dropped: u64,
}

/// How many cases [`State::reserve`] expects a log to have per entry, as a fraction: 5 in 16
/// (one case every 3.2 entries, a little fewer than a national log has).
pub const CASES_PER_ENTRY: (u64, u64) = (5, 16);

/// Formats an entry number with thousands separators, as the verifier's messages do ("4,182").
pub fn fmt_index(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl State {
    /// The log's name from its genesis entry: the origin of its checkpoints (SPEC §5.1).
    pub fn log_id(&self) -> Option<&ActorId> {
        self.log_id.as_ref()
    }

    /// The policy in force (after genesis).
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_deref()
    }

    /// The current beacon chain and the next round it will reveal.
    pub fn next_beacon_round(&self) -> Option<(ChainAnchor, u64)> {
        self.beacon.map(|b| (b.anchor, b.round + 1))
    }

    /// The log's published checkpoint verifier key (`log_key_published`, SPEC §5.1).
    pub fn log_key(&self) -> Option<&str> {
        self.log_key.as_deref()
    }

    /// The witnesses in force and their quorum (SPEC §5.3); `None` before any
    /// `witnesses_configured` entry.
    pub fn witnesses(&self) -> Option<(&[Witness], u8)> {
        self.witnesses
            .as_ref()
            .map(|w| (w.witnesses.as_slice(), w.quorum))
    }

    /// The index of the `witnesses_configured` entry in force: a `checkpoint_witnessed` entry's
    /// size must exceed it (SPEC §5.3).
    pub fn witnesses_index(&self) -> Option<u64> {
        self.witnesses.as_ref().map(|w| w.index)
    }

    /// The drand chain in force (SPEC §6.3): from its `drand_configured` entry on, every random
    /// draw waits for a drand round.
    pub fn drand(&self) -> Option<&DrandChain> {
        self.drand.as_deref()
    }

    /// The commit time `T` (Unix seconds) of the trigger at entry `trigger` (SPEC §6.4). With
    /// witnesses in force at the trigger: the quorum-th smallest cosignature time of the first
    /// `checkpoint_witnessed` entry after the trigger whose size exceeds it (`None` until there is
    /// one). Without: the trigger entry's own time in seconds (floor; 0 for a time before 1970),
    /// known while its drand draw is open. Meant for open draws and later triggers: the state
    /// forgets the `checkpoint_witnessed` entries no open draw needs, and for a trigger they might
    /// have served answers `None` rather than guess.
    pub fn commit_time(&self, trigger: u64) -> Option<u64> {
        match self.witnesses_since {
            Some(w) if w < trigger => {
                if trigger < self.witnessed_dropped {
                    return None;
                }
                let after = self.witnessed.partition_point(|c| c.index <= trigger);
                self.witnessed[after..]
                    .iter()
                    .find(|c| c.size > trigger)
                    .map(|c| c.time)
            }
            _ => {
                let ci = self.drand_pending.get(&trigger)?;
                let p = self.pending.get(ci)?;
                Some(p.trigger_at.div_euclid(1000).max(0) as u64)
            }
        }
    }

    /// The triggers of open drand draws whose commit time is not yet known: what a witnessed
    /// checkpoint must cover before they can be drawn (SPEC §6.4), in trigger order.
    pub fn pending_needing_witness(&self) -> Vec<u64> {
        self.drand_pending
            .keys()
            .copied()
            .filter(|&t| self.commit_time(t).is_none())
            .collect()
    }

    /// Every open draw that waits for a drand round, in trigger order (SPEC §7.7).
    pub fn pending_drand(&self) -> Vec<PendingDrand> {
        self.drand_pending
            .iter()
            .filter_map(|(&trigger, &ci)| self.pending_drand_at(trigger, ci))
            .collect()
    }

    fn pending_drand_at(&self, trigger: u64, ci: usize) -> Option<PendingDrand> {
        let p = self.pending.get(&ci)?;
        let chain = p.drand.clone()?;
        let commit_time = self.commit_time(trigger);
        Some(PendingDrand {
            case: self.cases[ci].id.clone(),
            trigger,
            method: p.method.clone(),
            trigger_at: p.trigger_at,
            commit_time,
            round: commit_time.map(|t| chain.first_round_after(t)),
            chain,
            delayed: p.delayed,
        })
    }

    /// The open drand draw of `case`, if its draw waits for a drand round.
    pub fn pending_drand_of(&self, case: &CaseId) -> Option<PendingDrand> {
        let &ci = self.case_ix.get(case)?;
        let p = self.pending.get(&ci)?;
        p.drand.as_ref()?;
        self.pending_drand_at(p.trigger, ci)
    }

    /// How many draw entries have been applied.
    pub fn draw_count(&self) -> u64 {
        self.draws
    }

    /// A court.
    pub fn court(&self, id: &CourtId) -> Option<&CourtState> {
        self.courts.get(id)
    }

    /// Every court, in no particular order.
    pub fn courts(&self) -> impl Iterator<Item = (&CourtId, &CourtState)> {
        self.courts.iter()
    }

    /// A judge.
    pub fn judge(&self, id: &JudgeId) -> Option<&JudgeState> {
        self.judge_ix.get(id).map(|&i| &self.judges[i])
    }

    /// The judges of a court, in ascending order of id.
    pub fn court_judges(&self, court: &CourtId) -> Vec<&JudgeState> {
        self.courts
            .get(court)
            .map(|c| c.judges.iter().map(|&i| &self.judges[i]).collect())
            .unwrap_or_default()
    }

    /// A case.
    pub fn case(&self, id: &CaseId) -> Option<&CaseState> {
        self.case_ix.get(id).map(|&i| &self.cases[i])
    }

    /// Sizes the tables that grow with the cases (the case index, the duplicate keys and the case
    /// table) for a log of about `entries` entries in all, so that replaying it does not regrow
    /// them: each regrowth moves every entry to a new table and, for a while, holds both. A hint:
    /// it changes capacity only, never a result; a wrong one costs memory (too high) or the
    /// regrowths it would have saved (too low), and if the memory is not there it does nothing.
    ///
    /// The rule is [`CASES_PER_ENTRY`]: every case takes at least two entries (its filing and its
    /// draw), and a national log has about 3.0-3.2 entries a case (a closing, sometimes a recusal
    /// or a reassignment). Erring low is the cheaper mistake: a table holds a power of two of slots,
    /// so a hint a little above the cases can double a table the cases would not have filled (each
    /// insert touches its own page: a bigger table is more physical memory, not just address
    /// space), while a hint a little below costs only the last regrowth, which an unhinted replay
    /// does anyway.
    pub fn reserve(&mut self, entries: u64) {
        let (num, den) = CASES_PER_ENTRY;
        let cases = u128::from(entries) * u128::from(num) / u128::from(den);
        let Ok(cases) = usize::try_from(cases) else {
            return;
        };
        self.case_ix
            .try_reserve(cases.saturating_sub(self.case_ix.len()));
        let _ = self
            .duplicates
            .try_reserve(cases.saturating_sub(self.duplicates.len()));
        self.cases
            .try_reserve(cases.saturating_sub(self.cases.resident()));
    }

    /// Number of cases filed.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// Number of cases in memory: every case unless the store evicts closed ones (see
    /// [`crate::resident`]).
    pub fn resident_cases(&self) -> usize {
        self.cases.resident()
    }

    /// The related case and the appealed (earlier-instance) case of a case, by number.
    pub fn case_links<'a>(&self, case: &'a CaseState) -> (Option<&'a CaseId>, Option<&'a CaseId>) {
        (
            case.related.as_ref().map(|(c, _)| c),
            case.earlier_instance.as_ref(),
        )
    }

    /// Every case in memory, in the order filed: every case filed unless the store evicts closed
    /// ones, then every open case and the closed ones not yet evicted.
    pub fn cases(&self) -> impl Iterator<Item = &CaseState> {
        self.cases.iter()
    }

    /// The case and its ordinal (order of filing), as the store archives a closed case.
    pub fn archive_record(&self, id: &CaseId) -> Option<Archived> {
        let &ci = self.case_ix.get(id)?;
        Some(Archived {
            ordinal: ci,
            case: self.cases[ci].clone(),
        })
    }

    /// The closed cases still in memory, which [`State::evict_closed`] would remove (unless an open
    /// case names one as its earlier instance), as the store archives them.
    pub fn closed_in_memory(&self) -> impl Iterator<Item = Archived> + '_ {
        self.closed_resident.iter().filter_map(|&ci| {
            self.cases.get(ci).map(|c| Archived {
                ordinal: ci,
                case: c.clone(),
            })
        })
    }

    /// The cases `event` reads that may have been evicted (see [`crate::resident`]): the store
    /// looks them up in its archive and [`State::restore`]s those it finds before applying the
    /// event. Empty when nothing was ever evicted.
    pub fn wants(&self, event: &Event) -> Wanted {
        let mut w = Wanted {
            filed: self.cases.len(),
            ..Wanted::default()
        };
        let mut want = |id: &CaseId| {
            if !self.case_ix.contains_key(id) && self.seen.may_hold_case(id) {
                w.cases.push(id.clone());
            }
        };
        match event {
            Event::CaseFiled {
                case,
                court,
                division,
                case_type,
                parties,
                claim,
                related,
                earlier_instance,
                ..
            } => {
                want(case);
                if let Some(r) = related {
                    want(&r.case);
                }
                if let Some(e) = earlier_instance {
                    want(e);
                }
                let key = duplicate_key(court, division, case_type, parties, claim);
                if !self.duplicates.contains_key(&key) && self.seen.may_hold_key(&key) {
                    w.duplicate_key = Some(key);
                }
            }
            Event::Recusal { case, .. }
            | Event::Reassignment { case, .. }
            | Event::CaseClosed { case, .. } => want(case),
            Event::Draw(d) => want(&d.case),
            _ => {}
        }
        w
    }

    /// Puts evicted cases back before an event that names them is applied: `cases` as archived,
    /// and `latest`, if the event's duplicate key was wanted and an archived case has it, the
    /// ordinal of the latest such case. Cases already in memory are left as they are.
    pub fn restore(&mut self, cases: Vec<Archived>, latest: Option<(Digest32, usize)>) {
        for a in cases {
            if self.cases.get(a.ordinal).is_some() || a.ordinal >= self.cases.len() {
                continue;
            }
            self.case_ix.insert(a.case.id.clone(), a.ordinal);
            self.cases.restore(a.ordinal, a.case);
            self.closed_resident.push(a.ordinal);
        }
        if let Some((key, ci)) = latest
            && self.cases.get(ci).is_some()
        {
            let e = self.duplicates.entry(key).or_insert(ci);
            *e = (*e).max(ci);
        }
    }

    /// Removes from memory the closed cases no open case names as its earlier instance, after the
    /// store has archived them (it archives every case when it closes). Returns how many.
    pub fn evict_closed(&mut self) -> usize {
        let (evicted, items) = self.evict_unremembered();
        self.seen.add(&items);
        evicted
    }

    /// [`State::evict_closed`] on this state and on `twin`, a copy of it at the same position (the
    /// store's published and working copies), holding the filter of evicted cases once: when both
    /// held the same filter and evict the same cases, `twin` lets go of its filter, this state
    /// adds the cases to it (in place, copying nothing another clone does not hold), and `twin`
    /// then shares it. Otherwise each remembers its own cases, as [`State::evict_closed`] does.
    /// Returns how many cases this state evicted.
    pub fn evict_closed_twins(&mut self, twin: &mut State) -> usize {
        let (evicted, mine) = self.evict_unremembered();
        let (_, theirs) = twin.evict_unremembered();
        if mine == theirs && self.seen.same(&twin.seen) {
            twin.seen.release_filters();
            self.seen.add(&mine);
            twin.seen.share_filters(&self.seen);
        } else {
            self.seen.add(&mine);
            twin.seen.add(&theirs);
        }
        evicted
    }

    /// The filter of evicted cases' numbers and duplicate keys (see [`crate::resident`]).
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    pub(crate) fn seen_mut(&mut self) -> &mut Seen {
        &mut self.seen
    }

    /// Evicts as [`State::evict_closed`] does; returns how many cases, and what the filter must
    /// remember of them, in order.
    fn evict_unremembered(&mut self) -> (usize, Vec<Digest32>) {
        let mut kept = Vec::new();
        let mut items = Vec::new();
        let mut evicted = 0;
        for ci in std::mem::take(&mut self.closed_resident) {
            if self.pins.contains_key(&ci) {
                kept.push(ci);
                continue;
            }
            let Some(c) = self.cases.evict(ci) else {
                continue;
            };
            self.case_ix.remove(&c.id);
            if self.duplicates.get(&c.duplicate_key) == Some(&ci) {
                self.duplicates.remove(&c.duplicate_key);
            }
            self.seen.forget(&c.id, &c.duplicate_key, &mut items);
            evicted += 1;
        }
        self.closed_resident = kept;
        (evicted, items)
    }

    /// The current judges of a case, the presiding judge first.
    pub fn case_judges(&self, case: &CaseState) -> Vec<&JudgeId> {
        case.judges
            .iter()
            .map(|&j| &self.judges[j as usize].id)
            .collect()
    }

    /// [`State::case_judges`] of a case read from outside this state (an archived record): `None`
    /// if it names a judge index beyond the judge table, which no case this log made can.
    pub fn checked_case_judges(&self, case: &CaseState) -> Option<Vec<&JudgeId>> {
        case.judges
            .iter()
            .map(|&j| self.judges.get(j as usize).map(|s| &s.id))
            .collect()
    }

    /// The cases a judge currently sits on, in the order assigned.
    pub fn docket(&self, judge: &JudgeId) -> Vec<&CaseState> {
        self.judge(judge)
            .map(|j| j.docket.iter().map(|&c| &self.cases[c]).collect())
            .unwrap_or_default()
    }

    /// The normalized load of a judge on `day` (read-only).
    pub fn load_on(&self, judge: &JudgeState, day: Day) -> u64 {
        let window = self.policy.as_ref().map_or(365, |p| p.window_days);
        normalized_load(judge.intake_on(day, window), judge.share_permille)
    }

    /// Which beacon round the pending draw of `case` needs, or `None` if it needs none (by
    /// reference) or nothing is pending.
    pub fn beacon_needed(&self, case: &CaseId) -> Option<(ChainAnchor, u64)> {
        let p = self.pending.get(self.case_ix.get(case)?)?;
        if p.method.is_random() && p.drand.is_none() {
            self.next_beacon_round()
        } else {
            None
        }
    }

    /// The seed and the chosen judges of an open draw: the one place an outcome is decided.
    /// The chosen judges are held inline (a draw seats a few), so that replaying a draw, which
    /// only compares them with the entry's, allocates nothing for them.
    fn outcome(
        &self,
        p: &Pending,
        beacon: Option<BeaconReveal>,
    ) -> Result<(Option<Digest32>, SmallVec<[JudgeId; 4]>), Rejection> {
        match p.method.is_random() {
            true => {
                let Some(reveal) = beacon else {
                    return rej_in(
                        "§6.1",
                        DrawMismatch,
                        "the draw is random but records no beacon value",
                    );
                };
                let s = seed(&p.trigger_hash, &reveal);
                let mut chosen = SmallVec::with_capacity(p.seats as usize);
                draw_each(
                    &s,
                    p.eligible.len(),
                    |i| p.eligible[i].weight,
                    p.seats as usize,
                    |i| chosen.push(p.eligible[i].judge.clone()),
                );
                Ok((Some(s), chosen))
            }
            false => Ok((
                None,
                p.reference
                    .iter()
                    .map(|&j| self.judges[j].id.clone())
                    .collect(),
            )),
        }
    }

    /// Builds the draw entry for the pending draw of `case` with the given beacon value (needed for a
    /// random draw). This is the only place an outcome is decided.
    pub fn build_draw(
        &self,
        case: &CaseId,
        beacon: Option<BeaconReveal>,
    ) -> Result<Draw, Rejection> {
        let Some(&ci) = self.case_ix.get(case) else {
            return rej(NotFound, format!("there is no case {case}"));
        };
        let Some(p) = self.pending.get(&ci) else {
            return rej(WrongState, format!("case {case} is not awaiting a draw"));
        };
        let (seed_v, chosen) = self.outcome(p, beacon)?;
        Ok(Draw {
            case: case.clone(),
            trigger: p.trigger,
            method: p.method.clone(),
            seats: p.seats,
            scope: p.scope,
            eligible: p.eligible.clone(),
            excluded: p.excluded.clone(),
            beacon: if seed_v.is_some() { beacon } else { None },
            seed: seed_v,
            chosen: chosen.into_vec(),
        })
    }

    /// Applies one event. `index` and `hash` are the entry's position and hash (a trigger entry's
    /// hash enters its draw's seed); `at` must not be earlier than the previous entry's time (the
    /// caller checks that).
    pub fn apply(
        &mut self,
        index: u64,
        at: Millis,
        hash: &Digest32,
        actor: &Actor,
        event: &Event,
    ) -> Result<(), Rejection> {
        self.apply_entry(index, at, hash, actor, event, None)
    }

    /// [`State::apply`], given for a `checkpoint_witnessed` entry the log's Merkle root at the
    /// entry's size (the caller keeps the tree; without it such an entry is refused).
    pub fn apply_entry(
        &mut self,
        index: u64,
        at: Millis,
        hash: &Digest32,
        actor: &Actor,
        event: &Event,
        checkpoint_root: Option<&Digest32>,
    ) -> Result<(), Rejection> {
        self.apply_event(index, at, hash, actor, event, checkpoint_root)
    }

    fn apply_event(
        &mut self,
        index: u64,
        at: Millis,
        hash: &Digest32,
        actor: &Actor,
        event: &Event,
        checkpoint_root: Option<&Digest32>,
    ) -> Result<(), Rejection> {
        let is_genesis = matches!(event, Event::Genesis { .. });
        if index == 0 && !is_genesis {
            return rej(Invalid, "the first entry of a log must be its genesis");
        }
        if index > 0 && is_genesis {
            return rej(
                Invalid,
                "a log has only one genesis entry, and it comes first",
            );
        }
        // The allocator makes draws, anchors a new beacon chain when the old one runs out, and
        // issues the very first credential (SPEC §7.9); nothing else. Draws are made by nobody else.
        let is_draw = matches!(event, Event::Draw(_));
        let system_may = is_draw
            || matches!(
                event,
                Event::BeaconAnchored { .. }
                    | Event::CredentialIssued { .. }
                    | Event::LogKeyPublished { .. }
                    | Event::CheckpointWitnessed { .. }
                    | Event::BeaconDelayed { .. }
            );
        if is_draw && actor.role != Role::System {
            return rej(
                Forbidden,
                format!(
                    "a draw can only be made by the allocator, not by {:?} {}",
                    actor.role, actor.id
                ),
            );
        }
        if actor.role == Role::System && !system_may {
            return rej(
                Forbidden,
                "the allocator (role system) makes draws, anchors beacon chains, records a delayed drand round, issues the first credential, publishes the log key and records witnessed checkpoints, nothing else",
            );
        }
        let day = Day::from_millis(at);
        match event {
            Event::Genesis {
                log_id,
                policy,
                beacon,
            } => {
                policy.validate().or_else(|m| rej_in("§3.5", Invalid, m))?;
                check_anchor(beacon)?;
                self.log_id = Some(log_id.clone());
                self.policy = Some(Arc::new(policy.clone()));
                self.beacon = Some(BeaconState {
                    anchor: *beacon,
                    round: 0,
                    current: beacon.anchor,
                });
            }
            Event::PolicyUpdated { policy } => {
                policy.validate().or_else(|m| rej_in("§3.5", Invalid, m))?;
                self.policy = Some(Arc::new(policy.clone()));
            }
            Event::BeaconAnchored { beacon } => {
                if !matches!(actor.role, Role::System | Role::SystemAdmin) {
                    return rej_in(
                        "§6.1",
                        Forbidden,
                        "only the allocator or a system administrator anchors a beacon chain",
                    );
                }
                check_anchor(beacon)?;
                self.beacon = Some(BeaconState {
                    anchor: *beacon,
                    round: 0,
                    current: beacon.anchor,
                });
            }
            Event::CourtCreated { court, name } => {
                check_name(name)?;
                if self.courts.contains_key(court) {
                    return rej(AlreadyExists, format!("court {court} already exists"));
                }
                self.courts.insert(
                    court.clone(),
                    CourtState {
                        name: name.clone(),
                        divisions: BTreeMap::new(),
                        judges: vec![],
                        mix: BTreeMap::new(),
                    },
                );
            }
            Event::DivisionCreated {
                court,
                division,
                name,
            } => {
                check_name(name)?;
                let c = self.court_mut(court)?;
                if c.divisions.contains_key(division) {
                    return rej(
                        AlreadyExists,
                        format!("division {division} of court {court} already exists"),
                    );
                }
                c.divisions.insert(division.clone(), name.clone());
            }
            Event::JudgeRegistered {
                judge,
                court,
                division,
                specializations,
                share_permille,
                active,
            } => {
                if self.judge_ix.contains_key(judge) {
                    return rej(
                        AlreadyExists,
                        format!("judge {judge} is already registered"),
                    );
                }
                self.check_division(court, division)?;
                check_judge_record(specializations, *share_permille)?;
                self.check_specializations(specializations)?;
                let ix = self.judges.len();
                self.judges.push(JudgeState {
                    id: judge.clone(),
                    court: court.clone(),
                    division: division.clone(),
                    specializations: specializations.clone(),
                    share_permille: *share_permille,
                    active: *active,
                    absences: vec![],
                    conflicts: HashSet::default(),
                    intake: VecDeque::new(),
                    intake_sum: 0,
                    forgotten: 0,
                    pooled: false,
                    docket: vec![],
                });
                self.judge_ix.insert(judge.clone(), ix);
                let judges = &self.judges;
                let list = &mut self.courts.get_mut(court).expect("checked").judges;
                let pos = list.partition_point(|&j| judges[j].id < *judge);
                list.insert(pos, ix);
            }
            Event::JudgeUpdated {
                judge,
                division,
                specializations,
                share_permille,
                active,
            } => {
                let ji = self.judge_index(judge)?;
                let court = self.judges[ji].court.clone();
                self.check_division(&court, division)?;
                check_judge_record(specializations, *share_permille)?;
                self.check_specializations(specializations)?;
                let j = &mut self.judges[ji];
                if *active && !j.active {
                    j.pooled = false; // back from inactivity: joins the next pool afresh
                }
                j.division = division.clone();
                j.specializations = specializations.clone();
                j.share_permille = *share_permille;
                j.active = *active;
            }
            Event::AbsenceRecorded {
                absence,
                judge,
                from,
                until,
                reason,
            } => {
                if self.absence_ix.contains_key(absence) {
                    return rej(
                        AlreadyExists,
                        format!("absence {absence} is already recorded"),
                    );
                }
                let ji = self.judge_index(judge)?;
                if from > until {
                    return rej(
                        Invalid,
                        format!(
                            "the absence runs from {from} to {until}: it ends before it begins"
                        ),
                    );
                }
                let j = &mut self.judges[ji];
                j.absences.push(AbsenceState {
                    id: absence.clone(),
                    from: *from,
                    until: *until,
                    reason: *reason,
                    cancelled: false,
                });
                self.absence_ix
                    .insert(absence.clone(), (ji, j.absences.len() - 1));
            }
            Event::AbsenceCancelled { absence } => {
                let Some(&(ji, ai)) = self.absence_ix.get(absence) else {
                    return rej(NotFound, format!("there is no absence {absence}"));
                };
                let a = &mut self.judges[ji].absences[ai];
                if a.cancelled {
                    return rej(
                        WrongState,
                        format!("absence {absence} is already cancelled"),
                    );
                }
                a.cancelled = true;
            }
            Event::ConflictDeclared { judge, subject } => {
                check_self(actor, judge)?;
                let ji = self.judge_index(judge)?;
                if !self.judges[ji].conflicts.insert(*subject) {
                    return rej(
                        AlreadyExists,
                        format!("judge {judge} has already declared this conflict"),
                    );
                }
            }
            Event::ConflictWithdrawn { judge, subject } => {
                check_self(actor, judge)?;
                let ji = self.judge_index(judge)?;
                if !self.judges[ji].conflicts.remove(subject) {
                    return rej(
                        NotFound,
                        format!("judge {judge} has no such declared conflict"),
                    );
                }
            }
            Event::CaseFiled {
                case,
                court,
                division,
                case_type,
                weight,
                parties,
                claim,
                related,
                earlier_instance,
            } => {
                let case_hash = self.case_ix.hash(case);
                if self.case_ix.get_hashed(case_hash, case).is_some() {
                    return rej(AlreadyExists, format!("case {case} is already filed"));
                }
                self.check_division(court, division)?;
                let policy = self.policy.as_ref().expect("genesis first");
                let Some(ct) = policy.case_type(case_type) else {
                    return rej(
                        NotFound,
                        format!("there is no case type {case_type} in the policy"),
                    );
                };
                if ct.weight != *weight {
                    return rej(
                        Invalid,
                        format!(
                            "case type {case_type} weighs {} under the policy, not {weight}",
                            ct.weight
                        ),
                    );
                }
                if parties.is_empty() || parties.windows(2).any(|w| w[0] >= w[1]) {
                    return rej(
                        Invalid,
                        "a filing names at least one party, its commitments listed once each in ascending order",
                    );
                }
                let panel = ct.panel;
                let related_ix = related
                    .as_ref()
                    .map(|r| self.case_index(&r.case))
                    .transpose()?;
                if let Some(r) = related_ix {
                    let rel = &self.cases[r];
                    if rel.court != *court {
                        return rej(
                            Invalid,
                            format!("the related case {} is in another court", rel.id),
                        );
                    }
                    if !rel.parties.iter().any(|p| parties.binary_search(p).is_ok()) {
                        return rej(
                            Invalid,
                            format!(
                                "case {} shares no party or counsel with this filing: cases are related only \
                                 when they share one (file it without the related case to have it drawn)",
                                rel.id
                            ),
                        );
                    }
                }
                let earlier_ix = earlier_instance
                    .as_ref()
                    .map(|r| self.case_index(r))
                    .transpose()?;
                let key = duplicate_key(court, division, case_type, parties, claim);
                let ci = self.cases.push(CaseState {
                    id: case.clone(),
                    court: court.clone(),
                    division: division.clone(),
                    case_type: case_type.clone(),
                    weight: *weight,
                    panel,
                    parties: PartyList::from_slice(parties),
                    duplicate_key: key,
                    earlier_instance: earlier_instance.clone(),
                    related: related.as_ref().map(|r| (r.case.clone(), r.reason)),
                    earlier_ix,
                    judges: JudgeList::new(),
                    ever: JudgeList::new(),
                    recused: JudgeList::new(),
                    closed: None,
                    filed_index: index,
                    filed_at: at,
                    draws: DrawList::new(),
                });
                // Decide the method, then plan; on refusal, undo the push.
                let opened = self.open_for_filing(ci, day, index, hash);
                match opened {
                    Ok(p) => {
                        self.case_ix.insert_new(case_hash, case.clone(), ci);
                        // A later duplicate binds to the latest filing of the matter (SPEC §7.7).
                        self.duplicates.insert(key, ci);
                        self.pending.insert(ci, p);
                        if let Some(e) = earlier_ix {
                            *self.pins.entry(e).or_insert(0) += 1;
                        }
                    }
                    Err(e) => {
                        self.cases.pop();
                        return Err(e);
                    }
                }
            }
            Event::Draw(d) => self.apply_draw(d, day, index)?,
            Event::Recusal { case, judge, .. } => {
                check_self(actor, judge)?;
                self.remove_and_open(case, judge, day, index, hash)?;
            }
            Event::Reassignment { case, judge, .. } => {
                self.remove_and_open(case, judge, day, index, hash)?;
            }
            Event::CaseClosed { case, reason } => {
                let ci = self.case_index(case)?;
                self.check_open(ci)?;
                let c = &mut self.cases[ci];
                c.closed = Some(*reason);
                let c = &*c;
                // The docket lists open cases; the judges, loads and "ever sat" stay (§7.1).
                for &ji in &c.judges {
                    self.judges[ji as usize].docket.retain(|&c| c != ci);
                }
                for &ji in c.judges.iter().chain(&c.recused) {
                    self.judges[ji as usize].forget_case(ci);
                }
                if let Some(e) = c.earlier_ix
                    && let Some(n) = self.pins.get_mut(&e)
                {
                    *n -= 1;
                    if *n == 0 {
                        self.pins.remove(&e);
                    }
                }
                self.closed_resident.push(ci);
            }
            Event::CredentialIssued {
                credential,
                role,
                holder,
                court,
                enrollment,
            } => {
                self.check_issue(actor, credential, *role, holder, court.as_ref(), enrollment)?;
                if let Some(e) = enrollment {
                    self.enrollments.remove(e);
                    self.enrolled.insert(*e);
                }
                self.credentials.insert(
                    *credential,
                    CredentialState {
                        role: *role,
                        holder: holder.clone(),
                        court: court.clone(),
                        issued_by: actor.clone(),
                        issued_index: index,
                        revoked: None,
                    },
                );
            }
            Event::CredentialRevoked { credential } => {
                let Some(c) = self.credentials.get(credential) else {
                    return rej(NotFound, "there is no such credential");
                };
                if c.revoked.is_some() {
                    return rej(WrongState, "the credential is already revoked");
                }
                let own = actor.role == c.role && actor.id == c.holder;
                let court_staff = matches!(c.role, Role::Clerk | Role::Judge)
                    && c.court
                        .as_ref()
                        .is_some_and(|court| self.holds(actor, Role::CourtAdmin, Some(court)));
                if !(own || court_staff || self.holds(actor, Role::SystemAdmin, None)) {
                    return rej(
                        Forbidden,
                        format!(
                            "{} {} may not revoke this credential: only its holder, a system \
                             administrator, or for a clerk or judge an administrator of their court",
                            actor.role.name(),
                            actor.id
                        ),
                    );
                }
                self.credentials
                    .get_mut(credential)
                    .expect("checked")
                    .revoked = Some(index);
            }
            Event::EnrollmentOpened { enrollment, judge } => {
                let ji = self.judge_index(judge)?;
                if self.enrollments.contains_key(enrollment) || self.enrolled.contains(enrollment) {
                    return rej(AlreadyExists, "this enrollment code was already used");
                }
                let court = self.judges[ji].court.clone();
                if !(self.holds(actor, Role::SystemAdmin, None)
                    || self.holds(actor, Role::CourtAdmin, Some(&court)))
                {
                    return rej(
                        Forbidden,
                        format!(
                            "{} {} holds no credential to enroll judges of court {court}",
                            actor.role.name(),
                            actor.id
                        ),
                    );
                }
                self.enrollments.insert(*enrollment, ji);
            }
            Event::LogKeyPublished { key } => {
                if !matches!(actor.role, Role::System | Role::SystemAdmin) {
                    return rej_in(
                        "§5.1",
                        Forbidden,
                        "only the allocator or a system administrator publishes the log key",
                    );
                }
                if self.log_key.is_some() {
                    return rej_in(
                        "§5.1",
                        AlreadyExists,
                        "the log key is already published: a log has one key",
                    );
                }
                let origin = self.log_id.as_ref().map(|l| l.as_str()).unwrap_or_default();
                let named = crate::checkpoint::log_key_origin(key)
                    .or_else(|m| rej_in("§5.1", Invalid, m))?;
                if named != origin {
                    return rej_in(
                        "§5.1",
                        Invalid,
                        format!("the log key must be named by the log's origin {origin:?}"),
                    );
                }
                self.log_key = Some(key.clone());
            }
            Event::WitnessesConfigured { witnesses, quorum } => {
                if actor.role != Role::SystemAdmin {
                    return rej_in(
                        "§5.3",
                        Forbidden,
                        "only a system administrator configures the witnesses",
                    );
                }
                if *quorum == 0 || usize::from(*quorum) > witnesses.len() {
                    return rej_in(
                        "§5.3",
                        Invalid,
                        format!(
                            "the quorum {quorum} must be between 1 and the number of witnesses ({})",
                            witnesses.len()
                        ),
                    );
                }
                let mut verifiers = Vec::with_capacity(witnesses.len());
                for (i, w) in witnesses.iter().enumerate() {
                    if witnesses[..i].iter().any(|x| x.name == w.name) {
                        return rej_in(
                            "§5.3",
                            Invalid,
                            format!("the witness {} is named twice", w.name),
                        );
                    }
                    let v =
                        CosignatureVerifier::new(&w.key).or_else(|e| rej_in("§5.3", Invalid, e))?;
                    if v.name() != w.name {
                        return rej_in(
                            "§5.3",
                            Invalid,
                            format!("the key of witness {} names {}", w.name, v.name()),
                        );
                    }
                    verifiers.push(v);
                }
                self.witnesses = Some(Arc::new(WitnessSet {
                    index,
                    witnesses: witnesses.clone(),
                    verifiers,
                    quorum: *quorum,
                }));
                self.witnesses_since.get_or_insert(index);
            }
            Event::CheckpointWitnessed { size, cosignatures } => {
                let time = self.check_witnessed(index, *size, cosignatures, checkpoint_root)?;
                // Only a checkpoint_witnessed entry after a trigger gives its commit time, so the
                // ones before the earliest open drand draw's trigger (all of them, if none is
                // open: later triggers come after them) are never read again: bounded memory.
                let t = self
                    .drand_pending
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(u64::MAX);
                let stale = self.witnessed.partition_point(|c| c.index <= t);
                if let Some(last) = self.witnessed.drain(..stale).next_back() {
                    self.witnessed_dropped = last.index;
                }
                self.witnessed.push(Witnessed {
                    index,
                    size: *size,
                    time,
                });
            }
            Event::DrandConfigured {
                chain_hash,
                public_key,
                period_seconds,
                genesis_time,
                scheme,
            } => {
                if actor.role != Role::SystemAdmin {
                    return rej_in(
                        "§6.3",
                        Forbidden,
                        "only a system administrator configures the drand beacon",
                    );
                }
                let chain = DrandChain {
                    chain_hash: *chain_hash,
                    public_key: *public_key,
                    period_seconds: *period_seconds,
                    genesis_time: *genesis_time,
                    scheme: scheme.clone(),
                };
                chain.validate().or_else(|m| rej_in("§6.3", Invalid, m))?;
                self.drand = Some(Arc::new(chain));
            }
            Event::BeaconDelayed {
                case,
                trigger,
                round,
            } => {
                if actor.role != Role::System {
                    return rej_in(
                        "§7.7",
                        Forbidden,
                        "only the allocator (role system) records a delayed drand round",
                    );
                }
                let ci = self.case_index(case).map_err(|r| Rejection {
                    section: Some("§7.7"),
                    ..r
                })?;
                let Some(p) = self.pending.get(&ci).filter(|p| p.drand.is_some()) else {
                    return rej_in(
                        "§7.7",
                        WrongState,
                        format!("case {case} has no draw waiting for a drand round"),
                    );
                };
                if p.trigger != *trigger {
                    return rej_in(
                        "§7.7",
                        Invalid,
                        format!(
                            "the draw of case {case} was opened by entry {}, not {}",
                            fmt_index(p.trigger),
                            fmt_index(*trigger)
                        ),
                    );
                }
                if p.delayed {
                    return rej_in(
                        "§7.7",
                        AlreadyExists,
                        format!("the delay of case {case}'s drand round is already recorded"),
                    );
                }
                let want = self
                    .commit_time(p.trigger)
                    .zip(p.drand.as_ref())
                    .map(|(t, c)| c.first_round_after(t));
                if want != Some(*round) {
                    return rej_in(
                        "§7.7",
                        Invalid,
                        format!(
                            "the draw of case {case} does not wait for drand round {round}{}",
                            want.map(|w| format!(" but for round {w}"))
                                .unwrap_or_default()
                        ),
                    );
                }
                self.pending.get_mut(&ci).expect("checked").delayed = true;
            }
        }
        // With drand in force, a random draw opened by this entry waits for its round.
        if let Some(case) = event.opens_draw()
            && let Some(chain) = &self.drand
            && let Some(&ci) = self.case_ix.get(case)
            && let Some(p) = self.pending.get_mut(&ci)
            && p.trigger == index
            && p.method.is_random()
        {
            p.drand = Some(chain.clone());
            p.trigger_at = at;
            self.drand_pending.insert(index, ci);
        }
        Ok(())
    }

    /// Checks a `checkpoint_witnessed` entry (SPEC §5.3) and returns its commit time: the
    /// quorum-th smallest cosignature time.
    fn check_witnessed(
        &self,
        index: u64,
        size: u64,
        cosignatures: &[Cosignature],
        root: Option<&Digest32>,
    ) -> Result<u64, Rejection> {
        let Some(set) = &self.witnesses else {
            return rej_in("§5.3", WrongState, "no witnesses are configured");
        };
        if size > index || size <= set.index {
            return rej_in(
                "§5.3",
                Invalid,
                format!(
                    "the witnessed checkpoint's size {size} must be at most this entry's index \
                     {index} and larger than the index {} of the witnesses' configuration",
                    set.index
                ),
            );
        }
        let Some(root) = root else {
            return rej_in(
                "§5.3",
                Invalid,
                format!("the log's root at size {size} is not known"),
            );
        };
        let origin = self.log_id.as_ref().map(|l| l.as_str()).unwrap_or_default();
        let body = crate::checkpoint::body(origin, size, root);
        let mut times = Vec::with_capacity(cosignatures.len());
        for (i, c) in cosignatures.iter().enumerate() {
            if cosignatures[..i].iter().any(|x| x.witness == c.witness) {
                return rej_in(
                    "§5.3",
                    Invalid,
                    format!("witness {} cosigns twice", c.witness),
                );
            }
            let Some(v) = set.verifiers.iter().find(|v| v.name() == c.witness) else {
                return rej_in(
                    "§5.3",
                    Invalid,
                    format!("{} is not a witness in force", c.witness),
                );
            };
            if !v.verify(&body, c.time, &c.signature) {
                return rej_in(
                    "§5.3",
                    Invalid,
                    format!(
                        "the cosignature of witness {} does not verify for the log's checkpoint \
                         of size {size}: the entry, or the log before it, was altered",
                        c.witness
                    ),
                );
            }
            times.push(c.time);
        }
        let quorum = usize::from(set.quorum);
        if times.len() < quorum {
            return rej_in(
                "§5.3",
                Invalid,
                format!(
                    "{} cosignatures are fewer than the quorum of {quorum}",
                    times.len()
                ),
            );
        }
        times.sort_unstable();
        Ok(times[quorum - 1])
    }

    /// A credential, by fingerprint (SPEC §7.9).
    pub fn credential(&self, fingerprint: &Digest32) -> Option<&CredentialState> {
        self.credentials.get(fingerprint)
    }

    /// Every credential issued, in no particular order.
    pub fn credentials(&self) -> impl Iterator<Item = (&Digest32, &CredentialState)> {
        self.credentials.iter()
    }

    /// The judge an open enrollment is for.
    pub fn enrollment(&self, fingerprint: &Digest32) -> Option<&JudgeId> {
        self.enrollments
            .get(fingerprint)
            .map(|&j| &self.judges[j].id)
    }

    /// True if `actor` holds a live credential of `role` (for `court`, when given).
    fn holds(&self, actor: &Actor, role: Role, court: Option<&CourtId>) -> bool {
        actor.role == role
            && self.credentials.values().any(|c| {
                c.revoked.is_none()
                    && c.role == role
                    && c.holder == actor.id
                    && (court.is_none() || c.court.as_ref() == court)
            })
    }

    /// The separation of duties for issuing a credential (SPEC §7.9).
    fn check_issue(
        &self,
        actor: &Actor,
        credential: &Digest32,
        role: Role,
        holder: &ActorId,
        court: Option<&CourtId>,
        enrollment: &Option<Digest32>,
    ) -> Result<(), Rejection> {
        if self.credentials.contains_key(credential) {
            return rej(AlreadyExists, "this credential was already issued");
        }
        match (role, court) {
            (Role::System, _) => return rej(Invalid, "the allocator holds no credential"),
            (Role::SystemAdmin, Some(_)) => {
                return rej(Invalid, "a system administrator's credential has no court");
            }
            (Role::SystemAdmin, None) => {}
            (_, None) => {
                return rej(
                    Invalid,
                    format!("a {} credential needs a court", role.name()),
                );
            }
            (_, Some(c)) => {
                if !self.courts.contains_key(c) {
                    return rej(NotFound, format!("there is no court {c}"));
                }
            }
        }
        if role == Role::Judge {
            // Only the judge, completing an enrollment opened for them by someone else.
            let Some(e) = enrollment else {
                return rej(
                    Forbidden,
                    "a judge's credential is only issued by the judge completing an enrollment",
                );
            };
            let Some(&ji) = self.enrollments.get(e) else {
                return rej(
                    NotFound,
                    "there is no open enrollment with this code (it is unknown or already used)",
                );
            };
            let j = &self.judges[ji];
            if j.id.as_str() != holder.as_str() || Some(&j.court) != court {
                return rej(
                    Invalid,
                    format!("the enrollment is for judge {} of court {}", j.id, j.court),
                );
            }
            if actor.role != Role::Judge || actor.id.as_str() != holder.as_str() {
                return rej(
                    Forbidden,
                    format!("only judge {holder} can complete their enrollment"),
                );
            }
            return Ok(());
        }
        if enrollment.is_some() {
            return rej(Invalid, "only a judge's credential completes an enrollment");
        }
        if actor.role == Role::System {
            // The bootstrap: the first credential of the log, to a system administrator.
            if self.credentials.is_empty() && role == Role::SystemAdmin {
                return Ok(());
            }
            return rej(
                Forbidden,
                "the allocator issues only the first credential, to a system administrator",
            );
        }
        if actor.id == *holder {
            return rej(
                Forbidden,
                format!("{holder} cannot issue a credential to themselves"),
            );
        }
        let may = match actor.role {
            Role::SystemAdmin => {
                matches!(role, Role::SystemAdmin | Role::CourtAdmin | Role::Clerk)
                    && self.holds(actor, Role::SystemAdmin, None)
            }
            Role::CourtAdmin => role == Role::Clerk && self.holds(actor, Role::CourtAdmin, court),
            _ => false,
        };
        if !may {
            return rej(
                Forbidden,
                format!(
                    "{} {} may not issue a {} credential{}: administrators' credentials come from a \
                     system administrator, clerks' from a system administrator or an administrator \
                     of their court, judges' only from their own enrollment",
                    actor.role.name(),
                    actor.id,
                    role.name(),
                    court.map(|c| format!(" for court {c}")).unwrap_or_default()
                ),
            );
        }
        Ok(())
    }

    fn court_mut(&mut self, court: &CourtId) -> Result<&mut CourtState, Rejection> {
        match self.courts.get_mut(court) {
            Some(c) => Ok(c),
            None => rej(NotFound, format!("there is no court {court}")),
        }
    }

    fn check_division(&self, court: &CourtId, division: &DivisionId) -> Result<(), Rejection> {
        let Some(c) = self.courts.get(court) else {
            return rej(NotFound, format!("there is no court {court}"));
        };
        if !c.divisions.contains_key(division) {
            return rej(
                NotFound,
                format!("court {court} has no division {division}"),
            );
        }
        Ok(())
    }

    /// Every specialization a judge is given must be the specialization of a case type in the policy
    /// in force: a misspelt one would silently keep the judge from ever receiving a case.
    fn check_specializations(&self, specs: &[Specialization]) -> Result<(), Rejection> {
        let policy = self.policy.as_ref().expect("genesis first");
        if let Some(s) = specs
            .iter()
            .find(|s| !policy.case_types.iter().any(|t| &t.specialization == *s))
        {
            let mut known: Vec<&str> = policy
                .case_types
                .iter()
                .map(|t| t.specialization.as_str())
                .collect();
            known.sort_unstable();
            known.dedup();
            return rej(
                Invalid,
                format!(
                    "there is no specialization {s} in the policy; its case types use: {}",
                    known.join(", ")
                ),
            );
        }
        Ok(())
    }

    fn judge_index(&self, judge: &JudgeId) -> Result<usize, Rejection> {
        match self.judge_ix.get(judge) {
            Some(&i) => Ok(i),
            None => rej(NotFound, format!("there is no judge {judge}")),
        }
    }

    fn case_index(&self, case: &CaseId) -> Result<usize, Rejection> {
        match self.case_ix.get(case) {
            Some(&i) => Ok(i),
            None => rej(NotFound, format!("there is no case {case}")),
        }
    }

    fn check_open(&self, ci: usize) -> Result<(), Rejection> {
        let c = &self.cases[ci];
        if c.closed.is_some() {
            return rej(WrongState, format!("case {} is closed", c.id));
        }
        if self.pending.contains_key(&ci) {
            return rej(WrongState, format!("case {} is awaiting its draw", c.id));
        }
        Ok(())
    }

    /// Case `ci` and its earlier instance, if it names one that is in memory.
    fn case_and_earlier(&self, ci: usize) -> (&CaseState, Option<&CaseState>) {
        let c = &self.cases[ci];
        (c, c.earlier_ix.and_then(|e| self.cases.get(e)))
    }

    /// The first exclusion rule a judge fails for a case, or `None` if eligible (SPEC §7.2).
    /// `c` is the case and `earlier` its earlier instance if in memory (both looked up once for a
    /// whole pool by [`State::case_and_earlier`]). Given the judges and the cases rather than the
    /// state, so that a caller may hold other parts of the state mutably.
    #[allow(clippy::too_many_arguments)]
    fn exclusion(
        judges: &[JudgeState],
        cases: &Cases,
        ji: usize,
        c: &CaseState,
        earlier: Option<&CaseState>,
        day: Day,
        whole_court: bool,
        need: Option<&Specialization>,
    ) -> Option<Exclusion> {
        let j = &judges[ji];
        let jx = short(ji);
        if !j.active {
            Some(Exclusion::Inactive)
        } else if !whole_court && j.division != c.division {
            Some(Exclusion::OtherDivision)
        } else if need.is_some_and(|s| !j.holds(s)) {
            Some(Exclusion::NoSpecialization)
        } else if j.absent_on(day) {
            Some(Exclusion::Absent)
        } else if !j.conflicts.is_empty() && c.parties.iter().any(|p| j.conflicts.contains(p)) {
            Some(Exclusion::Conflict)
        } else if c.recused.contains(&jx) {
            Some(Exclusion::Recused)
        } else if c
            .earlier_ix
            .is_some_and(|e| earlier.unwrap_or_else(|| &cases[e]).ever.contains(&jx))
        {
            Some(Exclusion::EarlierInstance)
        } else if c.judges.contains(&jx) {
            Some(Exclusion::OnCase)
        } else {
            None
        }
    }

    /// Decides how a new filing is allocated (SPEC §7.7): bound to a duplicate's or a related
    /// case's judges when every one of them passes every eligibility rule for this case, otherwise a
    /// random draw, whose method names the binding that did not hold.
    fn open_for_filing(
        &mut self,
        ci: usize,
        day: Day,
        index: u64,
        hash: &Digest32,
    ) -> Result<Pending, Rejection> {
        let c = &self.cases[ci];
        let seats = c.panel;
        let need = self
            .policy
            .as_ref()
            .expect("genesis first")
            .case_type(&c.case_type)
            .map(|t| t.specialization.clone());
        // The judges an earlier case binds this one to, if every one of them may sit on it.
        let bound = |earlier: usize| -> Option<Vec<usize>> {
            let e = &self.cases[earlier];
            if e.judges.len() < seats as usize {
                return None;
            }
            let judges = &e.judges[..seats as usize];
            let (c, earlier) = self.case_and_earlier(ci);
            judges
                .iter()
                .all(|&j| {
                    Self::exclusion(
                        &self.judges,
                        &self.cases,
                        j as usize,
                        c,
                        earlier,
                        day,
                        false,
                        need.as_ref(),
                    )
                    .is_none()
                })
                .then(|| judges.iter().map(|&j| j as usize).collect())
        };
        let by_reference = |method: Method, judges: Vec<usize>| Pending {
            trigger: index,
            trigger_hash: *hash,
            method,
            seats,
            scope: PoolScope::Division,
            eligible: vec![],
            excluded: vec![],
            reference: judges,
            drand: None,
            trigger_at: 0,
            delayed: false,
        };
        let method = if let Some(&first) = self.duplicates.get(&c.duplicate_key) {
            let f = &self.cases[first];
            if self.pending.contains_key(&first) {
                return rej_in(
                    "§7.7",
                    WrongState,
                    format!(
                        "the earlier filing of this claim, case {}, is still awaiting its draw",
                        f.id
                    ),
                );
            }
            match bound(first) {
                Some(judges) => {
                    return Ok(by_reference(
                        Method::Duplicate { case: f.id.clone() },
                        judges,
                    ));
                }
                None => Method::RandomAfterDuplicate { case: f.id.clone() },
            }
        } else if let Some(r) = c.related.as_ref().map(|(id, _)| self.case_ix[id]) {
            let rel = &self.cases[r];
            match bound(r).filter(|_| !self.pending.contains_key(&r)) {
                Some(judges) => {
                    return Ok(by_reference(
                        Method::Related {
                            case: rel.id.clone(),
                        },
                        judges,
                    ));
                }
                None => Method::RandomAfterRelated {
                    case: rel.id.clone(),
                },
            }
        } else {
            Method::Random
        };
        // The case and its specialization as looked up above.
        let planning = Planning {
            policy: self.policy.as_deref().expect("genesis first"),
            courts: &mut self.courts,
            judges: &mut self.judges,
            cases: &self.cases,
            buf: &mut self.plan_buffers,
        };
        Self::plan_case(planning, c, need.as_ref(), seats, day, index, hash, method)
    }

    fn remove_and_open(
        &mut self,
        case: &CaseId,
        judge: &JudgeId,
        day: Day,
        index: u64,
        hash: &Digest32,
    ) -> Result<(), Rejection> {
        let ci = self.case_index(case)?;
        let ji = self.judge_index(judge)?;
        self.check_open(ci)?;
        let jx = short(ji);
        let Some(pos) = self.cases[ci].judges.iter().position(|&j| j == jx) else {
            return rej(
                WrongState,
                format!("judge {judge} does not sit on case {case}"),
            );
        };
        // Tentatively remove, plan the replacement, and put back if no replacement can be drawn.
        self.cases[ci].judges.remove(pos);
        self.cases[ci].recused.push(jx);
        match self.plan(ci, 1, day, index, hash, Method::Random) {
            Ok(p) => {
                self.pending.insert(ci, p);
                let j = &mut self.judges[ji];
                j.docket.retain(|&c| c != ci);
                if let Some(e) = j.intake.iter_mut().find(|e| e.2 == ci && e.1 > 0) {
                    j.intake_sum -= e.1;
                    e.1 = 0;
                }
                Ok(())
            }
            Err(e) => {
                self.cases[ci].recused.pop();
                self.cases[ci].judges.insert(pos, jx);
                Err(Rejection {
                    kind: e.kind,
                    message: format!(
                        "judge {judge} cannot leave case {case}: no replacement can be drawn ({e})"
                    ),
                    section: e.section,
                })
            }
        }
    }

    /// Computes the eligible pool, exclusions, loads and weights of a random draw (SPEC §7.2–7.5).
    ///
    /// The parts of the state it reads and those it changes (the court's case mix, the judges'
    /// intake) are borrowed apart, so the policy, the case and the court are each looked up once;
    /// judges are known by their position in the court's list, and the working lists live in
    /// [`PlanBuffers`].
    fn plan(
        &mut self,
        ci: usize,
        seats: u8,
        day: Day,
        index: u64,
        hash: &Digest32,
        method: Method,
    ) -> Result<Pending, Rejection> {
        let c = &self.cases[ci];
        let policy = self.policy.as_deref().expect("genesis first");
        let need = policy.case_type(&c.case_type).map(|t| &t.specialization);
        let planning = Planning {
            policy,
            courts: &mut self.courts,
            judges: &mut self.judges,
            cases: &self.cases,
            buf: &mut self.plan_buffers,
        };
        Self::plan_case(planning, c, need, seats, day, index, hash, method)
    }

    /// [`State::plan`] for case `c`, whose case type needs `need`, given the parts of the state
    /// it reads and changes (a filing has looked the case and its type up already).
    #[allow(clippy::too_many_arguments)]
    fn plan_case(
        parts: Planning<'_>,
        c: &CaseState,
        need: Option<&Specialization>,
        seats: u8,
        day: Day,
        index: u64,
        hash: &Digest32,
        method: Method,
    ) -> Result<Pending, Rejection> {
        let Planning {
            policy,
            courts,
            judges,
            cases,
            buf,
        } = parts;
        let earlier = c.earlier_ix.and_then(|e| cases.get(e));
        let CourtState {
            judges: court_judges,
            mix,
            ..
        } = courts.get_mut(&c.court).expect("filed in a court");
        let court_judges: &[usize] = court_judges;
        let min = (policy.min_pool as usize).max(seats as usize);
        // The eligible judges' positions into `buf.ok`, the excluded ones' into `buf.out`; for a
        // pool of the division, the balance group (the division's active judges: those the first
        // two rules do not exclude) into `buf.group`, their shares into `buf.shares`, and whether
        // they hold the specialization (the third rule does not exclude them) into
        // `buf.holds_need`.
        let pass = |whole: bool, buf: &mut PlanBuffers, judges: &[JudgeState]| {
            buf.ok.clear();
            buf.out.clear();
            buf.group.clear();
            buf.shares.clear();
            buf.holds_need.clear();
            let mut ex = Vec::new();
            for (pos, &ji) in court_judges.iter().enumerate() {
                let reason = Self::exclusion(judges, cases, ji, c, earlier, day, whole, need);
                if !whole && !matches!(reason, Some(Exclusion::Inactive | Exclusion::OtherDivision))
                {
                    buf.group.push(pos);
                    buf.shares.push(judges[ji].share_permille);
                    buf.holds_need
                        .push(reason != Some(Exclusion::NoSpecialization));
                }
                match reason {
                    None => buf.ok.push(pos),
                    Some(reason) => {
                        buf.out.push(pos);
                        ex.push(Excluded {
                            judge: judges[ji].id.clone(),
                            reason,
                        });
                    }
                }
            }
            ex
        };
        let mut ex = pass(false, buf, judges);
        let mut scope = PoolScope::Division;
        if buf.ok.len() < min {
            let too_few = |n: usize| {
                rej_in(
                    "§7.3",
                    NoEligibleJudges,
                    format!(
                        "only {n} judge(s) of court {} can take a {} case of division {} (the policy needs {min}): \
                         the case cannot be allocated until more judges are available",
                        c.court, c.case_type, c.division
                    ),
                )
            };
            if policy.fallback == Fallback::Refuse {
                return too_few(buf.ok.len());
            }
            ex = pass(true, buf, judges);
            scope = PoolScope::Court;
            if buf.ok.len() < min {
                if policy.fallback == Fallback::WidenThenProceed
                    && buf.ok.len() >= seats as usize
                    && !buf.ok.is_empty()
                {
                    scope = PoolScope::CourtBelowMinimum;
                } else {
                    return too_few(buf.ok.len());
                }
            }
        }
        let (weight, first) = (c.weight, c.ever.is_empty());
        // The window's case mix: a first allocation adds its weight times seats to its class.
        if let Some(spec) = need
            && first
        {
            // The class's entry, found without cloning its key (a court has few classes).
            let m = match mix
                .iter_mut()
                .find(|((d, s), _)| *d == c.division && s == spec)
            {
                Some((_, m)) => m,
                None => mix.entry((c.division.clone(), spec.clone())).or_default(),
            };
            m.expire(day, policy.window_days);
            m.add(day, weight as u64 * 1000 * seats as u64);
        }
        // The balanced-rate factor of each judge (SPEC §7.5), by position. For a pool of the
        // division (and a case type the policy knows), the factors of `balanced_rates` over the
        // balance group (the division's active judges) and the division's window mix by
        // specialization; otherwise, and for judges outside the group, the shares.
        buf.rates.clear();
        buf.rates.extend(
            court_judges
                .iter()
                .map(|&ji| judges[ji].share_permille as u64),
        );
        if scope == PoolScope::Division && need.is_some() {
            // The group is the division pass's (the scope says it was the last pass).
            buf.volumes.clear();
            buf.holds.clear();
            for ((d, spec), m) in mix.iter_mut() {
                if *d != c.division {
                    continue;
                }
                m.expire(day, policy.window_days);
                if m.sum > 0 {
                    buf.volumes.push(m.sum);
                    if Some(spec) == need {
                        buf.holds.extend_from_slice(&buf.holds_need);
                    } else {
                        buf.holds.extend(
                            buf.group
                                .iter()
                                .map(|&pos| judges[court_judges[pos]].holds(spec)),
                        );
                    }
                }
            }
            let (n, holds) = (buf.group.len(), &buf.holds);
            balanced_rates_by(
                &buf.shares,
                &buf.volumes,
                |j, k| holds[k * n + j],
                &mut buf.factors,
            );
            for (&pos, &x) in buf.group.iter().zip(&buf.factors) {
                buf.rates[pos] = x;
            }
        }
        buf.inputs.clear();
        for &pos in &buf.ok {
            let j = &mut judges[court_judges[pos]];
            j.expire(day, policy.window_days);
            buf.inputs.push(LoadInput {
                load: normalized_load(j.intake_sum, j.share_permille),
                share_permille: j.share_permille,
                rate: buf.rates[pos],
            });
        }
        // Joining credit: judges entering a pool for the first time start near the pooled mean.
        let (pooled_sum, pooled_n) = buf
            .ok
            .iter()
            .zip(&buf.inputs)
            .filter(|(pos, _)| judges[court_judges[**pos]].pooled)
            .fold((0u64, 0u64), |(s, n), (_, inp)| (s + inp.load, n + 1));
        for (&pos, inp) in buf.ok.iter().zip(buf.inputs.iter_mut()) {
            let j = &mut judges[court_judges[pos]];
            if !j.pooled && pooled_n > 0 {
                let credit = joining_credit(
                    inp.load,
                    j.share_permille,
                    pooled_sum / pooled_n,
                    policy.catch_up_limit,
                );
                if credit > 0 {
                    j.intake.push_back((day, credit, NO_CASE));
                    j.intake_sum += credit;
                    inp.load = normalized_load(j.intake_sum, j.share_permille);
                }
            }
            j.pooled = true;
        }
        // Absence credit: a judge kept out only by an absence is credited the share of this draw
        // the pool carries at their balanced rate.
        let pool_rates: u64 = buf.inputs.iter().map(|i| i.rate).sum();
        let mut absent_rates = 0u64;
        for (x, &pos) in ex.iter().zip(&buf.out) {
            if x.reason == Exclusion::Absent {
                let j = &mut judges[court_judges[pos]];
                let rate = buf.rates[pos];
                absent_rates += rate;
                j.expire(day, policy.window_days);
                let credit = absence_credit(weight, seats, rate, pool_rates);
                j.intake.push_back((day, credit, NO_CASE));
                j.intake_sum += credit;
            }
        }
        weights_into(
            policy,
            weight,
            &buf.inputs,
            absent_rates,
            &mut buf.weights,
            &mut buf.weight,
        );
        let eligible = buf
            .ok
            .iter()
            .zip(buf.inputs.iter().zip(&buf.weights))
            .map(|(&pos, (inp, &weight))| Candidate {
                judge: judges[court_judges[pos]].id.clone(),
                load: inp.load,
                weight,
            })
            .collect();
        Ok(Pending {
            trigger: index,
            trigger_hash: *hash,
            method,
            seats,
            scope,
            eligible,
            excluded: ex,
            reference: vec![],
            drand: None,
            trigger_at: 0,
            delayed: false,
        })
    }

    fn apply_draw(&mut self, d: &Draw, day: Day, index: u64) -> Result<(), Rejection> {
        let ci = self.case_index(&d.case)?;
        let Some(p) = self.pending.get(&ci) else {
            return rej(
                WrongState,
                format!("case {} is not awaiting a draw", d.case),
            );
        };
        if d.trigger != p.trigger {
            return rej(
                DrawMismatch,
                format!(
                    "the draw names entry {} as its trigger, but case {} was opened by entry {}",
                    fmt_index(d.trigger),
                    d.case,
                    fmt_index(p.trigger)
                ),
            );
        }
        let mut verified = None;
        if p.method.is_random()
            && let Some(chain) = &p.drand
        {
            verified = Some(self.check_drand(p.trigger, chain, &d.beacon)?);
        } else if p.method.is_random() {
            let b = self.beacon.expect("genesis first");
            match &d.beacon {
                Some(BeaconReveal::Drand { .. }) => {
                    return rej_in(
                        "§6.1",
                        DrawMismatch,
                        "the draw records a drand round, but no drand beacon was in force at its trigger: it must reveal the next value of the hash chain",
                    );
                }
                None => {
                    return rej_in(
                        "§6.1",
                        DrawMismatch,
                        "the draw is random but records no beacon value",
                    );
                }
                Some(BeaconReveal::HashChain { round, value }) => {
                    if *round != b.round + 1 {
                        return rej_in(
                            "§6.1",
                            DrawMismatch,
                            format!(
                                "the draw uses beacon round {round}, but the next unused round is {}: a round was skipped or reused",
                                b.round + 1
                            ),
                        );
                    }
                    if *round > b.anchor.length {
                        return rej_in(
                            "§6.1",
                            DrawMismatch,
                            format!(
                                "the beacon chain holds {} values; round {round} is past its end",
                                b.anchor.length
                            ),
                        );
                    }
                    if chain_step(value) != b.current {
                        return rej_in(
                            "§6.1",
                            DrawMismatch,
                            format!(
                                "the beacon value of round {round} does not hash to the previous round's value: it is not from the committed chain"
                            ),
                        );
                    }
                }
            }
        }
        // Compare in place; build the full expected record only to describe a mismatch.
        let (seed_v, chosen) = self.outcome(p, d.beacon)?;
        let same = d.method == p.method
            && d.seats == p.seats
            && d.scope == p.scope
            && d.eligible == p.eligible
            && d.excluded == p.excluded
            && d.seed == seed_v
            && (seed_v.is_some() || d.beacon.is_none())
            && d.chosen[..] == chosen[..];
        if !same {
            let expected = self.build_draw(&d.case, d.beacon)?;
            let msg = describe_mismatch(&expected, d).unwrap_or_else(|| {
                format!(
                    "case {}: the draw record differs from its recomputation",
                    d.case
                )
            });
            return rej(DrawMismatch, msg);
        }
        // Commit.
        if let Some(BeaconReveal::HashChain { round, value }) = d.beacon
            && let Some(b) = self.beacon.as_mut()
        {
            b.round = round;
            b.current = value;
        }
        let p = self.pending.remove(&ci).expect("checked");
        if p.drand.is_some() {
            self.drand_pending.remove(&p.trigger);
        }
        if verified.is_some() {
            self.drand_verified = verified;
        }
        // A duplicate is the same matter as the case it is bound to: it adds no intake (SPEC §7.8).
        let counts = !matches!(p.method, Method::Duplicate { .. });
        let chosen: SmallVec<[usize; 4]> = if p.method.is_random() {
            d.chosen.iter().map(|j| self.judge_ix[j]).collect()
        } else {
            SmallVec::from_vec(p.reference)
        };
        let window = self.policy.as_ref().expect("genesis").window_days;
        let c = &mut self.cases[ci];
        let weight = c.weight;
        for &ji in &chosen {
            let j = &mut self.judges[ji];
            j.expire(day, window);
            if counts {
                j.intake.push_back((day, weight as u64 * 1000, ci));
                j.intake_sum += weight as u64 * 1000;
            }
            j.docket.push(ci);
            let jx = short(ji);
            c.judges.push(jx);
            if !c.ever.contains(&jx) {
                c.ever.push(jx);
            }
        }
        c.draws.push(index);
        self.draws += 1;
        Ok(())
    }
}

impl State {
    /// Checks a drand draw's reveal (SPEC §6.3, §6.4): the commit time is known, the round is the
    /// first after it, and the signature verifies under the chain in force at the trigger.
    /// Returns what verified, to remember.
    fn check_drand(
        &self,
        trigger: u64,
        chain: &DrandChain,
        beacon: &Option<BeaconReveal>,
    ) -> Result<(u64, DrandSignature, DrandPublicKey), Rejection> {
        let (round, signature) = match beacon {
            None => {
                return rej_in(
                    "§6.3",
                    DrawMismatch,
                    "the draw is random but records no beacon value",
                );
            }
            Some(BeaconReveal::HashChain { .. }) => {
                return rej_in(
                    "§6.3",
                    DrawMismatch,
                    "drand was in force at the draw's trigger, but the draw reveals a hash-chain value: it must use a drand round",
                );
            }
            Some(BeaconReveal::Drand { round, signature }) => (*round, *signature),
        };
        let Some(t) = self.commit_time(trigger) else {
            return rej_in(
                "§6.4",
                DrawMismatch,
                format!(
                    "the draw comes before the commit time of its trigger (entry {}) is known: it cannot yet say which drand round it must use",
                    fmt_index(trigger)
                ),
            );
        };
        let want = chain.first_round_after(t);
        if round != want {
            return rej_in(
                "§6.4",
                DrawMismatch,
                format!(
                    "the draw uses drand round {round}, but the first round after its trigger's commit time ({t}) is {want}"
                ),
            );
        }
        let key = (round, signature, chain.public_key);
        if self.drand_verified.as_ref() != Some(&key) && !chain.verify(round, &signature) {
            return rej_in(
                "§6.3",
                DrawMismatch,
                format!(
                    "the signature of drand round {round} does not verify under the chain's public key: it is not that round's randomness"
                ),
            );
        }
        Ok(key)
    }
}

fn check_anchor(b: &ChainAnchor) -> Result<(), Rejection> {
    if b.length == 0 {
        return rej_in(
            "§6.1",
            Invalid,
            "a beacon chain must hold at least one value",
        );
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), Rejection> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return rej(
            Invalid,
            "a name must be 1 to 200 bytes of text without control characters",
        );
    }
    Ok(())
}

fn check_judge_record(specs: &[Specialization], share: u32) -> Result<(), Rejection> {
    if !(1..=1000).contains(&share) {
        return rej(
            Invalid,
            format!("a share of {share} thousandths is outside 1..=1000"),
        );
    }
    if specs.windows(2).any(|w| w[0] >= w[1]) {
        return rej(
            Invalid,
            "specializations must be listed once each in ascending order",
        );
    }
    Ok(())
}

fn check_self(actor: &Actor, judge: &JudgeId) -> Result<(), Rejection> {
    if actor.role == Role::Judge && actor.id.as_str() != judge.as_str() {
        return rej(
            Forbidden,
            format!("judge {} cannot act for judge {judge}", actor.id),
        );
    }
    Ok(())
}

fn names(v: &[JudgeId]) -> String {
    if v.is_empty() {
        return "nobody".into();
    }
    v.iter().map(|j| j.as_str()).collect::<Vec<_>>().join(", ")
}

/// The first difference between a recomputed draw and a recorded one, in words.
fn describe_mismatch(expected: &Draw, got: &Draw) -> Option<String> {
    if expected == got {
        return None;
    }
    let case = &got.case;
    if expected.method != got.method {
        return Some(format!(
            "case {case} was allocated as {:?}, but the rules require {:?}",
            got.method, expected.method
        ));
    }
    if expected.scope != got.scope || expected.seats != got.seats {
        return Some(format!(
            "case {case}: the draw records pool {:?} for {} seat(s), but replay gives pool {:?} for {}",
            got.scope, got.seats, expected.scope, expected.seats
        ));
    }
    if expected.excluded != got.excluded {
        let missing = expected.excluded.iter().find(|x| !got.excluded.contains(x));
        let extra = got.excluded.iter().find(|x| !expected.excluded.contains(x));
        return Some(match (extra, missing) {
            (Some(x), _) => format!(
                "case {case}: the draw excludes judge {} ({:?}), but replay does not",
                x.judge, x.reason
            ),
            (_, Some(x)) => format!(
                "case {case}: replay excludes judge {} ({:?}), but the draw does not",
                x.judge, x.reason
            ),
            _ => format!(
                "case {case}: the exclusions are listed in a different order than the rules give"
            ),
        });
    }
    if expected.eligible != got.eligible {
        for (e, g) in expected.eligible.iter().zip(&got.eligible) {
            if e.judge != g.judge {
                return Some(format!(
                    "case {case}: the draw's pool lists judge {}, but replay lists {}",
                    g.judge, e.judge
                ));
            }
            if e.load != g.load || e.weight != g.weight {
                return Some(format!(
                    "case {case}: the draw gives judge {} load {} and weight {}, but replay gives load {} and weight {}",
                    g.judge, g.load, g.weight, e.load, e.weight
                ));
            }
        }
        return Some(format!(
            "case {case}: the draw's pool has {} judges, but replay has {}",
            got.eligible.len(),
            expected.eligible.len()
        ));
    }
    if expected.seed != got.seed {
        return Some(format!(
            "case {case}: the draw's seed does not follow from its filing entry and beacon value"
        ));
    }
    if expected.chosen != got.chosen {
        return Some(format!(
            "the draw chose judge {}, but replay chooses {}",
            names(&got.chosen),
            names(&expected.chosen)
        ));
    }
    Some(format!(
        "case {case}: the draw record differs from its recomputation"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> JudgeState {
        JudgeState {
            id: JudgeId::parse("J-1").expect("valid"),
            court: CourtId::parse("c").expect("valid"),
            division: DivisionId::parse("d").expect("valid"),
            specializations: vec![],
            share_permille: 1000,
            active: true,
            absences: vec![],
            conflicts: HashSet::default(),
            intake: VecDeque::new(),
            intake_sum: 0,
            forgotten: 0,
            pooled: true,
            docket: vec![],
        }
    }

    #[test]
    fn forgetting_closed_cases_keeps_every_window_sum_and_bounds_the_entries() {
        let mut j = judge();
        let mut x = 0x2545f4914f6cdd1du64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        // 5,000 cases over 40 days, some credits; then close them all but the last 30, in a
        // shuffled order, comparing every window sum with an untouched copy.
        let mut day = 0;
        for ci in 0..5_000usize {
            day += i32::from(rnd(125) == 0);
            let w = 1000 * (1 + rnd(5));
            let c = if rnd(20) == 0 { NO_CASE } else { ci };
            j.intake.push_back((Day(day), w, c));
            j.intake_sum += w;
        }
        let before = j.clone();
        let mut order: Vec<usize> = (0..4_970).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rnd(i as u64 + 1) as usize);
        }
        for ci in order {
            j.forget_case(ci);
        }
        for d in 0..=day + 2 {
            for window in [1, 3, 10, 365] {
                assert_eq!(
                    j.intake_on(Day(d), window),
                    before.intake_on(Day(d), window),
                    "day {d}, window {window}"
                );
            }
        }
        // The 30 open cases are still found by case (a recusal needs them).
        for ci in 4_970..5_000 {
            let had = before.intake.iter().any(|e| e.2 == ci);
            assert_eq!(j.intake.iter().any(|e| e.2 == ci), had, "case {ci}");
        }
        // Fully merged, a day of closed intake is one entry: about 40 days and 30 open cases.
        let mut full: Vec<(Day, u64, usize)> = vec![];
        for &e in &j.intake {
            match full.last_mut() {
                Some(b) if e.2 == NO_CASE && b.2 == NO_CASE && b.0 == e.0 => b.1 += e.1,
                _ => full.push(e),
            }
        }
        assert!(full.len() < 120, "{} entries when merged", full.len());
        // Compaction is amortized: at most about twice the merged length is kept.
        assert!(
            j.intake.len() <= 2 * full.len() + 64 + 2 * j.forgotten,
            "{} entries left of 5,000 ({} when merged)",
            j.intake.len(),
            full.len()
        );
    }

    /// The party, judge and draw lists became inline vectors (of digests, u32 and u64, issue 10):
    /// the serde form of a case is still that of the vectors (of digests, `usize` and `u64`) it
    /// had, both ways.
    #[test]
    fn a_case_serializes_as_before_its_lists_were_inline() {
        /// The case as it was, its lists vectors.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Before {
            id: CaseId,
            court: CourtId,
            division: DivisionId,
            case_type: CaseTypeCode,
            weight: u32,
            panel: u8,
            parties: Vec<Commitment>,
            duplicate_key: Digest32,
            earlier_instance: Option<CaseId>,
            related: Option<(CaseId, RelationReason)>,
            earlier_ix: Option<usize>,
            judges: Vec<usize>,
            ever: Vec<usize>,
            recused: Vec<usize>,
            closed: Option<ClosingReason>,
            filed_index: u64,
            draws: Vec<u64>,
            filed_at: Millis,
        }
        let wide = |l: &JudgeList| l.iter().map(|&j| j as usize).collect();
        let mut cases = conformance_cases();
        assert!(cases.iter().any(|c| c.ever.len() > 4 || c.draws.len() > 2));
        // More parties than the case holds in itself.
        let mut many = cases[0].clone();
        many.parties = (1..=3).map(|b| Digest32([b; 32])).collect();
        cases.push(many);
        for c in cases {
            let before = Before {
                id: c.id.clone(),
                court: c.court.clone(),
                division: c.division.clone(),
                case_type: c.case_type.clone(),
                weight: c.weight,
                panel: c.panel,
                parties: c.parties.to_vec(),
                duplicate_key: c.duplicate_key,
                earlier_instance: c.earlier_instance.clone(),
                related: c.related.clone(),
                earlier_ix: c.earlier_ix,
                judges: wide(&c.judges),
                ever: wide(&c.ever),
                recused: wide(&c.recused),
                closed: c.closed,
                filed_index: c.filed_index,
                draws: c.draws.to_vec(),
                filed_at: c.filed_at,
            };
            let old = serde_json::to_string(&before).unwrap();
            assert_eq!(serde_json::to_string(&c).unwrap(), old);
            assert_eq!(serde_json::from_str::<CaseState>(&old).unwrap(), c);
        }
    }

    /// Every case of the conformance log, as it stands after each entry (so open cases, cases
    /// mid-draw and closed ones), distinct.
    fn conformance_cases() -> Vec<CaseState> {
        let mut log = crate::Log::new();
        let mut out: Vec<CaseState> = vec![];
        for e in crate::conformance::conformance_log() {
            log.push(&e).expect("the conformance log replays");
            for c in log.state().cases() {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    #[test]
    fn every_case_of_the_conformance_log_round_trips_through_its_archive_record() {
        let cases = conformance_cases();
        for c in &cases {
            let bytes = c.encode_record();
            assert_eq!(bytes[0], RECORD_VERSION);
            let back = CaseState::decode_record(&bytes, c.id.clone(), c.duplicate_key)
                .unwrap_or_else(|e| panic!("case {}: {e}", c.id));
            assert_eq!(&back, c);
            assert_eq!(back.encode_record(), bytes);
            // The number and the duplicate key come from the row, not the record.
            assert!(
                !bytes.windows(32).any(|w| w == c.duplicate_key.0),
                "case {}: the record repeats the duplicate key",
                c.id
            );
        }
        // Every field that can be empty or absent is present in some case, so each is tried both
        // ways.
        let some = |f: &dyn Fn(&CaseState) -> bool| cases.iter().any(f);
        assert!(some(
            &|c| c.earlier_instance.is_some() && c.earlier_ix.is_some()
        ));
        assert!(some(&|c| c.related.is_some()));
        assert!(some(&|c| !c.recused.is_empty()));
        assert!(some(&|c| c.judges.len() > 1 && c.panel > 1));
        assert!(some(&|c| c.ever.len() > c.judges.len()));
        assert!(some(&|c| c.draws.len() > 1));
        assert!(some(&|c| c.closed.is_some()));
        assert!(some(&|c| c.closed.is_none() && c.judges.is_empty()));
    }

    #[test]
    fn checked_case_judges_refuses_an_index_beyond_the_judge_table() {
        let mut log = crate::Log::new();
        for e in crate::conformance::conformance_log() {
            log.push(&e).expect("the conformance log replays");
        }
        let st = log.state();
        let mut c = st.cases().find(|c| !c.judges.is_empty()).unwrap().clone();
        assert_eq!(st.checked_case_judges(&c), Some(st.case_judges(&c)));
        c.judges.push(st.judges.len() as u32);
        assert_eq!(st.checked_case_judges(&c), None);
    }

    #[test]
    fn a_fixed_width_record_of_version_1_is_still_read_and_the_compact_one_is_smaller() {
        // A record as the store wrote it before version 2: case N-00000001 of the national
        // benchmark (court c000, division general, type small, weight 1, one seat, two parties,
        // judge 1, closed by judgment, filed at entry 802 and drawn at 803).
        let v1 = hex::decode(
            "0100000004633030300000000767656e6572616c00000005736d616c6c000000010100000002dd8cc453\
             13a10993cf255f06faa651272e5bd4e910f7ddffa3ffb3129eb73819ec5e7a64c0d36d7dfb5fdbd4d719\
             8af6844e695d7b5b890b7a888d96ffc42ae10000000000000100000001000000010000000100000000\
             01000000000000000322000000010000000000000323000001a22bd63ca8",
        )
        .unwrap();
        let id: CaseId = "N-00000001".parse().unwrap();
        let key = Digest32([7; 32]);
        let c = CaseState::decode_record(&v1, id.clone(), key).unwrap();
        assert_eq!(
            (c.court.as_str(), c.division.as_str(), c.case_type.as_str()),
            ("c000", "general", "small")
        );
        assert_eq!((c.weight, c.panel, c.parties.len()), (1, 1, 2));
        assert_eq!(
            (&c.judges[..], &c.ever[..], c.recused.len()),
            (&[1][..], &[1][..], 0)
        );
        assert_eq!((c.filed_index, &c.draws[..]), (802, &[803][..]));
        assert_eq!(c.filed_at, 0x01a2_2bd6_3ca8);
        assert!(c.closed.is_some());
        let v2 = c.encode_record();
        assert_eq!(v2[0], RECORD_VERSION);
        assert_eq!(CaseState::decode_record(&v2, id.clone(), key).unwrap(), c);
        assert_eq!((v1.len(), v2.len()), (155, 107));
        // The fixed-width reader is strict too: a byte left over is refused.
        let mut longer = v1.clone();
        longer.push(0);
        assert!(matches!(
            CaseState::decode_record(&longer, id, key).map_err(|e| e.kind),
            Err(DecodeErrorKind::TrailingBytes(1))
        ));
    }

    #[test]
    fn the_compact_record_refuses_a_varint_not_in_its_shortest_form() {
        let c = conformance_cases()
            .into_iter()
            .find(|c| c.closed.is_some())
            .unwrap();
        let bytes = c.encode_record();
        // The court's length (byte 1) written in two bytes instead of one.
        let mut long = vec![bytes[0], bytes[1] | 0x80, 0];
        long.extend_from_slice(&bytes[2..]);
        let e = CaseState::decode_record(&long, c.id.clone(), c.duplicate_key).unwrap_err();
        assert_eq!((e.offset, e.kind), (1, DecodeErrorKind::InvalidVarint));
        // Times before 1970 and draw indices out of order survive the zigzag and the differences.
        let mut odd = c.clone();
        odd.filed_at = -5;
        odd.draws = [odd.filed_index + 9, odd.filed_index + 2]
            .into_iter()
            .collect();
        let back =
            CaseState::decode_record(&odd.encode_record(), c.id.clone(), c.duplicate_key).unwrap();
        assert_eq!(back, odd);
    }

    #[test]
    fn a_truncated_extended_or_changed_archive_record_is_refused_or_canonical() {
        // One case of each shape (which options are set, how long each list is): every field's
        // every byte is tried, in a few seconds.
        let mut shapes = HashSet::default();
        for c in conformance_cases() {
            let shape = (
                (
                    c.earlier_ix.is_some(),
                    c.related.is_some(),
                    c.closed.is_some(),
                ),
                (c.judges.len(), c.ever.len(), c.recused.len(), c.draws.len()),
                c.parties.len(),
            );
            if !shapes.insert(shape) {
                continue;
            }
            let bytes = c.encode_record();
            let decode = |b: &[u8]| CaseState::decode_record(b, c.id.clone(), c.duplicate_key);
            for n in 0..bytes.len() {
                assert!(decode(&bytes[..n]).is_err(), "case {}: {n} bytes", c.id);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                decode(&longer).map(|_| ()),
                Err(DecodeError {
                    offset: bytes.len(),
                    kind: DecodeErrorKind::TrailingBytes(1)
                })
            );
            // Any one byte changed: refused, or a record whose bytes are exactly the changed ones.
            let mut changed = bytes.clone();
            for i in 0..bytes.len() {
                for v in 0..=255u8 {
                    if v == bytes[i] {
                        continue;
                    }
                    changed[i] = v;
                    if let Ok(other) = decode(&changed) {
                        assert_eq!(other.encode_record(), changed, "case {}, byte {i}", c.id);
                    }
                }
                changed[i] = bytes[i];
            }
        }
        // A record the store wrote before (CBOR: a map) is not read as this one.
        let c = &conformance_cases()[0];
        for first in [0xa0u8, 0xb3, 0xbf, 0x00, 0x03] {
            let mut b = c.encode_record();
            b[0] = first;
            assert_eq!(
                CaseState::decode_record(&b, c.id.clone(), c.duplicate_key).map(|_| ()),
                Err(DecodeError {
                    offset: 0,
                    kind: DecodeErrorKind::UnknownTag {
                        what: "archive record version",
                        byte: first
                    }
                })
            );
        }
        assert!(CaseState::decode_record(&[], c.id.clone(), c.duplicate_key).is_err());
    }
}
