//! `klero audit`: replay a log (a file of JSON lines, or a live server's pages) through the core's
//! audit and say in plain words what stands out.

use std::io::BufRead;
use std::path::Path;

use klero_core::LogEntry;
use klero_core::audit::{AuditConfig, AuditReport, Auditor};

use crate::verify::{Replay, open_sized, replay_lines, replay_url};

/// A progress line goes to the caller every this many entries.
pub const PROGRESS_EVERY: u64 = 100_000;

impl Replay for Auditor {
    fn push(&mut self, e: &LogEntry) -> bool {
        Auditor::push(self, e).is_ok()
    }
    fn fail(&mut self, section: &'static str, message: String) {
        Auditor::fail(self, section, message)
    }
    fn failed(&self) -> bool {
        Auditor::failed(self)
    }
    fn log(&self) -> &klero_core::Log {
        Auditor::log(self)
    }
    fn reserve(&mut self, entries: u64) {
        Auditor::reserve(self, entries)
    }
}

/// Audits JSON lines from `reader`; `progress` is called every [`PROGRESS_EVERY`] entries.
pub fn audit_lines(
    reader: impl BufRead,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> AuditReport {
    audit_with(Auditor::new(config), reader, PROGRESS_EVERY, progress)
}

/// Replays the lines from `reader` into `a` and reports.
fn audit_with(
    mut a: Auditor,
    reader: impl BufRead,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> AuditReport {
    replay_lines(reader, &mut a, every, progress);
    a.finish()
}

/// Audits the file at `path` (JSON lines, the export format), its tables sized from the file.
pub fn audit_file(
    path: &Path,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditReport, String> {
    let mut a = Auditor::new(config);
    let reader = open_sized(path, &mut a)?;
    Ok(audit_with(a, reader, PROGRESS_EVERY, progress))
}

/// Audits a live server's whole log: its checkpoint, then every entry up to that size, checking
/// that the entries give the checkpoint's root. `Err` only when the server cannot be reached or
/// its checkpoint read at all.
pub fn audit_url(
    base: &str,
    config: AuditConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditReport, String> {
    let mut a = Auditor::new(config);
    replay_url(base, &mut a, PROGRESS_EVERY, progress)?;
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
        let a = Auditor::new(AuditConfig::default());
        let r = audit_with(a, text.as_bytes(), 25, &mut |n| seen.push(n));
        assert!(r.failure.is_none());
        let want: Vec<u64> = (1..=log.len() as u64 / 25).map(|k| k * 25).collect();
        assert_eq!(seen, want);
        let r = audit_lines("".as_bytes(), AuditConfig::default(), &mut |_| {});
        assert!(r.failure.unwrap().contains("the log holds no entry"));
    }
}
