use std::collections::HashSet;

use axum::http::Method;
use klero_core::{Event, LogEntry};

use crate::both_backends;
use crate::helpers::*;

async fn log_entries(app: &TestApp) -> Vec<LogEntry> {
    let mut out = vec![];
    loop {
        let r = app
            .get(&format!("/api/v1/log/entries?start={}", out.len()), None)
            .await;
        let page: Vec<LogEntry> = r
            .text()
            .lines()
            .map(|l| LogEntry::from_json_line(l).unwrap())
            .collect();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

async fn sixty_four_concurrent_filings_make_one_chain_each_drawn_once(b: Backend) {
    let app = spawn_app(b).await;
    let before = app.size().await;
    let mut tasks = vec![];
    for i in 0..64 {
        let (c, token) = (app.client.clone(), app.clerk.clone());
        tasks.push(tokio::spawn(async move {
            c.post(
                &format!("/api/v1/courts/{COURT}/cases"),
                Some(&token),
                &filing(&format!("concurrent claim {i}")),
            )
            .await
            .unwrap()
        }));
    }
    let mut cases = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        assert!(cases.insert(r.json()["case"].as_str().unwrap().to_owned()));
    }
    assert_eq!(app.size().await, before + 128);
    let entries = log_entries(&app).await;
    let mut drawn = HashSet::new();
    for e in &entries {
        if let Event::Draw(d) = &e.event {
            assert!(
                drawn.insert(d.case.to_string()),
                "case {} drawn twice",
                d.case
            );
        }
    }
    assert!(cases.iter().all(|c| drawn.contains(c)));
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(sixty_four_concurrent_filings_make_one_chain_each_drawn_once);

async fn everything_persists_across_a_restart(b: Backend) {
    let app = spawn_app(b).await;
    let f = app.file("before restart").await;
    let case = f["case"].as_str().unwrap().to_owned();
    let judges = f["judges"].clone();
    let checkpoint = app.get("/api/v1/log/checkpoint", None).await.json();
    let clerk = app.clerk.clone();
    let (db, dir) = app.stop().await;

    let store = open(&db).await;
    let (url, handle) = start(store.clone(), &dir.path().join("outbox")).await;
    let c = klero::client::Client::new(&url);
    assert_eq!(
        c.get("/api/v1/log/checkpoint", None).await.unwrap().json(),
        checkpoint
    );
    let r = c
        .get(&format!("/api/v1/cases/{case}"), Some(&clerk))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "tokens persist too: {}", r.text());
    assert_eq!(r.json()["judges"], judges);
    // Numbering continues after the restart.
    let r = c
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            Some(&clerk),
            &filing("after restart"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_ne!(r.json()["case"], case.as_str());
    let u = url.clone();
    let report = tokio::task::spawn_blocking(move || klero::verify::verify_url(&u))
        .await
        .unwrap()
        .unwrap();
    assert!(report.report.ok(), "{:?}", report.report.failure);
    handle.abort();
    store.close().await;
    drop(dir);
}
both_backends!(everything_persists_across_a_restart);

async fn a_retried_filing_with_the_same_key_is_not_drawn_again(b: Backend) {
    let app = spawn_app(b).await;
    let path = format!("/api/v1/courts/{COURT}/cases");
    let send = |key: &'static str, claim: &'static str| {
        let (c, token, path) = (app.client.clone(), app.clerk.clone(), path.clone());
        async move {
            c.send(
                Method::POST,
                &path,
                Some(&token),
                Some(&filing(claim)),
                &[("Idempotency-Key", key)],
            )
            .await
            .unwrap()
        }
    };
    let before = app.size().await;
    let first = send("retry-1", "same claim").await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send("retry-1", "same claim").await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let (a, b2) = (first.json(), again.json());
    assert_eq!(a["case"], b2["case"]);
    assert_eq!(a["judges"], b2["judges"]);
    assert_eq!(a["proof"]["draw"]["entry"], b2["proof"]["draw"]["entry"]);
    assert_eq!(app.size().await, before + 2, "the retry drew again");
    // Concurrent retries of one new key: one filing.
    let mut tasks = vec![];
    for _ in 0..8 {
        tasks.push(tokio::spawn(send("retry-2", "another claim")));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        seen.insert(r.json()["case"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(app.size().await, before + 4);
    // The same key with a different filing is refused.
    let r = send("retry-1", "a different claim").await;
    assert_problem(&r, 422, "idempotency-key-reused");
    assert_eq!(app.size().await, before + 4);
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(a_retried_filing_with_the_same_key_is_not_drawn_again);
