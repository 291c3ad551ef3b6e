use klero_store::StoreError;

use crate::both_backends;
use crate::helpers::*;

fn drop_triggers(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;",
        Backend::Postgres => "DROP TRIGGER log_no_update_or_delete ON log;",
    }
}

/// Files a few cases, applies `sql` (with `{n}` replaced by the index of a draw entry in the
/// middle of the log) directly in the database, and checks that verifying the live server's log
/// fails at `n + offset`, through the library and through the `klero` binary, and that the store
/// refuses to reopen the database.
async fn tamper(b: Backend, sql: &str, offset: u64) {
    tamper_with(b, sql, None, offset).await;
}

/// [`tamper`], and if `edit` is given, rewrites entry `n` through its JSON view with it.
async fn tamper_with(b: Backend, sql: &str, edit: Option<fn(String) -> String>, offset: u64) {
    let app = spawn_app(b).await;
    let mut draws = vec![];
    for i in 0..6 {
        let f = app.file(&format!("tamper {i}")).await;
        draws.push(f["proof"]["draw"]["entry"]["index"].as_u64().unwrap());
    }
    app.assert_verifies().await;
    let n = draws[3];
    let sql = format!(
        "{} {}",
        drop_triggers(b),
        sql.replace("{n}", &n.to_string())
    );
    klero_store::testing::execute(&app.db, &sql)
        .await
        .expect("the tampering SQL runs");
    if let Some(edit) = edit {
        klero_store::testing::edit_entry(&app.db, n, edit)
            .await
            .expect("the entry is rewritten");
    }

    let r = app.verify().await;
    let f = r.report.failure.expect("the tampered log must not verify");
    assert_eq!(f.index, n + offset, "{f}");
    assert!(
        f.to_string()
            .starts_with(&format!("entry {} (SPEC §", n + offset)),
        "{f}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["verify", "--url", &app.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("FAILED: entry {} (SPEC §", n + offset)),
        "{stdout}"
    );

    let (db, _dir) = app.stop().await;
    match klero_store::Store::open_with(&db, options_for(&db)).await {
        Err(StoreError::Corrupt(f)) => assert_eq!(f.index, n + offset, "{f}"),
        Err(e) => panic!("expected a corrupt log, got {e}"),
        Ok(_) => panic!("a tampered database must not open"),
    }
}

async fn an_edited_draw_row_is_named(b: Backend) {
    // Swap the chosen judge's digits inside the stored entry, leaving the other columns alone.
    tamper_with(
        b,
        "",
        Some(|line| {
            line.replace(r#""chosen":["J-"#, r#""chosen":["X-"#)
                .replace(r#""chosen":["X-1"#, r#""chosen":["J-0"#)
                .replace(r#""chosen":["X-0"#, r#""chosen":["J-1"#)
        }),
        0,
    )
    .await;
}
both_backends!(an_edited_draw_row_is_named);

async fn a_deleted_row_is_named(b: Backend) {
    tamper(b, "DELETE FROM log WHERE idx = {n};", 0).await;
}
both_backends!(a_deleted_row_is_named);

async fn an_inserted_row_is_named(b: Backend) {
    tamper(
        b,
        "UPDATE log SET idx = idx + 1000000 WHERE idx >= {n}; \
         UPDATE log SET idx = idx - 999999 WHERE idx >= 1000000; \
         INSERT INTO log (idx, kind, entry) SELECT idx + 2, kind, entry FROM log WHERE idx = {n} - 2;",
        0,
    )
    .await;
}
both_backends!(an_inserted_row_is_named);

/// Snapshots every 16 entries; no full tile kept in memory.
fn snapshot_often(db: &str) -> klero_store::Options {
    klero_store::Options {
        snapshot_every: 16,
        recent_tiles: 0,
        ..options_for(db)
    }
}

/// A row edited under a snapshot is not read by a start from that snapshot; the scheduled
/// background check replays it, names the entry, and from then on the API answers 503 for the
/// log's data and refuses writes.
async fn the_background_check_refuses_a_log_edited_under_its_snapshot(b: Backend) {
    let app = spawn_app_with(b, snapshot_often).await;
    let mut draws = vec![];
    for i in 0..12 {
        let f = app.file(&format!("checked {i}")).await;
        draws.push(f["proof"]["draw"]["entry"]["index"].as_u64().unwrap());
    }
    app.assert_verifies().await;
    let clerk = app.clerk.clone();
    let n = draws[2];
    let (db, dir) = app.stop().await;
    klero_store::testing::execute(&db, drop_triggers(b))
        .await
        .expect("the guards drop");
    klero_store::testing::edit_entry(&db, n, |line| {
        line.replace(r#""chosen":["J-"#, r#""chosen":["X-"#)
            .replace(r#""chosen":["X-1"#, r#""chosen":["J-0"#)
            .replace(r#""chosen":["X-0"#, r#""chosen":["J-1"#)
    })
    .await
    .expect("the entry is rewritten");

    let store = klero_store::Store::open_with(&db, snapshot_often(&db))
        .await
        .expect("a start from the snapshot does not read the rows under it");
    let snap = store
        .start_report()
        .snapshot
        .expect("started from a snapshot");
    assert!(snap > n, "snapshot {snap}, edited entry {n}");
    let (url, handle) = start(store.clone(), &dir.path().join("outbox")).await;
    let client = klero::client::Client::new(&url);
    let r = client.get("/api/v1/log/checkpoint", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());

    let checks = store.spawn_full_checks(std::time::Duration::from_millis(100));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.refusal().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the check did not run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.refusal().map(|f| f.index), Some(n));
    let named = format!("the stored log does not verify: entry {n} (SPEC §");
    for path in [
        "/api/v1/log/checkpoint".to_owned(),
        "/api/v1/log/entries?start=0&end=3".to_owned(),
        format!("/api/v1/log/inclusion?index={n}"),
        "/tile/0/000.p/3".to_owned(),
        "/checkpoint".to_owned(),
    ] {
        let r = client.get(&path, None).await.unwrap();
        assert_problem(&r, 503, "log-does-not-verify");
        assert!(
            r.json()["detail"].as_str().unwrap().starts_with(&named),
            "{path}: {}",
            r.text()
        );
    }
    let r = client
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            Some(&clerk),
            &filing("after the check"),
        )
        .await
        .unwrap();
    assert_problem(&r, 503, "log-does-not-verify");
    // The store itself refuses too (for callers other than the API).
    match store.entries(0, 1).await {
        Err(StoreError::Corrupt(f)) => assert_eq!(f.index, n),
        other => panic!("expected a refusal, got {other:?}"),
    }
    checks.abort();
    handle.abort();
    let _ = handle.await;
    store.close().await;
    drop(dir);
}
both_backends!(the_background_check_refuses_a_log_edited_under_its_snapshot);
