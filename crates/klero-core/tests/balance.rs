//! Issue 7, items 4 and 5, driven through `Log` directly (many seeded courts; the API tests in
//! `tests/api/balance.rs` show one court each through HTTP).

use klero_core::beacon::HashChain;
use klero_core::hash::sha256;
use klero_core::sample::SAMPLE_START;
use klero_core::*;

const DAY: i64 = 86_400_000;

fn admin() -> Actor {
    Actor::new(Role::SystemAdmin, "admin")
}

/// A log with one court `c`, division `d`, weight-1 case type `civil`, and the given judges
/// (id, share), all holding `civil`.
fn court(secret: u64, judges: &[(&str, u32)]) -> (Log, HashChain) {
    let chain = HashChain::new(sha256(&[b"balance-test", &secret.to_be_bytes()]), 1 << 12);
    let mut log = Log::new();
    let mut policy = Policy::with_case_types(vec![CaseType {
        code: "civil".parse().unwrap(),
        specialization: "civil".parse().unwrap(),
        weight: 1,
        panel: 1,
    }]);
    policy.min_pool = 2;
    let at = SAMPLE_START;
    let events = [
        Event::Genesis {
            log_id: "balance".parse().unwrap(),
            policy,
            beacon: chain.anchor(),
        },
        Event::CourtCreated {
            court: "c".parse().unwrap(),
            name: "Court".into(),
        },
        Event::DivisionCreated {
            court: "c".parse().unwrap(),
            division: "d".parse().unwrap(),
            name: "Division".into(),
        },
    ];
    for e in events {
        log.append(at, admin(), e).unwrap();
    }
    for (id, share) in judges {
        log.append(
            at,
            admin(),
            Event::JudgeRegistered {
                judge: id.parse().unwrap(),
                court: "c".parse().unwrap(),
                division: "d".parse().unwrap(),
                specializations: vec!["civil".parse().unwrap()],
                share_permille: *share,
                active: true,
            },
        )
        .unwrap();
    }
    (log, chain)
}

/// Files case `n` (fresh parties) at `at` and draws it; returns the draw record.
fn file(log: &mut Log, chain: &mut HashChain, n: u64, at: Millis) -> Draw {
    let case: CaseId = format!("C-{n:06}").parse().unwrap();
    let p = sha256(&[b"party", &n.to_be_bytes()]);
    log.append(
        at,
        Actor::new(Role::Clerk, "clerk"),
        Event::CaseFiled {
            case: case.clone(),
            court: "c".parse().unwrap(),
            division: "d".parse().unwrap(),
            case_type: "civil".parse().unwrap(),
            weight: 1,
            parties: vec![p],
            claim: p,
            related: None,
            earlier_instance: None,
        },
    )
    .unwrap();
    let e = log.draw(at, &case, chain).unwrap();
    let Event::Draw(d) = e.event else {
        panic!("a draw")
    };
    d
}

fn cases_of(log: &Log, judge: &str) -> usize {
    log.state().docket(&judge.parse().unwrap()).len()
}

/// Item 5: with a president at 25%, the two full judges no longer drift apart. Under the cap
/// against an equal head share (version 1) both full judges sat at the cap (1/2 each) whenever the
/// president was the most loaded, so their difference was a free random walk: over these 32
/// courts it ended 8–17 cases apart in several (the issue saw 7 of 32). Now the less loaded full
/// judge always has the larger weight, and the difference stays small.
#[test]
fn two_full_judges_beside_a_part_time_president_stay_within_a_few_cases_in_every_court() {
    let mut gaps = vec![];
    for court_no in 0..32u64 {
        let (mut log, mut chain) = court(court_no, &[("P", 250), ("A", 1000), ("B", 1000)]);
        for n in 0..400u64 {
            let d = file(&mut log, &mut chain, n, SAMPLE_START + n as i64 * 1000);
            // In every draw, wherever the president stands: of the two full judges, the less
            // loaded has the larger weight (version 1 gave both 1/2 when the president was the
            // most loaded).
            let (a, b) = (&d.eligible[0], &d.eligible[1]);
            assert_eq!((a.judge.as_str(), b.judge.as_str()), ("A", "B"));
            let (lo, hi) = if a.load <= b.load { (a, b) } else { (b, a) };
            if lo.load < hi.load {
                assert!(lo.weight > hi.weight, "court {court_no} filing {n}: {d:?}");
            }
        }
        let (a, b) = (cases_of(&log, "A"), cases_of(&log, "B"));
        gaps.push(a.abs_diff(b));
    }
    let worst = *gaps.iter().max().unwrap();
    let mean = gaps.iter().sum::<usize>() as f64 / gaps.len() as f64;
    let over_four = gaps.iter().filter(|&&g| g > 4).count();
    // The difference is a walk pulled back toward 0 (when the president is the most loaded, the
    // leader has about 0.31 against 0.67), not a free one: small in every court, and rarely above 4.
    assert!(
        worst <= 8 && mean <= 1.5 && over_four <= 2,
        "gaps between the full judges after 400 filings: {gaps:?}"
    );
}

/// Item 4: a judge away for 300 draws of an 8-judge court comes back level with the pool. Version 1
/// credited `1/8` of each draw (as if the judge had been in the pool) while each of the seven
/// present judges carried `1/7`: 300 draws left the returning judge 300/56 = 5.36 units behind, and
/// the draw then flooded them.
#[test]
fn a_judge_back_from_leave_is_level_with_the_pool() {
    let judges: Vec<(String, u32)> = (1..=8).map(|i| (format!("J-{i}"), 1000)).collect();
    let refs: Vec<(&str, u32)> = judges.iter().map(|(j, s)| (j.as_str(), *s)).collect();
    let (mut log, mut chain) = court(7, &refs);
    // Day 0: everyone sits (so the joining credit, for judges never pooled, plays no part).
    for n in 0..16u64 {
        file(&mut log, &mut chain, n, SAMPLE_START + n as i64 * 1000);
    }
    let day1 = Day::from_millis(SAMPLE_START + DAY);
    log.append(
        SAMPLE_START + 20_000,
        admin(),
        Event::AbsenceRecorded {
            absence: "A-1".parse().unwrap(),
            judge: "J-8".parse().unwrap(),
            from: day1,
            until: day1,
            reason: AbsenceReason::Leave,
        },
    )
    .unwrap();
    // J-8's normalized load minus the mean of the seven others, in thousandths.
    let gap = |log: &Log, day: Day| -> i64 {
        let st = log.state();
        let load = |j: &str| st.load_on(st.judge(&j.parse().unwrap()).unwrap(), day) as i64;
        let others: i64 = (1..=7).map(|i| load(&format!("J-{i}"))).sum();
        load("J-8") - others / 7
    };
    let before = gap(&log, day1);
    for n in 17..317u64 {
        let d = file(
            &mut log,
            &mut chain,
            n,
            SAMPLE_START + DAY + n as i64 * 1000,
        );
        assert_eq!(d.eligible.len(), 7);
    }
    // Back on day 2: the gap to the pool's mean load is what it was before the leave (up to the
    // credit's rounding down, under 1 thousandth a draw).
    let after = gap(&log, Day::from_millis(SAMPLE_START + 2 * DAY));
    assert!(
        (after - before).abs() <= 300,
        "the returning judge was {before} thousandths from the pool's mean before the leave and \
         {after} after it"
    );
    // And over the next 100 filings, the returning judge takes about an eighth, not a flood.
    for n in 317..417u64 {
        file(
            &mut log,
            &mut chain,
            n,
            SAMPLE_START + 2 * DAY + n as i64 * 1000,
        );
    }
    let got = log
        .state()
        .docket(&"J-8".parse().unwrap())
        .iter()
        .filter(|c| c.filed_at >= SAMPLE_START + 2 * DAY)
        .count();
    assert!(
        (8..=18).contains(&got),
        "{got} of 100 filings went to the returning judge"
    );
}
