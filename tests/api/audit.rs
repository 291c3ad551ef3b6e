use std::process::Command;

use axum::http::Method;
use klero::client::Client;

use crate::both_backends;
use crate::helpers::*;

fn klero(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The honest demo court (`klero serve --demo`: 300 filings, absences, conflicts, recusals,
/// reassignments, a duplicate, related cases) is audited without a flag by the command line, from
/// the file and from the server, and by the API; the observer's page draws its plots without
/// script.
async fn the_honest_demo_court_is_not_flagged(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = match b {
        Backend::Sqlite => klero_store::testing::fresh_sqlite(dir.path()).await,
        Backend::Postgres => klero_store::testing::fresh_postgres().await,
    };
    let store = open(&db).await;
    klero::demo::seed(&store, 300).await.expect("demo seeds");
    let (url, handle) = start(store.clone(), &dir.path().join("outbox")).await;
    let file = dir.path().join("log.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let size = klero::export(&store, &mut f).await.unwrap();
    drop(f);
    let file_s = file.to_str().unwrap().to_owned();

    let (code, out, err) = klero(&["audit", &file_s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Court demo-district: 301 filings"), "{out}");
    assert!(
        out.contains("nothing flagged at the default threshold"),
        "{out}"
    );
    let (code, out, _) = klero(&["audit", &file_s, "--json", "--court", COURT]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["entries"], size);
    let court = &report["courts"][0];
    assert_eq!(court["flags"], serde_json::json!([]));
    // The demo's reassignments, recusals, duplicate and related filings are all counted.
    assert!(court["reassignments"]["reassignments"].as_u64().unwrap() > 0);
    assert!(court["reassignments"]["recusals"].as_u64().unwrap() > 0);
    assert!(
        court["fallbacks"]["per_method"]
            .to_string()
            .contains("duplicate")
    );
    // The same audit from the live server.
    let u = url.clone();
    let (code, out, _) =
        tokio::task::spawn_blocking(move || klero(&["audit", "--url", &u, "--court", COURT]))
            .await
            .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing flagged"), "{out}");

    let client = Client::new(&url);
    let get = |path: String| {
        let c = client.clone();
        async move { c.send(Method::GET, &path, None, None, &[]).await.unwrap() }
    };
    let r = get(format!("/api/v1/courts/{COURT}/audit")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = r.json();
    assert_eq!(a["size"], size);
    assert_eq!(a["audit"]["flags"], serde_json::json!([]));
    assert_eq!(a["audit"]["calibration"], court["calibration"]);
    let r = get(format!("/api/v1/courts/{COURT}/audit?since=2000-01-01")).await;
    assert_eq!(r.status, 200);
    let r = get(format!("/courts/{COURT}/audit")).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(
        html.contains("<svg") && html.contains("Nothing is flagged"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "{html}"
    );
    // Bad input: problem+json, plain sentences.
    assert_problem(
        &get("/api/v1/courts/nowhere/audit".into()).await,
        404,
        "not-found",
    );
    assert_problem(
        &get(format!("/api/v1/courts/{COURT}/audit?since=2026-13-01")).await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &get(format!("/api/v1/courts/{COURT}/audit?until=2026-01-01")).await,
        400,
        "invalid-parameter",
    );
    let (code, _, err) = klero(&["audit", &file_s, "--court", "nowhere"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("there is no court nowhere in this log"),
        "{err}"
    );
    let (code, _, err) = klero(&["audit", "/nonexistent/log.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open"), "{err}");
    // A log that does not verify is reported, and the exit code says so.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(40);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = klero(&["audit", &file_s]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAILED VERIFICATION: entry 40 (SPEC §9):"),
        "{out}"
    );
    handle.abort();
    store.close().await;
}
both_backends!(the_honest_demo_court_is_not_flagged);
