//! `klero verify`: replay a log from a file of JSON lines or from a live server's pages, and say in
//! one sentence whether it verifies and, if not, which entry fails first.

use std::io::BufRead;

use memchr::memchr;
use std::path::Path;

use klero_core::state::fmt_index;
use klero_core::{Digest32, LogEntry, Report, Verifier};

/// What replays a log entry by entry: the verifier, or the auditor (which verifies as it goes).
/// `klero verify` and `klero audit` read files and servers through the same code, with the one
/// strict parser of the export format ([`LogEntry::from_export_line`]).
pub trait Replay {
    /// Checks and applies the next entry; false once something failed.
    fn push(&mut self, e: &LogEntry) -> bool;
    /// [`Replay::push`], given the entry's Merkle leaf hash (`leaf_hash` of its hash), which a
    /// reader of tiles computed already.
    fn push_with_leaf(&mut self, e: &LogEntry, _leaf: Digest32) -> bool {
        self.push(e)
    }
    /// Records a failure found outside the entries, naming the SPEC section it breaks.
    fn fail(&mut self, section: &'static str, message: String);
    /// True once a failure was recorded.
    fn failed(&self) -> bool;
    /// The log as replayed so far.
    fn log(&self) -> &klero_core::Log;
    /// Sizes the replay's tables for a log of about `entries` entries in all (a capacity hint that
    /// changes no result).
    fn reserve(&mut self, entries: u64);
}

impl Replay for Verifier {
    fn push(&mut self, e: &LogEntry) -> bool {
        Verifier::push(self, e).is_ok()
    }
    fn push_with_leaf(&mut self, e: &LogEntry, leaf: Digest32) -> bool {
        Verifier::push_with_leaf(self, e, Some(leaf)).is_ok()
    }
    fn fail(&mut self, section: &'static str, message: String) {
        Verifier::fail(self, section, message)
    }
    fn failed(&self) -> bool {
        self.failure().is_some()
    }
    fn log(&self) -> &klero_core::Log {
        Verifier::log(self)
    }
    fn reserve(&mut self, entries: u64) {
        Verifier::reserve(self, entries)
    }
}

/// Feeds one framed line (with its line feed); an unreadable line is a failure described by `what`
/// (which names where the line came from).
fn push_line(r: &mut dyn Replay, raw: &[u8], what: impl FnOnce() -> String) -> bool {
    match LogEntry::from_export_line(raw) {
        Ok(e) => r.push(&e),
        Err(m) => {
            r.fail("§8", format!("{}: {m}", what()));
            false
        }
    }
}

/// Calls `progress` with the number of entries replayed every `every` entries.
fn tick(r: &dyn Replay, every: u64, progress: &mut dyn FnMut(u64)) {
    let n = r.log().size();
    if n > 0 && n.is_multiple_of(every) {
        progress(n);
    }
}

/// Replays an export (JSON lines, SPEC §8) from `reader`, stopping at the first failure. Framing is
/// strict: every line ends with a line feed, none is blank or ends with a carriage return; a log
/// with no entry at all fails. Lines are parsed where they lie in the reader's buffer; only a line
/// that straddles two reads is copied.
pub fn replay_lines(
    mut reader: impl BufRead,
    r: &mut dyn Replay,
    every: u64,
    progress: &mut dyn FnMut(u64),
) {
    // The start of a line that straddles two reads.
    let mut carry: Vec<u8> = Vec::new();
    let mut line_no = 0u64;
    'read: loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                r.fail(
                    "§8",
                    format!("line {} cannot be read: {e}", fmt_index(line_no + 1)),
                );
                break;
            }
        };
        if buf.is_empty() {
            if !carry.is_empty() {
                // The last line has no line feed: the parser names that.
                line_no += 1;
                push_line(r, &carry, || {
                    format!("line {} is not a log entry", fmt_index(line_no))
                });
            }
            break;
        }
        let mut used = 0;
        while let Some(n) = memchr(b'\n', &buf[used..]) {
            let end = used + n + 1;
            line_no += 1;
            let ok = if carry.is_empty() {
                push_line(r, &buf[used..end], || {
                    format!("line {} is not a log entry", fmt_index(line_no))
                })
            } else {
                carry.extend_from_slice(&buf[used..end]);
                let ok = push_line(r, &carry, || {
                    format!("line {} is not a log entry", fmt_index(line_no))
                });
                carry.clear();
                ok
            };
            if !ok {
                break 'read;
            }
            tick(r, every, progress);
            used = end;
        }
        carry.extend_from_slice(&buf[used..]);
        let len = buf.len();
        reader.consume(len);
    }
    if r.log().size() == 0 && !r.failed() {
        r.fail("§9", "the log holds no entry".into());
    }
}

/// Opens `path` for [`replay_lines`].
pub fn open_file(path: &Path) -> Result<std::io::BufReader<std::fs::File>, String> {
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, f))
}

/// Verifies an export from `reader` (see [`replay_lines`]).
pub fn verify_lines(reader: impl BufRead) -> Report {
    let mut v = Verifier::new();
    replay_lines(reader, &mut v, u64::MAX, &mut |_| {});
    v.report()
}

/// Verifies the file at `path` (JSON lines, the export format).
pub fn verify_file(path: &Path) -> Result<Report, String> {
    verify_file_pinned(path, None)
}

/// [`verify_file`], and if `log_key` is given, checks that the log's `log_key_published` entry
/// publishes exactly that key (SPEC §5.1).
pub fn verify_file_pinned(path: &Path, log_key: Option<&str>) -> Result<Report, String> {
    replay_file(path, log_key, u64::MAX, &mut |_| {}).map(|v| v.report())
}

/// The verifier after replaying the file at `path` (see [`verify_file_pinned`]), calling `progress`
/// every `every` entries. `klero verify` takes its report and lets the process's exit free it.
pub fn replay_file(
    path: &Path,
    log_key: Option<&str>,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Verifier, String> {
    let mut v = Verifier::new();
    replay_lines(open_sized(path, &mut v)?, &mut v, every, progress);
    if let Some(k) = log_key {
        check_published_key(&mut v, k.trim());
    }
    Ok(v)
}

/// Opens `path` for [`replay_lines`] into `r`, first sizing `r`'s tables for the entries the file
/// holds by [`Verifier::entries_in_export`] of its length and the reader's first buffer (up to
/// 1 MiB, read here and left in the buffer for the replay).
pub fn open_sized(
    path: &Path,
    r: &mut dyn Replay,
) -> Result<std::io::BufReader<std::fs::File>, String> {
    let mut reader = open_file(path)?;
    let len = reader.get_ref().metadata().map_or(0, |m| m.len());
    if let Some(entries) = reader
        .fill_buf()
        .ok()
        .and_then(|head| Verifier::entries_in_export(len, head))
    {
        r.reserve(entries);
    }
    Ok(reader)
}

/// Checks, after a replay, that the key the log published in its `log_key_published` entry is
/// `key` (the key an observer noted, or the one the checkpoint was checked with). A log without
/// that entry (written before it existed) is not failed for it.
pub fn check_published_key(r: &mut dyn Replay, key: &str) {
    if r.failed() {
        return;
    }
    if let Some(published) = r.log().state().log_key()
        && published != key
    {
        let published = published.to_owned();
        r.fail(
            "§5.1",
            format!(
                "the log publishes the key {published} in its log_key_published entry, but the \
                 checkpoint was checked with {key}: the log was re-keyed or replaced"
            ),
        );
    }
}

/// The outcome of verifying a live server.
#[derive(Clone, Debug)]
pub struct UrlReport {
    /// The replay's report (a failure also covers a checkpoint that does not match the entries).
    pub report: Report,
    /// The signed checkpoint the server published before the entries were read.
    pub checkpoint: (u64, Digest32),
    /// The log key the checkpoint's signature was checked with.
    pub log_key: String,
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into()
}

/// `GET url` (with `Accept: accept` if given): the status and at most `limit` bytes of the body.
pub(crate) fn get_bytes(
    agent: &ureq::Agent,
    url: &str,
    accept: Option<&str>,
    limit: u64,
) -> Result<(u16, Vec<u8>), String> {
    let mut req = agent.get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut r = req.call().map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| format!("cannot read the answer of {url}: {e}"))?;
    Ok((status, body))
}

/// `GET url` with a text body (up to 256 MiB).
pub(crate) fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, String), String> {
    let (status, body) = get_bytes(agent, url, None, 256 << 20)?;
    let body =
        String::from_utf8(body).map_err(|_| format!("the answer of {url} is not UTF-8 text"))?;
    Ok((status, body))
}

/// The `detail` of a problem document, or the body itself.
pub(crate) fn problem_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// Replays a live server's whole log: reads its checkpoint, then every entry up to that size
/// through `/api/v1/log/entries` (pages of [`klero_portal::MAX_PAGE`]), and checks that the entries
/// give the checkpoint's root. Returns the checkpoint; `Err` only when the server cannot be
/// reached or its checkpoint read at all.
pub fn replay_url(
    base: &str,
    r: &mut dyn Replay,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, Digest32), String> {
    replay_url_signed(base, None, r, every, progress).map(|(c, _)| c)
}

/// [`replay_url`] reading the **signed** checkpoint (SPEC §5.1): the note must carry a valid
/// signature of the log key `pinned` (an observer's noted key) or, if none is given, of the key the
/// server publishes, which is returned so that the observer can note it. A note that does not
/// verify is a failure (§5.1).
pub fn replay_url_signed(
    base: &str,
    pinned: Option<&str>,
    r: &mut dyn Replay,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<((u64, Digest32), String), String> {
    let base = base.trim_end_matches('/');
    let agent = agent();
    let key = match pinned {
        Some(k) => k.trim().to_owned(),
        None => {
            let (status, body) = get(&agent, &format!("{base}/api/v1/log/key"))?;
            if status != 200 {
                return Err(format!(
                    "the server answered {status} for its log key: {}",
                    problem_detail(&body)
                ));
            }
            body.trim().to_owned()
        }
    };
    let (status, note) = get(&agent, &format!("{base}/api/v1/log/checkpoint/note"))?;
    if status != 200 {
        return Err(format!(
            "the server answered {status} for its signed checkpoint: {}",
            problem_detail(&note)
        ));
    }
    let cp = match klero_core::checkpoint::verify(&note, &key) {
        Ok(cp) => cp,
        Err(m) => {
            r.fail("§5.1", m);
            return Ok(((0, Digest32::ZERO), key));
        }
    };
    let (size, root) = (cp.size, cp.root);
    let mut start = 0u64;
    'pages: while start < size {
        let end = (start + klero_portal::MAX_PAGE).min(size);
        let url = format!("{base}/api/v1/log/entries?start={start}&end={end}");
        let (status, body) = match get(&agent, &url) {
            Ok(x) => x,
            Err(e) => {
                r.fail("§8", e);
                break;
            }
        };
        if status != 200 {
            r.fail(
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
            if !push_line(r, line.as_bytes(), || {
                "the server sent something that is not a log entry".into()
            }) {
                break 'pages;
            }
            tick(r, every, progress);
        }
        if got == 0 {
            r.fail(
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
    check_published_key(r, &key);
    if !r.failed() {
        if size == 0 {
            r.fail("§9", "the log holds no entry".into());
        } else if r.log().root() != root {
            let got = r.log().root();
            r.fail(
                "§5",
                format!(
                    "the server's checkpoint gives Merkle root {root} for {} entries, but the entries it served give {got}",
                    fmt_index(size),
                ),
            );
        }
    }
    Ok(((size, root), key))
}

/// Verifies a live server's whole log against its signed checkpoint (see [`replay_url_signed`]).
pub fn verify_url(base: &str) -> Result<UrlReport, String> {
    verify_url_pinned(base, None)
}

/// [`verify_url`] with the log key an observer noted earlier.
pub fn verify_url_pinned(base: &str, log_key: Option<&str>) -> Result<UrlReport, String> {
    let mut v = Verifier::new();
    let (checkpoint, log_key) = replay_url_signed(base, log_key, &mut v, u64::MAX, &mut |_| {})?;
    Ok(UrlReport {
        report: v.report(),
        checkpoint,
        log_key,
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
    if let Some(d) = &r.drand {
        if *d == klero_core::DrandChain::quicknet() {
            s.push_str(&format!(
                "randomness: drand quicknet (chain {}), its public key as pinned\n",
                d.chain_hash
            ));
        } else {
            s.push_str(&format!(
                "randomness: drand chain {} with public key {}: NOT quicknet; whoever holds this \
                 chain's key could foresee its rounds, so check it is a public chain you trust\n",
                d.chain_hash,
                d.public_key.to_hex()
            ));
        }
    }
    match &r.failure {
        None => s.push_str(
            "OK: every hash link, beacon value, eligible pool, weight and draw checks out\n",
        ),
        Some(f) => s.push_str(&format!("FAILED: {f}\n")),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = include_str!("../tests/vectors/conformance-log.jsonl");

    /// The report of `text` read through a buffer of `cap` bytes, so that lines straddle reads.
    fn verify_with(text: &str, cap: usize) -> Report {
        verify_lines(std::io::BufReader::with_capacity(cap, text.as_bytes()))
    }

    #[test]
    fn lines_that_straddle_reads_verify_as_whole_ones() {
        let whole = verify_with(LOG, 1 << 20);
        assert!(whole.ok(), "{:?}", whole.failure);
        assert_eq!(whole.verified, LOG.lines().count() as u64);
        for cap in [1, 2, 7, 100, 4096] {
            let r = verify_with(LOG, cap);
            assert!(r.ok(), "capacity {cap}: {:?}", r.failure);
            assert_eq!(
                (r.verified, r.root, r.head),
                (whole.verified, whole.root, whole.head),
                "capacity {cap}"
            );
        }
    }

    #[test]
    fn a_bad_line_is_named_whatever_the_buffer() {
        let mut lines: Vec<&str> = LOG.lines().collect();
        lines[2] = "not json";
        let bad = lines.join("\n") + "\n";
        // The last line without its line feed, and a line ending with a carriage return.
        let unterminated = LOG.strip_suffix('\n').unwrap();
        let crlf = LOG.replacen('\n', "\r\n", 2);
        for cap in [1, 3, 64, 1 << 20] {
            let f = verify_with(&bad, cap).failure.expect("fails");
            assert!(
                f.message.starts_with("line 3 is not a log entry"),
                "capacity {cap}: {f}"
            );
            assert_eq!(f.index, 2, "capacity {cap}");
            let f = verify_with(unterminated, cap).failure.expect("fails");
            assert!(f.message.contains("line feed"), "capacity {cap}: {f}");
            assert_eq!(f.index, LOG.lines().count() as u64 - 1, "capacity {cap}");
            let f = verify_with(&crlf, cap).failure.expect("fails");
            assert!(f.message.contains("carriage return"), "capacity {cap}: {f}");
            assert_eq!(f.index, 0, "capacity {cap}");
        }
        let f = verify_with("", 16).failure.expect("an empty log fails");
        assert_eq!(f.section, "§9");
    }
}
