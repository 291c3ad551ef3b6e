//! An observer opens a case's page after a filing and clicks "Check this draw": the check, run in
//! the browser by klero-verify.js, passes; served a tampered draw record, it fails and says what.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::site::{self, Tamper};
use crate::webdriver::Driver;

/// The portal's case page, which carries the check.
pub fn case_page(case: &str) -> String {
    format!("/cases/{case}")
}

/// Opens `page` on `site`, clicks the button, and returns the result's state and text.
fn click_check(site: &str, page: &str) -> (String, String) {
    let driver = Driver::start().unwrap();
    let s = driver.session(1280, 800).unwrap();
    s.goto(&format!("{site}{page}")).unwrap();
    // The script un-hides the button (it stays hidden without JavaScript).
    s.wait_for(
        "const b = document.getElementById('draw-check-button'); return b && !b.hidden;",
        Duration::from_secs(10),
    )
    .unwrap();
    let button = s.find("#draw-check-button").unwrap();
    s.click(&button).unwrap();
    let state = s
        .wait_for(
            "const st = document.getElementById('draw-check-result').dataset.state;
             return (st === 'pass' || st === 'fail') ? st : null;",
            Duration::from_secs(20),
        )
        .unwrap();
    let text = s
        .execute(
            "return document.getElementById('draw-check-result').textContent;",
            json!([]),
        )
        .unwrap();
    (
        state.as_str().unwrap().to_owned(),
        text.as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_checks_a_draw_in_the_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    // The first draw's beacon value follows the genesis anchor, the second's the first draw's.
    let first = app.file("a claim an observer will check").await;
    let second = app.file("a later claim").await;
    let site = site::start(Some(app.url.clone()), Tamper::None).await;
    for filed in [first, second] {
        let case = filed["case"].as_str().unwrap().to_owned();
        let judge = filed["judges"][0].as_str().unwrap().to_owned();
        let (site, page) = (site.clone(), case_page(&case));
        let (state, text) = tokio::task::spawn_blocking(move || click_check(&site, &page))
            .await
            .unwrap();
        println!("check of {case}: {state}: {text}");
        assert_eq!(state, "pass", "{text}");
        assert!(
            text.contains(&judge),
            "the result names the judge drawn: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_draw_record_fails_the_check() {
    let app = spawn_app(Backend::Sqlite).await;
    let filed = app.file("a claim whose record will be tampered with").await;
    let case = filed["case"].as_str().unwrap().to_owned();
    for (tamper, says) in [
        (Tamper::ChosenJudge, "the entry was altered"),
        (Tamper::CheckpointRoot, "is not in the log's tree"),
    ] {
        let site = site::start(Some(app.url.clone()), tamper).await;
        let page = case_page(&case);
        let (state, text) = tokio::task::spawn_blocking(move || click_check(&site, &page))
            .await
            .unwrap();
        println!("check of {case} with {tamper:?}: {state}: {text}");
        assert_eq!(state, "fail", "{tamper:?} must fail the check: {text}");
        assert!(text.contains("does NOT check"), "{text}");
        assert!(text.contains(says), "{tamper:?}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_checks_a_drand_draw_in_the_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let dev = klero_core::DevChain::new(&[5; 32], now - 30, 1);
    let (_relay, task) = klero::drand::attach_dev_relay(
        &app.store,
        dev,
        klero::drand::system_clock(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let r = app
        .post(
            "/api/v1/courts/demo-district/cases?wait=20",
            &app.clerk,
            crate::helpers::filing("a claim drawn with drand"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().unwrap().to_owned();
    let site = site::start(Some(app.url.clone()), Tamper::None).await;
    let page = case_page(&case);
    let (state, text) = tokio::task::spawn_blocking(move || click_check(&site, &page))
        .await
        .unwrap();
    println!("check of {case}: {state}: {text}");
    assert_eq!(state, "pass", "{text}");
    assert!(
        !text.contains("not checked here"),
        "the BLS signature is checked: {text}"
    );
    task.abort();
}
