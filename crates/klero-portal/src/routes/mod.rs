//! The routes, one module per audience, and the pieces of answers they share.

use axum::Router;
use axum::routing::{delete, get, post};
use klero_core::{CaseId, CourtId, Digest32, Event, JudgeId, LogEntry, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Kind};

pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod cases;
pub(crate) mod draws;
pub(crate) mod judges;
pub(crate) mod public;
pub(crate) mod tiles;

/// Every route of the API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/api/v1/openapi.json", get(public::openapi))
        .route("/api/v1/docs", get(public::docs))
        .route("/api/v1/problems/{slug}", get(public::problem_type))
        // The public log.
        .route("/api/v1/log/checkpoint", get(public::checkpoint))
        .route("/api/v1/log/checkpoint/note", get(public::checkpoint_note))
        .route("/api/v1/log/key", get(public::log_key))
        .route("/api/v1/log/entries", get(public::entries))
        .route("/api/v1/log/consistency", get(public::consistency))
        .route("/api/v1/log/inclusion", get(public::inclusion))
        .route("/api/v1/cases/{case}/proof", get(public::case_proof))
        // C2SP tlog-tiles (SPEC §5.4).
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*rest}", get(tiles::tile))
        // The in-browser draw check: its scripts and a minimal page.
        .route(
            "/api/v1/courts",
            get(public::courts).post(admin::create_court),
        )
        .route("/api/v1/courts/{court}", get(public::court))
        .route("/api/v1/courts/{court}/stats", get(public::stats))
        .route("/api/v1/courts/{court}/audit", get(audit::court_audit))
        .route("/courts/{court}/audit", get(audit::court_audit_page))
        .route(
            "/api/v1/policy",
            get(public::policy).put(admin::update_policy),
        )
        // Clerks.
        .route(
            "/api/v1/courts/{court}/cases",
            get(cases::list_cases).post(cases::file_case),
        )
        .route("/api/v1/cases/{case}", get(cases::get_case))
        .route("/api/v1/draws/pending", get(draws::pending))
        .route("/api/v1/cases/{case}/reassignments", post(cases::reassign))
        .route("/api/v1/cases/{case}/recusals", post(cases::recuse))
        .route("/api/v1/cases/{case}/close", post(cases::close))
        // Judges.
        .route("/api/v1/judges/{judge}/docket", get(judges::docket))
        .route(
            "/api/v1/judges/{judge}/conflicts",
            get(judges::list_conflicts).post(judges::declare_conflict),
        )
        .route(
            "/api/v1/judges/{judge}/conflicts/withdrawals",
            post(judges::withdraw_conflict),
        )
        // Court administrators.
        .route(
            "/api/v1/courts/{court}/divisions",
            post(admin::create_division),
        )
        .route("/api/v1/courts/{court}/judges", post(admin::register_judge))
        .route(
            "/api/v1/judges/{judge}",
            get(public::judge).put(admin::update_judge),
        )
        .route(
            "/api/v1/courts/{court}/judges/import",
            post(admin::import_judges_csv),
        )
        .route(
            "/api/v1/courts/{court}/absences",
            get(admin::court_absences),
        )
        .route(
            "/api/v1/judges/{judge}/absences",
            get(admin::list_absences).post(admin::record_absence),
        )
        .route("/api/v1/absences/{absence}", delete(admin::cancel_absence))
        // System administrators (and court administrators for their own court).
        .route("/api/v1/tokens", post(admin::create_token))
        .route("/api/v1/tokens/{credential}", delete(admin::revoke_token))
        .route("/api/v1/enrollments", post(admin::open_enrollment))
        .route(
            "/api/v1/enrollments/complete",
            post(admin::complete_enrollment),
        )
}

/// A tree head: the number of entries and the RFC 9162 Merkle root over them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Checkpoint {
    /// Number of entries in the log.
    pub size: u64,
    /// Merkle root, 64 hex characters.
    #[schema(value_type = String)]
    pub root: Digest32,
}

/// An entry with its inclusion proof in the tree of the accompanying checkpoint.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProvenEntry {
    /// The entry exactly as in the export format.
    #[schema(value_type = Object)]
    pub entry: LogEntry,
    /// RFC 9162 inclusion proof of `entry.hash` at `entry.index` in the checkpoint's tree.
    #[schema(value_type = Vec<String>)]
    pub inclusion: Vec<Digest32>,
}

/// The proof of one draw: the entry that opened it (a filing, a recusal or a reassignment), the
/// draw entry itself, and a checkpoint both are proven against.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DrawProof {
    /// The tree both proofs refer to.
    pub checkpoint: Checkpoint,
    /// The entry that opened the draw.
    pub trigger: ProvenEntry,
    /// The draw entry: eligible pool with loads and weights, exclusions with reasons, beacon value,
    /// seed and the judges chosen.
    pub draw: ProvenEntry,
    /// For a random draw, the entry holding the beacon chain's value before this draw's reveal
    /// (SPEC §6.1): the latest earlier random draw of the same chain, or the `genesis` or
    /// `beacon_anchored` entry whose anchor the reveal follows; with its inclusion proof in the
    /// same checkpoint, so that `H(reveal) = previous value` can be checked from this answer alone.
    /// Given by `GET /api/v1/cases/{case}/proof`; absent elsewhere and for bound draws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beacon_previous: Option<ProvenEntry>,
    /// For a drand draw, the `drand_configured` entry in force at its trigger (SPEC §6.3), proven
    /// in the same checkpoint, so that the round's BLS signature can be checked from this answer
    /// alone. Given by `GET /api/v1/cases/{case}/proof`; absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drand_configured: Option<ProvenEntry>,
}

/// Where a change was recorded.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Recorded {
    /// Index of the log entry.
    pub index: u64,
    /// Its hash.
    #[schema(value_type = String)]
    pub hash: Digest32,
    /// Things the person who made the change should know, in words (for example a judge who can
    /// receive no case type); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl From<&LogEntry> for Recorded {
    fn from(e: &LogEntry) -> Recorded {
        Recorded {
            index: e.index,
            hash: e.hash,
            warnings: vec![],
        }
    }
}

pub(crate) fn parse_court(s: &str) -> ApiResult<CourtId> {
    CourtId::parse(s).map_err(|_| ApiError::not_found(format!("there is no court {s:?}")))
}

pub(crate) fn parse_case(s: &str) -> ApiResult<CaseId> {
    CaseId::parse(s).map_err(|_| ApiError::not_found(format!("there is no case {s:?}")))
}

pub(crate) fn parse_judge(s: &str) -> ApiResult<JudgeId> {
    JudgeId::parse(s).map_err(|_| ApiError::not_found(format!("there is no judge {s:?}")))
}

/// Refuses with 503 until the log has its genesis entry.
pub(crate) fn require_genesis(state: &State) -> ApiResult<()> {
    if state.policy().is_none() {
        return Err(ApiError::new(
            Kind::NotInitialized,
            "the log has no genesis entry yet: run 'klero init' (or 'klero serve --demo')",
        ));
    }
    Ok(())
}

/// The entry of `entries` written last (the one a simple change produced).
pub(crate) fn last(entries: &[LogEntry]) -> ApiResult<&LogEntry> {
    entries
        .last()
        .ok_or_else(|| ApiError::internal("the store appended no entry"))
}

/// Builds the proof of the draw among `entries` (a trigger and its draw, as `submit` returns them).
pub(crate) async fn draw_proof(app: &AppState, entries: &[LogEntry]) -> ApiResult<DrawProof> {
    let draw = entries
        .iter()
        .find(|e| matches!(e.event, Event::Draw(_)))
        .ok_or_else(|| ApiError::internal("a draw trigger was appended without its draw"))?;
    let trigger = entries
        .iter()
        .find(|e| e.event.opens_draw().is_some())
        .ok_or_else(|| ApiError::internal("a draw was appended without its trigger"))?;
    prove(app, trigger.clone(), draw.clone()).await
}

/// Proves `trigger` and `draw` against the current checkpoint.
pub(crate) async fn prove(
    app: &AppState,
    trigger: LogEntry,
    draw: LogEntry,
) -> ApiResult<DrawProof> {
    let (size, root) = app.store.checkpoint();
    let mut p = inclusions(app, &[trigger.index, draw.index], size)
        .await?
        .into_iter();
    let mut next = || p.next().unwrap_or_default();
    Ok(DrawProof {
        checkpoint: Checkpoint { size, root },
        trigger: ProvenEntry {
            inclusion: next(),
            entry: trigger,
        },
        draw: ProvenEntry {
            inclusion: next(),
            entry: draw,
        },
        beacon_previous: None,
        drand_configured: None,
    })
}

/// The inclusion proofs of entries `indices` in the tree of `size` entries (all known to be in
/// range), in order; the stored tiles they need are read once.
pub(crate) async fn inclusions(
    app: &AppState,
    indices: &[u64],
    size: u64,
) -> ApiResult<Vec<Vec<klero_core::Digest32>>> {
    app.store
        .inclusion_proofs(indices, size)
        .await?
        .ok_or_else(|| ApiError::internal(format!("no inclusion proof for entries {indices:?}")))
}

/// The latest entry before `before` that `wanted` picks, read backwards in pages that grow (4,
/// 16, 64, then 256 entries): the entry sought is usually a few entries back, and every entry read
/// is decoded and checked.
pub(crate) async fn latest_before(
    app: &AppState,
    before: u64,
    wanted: impl Fn(&LogEntry) -> bool,
) -> ApiResult<Option<LogEntry>> {
    let mut page = 4;
    let mut end = before;
    while end > 0 {
        let start = end.saturating_sub(page);
        let entries = app.store.entries(start, end).await?;
        if let Some(e) = entries.into_iter().rev().find(&wanted) {
            return Ok(Some(e));
        }
        end = start;
        page = (page * 4).min(256);
    }
    Ok(None)
}

/// The entry before `draw` (at index `draw_index`) that holds the beacon chain's current value:
/// the latest earlier `genesis`, `beacon_anchored` or random draw (one with a reveal). A random
/// draw usually has one a few entries back.
pub(crate) async fn beacon_previous(app: &AppState, draw_index: u64) -> ApiResult<LogEntry> {
    latest_before(app, draw_index, holds_beacon_value)
        .await?
        .ok_or_else(|| ApiError::internal("no entry before a random draw holds a beacon value"))
}

/// True for an entry that holds a beacon chain value: `genesis`, `beacon_anchored`, or a random
/// draw (one with a hash-chain reveal).
pub(crate) fn holds_beacon_value(e: &LogEntry) -> bool {
    match &e.event {
        Event::Genesis { .. } | Event::BeaconAnchored { .. } => true,
        Event::Draw(d) => matches!(d.beacon, Some(klero_core::BeaconReveal::HashChain { .. })),
        _ => false,
    }
}

/// Today's UTC day.
pub(crate) fn today() -> klero_core::Day {
    klero_core::Day::from_millis(now_millis())
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
