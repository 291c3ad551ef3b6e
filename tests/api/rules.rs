//! The allocation rules that must not be steering channels (issue "Rules without loopholes"): each
//! test reproduces, through the HTTP API, a way a clerk or a litigant could route a case under the
//! old rules, and shows the rule now holds. Every test ends by verifying the whole log.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

fn cases() -> String {
    format!("/api/v1/courts/{COURT}/cases")
}

/// The draw record in a filing's answer.
fn draw(f: &Value) -> &Value {
    &f["proof"]["draw"]["entry"]["event"]
}

/// The reason a judge was excluded from the draw of a filing, if they were.
fn exclusion<'a>(f: &'a Value, judge: &str) -> Option<&'a str> {
    draw(f)["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["judge"] == judge)
        .map(|x| x["reason"].as_str().unwrap())
}

async fn file(app: &TestApp, body: Value) -> Value {
    let r = app.post(&cases(), &app.clerk, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The judge declares a conflict with a party, with their own token.
async fn declare_conflict(app: &TestApp, judge: &str, party: &str) {
    let token = app.judge_token(judge).await;
    let r = app
        .post(
            &format!("/api/v1/judges/{judge}/conflicts"),
            &token,
            json!({ "party": party }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

fn body(parties: &[&str], claim: &str) -> Value {
    json!({"division": "civil", "case_type": "civil", "parties": parties, "claim": claim})
}

/// Loophole 1: a duplicate filing used to be bound to the first judge whatever happened since (a
/// conflict declared, an absence recorded) and whatever its division and case type.
async fn a_duplicate_is_bound_only_to_a_judge_who_may_still_sit(backend: Backend) {
    let app = spawn_app(backend).await;
    let parties = ["DUP-PARTY-1", "DUP-PARTY-2"];
    let first = file(&app, body(&parties, "rent arrears 2025")).await;
    let x = first["judges"][0].as_str().unwrap().to_owned();
    let first_case = first["case"].as_str().unwrap().to_owned();

    // While X may sit, the copy is bound to X and the clerk is told it is a duplicate.
    let copy = file(&app, body(&parties, "rent arrears 2025")).await;
    assert_eq!(copy["method"]["kind"], "duplicate");
    assert_eq!(copy["judges"][0], x.as_str());
    assert_eq!(copy["duplicate_of"], first_case.as_str());
    assert!(
        copy["notice"].as_str().unwrap().contains(&first_case),
        "{copy}"
    );

    // X declares a conflict with a party: the next copy is drawn, never given to X, and the draw
    // record names the earlier filing and shows X excluded for the conflict.
    declare_conflict(&app, &x, "dup-party-1").await;
    let after_conflict = file(&app, body(&parties, "rent arrears 2025")).await;
    assert_eq!(
        after_conflict["method"]["kind"], "random_after_duplicate",
        "{after_conflict}"
    );
    assert_ne!(after_conflict["judges"][0], x.as_str());
    assert_eq!(exclusion(&after_conflict, &x), Some("conflict"));
    assert_eq!(
        after_conflict["duplicate_of"], copy["case"],
        "bound to the latest filing of the matter"
    );
    // Further copies now go to the judge drawn instead, not to a fresh draw each time.
    let y = after_conflict["judges"][0].as_str().unwrap().to_owned();
    let again = file(&app, body(&parties, "rent arrears 2025")).await;
    assert_eq!(again["method"]["kind"], "duplicate");
    assert_eq!(again["judges"][0], y.as_str());

    // An absence of Y breaks the binding too.
    let r = app
        .post(
            &format!("/api/v1/judges/{y}/absences"),
            &app.court_admin,
            // Absences are bounded (two years at most, from at most a year ago): one around today.
            json!({"from": day(-1), "until": day(365), "reason": "leave"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let after_absence = file(&app, body(&parties, "rent arrears 2025")).await;
    assert_eq!(after_absence["method"]["kind"], "random_after_duplicate");
    assert_eq!(exclusion(&after_absence, &y), Some("absent"));

    // The same parties and claim as another case type in another division are another matter:
    // drawn in that division, not bound to a civil judge.
    let criminal = file(
        &app,
        json!({"division": "criminal", "case_type": "criminal", "parties": parties,
               "claim": "rent arrears 2025"}),
    )
    .await;
    assert_eq!(criminal["method"]["kind"], "random", "{criminal}");
    assert!(criminal["duplicate_of"].is_null());
    assert_eq!(exclusion(&criminal, &x), Some("other_division"));
    app.assert_verifies().await;
}
both_backends!(a_duplicate_is_bound_only_to_a_judge_who_may_still_sit);

/// Loophole 2: nineteen duplicates used to add nineteen cases to the judge's load (40,000 against
/// colleagues' 0-4,000), keeping the judge out of the next draws.
async fn duplicates_count_once_in_the_workload(backend: Backend) {
    let app = spawn_app(backend).await;
    let parties = ["LOAD-PARTY-1", "LOAD-PARTY-2"];
    let first = file(&app, body(&parties, "one matter")).await;
    let x = first["judges"][0].as_str().unwrap().to_owned();
    let xt = app.judge_token(&x).await;
    let before = app.docket_load(&x, &xt).await;
    assert!(before > 0);
    for _ in 0..19 {
        let f = file(&app, body(&parties, "one matter")).await;
        assert_eq!(f["method"]["kind"], "duplicate");
        assert_eq!(f["judges"][0], x.as_str());
    }
    assert_eq!(
        app.docket_load(&x, &xt).await,
        before,
        "copies add no workload"
    );
    // And X is still drawn with a positive weight in the next draw.
    let next = file(&app, body(&["OTHER-PARTY-9"], "another matter")).await;
    let pool = draw(&next)["eligible"].as_array().unwrap();
    if let Some(c) = pool.iter().find(|c| c["judge"] == x.as_str()) {
        assert_eq!(c["load"].as_i64().unwrap(), before, "{c}");
    }
    app.assert_verifies().await;
}
both_backends!(duplicates_count_once_in_the_workload);

/// Loophole 3: a trailing space or another letter case made a new claim, and look-alike spellings
/// of a declared party left the conflicted judge eligible.
async fn look_alike_claims_and_parties_are_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = file(
        &app,
        body(
            &["COMPANY-ACME-0001", "PETER-0001"],
            "Unpaid invoice 2026/117",
        ),
    )
    .await;
    let x = first["judges"][0].as_str().unwrap().to_owned();
    for (parties, claim) in [
        (
            ["COMPANY-ACME-0001", "PETER-0001"],
            "Unpaid invoice 2026/117 ",
        ),
        (
            ["COMPANY-ACME-0001", "PETER-0001"],
            "unpaid  INVOICE 2026/117",
        ),
        (
            ["company acme 0001", "peter-0001"],
            "Unpaid invoice 2026-117",
        ),
    ] {
        let f = file(&app, body(&parties, claim)).await;
        assert_eq!(f["method"]["kind"], "duplicate", "{parties:?} {claim:?}");
        assert_eq!(f["judges"][0], x.as_str());
    }
    // A judge declares a conflict with PETER-0001; every look-alike spelling is caught.
    let j = "J-04";
    declare_conflict(&app, j, "PETER-0001").await;
    for (n, spelling) in [
        "P\u{200b}ETER-0001",                            // a zero-width space
        "\u{420}ETER-0001",                              // a Cyrillic capital ER
        "PETER\u{2011}0001",                             // a non-breaking hyphen
        "\u{ff30}\u{ff25}\u{ff34}\u{ff25}\u{ff32}-0001", // fullwidth letters
        "PE TER-0001",                                   // an inner space
        "Pe\u{301}ter-0001",                             // a decomposed accent
        "peter 0001",                                    // case and a space
    ]
    .iter()
    .enumerate()
    {
        let f = file(&app, body(&[spelling, "WITNESS-X"], &format!("claim {n}"))).await;
        assert_eq!(
            exclusion(&f, j),
            Some("conflict"),
            "{spelling:?} must match the declared party"
        );
    }
    app.assert_verifies().await;
}
both_backends!(look_alike_claims_and_parties_are_the_same);

/// Loophole 6: `related` went to any case's judge, across divisions and specializations, with no
/// shared party, and a one-judge case related to a panel case got the whole panel.
async fn related_cases_share_a_party_and_keep_every_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let civil = file(&app, body(&["REL-A", "REL-B"], "lease dispute")).await;
    let civil_case = civil["case"].as_str().unwrap().to_owned();
    let x = civil["judges"][0].as_str().unwrap().to_owned();

    // No shared party: refused, nothing written.
    let size = app.size().await;
    let mut b = body(&["STRANGER-1"], "unrelated claim");
    b["related"] = json!({"case": civil_case, "reason": "same_facts"});
    assert_problem(&app.post(&cases(), &app.clerk, b).await, 422, "invalid");
    assert_eq!(app.size().await, size);
    // No reason: refused as an invalid body.
    let mut b = body(&["REL-A"], "counter");
    b["related"] = json!({"case": civil_case});
    assert_eq!(app.post(&cases(), &app.clerk, b).await.status, 422);

    // A shared party and a reason: the civil judge takes it.
    let mut b = body(&["REL-A", "REL-C"], "counterclaim");
    b["related"] = json!({"case": civil_case, "reason": "counterclaim"});
    let rel = file(&app, b).await;
    assert_eq!(rel["method"]["kind"], "related");
    assert_eq!(rel["judges"], json!([x]));

    // A criminal filing related to the civil case is drawn among criminal judges, and says why.
    let b = json!({"division": "criminal", "case_type": "criminal", "parties": ["REL-A"],
                   "claim": "fraud", "related": {"case": civil_case, "reason": "same_facts"}});
    let crim = file(&app, b).await;
    assert_eq!(crim["method"]["kind"], "random_after_related", "{crim}");
    assert_eq!(crim["method"]["case"], civil_case.as_str());
    assert_eq!(exclusion(&crim, &x), Some("other_division"));

    // A one-judge case related to a three-judge panel case gets one judge: the presiding one.
    let panel = file(
        &app,
        json!({"division": "criminal", "case_type": "criminal-serious",
               "parties": ["PANEL-A", "PANEL-B"], "claim": "indictment"}),
    )
    .await;
    assert_eq!(panel["judges"].as_array().unwrap().len(), 3);
    let b = json!({"division": "criminal", "case_type": "criminal", "parties": ["PANEL-A"],
                   "claim": "bail", "related": {"case": panel["case"], "reason": "follow_up"}});
    let one = file(&app, b).await;
    assert_eq!(one["method"]["kind"], "related", "{one}");
    assert_eq!(one["judges"], json!([panel["judges"][0]]));
    let view = app
        .get(
            &format!("/api/v1/cases/{}", one["case"].as_str().unwrap()),
            Some(&app.clerk),
        )
        .await
        .json();
    assert_eq!(view["related_reason"], "follow_up");
    app.assert_verifies().await;
}
both_backends!(related_cases_share_a_party_and_keep_every_rule);

/// Loophole 7: a misspelt specialization, or none, was accepted and the judge silently never drew a
/// case.
async fn specializations_are_checked_against_the_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let judges = format!("/api/v1/courts/{COURT}/judges");
    let size = app.size().await;
    let r = app
        .post(
            &judges,
            &app.court_admin,
            json!({"judge": "J-90", "division": "civil", "specializations": ["civl"],
                   "share_permille": 1000}),
        )
        .await;
    assert_problem(&r, 422, "invalid");
    assert!(r.text().contains("civl"), "{}", r.text());
    assert_eq!(app.size().await, size, "nothing written");
    // The same check on an update.
    let r = app
        .send(
            axum::http::Method::PUT,
            "/api/v1/judges/J-02",
            Some(&app.court_admin),
            Some(
                json!({"division": "civil", "specializations": ["civil", "comercial"],
                        "share_permille": 1000, "active": true}),
            ),
        )
        .await;
    assert_problem(&r, 422, "invalid");
    // A judge with no specialization is registered, but the administrator is told they will
    // receive no cases.
    let r = app
        .post(
            &judges,
            &app.court_admin,
            json!({"judge": "J-91", "division": "civil", "specializations": [],
                   "share_permille": 1000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let warnings = r.json()["warnings"].clone();
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.contains("J-91") && w.contains("no cases")),
        "{warnings}"
    );
    app.assert_verifies().await;
}
both_backends!(specializations_are_checked_against_the_policy);
