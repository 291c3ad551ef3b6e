use super::common::*;
use klero_store::StoreError;
use klero_store::testing::execute;

/// Makes the database refuse the projection row of one case, so the transaction that carries its
/// filing fails (a write that fails and does not persist).
async fn poison(url: &str, case: &str) {
    let sql = if url.starts_with("sqlite") {
        format!(
            "CREATE TRIGGER poison BEFORE INSERT ON cases WHEN NEW.case_id = '{case}' \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
        )
    } else {
        format!(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.case_id = '{case}' THEN RAISE EXCEPTION 'injected fault'; END IF; \
               RETURN NEW; END; $$; \
             CREATE TRIGGER poison BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION poison();"
        )
    };
    execute(url, &sql).await.unwrap();
}

async fn cure(url: &str) {
    let sql = if url.starts_with("sqlite") {
        "DROP TRIGGER poison;"
    } else {
        "DROP TRIGGER poison ON cases; DROP FUNCTION poison();"
    };
    execute(url, sql).await.unwrap();
}

both!(
    a_failed_transaction_acknowledges_nothing_and_the_store_carries_on,
    |url| {
        let s = seeded(&url).await;
        file(&s, "A").await;
        let before = s.checkpoint();
        poison(&url, "NORTH-2026-000002").await;
        let r = s
            .submit_idempotent("clerk-1".into(), "k".into(), filing(s.pepper(), "B".into()))
            .await;
        match r {
            Err(StoreError::Database(m)) => assert!(m.contains("injected fault"), "{m}"),
            other => panic!("expected a database error, got {other:?}"),
        }
        assert_eq!(s.checkpoint(), before, "nothing acknowledged");
        assert_eq!(s.read(|st| st.case_count()), 1);
        cure(&url).await;
        // The retry with the same key appends (the failed attempt stored no key) and verifies.
        let (es, replayed) = s
            .submit_idempotent("clerk-1".into(), "k".into(), filing(s.pepper(), "B".into()))
            .await
            .unwrap();
        assert!(!replayed);
        assert_eq!(es[0].index, before.0);
        check_log(&s).await;
        s.close().await;
        let s = open(&url).await;
        check_log(&s).await;
        s.close().await;
    }
);

both!(two_stores_on_one_database_cannot_fork_the_log, |url| {
    let a = seeded(&url).await;
    let b = open(&url).await;
    assert_eq!(a.checkpoint(), b.checkpoint());
    file(&a, "A").await;
    // B is behind: its append collides with A's at the same position and is refused.
    let r = b.submit(filing(b.pepper(), "B".into())).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    // B has re-read the log and now appends after A's entries.
    assert_eq!(b.checkpoint(), a.checkpoint());
    let es = file(&b, "B").await;
    assert_eq!(es[0].index, a.checkpoint().0);
    check_log(&b).await;
    a.close().await;
    b.close().await;
    let s = open(&url).await;
    assert_eq!(s.read(|st| st.case_count()), 2);
    check_log(&s).await;
    s.close().await;
});
