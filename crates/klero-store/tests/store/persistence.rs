use super::common::*;
use klero_core::merkle::{verify_consistency, verify_inclusion};
use klero_core::*;
use klero_store::StoreError;

both!(
    appended_entries_persist_and_the_reopened_log_verifies,
    |url| {
        let s = seeded(&url).await;
        let pepper = s.pepper();
        let mut filed = Vec::new();
        for p in ["A", "B", "C"] {
            let es = file(&s, p).await;
            assert_eq!(es.len(), 2, "a filing and its draw");
            assert!(matches!(es[0].event, Event::CaseFiled { .. }));
            assert!(matches!(es[1].event, Event::Draw(_)));
            assert_eq!(es[1].index, es[0].index + 1);
            filed.extend(es);
        }
        let entries = check_log(&s).await;
        let (size, root) = s.checkpoint();
        assert_eq!(&entries[entries.len() - 6..], &filed[..]);
        assert_eq!(s.entry(size - 1).await.unwrap(), filed[5]);
        assert!(matches!(s.entry(size).await, Err(StoreError::NotFound(_))));
        s.close().await;

        let s = open(&url).await;
        assert_eq!(s.checkpoint(), (size, root));
        assert_eq!(s.pepper(), pepper, "the pepper is kept");
        assert_eq!(s.read(|st| st.case_count()), 3);
        assert_eq!(check_log(&s).await, entries);
        // The reopened writer continues the chain.
        file(&s, "D").await;
        check_log(&s).await;
        s.close().await;
    }
);

both!(proofs_from_the_store_verify, |url| {
    let s = seeded(&url).await;
    for p in ["A", "B"] {
        file(&s, p).await;
    }
    let entries = check_log(&s).await;
    let (size, root) = s.checkpoint();
    for old in 1..=size {
        let old_root = s.root_at(old).await.unwrap().unwrap();
        let p = s.consistency_proof(old, size).await.unwrap().unwrap();
        assert!(verify_consistency(old, &old_root, size, &root, &p));
    }
    for (i, e) in entries.iter().enumerate() {
        let p = s.inclusion_proof(i as u64, size).await.unwrap().unwrap();
        assert!(verify_inclusion(&root, size, i as u64, &e.hash, &p));
    }
    assert_eq!(s.inclusion_proof(size, size).await.unwrap(), None);
    assert_eq!(s.root_at(size + 1).await.unwrap(), None);
    s.close().await;
});

both!(a_second_genesis_is_a_conflict, |url| {
    let s = seeded(&url).await;
    let size = s.checkpoint().0;
    let r = s
        .genesis(admin(), id("again"), Policy::with_case_types(vec![]))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(s.checkpoint().0, size);
    s.close().await;
});

#[tokio::test]
async fn an_in_memory_sqlite_store_works_for_demos() {
    let s = seeded("sqlite::memory:").await;
    file(&s, "A").await;
    check_log(&s).await;
    assert_eq!(s.backend(), "sqlite");
    s.close().await;
}
