//! Issue 9, item 3: draws seeded by drand. The server runs with a test drand relay on loopback
//! whose clock the test holds, so a round is published exactly when the test says.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use klero::drand::{DevServer, DrandClient};
use klero_core::{
    BeaconReveal, DevChain, DrandChain, DrandSignature, Event, LogEntry, Verifier, verify,
};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::both_backends;
use crate::helpers::{
    Backend, COURT, Served, TestApp, filing, open, serve_binary, spawn_app, start,
};

/// The relay's clock: the real time, or frozen at a given time (rounds after it unpublished).
#[derive(Clone, Default)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn freeze_now(&self) {
        self.0.store(now_ms(), Ordering::SeqCst);
    }
    fn release(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
    fn as_fn(&self) -> klero::drand::Clock {
        let c = self.0.clone();
        Arc::new(move || match c.load(Ordering::SeqCst) {
            0 => now_ms(),
            t => t,
        })
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The demo court's server, with drand configured from a test relay (period 1 s).
struct DrandApp {
    app: TestApp,
    relay: DevServer,
    dev: DevChain,
    clock: Clock,
    task: JoinHandle<()>,
}

fn dev_chain() -> DevChain {
    DevChain::new(&[42; 32], now_ms() / 1000 - 30, 1)
}

async fn start_task(app: &TestApp, relay: &DevServer, delay: Duration) -> JoinHandle<()> {
    let client = DrandClient::new(&relay.url(), &relay.chain.chain_hash);
    let expected = DrandChain {
        chain_hash: relay.chain.chain_hash,
        ..DrandChain::quicknet()
    };
    let chain = klero::drand::configure(&app.store, &client, &expected, false)
        .await
        .expect("drand configures");
    assert_eq!(chain, relay.chain);
    tokio::spawn(klero::drand::run(app.store.clone(), client, delay))
}

async fn spawn_drand(b: Backend, delay: Duration) -> DrandApp {
    let app = spawn_app(b).await;
    let clock = Clock::default();
    clock.freeze_now();
    let dev = dev_chain();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = klero::drand::spawn_dev_server(listener, dev.clone(), clock.as_fn()).unwrap();
    let task = start_task(&app, &relay, delay).await;
    DrandApp {
        app,
        relay,
        dev,
        clock,
        task,
    }
}

/// Files a civil case; asserts it is answered at once with a pending draw.
async fn file_pending(app: &TestApp, claim: &str) -> Value {
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            &app.clerk,
            filing(claim),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let v = r.json();
    assert_eq!(v["judges"], serde_json::json!([]), "{v}");
    assert!(v.get("proof").is_none(), "{v}");
    assert!(v["pending_draw"]["round"].as_u64().is_some(), "{v}");
    v
}

async fn entries(app: &TestApp) -> Vec<LogEntry> {
    let size = app.size().await;
    app.store.entries(0, size).await.unwrap()
}

/// Waits until no draw is pending (at most 30 s).
async fn until_drawn(app: &TestApp) {
    for _ in 0..300 {
        if app.store.read(|s| s.pending_drand().is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pending draws were not drawn within 30 s");
}

/// Every drand draw of `log` uses the first round strictly after its trigger's time (no
/// witnesses), in trigger order; returns how many there are.
fn check_drand_draws(log: &[LogEntry], chain: &DrandChain) -> usize {
    let mut last_trigger = 0;
    let mut n = 0;
    for e in log {
        if let Event::Draw(d) = &e.event
            && let Some(BeaconReveal::Drand { round, signature }) = d.beacon
        {
            let trigger = &log[d.trigger as usize];
            let t = (trigger.at / 1000) as u64;
            assert_eq!(round, chain.first_round_after(t), "case {}", d.case);
            assert!(chain.round_time(round) > t);
            assert!(chain.verify(round, &signature));
            assert!(d.trigger > last_trigger, "draws in trigger order");
            last_trigger = d.trigger;
            n += 1;
        }
    }
    n
}

async fn filings_wait_for_the_first_round_after_their_commit_time(b: Backend) {
    let d = spawn_drand(b, Duration::from_secs(600)).await;
    let app = &d.app;
    let mut cases = vec![];
    for i in 0..3 {
        let v = file_pending(app, &format!("drand pending {i}")).await;
        let p = &v["pending_draw"];
        let t = p["commit_time"].as_u64().unwrap();
        let round = p["round"].as_u64().unwrap();
        assert_eq!(round, d.relay.chain.first_round_after(t));
        assert_eq!(p["due"].as_u64().unwrap(), d.relay.chain.round_time(round));
        assert_eq!(p["chain_hash"], d.relay.chain.chain_hash.to_hex());
        let case = v["case"].as_str().unwrap().to_owned();
        // The case shows its pending draw; the public list has it.
        let c = app
            .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
            .await
            .json();
        assert_eq!(c["pending_draw"]["round"], round, "{c}");
        cases.push(case);
    }
    let list = app.get("/api/v1/draws/pending", None).await.json();
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["case"].as_str().unwrap())
        .collect();
    assert_eq!(listed, cases, "pending draws in trigger order");
    // Nothing is drawn while the rounds are unpublished.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.store.read(|s| s.pending_drand().len()), 3);

    d.clock.release();
    // A clerk who waits gets the judge in the answer.
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases?wait=20"),
            &app.clerk,
            filing("drand waited"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["judges"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        v["proof"]["draw"]["entry"]["event"]["beacon"]["kind"],
        "drand"
    );
    until_drawn(app).await;
    for case in &cases {
        let c = app
            .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
            .await
            .json();
        assert_eq!(c["judges"].as_array().unwrap().len(), 1, "{c}");
        assert!(c.get("pending_draw").is_none(), "{c}");
    }
    let log = entries(app).await;
    assert_eq!(check_drand_draws(&log, &d.relay.chain), 4);
    let report = verify(&log);
    assert!(report.ok(), "{:?}", report.failure);
    app.assert_verifies().await;
    // A wait beyond the bound is refused.
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases?wait=31"),
            &app.clerk,
            filing("too long"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    d.task.abort();
}
both_backends!(filings_wait_for_the_first_round_after_their_commit_time);

/// Everything the operator holds: the database (the log and its projections), the secrets
/// directory (pepper, log key, the hash chain's secret) — and still no way to the draw.
async fn the_operator_cannot_know_a_pending_draw_before_its_round(b: Backend) {
    let d = spawn_drand(b, Duration::from_secs(600)).await;
    let app = &d.app;
    let v = file_pending(app, "foresight").await;
    let case = klero_core::CaseId::parse(v["case"].as_str().unwrap()).unwrap();
    let round = v["pending_draw"]["round"].as_u64().unwrap();
    let size = app.size().await;

    // Every secret of the operator, and everything derivable from them: the hash chain's next
    // value (what the draw would have used without drand), the pepper, the log key.
    let secrets = klero_store::testing::secrets_for(&app.db).unwrap_or_else(|| {
        Arc::new(klero_store::FileSecrets::new(std::path::PathBuf::from(
            crate::helpers::secrets_dir(&app.db),
        )))
    });
    let mut held: Vec<[u8; 32]> = vec![];
    for name in ["pepper", "log-key"] {
        held.push(secrets.get(name).unwrap().expect(name));
    }
    let (anchor, next) = app.store.read(|s| s.next_beacon_round()).unwrap();
    let chain_secret = secrets
        .get(&format!("beacon-{}", anchor.anchor.to_hex()))
        .unwrap()
        .expect("the chain's secret");
    let mut chain = klero_core::HashChain::new(klero_core::Digest32(chain_secret), anchor.length);
    held.push(chain_secret);
    held.push(chain.value(next).unwrap().0);
    // Candidate signatures made from them; and a genuine signature of another round.
    let mut candidates: Vec<DrandSignature> = held
        .iter()
        .map(|h| {
            let mut s = [0u8; 48];
            s[..32].copy_from_slice(h);
            DrandSignature(s)
        })
        .collect();
    candidates.push(d.dev.sign(round - 1));
    let state_before = entries(app).await;
    for sig in &candidates {
        // The store refuses the draw: its signature does not verify for the round.
        let r = app
            .store
            .append_drand_draws(BTreeMap::from([(round, *sig)]))
            .await;
        assert!(
            matches!(r, Err(klero_store::StoreError::Rejected(_))),
            "{r:?}"
        );
        // And a verifier refuses a log the operator writes with it (SPEC §6.3).
        let mut v = Verifier::new();
        for e in &state_before {
            v.push(e).unwrap();
        }
        let mut log = v.log().clone();
        let forged = log.draw_with(
            log.last_at(),
            &case,
            BeaconReveal::Drand {
                round,
                signature: *sig,
            },
        );
        let f = forged.expect_err("a forged round is refused");
        assert_eq!(f.section, Some("§6.3"), "{f:?}");
    }
    // A round the relay has not published cannot be fetched, and the draw is not appended.
    let client = DrandClient::new(&d.relay.url(), &d.relay.chain.chain_hash);
    assert!(client.round(round).await.is_err());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.size().await, size, "nothing appended before the round");

    d.clock.release();
    until_drawn(app).await;
    let log = entries(app).await;
    let Some(Event::Draw(drawn)) = log
        .iter()
        .rev()
        .map(|e| &e.event)
        .find(|e| matches!(e, Event::Draw(_)))
    else {
        panic!("no draw")
    };
    let Some(BeaconReveal::Drand {
        round: r,
        signature,
    }) = drawn.beacon
    else {
        panic!("not a drand draw")
    };
    assert_eq!(r, round);
    assert_eq!(signature, d.dev.sign(round));
    assert!(candidates.iter().all(|c| *c != signature));
    assert!(verify(&log).ok());
    d.task.abort();
}
both_backends!(the_operator_cannot_know_a_pending_draw_before_its_round);

async fn pending_draws_survive_a_restart_and_are_drawn_once(b: Backend) {
    let d = spawn_drand(b, Duration::from_secs(600)).await;
    let mut cases = vec![];
    for i in 0..4 {
        let v = file_pending(&d.app, &format!("restart {i}")).await;
        cases.push(v["case"].as_str().unwrap().to_owned());
    }
    // The server stops between the filings and their rounds.
    d.task.abort();
    let _ = d.task.await;
    let outbox = d.app.outbox.clone();
    let (db, dir) = d.app.stop().await;

    let store = open(&db).await;
    assert_eq!(
        store.read(|s| s.pending_drand().len()),
        4,
        "pending after restart"
    );
    let (url, handle) = start(store.clone(), &outbox).await;
    let app = TestApp {
        client: klero::client::Client::new(&url),
        url,
        db,
        store,
        handle,
        clerk: String::new(),
        judge: String::new(),
        court_admin: String::new(),
        system_admin: String::new(),
        other_clerk: String::new(),
        other_judge: String::new(),
        other_admin: String::new(),
        outbox,
        _dir: dir,
    };
    let task = start_task(&app, &d.relay, Duration::from_secs(600)).await;
    d.clock.release();
    until_drawn(&app).await;
    let log = entries(&app).await;
    assert_eq!(
        log.iter()
            .filter(|e| matches!(e.event, Event::DrandConfigured { .. }))
            .count(),
        1,
        "the restart does not configure drand again"
    );
    for case in &cases {
        let draws = log
            .iter()
            .filter(|e| matches!(&e.event, Event::Draw(x) if x.case.as_str() == case))
            .count();
        assert_eq!(draws, 1, "case {case} drawn exactly once");
    }
    assert_eq!(check_drand_draws(&log, &d.relay.chain), 4);
    assert!(verify(&log).ok());
    app.assert_verifies().await;
    task.abort();
}
both_backends!(pending_draws_survive_a_restart_and_are_drawn_once);

async fn an_overdue_round_is_recorded_and_the_draw_still_waits_for_it(b: Backend) {
    let d = spawn_drand(b, Duration::from_secs(1)).await;
    let app = &d.app;
    let v = file_pending(app, "overdue").await;
    let round = v["pending_draw"]["round"].as_u64().unwrap();
    let mut delayed = false;
    for _ in 0..60 {
        if app.store.read(|s| s.pending_drand()[0].delayed) {
            delayed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delayed, "the overdue round is recorded");
    let p = app.get("/api/v1/draws/pending", None).await.json();
    assert_eq!(p[0]["delayed"], true, "{p}");
    assert_eq!(p[0]["round"], round, "the draw still waits for its round");
    d.clock.release();
    until_drawn(app).await;
    let log = entries(app).await;
    assert_eq!(
        log.iter()
            .filter(|e| matches!(&e.event, Event::BeaconDelayed { round: r, .. } if *r == round))
            .count(),
        1
    );
    assert_eq!(check_drand_draws(&log, &d.relay.chain), 1);
    assert!(verify(&log).ok());
    d.task.abort();
}
both_backends!(an_overdue_round_is_recorded_and_the_draw_still_waits_for_it);

/// Runs `klero` with the test database's secrets directory.
fn klero_cmd(db: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_klero"));
    cmd.args(args)
        .args(["--database-url", db])
        .env("KLERO_SECRETS_DIR", crate::helpers::secrets_dir(db))
        .env("RUST_LOG", "warn");
    cmd
}

async fn klero_serve_with_drand_from_the_command_line(b: Backend) {
    let app = spawn_app(b).await;
    let clerk = app.clerk.clone();
    let (db, _dir) = app.stop().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = klero::drand::spawn_dev_server(listener, dev_chain(), klero::drand::system_clock())
        .unwrap();
    let hash = relay.chain.chain_hash.to_hex();
    let run = |args: Vec<String>| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = klero_cmd(&db, &args).output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let serve = |extra: &[&str]| -> Vec<String> {
        ["serve", "--addr", "127.0.0.1:0"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    // Without a relay, and with a relay that does not serve the pinned quicknet: refused.
    let (code, err) = run(serve(&["--beacon", "drand"])).await.unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--drand-url"), "{err}");
    let (code, err) = run(serve(&["--beacon", "drand", "--drand-url", &relay.url()]))
        .await
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("drand chain's info"), "{err}");

    // With the test chain named explicitly: drand is configured and draws wait for their round.
    let Served { mut child, url, .. } = serve_binary(
        &db,
        &[
            "--beacon",
            "drand",
            "--drand-url",
            &relay.url(),
            "--drand-chain-hash",
            &hash,
        ],
    )
    .await;
    let client = klero::client::Client::new(&url);
    let r = client
        .post(
            &format!("/api/v1/courts/{COURT}/cases?wait=10"),
            Some(&clerk),
            &filing("served by the command line"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["proof"]["draw"]["entry"]["event"]["beacon"]["kind"],
        "drand"
    );
    // Killed, not stopped.
    child.kill().unwrap();
    child.wait().unwrap();

    // The log now has drand in force: serving it without drand is refused.
    let (code, err) = run(serve(&[])).await.unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("drand"), "{err}");
    // `klero verify` names the chain and says it is not quicknet.
    let file = _dir.path().join("drand-log.jsonl");
    let f = file.to_str().unwrap().to_owned();
    let (code, err) = run(vec!["export".into(), "--out".into(), f.clone()])
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["verify", &f])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("drand chain {hash}")), "{text}");
    assert!(text.contains("NOT quicknet"), "{text}");
    let store = open(&db).await;
    let log = store.entries(0, store.checkpoint().0).await.unwrap();
    assert!(verify(&log).ok());
    assert_eq!(check_drand_draws(&log, &relay.chain), 1);
    store.close().await;
}
both_backends!(klero_serve_with_drand_from_the_command_line);
