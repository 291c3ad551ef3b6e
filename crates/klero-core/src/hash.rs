//! Every hash the log uses, each with its own domain tag (SPEC §4).

use sha2::{Digest as _, Sha256};

use crate::ids::{CaseTypeCode, Commitment, CourtId, Digest32, DivisionId};

/// Domain tag of the entry hash chain.
pub const TAG_ENTRY: &[u8] = b"klero/entry/v1\0";
/// Domain tag of the draw seed.
pub const TAG_SEED: &[u8] = b"klero/seed/v1\0";
/// Domain tag of the built-in beacon's hash chain.
pub const TAG_CHAIN: &[u8] = b"klero/beacon-chain/v1\0";
/// Domain tag of party and counsel commitments.
pub const TAG_PARTY: &[u8] = b"klero/party/v1\0";
/// Domain tag of the duplicate-filing key (v2: the key covers division and case type).
pub const TAG_DUPLICATE: &[u8] = b"klero/duplicate/v2\0";
/// Domain tag of credential fingerprints.
pub const TAG_CREDENTIAL: &[u8] = b"klero/credential/v1\0";
/// Domain tag of enrollment fingerprints.
pub const TAG_ENROLLMENT: &[u8] = b"klero/enrollment/v1\0";
/// Domain tag of claim commitments.
pub const TAG_CLAIM: &[u8] = b"klero/claim/v1\0";

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

/// The commitment to a party or counsel identifier:
/// `SHA-256(TAG_PARTY || pepper || normalize_key(identifier))` (SPEC §4.3). Look-alike spellings of
/// one identifier ("COMPANY-ACME-0001", "company acme 0001", a Cyrillic "Р" for a Latin "P", a
/// zero-width space) commit to the same value, so a declared conflict cannot be evaded by spelling.
/// The pepper is the court system's secret; without it nobody can test guesses of national
/// identifiers against the public log.
pub fn party_commitment(pepper: &[u8; 32], identifier: &str) -> Commitment {
    let norm = normalize_key(identifier);
    sha256(&[TAG_PARTY, pepper, norm.as_bytes()])
}

/// The fingerprint of a credential's secret, `SHA-256(TAG_CREDENTIAL || secret)` (SPEC §7.9): what
/// the log records of a credential, and all a server needs to recognize it.
pub fn credential_fingerprint(secret: &str) -> Digest32 {
    sha256(&[TAG_CREDENTIAL, secret.as_bytes()])
}

/// The fingerprint of an enrollment code, `SHA-256(TAG_ENROLLMENT || code)` (SPEC §7.9).
pub fn enrollment_fingerprint(code: &str) -> Digest32 {
    sha256(&[TAG_ENROLLMENT, code.as_bytes()])
}

/// The keyed commitment to a claim: `SHA-256(TAG_CLAIM || pepper || normalize_key(claim))`
/// (SPEC §4.4). Two claims that differ only in letter case, white space, punctuation or look-alike
/// characters are the same claim; without the pepper a guessed claim cannot be confirmed against the
/// public log.
pub fn claim_commitment(pepper: &[u8; 32], claim: &str) -> Digest32 {
    let norm = normalize_key(claim);
    sha256(&[TAG_CLAIM, pepper, norm.as_bytes()])
}

/// The comparison form of an identifier or a claim (SPEC §4.3), the one place text is normalized:
///
/// 1. Unicode NFKC (fullwidth letters, ligatures and compatibility forms become plain ones);
/// 2. keep only letters and digits (`Alphabetic` or general category `N*`): white space,
///    punctuation, hyphens of every kind, zero-width and other format characters go;
/// 3. case-fold by full upper-casing then full lower-casing;
/// 4. the Unicode TR 39 skeleton (confusables.txt, Unicode 18.0): look-alikes such as Cyrillic
///    "р" and Latin "p" become one character (diacritics, decomposed by the skeleton's NFD, fall
///    away in step 6);
/// 5. case-fold again;
/// 6. keep only letters and digits again.
///
/// The result is only ever hashed: it is a key, not a display form (`"company"` becomes
/// `"cornpany"`, because TR 39 treats "m" and "rn" as confusable).
pub fn normalize_key(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let keep = |c: &char| c.is_alphanumeric();
    let fold = |s: &str| s.to_uppercase().to_lowercase();
    let stripped: String = text.nfkc().filter(keep).collect();
    let skeleton: String = unicode_security::skeleton(&fold(&stripped)).collect();
    fold(&skeleton).chars().filter(keep).collect()
}

/// The duplicate-filing key of a case (SPEC §4.5): the same court, division, case type, set of
/// parties and claim commitment give the same key. `parties` must be in ascending order.
pub fn duplicate_key(
    court: &CourtId,
    division: &DivisionId,
    case_type: &CaseTypeCode,
    parties: &[Commitment],
    claim: &Digest32,
) -> Digest32 {
    let mut h = Sha256::new();
    h.update(TAG_DUPLICATE);
    for s in [court.as_str(), division.as_str(), case_type.as_str()] {
        h.update((s.len() as u32).to_be_bytes());
        h.update(s.as_bytes());
    }
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
    fn look_alike_spellings_of_one_identifier_normalize_alike() {
        let base = normalize_key("PETER-0001");
        for v in [
            "peter 0001",
            "Peter-0001 ",
            "P\u{200b}eter-0001",                            // zero-width space
            "\u{420}eter-0001",                              // Cyrillic capital ER for the Latin P
            "Peter\u{2011}0001",                             // non-breaking hyphen
            "\u{ff30}\u{ff25}\u{ff34}\u{ff25}\u{ff32}-0001", // fullwidth letters
            "PE TER 0001",                                   // an inner space
            "Pe\u{301}ter-0001",                             // a decomposed accent
            "P\u{e9}ter.0001",                               // a precomposed accent
        ] {
            assert_eq!(normalize_key(v), base, "{v:?}");
        }
        assert_eq!(
            normalize_key("COMPANY-ACME-0001"),
            normalize_key("COMPANY ACME 0001")
        );
        assert_eq!(normalize_key("Stra\u{df}e"), normalize_key("STRASSE"));
        assert_ne!(normalize_key("PETER-0001"), normalize_key("PETER-0002"));
        assert_ne!(
            normalize_key("Payment of 4,200"),
            normalize_key("Payment of 4,300")
        );
    }

    #[test]
    fn claims_differing_in_case_and_spacing_commit_alike_and_the_commitment_is_keyed() {
        let p = [7u8; 32];
        let c = claim_commitment(&p, "Payment of invoice 2026/117");
        assert_eq!(c, claim_commitment(&p, "payment of  invoice 2026/117 "));
        assert_eq!(c, claim_commitment(&p, "PAYMENT OF INVOICE 2026-117"));
        assert_ne!(c, claim_commitment(&[8; 32], "Payment of invoice 2026/117"));
        assert_ne!(c, sha256(&[b"Payment of invoice 2026/117"]));
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
