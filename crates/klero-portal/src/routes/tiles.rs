//! C2SP tlog-tiles (SPEC §5.4): `/checkpoint`, hash tiles `/tile/<L>/<N>[.p/<W>]` and entry
//! bundles `/tile/entries/<N>[.p/<W>]`, as static resources a client fetches in parallel and
//! caches. Full tiles never change (`immutable`); partial ones and the checkpoint are cached for
//! a few seconds only.

use axum::extract::{Path, State as AxState};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use klero_core::tiles::Tile;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Kind};

/// The caching of a full tile or bundle: a year, immutable.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The caching of a partial tile or bundle and of the checkpoint.
pub const SHORT: &str = "public, max-age=5";

/// The log's current checkpoint, signed by the log's key (SPEC §5.1), at the tlog-tiles place.
pub async fn checkpoint(AxState(app): AxState<AppState>) -> ApiResult<Response> {
    let note = app
        .store
        .signed_checkpoint()
        .ok_or_else(|| ApiError::not_found("the log has no genesis entry yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, SHORT),
        ],
        note,
    )
        .into_response())
}

/// One hash tile or entry bundle.
pub async fn tile(
    AxState(app): AxState<AppState>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    let t = Tile::parse(&rest).map_err(|m| ApiError::new(Kind::InvalidParameter, m))?;
    let (size, _) = app.store.checkpoint();
    let body = match t.level {
        Some(level) => {
            let hs = app
                .store
                .tile(level, t.index, t.width)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "the log of {size} entries has no tile {}",
                        t.path()
                    ))
                })?;
            klero_core::tiles::encode_hashes(&hs)
        }
        None => {
            let start = t.index.saturating_mul(256);
            let end = start.saturating_add(u64::from(t.width));
            if end > size {
                return Err(ApiError::not_found(format!(
                    "the log of {size} entries has no bundle {}",
                    t.path()
                )));
            }
            let entries = app.store.entries(start, end).await?;
            let lines: Vec<String> = entries.iter().map(|e| e.to_json_line()).collect();
            klero_core::tiles::encode_bundle(lines.iter().map(|l| l.as_bytes()))
                .map_err(|m| ApiError::new(Kind::Internal, m))?
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CACHE_CONTROL,
                if t.is_full() { IMMUTABLE } else { SHORT },
            ),
        ],
        body,
    )
        .into_response())
}
