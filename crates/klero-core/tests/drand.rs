//! drand in the state (SPEC §6.3, §6.4, §7.7), on the conformance log's drand tail.

use klero_core::conformance::{conformance_drand, conformance_log};
use klero_core::{BeaconReveal, Event, Log};

#[test]
fn pending_drand_draws_follow_their_triggers_and_consume_no_chain_value() {
    let entries = conformance_log();
    let dev = conformance_drand();
    let configured = entries
        .iter()
        .position(|e| matches!(e.event, Event::DrandConfigured { .. }))
        .expect("the conformance log configures drand");
    let witnesses_from = entries
        .iter()
        .position(|e| matches!(e.event, Event::WitnessesConfigured { .. }))
        .expect("the conformance log configures witnesses after drand");
    assert!(witnesses_from > configured);
    let mut log = Log::new();
    let mut chain_before = None;
    let mut saw_two_pending = false;
    for (i, e) in entries.iter().enumerate() {
        log.push(e).unwrap();
        let s = log.state();
        if i == configured {
            chain_before = s.next_beacon_round();
            assert_eq!(s.drand(), Some(&dev.chain));
        }
        let pending = s.pending_drand();
        // Without witnesses the commit time is the trigger's own time, known at once; with them
        // (checked in vectors.rs), a trigger waits for a witnessed checkpoint.
        if i < witnesses_from {
            assert!(s.pending_needing_witness().is_empty());
        }
        for p in pending.iter().filter(|p| p.trigger < witnesses_from as u64) {
            let t = (p.trigger_at / 1000) as u64;
            assert_eq!(s.commit_time(p.trigger), Some(t));
            assert_eq!(p.round, Some(dev.chain.first_round_after(t)));
            assert_eq!(s.pending_drand_of(&p.case).as_ref(), Some(p));
            // The hash chain would reveal nothing for it.
            assert_eq!(s.beacon_needed(&p.case), None);
        }
        assert!(pending.windows(2).all(|w| w[0].trigger < w[1].trigger));
        saw_two_pending |= pending.len() == 2;
        if let Event::Draw(d) = &e.event
            && let Some(BeaconReveal::Drand { round, signature }) = d.beacon
        {
            assert!(dev.chain.verify(round, &signature));
            // Drand draws leave the hash chain where it was (SPEC §6.1).
            assert_eq!(s.next_beacon_round(), chain_before);
        }
    }
    assert!(saw_two_pending, "two draws pending at once");
    assert!(log.state().pending_drand().is_empty());
    assert!(
        log.state().commit_time(0).is_none(),
        "not a pending drand draw"
    );
}

#[test]
fn a_draw_of_a_pending_drand_case_cannot_be_made_from_the_hash_chain_or_another_round() {
    let entries = conformance_log();
    let dev = conformance_drand();
    // Replay up to the first drand draw, keep that draw aside.
    let first = entries
        .iter()
        .position(|e| {
            matches!(&e.event, Event::Draw(d) if matches!(d.beacon, Some(BeaconReveal::Drand { .. })))
        })
        .unwrap();
    let mut log = Log::new();
    for e in &entries[..first] {
        log.push(e).unwrap();
    }
    let p = log.state().pending_drand()[0].clone();
    let round = p.round.unwrap();
    let at = entries[first].at;
    for (r, sig, section) in [
        (round, dev.sign(round + 1), "§6.3"),
        (round + 1, dev.sign(round + 1), "§6.4"),
        (round - 1, dev.sign(round - 1), "§6.4"),
    ] {
        let mut l = log.clone();
        let e = l
            .draw_with(
                at,
                &p.case,
                BeaconReveal::Drand {
                    round: r,
                    signature: sig,
                },
            )
            .expect_err("refused");
        assert_eq!(e.section, Some(section), "{e}");
    }
    // The Log::draw path (the hash chain) cannot make it either.
    let mut chain = klero_core::HashChain::new(klero_core::Digest32([1; 32]), 4);
    assert!(log.clone().draw(at, &p.case, &mut chain).is_err());
    // The right round draws.
    let mut l = log.clone();
    l.draw_with(
        at,
        &p.case,
        BeaconReveal::Drand {
            round,
            signature: dev.sign(round),
        },
    )
    .unwrap();
}
