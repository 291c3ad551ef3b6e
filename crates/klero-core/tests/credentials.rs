//! Separation of duties for credentials (SPEC §7.9): who may issue, revoke and enroll, replayed by
//! the same `State::apply` the server and the verifier use.

use klero_core::hash::{credential_fingerprint, enrollment_fingerprint};
use klero_core::*;

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

/// A log with a court, a division and a judge, and no credential yet.
fn court() -> Log {
    let mut log = Log::new();
    let admin = Actor::new(Role::SystemAdmin, "SA-1");
    let policy = Policy::with_case_types(vec![CaseType {
        code: id("civil"),
        specialization: id("civil"),
        weight: 1,
        panel: 1,
    }]);
    let beacon = HashChain::new(Digest32([1; 32]), 4).anchor();
    for ev in [
        Event::Genesis {
            log_id: id("creds"),
            policy,
            beacon,
        },
        Event::CourtCreated {
            court: id("north"),
            name: "North".into(),
        },
        Event::CourtCreated {
            court: id("south"),
            name: "South".into(),
        },
        Event::DivisionCreated {
            court: id("north"),
            division: id("civil"),
            name: "Civil".into(),
        },
        Event::JudgeRegistered {
            judge: id("J-01"),
            court: id("north"),
            division: id("civil"),
            specializations: vec![id("civil")],
            share_permille: 1000,
            active: true,
        },
    ] {
        log.append(0, admin.clone(), ev).unwrap();
    }
    log
}

fn issue(secret: &str, role: Role, holder: &str, court: Option<&str>) -> Event {
    Event::CredentialIssued {
        credential: credential_fingerprint(secret),
        role,
        holder: id(holder),
        court: court.map(id),
        enrollment: None,
    }
}

fn refused(log: &mut Log, actor: &Actor, ev: Event) -> RejectKind {
    log.append(0, actor.clone(), ev)
        .expect_err("must be refused")
        .kind
}

/// A log where SA-1 (system administrator) and CA-1 (court administrator of `north`) hold
/// credentials.
fn staffed() -> Log {
    let mut log = court();
    log.append(
        0,
        Actor::system(),
        issue("sa", Role::SystemAdmin, "SA-1", None),
    )
    .unwrap();
    let sa = Actor::new(Role::SystemAdmin, "SA-1");
    log.append(0, sa, issue("ca", Role::CourtAdmin, "CA-1", Some("north")))
        .unwrap();
    log
}

#[test]
fn the_allocator_issues_only_the_first_credential_and_only_to_a_system_administrator() {
    let mut log = court();
    let first_clerk = issue("c", Role::Clerk, "CL-1", Some("north"));
    assert_eq!(
        refused(&mut log, &Actor::system(), first_clerk),
        RejectKind::Forbidden
    );
    log.append(
        0,
        Actor::system(),
        issue("sa", Role::SystemAdmin, "SA-1", None),
    )
    .unwrap();
    let second = issue("sa2", Role::SystemAdmin, "SA-2", None);
    assert_eq!(
        refused(&mut log, &Actor::system(), second),
        RejectKind::Forbidden
    );
}

#[test]
fn nobody_issues_a_credential_to_themselves_and_court_administrators_issue_only_clerks() {
    let mut log = staffed();
    let sa = Actor::new(Role::SystemAdmin, "SA-1");
    let ca = Actor::new(Role::CourtAdmin, "CA-1");
    let to_self = issue("sa-again", Role::SystemAdmin, "SA-1", None);
    assert_eq!(refused(&mut log, &sa, to_self), RejectKind::Forbidden);
    // A court administrator cannot mint administrators, nor staff of another court.
    let admin = issue("ca2", Role::CourtAdmin, "CA-2", Some("north"));
    assert_eq!(refused(&mut log, &ca, admin), RejectKind::Forbidden);
    let other = issue("cl-s", Role::Clerk, "CL-9", Some("south"));
    assert_eq!(refused(&mut log, &ca, other), RejectKind::Forbidden);
    log.append(
        0,
        ca.clone(),
        issue("cl", Role::Clerk, "CL-1", Some("north")),
    )
    .unwrap();
    // Someone who holds no credential issues nothing, whatever role the entry claims.
    let impostor = Actor::new(Role::SystemAdmin, "SA-9");
    let ev = issue("x", Role::Clerk, "CL-2", Some("north"));
    assert_eq!(refused(&mut log, &impostor, ev), RejectKind::Forbidden);
}

#[test]
fn an_administrator_cannot_issue_a_judge_credential_only_the_judge_completes_an_enrollment() {
    let mut log = staffed();
    let sa = Actor::new(Role::SystemAdmin, "SA-1");
    let ca = Actor::new(Role::CourtAdmin, "CA-1");
    let direct = issue("j", Role::Judge, "J-01", Some("north"));
    assert_eq!(
        refused(&mut log, &sa, direct.clone()),
        RejectKind::Forbidden
    );
    assert_eq!(refused(&mut log, &ca, direct), RejectKind::Forbidden);
    let code = "an enrollment code";
    let enrollment = enrollment_fingerprint(code);
    log.append(
        0,
        ca.clone(),
        Event::EnrollmentOpened {
            enrollment,
            judge: id("J-01"),
        },
    )
    .unwrap();
    let complete = |secret: &str| Event::CredentialIssued {
        credential: credential_fingerprint(secret),
        role: Role::Judge,
        holder: id("J-01"),
        court: Some(id("north")),
        enrollment: Some(enrollment),
    };
    // The administrator who opened it cannot complete it in the judge's name as themself.
    assert_eq!(
        refused(&mut log, &ca, complete("j1")),
        RejectKind::Forbidden
    );
    let judge = Actor::new(Role::Judge, "J-01");
    log.append(0, judge.clone(), complete("j1")).unwrap();
    // An enrollment is used once.
    assert_eq!(
        refused(&mut log, &judge, complete("j2")),
        RejectKind::NotFound
    );
    let st = log.state();
    let c = st.credential(&credential_fingerprint("j1")).unwrap();
    assert_eq!((c.role, c.holder.as_str()), (Role::Judge, "J-01"));
    assert_eq!(c.issued_by, judge);
}

#[test]
fn revocation_is_for_the_holder_a_system_administrator_or_the_court_administrator_of_staff() {
    let mut log = staffed();
    let ca = Actor::new(Role::CourtAdmin, "CA-1");
    let sa = Actor::new(Role::SystemAdmin, "SA-1");
    log.append(
        0,
        ca.clone(),
        issue("cl", Role::Clerk, "CL-1", Some("north")),
    )
    .unwrap();
    let revoke = |s: &str| Event::CredentialRevoked {
        credential: credential_fingerprint(s),
    };
    // A clerk cannot revoke the administrator's credential.
    let clerk = Actor::new(Role::Clerk, "CL-1");
    assert_eq!(
        refused(&mut log, &clerk, revoke("ca")),
        RejectKind::Forbidden
    );
    // The court administrator revokes the clerk's; then the clerk issues nothing and the
    // administrator's revoked credential would stop them too.
    log.append(0, ca.clone(), revoke("cl")).unwrap();
    assert_eq!(refused(&mut log, &ca, revoke("cl")), RejectKind::WrongState);
    log.append(0, sa, revoke("ca")).unwrap();
    let ev = issue("cl2", Role::Clerk, "CL-2", Some("north"));
    assert_eq!(refused(&mut log, &ca, ev), RejectKind::Forbidden);
    assert!(
        log.state()
            .credential(&credential_fingerprint("cl"))
            .unwrap()
            .revoked
            .is_some()
    );
}

#[test]
fn only_the_allocator_or_a_system_administrator_anchors_a_beacon_chain() {
    let mut log = staffed();
    let beacon = HashChain::new(Digest32([2; 32]), 4).anchor();
    for role in [Role::Clerk, Role::CourtAdmin, Role::Judge] {
        let actor = Actor::new(role, "X-1");
        let ev = Event::BeaconAnchored { beacon };
        assert_eq!(refused(&mut log, &actor, ev), RejectKind::Forbidden);
    }
    let sa = Actor::new(Role::SystemAdmin, "SA-1");
    log.append(0, sa, Event::BeaconAnchored { beacon }).unwrap();
    let empty = HashChain::new(Digest32([3; 32]), 1).anchor();
    let zero = klero_core::ChainAnchor { length: 0, ..empty };
    let ev = Event::BeaconAnchored { beacon: zero };
    assert_eq!(refused(&mut log, &Actor::system(), ev), RejectKind::Invalid);
}
