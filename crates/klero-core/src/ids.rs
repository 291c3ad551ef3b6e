//! Identifiers and digests, parsed at the edge so that the rest of the core can trust them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a piece of text was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    /// What kind of identifier was being parsed ("judge", "court", ...).
    pub kind: &'static str,
    /// The text that was refused.
    pub text: String,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid {} identifier: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'",
            self.text, self.kind
        )
    }
}

impl std::error::Error for IdError {}

/// True when `s` is 1..=64 bytes of `[A-Za-z0-9._-]` (SPEC §2.3).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Deserializes a string and parses it with `parse`, without copying it when the input lends it
/// (serde's `Cow<str>` always copies into a `String`; a verifier reads several identifiers and
/// digests an entry). Accepts what `String` accepts, with the same "expected a string" message.
pub(crate) fn parse_str<'de, D, T, E>(
    d: D,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    struct V<F>(F);
    impl<'de, T, E: fmt::Display, F: FnOnce(&str) -> Result<T, E>> serde::de::Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<X: serde::de::Error>(self, v: &str) -> Result<T, X> {
            (self.0)(v).map_err(X::custom)
        }
        fn visit_bytes<X: serde::de::Error>(self, v: &[u8]) -> Result<T, X> {
            match std::str::from_utf8(v) {
                Ok(s) => (self.0)(s).map_err(X::custom),
                Err(_) => Err(X::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
            }
        }
    }
    d.deserialize_string(V(parse))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Shared text: cloning is a reference-count increment, so draw records can name every
        /// judge without copying strings.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Parses an identifier, refusing anything outside the SPEC's identifier alphabet.
            pub fn parse(s: impl AsRef<str>) -> Result<Self, IdError> {
                let s = s.as_ref();
                if is_valid_id(s) {
                    Ok(Self(Arc::from(s)))
                } else {
                    Err(IdError { kind: $kind, text: s.to_owned() })
                }
            }

            /// An identifier from text already checked with [`is_valid_id`] (shared, not copied).
            #[allow(dead_code)] // not every identifier type is read by the fast reader
            pub(crate) fn from_checked(s: Arc<str>) -> Self {
                debug_assert!(is_valid_id(&s));
                Self(s)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::ids::parse_str(d, |s| Self::parse(s))
            }
        }
    };
}

id_type!(
    /// A court, e.g. `district-court-north`.
    CourtId,
    "court"
);
id_type!(
    /// A division within a court, e.g. `civil`.
    DivisionId,
    "division"
);
id_type!(
    /// A judge, e.g. `J-17`. Unique across the whole log.
    JudgeId,
    "judge"
);
id_type!(
    /// A case number, unique across the whole log, e.g. `NORTH-2026-000042`.
    CaseId,
    "case"
);
id_type!(
    /// A specialization a judge may hold and a case type may require, e.g. `family`.
    Specialization,
    "specialization"
);
id_type!(
    /// A case type code from the policy, e.g. `civil-small`.
    CaseTypeCode,
    "case type"
);
id_type!(
    /// An absence record, so that it can later be cancelled by reference.
    AbsenceId,
    "absence"
);
id_type!(
    /// The identifier of an actor (a user, a token holder, or `allocator` for the system).
    ActorId,
    "actor"
);

/// A 32-byte SHA-256 digest, written as 64 lowercase hex characters in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    /// The all-zero digest, used as the previous hash of entry 0.
    pub const ZERO: Digest32 = Digest32([0; 32]);

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The digest of 64 lower-case hex digits, or `None` (what [`Digest32::from_hex`] accepts):
    /// eight digits at a time, as the bytes of a word (a verifier reads several digests an
    /// entry).
    pub(crate) fn from_hex_bytes(hex: &[u8; 64]) -> Option<Self> {
        /// `n` in each byte of a word.
        const fn each(n: u8) -> u64 {
            u64::from_ne_bytes([n; 8])
        }
        let mut out = [0u8; 32];
        let mut good = each(0x80);
        for (o, h) in out.chunks_exact_mut(4).zip(hex.chunks_exact(8)) {
            let w = u64::from_le_bytes(h.try_into().expect("8 bytes"));
            // For a byte below 0x80, adding 0x80 - c sets its high bit exactly when it is at
            // least c, and carries into no other byte.
            let at_least = |c: u8| w.wrapping_add(each(0x80 - c)) & each(0x80);
            let digit = at_least(b'0') & !at_least(b'9' + 1);
            let letter = at_least(b'a') & !at_least(b'f' + 1);
            // A byte of 0x80 or more is neither (its high bit clears `good`).
            good &= (digit | letter) & !w;
            // Each byte's value: its low four bits, plus 9 for a letter ('a' is 0x61).
            let nibbles = (w & each(0x0f)) + (letter >> 7) * 9;
            // The first digit of each pair is the high half of a byte (the lower byte of the
            // word, little-endian); then the four bytes are packed together.
            let pairs =
                ((nibbles & 0x00ff_00ff_00ff_00ff) << 4) | ((nibbles >> 8) & 0x00ff_00ff_00ff_00ff);
            let pairs = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
            let bytes = (pairs | (pairs >> 16)) as u32;
            o.copy_from_slice(&bytes.to_le_bytes());
        }
        (good == each(0x80)).then_some(Digest32(out))
    }

    /// Parses exactly 64 lower-case hexadecimal characters (SPEC §2.2: one form per digest).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 32];
        if s.len() != 64 || !lower_hex_into(s.as_bytes(), &mut out) {
            return Err(format!(
                "{s:?} is not a 32-byte digest in lower-case hex (64 characters 0-9 a-f)"
            ));
        }
        Ok(Digest32(out))
    }
}

/// The value of each byte as a lower-case hex digit, or 0xff: upper case and anything else is
/// refused (SPEC §2.2: one form per value).
const LOWER_HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes `2 * out.len()` lower-case hex digits into `out`; false if `hex` is another length or
/// holds anything but `0-9a-f`. One pass, no allocation: a verifier decodes several digests an
/// entry.
fn lower_hex_into(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != 2 * out.len() {
        return false;
    }
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (LOWER_HEX[pair[0] as usize], LOWER_HEX[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    bad & 0xf0 == 0
}

impl fmt::Display for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest32({})", self.to_hex())
    }
}

/// In JSON (and any human-readable format) a digest is its lowercase hex; in a binary format
/// (the CBOR of the store's state snapshots) it is its 32 bytes, half the size and without the
/// hex conversion. A binary reader also takes the hex string, which snapshots and archive records
/// written before held.
impl Serialize for Digest32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return parse_str(d, Digest32::from_hex);
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Digest32;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("32 bytes, or 64 lowercase hex characters")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Digest32, E> {
                <[u8; 32]>::try_from(v)
                    .map(Digest32)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Digest32, E> {
                Digest32::from_hex(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A 64-byte Ed25519 signature, written as 128 lowercase hex characters in JSON (a witness's
/// cosignature in a `checkpoint_witnessed` entry, SPEC §5.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature64(pub [u8; 64]);

impl Signature64 {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 128 lower-case hexadecimal characters (one form per value, as digests).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 64];
        if s.len() != 128 || !lower_hex_into(s.as_bytes(), &mut out) {
            return Err(format!(
                "{s:?} is not a 64-byte signature in lower-case hex (128 characters 0-9 a-f)"
            ));
        }
        Ok(Signature64(out))
    }
}

impl fmt::Debug for Signature64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature64({})", self.to_hex())
    }
}

impl Serialize for Signature64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, Signature64::from_hex)
    }
}

/// A salted commitment to a party's or counsel's identifier (SPEC §4.4). The identifier itself never
/// enters the log.
pub type Commitment = Digest32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_the_spec_alphabet() {
        assert!(JudgeId::parse("J-17").is_ok());
        assert!(CaseId::parse("NORTH-2026.000_42").is_ok());
    }

    #[test]
    fn identifiers_refuse_empty_long_and_foreign_text() {
        assert!(JudgeId::parse("").is_err());
        assert!(JudgeId::parse("a".repeat(65)).is_err());
        assert!(JudgeId::parse("J 17").is_err());
        assert!(JudgeId::parse("Ж-1").is_err());
        let e = CourtId::parse("x/y").unwrap_err();
        assert!(e.to_string().contains("court identifier"), "{e}");
    }

    /// The word-at-a-time decoder of the fast line reader accepts exactly what the table does
    /// (every byte value at every position of a digest) and decodes every digit alike.
    #[test]
    fn hex_of_fixed_size_decodes_as_the_table_does() {
        let base: Vec<u8> = (0..64).map(|i| b"0123456789abcdef"[i * 7 % 16]).collect();
        for at in 0..64 {
            for b in 0..=255u8 {
                let mut h: [u8; 64] = base.clone().try_into().expect("64 bytes");
                h[at] = b;
                let mut out = [0u8; 32];
                let table = lower_hex_into(&h, &mut out).then_some(Digest32(out));
                assert_eq!(Digest32::from_hex_bytes(&h), table, "{at} {b:#x}");
            }
        }
        for d in [
            [0u8; 32],
            [0xff; 32],
            std::array::from_fn(|i| i as u8 * 8 + 3),
        ] {
            let h: [u8; 64] = hex::encode(d).into_bytes().try_into().expect("64 bytes");
            assert_eq!(Digest32::from_hex_bytes(&h), Some(Digest32(d)));
        }
    }

    #[test]
    fn digests_round_trip_through_hex_and_refuse_bad_lengths() {
        let d = Digest32([0xab; 32]);
        assert_eq!(Digest32::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Digest32::from_hex("abcd").is_err());
    }

    /// Every byte value in every position: only `0-9a-f` is read, as the `hex` crate reads it.
    #[test]
    fn only_lower_case_hex_digits_are_read() {
        let all: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let good = hex::encode(&all);
        assert_eq!(Digest32::from_hex(&good).unwrap().0.to_vec(), all);
        for pos in [0, 1, 31, 62, 63] {
            for b in 0..=255u8 {
                let mut t = good.clone().into_bytes();
                t[pos] = b;
                let Ok(text) = String::from_utf8(t) else {
                    continue;
                };
                let ok = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                assert_eq!(Digest32::from_hex(&text).is_ok(), ok, "{b:#x} at {pos}");
                if ok {
                    let mut want = [0u8; 32];
                    hex::decode_to_slice(&text, &mut want).unwrap();
                    assert_eq!(Digest32::from_hex(&text).unwrap().0, want);
                }
            }
        }
        assert!(Signature64::from_hex(&"0A".repeat(64)).is_err());
        assert_eq!(Signature64::from_hex(&"0a".repeat(64)).unwrap().0, [10; 64]);
    }
}
