use super::common::*;
use klero_store::testing::execute;
use klero_store::{Store, StoreError};

both!(a_schema_newer_than_the_code_refuses_to_open, |url| {
    let s = open(&url).await;
    s.close().await;
    execute(
        &url,
        "INSERT INTO klero_schema (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 0)",
    )
    .await
    .unwrap();
    match Store::open_with(&url, klero_store::testing::options_for(&url)).await {
        Err(
            e @ StoreError::SchemaTooNew {
                found: 999,
                known: 14,
            },
        ) => {
            assert!(e.to_string().contains("999"), "{e}");
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
});

both!(an_edited_shipped_migration_refuses_to_open, |url| {
    let s = open(&url).await;
    s.close().await;
    execute(
        &url,
        "UPDATE klero_schema SET checksum = 'edited' WHERE version = 1",
    )
    .await
    .unwrap();
    match Store::open_with(&url, klero_store::testing::options_for(&url)).await {
        Err(StoreError::Database(m)) => assert!(m.contains("edited"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
});

both!(opening_twice_migrates_once, |url| {
    let s = open(&url).await;
    s.close().await;
    let s = open(&url).await;
    s.close().await;
});
