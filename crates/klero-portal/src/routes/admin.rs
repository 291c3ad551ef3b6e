//! Courts, divisions, judges, absences, policy and tokens.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use klero_core::{
    AbsenceId, AbsenceReason, CourtId, Day, DivisionId, Event, JudgeId, Policy, Specialization,
    State,
};
use klero_store::TokenRole;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Recorded, last, parse_court, parse_judge, require_genesis};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Kind};
use crate::extract::{Json, Path};

type Created = (StatusCode, axum::Json<Recorded>);

async fn record(app: &AppState, principal: &Principal, event: Event) -> ApiResult<Recorded> {
    app.store.read(require_genesis)?;
    let actor = principal.actor.clone();
    let entries = app.store.submit(move |_| Ok((actor, event))).await?;
    Ok(last(&entries)?.into())
}

/// A new court.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCourt {
    /// Identifier, e.g. `district-court-north`.
    #[schema(value_type = String, example = "district-north")]
    pub court: CourtId,
    /// Name for people.
    #[schema(example = "District Court North")]
    pub name: String,
}

/// Create a court (system administrator).
#[utoipa::path(
    post,
    path = "/api/v1/courts",
    tag = "system admin",
    request_body = NewCourt,
    responses(
        (status = 201, description = "Created", body = Recorded),
        (status = 403, description = "Not a system administrator", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Exists already", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_court(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Json(req): Json<NewCourt>,
) -> ApiResult<Created> {
    principal.require_system_admin()?;
    let event = Event::CourtCreated {
        court: req.court,
        name: req.name,
    };
    let r = record(&app, &principal, event).await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

/// Replace the policy (system administrator). The body is the whole policy, as `GET /api/v1/policy`
/// returns it.
#[utoipa::path(
    put,
    path = "/api/v1/policy",
    tag = "system admin",
    request_body(content = Object, description = "The policy (see klero-core's Policy)"),
    responses(
        (status = 200, description = "Replaced", body = Recorded),
        (status = 403, description = "Not a system administrator", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An inconsistent policy", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_policy(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Json(policy): Json<Policy>,
) -> ApiResult<axum::Json<Recorded>> {
    principal.require_system_admin()?;
    let r = record(&app, &principal, Event::PolicyUpdated { policy }).await?;
    Ok(axum::Json(r))
}

/// A new division.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDivision {
    /// Identifier, e.g. `civil`.
    #[schema(value_type = String, example = "civil")]
    pub division: DivisionId,
    /// Name for people.
    #[schema(example = "Civil Division")]
    pub name: String,
}

/// Create a division (court administrator of the court).
#[utoipa::path(
    post,
    path = "/api/v1/courts/{court}/divisions",
    tag = "court admin",
    params(("court" = String, Path, description = "The court")),
    request_body = NewDivision,
    responses(
        (status = 201, description = "Created", body = Recorded),
        (status = 403, description = "Not an administrator of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Exists already", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_division(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    Json(req): Json<NewDivision>,
) -> ApiResult<Created> {
    let court = parse_court(&court)?;
    principal.require_court_admin(&court)?;
    let event = Event::DivisionCreated {
        court,
        division: req.division,
        name: req.name,
    };
    let r = record(&app, &principal, event).await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

fn default_true() -> bool {
    true
}

/// A judge joining a court.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJudge {
    /// Identifier, unique across the whole system.
    #[schema(value_type = String, example = "J-017")]
    pub judge: JudgeId,
    /// Their division.
    #[schema(value_type = String, example = "civil")]
    pub division: DivisionId,
    /// Specializations (any order; recorded sorted, once each).
    #[schema(value_type = Vec<String>, example = json!(["civil", "commercial"]))]
    pub specializations: Vec<Specialization>,
    /// Share of a full intake, in thousandths (1..=1000; a president might carry 250).
    #[schema(example = 1000)]
    pub share_permille: u32,
    /// Whether they take cases (default true).
    #[serde(default = "default_true")]
    pub active: bool,
}

/// A judge's record, restated whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeRecord {
    /// Division.
    #[schema(value_type = String)]
    pub division: DivisionId,
    /// Specializations (any order; recorded sorted, once each).
    #[schema(value_type = Vec<String>)]
    pub specializations: Vec<Specialization>,
    /// Share in thousandths.
    pub share_permille: u32,
    /// Whether they take cases.
    pub active: bool,
}

fn sorted(mut v: Vec<Specialization>) -> Vec<Specialization> {
    v.sort();
    v.dedup();
    v
}

/// Register a judge (court administrator of the court).
#[utoipa::path(
    post,
    path = "/api/v1/courts/{court}/judges",
    tag = "court admin",
    params(("court" = String, Path, description = "The court")),
    request_body = NewJudge,
    responses(
        (status = 201, description = "Registered", body = Recorded),
        (status = 403, description = "Not an administrator of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court or division", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The judge is already registered", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A share outside 1..=1000, or a specialization no case type of the policy uses", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn register_judge(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    Json(req): Json<NewJudge>,
) -> ApiResult<Created> {
    let court = parse_court(&court)?;
    principal.require_court_admin(&court)?;
    let judge = req.judge.clone();
    let event = Event::JudgeRegistered {
        judge: req.judge,
        court,
        division: req.division,
        specializations: sorted(req.specializations),
        share_permille: req.share_permille,
        active: req.active,
    };
    let mut r = record(&app, &principal, event).await?;
    r.warnings = app.store.read(|s| receives_no_cases(s, &judge));
    Ok((StatusCode::CREATED, axum::Json(r)))
}

/// A warning when an active judge holds no specialization of any case type of the policy in force:
/// such a judge is never in a pool, which the court administrator must know.
fn receives_no_cases(state: &State, judge: &JudgeId) -> Vec<String> {
    let (Some(j), Some(policy)) = (state.judge(judge), state.policy()) else {
        return vec![];
    };
    let receives = policy
        .case_types
        .iter()
        .any(|t| j.specializations.contains(&t.specialization));
    if j.active && !receives {
        vec![format!(
            "judge {judge} holds no specialization of any case type in the policy, so they will \
             receive no cases; give them at least one of the policy's specializations"
        )]
    } else {
        vec![]
    }
}

fn judge_court(state: &State, judge: &JudgeId) -> ApiResult<CourtId> {
    state
        .judge(judge)
        .map(|j| j.court.clone())
        .ok_or_else(|| ApiError::not_found(format!("there is no judge {judge}")))
}

/// Update a judge's division, specializations, share or status (court administrator of the
/// judge's court).
#[utoipa::path(
    put,
    path = "/api/v1/judges/{judge}",
    tag = "court admin",
    params(("judge" = String, Path, description = "The judge")),
    request_body = JudgeRecord,
    responses(
        (status = 200, description = "Updated", body = Recorded),
        (status = 403, description = "Not an administrator of the judge's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge or division", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A share outside 1..=1000, or a specialization no case type of the policy uses", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_judge(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
    Json(req): Json<JudgeRecord>,
) -> ApiResult<axum::Json<Recorded>> {
    let judge = parse_judge(&judge)?;
    let court = app.store.read(|s| judge_court(s, &judge))?;
    principal.require_court_admin(&court)?;
    let event = Event::JudgeUpdated {
        judge: judge.clone(),
        division: req.division,
        specializations: sorted(req.specializations),
        share_permille: req.share_permille,
        active: req.active,
    };
    let mut r = record(&app, &principal, event).await?;
    r.warnings = app.store.read(|s| receives_no_cases(s, &judge));
    Ok(axum::Json(r))
}

/// An absence to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAbsence {
    /// A reference for later cancellation; generated when left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub absence: Option<AbsenceId>,
    /// First day away, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-07-01")]
    pub from: Day,
    /// Last day away, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-07-14")]
    pub until: Day,
    /// `leave`, `sick`, `training`, `secondment` or `other`.
    #[schema(value_type = String, example = "leave")]
    pub reason: AbsenceReason,
}

/// An absence as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbsenceView {
    /// Reference.
    #[schema(value_type = String)]
    pub absence: AbsenceId,
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// First day away.
    #[schema(value_type = String)]
    pub from: Day,
    /// Last day away.
    #[schema(value_type = String)]
    pub until: Day,
    /// Why.
    #[schema(value_type = String)]
    pub reason: AbsenceReason,
    /// Cancelled later.
    pub cancelled: bool,
}

/// Record an absence (court administrator of the judge's court).
#[utoipa::path(
    post,
    path = "/api/v1/judges/{judge}/absences",
    tag = "court admin",
    params(("judge" = String, Path, description = "The judge")),
    request_body = NewAbsence,
    responses(
        (status = 201, description = "Recorded", body = AbsenceView),
        (status = 403, description = "Not an administrator of the judge's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reference is taken", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "It ends before it begins", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn record_absence(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
    Json(req): Json<NewAbsence>,
) -> ApiResult<(StatusCode, axum::Json<AbsenceView>)> {
    let judge = parse_judge(&judge)?;
    let court = app.store.read(|s| judge_court(s, &judge))?;
    principal.require_court_admin(&court)?;
    app.store.read(require_genesis)?;
    let actor = principal.actor.clone();
    let (j, given) = (judge.clone(), req.absence.clone());
    let (from, until, reason) = (req.from, req.until, req.reason);
    let entries = app
        .store
        .submit(move |s| {
            let absence = match given {
                Some(a) => a,
                None => {
                    // `{judge}-{first day}-{n}`: unique among this judge's absences.
                    let n = s.judge(&j).map_or(0, |x| x.absences.len()) + 1;
                    let stem: String = j.as_str().chars().take(40).collect();
                    AbsenceId::parse(format!("{stem}-{from}-{n}")).expect("valid absence id")
                }
            };
            Ok((
                actor,
                Event::AbsenceRecorded {
                    absence,
                    judge: j,
                    from,
                    until,
                    reason,
                },
            ))
        })
        .await?;
    let Event::AbsenceRecorded { absence, .. } = &last(&entries)?.event else {
        return Err(ApiError::internal(
            "an absence was recorded as another event",
        ));
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(AbsenceView {
            absence: absence.clone(),
            judge,
            from,
            until,
            reason,
            cancelled: false,
        }),
    ))
}

/// A judge's absences (court administrators of the court, the judge themself, the system
/// administrator).
#[utoipa::path(
    get,
    path = "/api/v1/judges/{judge}/absences",
    tag = "court admin",
    params(("judge" = String, Path, description = "The judge")),
    responses(
        (status = 200, description = "Absences", body = Vec<AbsenceView>),
        (status = 403, description = "Not allowed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_absences(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(judge): Path<String>,
) -> ApiResult<axum::Json<Vec<AbsenceView>>> {
    let judge = parse_judge(&judge)?;
    let court = app.store.read(|s| judge_court(s, &judge))?;
    if !matches!(principal.role, TokenRole::Judge | TokenRole::SystemAdmin) {
        principal.require_court_admin(&court)?;
    }
    principal.require_reader(&court, Some(&judge))?;
    let list = app.store.read(|s| {
        s.judge(&judge)
            .map(|j| {
                j.absences
                    .iter()
                    .map(|a| AbsenceView {
                        absence: a.id.clone(),
                        judge: judge.clone(),
                        from: a.from,
                        until: a.until,
                        reason: a.reason,
                        cancelled: a.cancelled,
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    Ok(axum::Json(list))
}

/// Cancel an absence (court administrator of the judge's court).
#[utoipa::path(
    delete,
    path = "/api/v1/absences/{absence}",
    tag = "court admin",
    params(("absence" = String, Path, description = "The absence reference")),
    responses(
        (status = 200, description = "Cancelled", body = Recorded),
        (status = 403, description = "Not an administrator of the judge's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such absence", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cancelled", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_absence(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(absence): Path<String>,
) -> ApiResult<axum::Json<Recorded>> {
    let missing = || ApiError::not_found(format!("there is no absence {absence:?}"));
    let id = AbsenceId::parse(absence.as_str()).map_err(|_| missing())?;
    let court = app
        .store
        .read(|s| {
            s.courts().find_map(|(court, _)| {
                s.court_judges(court)
                    .iter()
                    .any(|j| j.absences.iter().any(|a| a.id == id))
                    .then(|| court.clone())
            })
        })
        .ok_or_else(missing)?;
    principal.require_court_admin(&court)?;
    let r = record(&app, &principal, Event::AbsenceCancelled { absence: id }).await?;
    Ok(axum::Json(r))
}

/// A role as the API names it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Files cases, records recusals and reassignments, closes cases.
    Clerk,
    /// Reads their docket, declares conflicts, recuses.
    Judge,
    /// Keeps a court's divisions, judges and absences.
    CourtAdmin,
    /// Creates courts and replaces the policy.
    SystemAdmin,
}

impl RoleName {
    /// The store's role.
    pub fn token_role(self) -> TokenRole {
        match self {
            RoleName::Clerk => TokenRole::Clerk,
            RoleName::Judge => TokenRole::Judge,
            RoleName::CourtAdmin => TokenRole::CourtAdmin,
            RoleName::SystemAdmin => TokenRole::SystemAdmin,
        }
    }
}

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The role.
    pub role: RoleName,
    /// The court (every role but `system_admin`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub court: Option<CourtId>,
    /// The judge (role `judge` only).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub judge: Option<JudgeId>,
}

/// An issued token. It is shown once; the server keeps only what it needs to recognize it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: String,
    /// The role.
    pub role: RoleName,
    /// The court.
    #[schema(value_type = Option<String>)]
    pub court: Option<CourtId>,
    /// The judge.
    #[schema(value_type = Option<String>)]
    pub judge: Option<JudgeId>,
}

/// Checks that a role, court and judge make a valid token scope against the current state.
pub fn check_scope(
    state: &State,
    role: RoleName,
    court: Option<&CourtId>,
    judge: Option<&JudgeId>,
) -> Result<(), String> {
    match (role, court, judge) {
        (RoleName::SystemAdmin, None, None) => Ok(()),
        (RoleName::SystemAdmin, _, _) => {
            Err("a system administrator's token has no court and no judge".into())
        }
        (_, None, _) => Err(format!("a {} token needs a court", role.token_role())),
        (RoleName::Judge, Some(c), Some(j)) => match state.judge(j) {
            Some(js) if &js.court == c => Ok(()),
            Some(_) => Err(format!("judge {j} does not sit in court {c}")),
            None => Err(format!("there is no judge {j}")),
        },
        (RoleName::Judge, Some(_), None) => Err("a judge's token needs the judge".into()),
        (_, Some(_), Some(_)) => Err("only a judge's token names a judge".into()),
        (_, Some(c), None) => {
            if state.court(c).is_some() {
                Ok(())
            } else {
                Err(format!("there is no court {c}"))
            }
        }
    }
}

/// Issue a token: the system administrator for any role; a court administrator for clerks, judges
/// and administrators of their own court. Issuing a token is access management, not a fact of the
/// allocation, so it is not a log event.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "system admin",
    request_body = NewToken,
    responses(
        (status = 201, description = "Issued", body = IssuedToken),
        (status = 403, description = "Not allowed to issue this token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid scope", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<IssuedToken>)> {
    match (principal.role, &req.court) {
        (TokenRole::SystemAdmin, _) => {}
        (TokenRole::CourtAdmin, Some(c)) if req.role != RoleName::SystemAdmin => {
            principal.require_court_admin(c)?
        }
        _ => {
            return Err(ApiError::forbidden(
                "only a system administrator, or a court administrator for their own court, may issue tokens",
            ));
        }
    }
    app.store
        .read(|s| check_scope(s, req.role, req.court.as_ref(), req.judge.as_ref()))
        .map_err(|m| ApiError::new(Kind::Invalid, m))?;
    let token = app
        .store
        .create_token(req.role.token_role(), req.court.clone(), req.judge.clone())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(IssuedToken {
            token,
            role: req.role,
            court: req.court,
            judge: req.judge,
        }),
    ))
}
