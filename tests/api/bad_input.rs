use axum::http::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn bad_requests_are_problems_and_write_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let cases = format!("/api/v1/courts/{COURT}/cases");
    let before = app.size().await;
    let raw = |body: &'static [u8], ct: Option<&'static str>| {
        let c = app.client.clone();
        let (path, token) = (cases.clone(), app.clerk.clone());
        async move {
            c.send_raw(Method::POST, &path, Some(&token), ct, body.to_vec(), &[])
                .await
                .unwrap()
        }
    };
    // Malformed JSON, a wrong content type.
    assert_problem(
        &raw(b"{\"division\": ", Some("application/json")).await,
        400,
        "malformed-json",
    );
    assert_problem(
        &raw(b"division=civil", Some("text/plain")).await,
        415,
        "unsupported-media-type",
    );
    // Unknown fields, a missing field, a bad identifier.
    let mut body = filing("x");
    body["judge"] = json!("J-01");
    assert_problem(
        &app.post(&cases, &app.clerk, body).await,
        422,
        "invalid-body",
    );
    let mut body = filing("x");
    body.as_object_mut().unwrap().remove("case_type");
    assert_problem(
        &app.post(&cases, &app.clerk, body).await,
        422,
        "invalid-body",
    );
    let mut body = filing("x");
    body["division"] = json!("civil division/1");
    assert_problem(
        &app.post(&cases, &app.clerk, body).await,
        422,
        "invalid-body",
    );
    // Unknown court, division, case type, related case, judge.
    let r = app
        .post("/api/v1/courts/nowhere/cases", &app.clerk, filing("x"))
        .await;
    assert_eq!(
        r.status,
        403,
        "a clerk of another court is refused first: {}",
        r.text()
    );
    let mut body = filing("x");
    body["division"] = json!("maritime");
    assert_problem(&app.post(&cases, &app.clerk, body).await, 404, "not-found");
    let mut body = filing("x");
    body["case_type"] = json!("piracy");
    assert_problem(&app.post(&cases, &app.clerk, body).await, 404, "not-found");
    let mut body = filing("x");
    body["related"] = json!({"case": "NO-SUCH-CASE", "reason": "same_facts"});
    assert_problem(&app.post(&cases, &app.clerk, body).await, 404, "not-found");
    assert_problem(
        &app.get("/api/v1/judges/J-404/docket", Some(&app.judge))
            .await,
        404,
        "not-found",
    );
    assert_problem(
        &app.get("/api/v1/cases/NO-SUCH-CASE", Some(&app.clerk))
            .await,
        404,
        "not-found",
    );
    // No parties, an empty claim.
    let mut body = filing("x");
    body["parties"] = json!([]);
    assert_problem(&app.post(&cases, &app.clerk, body).await, 422, "invalid");
    let mut body = filing("x");
    body["claim"] = json!("   ");
    assert_problem(&app.post(&cases, &app.clerk, body).await, 422, "invalid");
    // Invalid dates, a range that ends before it begins, a bad share.
    let abs = "/api/v1/judges/J-03/absences";
    for (from, until) in [
        ("2026-02-30", "2026-03-01"),
        ("tomorrow", "2026-03-01"),
        ("2026-3-1", "2026-03-02"),
    ] {
        let r = app
            .post(
                abs,
                &app.court_admin,
                json!({"from": from, "until": until, "reason": "leave"}),
            )
            .await;
        assert_problem(&r, 422, "invalid-body");
    }
    let r = app
        .post(
            abs,
            &app.court_admin,
            json!({"from": "2026-03-05", "until": "2026-03-01", "reason": "leave"}),
        )
        .await;
    assert_problem(&r, 422, "invalid");
    let r = app
        .post(
            abs,
            &app.court_admin,
            json!({"from": "2026-03-01", "until": "2026-03-05", "reason": "holiday"}),
        )
        .await;
    assert_problem(&r, 422, "invalid-body");
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/judges"),
            &app.court_admin,
            json!({"judge": "J-50", "division": "civil", "specializations": ["civil"], "share_permille": 0}),
        )
        .await;
    assert_problem(&r, 422, "invalid");
    // An oversized body.
    let big = json!({"division": "civil", "case_type": "civil", "parties": ["A"], "claim": "x".repeat(70 * 1024)});
    assert_problem(
        &app.post(&cases, &app.clerk, big).await,
        413,
        "payload-too-large",
    );
    // Bad pagination and proofs.
    assert_problem(
        &app.get("/api/v1/log/entries?start=99999999", None).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get("/api/v1/log/entries?start=abc", None).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get("/api/v1/log/entries?start=5&end=2", None).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get("/api/v1/log/consistency?old=0", None).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get("/api/v1/log/inclusion?index=99999999", None).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get("/api/v1/nothing-here", None).await,
        404,
        "no-such-route",
    );
    // A bad Idempotency-Key.
    let r = app
        .client
        .send(
            Method::POST,
            &cases,
            Some(&app.clerk),
            Some(&filing("k")),
            &[("idempotency-key", "")],
        )
        .await
        .unwrap();
    assert_problem(&r, 400, "invalid-parameter");
    assert_eq!(
        app.size().await,
        before,
        "a refused request wrote to the log"
    );

    // A case type no judge can take: the policy gains one, and filing under it is refused.
    let mut policy = app.get("/api/v1/policy", None).await.json();
    policy["case_types"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "maritime", "specialization": "maritime", "weight": 4, "panel": 1}));
    let r = app
        .send(
            Method::PUT,
            "/api/v1/policy",
            Some(&app.system_admin),
            Some(policy),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let size = app.size().await;
    let mut body = filing("ship");
    body["case_type"] = json!("maritime");
    assert_problem(
        &app.post(&cases, &app.clerk, body).await,
        422,
        "no-eligible-judges",
    );
    // An inconsistent policy.
    let mut policy = app.get("/api/v1/policy", None).await.json();
    policy["cap_num"] = json!(0);
    let r = app
        .send(
            Method::PUT,
            "/api/v1/policy",
            Some(&app.system_admin),
            Some(policy),
        )
        .await;
    assert_problem(&r, 422, "invalid");
    assert_eq!(app.size().await, size, "a refused request wrote to the log");
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(bad_requests_are_problems_and_write_nothing);
