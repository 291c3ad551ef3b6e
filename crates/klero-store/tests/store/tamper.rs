use super::common::*;
use klero_store::testing::execute;
use klero_store::{Store, StoreError};

/// Drops the append-only triggers, as someone with full database access could.
async fn drop_guards(url: &str) {
    let sql = if url.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log; DROP TRIGGER log_no_truncate ON log;"
    };
    execute(url, sql).await.unwrap();
}

async fn prepared(url: &str) -> u64 {
    let s = seeded(url).await;
    for p in ["A", "B", "C"] {
        file(&s, p).await;
    }
    let size = s.checkpoint().0;
    s.close().await;
    size
}

async fn expect_corrupt(url: &str, index: u64) {
    match Store::open_with(url, klero_store::testing::options_for(url)).await {
        Err(StoreError::Corrupt(f)) => {
            assert_eq!(f.index, index, "{f}");
            let msg = StoreError::Corrupt(f).to_string();
            assert!(msg.contains(&format!("entry {index}")), "{msg}");
        }
        other => panic!("expected Corrupt at {index}, got {other:?}"),
    }
}

both!(the_database_refuses_updates_and_deletes_of_the_log, |url| {
    prepared(&url).await;
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
    open(&url).await.close().await;
});

both!(an_edited_entry_is_named_at_open, |url| {
    prepared(&url).await;
    drop_guards(&url).await;
    // Entry 2 creates the court (entry 1 publishes the log key); rename it.
    klero_store::testing::edit_entry(&url, 2, |line| {
        line.replace("North District", "South District")
    })
    .await
    .unwrap();
    expect_corrupt(&url, 2).await;
});

both!(an_edited_column_is_named_at_open, |url| {
    prepared(&url).await;
    drop_guards(&url).await;
    execute(&url, "UPDATE log SET kind = kind + 1 WHERE idx = 4")
        .await
        .unwrap();
    expect_corrupt(&url, 4).await;
});

both!(an_edited_hash_is_named_at_open, |url| {
    prepared(&url).await;
    drop_guards(&url).await;
    // Entry 4's stored hash (in `chain`: the log is one partial tile) no longer matches its
    // bytes (and entry 5's `prev` changes with it).
    execute(
        &url,
        "UPDATE chain SET hash = (SELECT hash FROM chain WHERE idx = 0) WHERE idx = 4",
    )
    .await
    .unwrap();
    expect_corrupt(&url, 4).await;
});

both!(an_entry_whose_bytes_do_not_decode_is_named_at_open, |url| {
    prepared(&url).await;
    drop_guards(&url).await;
    // One trailing byte: the canonical decoder refuses it (SPEC §3), whatever the hash says.
    let sql = if url.starts_with("sqlite") {
        "UPDATE log SET entry = CAST(entry || X'00' AS BLOB) WHERE idx = 3"
    } else {
        "UPDATE log SET entry = entry || '\\x00'::bytea WHERE idx = 3"
    };
    execute(&url, sql).await.unwrap();
    match Store::open_with(&url, klero_store::testing::options_for(&url)).await {
        Err(StoreError::Corrupt(f)) => {
            assert_eq!(f.index, 3, "{f}");
            assert!(f.message.contains("not a canonical entry"), "{f}");
        }
        other => panic!("expected Corrupt at 3, got {other:?}"),
    }
});

both!(a_deleted_entry_is_named_at_open, |url| {
    prepared(&url).await;
    drop_guards(&url).await;
    execute(&url, "DELETE FROM log WHERE idx = 5")
        .await
        .unwrap();
    expect_corrupt(&url, 5).await;
});

both!(a_deleted_last_entry_leaves_a_shorter_valid_log, |url| {
    // Truncating the end cannot be seen from the log alone; a signed checkpoint held by an
    // observer catches it. The store opens the prefix, which still verifies.
    let size = prepared(&url).await;
    drop_guards(&url).await;
    execute(&url, &format!("DELETE FROM log WHERE idx = {}", size - 1))
        .await
        .unwrap();
    let s = open(&url).await;
    assert_eq!(s.checkpoint().0, size - 1);
    s.close().await;
});

both!(an_inserted_entry_is_named_at_open, |url| {
    let size = prepared(&url).await;
    execute(
        &url,
        &format!(
            "INSERT INTO log (idx, kind, entry) SELECT {size}, kind, entry FROM log WHERE idx = 2"
        ),
    )
    .await
    .unwrap();
    expect_corrupt(&url, size).await;
});
