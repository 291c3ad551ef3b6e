//! Filing, reading, recusing, reassigning and closing cases.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use klero_core::hash::{claim_commitment, party_commitment};
use klero_core::state::CaseState;
use klero_core::{
    Actor, CaseId, CaseTypeCode, ClosingReason, Commitment, CourtId, DivisionId, Event, JudgeId,
    LogEntry, Method, ReassignReason, RecusalReason, RejectKind, Rejection, RelatedLink,
    RelationReason, Role, State,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::draws::{PendingDrawView, Wait, await_draw};
use super::{DrawProof, Recorded, draw_proof, last, parse_case, parse_court, require_genesis};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Kind};
use crate::extract::{Json, Path, Query};

/// The most parties and counsel one filing may name.
const MAX_PARTIES: usize = 100;
/// The longest party or counsel identifier accepted, in bytes.
const MAX_PARTY_LEN: usize = 256;

/// A new case, as a clerk files it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileCase {
    /// The division of the court the case belongs to.
    #[schema(value_type = String, example = "civil")]
    pub division: DivisionId,
    /// The case type, a code from the policy.
    #[schema(value_type = String, example = "civil-small")]
    pub case_type: CaseTypeCode,
    /// Identifiers of the parties and counsel (national ID, company or bar number). They are turned
    /// into salted commitments at once; the identifiers themselves are neither stored nor logged.
    #[schema(example = json!(["PL-80010112345", "COMPANY-0000123456"]))]
    pub parties: Vec<String>,
    /// The claim as filed; only a keyed commitment to its normalized form is recorded (letter case,
    /// white space and punctuation do not make a different claim).
    #[schema(example = "Payment of invoice 2026/117, EUR 4,200")]
    pub claim: String,
    /// A related earlier case of the same court whose judges should take this one. It must share a
    /// party or counsel with this filing; the reason says what connects them. The earlier case's
    /// judges take this one only if each may sit on it under every rule (division, specialization,
    /// absence, conflict); otherwise it is drawn, and the draw record names the case.
    #[serde(default)]
    pub related: Option<RelatedRequest>,
    /// The case this one appeals; its judges may not sit.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub earlier_instance: Option<CaseId>,
}

/// A related earlier case and what connects it to the new filing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedRequest {
    /// The earlier case.
    #[schema(value_type = String, example = "DEMO-DISTRICT-2026-000001")]
    pub case: CaseId,
    /// `counterclaim`, `same_facts`, `follow_up`, `joinder` or `other`.
    #[schema(value_type = String, example = "counterclaim")]
    pub reason: RelationReason,
}

/// The answer to a filing: the case number, the judges and the proof of the draw.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filing {
    /// The case number assigned.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// The court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// The division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// The case type.
    #[schema(value_type = String)]
    pub case_type: CaseTypeCode,
    /// The judges assigned, the presiding judge first.
    #[schema(value_type = Vec<String>)]
    pub judges: Vec<JudgeId>,
    /// How they were chosen: `{"kind":"random"}`; by reference to a related or duplicate case; or
    /// `random_after_duplicate` / `random_after_related` when that binding did not hold.
    #[schema(value_type = Object)]
    pub method: Method,
    /// The earlier filing of the same matter (same court, division, case type, parties and claim),
    /// when this filing is a duplicate of one.
    #[schema(value_type = Option<String>)]
    pub duplicate_of: Option<CaseId>,
    /// For the clerk, in words: how the judges were chosen and, for a duplicate or related case,
    /// why.
    pub notice: String,
    /// The filing and draw entries with inclusion proofs against a checkpoint; absent while the
    /// draw is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<DrawProof>,
    /// With drand in force: the draw waiting for its round (answer 202). Read the case at `poll`,
    /// or file with `?wait=SECONDS`, to get the judges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_draw: Option<PendingDrawView>,
}

/// Whether `entries` (a trigger and what the writer appended with it) hold the draw.
fn has_draw(entries: &[LogEntry]) -> bool {
    entries.iter().any(|e| matches!(e.event, Event::Draw(_)))
}

/// A sentence for the clerk about a pending draw.
fn pending_notice(p: &PendingDrawView) -> String {
    match (p.round, p.due) {
        (Some(r), Some(due)) => format!(
            "Filed. The judges will be drawn with drand round {r}, published at {due} (Unix \
             time), which nobody could know when the filing was recorded; read {} for them.",
            p.poll
        ),
        _ => format!(
            "Filed. The judges will be drawn once the filing is witnessed and its drand round is \
             published; read {} for them.",
            p.poll
        ),
    }
}

/// The prefix of the case numbers the portal gives out in `court` and `year`.
fn case_prefix(court: &CourtId, year: i32) -> String {
    let court: String = court
        .as_str()
        .to_ascii_uppercase()
        .chars()
        .take(48)
        .collect();
    format!("{court}-{year}-")
}

/// Starts the cache of `court`'s numbering in `year` from the last closed case's number, read from
/// the database once per court and year: closed cases may have left memory, so the state alone
/// does not know every number taken ([`next_case_id`] then steps past the open ones, which it
/// does know).
async fn load_case_seq(app: &AppState, court: &CourtId, year: i32) -> ApiResult<()> {
    if app
        .case_seq
        .lock()
        .expect("case numbers")
        .contains_key(&(court.clone(), year))
    {
        return Ok(());
    }
    let prefix = case_prefix(court, year);
    let last = app.store.last_case_number(court, &prefix).await?;
    let n = last
        .and_then(|l| l.strip_prefix(&prefix).and_then(|d| d.parse::<u64>().ok()))
        .unwrap_or(0);
    let mut map = app.case_seq.lock().expect("case numbers");
    let e = map.entry((court.clone(), year)).or_insert(n);
    *e = (*e).max(n);
    Ok(())
}

/// Advances the cache of `court`'s numbering past a number just filed: once the case closes it may
/// leave memory, and [`next_case_id`] must not offer its number again.
fn note_case_number(app: &AppState, court: &CourtId, year: i32, case: &CaseId) {
    let prefix = case_prefix(court, year);
    if let Some(n) = case
        .as_str()
        .strip_prefix(&prefix)
        .and_then(|d| d.parse::<u64>().ok())
    {
        let mut map = app.case_seq.lock().expect("case numbers");
        let e = map.entry((court.clone(), year)).or_insert(n);
        *e = (*e).max(n);
    }
}

/// The next free case number of `court` in `year`. The cache holds the last number known to exist
/// ([`load_case_seq`] starts it from the database); it advances only past numbers the state shows
/// are taken, so a filing that fails after this call leaves no gap in the numbering.
fn next_case_id(
    seq: &Mutex<HashMap<(CourtId, i32), u64>>,
    state: &State,
    court: &CourtId,
    year: i32,
) -> CaseId {
    let prefix = case_prefix(court, year);
    let id = |n: u64| CaseId::parse(format!("{prefix}{n:06}")).expect("valid case number");
    let mut map = seq.lock().expect("case numbers");
    let n = map.entry((court.clone(), year)).or_insert(0);
    while state.case(&id(*n + 1)).is_some() {
        *n += 1;
    }
    id(*n + 1)
}

fn validate_filing(req: &FileCase) -> ApiResult<()> {
    if req.parties.is_empty() || req.parties.len() > MAX_PARTIES {
        return Err(ApiError::invalid(format!(
            "a filing names 1 to {MAX_PARTIES} parties and counsel"
        )));
    }
    if req
        .parties
        .iter()
        .any(|p| p.trim().is_empty() || p.len() > MAX_PARTY_LEN || p.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(format!(
            "each party or counsel identifier must be 1 to {MAX_PARTY_LEN} bytes of text"
        )));
    }
    if req.claim.trim().is_empty() {
        return Err(ApiError::invalid("the claim must not be empty"));
    }
    Ok(())
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if !s.is_empty() && s.len() <= 200 => Ok(Some(s.to_owned())),
        _ => Err(ApiError::new(
            Kind::InvalidParameter,
            "the Idempotency-Key header must be 1 to 200 printable ASCII characters",
        )),
    }
}

/// File a case and draw its judges (clerk of the court).
#[utoipa::path(
    post,
    path = "/api/v1/courts/{court}/cases",
    tag = "clerk",
    params(
        ("court" = String, Path, description = "The court"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer and never draws twice"),
        Wait,
    ),
    request_body = FileCase,
    responses(
        (status = 201, description = "Filed and drawn", body = Filing),
        (status = 202, description = "Filed; the draw waits for its drand round (pending_draw)", body = Filing),
        (status = 401, description = "No valid token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a clerk of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown court, division, case type or related case", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filing, or no judge can take the case", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn file_case(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    Query(wait): Query<Wait>,
    headers: HeaderMap,
    Json(req): Json<FileCase>,
) -> ApiResult<Response> {
    let wait = wait.duration()?;
    let key = idempotency_key(&headers)?;
    let (status, body, replayed) = file(&app, &principal, &court, req, key, wait).await?;
    let mut r = (status, axum::Json(body)).into_response();
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(r)
}

/// Files a case as `principal` (a clerk of `court`) and draws its judges, waiting up to `wait` for
/// a pending drand draw: the one path behind the API and the filing form. Returns the status (201
/// drawn, 202 pending), the answer and whether it was an idempotent replay.
pub(crate) async fn file(
    app: &AppState,
    principal: &Principal,
    court: &str,
    req: FileCase,
    key: Option<String>,
    wait: std::time::Duration,
) -> ApiResult<(StatusCode, Filing, bool)> {
    let court = parse_court(court)?;
    principal.require_clerk(&court)?;
    validate_filing(&req)?;
    app.store.read(require_genesis)?;

    let pepper = app.store.pepper();
    let mut parties: Vec<Commitment> = req
        .parties
        .iter()
        .map(|p| party_commitment(&pepper, p))
        .collect();
    parties.sort();
    parties.dedup();
    let claim = claim_commitment(&pepper, &req.claim);
    let year = super::today().ymd().0;
    load_case_seq(app, &court, year).await?;
    let seq = app.case_seq.clone();
    let actor = principal.actor.clone();
    let (c, division, case_type) = (court.clone(), req.division.clone(), req.case_type.clone());
    let related = req.related.as_ref().map(|r| RelatedLink {
        case: r.case.clone(),
        reason: r.reason,
    });
    let earlier = req.earlier_instance.clone();
    let expect_parties = parties.clone();
    let build = move |state: &State| -> Result<(Actor, Event), Rejection> {
        let policy = state.policy().ok_or_else(|| {
            Rejection::new(RejectKind::Invalid, "the log has no genesis entry yet")
        })?;
        let weight = policy
            .case_type(&case_type)
            .map(|t| t.weight)
            .ok_or_else(|| {
                Rejection::new(
                    RejectKind::NotFound,
                    format!("there is no case type {case_type} in the policy"),
                )
            })?;
        if state.court(&c).is_none() {
            return Err(Rejection::new(
                RejectKind::NotFound,
                format!("there is no court {c}"),
            ));
        }
        let case = next_case_id(&seq, state, &c, year);
        Ok((
            actor,
            Event::CaseFiled {
                case,
                court: c,
                division,
                case_type,
                weight,
                parties,
                claim,
                related,
                earlier_instance: earlier,
            },
        ))
    };
    let (entries, replayed) = match key {
        None => (app.store.submit(build).await?, false),
        Some(k) => {
            app.store
                .submit_idempotent(format!("cases:{court}"), k, build)
                .await?
        }
    };
    let filed = entries
        .iter()
        .find(|e| matches!(e.event, Event::CaseFiled { .. }))
        .ok_or_else(|| ApiError::internal("a filing returned no case_filed entry"))?;
    if let Event::CaseFiled { case, .. } = &filed.event {
        note_case_number(app, &court, year, case);
    }
    let Event::CaseFiled {
        case,
        court: filed_court,
        division,
        case_type,
        parties: filed_parties,
        claim: filed_claim,
        ..
    } = &filed.event
    else {
        unreachable!("matched above")
    };
    if replayed
        && (filed_court != &court
            || division != &req.division
            || case_type != &req.case_type
            || filed_parties != &expect_parties
            || filed_claim != &claim)
    {
        return Err(ApiError::new(
            Kind::IdempotencyKeyReused,
            format!("this Idempotency-Key was used to file case {case}, with different contents"),
        ));
    }
    let drawn = if has_draw(&entries) {
        Ok(draw_proof(app, &entries).await?)
    } else {
        await_draw(app, case, filed.clone(), wait).await?
    };
    let (status, body) = match drawn {
        Ok(proof) => {
            let klero_core::Event::Draw(d) = &proof.draw.entry.event else {
                unreachable!("draw_proof returns a draw")
            };
            let (duplicate_of, notice) = method_notice(&d.method, &d.chosen);
            let body = Filing {
                case: case.clone(),
                court: filed_court.clone(),
                division: division.clone(),
                case_type: case_type.clone(),
                judges: d.chosen.clone(),
                method: d.method.clone(),
                duplicate_of,
                notice,
                proof: Some(proof),
                pending_draw: None,
            };
            (StatusCode::CREATED, body)
        }
        Err(pending) => {
            let duplicate_of = match &pending.method {
                Method::RandomAfterDuplicate { case } => Some(case.clone()),
                _ => None,
            };
            let body = Filing {
                case: case.clone(),
                court: filed_court.clone(),
                division: division.clone(),
                case_type: case_type.clone(),
                judges: vec![],
                method: pending.method.clone(),
                duplicate_of,
                notice: pending_notice(&pending),
                proof: None,
                pending_draw: Some(pending),
            };
            (StatusCode::ACCEPTED, body)
        }
    };
    Ok((status, body, replayed))
}

/// The earlier filing a duplicate names, and a sentence for the clerk on how the judges were chosen.
fn method_notice(method: &Method, chosen: &[JudgeId]) -> (Option<CaseId>, String) {
    let judges = chosen
        .iter()
        .map(|j| j.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    match method {
        Method::Random => (None, format!("Drawn at random: {judges}.")),
        Method::Duplicate { case } => (
            Some(case.clone()),
            format!(
                "This filing duplicates case {case} (same division, case type, parties and claim): \
                 it goes to that case's judges ({judges}) and is not drawn again."
            ),
        ),
        Method::RandomAfterDuplicate { case } => (
            Some(case.clone()),
            format!(
                "This filing duplicates case {case}, but a judge of that case may no longer sit on it \
                 (see the draw's exclusions): it was drawn at random instead: {judges}."
            ),
        ),
        Method::Related { case } => (
            None,
            format!("Related to case {case}: it goes to that case's judges ({judges})."),
        ),
        Method::RandomAfterRelated { case } => (
            None,
            format!(
                "Related to case {case}, but that case's judges cannot take this one (another \
                 division or specialization, an absence, a conflict, or too few judges for the \
                 seats): drawn at random instead: {judges}."
            ),
        ),
    }
}

/// A case as its court sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// Case number.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// Court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// Division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Case type.
    #[schema(value_type = String)]
    pub case_type: CaseTypeCode,
    /// Workload weight at filing.
    pub weight: u32,
    /// Seats: 1, or the panel size.
    pub panel: u8,
    /// Current judges, the presiding judge first (empty while a draw is pending).
    #[schema(value_type = Vec<String>)]
    pub judges: Vec<JudgeId>,
    /// How the case was closed, if it is.
    #[schema(value_type = Option<String>)]
    pub closed: Option<ClosingReason>,
    /// Index of the filing entry in the log.
    pub filed_index: u64,
    /// Time of filing, milliseconds since the Unix epoch.
    pub filed_at: i64,
    /// Number of party and counsel commitments.
    pub parties: usize,
    /// The related earlier case named at filing.
    #[schema(value_type = Option<String>)]
    pub related: Option<CaseId>,
    /// What connects it to the related case.
    #[schema(value_type = Option<String>)]
    pub related_reason: Option<RelationReason>,
    /// The appealed case named at filing.
    #[schema(value_type = Option<String>)]
    pub earlier_instance: Option<CaseId>,
    /// The draw waiting for its drand round, if any (SPEC §7.7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_draw: Option<PendingDrawView>,
}

/// Reads a case.
fn case_view(state: &State, c: &CaseState) -> CaseView {
    let (related, earlier_instance) = state.case_links(c);
    CaseView {
        case: c.id.clone(),
        court: c.court.clone(),
        division: c.division.clone(),
        case_type: c.case_type.clone(),
        weight: c.weight,
        panel: c.panel,
        judges: state.case_judges(c).into_iter().cloned().collect(),
        closed: c.closed,
        filed_index: c.filed_index,
        filed_at: c.filed_at,
        parties: c.parties.len(),
        related: related.cloned(),
        related_reason: c.related.as_ref().map(|(_, r)| *r),
        earlier_instance: earlier_instance.cloned(),
        pending_draw: state.pending_drand_of(&c.id).map(Into::into),
    }
}

/// A case, open or closed (from the archive if it has left memory); 404 if there is none.
pub(crate) async fn find_case(app: &AppState, case: &CaseId) -> ApiResult<CaseState> {
    app.store
        .case(case)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no case {case}")))
}

/// Reads one entry from the store.
pub(crate) async fn entry_at(app: &AppState, index: u64) -> ApiResult<LogEntry> {
    app.store
        .entries(index, index + 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("entry {index} is missing from the store")))
}

/// A case (clerks and administrators of its court, its court's judges, the system administrator).
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case}",
    tag = "clerk",
    params(("case" = String, Path, description = "Case number")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 403, description = "Not of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_case(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(case): Path<String>,
) -> ApiResult<axum::Json<CaseView>> {
    let case = parse_case(&case)?;
    let c = find_case(&app, &case).await?;
    let view = app.store.read(|s| case_view(s, &c));
    principal.require_reader(&view.court, None)?;
    Ok(axum::Json(view))
}

/// A judge to take off a case, and why (the court's decision).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// The judge to remove.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// `judge_left_court`, `long_term_absence`, `incapacity`, `disciplinary_suspension` or `other`.
    #[schema(value_type = String, example = "long_term_absence")]
    pub reason: ReassignReason,
}

/// A recusal: a judge steps off a case (the judge themself, or a clerk recording an upheld
/// challenge).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recuse {
    /// The judge; a judge's own token may leave it out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub judge: Option<JudgeId>,
    /// `conflict_of_interest`, `prior_involvement`, `personal_relationship`,
    /// `party_challenge_upheld` or `other`.
    #[schema(value_type = String, example = "conflict_of_interest")]
    pub reason: RecusalReason,
}

/// The outcome of a recusal or reassignment: who left, the case's judges now, and the proof of the
/// replacement draw.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replacement {
    /// The case.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// The judge who left.
    #[schema(value_type = String)]
    pub removed: JudgeId,
    /// The replacement drawn.
    #[schema(value_type = Vec<String>)]
    pub drawn: Vec<JudgeId>,
    /// The case's judges after the draw, the presiding judge first.
    #[schema(value_type = Vec<String>)]
    pub judges: Vec<JudgeId>,
    /// The recusal or reassignment entry and the draw entry, with inclusion proofs; absent while
    /// the replacement draw is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<DrawProof>,
    /// With drand in force: the replacement draw waiting for its round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_draw: Option<PendingDrawView>,
}

async fn case_court(app: &AppState, case: &CaseId) -> ApiResult<CourtId> {
    Ok(find_case(app, case).await?.court)
}

async fn replacement(
    app: &AppState,
    case: CaseId,
    removed: JudgeId,
    actor: Actor,
    event: Event,
    wait: Wait,
) -> ApiResult<axum::Json<Replacement>> {
    let wait = wait.duration()?;
    let entries = app.store.submit(move |_| Ok((actor, event))).await?;
    let drawn = if has_draw(&entries) {
        Ok(draw_proof(app, &entries).await?)
    } else {
        await_draw(app, &case, last(&entries)?.clone(), wait).await?
    };
    let (proof, pending_draw) = match drawn {
        Ok(p) => (Some(p), None),
        Err(p) => (None, Some(p)),
    };
    let drawn = match proof.as_ref().map(|p| &p.draw.entry.event) {
        Some(Event::Draw(d)) => d.chosen.clone(),
        _ => vec![],
    };
    let judges = app.store.read(|s| {
        s.case(&case)
            .map(|c| s.case_judges(c).into_iter().cloned().collect())
            .unwrap_or_default()
    });
    Ok(axum::Json(Replacement {
        case,
        removed,
        drawn,
        judges,
        proof,
        pending_draw,
    }))
}

/// Take a judge off a case by the court's decision and draw a replacement (clerk of the court).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case}/reassignments",
    tag = "clerk",
    params(("case" = String, Path, description = "Case number"), Wait),
    request_body = Reassign,
    responses(
        (status = 200, description = "Reassigned", body = Replacement),
        (status = 403, description = "Not a clerk of the case's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The judge does not sit on the case, or it is closed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No replacement can be drawn", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reassign(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(case): Path<String>,
    Query(wait): Query<Wait>,
    Json(req): Json<Reassign>,
) -> ApiResult<axum::Json<Replacement>> {
    let case = parse_case(&case)?;
    let court = case_court(&app, &case).await?;
    principal.require_clerk(&court)?;
    let event = Event::Reassignment {
        case: case.clone(),
        judge: req.judge.clone(),
        reason: req.reason,
    };
    replacement(&app, case, req.judge, principal.actor, event, wait).await
}

/// A judge steps off a case and a replacement is drawn (the judge themself, or a clerk of the court
/// recording a recusal).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case}/recusals",
    tag = "judge",
    params(("case" = String, Path, description = "Case number"), Wait),
    request_body = Recuse,
    responses(
        (status = 200, description = "Recused", body = Replacement),
        (status = 403, description = "Neither the judge nor a clerk of the court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The judge does not sit on the case, or it is closed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No replacement can be drawn", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn recuse(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(case): Path<String>,
    Query(wait): Query<Wait>,
    Json(req): Json<Recuse>,
) -> ApiResult<axum::Json<Replacement>> {
    let case = parse_case(&case)?;
    let court = case_court(&app, &case).await?;
    let judge = match (&req.judge, principal.role, &principal.judge) {
        (Some(j), _, _) => j.clone(),
        (None, Role::Judge, Some(me)) => me.clone(),
        _ => {
            return Err(ApiError::new(
                Kind::InvalidBody,
                "name the judge who recuses in the field 'judge'",
            ));
        }
    };
    match principal.role {
        Role::Judge => {
            principal.require_judge(&judge)?;
            if principal.court.as_ref() != Some(&court) {
                return Err(ApiError::forbidden(format!(
                    "judge {judge} does not sit in court {court}, which holds case {case}"
                )));
            }
        }
        _ => principal.require_clerk(&court)?,
    }
    let event = Event::Recusal {
        case: case.clone(),
        judge: judge.clone(),
        reason: req.reason,
    };
    replacement(&app, case, judge, principal.actor, event, wait).await
}

/// How a case ends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    /// `judgment`, `settlement`, `withdrawal`, `dismissal` or `transfer`.
    #[schema(value_type = String, example = "judgment")]
    pub reason: ClosingReason,
}

/// Close a case (clerk of the court).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case}/close",
    tag = "clerk",
    params(("case" = String, Path, description = "Case number")),
    request_body = Close,
    responses(
        (status = 200, description = "Closed", body = Recorded),
        (status = 403, description = "Not a clerk of the case's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed, or awaiting its draw", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn close(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(case): Path<String>,
    Json(req): Json<Close>,
) -> ApiResult<axum::Json<Recorded>> {
    let case = parse_case(&case)?;
    let court = case_court(&app, &case).await?;
    principal.require_clerk(&court)?;
    let actor = principal.actor;
    let event = Event::CaseClosed {
        case,
        reason: req.reason,
    };
    let entries = app.store.submit(move |_| Ok((actor, event))).await?;
    Ok(axum::Json(last(&entries)?.into()))
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Has its judges and is not closed.
    Open,
    /// Closed.
    Closed,
    /// Awaiting its draw.
    Pending,
}

/// The cases on one page of a search.
pub const CASES_PER_PAGE: usize = 50;

/// A search of a court's cases; every field is optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseSearch {
    /// `open`, `closed` or `pending`.
    pub status: Option<CaseStatus>,
    /// Only cases this judge sits on now.
    #[param(value_type = Option<String>)]
    pub judge: Option<String>,
    /// Text the case number contains (letter case ignored).
    pub q: Option<String>,
    /// Filed on or after this day, `YYYY-MM-DD` (UTC).
    #[param(value_type = Option<String>)]
    pub from: Option<klero_core::Day>,
    /// Filed on or before this day, `YYYY-MM-DD` (UTC).
    #[param(value_type = Option<String>)]
    pub until: Option<klero_core::Day>,
    /// Page number, from 1 (50 cases a page, newest first).
    pub page: Option<usize>,
}

/// A case in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Case number.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// Division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Case type.
    #[schema(value_type = String)]
    pub case_type: CaseTypeCode,
    /// Current judges, the presiding judge first.
    #[schema(value_type = Vec<String>)]
    pub judges: Vec<JudgeId>,
    /// Where it stands.
    pub status: CaseStatus,
    /// How it was closed, if it is.
    #[schema(value_type = Option<String>)]
    pub closed: Option<ClosingReason>,
    /// Day of filing (UTC), `YYYY-MM-DD`.
    pub filed: String,
    /// Time of filing, milliseconds since the Unix epoch.
    pub filed_at: i64,
}

/// One page of a court's cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// The court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// Cases matching the search, on all pages.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Cases per page.
    pub per_page: usize,
    /// This page's cases, newest first.
    pub cases: Vec<CaseSummary>,
}

/// Searches a court's cases: the one function behind the API and the clerk's page. Open cases
/// come from memory, closed ones from the `cases` rows (closed cases leave memory).
pub(crate) async fn search_cases(
    app: &AppState,
    court: &CourtId,
    q: &CaseSearch,
) -> ApiResult<CaseList> {
    if app.store.read(|s| s.court(court).is_none()) {
        return Err(ApiError::not_found(format!("there is no court {court}")));
    }
    let judge = match q.judge.as_deref().map(str::trim).filter(|j| !j.is_empty()) {
        Some(j) => Some(JudgeId::parse(j).map_err(|_| {
            ApiError::new(
                Kind::InvalidParameter,
                format!("judge {j:?} is not a judge identifier"),
            )
        })?),
        None => None,
    };
    let needle =
        q.q.as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty());
    if needle.as_ref().is_some_and(|n| n.len() > 100) {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            "q is at most 100 characters",
        ));
    }
    if let (Some(f), Some(u)) = (q.from, q.until)
        && f > u
    {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!("from {f} is after until {u}"),
        ));
    }
    let page = q.page.unwrap_or(1);
    if page == 0 || page > 1_000_000 {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            "page counts from 1 (and at most 1,000,000)",
        ));
    }
    let mut hits: Vec<CaseSummary> = app.store.read(|state| {
        state
            .cases()
            .filter(|c| &c.court == court && c.closed.is_none())
            .filter_map(|c| {
                let judges: Vec<JudgeId> = state.case_judges(c).into_iter().cloned().collect();
                let status = match (c.closed, judges.is_empty()) {
                    (Some(_), _) => CaseStatus::Closed,
                    (None, true) => CaseStatus::Pending,
                    (None, false) => CaseStatus::Open,
                };
                let day = klero_core::Day::from_millis(c.filed_at);
                let keep = q.status.is_none_or(|s| s == status)
                    && judge.as_ref().is_none_or(|j| judges.contains(j))
                    && needle
                        .as_ref()
                        .is_none_or(|n| c.id.as_str().to_ascii_uppercase().contains(n.as_str()))
                    && q.from.is_none_or(|f| day >= f)
                    && q.until.is_none_or(|u| day <= u);
                keep.then(|| CaseSummary {
                    case: c.id.clone(),
                    division: c.division.clone(),
                    case_type: c.case_type.clone(),
                    judges,
                    status,
                    closed: c.closed,
                    filed: day.to_string(),
                    filed_at: c.filed_at,
                })
            })
            .collect()
    });
    if q.status.is_none_or(|s| s == CaseStatus::Closed) {
        let closed = app
            .store
            .closed_cases(
                court,
                needle.as_deref(),
                q.from.map(|d| d.start_millis()),
                q.until.map(|d| klero_core::Day(d.0 + 1).start_millis()),
                judge.as_ref(),
            )
            .await?;
        for c in closed {
            let parse = |what: &str, v: &str| {
                ApiError::internal(format!(
                    "the archived record of closed case {} has a bad {what} {v:?}",
                    c.case
                ))
            };
            hits.push(CaseSummary {
                case: CaseId::parse(&c.case).map_err(|_| parse("number", &c.case))?,
                division: c
                    .division
                    .parse()
                    .map_err(|_| parse("division", &c.division))?,
                case_type: c
                    .case_type
                    .parse()
                    .map_err(|_| parse("case type", &c.case_type))?,
                judges: c
                    .judges
                    .iter()
                    .map(|j| JudgeId::parse(j).map_err(|_| parse("judge", j)))
                    .collect::<ApiResult<_>>()?,
                status: CaseStatus::Closed,
                closed: c
                    .closing_reason
                    .as_deref()
                    .and_then(|r| serde_json::from_value(serde_json::Value::from(r)).ok()),
                filed: klero_core::Day::from_millis(c.filed_at).to_string(),
                filed_at: c.filed_at,
            });
        }
    }
    hits.sort_by(|a, b| b.filed_at.cmp(&a.filed_at).then(b.case.cmp(&a.case)));
    let total = hits.len();
    let cases = hits
        .into_iter()
        .skip((page - 1) * CASES_PER_PAGE)
        .take(CASES_PER_PAGE)
        .collect();
    Ok(CaseList {
        court: court.clone(),
        total,
        page,
        per_page: CASES_PER_PAGE,
        cases,
    })
}

/// List and search a court's cases, newest first, 50 a page (clerks and administrators of the
/// court, its judges, the system administrator).
#[utoipa::path(
    get,
    path = "/api/v1/courts/{court}/cases",
    tag = "clerk",
    params(("court" = String, Path, description = "The court"), CaseSearch),
    responses(
        (status = 200, description = "One page of matching cases", body = CaseList),
        (status = 400, description = "A malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_cases(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    crate::extract::Query(q): crate::extract::Query<CaseSearch>,
) -> ApiResult<axum::Json<CaseList>> {
    let court = parse_court(&court)?;
    principal.require_reader(&court, None)?;
    Ok(axum::Json(search_cases(&app, &court, &q).await?))
}
