use axum::http::Method;
use klero_core::merkle::verify_inclusion;
use klero_core::{Digest32, LogEntry};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

fn digest(v: &Value) -> Digest32 {
    Digest32::from_hex(v.as_str().unwrap()).unwrap()
}

/// Checks a draw proof offline: both entries are in the checkpoint's tree.
fn check_proof(proof: &Value) {
    let size = proof["checkpoint"]["size"].as_u64().unwrap();
    let root = digest(&proof["checkpoint"]["root"]);
    for part in ["trigger", "draw"] {
        let entry: LogEntry = serde_json::from_value(proof[part]["entry"].clone()).unwrap();
        assert_eq!(entry.computed_hash(), entry.hash);
        let path: Vec<Digest32> = proof[part]["inclusion"]
            .as_array()
            .unwrap()
            .iter()
            .map(digest)
            .collect();
        assert!(
            verify_inclusion(&root, size, entry.index, &entry.hash, &path),
            "{part} entry {} is not proven in the tree of {size}",
            entry.index
        );
    }
    assert_eq!(proof["draw"]["entry"]["event"]["type"], "draw");
}

async fn every_role_end_to_end_then_the_log_verifies(b: Backend) {
    let app = spawn_app(b).await;
    let court = COURT;

    // Court administrator: a division, a judge, an update, an absence recorded and cancelled.
    let r = app
        .post(
            &format!("/api/v1/courts/{court}/divisions"),
            &app.court_admin,
            json!({"division": "family", "name": "Family Division"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .post(
            &format!("/api/v1/courts/{court}/judges"),
            &app.court_admin,
            json!({"judge": "J-21", "division": "family", "specializations": ["family", "civil"], "share_permille": 800}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .send(
            Method::PUT,
            "/api/v1/judges/J-21",
            Some(&app.court_admin),
            Some(json!({"division": "civil", "specializations": ["civil"], "share_permille": 1000, "active": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .post(
            "/api/v1/judges/J-21/absences",
            &app.court_admin,
            json!({"absence": "abs-j21", "from": "2030-01-02", "until": "2030-01-09", "reason": "training"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .get("/api/v1/judges/J-21/absences", Some(&app.court_admin))
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/absences/abs-j21",
            Some(&app.court_admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // System administrator: a court and a new policy.
    let r = app
        .post(
            "/api/v1/courts",
            &app.system_admin,
            json!({"court": "appeal-court", "name": "Court of Appeal"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut policy = app.get("/api/v1/policy", None).await.json();
    policy["balance_permille"] = json!(900);
    let r = app
        .send(
            Method::PUT,
            "/api/v1/policy",
            Some(&app.system_admin),
            Some(policy),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        app.get("/api/v1/policy", None).await.json()["balance_permille"],
        900
    );

    // Clerk: file a case; the answer names the judges and proves the draw.
    let f = app.file("unpaid invoice 1").await;
    let case = f["case"].as_str().unwrap().to_owned();
    assert!(case.starts_with("DEMO-DISTRICT-"), "{case}");
    let judge = f["judges"][0].as_str().unwrap().to_owned();
    assert_eq!(f["method"]["kind"], "random");
    check_proof(&f["proof"]);
    // No raw party identifier in the answer.
    assert!(!f.to_string().contains("PL-90010112345"));
    let r = app
        .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["judges"][0], judge.as_str());

    // A related case goes to the same judge, by reference.
    let mut body = filing("counterclaim");
    body["related"] = json!({"case": case, "reason": "counterclaim"});
    let r = app
        .post(&format!("/api/v1/courts/{court}/cases"), &app.clerk, body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let related = r.json();
    assert_eq!(related["method"]["kind"], "related");
    assert_eq!(related["judges"][0], judge.as_str());

    // A 3-judge panel.
    let r = app
        .post(
            &format!("/api/v1/courts/{court}/cases"),
            &app.clerk,
            json!({"division": "criminal", "case_type": "criminal-serious", "parties": ["X-1", "X-2"], "claim": "indictment 5"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["judges"].as_array().unwrap().len(), 3);

    // Judge: docket with load against the mean; declare and withdraw a conflict; recuse.
    let jt = app.judge_token(&judge).await;
    let d = app
        .get(&format!("/api/v1/judges/{judge}/docket"), Some(&jt))
        .await;
    assert_eq!(d.status, 200, "{}", d.text());
    let d = d.json();
    assert!(
        d["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["case"] == case.as_str())
    );
    assert!(d["court_mean_load"].as_u64().is_some() && d["load"].as_u64().is_some());
    let r = app
        .post(
            &format!("/api/v1/judges/{judge}/conflicts"),
            &jt,
            json!({"party": "ACME-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .post(
            &format!("/api/v1/judges/{judge}/conflicts/withdrawals"),
            &jt,
            json!({"party": " acme-1 "}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/recusals"),
            &jt,
            json!({"reason": "personal_relationship"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = r.json();
    check_proof(&rec["proof"]);
    let replacement = rec["judges"][0].as_str().unwrap().to_owned();
    assert_ne!(replacement, judge);

    // Clerk: reassign the replacement, then close the case.
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/reassignments"),
            &app.clerk,
            json!({"judge": replacement, "reason": "long_term_absence"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    check_proof(&r.json()["proof"]);
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/close"),
            &app.clerk,
            json!({"reason": "settlement"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/close"),
            &app.clerk,
            json!({"reason": "settlement"}),
        )
        .await;
    assert_problem(&r, 409, "wrong-state");

    // Public: the case's proof has the filing draw and both redraws; stats, courts, log pages.
    let p = app.get(&format!("/api/v1/cases/{case}/proof"), None).await;
    assert_eq!(p.status, 200, "{}", p.text());
    let p = p.json();
    check_proof(&p["filing"]);
    assert_eq!(p["redraws"].as_array().unwrap().len(), 2);
    let s = app
        .get(&format!("/api/v1/courts/{court}/stats"), None)
        .await
        .json();
    assert_eq!(s["judges"].as_array().unwrap().len(), 21);
    assert!(s["cases"].as_u64().unwrap() >= 3);
    assert_eq!(
        app.get("/api/v1/courts", None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let size = app.size().await;
    let page = app.get("/api/v1/log/entries?start=0&end=10", None).await;
    assert_eq!(page.header("content-type"), Some("application/jsonl"));
    assert_eq!(page.text().lines().count(), 10);
    assert!(page.header("link").unwrap().contains("start=10"));
    let c = app
        .get(&format!("/api/v1/log/consistency?old=10&new={size}"), None)
        .await;
    assert_eq!(c.status, 200, "{}", c.text());
    let c = c.json();
    let proof: Vec<Digest32> = c["proof"].as_array().unwrap().iter().map(digest).collect();
    assert!(klero_core::merkle::verify_consistency(
        10,
        &digest(&c["old_root"]),
        size,
        &digest(&c["new_root"]),
        &proof
    ));
    let r = app.get("/api/v1/log/inclusion?index=3", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/v1/courts/{court}/cases"]["post"].is_object());
    assert_eq!(app.get("/api/v1/docs", None).await.status, 200);
    assert_eq!(
        app.get("/api/v1/problems/not-found", None).await.status,
        200
    );

    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(every_role_end_to_end_then_the_log_verifies);

/// The checkpoint is a C2SP signed note under the log key the server publishes (SPEC §5.1): it
/// verifies with that key and names the log's size and root; `klero verify --url` checks it, and a
/// key other than the log's is refused naming §5.1.
async fn the_checkpoint_is_a_signed_note_under_the_published_key(backend: Backend) {
    let app = spawn_app(backend).await;
    app.file("signed").await;
    let key = app.get("/api/v1/log/key", None).await;
    assert_eq!(key.status, 200, "{}", key.text());
    assert_eq!(
        key.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let key = key.text().trim().to_owned();
    assert!(key.starts_with("demo-allocation-log+"), "{key}");
    let note = app.get("/api/v1/log/checkpoint/note", None).await.text();
    let cp = klero_core::checkpoint::verify(&note, &key).expect("the note verifies");
    let json = app.get("/api/v1/log/checkpoint", None).await.json();
    assert_eq!(cp.size, json["size"].as_u64().unwrap());
    assert_eq!(cp.root.to_hex(), json["root"].as_str().unwrap());
    let r = app.verify().await;
    assert!(r.report.ok(), "{:?}", r.report.failure);
    assert_eq!(r.log_key, key);
    // An observer who pinned another key is told the checkpoint is not the log's.
    let other = klero_core::checkpoint::LogKey::new("demo-allocation-log", &[1; 32]).unwrap();
    let url = app.url.clone();
    let pinned = other.verifier_key().to_owned();
    let r =
        tokio::task::spawn_blocking(move || klero::verify::verify_url_pinned(&url, Some(&pinned)))
            .await
            .unwrap()
            .unwrap();
    let f = r.report.failure.expect("a foreign key is refused");
    assert_eq!(f.section, "§5.1", "{f}");
    app.stop().await;
}
both_backends!(the_checkpoint_is_a_signed_note_under_the_published_key);

/// A case's proof carries, for each random draw, the entry holding the beacon value the reveal
/// steps down from (the genesis anchor for round 1, else the previous random draw), proven in
/// the same checkpoint: what the in-browser check needs to test `H(reveal) = previous`.
async fn case_proof_carries_the_previous_beacon_value(b: Backend) {
    let app = spawn_app(b).await;
    let first = app.file("the first claim of the beacon test").await;
    let second = app.file("the second claim of the beacon test").await;
    let proof = |case: Value| {
        let app = &app;
        async move {
            let r = app
                .get(
                    &format!("/api/v1/cases/{}/proof", case.as_str().unwrap()),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()
        }
    };
    let p1 = proof(first["case"].clone()).await;
    let p2 = proof(second["case"].clone()).await;
    let round = |p: &Value| {
        p["filing"]["draw"]["entry"]["event"]["beacon"]["round"]
            .as_u64()
            .unwrap()
    };
    let prev1 = &p1["filing"]["beacon_previous"];
    let prev2 = &p2["filing"]["beacon_previous"];
    // The demo court's chain has served earlier draws or none: either way the previous value is
    // the latest anchor or random draw before this draw.
    for (p, prev) in [(&p1, prev1), (&p2, prev2)] {
        let kind = prev["entry"]["event"]["type"].as_str().unwrap();
        let value = match kind {
            "genesis" | "beacon_anchored" => {
                assert_eq!(round(p), 1);
                prev["entry"]["event"]["beacon"]["anchor"].as_str().unwrap()
            }
            "draw" => {
                assert_eq!(
                    prev["entry"]["event"]["beacon"]["round"].as_u64().unwrap() + 1,
                    round(p)
                );
                prev["entry"]["event"]["beacon"]["value"].as_str().unwrap()
            }
            other => panic!("beacon_previous is a {other} entry"),
        };
        let reveal = p["filing"]["draw"]["entry"]["event"]["beacon"]["value"]
            .as_str()
            .unwrap();
        let reveal = Digest32::from_hex(reveal).unwrap();
        let stepped = klero_core::hash::sha256(&[b"klero/beacon-chain/v1\0", &reveal.0]);
        assert_eq!(stepped.to_hex(), value, "H(reveal) is the previous value");
        // Proven in the proof's checkpoint.
        let cp = &p["filing"]["checkpoint"];
        let entry: LogEntry = serde_json::from_value(prev["entry"].clone()).unwrap();
        assert_eq!(entry.computed_hash(), entry.hash);
        let path: Vec<Digest32> = prev["inclusion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Digest32::from_hex(h.as_str().unwrap()).unwrap())
            .collect();
        assert!(verify_inclusion(
            &Digest32::from_hex(cp["root"].as_str().unwrap()).unwrap(),
            cp["size"].as_u64().unwrap(),
            entry.index,
            &entry.hash,
            &path,
        ));
    }
    // The second draw steps down from the first.
    assert_eq!(
        prev2["entry"]["index"],
        p1["filing"]["draw"]["entry"]["index"]
    );
    // A filing's own answer is unchanged (the field is only in the case proof).
    assert!(second["proof"].get("beacon_previous").is_none());
}
both_backends!(case_proof_carries_the_previous_beacon_value);
