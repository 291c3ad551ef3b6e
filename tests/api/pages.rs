//! The portal in a browser, driven over HTTP: every page answers in the language asked for, no
//! form is accepted without its CSRF token, the session cookie has its flags, a clerk files a case
//! through the form and sees the judge, and the API pieces the pages rely on.

use axum::http::Method;
use klero::client::Response;
use klero_portal::pages::i18n::{Lang, message};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{COURT, TestApp, assert_problem, spawn_app};

/// `application/x-www-form-urlencoded` of `pairs`.
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// The value a `Set-Cookie` header of `r` gives `name`, with the whole header.
fn set_cookie(r: &Response, name: &str) -> Option<(String, String)> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

/// The hidden CSRF field of a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    html[at + 19..].split('"').next().unwrap().to_owned()
}

async fn page(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Response {
    app.client
        .send_raw(Method::GET, path, None, None, vec![], headers)
        .await
        .unwrap()
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    pairs: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Response {
    let mut headers = vec![("cookie", cookie)];
    headers.extend_from_slice(extra);
    app.client
        .send_raw(
            Method::POST,
            path,
            None,
            Some("application/x-www-form-urlencoded"),
            form(pairs),
            &headers,
        )
        .await
        .unwrap()
}

/// Signs in through the login form; returns the `Cookie` header value of the session.
async fn login(app: &TestApp, token: &str) -> String {
    let r = page(app, "/login", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (pre, _) = set_cookie(&r, "klero_pre").expect("a pre-session cookie");
    let csrf = csrf_of(&r.text());
    let cookie = format!("klero_pre={pre}");
    let r = post_form(
        app,
        "/login",
        &cookie,
        &[("csrf", &csrf), ("token", token)],
        &[],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").is_some_and(|l| l.starts_with('/')));
    let (session, _) = set_cookie(&r, "klero_session").expect("a session cookie");
    format!("klero_session={session}")
}

/// Files a case through the API and returns its number.
async fn a_case(app: &TestApp) -> String {
    app.file("Payment of invoice 1/2026").await["case"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn every_page_answers_in_the_language_asked_for(backend: crate::helpers::Backend) {
    let app = spawn_app(backend).await;
    let case = a_case(&app).await;
    let clerk = login(&app, &app.clerk).await;
    let judge = login(&app, &app.judge).await;
    let admin = login(&app, &app.court_admin).await;
    let public = [
        "/".to_owned(),
        "/login".to_owned(),
        "/log".to_owned(),
        format!("/courts/{COURT}"),
        format!("/courts/{COURT}/audit"),
        format!("/cases/{case}"),
    ];
    let staff = [
        (&clerk, "/clerk/file"),
        (&clerk, "/clerk/cases"),
        (&judge, "/judge"),
        (&judge, "/judge/conflicts"),
        (&admin, "/admin/judges"),
        (&admin, "/admin/absences"),
        (&admin, "/admin/tokens"),
        (&admin, "/admin/import"),
    ];
    for (lang, accept) in [
        (Lang::Az, "az-AZ,az;q=0.9"),
        (Lang::Ru, "ru-RU,ru;q=0.9,en;q=0.5"),
        (Lang::En, "en-GB,en;q=0.8"),
    ] {
        let home = message(lang, "nav-home", &[]);
        let check = |path: &str, r: &Response| {
            assert_eq!(r.status, 200, "{path} in {}: {}", lang.code(), r.text());
            let html = r.text();
            assert!(
                html.contains(&format!("<html lang=\"{}\"", lang.code())),
                "{path}: {html}"
            );
            assert!(html.contains(&home), "{path} lacks {home:?}");
            assert_eq!(
                r.header("content-type"),
                Some("text/html; charset=utf-8"),
                "{path}"
            );
            assert!(
                !html.contains("src=\"http") && !html.contains("href=\"http"),
                "{path} loads something from elsewhere"
            );
        };
        for path in &public {
            let r = page(&app, path, &[("accept-language", accept)]).await;
            check(path, &r);
        }
        for (cookie, path) in &staff {
            let r = page(
                &app,
                path,
                &[("accept-language", accept), ("cookie", cookie.as_str())],
            )
            .await;
            check(path, &r);
        }
    }
    // The switch: ?lang= wins over Accept-Language and is remembered in a cookie.
    let r = page(&app, "/?lang=ru", &[("accept-language", "en")]).await;
    assert!(r.text().contains("<html lang=\"ru\""));
    let (v, _) = set_cookie(&r, "klero_lang").expect("the choice is remembered");
    assert_eq!(v, "ru");
    let r = page(
        &app,
        "/log",
        &[("accept-language", "en"), ("cookie", "klero_lang=az")],
    )
    .await;
    assert!(r.text().contains("<html lang=\"az\""));
    // Staff pages without a session say to sign in; another role's page is refused.
    assert_eq!(page(&app, "/clerk/file", &[]).await.status, 401);
    assert_eq!(
        page(&app, "/admin/judges", &[("cookie", clerk.as_str())])
            .await
            .status,
        403
    );
    // The case page carries the in-browser check's hook and script.
    let html = page(&app, &format!("/cases/{case}"), &[]).await.text();
    assert!(
        html.contains(&format!(
            "<section id=\"draw-check\" data-case=\"{case}\" data-proof-url=\"/api/v1/cases/{case}/proof\""
        )),
        "{html}"
    );
    assert!(html.contains("<button type=\"button\" id=\"draw-check-button\" hidden>"));
    assert!(html.contains("<p id=\"draw-check-result\" role=\"status\"></p></section>"));
    assert!(html.contains("<script type=\"module\" src=\"/assets/js/draw-check.js\"></script>"));
    assert!(html.contains("data-label-check=\"Check this draw\""));
    // ... and the draw record: the beacon value and seed of the draw entry, each judge's chance.
    let proof = app
        .get(&format!("/api/v1/cases/{case}/proof"), None)
        .await
        .json();
    let draw = &proof["filing"]["draw"]["entry"]["event"];
    assert!(html.contains(draw["seed"].as_str().unwrap()), "{html}");
    assert!(html.contains(draw["beacon"]["value"].as_str().unwrap()));
    assert!(html.contains('%'));
    // A browser asking for a page that does not exist gets a page; an API client a problem.
    let r = page(
        &app,
        "/nowhere",
        &[("accept", "text/html"), ("accept-language", "ru")],
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains(&message(Lang::Ru, "page-not-found", &[])));
    assert_problem(&page(&app, "/nowhere", &[]).await, 404, "no-such-route");
    // Assets come from the binary with their type.
    let r = page(&app, "/assets/js/draw-check.js", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let r = page(&app, "/assets/style.css", &[]).await;
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_problem(
        &page(&app, "/assets/nothing.js", &[]).await,
        404,
        "not-found",
    );
    app.stop().await;
}
both_backends!(every_page_answers_in_the_language_asked_for);

async fn forms_without_their_csrf_token_are_refused_and_write_nothing(
    backend: crate::helpers::Backend,
) {
    let app = spawn_app(backend).await;
    let clerk = login(&app, &app.clerk).await;
    let size = app.size().await;
    let filing = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("division", "civil"),
            ("case_type", "civil"),
            ("parties", "PL-1\nCO-2"),
            ("claim", "A claim"),
        ]
    };
    for csrf in ["", "0000", "not-the-token"] {
        let pairs: Vec<(&str, &str)> = filing(csrf)
            .into_iter()
            .filter(|(k, v)| *k != "csrf" || !v.is_empty())
            .collect();
        let r = post_form(&app, "/clerk/file", &clerk, &pairs, &[]).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.text().contains(&message(Lang::En, "csrf-failed", &[])));
    }
    // The token of another session does not do either.
    let admin_cookie = login(&app, &app.court_admin).await;
    let theirs = csrf_of(
        &page(&app, "/", &[("cookie", admin_cookie.as_str())])
            .await
            .text(),
    );
    let pairs = [
        ("csrf", theirs.as_str()),
        ("division", "civil"),
        ("case_type", "civil"),
        ("parties", "PL-1"),
        ("claim", "A claim"),
    ];
    let r = post_form(&app, "/clerk/file", &clerk, &pairs, &[]).await;
    assert_eq!(r.status, 403, "another session's token was accepted");
    // A pre-session token bound to another nonce is refused at login, and nothing is set.
    let r = post_form(
        &app,
        "/login",
        "klero_pre=00000000000000000000000000000000000000000000000000000000000000ff",
        &[("csrf", "abc"), ("token", &app.clerk)],
        &[],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(set_cookie(&r, "klero_session").is_none());
    // Other forms too: a judge's conflict, an administrator's import.
    let judge = login(&app, &app.judge).await;
    let r = post_form(&app, "/judge/conflicts", &judge, &[("party", "PL-1")], &[]).await;
    assert_eq!(r.status, 403);
    let admin = login(&app, &app.court_admin).await;
    let r = post_form(
        &app,
        "/admin/import",
        &admin,
        &[("csv", "J-90,civil,civil,1000,true")],
        &[],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.size().await, size, "a refused form wrote to the log");
    app.stop().await;
}
both_backends!(forms_without_their_csrf_token_are_refused_and_write_nothing);

async fn login_sets_the_cookie_flags_and_logout_clears_it(backend: crate::helpers::Backend) {
    let app = spawn_app(backend).await;
    // Behind an HTTPS proxy: Secure.
    let r = page(&app, "/login", &[("x-forwarded-proto", "https")]).await;
    let (pre, pre_header) = set_cookie(&r, "klero_pre").unwrap();
    assert!(pre_header.contains("HttpOnly") && pre_header.contains("SameSite=Strict"));
    assert!(pre_header.contains("Secure"));
    let csrf = csrf_of(&r.text());
    let r = post_form(
        &app,
        "/login",
        &format!("klero_pre={pre}"),
        &[("csrf", &csrf), ("token", &app.clerk)],
        &[("x-forwarded-proto", "https")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/clerk/file"));
    let (session, header) = set_cookie(&r, "klero_session").unwrap();
    assert_eq!(session, app.clerk);
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(header.contains(flag), "{flag} missing from {header}");
    }
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("content-security-policy").is_some());
    // Plain HTTP (a developer's machine): no Secure, or the browser would drop the cookie.
    let cookie = login(&app, &app.clerk).await;
    let r = page(&app, "/", &[("cookie", cookie.as_str())]).await;
    assert!(r.text().contains("id=\"whoami\""));
    // A wrong credential: 401, no session.
    let r = page(&app, "/login", &[]).await;
    let (pre, _) = set_cookie(&r, "klero_pre").unwrap();
    let csrf = csrf_of(&r.text());
    let r = post_form(
        &app,
        "/login",
        &format!("klero_pre={pre}"),
        &[("csrf", &csrf), ("token", "klero_0000")],
        &[],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(set_cookie(&r, "klero_session").is_none());
    assert!(r.text().contains("id=\"login-form\"") && r.text().contains("id=\"token\""));
    // Logout clears the cookie.
    let csrf = csrf_of(&page(&app, "/", &[("cookie", cookie.as_str())]).await.text());
    let r = post_form(&app, "/logout", &cookie, &[("csrf", &csrf)], &[]).await;
    assert_eq!(r.status, 200);
    let (v, header) = set_cookie(&r, "klero_session").unwrap();
    assert!(v.is_empty() && header.contains("Max-Age=0"), "{header}");
    app.stop().await;
}
both_backends!(login_sets_the_cookie_flags_and_logout_clears_it);

async fn a_clerk_files_a_case_through_the_form_and_sees_the_judge(
    backend: crate::helpers::Backend,
) {
    let app = spawn_app(backend).await;
    let clerk = login(&app, &app.clerk).await;
    let form_page = page(&app, "/clerk/file", &[("cookie", clerk.as_str())]).await;
    let html = form_page.text();
    assert!(html.contains("id=\"filing-form\""));
    let csrf = csrf_of(&html);
    // Validation in plain words (in the clerk's language), nothing written.
    let size = app.size().await;
    let r = post_form(
        &app,
        "/clerk/file",
        &clerk,
        &[
            ("csrf", &csrf),
            ("division", "civil"),
            ("case_type", "civil"),
            ("parties", "  \n "),
            ("claim", ""),
            ("related", "NOPE-2026-000001"),
        ],
        &[("accept-language", "ru")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    for id in ["file-err-parties", "file-err-claim"] {
        assert!(text.contains(&message(Lang::Ru, id, &[])), "{id}: {text}");
    }
    assert!(text.contains(&message(
        Lang::Ru,
        "file-err-related-case",
        &[("case", "NOPE-2026-000001")]
    )));
    assert_eq!(app.size().await, size);
    // A good filing: the result names the judge the log drew, and links the public record.
    let pairs = [
        ("csrf", csrf.as_str()),
        ("idem", "abc123"),
        ("division", "civil"),
        ("case_type", "civil"),
        ("parties", "PL-90010112345\nCOMPANY-0000123456"),
        ("claim", "Payment of invoice 117/2026"),
        ("related", ""),
        ("related_reason", ""),
        ("earlier", ""),
    ];
    let r = post_form(&app, "/clerk/file", &clerk, &pairs, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let at = html.find("/cases/").expect("a link to the case");
    let case = html[at + 7..].split('"').next().unwrap().to_owned();
    let view = app
        .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
        .await
        .json();
    let judge = view["judges"][0].as_str().unwrap();
    let drawn = html
        .split("id=\"drawn-judge\">")
        .nth(1)
        .expect("the drawn judge")
        .split('<')
        .next()
        .unwrap();
    assert!(drawn.contains(judge), "{drawn} does not name {judge}");
    // The same form sent again (a double click) is one filing.
    let size = app.size().await;
    let r = post_form(&app, "/clerk/file", &clerk, &pairs, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains(&case));
    assert_eq!(app.size().await, size);
    // The same matter filed again: the duplicate notice.
    let mut again = pairs;
    again[1] = ("idem", "def456");
    let r = post_form(&app, "/clerk/file", &clerk, &again, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("id=\"duplicate-notice\""), "{}", r.text());
    // The clerk finds it in the court's list, and the judge on their docket.
    let r = page(
        &app,
        &format!("/clerk/cases?q={case}"),
        &[("cookie", clerk.as_str())],
    )
    .await;
    assert!(r.text().contains(&format!("href=\"/cases/{case}\"")));
    let token = app.judge_token(judge).await;
    let jc = login(&app, &token).await;
    let r = page(&app, "/judge", &[("cookie", jc.as_str())]).await;
    assert!(r.text().contains("id=\"docket\"") && r.text().contains(&case));
    // The judge declares a conflict through the form and withdraws it with a click (the newest
    // row; the demo gave some judges a conflict already).
    let html = page(&app, "/judge/conflicts", &[("cookie", jc.as_str())])
        .await
        .text();
    let csrf = csrf_of(&html);
    let before = app
        .get(&format!("/api/v1/judges/{judge}/conflicts"), Some(&token))
        .await
        .json();
    let r = post_form(
        &app,
        "/judge/conflicts",
        &jc,
        &[("csrf", &csrf), ("party", "PL-4242")],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("class=\"result\""), "{}", r.text());
    let html = r.text();
    let at = html
        .rfind("name=\"subject\" value=\"")
        .expect("a withdraw button");
    let subject = html[at + 22..].split('"').next().unwrap().to_owned();
    let listed = app
        .get(&format!("/api/v1/judges/{judge}/conflicts"), Some(&token))
        .await
        .json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), before.as_array().unwrap().len() + 1);
    assert_eq!(listed.last().unwrap()["subject"], subject.as_str());
    let r = post_form(
        &app,
        "/judge/conflicts/withdraw",
        &jc,
        &[("csrf", &csrf), ("subject", &subject)],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = app
        .get(&format!("/api/v1/judges/{judge}/conflicts"), Some(&token))
        .await
        .json();
    assert_eq!(listed, before);
    // The clerk closes it from the case page.
    let html = page(
        &app,
        &format!("/cases/{case}"),
        &[("cookie", clerk.as_str())],
    )
    .await
    .text();
    assert!(html.contains("id=\"closing-form\""));
    let r = post_form(
        &app,
        &format!("/cases/{case}/closing"),
        &clerk,
        &[("csrf", &csrf_of(&html)), ("reason", "settlement")],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let view = app
        .get(&format!("/api/v1/cases/{case}"), Some(&app.clerk))
        .await
        .json();
    assert_eq!(view["closed"], "settlement");
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(a_clerk_files_a_case_through_the_form_and_sees_the_judge);

async fn the_api_pieces_the_pages_use(backend: crate::helpers::Backend) {
    let app = spawn_app(backend).await;
    let case = a_case(&app).await;
    // A court's cases, searched.
    let path = format!("/api/v1/courts/{COURT}/cases");
    let r = app.get(&path, Some(&app.clerk)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["cases"][0]["case"], case.as_str());
    assert_eq!(list["cases"][0]["status"], "open");
    let judge = list["cases"][0]["judges"][0].as_str().unwrap().to_owned();
    let r = app
        .get(&format!("{path}?status=closed"), Some(&app.clerk))
        .await;
    assert_eq!(r.json()["total"], 0);
    let r = app
        .get(
            &format!("{path}?judge={judge}&q=2026&from=2000-01-01"),
            Some(&app.clerk),
        )
        .await;
    assert_eq!(r.json()["total"], 1, "{}", r.text());
    assert_problem(
        &app.get(&format!("{path}?status=lost"), Some(&app.clerk))
            .await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get(&format!("{path}?from=2026-13-01"), Some(&app.clerk))
            .await,
        400,
        "invalid-parameter",
    );
    assert_problem(
        &app.get(&format!("{path}?page=0"), Some(&app.clerk)).await,
        400,
        "invalid-parameter",
    );
    assert_problem(&app.get(&path, None).await, 401, "unauthorized");
    assert_problem(
        &app.get(&path, Some(&app.other_clerk)).await,
        403,
        "forbidden",
    );
    // A judge's public record.
    let r = app.get("/api/v1/judges/J-02", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["court"], COURT);
    assert_eq!(r.json()["judge"], "J-02");
    assert_problem(
        &app.get("/api/v1/judges/J-999", None).await,
        404,
        "not-found",
    );
    // The absence calendar.
    let r = app
        .get(
            &format!("/api/v1/courts/{COURT}/absences?from=2000-01-01&until=2000-12-31"),
            Some(&app.court_admin),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([]));
    let r = app
        .get(
            &format!("/api/v1/courts/{COURT}/absences"),
            Some(&app.court_admin),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_problem(
        &app.get(
            &format!("/api/v1/courts/{COURT}/absences?from=2026-01-01&until=2028-01-01"),
            Some(&app.court_admin),
        )
        .await,
        400,
        "invalid-parameter",
    );
    // A judge's own conflicts, with the entry that declared each; withdrawn by commitment.
    let r = app
        .post(
            "/api/v1/judges/J-02/conflicts",
            &app.judge,
            json!({"party": "PL-55"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let subject = r.json()["subject"].as_str().unwrap().to_owned();
    let index = r.json()["entry"]["index"].as_u64().unwrap();
    let r = app
        .get("/api/v1/judges/J-02/conflicts", Some(&app.judge))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["subject"], subject.as_str());
    assert_eq!(list[0]["index"], index);
    assert_problem(
        &app.get("/api/v1/judges/J-02/conflicts", Some(&app.court_admin))
            .await,
        403,
        "forbidden",
    );
    let r = app
        .post(
            "/api/v1/judges/J-02/conflicts/withdrawals",
            &app.judge,
            json!({ "subject": subject }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .get("/api/v1/judges/J-02/conflicts", Some(&app.judge))
        .await;
    assert_eq!(r.json(), json!([]));
    assert_problem(
        &app.post(
            "/api/v1/judges/J-02/conflicts",
            &app.judge,
            json!({ "subject": subject }),
        )
        .await,
        422,
        "invalid",
    );
    // Bulk import: a dry run writes nothing; a bad line writes nothing; then it writes.
    let import = |csv: &'static str, dry: bool| {
        let c = app.client.clone();
        let t = app.court_admin.clone();
        async move {
            c.send_raw(
                Method::POST,
                &format!("/api/v1/courts/{COURT}/judges/import?dry_run={dry}"),
                Some(&t),
                Some("text/csv"),
                csv.as_bytes().to_vec(),
                &[],
            )
            .await
            .unwrap()
        }
    };
    let csv = "judge,division,specializations,share_permille,active\nJ-90,civil,civil;family,1000,true\nJ-02,civil,civil,500,true\n";
    let size = app.size().await;
    let r = import(csv, true).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rep = r.json();
    assert_eq!(rep["dry_run"], true);
    assert_eq!(rep["rows"][0]["action"], "register");
    assert_eq!(rep["rows"][1]["action"], "update");
    assert_eq!(rep["written"], 0);
    assert_eq!(app.size().await, size);
    let r = import(
        "J-91,civil,civil,1000,true\nJ-92,civil,astrology,1000,true\n",
        false,
    )
    .await;
    assert_problem(&r, 422, "invalid");
    assert!(
        r.json()["detail"].as_str().unwrap().starts_with("line 2"),
        "{}",
        r.text()
    );
    let r = import("J-91,civil,1000\n", false).await;
    assert_problem(&r, 422, "invalid");
    assert_eq!(app.size().await, size, "a refused import wrote");
    let r = import(csv, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["written"], 2);
    assert_eq!(app.size().await, size + 2);
    let r = app.get("/api/v1/judges/J-90", None).await;
    assert_eq!(r.json()["specializations"], json!(["civil", "family"]));
    let r = app
        .client
        .send_raw(
            Method::POST,
            &format!("/api/v1/courts/{COURT}/judges/import"),
            Some(&app.clerk),
            Some("text/csv"),
            b"J-93,civil,civil,1000,true\n".to_vec(),
            &[],
        )
        .await
        .unwrap();
    assert_problem(&r, 403, "forbidden");
    let doc: serde_json::Value = serde_json::from_str(&klero_portal::openapi_json()).unwrap();
    for p in [
        "/api/v1/courts/{court}/cases",
        "/api/v1/judges/{judge}",
        "/api/v1/courts/{court}/absences",
        "/api/v1/judges/{judge}/conflicts",
        "/api/v1/courts/{court}/judges/import",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} is not in the OpenAPI document"
        );
    }
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(the_api_pieces_the_pages_use);

async fn a_court_administrator_and_a_clerk_work_through_the_pages(
    backend: crate::helpers::Backend,
) {
    let app = spawn_app(backend).await;
    let admin = login(&app, &app.court_admin).await;
    let csrf = csrf_of(
        &page(&app, "/admin/judges", &[("cookie", admin.as_str())])
            .await
            .text(),
    );
    // Register a judge: only the policy's specializations are offered, the core checks the rest.
    let r = post_form(
        &app,
        "/admin/judges",
        &admin,
        &[
            ("csrf", &csrf),
            ("judge", "J-77"),
            ("division", "civil"),
            ("spec", "civil"),
            ("spec", "family"),
            ("share", "500"),
            ("active", "true"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = app.get("/api/v1/judges/J-77", None).await.json();
    assert_eq!(j["specializations"], json!(["civil", "family"]));
    assert_eq!(j["share_permille"], 500);
    let size = app.size().await;
    let r = post_form(
        &app,
        "/admin/judges",
        &admin,
        &[
            ("csrf", &csrf),
            ("judge", "J-78"),
            ("division", "civil"),
            ("spec", "astrology"),
            ("share", "500"),
        ],
        &[],
    )
    .await;
    assert!(
        r.text().contains("id=\"action-result\" role=\"alert\""),
        "{}",
        r.text()
    );
    assert_eq!(app.size().await, size, "a refused registration wrote");
    // Deactivate with the one-click form (no "active" field).
    let r = post_form(
        &app,
        "/admin/judges/J-77",
        &admin,
        &[
            ("csrf", &csrf),
            ("division", "civil"),
            ("spec", "civil"),
            ("share", "500"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get("/api/v1/judges/J-77", None).await.json()["active"],
        false
    );
    // An absence in the calendar, then cancelled.
    let from = crate::helpers::day(3);
    let until = crate::helpers::day(4);
    let r = post_form(
        &app,
        "/admin/absences",
        &admin,
        &[
            ("csrf", &csrf),
            ("judge", "J-02"),
            ("from", &from),
            ("until", &until),
            ("reason", "training"),
            ("month", &from[..7]),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"calendar\"") && r.text().contains("J-02"));
    let list = app
        .get(
            &format!("/api/v1/courts/{COURT}/absences?from={from}&until={until}"),
            Some(&app.court_admin),
        )
        .await
        .json();
    let absence = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["judge"] == "J-02" && a["reason"] == "training")
        .expect("the absence is in the calendar")["absence"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post_form(
        &app,
        "/admin/absences/cancel",
        &admin,
        &[("csrf", &csrf), ("absence", &absence)],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A clerk's credential, shown once, that works.
    let r = post_form(
        &app,
        "/admin/tokens",
        &admin,
        &[("csrf", &csrf), ("holder", "CL-0099")],
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    let at = html.find("<code>klero_").expect("the credential, once");
    let token = html[at + 6..].split('<').next().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/courts/{COURT}/cases"), Some(&token))
            .await
            .status,
        200
    );
    // The import page: a dry run lists what would be written and writes nothing.
    let size = app.size().await;
    let r = post_form(
        &app,
        "/admin/import",
        &admin,
        &[
            ("csrf", &csrf),
            ("csv", "judge,division,specializations,share_permille,active\r\nJ-80,civil,civil,1000,true\r\n"),
            ("dry_run", "true"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("judge_registered"), "{}", r.text());
    assert_eq!(app.size().await, size);
    // The new clerk records a recusal and a reassignment from a case's page.
    let case = a_case(&app).await;
    let clerk = login(&app, &token).await;
    let html = page(
        &app,
        &format!("/cases/{case}"),
        &[("cookie", clerk.as_str())],
    )
    .await
    .text();
    let csrf = csrf_of(&html);
    let judge = app
        .get(&format!("/api/v1/cases/{case}"), Some(&token))
        .await
        .json()["judges"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post_form(
        &app,
        &format!("/cases/{case}/recusal"),
        &clerk,
        &[
            ("csrf", &csrf),
            ("judge", &judge),
            ("reason", "party_challenge_upheld"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let now = app
        .get(&format!("/api/v1/cases/{case}"), Some(&token))
        .await
        .json()["judges"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(now, judge);
    let r = post_form(
        &app,
        &format!("/cases/{case}/reassignment"),
        &clerk,
        &[
            ("csrf", &csrf),
            ("judge", &now),
            ("reason", "long_term_absence"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The case page now shows the two replacement draws.
    let html = page(&app, &format!("/cases/{case}"), &[]).await.text();
    assert_eq!(html.matches("class=\"draw\"").count(), 3, "{html}");
    app.assert_verifies().await;
    app.stop().await;
}
both_backends!(a_court_administrator_and_a_clerk_work_through_the_pages);
