//! `klero export-tiles` and `klero verify --tiles`: the log as C2SP tlog-tiles (SPEC §5.4), written
//! to a directory for a plain static web server, and read back from such a directory or from any
//! server (`klero serve` serves the same resources under `/tile/`).

use std::path::{Path, PathBuf};

use base64::Engine;
use klero_core::merkle::leaf_hash;
use klero_core::state::fmt_index;
use klero_core::tiles::{self, Tile};
use klero_core::{Digest32, Report, Verifier};
use klero_store::Store;

use crate::verify::{Replay, check_published_key};

/// Writes the whole log as tiles under `dir`: `dir/checkpoint` (the log-signed note), every hash
/// tile and every entry bundle of the checkpoint's size, partial ones included. Returns the size.
pub async fn export_tiles(store: &Store, dir: &Path) -> Result<u64, String> {
    let note = store
        .signed_checkpoint()
        .ok_or("the log has no genesis entry yet")?;
    let cp = klero_core::checkpoint::verify(
        &note,
        store.log_key().ok_or("the log has no key")?.verifier_key(),
    )?;
    let size = cp.size;
    let write = |rel: &str, bytes: &[u8]| -> Result<(), String> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    for t in tiles::hash_tiles(size) {
        let level = t.level.unwrap_or(0);
        let hs = store
            .tile(level, t.index, t.width)
            .await
            .map_err(|e| format!("tile {}: {e}", t.path()))?
            .ok_or_else(|| format!("the store has no tile {}", t.path()))?;
        write(&t.path(), &tiles::encode_hashes(&hs))?;
    }
    for t in tiles::bundles(size) {
        let start = t.index * tiles::TILE_WIDTH;
        let entries = store
            .entries(start, start + u64::from(t.width))
            .await
            .map_err(|e| e.to_string())?;
        let lines: Vec<String> = entries.iter().map(|e| e.to_json_line()).collect();
        write(
            &t.path(),
            &tiles::encode_bundle(lines.iter().map(|l| l.as_bytes()))
                .map_err(|m| format!("entry bundle {}: {m}", fmt_index(t.index)))?,
        )?;
    }
    write("checkpoint", note.as_bytes())?;
    Ok(size)
}

/// Where tiles are read from: a directory written by [`export_tiles`], or a base URL.
#[derive(Clone, Debug)]
pub enum Source {
    /// A directory.
    Dir(PathBuf),
    /// A base URL (`http://host:port` for `klero serve`, or a static server's prefix).
    Url(String),
}

impl Source {
    /// A URL if `s` starts with `http://` or `https://`, else a directory.
    pub fn parse(s: &str) -> Source {
        if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.trim_end_matches('/').to_owned())
        } else {
            Source::Dir(PathBuf::from(s))
        }
    }

    /// Reads the resource at `rel` (`checkpoint`, `tile/...`); `Err` names what could not be read.
    pub(crate) fn get(&self, agent: &ureq::Agent, rel: &str) -> Result<Vec<u8>, String> {
        match self {
            Source::Dir(d) => {
                let p = d.join(rel);
                std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            }
            Source::Url(base) => {
                let url = format!("{base}/{rel}");
                let (status, body) = crate::verify::get_bytes(agent, &url, None, 64 << 20)?;
                if status != 200 {
                    return Err(format!(
                        "{url} answered {status}: {}",
                        crate::verify::problem_detail(&String::from_utf8_lossy(&body))
                    ));
                }
                Ok(body)
            }
        }
    }
}

/// The most entries the replay's tables are sized for at once from a checkpoint whose signature is
/// not checked yet (about fifteen years of a national log; beyond it the tables regrow as the replay
/// goes).
pub const UNSIGNED_RESERVE: u64 = 1 << 25;

/// The size and root of a checkpoint note, read without checking its signature (that comes after
/// the replay, when the key the log publishes is known).
pub(crate) fn unverified(note: &str) -> Result<(u64, Digest32), String> {
    let mut lines = note.split('\n');
    let (_origin, size, root) = (lines.next(), lines.next(), lines.next());
    let size: u64 = size
        .and_then(|s| s.parse().ok())
        .ok_or("the checkpoint's second line is not a size")?;
    let root: [u8; 32] = root
        .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or("the checkpoint's third line is not a root in base64")?;
    Ok((size, Digest32(root)))
}

/// Replays the log read from tiles: the checkpoint, every entry bundle with the level-0 tile beside
/// it (each entry's leaf hash must be the tile's), every tile above (each hash must be the MTH of
/// the full tile below it), the root from the partial tiles, and the signature of the checkpoint
/// under `pinned` or else under the key the log publishes in its `log_key_published` entry (which
/// is returned). A failure of the tiles names §5.4; `Err` only when the checkpoint cannot be read.
pub fn replay_tiles(
    src: &Source,
    pinned: Option<&str>,
    r: &mut dyn Replay,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<((u64, Digest32), Option<String>), String> {
    let agent = crate::verify::agent();
    let note = String::from_utf8(src.get(&agent, "checkpoint")?)
        .map_err(|_| "the checkpoint is not UTF-8".to_owned())?;
    let (size, root) = unverified(&note)?;
    if let Some(k) = pinned
        && let Err(m) = klero_core::checkpoint::verify(&note, k.trim())
    {
        r.fail("§5.1", m);
        return Ok(((size, root), Some(k.trim().to_owned())));
    }
    // The checkpoint names the log's size: size the replay's tables for it at once. Until its
    // signature is checked (after the replay, unless a key was pinned) the size is only the
    // source's word, and a mirror naming billions of entries it does not hold must not make the
    // verifier allocate for them: unsigned, it sizes the tables up to UNSIGNED_RESERVE entries.
    r.reserve(if pinned.is_some() {
        size
    } else {
        size.min(UNSIGNED_RESERVE)
    });
    let mut partials: Vec<Option<Vec<Digest32>>> = vec![None; 64];
    // The MTH of each full tile of the level below, which the level above must hold.
    let mut below: Vec<Digest32> = Vec::new();
    'bundles: for b in tiles::bundles(size) {
        let got = src.get(&agent, &b.path()).and_then(|bytes| {
            let lt = Tile {
                level: Some(0),
                ..b
            };
            let hs = tiles::decode_hashes(&src.get(&agent, &lt.path())?, b.width)
                .map_err(|m| format!("tile {}: {m}", lt.path()))?;
            Ok((bytes, hs))
        });
        let (bytes, hs) = match got {
            Ok(x) => x,
            Err(m) => {
                r.fail("§5.4", m);
                break;
            }
        };
        let items = match tiles::decode_bundle(&bytes, b.width) {
            Ok(i) => i,
            Err(m) => {
                r.fail("§5.4", format!("entry bundle {}: {m}", b.path()));
                break;
            }
        };
        let mut line = Vec::with_capacity(4096);
        for (k, item) in items.iter().enumerate() {
            line.clear();
            line.extend_from_slice(item);
            line.push(b'\n');
            let e = match klero_core::LogEntry::from_export_line(&line) {
                Ok(e) => e,
                Err(m) => {
                    r.fail(
                        "§8",
                        format!("entry {k} of {} is not a log entry: {m}", b.path()),
                    );
                    break 'bundles;
                }
            };
            // The tile is checked against the hash the entry states, before the entry is
            // replayed (which checks that hash): a failure names this entry.
            let leaf = leaf_hash(&e.hash.0);
            if leaf != hs[k] {
                r.fail(
                    "§5.4",
                    format!(
                        "its leaf hash is {leaf}, but the level-0 tile {} holds {}",
                        Tile {
                            level: Some(0),
                            ..b
                        }
                        .path(),
                        hs[k]
                    ),
                );
                break 'bundles;
            }
            if !r.push_with_leaf(&e, leaf) {
                break 'bundles;
            }
            if r.log().size().is_multiple_of(every) {
                progress(r.log().size());
            }
        }
        if b.is_full() {
            // The tile's Merkle tree hash, which the level-1 tile must hold: every leaf of the
            // tile was checked against the entry replayed, so it is the node the replay's own
            // tree just computed (not hashed again).
            below.push(
                r.log()
                    .last_tile()
                    .unwrap_or_else(|| tiles::mth_of_hashes(&hs)),
            );
        } else {
            partials[0] = Some(hs);
        }
    }
    if !r.failed() {
        'levels: for level in 1..=63u8 {
            let n = size >> (8 * u32::from(level));
            if n == 0 {
                break;
            }
            let mut next = Vec::new();
            for t in tiles::hash_tiles(size)
                .into_iter()
                .filter(|t| t.level == Some(level))
            {
                let hs = match src
                    .get(&agent, &t.path())
                    .and_then(|b| tiles::decode_hashes(&b, t.width))
                {
                    Ok(h) => h,
                    Err(m) => {
                        r.fail("§5.4", format!("tile {}: {m}", t.path()));
                        break 'levels;
                    }
                };
                let start = (t.index * tiles::TILE_WIDTH) as usize;
                for (k, h) in hs.iter().enumerate() {
                    if below.get(start + k) != Some(h) {
                        r.fail(
                            "§5.4",
                            format!(
                                "hash {k} of tile {} is not the Merkle tree hash of the tile below it",
                                t.path()
                            ),
                        );
                        break 'levels;
                    }
                }
                if t.is_full() {
                    next.push(tiles::mth_of_hashes(&hs));
                } else {
                    partials[usize::from(level)] = Some(hs);
                }
            }
            below = next;
        }
    }
    if !r.failed() {
        match tiles::root_from_partials(size, |l| {
            partials[usize::from(l)]
                .clone()
                .ok_or_else(|| format!("no partial tile at level {l}"))
        }) {
            Ok(t) if t != root => r.fail(
                "§5.4",
                format!("the tiles give root {t}, but the checkpoint says {root}"),
            ),
            Ok(_) => {}
            Err(m) => r.fail("§5.4", m),
        }
    }
    let key = pinned
        .map(|k| k.trim().to_owned())
        .or_else(|| r.log().state().log_key().map(str::to_owned));
    if !r.failed() {
        if size == 0 {
            r.fail("§9", "the log holds no entry".into());
        } else if r.log().root() != root {
            let got = r.log().root();
            r.fail(
                "§5",
                format!(
                    "the checkpoint gives Merkle root {root} for {} entries, but its entries give {got}",
                    fmt_index(size)
                ),
            );
        }
    }
    match &key {
        Some(k) => {
            check_published_key(r, k);
            if !r.failed()
                && let Err(m) = klero_core::checkpoint::verify(&note, k)
            {
                r.fail("§5.1", m);
            }
        }
        None if !r.failed() => r.fail(
            "§5.1",
            "the log publishes no key and none was given: the checkpoint's signature cannot be checked"
                .into(),
        ),
        None => {}
    }
    Ok(((size, root), key))
}

/// Verifies the log read from tiles (see [`replay_tiles`]); returns the report and the key the
/// checkpoint was checked with.
pub fn verify_tiles(
    src: &Source,
    log_key: Option<&str>,
) -> Result<(Report, Option<String>), String> {
    let (v, key) = replay_tiles_verifier(src, log_key, u64::MAX, &mut |_| {})?;
    Ok((v.report(), key))
}

/// The verifier after replaying the log read from tiles (see [`verify_tiles`]), and the key the
/// checkpoint was checked with; `progress` is called every `every` entries.
pub fn replay_tiles_verifier(
    src: &Source,
    log_key: Option<&str>,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(Verifier, Option<String>), String> {
    let mut v = Verifier::new();
    let (_, key) = replay_tiles(src, log_key, &mut v, every, progress)?;
    Ok((v, key))
}
