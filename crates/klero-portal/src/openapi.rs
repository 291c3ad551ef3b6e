//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, audit, cases, draws, judges, public, tiles};

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

/// Adds the answers every operation of a kind can give, where its annotation does not state them
/// already, so that the document lists every status the server sends: transport-level answers for
/// all (400 malformed request or parameter, 408 too slow, 414 URL too long, 431 headers too large,
/// 503 busy or not initialized), 401 where a token is needed, 404 where a path names something,
/// and 400/413/415/422 where a JSON body is read.
struct CommonAnswers;

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        });
}

impl Modify for CommonAnswers {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        for item in api.paths.paths.values_mut() {
            let ops = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                add(op, "400", "A malformed request line, header or parameter");
                add(
                    op,
                    "408",
                    "The request was not received and answered in time",
                );
                add(op, "414", "The URL is longer than 8 KiB");
                add(op, "431", "The headers are larger than 32 KiB");
                add(
                    op,
                    "503",
                    "The server is at its connection limit, or the log has no genesis entry yet",
                );
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(op, "401", "No valid bearer token");
                }
                let in_path = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == ParameterIn::Path);
                if in_path {
                    add(op, "404", "Nothing of that name");
                }
                if op.request_body.is_some() {
                    add(op, "413", "The body is larger than 64 KiB");
                    add(op, "415", "The body is not declared as application/json");
                    add(
                        op,
                        "422",
                        "The body is JSON but lacks a field, has an unknown one or a malformed value",
                    );
                }
            }
        }
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
    modifiers(&Bearer, &CommonAnswers),
    paths(
        public::healthz,
        draws::pending,
        public::checkpoint,
        public::checkpoint_note,
        tiles::checkpoint,
        tiles::tile,
        public::log_key,
        public::entries,
        public::consistency,
        public::inclusion,
        public::case_proof,
        public::courts,
        public::court,
        public::stats,
        audit::court_audit,
        public::policy,
        public::judge,
        cases::file_case,
        cases::list_cases,
        cases::get_case,
        cases::reassign,
        cases::recuse,
        cases::close,
        judges::docket,
        judges::declare_conflict,
        judges::withdraw_conflict,
        judges::list_conflicts,
        admin::create_court,
        admin::update_policy,
        admin::create_division,
        admin::register_judge,
        admin::update_judge,
        admin::record_absence,
        admin::list_absences,
        admin::cancel_absence,
        admin::court_absences,
        admin::import_judges_csv,
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
