//! What anyone may read without an account: the log, proofs, courts, statistics, the policy and
//! the API's own documentation. Nothing here carries personal data: parties appear only as salted
//! commitments, and only inside log entries.

use std::collections::BTreeSet;

use axum::extract::State as AxState;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use klero_core::{CaseId, CourtId, Digest32, DivisionId, Event, JudgeId, LogEntry, Specialization};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::cases::entry_at;
use super::judges::court_mean;
use super::{Checkpoint, DrawProof, ProvenEntry, parse_case, parse_court, today};
use crate::error::{ApiError, ApiResult, Kind};
use crate::extract::{Path, Query};
use crate::{AppState, MAX_PAGE};

/// Liveness: the process answers and the store is open.
#[utoipa::path(get, path = "/healthz", tag = "public", responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz(AxState(app): AxState<AppState>) -> axum::Json<Health> {
    let (size, _) = app.store.checkpoint();
    axum::Json(Health {
        status: "ok",
        backend: app.store.backend(),
        log_size: size,
    })
}

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Entries in the log.
    pub log_size: u64,
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi() -> Response {
    let mut r = crate::openapi_json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A browsable page for the OpenAPI document (self-contained: no script from elsewhere).
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("../docs.html"))
}

/// What a problem type means.
pub async fn problem_type(Path(slug): Path<String>) -> ApiResult<Response> {
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.slug() == slug)
        .ok_or_else(|| ApiError::not_found(format!("there is no problem type {slug:?}")))?;
    Ok(axum::Json(serde_json::json!({
        "type": format!("/api/v1/problems/{}", kind.slug()),
        "title": kind.title(),
        "status": kind.status().as_u16(),
    }))
    .into_response())
}

/// The current checkpoint. As JSON (the default): the log's size and Merkle root. With `Accept:
/// text/plain`: the checkpoint as a C2SP signed note with the witnesses' cosignatures (SPEC §5.3):
/// the latest checkpoint a quorum of the configured witnesses cosigned, with every cosignature
/// gathered (until a quorum has cosigned one, the latest with any), or, when no witness has
/// cosigned one since the server started, the current checkpoint signed by the log alone. Verify it with
/// the log key of `/api/v1/log/key` and the witnesses' keys in the log's `witnesses_configured`
/// entry.
#[utoipa::path(
    get,
    path = "/api/v1/log/checkpoint",
    tag = "public",
    responses(
        (status = 200, description = "Checkpoint (JSON), or with Accept: text/plain the cosigned checkpoint note", content(
            (Checkpoint = "application/json"),
            (String = "text/plain"),
        )),
        (status = 404, description = "text/plain only: the log has no genesis entry yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkpoint(
    AxState(app): AxState<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let wants_note = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/plain"));
    if wants_note {
        let note = match app.store.cosigned_checkpoint() {
            Some((_, note)) => note,
            None => app.store.signed_checkpoint().ok_or_else(no_genesis)?,
        };
        return Ok(plain_text(note));
    }
    let (size, root) = app.store.checkpoint();
    Ok(axum::Json(Checkpoint { size, root }).into_response())
}

/// Before genesis there is no log key, hence no signed checkpoint.
pub(crate) fn no_genesis() -> ApiError {
    ApiError::not_found("the log has no genesis entry yet")
}

fn plain_text(body: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The current checkpoint as a C2SP signed note (SPEC §5.1): the `tlog-checkpoint` body (origin,
/// size, base64 root), a blank line and the log key's Ed25519 signature line. Verify it with the
/// key of `/api/v1/log/key`.
#[utoipa::path(
    get,
    path = "/api/v1/log/checkpoint/note",
    tag = "public",
    responses(
        (status = 200, description = "The signed checkpoint", body = String, content_type = "text/plain"),
        (status = 404, description = "The log has no genesis entry yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkpoint_note(AxState(app): AxState<AppState>) -> ApiResult<Response> {
    Ok(plain_text(
        app.store.signed_checkpoint().ok_or_else(no_genesis)?,
    ))
}

/// The log's verifier key (SPEC §5.1): `<origin>+<key ID>+<base64 key>`, as C2SP signed-note tools
/// take it. Note it once, from a source you trust, and check every later checkpoint against it.
#[utoipa::path(
    get,
    path = "/api/v1/log/key",
    tag = "public",
    responses(
        (status = 200, description = "The verifier key", body = String, content_type = "text/plain"),
        (status = 404, description = "The log has no genesis entry yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn log_key(AxState(app): AxState<AppState>) -> ApiResult<Response> {
    let key = app.store.log_key().ok_or_else(no_genesis)?;
    Ok(plain_text(format!("{}\n", key.verifier_key())))
}

/// The largest log position a parameter may name: positions are 64-bit signed integers in storage.
pub const MAX_INDEX: u64 = i64::MAX as u64;

/// A range of the log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// First entry (default 0); at most the log's size.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub start: Option<u64>,
    /// One past the last entry (default: `start + 1000`). A larger value is clipped to
    /// `start + 1000` and to the log's size; above 2^63 − 1 it is refused.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub end: Option<u64>,
}

/// Entries of the log in the export format: JSON lines (`application/jsonl`), one entry per line,
/// at most 1,000 per page. `X-Log-Size` gives the log's size when the page was read, and a `Link`
/// header with `rel="next"` points to the next page while there is one. Pages concatenated from
/// `start=0` form the file `klero verify` checks.
#[utoipa::path(
    get,
    path = "/api/v1/log/entries",
    tag = "public",
    params(Range),
    responses(
        (status = 200, description = "JSON lines, one log entry per line", content_type = "application/jsonl", body = String),
        (status = 400, description = "start beyond the log, end before start, or a value above 2^63 - 1", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn entries(
    AxState(app): AxState<AppState>,
    Query(q): Query<Range>,
) -> ApiResult<Response> {
    let (size, _) = app.store.checkpoint();
    for (name, v) in [("start", q.start), ("end", q.end)] {
        if let Some(v) = v.filter(|&v| v > MAX_INDEX) {
            return Err(ApiError::new(
                Kind::InvalidParameter,
                format!("{name} {v} is out of range: a log position is at most {MAX_INDEX}"),
            ));
        }
    }
    let start = q.start.unwrap_or(0);
    if start > size {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!("start {start} is beyond the end of the log ({size} entries)"),
        ));
    }
    let end = q.end.unwrap_or(u64::MAX).min(size).min(start + MAX_PAGE);
    if q.end.is_some_and(|e| e < start) {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!("end {} is before start {start}", q.end.unwrap_or(0)),
        ));
    }
    let list = if end > start {
        app.store.entries(start, end).await?
    } else {
        vec![]
    };
    let mut body = String::with_capacity(list.len() * 600);
    for e in &list {
        body.push_str(&e.to_json_line());
        body.push('\n');
    }
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    h.insert("x-log-size", HeaderValue::from(size));
    if end < size {
        let next = format!(
            "</api/v1/log/entries?start={end}&end={}>; rel=\"next\"",
            (end + MAX_PAGE).min(size)
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            h.insert(header::LINK, v);
        }
    }
    Ok(r)
}

/// Two tree sizes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// The older size.
    pub old: u64,
    /// The newer size (default: the current size).
    pub new: Option<u64>,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consistency {
    /// Older size.
    pub old: u64,
    /// Root at the older size.
    #[schema(value_type = String)]
    pub old_root: Digest32,
    /// Newer size.
    pub new: u64,
    /// Root at the newer size.
    #[schema(value_type = String)]
    pub new_root: Digest32,
    /// RFC 9162 consistency proof.
    #[schema(value_type = Vec<String>)]
    pub proof: Vec<Digest32>,
}

/// Proves that the log at size `old` is a prefix of the log at size `new`: nothing was rewritten.
#[utoipa::path(
    get,
    path = "/api/v1/log/consistency",
    tag = "public",
    params(Sizes),
    responses(
        (status = 200, description = "Proof", body = Consistency),
        (status = 400, description = "Sizes out of range", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn consistency(
    AxState(app): AxState<AppState>,
    Query(q): Query<Sizes>,
) -> ApiResult<axum::Json<Consistency>> {
    let (size, _) = app.store.checkpoint();
    let new = q.new.unwrap_or(size);
    let bad = || {
        ApiError::new(
            Kind::InvalidParameter,
            format!(
                "need 1 <= old <= new <= {size} (the log's size); got old {} and new {new}",
                q.old
            ),
        )
    };
    if q.old == 0 || q.old > new || new > size {
        return Err(bad());
    }
    let (Some(old_root), Some(new_root), Some(proof)) = (
        app.store.root_at(q.old).await?,
        app.store.root_at(new).await?,
        app.store.consistency_proof(q.old, new).await?,
    ) else {
        return Err(bad());
    };
    Ok(axum::Json(Consistency {
        old: q.old,
        old_root,
        new,
        new_root,
        proof,
    }))
}

/// An entry and a tree size.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry.
    pub index: u64,
    /// The tree size (default: the current size).
    pub size: Option<u64>,
}

/// An inclusion proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inclusion {
    /// The entry's index.
    pub index: u64,
    /// Its hash (the leaf's data).
    #[schema(value_type = String)]
    pub hash: Digest32,
    /// The tree size.
    pub size: u64,
    /// The root at that size.
    #[schema(value_type = String)]
    pub root: Digest32,
    /// RFC 9162 inclusion proof.
    #[schema(value_type = Vec<String>)]
    pub proof: Vec<Digest32>,
}

/// Proves that an entry is in the log at a given size.
#[utoipa::path(
    get,
    path = "/api/v1/log/inclusion",
    tag = "public",
    params(InclusionQuery),
    responses(
        (status = 200, description = "Proof", body = Inclusion),
        (status = 400, description = "Out of range", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn inclusion(
    AxState(app): AxState<AppState>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<axum::Json<Inclusion>> {
    let (current, _) = app.store.checkpoint();
    let size = q.size.unwrap_or(current);
    if q.index >= size || size > current {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!(
                "need index < size <= {current} (the log's size); got index {} and size {size}",
                q.index
            ),
        ));
    }
    let entry = entry_at(&app, q.index).await?;
    let (Some(root), Some(proof)) = (
        app.store.root_at(size).await?,
        app.store.inclusion_proof(q.index, size).await?,
    ) else {
        return Err(ApiError::internal("a proof in range could not be built"));
    };
    Ok(axum::Json(Inclusion {
        index: q.index,
        hash: entry.hash,
        size,
        root,
        proof,
    }))
}

/// Everything to re-check a case's draws offline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseProof {
    /// The case.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// The filing and its draw, with inclusion proofs against a checkpoint.
    pub filing: DrawProof,
    /// Every later draw of the case (after a recusal or reassignment), each with its trigger.
    pub redraws: Vec<DrawProof>,
}

/// The proof of a case's draws: the filing entry, the draw entry, their inclusion proofs and a
/// checkpoint, plus the same for every replacement draw. For each random draw, `beacon_previous`
/// is the entry holding the chain value the draw's reveal must hash to, proven in the same
/// checkpoint: with it, the entries' hashes, their inclusion, the beacon step, the seed and the
/// sampling are checkable from this answer alone (the portal's "Check this draw" button does so). With the whole log up to the checkpoint
/// (`/api/v1/log/entries`), an observer recomputes the eligible pool, the weights, the seed and the
/// judges chosen.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case}/proof",
    tag = "public",
    params(("case" = String, Path, description = "Case number")),
    responses(
        (status = 200, description = "Proof", body = CaseProof),
        (status = 404, description = "No such case", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn case_proof(
    AxState(app): AxState<AppState>,
    Path(case): Path<String>,
) -> ApiResult<axum::Json<CaseProof>> {
    let case = parse_case(&case)?;
    let c = super::cases::find_case(&app, &case).await?;
    let (filed_index, draws) = (c.filed_index, c.draws);
    if draws.is_empty() {
        return Err(ApiError::new(
            Kind::NotFound,
            "the draw of this case is still pending",
        ));
    }
    // Every entry first, then all their inclusion proofs in one checkpoint with one read of the
    // stored tiles they need.
    const WINDOW: u64 = 4;
    let (size, root) = app.store.checkpoint();
    let unproven = |entry: LogEntry| ProvenEntry {
        entry,
        inclusion: vec![],
    };
    let mut proofs = Vec::with_capacity(draws.len());
    for (k, &di) in draws.iter().enumerate() {
        // The draw and the few entries before it in one read: its trigger and the entry holding
        // the previous beacon value are usually among them.
        let window = app.store.entries(di.saturating_sub(WINDOW), di + 1).await?;
        let at = |i: u64| window.iter().find(|e| e.index == i).cloned();
        let draw = at(di)
            .ok_or_else(|| ApiError::internal(format!("entry {di} is missing from the store")))?;
        let Event::Draw(d) = &draw.event else {
            return Err(ApiError::internal(
                "a case's draw index does not point at a draw entry",
            ));
        };
        // The first draw was opened by the filing; a replacement draw (after a recusal or
        // reassignment) by the entry it names.
        let ti = if k == 0 { filed_index } else { d.trigger };
        let trigger = match at(ti) {
            Some(e) => e,
            None => entry_at(&app, ti).await?,
        };
        let (mut beacon_previous, mut drand_configured) = (None, None);
        match &d.beacon {
            None => {}
            Some(klero_core::BeaconReveal::HashChain { .. }) => {
                let found = window
                    .iter()
                    .rev()
                    .find(|e| e.index < di && super::holds_beacon_value(e))
                    .cloned();
                beacon_previous = Some(match found {
                    Some(e) => e,
                    None => super::beacon_previous(&app, window[0].index).await?,
                });
            }
            Some(klero_core::BeaconReveal::Drand { .. }) => {
                let configured = super::latest_before(&app, d.trigger, |e| {
                    matches!(e.event, Event::DrandConfigured { .. })
                })
                .await?
                .ok_or_else(|| {
                    ApiError::internal("a drand draw with no drand_configured before it")
                })?;
                drand_configured = Some(configured);
            }
        }
        proofs.push(DrawProof {
            checkpoint: Checkpoint { size, root },
            trigger: unproven(trigger),
            draw: unproven(draw),
            beacon_previous: beacon_previous.map(unproven),
            drand_configured: drand_configured.map(unproven),
        });
    }
    let mut proven: Vec<&mut ProvenEntry> = proofs
        .iter_mut()
        .flat_map(|p| {
            [Some(&mut p.trigger), Some(&mut p.draw)]
                .into_iter()
                .chain([p.beacon_previous.as_mut(), p.drand_configured.as_mut()])
                .flatten()
        })
        .collect();
    let indices: Vec<u64> = proven.iter().map(|p| p.entry.index).collect();
    for (p, inclusion) in proven
        .iter_mut()
        .zip(super::inclusions(&app, &indices, size).await?)
    {
        p.inclusion = inclusion;
    }
    let mut proofs = proofs.into_iter();
    let filing = proofs
        .next()
        .ok_or_else(|| ApiError::internal("a case with a draw has no draw proof"))?;
    Ok(axum::Json(CaseProof {
        case,
        filing,
        redraws: proofs.collect(),
    }))
}

/// A court in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourtSummary {
    /// Identifier.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// Name.
    pub name: String,
    /// Number of judges.
    pub judges: usize,
}

/// The courts.
#[utoipa::path(get, path = "/api/v1/courts", tag = "public", responses((status = 200, description = "Courts", body = Vec<CourtSummary>)))]
pub async fn courts(AxState(app): AxState<AppState>) -> axum::Json<Vec<CourtSummary>> {
    let mut list: Vec<CourtSummary> = app.store.read(|s| {
        s.courts()
            .map(|(id, c)| CourtSummary {
                court: id.clone(),
                name: c.name.clone(),
                judges: s.court_judges(id).len(),
            })
            .collect()
    });
    list.sort_by(|a, b| a.court.cmp(&b.court));
    axum::Json(list)
}

/// A division.
#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionView {
    /// Identifier.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Name.
    pub name: String,
}

/// A judge's public record.
#[derive(Debug, Serialize, ToSchema)]
pub struct JudgeView {
    /// Identifier.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// Division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Specializations.
    #[schema(value_type = Vec<String>)]
    pub specializations: Vec<Specialization>,
    /// Share in thousandths.
    pub share_permille: u32,
    /// Takes cases.
    pub active: bool,
}

/// A court with its divisions and judges.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourtView {
    /// Identifier.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// Name.
    pub name: String,
    /// Divisions.
    pub divisions: Vec<DivisionView>,
    /// Judges, in ascending order of identifier.
    pub judges: Vec<JudgeView>,
}

/// A court, its divisions and its judges' public records.
#[utoipa::path(
    get,
    path = "/api/v1/courts/{court}",
    tag = "public",
    params(("court" = String, Path, description = "The court")),
    responses(
        (status = 200, description = "The court", body = CourtView),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn court(
    AxState(app): AxState<AppState>,
    Path(court): Path<String>,
) -> ApiResult<axum::Json<CourtView>> {
    let court = parse_court(&court)?;
    let view = app.store.read(|s| {
        let c = s.court(&court)?;
        Some(CourtView {
            court: court.clone(),
            name: c.name.clone(),
            divisions: c
                .divisions
                .iter()
                .map(|(d, n)| DivisionView {
                    division: d.clone(),
                    name: n.clone(),
                })
                .collect(),
            judges: s
                .court_judges(&court)
                .into_iter()
                .map(|j| JudgeView {
                    judge: j.id.clone(),
                    division: j.division.clone(),
                    specializations: j.specializations.clone(),
                    share_permille: j.share_permille,
                    active: j.active,
                })
                .collect(),
        })
    });
    view.map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no court {court}")))
}

/// One judge's workload.
#[derive(Debug, Serialize, ToSchema)]
pub struct JudgeStats {
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// Division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Takes cases.
    pub active: bool,
    /// Share in thousandths.
    pub share_permille: u32,
    /// Normalized load today.
    pub load: u64,
    /// Load relative to the court mean, in thousandths (1000 = exactly the mean).
    pub load_vs_mean_permille: u64,
    /// Cases assigned to this judge (by draw or reference), open or closed.
    pub cases: usize,
    /// Of which open.
    pub open: usize,
    /// Of which this judge presides.
    pub presiding: usize,
}

/// A court's fairness statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourtStats {
    /// The court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// The day the loads are computed for.
    pub day: String,
    /// Mean normalized load of the active judges.
    pub mean_load: u64,
    /// Cases of the court that have judges.
    pub cases: usize,
    /// Of which open.
    pub open: usize,
    /// Per judge.
    pub judges: Vec<JudgeStats>,
}

/// Per-judge loads against the court mean and case counts (public; no personal data).
#[utoipa::path(
    get,
    path = "/api/v1/courts/{court}/stats",
    tag = "public",
    params(("court" = String, Path, description = "The court")),
    responses(
        (status = 200, description = "Statistics", body = CourtStats),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stats(
    AxState(app): AxState<AppState>,
    Path(court): Path<String>,
) -> ApiResult<axum::Json<CourtStats>> {
    let court = parse_court(&court)?;
    let day = today();
    // Open cases are in memory (a judge's docket); closed ones are counted in the database.
    let (closed_total, closed) = app.store.closed_counts(&court).await?;
    let stats = app.store.read(|s| {
        s.court(&court)?;
        let mean = court_mean(s, &court, day);
        let mut open = BTreeSet::new();
        let judges = s
            .court_judges(&court)
            .into_iter()
            .map(|j| {
                let docket = s.docket(&j.id);
                let load = s.load_on(j, day);
                for c in &docket {
                    open.insert(c.id.clone());
                }
                let (closed_seats, closed_presiding) =
                    closed.get(j.id.as_str()).copied().unwrap_or((0, 0));
                JudgeStats {
                    judge: j.id.clone(),
                    division: j.division.clone(),
                    active: j.active,
                    share_permille: j.share_permille,
                    load,
                    load_vs_mean_permille: (load * 1000).checked_div(mean).unwrap_or(0),
                    cases: docket.len() + closed_seats as usize,
                    open: docket.len(),
                    presiding: docket
                        .iter()
                        .filter(|c| s.case_judges(c).first().copied() == Some(&j.id))
                        .count()
                        + closed_presiding as usize,
                }
            })
            .collect();
        Some(CourtStats {
            court: court.clone(),
            day: day.to_string(),
            mean_load: mean,
            cases: open.len() + closed_total as usize,
            open: open.len(),
            judges,
        })
    });
    stats
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no court {court}")))
}

/// The policy in force.
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "public",
    responses(
        (status = 200, description = "The policy", body = Object),
        (status = 503, description = "No genesis yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn policy(AxState(app): AxState<AppState>) -> ApiResult<Response> {
    app.store
        .read(|s| s.policy().map(|p| axum::Json(p.clone()).into_response()))
        .ok_or_else(|| {
            ApiError::new(
                Kind::NotInitialized,
                "the log has no genesis entry yet, so no policy",
            )
        })
}

/// A judge's public record with their court.
#[derive(Debug, Serialize, ToSchema)]
pub struct JudgeDetail {
    /// The court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// The record.
    #[serde(flatten)]
    pub record: JudgeView,
}

/// A judge's public record, as the log states it.
pub(crate) fn judge_detail(state: &klero_core::State, judge: &JudgeId) -> ApiResult<JudgeDetail> {
    let j = state
        .judge(judge)
        .ok_or_else(|| ApiError::not_found(format!("there is no judge {judge}")))?;
    Ok(JudgeDetail {
        court: j.court.clone(),
        record: JudgeView {
            judge: j.id.clone(),
            division: j.division.clone(),
            specializations: j.specializations.clone(),
            share_permille: j.share_permille,
            active: j.active,
        },
    })
}

/// A judge's public record: court, division, specializations, share, whether active (public; the
/// log holds all of it).
#[utoipa::path(
    get,
    path = "/api/v1/judges/{judge}",
    tag = "public",
    params(("judge" = String, Path, description = "The judge")),
    responses(
        (status = 200, description = "The judge", body = JudgeDetail),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn judge(
    AxState(app): AxState<AppState>,
    Path(judge): Path<String>,
) -> ApiResult<axum::Json<JudgeDetail>> {
    let judge = super::parse_judge(&judge)?;
    Ok(axum::Json(app.store.read(|s| judge_detail(s, &judge))?))
}
