use std::collections::HashSet;
use std::sync::Arc;

use super::common::*;
use klero_core::hash::party_commitment;
use klero_core::*;
use klero_store::testing::{execute, query_strings};
use klero_store::{FileSecrets, Options, SecretStore, Store, StoreError};

/// Everything a database reader gets: the SQLite files (the database, its write-ahead log and
/// shared memory), or every row of every table of the PostgreSQL database as text (a logical dump).
async fn dump(url: &str) -> Vec<u8> {
    // The log's rows are stored compressed: scan their inflated text as well as the raw bytes.
    let mut lines = Vec::new();
    for line in klero_store::testing::log_lines(url).await.unwrap() {
        lines.extend_from_slice(line.as_bytes());
        lines.push(b'\n');
    }
    let mut out = raw_dump(url).await;
    out.extend_from_slice(&lines);
    out
}

/// The database's bytes as they are: the files of a SQLite database, every row of every table
/// of a PostgreSQL one as text.
async fn raw_dump(url: &str) -> Vec<u8> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap();
        let mut out = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                out.extend_from_slice(&b);
            }
        }
        assert!(out.len() > 10_000, "the database file was read");
        return out;
    }
    let tables = query_strings(
        url,
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema()",
    )
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "log"), "{tables:?}");
    let mut out = Vec::new();
    for t in tables {
        for row in query_strings(url, &format!("SELECT CAST(t AS TEXT) FROM {t} t"))
            .await
            .unwrap()
        {
            out.extend_from_slice(row.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// Whether any 32-byte window of the dump's raw bytes is one of `values`.
fn raw_holds(dump: &[u8], values: &HashSet<[u8; 32]>) -> bool {
    dump.windows(32).any(|w| values.contains(w))
}

/// Every 32-byte value the dump spells as 64 hex digits (at any offset of a run of hex digits).
fn hex_values(dump: &[u8]) -> HashSet<[u8; 32]> {
    let mut hexes = HashSet::new();
    let mut run = Vec::new();
    for &b in dump.iter().chain([b' '].iter()) {
        if b.is_ascii_hexdigit() {
            run.push(b.to_ascii_lowercase());
            continue;
        }
        for w in run.windows(64) {
            let v: [u8; 32] = hex::decode(w).unwrap().try_into().unwrap();
            hexes.insert(v);
        }
        run.clear();
    }
    hexes
}

fn store_with(dir: &std::path::Path) -> Options {
    Options {
        chain_length: CHAIN,
        secrets: Some(Arc::new(FileSecrets::new(dir))),
        ..Options::default()
    }
}

both!(
    a_copy_of_the_database_reveals_no_future_beacon_value_and_no_pepper,
    |url| {
        let dir = tempfile::tempdir().unwrap();
        let secrets_dir = dir.path().join("secrets");
        let s = Store::open_with(&url, store_with(&secrets_dir))
            .await
            .unwrap();
        seed(&s).await;
        for i in 0..5 {
            file(&s, &format!("P-{i}")).await;
        }
        let pepper = s.pepper();
        let (anchor, round) = s.read(|st| st.next_beacon_round()).unwrap();
        let secret = FileSecrets::new(&secrets_dir)
            .get(&format!("beacon-{}", anchor.anchor.to_hex()))
            .unwrap()
            .expect("the chain's secret is in the secrets directory");
        let mut chain = HashChain::new(Digest32(secret), anchor.length);
        let next = chain.value(round).unwrap();
        // The values a reader must not learn: the chain's secret, every value not yet revealed, and
        // the pepper. (Any value computable from a stored one by hashing forward would be one of these:
        // the chain's values are the secret hashed 1..=length times.)
        let mut forbidden: HashSet<[u8; 32]> = (round..=anchor.length)
            .map(|r| chain.value(r).unwrap().0)
            .collect();
        forbidden.insert(secret);
        forbidden.insert(pepper);
        // The log's signing key (SPEC §5.1) is a secret too.
        let log_key = FileSecrets::new(&secrets_dir)
            .get("log-key")
            .unwrap()
            .expect("the log key's seed is in the secrets directory");
        forbidden.insert(log_key);
        let logged_party = {
            let e = check_log(&s).await;
            e.iter()
                .find_map(|e| match &e.event {
                    Event::CaseFiled { parties, .. } => Some(parties[0]),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(party_commitment(&pepper, "P-0"), logged_party);
        s.close().await;

        let copy = dump(&url).await;
        let hexes = hex_values(&copy);
        assert!(hexes.len() > 20, "{} hex values", hexes.len());
        // The scan does find what the log publishes: the value the last draw revealed.
        assert!(hexes.contains(&chain.value(round - 1).unwrap().0));
        assert!(
            !raw_holds(&copy, &forbidden),
            "a secret value is in the database's bytes"
        );
        assert!(
            hexes.is_disjoint(&forbidden),
            "a secret value is spelled in the database"
        );
        // No stored 32-byte value works as the pepper of the logged commitment of party "P-0".
        for v in hexes.iter() {
            assert_ne!(party_commitment(v, "P-0"), logged_party);
        }

        // The value the secrets directory predicts is the one the next draw uses: what the database
        // alone could not give is exactly what decides the draw.
        let s = Store::open_with(&url, store_with(&secrets_dir))
            .await
            .unwrap();
        let entries = file(&s, "P-next").await;
        let Event::Draw(d) = &entries[1].event else {
            panic!("no draw")
        };
        assert_eq!(d.beacon.as_ref().unwrap().randomness(), next);
        s.close().await;
        // Without its secrets directory the database does not open (it would need a new pepper).
        let elsewhere = dir.path().join("elsewhere");
        match Store::open_with(&url, store_with(&elsewhere)).await {
            Err(StoreError::Secrets(m)) => assert!(m.contains("pepper"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
);

/// Writes what version 1 of the schema held: migration 1 recorded as applied, a genesis entry and
/// the secrets table with the pepper and the chain's secret.
async fn version_1_database(url: &str, pepper: [u8; 32], secret: [u8; 32]) -> LogEntry {
    let sql = if url.starts_with("sqlite") {
        include_str!("../../../../migrations/sqlite/0001_init.sql")
    } else {
        include_str!("../../../../migrations/postgres/0001_init.sql")
    };
    if url.starts_with("sqlite") {
        // Create the file.
        let s = format!("{url}?mode=rwc");
        execute(&s, "SELECT 1").await.unwrap();
    }
    execute(url, sql).await.unwrap();
    use sha2::Digest as _;
    let checksum = hex::encode(sha2::Sha256::digest(sql.as_bytes()));
    execute(
        url,
        &format!(
            "CREATE TABLE klero_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at BIGINT NOT NULL); \
             INSERT INTO klero_schema VALUES (1, 'init', '{checksum}', 0)"
        ),
    )
    .await
    .unwrap();
    let chain = HashChain::new(Digest32(secret), CHAIN);
    let mut log = Log::new();
    let g = log
        .append(
            1_700_000_000_000,
            admin(),
            Event::Genesis {
                log_id: id("old-log"),
                policy: Policy::with_case_types(klero_core::sample::sample_case_types()),
                beacon: chain.anchor(),
            },
        )
        .unwrap();
    let line = g.to_json_line().replace('\'', "''");
    execute(
        url,
        &format!(
            "INSERT INTO log (idx, at, entry, hash, prev) VALUES (0, {}, '{line}', '{}', '{}'); \
             INSERT INTO secrets (name, value, created_at) VALUES ('pepper', '{}', 0); \
             INSERT INTO secrets (name, value, created_at) VALUES ('beacon/{}', '{}', 0)",
            g.at,
            g.hash.to_hex(),
            g.prev.to_hex(),
            hex::encode(pepper),
            chain.anchor().anchor.to_hex(),
            hex::encode(secret),
        ),
    )
    .await
    .unwrap();
    g
}

both!(
    a_version_1_database_s_secrets_are_moved_out_then_dropped,
    |url| {
        let (pepper, secret) = ([0x5a; 32], [0xa5; 32]);
        version_1_database(&url, pepper, secret).await;
        let dir = tempfile::tempdir().unwrap();
        let secrets_dir = dir.path().join("secrets");
        let s = Store::open_with(&url, store_with(&secrets_dir))
            .await
            .unwrap();
        assert_eq!(s.secrets_moved(), 2);
        assert_eq!(s.pepper(), pepper, "the pepper was kept");
        let files = FileSecrets::new(&secrets_dir);
        assert_eq!(files.get("pepper").unwrap(), Some(pepper));
        // The old chain still draws: its secret came along.
        seed_court(&s).await;
        let e = file(&s, "P-1").await;
        let Event::Draw(d) = &e[1].event else {
            panic!("no draw")
        };
        let mut chain = HashChain::new(Digest32(secret), CHAIN);
        assert_eq!(
            d.beacon.as_ref().unwrap().randomness(),
            chain.value(1).unwrap()
        );
        check_log(&s).await;
        s.close().await;
        // The table is gone, and with it the secrets, from every byte of the database.
        let tables = query_strings(
            &url,
            if url.starts_with("sqlite") {
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            } else {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
            },
        )
        .await
        .unwrap();
        assert!(!tables.iter().any(|t| t == "secrets"), "{tables:?}");
        let copy = dump(&url).await;
        let moved: HashSet<[u8; 32]> = [pepper, secret].into();
        assert!(
            !raw_holds(&copy, &moved),
            "a moved secret's bytes are still in the database"
        );
        assert!(
            hex_values(&copy).is_disjoint(&moved),
            "a moved secret is still spelled in the database"
        );
        // Opening again moves nothing and finds everything.
        let s = Store::open_with(&url, store_with(&secrets_dir))
            .await
            .unwrap();
        assert_eq!(s.secrets_moved(), 0);
        assert_eq!(s.pepper(), pepper);
        file(&s, "P-2").await;
        s.close().await;
    }
);
