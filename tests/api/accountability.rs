//! Nobody acts in another's name (issue "Nobody acts in another's name"): every credential is a log
//! entry naming who issued it to whom, an administrator can obtain no credential that acts as a
//! judge, and a revocation takes effect at the next request.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

/// The log entries from `start` on, as JSON.
async fn entries_from(app: &TestApp, start: u64) -> Vec<Value> {
    let end = app.size().await;
    let r = app
        .get(
            &format!("/api/v1/log/entries?start={start}&end={end}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Defect 1: a court administrator used to mint a judge's token (and further administrator
/// tokens) and act in the judge's name, with the log naming the judge.
async fn a_court_administrator_can_obtain_no_credential_that_acts_as_a_judge(backend: Backend) {
    let app = spawn_app(backend).await;
    let start = app.size().await;
    let admin = &app.court_admin;
    // Every credential the API could give: refused, except a clerk of their court for someone else.
    for (body, why) in [
        (
            json!({"role": "judge", "holder": "J-04", "court": COURT}),
            "a judge's credential",
        ),
        (
            json!({"role": "court_admin", "holder": "CA-0002", "court": COURT}),
            "another administrator",
        ),
        (
            json!({"role": "system_admin", "holder": "SA-0002"}),
            "a system administrator",
        ),
        (
            json!({"role": "clerk", "holder": "CA-0001", "court": COURT}),
            "a credential for themselves",
        ),
        (
            json!({"role": "clerk", "holder": "CL-0009", "court": OTHER}),
            "a clerk of another court",
        ),
    ] {
        let r = app.post("/api/v1/tokens", admin, body).await;
        assert_problem(&r, 403, "forbidden");
        let _ = why;
    }
    assert_eq!(app.size().await, start, "refusals write nothing");
    let r = app
        .post(
            "/api/v1/tokens",
            admin,
            json!({"role": "clerk", "holder": "CL-0009", "court": COURT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let clerk = r.json()["token"].as_str().unwrap().to_owned();
    // The clerk credential cannot declare a judge's conflict.
    let r = app
        .post(
            "/api/v1/judges/J-04/conflicts",
            &clerk,
            json!({"party": "X-1"}),
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    // An enrollment the administrator opens gives them no code, and a guessed code completes
    // nothing.
    let r = app
        .post("/api/v1/enrollments", admin, json!({"judge": "J-04"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json().get("code").is_none(), "{}", r.text());
    for guess in ["", "enroll_", &format!("enroll_{}", "0".repeat(64))] {
        let r = app
            .client
            .post(
                "/api/v1/enrollments/complete",
                None,
                &json!({ "code": guess }),
            )
            .await
            .unwrap();
        assert_problem(&r, 404, "not-found");
    }
    // Nothing the administrator did is logged as a judge's act, and every entry names a person.
    let entries = entries_from(&app, start).await;
    assert!(!entries.is_empty());
    for e in &entries {
        assert_ne!(e["actor"]["role"], "judge", "{e}");
        assert_eq!(e["actor"]["id"], "CA-0001", "{e}");
    }
    // The system administrator's acts are attributable to them too.
    let r = app
        .post(
            "/api/v1/tokens",
            &app.system_admin,
            json!({"role": "court_admin", "holder": "CA-0002", "court": COURT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let issued = entries_from(&app, app.size().await - 1).await;
    assert_eq!(
        issued[0]["actor"],
        json!({"role": "system_admin", "id": "SA-0001"})
    );
    assert_eq!(issued[0]["event"]["type"], "credential_issued");
    assert_eq!(issued[0]["event"]["holder"], "CA-0002");
    // Only the judge, with the delivered code, completes the enrollment; that is the judge's act.
    let token = app.judge_token("J-04").await;
    let done = entries_from(&app, app.size().await - 1).await;
    assert_eq!(done[0]["actor"], json!({"role": "judge", "id": "J-04"}));
    let r = app.get("/api/v1/judges/J-04/docket", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    app.assert_verifies().await;
}
both_backends!(a_court_administrator_can_obtain_no_credential_that_acts_as_a_judge);

/// Defect 3: a revoked token kept working for up to 30 seconds, and there was no API to revoke.
async fn a_revoked_credential_fails_at_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post(
            "/api/v1/tokens",
            &app.court_admin,
            json!({"role": "clerk", "holder": "CL-0042", "court": COURT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let issued = r.json();
    let token = issued["token"].as_str().unwrap().to_owned();
    let credential = issued["credential"].as_str().unwrap().to_owned();
    let cases = format!("/api/v1/courts/{COURT}/cases");
    assert_eq!(app.post(&cases, &token, filing("before")).await.status, 201);
    // Another clerk may not revoke it; the court administrator may.
    let path = format!("/api/v1/tokens/{credential}");
    let r = app
        .send(axum::http::Method::DELETE, &path, Some(&app.clerk), None)
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = app
        .send(
            axum::http::Method::DELETE,
            &path,
            Some(&app.court_admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let size = app.size().await;
    assert_problem(
        &app.post(&cases, &token, filing("after")).await,
        401,
        "unauthorized",
    );
    assert_eq!(
        app.size().await,
        size,
        "nothing written with a revoked credential"
    );
    let last = entries_from(&app, size - 1).await;
    assert_eq!(last[0]["event"]["type"], "credential_revoked");
    assert_eq!(
        last[0]["actor"],
        json!({"role": "court_admin", "id": "CA-0001"})
    );
    // Revoking twice is a conflict, not a second entry.
    let r = app
        .send(
            axum::http::Method::DELETE,
            &path,
            Some(&app.court_admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    app.assert_verifies().await;
}
both_backends!(a_revoked_credential_fails_at_the_next_request);
