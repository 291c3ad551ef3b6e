use super::common::*;
use klero_store::testing::{back_to_schema_10, execute, options_for, query_strings};
use klero_store::{Options, Store, StoreError};

/// No snapshots, and a full replay at every open.
fn replaying(url: &str) -> Options {
    Options {
        chain_length: CHAIN,
        snapshot_every: 0,
        full_check: true,
        ..options_for(url)
    }
}

/// A store past two full tiles (more than 600 entries), closed; its entries.
async fn past_two_tiles(url: &str) -> Vec<klero_core::LogEntry> {
    let s = Store::open_with(url, replaying(url)).await.unwrap();
    seed(&s).await;
    let mut i = 0;
    while s.checkpoint().0 < 600 {
        file(&s, &format!("P{i}")).await;
        i += 1;
    }
    let entries = check_log(&s).await;
    s.close().await;
    entries
}

/// The entries whose hash `chain` holds in a log of `size` entries: the last of each group of 32
/// in full tiles and every one of the partial tile.
fn chained(size: u64) -> Vec<String> {
    (0..size)
        .filter(|i| i % 32 == 31 || *i >= size / 256 * 256)
        .map(|i| i.to_string())
        .collect()
}

async fn chain_rows(url: &str) -> Vec<String> {
    // (Sorted here: PostgreSQL would order the text.)
    let mut rows: Vec<u64> = query_strings(url, "SELECT CAST(idx AS TEXT) FROM chain")
        .await
        .unwrap()
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    rows.sort_unstable();
    rows.iter().map(u64::to_string).collect()
}

async fn refused(url: &str) -> klero_core::Failure {
    match Store::open_with(url, replaying(url)).await {
        Err(StoreError::Corrupt(f)) => f,
        Err(e) => panic!("expected a corrupt log, got {e}"),
        Ok(_) => panic!("a tampered database opened"),
    }
}

/// Drops the guards of the `log` and `tiles` tables.
fn unguard(url: &str) -> &'static str {
    if url.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete; \
         DROP TRIGGER tiles_no_update; DROP TRIGGER tiles_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log; \
         DROP TRIGGER tiles_no_update_or_delete ON tiles;"
    }
}

both!(
    only_the_partial_tile_and_each_tiles_last_entry_keep_a_stored_hash,
    |url| {
        let entries = past_two_tiles(&url).await;
        let size = entries.len() as u64;
        assert_eq!(chain_rows(&url).await, chained(size));
        // Entries read back whole from any start: inside a full tile (hashed from the last
        // entry of the tile before), at a tile's edge, in the partial tile.
        let s = Store::open_with(&url, replaying(&url)).await.unwrap();
        for start in [
            0,
            1,
            200,
            255,
            256,
            287,
            288,
            300,
            511,
            512,
            size - 2,
            size - 1,
        ] {
            assert_eq!(
                s.entries(start, size).await.unwrap(),
                entries[start as usize..],
                "{start}"
            );
            assert_eq!(
                s.entries(start, start + 1).await.unwrap(),
                entries[start as usize..=start as usize],
                "{start}"
            );
        }
        // The log goes on; the rows of a tile that fills go with it.
        while s.checkpoint().0 < 800 {
            file(&s, "more").await;
        }
        let size = s.checkpoint().0;
        assert_eq!(chain_rows(&url).await, chained(size));
        check_log(&s).await;
        assert_eq!(s.full_check().await.unwrap(), size);
        s.close().await;
    }
);

both!(an_edited_entry_inside_a_full_tile_is_named_at_open, |url| {
    past_two_tiles(&url).await;
    // Entry 300 (tile 1, whose entries have no `chain` row) gets the bytes of entry 302 (of the
    // same type): it still decodes, as entry 300, but its hash is not its tile's leaf.
    execute(
        &url,
        &format!(
            "{} UPDATE log SET kind = (SELECT kind FROM log WHERE idx = 302), \
             entry = (SELECT entry FROM log WHERE idx = 302) WHERE idx = 300",
            unguard(&url)
        ),
    )
    .await
    .unwrap();
    let f = refused(&url).await;
    assert_eq!(f.index, 300, "{f}");
    assert!(f.message.contains("tiles table"), "{f}");
});

both!(an_edited_tile_row_is_named_at_open, |url| {
    past_two_tiles(&url).await;
    execute(
        &url,
        &format!(
            "{} UPDATE tiles SET hashes = (SELECT hashes FROM tiles WHERE idx = 0) WHERE idx = 1",
            unguard(&url)
        ),
    )
    .await
    .unwrap();
    let f = refused(&url).await;
    assert_eq!(f.index, 256, "{f}");
    assert!(f.message.contains("tiles table"), "{f}");
});

both!(a_deleted_stored_hash_is_named, |url| {
    let entries = past_two_tiles(&url).await;
    let size = entries.len() as u64;
    let s = Store::open_with(&url, replaying(&url)).await.unwrap();
    // The stored hash of entry 287 (the last of its group of 32) is where a reader of entries
    // 288..320 starts.
    execute(&url, "DELETE FROM chain WHERE idx = 287")
        .await
        .unwrap();
    match s.entries(300, 310).await {
        Err(StoreError::Corrupt(f)) => {
            assert_eq!(f.index, 287, "{f}");
            assert!(f.message.contains("chain table"), "{f}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    s.close().await;
    // An entry of the partial tile without its stored hash is named at open.
    execute(&url, &format!("DELETE FROM chain WHERE idx = {}", size - 3))
        .await
        .unwrap();
    let f = refused(&url).await;
    assert_eq!(f.index, size - 3, "{f}");
    assert!(f.message.contains("no stored hash"), "{f}");
});

both!(a_schema_10_log_is_converted, |url| {
    let entries = past_two_tiles(&url).await;
    let size = entries.len() as u64;
    back_to_schema_10(&url, |_, _, _| {}).await.unwrap();
    assert!(
        query_strings(&url, "SELECT CAST(COUNT(hash) AS TEXT) FROM log")
            .await
            .is_ok()
    );
    // Opening migrates: the log rows lose their hash and their first nine bytes, `chain` is
    // filled, and everything reads and verifies as before.
    let s = Store::open_with(&url, replaying(&url)).await.unwrap();
    assert_eq!(s.checkpoint().0, size);
    assert_eq!(s.entries(0, size).await.unwrap(), entries);
    assert_eq!(s.entries(300, 301).await.unwrap(), entries[300..301]);
    assert_eq!(s.full_check().await.unwrap(), size);
    assert_eq!(chain_rows(&url).await, chained(size));
    assert!(
        query_strings(&url, "SELECT CAST(COUNT(hash) AS TEXT) FROM log")
            .await
            .is_err()
    );
    let tables = query_strings(
        &url,
        if url.starts_with("sqlite") {
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        } else {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        },
    )
    .await
    .unwrap();
    assert!(!tables.iter().any(|t| t == "log_v10"), "{tables:?}");
    file(&s, "after").await;
    check_log(&s).await;
    s.close().await;
    // Still append-only.
    assert!(
        execute(&url, "UPDATE log SET kind = 0 WHERE idx = 1")
            .await
            .is_err()
    );
    assert!(
        execute(&url, "DELETE FROM log WHERE idx = 1")
            .await
            .is_err()
    );
    Store::open_with(&url, replaying(&url))
        .await
        .unwrap()
        .close()
        .await;
});

/// The schema version recorded in the database at `url`.
async fn version(url: &str) -> String {
    query_strings(url, "SELECT CAST(MAX(version) AS TEXT) FROM klero_schema")
        .await
        .unwrap()
        .remove(0)
}

both!(
    a_schema_10_hash_that_does_not_match_refuses_the_migration,
    |url| {
        past_two_tiles(&url).await;
        // Entry 300's stored hash is changed (its tile row holds the true one).
        back_to_schema_10(&url, |i, hash, _| {
            if i == 300 {
                hash[0] ^= 1;
            }
        })
        .await
        .unwrap();
        let f = refused(&url).await;
        assert_eq!(f.index, 300, "{f}");
        assert!(f.message.contains("migration 11 refused"), "{f}");
        // Nothing was changed: the hashes are still there.
        assert_eq!(version(&url).await, "10");
        assert!(
            query_strings(&url, "SELECT CAST(COUNT(hash) AS TEXT) FROM log")
                .await
                .is_ok()
        );
    }
);

both!(
    a_schema_10_entry_that_does_not_match_its_hash_refuses_the_migration,
    |url| {
        past_two_tiles(&url).await;
        back_to_schema_10(&url, |i, _, bytes| {
            if i == 590 {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
            }
        })
        .await
        .unwrap();
        let f = refused(&url).await;
        assert_eq!(f.index, 590, "{f}");
        assert!(f.message.contains("migration 11 refused"), "{f}");
        assert_eq!(version(&url).await, "10");
    }
);

both!(
    a_schema_10_tile_row_that_does_not_match_refuses_the_migration,
    |url| {
        past_two_tiles(&url).await;
        back_to_schema_10(&url, |_, _, _| {}).await.unwrap();
        let unguard_tiles = if url.starts_with("sqlite") {
            "DROP TRIGGER tiles_no_update; DROP TRIGGER tiles_no_delete;"
        } else {
            "DROP TRIGGER tiles_no_update_or_delete ON tiles;"
        };
        execute(
            &url,
            &format!(
                "{unguard_tiles} UPDATE tiles SET hashes = (SELECT hashes FROM tiles WHERE idx = 0) \
                 WHERE idx = 1"
            ),
        )
        .await
        .unwrap();
        let f = refused(&url).await;
        assert_eq!(f.index, 256, "{f}");
        assert!(f.message.contains("migration 11 refused"), "{f}");
        assert_eq!(version(&url).await, "10");
    }
);
