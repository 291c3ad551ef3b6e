use super::common::*;
use klero_core::*;

both!(
    an_exhausted_chain_is_rotated_and_its_secret_survives_a_reopen,
    |url| {
        let s = open_chain(&url, 3).await;
        seed(&s).await;
        for i in 0..7 {
            file(&s, &format!("P-{i}")).await;
        }
        let entries = check_log(&s).await;
        let anchors: Vec<u64> = entries
            .iter()
            .filter(|e| matches!(e.event, Event::BeaconAnchored { .. }))
            .map(|e| e.index)
            .collect();
        assert_eq!(
            anchors.len(),
            2,
            "seven draws on chains of three: two rotations"
        );
        for &a in &anchors {
            // A rotation directly follows the draw that used the chain's last value.
            assert!(matches!(entries[a as usize - 1].event, Event::Draw(_)));
        }
        s.close().await;
        let s = open_chain(&url, 3).await;
        for i in 7..10 {
            file(&s, &format!("P-{i}")).await;
        }
        check_log(&s).await;
        s.close().await;
    }
);
