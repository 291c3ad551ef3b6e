use super::common::*;
use klero_store::testing::{execute, options_for};
use klero_store::{Options, Store, StoreError};

/// Options that snapshot every 4 entries; `full` replays the whole log instead.
fn every4(url: &str, full: bool) -> Options {
    Options {
        chain_length: CHAIN,
        snapshot_every: 4,
        full_check: full,
        ..options_for(url)
    }
}

async fn open4(url: &str, full: bool) -> Result<Store, StoreError> {
    Store::open_with(url, every4(url, full)).await
}

/// A seeded log with three filings, written with snapshots; returns its checkpoint.
async fn prepared(url: &str) -> (u64, klero_core::Digest32) {
    let s = open4(url, false).await.unwrap();
    seed(&s).await;
    for p in ["A", "B", "C"] {
        file(&s, p).await;
    }
    let cp = s.checkpoint();
    s.close().await;
    cp
}

both!(a_start_from_a_snapshot_replays_only_the_tail, |url| {
    let (size, root) = prepared(&url).await;
    let s = open4(&url, false).await.unwrap();
    let r = s.start_report().clone();
    let snap = r.snapshot.expect("started from a snapshot");
    assert!(snap > 0 && snap <= size, "{r:?}");
    assert_eq!(r.replayed, size - snap, "{r:?}");
    assert_eq!(r.refused, None);
    assert_eq!(s.checkpoint(), (size, root));
    // The state loaded from the snapshot goes on exactly as a replayed one would.
    file(&s, "D").await;
    let after = s.checkpoint();
    let proof = s.consistency_proof(size, after.0).unwrap();
    assert!(klero_core::merkle::verify_consistency(
        size, &root, after.0, &after.1, &proof
    ));
    s.close().await;
    let full = open4(&url, true).await.unwrap();
    assert_eq!(full.start_report().snapshot, None);
    assert_eq!(full.start_report().replayed, after.0);
    assert_eq!(full.checkpoint(), after);
    full.close().await;
});

both!(an_edited_snapshot_is_refused_and_the_log_replayed, |url| {
    let (size, root) = prepared(&url).await;
    // Replace the snapshot's bytes (here with 32 other bytes): its digest no longer matches.
    execute(&url, "UPDATE snapshots SET state = head")
        .await
        .unwrap();
    let s = open4(&url, false).await.unwrap();
    let r = s.start_report().clone();
    assert_eq!(r.snapshot, None, "{r:?}");
    assert_eq!(r.replayed, size);
    let why = r.refused.expect("the snapshot was refused");
    assert!(why.contains("altered"), "{why}");
    assert_eq!(s.checkpoint(), (size, root));
    s.close().await;
});

both!(a_snapshot_that_does_not_fit_the_log_is_refused, |url| {
    let (size, _) = prepared(&url).await;
    // A snapshot claiming a head the stored log does not have is refused even with a valid digest:
    // drop the guards and rewrite the hash column of the snapshot's last entry.
    let drop = if url.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log;"
    };
    execute(
        &url,
        &format!(
            "{drop} UPDATE log SET hash = (SELECT root FROM snapshots) \
             WHERE idx = (SELECT size - 1 FROM snapshots)"
        ),
    )
    .await
    .unwrap();
    match open4(&url, false).await {
        // The snapshot is refused, then the full replay names the altered row.
        Err(StoreError::Corrupt(f)) => assert!(f.index < size, "{f}"),
        Err(e) => panic!("expected a corrupt log, got {e}"),
        Ok(s) => panic!("opened: {:?}", s.start_report()),
    }
});

both!(
    an_edited_row_under_a_snapshot_is_caught_by_the_full_check,
    |url| {
        prepared(&url).await;
        let sql = if url.starts_with("sqlite") {
            "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;"
        } else {
            "DROP TRIGGER log_no_update_or_delete ON log;"
        };
        execute(&url, sql).await.unwrap();
        // Entry 2 creates the court; the snapshot covers it.
        klero_store::testing::edit_entry(&url, 2, |l| {
            l.replace("North District", "South District")
        })
        .await
        .unwrap();
        // A start from the snapshot trusts what the snapshot covers (see the README)...
        let s = open4(&url, false).await.unwrap();
        assert!(s.start_report().snapshot.is_some());
        s.close().await;
        // ...and the full check names the edited row.
        match open4(&url, true).await {
            Err(StoreError::Corrupt(f)) => assert_eq!(f.index, 2, "{f}"),
            Err(e) => panic!("expected a corrupt log, got {e}"),
            Ok(_) => panic!("the full check must refuse an edited row"),
        }
    }
);
