//! Server hygiene (issue 8): connections are timed out and bounded, oversized and out-of-range
//! requests are problem documents, dates and ranges have bounds, other courts' staff get 403, and
//! the OpenAPI document lists every status. (Revocation at the next request is tested in
//! `accountability`.)

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::helpers::*;

/// Sends `request` on a fresh connection and reads until the server closes it (or `wait` passes).
/// Returns the bytes read and how long the server took to close.
async fn raw(url: &str, request: &[u8], wait: Duration) -> (String, Option<Duration>) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    // A server may close before it has read everything of an oversized request: a failed write
    // is not a failure of the test, the answer is what counts.
    let _ = s.write_all(request).await;
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(wait.saturating_sub(t.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&out).into_owned(),
                    Some(t.elapsed()),
                );
            }
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), None),
        }
    }
}

/// The status and the JSON body of a raw HTTP/1.1 answer.
fn parse_answer(text: &str) -> (u16, String, serde_json::Value) {
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (
        status,
        ctype,
        serde_json::from_str(body).unwrap_or_default(),
    )
}

fn assert_raw_problem(text: &str, status: u16, slug: &str) {
    let (s, ctype, p) = parse_answer(text);
    assert_eq!(s, status, "{text}");
    assert_eq!(ctype, "application/problem+json", "{text}");
    assert_eq!(p["type"], format!("/api/v1/problems/{slug}"), "{text}");
    assert_eq!(p["status"], status, "{text}");
}

/// A half-sent request head, and an idle keep-alive connection, are closed by the default server
/// within its header-read limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_by_the_default_server() {
    let app = spawn_app(Backend::Sqlite).await;
    let limit = klero_portal::Limits::default().header_read;
    assert!(limit <= Duration::from_secs(30));
    let bound = limit + Duration::from_secs(3);
    let half = raw(
        &app.url,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        bound,
    );
    let idle = raw(&app.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", bound);
    let ((_, half), (answer, idle)) = tokio::join!(half, idle);
    assert!(
        half.is_some(),
        "a half-sent head was still open after {bound:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        idle.is_some(),
        "an idle connection was still open after {bound:?}"
    );
    app.stop().await;
}

/// Under tight limits: the header-read, request (slow body) and connection limits each hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phase_of_a_connection_is_bounded() {
    let app = spawn_app(Backend::Sqlite).await;
    let limits = klero_portal::Limits {
        header_read: Duration::from_millis(800),
        request: Duration::from_millis(1500),
        max_connections: 3,
        ..klero_portal::Limits::default()
    };
    let config = klero_portal::Config {
        enrollment_outbox: app.outbox.clone(),
    };
    let (addr, handle) = klero_portal::serve_with(
        app.store.clone(),
        "127.0.0.1:0".parse().unwrap(),
        config,
        limits,
    )
    .await
    .unwrap();
    let url = format!("http://{addr}");
    let wait = Duration::from_secs(5);

    // A head sent one byte at a time, never finished: closed after the header-read limit.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut closed = false;
    for b in
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()
    {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !closed {
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(wait, s.read(&mut buf)).await;
        assert!(matches!(r, Ok(Ok(_)) | Ok(Err(_))), "still open");
    }
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // A body announced and never sent: a 408 problem after the request limit.
    let (answer, took) = raw(
        &url,
        format!(
            "POST /api/v1/courts/{COURT}/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"division\":",
            app.clerk
        )
        .as_bytes(),
        wait,
    )
    .await;
    assert_raw_problem(&answer, 408, "request-timeout");
    assert!(took.is_some_and(|t| t < Duration::from_secs(4)), "{took:?}");

    // Three connections held open: a fourth is answered 503 at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, took) = raw(&url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", wait).await;
    assert_raw_problem(&answer, 503, "busy");
    assert!(took.is_some(), "the refused connection stayed open");
    // When they are timed out, the server takes connections again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = klero::client::Client::new(&url)
        .get("/healthz", None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    handle.abort();
    app.stop().await;
}

async fn oversized_and_malformed_requests_are_problem_documents(b: Backend) {
    let app = spawn_app(b).await;
    let wait = Duration::from_secs(10);
    // A 64 KiB URL (hyper's own limit) and a 16 KiB one (the router's).
    for len in [64 * 1024, 16 * 1024] {
        let req = format!(
            "GET /api/v1/courts/{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(len)
        );
        let (answer, _) = raw(&app.url, req.as_bytes(), wait).await;
        assert_raw_problem(&answer, 414, "uri-too-long");
    }
    // 40 KiB of headers (the router's limit) and 200 KiB (hyper's buffer).
    for len in [40 * 1024, 200 * 1024] {
        let req = format!(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "b".repeat(len)
        );
        let (answer, _) = raw(&app.url, req.as_bytes(), wait).await;
        assert_raw_problem(&answer, 431, "headers-too-large");
    }
    // Not HTTP at all.
    let (answer, _) = raw(&app.url, b"HELLO THERE\r\n\r\n", wait).await;
    assert_raw_problem(&answer, 400, "malformed-request");
    // A body over 64 KiB.
    let mut body = filing("big");
    body["claim"] = json!("c".repeat(70 * 1024));
    let before = app.size().await;
    let r = app
        .post(&format!("/api/v1/courts/{COURT}/cases"), &app.clerk, body)
        .await;
    assert_problem(&r, 413, "payload-too-large");
    // Log positions above 2^63 - 1.
    for q in ["end=9223372036854775808", "start=9223372036854775808"] {
        let r = app.get(&format!("/api/v1/log/entries?{q}"), None).await;
        assert_problem(&r, 400, "invalid-parameter");
    }
    let r = app
        .get("/api/v1/log/entries?end=9223372036854775807", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.size().await, before);
    app.stop().await;
}
both_backends!(oversized_and_malformed_requests_are_problem_documents);

async fn absences_have_bounds(b: Backend) {
    let app = spawn_app(b).await;
    let abs = "/api/v1/judges/J-03/absences";
    let today = klero_core::Day::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let day = |d: i32| klero_core::Day(today.0 + d).to_string();
    let before = app.size().await;
    for (from, until, says) in [
        (
            "2027-01-01".to_owned(),
            "3027-01-01".to_owned(),
            "at most 731 days",
        ),
        (day(10), day(10 + 731), "at most 731 days"),
        (day(-400), day(-390), "before today"),
        (day(1800), day(1830), "five years"),
    ] {
        let r = app
            .post(
                abs,
                &app.court_admin,
                json!({"from": from, "until": until, "reason": "leave"}),
            )
            .await;
        assert_problem(&r, 422, "invalid");
        assert!(
            r.json()["detail"].as_str().unwrap().contains(says),
            "{}",
            r.text()
        );
    }
    assert_eq!(
        app.size().await,
        before,
        "an unbounded absence was recorded"
    );
    // The longest allowed, from yesterday.
    let r = app
        .post(
            abs,
            &app.court_admin,
            json!({"from": day(-1), "until": day(729), "reason": "secondment"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    app.stop().await;
}
both_backends!(absences_have_bounds);

async fn other_courts_staff_get_403(b: Backend) {
    let app = spawn_app(b).await;
    let f = app.file("other court").await;
    let case = f["case"].as_str().unwrap();
    let before = app.size().await;
    // Another court's judge recusing from this court's case (naming themself, or not).
    for body in [
        json!({"reason": "other"}),
        json!({"judge": "O-01", "reason": "other"}),
    ] {
        let r = app
            .post(
                &format!("/api/v1/cases/{case}/recusals"),
                &app.other_judge,
                body,
            )
            .await;
        assert_problem(&r, 403, "forbidden");
    }
    // Another court's administrator opening an enrollment for this court's judge.
    let r = app
        .post(
            "/api/v1/enrollments",
            &app.other_admin,
            json!({"judge": "J-02"}),
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    assert_eq!(app.size().await, before);
    app.stop().await;
}
both_backends!(other_courts_staff_get_403);

#[tokio::test]
async fn the_openapi_document_lists_every_answer_an_operation_gives() {
    let doc: serde_json::Value = serde_json::from_str(&klero_portal::openapi_json()).unwrap();
    let mut ops = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let r = op["responses"].as_object().unwrap();
            let has = |s: &str| r.contains_key(s);
            for s in ["400", "408", "414", "431", "503"] {
                assert!(has(s), "{method} {path} lacks {s}");
            }
            if op.get("security").is_some() {
                assert!(has("401") && has("403"), "{method} {path} lacks 401/403");
            }
            if op.get("requestBody").is_some() {
                for s in ["413", "415", "422"] {
                    assert!(has(s), "{method} {path} lacks {s}");
                }
            }
            if path.contains('{') {
                assert!(has("404"), "{method} {path} lacks 404");
            }
            ops += 1;
        }
    }
    assert!(ops >= 28, "{ops}");
    let revoke = &doc["paths"]["/api/v1/tokens/{credential}"]["delete"]["responses"];
    for s in ["200", "403", "404", "409"] {
        assert!(revoke.get(s).is_some(), "{s}");
    }
}
