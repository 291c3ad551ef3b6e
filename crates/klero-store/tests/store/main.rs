//! The store's contract, tested on SQLite and on PostgreSQL alike: every test below runs once per
//! engine (`both!` makes a `sqlite` and a `postgres` test of each). PostgreSQL must be reachable at
//! `KLERO_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`); if it is not, the
//! PostgreSQL tests fail, they never skip.

/// Fixtures: a seeded court, filings, and the `both!` macro.
mod common;

/// Appending, reopening, proofs and verification of what was stored.
mod persistence;

/// Many concurrent submissions: one linear chain, every case drawn once.
mod concurrency;

/// Idempotency keys: retries, concurrent retries.
mod idempotency;

/// Rejected events write nothing.
mod rejection;

/// Migrations: a schema newer than the code refuses to open.
mod schema;

/// Direct SQL changes to the log are caught at open, naming the entry.
mod tamper;

/// Schema 9: each entry stored as its canonical bytes; a schema-8 log is converted, and an edited
/// or unreadable old row is still named.
mod canonical;

/// Schema 11: no hash per log row; readers check each entry's hash against `chain` and `tiles`;
/// a schema-10 log is converted only if no stored hash would be lost.
mod hashes;

/// Projections: written with the entries, rebuildable from the log.
mod projections;

/// Schema 14: a closed case is kept only in the case archive; the court's closed-case search,
/// statistics and last case number read it there, refusing an edited row.
mod closed;

/// The built-in beacon: chains rotate when exhausted, secrets survive a reopen.
mod beacon;

/// Secrets apart from data: a copy of the database reveals no future beacon value and no pepper;
/// a version-1 database's secrets are moved out and its table dropped.
mod secrets;

/// Injected storage faults: failed transactions, a second writer on the same database.
mod faults;

/// State snapshots: a start replays only the tail; an edited snapshot is refused; the full check
/// still catches an edited row the snapshot covers.
mod snapshot;

/// The case archive: compact records, CBOR records of an older database still read, edits refused.
mod archive;
