//! Pages for staff: clerks, judges and court administrators. Every action calls the API's own
//! handler (or the function behind it) with the signed-in principal, so a form and a JSON request
//! are checked and recorded by the same code.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use klero_core::{CaseId, CourtId, Day, JudgeId, Role};
use maud::{Markup, html};
use serde::de::DeserializeOwned;

use super::{Ctx, Form, judges_text, when};
use crate::error::ApiError;
use crate::extract::{Json, Path as ApiPath};
use crate::routes::{admin, cases, judges, public as api};

/// A reason code from a form value (`conflict_of_interest`, ...).
fn code<T: DeserializeOwned>(v: Option<&str>) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(v?.to_owned())).ok()
}

const RECUSAL: [&str; 5] = [
    "conflict_of_interest",
    "prior_involvement",
    "personal_relationship",
    "party_challenge_upheld",
    "other",
];
const REASSIGN: [&str; 5] = [
    "judge_left_court",
    "long_term_absence",
    "incapacity",
    "disciplinary_suspension",
    "other",
];
const CLOSING: [&str; 5] = [
    "judgment",
    "settlement",
    "withdrawal",
    "dismissal",
    "transfer",
];
const RELATION: [&str; 5] = [
    "counterclaim",
    "same_facts",
    "follow_up",
    "joinder",
    "other",
];
const ABSENCE: [&str; 5] = ["leave", "sick", "training", "secondment", "other"];

fn select(ctx: &Ctx, name: &str, id: &str, prefix: &str, codes: &[&str]) -> Markup {
    html! {
        select name=(name) id=(id) required {
            @for c in codes { option value=(c) { (ctx.t(&format!("{prefix}-{c}"))) } }
        }
    }
}

/// The outcome of an action, as a page: a sentence and a link back.
fn outcome(ctx: &Ctx, title: &str, r: Result<Markup, ApiError>, back: &str) -> Response {
    let (status, body) = match r {
        Ok(m) => (
            StatusCode::OK,
            html! { div class="result" id="action-result" role="status" { (m) } },
        ),
        Err(e) => (
            e.kind.status(),
            html! { p class="errors" id="action-result" role="alert" { (ctx.ta("action-refused", &[("detail", &e.detail)])) } },
        ),
    };
    ctx.render_status(
        status,
        title,
        html! { h1 { (title) } (body) p { a href=(back) { "← " (back) } } },
    )
}

/// The forms a clerk of the court (or a judge sitting on it) sees on a case page.
pub(crate) fn case_actions(
    ctx: &Ctx,
    case: &str,
    court: &CourtId,
    judges: &[JudgeId],
    closed: bool,
) -> Markup {
    let Some(u) = &ctx.user else {
        return html! {};
    };
    if closed || judges.is_empty() {
        return html! {};
    }
    match u.role {
        Role::Clerk if u.court.as_ref() == Some(court) => html! {
            section id="case-actions" {
                h2 { (ctx.t("case-actions")) }
                form class="row" method="post" action={ "/cases/" (case) "/recusal" } id="recusal-form" {
                    (ctx.csrf_field())
                    label { (ctx.t("judge-field")) select name="judge" { @for j in judges { option { (j) } } } }
                    label { (ctx.t("reason")) (select(ctx, "reason", "recusal-reason", "recusal", &RECUSAL)) }
                    button type="submit" { (ctx.t("case-action-recuse")) }
                }
                form class="row" method="post" action={ "/cases/" (case) "/reassignment" } id="reassignment-form" {
                    (ctx.csrf_field())
                    label { (ctx.t("judge-field")) select name="judge" { @for j in judges { option { (j) } } } }
                    label { (ctx.t("reason")) (select(ctx, "reason", "reassign-reason", "reassign", &REASSIGN)) }
                    button type="submit" { (ctx.t("case-action-reassign")) }
                }
                form class="row" method="post" action={ "/cases/" (case) "/closing" } id="closing-form" {
                    (ctx.csrf_field())
                    label { (ctx.t("reason")) (select(ctx, "reason", "closing-reason", "closing", &CLOSING)) }
                    button type="submit" { (ctx.t("case-action-close")) }
                }
            }
        },
        Role::Judge if u.judge.as_ref().is_some_and(|j| judges.contains(j)) => html! {
            section id="case-actions" {
                h2 { (ctx.t("case-actions")) }
                form class="row" method="post" action={ "/cases/" (case) "/recusal" } id="recusal-form" {
                    (ctx.csrf_field())
                    label { (ctx.t("reason")) (select(ctx, "reason", "recusal-reason", "recusal", &RECUSAL)) }
                    button type="submit" { (ctx.t("case-action-my-recuse")) }
                }
            }
        },
        _ => html! {},
    }
}

fn replacement_text(ctx: &Ctx, r: &cases::Replacement) -> Markup {
    html! {
        @match &r.proof {
            Some(proof) => {
                p { (ctx.ta("action-replacement", &[("judges", &judges_text(&r.drawn))])) }
                p { (ctx.ta("action-done", &[("index", &proof.draw.entry.index.to_string())])) }
            }
            None => { p id="pending-draw" { (ctx.t("action-pending")) } }
        }
    }
}

/// How long a page waits for a replacement draw that waits for its drand round (a few seconds).
fn page_wait() -> crate::extract::Query<crate::routes::draws::Wait> {
    crate::extract::Query(crate::routes::draws::Wait { wait: Some(10) })
}

/// Records a recusal (a clerk for a judge, or the judge themself).
pub(crate) async fn recuse(ctx: Ctx, Path(case): Path<String>, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let Some(u) = ctx.user.clone() else {
        return ctx.message_page(StatusCode::UNAUTHORIZED, "login-required");
    };
    let title = ctx.t("case-action-recuse");
    let back = format!("/cases/{case}");
    let Some(reason) = code(form.get("reason")) else {
        return outcome(&ctx, &title, Err(ApiError::invalid("reason")), &back);
    };
    let judge = form.text("judge").and_then(|j| JudgeId::parse(j).ok());
    let r = cases::recuse(
        AxState(ctx.app.clone()),
        u,
        ApiPath(case),
        page_wait(),
        Json(cases::Recuse { judge, reason }),
    )
    .await
    .map(|r| replacement_text(&ctx, &r.0));
    outcome(&ctx, &title, r, &back)
}

/// Records a reassignment (a clerk).
pub(crate) async fn reassign(ctx: Ctx, Path(case): Path<String>, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let u = match ctx.require(Role::Clerk) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let title = ctx.t("case-action-reassign");
    let back = format!("/cases/{case}");
    let (Some(reason), Some(judge)) = (
        code(form.get("reason")),
        form.text("judge").and_then(|j| JudgeId::parse(j).ok()),
    ) else {
        return outcome(&ctx, &title, Err(ApiError::invalid("judge, reason")), &back);
    };
    let r = cases::reassign(
        AxState(ctx.app.clone()),
        u,
        ApiPath(case),
        page_wait(),
        Json(cases::Reassign { judge, reason }),
    )
    .await
    .map(|r| replacement_text(&ctx, &r.0));
    outcome(&ctx, &title, r, &back)
}

/// Closes a case (a clerk).
pub(crate) async fn close(ctx: Ctx, Path(case): Path<String>, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let u = match ctx.require(Role::Clerk) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let title = ctx.t("case-action-close");
    let back = format!("/cases/{case}");
    let Some(reason) = code(form.get("reason")) else {
        return outcome(&ctx, &title, Err(ApiError::invalid("reason")), &back);
    };
    let r = cases::close(
        AxState(ctx.app.clone()),
        u,
        ApiPath(case),
        Json(cases::Close { reason }),
    )
    .await
    .map(|r| html! { p { (ctx.ta("action-done", &[("index", &r.0.index.to_string())])) } });
    outcome(&ctx, &title, r, &back)
}

// ---------------------------------------------------------------------------------------------
// Clerk: filing

/// What the filing form holds.
#[derive(Default)]
struct Filing {
    division: String,
    case_type: String,
    parties: String,
    claim: String,
    related: String,
    related_reason: String,
    earlier: String,
}

fn file_page(
    ctx: &Ctx,
    court: &CourtId,
    f: &Filing,
    errors: &[(&str, String)],
    status: StatusCode,
) -> Response {
    let (divisions, types) = ctx.app.store().read(|s| {
        (
            s.court(court)
                .map(|c| {
                    c.divisions
                        .keys()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
            s.policy()
                .map(|p| {
                    p.case_types
                        .iter()
                        .map(|t| t.code.to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
    });
    let nonce = klero_store::Store::new_secret("").unwrap_or_default();
    let bad = |field: &str| errors.iter().any(|(f, _)| *f == field).then_some("true");
    let title = ctx.t("file-title");
    ctx.render_status(
        status,
        &title,
        html! {
            h1 { (title) }
            p class="help" { (ctx.t("file-intro")) }
            @if !errors.is_empty() {
                div class="errors" id="filing-errors" role="alert" tabindex="-1" {
                    ul { @for (field, msg) in errors { li { a href={ "#" (field) } { (msg) } } } }
                }
            }
            form class="stack" id="filing-form" method="post" action="/clerk/file" novalidate {
                (ctx.csrf_field())
                input type="hidden" name="idem" value=(nonce);
                label for="division" { (ctx.t("file-division")) }
                select id="division" name="division" aria-invalid=[bad("division")] {
                    @for d in &divisions { option value=(d) selected[*d == f.division] { (d) } }
                }
                label for="case_type" { (ctx.t("file-case-type")) }
                select id="case_type" name="case_type" aria-invalid=[bad("case_type")] {
                    @for t in &types { option value=(t) selected[*t == f.case_type] { (t) } }
                }
                label for="parties" { (ctx.t("file-parties")) }
                p class="help" id="parties-help" { (ctx.t("file-parties-help")) }
                textarea id="parties" name="parties" aria-describedby="parties-help" aria-invalid=[bad("parties")] required { (f.parties) }
                label for="claim" { (ctx.t("file-claim")) }
                textarea id="claim" name="claim" aria-invalid=[bad("claim")] required { (f.claim) }
                label for="related" { (ctx.t("file-related")) }
                input type="text" id="related" name="related" value=(f.related) aria-invalid=[bad("related")];
                label for="related_reason" { (ctx.t("file-related-reason")) }
                select id="related_reason" name="related_reason" aria-invalid=[bad("related_reason")] {
                    option value="" { (ctx.t("file-related-none")) }
                    @for r in RELATION { option value=(r) selected[r == f.related_reason] { (ctx.t(&format!("relation-{r}"))) } }
                }
                label for="earlier" { (ctx.t("file-earlier")) }
                input type="text" id="earlier" name="earlier" value=(f.earlier) aria-invalid=[bad("earlier")];
                div { button type="submit" id="file-submit" { (ctx.t("file-submit")) } }
            }
        },
    )
}

fn clerk_court(ctx: &Ctx) -> Result<(crate::auth::Principal, CourtId), Response> {
    let u = ctx.require(Role::Clerk)?;
    let court = u
        .court
        .clone()
        .ok_or_else(|| ctx.message_page(StatusCode::FORBIDDEN, "forbidden"))?;
    Ok((u, court))
}

/// The filing form.
pub(crate) async fn file_form(ctx: Ctx) -> Response {
    match clerk_court(&ctx) {
        Ok((_, court)) => file_page(&ctx, &court, &Filing::default(), &[], StatusCode::OK),
        Err(r) => r,
    }
}

/// Files a case from the form: plain-words validation first, then the API's own filing path.
pub(crate) async fn file(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match clerk_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let get = |k: &str| form.get(k).unwrap_or_default().to_owned();
    let f = Filing {
        division: get("division"),
        case_type: get("case_type"),
        parties: get("parties"),
        claim: get("claim"),
        related: get("related").trim().to_owned(),
        related_reason: get("related_reason"),
        earlier: get("earlier").trim().to_owned(),
    };
    let parties: Vec<String> = f
        .parties
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let mut errors: Vec<(&str, String)> = vec![];
    if parties.is_empty() {
        errors.push(("parties", ctx.t("file-err-parties")));
    } else if parties
        .iter()
        .any(|p| p.len() > 256 || p.chars().any(char::is_control))
    {
        errors.push(("parties", ctx.t("file-err-party-long")));
    }
    if f.claim.trim().is_empty() {
        errors.push(("claim", ctx.t("file-err-claim")));
    }
    let related_case = (!f.related.is_empty()).then(|| CaseId::parse(&f.related).ok());
    // Closed cases may have left memory: look them up through the store.
    let known = |c: Option<CaseId>| async {
        match c {
            Some(c) => ctx.app.store().case(&c).await.ok().flatten(),
            None => None,
        }
    };
    let related_in_court = known(related_case.clone().flatten())
        .await
        .is_some_and(|x| x.court == court);
    let earlier_known = known(CaseId::parse(&f.earlier).ok()).await.is_some();
    let related = match &related_case {
        None => None,
        Some(Some(c)) if related_in_court => match code(Some(&f.related_reason)) {
            Some(reason) => Some(cases::RelatedRequest {
                case: c.clone(),
                reason,
            }),
            None => {
                errors.push(("related_reason", ctx.t("file-err-related-reason")));
                None
            }
        },
        Some(_) => {
            errors.push((
                "related",
                ctx.ta("file-err-related-case", &[("case", &f.related)]),
            ));
            None
        }
    };
    let earlier = if f.earlier.is_empty() {
        None
    } else {
        match CaseId::parse(&f.earlier).ok().filter(|_| earlier_known) {
            Some(c) => Some(c),
            None => {
                errors.push((
                    "earlier",
                    ctx.ta("file-err-earlier", &[("case", &f.earlier)]),
                ));
                None
            }
        }
    };
    let division = klero_core::DivisionId::parse(&f.division).ok();
    let case_type = klero_core::CaseTypeCode::parse(&f.case_type).ok();
    if division.is_none() {
        errors.push(("division", ctx.t("file-division")));
    }
    if case_type.is_none() {
        errors.push(("case_type", ctx.t("file-case-type")));
    }
    let (Some(division), Some(case_type)) = (division, case_type) else {
        return file_page(&ctx, &court, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !errors.is_empty() {
        return file_page(&ctx, &court, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let key = form
        .text("idem")
        .filter(|k| k.len() <= 80 && k.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|k| format!("form-{k}"));
    let req = cases::FileCase {
        division,
        case_type,
        parties,
        claim: f.claim.clone(),
        related,
        earlier_instance: earlier,
    };
    // With drand in force the judge is drawn when the round after the filing is published (a few
    // seconds): the page waits for it, and otherwise says the draw is pending.
    let wait = std::time::Duration::from_secs(10);
    let filing = match cases::file(&ctx.app, &u, court.as_str(), req, key, wait).await {
        Ok((_, filing, _)) => filing,
        Err(e) => {
            let errors = vec![(
                "filing-form",
                ctx.ta("file-err-refused", &[("detail", &e.detail)]),
            )];
            return file_page(&ctx, &court, &f, &errors, e.kind.status());
        }
    };
    let title = ctx.ta("file-done", &[("case", filing.case.as_str())]);
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            div class="result" id="filing-result" role="status" {
                @if filing.pending_draw.is_some() {
                    p id="pending-draw" { (ctx.ta("file-pending", &[("case", filing.case.as_str())])) }
                } @else {
                    p id="drawn-judge" { (ctx.ta("file-drawn-judge", &[("judges", &judges_text(&filing.judges))])) }
                }
                @if let Some(d) = &filing.duplicate_of {
                    p class="notice" id="duplicate-notice" { (ctx.ta("file-duplicate", &[("case", d.as_str())])) }
                }
                p { a href={ "/cases/" (filing.case) } id="case-link" { (ctx.t("file-see-record")) } }
            }
            p { a class="button" href="/clerk/file" { (ctx.t("file-another")) } }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Clerk: cases

/// The court's cases, searched.
pub(crate) async fn cases(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (_, court) = match clerk_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let val = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let day = |k: &str| val(k).and_then(|s| Day::parse(s).ok());
    let search = cases::CaseSearch {
        status: code(val("status")),
        judge: val("judge").map(str::to_owned),
        q: val("q").map(str::to_owned),
        from: day("from"),
        until: day("until"),
        page: val("page").and_then(|p| p.parse().ok()),
    };
    let list = cases::search_cases(&ctx.app, &court, &search).await;
    let title = ctx.ta("cases-title", &[("court", court.as_str())]);
    let v = |k: &str| val(k).unwrap_or_default().to_owned();
    let page_link = |p: usize| {
        let mut s = format!("/clerk/cases?page={p}");
        for k in ["status", "judge", "q", "from", "until"] {
            if let Some(x) = val(k) {
                s.push_str(&format!(
                    "&{k}={}",
                    x.replace('%', "%25")
                        .replace('&', "%26")
                        .replace('#', "%23")
                ));
            }
        }
        s
    };
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            form class="row" method="get" action="/clerk/cases" id="case-search" role="search" {
                label { (ctx.t("cases-q")) input type="text" name="q" value=(v("q")); }
                label { (ctx.t("cases-status"))
                    select name="status" {
                        option value="" { (ctx.t("cases-status-any")) }
                        option value="open" selected[v("status") == "open"] { (ctx.t("cases-status-open")) }
                        option value="closed" selected[v("status") == "closed"] { (ctx.t("cases-status-closed")) }
                    }
                }
                label { (ctx.t("cases-judge")) input type="text" name="judge" value=(v("judge")) size="8"; }
                label { (ctx.t("cases-from")) input type="date" name="from" value=(v("from")); }
                label { (ctx.t("cases-until")) input type="date" name="until" value=(v("until")); }
                button type="submit" { (ctx.t("cases-search")) }
            }
            @match &list {
                Err(e) => { p class="errors" role="alert" { (ctx.ta("action-refused", &[("detail", &e.detail)])) } }
                Ok(l) if l.cases.is_empty() => { p { (ctx.t("cases-none")) } }
                Ok(l) => {
                    p { (ctx.ta("cases-count", &[("total", &l.total.to_string())])) }
                    div class="table-wrap" {
                        table id="cases" {
                            thead { tr { th { (ctx.t("th-case")) } th { (ctx.t("th-division")) } th { (ctx.t("file-case-type")) } th { (ctx.t("th-judges")) } th { (ctx.t("th-status")) } th { (ctx.t("th-filed")) } } }
                            tbody {
                                @for c in &l.cases {
                                    tr {
                                        td { a href={ "/cases/" (c.case) } { (c.case) } }
                                        td { (c.division) } td { (c.case_type) }
                                        td { (judges_text(&c.judges)) }
                                        td { (ctx.t(match c.status { cases::CaseStatus::Open => "status-open", cases::CaseStatus::Closed => "cases-status-closed", cases::CaseStatus::Pending => "status-pending" })) }
                                        td { (when(c.filed_at)) }
                                    }
                                }
                            }
                        }
                    }
                    nav class="pager" {
                        @if l.page > 1 { a href=(page_link(l.page - 1)) rel="prev" { "← " (ctx.t("page-prev")) } }
                        @if l.page * l.per_page < l.total { a href=(page_link(l.page + 1)) rel="next" { (ctx.t("page-next")) " →" } }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Judge

fn judge_of(ctx: &Ctx) -> Result<(crate::auth::Principal, JudgeId), Response> {
    let u = ctx.require(Role::Judge)?;
    let j = u
        .judge
        .clone()
        .ok_or_else(|| ctx.message_page(StatusCode::FORBIDDEN, "forbidden"))?;
    Ok((u, j))
}

/// The judge's docket and workload against the court.
pub(crate) async fn docket(ctx: Ctx) -> Response {
    let (u, judge) = match judge_of(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let d = match judges::docket(AxState(ctx.app.clone()), u, ApiPath(judge.to_string())).await {
        Ok(d) => d.0,
        Err(e) => return outcome(&ctx, &ctx.t("nav-judge-docket"), Err(e), "/"),
    };
    let stats = api::stats(AxState(ctx.app.clone()), ApiPath(d.court.to_string()))
        .await
        .map(|s| s.0);
    let rows: Vec<(String, u64, bool)> = stats
        .as_ref()
        .map(|s| {
            s.judges
                .iter()
                .filter(|j| j.active)
                .map(|j| (j.judge.to_string(), j.load, j.judge == judge))
                .collect()
        })
        .unwrap_or_default();
    let title = ctx.ta("docket-title", &[("judge", judge.as_str())]);
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            p { (ctx.ta("docket-open", &[("open", &d.open.to_string())])) }
            p id="workload" { (ctx.ta("docket-load", &[("load", &d.load.to_string()), ("mean", &d.court_mean_load.to_string())])) }
            h2 { (ctx.t("docket-chart")) }
            (super::public::load_chart(&ctx.t("docket-chart"), &rows, d.court_mean_load))
            p class="help" { span class="bad" { "■ " (ctx.t("docket-you")) } " · ┆ " (ctx.t("docket-mean")) }
            h2 { (ctx.t("nav-judge-docket")) }
            @if d.cases.is_empty() {
                p { (ctx.t("docket-empty")) }
            } @else {
                div class="table-wrap" {
                    table id="docket" {
                        thead { tr { th { (ctx.t("th-case")) } th { (ctx.t("file-case-type")) } th class="num" { (ctx.t("th-weight")) } th { (ctx.t("docket-role")) } th { (ctx.t("th-judges")) } th { (ctx.t("th-status")) } th { (ctx.t("th-filed")) } } }
                        tbody {
                            @for c in d.cases.iter().rev() {
                                tr {
                                    td { a href={ "/cases/" (c.case) } { (c.case) } }
                                    td { (c.case_type) } td class="num" { (c.weight) }
                                    td { (ctx.t(if c.presiding { "role-presiding" } else { "role-panel" })) }
                                    td { (judges_text(&c.judges)) }
                                    td { (ctx.t(if c.closed.is_some() { "cases-status-closed" } else { "status-open" })) }
                                    td { (when(c.filed_at)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn conflicts_page(ctx: &Ctx, judge: &JudgeId, note: Option<Markup>) -> Response {
    let list = judges::conflicts_of(&ctx.app, judge).await;
    let title = ctx.t("conflicts-title");
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            @if let Some(n) = note { (n) }
            p class="help" { (ctx.t("conflicts-intro")) }
            h2 { (ctx.t("conflicts-declare")) }
            form class="row" method="post" action="/judge/conflicts" id="conflict-form" autocomplete="off" {
                (ctx.csrf_field())
                label { (ctx.t("conflicts-party")) input type="text" name="party" id="party" required; }
                button type="submit" { (ctx.t("conflicts-submit")) }
            }
            h2 { (ctx.t("conflicts-title")) }
            @match &list {
                Err(e) => { p class="errors" { (e.detail) } }
                Ok(l) if l.is_empty() => { p { (ctx.t("conflicts-none")) } }
                Ok(l) => {
                    div class="table-wrap" {
                        table id="conflicts" {
                            thead { tr { th { (ctx.t("th-commitment")) } th { (ctx.t("th-declared")) } th { (ctx.t("th-index")) } th {} } }
                            tbody {
                                @for c in l {
                                    tr {
                                        td { code class="hash" { (c.subject.to_hex()) } }
                                        td { (when(c.at)) }
                                        td { a href={ "/log?start=" (c.index) } { (c.index) } }
                                        td {
                                            form method="post" action="/judge/conflicts/withdraw" class="inline" {
                                                (ctx.csrf_field())
                                                input type="hidden" name="subject" value=(c.subject.to_hex());
                                                button type="submit" class="secondary" { (ctx.t("conflicts-withdraw")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("conflicts-withdraw-by-id")) }
            form class="row" method="post" action="/judge/conflicts/withdraw" autocomplete="off" {
                (ctx.csrf_field())
                label { (ctx.t("conflicts-party")) input type="text" name="party" required; }
                button type="submit" class="secondary" { (ctx.t("conflicts-withdraw")) }
            }
        },
    )
}

/// The judge's conflicts.
pub(crate) async fn conflicts(ctx: Ctx) -> Response {
    match judge_of(&ctx) {
        Ok((_, j)) => conflicts_page(&ctx, &j, None).await,
        Err(r) => r,
    }
}

async fn conflict_action(ctx: Ctx, form: Form, declare: bool) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, judge) = match judge_of(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let req = judges::ConflictRequest {
        party: form.text("party").map(str::to_owned),
        subject: form
            .text("subject")
            .and_then(|s| klero_core::Digest32::from_hex(s).ok()),
    };
    let r = judges::conflict(ctx.app.clone(), u, judge.to_string(), req, declare).await;
    let note = match r {
        Ok(_) => {
            html! { p class="result" id="action-result" role="status" { (ctx.t(if declare { "conflicts-declared" } else { "conflicts-withdrawn" })) } }
        }
        Err(e) => {
            html! { p class="errors" id="action-result" role="alert" { (ctx.ta("action-refused", &[("detail", &e.detail)])) } }
        }
    };
    conflicts_page(&ctx, &judge, Some(note)).await
}

/// Declares a conflict.
pub(crate) async fn declare(ctx: Ctx, form: Form) -> Response {
    conflict_action(ctx, form, true).await
}

/// Withdraws a conflict (by its commitment, or by the identifier).
pub(crate) async fn withdraw(ctx: Ctx, form: Form) -> Response {
    conflict_action(ctx, form, false).await
}

// ---------------------------------------------------------------------------------------------
// Court administrator

fn admin_court(ctx: &Ctx) -> Result<(crate::auth::Principal, CourtId), Response> {
    let u = ctx.require(Role::CourtAdmin)?;
    let court = u
        .court
        .clone()
        .ok_or_else(|| ctx.message_page(StatusCode::FORBIDDEN, "forbidden"))?;
    Ok((u, court))
}

fn policy_specializations(ctx: &Ctx) -> Vec<String> {
    let mut v: Vec<String> = ctx.app.store().read(|s| {
        s.policy()
            .map(|p| {
                p.case_types
                    .iter()
                    .map(|t| t.specialization.to_string())
                    .collect()
            })
            .unwrap_or_default()
    });
    v.sort();
    v.dedup();
    v
}

fn judge_fields(
    ctx: &Ctx,
    prefix: &str,
    divisions: &[String],
    specs: &[String],
    current: Option<&api::JudgeView>,
) -> Markup {
    html! {
        label { (ctx.t("judges-division"))
            select name="division" {
                @for d in divisions { option value=(d) selected[current.is_some_and(|j| j.division.as_str() == d)] { (d) } }
            }
        }
        fieldset {
            legend { (ctx.t("judges-specs")) }
            @for s in specs {
                label class="check" {
                    input type="checkbox" name="spec" value=(s) id={ (prefix) "-spec-" (s) }
                        checked[current.is_some_and(|j| j.specializations.iter().any(|x| x.as_str() == s))];
                    " " (s)
                }
                " "
            }
        }
        label { (ctx.t("judges-share"))
            input type="number" name="share" min="1" max="1000" required value=(current.map_or(1000, |j| j.share_permille));
        }
        label class="check" {
            input type="checkbox" name="active" value="true" checked[current.is_none_or(|j| j.active)];
            " " (ctx.t("judges-active"))
        }
    }
}

async fn judges_page(ctx: &Ctx, court: &CourtId, note: Option<Markup>) -> Response {
    let view = match api::court(AxState(ctx.app.clone()), ApiPath(court.to_string())).await {
        Ok(v) => v.0,
        Err(e) => return outcome(ctx, &ctx.t("nav-admin-judges"), Err(e), "/"),
    };
    let divisions: Vec<String> = view
        .divisions
        .iter()
        .map(|d| d.division.to_string())
        .collect();
    let specs = policy_specializations(ctx);
    let title = ctx.ta("judges-title", &[("court", &view.name)]);
    let yn = |b: bool| if b { ctx.t("yes") } else { ctx.t("no") };
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            @if let Some(n) = note { (n) }
            div class="table-wrap" {
                table id="judges" {
                    thead { tr { th { (ctx.t("th-judge")) } th { (ctx.t("th-division")) } th { (ctx.t("th-specializations")) } th class="num" { (ctx.t("th-share")) } th { (ctx.t("th-active")) } th {} } }
                    tbody {
                        @for j in &view.judges {
                            tr {
                                td { (j.judge) } td { (j.division) }
                                td { (j.specializations.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                                td class="num" { (j.share_permille) "‰" } td { (yn(j.active)) }
                                td {
                                    details {
                                        summary { (ctx.t("judges-update")) }
                                        form class="row" method="post" action={ "/admin/judges/" (j.judge) } {
                                            (ctx.csrf_field())
                                            (judge_fields(ctx, j.judge.as_str(), &divisions, &specs, Some(j)))
                                            button type="submit" { (ctx.t("judges-update")) }
                                        }
                                    }
                                    form class="inline" method="post" action={ "/admin/judges/" (j.judge) } {
                                        (ctx.csrf_field())
                                        input type="hidden" name="division" value=(j.division);
                                        @for s in &j.specializations { input type="hidden" name="spec" value=(s); }
                                        input type="hidden" name="share" value=(j.share_permille);
                                        @if !j.active { input type="hidden" name="active" value="true"; }
                                        button type="submit" class="secondary" { (ctx.t(if j.active { "judges-deactivate" } else { "judges-activate" })) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("judges-register")) }
            p class="help" { (ctx.t("judges-specs-help")) }
            form class="stack" method="post" action="/admin/judges" id="register-form" {
                (ctx.csrf_field())
                label { (ctx.t("judges-id")) input type="text" name="judge" required; }
                (judge_fields(ctx, "new", &divisions, &specs, None))
                div { button type="submit" { (ctx.t("judges-submit")) } }
            }
        },
    )
}

/// The court's judges.
pub(crate) async fn judges(ctx: Ctx) -> Response {
    match admin_court(&ctx) {
        Ok((_, c)) => judges_page(&ctx, &c, None).await,
        Err(r) => r,
    }
}

/// The judge record a form describes.
fn judge_record(form: &Form) -> Result<admin::JudgeRecord, ApiError> {
    let division = klero_core::DivisionId::parse(form.text("division").unwrap_or_default())
        .map_err(|_| ApiError::invalid("division"))?;
    let specializations = form
        .all("spec")
        .into_iter()
        .map(|s| klero_core::Specialization::parse(s).map_err(|_| ApiError::invalid(s.to_owned())))
        .collect::<Result<Vec<_>, _>>()?;
    let share_permille = form
        .text("share")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::invalid("share"))?;
    Ok(admin::JudgeRecord {
        division,
        specializations,
        share_permille,
        active: form.get("active") == Some("true"),
    })
}

fn recorded(ctx: &Ctx, r: &crate::routes::Recorded) -> Markup {
    html! {
        div class="result" id="action-result" role="status" {
            p { (ctx.ta("action-done", &[("index", &r.index.to_string())])) }
            @for w in &r.warnings { p class="bad" { (ctx.ta("judges-warning", &[("text", w)])) } }
        }
    }
}

fn refused(ctx: &Ctx, e: &ApiError) -> Markup {
    html! { p class="errors" id="action-result" role="alert" { (ctx.ta("action-refused", &[("detail", &e.detail)])) } }
}

/// Registers a judge.
pub(crate) async fn register_judge(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let r = async {
        let rec = judge_record(&form)?;
        let judge = JudgeId::parse(form.text("judge").unwrap_or_default())
            .map_err(|_| ApiError::invalid("judge"))?;
        let req = admin::NewJudge {
            judge,
            division: rec.division,
            specializations: rec.specializations,
            share_permille: rec.share_permille,
            active: rec.active,
        };
        admin::register_judge(
            AxState(ctx.app.clone()),
            u,
            ApiPath(court.to_string()),
            Json(req),
        )
        .await
        .map(|(_, r)| r.0)
    }
    .await;
    let note = match &r {
        Ok(r) => recorded(&ctx, r),
        Err(e) => refused(&ctx, e),
    };
    judges_page(&ctx, &court, Some(note)).await
}

/// Updates a judge (and activates or deactivates).
pub(crate) async fn update_judge(ctx: Ctx, Path(judge): Path<String>, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let r = match judge_record(&form) {
        Ok(rec) => admin::update_judge(AxState(ctx.app.clone()), u, ApiPath(judge), Json(rec))
            .await
            .map(|r| r.0),
        Err(e) => Err(e),
    };
    let note = match &r {
        Ok(r) => recorded(&ctx, r),
        Err(e) => refused(&ctx, e),
    };
    judges_page(&ctx, &court, Some(note)).await
}

/// The month a calendar shows: `YYYY-MM`, default this month.
fn month_of(q: &HashMap<String, String>) -> (i32, u32) {
    q.get("month")
        .and_then(|m| {
            let (y, mo) = m.split_once('-')?;
            let (y, mo) = (y.parse().ok()?, mo.parse().ok()?);
            Day::from_ymd(y, mo, 1).map(|_| (y, mo))
        })
        .unwrap_or_else(|| {
            let (y, m, _) = crate::routes::today().ymd();
            (y, m)
        })
}

async fn absences_page(
    ctx: &Ctx,
    court: &CourtId,
    (y, m): (i32, u32),
    note: Option<Markup>,
) -> Response {
    let first = Day::from_ymd(y, m, 1).expect("a valid month");
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let next = Day::from_ymd(ny, nm, 1).expect("a valid month");
    let last = Day(next.0 - 1);
    let list = ctx
        .app
        .store()
        .read(|s| admin::absences_between(s, court, first, last))
        .unwrap_or_default();
    let judges: Vec<String> = ctx.app.store().read(|s| {
        s.court_judges(court)
            .into_iter()
            .map(|j| j.id.to_string())
            .collect()
    });
    // Monday-first weeks: 1970-01-01 (day 0) was a Thursday.
    let lead = (first.0 + 3).rem_euclid(7);
    let start = Day(first.0 - lead);
    let weeks = ((lead + last.0 - first.0 + 1) + 6) / 7;
    let month = format!("{y:04}-{m:02}");
    let title = ctx.ta("absences-title", &[("month", &month)]);
    let reason = |r: klero_core::AbsenceReason| {
        let name = serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        ctx.t(&format!("absence-{name}"))
    };
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            @if let Some(n) = note { (n) }
            nav class="pager" {
                a href={ "/admin/absences?month=" (format!("{py:04}-{pm:02}")) } rel="prev" { "← " (ctx.t("absences-prev")) }
                a href={ "/admin/absences?month=" (format!("{ny:04}-{nm:02}")) } rel="next" { (ctx.t("absences-next")) " →" }
            }
            div class="table-wrap" {
                table class="calendar" id="calendar" {
                    caption { (month) }
                    thead { tr { @for d in 1..=7 { th scope="col" { (ctx.t(&format!("weekday-{d}"))) } } } }
                    tbody {
                        @for w in 0..weeks {
                            tr {
                                @for d in 0..7 {
                                    @let day = Day(start.0 + w * 7 + d);
                                    @let inside = day >= first && day <= last;
                                    td class=[(!inside).then_some("out")] {
                                        span class="day" { (day.ymd().2) }
                                        @if inside {
                                            ul {
                                                @for a in list.iter().filter(|a| a.from <= day && a.until >= day) {
                                                    li class=[a.cancelled.then_some("cancelled")] title=(reason(a.reason)) { (a.judge) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("absences-list")) }
            @if list.is_empty() {
                p { (ctx.t("absences-none")) }
            } @else {
                div class="table-wrap" {
                    table id="absences" {
                        thead { tr { th { (ctx.t("th-judge")) } th { (ctx.t("th-from")) } th { (ctx.t("th-until")) } th { (ctx.t("reason")) } th { (ctx.t("th-absence")) } th {} } }
                        tbody {
                            @for a in &list {
                                tr {
                                    td { (a.judge) } td { (a.from) } td { (a.until) } td { (reason(a.reason)) } td { code { (a.absence) } }
                                    td {
                                        @if a.cancelled { (ctx.t("absences-cancelled")) } @else {
                                            form class="inline" method="post" action="/admin/absences/cancel" {
                                                (ctx.csrf_field())
                                                input type="hidden" name="absence" value=(a.absence);
                                                input type="hidden" name="month" value=(month);
                                                button type="submit" class="secondary" { (ctx.t("absences-cancel")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("absences-record")) }
            form class="row" method="post" action="/admin/absences" id="absence-form" {
                (ctx.csrf_field())
                input type="hidden" name="month" value=(month);
                label { (ctx.t("th-judge")) select name="judge" { @for j in &judges { option { (j) } } } }
                label { (ctx.t("absences-from")) input type="date" name="from" required; }
                label { (ctx.t("absences-until")) input type="date" name="until" required; }
                label { (ctx.t("reason")) (select(ctx, "reason", "absence-reason", "absence", &ABSENCE)) }
                button type="submit" { (ctx.t("absences-submit")) }
            }
        },
    )
}

/// The court's absence calendar.
pub(crate) async fn absences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    match admin_court(&ctx) {
        Ok((_, c)) => absences_page(&ctx, &c, month_of(&q), None).await,
        Err(r) => r,
    }
}

fn form_month(form: &Form) -> (i32, u32) {
    let mut q = HashMap::new();
    if let Some(m) = form.get("month") {
        q.insert("month".to_owned(), m.to_owned());
    }
    month_of(&q)
}

/// Records an absence.
pub(crate) async fn record_absence(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let day = |k: &str| form.text(k).and_then(|s| Day::parse(s).ok());
    let r = match (day("from"), day("until"), code(form.get("reason"))) {
        (Some(from), Some(until), Some(reason)) => admin::record_absence(
            AxState(ctx.app.clone()),
            u,
            ApiPath(form.text("judge").unwrap_or_default().to_owned()),
            Json(admin::NewAbsence {
                absence: None,
                from,
                until,
                reason,
            }),
        )
        .await
        .map(|_| ()),
        _ => Err(ApiError::invalid(format!(
            "{} / {} / {}",
            ctx.t("absences-from"),
            ctx.t("absences-until"),
            ctx.t("reason")
        ))),
    };
    let note = match r {
        Ok(()) => html! { p class="result" id="action-result" role="status" { "✓" } },
        Err(e) => refused(&ctx, &e),
    };
    absences_page(&ctx, &court, form_month(&form), Some(note)).await
}

/// Cancels an absence.
pub(crate) async fn cancel_absence(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let r = admin::cancel_absence(
        AxState(ctx.app.clone()),
        u,
        ApiPath(form.text("absence").unwrap_or_default().to_owned()),
    )
    .await;
    let note = match &r {
        Ok(r) => recorded(&ctx, &r.0),
        Err(e) => refused(&ctx, e),
    };
    absences_page(&ctx, &court, form_month(&form), Some(note)).await
}

fn tokens_page(ctx: &Ctx, court: &CourtId, note: Option<Markup>) -> Response {
    let list: Vec<(String, String, String, u64, bool)> = ctx.app.store().read(|s| {
        let mut v: Vec<_> = s
            .credentials()
            .filter(|(_, c)| c.court.as_ref() == Some(court))
            .map(|(fp, c)| {
                (
                    fp.to_hex(),
                    c.holder.to_string(),
                    c.role.name().to_owned(),
                    c.issued_index,
                    c.revoked.is_some(),
                )
            })
            .collect();
        v.sort_by_key(|x| x.3);
        v
    });
    let title = ctx.t("tokens-title");
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            @if let Some(n) = note { (n) }
            p class="help" { (ctx.t("tokens-intro")) }
            h2 { (ctx.t("tokens-issue")) }
            form class="row" method="post" action="/admin/tokens" id="token-form" {
                (ctx.csrf_field())
                label { (ctx.t("tokens-holder")) input type="text" name="holder" required; }
                button type="submit" { (ctx.t("tokens-submit")) }
            }
            h2 { (ctx.t("tokens-list")) }
            div class="table-wrap" {
                table id="credentials" {
                    thead { tr { th { (ctx.t("th-holder")) } th { (ctx.t("th-role")) } th class="num" { (ctx.t("th-issued")) } th { (ctx.t("th-hash")) } th {} } }
                    tbody {
                        @for (fp, holder, role, idx, revoked) in &list {
                            tr {
                                td { (holder) } td { (ctx.t(&format!("role-{role}"))) } td class="num" { (idx) }
                                td { code class="hash" title=(fp) { (fp[..16]) "…" } }
                                td {
                                    @if *revoked { (ctx.t("tokens-revoked")) } @else if role != "court_admin" {
                                        form class="inline" method="post" action="/admin/tokens/revoke" {
                                            (ctx.csrf_field())
                                            input type="hidden" name="credential" value=(fp);
                                            button type="submit" class="secondary" { (ctx.t("tokens-revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The court's credentials.
pub(crate) async fn tokens(ctx: Ctx) -> Response {
    match admin_court(&ctx) {
        Ok((_, c)) => tokens_page(&ctx, &c, None),
        Err(r) => r,
    }
}

/// Issues a clerk's credential.
pub(crate) async fn issue_token(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let r = match klero_core::ActorId::parse(form.text("holder").unwrap_or_default()) {
        Ok(holder) => admin::create_token(
            AxState(ctx.app.clone()),
            u,
            Json(admin::NewToken {
                role: admin::RoleName::Clerk,
                holder,
                court: Some(court.clone()),
            }),
        )
        .await
        .map(|(_, t)| t.0),
        Err(_) => Err(ApiError::invalid(ctx.t("tokens-holder"))),
    };
    let note = match &r {
        Ok(t) => html! {
            div class="once" id="issued-token" role="status" {
                p { (ctx.ta("tokens-issued", &[("holder", t.holder.as_str())])) }
                p { code { (t.token) } }
                p { (ctx.ta("tokens-fingerprint", &[("fp", &t.credential.to_hex())])) }
            }
        },
        Err(e) => refused(&ctx, e),
    };
    tokens_page(&ctx, &court, Some(note))
}

/// Revokes a credential.
pub(crate) async fn revoke_token(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let r = admin::revoke_token(
        AxState(ctx.app.clone()),
        u,
        ApiPath(form.text("credential").unwrap_or_default().to_owned()),
    )
    .await;
    let note = match &r {
        Ok(r) => recorded(&ctx, &r.0),
        Err(e) => refused(&ctx, e),
    };
    tokens_page(&ctx, &court, Some(note))
}

fn import_page(ctx: &Ctx, csv: &str, result: Option<Markup>) -> Response {
    let title = ctx.t("import-title");
    ctx.render(
        &title,
        html! {
            h1 { (title) }
            @if let Some(r) = result { (r) }
            h2 { (ctx.t("import-judges")) }
            p class="help" id="import-help" { (ctx.t("import-judges-help")) }
            form class="stack" method="post" action="/admin/import" id="import-form" {
                (ctx.csrf_field())
                label for="csv" { (ctx.t("import-csv")) }
                textarea id="csv" name="csv" rows="10" aria-describedby="import-help" required { (csv) }
                label class="check" { input type="checkbox" name="dry_run" value="true" checked; " " (ctx.t("import-dry-run")) }
                div { button type="submit" { (ctx.t("import-submit")) } }
            }
            h2 { (ctx.t("import-cases")) }
            p id="import-cases" { (ctx.t("import-cases-text")) }
        },
    )
}

/// The import form.
pub(crate) async fn import_form(ctx: Ctx) -> Response {
    match admin_court(&ctx) {
        Ok(_) => import_page(
            &ctx,
            "judge,division,specializations,share_permille,active\n",
            None,
        ),
        Err(r) => r,
    }
}

/// Imports judges (or shows what a dry run would write).
pub(crate) async fn import(ctx: Ctx, form: Form) -> Response {
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused();
    }
    let (u, court) = match admin_court(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csv = form.get("csv").unwrap_or_default().replace("\r\n", "\n");
    let dry = form.get("dry_run") == Some("true");
    let r = admin::import_judges(&ctx.app, &u, court.as_str(), &csv, dry).await;
    let result = match &r {
        Ok(rep) => html! {
            div class="result" id="import-result" role="status" {
                p { (ctx.ta(if rep.dry_run { "import-would" } else { "import-wrote" }, &[("count", &rep.rows.iter().filter(|r| r.event.is_some()).count().to_string())])) }
                @if rep.dry_run { p { strong { (ctx.t("import-nothing")) } } }
                table {
                    thead { tr { th class="num" { (ctx.t("th-line")) } th { (ctx.t("th-judge")) } th { (ctx.t("th-action")) } th { (ctx.t("th-entry")) } } }
                    tbody {
                        @for row in &rep.rows {
                            tr {
                                td class="num" { (row.line) } td { (row.judge) }
                                td { (ctx.t(&format!("import-{}", row.action))) }
                                td { @if let Some(e) = &row.event { code { (serde_json::to_string(e).unwrap_or_default()) } } @if let Some(i) = row.index { " → " (i) } }
                            }
                        }
                    }
                }
            }
        },
        Err(e) => html! {
            div class="errors" id="import-result" role="alert" {
                p { (ctx.ta("action-refused", &[("detail", &e.detail)])) }
                p { (ctx.t("import-nothing")) }
            }
        },
    };
    import_page(&ctx, &csv, Some(result))
}
