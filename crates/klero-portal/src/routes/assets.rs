//! The portal's JavaScript, compiled into the binary (no files to deploy, no CDN): the in-browser
//! draw verifier, its page script and the vendored noble libraries. And a minimal page carrying
//! the "Check this draw" button for one case.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::parse_case;
use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Every file served under `/assets/js/`, by path.
const FILES: &[(&str, &str)] = &[
    (
        "klero-verify.js",
        include_str!("../../assets/js/klero-verify.js"),
    ),
    (
        "draw-check.js",
        include_str!("../../assets/js/draw-check.js"),
    ),
    (
        "vendor/README.md",
        include_str!("../../assets/js/vendor/README.md"),
    ),
    (
        "vendor/noble-hashes/LICENSE",
        include_str!("../../assets/js/vendor/noble-hashes/LICENSE"),
    ),
    (
        "vendor/noble-hashes/sha2.js",
        include_str!("../../assets/js/vendor/noble-hashes/sha2.js"),
    ),
    (
        "vendor/noble-hashes/_md.js",
        include_str!("../../assets/js/vendor/noble-hashes/_md.js"),
    ),
    (
        "vendor/noble-hashes/_u64.js",
        include_str!("../../assets/js/vendor/noble-hashes/_u64.js"),
    ),
    (
        "vendor/noble-hashes/utils.js",
        include_str!("../../assets/js/vendor/noble-hashes/utils.js"),
    ),
    (
        "vendor/noble-ciphers/LICENSE",
        include_str!("../../assets/js/vendor/noble-ciphers/LICENSE"),
    ),
    (
        "vendor/noble-ciphers/chacha.js",
        include_str!("../../assets/js/vendor/noble-ciphers/chacha.js"),
    ),
    (
        "vendor/noble-ciphers/_arx.js",
        include_str!("../../assets/js/vendor/noble-ciphers/_arx.js"),
    ),
    (
        "vendor/noble-ciphers/_poly1305.js",
        include_str!("../../assets/js/vendor/noble-ciphers/_poly1305.js"),
    ),
    (
        "vendor/noble-ciphers/utils.js",
        include_str!("../../assets/js/vendor/noble-ciphers/utils.js"),
    ),
];

/// The text of a served asset, for tests and tools.
pub fn asset(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, body)| *body)
}

/// `GET /assets/js/{*path}`: one of the files above, JavaScript as `text/javascript`.
pub async fn js(Path(path): Path<String>) -> Response {
    let Some(body) = asset(&path) else {
        return ApiError::not_found(format!("there is no asset {path:?}")).into_response();
    };
    let kind = if path.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else if path.ends_with(".md") {
        "text/markdown; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// `GET /cases/{case}/draw-check`: a minimal page with the "Check this draw" button for a case,
/// in the markup the portal's case page uses (`#draw-check`, `#draw-check-button`,
/// `#draw-check-result`).
pub async fn draw_check_page(
    AxState(app): AxState<AppState>,
    Path(case): Path<String>,
) -> ApiResult<Html<String>> {
    let case = parse_case(&case)?;
    if app.store.read(|s| s.case(&case).is_none()) {
        return Err(ApiError::not_found(format!("there is no case {case}")));
    }
    let id = case.to_string();
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Check the draw of case {id}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
button{{font-size:1rem;padding:.5rem 1rem}}[data-state=pass]{{color:#0a5a1e}}[data-state=fail]{{color:#a4000f}}</style>
</head>
<body>
<main>
<h1>Case {id}</h1>
<p>The draw's record: <a href="/api/v1/cases/{id}/proof">proof</a> (JSON).</p>
<section id="draw-check" data-case="{id}" data-proof-url="/api/v1/cases/{id}/proof"
 data-label-check="Checking the draw in this browser…"
 data-label-pass="The draw checks out:"
 data-label-fail="The draw does NOT check out:">
<button type="button" id="draw-check-button" hidden>Check this draw</button>
<p id="draw-check-result" role="status"></p>
</section>
</main>
<script type="module" src="/assets/js/draw-check.js"></script>
</body>
</html>
"#
    )))
}
