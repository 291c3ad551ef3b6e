//! The portal in a browser: server-rendered pages for observers, clerks, judges and court
//! administrators, on the same store and the same handler code as the JSON API.
//!
//! ## Choices written down
//!
//! - **Markup** is [maud]: HTML written in Rust, checked at compile time and escaped by default
//!   (only the audit's own SVG plots are inserted pre-escaped). Every page works without
//!   JavaScript; the only script is the in-browser draw check on a case page.
//! - **Words** come from one Fluent catalogue ([`i18n`]) in Azerbaijani, Russian and English; no
//!   template holds a user-visible string. Details the core gives in a refusal (its plain English
//!   sentence) are shown as they are, after a translated lead-in.
//! - **Staff sign in** by pasting their credential into `#login-form`. It is kept in the cookie
//!   `klero_session` (`HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` when the request came
//!   through HTTPS, which the portal learns from `X-Forwarded-Proto: https` set by the TLS proxy in
//!   front of it). The server keeps no session table: the cookie is the credential, recognized like
//!   a bearer token, so a revocation ends the session at the next request. Credentials never
//!   appear in a URL.
//! - **CSRF**: every form carries a hidden `csrf` field, an HMAC-SHA-256 under a key the process
//!   draws at start of the session's credential fingerprint (signed in) or of a random pre-session
//!   cookie `klero_pre` (the login form). A POST whose field does not match is refused with 403 and
//!   writes nothing. `SameSite=Strict` on both cookies is a second line. After a restart the key is
//!   new and open forms must be reloaded.
//! - **Headers**: a Content-Security-Policy that allows only the portal's own scripts and styles,
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, and `no-store` on every
//!   page (staff pages show non-public data).

// A page handler's early return is the whole page to send (a `Response`), once per request; boxing
// it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod i18n;
mod public;
mod staff;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use klero_core::Role;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::AppState;
use crate::auth::{Principal, principal_of};
use crate::error::ApiError;
pub use i18n::{LANGUAGES, Lang};

/// The session cookie (holds the credential).
pub const SESSION_COOKIE: &str = "klero_session";
/// The pre-session cookie the login form's CSRF token is bound to.
pub const PRE_COOKIE: &str = "klero_pre";
/// The language cookie.
pub const LANG_COOKIE: &str = "klero_lang";

/// The pages' secrets, drawn at start.
pub struct PageKeys {
    csrf: Vec<u8>,
}

impl PageKeys {
    pub(crate) fn new() -> PageKeys {
        PageKeys {
            csrf: klero_store::Store::new_secret("")
                .unwrap_or_else(|e| panic!("no randomness for the CSRF key: {e}"))
                .into_bytes(),
        }
    }

    fn tag(&self, binding: &str) -> String {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.csrf).expect("any key length");
        m.update(b"klero csrf v1\0");
        m.update(binding.as_bytes());
        m.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Every page route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(public::home))
        .route("/login", get(public::login_form).post(public::login))
        .route("/logout", post(public::logout))
        .route("/courts/{court}", get(public::court))
        .route("/log", get(public::log))
        .route("/cases/{case}", get(public::case))
        .route("/cases/{case}/recusal", post(staff::recuse))
        .route("/cases/{case}/reassignment", post(staff::reassign))
        .route("/cases/{case}/closing", post(staff::close))
        .route("/clerk/file", get(staff::file_form).post(staff::file))
        .route("/clerk/cases", get(staff::cases))
        .route("/judge", get(staff::docket))
        .route(
            "/judge/conflicts",
            get(staff::conflicts).post(staff::declare),
        )
        .route("/judge/conflicts/withdraw", post(staff::withdraw))
        .route(
            "/admin/judges",
            get(staff::judges).post(staff::register_judge),
        )
        .route("/admin/judges/{judge}", post(staff::update_judge))
        .route(
            "/admin/absences",
            get(staff::absences).post(staff::record_absence),
        )
        .route("/admin/absences/cancel", post(staff::cancel_absence))
        .route("/admin/tokens", get(staff::tokens).post(staff::issue_token))
        .route("/admin/tokens/revoke", post(staff::revoke_token))
        .route("/admin/import", get(staff::import_form).post(staff::import))
        .route("/assets/{*path}", get(asset))
}

// The files under `assets/`, compiled in by build.rs.
include!(concat!(env!("OUT_DIR"), "/assets.rs"));

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "wasm" => "application/wasm",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The bytes of the portal's static file at `path` below `assets/` (for tests and tools).
pub fn asset_bytes(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// A static file of the portal (`/assets/style.css`, `/assets/js/...`), from the binary.
async fn asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _)| *p == path) {
        Some((p, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(p)),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => ApiError::not_found(format!("there is no asset {path:?}")).into_response(),
    }
}

/// What every page handler knows about its request: language, who is signed in, the CSRF token,
/// and the cookies to set.
pub struct Ctx {
    /// The application.
    pub app: AppState,
    /// The request's language.
    pub lang: Lang,
    /// Who is signed in.
    pub user: Option<Principal>,
    /// The request's path.
    pub path: String,
    secure: bool,
    pre: Option<String>,
    csrf: String,
    cookies: Vec<String>,
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Ctx, Self::Rejection> {
        let mut cookies = vec![];
        let query_lang = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::parse(v))
        });
        let lang = query_lang
            .or_else(|| cookie(parts, LANG_COOKIE).and_then(Lang::parse))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(Lang::En);
        let secure = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        if let Some(l) = query_lang {
            cookies.push(format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
                l.code(),
                if secure { "; Secure" } else { "" }
            ));
        }
        let user = cookie(parts, SESSION_COOKIE)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .and_then(|t| principal_of(app, t));
        let pre = cookie(parts, PRE_COOKIE)
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned);
        let mut ctx = Ctx {
            app: app.clone(),
            lang,
            user,
            path: parts.uri.path().to_owned(),
            secure,
            pre,
            csrf: String::new(),
            cookies,
        };
        ctx.rebind();
        Ok(ctx)
    }
}

impl Ctx {
    /// The message `id` in the request's language.
    pub fn t(&self, id: &str) -> String {
        i18n::message(self.lang, id, &[])
    }

    /// The message `id` with arguments.
    pub fn ta(&self, id: &str, args: &[(&str, &str)]) -> String {
        i18n::message(self.lang, id, args)
    }

    /// The CSRF token for the current session (or pre-session).
    fn binding(&self) -> Option<String> {
        match (&self.user, &self.pre) {
            (Some(u), _) => Some(format!("s:{}", u.credential.to_hex())),
            (None, Some(p)) => Some(format!("p:{p}")),
            (None, None) => None,
        }
    }

    /// Recomputes the CSRF token after the session changed, drawing a pre-session nonce if needed.
    fn rebind(&mut self) {
        if self.user.is_none() && self.pre.is_none() {
            let nonce = klero_store::Store::new_secret("").unwrap_or_default();
            self.cookies.push(format!(
                "{PRE_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Strict{}",
                self.secure_attr()
            ));
            self.pre = Some(nonce);
        }
        self.csrf = self
            .binding()
            .map(|b| self.app.pages.tag(&b))
            .unwrap_or_default();
    }

    fn secure_attr(&self) -> &'static str {
        if self.secure { "; Secure" } else { "" }
    }

    /// Whether the form's `csrf` field is this session's token (constant time).
    pub fn csrf_ok(&self, form: &Form) -> bool {
        let Some(given) = form.get("csrf") else {
            return false;
        };
        let want = self.csrf.as_bytes();
        let given = given.as_bytes();
        !want.is_empty()
            && want.len() == given.len()
            && want
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// Signs in with `token`'s principal: sets the session cookie.
    pub fn sign_in(&mut self, token: &str, user: Principal) {
        self.cookies.push(format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
            self.secure_attr()
        ));
        self.user = Some(user);
        self.rebind();
    }

    /// Signs out: clears the session cookie.
    pub fn sign_out(&mut self) {
        self.cookies.push(format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
            self.secure_attr()
        ));
        self.user = None;
        self.rebind();
    }

    /// The signed-in principal if it has `role`, else a page saying to sign in (or that the
    /// credential does not allow this page).
    pub fn require(&self, role: Role) -> Result<Principal, Response> {
        match &self.user {
            Some(u) if u.role == role => Ok(u.clone()),
            Some(_) => Err(self.message_page(StatusCode::FORBIDDEN, "forbidden")),
            None => Err(self.message_page(StatusCode::UNAUTHORIZED, "login-required")),
        }
    }

    /// A page with one message.
    pub fn message_page(&self, status: StatusCode, id: &str) -> Response {
        let text = self.t(id);
        self.render_status(
            status,
            &text,
            html! { h1 { (text) } p { a href="/" { (self.t("nav-home")) } } },
        )
    }

    /// The refusal of a form without a valid CSRF token: 403, nothing written.
    pub fn csrf_refused(&self) -> Response {
        self.message_page(StatusCode::FORBIDDEN, "csrf-failed")
    }

    /// A page in the layout, 200.
    pub fn render(&self, title: &str, main: Markup) -> Response {
        self.render_status(StatusCode::OK, title, main)
    }

    /// A page in the layout with a status.
    pub fn render_status(&self, status: StatusCode, title: &str, main: Markup) -> Response {
        let markup = self.layout(title, main, false);
        self.respond(status, markup)
    }

    /// A page that loads the in-browser draw check.
    pub fn render_with_check(&self, title: &str, main: Markup) -> Response {
        let markup = self.layout(title, main, true);
        self.respond(StatusCode::OK, markup)
    }

    /// A 303 to `to` (a path of this portal), with the cookies to set.
    pub fn redirect(&self, to: &'static str) -> Response {
        let mut r = self.respond(StatusCode::SEE_OTHER, html! {});
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static(to));
        r
    }

    fn respond(&self, status: StatusCode, markup: Markup) -> Response {
        let mut r = (status, markup.into_string()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                 form-action 'self'; base-uri 'none'",
            ),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(self.lang.code()),
        );
        h.insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
        for c in &self.cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        r
    }

    fn nav_links(&self) -> Vec<(&'static str, &'static str)> {
        let mut links = vec![("/", "nav-home"), ("/log", "nav-log")];
        match self.user.as_ref().map(|u| u.role) {
            Some(Role::Clerk) => {
                links.push(("/clerk/file", "nav-clerk-file"));
                links.push(("/clerk/cases", "nav-clerk-cases"));
            }
            Some(Role::Judge) => {
                links.push(("/judge", "nav-judge-docket"));
                links.push(("/judge/conflicts", "nav-judge-conflicts"));
            }
            Some(Role::CourtAdmin) => {
                links.push(("/admin/judges", "nav-admin-judges"));
                links.push(("/admin/absences", "nav-admin-absences"));
                links.push(("/admin/tokens", "nav-admin-tokens"));
                links.push(("/admin/import", "nav-admin-import"));
            }
            _ => {}
        }
        links.push(("/api/v1/docs", "nav-api"));
        links
    }

    fn layout(&self, title: &str, main: Markup, check: bool) -> Markup {
        let site = self.t("site-name");
        html! {
            (DOCTYPE)
            html lang=(self.lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · " (site) }
                    link rel="stylesheet" href="/assets/style.css";
                    @if check {
                        script type="module" src="/assets/js/draw-check.js" {}
                    }
                }
                body {
                    a class="skip" href="#content" { (self.t("skip-to-content")) }
                    header class="site" {
                        div class="brand" {
                            a href="/" { (site) }
                            span class="tagline" { (self.t("site-tagline")) }
                        }
                        nav aria-label=(self.t("nav-main")) {
                            ul {
                                @for (href, id) in self.nav_links() {
                                    li {
                                        a href=(href) aria-current=[(self.path == href).then_some("page")] { (self.t(id)) }
                                    }
                                }
                            }
                        }
                        div class="account" {
                            @if let Some(u) = &self.user {
                                span id="whoami" { (self.ta("signed-in-as", &[("holder", u.actor.id.as_str()), ("role", &self.t(&format!("role-{}", u.role.name())))])) }
                                form method="post" action="/logout" class="inline" {
                                    (self.csrf_field())
                                    button type="submit" id="logout" { (self.t("nav-logout")) }
                                }
                            } @else {
                                a href="/login" id="login-link" { (self.t("nav-login")) }
                            }
                        }
                        nav class="langs" aria-label=(self.t("language")) {
                            ul {
                                @for l in LANGUAGES {
                                    li {
                                        a href={ (self.path) "?lang=" (l.code()) } lang=(l.code()) hreflang=(l.code())
                                            aria-current=[(l == self.lang).then_some("true")] {
                                            (i18n::message(l, "lang-name", &[]))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main id="content" tabindex="-1" { (main) }
                    footer class="site" {
                        p { (self.t("footer-text")) " " a href="/log" { (self.t("footer-verify")) } }
                    }
                }
            }
        }
    }
}

/// A submitted form, as name and value pairs (a name may repeat: checkboxes).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Form, Response> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(e) => Err(ApiError::new(crate::Kind::InvalidBody, e.body_text()).into_response()),
        }
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM` (UTC).
pub(crate) fn when(ms: i64) -> String {
    let day = klero_core::Day::from_millis(ms);
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{day} {:02}:{:02}", secs / 3600, (secs / 60) % 60)
}

/// A list of judges as text.
pub(crate) fn judges_text(js: &[klero_core::JudgeId]) -> String {
    js.iter().map(|j| j.as_str()).collect::<Vec<_>>().join(", ")
}

/// Inserted markup (the audit's plots), already escaped by its producer.
pub(crate) fn trusted(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}
