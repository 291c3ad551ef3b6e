//! Every hash the log uses, each with its own domain tag (SPEC §4).

use sha2::{Digest as _, Sha256};

use crate::ids::{Commitment, CourtId, Digest32};

/// Domain tag of the entry hash chain.
pub const TAG_ENTRY: &[u8] = b"klero/entry/v1\0";
/// Domain tag of the draw seed.
pub const TAG_SEED: &[u8] = b"klero/seed/v1\0";
/// Domain tag of the built-in beacon's hash chain.
pub const TAG_CHAIN: &[u8] = b"klero/beacon-chain/v1\0";
/// Domain tag of party and counsel commitments.
pub const TAG_PARTY: &[u8] = b"klero/party/v1\0";
/// Domain tag of the duplicate-filing key.
pub const TAG_DUPLICATE: &[u8] = b"klero/duplicate/v1\0";

/// SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> Digest32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Digest32(h.finalize().into())
}

/// `entry_hash = SHA-256(TAG_ENTRY || prev || entry_bytes)`.
pub fn entry_hash(prev: &Digest32, entry_bytes: &[u8]) -> Digest32 {
    sha256(&[TAG_ENTRY, &prev.0, entry_bytes])
}

/// The commitment to a party or counsel identifier: `SHA-256(TAG_PARTY || pepper || identifier)`,
/// where the identifier has had surrounding white space removed and is upper-cased (ASCII only), so
/// that `"ab 123 "` and `"AB 123"` commit to the same value. The pepper is the court system's secret;
/// without it nobody can test guesses of national identifiers against the public log.
pub fn party_commitment(pepper: &[u8; 32], identifier: &str) -> Commitment {
    let norm = identifier.trim().to_ascii_uppercase();
    sha256(&[TAG_PARTY, pepper, norm.as_bytes()])
}

/// The duplicate-filing key of a case: the same court, the same set of parties and the same claim
/// digest give the same key (SPEC §4.5). `parties` must be in ascending order.
pub fn duplicate_key(court: &CourtId, parties: &[Commitment], claim: &Digest32) -> Digest32 {
    let mut h = Sha256::new();
    h.update(TAG_DUPLICATE);
    h.update((court.as_str().len() as u32).to_be_bytes());
    h.update(court.as_str().as_bytes());
    h.update((parties.len() as u32).to_be_bytes());
    for p in parties {
        h.update(p.0);
    }
    h.update(claim.0);
    Digest32(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_vector() {
        assert_eq!(
            sha256(&[b"abc"]).to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn party_commitments_ignore_case_and_surrounding_space_but_depend_on_the_pepper() {
        let p = [7u8; 32];
        assert_eq!(
            party_commitment(&p, " ab-123 "),
            party_commitment(&p, "AB-123")
        );
        assert_ne!(
            party_commitment(&p, "AB-123"),
            party_commitment(&[8; 32], "AB-123")
        );
        assert_ne!(
            party_commitment(&p, "AB-123"),
            party_commitment(&p, "AB-124")
        );
    }
}
