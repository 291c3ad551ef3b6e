//! Deterministic sample logs for tests, test vectors, benchmarks and demonstrations. Everything is
//! derived from a `u64` seed through ChaCha20's raw words, so the same seed always gives the same
//! log, byte for byte.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::beacon::HashChain;
use crate::day::{Day, Millis};
use crate::event::*;
use crate::hash::{party_commitment, sha256};
use crate::ids::*;
use crate::policy::{CaseType, Policy};
use crate::state::Rejection;
use crate::verify::Log;

/// The shape of a sample log.
#[derive(Clone, Debug)]
pub struct SampleSpec {
    /// Seed for every choice.
    pub seed: u64,
    /// Judges in the one court (split over two divisions).
    pub judges: usize,
    /// Cases filed.
    pub cases: usize,
    /// Length of the beacon chain.
    pub chain_length: u64,
}

impl SampleSpec {
    /// A small court: 8 judges, 40 cases.
    pub fn small(seed: u64) -> SampleSpec {
        SampleSpec {
            seed,
            judges: 8,
            cases: 40,
            chain_length: 4096,
        }
    }
}

/// The case types of the sample policy (weights 1 to 5, one 3-judge panel type).
pub fn sample_case_types() -> Vec<CaseType> {
    let t = |code: &str, spec: &str, weight, panel| CaseType {
        code: CaseTypeCode::parse(code).expect("valid"),
        specialization: Specialization::parse(spec).expect("valid"),
        weight,
        panel,
    };
    vec![
        t("civil-small", "civil", 1, 1),
        t("civil", "civil", 2, 1),
        t("commercial", "commercial", 4, 1),
        t("family", "family", 3, 1),
        t("civil-panel", "civil", 5, 3),
    ]
}

/// The pepper used for sample party commitments (public: these are not real people).
pub const SAMPLE_PEPPER: [u8; 32] = [0x5a; 32];

/// Millisecond timestamp of the sample log's genesis: 2026-01-05T09:00:00Z.
pub const SAMPLE_START: Millis = 1_767_603_600_000;

fn id<T: std::str::FromStr>(s: String) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("sample ids are valid")
}

/// Appends events and, when an event opens a draw, the draw entry, as a server's writer does.
struct Writer {
    log: Log,
    chain: HashChain,
    out: Vec<LogEntry>,
}

impl Writer {
    fn try_push(&mut self, at: Millis, actor: Actor, ev: Event) -> Result<(), Rejection> {
        let opens = ev.opens_draw().cloned();
        let e = self.log.append(at, actor, ev)?;
        self.out.push(e);
        if let Some(case) = opens {
            let d = self
                .log
                .draw(at, &case, &mut self.chain)
                .expect("a trigger that was accepted can be drawn");
            self.out.push(d);
        }
        Ok(())
    }

    fn push(&mut self, at: Millis, actor: Actor, ev: Event) {
        self.try_push(at, actor, ev)
            .expect("sample events are valid");
    }
}

/// Builds a log following `spec`, through the same `Log::append` and `Log::draw` a server uses. It
/// contains every event type: genesis, policy update, court, divisions, judges and a judge update,
/// credentials (issued, revoked, a judge's enrollment),
/// absences and a cancellation, conflicts and a withdrawal, filings (plain, panel, related,
/// duplicate, appeal), draws, a recusal, a reassignment and closings.
pub fn sample_log(spec: &SampleSpec) -> Vec<LogEntry> {
    let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
    let mut below = |n: u64| crate::draw::uniform_below(&mut rng, n);
    let chain = HashChain::new(
        sha256(&[b"sample chain", &spec.seed.to_be_bytes()]),
        spec.chain_length,
    );
    let mut w = Writer {
        log: Log::new(),
        chain,
        out: Vec::new(),
    };
    let mut at = SAMPLE_START;
    let admin = Actor::new(Role::SystemAdmin, "sysadmin");
    let cadmin = Actor::new(Role::CourtAdmin, "registrar");
    let clerk = Actor::new(Role::Clerk, "clerk-1");
    let court: CourtId = id("north".into());
    let divisions: [DivisionId; 2] = [id("civil".into()), id("commercial".into())];
    let mut policy = Policy::with_case_types(sample_case_types());
    policy.min_pool = 2;
    w.push(
        at,
        admin.clone(),
        Event::Genesis {
            log_id: id("sample-log".into()),
            policy: policy.clone(),
            beacon: w.chain.anchor(),
        },
    );
    policy.catch_up_limit = 8;
    w.push(at, admin.clone(), Event::PolicyUpdated { policy });
    w.push(
        at,
        admin.clone(),
        Event::CourtCreated {
            court: court.clone(),
            name: "North District Court".into(),
        },
    );
    for (d, name) in divisions
        .iter()
        .zip(["Civil Division", "Commercial Division"])
    {
        w.push(
            at,
            admin.clone(),
            Event::DivisionCreated {
                court: court.clone(),
                division: d.clone(),
                name: name.into(),
            },
        );
    }
    let judges: Vec<JudgeId> = (0..spec.judges)
        .map(|i| id(format!("J-{:02}", i + 1)))
        .collect();
    for (i, j) in judges.iter().enumerate() {
        let civil = i % 2 == 0 || spec.judges < 4;
        let mut specs: Vec<Specialization> = vec![id("civil".into())];
        if !civil {
            specs.push(id("commercial".into()));
        }
        if i % 3 == 0 {
            specs.push(id("family".into()));
        }
        specs.sort();
        w.push(
            at,
            cadmin.clone(),
            Event::JudgeRegistered {
                judge: j.clone(),
                court: court.clone(),
                division: divisions[if civil { 0 } else { 1 }].clone(),
                specializations: specs,
                share_permille: if i == 0 { 250 } else { 1000 },
                active: true,
            },
        );
    }
    // Credentials: the first (system administrator) from the allocator, then a court administrator,
    // two clerk credentials (one later revoked) and a judge's own, through an enrollment.
    let cred = |name: &str| sha256(&[b"sample credential ", name.as_bytes()]);
    let issue =
        |role: Role, holder: &Actor, court: Option<&CourtId>, enrollment| Event::CredentialIssued {
            credential: cred(&format!("{:?}/{}/{enrollment:?}", role, holder.id)),
            role,
            holder: holder.id.clone(),
            court: court.cloned(),
            enrollment,
        };
    w.push(
        at,
        Actor::system(),
        issue(Role::SystemAdmin, &admin, None, None),
    );
    w.push(
        at,
        admin.clone(),
        issue(Role::CourtAdmin, &cadmin, Some(&court), None),
    );
    w.push(
        at,
        cadmin.clone(),
        issue(Role::Clerk, &clerk, Some(&court), None),
    );
    let spare = Actor::new(Role::Clerk, "clerk-2");
    let ev = issue(Role::Clerk, &spare, Some(&court), None);
    let Event::CredentialIssued { credential, .. } = ev else {
        unreachable!()
    };
    w.push(at, admin.clone(), ev);
    w.push(at, cadmin.clone(), Event::CredentialRevoked { credential });
    let enrollment = sha256(&[b"sample enrollment"]);
    w.push(
        at,
        cadmin.clone(),
        Event::EnrollmentOpened {
            enrollment,
            judge: judges[0].clone(),
        },
    );
    let judge0 = Actor::new(Role::Judge, judges[0].as_str());
    w.push(
        at,
        judge0.clone(),
        issue(Role::Judge, &judge0, Some(&court), Some(enrollment)),
    );
    // A judge changes specialization; an absence is recorded and one cancelled; conflicts declared.
    let parties: Vec<Commitment> = (0..12)
        .map(|p| party_commitment(&SAMPLE_PEPPER, &format!("PARTY-{p}")))
        .collect();
    if spec.judges > 2 {
        let j = &judges[2];
        let st = w.log.state().judge(j).expect("registered").clone();
        let mut specs = st.specializations.clone();
        if !specs.contains(&id("commercial".into())) {
            specs.push(id("commercial".into()));
            specs.sort();
        }
        w.push(
            at,
            cadmin.clone(),
            Event::JudgeUpdated {
                judge: j.clone(),
                division: st.division,
                specializations: specs,
                share_permille: 800,
                active: true,
            },
        );
    }
    let day0 = Day::from_millis(at);
    w.push(
        at,
        cadmin.clone(),
        Event::AbsenceRecorded {
            absence: id("A-1".into()),
            judge: judges[1 % spec.judges].clone(),
            from: Day(day0.0 + 1),
            until: Day(day0.0 + 10),
            reason: AbsenceReason::Leave,
        },
    );
    w.push(
        at,
        cadmin.clone(),
        Event::AbsenceRecorded {
            absence: id("A-2".into()),
            judge: judges[3 % spec.judges].clone(),
            from: Day(day0.0 + 2),
            until: Day(day0.0 + 3),
            reason: AbsenceReason::Sick,
        },
    );
    w.push(
        at,
        cadmin.clone(),
        Event::AbsenceCancelled {
            absence: id("A-2".into()),
        },
    );
    for (k, j) in judges.iter().enumerate().take(3) {
        let mut subject = parties[k];
        let actor = Actor {
            role: Role::Judge,
            id: id(j.to_string()),
        };
        w.push(
            at,
            actor.clone(),
            Event::ConflictDeclared {
                judge: j.clone(),
                subject,
            },
        );
        if k == 2 {
            w.push(
                at,
                actor.clone(),
                Event::ConflictWithdrawn {
                    judge: j.clone(),
                    subject,
                },
            );
            subject = parties[k + 1];
            w.push(
                at,
                actor,
                Event::ConflictDeclared {
                    judge: j.clone(),
                    subject,
                },
            );
        }
    }
    // Filings.
    let types = sample_case_types();
    let mut filed: Vec<CaseId> = Vec::new();
    let mut first_claim: Option<(usize, Vec<Commitment>, Digest32)> = None;
    for n in 0..spec.cases {
        if n == spec.cases / 2 {
            // Halfway, the operator retires the chain and anchors a new one.
            w.chain = HashChain::new(
                sha256(&[b"second chain", &spec.seed.to_be_bytes()]),
                spec.chain_length,
            );
            let beacon = w.chain.anchor();
            w.push(at, admin.clone(), Event::BeaconAnchored { beacon });
        }
        at += 1 + below(4 * 3_600_000) as i64; // up to 4 hours apart
        let case: CaseId = id(format!("NORTH-2026-{:06}", n + 1));
        let mut ct = &types[below(types.len() as u64) as usize];
        let mut ps = vec![parties[below(12) as usize], parties[below(12) as usize]];
        ps.sort();
        ps.dedup();
        let mut claim = sha256(&[b"claim", &(n as u64).to_be_bytes()]);
        let mut related = None;
        let mut earlier = None;
        match n % 10 {
            // Every tenth case repeats the first case's claim and parties: a duplicate filing.
            // (same division, case type, parties and claim).
            9 if first_claim.is_some() => {
                let (t, p, c) = first_claim.clone().expect("set");
                ct = &types[t];
                ps = p;
                claim = c;
            }
            // A related filing shares a party with the earlier case.
            7 if !filed.is_empty() => {
                let r = filed[below(filed.len() as u64) as usize].clone();
                let shared = w.log.state().case(&r).expect("filed").parties[0];
                if !ps.contains(&shared) {
                    ps.push(shared);
                    ps.sort();
                }
                let reason = [
                    RelationReason::Counterclaim,
                    RelationReason::SameFacts,
                    RelationReason::FollowUp,
                    RelationReason::Joinder,
                    RelationReason::Other,
                ][below(5) as usize];
                related = Some(RelatedLink { case: r, reason });
            }
            5 if !filed.is_empty() => {
                earlier = Some(filed[below(filed.len() as u64) as usize].clone())
            }
            _ => {}
        }
        let division = if ct.specialization.as_str() == "commercial" {
            &divisions[1]
        } else {
            &divisions[0]
        };
        let ev = Event::CaseFiled {
            case: case.clone(),
            court: court.clone(),
            division: division.clone(),
            case_type: ct.code.clone(),
            weight: ct.weight,
            parties: ps.clone(),
            claim,
            related: related.clone(),
            earlier_instance: earlier,
        };
        // Skip what the rules refuse (too few judges for a panel, say).
        if w.try_push(at, clerk.clone(), ev).is_err() {
            continue;
        }
        if first_claim.is_none() {
            let t = types
                .iter()
                .position(|t| t.code == ct.code)
                .expect("a policy type");
            first_claim = Some((t, ps, claim));
        }
        filed.push(case);
        // Now and then: a recusal, a reassignment, a closing.
        if n % 13 == 12 {
            let c = &filed[below(filed.len() as u64) as usize];
            let st = w.log.state();
            let cs = st.case(c).expect("filed");
            if cs.closed.is_none() {
                let j = st.case_judges(cs)[0].clone();
                let actor = Actor {
                    role: Role::Judge,
                    id: id(j.to_string()),
                };
                let ev = Event::Recusal {
                    case: c.clone(),
                    judge: j,
                    reason: RecusalReason::ConflictOfInterest,
                };
                let _ = w.try_push(at, actor, ev);
            }
        }
        if n % 17 == 16 {
            let c = &filed[below(filed.len() as u64) as usize];
            let st = w.log.state();
            let cs = st.case(c).expect("filed");
            if cs.closed.is_none() {
                let j = st
                    .case_judges(cs)
                    .last()
                    .map(|j| (*j).clone())
                    .expect("judged");
                let ev = Event::Reassignment {
                    case: c.clone(),
                    judge: j,
                    reason: ReassignReason::LongTermAbsence,
                };
                let _ = w.try_push(at, clerk.clone(), ev);
            }
        }
        // A third of the way in, the first filing's presiding judge declares a conflict with one
        // of its parties: the next duplicate cannot be bound to them and is drawn at random.
        if n == spec.cases / 3
            && let Some((_, p, _)) = &first_claim
        {
            let st = w.log.state();
            let first = st.case(&filed[0]).expect("filed");
            let j = st.case_judges(first)[0].clone();
            let judge = st.judge(&j).expect("registered");
            if !judge.conflicts.contains(&p[0]) {
                let actor = Actor {
                    role: Role::Judge,
                    id: id(j.to_string()),
                };
                let ev = Event::ConflictDeclared {
                    judge: j,
                    subject: p[0],
                };
                w.push(at, actor, ev);
            }
        }
        if n % 4 == 3 {
            let c = filed[below(filed.len() as u64) as usize].clone();
            if w.log.state().case(&c).is_some_and(|s| s.closed.is_none()) {
                w.push(
                    at,
                    clerk.clone(),
                    Event::CaseClosed {
                        case: c,
                        reason: ClosingReason::Judgment,
                    },
                );
            }
        }
    }
    w.out
}
