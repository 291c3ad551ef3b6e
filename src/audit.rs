//! `klero audit`: replay a log (a file of JSON lines, or a live server's pages) through the core's
//! audit and say in plain words what stands out.

use std::io::BufRead;
use std::path::Path;

use klero_core::audit::{AuditConfig, AuditReport, Auditor};
use klero_core::state::fmt_index;
use klero_core::{Digest32, LogEntry};

use crate::verify::{agent, get, problem_detail};

/// A progress line goes to the caller every this many entries.
pub const PROGRESS_EVERY: u64 = 100_000;

/// Feeds one line; an unreadable line stops the audit with a failure. Blank lines are skipped.
fn push_line(a: &mut Auditor, line: &str, what: impl FnOnce() -> String) -> bool {
    if line.trim().is_empty() {
        return true;
    }
    match LogEntry::from_json_line(line) {
        Ok(e) => a.push(&e).is_ok(),
        Err(m) => {
            a.fail(format!("{}: {m}", what()));
            false
        }
    }
}

fn tick(a: &Auditor, every: u64, progress: &mut dyn FnMut(u64)) {
    let n = a.entries();
    if n > 0 && n.is_multiple_of(every) {
        progress(n);
    }
}

/// Audits JSON lines from `reader`; `progress` is called every [`PROGRESS_EVERY`] entries.
pub fn audit_lines(
    reader: impl BufRead,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> AuditReport {
    audit_lines_every(reader, config, PROGRESS_EVERY, progress)
}

fn audit_lines_every(
    reader: impl BufRead,
    config: AuditConfig,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> AuditReport {
    let mut a = Auditor::new(config);
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        match line {
            Ok(l) => {
                if !push_line(&mut a, &l, || {
                    format!("line {} is not a log entry", fmt_index(line_no))
                }) {
                    break;
                }
                tick(&a, every, progress);
            }
            Err(e) => {
                a.fail(format!("line {} cannot be read: {e}", fmt_index(line_no)));
                break;
            }
        }
    }
    if a.entries() == 0 {
        a.fail("the log holds no entry".into());
    }
    a.finish()
}

/// Audits the file at `path` (JSON lines, the export format).
pub fn audit_file(
    path: &Path,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditReport, String> {
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(audit_lines(
        std::io::BufReader::with_capacity(1 << 20, f),
        config,
        progress,
    ))
}

/// Audits a live server's whole log: its checkpoint, then every entry up to that size, checking
/// that the entries give the checkpoint's root. `Err` only when the server cannot be reached or
/// its checkpoint read at all.
pub fn audit_url(
    base: &str,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditReport, String> {
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
    let mut a = Auditor::new(config);
    let mut start = 0u64;
    let mut failed = false;
    'pages: while start < size {
        let end = (start + klero_portal::MAX_PAGE).min(size);
        let url = format!("{base}/api/v1/log/entries?start={start}&end={end}");
        let (status, body) = match get(&agent, &url) {
            Ok(x) => x,
            Err(e) => {
                a.fail(e);
                failed = true;
                break;
            }
        };
        if status != 200 {
            a.fail(format!(
                "the server could not serve the entries from {} ({status}): {}",
                fmt_index(start),
                problem_detail(&body)
            ));
            failed = true;
            break;
        }
        let mut got = 0u64;
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            got += 1;
            if !push_line(&mut a, line, || {
                "the server sent something that is not a log entry".into()
            }) {
                failed = true;
                break 'pages;
            }
            tick(&a, PROGRESS_EVERY, progress);
        }
        if got == 0 {
            a.fail(format!(
                "the server's checkpoint has {} entries, but it served none from {}",
                fmt_index(size),
                fmt_index(start)
            ));
            failed = true;
            break;
        }
        start += got;
    }
    if !failed {
        if size == 0 {
            a.fail("the log holds no entry".into());
        } else if a.log().root() != root {
            a.fail(format!(
                "the server's checkpoint gives Merkle root {root} for {} entries, but the entries it served give {}",
                fmt_index(size),
                a.log().root()
            ));
        }
    }
    Ok(a.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use klero_core::sample::{SampleSpec, sample_log};

    #[test]
    fn progress_is_reported_every_n_entries_and_an_empty_log_fails() {
        let log = sample_log(&SampleSpec::small(1));
        let text: String = log.iter().map(|e| e.to_json_line() + "\n").collect();
        let mut seen = vec![];
        let r = audit_lines_every(text.as_bytes(), AuditConfig::default(), 25, &mut |n| {
            seen.push(n)
        });
        assert!(r.failure.is_none());
        let want: Vec<u64> = (1..=log.len() as u64 / 25).map(|k| k * 25).collect();
        assert_eq!(seen, want);
        let r = audit_lines("\n".as_bytes(), AuditConfig::default(), &mut |_| {});
        assert!(r.failure.unwrap().contains("the log holds no entry"));
    }
}
