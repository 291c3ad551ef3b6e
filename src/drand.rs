//! The drand beacon at run time: a client of drand's HTTP API, the allocator's background task
//! that appends pending draws when their rounds are published (SPEC §7.7), and a small drand
//! server signing rounds with a test key (`klero drand-dev-server`) for tests and demos.
//!
//! The task is restartable by construction: what is pending is derived from the log (every
//! trigger whose random draw waits for a drand round), so a restarted server resumes exactly the
//! draws that were not appended, and a draw appended once is never pending again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use klero_core::{Actor, DevChain, Digest32, DrandChain, DrandSignature, Event, Role};
use klero_store::{Store, StoreError};
use serde_json::{Value, json};

use crate::client::Client;

/// The actor of the `drand_configured` entry the server writes at start.
pub const CONFIG_ACTOR: &str = "beacon-config";

/// Seconds since the Unix epoch, from the system clock.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A client of one chain of a drand HTTP relay (`{url}/{chain hash}/info`, `/public/{round}`).
#[derive(Clone)]
pub struct DrandClient {
    http: Client,
    prefix: String,
}

impl DrandClient {
    /// A client of chain `chain_hash` at `url` (e.g. `https://api.drand.sh`).
    pub fn new(url: &str, chain_hash: &Digest32) -> DrandClient {
        DrandClient {
            http: Client::new(url.trim_end_matches('/')),
            prefix: format!("/{chain_hash}"),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let path = format!("{}{path}", self.prefix);
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            self.http.send(Method::GET, &path, None, None, &[]),
        )
        .await
        .map_err(|_| format!("GET {path}: no answer within 10 seconds"))??;
        if r.status != 200 {
            return Err(format!("GET {path}: status {}", r.status));
        }
        Ok(r.json())
    }

    /// The chain's parameters as the relay states them.
    pub async fn info(&self) -> Result<DrandChain, String> {
        let v = self.get("/info").await?;
        let s = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| v[*n].as_str().map(str::to_owned))
                .ok_or_else(|| format!("the drand chain info has no {}", names[0]))
        };
        let n = |name: &str| {
            v[name]
                .as_u64()
                .ok_or_else(|| format!("the drand chain info has no {name}"))
        };
        Ok(DrandChain {
            chain_hash: Digest32::from_hex(&s(&["hash", "chain_hash"])?)?,
            public_key: klero_core::DrandPublicKey::from_hex(&s(&["public_key"])?)?,
            period_seconds: n("period")?,
            genesis_time: n("genesis_time")?,
            scheme: s(&["schemeID", "scheme"])?,
        })
    }

    /// The signature of `round`, or an error if the relay does not have it (yet).
    pub async fn round(&self, round: u64) -> Result<DrandSignature, String> {
        let v = self.get(&format!("/public/{round}")).await?;
        if v["round"].as_u64() != Some(round) {
            return Err(format!("the relay answered another round than {round}"));
        }
        DrandSignature::from_hex(v["signature"].as_str().unwrap_or_default())
    }
}

/// Fetches the chain's info from `client`, checks it against `expected` (quicknet's pinned
/// parameters by default), and records `drand_configured` unless the log already has exactly
/// this chain in force. Returns the chain.
pub async fn configure(
    store: &Store,
    client: &DrandClient,
    expected: &DrandChain,
    pin_all: bool,
) -> Result<DrandChain, String> {
    let info = client
        .info()
        .await
        .map_err(|e| format!("cannot read the drand chain's info: {e}"))?;
    if info.chain_hash != expected.chain_hash {
        return Err(format!(
            "the drand relay serves chain {}, not {}",
            info.chain_hash, expected.chain_hash
        ));
    }
    if pin_all && info != *expected {
        return Err(format!(
            "the drand relay's parameters for chain {} differ from the pinned ones (public key, \
             period, genesis time or scheme): refusing it",
            info.chain_hash
        ));
    }
    info.validate()?;
    if store.read(|s| s.drand().cloned()) == Some(info.clone()) {
        return Ok(info);
    }
    let c = info.clone();
    store
        .submit(move |_| {
            Ok((
                Actor::new(Role::SystemAdmin, CONFIG_ACTOR),
                Event::DrandConfigured {
                    chain_hash: c.chain_hash,
                    public_key: c.public_key,
                    period_seconds: c.period_seconds,
                    genesis_time: c.genesis_time,
                    scheme: c.scheme,
                },
            ))
        })
        .await
        .map_err(|e| format!("cannot record the drand configuration: {e}"))?;
    Ok(info)
}

/// Runs the allocator's drand task until the store closes: appends every pending draw whose round
/// is published, in trigger order and in batches, and records `beacon_delayed` for a draw whose
/// round is still missing `delay_notice` after its time.
pub async fn run(store: Store, client: DrandClient, delay_notice: Duration) {
    let mut changes = store.subscribe();
    let mut known: BTreeMap<u64, DrandSignature> = BTreeMap::new();
    loop {
        changes.borrow_and_update();
        let pending = store.read(|s| s.pending_drand());
        let now = now_secs();
        // Rounds wanted, in trigger order, up to the first draw whose commit time is unknown.
        let wanted: BTreeSet<u64> = pending.iter().map_while(|p| p.round).collect();
        known.retain(|r, _| wanted.contains(r));
        let mut next_due = None;
        for &r in &wanted {
            if known.contains_key(&r) {
                continue;
            }
            let chain = &pending[0].chain;
            if chain.round_time(r) > now {
                next_due = Some(chain.round_time(r));
                break;
            }
            match client.round(r).await {
                Ok(sig) => {
                    known.insert(r, sig);
                }
                Err(e) => {
                    tracing::debug!("drand round {r} not available yet: {e}");
                    break;
                }
            }
        }
        if !known.is_empty() {
            match store.append_drand_draws(known.clone()).await {
                Ok(drawn) if !drawn.is_empty() => {
                    tracing::info!(draws = drawn.len(), "appended pending drand draws");
                    continue;
                }
                Ok(_) => {}
                Err(StoreError::Rejected(r)) => {
                    tracing::warn!("the drand relay gave a round that does not verify: {r}");
                    known.clear();
                }
                Err(e) if store_closed(&e) => return,
                Err(e) => tracing::warn!("appending drand draws failed: {e}"),
            }
        }
        for p in &pending {
            let Some(r) = p.round else { continue };
            if p.delayed || known.contains_key(&r) {
                continue;
            }
            if now < p.chain.round_time(r) + delay_notice.as_secs() {
                continue;
            }
            let (case, trigger) = (p.case.clone(), p.trigger);
            tracing::warn!(
                %case, round = r,
                "drand round is overdue: recording beacon_delayed; the draw keeps waiting for it"
            );
            let r2 = store
                .submit(move |_| {
                    Ok((
                        Actor::system(),
                        Event::BeaconDelayed {
                            case,
                            trigger,
                            round: r,
                        },
                    ))
                })
                .await;
            if let Err(e) = r2 {
                if store_closed(&e) {
                    return;
                }
                tracing::warn!("recording beacon_delayed failed: {e}");
            }
        }
        let sleep = match (pending.is_empty(), next_due) {
            (true, _) => Duration::from_secs(5),
            (false, Some(due)) => {
                let wait_ms = (due * 1000).saturating_sub(now_millis()) + 20;
                Duration::from_millis(wait_ms.min(5_000))
            }
            (false, None) => Duration::from_millis(250),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            c = changes.changed() => if c.is_err() { return },
        }
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn store_closed(e: &StoreError) -> bool {
    e.to_string().contains("the store is closed")
}

/// A clock in Unix milliseconds, injectable so tests decide when a round is published.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_millis)
}

#[derive(Clone)]
struct Dev {
    chain: Arc<DevChain>,
    clock: Clock,
}

impl Dev {
    fn published(&self) -> u64 {
        self.chain.chain.round_at((self.clock)() / 1000)
    }
    /// `None` for this chain's hash, else the 404 answer.
    fn check(&self, hash: &str) -> Option<Response> {
        (hash != self.chain.chain.chain_hash.to_hex())
            .then(|| (StatusCode::NOT_FOUND, "unknown chain").into_response())
    }
    fn round(&self, round: u64) -> Response {
        if round == 0 || round > self.published() {
            // drand answers a round from the future with 425 Too Early.
            return (
                StatusCode::from_u16(425).expect("valid"),
                "round not yet published",
            )
                .into_response();
        }
        let sig = self.chain.sign(round);
        axum::Json(json!({
            "round": round,
            "randomness": sig.randomness().to_hex(),
            "signature": sig.to_hex(),
        }))
        .into_response()
    }
}

/// The router of a drand HTTP relay for `chain`, publishing round `r` once `clock` reaches its time.
pub fn dev_router(chain: DevChain, clock: Clock) -> Router {
    let dev = Dev {
        chain: Arc::new(chain),
        clock,
    };
    Router::new()
        .route(
            "/{hash}/info",
            get(
                |AxState(d): AxState<Dev>, Path(hash): Path<String>| async move {
                    if let Some(r) = d.check(&hash) {
                        return r;
                    }
                    let c = &d.chain.chain;
                    axum::Json(json!({
                        "public_key": c.public_key.to_hex(),
                        "period": c.period_seconds,
                        "genesis_time": c.genesis_time,
                        "hash": c.chain_hash.to_hex(),
                        "groupHash": c.chain_hash.to_hex(),
                        "schemeID": c.scheme,
                        "metadata": {"beaconID": "klero-dev"},
                    }))
                    .into_response()
                },
            ),
        )
        .route(
            "/{hash}/public/latest",
            get(
                |AxState(d): AxState<Dev>, Path(hash): Path<String>| async move {
                    if let Some(r) = d.check(&hash) {
                        return r;
                    }
                    d.round(d.published())
                },
            ),
        )
        .route(
            "/{hash}/public/{round}",
            get(
                |AxState(d): AxState<Dev>, Path((hash, round)): Path<(String, u64)>| async move {
                    if let Some(r) = d.check(&hash) {
                        return r;
                    }
                    d.round(round)
                },
            ),
        )
        .with_state(dev)
}

/// A running test drand server.
pub struct DevServer {
    /// Its address.
    pub addr: SocketAddr,
    /// The chain it serves.
    pub chain: DrandChain,
    task: tokio::task::JoinHandle<()>,
}

impl DevServer {
    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A test relay of `chain` on a free loopback port, with `store`'s drand configured from it (its
/// parameters pinned as the relay serves them) and the allocator's drand task running: what the
/// tests, the load generator and the in-browser check's test share. Never for production.
pub async fn attach_dev_relay(
    store: &Store,
    chain: DevChain,
    clock: Clock,
    delay_notice: Duration,
) -> Result<(DevServer, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let relay = spawn_dev_server(listener, chain, clock).map_err(|e| e.to_string())?;
    let client = DrandClient::new(&relay.url(), &relay.chain.chain_hash);
    configure(store, &client, &relay.chain, true).await?;
    let task = tokio::spawn(run(store.clone(), client, delay_notice));
    Ok((relay, task))
}

/// Serves `chain` on `listener` until dropped.
pub fn spawn_dev_server(
    listener: tokio::net::TcpListener,
    chain: DevChain,
    clock: Clock,
) -> std::io::Result<DevServer> {
    let addr = listener.local_addr()?;
    let info = chain.chain.clone();
    let app = dev_router(chain, clock);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(DevServer {
        addr,
        chain: info,
        task,
    })
}
