//! Pages anyone may open: home, login, a court with its statistics, the log browser, a case with
//! its draw record.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use klero_core::{Draw, Event, LogEntry, PoolScope};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, Form, judges_text, when};
use crate::auth::principal_of;
use crate::routes::{DrawProof, public as api};

/// `/`: the courts, the log's state, the way in for staff.
pub(crate) async fn home(ctx: Ctx) -> Response {
    let courts = api::courts(axum::extract::State(ctx.app.clone())).await.0;
    let (size, root) = ctx.app.store().checkpoint();
    let title = ctx.t("home-title");
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            p { (ctx.t("home-intro")) }
            h2 id="courts" { (ctx.t("home-courts")) }
            @if courts.is_empty() {
                p { (ctx.t("home-no-courts")) }
            } @else {
                div class="table-wrap" {
                    table id="courts-table" {
                        thead { tr { th { (ctx.t("th-court")) } th { (ctx.t("th-name")) } th class="num" { (ctx.t("th-judges")) } } }
                        tbody {
                            @for c in &courts {
                                tr {
                                    td { a href={ "/courts/" (c.court) } { (c.court) } }
                                    td { (c.name) }
                                    td class="num" { (c.judges) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("home-log")) }
            p id="log-status" { (ctx.ta("home-log-size", &[("size", &size.to_string())])) }
            p { (ctx.t("home-log-root")) ": " code { (root.to_hex()) } }
            p { a href="/log" { (ctx.t("home-log-browse")) } }
            h2 { (ctx.t("home-staff")) }
            p { (ctx.t("home-staff-text")) }
            @if ctx.user.is_none() {
                p { a class="button" href="/login" { (ctx.t("nav-login")) } }
            }
        },
    )
}

fn login_page(ctx: &Ctx, status: StatusCode, error: bool) -> Response {
    let title = ctx.t("login-title");
    ctx.render_status(
        status,
        &title,
        html! {
            h1 { (title) }
            p { (ctx.t("login-intro")) }
            @if error {
                p class="errors" id="login-error" role="alert" { (ctx.t("login-failed")) }
            }
            form class="stack" id="login-form" method="post" action="/login" autocomplete="off" {
                (ctx.csrf_field())
                label for="token" { (ctx.t("login-token")) }
                input type="password" id="token" name="token" required autocomplete="off"
                    spellcheck="false" aria-invalid=[error.then_some("true")];
                div { button type="submit" id="login-submit" { (ctx.t("login-submit")) } }
            }
        },
    )
}

/// The login form.
pub(crate) async fn login_form(ctx: Ctx) -> Response {
    login_page(&ctx, StatusCode::OK, false)
}

/// Signs in: a live credential in the form sets the session cookie.
pub(crate) async fn login(mut ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let token = form.text("token").unwrap_or_default().to_owned();
    let Some(user) = (token.len() <= 256)
        .then(|| principal_of(&ctx.app, &token))
        .flatten()
    else {
        return login_page(&ctx, StatusCode::UNAUTHORIZED, true);
    };
    let role = user.role;
    ctx.sign_in(&token, user);
    // Post/redirect/get: the role's first page, with the session cookie set on the redirect.
    let next = match role {
        klero_core::Role::Clerk => "/clerk/file",
        klero_core::Role::Judge => "/judge",
        klero_core::Role::CourtAdmin => "/admin/judges",
        _ => "/",
    };
    ctx.redirect(next)
}

/// Signs out.
pub(crate) async fn logout(mut ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    ctx.sign_out();
    ctx.message_page(StatusCode::OK, "logout-done")
}

/// An SVG bar chart: one bar per label, a dashed line at `mean`.
pub(crate) fn load_chart(label: &str, rows: &[(String, u64, bool)], mean: u64) -> Markup {
    let max = rows
        .iter()
        .map(|r| r.1)
        .chain([mean])
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (left, width, row) = (90.0, 560.0, 22.0);
    let plot = width - left - 60.0;
    let height = row * rows.len() as f64 + 24.0;
    let x = |v: u64| left + v as f64 / max * plot;
    html! {
        div class="chart" {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (height) }
                width=(width) height=(height) role="img" aria-label=(label) {
                title { (label) }
                @for (i, (name, v, highlight)) in rows.iter().enumerate() {
                    @let y = 4.0 + row * i as f64;
                    text x="4" y=(y + 13.0) { (name) }
                    rect x=(left) y=(y) width=(format!("{:.1}", x(*v) - left)) height=(row - 6.0)
                        fill=(if *highlight { "#a3231a" } else { "#2f6ca3" }) {}
                    text x=(format!("{:.1}", x(*v) + 4.0)) y=(y + 13.0) { (v) }
                }
                line x1=(format!("{:.1}", x(mean))) x2=(format!("{:.1}", x(mean))) y1="0"
                    y2=(height - 18.0) stroke="#1a1a1a" stroke-dasharray="4 3" {}
                text x=(format!("{:.1}", x(mean))) y=(height - 4.0) text-anchor="middle" { "⌀ " (mean) }
            }
        }
    }
}

/// `/courts/{court}`: the court's judges and their workload against the mean.
pub(crate) async fn court(ctx: Ctx, Path(court): Path<String>) -> Response {
    let st = axum::extract::State(ctx.app.clone());
    let (view, stats) = match (
        api::court(st.clone(), crate::extract::Path(court.clone())).await,
        api::stats(st, crate::extract::Path(court.clone())).await,
    ) {
        (Ok(v), Ok(s)) => (v.0, s.0),
        _ => {
            let text = ctx.ta("court-not-found", &[("court", &court)]);
            return ctx.render_status(StatusCode::NOT_FOUND, &text, html! { h1 { (text) } });
        }
    };
    let title = ctx.ta("court-title", &[("name", &view.name)]);
    let rows: Vec<(String, u64, bool)> = stats
        .judges
        .iter()
        .filter(|j| j.active)
        .map(|j| (j.judge.to_string(), j.load, false))
        .collect();
    let yn = |b: bool| if b { ctx.t("yes") } else { ctx.t("no") };
    ctx.render(
        &title,
        html! {
            h1 { (title) " " small { code { (view.court) } } }
            p { (ctx.ta("court-cases-total", &[("cases", &stats.cases.to_string()), ("open", &stats.open.to_string())])) }
            p { a href={ "/courts/" (view.court) "/audit" } { (ctx.t("court-audit")) } }
            h2 { (ctx.t("court-stats")) }
            p class="help" { (ctx.t("court-stats-intro")) }
            p { (ctx.ta("court-mean", &[("mean", &stats.mean_load.to_string())])) }
            (load_chart(&ctx.t("chart-load-label"), &rows, stats.mean_load))
            div class="table-wrap" {
                table id="court-judges" {
                    thead { tr {
                        th { (ctx.t("th-judge")) } th { (ctx.t("th-division")) } th { (ctx.t("th-specializations")) }
                        th class="num" { (ctx.t("th-share")) } th { (ctx.t("th-active")) } th class="num" { (ctx.t("th-load")) }
                        th class="num" { (ctx.t("th-vs-mean")) } th class="num" { (ctx.t("th-cases")) }
                        th class="num" { (ctx.t("th-open")) } th class="num" { (ctx.t("th-presiding")) }
                    } }
                    tbody {
                        @for (j, v) in stats.judges.iter().zip(&view.judges) {
                            tr {
                                td { (j.judge) } td { (j.division) }
                                td { (v.specializations.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                                td class="num" { (j.share_permille) "‰" } td { (yn(j.active)) }
                                td class="num" { (j.load) } td class="num" { (format!("{:.0}%", j.load_vs_mean_permille as f64 / 10.0)) }
                                td class="num" { (j.cases) } td class="num" { (j.open) } td class="num" { (j.presiding) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Where the log browser starts.
#[derive(Debug, Deserialize)]
pub(crate) struct LogPage {
    start: Option<u64>,
    #[allow(dead_code)]
    lang: Option<String>,
}

const LOG_PAGE: u64 = 50;

/// A short description of an entry.
fn entry_summary(e: &LogEntry) -> String {
    match &e.event {
        Event::CaseFiled { case, .. } => case.to_string(),
        Event::Draw(d) => format!("{} → {}", d.case, judges_text(&d.chosen)),
        Event::JudgeRegistered { judge, .. } | Event::JudgeUpdated { judge, .. } => {
            judge.to_string()
        }
        Event::AbsenceRecorded {
            judge, from, until, ..
        } => format!("{judge} {from}…{until}"),
        Event::Recusal { case, judge, .. } | Event::Reassignment { case, judge, .. } => {
            format!("{case}: {judge}")
        }
        Event::CaseClosed { case, .. } => case.to_string(),
        Event::CourtCreated { court, .. } => court.to_string(),
        _ => String::new(),
    }
}

/// `/log`: the log, 50 entries a page, newest first, with the checkpoint.
pub(crate) async fn log(ctx: Ctx, Query(q): Query<LogPage>) -> Response {
    let (size, root) = ctx.app.store().checkpoint();
    let end = q.start.map_or(size, |s| (s + LOG_PAGE).min(size));
    let start = end.saturating_sub(LOG_PAGE);
    let entries = ctx
        .app
        .store()
        .entries(start, end)
        .await
        .unwrap_or_default();
    let title = ctx.t("log-title");
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            p { (ctx.t("log-intro")) }
            p id="checkpoint" { (ctx.ta("log-checkpoint", &[("size", &size.to_string()), ("root", &root.to_hex())])) }
            p {
                a href="/api/v1/log/checkpoint/note" { (ctx.t("log-signed-note")) } " · "
                a href={ "/api/v1/log/entries?start=" (start) "&end=" (end) } { (ctx.t("log-download")) }
            }
            p { (ctx.ta("log-page", &[("from", &start.to_string()), ("to", &end.saturating_sub(1).to_string()), ("size", &size.to_string())])) }
            (pager(&ctx, start, end, size))
            div class="table-wrap" {
                table id="log-entries" {
                    thead { tr { th class="num" { (ctx.t("th-index")) } th { (ctx.t("th-time")) } th { (ctx.t("th-type")) } th { (ctx.t("th-actor")) } th { (ctx.t("th-hash")) } } }
                    tbody {
                        @for e in entries.iter().rev() {
                            tr id={ "e" (e.index) } {
                                td class="num" { (e.index) }
                                td { (when(e.at)) }
                                td { code { (e.event.type_name()) } " " (entry_summary(e)) }
                                td { (e.actor.id) " (" (ctx.t(&format!("role-{}", e.actor.role.name()))) ")" }
                                td { code class="hash" title=(e.hash.to_hex()) { (e.hash.to_hex()[..16]) "…" } }
                            }
                        }
                    }
                }
            }
            (pager(&ctx, start, end, size))
        },
    )
}

fn pager(ctx: &Ctx, start: u64, end: u64, size: u64) -> Markup {
    html! {
        nav class="pager" {
            @if end < size {
                a href={ "/log?start=" (end) } rel="prev" { "← " (ctx.t("log-prev")) }
            }
            @if start > 0 {
                a href={ "/log?start=" (start.saturating_sub(LOG_PAGE)) } rel="next" { (ctx.t("log-next")) " →" }
            }
        }
    }
}

/// The record of one draw, in words.
fn draw_record(ctx: &Ctx, p: &DrawProof, first: bool) -> Markup {
    let Event::Draw(d) = &p.draw.entry.event else {
        return html! {};
    };
    let d: &Draw = d;
    let total: u64 = d.eligible.iter().map(|c| c.weight).sum();
    let method = match &d.method {
        klero_core::Method::Random => ctx.t("method-random"),
        klero_core::Method::Related { case } => {
            ctx.ta("method-related", &[("case", case.as_str())])
        }
        klero_core::Method::Duplicate { case } => {
            ctx.ta("method-duplicate", &[("case", case.as_str())])
        }
        klero_core::Method::RandomAfterDuplicate { case } => {
            ctx.ta("method-random_after_duplicate", &[("case", case.as_str())])
        }
        klero_core::Method::RandomAfterRelated { case } => {
            ctx.ta("method-random_after_related", &[("case", case.as_str())])
        }
    };
    let scope = match d.scope {
        PoolScope::Division => "scope-division",
        PoolScope::Court => "scope-court",
        PoolScope::CourtBelowMinimum => "scope-court_below_minimum",
    };
    let excl_id = |e: klero_core::Exclusion| {
        let name = serde_json::to_value(e)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("excl-{name}")
    };
    html! {
        section class="draw" id={ "draw-" (p.draw.entry.index) } {
            @if first {
                h2 { (ctx.t("draw-record")) }
            } @else {
                h2 { (ctx.ta("draw-redraw", &[("trigger", &d.trigger.to_string())])) }
            }
            dl class="facts" {
                dt { (ctx.t("draw-method")) } dd { (method) }
                dt { (ctx.t("draw-scope")) } dd { (ctx.t(scope)) }
                dt { (ctx.t("case-judges")) } dd class="chosen" { strong { (judges_text(&d.chosen)) } }
                dt { (ctx.t("draw-beacon")) }
                dd {
                    @match &d.beacon {
                        Some(klero_core::BeaconReveal::HashChain { round, value }) => {
                            code class="beacon" { (value.to_hex()) } " (" (ctx.ta("draw-beacon-round", &[("round", &round.to_string())])) ")"
                        }
                        Some(klero_core::BeaconReveal::Drand { round, signature }) => {
                            "drand " (ctx.ta("draw-beacon-round", &[("round", &round.to_string())])) ": "
                            code class="beacon" { (signature.randomness().to_hex()) }
                        }
                        None => { "—" }
                    }
                }
                dt { (ctx.t("draw-seed")) }
                dd {
                    @match &d.seed {
                        Some(s) => { code class="seed" { (s.to_hex()) } }
                        None => { (ctx.t("draw-no-seed")) }
                    }
                }
                dt { (ctx.t("th-index")) }
                dd { (ctx.ta("draw-entries", &[("trigger", &p.trigger.entry.index.to_string()), ("draw", &p.draw.entry.index.to_string())])) }
            }
            h3 { (ctx.t("draw-pool")) }
            div class="table-wrap" {
                table class="pool" {
                    thead { tr { th { (ctx.t("th-judge")) } th class="num" { (ctx.t("th-load")) } th class="num" { (ctx.t("th-weight")) } th class="num" { (ctx.t("th-probability")) } th { (ctx.t("th-chosen")) } } }
                    tbody {
                        @for c in &d.eligible {
                            @let pos = d.chosen.iter().position(|j| j == &c.judge);
                            tr {
                                td { (c.judge) }
                                td class="num" { (c.load) }
                                td class="num" { (c.weight) }
                                td class="num" { (format!("{:.2}%", if total == 0 { 0.0 } else { c.weight as f64 * 100.0 / total as f64 })) }
                                td {
                                    @match pos {
                                        Some(0) => { strong { "✓ " (ctx.t("chosen-presiding")) } }
                                        Some(_) => { strong { "✓ " (ctx.t("chosen-member")) } }
                                        None => {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { (ctx.t("draw-excluded")) }
            @if d.excluded.is_empty() {
                p { (ctx.t("draw-none-excluded")) }
            } @else {
                div class="table-wrap" {
                    table class="excluded" {
                        thead { tr { th { (ctx.t("th-judge")) } th { (ctx.t("th-reason")) } } }
                        tbody {
                            @for x in &d.excluded {
                                tr { td { (x.judge) } td { (ctx.t(&excl_id(x.reason))) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/cases/{case}`: the case and the record of each of its draws, with the in-browser check.
pub(crate) async fn case(ctx: Ctx, Path(case): Path<String>) -> Response {
    let proof = api::case_proof(
        axum::extract::State(ctx.app.clone()),
        crate::extract::Path(case.clone()),
    )
    .await;
    let id = klero_core::CaseId::parse(&case).ok();
    let found = match &id {
        Some(id) => ctx.app.store().case(id).await.ok().flatten(),
        None => None,
    };
    let info = found.as_ref().and_then(|c| {
        ctx.app.store().read(|s| {
            let (related, earlier) = s.case_links(c);
            Some((
                c.court.clone(),
                c.division.clone(),
                c.case_type.clone(),
                c.filed_at,
                c.closed,
                s.case_judges(c).into_iter().cloned().collect::<Vec<_>>(),
                related.cloned(),
                earlier.cloned(),
            ))
        })
    });
    let Some((court, division, case_type, filed_at, closed, judges, related, earlier)) = info
    else {
        let text = ctx.ta("case-not-found", &[("case", &case)]);
        return ctx.render_status(StatusCode::NOT_FOUND, &text, html! { h1 { (text) } });
    };
    let case = id.expect("found above").to_string();
    let status = match (closed, judges.is_empty()) {
        (Some(r), _) => {
            let r = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            ctx.ta(
                "status-closed",
                &[("reason", &ctx.t(&format!("closing-{r}")))],
            )
        }
        (None, true) => ctx.t("status-pending"),
        (None, false) => ctx.t("status-open"),
    };
    let title = ctx.ta("case-title", &[("case", &case)]);
    let proof_url = format!("/api/v1/cases/{case}/proof");
    let actions = super::staff::case_actions(&ctx, &case, &court, &judges, closed.is_some());
    ctx.render_with_check(
        &title,
        html! {
            h1 { (title) }
            dl class="facts" id="case-facts" {
                dt { (ctx.t("case-court")) } dd { a href={ "/courts/" (court) } { (court) } }
                dt { (ctx.t("case-division")) } dd { (division) }
                dt { (ctx.t("case-type")) } dd { (case_type) }
                dt { (ctx.t("case-filed")) } dd { (when(filed_at)) " UTC" }
                dt { (ctx.t("case-judges")) } dd id="case-judges" { (judges_text(&judges)) }
                dt { (ctx.t("case-status")) } dd { (status) }
                @if let Some(r) = &related {
                    dt { (ctx.t("case-related")) } dd { a href={ "/cases/" (r) } { (r) } }
                }
                @if let Some(e) = &earlier {
                    dt { (ctx.t("case-earlier")) } dd { a href={ "/cases/" (e) } { (e) } }
                }
            }
            (actions)
            @match &proof {
                Ok(p) => {
                    (draw_record(&ctx, &p.filing, true))
                    @for r in &p.redraws {
                        (draw_record(&ctx, r, false))
                    }
                }
                Err(_) => { p { (ctx.t("status-pending")) } }
            }
            p { a href=(proof_url) id="proof-link" { (ctx.t("draw-proof")) } }
            h2 { (ctx.t("draw-check-title")) }
            p class="help" { (ctx.t("draw-check-intro")) }
            section id="draw-check" data-case=(case) data-proof-url=(proof_url)
                data-label-check=(ctx.t("draw-check-button")) data-label-pass=(ctx.t("draw-check-pass"))
                data-label-fail=(ctx.t("draw-check-fail")) data-label-running=(ctx.t("draw-check-running")) {
                button type="button" id="draw-check-button" hidden { (ctx.t("draw-check-button")) }
                p id="draw-check-result" role="status" {}
            }
            noscript { p { (ctx.t("draw-check-nojs")) } }
        },
    )
}
