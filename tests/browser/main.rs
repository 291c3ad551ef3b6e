//! Browser tests: the portal in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`), driven over WebDriver. They fail, never skip, when
//! the browser is missing. They run on SQLite only: what they test is the page and the
//! JavaScript, which do not depend on the backend (tests/api runs both backends).

// spawn_app(), the seeded court and tokens, shared with tests/api.
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
// The WebDriver client (shared with examples/screenshots.rs).
#[allow(dead_code)]
mod webdriver;
// The test's loopback server: harness page, vectors, and a (tampering) proxy to the portal.
mod site;
// The JavaScript verifier against every file of tests/vectors/, and a tampered copy.
mod vectors;
// An observer clicks "Check this draw": it passes on an honest record and fails on a tampered one.
mod draw_check;
// A clerk files a case through the pages and sees the judge; the judge finds it on the docket.
mod portal_flows;
