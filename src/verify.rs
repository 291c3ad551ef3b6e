//! `klero verify`: replay a log from a file of JSON lines or from a live server's pages, and say in
//! one sentence whether it verifies and, if not, which entry fails first.

use std::io::BufRead;
use std::path::Path;

use klero_core::state::fmt_index;
use klero_core::{Digest32, LogEntry, Report, Verifier};

/// How many entries `verify_url` asks for per page (the server's maximum).
const PAGE: u64 = klero_portal::MAX_PAGE;

/// Feeds one framed line (with its line feed) to the verifier; an unreadable line is a failure
/// described by `what` (which names where the line came from).
fn push_line(v: &mut Verifier, raw: &[u8], what: impl FnOnce() -> String) -> bool {
    match LogEntry::from_export_line(raw) {
        Ok(e) => v.push(&e).is_ok(),
        Err(m) => {
            v.fail("§8", format!("{}: {m}", what()));
            false
        }
    }
}

/// Verifies an export (JSON lines, SPEC §8) from `reader`, stopping at the first failure. Framing is
/// strict: every line ends with a line feed, none is blank or ends with a carriage return; a log
/// with no entry at all fails.
pub fn verify_lines(mut reader: impl BufRead) -> Report {
    let mut v = Verifier::new();
    let mut raw = Vec::with_capacity(4096);
    for line_no in 1u64.. {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {
                if !push_line(&mut v, &raw, || {
                    format!("line {} is not a log entry", fmt_index(line_no))
                }) {
                    break;
                }
            }
            Err(e) => {
                v.fail(
                    "§8",
                    format!("line {} cannot be read: {e}", fmt_index(line_no)),
                );
                break;
            }
        }
    }
    if v.report().verified == 0 && v.report().failure.is_none() {
        v.fail("§9", "the log holds no entry".into());
    }
    v.report()
}

/// Verifies the file at `path` (JSON lines, the export format).
pub fn verify_file(path: &Path) -> Result<Report, String> {
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(verify_lines(std::io::BufReader::with_capacity(1 << 20, f)))
}

/// The outcome of verifying a live server.
#[derive(Clone, Debug)]
pub struct UrlReport {
    /// The replay's report (a failure also covers a checkpoint that does not match the entries).
    pub report: Report,
    /// The checkpoint the server published before the entries were read.
    pub checkpoint: (u64, Digest32),
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        // The server closes a connection idle for 10 s; reuse none older than 5 s.
        .max_idle_age(std::time::Duration::from_secs(5))
        .build()
        .into()
}

pub(crate) fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, String), String> {
    let mut r = agent
        .get(url)
        .call()
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .map_err(|e| format!("cannot read the answer of {url}: {e}"))?;
    Ok((status, body))
}

/// The `detail` of a problem document, or the body itself.
pub(crate) fn problem_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// Verifies a live server's whole log: reads its checkpoint, then every entry up to that size
/// through `/api/v1/log/entries`, and checks that the entries give the checkpoint's root. `Err` only
/// when the server cannot be reached or its checkpoint read at all.
pub fn verify_url(base: &str) -> Result<UrlReport, String> {
    let base = base.trim_end_matches('/');
    let agent = agent();
    let (status, body) = get(&agent, &format!("{base}/api/v1/log/checkpoint"))?;
    if status != 200 {
        return Err(format!(
            "the server answered {status} for its checkpoint: {}",
            problem_detail(&body)
        ));
    }
    let cp: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("the checkpoint is not JSON: {e}"))?;
    let size = cp["size"].as_u64().ok_or("the checkpoint has no size")?;
    let root = cp["root"]
        .as_str()
        .and_then(|r| Digest32::from_hex(r).ok())
        .ok_or("the checkpoint has no valid root")?;
    let mut v = Verifier::new();
    let mut start = 0u64;
    'pages: while start < size {
        let end = (start + PAGE).min(size);
        let url = format!("{base}/api/v1/log/entries?start={start}&end={end}");
        let (status, body) = match get(&agent, &url) {
            Ok(x) => x,
            Err(e) => {
                v.fail("§8", e);
                break;
            }
        };
        if status != 200 {
            v.fail(
                "§8",
                format!(
                    "the server could not serve the entries from {} ({status}): {}",
                    fmt_index(start),
                    problem_detail(&body)
                ),
            );
            break;
        }
        let mut got = 0u64;
        for line in body.split_inclusive('\n') {
            got += 1;
            if !push_line(&mut v, line.as_bytes(), || {
                "the server sent something that is not a log entry".into()
            }) {
                break 'pages;
            }
        }
        if got == 0 {
            v.fail(
                "§5",
                format!(
                    "the server's checkpoint has {} entries, but it served none from {}",
                    fmt_index(size),
                    fmt_index(start)
                ),
            );
            break;
        }
        start += got;
    }
    if v.report().failure.is_none() {
        if size == 0 {
            v.fail("§9", "the log holds no entry".into());
        } else if v.log().root() != root {
            v.fail(
                "§5",
                format!(
                "the server's checkpoint gives Merkle root {root} for {} entries, but the entries it served give {}",
                fmt_index(size),
                v.log().root()
            ),
            );
        }
    }
    Ok(UrlReport {
        report: v.report(),
        checkpoint: (size, root),
    })
}

/// A few lines for a person: what was verified, and the verdict.
pub fn summary(r: &Report) -> String {
    let mut s = format!(
        "{} entries verified: {} cases filed, {} draws\nMerkle root: {}\nhead hash:   {}\n",
        fmt_index(r.verified),
        fmt_index(r.cases),
        fmt_index(r.draws),
        r.root,
        r.head
    );
    match &r.failure {
        None => s.push_str(
            "OK: every hash link, beacon value, eligible pool, weight and draw checks out\n",
        ),
        Some(f) => s.push_str(&format!("FAILED: {f}\n")),
    }
    s
}
