//! Issue 9, items 1 and 2: two witnesses on loopback cosign the log's checkpoints; a rewritten
//! history, re-signed with the log key, is refused by both, which keep the evidence.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use klero::client::Client;
use klero::witness::Witness;
use klero::witnessing::{Endpoint, Witnessing, configure, record_witnessed};
use klero_core::checkpoint::verify_cosigned;
use klero_core::{Event, HashChain, Log, LogEntry};
use klero_store::Store;

use crate::both_backends;
use crate::helpers::*;

/// A witness running as a task on a free loopback port, with its own directory.
pub(crate) struct RunningWitness {
    pub(crate) endpoint: Endpoint,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) handle: tokio::task::JoinHandle<()>,
}

pub(crate) async fn start_witness(name: &str, store: &Store) -> RunningWitness {
    let dir = tempfile::tempdir().unwrap();
    let key = klero::witness::init(dir.path(), name).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the witness key is private");
    }
    assert!(
        klero::witness::init(dir.path(), name).is_err(),
        "a second init keeps the first key"
    );
    let origin = store.read(|s| s.log_id().unwrap().to_string());
    let logs = BTreeMap::from([(origin, store.log_key().unwrap().verifier_key().to_owned())]);
    let w: Arc<Witness> = Witness::open(dir.path(), logs).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        klero::witness::serve(w, listener, std::future::pending())
            .await
            .unwrap();
    });
    RunningWitness {
        endpoint: Endpoint {
            name: name.into(),
            url,
            key,
        },
        dir,
        handle,
    }
}

pub(crate) async fn two_witnesses(
    store: &Store,
) -> (RunningWitness, RunningWitness, Vec<Endpoint>) {
    let a = start_witness("witness-a.example", store).await;
    let b = start_witness("witness-b.example", store).await;
    let endpoints = vec![a.endpoint.clone(), b.endpoint.clone()];
    (a, b, endpoints)
}

/// The cosigned checkpoint note the server serves as text/plain.
async fn served_note(app: &TestApp) -> String {
    let r = app
        .client
        .send(
            Method::GET,
            "/api/v1/log/checkpoint",
            None,
            None,
            &[("Accept", "text/plain")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

async fn two_witnesses_cosign_the_checkpoint_of_every_batch(b: Backend) {
    let app = spawn_app(b).await;
    let (wa, wb, endpoints) = two_witnesses(&app.store).await;
    let configured = configure(&app.store, &endpoints, 2).await.unwrap();
    let configured = configured.expect("the witness set is recorded").index;
    assert!(
        configure(&app.store, &endpoints, 2)
            .await
            .unwrap()
            .is_none(),
        "the same set is not recorded twice"
    );
    Witnessing::new(app.store.clone(), &endpoints, 2, Duration::from_secs(5))
        .unwrap()
        .spawn();
    let mut triggers = vec![];
    for i in 0..4 {
        let f = app.file(&format!("witnessed {i}")).await;
        triggers.push(f["proof"]["trigger"]["entry"]["index"].as_u64().unwrap());
    }
    let log_key = app.store.log_key().unwrap().verifier_key().to_owned();
    let witnesses = app.store.read(|s| s.witnesses().unwrap().0.to_vec());
    // The background task catches up with the last batch within a few rounds.
    let size = app.size().await;
    let mut last = String::new();
    for _ in 0..100 {
        last = served_note(&app).await;
        if let Ok((cp, times)) = verify_cosigned(&last, &log_key, &witnesses, 2)
            && cp.size == size
        {
            assert_eq!(times.len(), 2);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (cp, times) = verify_cosigned(&last, &log_key, &witnesses, 2).unwrap();
    assert_eq!(cp.size, size, "{last}");
    assert_eq!(
        times.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        ["witness-a.example", "witness-b.example"]
    );
    // Nothing is pending on this log, so the task appended no checkpoint_witnessed entry.
    assert_eq!(app.size().await, size);
    // An observer's monitor sees the quorum's cosignatures on what it verified.
    let state = tempfile::tempdir().unwrap();
    let (url, dir) = (app.url.clone(), state.path().to_owned());
    let p = tokio::task::spawn_blocking(move || {
        let mut m = klero::monitor::Monitor::open(&url, &dir, None, &mut |_| {}).unwrap();
        m.round(&mut |_| {})
    })
    .await
    .unwrap()
    .expect("the witnessed log is consistent");
    assert_eq!((p.to, p.quorum), (size, 2));
    assert!(p.witnessed(), "{:?}", p.cosigned);

    // Recording a quorum-cosigned checkpoint for a trigger that waits for it (driven here by hand:
    // without drand nothing waits), and only then.
    let mut w = Witnessing::new(app.store.clone(), &endpoints, 2, Duration::from_secs(5)).unwrap();
    let g = w.round().await.expect("both witnesses answer");
    assert_eq!(g.cosignatures.len(), 2);
    assert!(
        record_witnessed(&app.store, &g, |_| vec![])
            .await
            .unwrap()
            .is_none(),
        "nothing needs it: nothing appended"
    );
    let trigger = triggers[1];
    assert!(trigger > configured && trigger < g.size);
    let e = record_witnessed(&app.store, &g, move |_| vec![trigger])
        .await
        .unwrap()
        .expect("appended");
    assert!(matches!(e.event, Event::CheckpointWitnessed { size, .. } if size == g.size));
    let mut cosign_times: Vec<u64> = g.cosignatures.iter().map(|c| c.time).collect();
    cosign_times.sort();
    assert_eq!(
        app.store.read(|s| s.commit_time(trigger)),
        Some(cosign_times[1]),
        "the commit time is the quorum-th smallest cosignature time"
    );
    // The replay checks the cosignatures against the root it computes itself.
    app.assert_verifies().await;
    for w in [wa, wb] {
        w.handle.abort();
    }
}
both_backends!(two_witnesses_cosign_the_checkpoint_of_every_batch);

async fn the_witness_speaks_tlog_witness_status_codes(b: Backend) {
    let app = spawn_app(b).await;
    let (wa, _wb, _) = two_witnesses(&app.store).await;
    let c = Client::new(&wa.endpoint.url);
    let post = |body: String| {
        let c = c.clone();
        async move {
            c.send_raw(
                Method::POST,
                "/add-checkpoint",
                None,
                Some("text/plain"),
                body.into_bytes(),
                &[],
            )
            .await
            .unwrap()
        }
    };
    let key = app.store.log_key().unwrap();
    let (size, root) = app.store.checkpoint();
    let note = key.sign(size, &root);
    let first = post(klero_core::witness::request_body(0, &[], &note)).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.text().starts_with("\u{2014} witness-a.example "));
    // A stale old size: 409 with the witness's size.
    let r = post(klero_core::witness::request_body(0, &[], &note)).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(r.text(), format!("{size}\n"));
    // Not signed by the log's key: 403. An unknown log: 404. Garbage: 400.
    let impostor = klero_core::checkpoint::LogKey::new(
        &app.store.read(|s| s.log_id().unwrap().to_string()),
        &[9; 32],
    )
    .unwrap();
    let r = post(klero_core::witness::request_body(
        size,
        &[],
        &impostor.sign(size, &root),
    ))
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let stranger = klero_core::checkpoint::LogKey::new("another-log", &[9; 32]).unwrap();
    let r = post(klero_core::witness::request_body(
        0,
        &[],
        &stranger.sign(size, &root),
    ))
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(post("old 1\n".into()).await.status, 400);
    // A bad proof from the stored size: 422.
    app.file("one more").await;
    let (size2, root2) = app.store.checkpoint();
    let r = post(klero_core::witness::request_body(
        size,
        &[root],
        &key.sign(size2, &root2),
    ))
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    // The state survives a restart of the witness: it still holds `size`.
    let origin = app.store.read(|s| s.log_id().unwrap().to_string());
    let again = Witness::open(
        wa.dir.path(),
        BTreeMap::from([(origin, key.verifier_key().to_owned())]),
    )
    .unwrap();
    let r = again
        .add_checkpoint(&klero_core::witness::request_body(0, &[], &note), 1)
        .await;
    assert_eq!(r.status(), 409);
}
both_backends!(the_witness_speaks_tlog_witness_status_codes);

/// Rewrites the log from entry `k` on as an operator with the database, the beacon's secrets and
/// the log key could: `change` alters entry `k`, every later entry is re-appended (every draw
/// re-run with the beacon chain, every hash recomputed), and the log's rows (and their stored hashes) are replaced.
async fn rewrite_history(db: &str, entries: &[LogEntry], k: usize, change: impl Fn(&mut Event)) {
    let secrets: Arc<dyn klero_store::SecretStore> = match klero_store::testing::secrets_for(db) {
        Some(s) => s,
        None => Arc::new(klero_store::FileSecrets::new(
            klero_store::default_secrets_dir(db).expect("beside the SQLite file"),
        )),
    };
    let Event::Genesis { beacon, .. } = &entries[0].event else {
        panic!("entry 0 is the genesis");
    };
    let secret = secrets
        .get(&format!("beacon-{}", beacon.anchor.to_hex()))
        .unwrap()
        .expect("the chain's secret");
    let mut chain = HashChain::new(klero_core::Digest32(secret), beacon.length);
    assert_eq!(chain.anchor(), *beacon);
    let mut log = Log::new();
    let mut out = vec![];
    for (i, e) in entries.iter().enumerate() {
        let new = match &e.event {
            Event::Draw(d) => log.draw(e.at, &d.case, &mut chain).unwrap(),
            ev => {
                let mut ev = ev.clone();
                if i == k {
                    change(&mut ev);
                }
                log.append(e.at, e.actor.clone(), ev).unwrap()
            }
        };
        out.push(new);
    }
    assert_ne!(out[k].hash, entries[k].hash);
    let drop = if db.starts_with("sqlite") {
        "DROP TRIGGER log_no_update; DROP TRIGGER log_no_delete;"
    } else {
        "DROP TRIGGER log_no_update_or_delete ON log; DROP TRIGGER log_no_truncate ON log;"
    };
    // The stored hashes (`chain`: the log is shorter than a tile) are rewritten too.
    assert!(out.len() < 256);
    let mut sql =
        format!("{drop} DELETE FROM log WHERE idx >= {k}; DELETE FROM chain WHERE idx >= {k};");
    for e in &out[k..] {
        sql.push_str(&format!(
            " INSERT INTO log (idx, kind, entry) VALUES {}; INSERT INTO chain (idx, hash) VALUES {};",
            klero_store::testing::log_row_values(db, e),
            klero_store::testing::chain_row_values(db, e)
        ));
    }
    klero_store::testing::execute(db, &sql).await.unwrap();
}

async fn a_rewritten_history_is_refused_by_both_witnesses_which_keep_evidence(b: Backend) {
    let app = spawn_app(b).await;
    let (wa, wb, endpoints) = two_witnesses(&app.store).await;
    configure(&app.store, &endpoints, 2).await.unwrap();
    let mut first = None;
    for i in 0..4 {
        let f = app.file(&format!("history {i}")).await;
        first.get_or_insert(f["proof"]["trigger"]["entry"]["index"].as_u64().unwrap());
    }
    let mut w = Witnessing::new(app.store.clone(), &endpoints, 2, Duration::from_secs(5)).unwrap();
    let honest = w.round().await.expect("both cosign the honest log");
    assert_eq!(honest.cosignatures.len(), 2);
    let entries = app.store.entries(0, honest.size).await.unwrap();
    // An observer's monitor has followed the honest log.
    let watch = tempfile::tempdir().unwrap();
    let (url, dir) = (app.url.clone(), watch.path().to_owned());
    let held = tokio::task::spawn_blocking(move || {
        let mut m = klero::monitor::Monitor::open(&url, &dir, None, &mut |_| {}).unwrap();
        m.round(&mut |_| {})
    })
    .await
    .unwrap()
    .expect("the honest log is consistent");
    assert!(held.to >= honest.size);
    let (db, dir) = app.stop().await;

    // Re-run the draw of the first case: change its claim, so its trigger hash, its seed and
    // possibly its judge change, and every later hash with them.
    let k = first.unwrap() as usize;
    rewrite_history(&db, &entries, k, |ev| {
        if let Event::CaseFiled { claim, .. } = ev {
            *claim = klero_core::hash::sha256(&[b"another claim"]);
        }
    })
    .await;
    // The rewritten log verifies on its own: the store opens it.
    let forged = open(&db).await;
    forged.rebuild_projections().await.unwrap();
    assert_eq!(forged.checkpoint().0, honest.size);
    assert_ne!(forged.checkpoint().1, app_root(&honest));
    // Asked to cosign it, each witness learns nothing new from a 409 and gets the forged
    // checkpoint of the same size with another root.
    let mut w2 = Witnessing::new(forged.clone(), &endpoints, 2, Duration::from_secs(5)).unwrap();
    assert!(
        w2.round().await.is_none(),
        "no witness cosigns the rewritten history"
    );
    assert!(forged.cosigned_checkpoint().is_none());

    for rw in [&wa, &wb] {
        let files: Vec<_> = std::fs::read_dir(rw.dir.path().join("evidence"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(files.len(), 1, "one evidence file");
        let r = Client::new(&rw.endpoint.url)
            .get("/evidence", None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let text = r.text();
        // Both signed checkpoints are in it: the honest one it cosigned and the forged one.
        let honest_note = forged
            .log_key()
            .unwrap()
            .sign(honest.size, &app_root(&honest));
        assert!(text.contains(&honest_note), "{text}");
        assert!(
            text.contains(&forged.signed_checkpoint().unwrap()),
            "{text}"
        );
        assert!(text.contains("different roots"), "{text}");
    }
    // Served to the observer, the rewritten log is a fork, split at the re-run filing.
    let (url, server) = start(forged.clone(), &dir.path().join("outbox")).await;
    let watched = watch.path().to_owned();
    let alarm = tokio::task::spawn_blocking(move || {
        let mut m = klero::monitor::Monitor::open(&url, &watched, None, &mut |_| {}).unwrap();
        m.round(&mut |_| {})
    })
    .await
    .unwrap()
    .expect_err("the monitor raises an alarm")
    .expect("an inconsistency, not an outage");
    assert_eq!(
        alarm.kind,
        klero::monitor::AlarmKind::Fork,
        "{}",
        alarm.report
    );
    assert!(
        alarm.report.contains(&format!(
            "split at entry {}",
            klero_core::state::fmt_index(k as u64)
        )),
        "{}",
        alarm.report
    );
    server.abort();
    forged.close().await;
    for rw in [wa, wb] {
        rw.handle.abort();
    }
}
both_backends!(a_rewritten_history_is_refused_by_both_witnesses_which_keep_evidence);

/// The root of a gathered checkpoint, read back from its note.
fn app_root(g: &klero::witnessing::Gathered) -> klero_core::Digest32 {
    let (text, _) = klero_core::checkpoint::split_note(&g.note).unwrap();
    let root = text.lines().nth(2).unwrap();
    use base64::Engine as _;
    klero_core::Digest32(
        base64::engine::general_purpose::STANDARD
            .decode(root)
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

async fn verify_checks_the_published_log_key(b: Backend) {
    let app = spawn_app(b).await;
    let key = app.store.log_key().unwrap().verifier_key().to_owned();
    let first = app.store.entry(1).await.unwrap();
    assert_eq!(
        first.event,
        Event::LogKeyPublished { key: key.clone() },
        "entry 1 publishes the log key, in the genesis commit"
    );
    let mut out = Vec::new();
    klero::export(&app.store, &mut out).await.unwrap();
    let file = app._dir.path().join("export.jsonl");
    std::fs::write(&file, out).unwrap();
    let ok = klero::verify::verify_file_pinned(&file, Some(&key)).unwrap();
    assert!(ok.ok(), "{:?}", ok.failure);
    let other = klero_core::checkpoint::LogKey::new(
        &app.store.read(|s| s.log_id().unwrap().to_string()),
        &[9; 32],
    )
    .unwrap();
    let bad = klero::verify::verify_file_pinned(&file, Some(other.verifier_key())).unwrap();
    let f = bad.failure.expect("another key is refused");
    assert_eq!(f.section, "§5.1");
    assert!(f.message.contains("log_key_published"), "{f}");
}
both_backends!(verify_checks_the_published_log_key);

#[test]
fn klero_witness_init_prints_the_verifier_key_and_refuses_a_second_key() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("w");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
            .args(["witness", "init", "--state"])
            .arg(&state)
            .args(["--name", "witness.example"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{out:?}");
    let vkey = String::from_utf8(out.stdout).unwrap();
    let v = klero_core::checkpoint::CosignatureVerifier::new(vkey.trim()).unwrap();
    assert_eq!(v.name(), "witness.example");
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds a witness key"), "{err}");
    // A log given without its key is refused in words.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["witness", "serve", "--state"])
        .arg(&state)
        .args(["--log", "demo-allocation-log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not ORIGIN=VERIFIER-KEY"),
        "{out:?}"
    );
}
