//! `klero`: run the server, seed a demo court, issue tokens, export and verify logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use klero::{DEFAULT_DATABASE, demo, verify};
use klero_core::{CourtId, JudgeId, Policy};
use klero_portal::RoleName;
use klero_store::Store;

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
    /// Verify a log: a file of JSON lines, or a live server's whole log with --url.
    Verify {
        /// The exported log.
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        file: Option<PathBuf>,
        /// A server's base address, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: Option<String>,
    },
    /// Rebuild the database's projection tables from the log.
    Rebuild {
        #[command(flatten)]
        db: Db,
    },
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
enum TokenCommand {
    /// Issue a token and print it (it cannot be shown again).
    Create {
        #[command(flatten)]
        db: Db,
        /// clerk, judge, court-admin or system-admin.
        #[arg(long, value_enum)]
        role: CliRole,
        /// The court (every role but system-admin).
        #[arg(long)]
        court: Option<String>,
        /// The judge (role judge).
        #[arg(long)]
        judge: Option<String>,
    },
    /// Revoke a token, given the token itself or its identifier. A running server refuses it from
    /// its next request on.
    Revoke {
        #[command(flatten)]
        db: Db,
        /// The token.
        #[arg(required_unless_present = "id", conflicts_with = "id")]
        token: Option<String>,
        /// The token's identifier (64 hex digits), as its issuance returned it.
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CliRole {
    Clerk,
    Judge,
    CourtAdmin,
    SystemAdmin,
}

impl From<CliRole> for RoleName {
    fn from(r: CliRole) -> RoleName {
        match r {
            CliRole::Clerk => RoleName::Clerk,
            CliRole::Judge => RoleName::Judge,
            CliRole::CourtAdmin => RoleName::CourtAdmin,
            CliRole::SystemAdmin => RoleName::SystemAdmin,
        }
    }
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

async fn open(db: &Db) -> Result<Store> {
    let url = &db.database_url;
    let dir = db
        .secrets_dir
        .clone()
        .or_else(|| klero_store::default_secrets_dir(url))
        .unwrap_or_else(|| PathBuf::from("klero-secrets"));
    let options = klero_store::Options {
        secrets: Some(Arc::new(klero_store::FileSecrets::new(&dir))),
        ..klero_store::Options::default()
    };
    let store = Store::open_with(url, options)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
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
        } => {
            init_tracing(log_json);
            let store = open(&db).await?;
            let mut tokens = None;
            if seed_demo {
                if store.checkpoint().0 == 0 {
                    eprintln!("seeding the demo court (this writes a few hundred cases)...");
                    tokens = Some(demo::seed(&store, 300).await.map_err(anyhow::Error::msg)?);
                } else {
                    eprintln!("the log is not empty: not seeding the demo court");
                }
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener.local_addr()?;
            eprintln!(
                "klero serving {} on http://{local} ({} entries); API docs at http://{local}/api/v1/docs",
                store.backend(),
                store.checkpoint().0
            );
            if let Some(t) = tokens {
                print_demo(&t, local);
            }
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            klero_portal::serve_until(store.clone(), listener, shutdown).await?;
            store.close().await;
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
            command:
                TokenCommand::Create {
                    db,
                    role,
                    court,
                    judge,
                },
        } => {
            let court = court
                .map(CourtId::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let judge = judge
                .map(JudgeId::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let store = open(&db).await?;
            let role = RoleName::from(role);
            store
                .read(|s| klero_portal::check_scope(s, role, court.as_ref(), judge.as_ref()))
                .map_err(anyhow::Error::msg)?;
            let token = store.create_token(role.token_role(), court, judge).await?;
            println!("{token}");
            eprintln!(
                "its identifier, to revoke it: {}",
                klero_store::token_id(&token)
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::Revoke { db, token, id },
        } => {
            let id = match (token, id) {
                (_, Some(id)) => id.trim().to_ascii_lowercase(),
                (Some(t), None) => klero_store::token_id(t.trim()),
                (None, None) => bail!("give the token, or its identifier with --id"),
            };
            let store = open(&db).await?;
            let r = store.revoke_token_id(&id).await;
            store.close().await;
            r?;
            println!("revoked token {id}");
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
        Command::Verify { file, url } => {
            let report = match (file, url) {
                (_, Some(url)) => {
                    let r = tokio::task::spawn_blocking(move || verify::verify_url(&url))
                        .await?
                        .map_err(anyhow::Error::msg)?;
                    r.report
                }
                (Some(file), None) => verify::verify_file(&file).map_err(anyhow::Error::msg)?,
                (None, None) => bail!("give a file to verify, or --url"),
            };
            print!("{}", verify::summary(&report));
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Rebuild { db } => {
            let store = open(&db).await?;
            let n = store.rebuild_projections().await?;
            println!("rebuilt the projections from {n} entries");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
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
Tokens (shown once; keep them secret):
  export CLERK={clerk}
  export JUDGE={judge}    # judge {judge_id}
  export COURT_ADMIN={admin}
  export SYSTEM_ADMIN={sys}

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
