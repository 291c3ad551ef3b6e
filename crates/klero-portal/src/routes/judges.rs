//! A judge's docket and declared conflicts.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use klero_core::hash::party_commitment;
use klero_core::{
    CaseId, CaseTypeCode, ClosingReason, CourtId, Digest32, DivisionId, Event, JudgeId, State,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Recorded, last, parse_judge, today};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};

/// One case on a docket.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocketCase {
    /// Case number.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// Case type.
    #[schema(value_type = String)]
    pub case_type: CaseTypeCode,
    /// Workload weight.
    pub weight: u32,
    /// Filing time, milliseconds since the Unix epoch.
    pub filed_at: i64,
    /// Whether this judge presides.
    pub presiding: bool,
    /// All the case's judges, the presiding judge first.
    #[schema(value_type = Vec<String>)]
    pub judges: Vec<JudgeId>,
    /// How the case was closed, if it is.
    #[schema(value_type = Option<String>)]
    pub closed: Option<ClosingReason>,
}

/// A judge's docket with their workload against their court's.
#[derive(Debug, Serialize, ToSchema)]
pub struct Docket {
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// Their court.
    #[schema(value_type = String)]
    pub court: CourtId,
    /// Their division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Share of a full intake, in thousandths.
    pub share_permille: u32,
    /// Whether they take cases.
    pub active: bool,
    /// Normalized load today (thousandths of a case-weight unit per full share, over the policy
    /// window).
    pub load: u64,
    /// Mean normalized load of the court's active judges today.
    pub court_mean_load: u64,
    /// Open cases.
    pub open: usize,
    /// The open cases the judge sits on, in the order assigned. Closed cases leave the docket
    /// (and the server's memory): the court's case search lists them
    /// (`/api/v1/courts/{court}/cases?status=closed&judge=...`).
    pub cases: Vec<DocketCase>,
}

/// Mean normalized load over a court's active judges on `day`.
pub(crate) fn court_mean(state: &State, court: &CourtId, day: klero_core::Day) -> u64 {
    let loads: Vec<u64> = state
        .court_judges(court)
        .into_iter()
        .filter(|j| j.active)
        .map(|j| state.load_on(j, day))
        .collect();
    if loads.is_empty() {
        0
    } else {
        loads.iter().sum::<u64>() / loads.len() as u64
    }
}

fn docket_of(state: &State, judge: &JudgeId) -> ApiResult<Docket> {
    let j = state
        .judge(judge)
        .ok_or_else(|| ApiError::not_found(format!("there is no judge {judge}")))?;
    let day = today();
    let cases: Vec<DocketCase> = state
        .docket(judge)
        .into_iter()
        .map(|c| {
            let judges: Vec<JudgeId> = state.case_judges(c).into_iter().cloned().collect();
            DocketCase {
                case: c.id.clone(),
                case_type: c.case_type.clone(),
                weight: c.weight,
                filed_at: c.filed_at,
                presiding: judges.first() == Some(judge),
                judges,
                closed: c.closed,
            }
        })
        .collect();
    Ok(Docket {
        judge: judge.clone(),
        court: j.court.clone(),
        division: j.division.clone(),
        share_permille: j.share_permille,
        active: j.active,
        load: state.load_on(j, day),
        court_mean_load: court_mean(state, &j.court, day),
        open: cases.iter().filter(|c| c.closed.is_none()).count(),
        cases,
    })
}

/// A judge's own docket and load against the court mean (the judge; also the court's clerks and
/// administrators and the system administrator).
#[utoipa::path(
    get,
    path = "/api/v1/judges/{judge}/docket",
    tag = "judge",
    params(("judge" = String, Path, description = "The judge")),
    responses(
        (status = 200, description = "The docket", body = Docket),
        (status = 403, description = "Another judge's docket", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn docket(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
) -> ApiResult<axum::Json<Docket>> {
    let judge = parse_judge(&judge)?;
    let court = app.store.read(|s| {
        s.judge(&judge)
            .map(|j| j.court.clone())
            .ok_or_else(|| ApiError::not_found(format!("there is no judge {judge}")))
    })?;
    principal.require_reader(&court, Some(&judge))?;
    Ok(axum::Json(app.store.read(|s| docket_of(s, &judge))?))
}

/// A party or counsel a judge has a conflict with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictRequest {
    /// The party's or counsel's identifier, as clerks enter it at filing; only its salted
    /// commitment is recorded.
    #[serde(default)]
    #[schema(example = "PL-80010112345")]
    pub party: Option<String>,
    /// To withdraw a conflict without re-typing the identifier: its commitment, as
    /// `GET /api/v1/judges/{judge}/conflicts` lists it (withdrawals only; give `party` or
    /// `subject`, not both).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Digest32>,
}

/// A declared or withdrawn conflict.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictRecorded {
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// The commitment recorded in the log.
    #[schema(value_type = String)]
    pub subject: Digest32,
    /// Where it was recorded.
    pub entry: Recorded,
}

pub(crate) async fn conflict(
    app: AppState,
    principal: Principal,
    judge: String,
    req: ConflictRequest,
    declare: bool,
) -> ApiResult<(StatusCode, axum::Json<ConflictRecorded>)> {
    let judge = parse_judge(&judge)?;
    principal.require_judge(&judge)?;
    let subject = match (req.party.as_deref(), req.subject) {
        (Some(party), None) => {
            let party = party.trim();
            if party.is_empty() || party.len() > 256 || party.chars().any(char::is_control) {
                return Err(ApiError::invalid(
                    "the party identifier must be 1 to 256 bytes of text",
                ));
            }
            party_commitment(&app.store.pepper(), party)
        }
        (None, Some(subject)) if !declare => subject,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "a conflict is declared with the party's identifier ('party'), not a commitment",
            ));
        }
        _ => {
            return Err(ApiError::invalid(
                "give the party's identifier in 'party' (or, to withdraw, its commitment in 'subject')",
            ));
        }
    };
    let (actor, j) = (principal.actor, judge.clone());
    let entries = app
        .store
        .submit(move |_| {
            Ok((
                actor,
                if declare {
                    Event::ConflictDeclared { judge: j, subject }
                } else {
                    Event::ConflictWithdrawn { judge: j, subject }
                },
            ))
        })
        .await?;
    Ok((
        if declare {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        axum::Json(ConflictRecorded {
            judge,
            subject,
            entry: last(&entries)?.into(),
        }),
    ))
}

/// Declare a conflict with a party or counsel (the judge themself).
#[utoipa::path(
    post,
    path = "/api/v1/judges/{judge}/conflicts",
    tag = "judge",
    params(("judge" = String, Path, description = "The judge")),
    request_body = ConflictRequest,
    responses(
        (status = 201, description = "Declared", body = ConflictRecorded),
        (status = 403, description = "Not this judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already declared", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn declare_conflict(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
    Json(req): Json<ConflictRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConflictRecorded>)> {
    conflict(app, principal, judge, req, true).await
}

/// Withdraw a declared conflict (the judge themself).
#[utoipa::path(
    post,
    path = "/api/v1/judges/{judge}/conflicts/withdrawals",
    tag = "judge",
    params(("judge" = String, Path, description = "The judge")),
    request_body = ConflictRequest,
    responses(
        (status = 200, description = "Withdrawn", body = ConflictRecorded),
        (status = 403, description = "Not this judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such declared conflict", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_conflict(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
    Json(req): Json<ConflictRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConflictRecorded>)> {
    conflict(app, principal, judge, req, false).await
}

/// A conflict a judge has declared and not withdrawn.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeclaredConflict {
    /// The commitment the log records (the identifier itself is nowhere).
    #[schema(value_type = String)]
    pub subject: Digest32,
    /// The entry that declared it (the latest declaration, if it was declared again after a
    /// withdrawal).
    pub index: u64,
    /// When it was declared, milliseconds since the Unix epoch.
    pub at: i64,
    /// The day it was declared (UTC), `YYYY-MM-DD`.
    pub declared: String,
}

/// A judge's conflicts in force, oldest first, with when each was declared: the state says which
/// commitments are in force, the log says when each was declared.
pub(crate) async fn conflicts_of(
    app: &AppState,
    judge: &JudgeId,
) -> ApiResult<Vec<DeclaredConflict>> {
    let in_force = app
        .store
        .read(|s| s.judge(judge).map(|j| j.conflicts.clone()))
        .ok_or_else(|| ApiError::not_found(format!("there is no judge {judge}")))?;
    let mut latest: std::collections::HashMap<Digest32, (u64, i64)> = Default::default();
    for e in app.store.conflict_declarations(judge).await? {
        if let Event::ConflictDeclared { subject, .. } = &e.event {
            latest.insert(*subject, (e.index, e.at));
        }
    }
    let mut list: Vec<DeclaredConflict> = in_force
        .into_iter()
        .map(|subject| {
            let (index, at) = latest.get(&subject).copied().unwrap_or((0, 0));
            DeclaredConflict {
                subject,
                index,
                at,
                declared: klero_core::Day::from_millis(at).to_string(),
            }
        })
        .collect();
    list.sort_by_key(|c| (c.index, c.subject));
    Ok(list)
}

/// A judge's own declared conflicts in force, with when each was declared, so they can be
/// withdrawn without re-typing the identifier (the judge themself only).
#[utoipa::path(
    get,
    path = "/api/v1/judges/{judge}/conflicts",
    tag = "judge",
    params(("judge" = String, Path, description = "The judge")),
    responses(
        (status = 200, description = "The conflicts in force", body = Vec<DeclaredConflict>),
        (status = 401, description = "No valid token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_conflicts(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
) -> ApiResult<axum::Json<Vec<DeclaredConflict>>> {
    let judge = parse_judge(&judge)?;
    principal.require_judge(&judge)?;
    Ok(axum::Json(conflicts_of(&app, &judge).await?))
}
