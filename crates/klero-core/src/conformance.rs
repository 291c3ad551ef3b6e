//! The conformance log and the corpus of invalid logs (SPEC §11): a scripted log that exercises
//! every rule of the draw, the beacon, the credentials and the log at least once, and, derived from
//! it, one log per rule that breaks exactly that rule. An independent verifier that accepts the
//! first and rejects each of the others at the named entry and section agrees with the reference on
//! every rule, including the ones a random sample log may never reach.

use crate::beacon::{BeaconReveal, HashChain};
use crate::day::{Day, Millis};
use crate::drand::DevChain;
use crate::event::*;
use crate::hash::{credential_fingerprint, enrollment_fingerprint, party_commitment, sha256};
use crate::ids::*;
use crate::policy::{CaseType, Policy};
use crate::state::Rejection;
use crate::verify::Log;

/// Milliseconds in a day.
const DAY: Millis = 86_400_000;

/// The conformance log's genesis time: 2026-01-05T09:00:00Z.
pub const CONFORMANCE_START: Millis = 1_767_603_600_000;

/// The beacon chains' length: short, so the log renews its chain several times.
pub const CONFORMANCE_CHAIN: u64 = 5;

/// The conformance log's checkpoint key (a test key: its seed is public).
pub fn conformance_log_key() -> crate::checkpoint::LogKey {
    crate::checkpoint::LogKey::new("conformance-log", &[0x11; 32]).expect("a valid name")
}

/// The conformance log's two witnesses (test keys: their seeds are public).
pub fn conformance_witnesses() -> Vec<crate::checkpoint::WitnessKey> {
    [("witness-a.example", 0x21), ("witness-b.example", 0x22)]
        .into_iter()
        .map(|(name, seed)| {
            crate::checkpoint::WitnessKey::new(name, &[seed; 32]).expect("a valid name")
        })
        .collect()
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("conformance ids are valid")
}

fn party(name: &str) -> Commitment {
    party_commitment(&[0x33; 32], name)
}

fn parties(names: &[&str]) -> Vec<Commitment> {
    let mut v: Vec<Commitment> = names.iter().map(|n| party(n)).collect();
    v.sort();
    v.dedup();
    v
}

fn case_type(code: &str, spec: &str, weight: u32, panel: u8) -> CaseType {
    CaseType {
        code: id(code),
        specialization: id(spec),
        weight,
        panel,
    }
}

/// Appends like the reference writer: a trigger, then its draw; after a draw that used a chain's
/// last value, a `beacon_anchored` entry with a fresh chain (SPEC §6.1, renewal).
struct Script {
    log: Log,
    chain: HashChain,
    chains: u64,
    out: Vec<LogEntry>,
    at: Millis,
}

impl Script {
    fn try_push(&mut self, actor: &Actor, ev: Event) -> Result<Option<LogEntry>, Rejection> {
        let opens = ev.opens_draw().cloned();
        let e = self.log.append(self.at, actor.clone(), ev)?;
        self.out.push(e);
        let Some(case) = opens else {
            return Ok(None);
        };
        // With drand in force a random draw waits for its round (§7.7): see `drand_draws`.
        if self.log.state().pending_drand_of(&case).is_some() {
            return Ok(None);
        }
        let d = self
            .log
            .draw(self.at, &case, &mut self.chain)
            .expect("an accepted trigger can be drawn");
        self.out.push(d.clone());
        if let Some((anchor, round)) = self.log.state().next_beacon_round()
            && round > anchor.length
        {
            self.chains += 1;
            self.chain = HashChain::new(
                sha256(&[b"conformance chain", &self.chains.to_be_bytes()]),
                CONFORMANCE_CHAIN,
            );
            let beacon = self.chain.anchor();
            let e = self
                .log
                .append(
                    self.at,
                    Actor::new(Role::SystemAdmin, "beacon-rotation"),
                    Event::BeaconAnchored { beacon },
                )
                .expect("a renewal is valid");
            self.out.push(e);
        }
        Ok(Some(d))
    }

    fn push(&mut self, actor: &Actor, ev: Event) -> Option<LogEntry> {
        let what = format!("{ev:?}");
        self.try_push(actor, ev)
            .unwrap_or_else(|r| panic!("conformance event refused: {r}: {what}"))
    }

    fn hours(&mut self, h: i64) {
        self.at += h * 3_600_000;
    }

    fn day(&self) -> Day {
        Day::from_millis(self.at)
    }

    /// Files a case and returns its draw record.
    fn file(&mut self, clerk: &Actor, f: Filing<'_>) -> Draw {
        let ev = Event::CaseFiled {
            case: id(f.case),
            court: id("north"),
            division: id(f.division),
            case_type: id(f.case_type),
            weight: f.weight,
            parties: parties(f.parties),
            claim: sha256(&[b"claim ", f.claim.as_bytes()]),
            related: f.related.map(|(c, reason)| RelatedLink {
                case: id(c),
                reason,
            }),
            earlier_instance: f.earlier.map(id),
        };
        self.hours(1);
        match self.push(clerk, ev).expect("a filing is drawn").event {
            Event::Draw(d) => d,
            _ => unreachable!("draws follow filings"),
        }
    }

    /// Files a case whose draw waits for its drand round (§7.7).
    fn push_filing(&mut self, clerk: &Actor, f: Filing<'_>) {
        let ev = Event::CaseFiled {
            case: id(f.case),
            court: id("north"),
            division: id(f.division),
            case_type: id(f.case_type),
            weight: f.weight,
            parties: parties(f.parties),
            claim: sha256(&[b"claim ", f.claim.as_bytes()]),
            related: None,
            earlier_instance: None,
        };
        assert!(self.push(clerk, ev).is_none(), "a drand draw waits");
    }

    /// Appends a `checkpoint_witnessed` entry for the log as it stands, cosigned by `witnesses`
    /// 3 and 2 seconds after the last entry's time (§5.3).
    fn witness(&mut self, witnesses: &[crate::checkpoint::WitnessKey]) {
        let size = self.log.size();
        let body = crate::checkpoint::body("conformance-log", size, &self.log.root());
        let seconds = (self.at / 1000) as u64;
        let cosignatures = witnesses
            .iter()
            .zip([3, 2])
            .map(|(w, delay)| Cosignature {
                witness: w.name().to_owned(),
                time: seconds + delay,
                signature: w.sign(&body, seconds + delay),
            })
            .collect();
        self.at += 5_000;
        self.push(
            &Actor::system(),
            Event::CheckpointWitnessed { size, cosignatures },
        );
    }

    /// Appends the draws of every pending drand draw, in trigger order, each at its round's time
    /// (later if the log is already later).
    fn drand_draws(&mut self, dev: &DevChain) {
        for p in self.log.state().pending_drand() {
            let round = p.round.expect("the commit time is known");
            self.at = self.at.max(dev.chain.round_time(round) as Millis * 1000);
            let reveal = BeaconReveal::Drand {
                round,
                signature: dev.sign(round),
            };
            let d = self
                .log
                .draw_with(self.at, &p.case, reveal)
                .expect("a published round draws");
            self.out.push(d);
        }
    }

    fn judges_of(&self, case: &str) -> Vec<JudgeId> {
        let st = self.log.state();
        let c = st.case(&id(case)).expect("filed");
        st.case_judges(c).into_iter().cloned().collect()
    }
}

/// One filing of the script.
#[derive(Clone, Copy)]
struct Filing<'a> {
    case: &'a str,
    division: &'a str,
    case_type: &'a str,
    weight: u32,
    parties: &'a [&'a str],
    claim: &'a str,
    related: Option<(&'a str, RelationReason)>,
    earlier: Option<&'a str>,
}

impl<'a> Filing<'a> {
    fn civil(case: &'a str, parties: &'a [&'a str], claim: &'a str) -> Filing<'a> {
        Filing {
            case,
            division: "civil",
            case_type: "civil",
            weight: 2,
            parties,
            claim,
            related: None,
            earlier: None,
        }
    }
}

/// The first policy of the conformance log.
fn first_policy() -> Policy {
    Policy::with_case_types(vec![
        case_type("civil", "civil", 2, 1),
        case_type("civil-panel", "civil", 3, 3),
        case_type("commercial", "commercial", 4, 1),
        case_type("family", "family", 1, 1),
        case_type("labour", "labour", 2, 1),
    ])
}

/// The conformance log: every event type, every draw method and scope, every exclusion reason,
/// duplicate and related bindings that hold and that fail, a replacement draw on a panel followed
/// by a related filing (the replacement is appended, §7.8), a policy change in the middle of a
/// case's life (§7.2 rule 3 uses the new one, the intake the filing's weight), absence and joining
/// credits, the window discarding old intake (§7.4), chain renewals (§6.1), shares unequal enough
/// for every weight case of §7.5, and credentials (§7.9).
pub fn conformance_log() -> Vec<LogEntry> {
    let mut s = Script {
        log: Log::new(),
        chain: HashChain::new(
            sha256(&[b"conformance chain", &0u64.to_be_bytes()]),
            CONFORMANCE_CHAIN,
        ),
        chains: 0,
        out: vec![],
        at: CONFORMANCE_START,
    };
    let installer = Actor::new(Role::SystemAdmin, "SA-1");
    let admin = Actor::new(Role::SystemAdmin, "SA-1");
    let cadmin = Actor::new(Role::CourtAdmin, "CA-1");
    let clerk = Actor::new(Role::Clerk, "CL-1");
    let beacon = s.chain.anchor();
    s.push(
        &installer,
        Event::Genesis {
            log_id: id("conformance-log"),
            policy: first_policy(),
            beacon,
        },
    );
    // Entry 1, as the reference writer makes it: the log's checkpoint key (§5.1).
    s.push(
        &Actor::system(),
        Event::LogKeyPublished {
            key: conformance_log_key().verifier_key().to_owned(),
        },
    );
    // Credentials (§7.9): bootstrap, an administrator, a clerk, a revoked clerk, a judge's own.
    let issue =
        |secret: &str, role: Role, holder: &str, court: Option<&str>| Event::CredentialIssued {
            credential: credential_fingerprint(secret),
            role,
            holder: id(holder),
            court: court.map(id),
            enrollment: None,
        };
    s.push(
        &Actor::system(),
        issue("sa-1", Role::SystemAdmin, "SA-1", None),
    );
    s.push(
        &admin,
        Event::CourtCreated {
            court: id("north"),
            name: "North District Court".into(),
        },
    );
    s.push(
        &admin,
        issue("ca-1", Role::CourtAdmin, "CA-1", Some("north")),
    );
    for (d, name) in [
        ("civil", "Civil"),
        ("commercial", "Commercial"),
        ("family", "Family"),
        ("labour", "Labour"),
    ] {
        s.push(
            &cadmin,
            Event::DivisionCreated {
                court: id("north"),
                division: id(d),
                name: name.into(),
            },
        );
    }
    s.push(&cadmin, issue("cl-1", Role::Clerk, "CL-1", Some("north")));
    s.push(&cadmin, issue("cl-2", Role::Clerk, "CL-2", Some("north")));
    s.push(
        &cadmin,
        Event::CredentialRevoked {
            credential: credential_fingerprint("cl-2"),
        },
    );
    // Judges: six civil (C-6 a president at 250), two commercial, one family, two labour with very
    // unequal shares, and one inactive.
    let register =
        |s: &mut Script, j: &str, div: &str, specs: &[&str], share: u32, active: bool| {
            let mut specs: Vec<Specialization> = specs.iter().map(|x| id(x)).collect();
            specs.sort();
            s.push(
                &cadmin,
                Event::JudgeRegistered {
                    judge: id(j),
                    court: id("north"),
                    division: id(div),
                    specializations: specs,
                    share_permille: share,
                    active,
                },
            );
        };
    register(&mut s, "C-1", "civil", &["civil", "family"], 1000, true);
    register(&mut s, "C-2", "civil", &["civil", "family"], 1000, true);
    register(&mut s, "C-3", "civil", &["civil"], 1000, true);
    register(&mut s, "C-4", "civil", &["civil"], 1000, true);
    register(&mut s, "C-5", "civil", &["civil", "commercial"], 1000, true);
    register(&mut s, "C-6", "civil", &["civil"], 250, true);
    register(&mut s, "K-1", "commercial", &["commercial"], 1000, true);
    register(&mut s, "K-2", "commercial", &["commercial"], 1000, true);
    register(&mut s, "F-1", "family", &["family"], 1000, true);
    register(&mut s, "L-1", "labour", &["labour"], 1000, true);
    register(&mut s, "L-2", "labour", &["labour"], 100, true);
    register(&mut s, "X-1", "civil", &["civil"], 1000, false);
    // A judge's own credential, through an enrollment.
    let code = "conformance enrollment C-1";
    s.push(
        &cadmin,
        Event::EnrollmentOpened {
            enrollment: enrollment_fingerprint(code),
            judge: id("C-1"),
        },
    );
    let c1 = Actor::new(Role::Judge, "C-1");
    s.push(
        &c1,
        Event::CredentialIssued {
            credential: credential_fingerprint("c-1"),
            role: Role::Judge,
            holder: id("C-1"),
            court: Some(id("north")),
            enrollment: Some(enrollment_fingerprint(code)),
        },
    );
    // Conflicts: C-2 declares one with party P-CONFLICT; C-3 declares, withdraws and re-declares one.
    let c2 = Actor::new(Role::Judge, "C-2");
    let c3 = Actor::new(Role::Judge, "C-3");
    s.push(
        &c2,
        Event::ConflictDeclared {
            judge: id("C-2"),
            subject: party("P-CONFLICT"),
        },
    );
    for ev in [
        Event::ConflictDeclared {
            judge: id("C-3"),
            subject: party("P-OTHER"),
        },
        Event::ConflictWithdrawn {
            judge: id("C-3"),
            subject: party("P-OTHER"),
        },
        // A withdrawn subject may be declared again.
        Event::ConflictDeclared {
            judge: id("C-3"),
            subject: party("P-OTHER"),
        },
    ] {
        s.push(&c3, ev);
    }
    // Absences: C-4 away for three days from tomorrow; one recorded and cancelled.
    let today = s.day();
    s.push(
        &cadmin,
        Event::AbsenceRecorded {
            absence: id("ABS-1"),
            judge: id("C-4"),
            from: Day(today.0 + 1),
            until: Day(today.0 + 3),
            reason: AbsenceReason::Leave,
        },
    );
    s.push(
        &cadmin,
        Event::AbsenceRecorded {
            absence: id("ABS-2"),
            judge: id("C-5"),
            from: today,
            until: Day(today.0 + 40),
            reason: AbsenceReason::Training,
        },
    );
    s.push(
        &cadmin,
        Event::AbsenceCancelled {
            absence: id("ABS-2"),
        },
    );

    // Plain civil filings (division scope); one names the conflicted party.
    s.file(&clerk, Filing::civil("N-1", &["P-A", "P-B"], "rent"));
    s.file(&clerk, Filing::civil("N-2", &["P-CONFLICT", "P-C"], "loan"));
    s.at += DAY; // C-4 is away now: absence credit.
    s.file(&clerk, Filing::civil("N-3", &["P-D"], "lease"));
    // A 3-judge panel, then the presiding judge is reassigned off it: the replacement is appended
    // after the two who stay, so the next judge presides (§7.8).
    s.file(
        &clerk,
        Filing {
            case_type: "civil-panel",
            weight: 3,
            ..Filing::civil("N-4", &["P-PANEL", "P-E"], "estate")
        },
    );
    let presiding = s.judges_of("N-4")[0].clone();
    s.hours(1);
    s.push(
        &clerk,
        Event::Reassignment {
            case: id("N-4"),
            judge: presiding,
            reason: ReassignReason::LongTermAbsence,
        },
    );
    // A one-seat filing related to the panel case: one judge, the one presiding now.
    s.file(
        &clerk,
        Filing {
            related: Some(("N-4", RelationReason::FollowUp)),
            ..Filing::civil("N-5", &["P-PANEL"], "costs")
        },
    );
    // A duplicate of N-1 is bound to its judge; after that judge declares a conflict with a party
    // of the matter, the next copy is drawn (random_after_duplicate), and the one after that is
    // bound to the newly drawn judge.
    s.file(&clerk, Filing::civil("N-6", &["P-A", "P-B"], "rent"));
    let first = s.judges_of("N-1")[0].clone();
    let judge = Actor::new(Role::Judge, first.as_str());
    s.hours(1);
    s.push(
        &judge,
        Event::ConflictDeclared {
            judge: first.clone(),
            subject: party("P-B"),
        },
    );
    s.file(&clerk, Filing::civil("N-7", &["P-A", "P-B"], "rent"));
    s.file(&clerk, Filing::civil("N-8", &["P-A", "P-B"], "rent"));
    // A commercial filing related to a civil case: another division, so drawn (random_after_related).
    s.file(
        &clerk,
        Filing {
            division: "commercial",
            case_type: "commercial",
            weight: 4,
            related: Some(("N-3", RelationReason::SameFacts)),
            ..Filing::civil("N-9", &["P-D", "P-F"], "supply")
        },
    );
    // Family: one judge in the division, so the pool widens to the court (C-1, C-2, F-1: scope
    // court); with C-2 conflicted by a party, below the minimum (court_below_minimum).
    s.file(
        &clerk,
        Filing {
            division: "family",
            case_type: "family",
            weight: 1,
            ..Filing::civil("N-10", &["P-G"], "custody")
        },
    );
    s.file(
        &clerk,
        Filing {
            division: "family",
            case_type: "family",
            weight: 1,
            ..Filing::civil("N-11", &["P-CONFLICT"], "access")
        },
    );
    // An appeal: the judges of N-1 may not sit (earlier_instance).
    s.file(
        &clerk,
        Filing {
            earlier: Some("N-1"),
            ..Filing::civil("N-12", &["P-A"], "appeal of rent")
        },
    );
    // Judge changes: C-6's share changes; X-1 becomes active (joining credit at the next draw).
    s.push(
        &cadmin,
        Event::JudgeUpdated {
            judge: id("C-6"),
            division: id("civil"),
            specializations: vec![id("civil")],
            share_permille: 500,
            active: true,
        },
    );
    s.push(
        &cadmin,
        Event::JudgeUpdated {
            judge: id("X-1"),
            division: id("civil"),
            specializations: vec![id("civil")],
            share_permille: 1000,
            active: true,
        },
    );
    s.file(&clerk, Filing::civil("N-13", &["P-H"], "damages"));
    // Labour: a pool of two with shares 1000 and 100 under a policy whose minimum pool is 1, so
    // only the share cap fits (§7.5 case 3). The policy changes in the middle of N-4's life: the
    // panel type now needs the `senior` specialization and weighs 5; a later replacement on N-4
    // takes its pool from the new specialization but its weight, 3, from the filing.
    let mut p2 = first_policy();
    p2.min_pool = 1;
    p2.case_types = vec![
        case_type("civil", "civil", 2, 1),
        case_type("civil-panel", "senior", 5, 3),
        case_type("commercial", "commercial", 4, 1),
        case_type("family", "family", 1, 1),
        case_type("labour", "labour", 2, 1),
    ];
    s.hours(1);
    s.push(&admin, Event::PolicyUpdated { policy: p2 });
    s.file(
        &clerk,
        Filing {
            division: "labour",
            case_type: "labour",
            weight: 2,
            ..Filing::civil("N-14", &["P-I"], "wages")
        },
    );
    for (j, specs) in [
        ("C-1", &["civil", "family", "senior"][..]),
        ("C-3", &["civil", "senior"][..]),
        ("C-4", &["civil", "senior"][..]),
        ("C-5", &["civil", "commercial", "senior"][..]),
        ("X-1", &["civil", "senior"][..]),
    ] {
        s.push(
            &cadmin,
            Event::JudgeUpdated {
                judge: id(j),
                division: id("civil"),
                specializations: specs.iter().map(|x| id(x)).collect(),
                share_permille: 1000,
                active: true,
            },
        );
    }
    // A judge of N-4 recuses: the replacement pool holds only `senior` judges (§7.2 rule 3 under
    // the policy in force), and the intake is the filing's weight 3 (§7.8).
    let leaving = s.judges_of("N-4")[0].clone();
    let actor = Actor::new(Role::Judge, leaving.as_str());
    s.hours(1);
    s.push(
        &actor,
        Event::Recusal {
            case: id("N-4"),
            judge: leaving,
            reason: RecusalReason::PriorInvolvement,
        },
    );
    s.push(
        &clerk,
        Event::CaseClosed {
            case: id("N-2"),
            reason: ClosingReason::Settlement,
        },
    );
    // A closed case remains a valid duplicate, related and earlier-instance reference (§7.1): the
    // same matter filed again goes to N-2's judge; a filing sharing a party is related to it; an
    // appeal of it excludes its judge. N-1 closes while its appeal N-12 is open.
    s.file(
        &clerk,
        Filing::civil("N-30", &["P-C", "P-CONFLICT"], "loan"),
    );
    s.file(
        &clerk,
        Filing {
            related: Some(("N-2", RelationReason::Counterclaim)),
            ..Filing::civil("N-31", &["P-C"], "counterclaim on the loan")
        },
    );
    s.file(
        &clerk,
        Filing {
            earlier: Some("N-2"),
            ..Filing::civil("N-32", &["P-C"], "appeal of the loan")
        },
    );
    s.push(
        &clerk,
        Event::CaseClosed {
            case: id("N-1"),
            reason: ClosingReason::Judgment,
        },
    );
    // The replacement's intake (3 units, the filing's weight) shows in the loads of the next draw.
    s.file(&clerk, Filing::civil("N-15", &["P-J"], "new matter"));
    // More than a window later: every earlier intake is discarded (§7.4).
    s.at += 400 * DAY;
    s.file(&clerk, Filing::civil("N-16", &["P-K"], "another matter"));
    // drand (§6.3, §6.4, §7.7): from here every random draw waits for the first round of the
    // configured chain after its trigger's commit time; draws by reference do not wait. No
    // witnesses yet: a trigger's commit time is its own time.
    let dev = conformance_drand();
    s.hours(1);
    s.push(
        &admin,
        Event::DrandConfigured {
            chain_hash: dev.chain.chain_hash,
            public_key: dev.chain.public_key,
            period_seconds: dev.chain.period_seconds,
            genesis_time: dev.chain.genesis_time,
            scheme: dev.chain.scheme.clone(),
        },
    );
    // Two filings whose draws are pending at once: their draws follow, in trigger order.
    for (case, p, claim) in [("N-17", "P-M", "drand one"), ("N-18", "P-N", "drand two")] {
        let ps = [p];
        s.at += 1_500;
        s.push_filing(&clerk, Filing::civil(case, &ps, claim));
    }
    // The second's round is overdue: the allocator records it, and the draw keeps waiting.
    let late = s.log.state().pending_drand()[1].clone();
    s.at += 60_000;
    s.push(
        &Actor::system(),
        Event::BeaconDelayed {
            case: late.case.clone(),
            trigger: late.trigger,
            round: late.round.expect("known"),
        },
    );
    s.drand_draws(&dev);
    // Witnesses (§5.3): two, both required; a filing, whose drand draw waits for the checkpoint
    // that contains it, as both witnesses cosigned it a few seconds later: its commit time is the
    // quorum's (the later) cosignature time (§6.4).
    let witnesses = conformance_witnesses();
    s.push(
        &admin,
        Event::WitnessesConfigured {
            witnesses: witnesses
                .iter()
                .map(|w| Witness {
                    name: w.name().to_owned(),
                    key: w.verifier_key().to_owned(),
                })
                .collect(),
            quorum: 2,
        },
    );
    s.hours(1);
    s.push_filing(&clerk, Filing::civil("N-19", &["P-L"], "a third matter"));
    assert!(
        !s.log.state().pending_needing_witness().is_empty(),
        "the draw waits for a witnessed checkpoint"
    );
    s.witness(&witnesses);
    s.drand_draws(&dev);
    // A duplicate of N-19 is bound to its judge at once, without a round.
    s.file(&clerk, Filing::civil("N-20", &["P-L"], "a third matter"));
    // A recusal's replacement draw waits for its witnessed checkpoint and its round too.
    let leaving = s.judges_of("N-17")[0].clone();
    s.hours(1);
    s.push(
        &Actor::new(Role::Judge, leaving.as_str()),
        Event::Recusal {
            case: id("N-17"),
            judge: leaving,
            reason: RecusalReason::ConflictOfInterest,
        },
    );
    s.witness(&witnesses);
    s.drand_draws(&dev);
    s.out
}

/// The test drand chain of the conformance log: seed `0x44` repeated, genesis 2026-01-01T00:00:00Z,
/// period 3 s (the key is public: such a chain proves nothing about foresight, §6.3).
pub fn conformance_drand() -> DevChain {
    DevChain::new(&[0x44; 32], 1_767_225_600, 3)
}

/// One log of the invalid corpus: the conformance log with exactly one SPEC requirement broken.
#[derive(Clone, Debug)]
pub struct InvalidLog {
    /// A name for the file: the SPEC section, then what is broken.
    pub name: String,
    /// The SPEC section whose requirement is broken, e.g. `§7.8`.
    pub section: &'static str,
    /// The entry at which a verifier must stop.
    pub entry: u64,
    /// The log in the export format (which may itself be malformed, for §8 and §2.2).
    pub text: String,
}

/// Re-seals entries `from..` after a change, so every hash and link holds and only the changed
/// rule is broken.
fn reseal(entries: &mut [LogEntry], from: usize) {
    for i in from..entries.len() {
        let prev = if i == 0 {
            Digest32::ZERO
        } else {
            entries[i - 1].hash
        };
        let e = &entries[i];
        entries[i] = LogEntry::seal(e.index, e.at, e.actor.clone(), e.event.clone(), prev);
    }
}

fn jsonl(entries: &[LogEntry]) -> String {
    entries.iter().map(|e| e.to_json_line() + "\n").collect()
}

/// The invalid corpus, derived from [`conformance_log`].
pub fn invalid_logs() -> Vec<InvalidLog> {
    let good = conformance_log();
    let mut out = vec![];
    let find = |pred: &dyn Fn(&LogEntry) -> bool| -> usize {
        good.iter()
            .position(pred)
            .expect("the conformance log has one")
    };
    let mut case = |name: &str, section: &'static str, k: usize, change: &dyn Fn(&mut LogEntry)| {
        let mut v = good.clone();
        change(&mut v[k]);
        reseal(&mut v, k);
        out.push(InvalidLog {
            name: format!(
                "{}-{name}",
                section.trim_start_matches('§').replace('.', "_")
            ),
            section,
            entry: k as u64,
            text: jsonl(&v),
        });
    };
    let random = find(
        &|e| matches!(&e.event, Event::Draw(d) if d.method == Method::Random && d.eligible.len() > 2),
    );
    case("chosen-judge-changed", "§7.8", random, &|e| {
        if let Event::Draw(d) = &mut e.event {
            let other = d
                .eligible
                .iter()
                .find(|c| !d.chosen.contains(&c.judge))
                .expect("another candidate")
                .judge
                .clone();
            d.chosen = vec![other];
        }
    });
    case("weight-changed", "§7.8", random, &|e| {
        if let Event::Draw(d) = &mut e.event {
            d.eligible[0].weight += 1;
        }
    });
    case("exclusion-dropped", "§7.8", random, &|e| {
        if let Event::Draw(d) = &mut e.event {
            d.excluded.pop();
        }
    });
    case("beacon-round-skipped", "§6.1", random, &|e| {
        if let Event::Draw(d) = &mut e.event
            && let Some(BeaconReveal::HashChain { round, .. }) = &mut d.beacon
        {
            *round += 1;
        }
    });
    case("beacon-value-forged", "§6.1", random, &|e| {
        if let Event::Draw(d) = &mut e.event
            && let Some(BeaconReveal::HashChain { value, .. }) = &mut d.beacon
        {
            *value = sha256(&[b"forged"]);
        }
    });
    let dup = find(
        &|e| matches!(&e.event, Event::Draw(d) if matches!(d.method, Method::Duplicate { .. })),
    );
    case("duplicate-redrawn", "§7.8", dup, &|e| {
        if let Event::Draw(d) = &mut e.event {
            d.method = Method::Random;
        }
    });
    let filing = find(&|e| {
        matches!(
            &e.event,
            Event::CaseFiled {
                related: Some(_),
                ..
            }
        )
    });
    case("related-without-shared-party", "§7.1", filing, &|e| {
        if let Event::CaseFiled { parties, .. } = &mut e.event {
            *parties = vec![party("P-NOBODY")];
        }
    });
    case("filing-without-parties", "§7.1", filing, &|e| {
        if let Event::CaseFiled {
            parties, related, ..
        } = &mut e.event
        {
            parties.clear();
            *related = None;
        }
    });
    case("filing-weight-restated-wrongly", "§7.1", filing, &|e| {
        if let Event::CaseFiled { weight, .. } = &mut e.event {
            *weight += 1;
        }
    });
    // A filing under the number of a case filed before and since closed: a closed case keeps its
    // number (the first filing after the first closing, renamed to the closed case's number).
    let closed = find(&|e| matches!(&e.event, Event::CaseClosed { .. }));
    let Event::CaseClosed { case: taken, .. } = &good[closed].event else {
        unreachable!("found as a closing")
    };
    let refiled = closed
        + good[closed..]
            .iter()
            .position(|e| matches!(&e.event, Event::CaseFiled { .. }))
            .expect("a filing after the first closing");
    case("case-number-reused", "§7.1", refiled, &|e| {
        if let Event::CaseFiled { case, .. } = &mut e.event {
            *case = taken.clone();
        }
    });
    let conflict = find(&|e| matches!(&e.event, Event::ConflictDeclared { .. }));
    case("judge-acts-for-another", "§7.1", conflict, &|e| {
        e.actor = Actor::new(Role::Judge, "C-9");
    });
    case("system-declares-a-conflict", "§7.1", conflict, &|e| {
        e.actor = Actor::system();
    });
    let issued = find(&|e| {
        matches!(
            &e.event,
            Event::CredentialIssued {
                role: Role::CourtAdmin,
                ..
            }
        )
    });
    case("credential-issued-to-self", "§7.9", issued, &|e| {
        if let Event::CredentialIssued { holder, .. } = &mut e.event {
            *holder = e.actor.id.clone();
        }
    });
    let judge_cred = find(&|e| {
        matches!(
            &e.event,
            Event::CredentialIssued {
                role: Role::Judge,
                ..
            }
        )
    });
    case(
        "judge-credential-by-administrator",
        "§7.9",
        judge_cred,
        &|e| {
            e.actor = Actor::new(Role::CourtAdmin, "CA-1");
        },
    );
    let registered = find(&|e| matches!(&e.event, Event::JudgeRegistered { .. }));
    case("unknown-specialization", "§7.1", registered, &|e| {
        if let Event::JudgeRegistered {
            specializations, ..
        } = &mut e.event
        {
            *specializations = vec![id("civl")];
        }
    });
    let anchored = find(&|e| matches!(&e.event, Event::BeaconAnchored { .. }));
    case("anchor-of-length-zero", "§6.1", anchored, &|e| {
        if let Event::BeaconAnchored { beacon } = &mut e.event {
            beacon.length = 0;
        }
    });
    let witnessed = find(&|e| matches!(&e.event, Event::CheckpointWitnessed { .. }));
    case("cosignature-forged", "§5.3", witnessed, &|e| {
        if let Event::CheckpointWitnessed { cosignatures, .. } = &mut e.event {
            cosignatures[1].signature.0[0] ^= 1;
        }
    });
    case("cosignatures-below-quorum", "§5.3", witnessed, &|e| {
        if let Event::CheckpointWitnessed { cosignatures, .. } = &mut e.event {
            cosignatures.pop();
        }
    });
    case(
        "witnessed-size-beyond-the-entry",
        "§5.3",
        witnessed,
        &|e| {
            if let Event::CheckpointWitnessed { size, .. } = &mut e.event {
                *size = e.index + 1;
            }
        },
    );
    case("cosignature-time-changed", "§5.3", witnessed, &|e| {
        if let Event::CheckpointWitnessed { cosignatures, .. } = &mut e.event {
            cosignatures[0].time -= 1;
        }
    });
    let key = find(&|e| matches!(&e.event, Event::LogKeyPublished { .. }));
    case("log-key-of-another-name", "§5.1", key, &|e| {
        e.event = Event::LogKeyPublished {
            key: crate::checkpoint::LogKey::new("another-log", &[0x11; 32])
                .expect("a valid name")
                .verifier_key()
                .to_owned(),
        };
    });
    // drand (§6.3, §6.4, §7.7).
    let dev = &conformance_drand();
    let first_drand = find(
        &|e| matches!(&e.event, Event::Draw(d) if matches!(d.beacon, Some(BeaconReveal::Drand { .. }))),
    );
    let resign = |by: i64| {
        move |e: &mut LogEntry| {
            if let Event::Draw(d) = &mut e.event
                && let Some(BeaconReveal::Drand { round, signature }) = &mut d.beacon
            {
                *round = round.checked_add_signed(by).expect("a round");
                *signature = dev.sign(*round);
            }
        }
    };
    case(
        "drand-round-before-commit-time",
        "§6.4",
        first_drand,
        &resign(-1),
    );
    case(
        "drand-round-later-than-first",
        "§6.4",
        first_drand,
        &resign(1),
    );
    case("drand-signature-forged", "§6.3", first_drand, &|e| {
        if let Event::Draw(d) = &mut e.event
            && let Some(BeaconReveal::Drand { signature, .. }) = &mut d.beacon
        {
            signature.0[47] ^= 1;
        }
    });
    case("hash-chain-value-under-drand", "§6.3", first_drand, &|e| {
        if let Event::Draw(d) = &mut e.event
            && let Some(BeaconReveal::Drand { round, .. }) = d.beacon
        {
            d.beacon = Some(BeaconReveal::HashChain {
                round,
                value: sha256(&[b"a value the operator holds"]),
            });
        }
    });
    let configured = find(&|e| matches!(&e.event, Event::DrandConfigured { .. }));
    case("drand-scheme-unsupported", "§6.3", configured, &|e| {
        if let Event::DrandConfigured { scheme, .. } = &mut e.event {
            *scheme = "bls-unchained-on-g1".into();
        }
    });
    case("drand-key-at-infinity", "§6.3", configured, &|e| {
        if let Event::DrandConfigured { public_key, .. } = &mut e.event {
            // The compressed point at infinity: under it the signature at infinity would verify
            // for every round, and its randomness would be known to all in advance.
            public_key.0 = [0; 96];
            public_key.0[0] = 0xc0;
        }
    });
    let delayed = find(&|e| matches!(&e.event, Event::BeaconDelayed { .. }));
    case(
        "beacon-delayed-names-another-round",
        "§7.7",
        delayed,
        &|e| {
            if let Event::BeaconDelayed { round, .. } = &mut e.event {
                *round += 1;
            }
        },
    );
    case("time-goes-back", "§7.1", random, &|e| {
        e.at -= 1_000_000_000
    });
    // Breaks that are not re-sealed: the hash chain and the numbering themselves.
    let mut raw = |name: &str, section: &'static str, entry: usize, text: String| {
        out.push(InvalidLog {
            name: format!(
                "{}-{name}",
                section.trim_start_matches('§').replace('.', "_")
            ),
            section,
            entry: entry as u64,
            text,
        });
    };
    let mut v = good.clone();
    v[random].at += 1;
    raw("altered-without-rehash", "§4.1", random, jsonl(&v));
    // A drand draw appended before its commit time is known (§6.4): the witnessed checkpoint that
    // covered its trigger is replaced by a valid one, re-cosigned, that stops just before the
    // trigger; the draw, unchanged, then comes while no witnessed checkpoint covers its trigger.
    let witnessed = find(&|e| matches!(&e.event, Event::CheckpointWitnessed { .. }));
    let drawn = (witnessed..good.len())
        .find(|&i| matches!(&good[i].event, Event::Draw(d) if matches!(d.beacon, Some(BeaconReveal::Drand { .. }))))
        .expect("a drand draw follows the witnessed checkpoint");
    let Event::Draw(d) = &good[drawn].event else {
        unreachable!("found above")
    };
    let trigger = d.trigger;
    let mut before = Log::new();
    for e in &good[..trigger as usize] {
        before.push(e).expect("the conformance log verifies");
    }
    let body = crate::checkpoint::body("conformance-log", trigger, &before.root());
    let mut v = good.clone();
    if let Event::CheckpointWitnessed { size, cosignatures } = &mut v[witnessed].event {
        *size = trigger;
        let keys = conformance_witnesses();
        for c in cosignatures.iter_mut() {
            let key = keys
                .iter()
                .find(|k| k.name() == c.witness)
                .expect("a conformance witness");
            c.signature = key.sign(&body, c.time);
        }
    }
    reseal(&mut v, witnessed);
    raw(
        "drand-draw-before-its-commit-time",
        "§6.4",
        drawn,
        jsonl(&v),
    );
    let mut v = good.clone();
    v.remove(random);
    raw("entry-deleted", "§9", random, jsonl(&v));
    let mut v = good.clone();
    v.truncate(random + 1);
    v[random].prev = sha256(&[b"another history"]);
    raw("broken-link", "§4.1", random, jsonl(&v));
    let text = jsonl(&good);
    raw(
        "missing-final-line-feed",
        "§8",
        good.len() - 1,
        text.trim_end_matches('\n').to_owned(),
    );
    raw("crlf-line-ends", "§8", 0, text.replace('\n', "\r\n"));
    let hash0 = good[0].hash.to_hex();
    raw(
        "upper-case-hex",
        "§8",
        0,
        text.replacen(&hash0, &hash0.to_uppercase(), 1),
    );
    out
}
