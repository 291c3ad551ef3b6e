//! # klero: the Kleroterion command line, as a library
//!
//! `src/main.rs` only parses arguments and calls these functions, so the integration tests and the
//! load generator use exactly the code paths the command line does: [`verify::verify_url`] is what
//! `klero verify --url` runs, [`audit::audit_file`] is what `klero audit` runs, [`demo::seed`] is what `klero serve --demo` runs.
#![deny(missing_docs)]

pub mod audit;
pub mod client;
pub mod demo;
pub mod drand;
pub mod monitor;
pub mod tiles;
pub mod verify;
pub mod witness;
pub mod witnessing;

use std::io::Write;

use klero_store::Store;

/// Writes the whole log to `out` in the export format (JSON lines), page by page. Returns the
/// number of entries written.
pub async fn export(store: &Store, out: &mut dyn Write) -> Result<u64, String> {
    let (size, _) = store.checkpoint();
    let mut start = 0;
    while start < size {
        let end = (start + 1000).min(size);
        let page = store.entries(start, end).await.map_err(|e| e.to_string())?;
        if page.is_empty() {
            return Err(format!("the store returned no entries from {start}"));
        }
        for e in &page {
            writeln!(out, "{}", e.to_json_line()).map_err(|e| format!("cannot write: {e}"))?;
        }
        start += page.len() as u64;
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    Ok(size)
}

/// The database a command uses when none is given: `./klero.db`.
pub const DEFAULT_DATABASE: &str = "sqlite://klero.db";
