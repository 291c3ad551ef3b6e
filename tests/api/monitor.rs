//! `klero monitor`: an observer follows a live log round by round, resumes from its state
//! directory without re-reading what it verified, and raises an alarm, with the evidence kept, when
//! the operator rolls the log back or rewrites its history; through the JSON API or as tlog-tiles
//! from `klero serve` or from a plain static web server holding `klero export-tiles`.

use std::path::{Path, PathBuf};

use klero::monitor::{AlarmKind, Feed, Monitor, Round};

use crate::both_backends;
use crate::helpers::*;

fn drop_triggers(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;",
        Backend::Postgres => "DROP TRIGGER log_no_update_or_delete ON log;",
    }
}

async fn open_monitor(url: &str, dir: &std::path::Path) -> Monitor {
    open_feed(Feed::Api(url.to_owned()), dir).await
}

async fn open_feed(feed: Feed, dir: &std::path::Path) -> Monitor {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || Monitor::open_feed(&feed, &dir, None, &mut |_| {}))
        .await
        .unwrap()
        .expect("the monitor opens")
}

/// The monitor on the command line, one round: its exit code and standard output.
fn monitor_once(flag: &str, source: &str, state: &Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["monitor", "--once", flag, source, "--state"])
        .arg(state)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A plain static web server over `dir`, as a mirror or a CDN would hold an export: a file's bytes,
/// or 404. Nothing of klero's.
async fn serve_static(dir: &Path) -> (String, tokio::task::JoinHandle<()>) {
    let dir = dir.to_owned();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let dir = dir.clone();
        async move {
            let rel = uri.path().trim_start_matches('/');
            match (rel.contains(".."), std::fs::read(dir.join(rel))) {
                (false, Ok(bytes)) => (axum::http::StatusCode::OK, bytes),
                _ => (axum::http::StatusCode::NOT_FOUND, b"not found".to_vec()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, handle)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A copy of the export in `from` with `f` applied to the file at `rel`.
fn tampered_copy(from: &Path, rel: &str, f: &dyn Fn(&mut Vec<u8>)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for p in files(from) {
        let to = copy.path().join(p.strip_prefix(from).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&p, &to).unwrap();
    }
    let target = copy.path().join(rel);
    let mut bytes = std::fs::read(&target).unwrap();
    f(&mut bytes);
    std::fs::write(&target, bytes).unwrap();
    copy
}

/// A static mirror (a directory written by `klero export-tiles`, served by a plain web server) is
/// enough to follow the log: the monitor follows it as the log grows past a bundle, resumes without
/// re-reading anything, keeps the same copy as a monitor of the API, and follows `klero serve`'s
/// own tiles too. A tile the mirror does not have yet is trouble, not an alarm, and the next round
/// resumes.
async fn the_monitor_follows_a_static_mirror_of_the_tiles(b: Backend) {
    let app = spawn_app(b).await;
    let mirror = tempfile::tempdir().unwrap();
    klero::tiles::export_tiles(&app.store, mirror.path())
        .await
        .unwrap();
    let (static_url, static_handle) = serve_static(mirror.path()).await;
    let state = tempfile::tempdir().unwrap();
    let m = open_feed(Feed::Tiles(static_url.clone()), state.path()).await;
    let (m, r) = round(m).await;
    let first = r.expect("a consistent mirror passes");
    assert_eq!((first.from, first.to), (0, app.size().await));

    // The log grows past the end of a bundle; the mirror is refreshed.
    let mut i = 0;
    while app.size().await < first.to + 300 {
        app.file(&format!("mirrored {i}")).await;
        i += 1;
    }
    klero::tiles::export_tiles(&app.store, mirror.path())
        .await
        .unwrap();
    let size = app.size().await;
    // The mirror has not got one bundle yet: trouble, and the next round resumes.
    let last_bundle = klero_core::tiles::bundles(size).last().unwrap().path();
    assert_ne!(last_bundle, "tile/entries/000");
    let bundle = mirror.path().join(last_bundle);
    let hidden = mirror.path().join("hidden");
    std::fs::rename(&bundle, &hidden).unwrap();
    let (m, r) = round(m).await;
    let trouble = r.expect_err("a missing bundle stops the round");
    assert!(trouble.is_err(), "not an alarm: {trouble:?}");
    std::fs::rename(&hidden, &bundle).unwrap();
    let (m, r) = round(m).await;
    let second = r.expect("the grown mirror passes");
    assert_eq!((second.from, second.to), (first.to, size));
    drop(m);

    // Restarted: nothing new, nothing fetched twice; the copy is the API's.
    let m = open_feed(Feed::Tiles(static_url.clone()), state.path()).await;
    assert_eq!(m.size(), size);
    let (_m, r) = round(m).await;
    let third = r.expect("still consistent");
    assert_eq!((third.from, third.to), (size, size));
    let api_state = tempfile::tempdir().unwrap();
    let (_m, r) = round(open_monitor(&app.url, api_state.path()).await).await;
    assert_eq!(r.expect("the API agrees").to, size);
    assert_eq!(
        std::fs::read(state.path().join("entries.jsonl")).unwrap(),
        std::fs::read(api_state.path().join("entries.jsonl")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(state.path().join("log-key")).unwrap(),
        std::fs::read_to_string(api_state.path().join("log-key")).unwrap(),
        "the key the log publishes is the key the server publishes"
    );

    // `klero serve`'s own tiles, and the command line, over HTTP and from the directory.
    let served = tempfile::tempdir().unwrap();
    let (m, r) = round(open_feed(Feed::Tiles(app.url.clone()), served.path()).await).await;
    assert_eq!(r.expect("the server's tiles pass").to, size);
    drop(m);
    let cli = tempfile::tempdir().unwrap();
    let (code, out) = monitor_once("--tiles", &static_url, cli.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "OK: {} entries",
            klero_core::state::fmt_index(size)
        )),
        "{out}"
    );
    let cli = tempfile::tempdir().unwrap();
    let (code, out) = monitor_once("--tiles", mirror.path().to_str().unwrap(), cli.path());
    assert_eq!(code, Some(0), "{out}");
    static_handle.abort();
    app.stop().await;
}
both_backends!(the_monitor_follows_a_static_mirror_of_the_tiles);

/// A mirror that serves a tampered level-0 tile, a tampered upper tile or a tampered entry bundle
/// raises an alarm (exit 1), whether the monitor reads the log from scratch or already holds part
/// of it.
async fn the_monitor_of_tiles_catches_a_tampered_tile_or_bundle(b: Backend) {
    let app = spawn_app(b).await;
    let honest = tempfile::tempdir().unwrap();
    klero::tiles::export_tiles(&app.store, honest.path())
        .await
        .unwrap();
    let held = app.size().await;
    // A monitor that holds the log so far.
    let state = tempfile::tempdir().unwrap();
    let (m, r) = round(
        open_feed(
            Feed::Tiles(honest.path().to_str().unwrap().into()),
            state.path(),
        )
        .await,
    )
    .await;
    assert_eq!(r.expect("honest").to, held);
    drop(m);
    let mut i = 0;
    while app.size().await < 300 {
        app.file(&format!("tampered {i}")).await;
        i += 1;
    }
    let size = app.size().await;
    assert!(held < 256 && size > 256 && size < 512);
    klero::tiles::export_tiles(&app.store, honest.path())
        .await
        .unwrap();
    let last = format!("tile/0/001.p/{}", size - 256);
    let bump_digit = |b: &mut Vec<u8>| {
        // The "at" of the last entry, one digit changed (the length stays).
        let at = b.windows(5).rposition(|w| w == b"\"at\":").unwrap() + 6;
        b[at] = if b[at] == b'9' { b'8' } else { b[at] + 1 };
    };
    let flip_last = |b: &mut Vec<u8>| {
        let n = b.len();
        b[n - 1] ^= 1;
    };
    type Tamper<'a> = &'a dyn Fn(&mut Vec<u8>);
    let cases: Vec<(String, Tamper, AlarmKind)> = vec![
        (
            format!("tile/entries/001.p/{}", size - 256),
            &bump_digit,
            AlarmKind::BadEntry,
        ),
        (last.clone(), &flip_last, AlarmKind::BadTile),
        ("tile/0/000".into(), &flip_last, AlarmKind::BadTile),
        ("tile/1/000.p/1".into(), &flip_last, AlarmKind::BadTile),
    ];
    for (rel, f, kind) in cases {
        let copy = tampered_copy(honest.path(), &rel, f);
        let src = copy.path().to_str().unwrap().to_owned();
        // From scratch, and from the held state.
        let fresh = tempfile::tempdir().unwrap();
        let following = tempfile::tempdir().unwrap();
        for p in files(state.path()) {
            std::fs::copy(&p, following.path().join(p.file_name().unwrap())).unwrap();
        }
        for dir in [fresh.path(), following.path()] {
            let (_m, r) = round(open_feed(Feed::Tiles(src.clone()), dir).await).await;
            let alarm = r
                .expect_err(&format!("{rel} tampered is caught"))
                .expect("an alarm, not trouble");
            assert_eq!(alarm.kind, kind, "{rel}: {}", alarm.report);
            assert!(alarm.report.contains("SPEC §"), "{}", alarm.report);
        }
        let cli = tempfile::tempdir().unwrap();
        let (code, out) = monitor_once("--tiles", &src, cli.path());
        assert_eq!(code, Some(1), "{rel}: {out}");
        assert!(out.contains("ALARM: "), "{out}");
    }
    app.stop().await;
}
both_backends!(the_monitor_of_tiles_catches_a_tampered_tile_or_bundle);

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
    rollback_and_fork(b, false).await
}
both_backends!(the_monitor_reports_a_rollback_and_a_fork);

/// The same, followed through `klero serve`'s tiles: the tiles' consistency check finds the fork.
async fn the_monitor_of_tiles_reports_a_rollback_and_a_fork(b: Backend) {
    rollback_and_fork(b, true).await
}
both_backends!(the_monitor_of_tiles_reports_a_rollback_and_a_fork);

async fn rollback_and_fork(b: Backend, tiles: bool) {
    let feed = |url: &str| {
        if tiles {
            Feed::Tiles(url.to_owned())
        } else {
            Feed::Api(url.to_owned())
        }
    };
    let app = spawn_app(b).await;
    for i in 0..4 {
        app.file(&format!("before {i}")).await;
    }
    let split = app.size().await;
    for i in 0..3 {
        app.file(&format!("to be deleted {i}")).await;
    }
    let state = tempfile::tempdir().unwrap();
    let m = open_feed(feed(&app.url), state.path()).await;
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

    let m = open_feed(feed(&url), state.path()).await;
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
    let m = open_feed(feed(&url), state.path()).await;
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
    let flag = if tiles { "--tiles" } else { "--url" };
    let (code, out) = monitor_once(flag, &url, state.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ALARM: FORK"), "{out}");
    handle.abort();
    store.close().await;
}
