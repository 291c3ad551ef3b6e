use super::common::*;
use klero_core::*;
use klero_store::StoreError;
use klero_store::testing::query_strings;

async fn count(url: &str, table: &str) -> String {
    query_strings(url, &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"))
        .await
        .unwrap()
        .remove(0)
}

both!(a_rejected_event_writes_nothing, |url| {
    let s = seeded(&url).await;
    file(&s, "A").await;
    let before = s.checkpoint();
    let rows = (count(&url, "log").await, count(&url, "cases").await);

    // The core refuses: an unknown court.
    let r = s
        .submit(|st: &State| {
            Ok((
                clerk(),
                Event::CaseFiled {
                    case: id(&format!("X-{}", st.case_count() + 1)),
                    court: id("nowhere"),
                    division: id("civil"),
                    case_type: id("civil"),
                    weight: 2,
                    parties: vec![],
                    claim: Digest32::ZERO,
                    related: None,
                    earlier_instance: None,
                },
            ))
        })
        .await;
    match r {
        Err(StoreError::Rejected(rej)) => assert_eq!(rej.kind, RejectKind::NotFound),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // The closure refuses.
    let r = s
        .submit(|_: &State| Err(Rejection::new(RejectKind::Forbidden, "not today")))
        .await;
    assert!(matches!(r, Err(StoreError::Rejected(_))));
    // A duplicate case number.
    let r = s
        .submit(|_: &State| {
            Ok((
                clerk(),
                Event::CaseClosed {
                    case: id("NORTH-2026-999999"),
                    reason: ClosingReason::Judgment,
                },
            ))
        })
        .await;
    assert!(matches!(r, Err(StoreError::Rejected(_))));

    assert_eq!(s.checkpoint(), before);
    assert_eq!((count(&url, "log").await, count(&url, "cases").await), rows);
    // The writer carries on.
    file(&s, "B").await;
    check_log(&s).await;
    s.close().await;
});

both!(
    a_submission_that_panics_writes_nothing_and_the_writer_survives,
    |url| {
        let s = seeded(&url).await;
        let before = s.checkpoint();
        let r = s
            .submit(|_: &State| -> Result<(Actor, Event), Rejection> { panic!("bug in a handler") })
            .await;
        assert!(matches!(r, Err(StoreError::Database(_))), "{r:?}");
        assert_eq!(s.checkpoint(), before);
        file(&s, "A").await;
        s.close().await;
    }
);
