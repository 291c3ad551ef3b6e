//! Fixtures shared by every area.

use klero_core::hash::{party_commitment, sha256};
use klero_core::sample::sample_case_types;
use klero_core::*;
use klero_store::{Options, Store};

/// Defines `mod $name { sqlite, postgres }`: the same body on a fresh database of each engine.
macro_rules! both {
    ($(#[$m:meta])* $name:ident, |$url:ident| $body:block) => {
        $(#[$m])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($url: String) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temp dir");
                run(klero_store::testing::fresh_sqlite(dir.path()).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(klero_store::testing::fresh_postgres().await).await;
            }
        }
    };
}
pub(crate) use both;

/// Chains this short rotate within a test; building them is instant.
pub const CHAIN: u64 = 64;

pub async fn open(url: &str) -> Store {
    open_chain(url, CHAIN).await
}

pub async fn open_chain(url: &str, chain_length: u64) -> Store {
    Store::open_with(
        url,
        Options {
            chain_length,
            ..klero_store::testing::options_for(url)
        },
    )
    .await
    .expect("the store opens")
}

pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

pub fn admin() -> Actor {
    Actor::new(Role::SystemAdmin, "sysadmin")
}

pub fn clerk() -> Actor {
    Actor::new(Role::Clerk, "clerk-1")
}

pub const JUDGES: usize = 6;

/// Genesis, one court ("north", divisions "civil" and "commercial") and six civil judges.
pub async fn seeded(url: &str) -> Store {
    let s = open(url).await;
    seed(&s).await;
    s
}

pub async fn seed(s: &Store) {
    s.genesis(
        admin(),
        id("test-log"),
        Policy::with_case_types(sample_case_types()),
    )
    .await
    .expect("genesis");
    seed_court(s).await;
}

/// The court, divisions and judges of [`seed`], on a log whose genesis exists already.
pub async fn seed_court(s: &Store) {
    let court: CourtId = id("north");
    let mut events = vec![Event::CourtCreated {
        court: court.clone(),
        name: "North District Court".into(),
    }];
    for (d, name) in [
        ("civil", "Civil Division"),
        ("commercial", "Commercial Division"),
    ] {
        events.push(Event::DivisionCreated {
            court: court.clone(),
            division: id(d),
            name: name.into(),
        });
    }
    for j in 1..=JUDGES {
        events.push(Event::JudgeRegistered {
            judge: id(&format!("J-{j:02}")),
            court: court.clone(),
            division: id("civil"),
            specializations: vec![id("civil")],
            share_permille: 1000,
            active: true,
        });
    }
    for ev in events {
        let actor = admin();
        s.submit(move |_| Ok((actor, ev)))
            .await
            .expect("seed event");
    }
}

/// A civil filing whose case number is taken from the state inside the writer (so concurrent
/// filings never collide); `party` makes its parties, and so its duplicate key, unique.
pub fn filing(
    pepper: [u8; 32],
    party: String,
) -> impl FnOnce(&State) -> Result<(Actor, Event), Rejection> + Send + 'static {
    move |s: &State| {
        let n = s.case_count() + 1;
        Ok((
            clerk(),
            Event::CaseFiled {
                case: id(&format!("NORTH-2026-{n:06}")),
                court: id("north"),
                division: id("civil"),
                case_type: id("civil"),
                weight: 2,
                parties: vec![party_commitment(&pepper, &party)],
                claim: sha256(&[party.as_bytes()]),
                related: None,
                earlier_instance: None,
            },
        ))
    }
}

/// Files one case and returns its entries (filing, draw).
pub async fn file(s: &Store, party: &str) -> Vec<LogEntry> {
    s.submit(filing(s.pepper(), party.to_string()))
        .await
        .expect("filing accepted")
}

/// Reads the whole log back from the database and verifies it.
pub async fn check_log(s: &Store) -> Vec<LogEntry> {
    let (size, root) = s.checkpoint();
    let entries = s.entries(0, size).await.expect("entries");
    assert_eq!(entries.len() as u64, size);
    let report = verify(&entries);
    assert!(report.ok(), "the stored log verifies: {:?}", report.failure);
    assert_eq!(report.root, root);
    entries
}
