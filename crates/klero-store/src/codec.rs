//! How a log row held its entry in schema versions 4 to 8: the JSON export line, compressed with
//! raw DEFLATE (RFC 1951). From version 9 on a row holds the entry's canonical bytes (see
//! `migrations/sqlite/0009_canonical_log.sql`); this is only for the migrations that write rows of
//! version 4 (from a version-3 database) and read them back into version 9.

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

/// The stored bytes of `line` (a JSON export line), as version 4 stored them.
pub fn compress_line(line: &str) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::with_capacity(line.len() / 2), Compression::new(6));
    enc.write_all(line.as_bytes())
        .expect("writing to memory cannot fail");
    enc.finish().expect("writing to memory cannot fail")
}

/// The JSON export line held in `stored`, or why it cannot be read. At most `limit` bytes are
/// inflated (an entry is never larger), so a crafted row cannot exhaust memory.
pub fn decompress_line(stored: &[u8]) -> Result<String, String> {
    const LIMIT: u64 = 64 << 20;
    let mut out = String::new();
    DeflateDecoder::new(stored)
        .take(LIMIT)
        .read_to_string(&mut out)
        .map_err(|e| format!("its stored bytes do not inflate to text: {e}"))?;
    Ok(out)
}
