//! Closed cases leave the server's memory (issue 10, bounded memory): they are written to the case
//! archive when they close and read back when asked for, or when a later filing names them. Every
//! answer must be what it was when the whole log stayed in memory.

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// Asks to close `case` as the clerk.
async fn close(app: &TestApp, case: &str, reason: &str) -> klero::client::Response {
    app.post(
        &format!("/api/v1/cases/{case}/close"),
        &app.clerk,
        json!({ "reason": reason }),
    )
    .await
}

/// Files a case and closes it; returns (case, its judge).
async fn file_and_close(app: &TestApp, claim: &str) -> (String, String) {
    let f = app.file(claim).await;
    let case = f["case"].as_str().unwrap().to_owned();
    let judge = f["judges"][0].as_str().unwrap().to_owned();
    let r = close(app, &case, "judgment").await;
    assert_eq!(r.status, 200, "{}", r.text());
    (case, judge)
}

async fn a_closed_case_leaves_memory_and_is_still_served_bound_and_counted(b: Backend) {
    let app = spawn_app(b).await;
    let (case, judge) = file_and_close(&app, "a loan of five hundred").await;
    let other = app.file("another matter entirely").await;
    // The writer evicted the closed case once its batch committed.
    assert!(
        app.store.read(|s| s.case(&case.parse().unwrap()).is_none()),
        "the closed case is still in memory"
    );
    assert_eq!(app.store.read(|s| s.resident_cases()), 1);
    assert_eq!(app.store.read(|s| s.case_count()), 2);

    // Read back: the case, its proof, its page.
    let r = app
        .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["closed"], "judgment");
    assert_eq!(r.json()["judges"][0], judge.as_str());
    let r = app.get(&format!("/api/v1/cases/{case}/proof"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.get(&format!("/cases/{case}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(&judge), "{}", r.text());

    // Listed and counted with the open cases.
    let r = app
        .get(
            &format!("/api/v1/courts/{COURT}/cases?status=closed&judge={judge}"),
            Some(&app.clerk),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["cases"][0]["case"], case.as_str());
    assert_eq!(list["cases"][0]["judges"][0], judge.as_str());
    let r = app
        .get(&format!("/api/v1/courts/{COURT}/cases"), Some(&app.clerk))
        .await;
    assert_eq!(r.json()["total"], 2, "{}", r.text());
    let stats = app
        .get(&format!("/api/v1/courts/{COURT}/stats"), None)
        .await
        .json();
    assert_eq!(
        (stats["cases"].as_u64(), stats["open"].as_u64()),
        (Some(2), Some(1))
    );
    let row = stats["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["judge"] == judge.as_str())
        .unwrap()
        .clone();
    let same = judge == other["judges"][0].as_str().unwrap();
    assert_eq!(row["cases"].as_u64(), Some(1 + u64::from(same)), "{row}");
    assert_eq!(
        row["presiding"].as_u64(),
        Some(1 + u64::from(same)),
        "{row}"
    );

    // The same matter filed again binds to the closed case's judge (SPEC §7.7), read back from
    // the archive; so do a related filing and, excluded, an appeal.
    let again = app.file("a loan of five hundred").await;
    assert_eq!(again["method"]["kind"], "duplicate", "{again}");
    assert_eq!(again["method"]["case"], case.as_str());
    assert_eq!(again["judges"][0], judge.as_str());
    let mut body = filing("an appeal of the loan");
    body["earlier_instance"] = json!(case);
    let r = app
        .post(&format!("/api/v1/courts/{COURT}/cases"), &app.clerk, body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_ne!(r.json()["judges"][0], judge.as_str(), "{}", r.text());
    let appeal = r.json()["case"].as_str().unwrap().to_owned();
    // While the appeal is open its earlier instance stays in memory (rule 7 of §7.2 reads it at
    // every draw of the appeal); once the appeal closes, both may go.
    assert!(app.store.read(|s| s.case(&case.parse().unwrap()).is_some()));
    let r = close(&app, &appeal, "dismissal").await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.file("one more to publish a batch").await;
    assert!(app.store.read(|s| s.case(&case.parse().unwrap()).is_none()));
    // Closing it again is refused in words (not "no such case").
    let r = close(&app, &case, "judgment").await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("closed"), "{}", r.text());
    app.assert_verifies().await;

    // After a restart (a state from a full replay, then evicted) the numbering goes on after the
    // closed case rather than reusing its number, and the duplicate still binds.
    let clerk = app.clerk.clone();
    let (db, dir) = app.stop().await;
    let store = open(&db).await;
    assert_eq!(store.read(|s| s.case_count()), 5);
    assert_eq!(store.read(|s| s.resident_cases()), 3);
    assert!(store.read(|s| s.case(&case.parse().unwrap()).is_none()));
    let (url, handle) = start(store.clone(), &dir.path().join("outbox2")).await;
    let client = klero::client::Client::new(&url);
    let r = client
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            Some(&clerk),
            &filing("a loan of five hundred"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let f = r.json();
    assert_eq!(f["method"]["kind"], "duplicate", "{f}");
    assert_eq!(f["judges"][0], judge.as_str());
    let n = |c: &str| c.rsplit('-').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(n(f["case"].as_str().unwrap()), n(&case) + 5, "{f}");
    handle.abort();
    let _ = handle.await;
    store.close().await;
}
both_backends!(a_closed_case_leaves_memory_and_is_still_served_bound_and_counted);

async fn an_edited_archive_row_is_refused_not_drawn_from(b: Backend) {
    let app = spawn_app(b).await;
    let (case, _judge) = file_and_close(&app, "a lease of the shop").await;
    let size = app.size().await;
    // The database administrator changes the archived record (say, to bind the next copy of the
    // matter to a judge of their choosing) without the pepper, so the MAC no longer fits.
    klero_store::testing::execute(
        &app.db,
        &format!("UPDATE case_archive SET ordinal = ordinal + 7 WHERE case_id = '{case}'"),
    )
    .await
    .expect("the edit runs");
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            &app.clerk,
            filing("a lease of the shop"),
        )
        .await;
    // A server error (the record the rules need cannot be trusted), and nothing written; the
    // server's log says which case's record was altered.
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(app.size().await, size, "nothing was written");
    let r = app
        .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
        .await;
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    // Rebuilding the projections from the log restores the row.
    app.store.rebuild_projections().await.expect("rebuild");
    let again = app.file("a lease of the shop").await;
    assert_eq!(again["method"]["kind"], "duplicate", "{again}");
}
both_backends!(an_edited_archive_row_is_refused_not_drawn_from);
