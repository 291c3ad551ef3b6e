//! A clerk files a case in the browser and sees the judge drawn; that judge logs in and sees the
//! case on their docket. Driven through the ids the pages keep stable: the login form
//! `#login-form` with its token field `#token`, the filing form `#filing-form`, the result
//! `#drawn-judge`, the docket table `#docket`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::webdriver::{Driver, Session};

/// Where the staff login page is.
const LOGIN: &str = "/login";
/// Where a clerk files a case of `COURT`.
fn filing_page() -> String {
    "/clerk/file".into()
}
/// Where a judge's docket is.
fn docket_page(_judge: &str) -> String {
    "/judge".into()
}

fn log_in(s: &Session<'_>, base: &str, token: &str) {
    s.goto(&format!("{base}{LOGIN}")).unwrap();
    let field = s.find("#login-form #token").unwrap();
    s.type_into(&field, token).unwrap();
    s.execute(
        "document.getElementById('login-form').requestSubmit();",
        json!([]),
    )
    .unwrap();
    // The login answers with a page of its own; wait until the form is gone.
    s.wait_for(
        "return document.readyState === 'complete' && !document.getElementById('login-form');",
        Duration::from_secs(10),
    )
    .unwrap();
}

fn fill(s: &Session<'_>, css: &str, text: &str) {
    let el = s.find(css).unwrap();
    s.type_into(&el, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_files_a_case_and_the_judge_sees_it_on_the_docket() {
    let app = spawn_app(Backend::Sqlite).await;
    let (base, clerk) = (app.url.clone(), app.clerk.clone());
    // The clerk files in the browser and reads the judge drawn off the page.
    let judge = tokio::task::spawn_blocking(move || {
        let driver = Driver::start().unwrap();
        let s = driver.session(1280, 900).unwrap();
        log_in(&s, &base, &clerk);
        s.goto(&format!("{base}{}", filing_page())).unwrap();
        s.find("#filing-form").unwrap();
        fill(&s, "#filing-form [name=parties]", "PL-90010112345\nCO-BROWSER-1");
        fill(&s, "#filing-form [name=claim]", "a claim filed in a browser");
        s.execute("document.getElementById('filing-form').requestSubmit();", json!([]))
            .unwrap();
        let judge = s
            .wait_for(
                "const e = document.getElementById('drawn-judge'); return e && e.textContent.trim() || null;",
                Duration::from_secs(15),
            )
            .unwrap();
        judge.as_str().unwrap().to_owned()
    })
    .await
    .unwrap();
    // The page names the judge the log recorded for the newest case.
    let text = app
        .get("/api/v1/log/entries?start=0&end=100000", None)
        .await
        .text();
    let draw = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"]["type"] == "draw")
        .expect("the filing drew a judge");
    let recorded = draw["event"]["chosen"][0].as_str().unwrap().to_owned();
    let case = draw["event"]["case"].as_str().unwrap().to_owned();
    assert!(
        judge.contains(&recorded),
        "the page shows {judge:?}, the log {recorded}"
    );

    // That judge logs in and finds the case on their docket.
    let token = app.judge_token(&recorded).await;
    let base = app.url.clone();
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start().unwrap();
        let s = driver.session(1280, 900).unwrap();
        log_in(&s, &base, &token);
        s.goto(&format!("{base}{}", docket_page(&recorded))).unwrap();
        let found = s
            .wait_for(
                &format!(
                    "const t = document.getElementById('docket'); return !!t && t.textContent.includes({});",
                    json!(case)
                ),
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(found, json!(true));
    })
    .await
    .unwrap();
}
