//! The log server's side of witnessing (SPEC §5.3): after every committed batch, ask each
//! configured witness to cosign the new checkpoint (C2SP tlog-witness `add-checkpoint`),
//! concurrently and each under a timeout, so a slow or dead witness never holds up filing; keep
//! the latest checkpoint a quorum cosigned, with the cosignatures gathered (served by
//! `GET /api/v1/log/checkpoint` as `text/plain`; until a quorum has cosigned one, the latest with
//! any cosignature); and, when a pending draw waits for a witnessed commit (SPEC §6.4), record a
//! quorum-cosigned checkpoint in the log as a `checkpoint_witnessed` entry.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use klero_core::checkpoint::{CosignatureVerifier, body, split_cosignature};
use klero_core::witness::request_body;
use klero_core::{
    Actor, Cosignature, Event, LogEntry, RejectKind, Rejection, Role, State, Witness,
};
use klero_store::{Store, StoreError};
use tokio::task::JoinHandle;

use crate::client::Client;

/// One witness as the server is configured with it: `NAME=URL=VKEY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The witness's name (the name of its key).
    pub name: String,
    /// Its submission prefix, e.g. `http://witness.example:7380`.
    pub url: String,
    /// Its `cosignature/v1` verifier key.
    pub key: String,
}

/// Parses `NAME=URL=VKEY` (the key's base64 may itself end in `=`).
pub fn parse_endpoint(arg: &str) -> Result<Endpoint, String> {
    let mut parts = arg.splitn(3, '=');
    let (Some(name), Some(url), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{arg:?} is not NAME=URL=VERIFIER-KEY"));
    };
    let v = CosignatureVerifier::new(key)?;
    if v.name() != name {
        return Err(format!("the key {key:?} is not named {name:?}"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "the witness URL {url:?} does not start with http://"
        ));
    }
    Ok(Endpoint {
        name: name.to_owned(),
        url: url.trim_end_matches('/').to_owned(),
        key: key.to_owned(),
    })
}

/// The actor of the `witnesses_configured` entry the server appends from its configuration.
pub fn configuration_actor() -> Actor {
    Actor::new(Role::SystemAdmin, "server-configuration")
}

/// Records the witness set `endpoints` with `quorum` in the log (`witnesses_configured`) unless it
/// is already the one in force. Returns the entry appended, if any.
pub async fn configure(
    store: &Store,
    endpoints: &[Endpoint],
    quorum: u8,
) -> Result<Option<LogEntry>, StoreError> {
    let witnesses: Vec<Witness> = endpoints
        .iter()
        .map(|e| Witness {
            name: e.name.clone(),
            key: e.key.clone(),
        })
        .collect();
    let same = |s: &State| s.witnesses() == Some((witnesses.as_slice(), quorum));
    if store.read(same) {
        return Ok(None);
    }
    let w = witnesses.clone();
    let entries = store
        .submit(move |_| {
            Ok((
                configuration_actor(),
                Event::WitnessesConfigured {
                    witnesses: w,
                    quorum,
                },
            ))
        })
        .await?;
    Ok(entries.into_iter().next())
}

/// A checkpoint and the cosignatures gathered for it.
#[derive(Clone, Debug)]
pub struct Gathered {
    /// The checkpoint's size.
    pub size: u64,
    /// The signed note with every cosignature line gathered.
    pub note: String,
    /// The cosignatures, each checked against its witness's key.
    pub cosignatures: Vec<Cosignature>,
}

/// Asks witnesses to cosign the log's checkpoints.
pub struct Witnessing {
    store: Store,
    endpoints: Vec<(Endpoint, CosignatureVerifier, Client)>,
    quorum: u8,
    timeout: Duration,
    /// The size each witness last cosigned, as far as this server knows.
    known: HashMap<String, u64>,
    /// Whether the checkpoint served was cosigned by a quorum.
    served_quorum: bool,
}

impl Witnessing {
    /// For `store`, the witnesses `endpoints` and `quorum`; each request waits at most `timeout`.
    pub fn new(
        store: Store,
        endpoints: &[Endpoint],
        quorum: u8,
        timeout: Duration,
    ) -> Result<Witnessing, String> {
        let endpoints = endpoints
            .iter()
            .map(|e| {
                Ok((
                    e.clone(),
                    CosignatureVerifier::new(&e.key)?,
                    Client::new(&e.url),
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Witnessing {
            store,
            endpoints,
            quorum,
            timeout,
            known: HashMap::new(),
            served_quorum: false,
        })
    }

    /// Asks every witness, concurrently, to cosign the current checkpoint; keeps the note with the
    /// cosignatures gathered in the store (if any witness cosigned). `None` before genesis.
    pub async fn round(&mut self) -> Option<Gathered> {
        let key = self.store.log_key()?;
        let (size, root) = self.store.checkpoint();
        let note = key.sign(size, &root);
        let origin = self.store.read(|s| s.log_id().cloned())?;
        let text = body(origin.as_str(), size, &root);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (e, v, client)) in self.endpoints.iter().enumerate() {
            let known = self.known.get(&e.name).copied().unwrap_or(0);
            let (store, note, text) = (self.store.clone(), note.clone(), text.clone());
            let (e, v, client, timeout) = (e.clone(), v.clone(), client.clone(), self.timeout);
            tasks.spawn(async move {
                let r = tokio::time::timeout(
                    timeout,
                    ask(&store, &client, &e, &v, known, size, &note, &text),
                )
                .await
                .unwrap_or_else(|_| {
                    Err((
                        None,
                        format!("no answer within {} s", timeout.as_secs_f32()),
                    ))
                });
                (i, r)
            });
        }
        let mut got: Vec<(usize, u64, Cosignature, String)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, r)) = joined else { continue };
            let name = self.endpoints[i].0.name.clone();
            match r {
                Ok((cosig, line)) => {
                    self.known.insert(name, size);
                    got.push((i, size, cosig, line));
                }
                Err((learned, why)) => {
                    if let Some(n) = learned {
                        self.known.insert(name.clone(), n);
                    }
                    tracing::warn!(witness = %name, size, "the witness did not cosign: {why}");
                }
            }
        }
        got.sort_by_key(|g| g.0);
        if got.is_empty() {
            return None;
        }
        let mut cosigned = note.clone();
        for g in &got {
            cosigned.push_str(&g.3);
        }
        // Serve the newest checkpoint a quorum cosigned; one below the quorum only until a quorum
        // has cosigned any (an observer who requires the quorum then still gets one).
        let quorate = got.len() >= usize::from(self.quorum);
        if quorate || !self.served_quorum {
            self.store.set_cosigned_checkpoint(size, cosigned.clone());
            self.served_quorum |= quorate;
        }
        Some(Gathered {
            size,
            note: cosigned,
            cosignatures: got.into_iter().map(|g| g.2).collect(),
        })
    }

    /// Runs forever: a round at start and after every committed batch (batches committed during a
    /// round are covered by the next one); when a round reaches the quorum and pending draws wait
    /// for a witnessed commit, records the checkpoint (`checkpoint_witnessed`).
    pub fn spawn(mut self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut sizes = self.store.subscribe();
            loop {
                if let Some(g) = self.round().await
                    && g.cosignatures.len() >= usize::from(self.quorum)
                    && let Err(e) =
                        record_witnessed(&self.store, &g, |s| s.pending_needing_witness()).await
                {
                    tracing::warn!("recording a witnessed checkpoint failed: {e}");
                }
                if sizes.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// Asks one witness; on a 409 learns its size and asks once more with the right proof. `Ok` is
/// the checked cosignature and its note line; `Err` carries the size learned (if any) and why.
#[allow(clippy::too_many_arguments)]
async fn ask(
    store: &Store,
    client: &Client,
    e: &Endpoint,
    v: &CosignatureVerifier,
    mut old: u64,
    size: u64,
    note: &str,
    text: &str,
) -> Result<(Cosignature, String), (Option<u64>, String)> {
    let mut learned = None;
    for _ in 0..2 {
        let proof = if old == 0 || old >= size {
            vec![]
        } else {
            match store.consistency_proof(old, size).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    return Err((
                        learned,
                        format!("no consistency proof from {old} to {size}"),
                    ));
                }
                Err(e) => {
                    return Err((
                        learned,
                        format!("no consistency proof from {old} to {size}: {e}"),
                    ));
                }
            }
        };
        let r = client
            .send_raw(
                Method::POST,
                "/add-checkpoint",
                None,
                Some("text/plain"),
                request_body(old, &proof, note).into_bytes(),
                &[],
            )
            .await
            .map_err(|m| (learned, m))?;
        match r.status {
            200 => {
                let text_body = r.text();
                for line in text_body.split_terminator('\n') {
                    let Ok(sig) = signed_note_line(line) else {
                        continue;
                    };
                    if sig.0 != v.name() || sig.1 != v.key_id() {
                        continue;
                    }
                    let Some((time, signature)) = split_cosignature(&sig.2) else {
                        continue;
                    };
                    if v.verify(text, time, &signature) {
                        return Ok((
                            Cosignature {
                                witness: e.name.clone(),
                                time,
                                signature,
                            },
                            format!("{line}\n"),
                        ));
                    }
                }
                return Err((learned, "its answer holds no valid cosignature".into()));
            }
            409 => {
                let n: u64 = r.text().trim().parse().map_err(|_| {
                    (
                        learned,
                        format!("its 409 answer {:?} is not a size", r.text()),
                    )
                })?;
                if n > size {
                    return Err((
                        Some(n),
                        format!("it has cosigned {n} entries, more than this log's {size}"),
                    ));
                }
                learned = Some(n);
                old = n;
            }
            s => return Err((learned, format!("it answered {s}: {}", r.text().trim()))),
        }
    }
    Err((learned, "it kept answering 409".into()))
}

/// Parses a note signature line: name, key ID, the rest of the signature bytes.
fn signed_note_line(line: &str) -> Result<(String, u32, Vec<u8>), ()> {
    use base64::Engine as _;
    let rest = line.strip_prefix("\u{2014} ").ok_or(())?;
    let (name, b64) = rest.split_once(' ').ok_or(())?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| ())?;
    let (id, sig) = raw.split_first_chunk::<4>().ok_or(())?;
    Ok((name.to_owned(), u32::from_be_bytes(*id), sig.to_vec()))
}

/// Why [`record_witnessed`] appended nothing (not an error).
const NOTHING_WAITS: &str = "no pending draw waits for this checkpoint";

/// Records `g` in the log as a `checkpoint_witnessed` entry (actor: the allocator) if a trigger
/// that `needs` names in the state at append time lies inside the checkpoint (index < size);
/// appends nothing otherwise, so cosigning the new entry does not call for another one. Returns
/// the entry appended, if any.
pub async fn record_witnessed(
    store: &Store,
    g: &Gathered,
    needs: impl FnOnce(&State) -> Vec<u64> + Send + 'static,
) -> Result<Option<LogEntry>, StoreError> {
    let (size, cosignatures) = (g.size, g.cosignatures.clone());
    let r = store
        .submit(move |s| {
            if !needs(s).iter().any(|&i| i < size) {
                return Err(Rejection::new(RejectKind::WrongState, NOTHING_WAITS));
            }
            Ok((
                Actor::system(),
                Event::CheckpointWitnessed { size, cosignatures },
            ))
        })
        .await;
    match r {
        Ok(v) => Ok(v.into_iter().next()),
        Err(StoreError::Rejected(r)) if r.message == NOTHING_WAITS => Ok(None),
        Err(e) => Err(e),
    }
}
