//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, audit, cases, judges, public};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kleroterion portal",
        description = "Court-case allocation by verifiable random draw, recorded in a tamper-evident log. \
Errors are RFC 9457 problem documents (application/problem+json) whose `type` is `/api/v1/problems/{slug}`. \
Request bodies are limited to 64 KiB and unknown fields are refused.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Bearer),
    paths(
        public::healthz,
        public::checkpoint,
        public::entries,
        public::consistency,
        public::inclusion,
        public::case_proof,
        public::courts,
        public::court,
        public::stats,
        audit::court_audit,
        public::policy,
        cases::file_case,
        cases::get_case,
        cases::reassign,
        cases::recuse,
        cases::close,
        judges::docket,
        judges::declare_conflict,
        judges::withdraw_conflict,
        admin::create_court,
        admin::update_policy,
        admin::create_division,
        admin::register_judge,
        admin::update_judge,
        admin::record_absence,
        admin::list_absences,
        admin::cancel_absence,
        admin::create_token,
        admin::revoke_token,
        admin::open_enrollment,
        admin::complete_enrollment,
    ),
    components(schemas(crate::Problem)),
    tags(
        (name = "public", description = "No account needed: the log, proofs, courts, statistics, the observer's audit"),
        (name = "clerk", description = "Court clerks: filings, reassignments, closing"),
        (name = "judge", description = "Judges: docket, conflicts, recusals"),
        (name = "court admin", description = "Court administrators: divisions, judges, absences"),
        (name = "system admin", description = "System administrators: courts, policy, credentials"),
    )
)]
struct ApiDoc;

/// The OpenAPI document as JSON text (built once).
pub fn openapi_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
    .clone()
}
