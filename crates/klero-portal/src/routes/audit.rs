//! The observer's audit of a court, as JSON (`/api/v1/courts/{court}/audit`) and as a page with
//! plots (`/courts/{court}/audit`): the same [`klero_core::audit`] that `klero audit` runs on an
//! exported log, run here on the server's own log. The page is rendered on the server with inline
//! SVG: no script, no external asset.
//!
//! The audit replays the whole log, so an answer is kept per court and `since` until the log
//! grows.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use klero_core::audit::{AuditConfig, Auditor, CourtAudit};
use klero_core::{CourtId, Day, Digest32};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_court;
use crate::error::{ApiError, ApiResult, Kind};
use crate::extract::{Path, Query};
use crate::{AppState, MAX_PAGE};

/// At most this many audits are kept.
const MAX_CACHED: usize = 64;

/// Audits computed, by court and `since`, with the log size they cover.
pub(crate) type AuditCache = Arc<Mutex<HashMap<(CourtId, Option<Day>), (u64, Arc<AuditAnswer>)>>>;

/// Which part of the log to audit.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only count what happened on or after this day (`YYYY-MM-DD`).
    pub since: Option<String>,
}

/// The audit of a court.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditAnswer {
    /// Entries of the log replayed.
    pub size: u64,
    /// The Merkle root of those entries: the same audit can be reproduced from an export of that
    /// size with `klero audit`.
    #[schema(value_type = String)]
    pub root: Digest32,
    /// The settings (the defaults of `klero audit`).
    #[schema(value_type = Object)]
    pub config: AuditConfig,
    /// Calibration, short-notice changes, withdraw and refile, reassignments and recusals,
    /// fallbacks, and the flagged findings with their supporting entries.
    #[schema(value_type = Object)]
    pub audit: CourtAudit,
}

async fn compute(
    app: &AppState,
    court: CourtId,
    since: Option<Day>,
) -> ApiResult<Arc<AuditAnswer>> {
    if app.store.read(|s| s.court(&court).is_none()) {
        return Err(ApiError::not_found(format!("there is no court {court}")));
    }
    let (size, root) = app.store.checkpoint();
    let key = (court.clone(), since);
    let cached = app
        .audits
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    if let Some((n, a)) = cached
        && n == size
    {
        return Ok(a);
    }
    let config = AuditConfig {
        court: Some(court.clone()),
        since,
        ..AuditConfig::default()
    };
    let mut auditor = Auditor::new(config.clone());
    let mut start = 0;
    while start < size {
        let page = app
            .store
            .entries(start, (start + MAX_PAGE).min(size))
            .await?;
        if page.is_empty() {
            return Err(ApiError::internal(format!(
                "the store returned no entries from {start}"
            )));
        }
        for e in &page {
            auditor
                .push(e)
                .map_err(|f| ApiError::internal(format!("the log does not replay: {f}")))?;
        }
        start += page.len() as u64;
    }
    let report = auditor.finish();
    let audit = report
        .courts
        .into_iter()
        .find(|c| c.court == court)
        .ok_or_else(|| ApiError::internal(format!("the audit has no section for court {court}")))?;
    let answer = Arc::new(AuditAnswer {
        size,
        root,
        config,
        audit,
    });
    let mut cache = app.audits.lock().unwrap_or_else(|p| p.into_inner());
    // Anyone can ask for any `since`: keep the cache small rather than let it grow with them.
    if cache.len() >= MAX_CACHED {
        cache.retain(|_, (n, _)| *n == size);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
    }
    cache.insert(key, (size, Arc::clone(&answer)));
    drop(cache);
    Ok(answer)
}

fn parse_since(q: &AuditQuery) -> ApiResult<Option<Day>> {
    q.since
        .as_deref()
        .map(|s| {
            Day::parse(s).map_err(|m| ApiError::new(Kind::InvalidParameter, format!("since: {m}")))
        })
        .transpose()
}

/// The observer's audit of a court: statistics that flag steering, each finding with the log
/// entries that support it (what `klero audit --court` prints from an exported log).
#[utoipa::path(
    get,
    path = "/api/v1/courts/{court}/audit",
    tag = "public",
    params(("court" = String, Path, description = "The court"), AuditQuery),
    responses(
        (status = 200, description = "The audit", body = AuditAnswer),
        (status = 400, description = "Bad `since`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn court_audit(
    AxState(app): AxState<AppState>,
    Path(court): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<AuditAnswer>> {
    let court = parse_court(&court)?;
    let since = parse_since(&q)?;
    Ok(axum::Json(
        compute(&app, court, since).await?.as_ref().clone(),
    ))
}

/// The observer's page: the audit in words with its plots (calibration, wins against expectation
/// per judge, short-notice changes over time).
///
/// The figures and their explanations are in English (the catalogue covers the page's frame).
pub(crate) async fn court_audit_page(
    ctx: crate::pages::Ctx,
    Path(court): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::response::Response> {
    let court = parse_court(&court)?;
    let since = parse_since(&q)?;
    let a = compute(&ctx.app, court.clone(), since).await?;
    let title = format!("{} {court}", ctx.t("court-audit"));
    Ok(ctx.render(&title, crate::pages::trusted(page(&a))))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Calibration plot: predicted probability (x) against observed frequency (y), one dot per bin
/// with an area by its number of pairs, and the diagonal of perfect calibration.
fn calibration_svg(a: &CourtAudit) -> String {
    let (w, h, m) = (320.0, 320.0, 40.0);
    let x = |p: f64| m + p * (w - 2.0 * m);
    let y = |p: f64| h - m - p * (h - 2.0 * m);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="calibration plot">
<rect x="{m}" y="{m}" width="{}" height="{}" fill="none" stroke="#999"/>
<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#bbb" stroke-dasharray="4"/>
<text x="{}" y="{}" font-size="11" text-anchor="middle">predicted probability</text>
<text x="12" y="{}" font-size="11" transform="rotate(-90 12 {})" text-anchor="middle">observed frequency</text>
<text x="{m}" y="{}" font-size="10" text-anchor="middle">0</text><text x="{}" y="{}" font-size="10" text-anchor="middle">1</text>
<text x="{}" y="{}" font-size="10" text-anchor="end">1</text>
"##,
        w - 2.0 * m,
        h - 2.0 * m,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0),
        w / 2.0,
        h - 8.0,
        h / 2.0,
        h / 2.0,
        h - m + 12.0,
        w - m,
        h - m + 12.0,
        m - 4.0,
        m + 4.0
    );
    let max = a
        .calibration
        .bins
        .iter()
        .map(|b| b.pairs)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for b in a.calibration.bins.iter().filter(|b| b.pairs > 0) {
        let r = 3.0 + 9.0 * (b.pairs as f64 / max).sqrt();
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="#3a6ea5" fill-opacity="0.6"><title>{:.1}–{:.1}: {} pairs, predicted {:.3}, observed {:.3}</title></circle>"##,
            x(b.predicted),
            y(b.observed),
            b.from,
            b.to,
            b.pairs,
            b.predicted,
            b.observed
        );
    }
    s.push_str("</svg>");
    s
}

/// Per judge: the z-score of seats won against expectation, as a horizontal bar; the band marks
/// |z| <= 2.
fn judges_svg(a: &CourtAudit) -> String {
    let n = a.calibration.judges.len().max(1);
    let (w, row, left) = (480.0, 18.0, 110.0);
    let h = 40.0 + row * n as f64;
    let mid = left + (w - left - 10.0) / 2.0;
    let scale = (w - left - 10.0) / 2.0 / 5.0; // |z| = 5 at the edge
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="wins against expectation per judge">
<rect x="{:.1}" y="0" width="{:.1}" height="{h}" fill="#eee"/>
<line x1="{mid}" y1="0" x2="{mid}" y2="{h}" stroke="#999"/>
<text x="{mid}" y="{}" font-size="11" text-anchor="middle">z-score of seats won (grey band: within 2)</text>
"##,
        mid - 2.0 * scale,
        4.0 * scale,
        h - 6.0
    );
    for (i, j) in a.calibration.judges.iter().enumerate() {
        let yv = 4.0 + row * i as f64;
        let z = j.z.clamp(-5.0, 5.0);
        let (x0, wd) = if z >= 0.0 {
            (mid, z * scale)
        } else {
            (mid + z * scale, -z * scale)
        };
        let colour = if j.flagged { "#c0392b" } else { "#3a6ea5" };
        let _ = writeln!(
            s,
            r##"<text x="4" y="{:.1}" font-size="11">{}</text><rect x="{x0:.1}" y="{yv:.1}" width="{wd:.1}" height="{:.1}" fill="{colour}"><title>{}: {} seats, {:.1} expected, z = {:.2}</title></rect>"##,
            yv + 12.0,
            esc(j.judge.as_str()),
            row - 4.0,
            esc(j.judge.as_str()),
            j.wins,
            j.expected,
            j.z
        );
    }
    s.push_str("</svg>");
    s
}

/// Short-notice changes per day, as bars over the period.
fn short_notice_svg(a: &CourtAudit) -> String {
    let days = &a.short_notice.per_day;
    let (w, h, m) = (480.0, 140.0, 24.0);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="short-notice changes over time">
<line x1="{m}" y1="{}" x2="{}" y2="{}" stroke="#999"/>
"##,
        h - m,
        w - m,
        h - m
    );
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let span = (last.0.0 - first.0.0).max(1) as f64;
        let max = days.iter().map(|d| d.1).max().unwrap_or(1).max(1) as f64;
        for (d, n) in days {
            let xv = m + (d.0 - first.0.0) as f64 / span * (w - 2.0 * m);
            let hv = *n as f64 / max * (h - 2.0 * m);
            let _ = writeln!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="3" height="{hv:.1}" fill="#d68910"><title>{d}: {n}</title></rect>"##,
                xv - 1.5,
                h - m - hv
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{m}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
            h - 6.0,
            first.0,
            w - m,
            h - 6.0,
            last.0
        );
    } else {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-size="12" text-anchor="middle">no short-notice change</text>"##,
            w / 2.0,
            h / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

fn page(ans: &AuditAnswer) -> String {
    let a = &ans.audit;
    let court = esc(a.court.as_str());
    let mut s = format!(
        r##"<h1>Audit of court {court}</h1>
<p>Computed from the public log ({} entries, Merkle root <code>{}</code>): anyone can reproduce it with
<code>klero audit --court {court}</code> on an export of that size. A flag is a question to ask about the
entries listed, not proof of steering.</p>
"##,
        ans.size, ans.root
    );
    if a.flags.is_empty() {
        s.push_str("<p><strong>Nothing is flagged at the default threshold.</strong></p>\n");
    } else {
        s.push_str("<h2 class=\"flag\">Flagged</h2><ul>\n");
        for f in &a.flags {
            let ev: Vec<String> = f.entries.iter().take(20).map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "<li class=\"flag\">{} (chance under honest conduct {:.1e}, corrected {:.1e}); entries {}</li>",
                esc(&f.statement),
                f.p_value,
                f.adjusted_p,
                ev.join(", ")
            );
        }
        s.push_str("</ul>\n");
    }
    let _ = write!(
        s,
        r##"<h2>Figures</h2>
<figure>{}<figcaption>Calibration: each dot is a band of predicted probability; on the diagonal, judges won exactly as often as the draws said.</figcaption></figure>
<figure>{}<figcaption>Seats won against expectation, per judge (red: flagged).</figcaption></figure>
<figure>{}<figcaption>Short-notice changes (absences, deactivations, specialization and share changes, conflicts recorded within hours of a draw they affected), per day.</figcaption></figure>
<h2>In numbers</h2>
<ul>
<li>{} filings, {} random draws, {} draw entries</li>
<li>{}</li>
<li>{} refilings of cases closed soon after their draw</li>
<li>{} reassignments, {} recusals</li>
<li>fallbacks (widened pool or allocation by reference): {} draw entries</li>
</ul>
<p>The whole audit as JSON: <a href="/api/v1/courts/{court}/audit">/api/v1/courts/{court}/audit</a>.</p>
"##,
        calibration_svg(a),
        judges_svg(a),
        short_notice_svg(a),
        a.filings,
        a.calibration.draws,
        a.fallbacks.draws,
        esc(&a.short_notice.prompt.statement),
        a.refiling.chains.len(),
        a.reassignments.reassignments,
        a.reassignments.recusals,
        a.fallbacks.per_actor.iter().map(|x| x.count).sum::<u64>(),
    );
    s
}
