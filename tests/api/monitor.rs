//! `klero monitor`: an observer follows a live log round by round, resumes from its state
//! directory without re-reading what it verified, and raises an alarm, with the evidence kept, when
//! the operator rolls the log back or rewrites its history.

use klero::monitor::{AlarmKind, Monitor, Round};

use crate::both_backends;
use crate::helpers::*;

fn drop_triggers(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;",
        Backend::Postgres => "DROP TRIGGER log_no_update_or_delete ON log;",
    }
}

async fn open_monitor(url: &str, dir: &std::path::Path) -> Monitor {
    let (url, dir) = (url.to_owned(), dir.to_owned());
    tokio::task::spawn_blocking(move || Monitor::open(&url, &dir, None, &mut |_| {}))
        .await
        .unwrap()
        .expect("the monitor opens")
}

async fn round(m: Monitor) -> (Monitor, Round) {
    tokio::task::spawn_blocking(move || {
        let mut m = m;
        let r = m.round(&mut |_| {});
        (m, r)
    })
    .await
    .unwrap()
}

/// Follows the log over three rounds, is restarted, and finds nothing wrong; the copy it keeps
/// is the log.
async fn the_monitor_follows_the_log_and_resumes(b: Backend) {
    let app = spawn_app(b).await;
    let state = tempfile::tempdir().unwrap();
    let m = open_monitor(&app.url, state.path()).await;
    let (m, r) = round(m).await;
    let first = r.expect("a consistent log passes");
    assert_eq!((first.from, first.to), (0, app.size().await));
    for i in 0..3 {
        app.file(&format!("monitored {i}")).await;
    }
    let (m, r) = round(m).await;
    let second = r.expect("a grown log passes");
    assert_eq!(second.from, first.to);
    assert_eq!(second.to, app.size().await);
    assert!(second.to > second.from);
    drop(m);

    // Restarted: it replays its own copy, and a round with nothing new fetches nothing.
    app.file("after the restart").await;
    let m = open_monitor(&app.url, state.path()).await;
    assert_eq!(m.size(), second.to);
    let (_m, r) = round(m).await;
    let third = r.expect("still consistent");
    assert_eq!((third.from, third.to), (second.to, app.size().await));
    let held = std::fs::read_to_string(state.path().join("entries.jsonl")).unwrap();
    assert_eq!(held.lines().count() as u64, third.to);
    app.stop().await;
}
both_backends!(the_monitor_follows_the_log_and_resumes);

/// The operator deletes the last entries (a rollback) and, later, files other cases in their place
/// (a rewritten history signed with the same key): the monitor raises a rollback, then a fork naming
/// the entry where the histories split, and keeps both signed checkpoints.
async fn the_monitor_reports_a_rollback_and_a_fork(b: Backend) {
    let app = spawn_app(b).await;
    for i in 0..4 {
        app.file(&format!("before {i}")).await;
    }
    let split = app.size().await;
    for i in 0..3 {
        app.file(&format!("to be deleted {i}")).await;
    }
    let state = tempfile::tempdir().unwrap();
    let m = open_monitor(&app.url, state.path()).await;
    let (m, r) = round(m).await;
    let held = r.expect("consistent so far").to;
    drop(m);

    // The database administrator deletes the tail and restarts the server.
    let clerk = app.clerk.clone();
    let (db, dir) = app.stop().await;
    klero_store::testing::execute(
        &db,
        &format!("{} DELETE FROM log WHERE idx >= {split};", drop_triggers(b)),
    )
    .await
    .expect("the deleting SQL runs");
    let store = open(&db).await;
    store
        .rebuild_projections()
        .await
        .expect("projections rebuild");
    let outbox = dir.path().join("outbox");
    let (url, handle) = start(store.clone(), &outbox).await;

    let m = open_monitor(&url, state.path()).await;
    let (m, r) = round(m).await;
    let alarm = r
        .expect_err("a rollback is an alarm")
        .expect("not a mere outage");
    assert_eq!(alarm.kind, AlarmKind::Rollback, "{}", alarm.report);
    assert!(alarm.report.contains("ROLLBACK"), "{}", alarm.report);
    let evidence = std::fs::read_dir(&alarm.evidence).unwrap().count();
    assert_eq!(evidence, 3, "both notes and the report are kept");
    drop(m);

    // Other filings take the deleted ones' place until the log is longer than the held one.
    let client = klero::client::Client::new(&url);
    while store.checkpoint().0 <= held {
        let r = client
            .post(
                &format!("/api/v1/courts/{COURT}/cases"),
                Some(&clerk),
                &filing(&format!("rewritten {}", store.checkpoint().0)),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let m = open_monitor(&url, state.path()).await;
    let (_m, r) = round(m).await;
    let alarm = r
        .expect_err("a fork is an alarm")
        .expect("not a mere outage");
    assert_eq!(alarm.kind, AlarmKind::Fork, "{}", alarm.report);
    assert!(
        alarm.report.contains(&format!(
            "split at entry {}",
            klero_core::state::fmt_index(split)
        )),
        "{}",
        alarm.report
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["monitor", "--once", "--url", &url, "--state"])
        .arg(state.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALARM: FORK"), "{stdout}");
    handle.abort();
    store.close().await;
}
both_backends!(the_monitor_reports_a_rollback_and_a_fork);
