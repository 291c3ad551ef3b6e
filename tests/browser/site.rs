//! The test's own loopback web server, in front of the portal: it serves the vector harness page,
//! the vectors of `tests/vectors/`, the portal's JavaScript (`klero_portal::js_asset`), and
//! forwards every other GET to the portal under test, optionally tampering with the case proof it
//! passes on (the way a lying server or a man in the middle would). One origin for all, as the
//! page's module imports and fetches need.

use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// How the proof passed on to the page is altered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Passed on unchanged.
    None,
    /// The draw entry's first chosen judge is replaced by another eligible judge (its hash is
    /// left as it was).
    ChosenJudge,
    /// The checkpoint's root is replaced (the entries are not in the tree claimed).
    CheckpointRoot,
}

#[derive(Clone)]
struct Site {
    upstream: Option<String>,
    tamper: Tamper,
}

/// Serves on a free loopback port; returns its base URL.
pub async fn start(upstream: Option<String>, tamper: Tamper) -> String {
    let app = Router::new()
        .route("/harness.html", get(harness))
        .route("/tests/vectors.js", get(vectors_js))
        .route("/vectors/{*path}", get(vector))
        .route("/assets/js/{*path}", get(asset))
        .fallback(proxy)
        .with_state(Site { upstream, tamper });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

fn js(body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

async fn harness() -> Html<&'static str> {
    Html(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>klero-verify.js vectors</title></head>
<body><h1>klero-verify.js against tests/vectors</h1><pre id="out">running…</pre>
<script type="module">
import { runVectors } from '/tests/vectors.js';
import { parseConfusables } from '/assets/js/klero-verify.js';
window.kleroVectors = async (names, tamper) => {
  const table = await fetch('/assets/js/confusables.json');
  if (!table.ok) throw new Error('cannot load confusables.json: ' + table.status);
  const confusables = parseConfusables(await table.text());
  const files = {};
  for (const n of names) {
    const r = await fetch('/vectors/' + n);
    if (!r.ok) throw new Error('cannot load ' + n + ': ' + r.status);
    files[n] = await r.text();
  }
  if (tamper) files[tamper.file] = files[tamper.file].replace(tamper.from, tamper.to);
  const report = runVectors(files, { confusables });
  document.getElementById('out').textContent = JSON.stringify(report, null, 1);
  return report;
};
window.kleroReady = true;
</script></body></html>"#,
    )
}

async fn vectors_js() -> Response {
    js(include_str!("vectors.js"))
}

async fn asset(Path(path): Path<String>) -> Response {
    match klero_portal::js_asset(&path) {
        Some(body) if path.ends_with(".js") => js(body),
        Some(body) if path.ends_with(".json") => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The vectors directory of this repository.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

async fn vector(Path(path): Path<String>) -> Response {
    if path.split('/').any(|p| p == ".." || p.is_empty()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match std::fs::read_to_string(vectors_dir().join(&path)) {
        Ok(text) => text.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn proxy(State(site): State<Site>, req: Request) -> Response {
    let Some(upstream) = site.upstream.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let url = format!("{upstream}{path}");
    let fetched = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent.get(&url).call().map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let body = r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
        Ok::<_, String>((status, kind, body))
    })
    .await
    .unwrap();
    let (status, kind, mut body) = match fetched {
        Ok(x) => x,
        Err(e) => return (StatusCode::BAD_GATEWAY, e).into_response(),
    };
    if status == 200 && path.starts_with("/api/v1/cases/") && path.ends_with("/proof") {
        body = tamper(site.tamper, &body);
    }
    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(&kind).unwrap());
    r
}

fn tamper(how: Tamper, body: &[u8]) -> Vec<u8> {
    if how == Tamper::None {
        return body.to_vec();
    }
    let mut v: Value = serde_json::from_slice(body).expect("the proof is JSON");
    match how {
        Tamper::None => {}
        Tamper::ChosenJudge => {
            let draw = &mut v["filing"]["draw"]["entry"]["event"];
            let chosen = draw["chosen"][0].as_str().unwrap().to_owned();
            let other = draw["eligible"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["judge"].as_str())
                .find(|j| *j != chosen)
                .expect("the pool has another judge")
                .to_owned();
            draw["chosen"][0] = Value::String(other);
        }
        Tamper::CheckpointRoot => {
            v["filing"]["checkpoint"]["root"] = Value::String("ab".repeat(32));
        }
    }
    serde_json::to_vec(&v).unwrap()
}
