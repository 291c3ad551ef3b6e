//! The events of the log and their canonical bytes (SPEC §3).

use serde::{Deserialize, Serialize};

use crate::beacon::{BeaconReveal, ChainAnchor};
use crate::day::{Day, Millis};
use crate::drand::DrandPublicKey;
use crate::encode::{Canonical, Dec, Decode, DecodeError, DecodeErrorKind, Enc};
use crate::ids::*;
use crate::policy::Policy;

/// Who caused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The allocator itself: draws, and nothing else, are made by the system.
    System,
    /// A system administrator (genesis, courts, policy).
    SystemAdmin,
    /// A court administrator (divisions, judges, absences).
    CourtAdmin,
    /// A court clerk (filings, recusal requests, reassignments, closing).
    Clerk,
    /// A judge (own conflicts and recusals).
    Judge,
}

impl Role {
    /// The role's name as JSON writes it (`system`, `system_admin`, `court_admin`, `clerk`,
    /// `judge`).
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::SystemAdmin => "system_admin",
            Role::CourtAdmin => "court_admin",
            Role::Clerk => "clerk",
            Role::Judge => "judge",
        }
    }

    /// The byte in the canonical encoding.
    pub fn byte(self) -> u8 {
        match self {
            Role::System => 0,
            Role::SystemAdmin => 1,
            Role::CourtAdmin => 2,
            Role::Clerk => 3,
            Role::Judge => 4,
        }
    }

    /// The role whose canonical byte is `b`, if any (the inverse of [`Role::byte`]).
    pub fn from_byte(b: u8) -> Option<Role> {
        Some(match b {
            0 => Role::System,
            1 => Role::SystemAdmin,
            2 => Role::CourtAdmin,
            3 => Role::Clerk,
            4 => Role::Judge,
            _ => return None,
        })
    }
}

/// A role and an identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The role acted in.
    pub role: Role,
    /// Who, within that role.
    pub id: ActorId,
}

impl Actor {
    /// The allocator (`system`, `allocator`).
    pub fn system() -> Actor {
        Actor {
            role: Role::System,
            id: ActorId::parse("allocator").expect("valid id"),
        }
    }
    /// Convenience constructor; panics on an invalid id (tests and tools only).
    pub fn new(role: Role, id: &str) -> Actor {
        Actor {
            role,
            id: ActorId::parse(id).expect("valid actor id"),
        }
    }
}

/// Why a judge is away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AbsenceReason {
    Leave,
    Sick,
    Training,
    Secondment,
    Other,
}

/// Why a judge stepped off a case at their own or a party's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RecusalReason {
    ConflictOfInterest,
    PriorInvolvement,
    PersonalRelationship,
    PartyChallengeUpheld,
    Other,
}

/// Why the court moved a case away from a judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReassignReason {
    JudgeLeftCourt,
    LongTermAbsence,
    Incapacity,
    DisciplinarySuspension,
    Other,
}

/// How a case was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ClosingReason {
    Judgment,
    Settlement,
    Withdrawal,
    Dismissal,
    Transfer,
}

/// Why a filing names an earlier case as related (SPEC §7.7). A related case must share a party or
/// counsel with the earlier one; the reason says what connects them, and the filing entry's actor is
/// who asserted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationReason {
    /// A counterclaim or cross-claim in the same matter.
    Counterclaim,
    /// A claim arising from the same transaction or facts.
    SameFacts,
    /// Enforcement, review or other follow-up of the earlier case's decision.
    FollowUp,
    /// Proceedings the law requires to be heard together (joinder).
    Joinder,
    /// Another connection, for the audit to examine.
    Other,
}

/// The link from a filing to a related earlier case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedLink {
    /// The earlier case.
    pub case: CaseId,
    /// What connects the two.
    pub reason: RelationReason,
}

/// Why a judge of the court was not in a draw's pool (SPEC §7.2), in the order they are tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Not active (left, suspended, not yet sitting).
    Inactive,
    /// Sits in another division of the court.
    OtherDivision,
    /// Does not hold the case type's specialization.
    NoSpecialization,
    /// On a recorded absence on the day of the draw.
    Absent,
    /// Declared a conflict with a party or counsel of the case.
    Conflict,
    /// Recused from, or was removed from, this case.
    Recused,
    /// Sat on the case this one appeals (an earlier instance).
    EarlierInstance,
    /// Already sits on this case.
    OnCase,
}

tag_first_enum! {
tag = "kind", remote = "Method", serde(rename_all = "snake_case", deny_unknown_fields),
by_name = MethodByName, tagged = MethodTagged;
/// How the judges of a draw entry were chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// A random draw from the eligible pool.
    Random,
    /// The judges of a related earlier case, by reference.
    Related {
        /// The earlier case.
        case: CaseId,
    },
    /// A duplicate filing: bound to the judges of the latest earlier filing of the same matter,
    /// never re-drawn.
    Duplicate {
        /// The latest earlier filing with the same duplicate key.
        case: CaseId,
    },
    /// A random draw for a duplicate filing whose binding did not hold: a judge of the earlier
    /// filing is no longer eligible (the pool's exclusion list says why).
    RandomAfterDuplicate {
        /// The earlier filing the binding named.
        case: CaseId,
    },
    /// A random draw for a filing whose related case's judges cannot take it (another division or
    /// specialization, an absence, a conflict, or fewer judges than seats).
    RandomAfterRelated {
        /// The related case named in the filing.
        case: CaseId,
    },
}
}

impl Method {
    /// True for the methods that draw at random from the pool (`random` and the two fallbacks).
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            Method::Random
                | Method::RandomAfterDuplicate { .. }
                | Method::RandomAfterRelated { .. }
        )
    }
}

/// Whether and how the pool fell back (SPEC §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolScope {
    /// Judges of the case's division.
    Division,
    /// Widened to the whole court because the division had fewer than `min_pool`.
    Court,
    /// Widened to the court and still below `min_pool`; drawn anyway under the policy.
    CourtBelowMinimum,
}

/// One judge in a draw's eligible pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// The judge.
    pub judge: JudgeId,
    /// Normalized load in thousandths of a case-weight unit (SPEC §7.4).
    pub load: u64,
    /// Integer weight; the probability is `weight / sum of weights`.
    pub weight: u64,
}

/// A judge left out of a draw's pool, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// The judge.
    pub judge: JudgeId,
    /// The first rule that excluded them.
    pub reason: Exclusion,
}

/// The record of a draw: everything needed to recompute it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draw {
    /// The case.
    pub case: CaseId,
    /// Index of the entry that opened this draw (the filing, a recusal or a reassignment).
    pub trigger: u64,
    /// Random, or by reference.
    pub method: Method,
    /// How many judges were chosen.
    pub seats: u8,
    /// Which pool was used.
    pub scope: PoolScope,
    /// The eligible pool, in ascending order of judge id, with loads and weights.
    pub eligible: Vec<Candidate>,
    /// The judges of the court left out, in ascending order of judge id, each with a reason.
    pub excluded: Vec<Excluded>,
    /// The beacon value used, for a random draw.
    pub beacon: Option<BeaconReveal>,
    /// The seed derived from the trigger entry and the beacon, for a random draw.
    pub seed: Option<Digest32>,
    /// The chosen judges in the order drawn; the first presides.
    pub chosen: Vec<JudgeId>,
}

/// A witness of the log (SPEC §5.3): its name and its C2SP `cosignature/v1` verifier key, whose
/// name is `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    /// The witness's key name, e.g. `witness.bar-association.example`.
    pub name: String,
    /// `<name>+<key ID, 8 hex digits>+<base64(0x04 || Ed25519 public key)>`.
    pub key: String,
}

/// One witness's cosignature of a checkpoint (C2SP `cosignature/v1`, SPEC §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosignature {
    /// The witness's name (one in force).
    pub witness: String,
    /// When the witness cosigned, in seconds since the Unix epoch.
    pub time: u64,
    /// The Ed25519 signature over the `cosignature/v1` message.
    pub signature: Signature64,
}

tag_first_enum! {
tag = "type", remote = "Event", serde(rename_all = "snake_case", deny_unknown_fields),
by_name = EventByName, tagged = EventTagged;
/// The facts recorded in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The first entry: what this log is, the policy, the first beacon chain.
    Genesis {
        /// A name for this log, e.g. `national-allocation-log`.
        log_id: ActorId,
        /// The initial policy.
        policy: Policy,
        /// The first hash chain's anchor.
        beacon: ChainAnchor,
    },
    /// The policy is replaced from this entry on.
    PolicyUpdated {
        /// The new policy.
        policy: Policy,
    },
    /// A new hash chain replaces the current one (the old one is exhausted or retired).
    BeaconAnchored {
        /// The new chain's anchor.
        beacon: ChainAnchor,
    },
    /// A court is created.
    CourtCreated {
        /// Its identifier.
        court: CourtId,
        /// Its name, for people.
        name: String,
    },
    /// A division of a court is created.
    DivisionCreated {
        /// The court.
        court: CourtId,
        /// The division.
        division: DivisionId,
        /// Its name, for people.
        name: String,
    },
    /// A judge joins a court.
    JudgeRegistered {
        /// The judge.
        judge: JudgeId,
        /// Their court.
        court: CourtId,
        /// Their division.
        division: DivisionId,
        /// Specializations, ascending, no repeats.
        specializations: Vec<Specialization>,
        /// Share of a full intake, in thousandths (a president might carry 250).
        share_permille: u32,
        /// Whether they take cases.
        active: bool,
    },
    /// A judge's division, specializations, share or status change (the whole record is restated).
    JudgeUpdated {
        /// The judge.
        judge: JudgeId,
        /// Their division.
        division: DivisionId,
        /// Specializations, ascending, no repeats.
        specializations: Vec<Specialization>,
        /// Share of a full intake, in thousandths.
        share_permille: u32,
        /// Whether they take cases.
        active: bool,
    },
    /// A judge will be away on the days `from..=until`.
    AbsenceRecorded {
        /// A reference for later cancellation.
        absence: AbsenceId,
        /// The judge.
        judge: JudgeId,
        /// First day away.
        from: Day,
        /// Last day away.
        until: Day,
        /// Why.
        reason: AbsenceReason,
    },
    /// An absence is cancelled (the judge is present after all).
    AbsenceCancelled {
        /// The absence.
        absence: AbsenceId,
    },
    /// A judge declares a conflict with a party or counsel (by commitment).
    ConflictDeclared {
        /// The judge.
        judge: JudgeId,
        /// The commitment to the party's or counsel's identifier.
        subject: Commitment,
    },
    /// A judge withdraws a declared conflict.
    ConflictWithdrawn {
        /// The judge.
        judge: JudgeId,
        /// The commitment.
        subject: Commitment,
    },
    /// A case is filed; its draw follows.
    CaseFiled {
        /// The case number.
        case: CaseId,
        /// The court.
        court: CourtId,
        /// The division.
        division: DivisionId,
        /// The case type (policy code).
        case_type: CaseTypeCode,
        /// The case type's weight under the policy in force (restated so the record is readable).
        weight: u32,
        /// Commitments of parties and counsel, ascending, no repeats.
        parties: Vec<Commitment>,
        /// A digest of the claim; with the court and the parties it forms the duplicate key.
        claim: Digest32,
        /// A related earlier case whose judges take this one, if they can, and why it is related.
        related: Option<RelatedLink>,
        /// The case this one appeals, whose judges may not sit.
        earlier_instance: Option<CaseId>,
    },
    /// A case receives its judges.
    Draw(Draw),
    /// A judge steps off a case; a replacement draw follows.
    Recusal {
        /// The case.
        case: CaseId,
        /// The judge.
        judge: JudgeId,
        /// Why.
        reason: RecusalReason,
    },
    /// The court takes a case away from a judge; a replacement draw follows.
    Reassignment {
        /// The case.
        case: CaseId,
        /// The judge removed.
        judge: JudgeId,
        /// Why.
        reason: ReassignReason,
    },
    /// A case is closed.
    CaseClosed {
        /// The case.
        case: CaseId,
        /// How.
        reason: ClosingReason,
    },
    /// A credential (a bearer secret) is issued to one accountable person. The entry's actor is who
    /// issued it; for a judge, the judge themself completing an enrollment (SPEC §7.9).
    CredentialIssued {
        /// The credential's fingerprint: `SHA-256(TAG_CREDENTIAL || secret)`.
        credential: Digest32,
        /// The role it grants (never `system`).
        role: Role,
        /// The person who holds it: a staff number, or the judge's identifier.
        holder: ActorId,
        /// The court it is scoped to (every role but `system_admin`).
        court: Option<CourtId>,
        /// For a judge: the enrollment it completes.
        enrollment: Option<Digest32>,
    },
    /// A credential stops working from this entry on.
    CredentialRevoked {
        /// The credential's fingerprint.
        credential: Digest32,
    },
    /// An administrator opens an enrollment for a judge; only the judge, with the enrollment code
    /// delivered to them out of band, can complete it into a credential.
    EnrollmentOpened {
        /// The enrollment's fingerprint: `SHA-256(TAG_ENROLLMENT || code)`.
        enrollment: Digest32,
        /// The judge.
        judge: JudgeId,
    },
    /// The log's checkpoint-signing key is published (SPEC §5.1): from this entry on, every signed
    /// checkpoint of this log verifies with it. At most one per log.
    LogKeyPublished {
        /// The C2SP verifier key: `<origin>+<key ID>+<base64(0x01 || Ed25519 public key)>`.
        key: String,
    },
    /// The witnesses and their quorum in force from this entry on (SPEC §5.3).
    WitnessesConfigured {
        /// The witnesses, names distinct.
        witnesses: Vec<Witness>,
        /// How many of them must cosign a checkpoint (1 to their number).
        quorum: u8,
    },
    /// A checkpoint of this log (its first `size` entries) was cosigned by a quorum of the
    /// witnesses in force (SPEC §5.3).
    CheckpointWitnessed {
        /// The checkpoint's size; its root is the log's root at that size.
        size: u64,
        /// The cosignatures, witness names distinct.
        cosignatures: Vec<Cosignature>,
    },
    /// From this entry on every random draw uses the drand chain described here (beacon kind 2)
    /// and waits for its round (SPEC §6.3, §6.4). A later one replaces it for later triggers.
    DrandConfigured {
        /// The chain's hash (its identity in drand's HTTP API).
        chain_hash: Digest32,
        /// The chain's group public key (G2, compressed).
        public_key: DrandPublicKey,
        /// Seconds between rounds.
        period_seconds: u64,
        /// Unix time (seconds) of round 1.
        genesis_time: u64,
        /// Only `bls-unchained-g1-rfc9380`.
        scheme: String,
    },
    /// The allocator records that a pending draw's drand round has not been obtained long after
    /// its time (drand unreachable or down); the draw keeps waiting for that same round (SPEC §7.7).
    BeaconDelayed {
        /// The case whose draw waits.
        case: CaseId,
        /// The draw's trigger entry.
        trigger: u64,
        /// The round it waits for.
        round: u64,
    },
}
}

macro_rules! enum_byte {
    ($t:ty { $($v:ident = $b:literal),* $(,)? }) => {
        impl $t {
            /// The byte in the canonical encoding.
            pub fn byte(self) -> u8 {
                match self { $(<$t>::$v => $b),* }
            }
            /// The value whose canonical byte is `b`, if any (the inverse of `byte`).
            pub fn from_byte(b: u8) -> Option<Self> {
                match b { $($b => Some(<$t>::$v),)* _ => None }
            }
        }
    };
}
enum_byte!(AbsenceReason { Leave = 0, Sick = 1, Training = 2, Secondment = 3, Other = 4 });
enum_byte!(RecusalReason { ConflictOfInterest = 0, PriorInvolvement = 1, PersonalRelationship = 2, PartyChallengeUpheld = 3, Other = 4 });
enum_byte!(ReassignReason { JudgeLeftCourt = 0, LongTermAbsence = 1, Incapacity = 2, DisciplinarySuspension = 3, Other = 4 });
enum_byte!(ClosingReason { Judgment = 0, Settlement = 1, Withdrawal = 2, Dismissal = 3, Transfer = 4 });
enum_byte!(Exclusion { Inactive = 0, OtherDivision = 1, NoSpecialization = 2, Absent = 3, Conflict = 4, Recused = 5, EarlierInstance = 6, OnCase = 7 });
enum_byte!(RelationReason { Counterclaim = 0, SameFacts = 1, FollowUp = 2, Joinder = 3, Other = 4 });
enum_byte!(PoolScope { Division = 0, Court = 1, CourtBelowMinimum = 2 });

impl Event {
    /// The event's type byte (SPEC §3.3).
    pub fn tag(&self) -> u8 {
        match self {
            Event::Genesis { .. } => 0,
            Event::PolicyUpdated { .. } => 1,
            Event::BeaconAnchored { .. } => 2,
            Event::CourtCreated { .. } => 3,
            Event::DivisionCreated { .. } => 4,
            Event::JudgeRegistered { .. } => 5,
            Event::JudgeUpdated { .. } => 6,
            Event::AbsenceRecorded { .. } => 7,
            Event::AbsenceCancelled { .. } => 8,
            Event::ConflictDeclared { .. } => 9,
            Event::ConflictWithdrawn { .. } => 10,
            Event::CaseFiled { .. } => 11,
            Event::Draw(_) => 12,
            Event::Recusal { .. } => 13,
            Event::Reassignment { .. } => 14,
            Event::CaseClosed { .. } => 15,
            Event::CredentialIssued { .. } => 16,
            Event::CredentialRevoked { .. } => 17,
            Event::EnrollmentOpened { .. } => 18,
            Event::LogKeyPublished { .. } => 19,
            Event::WitnessesConfigured { .. } => 20,
            Event::CheckpointWitnessed { .. } => 22,
            Event::DrandConfigured { .. } => 21,
            Event::BeaconDelayed { .. } => 23,
        }
    }

    /// The case whose draw this event opens (a filing, a recusal or a reassignment): the writer must
    /// append that case's draw entry next.
    pub fn opens_draw(&self) -> Option<&CaseId> {
        match self {
            Event::CaseFiled { case, .. }
            | Event::Recusal { case, .. }
            | Event::Reassignment { case, .. } => Some(case),
            _ => None,
        }
    }

    /// The event's type name as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Genesis { .. } => "genesis",
            Event::PolicyUpdated { .. } => "policy_updated",
            Event::BeaconAnchored { .. } => "beacon_anchored",
            Event::CourtCreated { .. } => "court_created",
            Event::DivisionCreated { .. } => "division_created",
            Event::JudgeRegistered { .. } => "judge_registered",
            Event::JudgeUpdated { .. } => "judge_updated",
            Event::AbsenceRecorded { .. } => "absence_recorded",
            Event::AbsenceCancelled { .. } => "absence_cancelled",
            Event::ConflictDeclared { .. } => "conflict_declared",
            Event::ConflictWithdrawn { .. } => "conflict_withdrawn",
            Event::CaseFiled { .. } => "case_filed",
            Event::Draw(_) => "draw",
            Event::Recusal { .. } => "recusal",
            Event::Reassignment { .. } => "reassignment",
            Event::CaseClosed { .. } => "case_closed",
            Event::CredentialIssued { .. } => "credential_issued",
            Event::CredentialRevoked { .. } => "credential_revoked",
            Event::EnrollmentOpened { .. } => "enrollment_opened",
            Event::LogKeyPublished { .. } => "log_key_published",
            Event::WitnessesConfigured { .. } => "witnesses_configured",
            Event::CheckpointWitnessed { .. } => "checkpoint_witnessed",
            Event::DrandConfigured { .. } => "drand_configured",
            Event::BeaconDelayed { .. } => "beacon_delayed",
        }
    }
}

fn judge_record(
    e: &mut Enc,
    division: &DivisionId,
    specs: &[Specialization],
    share: u32,
    active: bool,
) {
    e.str(division.as_str());
    e.list(specs, |e, s| e.str(s.as_str()));
    e.u32(share);
    e.bool(active);
}

impl Canonical for Event {
    fn encode(&self, e: &mut Enc) {
        e.u8(self.tag());
        match self {
            Event::Genesis {
                log_id,
                policy,
                beacon,
            } => {
                e.str(log_id.as_str());
                policy.encode(e);
                beacon.encode(e);
            }
            Event::PolicyUpdated { policy } => policy.encode(e),
            Event::BeaconAnchored { beacon } => beacon.encode(e),
            Event::CourtCreated { court, name } => {
                e.str(court.as_str());
                e.str(name);
            }
            Event::DivisionCreated {
                court,
                division,
                name,
            } => {
                e.str(court.as_str());
                e.str(division.as_str());
                e.str(name);
            }
            Event::JudgeRegistered {
                judge,
                court,
                division,
                specializations,
                share_permille,
                active,
            } => {
                e.str(judge.as_str());
                e.str(court.as_str());
                judge_record(e, division, specializations, *share_permille, *active);
            }
            Event::JudgeUpdated {
                judge,
                division,
                specializations,
                share_permille,
                active,
            } => {
                e.str(judge.as_str());
                judge_record(e, division, specializations, *share_permille, *active);
            }
            Event::AbsenceRecorded {
                absence,
                judge,
                from,
                until,
                reason,
            } => {
                e.str(absence.as_str());
                e.str(judge.as_str());
                e.i32(from.0);
                e.i32(until.0);
                e.u8(reason.byte());
            }
            Event::AbsenceCancelled { absence } => e.str(absence.as_str()),
            Event::ConflictDeclared { judge, subject }
            | Event::ConflictWithdrawn { judge, subject } => {
                e.str(judge.as_str());
                e.digest(subject);
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
                e.str(case.as_str());
                e.str(court.as_str());
                e.str(division.as_str());
                e.str(case_type.as_str());
                e.u32(*weight);
                e.list(parties, |e, p| e.digest(p));
                e.digest(claim);
                e.opt(related, |e, r| {
                    e.str(r.case.as_str());
                    e.u8(r.reason.byte());
                });
                e.opt(earlier_instance, |e, c| e.str(c.as_str()));
            }
            Event::Draw(d) => d.encode(e),
            Event::Recusal {
                case,
                judge,
                reason,
            } => {
                e.str(case.as_str());
                e.str(judge.as_str());
                e.u8(reason.byte());
            }
            Event::Reassignment {
                case,
                judge,
                reason,
            } => {
                e.str(case.as_str());
                e.str(judge.as_str());
                e.u8(reason.byte());
            }
            Event::CaseClosed { case, reason } => {
                e.str(case.as_str());
                e.u8(reason.byte());
            }
            Event::CredentialIssued {
                credential,
                role,
                holder,
                court,
                enrollment,
            } => {
                e.digest(credential);
                e.u8(role.byte());
                e.str(holder.as_str());
                e.opt(court, |e, c| e.str(c.as_str()));
                e.opt(enrollment, |e, d| e.digest(d));
            }
            Event::CredentialRevoked { credential } => e.digest(credential),
            Event::EnrollmentOpened { enrollment, judge } => {
                e.digest(enrollment);
                e.str(judge.as_str());
            }
            Event::LogKeyPublished { key } => e.str(key),
            Event::WitnessesConfigured { witnesses, quorum } => {
                e.list(witnesses, |e, w| {
                    e.str(&w.name);
                    e.str(&w.key);
                });
                e.u8(*quorum);
            }
            Event::CheckpointWitnessed { size, cosignatures } => {
                e.u64(*size);
                e.list(cosignatures, |e, c| {
                    e.str(&c.witness);
                    e.u64(c.time);
                    e.fixed(&c.signature.0);
                });
            }
            Event::DrandConfigured {
                chain_hash,
                public_key,
                period_seconds,
                genesis_time,
                scheme,
            } => {
                e.digest(chain_hash);
                e.fixed(&public_key.0);
                e.u64(*period_seconds);
                e.u64(*genesis_time);
                e.str(scheme);
            }
            Event::BeaconDelayed {
                case,
                trigger,
                round,
            } => {
                e.str(case.as_str());
                e.u64(*trigger);
                e.u64(*round);
            }
        }
    }
}

impl Canonical for Draw {
    fn encode(&self, e: &mut Enc) {
        e.str(self.case.as_str());
        e.u64(self.trigger);
        let (tag, case) = match &self.method {
            Method::Random => (0, None),
            Method::Related { case } => (1, Some(case)),
            Method::Duplicate { case } => (2, Some(case)),
            Method::RandomAfterDuplicate { case } => (3, Some(case)),
            Method::RandomAfterRelated { case } => (4, Some(case)),
        };
        e.u8(tag);
        if let Some(case) = case {
            e.str(case.as_str());
        }
        e.u8(self.seats);
        e.u8(self.scope.byte());
        e.list(&self.eligible, |e, c| {
            e.str(c.judge.as_str());
            e.u64(c.load);
            e.u64(c.weight);
        });
        e.list(&self.excluded, |e, x| {
            e.str(x.judge.as_str());
            e.u8(x.reason.byte());
        });
        e.opt(&self.beacon, |e, b| b.encode(e));
        e.opt(&self.seed, |e, s| e.digest(s));
        e.list(&self.chosen, |e, j| e.str(j.as_str()));
    }
}

impl Decode for Draw {
    fn decode(d: &mut Dec<'_>) -> Result<Draw, DecodeError> {
        let case = d.id::<CaseId>()?;
        let trigger = d.u64()?;
        let method = match d.tag("draw method", |b| (b <= 4).then_some(b))? {
            0 => Method::Random,
            1 => Method::Related {
                case: d.id::<CaseId>()?,
            },
            2 => Method::Duplicate {
                case: d.id::<CaseId>()?,
            },
            3 => Method::RandomAfterDuplicate {
                case: d.id::<CaseId>()?,
            },
            _ => Method::RandomAfterRelated {
                case: d.id::<CaseId>()?,
            },
        };
        Ok(Draw {
            case,
            trigger,
            method,
            seats: d.u8()?,
            scope: d.tag("pool scope", PoolScope::from_byte)?,
            eligible: d.list(|d| {
                Ok(Candidate {
                    judge: d.id::<JudgeId>()?,
                    load: d.u64()?,
                    weight: d.u64()?,
                })
            })?,
            excluded: d.list(|d| {
                Ok(Excluded {
                    judge: d.id::<JudgeId>()?,
                    reason: d.tag("exclusion reason", Exclusion::from_byte)?,
                })
            })?,
            beacon: d.opt(BeaconReveal::decode)?,
            seed: d.opt(Dec::digest)?,
            chosen: d.list(|d| d.id::<JudgeId>())?,
        })
    }
}

impl Decode for Event {
    fn decode(d: &mut Dec<'_>) -> Result<Event, DecodeError> {
        let at = d.position();
        Ok(match d.u8()? {
            0 => Event::Genesis {
                log_id: d.id::<ActorId>()?,
                policy: Policy::decode(d)?,
                beacon: ChainAnchor::decode(d)?,
            },
            1 => Event::PolicyUpdated {
                policy: Policy::decode(d)?,
            },
            2 => Event::BeaconAnchored {
                beacon: ChainAnchor::decode(d)?,
            },
            3 => Event::CourtCreated {
                court: d.id::<CourtId>()?,
                name: d.string()?,
            },
            4 => Event::DivisionCreated {
                court: d.id::<CourtId>()?,
                division: d.id::<DivisionId>()?,
                name: d.string()?,
            },
            5 => Event::JudgeRegistered {
                judge: d.id::<JudgeId>()?,
                court: d.id::<CourtId>()?,
                division: d.id::<DivisionId>()?,
                specializations: d.list(|d| d.id::<Specialization>())?,
                share_permille: d.u32()?,
                active: d.bool()?,
            },
            6 => Event::JudgeUpdated {
                judge: d.id::<JudgeId>()?,
                division: d.id::<DivisionId>()?,
                specializations: d.list(|d| d.id::<Specialization>())?,
                share_permille: d.u32()?,
                active: d.bool()?,
            },
            7 => Event::AbsenceRecorded {
                absence: d.id::<AbsenceId>()?,
                judge: d.id::<JudgeId>()?,
                from: d.day()?,
                until: d.day()?,
                reason: d.tag("absence reason", AbsenceReason::from_byte)?,
            },
            8 => Event::AbsenceCancelled {
                absence: d.id::<AbsenceId>()?,
            },
            9 => Event::ConflictDeclared {
                judge: d.id::<JudgeId>()?,
                subject: d.digest()?,
            },
            10 => Event::ConflictWithdrawn {
                judge: d.id::<JudgeId>()?,
                subject: d.digest()?,
            },
            11 => Event::CaseFiled {
                case: d.id::<CaseId>()?,
                court: d.id::<CourtId>()?,
                division: d.id::<DivisionId>()?,
                case_type: d.id::<CaseTypeCode>()?,
                weight: d.u32()?,
                parties: d.list(Dec::digest)?,
                claim: d.digest()?,
                related: d.opt(|d| {
                    Ok(RelatedLink {
                        case: d.id::<CaseId>()?,
                        reason: d.tag("relation reason", RelationReason::from_byte)?,
                    })
                })?,
                earlier_instance: d.opt(|d| d.id::<CaseId>())?,
            },
            12 => Event::Draw(Draw::decode(d)?),
            13 => Event::Recusal {
                case: d.id::<CaseId>()?,
                judge: d.id::<JudgeId>()?,
                reason: d.tag("recusal reason", RecusalReason::from_byte)?,
            },
            14 => Event::Reassignment {
                case: d.id::<CaseId>()?,
                judge: d.id::<JudgeId>()?,
                reason: d.tag("reassignment reason", ReassignReason::from_byte)?,
            },
            15 => Event::CaseClosed {
                case: d.id::<CaseId>()?,
                reason: d.tag("closing reason", ClosingReason::from_byte)?,
            },
            16 => Event::CredentialIssued {
                credential: d.digest()?,
                role: d.tag("role", Role::from_byte)?,
                holder: d.id::<ActorId>()?,
                court: d.opt(|d| d.id::<CourtId>())?,
                enrollment: d.opt(Dec::digest)?,
            },
            17 => Event::CredentialRevoked {
                credential: d.digest()?,
            },
            18 => Event::EnrollmentOpened {
                enrollment: d.digest()?,
                judge: d.id::<JudgeId>()?,
            },
            19 => Event::LogKeyPublished { key: d.string()? },
            20 => Event::WitnessesConfigured {
                witnesses: d.list(|d| {
                    Ok(Witness {
                        name: d.string()?,
                        key: d.string()?,
                    })
                })?,
                quorum: d.u8()?,
            },
            21 => Event::DrandConfigured {
                chain_hash: d.digest()?,
                public_key: DrandPublicKey(d.fixed()?),
                period_seconds: d.u64()?,
                genesis_time: d.u64()?,
                scheme: d.string()?,
            },
            22 => Event::CheckpointWitnessed {
                size: d.u64()?,
                cosignatures: d.list(|d| {
                    Ok(Cosignature {
                        witness: d.string()?,
                        time: d.u64()?,
                        signature: Signature64(d.fixed()?),
                    })
                })?,
            },
            23 => Event::BeaconDelayed {
                case: d.id::<CaseId>()?,
                trigger: d.u64()?,
                round: d.u64()?,
            },
            byte => {
                return Err(d.error_at(
                    at,
                    DecodeErrorKind::UnknownTag {
                        what: "event type",
                        byte,
                    },
                ));
            }
        })
    }
}

/// Version byte that opens every entry's canonical bytes.
pub const ENTRY_VERSION: u8 = 1;

/// The canonical bytes of an entry: version, index, time, actor, event (SPEC §3.2).
pub fn entry_bytes(index: u64, at: Millis, actor: &Actor, event: &Event) -> Vec<u8> {
    entry_bytes_into(Vec::with_capacity(256), index, at, actor, event)
}

/// [`entry_bytes`], written into `buf` (cleared first) to reuse its allocation.
pub fn entry_bytes_into(
    buf: Vec<u8>,
    index: u64,
    at: Millis,
    actor: &Actor,
    event: &Event,
) -> Vec<u8> {
    let mut e = Enc::reuse(buf);
    e.u8(ENTRY_VERSION);
    e.u64(index);
    e.i64(at);
    e.u8(actor.role.byte());
    e.str(actor.id.as_str());
    event.encode(&mut e);
    e.into_bytes()
}

/// Reads an entry's canonical bytes back into its index, time, actor and event: the exact inverse
/// of [`entry_bytes`]. `entry_bytes` of the result gives back `bytes`, and every entry it returns is
/// one the JSON export form also accepts (identifiers as their parsers validate them, days in the
/// years 0001–9999). Nothing is checked that JSON parsing does not check either: the rules of the
/// log (SPEC §7) are the verifier's.
pub fn decode_entry_bytes(bytes: &[u8]) -> Result<(u64, Millis, Actor, Event), DecodeError> {
    let mut d = Dec::new(bytes);
    let version = d.u8()?;
    if version != ENTRY_VERSION {
        return Err(d.error_at(0, DecodeErrorKind::UnknownVersion(version)));
    }
    let index = d.u64()?;
    let at = d.i64()?;
    let actor = Actor {
        role: d.tag("role", Role::from_byte)?,
        id: d.id::<ActorId>()?,
    };
    let event = Event::decode(&mut d)?;
    d.finish()?;
    Ok((index, at, actor, event))
}

/// One entry of the log as stored and exported: its content, the previous entry's hash, and its own.
/// One of these per line is the export format (SPEC §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Position in the log, from 0.
    pub index: u64,
    /// When, in milliseconds since the Unix epoch (supplied by the writer, never decreasing).
    pub at: Millis,
    /// Who.
    pub actor: Actor,
    /// What.
    pub event: Event,
    /// The previous entry's hash (zeros for entry 0).
    pub prev: Digest32,
    /// This entry's hash.
    pub hash: Digest32,
}

impl LogEntry {
    /// Builds an entry and computes its hash from `prev`.
    pub fn seal(index: u64, at: Millis, actor: Actor, event: Event, prev: Digest32) -> LogEntry {
        let hash = crate::hash::entry_hash(&prev, &entry_bytes(index, at, &actor, &event));
        LogEntry {
            index,
            at,
            actor,
            event,
            prev,
            hash,
        }
    }

    /// Rebuilds an entry from its canonical bytes ([`decode_entry_bytes`]) and the previous
    /// entry's hash, recomputing its own hash: the inverse of [`LogEntry::bytes`] with
    /// [`LogEntry::seal`].
    pub fn from_canonical(prev: Digest32, bytes: &[u8]) -> Result<LogEntry, DecodeError> {
        let (index, at, actor, event) = decode_entry_bytes(bytes)?;
        let hash = crate::hash::entry_hash(&prev, bytes);
        Ok(LogEntry {
            index,
            at,
            actor,
            event,
            prev,
            hash,
        })
    }

    /// The canonical bytes of the entry's content.
    pub fn bytes(&self) -> Vec<u8> {
        entry_bytes(self.index, self.at, &self.actor, &self.event)
    }

    /// The hash recomputed from the content and `prev` (compare with `hash`).
    pub fn computed_hash(&self) -> Digest32 {
        crate::hash::entry_hash(&self.prev, &self.bytes())
    }

    /// One line of the export format (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("entries always serialize")
    }

    /// Parses one line of the export format (without its line feed). Unknown and repeated members
    /// are refused, digests must be lower-case hex (SPEC §2.2, §8).
    pub fn from_json_line(line: &str) -> Result<LogEntry, String> {
        // The common lines in the form the export writes them are read without serde; the fast
        // reader accepts a strict subset of what serde accepts and gives the same value.
        if let Some(e) = crate::fast_line::parse(line.as_bytes()) {
            return Ok(e);
        }
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    /// Parses one framed line of the export format (SPEC §8): `raw` holds the bytes up to and
    /// including the next line feed. The one parser of exported logs, for the verifier, the
    /// importers and the server: a line must end with `\n` (also the last one), must not contain a
    /// carriage return, and must not be empty.
    pub fn from_export_line(raw: &[u8]) -> Result<LogEntry, String> {
        let Some(body) = raw.strip_suffix(b"\n") else {
            return Err("the line does not end with a line feed (every line of an export does, the last one too)".into());
        };
        // A line the fast reader accepts passes the checks below (it is ASCII without control
        // characters and not empty), so they are made only for the other lines.
        if let Some(e) = crate::fast_line::parse(body) {
            return Ok(e);
        }
        if body.contains(&b'\r') {
            return Err(
                "the line contains a carriage return: lines end with a bare line feed".into(),
            );
        }
        if body.is_empty() {
            return Err("the line is empty: an export has no blank lines".into());
        }
        let text = std::str::from_utf8(body).map_err(|_| "the line is not UTF-8".to_string())?;
        // What `from_json_line` does, without trying the fast reader again.
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}
