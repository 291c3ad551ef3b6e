//! `klero witness`: the small program an independent institution runs to witness a log (SPEC
//! §5.3). It speaks C2SP tlog-witness (`POST /add-checkpoint`), keeps its key and its state in one
//! directory of its own, cosigns only consistent extensions of what it cosigned before, and keeps
//! any fork it is shown as evidence (files in `DIR/evidence/`, served at `GET /evidence`, told on
//! standard error).
//!
//! The directory holds `witness.key` (the witness's name and its Ed25519 seed, mode 0600),
//! `state.json` (per log, the last checkpoint cosigned; replaced atomically: written to a
//! temporary file, synced, renamed) and `evidence/`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use klero_core::checkpoint::WitnessKey;
use klero_core::witness::{Cosigned, Decision, add_checkpoint};
use tokio::sync::Mutex;

/// The key file in a witness's directory.
const KEY_FILE: &str = "witness.key";
/// The state file in a witness's directory.
const STATE_FILE: &str = "state.json";
/// The largest add-checkpoint body accepted (63 proof lines and a note with 100 signatures fit).
const MAX_BODY: usize = 64 * 1024;

/// Makes a new witness in `dir`: an Ed25519 key named `name`, written with mode 0600. Refuses a
/// directory that already holds a key. Returns the witness's verifier key.
pub fn init(dir: &Path, name: &str) -> Result<String, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| format!("the operating system gave no randomness: {e}"))?;
    let key = WitnessKey::new(name, &seed)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(KEY_FILE);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} already holds a witness key: a witness keeps its key (move it away to start \
                 a new witness)",
                dir.display()
            )
        } else {
            format!("cannot create {}: {e}", path.display())
        }
    })?;
    writeln!(f, "{name}\n{}", hex::encode(seed))
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key.verifier_key().to_owned())
}

/// Reads the witness key of `dir`.
pub fn load_key(dir: &Path) -> Result<WitnessKey, String> {
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read the witness key {}: {e} (run `klero witness init` first)",
            path.display()
        )
    })?;
    let mut lines = text.lines();
    let (Some(name), Some(seed)) = (lines.next(), lines.next()) else {
        return Err(format!("{} is not a witness key file", path.display()));
    };
    let seed: [u8; 32] = hex::decode(seed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{} is not a witness key file", path.display()))?;
    WitnessKey::new(name, &seed)
}

/// Parses `ORIGIN=VKEY` (a log's origin and its signed-note verifier key).
pub fn parse_log(arg: &str) -> Result<(String, String), String> {
    let (origin, vkey) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?} is not ORIGIN=VERIFIER-KEY"))?;
    if klero_core::checkpoint::log_key_origin(vkey)? != origin {
        return Err(format!("the key {vkey:?} is not named {origin:?}"));
    }
    Ok((origin.to_owned(), vkey.to_owned()))
}

/// A running witness: its key, the logs it knows and its state.
pub struct Witness {
    dir: PathBuf,
    key: WitnessKey,
    logs: BTreeMap<String, String>,
    /// Held across each decision and its write, so check-and-persist is atomic.
    state: Mutex<BTreeMap<String, Cosigned>>,
}

impl Witness {
    /// Opens the witness in `dir` for the logs `logs` (origin -> verifier key).
    pub fn open(dir: &Path, logs: BTreeMap<String, String>) -> Result<Arc<Witness>, String> {
        let key = load_key(dir)?;
        let path = dir.join(STATE_FILE);
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a witness state: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        std::fs::create_dir_all(dir.join("evidence"))
            .map_err(|e| format!("cannot create {}/evidence: {e}", dir.display()))?;
        Ok(Arc::new(Witness {
            dir: dir.to_owned(),
            key,
            logs,
            state: Mutex::new(state),
        }))
    }

    /// The witness's verifier key.
    pub fn verifier_key(&self) -> &str {
        self.key.verifier_key()
    }

    /// Answers one add-checkpoint body at `now` (seconds): decides, persists, answers.
    pub async fn add_checkpoint(&self, body: &str, now: u64) -> Response {
        let mut state = self.state.lock().await;
        match add_checkpoint(&self.logs, &state, body, &self.key, now) {
            Decision::Cosign {
                origin,
                cosigned,
                lines,
            } => {
                let mut next = state.clone();
                next.insert(origin, cosigned);
                if let Err(e) = write_atomically(&self.dir.join(STATE_FILE), &next) {
                    eprintln!("witness: cannot save the state, not cosigning: {e}");
                    return text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the witness cannot save its state\n".into(),
                    );
                }
                *state = next;
                text(StatusCode::OK, lines)
            }
            Decision::BadRequest(m) => text(StatusCode::BAD_REQUEST, m + "\n"),
            Decision::Forbidden(m) => text(StatusCode::FORBIDDEN, m + "\n"),
            Decision::UnknownLog(m) => text(StatusCode::NOT_FOUND, m + "\n"),
            Decision::Unprocessable(m) => text(StatusCode::UNPROCESSABLE_ENTITY, m + "\n"),
            Decision::Conflict(size) => (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{size}\n"),
            )
                .into_response(),
            Decision::Fork(ev) => {
                let name = format!(
                    "{}-{now}-{}.txt",
                    ev.origin
                        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
                    ev.cosigned.size
                );
                let path = self.dir.join("evidence").join(&name);
                let saved = std::fs::write(&path, ev.to_text());
                eprintln!(
                    "witness: REFUSED TO COSIGN a checkpoint of log {}: it conflicts with the \
                     checkpoint of {} entries this witness cosigned before. {} Both signed \
                     checkpoints are kept as evidence in {}{}",
                    ev.origin,
                    ev.cosigned.size,
                    ev.reason,
                    path.display(),
                    match saved {
                        Ok(()) => String::new(),
                        Err(e) => format!(
                            " (but writing it failed: {e}); here it is:\n{}",
                            ev.to_text()
                        ),
                    }
                );
                text(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{} The evidence is kept by the witness.\n", ev.reason),
                )
            }
        }
    }

    /// Every evidence file, concatenated in name order (empty when there is none).
    pub fn evidence(&self) -> String {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.join("evidence"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        let mut out = String::new();
        for p in names {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push_str(&format!(
                    "==== {} ====\n",
                    p.file_name().unwrap_or_default().to_string_lossy()
                ));
                out.push_str(&t);
                out.push('\n');
            }
        }
        out
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Writes `value` as JSON to `path` atomically: a temporary file beside it, synced, then renamed
/// over it, then the directory synced.
fn write_atomically(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The witness's HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness) and `GET /evidence`.
pub fn router(w: Arc<Witness>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(|State(w): State<Arc<Witness>>, body: String| async move {
                w.add_checkpoint(&body, now_seconds()).await
            }),
        )
        .route(
            "/evidence",
            get(|State(w): State<Arc<Witness>>| async move { text(StatusCode::OK, w.evidence()) }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(w)
}

/// Serves the witness on `listener` until `shutdown` completes.
pub async fn serve(
    w: Arc<Witness>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = klero_portal::Limits::default();
    klero_portal::server::run(listener, router(w), limits, shutdown).await
}
