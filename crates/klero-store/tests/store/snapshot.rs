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
    let proof = s.consistency_proof(size, after.0).await.unwrap().unwrap();
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

both!(
    a_snapshot_digest_computed_without_the_pepper_is_refused,
    |url| {
        // Someone who can write the database but not read the secret store recomputes the snapshot's
        // digest as SHA-256 over its own bytes (as they would after altering the state): the start
        // refuses it, because the digest is keyed with the pepper.
        let (size, root) = prepared(&url).await;
        let hex_of = |col: &str| {
            if url.starts_with("sqlite") {
                format!("hex({col})")
            } else {
                format!("encode({col}, 'hex')")
            }
        };
        let sql = format!(
            "SELECT CAST(size AS TEXT) || ':' || {} || ':' || {} || ':' || {} || ':' || {} FROM snapshots",
            hex_of("head"),
            hex_of("root"),
            hex_of("state"),
            hex_of("tree")
        );
        let row = klero_store::testing::query_strings(&url, &sql)
            .await
            .unwrap();
        let parts: Vec<Vec<u8>> = row[0]
            .split(':')
            .skip(1)
            .map(|h| hex::decode(h).unwrap())
            .collect();
        let snap_size: u64 = row[0].split(':').next().unwrap().parse().unwrap();
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(b"klero/snapshot/v2\0");
        h.update(snap_size.to_be_bytes());
        h.update(&parts[0]);
        h.update(&parts[1]);
        h.update((parts[2].len() as u64).to_be_bytes());
        h.update(&parts[2]);
        h.update(&parts[3]);
        let unkeyed: [u8; 32] = h.finalize().into();
        execute(
            &url,
            &format!(
                "UPDATE snapshots SET digest = {}",
                klero_store::testing::blob_literal(&url, &unkeyed)
            ),
        )
        .await
        .unwrap();
        let s = open4(&url, false).await.unwrap();
        let r = s.start_report().clone();
        assert_eq!(r.snapshot, None, "{r:?}");
        assert!(
            r.refused.as_deref().is_some_and(|w| w.contains("pepper")),
            "{r:?}"
        );
        assert_eq!(s.checkpoint(), (size, root));
        s.close().await;
    }
);

both!(a_snapshot_that_does_not_fit_the_log_is_refused, |url| {
    let (size, _) = prepared(&url).await;
    // A snapshot claiming a head the stored log does not have is refused even with a valid digest:
    // rewrite the stored hash (in `chain`: the log is one partial tile) of its last entry.
    execute(
        &url,
        "UPDATE chain SET hash = (SELECT root FROM snapshots) \
         WHERE idx = (SELECT size - 1 FROM snapshots)",
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

/// A prepared log whose entry 2 (the court's creation, covered by the snapshot) is then edited
/// in the database, its guards dropped.
async fn edit_under_the_snapshot(url: &str) {
    prepared(url).await;
    let sql = if url.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log;"
    };
    execute(url, sql).await.unwrap();
    klero_store::testing::edit_entry(url, 2, |l| l.replace("North District", "South District"))
        .await
        .unwrap();
}

both!(
    an_edited_row_under_a_snapshot_is_caught_by_the_full_check,
    |url| {
        edit_under_the_snapshot(&url).await;
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

/// Options that keep no full tile in memory (every older proof reads its tile from the `tiles`
/// table) and snapshot every 64 entries.
fn lean(url: &str) -> Options {
    Options {
        chain_length: CHAIN,
        snapshot_every: 64,
        recent_tiles: 0,
        ..options_for(url)
    }
}

/// Every proof, root and level-0 tile checks against the stored entries, before and after a
/// start from a snapshot.
async fn check_proofs(s: &Store) -> Vec<klero_core::LogEntry> {
    use klero_core::merkle::{CompactRange, leaf_hash, verify_consistency, verify_inclusion};
    let entries = check_log(s).await;
    let size = entries.len() as u64;
    let mut range = CompactRange::new();
    let mut roots = vec![klero_core::merkle::empty_root()];
    for e in &entries {
        range.push(&e.hash.0);
        roots.push(range.root());
    }
    for n in [1, 2, 255, 256, 257, 300, 511, 512, size - 1, size] {
        assert_eq!(s.root_at(n).await.unwrap(), Some(roots[n as usize]), "{n}");
    }
    for (i, n) in [
        (0, size),
        (3, 257),
        (255, 256),
        (256, size),
        (300, 512),
        (size - 1, size),
    ] {
        let p = s.inclusion_proof(i, n).await.unwrap().unwrap();
        assert!(verify_inclusion(
            &roots[n as usize],
            n,
            i,
            &entries[i as usize].hash,
            &p
        ));
    }
    for (o, n) in [
        (1, size),
        (200, 300),
        (256, 512),
        (257, size),
        (size - 1, size),
    ] {
        let p = s.consistency_proof(o, n).await.unwrap().unwrap();
        assert!(verify_consistency(
            o,
            &roots[o as usize],
            n,
            &roots[n as usize],
            &p
        ));
    }
    let t = s.tile(0, 1, 256).await.unwrap().unwrap();
    let want: Vec<_> = entries[256..512]
        .iter()
        .map(|e| leaf_hash(&e.hash.0))
        .collect();
    assert_eq!(t, want);
    assert_eq!(s.tile(0, 1, 7).await.unwrap().unwrap(), want[..7]);
    assert_eq!(s.tile(0, size / 256 + 1, 1).await.unwrap(), None);
    entries
}

/// A store with more than 600 entries (two full tiles and a partial one), closed.
async fn past_two_tiles(url: &str) -> Vec<klero_core::LogEntry> {
    let s = Store::open_with(url, lean(url)).await.unwrap();
    seed(&s).await;
    let mut i = 0;
    while s.checkpoint().0 < 600 {
        file(&s, &format!("P{i}")).await;
        i += 1;
    }
    let entries = check_proofs(&s).await;
    s.close().await;
    entries
}

/// Drops the guards of the `log` and `tiles` tables.
fn unguard(url: &str) -> &'static str {
    if url.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete; \
         DROP TRIGGER tiles_no_update; DROP TRIGGER tiles_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log; \
         DROP TRIGGER tiles_no_update_or_delete ON tiles; DROP TRIGGER tiles_no_truncate ON tiles;"
    }
}

both!(
    older_tiles_are_read_from_the_tiles_table_and_an_altered_tile_refused,
    |url| {
        let entries = past_two_tiles(&url).await;
        // One row per full tile: the leaf hashes of its 256 entries.
        let rows =
            klero_store::testing::query_strings(&url, "SELECT CAST(COUNT(*) AS TEXT) FROM tiles")
                .await
                .unwrap();
        assert_eq!(rows, vec![(entries.len() / 256).to_string()]);

        // A start from the snapshot reads its tree hashes, not every stored hash.
        let s = Store::open_with(&url, lean(&url)).await.unwrap();
        let snap = s.start_report().snapshot.expect("started from a snapshot");
        assert!(snap >= 576, "{:?}", s.start_report());
        check_proofs(&s).await;
        file(&s, "after").await;

        // The stored tile of entries 256..512 is altered under the running store (it is given the
        // leaf hashes of tile 0): a proof that reads it refuses, and the store then refuses to
        // serve the log or to append.
        execute(
            &url,
            &format!(
                "{} UPDATE tiles SET hashes = (SELECT hashes FROM tiles WHERE idx = 0) \
                 WHERE idx = 1",
                unguard(&url)
            ),
        )
        .await
        .unwrap();
        let size = s.checkpoint().0;
        match s.inclusion_proof(3, size).await {
            Ok(_) => {}
            Err(e) => panic!("tile 0 is intact: {e}"),
        }
        match s.inclusion_proof(300, size).await {
            Err(StoreError::Corrupt(f)) => {
                assert_eq!(f.index, 256, "{f}");
                assert!(f.message.contains("altered"), "{f}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(s.refusal().is_some());
        assert!(matches!(s.entries(0, 1).await, Err(StoreError::Corrupt(_))));
        assert!(matches!(
            s.submit(filing(s.pepper(), "refused".into())).await,
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(s.checkpoint().0, size);
        s.close().await;
    }
);

both!(
    the_full_check_compares_every_tile_row_with_the_entries,
    |url| {
        past_two_tiles(&url).await;
        let s = Store::open_with(&url, lean(&url)).await.unwrap();
        assert_eq!(s.full_check().await.unwrap(), s.checkpoint().0);
        // The row of tile 0 is replaced by that of tile 1: no proof has read it yet, the full
        // check names it.
        execute(
            &url,
            &format!(
                "{} UPDATE tiles SET hashes = (SELECT hashes FROM tiles WHERE idx = 1) \
                 WHERE idx = 0",
                unguard(&url)
            ),
        )
        .await
        .unwrap();
        assert!(s.refusal().is_none());
        match s.full_check().await {
            Err(StoreError::Corrupt(f)) => {
                assert_eq!(f.index, 0, "{f}");
                assert!(f.message.contains("tiles table was altered"), "{f}");
            }
            other => panic!("expected the check to fail, got {other:?}"),
        }
        assert_eq!(s.refusal().map(|f| f.index), Some(0));
        s.close().await;
    }
);

both!(a_deleted_tile_row_is_refused, |url| {
    past_two_tiles(&url).await;
    let s = Store::open_with(&url, lean(&url)).await.unwrap();
    execute(
        &url,
        &format!("{} DELETE FROM tiles WHERE idx = 1", unguard(&url)),
    )
    .await
    .unwrap();
    let size = s.checkpoint().0;
    assert!(s.inclusion_proof(3, size).await.unwrap().is_some());
    match s.inclusion_proofs(&[3, 300], size).await {
        Err(StoreError::Corrupt(f)) => {
            assert_eq!(f.index, 256, "{f}");
            assert!(f.message.contains("missing"), "{f}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(s.refusal().map(|f| f.index), Some(256));
    s.close().await;
    // The full check of a new start names it too.
    let s = Store::open_with(&url, lean(&url)).await.unwrap();
    match s.full_check().await {
        Err(StoreError::Corrupt(f)) => assert_eq!(f.index, 256, "{f}"),
        other => panic!("expected the check to fail, got {other:?}"),
    }
    s.close().await;
});

both!(the_database_refuses_updates_and_deletes_of_tiles, |url| {
    past_two_tiles(&url).await;
    assert!(
        execute(&url, "UPDATE tiles SET idx = 5 WHERE idx = 1")
            .await
            .is_err()
    );
    assert!(
        execute(&url, "DELETE FROM tiles WHERE idx = 1")
            .await
            .is_err()
    );
    let rows =
        klero_store::testing::query_strings(&url, "SELECT CAST(COUNT(*) AS TEXT) FROM tiles")
            .await
            .unwrap();
    assert_eq!(rows, vec!["2".to_string()]);
});

both!(the_migration_fills_the_tiles_of_an_existing_log, |url| {
    let entries = past_two_tiles(&url).await;
    // Back to schema 6: no tiles table (and the hash column of schema 10 back).
    klero_store::testing::back_to_schema_10(&url, |_, _, _| {})
        .await
        .unwrap();
    let revert = if url.starts_with("sqlite") {
        "DROP TABLE tiles; DELETE FROM klero_schema WHERE version = 7;"
    } else {
        "DROP TABLE tiles; DROP FUNCTION klero_tiles_append_only(); \
             DELETE FROM klero_schema WHERE version = 7;"
    };
    execute(&url, revert).await.unwrap();
    // Opening migrates: the rows are computed from the stored hashes.
    let s = Store::open_with(&url, lean(&url)).await.unwrap();
    let rows =
        klero_store::testing::query_strings(&url, "SELECT CAST(COUNT(*) AS TEXT) FROM tiles")
            .await
            .unwrap();
    assert_eq!(rows, vec![(entries.len() / 256).to_string()]);
    check_proofs(&s).await;
    assert_eq!(s.full_check().await.unwrap(), s.checkpoint().0);
    // New tiles are written by the writer as before.
    while s.checkpoint().0 < 800 {
        file(&s, "more").await;
    }
    check_proofs(&s).await;
    assert_eq!(s.full_check().await.unwrap(), s.checkpoint().0);
    s.close().await;
});

both!(
    several_inclusion_proofs_at_once_are_the_single_ones,
    |url| {
        past_two_tiles(&url).await;
        let s = Store::open_with(&url, lean(&url)).await.unwrap();
        let size = s.checkpoint().0;
        let indices = [300, 3, 299, 511, size - 1, 0];
        let all = s.inclusion_proofs(&indices, size).await.unwrap().unwrap();
        for (i, p) in indices.iter().zip(all) {
            assert_eq!(Some(p), s.inclusion_proof(*i, size).await.unwrap(), "{i}");
        }
        assert_eq!(s.inclusion_proofs(&[3, size], size).await.unwrap(), None);
        assert_eq!(s.inclusion_proofs(&[], size).await.unwrap(), Some(vec![]));
        s.close().await;
    }
);

both!(
    the_background_check_names_an_edited_row_under_a_snapshot,
    |url| {
        edit_under_the_snapshot(&url).await;
        // The start trusts the rows under the snapshot, so it opens and serves...
        let s = open4(&url, false).await.unwrap();
        assert!(s.start_report().snapshot.is_some());
        assert!(s.refusal().is_none());
        file(&s, "E").await;
        // ...until the full check replays them.
        match s.full_check().await {
            Err(StoreError::Corrupt(f)) => assert_eq!(f.index, 2, "{f}"),
            other => panic!("expected the check to fail, got {other:?}"),
        }
        assert_eq!(s.refusal().map(|f| f.index), Some(2));
        assert!(matches!(
            s.inclusion_proof(0, 3).await,
            Err(StoreError::Corrupt(_))
        ));
        s.close().await;
    }
);

both!(the_full_check_passes_an_honest_log, |url| {
    let (size, _) = prepared(&url).await;
    let s = open4(&url, false).await.unwrap();
    assert!(s.start_report().snapshot.is_some());
    assert_eq!(s.full_check().await.unwrap(), size);
    assert!(s.refusal().is_none());
    file(&s, "E").await;
    s.close().await;
});

/// The case filed by `entries` (a filing and its draw) and the draw's method.
fn filed(entries: &[klero_core::LogEntry]) -> (klero_core::CaseId, klero_core::Method) {
    use klero_core::Event;
    let case = entries.iter().find_map(|e| match &e.event {
        Event::CaseFiled { case, .. } => Some(case.clone()),
        _ => None,
    });
    let method = entries.iter().find_map(|e| match &e.event {
        Event::Draw(d) => Some(d.method.clone()),
        _ => None,
    });
    (case.expect("a filing"), method.expect("a draw"))
}

async fn close_case(s: &Store, case: &klero_core::CaseId) {
    let case = case.clone();
    s.submit(move |_: &klero_core::State| {
        Ok((
            clerk(),
            klero_core::Event::CaseClosed {
                case,
                reason: klero_core::ClosingReason::Judgment,
            },
        ))
    })
    .await
    .expect("closing accepted");
}

both!(
    a_tail_that_refiles_an_evicted_matter_replays_when_the_archive_holds_the_later_filing,
    |url| {
        // Case A is filed, closed and evicted, and a snapshot taken after.
        let s = open4(&url, false).await.unwrap();
        seed(&s).await;
        let (a, _) = filed(&file(&s, "A").await);
        close_case(&s, &a).await;
        for p in ["B", "C", "D"] {
            file(&s, p).await;
        }
        assert!(s.read(|st| st.case(&a).is_none()), "A is still in memory");
        s.close().await;
        // Without snapshots from here: the same matter filed again (a duplicate of A, SPEC
        // §7.7), then closed and archived in its turn.
        let s = Store::open_with(
            &url,
            Options {
                snapshot_every: 0,
                ..every4(&url, false)
            },
        )
        .await
        .unwrap();
        let snap = s.start_report().snapshot.expect("a snapshot");
        let (copy, method) = filed(&file(&s, "A").await);
        assert_eq!(method, klero_core::Method::Duplicate { case: a.clone() });
        close_case(&s, &copy).await;
        file(&s, "E").await;
        let cp = s.checkpoint();
        s.close().await;
        // A start from the snapshot replays the copy's filing while the archive's latest case of
        // the matter is the copy itself, filed after the entry replayed: A must be read, not it.
        let s = open4(&url, false).await.expect("the tail replays");
        assert_eq!(s.start_report().snapshot, Some(snap));
        assert_eq!(s.checkpoint(), cp);
        let (_, method) = filed(&file(&s, "A").await);
        assert_eq!(method, klero_core::Method::Duplicate { case: copy });
        s.close().await;
    }
);

/// Cases filed and closed until the filter of evicted cases has a full filter (its first takes
/// 16,384 items, one for each evicted case: its duplicate key), then one more filing on a store
/// that snapshots every 4 entries: the last snapshot names the full filter. Returns the store,
/// still open.
async fn with_a_full_filter(url: &str) -> Store {
    let s = Store::open_with(
        url,
        Options {
            snapshot_every: 0,
            ..every4(url, false)
        },
    )
    .await
    .unwrap();
    seed(&s).await;
    let mut tasks = Vec::new();
    for w in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..520 {
                let (case, _) = filed(&file(&s, &format!("P-{w}-{i}")).await);
                close_case(&s, &case).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    s.close().await;
    let s = open4(url, false).await.unwrap();
    file(&s, "after").await;
    file(&s, "after too").await;
    assert!(s.read(|st| st.seen().filters()) >= 2);
    s
}

const FILTER_ROWS: &str = "SELECT CAST(COUNT(*) AS TEXT) FROM seen_filters";

both!(
    a_snapshot_names_its_full_filters_which_are_stored_once_and_read_back,
    |url| {
        let s = with_a_full_filter(&url).await;
        let cp = s.checkpoint();
        s.close().await;
        let rows = klero_store::testing::query_strings(&url, FILTER_ROWS)
            .await
            .unwrap();
        assert_eq!(rows, vec!["1".to_string()]);
        let s = open4(&url, false).await.unwrap();
        let r = s.start_report().clone();
        assert!(r.snapshot.is_some() && r.refused.is_none(), "{r:?}");
        assert_eq!(s.checkpoint(), cp);
        // The full filter has its words back: new matters send (almost) no lookup to the
        // archive (a filter without them answers "maybe" for every number and key, 40 misses
        // here), and a matter filed and evicted long ago is still found, as a duplicate.
        assert!(s.read(|st| st.seen().stubs().is_empty()));
        let before = s.archive_lookups();
        for i in 0..20 {
            file(&s, &format!("a matter never filed {i}")).await;
        }
        let missed = s.archive_lookups().missed - before.missed;
        assert!(missed <= 3, "{missed} archive lookups found nothing");
        let (_, method) = filed(&file(&s, "P-3-7").await);
        assert!(
            matches!(method, klero_core::Method::Duplicate { .. }),
            "{method:?}"
        );
        // A row no snapshot names goes with the next snapshot.
        execute(
            &url,
            &format!(
                "INSERT INTO seen_filters (digest, words) VALUES ({}, {})",
                klero_store::testing::blob_literal(&url, &[7; 32]),
                klero_store::testing::blob_literal(&url, &[0; 8])
            ),
        )
        .await
        .unwrap();
        for p in ["x1", "x2"] {
            file(&s, p).await;
        }
        s.close().await;
        let rows = klero_store::testing::query_strings(&url, FILTER_ROWS)
            .await
            .unwrap();
        assert_eq!(rows, vec!["1".to_string()]);
    }
);

both!(
    a_full_filter_altered_or_deleted_in_the_database_refuses_the_snapshot,
    |url| {
        let s = with_a_full_filter(&url).await;
        let cp = s.checkpoint();
        s.close().await;
        // Its words zeroed (a filter that says "no" to everything would unbind duplicates).
        let zero = if url.starts_with("sqlite") {
            "UPDATE seen_filters SET words = zeroblob(length(words))"
        } else {
            "UPDATE seen_filters SET words = decode(repeat('00', octet_length(words)), 'hex')"
        };
        execute(&url, zero).await.unwrap();
        let s = open4(&url, false).await.unwrap();
        let r = s.start_report().clone();
        assert_eq!(r.snapshot, None, "{r:?}");
        let why = r.refused.expect("refused");
        assert!(why.contains("stored altered"), "{why}");
        assert_eq!(s.checkpoint(), cp);
        assert!(s.read(|st| st.seen().stubs().is_empty()));
        s.close().await;
        // The start wrote no snapshot (nothing was appended): delete the row instead.
        execute(&url, "DELETE FROM seen_filters").await.unwrap();
        let s = open4(&url, false).await.unwrap();
        let r = s.start_report().clone();
        assert_eq!(r.snapshot, None, "{r:?}");
        let why = r.refused.expect("refused");
        assert!(why.contains("not stored"), "{why}");
        assert_eq!(s.checkpoint(), cp);
        s.close().await;
    }
);
