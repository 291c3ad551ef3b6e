//! Bearer tokens and what each role may do.
//!
//! A token is issued by the store (`klero token create`, or `POST /api/v1/tokens`) with a role, a
//! court (every role but the system administrator) and a judge (the judge role).
//!
//! **Every authenticated request reads its token's row** (one primary-key lookup). Nothing is cached,
//! so a revocation (`DELETE /api/v1/tokens/{id}`, or `klero token revoke` from another process on
//! the same database) refuses the very next request, in every server process that shares the
//! database. The lookup costs about as much as the request's routing; see docs/PERFORMANCE.md.
//!
//! The actor written into the log is the judge's own identifier for a judge, and for the other roles
//! the role plus a 12-hex-digit fingerprint of the token, so that two clerks' actions can be told
//! apart in the public log without the token (or a name) ever appearing there.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use klero_core::{Actor, ActorId, CourtId, JudgeId, Role};
use klero_store::{Store, TokenRole};

use crate::AppState;
use crate::error::ApiError;

/// Who is calling, as established from their bearer token.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The role.
    pub role: TokenRole,
    /// The court the token is scoped to (`None` only for the system administrator).
    pub court: Option<CourtId>,
    /// The judge the token belongs to (judge role only).
    pub judge: Option<JudgeId>,
    /// The actor recorded in log entries this caller causes.
    pub actor: Actor,
    /// The token's identifier ([`klero_store::token_id`]), by which it can be revoked.
    pub token_id: String,
}

/// Looks a bearer token up in the store: the caller it names, or `None` if it is unknown or revoked.
async fn lookup(store: &Store, token: &str) -> Result<Option<Principal>, ApiError> {
    let Some(info) = store.token(token).await? else {
        return Ok(None);
    };
    Ok(Some(principal(token, info.role, info.court, info.judge)))
}

fn principal(
    token: &str,
    role: TokenRole,
    court: Option<CourtId>,
    judge: Option<JudgeId>,
) -> Principal {
    let fingerprint = || {
        klero_core::hash::sha256(&[b"klero/token-actor/v1\0", token.as_bytes()]).to_hex()[..12]
            .to_owned()
    };
    let (log_role, id) = match role {
        TokenRole::Judge => (
            Role::Judge,
            judge
                .as_ref()
                .map(|j| j.as_str().to_owned())
                .unwrap_or_else(|| format!("judge-{}", fingerprint())),
        ),
        TokenRole::Clerk => (Role::Clerk, format!("clerk-{}", fingerprint())),
        TokenRole::CourtAdmin => (Role::CourtAdmin, format!("court-admin-{}", fingerprint())),
        TokenRole::SystemAdmin => (Role::SystemAdmin, format!("system-admin-{}", fingerprint())),
    };
    Principal {
        role,
        court,
        judge,
        actor: Actor {
            role: log_role,
            id: ActorId::parse(id).expect("fingerprint ids are valid"),
        },
        token_id: klero_store::token_id(token),
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized());
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(ApiError::unauthorized)?;
        lookup(&app.store, token)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

impl Principal {
    fn is(&self, role: TokenRole) -> bool {
        self.role == role
    }

    fn of_court(&self, court: &CourtId) -> bool {
        self.court.as_ref() == Some(court)
    }

    /// A clerk of `court`.
    pub fn require_clerk(&self, court: &CourtId) -> Result<(), ApiError> {
        if self.is(TokenRole::Clerk) && self.of_court(court) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only a clerk of court {court} may do this"
            )))
        }
    }

    /// A court administrator of `court`.
    pub fn require_court_admin(&self, court: &CourtId) -> Result<(), ApiError> {
        if self.is(TokenRole::CourtAdmin) && self.of_court(court) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only a court administrator of court {court} may do this"
            )))
        }
    }

    /// The system administrator.
    pub fn require_system_admin(&self) -> Result<(), ApiError> {
        if self.is(TokenRole::SystemAdmin) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only a system administrator may do this",
            ))
        }
    }

    /// The judge `judge` themself.
    pub fn require_judge(&self, judge: &JudgeId) -> Result<(), ApiError> {
        if self.is(TokenRole::Judge) && self.judge.as_ref() == Some(judge) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only judge {judge} may do this"
            )))
        }
    }

    /// Anyone who may read a court's non-public records: its clerks and administrators, the
    /// system administrator, and (when `judge` is given) that judge.
    pub fn require_reader(&self, court: &CourtId, judge: Option<&JudgeId>) -> Result<(), ApiError> {
        let ok = match self.role {
            TokenRole::SystemAdmin => true,
            TokenRole::Clerk | TokenRole::CourtAdmin => self.of_court(court),
            TokenRole::Judge => match judge {
                Some(j) => self.judge.as_ref() == Some(j),
                None => self.of_court(court),
            },
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token may not read these records of court {court}"
            )))
        }
    }
}
