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

/// [`tamper`], and if `edit` is given, rewrites the stored JSON line of entry `n` with it.
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
    // Swap the chosen judge's digits inside the stored JSON, leaving the other columns alone.
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
         INSERT INTO log (idx, at, kind, hash, entry) SELECT idx + 2, at, kind, hash, entry FROM log WHERE idx = {n} - 2;",
        0,
    )
    .await;
}
both_backends!(an_inserted_row_is_named);
