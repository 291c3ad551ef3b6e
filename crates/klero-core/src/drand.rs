//! The external beacon: a drand chain of scheme `bls-unchained-g1-rfc9380` (SPEC §6.3, §6.4).
//!
//! A drand round `r` is a BLS signature, made by a threshold of the League of Entropy's nodes, over
//! `SHA-256(r as u64 big-endian)`, hashed to G1 with the RFC 9380 suite
//! `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`; the chain's public key is on G2. The signature of
//! a round does not exist before the round's time (unless a threshold of the nodes collude), and it
//! is unique, so whoever checks it against the public key learns that nobody — the operator
//! included — could have known the randomness `SHA-256(signature)` earlier.
//!
//! Verification uses the `drand-verify` crate. [`DevChain`] signs rounds with a known key for tests
//! and demonstrations: a log made with it proves nothing about foresight, and its public key is not
//! quicknet's, which anyone reading the log's `drand_configured` entry sees.

use std::fmt;

use drand_verify::{G2PubkeyRfc, Pubkey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::sha256;
use crate::ids::Digest32;

/// The only drand scheme accepted.
pub const SCHEME: &str = "bls-unchained-g1-rfc9380";

/// drand quicknet's chain hash.
pub const QUICKNET_CHAIN_HASH: &str =
    "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
/// drand quicknet's public key (G2, compressed).
pub const QUICKNET_PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// drand quicknet's period in seconds.
pub const QUICKNET_PERIOD: u64 = 3;
/// drand quicknet's genesis time (Unix seconds): round 1's time.
pub const QUICKNET_GENESIS: u64 = 1_692_803_367;

const DEV_KEY_TAG: &[u8] = b"klero/dev-drand-key/v1\0";
const DEV_CHAIN_TAG: &[u8] = b"klero/dev-drand/v1\0";

/// The RFC 9380 domain separation tag of the scheme's hash to G1.
pub const DST: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

fn parse_hex_fixed<const N: usize>(s: &str, what: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    if s.len() != 2 * N || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "{s:?} is not {what}: {N} bytes in lower-case hex ({} characters 0-9 a-f)",
            2 * N
        ));
    }
    hex::decode_to_slice(s, &mut out).expect("checked above");
    Ok(out)
}

/// A drand round's signature: a compressed G1 point, 48 bytes, lower-case hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrandSignature(pub [u8; 48]);

impl DrandSignature {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses exactly 96 lower-case hex characters.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        parse_hex_fixed::<48>(s, "a drand signature").map(DrandSignature)
    }
    /// The round's randomness: `SHA-256(signature)`.
    pub fn randomness(&self) -> Digest32 {
        sha256(&[&self.0[..]])
    }
}

impl fmt::Debug for DrandSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DrandSignature({})", self.to_hex())
    }
}

impl Serialize for DrandSignature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for DrandSignature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::ids::parse_str(d, DrandSignature::from_hex)
    }
}

/// A drand chain's public key: a compressed G2 point, 96 bytes, lower-case hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrandPublicKey(pub [u8; 96]);

/// The compressed encoding of G2's point at infinity (flag bits `0b11`, the rest zero).
const INFINITY_G2: [u8; 96] = {
    let mut b = [0u8; 96];
    b[0] = 0xc0;
    b
};

/// The compressed encoding of G1's point at infinity.
const INFINITY_G1: [u8; 48] = {
    let mut b = [0u8; 48];
    b[0] = 0xc0;
    b
};

impl DrandPublicKey {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses exactly 192 lower-case hex characters.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        parse_hex_fixed::<96>(s, "a drand public key").map(DrandPublicKey)
    }
    /// quicknet's key.
    pub fn quicknet() -> DrandPublicKey {
        DrandPublicKey::from_hex(QUICKNET_PUBLIC_KEY).expect("valid constant")
    }
}

impl fmt::Debug for DrandPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DrandPublicKey({})", self.to_hex())
    }
}

impl Serialize for DrandPublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for DrandPublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::ids::parse_str(d, DrandPublicKey::from_hex)
    }
}

/// The parameters of a drand chain, as a `drand_configured` entry records them (SPEC §6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrandChain {
    /// The chain's hash (its identity in drand's HTTP API).
    pub chain_hash: Digest32,
    /// The group public key.
    pub public_key: DrandPublicKey,
    /// Seconds between rounds.
    pub period_seconds: u64,
    /// Unix time (seconds) of round 1.
    pub genesis_time: u64,
    /// The scheme: only [`SCHEME`].
    pub scheme: String,
}

impl DrandChain {
    /// drand quicknet.
    pub fn quicknet() -> DrandChain {
        DrandChain {
            chain_hash: Digest32::from_hex(QUICKNET_CHAIN_HASH).expect("valid constant"),
            public_key: DrandPublicKey::quicknet(),
            period_seconds: QUICKNET_PERIOD,
            genesis_time: QUICKNET_GENESIS,
            scheme: SCHEME.into(),
        }
    }

    /// Checks the parameters: the scheme, a period of at least one second, and a public key that
    /// is a valid G2 point.
    pub fn validate(&self) -> Result<(), String> {
        if self.scheme != SCHEME {
            return Err(format!(
                "drand scheme {:?} is not supported: only {SCHEME} is",
                self.scheme
            ));
        }
        if self.period_seconds == 0 {
            return Err("a drand chain's period must be at least one second".into());
        }
        if self.public_key.0 == INFINITY_G2 {
            return Err(
                "the drand public key is the point at infinity: every round's signature would be \
                 the point at infinity, known in advance"
                    .into(),
            );
        }
        G2PubkeyRfc::from_fixed(self.public_key.0)
            .map_err(|e| format!("the drand public key is not a valid G2 point: {e}"))?;
        Ok(())
    }

    /// `round_time(r) = genesis_time + (r - 1) * period_seconds`, for `r >= 1` (saturating).
    pub fn round_time(&self, round: u64) -> u64 {
        self.genesis_time
            .saturating_add(round.saturating_sub(1).saturating_mul(self.period_seconds))
    }

    /// The smallest round whose time is strictly after `t` (SPEC §6.4).
    pub fn first_round_after(&self, t: u64) -> u64 {
        if t < self.genesis_time {
            1
        } else {
            (t - self.genesis_time) / self.period_seconds + 2
        }
    }

    /// The latest round whose time has come at `now` (0 before genesis).
    pub fn round_at(&self, now: u64) -> u64 {
        if now < self.genesis_time {
            0
        } else {
            (now - self.genesis_time) / self.period_seconds + 1
        }
    }

    /// Whether `signature` is this chain's signature of `round`.
    pub fn verify(&self, round: u64, signature: &DrandSignature) -> bool {
        if self.public_key.0 == INFINITY_G2 || signature.0 == INFINITY_G1 {
            return false;
        }
        let Ok(pk) = G2PubkeyRfc::from_fixed(self.public_key.0) else {
            return false;
        };
        pk.verify(round, b"", &signature.0).unwrap_or(false)
    }
}

/// A drand-like chain with a known secret key, same scheme as quicknet: for tests and demos only.
/// Whoever holds the key can sign any round ahead of time, so a log that records its public key
/// proves nothing about foresight.
#[derive(Clone)]
pub struct DevChain {
    secret: bls12_381::Scalar,
    /// The chain's parameters (its hash is `SHA-256("klero/dev-drand/v1\0" || public key)`).
    pub chain: DrandChain,
}

impl fmt::Debug for DevChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevChain")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl DevChain {
    /// A chain whose secret key is derived from `seed`, with the given genesis time and period.
    pub fn new(seed: &[u8; 32], genesis_time: u64, period_seconds: u64) -> DevChain {
        use bls12_381::{G2Affine, G2Projective, Scalar};
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&sha256(&[DEV_KEY_TAG, &seed[..], &[0]]).0);
        wide[32..].copy_from_slice(&sha256(&[DEV_KEY_TAG, &seed[..], &[1]]).0);
        let secret = Scalar::from_bytes_wide(&wide);
        let pk = G2Affine::from(G2Projective::generator() * secret).to_compressed();
        let public_key = DrandPublicKey(pk);
        DevChain {
            secret,
            chain: DrandChain {
                chain_hash: sha256(&[DEV_CHAIN_TAG, &public_key.0[..]]),
                public_key,
                period_seconds,
                genesis_time,
                scheme: SCHEME.into(),
            },
        }
    }

    /// The signature of `round`.
    pub fn sign(&self, round: u64) -> DrandSignature {
        use bls12_381::G1Affine;
        use bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
        let msg = sha2_09::Sha256::digest(&round.to_be_bytes());
        let h: bls12_381::G1Projective = <bls12_381::G1Projective as HashToCurve<
            ExpandMsgXmd<sha2_09::Sha256>,
        >>::hash_to_curve(msg, DST);
        DrandSignature(G1Affine::from(h * self.secret).to_compressed())
    }
}

use sha2_09::Digest as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quicknet_round_123_verifies_and_a_flipped_bit_does_not() {
        let q = DrandChain::quicknet();
        q.validate().unwrap();
        let sig = DrandSignature::from_hex("b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92").unwrap();
        assert!(q.verify(123, &sig));
        assert!(!q.verify(124, &sig));
        let mut bad = sig;
        bad.0[47] ^= 1;
        assert!(!q.verify(123, &bad));
    }

    #[test]
    fn a_dev_chain_signs_rounds_that_verify_under_its_key_only() {
        let dev = DevChain::new(&[7; 32], 1_000, 1);
        dev.chain.validate().unwrap();
        let s = dev.sign(5);
        assert!(dev.chain.verify(5, &s));
        assert!(!dev.chain.verify(6, &s));
        assert!(!DrandChain::quicknet().verify(5, &s));
        let other = DevChain::new(&[8; 32], 1_000, 1);
        assert!(!other.chain.verify(5, &s));
    }

    #[test]
    fn the_first_round_after_a_time_is_strictly_after_it() {
        let c = DevChain::new(&[1; 32], 100, 3).chain;
        assert_eq!(c.first_round_after(0), 1);
        assert_eq!(c.first_round_after(99), 1);
        assert_eq!(c.first_round_after(100), 2);
        assert_eq!(c.first_round_after(102), 2);
        assert_eq!(c.first_round_after(103), 3);
        for t in 0..200 {
            let r = c.first_round_after(t);
            assert!(c.round_time(r) > t);
            assert!(r == 1 || c.round_time(r - 1) <= t);
        }
        assert_eq!(c.round_at(99), 0);
        assert_eq!(c.round_at(100), 1);
        assert_eq!(c.round_at(103), 2);
    }
}
