//! `klero`: run the server, seed a demo court, issue tokens, export and verify logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use klero::{DEFAULT_DATABASE, audit, demo, monitor, verify};
use klero_core::{Actor, ActorId, CourtId, Event, Policy};
use klero_store::Store;

/// The allocator: jemalloc, not glibc's `malloc`. A server started on a long log lays out its heap
/// while it reads the state snapshot (the snapshot's bytes beside the state decoded from them, the
/// filters of evicted cases, the tree's hashes); glibc then serves the writer's small allocations
/// from the free chunks that start left behind, sorting and merging them (`_int_malloc`,
/// `unlink_chunk`, `malloc_consolidate`), and filing at 10M entries ran at 0.76–0.85 of an empty
/// log's rate. jemalloc's size classes do not degrade that way: 0.99, and faster at every size
/// (docs/PERFORMANCE.md, issue 10, twelfth pass). The verifier's tables grow in blocks
/// (`klero_core::resident`), which matters here: jemalloc cannot move a large allocation's pages
/// as glibc's `mremap` does, so a table that doubled would be copied.
///
/// SQLite, which is C, still allocates with glibc, whose mmap threshold `src/malloc_tune.c` fixes
/// before `main` (why, there; figures in docs/PERFORMANCE.md, issue 10, thirteenth pass).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "klero",
    version,
    about = "Kleroterion: verifiable random allocation of court cases to judges"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (default: ./klero.db on 127.0.0.1:8080).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        db: Db,
        /// Seed a demo court first if the log is empty, and print a token for each role.
        #[arg(long)]
        demo: bool,
        /// Log requests as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
        /// Replay and verify the whole log at start, ignoring the state snapshot (a start
        /// otherwise loads the latest snapshot that fits the stored log and replays the rest).
        #[arg(long)]
        full_check: bool,
        /// How often to replay and verify the whole stored log in the background while serving
        /// (a start from a snapshot trusts the entries the snapshot covers): a number with a unit,
        /// `s`, `m`, `h` or `d` (`6h`, `1d`), or `0` for never. The first check runs one period
        /// after the start. If a check finds the stored log altered, the server refuses writes
        /// and answers 503 (problem `log-does-not-verify`, naming the entry) until it is repaired.
        #[arg(long, default_value = "24h", value_parser = klero::parse_period)]
        check_every: std::time::Duration,
        /// Where judges' enrollment codes are delivered, one file per judge (`{judge}.code`): the
        /// spool of a delivery service the administrators cannot read.
        #[arg(
            long,
            env = "KLERO_ENROLLMENT_OUTBOX",
            default_value = "klero-enrollments"
        )]
        enrollment_outbox: PathBuf,
        /// A witness to ask for cosignatures after every committed batch, as NAME=URL=VKEY (its
        /// name, its add-checkpoint URL prefix, its verifier key from `klero witness init`).
        /// Repeat for each witness. The set is recorded in the log (`witnesses_configured`) when
        /// it differs from the one in force.
        #[arg(long = "witness", value_name = "NAME=URL=VKEY")]
        witnesses: Vec<String>,
        /// How many witnesses must cosign a checkpoint (default: all of them).
        #[arg(long, requires = "witnesses")]
        witness_quorum: Option<u8>,
        /// How long to wait for each witness's answer, in seconds.
        #[arg(long, default_value_t = 5.0)]
        witness_timeout: f64,
        #[command(flatten)]
        beacon: BeaconArgs,
    },
    /// A drand HTTP relay for tests and demos: serves a chain of scheme bls-unchained-g1-rfc9380
    /// signed with a test key (never for production: whoever holds the key foresees every round).
    #[command(hide = true)]
    DrandDevServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        addr: SocketAddr,
        /// Seconds between rounds.
        #[arg(long, default_value_t = 1)]
        period: u64,
        /// Round 1's time, Unix seconds (default: 10 seconds ago).
        #[arg(long)]
        genesis: Option<u64>,
        /// 64 hex characters the test key is derived from.
        #[arg(
            long,
            default_value = "0000000000000000000000000000000000000000000000000000000000000001"
        )]
        seed: String,
    },
    /// Run or set up a witness: an independent cosigner of the log's checkpoints (C2SP
    /// tlog-witness), for an institution to run on its own machine.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Start an empty log: write its genesis entry with a policy.
    Init {
        #[command(flatten)]
        db: Db,
        /// A policy as JSON (as GET /api/v1/policy returns it); default: the demo policy.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// A name for this log.
        #[arg(long, default_value = "national-allocation-log")]
        log_id: String,
    },
    /// Issue or revoke bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write the whole log in the export format (JSON lines).
    Export {
        #[command(flatten)]
        db: Db,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the whole log as C2SP tlog-tiles (SPEC §5.4) into a directory for a static web server:
    /// DIR/checkpoint, DIR/tile/<L>/<N>[.p/<W>] and DIR/tile/entries/<N>[.p/<W>].
    ExportTiles {
        #[command(flatten)]
        db: Db,
        /// The directory to write (created if missing).
        dir: PathBuf,
    },
    /// Verify a log: a file of JSON lines, a live server's whole log with --url, or its tiles with
    /// --tiles.
    Verify {
        /// The exported log.
        #[arg(required_unless_present_any = ["url", "tiles"], conflicts_with_all = ["url", "tiles"])]
        file: Option<PathBuf>,
        /// A server's base address, e.g. http://127.0.0.1:8080.
        #[arg(long, conflicts_with = "tiles")]
        url: Option<String>,
        /// The log's tiles (SPEC §5.4): a directory written by `klero export-tiles`, or a base
        /// address serving /checkpoint and /tile/... (`klero serve`, or a static web server). Each
        /// entry's leaf and every tile hash are checked against the signed checkpoint.
        #[arg(long)]
        tiles: Option<String>,
        /// The log's verifier key noted earlier (`GET /api/v1/log/key`). With --url, the
        /// checkpoint's signature is checked with it (without it the server's published key is
        /// used and printed, for you to note); in both cases the log's `log_key_published` entry
        /// must publish this key.
        #[arg(long)]
        log_key: Option<String>,
    },
    /// Audit a log for signs of steering (calibration, short-notice changes, withdraw and refile,
    /// reassignments, fallbacks); exits 1 when something is flagged or the log does not verify.
    Audit {
        /// The exported log.
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        file: Option<PathBuf>,
        /// A server's base address, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: Option<String>,
        /// Only this court (default: every court).
        #[arg(long)]
        court: Option<String>,
        /// Only what happened on or after this day (YYYY-MM-DD); the whole log is still verified.
        #[arg(long)]
        since: Option<String>,
        /// Flag a finding when its corrected p-value is below this.
        #[arg(long, default_value_t = klero_core::audit::AuditConfig::default().alpha)]
        alpha: f64,
        /// Print the whole report as JSON instead of words.
        #[arg(long)]
        json: bool,
    },
    /// Follow a court's log as an observer: check every new signed checkpoint against the one held,
    /// verify every new entry, keep the position in a state directory; exits 1 with a report in
    /// words (and the evidence in DIR/evidence) on a fork, a rollback or an entry that does not verify.
    Monitor {
        /// The server's base address, e.g. http://127.0.0.1:8080, read through its JSON API.
        #[arg(long, required_unless_present = "tiles", conflicts_with = "tiles")]
        url: Option<String>,
        /// Read the log as tlog-tiles instead (SPEC §5.4): a base address serving /checkpoint and
        /// /tile/... (`klero serve`, or any static web server, object store or CDN holding a
        /// directory written by `klero export-tiles`), or such a directory. Each entry's leaf
        /// hash and every new tile are checked against the signed checkpoint.
        #[arg(long)]
        tiles: Option<String>,
        /// The directory holding the monitor's position and its copy of the log.
        #[arg(long, env = "KLERO_MONITOR_STATE")]
        state: PathBuf,
        /// The log's verifier key, noted from a source you trust; without it a new state directory
        /// pins the key the server publishes.
        #[arg(long)]
        log_key: Option<String>,
        /// Seconds between rounds.
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// One round, then exit (0 when consistent).
        #[arg(long)]
        once: bool,
    },
    /// Rebuild the database's projection tables from the log.
    Rebuild {
        #[command(flatten)]
        db: Db,
    },
}

/// Which randomness the server's draws use.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BeaconKind {
    /// The built-in hash chain (offline; the operator can foresee its values, SPEC §6.1).
    HashChain,
    /// drand (SPEC §6.3): each draw waits for the first round after its commit time.
    Drand,
}

#[derive(clap::Args)]
struct BeaconArgs {
    /// The beacon: hash-chain (the offline default) or drand.
    #[arg(long, value_enum, default_value = "hash-chain")]
    beacon: BeaconKind,
    /// With --beacon drand: the drand HTTP relay, e.g. https://api.drand.sh.
    #[arg(long, env = "KLERO_DRAND_URL")]
    drand_url: Option<String>,
    /// With --beacon drand: the chain hash (default quicknet, whose public key, period and
    /// genesis are pinned). Another chain is taken with the parameters its relay states: for
    /// tests; the log records them for every observer to see.
    #[arg(long)]
    drand_chain_hash: Option<String>,
    /// Seconds after a round's time after which a draw still waiting for it is recorded in the
    /// log as delayed (`beacon_delayed`); it keeps waiting for that round.
    #[arg(long, default_value_t = 60)]
    drand_delay_notice: u64,
}

/// Starts the drand task if the server runs with drand.
async fn start_beacon(store: &Store, b: &BeaconArgs) -> Result<()> {
    if b.beacon == BeaconKind::HashChain {
        if b.drand_url.is_some() || b.drand_chain_hash.is_some() {
            bail!("--drand-url and --drand-chain-hash need --beacon drand");
        }
        if store.read(|s| s.drand().is_some()) {
            bail!(
                "this log has drand in force (a drand_configured entry): start the server with \
                 --beacon drand --drand-url URL, or its draws can never be made"
            );
        }
        return Ok(());
    }
    let Some(url) = &b.drand_url else {
        bail!("--beacon drand needs --drand-url (a drand HTTP relay)");
    };
    let quicknet = klero_core::DrandChain::quicknet();
    let (expected, pin_all) = match &b.drand_chain_hash {
        None => (quicknet, true),
        Some(h) => {
            let hash = klero_core::Digest32::from_hex(h)
                .map_err(|e| anyhow::anyhow!("--drand-chain-hash: {e}"))?;
            if hash == quicknet.chain_hash {
                (quicknet, true)
            } else {
                (
                    klero_core::DrandChain {
                        chain_hash: hash,
                        ..quicknet
                    },
                    false,
                )
            }
        }
    };
    if store.checkpoint().0 == 0 {
        bail!("the log is empty: run `klero init` before configuring drand");
    }
    let client = klero::drand::DrandClient::new(url, &expected.chain_hash);
    let chain = klero::drand::configure(store, &client, &expected, pin_all)
        .await
        .map_err(anyhow::Error::msg)?;
    eprintln!(
        "draws use drand chain {} (round every {} s) from {url}",
        chain.chain_hash, chain.period_seconds
    );
    tokio::spawn(klero::drand::run(
        store.clone(),
        client,
        std::time::Duration::from_secs(b.drand_delay_notice),
    ));
    Ok(())
}

/// The database and the secrets kept apart from it.
#[derive(clap::Args)]
struct Db {
    /// sqlite://PATH or postgres://...
    #[arg(long, env = "KLERO_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database_url: String,
    /// The directory of the party pepper and the beacon chains' secrets, outside the database
    /// (created with mode 0700, files 0600). Default: beside a SQLite file (klero.db ->
    /// klero-secrets), ./klero-secrets for PostgreSQL.
    #[arg(long, env = "KLERO_SECRETS_DIR")]
    secrets_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Make a new witness: an Ed25519 key in DIR (file mode 0600); prints its verifier key, which
    /// the log's operator configures and the public checks cosignatures with.
    Init {
        /// The witness's directory (its key, its state, its evidence).
        #[arg(long)]
        state: PathBuf,
        /// The witness's name, e.g. witness.bar-association.example (no spaces, no '+').
        #[arg(long)]
        name: String,
    },
    /// Serve the witness: POST /add-checkpoint (C2SP tlog-witness) and GET /evidence.
    Serve {
        /// The witness's directory, made by `klero witness init`.
        #[arg(long)]
        state: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        addr: SocketAddr,
        /// A log to witness, as ORIGIN=VKEY (the log's name and its key from GET /api/v1/log/key).
        /// Repeat for each log.
        #[arg(long = "log", value_name = "ORIGIN=VKEY", required = true)]
        logs: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue the installation's first credential, to a system administrator, and print it (it
    /// cannot be shown again). Refused once any credential exists: every later one is issued by a
    /// person through the API, and each is a log entry (SPEC §7.9).
    Bootstrap {
        #[command(flatten)]
        db: Db,
        /// The system administrator's staff number.
        #[arg(long)]
        holder: String,
    },
    /// Revoke a credential whose secret you hold (a lost or leaked one): the revocation is a log
    /// entry by its holder and takes effect at the next request. With --url, through a running
    /// server (its state changes at once); otherwise directly in a database no server has open.
    Revoke {
        /// A running server's base address, e.g. http://127.0.0.1:8080.
        #[arg(long, conflicts_with = "database_url")]
        url: Option<String>,
        #[command(flatten)]
        db: Db,
        /// The credential's secret (klero_...).
        token: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("klero: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("klero: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The secrets directory: the one named, else beside a SQLite file, else `./klero-secrets`.
fn secrets_dir(db: &Db) -> PathBuf {
    db.secrets_dir
        .clone()
        .or_else(|| klero_store::default_secrets_dir(&db.database_url))
        .unwrap_or_else(|| PathBuf::from("klero-secrets"))
}

async fn open(db: &Db) -> Result<Store> {
    open_checked(db, false).await
}

/// Opens the store; `full_check` replays and verifies the whole log instead of starting from the
/// latest state snapshot.
async fn open_checked(db: &Db, full_check: bool) -> Result<Store> {
    let url = &db.database_url;
    let dir = secrets_dir(db);
    let options = klero_store::Options {
        secrets: Some(Arc::new(klero_store::FileSecrets::new(&dir))),
        full_check,
        ..klero_store::Options::default()
    };
    let store = Store::open_with(url, options)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let start = store.start_report();
    if let Some(why) = &start.refused {
        eprintln!("the state snapshot was refused ({why}); the whole log was replayed instead");
    }
    if store.secrets_moved() > 0 {
        eprintln!(
            "moved {} secrets out of the database into {} (schema version 2); copies of the \
             database made before this still hold them",
            store.secrets_moved(),
            dir.display()
        );
    }
    Ok(store)
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            addr,
            db,
            demo: seed_demo,
            log_json,
            full_check,
            check_every,
            enrollment_outbox,
            witnesses,
            witness_quorum,
            witness_timeout,
            beacon,
        } => {
            init_tracing(log_json);
            let endpoints = witnesses
                .iter()
                .map(|w| klero::witnessing::parse_endpoint(w))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let quorum = witness_quorum.unwrap_or(endpoints.len().min(255) as u8);
            if !endpoints.is_empty() && (quorum == 0 || usize::from(quorum) > endpoints.len()) {
                bail!(
                    "--witness-quorum must be between 1 and the number of witnesses ({})",
                    endpoints.len()
                );
            }
            if !(witness_timeout > 0.0 && witness_timeout <= 600.0) {
                bail!("--witness-timeout must be between 0 and 600 seconds");
            }
            let store = open_checked(&db, full_check).await?;
            let start = store.start_report();
            tracing::info!(
                snapshot = ?start.snapshot,
                replayed = start.replayed,
                full_check,
                "log loaded"
            );
            let mut tokens = None;
            if seed_demo && beacon.beacon == BeaconKind::Drand {
                bail!("--demo seeds its court with the hash chain: run it without --beacon drand");
            }
            if seed_demo {
                if store.checkpoint().0 == 0 {
                    eprintln!("seeding the demo court (this writes a few hundred cases)...");
                    tokens = Some(demo::seed(&store, 300).await.map_err(anyhow::Error::msg)?);
                } else {
                    eprintln!("the log is not empty: not seeding the demo court");
                }
            }
            start_beacon(&store, &beacon).await?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener.local_addr()?;
            eprintln!(
                "klero serving {} on http://{local} ({} entries); API docs at http://{local}/api/v1/docs",
                store.backend(),
                store.checkpoint().0
            );
            eprintln!(
                "secrets (the pepper, the beacon's chain secrets) in {}: back it up apart from \
                 the database, and keep it from whoever only needs the data",
                secrets_dir(&db).display()
            );
            if let Some(t) = tokens {
                print_demo(&t, local);
            }
            if !endpoints.is_empty() {
                if store.checkpoint().0 == 0 {
                    bail!("the log is empty: run `klero init` before configuring witnesses");
                }
                if let Some(e) = klero::witnessing::configure(&store, &endpoints, quorum).await? {
                    eprintln!(
                        "recorded the witnesses ({} of {} must cosign) in entry {}",
                        quorum,
                        endpoints.len(),
                        e.index
                    );
                }
                klero::witnessing::Witnessing::new(
                    store.clone(),
                    &endpoints,
                    quorum,
                    std::time::Duration::from_secs_f64(witness_timeout),
                )
                .map_err(anyhow::Error::msg)?
                .spawn();
            }
            if !check_every.is_zero() {
                store.spawn_full_checks(check_every);
            }
            let config = klero_portal::Config { enrollment_outbox };
            klero_portal::serve_until(store.clone(), listener, config, stop_requested()).await?;
            store.close().await;
            eprintln!("klero stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Witness {
            command: WitnessCommand::Init { state, name },
        } => {
            let vkey = klero::witness::init(&state, &name).map_err(anyhow::Error::msg)?;
            eprintln!(
                "witness {name} created in {}; its key file is secret, back it up. Its verifier \
                 key, for the log's operator and the public:",
                state.display()
            );
            println!("{vkey}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Witness {
            command: WitnessCommand::Serve { state, addr, logs },
        } => {
            let logs = logs
                .iter()
                .map(|l| klero::witness::parse_log(l))
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?;
            let w = klero::witness::Witness::open(&state, logs).map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!(
                "witness {} listening on http://{} (POST /add-checkpoint, GET /evidence)",
                w.verifier_key(),
                listener.local_addr()?
            );
            klero::witness::serve(w, listener, stop_requested()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DrandDevServer {
            addr,
            period,
            genesis,
            seed,
        } => {
            let seed = klero_core::Digest32::from_hex(&seed)
                .map_err(|e| anyhow::anyhow!("--seed: {e}"))?;
            if period == 0 {
                bail!("--period must be at least 1 second");
            }
            let genesis = genesis.unwrap_or_else(|| klero::drand::now_secs().saturating_sub(10));
            let chain = klero_core::DevChain::new(&seed.0, genesis, period);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let server =
                klero::drand::spawn_dev_server(listener, chain, klero::drand::system_clock())?;
            println!(
                "test drand chain (NOT for production) on {}\n  --drand-url {} --drand-chain-hash {}",
                server.url(),
                server.url(),
                server.chain.chain_hash
            );
            stop_requested().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { db, policy, log_id } => {
            let policy: Policy = match policy {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a policy", p.display()))?
                }
                None => demo::default_policy(),
            };
            let store = open(&db).await?;
            if store.checkpoint().0 != 0 {
                bail!("the log already has entries: it was initialized before");
            }
            demo::genesis(&store, &log_id, policy)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("genesis written to {}", db.database_url);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::Bootstrap { db, holder },
        } => {
            let holder = ActorId::parse(holder).map_err(anyhow::Error::msg)?;
            let store = open(&db).await?;
            if store.checkpoint().0 == 0 {
                bail!("the log is empty: run `klero init` first");
            }
            let token = store.bootstrap_admin(holder).await?;
            println!("{token}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::Revoke { url, db, token },
        } => {
            let credential = klero_core::hash::credential_fingerprint(&token);
            if let Some(url) = url {
                let r = klero::client::Client::new(&url)
                    .send(
                        axum::http::Method::DELETE,
                        &format!("/api/v1/tokens/{credential}"),
                        Some(&token),
                        None,
                        &[],
                    )
                    .await
                    .map_err(anyhow::Error::msg)?;
                if r.status != 200 {
                    let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
                    bail!("the server refused the revocation ({}): {detail}", r.status);
                }
                println!("revoked credential {credential}");
                return Ok(ExitCode::SUCCESS);
            }
            let store = open(&db).await?;
            let holder = store.read(|s| {
                s.credential(&credential).map(|c| Actor {
                    role: c.role,
                    id: c.holder.clone(),
                })
            });
            let Some(actor) = holder else {
                bail!("this is not a credential of this log");
            };
            store
                .submit(move |_| Ok((actor, Event::CredentialRevoked { credential })))
                .await?;
            println!("revoked credential {credential}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { db, out } => {
            let store = open(&db).await?;
            let n = match &out {
                Some(path) => {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    klero::export(&store, &mut w)
                        .await
                        .map_err(anyhow::Error::msg)?
                }
                None => {
                    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
                    klero::export(&store, &mut w)
                        .await
                        .map_err(anyhow::Error::msg)?
                }
            };
            if let Some(path) = out {
                eprintln!("wrote {n} entries to {}", path.display());
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportTiles { db, dir } => {
            let store = open(&db).await?;
            let n = klero::tiles::export_tiles(&store, &dir)
                .await
                .map_err(anyhow::Error::msg)?;
            eprintln!(
                "wrote the tiles of {n} entries and the signed checkpoint to {}",
                dir.display()
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            file,
            url,
            tiles,
            log_key,
        } => {
            // Progress on the error stream, so that the report stays the only output.
            let progress =
                |n: u64| eprintln!("verified {} entries...", klero_core::state::fmt_index(n));
            const EVERY: u64 = 1_000_000;
            let report = match (file, url) {
                _ if tiles.is_some() => {
                    let src = klero::tiles::Source::parse(tiles.as_deref().unwrap_or_default());
                    let (report, key) = tokio::task::spawn_blocking(move || {
                        let mut progress = progress;
                        klero::tiles::replay_tiles_verifier(
                            &src,
                            log_key.as_deref(),
                            EVERY,
                            &mut progress,
                        )
                        .map(|(v, key)| (finish(v), key))
                    })
                    .await?
                    .map_err(anyhow::Error::msg)?;
                    if let Some(k) = key {
                        println!("checkpoint checked with log key {k}");
                    }
                    report
                }
                (_, Some(url)) => {
                    let r = tokio::task::spawn_blocking(move || {
                        verify::verify_url_pinned(&url, log_key.as_deref())
                    })
                    .await?
                    .map_err(anyhow::Error::msg)?;
                    println!("checkpoint signed by log key {}", r.log_key);
                    r.report
                }
                (Some(file), None) => {
                    let mut progress = progress;
                    let v = verify::replay_file(&file, log_key.as_deref(), EVERY, &mut progress)
                        .map_err(anyhow::Error::msg)?;
                    finish(v)
                }
                (None, None) => bail!("give a file to verify, or --url"),
            };
            print!("{}", verify::summary(&report));
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Audit {
            file,
            url,
            court,
            since,
            alpha,
            json,
        } => {
            let mut config = klero_core::audit::AuditConfig {
                alpha,
                ..Default::default()
            };
            if !(alpha > 0.0 && alpha < 1.0) {
                bail!("--alpha must be between 0 and 1, not {alpha}");
            }
            if let Some(c) = court {
                config.court = Some(CourtId::parse(&c).map_err(anyhow::Error::msg)?);
            }
            if let Some(s) = since {
                config.since = Some(klero_core::Day::parse(&s).map_err(anyhow::Error::msg)?);
            }
            let mut progress =
                |n: u64| eprintln!("audited {} entries...", klero_core::state::fmt_index(n));
            let report = match (file, url) {
                (_, Some(url)) => tokio::task::spawn_blocking(move || {
                    let mut progress = |n: u64| {
                        eprintln!("audited {} entries...", klero_core::state::fmt_index(n))
                    };
                    audit::audit_url(&url, config, &mut progress)
                })
                .await?
                .map_err(anyhow::Error::msg)?,
                (Some(file), None) => {
                    audit::audit_file(&file, config, &mut progress).map_err(anyhow::Error::msg)?
                }
                (None, None) => bail!("give a file to audit, or --url"),
            };
            if let Some(c) = &report.unknown_court {
                bail!("there is no court {c} in this log");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", klero_core::audit::summary(&report));
            }
            Ok(if report.flagged() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Monitor {
            url,
            tiles,
            state,
            log_key,
            interval,
            once,
        } => tokio::task::spawn_blocking(move || {
            let feed = match (url, tiles) {
                (Some(u), _) => monitor::Feed::Api(u),
                (None, Some(t)) => monitor::Feed::Tiles(t),
                (None, None) => return Err("give --url or --tiles".to_owned()),
            };
            monitor::run(&feed, &state, log_key.as_deref(), interval, once)
        })
        .await?
        .map_err(anyhow::Error::msg),
        Command::Rebuild { db } => {
            let store = open(&db).await?;
            let n = store.rebuild_projections().await?;
            println!("rebuilt the projections from {n} entries");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) at a terminal, or SIGTERM, which
/// is how systemd, Docker, Kubernetes and `kill` stop a service. A server then stops accepting,
/// lets the requests it holds finish and closes its store, and the process exits with success;
/// without SIGTERM here, the default action would end it at once, mid-request.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}): only Ctrl-C stops this process");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn print_demo(t: &demo::DemoTokens, addr: SocketAddr) {
    let base = format!("http://{addr}");
    let court = demo::COURT;
    println!(
        r#"
Demo court "{court}" seeded: 2 divisions, 20 judges, 300 cases.

Open the portal in a browser: {base}/
  (staff: "Staff login", then paste one of the credentials below)

Credentials (shown once; keep them secret; each was issued on the record to one person):
  export CLERK={clerk}    # clerk {clerk_id}
  export JUDGE={judge}    # judge {judge_id}, by their own enrollment
  export COURT_ADMIN={admin}    # court administrator {admin_id}
  export SYSTEM_ADMIN={sys}    # system administrator {sys_id}

Try:
  # a clerk files a case and gets the judge and the proof of the draw
  curl -s -X POST {base}/api/v1/courts/{court}/cases -H "Authorization: Bearer $CLERK" \
       -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \
       -d '{{"division":"civil","case_type":"civil","parties":["PL-90010112345","PL-85020254321"],"claim":"unpaid invoice 17/2026"}}'
  # the judge reads their docket and load against the court mean
  curl -s {base}/api/v1/judges/{judge_id}/docket -H "Authorization: Bearer $JUDGE"
  # anyone: the court's statistics, the checkpoint, a case's proof, the whole log
  curl -s {base}/api/v1/courts/{court}/stats
  curl -s {base}/api/v1/log/checkpoint
  curl -s {base}/api/v1/cases/DEMO-DISTRICT-{year}-000001/proof
  klero verify --url {base}
"#,
        clerk = t.clerk,
        judge = t.judge,
        judge_id = t.judge_id,
        admin = t.court_admin,
        sys = t.system_admin,
        clerk_id = demo::CLERK,
        admin_id = demo::COURT_ADMIN,
        sys_id = demo::SYSTEM_ADMIN,
        year = klero_core::Day::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        )
        .ymd()
        .0,
    );
}

/// The report of a finished replay. The replayed state is not freed: `klero verify` exits next, and
/// freeing the state of a national log entry by entry takes longer (several percent of the whole
/// run) than the operating system takes to reclaim the process.
fn finish(v: klero_core::Verifier) -> klero_core::Report {
    let report = v.report();
    std::mem::forget(v);
    report
}
