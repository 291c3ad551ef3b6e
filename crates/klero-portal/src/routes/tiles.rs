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
#[utoipa::path(
    get,
    path = "/checkpoint",
    tag = "public",
    responses(
        (status = 200, description = "The current checkpoint as a C2SP signed note, signed by the log alone (SPEC §5.4; the cosigned note is at /api/v1/log/checkpoint with Accept: text/plain). Cached for 5 s.", body = String, content_type = "text/plain"),
        (status = 404, description = "The log has no genesis entry yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkpoint(AxState(app): AxState<AppState>) -> ApiResult<Response> {
    let note = app
        .store
        .signed_checkpoint()
        .ok_or_else(super::public::no_genesis)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, SHORT),
        ],
        note,
    )
        .into_response())
}

/// The grammar of a tile's path below `/tile/` (SPEC §5.4), exactly as [`Tile::parse`] reads it:
/// a level from 0 to 63 without leading zeros or `entries`; the index as three-digit groups, all
/// but the last prefixed with `x`, the first of several not `x000`; a partial width from 1 to 255
/// without leading zeros. (An index beyond 2^64 − 1 matches and is refused with 400.) The
/// annotation below repeats it as a literal; a test checks the two are the same.
#[cfg(test)]
const TILE_PATH_PATTERN: &str = r"^(entries|[0-9]|[1-5][0-9]|6[0-3])/(x(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(x[0-9]{3}/)*)?[0-9]{3}(\.p/([1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$";

/// One hash tile or entry bundle (C2SP tlog-tiles, SPEC §5.4): `/tile/<L>/<N>[.p/<W>]` (the
/// hashes, 32 bytes each) or `/tile/entries/<N>[.p/<W>]` (the entries' export lines, each after its
/// length as a big-endian u16). Full ones never change and are cached for a year; partial ones for
/// 5 s.
#[utoipa::path(
    get,
    path = "/tile/{tile}",
    tag = "public",
    params(
        ("tile" = String, Path,
            description = "The path below /tile/, e.g. `0/x001/234`, `1/000.p/17` or `entries/005.p/3`. Its slashes may be sent as they are (it spans several path segments) or percent-encoded.",
            pattern = r"^(entries|[0-9]|[1-5][0-9]|6[0-3])/(x(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(x[0-9]{3}/)*)?[0-9]{3}(\.p/([1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$"),
    ),
    responses(
        (status = 200, description = "The tile's hashes or the bundle's entries", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Not a tile path (SPEC §5.4), or an index beyond 2^64 - 1", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The log does not hold that tile or bundle yet", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern the OpenAPI document gives for a tile path accepts exactly what the server
    /// parses (so schemathesis's negative cases are refused and its positive ones are not), and
    /// it is the one in the document.
    #[test]
    fn the_documented_pattern_is_the_parser() {
        let re = regex::Regex::new(TILE_PATH_PATTERN).expect("the pattern compiles");
        let heads = [
            "entries", "0", "9", "10", "59", "63", "64", "01", "-1", "", "entry", "1a",
        ];
        let indexes = [
            "000",
            "999",
            "x001/000",
            "x000/001",
            "x999/x000/123",
            "x010/x001/x002/x003/x004/005",
            "00",
            "0000",
            "x01/000",
            "x001/x002/003/",
            "x001",
            "001/002",
            "",
            "x001/x002",
            "1/000",
            "0a0",
        ];
        let suffixes = [
            "", ".p/1", ".p/9", ".p/10", ".p/99", ".p/100", ".p/199", ".p/249", ".p/255", ".p/256",
            ".p/0", ".p/07", ".p/", ".q/3", ".p/1/", "p/1",
        ];
        let mut seen = 0;
        for h in heads {
            for i in indexes {
                for x in suffixes {
                    let path = format!("{h}/{i}{x}");
                    assert_eq!(
                        re.is_match(&path),
                        Tile::parse(&path).is_ok(),
                        "{path}: the pattern and the parser disagree"
                    );
                    seen += usize::from(re.is_match(&path));
                }
            }
        }
        assert!(seen > 100, "{seen}");
        let doc = crate::openapi::openapi_json();
        let escaped = serde_json::to_string(TILE_PATH_PATTERN).expect("a string");
        assert!(doc.contains(&escaped), "the document carries the pattern");
        assert!(doc.contains("\"/tile/{tile}\""));
        assert!(doc.contains("\"/checkpoint\""));
    }
}
