use super::common::*;
use klero_core::*;

both!(
    a_retry_with_the_same_key_returns_the_first_entries_and_draws_nothing,
    |url| {
        let s = seeded(&url).await;
        let p = s.pepper();
        let (first, replayed) = s
            .submit_idempotent("clerk-1".into(), "k-1".into(), filing(p, "A".into()))
            .await
            .unwrap();
        assert!(!replayed);
        let size = s.checkpoint().0;
        let (again, replayed) = s
            .submit_idempotent("clerk-1".into(), "k-1".into(), filing(p, "A".into()))
            .await
            .unwrap();
        assert!(replayed);
        assert_eq!(again, first);
        assert_eq!(s.checkpoint().0, size, "nothing appended");
        // The same key in another scope is another submission.
        let (other, replayed) = s
            .submit_idempotent("clerk-2".into(), "k-1".into(), filing(p, "B".into()))
            .await
            .unwrap();
        assert!(!replayed);
        assert_ne!(other, first);
        // The key survives a reopen.
        s.close().await;
        let s = open(&url).await;
        let (again, replayed) = s
            .submit_idempotent("clerk-1".into(), "k-1".into(), filing(p, "A".into()))
            .await
            .unwrap();
        assert!(replayed);
        assert_eq!(again, first);
        check_log(&s).await;
        s.close().await;
    }
);

both!(concurrent_retries_append_once, |url| {
    let s = seeded(&url).await;
    let draws = s.read(|st| st.draw_count());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.submit_idempotent(
                "clerk-1".into(),
                "same".into(),
                filing(s.pepper(), "A".into()),
            )
            .await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().expect("accepted or replayed"));
    }
    assert_eq!(
        results.iter().filter(|(_, r)| !r).count(),
        1,
        "one appended"
    );
    assert!(results.iter().all(|(e, _)| *e == results[0].0));
    assert_eq!(s.read(|st| st.draw_count()), draws + 1, "one draw");
    check_log(&s).await;
    s.close().await;
});

both!(a_rejected_submission_stores_no_key, |url| {
    let s = seeded(&url).await;
    let r = s
        .submit_idempotent("clerk-1".into(), "k".into(), |_: &State| {
            Err(Rejection::new(RejectKind::Invalid, "no"))
        })
        .await;
    assert!(r.is_err());
    let (_, replayed) = s
        .submit_idempotent("clerk-1".into(), "k".into(), filing(s.pepper(), "A".into()))
        .await
        .unwrap();
    assert!(!replayed, "the key was free");
    s.close().await;
});
