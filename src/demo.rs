//! The demo court: a realistic small court seeded through the real API (every change is a request
//! to the portal's router, so every entry went through the same checks and the same
//! `Store::submit` path as in production).

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt;
use klero_core::{Actor, ActorId, CaseType, CaseTypeCode, Day, Policy, Role, Specialization};
use klero_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The demo court's identifier.
pub const COURT: &str = "demo-district";

/// The default policy: seven case types with weights 1 to 5, one of them a 3-judge panel, and the
/// SPEC's default draw parameters.
pub fn default_policy() -> Policy {
    let t = |code: &str, spec: &str, weight: u32, panel: u8| CaseType {
        code: CaseTypeCode::parse(code).expect("valid"),
        specialization: Specialization::parse(spec).expect("valid"),
        weight,
        panel,
    };
    Policy::with_case_types(vec![
        t("civil-small", "civil", 1, 1),
        t("civil", "civil", 2, 1),
        t("commercial", "commercial", 3, 1),
        t("family", "family", 2, 1),
        t("labour", "labour", 2, 1),
        t("criminal", "criminal", 3, 1),
        t("criminal-serious", "criminal", 5, 3),
    ])
}

/// Writes the genesis entry with `policy` (by the system administrator `actor`).
pub async fn genesis(store: &Store, log_id: &str, policy: Policy) -> Result<(), String> {
    let log_id = ActorId::parse(log_id).map_err(|e| e.to_string())?;
    store
        .genesis(
            Actor {
                role: Role::SystemAdmin,
                id: ActorId::parse("system-admin-init").expect("valid"),
            },
            log_id,
            policy,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The demo's system administrator (staff number).
pub const SYSTEM_ADMIN: &str = "SA-0001";
/// The demo court's administrator (staff number).
pub const COURT_ADMIN: &str = "CA-0001";
/// The demo court's clerk (staff number).
pub const CLERK: &str = "CL-0001";

/// The tokens printed for a person to try each role.
#[derive(Clone, Debug)]
pub struct DemoTokens {
    /// A clerk of the demo court.
    pub clerk: String,
    /// Judge `J-02`.
    pub judge: String,
    /// The judge the judge token belongs to.
    pub judge_id: String,
    /// A court administrator of the demo court.
    pub court_admin: String,
    /// A system administrator.
    pub system_admin: String,
}

/// Calls the router in-process.
struct Api {
    router: Router,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> Result<Value, String> {
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .map_err(|e| e.to_string())?;
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!(
                "{method} {path} answered {status}: {}",
                v.get("detail").and_then(Value::as_str).unwrap_or("")
            ));
        }
        Ok(v)
    }
}

/// A tiny deterministic generator (the demo must not depend on outcomes being any particular way,
/// only on being reproducible in shape).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Seeds the demo court into an empty log: genesis with [`default_policy`], a court with two
/// divisions and 20 judges (a president at 250‰, two part-time judges, one inactive), absences
/// (one cancelled), declared conflicts, `cases` filings (some related, one duplicate, one appeal),
/// recusals, reassignments and closings. Returns a token per role.
pub async fn seed(store: &Store, cases: usize) -> Result<DemoTokens, String> {
    if store.checkpoint().0 == 0 {
        genesis(store, "demo-allocation-log", default_policy()).await?;
    }
    // The installation's first credential, then every other one issued by a person (SPEC §7.9).
    let system_admin = store
        .bootstrap_admin(ActorId::parse(SYSTEM_ADMIN).expect("valid"))
        .await
        .map_err(|e| e.to_string())?;
    // Judges' enrollment codes are delivered to a private folder the seeding reads back, standing
    // in for each judge receiving their code.
    let outbox = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = klero_portal::Config {
        enrollment_outbox: outbox.path().to_owned(),
    };
    let api = Api {
        router: klero_portal::router(store.clone(), config).await,
    };
    let post = |path: String, token: String, body: Value| {
        let api = &api;
        async move { api.call(Method::POST, &path, &token, body).await }
    };
    post(
        "/api/v1/courts".into(),
        system_admin.clone(),
        json!({"court": COURT, "name": "District Court (demo)"}),
    )
    .await?;
    let issue = |by: String, role: &str, holder: &str| {
        let body = json!({"role": role, "holder": holder, "court": COURT});
        let post = &post;
        async move {
            let r = post("/api/v1/tokens".into(), by, body).await?;
            Ok::<String, String>(r["token"].as_str().unwrap_or_default().to_owned())
        }
    };
    let court_admin = issue(system_admin.clone(), "court_admin", COURT_ADMIN).await?;
    let clerk = issue(court_admin.clone(), "clerk", CLERK).await?;
    // A judge's credential: the court administrator opens an enrollment, the code goes to the
    // judge through the outbox, and the judge completes it.
    let judge_tokens = std::sync::Mutex::new(HashMap::<String, String>::new());
    let tok = |judge: &str| {
        let judge = judge.to_owned();
        let (post, court_admin, judge_tokens) = (&post, court_admin.clone(), &judge_tokens);
        let outbox = outbox.path().to_owned();
        async move {
            if let Some(t) = judge_tokens.lock().expect("tokens").get(&judge) {
                return Ok::<String, String>(t.clone());
            }
            post(
                "/api/v1/enrollments".into(),
                court_admin,
                json!({ "judge": judge }),
            )
            .await?;
            let code = std::fs::read_to_string(outbox.join(format!("{judge}.code")))
                .map_err(|e| format!("the enrollment code of {judge} was not delivered: {e}"))?;
            let done = post(
                "/api/v1/enrollments/complete".into(),
                String::new(),
                json!({"code": code.trim()}),
            )
            .await?;
            let t = done["token"].as_str().unwrap_or_default().to_owned();
            judge_tokens
                .lock()
                .expect("tokens")
                .insert(judge, t.clone());
            Ok(t)
        }
    };
    let base = format!("/api/v1/courts/{COURT}");
    for (d, name) in [
        ("civil", "Civil Division"),
        ("criminal", "Criminal Division"),
    ] {
        post(
            format!("{base}/divisions"),
            court_admin.clone(),
            json!({"division": d, "name": name}),
        )
        .await?;
    }
    let civil_specs: [&[&str]; 12] = [
        &["civil", "commercial", "family", "labour"],
        &["civil", "commercial"],
        &["civil", "family"],
        &["civil", "labour"],
        &["civil", "commercial"],
        &["civil", "family"],
        &["family", "labour"],
        &["civil", "commercial"],
        &["commercial", "labour"],
        &["civil", "family"],
        &["civil"],
        &["civil", "labour"],
    ];
    for i in 1..=20 {
        let judge = format!("J-{i:02}");
        let (division, specs): (&str, &[&str]) = if i <= 12 {
            ("civil", civil_specs[i - 1])
        } else {
            ("criminal", &["criminal"])
        };
        let share = match i {
            1 => 250, // the president
            7 | 12 => 500,
            _ => 1000,
        };
        post(
            format!("{base}/judges"),
            court_admin.clone(),
            json!({"judge": judge, "division": division, "specializations": specs,
                   "share_permille": share, "active": i != 20}),
        )
        .await?;
    }
    let today = Day::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    );
    let day = |offset: i32| Day(today.0 + offset).to_string();
    for (judge, from, until, reason) in [
        ("J-05", -1, 6, "sick"),
        ("J-15", 0, 13, "leave"),
        ("J-08", 30, 32, "training"),
        ("J-10", 2, 4, "leave"),
    ] {
        post(
            format!("/api/v1/judges/{judge}/absences"),
            court_admin.clone(),
            json!({"from": day(from), "until": day(until), "reason": reason}),
        )
        .await?;
    }
    api.call(
        Method::DELETE,
        &format!("/api/v1/absences/J-10-{}-1", day(2)),
        &court_admin,
        Value::Null,
    )
    .await?;
    let conflicted = [("J-03", "PL-77010112345"), ("J-14", "BAR-WAW-1234")];
    for (judge, party) in conflicted {
        let t = tok(judge).await?;
        post(
            format!("/api/v1/judges/{judge}/conflicts"),
            t,
            json!({"party": party}),
        )
        .await?;
    }

    let types = [
        ("civil", "civil-small"),
        ("civil", "civil-small"),
        ("civil", "civil"),
        ("civil", "civil"),
        ("civil", "commercial"),
        ("civil", "family"),
        ("civil", "labour"),
        ("criminal", "criminal"),
        ("criminal", "criminal"),
        ("criminal", "criminal-serious"),
    ];
    let mut rng = Lcg(20_260_101);
    // Each filed case: its number, judges and first party.
    let mut filed: Vec<(String, Vec<String>, String)> = vec![];
    for n in 0..cases {
        let (division, case_type) = types[rng.below(types.len() as u64) as usize];
        let mut parties = vec![
            format!("PL-{:011}", 80_000_000_000 + rng.below(10_000_000)),
            format!("PL-{:011}", 80_000_000_000 + rng.below(10_000_000)),
        ];
        if n.is_multiple_of(17) {
            parties.push(conflicted[0].1.into());
        }
        if n.is_multiple_of(23) {
            parties.push(conflicted[1].1.into());
        }
        // Every 40th filing is related to an earlier case (a counterclaim by one of its parties).
        let related = (n % 40 == 39)
            .then(|| filed.iter().rev().nth(5))
            .flatten()
            .cloned();
        if let Some((_, _, party)) = &related {
            parties.push(party.clone());
        }
        let first_party = parties[0].clone();
        let mut body = json!({"division": division, "case_type": case_type, "parties": parties,
                              "claim": format!("demo claim {n}")});
        if let Some((c, _, _)) = related {
            body["related"] = json!({"case": c, "reason": "counterclaim"});
        }
        if n == cases / 2
            && let Some((c, _, _)) = filed.first()
        {
            body["earlier_instance"] = json!(c);
        }
        let r = post(format!("{base}/cases"), clerk.clone(), body).await?;
        let judges = r["judges"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|j| j.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        filed.push((
            r["case"].as_str().unwrap_or_default().to_owned(),
            judges,
            first_party,
        ));
        // One duplicate filing: the same parties and claim, bound to the first filing's judges.
        if n == 10 {
            let dup = json!({"division": division, "case_type": case_type,
                             "parties": parties, "claim": format!("demo claim {n}")});
            post(format!("{base}/cases"), clerk.clone(), dup).await?;
        }
    }
    // Recusals by the judges themselves, reassignments and closings by the clerk.
    for (i, (case, judges, _)) in filed.iter().enumerate().take(cases) {
        let Some(first) = judges.first() else {
            continue;
        };
        if i % 50 == 7 {
            let t = tok(first).await?;
            let _ = post(
                format!("/api/v1/cases/{case}/recusals"),
                t,
                json!({"reason": "prior_involvement"}),
            )
            .await;
        } else if i % 75 == 3 {
            let _ = post(
                format!("/api/v1/cases/{case}/reassignments"),
                clerk.clone(),
                json!({"judge": first, "reason": "long_term_absence"}),
            )
            .await;
        } else if i.is_multiple_of(6) {
            post(
                format!("/api/v1/cases/{case}/close"),
                clerk.clone(),
                json!({"reason": "judgment"}),
            )
            .await?;
        }
    }
    let judge_id = "J-02".to_owned();
    Ok(DemoTokens {
        judge: tok(&judge_id).await?,
        judge_id,
        clerk,
        court_admin,
        system_admin,
    })
}
