use std::collections::HashMap;

use super::common::*;
use klero_core::*;

both!(
    concurrent_submissions_form_one_chain_and_each_case_is_drawn_once,
    |url| {
        let s = seeded(&url).await;
        let before = s.checkpoint().0;
        let mut tasks = Vec::new();
        for i in 0..64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.submit(filing(s.pepper(), format!("P-{i}"))).await
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap().expect("every filing is accepted"));
        }
        let entries = check_log(&s).await;
        let rotations = entries
            .iter()
            .filter(|e| matches!(e.event, Event::BeaconAnchored { .. }))
            .count() as u64;
        assert_eq!(
            rotations, 1,
            "64 draws use up a chain of {CHAIN}: one rotation"
        );
        assert_eq!(entries.len() as u64, before + 128 + rotations);
        // Each caller got its own filing and the draw right after it, as stored.
        for a in &answers {
            assert_eq!(a.len(), 2);
            assert_eq!(entries[a[0].index as usize], a[0]);
            assert_eq!(entries[a[1].index as usize], a[1]);
            assert_eq!(a[1].index, a[0].index + 1);
        }
        let mut draws: HashMap<CaseId, usize> = HashMap::new();
        for e in &entries {
            if let Event::Draw(d) = &e.event {
                *draws.entry(d.case.clone()).or_default() += 1;
                assert_eq!(d.trigger + 1, e.index, "the draw follows its filing");
            }
        }
        assert_eq!(draws.len(), 64);
        assert!(draws.values().all(|&n| n == 1), "each case drawn once");
        assert_eq!(s.read(|st| st.case_count()), 64);
        s.close().await;
    }
);
