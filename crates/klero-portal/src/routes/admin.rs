//! Courts, divisions, judges, absences, policy, credentials and judges' enrollments.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use klero_core::hash::{credential_fingerprint, enrollment_fingerprint};
use klero_core::{
    AbsenceId, AbsenceReason, Actor, ActorId, CourtId, Day, Digest32, DivisionId, Event, JudgeId,
    Policy, Role, Specialization, State,
};
use klero_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Recorded, last, parse_court, parse_judge, require_genesis};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};

type Created = (StatusCode, axum::Json<Recorded>);

async fn record(app: &AppState, principal: &Principal, event: Event) -> ApiResult<Recorded> {
    record_as(app, principal.actor.clone(), event).await
}

async fn record_as(app: &AppState, actor: Actor, event: Event) -> ApiResult<Recorded> {
    app.store.read(require_genesis)?;
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

/// The longest absence one entry may record, in days (two years). A longer one is recorded again
/// when it is extended, so that it shows in the log as a fresh decision.
pub const MAX_ABSENCE_DAYS: i32 = 731;
/// How far back an absence may begin, in days from today (a year: a sick leave recorded late).
pub const MAX_ABSENCE_PAST_DAYS: i32 = 366;
/// How far ahead an absence may end, in days from today (five years).
pub const MAX_ABSENCE_FUTURE_DAYS: i32 = 1827;

/// Refuses an absence longer than [`MAX_ABSENCE_DAYS`], beginning more than
/// [`MAX_ABSENCE_PAST_DAYS`] ago or ending more than [`MAX_ABSENCE_FUTURE_DAYS`] ahead. (One that
/// ends before it begins is left to the core, which refuses it with its own sentence.)
fn check_absence_dates(from: Day, until: Day, today: Day) -> ApiResult<()> {
    if from > until {
        return Ok(());
    }
    let days = until.0 - from.0 + 1;
    if days > MAX_ABSENCE_DAYS {
        return Err(ApiError::invalid(format!(
            "the absence from {from} to {until} lasts {days} days; one entry may record at most \
             {MAX_ABSENCE_DAYS} days (two years): record a longer absence again when it is extended"
        )));
    }
    if from.0 < today.0 - MAX_ABSENCE_PAST_DAYS {
        return Err(ApiError::invalid(format!(
            "the absence begins on {from}, more than {MAX_ABSENCE_PAST_DAYS} days before today \
             ({today}): check the year"
        )));
    }
    if until.0 > today.0 + MAX_ABSENCE_FUTURE_DAYS {
        return Err(ApiError::invalid(format!(
            "the absence ends on {until}, more than five years after today ({today}): check the \
             year"
        )));
    }
    Ok(())
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
        (status = 422, description = "It ends before it begins, lasts more than two years, begins more than a year ago or ends more than five years ahead", body = crate::Problem, content_type = "application/problem+json"),
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
    check_absence_dates(req.from, req.until, super::today())?;
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
    if !matches!(principal.role, Role::Judge | Role::SystemAdmin) {
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
    /// The log's role.
    pub fn role(self) -> Role {
        match self {
            RoleName::Clerk => Role::Clerk,
            RoleName::Judge => Role::Judge,
            RoleName::CourtAdmin => Role::CourtAdmin,
            RoleName::SystemAdmin => Role::SystemAdmin,
        }
    }
}

/// A credential to issue to a member of staff.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The role: `clerk`, `court_admin` or `system_admin` (a judge's credential comes only from the
    /// judge's own enrollment: `POST /api/v1/enrollments`).
    pub role: RoleName,
    /// The person who will hold it: their staff number.
    #[schema(value_type = String, example = "STAFF-0042")]
    pub holder: ActorId,
    /// The court (every role but `system_admin`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub court: Option<CourtId>,
}

/// An issued credential. The secret is shown once; the log and the server keep only its
/// fingerprint.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer secret.
    pub token: String,
    /// Its fingerprint, as the log records it (use it to revoke).
    #[schema(value_type = String)]
    pub credential: Digest32,
    /// The role.
    pub role: RoleName,
    /// The holder.
    #[schema(value_type = String)]
    pub holder: ActorId,
    /// The court.
    #[schema(value_type = Option<String>)]
    pub court: Option<CourtId>,
    /// The log entry that issued it.
    pub index: u64,
}

/// Issue a credential to a member of staff: a system administrator issues administrators and
/// clerks, a court administrator clerks of their own court; nobody issues one to themselves, and no
/// administrator issues a judge's (SPEC §7.9). The issue is a log entry naming who issued it to whom.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "system admin",
    request_body = NewToken,
    responses(
        (status = 201, description = "Issued", body = IssuedToken),
        (status = 401, description = "No valid credential", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to issue this credential", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid scope", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<IssuedToken>)> {
    if req.role == RoleName::Judge {
        return Err(ApiError::forbidden(
            "a judge's credential is not issued by anyone: open an enrollment (POST /api/v1/enrollments) and the judge completes it",
        ));
    }
    // The core decides who may issue what (SPEC §7.9), and refuses an unknown court.
    let issued = issue(
        &app,
        principal.actor.clone(),
        req.role,
        req.holder,
        req.court,
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// Issues a fresh credential as `actor` (a `credential_issued` entry) and returns its secret,
/// shown this once.
async fn issue(
    app: &AppState,
    actor: Actor,
    role: RoleName,
    holder: ActorId,
    court: Option<CourtId>,
    enrollment: Option<Digest32>,
) -> ApiResult<IssuedToken> {
    let token = Store::new_secret("klero_")?;
    let credential = credential_fingerprint(&token);
    let event = Event::CredentialIssued {
        credential,
        role: role.role(),
        holder: holder.clone(),
        court: court.clone(),
        enrollment,
    };
    let r = record_as(app, actor, event).await?;
    Ok(IssuedToken {
        token,
        credential,
        role,
        holder,
        court,
        index: r.index,
    })
}

/// Revoke a credential, by its fingerprint: its holder, a system administrator, or for a clerk or
/// judge an administrator of their court. It stops working at the next request.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{credential}",
    tag = "system admin",
    params(("credential" = String, Path, description = "The credential's fingerprint (64 hex digits)")),
    responses(
        (status = 200, description = "Revoked", body = Recorded),
        (status = 401, description = "No valid credential", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to revoke it", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such credential", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(credential): Path<String>,
) -> ApiResult<axum::Json<Recorded>> {
    let credential = Digest32::from_hex(&credential)
        .map_err(|_| ApiError::not_found("there is no such credential"))?;
    let r = record(&app, &principal, Event::CredentialRevoked { credential }).await?;
    Ok(axum::Json(r))
}

/// An enrollment to open for a judge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollment {
    /// The judge.
    #[schema(value_type = String, example = "J-04")]
    pub judge: JudgeId,
}

/// An opened enrollment. The code went to the judge through the delivery outbox; it is not in this
/// answer, so the administrator who opened the enrollment cannot complete it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedEnrollment {
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// The log entry that opened it.
    pub index: u64,
}

/// Open an enrollment for a judge (a system administrator, or an administrator of the judge's
/// court). Only the judge, with the code, can turn it into a credential.
#[utoipa::path(
    post,
    path = "/api/v1/enrollments",
    tag = "court admin",
    request_body = NewEnrollment,
    responses(
        (status = 201, description = "Opened", body = OpenedEnrollment),
        (status = 401, description = "No valid credential", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of the judge's court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such judge", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn open_enrollment(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Json(req): Json<NewEnrollment>,
) -> ApiResult<(StatusCode, axum::Json<OpenedEnrollment>)> {
    let court = app.store.read(|s| judge_court(s, &req.judge))?;
    if principal.role != Role::SystemAdmin {
        principal.require_court_admin(&court)?;
    }
    let code = Store::new_secret("enroll_")?;
    let event = Event::EnrollmentOpened {
        enrollment: enrollment_fingerprint(&code),
        judge: req.judge.clone(),
    };
    let r = record(&app, &principal, event).await?;
    deliver_code(&app.config.enrollment_outbox, &req.judge, &code).map_err(|e| {
        ApiError::internal(format!(
            "the enrollment of judge {} was opened (entry {}), but its code could not be delivered: {e}",
            req.judge, r.index
        ))
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(OpenedEnrollment {
            judge: req.judge,
            index: r.index,
        }),
    ))
}

/// Writes a judge's enrollment code to `{outbox}/{judge}.code`, readable by its owner only (the
/// delivery service), replacing an earlier undelivered one.
fn deliver_code(outbox: &std::path::Path, judge: &JudgeId, code: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(outbox)?;
    let path = outbox.join(format!("{judge}.code"));
    let tmp = outbox.join(format!(".{judge}.code.tmp"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(format!("{code}\n").as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

/// An enrollment code, presented by the judge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteEnrollment {
    /// The code delivered to the judge.
    pub code: String,
}

/// Complete an enrollment (the judge, with the code; no credential needed): issues the judge's own
/// credential, recorded as the judge's act.
#[utoipa::path(
    post,
    path = "/api/v1/enrollments/complete",
    tag = "judge",
    request_body = CompleteEnrollment,
    responses(
        (status = 201, description = "The judge's credential", body = IssuedToken),
        (status = 404, description = "No open enrollment with this code", body = crate::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn complete_enrollment(
    AxState(app): AxState<AppState>,
    Json(req): Json<CompleteEnrollment>,
) -> ApiResult<(StatusCode, axum::Json<IssuedToken>)> {
    let enrollment = enrollment_fingerprint(&req.code);
    let missing = || ApiError::not_found("there is no open enrollment with this code");
    let (judge, court) = app
        .store
        .read(|s| {
            let j = s.enrollment(&enrollment)?;
            Some((j.clone(), s.judge(j)?.court.clone()))
        })
        .ok_or_else(missing)?;
    let holder = ActorId::parse(judge.as_str()).expect("a judge id is an actor id");
    let actor = Actor {
        role: Role::Judge,
        id: holder.clone(),
    };
    let issued = issue(
        &app,
        actor,
        RoleName::Judge,
        holder,
        Some(court),
        Some(enrollment),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// A window of days.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DayWindow {
    /// First day, `YYYY-MM-DD` (default: today).
    #[param(value_type = Option<String>)]
    pub from: Option<Day>,
    /// Last day, `YYYY-MM-DD` (default: 30 days after `from`); at most 366 days after `from`.
    #[param(value_type = Option<String>)]
    pub until: Option<Day>,
}

/// The absences of a court's judges that overlap `from..=until`, cancelled ones included, ordered
/// by first day and judge: the one function behind the API and the calendar page.
pub(crate) fn absences_between(
    state: &State,
    court: &CourtId,
    from: Day,
    until: Day,
) -> ApiResult<Vec<AbsenceView>> {
    if state.court(court).is_none() {
        return Err(ApiError::not_found(format!("there is no court {court}")));
    }
    if from > until {
        return Err(ApiError::new(
            crate::Kind::InvalidParameter,
            format!("from {from} is after until {until}"),
        ));
    }
    if until.0 - from.0 > 366 {
        return Err(ApiError::new(
            crate::Kind::InvalidParameter,
            format!("from {from} to {until} is more than 366 days: ask for a shorter window"),
        ));
    }
    let mut list: Vec<AbsenceView> = state
        .court_judges(court)
        .into_iter()
        .flat_map(|j| {
            j.absences
                .iter()
                .filter(|a| a.from <= until && a.until >= from)
                .map(|a| AbsenceView {
                    absence: a.id.clone(),
                    judge: j.id.clone(),
                    from: a.from,
                    until: a.until,
                    reason: a.reason,
                    cancelled: a.cancelled,
                })
        })
        .collect();
    list.sort_by(|a, b| a.from.cmp(&b.from).then(a.judge.cmp(&b.judge)));
    Ok(list)
}

/// A court's absence calendar: every absence of its judges overlapping the window, cancelled ones
/// marked (the court's staff and judges, the system administrator).
#[utoipa::path(
    get,
    path = "/api/v1/courts/{court}/absences",
    tag = "court admin",
    params(("court" = String, Path, description = "The court"), DayWindow),
    responses(
        (status = 200, description = "Absences overlapping the window", body = Vec<AbsenceView>),
        (status = 400, description = "A malformed or too long window", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn court_absences(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    crate::extract::Query(w): crate::extract::Query<DayWindow>,
) -> ApiResult<axum::Json<Vec<AbsenceView>>> {
    let court = parse_court(&court)?;
    principal.require_reader(&court, None)?;
    let from = w.from.unwrap_or_else(super::today);
    let until = w.until.unwrap_or(Day(from.0 + 30));
    Ok(axum::Json(
        app.store
            .read(|s| absences_between(s, &court, from, until))?,
    ))
}

/// What a bulk import did, or would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// True when nothing was written.
    pub dry_run: bool,
    /// One row per CSV line that names a judge.
    pub rows: Vec<ImportRow>,
    /// Entries written (0 on a dry run).
    pub written: usize,
}

/// One line of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRow {
    /// The line number in the CSV, from 1.
    pub line: usize,
    /// The judge.
    #[schema(value_type = String)]
    pub judge: JudgeId,
    /// `register`, `update` or `unchanged`.
    pub action: String,
    /// The entry written (absent on a dry run and when unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The event that is (or would be) written, as it appears in the log.
    #[schema(value_type = Object)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
}

/// One planned line of an import: its number, the judge, the action and the event to write.
type Planned = (usize, JudgeId, &'static str, Option<Event>);

/// The most lines one import may hold.
pub const MAX_IMPORT_LINES: usize = 1000;

/// Parses the judges' CSV (`judge,division,specializations,share_permille,active`; specializations
/// separated by `;`; a header line starting with `judge` is skipped) into the events it means
/// against `state`. Refuses the whole file at its first bad line, naming it.
fn import_events(state: &State, court: &CourtId, csv: &str) -> ApiResult<Vec<Planned>> {
    let bad = |line: usize, what: String| ApiError::invalid(format!("line {line}: {what}"));
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in csv.lines().enumerate() {
        let line = i + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if line == 1 && text.to_ascii_lowercase().starts_with("judge") {
            continue;
        }
        if out.len() >= MAX_IMPORT_LINES {
            return Err(bad(
                line,
                format!("an import holds at most {MAX_IMPORT_LINES} judges"),
            ));
        }
        let cells: Vec<&str> = text
            .split(',')
            .map(|c| c.trim().trim_matches('"').trim())
            .collect();
        if cells.len() != 5 {
            return Err(bad(
                line,
                format!(
                    "expected 5 fields (judge,division,specializations,share_permille,active), found {}",
                    cells.len()
                ),
            ));
        }
        let judge = JudgeId::parse(cells[0])
            .map_err(|_| bad(line, format!("{:?} is not a judge identifier", cells[0])))?;
        if !seen.insert(judge.clone()) {
            return Err(bad(line, format!("judge {judge} appears twice")));
        }
        let division = DivisionId::parse(cells[1])
            .map_err(|_| bad(line, format!("{:?} is not a division identifier", cells[1])))?;
        let specializations = sorted(
            cells[2]
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Specialization::parse(s)
                        .map_err(|_| bad(line, format!("{s:?} is not a specialization")))
                })
                .collect::<ApiResult<Vec<_>>>()?,
        );
        let share_permille: u32 = cells[3].parse().map_err(|_| {
            bad(
                line,
                format!("share {:?} is not a whole number of thousandths", cells[3]),
            )
        })?;
        let active = match cells[4].to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => return Err(bad(line, format!("active is true or false, not {other:?}"))),
        };
        let (action, event) = match state.judge(&judge) {
            None => (
                "register",
                Some(Event::JudgeRegistered {
                    judge: judge.clone(),
                    court: court.clone(),
                    division,
                    specializations,
                    share_permille,
                    active,
                }),
            ),
            Some(j) if &j.court != court => {
                return Err(bad(
                    line,
                    format!("judge {judge} is registered in another court, {}", j.court),
                ));
            }
            Some(j)
                if j.division == division
                    && j.specializations == specializations
                    && j.share_permille == share_permille
                    && j.active == active =>
            {
                ("unchanged", None)
            }
            Some(_) => (
                "update",
                Some(Event::JudgeUpdated {
                    judge: judge.clone(),
                    division,
                    specializations,
                    share_permille,
                    active,
                }),
            ),
        };
        out.push((line, judge, action, event));
    }
    if out.is_empty() {
        return Err(ApiError::invalid("the CSV names no judge"));
    }
    Ok(out)
}

/// Imports judges from CSV as `principal` (a court administrator of `court`): checks every line
/// against a copy of the state with the core's own rules first, so a file with a bad line writes
/// nothing; on a dry run stops there. The one path behind the API and the import page.
pub(crate) async fn import_judges(
    app: &AppState,
    principal: &Principal,
    court: &str,
    csv: &str,
    dry_run: bool,
) -> ApiResult<ImportReport> {
    let court = parse_court(court)?;
    principal.require_court_admin(&court)?;
    app.store.read(require_genesis)?;
    let actor = principal.actor.clone();
    let planned = app.store.read(|s| -> ApiResult<_> {
        if s.court(&court).is_none() {
            return Err(ApiError::not_found(format!("there is no court {court}")));
        }
        let planned = import_events(s, &court, csv)?;
        // Apply to a copy: every rule of the core (division exists, share in range,
        // specializations of the policy, ...) is checked exactly as the writer will.
        let mut copy = s.clone();
        let (size, _) = app.store.checkpoint();
        let now = super::now_millis();
        for (k, (line, _, _, event)) in planned.iter().enumerate() {
            if let Some(e) = event {
                copy.apply(size + k as u64, now, &Digest32::ZERO, &actor, e)
                    .map_err(|r| ApiError::invalid(format!("line {line}: {}", r.message)))?;
            }
        }
        Ok(planned)
    })?;
    let mut rows = Vec::with_capacity(planned.len());
    let mut written = 0;
    for (line, judge, action, event) in planned {
        let index = match (&event, dry_run) {
            (Some(e), false) => {
                let r = record(app, principal, e.clone()).await.map_err(|err| {
                    ApiError::new(
                        err.kind,
                        format!(
                            "line {line}: {} ({written} earlier lines were written)",
                            err.detail
                        ),
                    )
                })?;
                written += 1;
                Some(r.index)
            }
            _ => None,
        };
        rows.push(ImportRow {
            line,
            judge,
            action: action.to_owned(),
            index,
            event,
        });
    }
    Ok(ImportReport {
        dry_run,
        rows,
        written,
    })
}

/// Whether to write.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// `true`: check every line and answer what would be written, writing nothing.
    pub dry_run: Option<bool>,
}

/// Register or update a court's judges from CSV (court administrator of the court). The body is
/// `text/csv`, one judge a line: `judge,division,specializations,share_permille,active`, with
/// specializations separated by `;` and an optional header line. Every line is checked against the
/// core's rules before anything is written, so a file with one bad line writes nothing; with
/// `dry_run=true` the answer lists what would be written. Historical cases are not imported: the
/// log records a judge only as the outcome of a logged draw or rule.
#[utoipa::path(
    post,
    path = "/api/v1/courts/{court}/judges/import",
    tag = "court admin",
    params(("court" = String, Path, description = "The court"), DryRun),
    request_body(content = String, content_type = "text/csv", description = "judge,division,specializations,share_permille,active"),
    responses(
        (status = 200, description = "What was (or would be) written", body = ImportReport),
        (status = 403, description = "Not an administrator of this court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such court", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad line (named); nothing written", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn import_judges_csv(
    AxState(app): AxState<AppState>,
    principal: Principal,
    Path(court): Path<String>,
    crate::extract::Query(q): crate::extract::Query<DryRun>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<ImportReport>> {
    let csv =
        std::str::from_utf8(&body).map_err(|_| ApiError::invalid("the CSV must be UTF-8 text"))?;
    Ok(axum::Json(
        import_judges(&app, &principal, &court, csv, q.dry_run.unwrap_or(false)).await?,
    ))
}
