//! Credentials and what each role may do.
//!
//! A credential is a bearer secret (`klero_` and 64 hex digits) issued to one accountable person and
//! recorded in the log by its fingerprint (SPEC §7.9): `POST /api/v1/tokens` for staff, an
//! enrollment completed by the judge for a judge. A request is recognized by looking the secret's
//! fingerprint up in the published state, so a revocation stops the credential at the next request,
//! and there is no second list of tokens beside the log that could disagree with it.
//!
//! The actor written into the log is the credential's role and holder: a staff number, or the
//! judge's own identifier.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use klero_core::hash::credential_fingerprint;
use klero_core::{Actor, CourtId, Digest32, JudgeId, Role};

use crate::AppState;
use crate::error::ApiError;

/// Who is calling, as established from their credential.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The court the credential is scoped to (`None` only for the system administrator).
    pub court: Option<CourtId>,
    /// The judge the credential belongs to (judge role only).
    pub judge: Option<JudgeId>,
    /// The actor recorded in log entries this caller causes: the role and the holder.
    pub actor: Actor,
    /// The credential's fingerprint.
    pub credential: Digest32,
}

/// Recognizes a credential's secret: its live credential in the published state, or `None`.
pub fn principal_of(app: &AppState, secret: &str) -> Option<Principal> {
    if !secret.starts_with("klero_") {
        return None;
    }
    let fp = credential_fingerprint(secret);
    app.store.read(|s| {
        let c = s.credential(&fp).filter(|c| c.revoked.is_none())?;
        Some(Principal {
            role: c.role,
            court: c.court.clone(),
            judge: match c.role {
                Role::Judge => Some(c.holder.as_str().parse().ok()?),
                _ => None,
            },
            actor: Actor {
                role: c.role,
                id: c.holder.clone(),
            },
            credential: fp,
        })
    })
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
        principal_of(app, token).ok_or_else(ApiError::unauthorized)
    }
}

impl Principal {
    fn is(&self, role: Role) -> bool {
        self.role == role
    }

    fn of_court(&self, court: &CourtId) -> bool {
        self.court.as_ref() == Some(court)
    }

    /// A clerk of `court`.
    pub fn require_clerk(&self, court: &CourtId) -> Result<(), ApiError> {
        if self.is(Role::Clerk) && self.of_court(court) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only a clerk of court {court} may do this"
            )))
        }
    }

    /// A court administrator of `court`.
    pub fn require_court_admin(&self, court: &CourtId) -> Result<(), ApiError> {
        if self.is(Role::CourtAdmin) && self.of_court(court) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only a court administrator of court {court} may do this"
            )))
        }
    }

    /// The system administrator.
    pub fn require_system_admin(&self) -> Result<(), ApiError> {
        if self.is(Role::SystemAdmin) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only a system administrator may do this",
            ))
        }
    }

    /// The judge `judge` themself.
    pub fn require_judge(&self, judge: &JudgeId) -> Result<(), ApiError> {
        if self.is(Role::Judge) && self.judge.as_ref() == Some(judge) {
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
            Role::SystemAdmin => true,
            Role::Clerk | Role::CourtAdmin => self.of_court(court),
            Role::Judge => match judge {
                Some(j) => self.judge.as_ref() == Some(j),
                None => self.of_court(court),
            },
            Role::System => false,
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
