//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.
//!
//! Each kind of problem has a stable `type` URI (`/api/v1/problems/{slug}`, relative to the server,
//! documented at that address) so that clients branch on the type, never on the wording. Rejections
//! from `klero-core` carry plain sentences written for court officials, and those are sent as the
//! `detail`; anything internal (a database error, a corrupt log) is logged with its details and sent
//! only as a generic sentence.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use klero_core::{RejectKind, Rejection};
use klero_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The kinds of problem the API reports. The slug is part of the API: it never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No bearer token, or an unknown one (401).
    Unauthorized,
    /// The token's role or court does not allow this (403).
    Forbidden,
    /// The court, judge, case, case type, division or absence does not exist (404).
    NotFound,
    /// The thing to create exists already (409).
    AlreadyExists,
    /// The request does not fit the current state: a closed case, a judge not on it (409).
    WrongState,
    /// Well-formed but against the rules: a bad share, a date range that ends before it begins (422).
    Invalid,
    /// Too few judges can take the case under the policy; nothing was written (422).
    NoEligibleJudges,
    /// The body is not JSON (400).
    MalformedJson,
    /// The body is JSON but not of the expected shape: an unknown or missing field, a bad
    /// identifier or date (422).
    InvalidBody,
    /// A query or path parameter is malformed (400).
    InvalidParameter,
    /// The body is not declared as `application/json` (415).
    UnsupportedMediaType,
    /// The body exceeds the size limit (413).
    PayloadTooLarge,
    /// The URL exceeds the size limit (414).
    UriTooLong,
    /// The request's headers exceed the size limit (431).
    HeadersTooLarge,
    /// The request was not received and answered in time (408).
    RequestTimeout,
    /// The request line or a header cannot be parsed (400).
    MalformedRequest,
    /// The server has as many connections open as it accepts (503).
    Busy,
    /// The `Idempotency-Key` was already used for a different request (422).
    IdempotencyKeyReused,
    /// No such route (404).
    NoSuchRoute,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// The log was not started with a genesis entry yet (503).
    NotInitialized,
    /// A check found that the stored log does not verify (an entry or its hash was altered in the
    /// database): the server serves no log data and accepts no change until it is repaired (503).
    LogDoesNotVerify,
    /// Something failed inside the server; the details are in its log (500).
    Internal,
}

impl Kind {
    /// Every kind, for the problem-type documentation.
    pub const ALL: [Kind; 23] = [
        Kind::Unauthorized,
        Kind::Forbidden,
        Kind::NotFound,
        Kind::AlreadyExists,
        Kind::WrongState,
        Kind::Invalid,
        Kind::NoEligibleJudges,
        Kind::MalformedJson,
        Kind::InvalidBody,
        Kind::InvalidParameter,
        Kind::UnsupportedMediaType,
        Kind::PayloadTooLarge,
        Kind::UriTooLong,
        Kind::HeadersTooLarge,
        Kind::RequestTimeout,
        Kind::MalformedRequest,
        Kind::Busy,
        Kind::IdempotencyKeyReused,
        Kind::NoSuchRoute,
        Kind::MethodNotAllowed,
        Kind::NotInitialized,
        Kind::LogDoesNotVerify,
        Kind::Internal,
    ];

    /// The stable slug at the end of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::AlreadyExists => "already-exists",
            Kind::WrongState => "wrong-state",
            Kind::Invalid => "invalid",
            Kind::NoEligibleJudges => "no-eligible-judges",
            Kind::MalformedJson => "malformed-json",
            Kind::InvalidBody => "invalid-body",
            Kind::InvalidParameter => "invalid-parameter",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::PayloadTooLarge => "payload-too-large",
            Kind::UriTooLong => "uri-too-long",
            Kind::HeadersTooLarge => "headers-too-large",
            Kind::RequestTimeout => "request-timeout",
            Kind::MalformedRequest => "malformed-request",
            Kind::Busy => "busy",
            Kind::IdempotencyKeyReused => "idempotency-key-reused",
            Kind::NoSuchRoute => "no-such-route",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::NotInitialized => "not-initialized",
            Kind::LogDoesNotVerify => "log-does-not-verify",
            Kind::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound | Kind::NoSuchRoute => StatusCode::NOT_FOUND,
            Kind::AlreadyExists | Kind::WrongState => StatusCode::CONFLICT,
            Kind::Invalid
            | Kind::NoEligibleJudges
            | Kind::InvalidBody
            | Kind::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::MalformedJson | Kind::InvalidParameter | Kind::MalformedRequest => {
                StatusCode::BAD_REQUEST
            }
            Kind::UriTooLong => StatusCode::URI_TOO_LONG,
            Kind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Kind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::NotInitialized | Kind::LogDoesNotVerify => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, fixed summary (the problem's `title`).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Unauthorized => "A valid bearer token is required",
            Kind::Forbidden => "This token may not do that",
            Kind::NotFound => "Not found",
            Kind::AlreadyExists => "Already exists",
            Kind::WrongState => "Not possible in the current state",
            Kind::Invalid => "Against the rules",
            Kind::NoEligibleJudges => "Too few judges can take the case",
            Kind::MalformedJson => "The body is not valid JSON",
            Kind::InvalidBody => "The body does not have the expected fields",
            Kind::InvalidParameter => "A parameter is malformed",
            Kind::UnsupportedMediaType => "The body must be application/json",
            Kind::PayloadTooLarge => "The body is too large",
            Kind::UriTooLong => "The URL is too long",
            Kind::HeadersTooLarge => "The headers are too large",
            Kind::RequestTimeout => "The request took too long",
            Kind::MalformedRequest => "The request cannot be parsed",
            Kind::Busy => "The server is busy",
            Kind::IdempotencyKeyReused => "The Idempotency-Key was used for another request",
            Kind::NoSuchRoute => "No such route",
            Kind::MethodNotAllowed => "Method not allowed",
            Kind::NotInitialized => "The log has no genesis entry yet",
            Kind::LogDoesNotVerify => "The stored log does not verify",
            Kind::Internal => "Internal error",
        }
    }

    /// The kind for a `klero-core` rejection.
    pub fn of_rejection(k: RejectKind) -> Kind {
        match k {
            RejectKind::NotFound => Kind::NotFound,
            RejectKind::AlreadyExists => Kind::AlreadyExists,
            RejectKind::Invalid => Kind::Invalid,
            RejectKind::WrongState => Kind::WrongState,
            RejectKind::NoEligibleJudges => Kind::NoEligibleJudges,
            RejectKind::Forbidden => Kind::Forbidden,
            RejectKind::DrawMismatch => Kind::Internal,
        }
    }
}

/// An RFC 9457 problem document as sent.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// The stable problem type, `/api/v1/problems/{slug}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A fixed summary of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this case, in a plain sentence.
    pub detail: String,
}

/// The error every handler returns.
#[derive(Debug)]
pub struct ApiError {
    /// What kind of problem.
    pub kind: Kind,
    /// The sentence sent as `detail`.
    pub detail: String,
}

impl ApiError {
    /// A problem of `kind` with a sentence for the client.
    pub fn new(kind: Kind, detail: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            detail: detail.into(),
        }
    }

    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            Kind::Unauthorized,
            "send a valid token as 'Authorization: Bearer <token>'",
        )
    }

    /// 403 with a reason.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::Forbidden, detail)
    }

    /// 404 with a reason.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::NotFound, detail)
    }

    /// 400/422 for a malformed field.
    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::Invalid, detail)
    }

    /// 500: logs `what` with its cause and sends a generic sentence.
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "internal error");
        ApiError::new(
            Kind::Internal,
            "the server failed to complete the request; the details are in its log",
        )
    }

    /// 503: the stored log does not verify; names the first bad entry (public log data only).
    pub fn log_does_not_verify(f: &klero_core::Failure) -> ApiError {
        ApiError::new(
            Kind::LogDoesNotVerify,
            format!(
                "the stored log does not verify: {f}. The server serves no log data and accepts \
                 no change until the database is repaired"
            ),
        )
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/api/v1/problems/{}", self.kind.slug()),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> ApiError {
        if r.kind == RejectKind::DrawMismatch {
            return ApiError::internal(format!("draw mismatch: {}", r.message));
        }
        ApiError::new(Kind::of_rejection(r.kind), r.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Rejected(r) => r.into(),
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Conflict(m) => ApiError::new(Kind::AlreadyExists, m),
            StoreError::Corrupt(f) => ApiError::log_does_not_verify(&f),
            other => ApiError::internal(format!("store: {other:?}")),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                Kind::MalformedJson,
                format!("the body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => ApiError::new(Kind::InvalidBody, source_text(&e)),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                Kind::UnsupportedMediaType,
                "send the body with 'Content-Type: application/json'",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    Kind::PayloadTooLarge,
                    format!(
                        "request bodies are limited to {} bytes",
                        crate::BODY_LIMIT_BYTES
                    ),
                )
            }
            other => ApiError::new(Kind::MalformedJson, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::new(Kind::InvalidParameter, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::new(Kind::InvalidParameter, r.body_text())
    }
}

/// The innermost error message (serde's, which names the field and the position), without the
/// extractor's wrapping.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = self.problem();
        let mut r = (self.kind.status(), Json(p)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.kind == Kind::Unauthorized {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
