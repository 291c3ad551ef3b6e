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

/// Parses a period such as `klero serve --check-every` takes: a whole number with a unit, `s`,
/// `m`, `h` or `d` (`90s`, `30m`, `6h`, `1d`), or `0` for none (the zero duration). `Err` is a
/// sentence saying what is expected.
pub fn parse_period(s: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!(
            "{s:?} is not a period: write a whole number with a unit, s, m, h or d (6h, 1d), or 0 \
             for never"
        )
    };
    if s.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let s = s.trim();
    let unit = match s.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = s[..s.len() - 1]
        .parse()
        .ok()
        .filter(|d: &u64| s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit()) && *d > 0)
        .ok_or_else(bad)?;
    n.checked_mul(unit)
        .map(std::time::Duration::from_secs)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse_period;
    use std::time::Duration;

    #[test]
    fn periods_parse_with_a_unit_or_zero() {
        assert_eq!(parse_period("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_period("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_period("0"), Ok(Duration::ZERO));
        for bad in [
            "",
            "6",
            "h",
            "-1h",
            "1.5h",
            "6 h",
            "0h",
            "6w",
            "99999999999999999999d",
        ] {
            let e = parse_period(bad).expect_err(bad);
            assert!(e.contains("not a period"), "{e}");
        }
    }
}
