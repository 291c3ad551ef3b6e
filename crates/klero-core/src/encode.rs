//! The canonical binary encoding (SPEC §3). Every field is written in a fixed order with a fixed
//! width or a length prefix, so there is exactly one byte string for each value and another
//! implementation can reproduce it without a serialization library.

use crate::ids::Digest32;

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
    /// Raw bytes of a fixed-size field (no length prefix): a drand signature or public key.
    pub fn bytes_fixed(&mut self, v: &[u8]) {
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
}
