use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: Vec<&'static str>,
}

fn ep(method: Method, path: String, body: Option<Value>, allowed: &[&'static str]) -> Endpoint {
    Endpoint {
        method,
        path,
        body,
        allowed: allowed.to_vec(),
    }
}

async fn every_role_against_every_endpoint_refusals_write_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let f = app.file("matrix").await;
    let case = f["case"].as_str().unwrap().to_owned();
    let on_case = f["judges"][0].as_str().unwrap().to_owned();
    let absences = app
        .get("/api/v1/judges/J-05/absences", Some(&app.court_admin))
        .await
        .json();
    let absence = absences[0]["absence"].as_str().unwrap().to_owned();
    let policy = app.get("/api/v1/policy", None).await.json();

    let tokens: Vec<(&str, Option<String>)> = vec![
        ("none", None),
        ("bogus", Some(format!("klero_{}", "0".repeat(64)))),
        ("garbage", Some("not a token".into())),
        ("clerk", Some(app.clerk.clone())),
        ("judge", Some(app.judge.clone())),
        ("court_admin", Some(app.court_admin.clone())),
        ("system_admin", Some(app.system_admin.clone())),
        ("other_clerk", Some(app.other_clerk.clone())),
        ("other_judge", Some(app.other_judge.clone())),
        ("other_admin", Some(app.other_admin.clone())),
    ];
    let recusal_allowed: &[&str] = if on_case == "J-02" {
        &["clerk", "judge"]
    } else {
        &["clerk"]
    };
    let endpoints = vec![
        ep(
            Method::POST,
            format!("/api/v1/courts/{COURT}/cases"),
            Some(filing("m1")),
            &["clerk"],
        ),
        ep(
            Method::POST,
            format!("/api/v1/courts/{OTHER}/cases"),
            Some(filing("m2")),
            &["other_clerk"],
        ),
        ep(
            Method::GET,
            format!("/api/v1/cases/{case}"),
            None,
            &["clerk", "judge", "court_admin", "system_admin"],
        ),
        ep(
            Method::POST,
            format!("/api/v1/cases/{case}/reassignments"),
            Some(json!({"judge": on_case, "reason": "incapacity"})),
            &["clerk"],
        ),
        ep(
            Method::POST,
            format!("/api/v1/cases/{case}/recusals"),
            Some(json!({"judge": on_case, "reason": "other"})),
            recusal_allowed,
        ),
        ep(
            Method::POST,
            format!("/api/v1/cases/{case}/close"),
            Some(json!({"reason": "withdrawal"})),
            &["clerk"],
        ),
        ep(
            Method::GET,
            "/api/v1/judges/J-02/docket".into(),
            None,
            &["judge", "clerk", "court_admin", "system_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/judges/J-02/conflicts".into(),
            Some(json!({"party": "P-1"})),
            &["judge"],
        ),
        ep(
            Method::POST,
            "/api/v1/judges/J-02/conflicts/withdrawals".into(),
            Some(json!({"party": "P-1"})),
            &["judge"],
        ),
        ep(
            Method::POST,
            format!("/api/v1/courts/{COURT}/divisions"),
            Some(json!({"division": "tax", "name": "Tax"})),
            &["court_admin"],
        ),
        ep(
            Method::POST,
            format!("/api/v1/courts/{COURT}/judges"),
            Some(
                json!({"judge": "J-99", "division": "civil", "specializations": ["civil"], "share_permille": 1000}),
            ),
            &["court_admin"],
        ),
        ep(
            Method::PUT,
            "/api/v1/judges/J-03".into(),
            Some(
                json!({"division": "civil", "specializations": ["civil"], "share_permille": 900, "active": true}),
            ),
            &["court_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/judges/J-03/absences".into(),
            Some(json!({"from": "2031-01-01", "until": "2031-01-02", "reason": "leave"})),
            &["court_admin"],
        ),
        ep(
            Method::GET,
            "/api/v1/judges/J-03/absences".into(),
            None,
            &["court_admin", "system_admin"],
        ),
        ep(
            Method::DELETE,
            format!("/api/v1/absences/{absence}"),
            None,
            &["court_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/courts".into(),
            Some(json!({"court": "new-court", "name": "New"})),
            &["system_admin"],
        ),
        ep(
            Method::PUT,
            "/api/v1/policy".into(),
            Some(policy),
            &["system_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"role": "clerk", "holder": "CL-NEW", "court": COURT})),
            &["system_admin", "court_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"role": "clerk", "holder": "CL-NEW", "court": OTHER})),
            &["system_admin", "other_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"role": "system_admin", "holder": "SA-NEW"})),
            &["system_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"role": "court_admin", "holder": "CA-NEW", "court": COURT})),
            &["system_admin"],
        ),
        ep(
            Method::POST,
            "/api/v1/enrollments".into(),
            Some(json!({"judge": "J-02"})),
            &["system_admin", "court_admin"],
        ),
    ];
    let before = app.size().await;
    let mut checked = 0;
    for e in &endpoints {
        for (name, token) in &tokens {
            let allowed = e.allowed.contains(name);
            if allowed && e.method != Method::GET {
                continue; // writes by allowed roles are exercised in `flows`
            }
            let r = app
                .send(e.method.clone(), &e.path, token.as_deref(), e.body.clone())
                .await;
            if allowed {
                assert_eq!(
                    r.status,
                    200,
                    "{name} {} {}: {}",
                    e.method,
                    e.path,
                    r.text()
                );
            } else if token.is_none() || matches!(*name, "bogus" | "garbage") {
                assert_problem(&r, 401, "unauthorized");
            } else {
                assert_eq!(
                    r.status,
                    403,
                    "{name} {} {}: {}",
                    e.method,
                    e.path,
                    r.text()
                );
                assert_problem(&r, 403, "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
    assert_eq!(
        app.size().await,
        before,
        "a refused request wrote to the log"
    );
    // Public routes need no token.
    for path in [
        "/api/v1/log/checkpoint".to_string(),
        "/api/v1/log/entries".into(),
        format!("/api/v1/cases/{case}/proof"),
        format!("/api/v1/courts/{COURT}/stats"),
        format!("/api/v1/courts/{COURT}"),
        "/api/v1/courts".into(),
        "/api/v1/policy".into(),
    ] {
        assert_eq!(app.get(&path, None).await.status, 200, "{path}");
    }
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(every_role_against_every_endpoint_refusals_write_nothing);
