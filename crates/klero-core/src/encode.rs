//! The canonical binary encoding (SPEC §3). Every field is written in a fixed order with a fixed
//! width or a length prefix, so there is exactly one byte string for each value and another
//! implementation can reproduce it without a serialization library.
//!
//! [`Enc`] writes it; [`Dec`] reads it back. The reader is the writer's exact inverse: it accepts
//! precisely the byte strings the writer can produce (a `bool` or an option flag other than 0 or 1,
//! a string that is not UTF-8, a length or count running past the end, a short read or a byte left
//! over are refused), so a value read and written again gives back the same bytes.

use std::fmt;

use crate::day::Day;
use crate::ids::{Digest32, IdError};

/// A writer of canonical bytes.
#[derive(Default, Debug)]
pub struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Enc {
            buf: Vec::with_capacity(n),
        }
    }
    /// A writer that reuses `buf`'s allocation (its contents are cleared).
    pub fn reuse(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Enc { buf }
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// 0x00 or 0x01.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }
    /// Four bytes, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Four bytes, big-endian two's complement.
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Eight bytes, big-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Eight bytes, big-endian two's complement.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// A u32 byte length followed by the UTF-8 bytes.
    pub fn str(&mut self, v: &str) {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v.as_bytes());
    }
    /// 32 raw bytes.
    pub fn digest(&mut self, v: &Digest32) {
        self.buf.extend_from_slice(&v.0);
    }
    /// Raw bytes of a fixed length (the length is part of the field's definition, not written).
    pub fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// A u32 item count followed by each item.
    pub fn list<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        self.u32(items.len() as u32);
        for it in items {
            f(self, it);
        }
    }
    /// 0x00 for none, or 0x01 followed by the value.
    pub fn opt<T>(&mut self, v: &Option<T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                f(self, x)
            }
        }
    }
    /// An unsigned LEB128 varint: seven bits a byte, least significant first, the high bit set on
    /// every byte but the last; 1 to 10 bytes, the fewest that hold the value. Not part of the
    /// log's encoding (SPEC §3 has only fixed widths): the store's compact records use it.
    pub fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// A [`Enc::var`] byte length followed by the UTF-8 bytes.
    pub fn var_str(&mut self, v: &str) {
        self.var(v.len() as u64);
        self.buf.extend_from_slice(v.as_bytes());
    }
    /// A [`Enc::var`] item count followed by each item.
    pub fn var_list<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        self.var(items.len() as u64);
        for it in items {
            f(self, it);
        }
    }
}

/// A value with one canonical byte encoding.
pub trait Canonical {
    /// Appends the canonical bytes of `self`.
    fn encode(&self, e: &mut Enc);

    /// The canonical bytes of `self`.
    fn to_canonical_bytes(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(256);
        self.encode(&mut e);
        e.into_bytes()
    }
}

/// Why canonical bytes were refused: what was wrong and at which byte offset the refused field
/// starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset, from the start of the bytes, of the field that was refused.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// The classes of refusal of [`Dec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The bytes end inside a fixed-width field.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A string's byte length, or a list's item count, runs past the end of the bytes (every list
    /// item takes at least one byte).
    LengthBeyondEnd {
        /// The length or count read.
        length: u32,
        /// Bytes left after it.
        remaining: usize,
    },
    /// A string is not UTF-8.
    InvalidUtf8,
    /// A `bool` byte other than 0x00 or 0x01.
    InvalidBool(u8),
    /// An option flag other than 0x00 (none) or 0x01 (some).
    InvalidOption(u8),
    /// An enumeration or type byte with no meaning.
    UnknownTag {
        /// What the byte names ("event type", "role", ...).
        what: &'static str,
        /// The byte read.
        byte: u8,
    },
    /// An entry whose version byte is not [`crate::event::ENTRY_VERSION`].
    UnknownVersion(u8),
    /// A string that is not a valid identifier (SPEC §2.3).
    InvalidId(IdError),
    /// A day outside the years 0001–9999, which JSON cannot write (SPEC §2.1).
    DayOutOfRange(i32),
    /// A varint ([`Enc::var`]) longer than the fewest bytes that hold its value, or above 2^64 - 1.
    InvalidVarint,
    /// Bytes left over after the value.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match &self.kind {
            DecodeErrorKind::Truncated { needed, remaining } => write!(
                f,
                "the bytes end early: the field needs {needed} bytes, {remaining} are left"
            ),
            DecodeErrorKind::LengthBeyondEnd { length, remaining } => write!(
                f,
                "a length or count of {length} runs past the end ({remaining} bytes are left)"
            ),
            DecodeErrorKind::InvalidUtf8 => f.write_str("a string is not UTF-8"),
            DecodeErrorKind::InvalidBool(b) => {
                write!(f, "a boolean is {b:#04x}: only 0x00 and 0x01 are booleans")
            }
            DecodeErrorKind::InvalidOption(b) => write!(
                f,
                "an option flag is {b:#04x}: only 0x00 (none) and 0x01 (some) are flags"
            ),
            DecodeErrorKind::UnknownTag { what, byte } => write!(f, "{byte} is not a {what}"),
            DecodeErrorKind::UnknownVersion(v) => {
                write!(f, "the entry version is {v}: only version 1 is defined")
            }
            DecodeErrorKind::InvalidId(e) => write!(f, "{e}"),
            DecodeErrorKind::DayOutOfRange(d) => write!(
                f,
                "day {d} is outside the years 0001-9999 a day can be written in"
            ),
            DecodeErrorKind::InvalidVarint => {
                f.write_str("a varint is not in its shortest form, or does not fit in 64 bits")
            }
            DecodeErrorKind::TrailingBytes(n) => {
                write!(f, "{n} bytes are left over after the value")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The first and last day a JSON date can name (`0001-01-01`, `9999-12-31`), as days since
/// 1970-01-01.
const FIRST_DAY: i32 = -719_162;
const LAST_DAY: i32 = 2_932_896;

/// A reader of canonical bytes, the inverse of [`Enc`]: each method reads what the [`Enc`] method
/// of the same name writes, and refuses what that method cannot have written.
#[derive(Debug, Clone)]
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf, pos: 0 }
    }
    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// The bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// Succeeds when every byte has been read (a canonical value has no bytes after it).
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error_at(self.pos, DecodeErrorKind::TrailingBytes(n))),
        }
    }
    /// An error of this kind at `offset`.
    pub fn error_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }
    /// Takes the next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.error_at(
                self.pos,
                DecodeErrorKind::Truncated {
                    needed: n,
                    remaining: self.remaining(),
                },
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    /// `N` bytes as an array.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    /// 0x00 or 0x01; any other byte is refused.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.error_at(at, DecodeErrorKind::InvalidBool(b))),
        }
    }
    /// Four bytes, big-endian.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// Four bytes, big-endian two's complement.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    /// Eight bytes, big-endian.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// Eight bytes, big-endian two's complement.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A u32 byte length followed by that many bytes of UTF-8.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let len = self.u32()?;
        if len as usize > self.remaining() {
            return Err(self.error_at(
                at,
                DecodeErrorKind::LengthBeyondEnd {
                    length: len,
                    remaining: self.remaining(),
                },
            ));
        }
        let bytes = self.take(len as usize)?;
        std::str::from_utf8(bytes).map_err(|_| self.error_at(at, DecodeErrorKind::InvalidUtf8))
    }
    /// A string, as an owned `String`.
    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }
    /// A string that the identifier type `T` accepts (its `parse`, which its JSON form also goes
    /// through).
    pub fn id<T: std::str::FromStr<Err = IdError>>(&mut self) -> Result<T, DecodeError> {
        let at = self.pos;
        let s = self.str()?;
        s.parse()
            .map_err(|e| self.error_at(at, DecodeErrorKind::InvalidId(e)))
    }
    /// A day: an `i32` within the years 0001–9999, the days JSON can write.
    pub fn day(&mut self) -> Result<Day, DecodeError> {
        let at = self.pos;
        let d = self.i32()?;
        if (FIRST_DAY..=LAST_DAY).contains(&d) {
            Ok(Day(d))
        } else {
            Err(self.error_at(at, DecodeErrorKind::DayOutOfRange(d)))
        }
    }
    /// 32 raw bytes.
    pub fn digest(&mut self) -> Result<Digest32, DecodeError> {
        Ok(Digest32(self.array()?))
    }
    /// Raw bytes of a fixed length `N` (no length prefix).
    pub fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.array()
    }
    /// A byte that `from_byte` maps to a value of an enumeration named `what`; others are refused.
    pub fn tag<T>(
        &mut self,
        what: &'static str,
        from_byte: impl FnOnce(u8) -> Option<T>,
    ) -> Result<T, DecodeError> {
        let at = self.pos;
        let b = self.u8()?;
        from_byte(b).ok_or_else(|| self.error_at(at, DecodeErrorKind::UnknownTag { what, byte: b }))
    }
    /// A u32 item count followed by each item, read by `f`. Every item of every list in the
    /// encoding takes at least one byte, so a count larger than the bytes left is refused before
    /// anything is allocated.
    pub fn list<T>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.pos;
        let n = self.u32()?;
        if n as usize > self.remaining() {
            return Err(self.error_at(
                at,
                DecodeErrorKind::LengthBeyondEnd {
                    length: n,
                    remaining: self.remaining(),
                },
            ));
        }
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
    /// An unsigned LEB128 varint ([`Enc::var`]); one with a redundant final 0x00 byte (longer than
    /// needed) or a value above 2^64 - 1 is refused.
    pub fn var(&mut self) -> Result<u64, DecodeError> {
        let at = self.pos;
        let mut v = 0u64;
        for k in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte holds bit 63 only.
            if k == 9 && b > 1 {
                return Err(self.error_at(at, DecodeErrorKind::InvalidVarint));
            }
            v |= bits << (7 * k);
            if b & 0x80 == 0 {
                if b == 0 && k > 0 {
                    return Err(self.error_at(at, DecodeErrorKind::InvalidVarint));
                }
                return Ok(v);
            }
        }
        Err(self.error_at(at, DecodeErrorKind::InvalidVarint))
    }
    /// A count or length read by [`Dec::var`], refused if it is larger than the bytes left (every
    /// item of a list takes at least one byte).
    fn var_len(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.var()?;
        if n > self.remaining() as u64 {
            return Err(self.error_at(
                at,
                DecodeErrorKind::LengthBeyondEnd {
                    length: u32::try_from(n).unwrap_or(u32::MAX),
                    remaining: self.remaining(),
                },
            ));
        }
        Ok(n as usize)
    }
    /// A [`Dec::var`] byte length followed by that many bytes of UTF-8 ([`Enc::var_str`]).
    pub fn var_str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let len = self.var_len()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| self.error_at(at, DecodeErrorKind::InvalidUtf8))
    }
    /// A [`Dec::var_str`] that the identifier type `T` accepts.
    pub fn var_id<T: std::str::FromStr<Err = IdError>>(&mut self) -> Result<T, DecodeError> {
        let at = self.pos;
        let s = self.var_str()?;
        s.parse()
            .map_err(|e| self.error_at(at, DecodeErrorKind::InvalidId(e)))
    }
    /// A [`Dec::var`] item count followed by each item, read by `f` ([`Enc::var_list`]).
    pub fn var_list<T>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.var_len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
    /// 0x00 for none, or 0x01 followed by the value read by `f`; any other flag is refused.
    pub fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            b => Err(self.error_at(at, DecodeErrorKind::InvalidOption(b))),
        }
    }
}

/// A value that can be read back from its canonical bytes: the inverse of [`Canonical`].
pub trait Decode: Sized {
    /// Reads one value from `d`.
    fn decode(d: &mut Dec<'_>) -> Result<Self, DecodeError>;

    /// Reads a value that is the whole of `bytes` (nothing may follow it).
    fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(bytes);
        let v = Self::decode(&mut d)?;
        d.finish()?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_strings_length_prefixed() {
        let mut e = Enc::default();
        e.u32(1);
        e.i64(-2);
        e.str("ab");
        e.opt(&Some(7u8), |e, v| e.u8(*v));
        e.opt::<u8>(&None, |e, v| e.u8(*v));
        assert_eq!(
            hex::encode(e.into_bytes()),
            "00000001fffffffffffffffe00000002616201".to_owned() + "0700"
        );
    }

    #[test]
    fn the_reader_reads_what_the_writer_wrote_and_nothing_else() {
        let mut e = Enc::default();
        e.u8(9);
        e.bool(true);
        e.u32(1);
        e.i32(-3);
        e.u64(u64::MAX);
        e.i64(-2);
        e.str("ab\u{e9}");
        e.digest(&Digest32([5; 32]));
        e.fixed(&[6; 3]);
        e.list(&[1u8, 2], |e, v| e.u8(*v));
        e.opt(&Some(7u8), |e, v| e.u8(*v));
        e.opt::<u8>(&None, |e, v| e.u8(*v));
        let bytes = e.into_bytes();
        let mut d = Dec::new(&bytes);
        assert_eq!(d.u8(), Ok(9));
        assert_eq!(d.bool(), Ok(true));
        assert_eq!(d.u32(), Ok(1));
        assert_eq!(d.i32(), Ok(-3));
        assert_eq!(d.u64(), Ok(u64::MAX));
        assert_eq!(d.i64(), Ok(-2));
        assert_eq!(d.str(), Ok("ab\u{e9}"));
        assert_eq!(d.digest(), Ok(Digest32([5; 32])));
        assert_eq!(d.fixed::<3>(), Ok([6; 3]));
        assert_eq!(d.list(Dec::u8), Ok(vec![1, 2]));
        assert_eq!(d.opt(Dec::u8), Ok(Some(7)));
        assert_eq!(d.opt(Dec::u8), Ok(None));
        assert_eq!(d.remaining(), 0);
        assert_eq!(d.finish(), Ok(()));
        // Nothing more to read: every reader refuses.
        let end = bytes.len();
        let short = |needed| DecodeError {
            offset: end,
            kind: DecodeErrorKind::Truncated {
                needed,
                remaining: 0,
            },
        };
        assert_eq!(d.u8(), Err(short(1)));
        assert_eq!(d.bool(), Err(short(1)));
        assert_eq!(d.u32(), Err(short(4)));
        assert_eq!(d.i32(), Err(short(4)));
        assert_eq!(d.u64(), Err(short(8)));
        assert_eq!(d.i64(), Err(short(8)));
        assert_eq!(d.str(), Err(short(4)));
        assert_eq!(d.digest(), Err(short(32)));
        assert_eq!(d.fixed::<2>(), Err(short(2)));
        assert_eq!(d.list(Dec::u8), Err(short(4)));
        assert_eq!(d.opt(Dec::u8), Err(short(1)));
        assert_eq!(d.position(), end);
    }

    #[test]
    fn varints_are_shortest_leb128_and_the_reader_refuses_any_other_form() {
        for (v, hex) in [
            (0u64, "00"),
            (1, "01"),
            (127, "7f"),
            (128, "8001"),
            (300, "ac02"),
            (16_384, "808001"),
            (u64::MAX, "ffffffffffffffffff01"),
        ] {
            let mut e = Enc::default();
            e.var(v);
            let bytes = e.into_bytes();
            assert_eq!(hex::encode(&bytes), hex, "{v}");
            let mut d = Dec::new(&bytes);
            assert_eq!(d.var(), Ok(v));
            assert_eq!(d.finish(), Ok(()));
        }
        let refused = |hex: &str| {
            let bytes = hex::decode(hex).unwrap();
            Dec::new(&bytes).var().map_err(|e| e.kind)
        };
        // Longer than needed, above 2^64 - 1, eleven bytes, or cut off.
        assert_eq!(refused("8000"), Err(DecodeErrorKind::InvalidVarint));
        assert_eq!(refused("ff00"), Err(DecodeErrorKind::InvalidVarint));
        assert_eq!(
            refused("ffffffffffffffffff02"),
            Err(DecodeErrorKind::InvalidVarint)
        );
        assert_eq!(
            refused("ffffffffffffffffff8101"),
            Err(DecodeErrorKind::InvalidVarint)
        );
        assert!(matches!(
            refused("80"),
            Err(DecodeErrorKind::Truncated { .. })
        ));
        let mut e = Enc::default();
        e.var_str("ab");
        e.var_list(&[5u64, 300], |e, v| e.var(*v));
        let bytes = e.into_bytes();
        assert_eq!(hex::encode(&bytes), "026162020 5ac02".replace(' ', ""));
        let mut d = Dec::new(&bytes);
        assert_eq!(d.var_str(), Ok("ab"));
        assert_eq!(d.var_list(Dec::var), Ok(vec![5, 300]));
        assert_eq!(d.finish(), Ok(()));
        // A count beyond the bytes left is refused before anything is read.
        assert!(matches!(
            Dec::new(&[3, 1]).var_list(Dec::var).map_err(|e| e.kind),
            Err(DecodeErrorKind::LengthBeyondEnd {
                length: 3,
                remaining: 1
            })
        ));
    }

    #[test]
    fn the_days_json_can_write_are_the_reader_s() {
        assert_eq!(Day(FIRST_DAY), Day::from_ymd(1, 1, 1).unwrap());
        assert_eq!(Day(LAST_DAY), Day::from_ymd(9999, 12, 31).unwrap());
        for (d, ok) in [
            (FIRST_DAY - 1, false),
            (FIRST_DAY, true),
            (LAST_DAY, true),
            (LAST_DAY + 1, false),
        ] {
            let b = d.to_be_bytes();
            assert_eq!(Dec::new(&b).day().is_ok(), ok, "{d}");
            assert_eq!(Day::parse(&Day(d).to_string()).is_ok(), ok, "{d}");
        }
    }
}
