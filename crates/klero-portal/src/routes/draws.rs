//! Pending draws: with drand in force a draw waits for its round (SPEC §7.7). Filing answers at
//! once with the pending draw; the allocator appends the draw when the round is published.

use std::time::Duration;

use axum::extract::State as AxState;
use klero_core::{CaseId, Digest32, LogEntry, Method, PendingDrand, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{DrawProof, prove};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Kind};

/// The longest a request may wait for its draw, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// A draw that waits for its drand round.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PendingDrawView {
    /// The case.
    #[schema(value_type = String)]
    pub case: CaseId,
    /// Index of the entry that opened the draw (the filing, a recusal or a reassignment).
    pub trigger: u64,
    /// How the draw will be made (a random method).
    #[schema(value_type = Object)]
    pub method: Method,
    /// The trigger's commit time, Unix seconds (SPEC §6.4), once known.
    pub commit_time: Option<u64>,
    /// The drand round the draw must use: the first whose time is strictly after the commit
    /// time; `null` while the commit time is not known.
    pub round: Option<u64>,
    /// When that round is due, Unix seconds.
    pub due: Option<u64>,
    /// The drand chain's hash.
    #[schema(value_type = String)]
    pub chain_hash: Digest32,
    /// Whether the allocator recorded in the log that the round is overdue (drand unreachable);
    /// the draw keeps waiting for that same round.
    pub delayed: bool,
    /// Where to read the case (it shows the judges once drawn).
    pub poll: String,
}

impl From<PendingDrand> for PendingDrawView {
    fn from(p: PendingDrand) -> PendingDrawView {
        PendingDrawView {
            poll: format!("/api/v1/cases/{}", p.case),
            due: p.round.map(|r| p.chain.round_time(r)),
            case: p.case,
            trigger: p.trigger,
            method: p.method,
            commit_time: p.commit_time,
            round: p.round,
            chain_hash: p.chain.chain_hash,
            delayed: p.delayed,
        }
    }
}

/// `?wait=SECONDS`: how long to hold the answer for the draw, at most 30 seconds.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Seconds to wait for a pending draw before answering (0 to 30; default 0).
    pub wait: Option<u64>,
}

impl Wait {
    /// The wait, checked.
    pub fn duration(&self) -> ApiResult<Duration> {
        match self.wait {
            Some(w) if w > MAX_WAIT_SECONDS => Err(ApiError::new(
                Kind::InvalidParameter,
                format!("wait is at most {MAX_WAIT_SECONDS} seconds, not {w}"),
            )),
            w => Ok(Duration::from_secs(w.unwrap_or(0))),
        }
    }
}

/// The draw entry of the draw opened by entry `trigger` of `case`, if it has been appended.
fn drawn_index(state: &State, case: &CaseId, trigger: u64) -> Option<u64> {
    let c = state.case(case)?;
    if state
        .pending_drand_of(case)
        .is_some_and(|p| p.trigger == trigger)
    {
        return None;
    }
    c.draws.iter().copied().find(|&d| d > trigger)
}

/// Waits up to `wait` for the draw opened by `trigger` and returns its proof once appended, or
/// the pending draw if it is still waiting.
pub(crate) async fn await_draw(
    app: &AppState,
    case: &CaseId,
    trigger: LogEntry,
    wait: Duration,
) -> ApiResult<Result<DrawProof, PendingDrawView>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut rx = app.store.subscribe();
    loop {
        rx.borrow_and_update();
        let found = app.store.read(|s| drawn_index(s, case, trigger.index));
        if let Some(d) = found {
            let draw = super::cases::entry_at(app, d).await?;
            return prove(app, trigger, draw).await.map(Ok);
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            break;
        }
    }
    app.store
        .read(|s| s.pending_drand_of(case))
        .filter(|p| p.trigger == trigger.index)
        .map(|p| Ok(Err(p.into())))
        .unwrap_or_else(|| {
            Err(ApiError::internal(
                "the draw is neither pending nor appended",
            ))
        })
}

/// Every draw waiting for its drand round, in trigger order (public).
#[utoipa::path(
    get,
    path = "/api/v1/draws/pending",
    tag = "public",
    responses((status = 200, description = "The pending draws, in the order they will be drawn", body = Vec<PendingDrawView>))
)]
pub async fn pending(AxState(app): AxState<AppState>) -> axum::Json<Vec<PendingDrawView>> {
    axum::Json(
        app.store
            .read(|s| s.pending_drand())
            .into_iter()
            .map(Into::into)
            .collect(),
    )
}
