//! Signed checkpoints (SPEC §5.1): the log's size and Merkle root as a C2SP `tlog-checkpoint` body,
//! signed with the log's Ed25519 key as a C2SP `signed-note`, so that tools written for
//! Certificate Transparency's and Go's checksum database's checkpoints read ours. Signing and
//! verifying are pure computations: the key's seed comes from the caller (the server keeps it in
//! its secret store, never in the database).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

use crate::ids::Digest32;

/// The signature type byte of Ed25519 in C2SP signed-note.
const ALG_ED25519: u8 = 0x01;

/// The checkpoint body: `origin`, the size in decimal and the root in standard base64, each on its
/// own line ending with a line feed (C2SP tlog-checkpoint, no extension lines).
pub fn body(origin: &str, size: u64, root: &Digest32) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root.0))
}

/// The log's signing key: an Ed25519 key derived from a 32-byte seed, named by the log's origin.
pub struct LogKey {
    origin: String,
    signer: StandardSigner,
    verifier_key: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        write!(f, "LogKey({})", self.verifier_key)
    }
}

impl LogKey {
    /// The key of seed `seed` for the log whose origin is `origin` (the genesis `log_id`, §5.1).
    pub fn new(origin: &str, seed: &[u8; 32]) -> Result<LogKey, String> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(format!("{origin:?} cannot name a signing key"));
        }
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let verifying = signing.verifying_key();
        let verifier_key = signed_note::new_ed25519_verifier_key(origin, &verifying);
        let public = [&[ALG_ED25519], verifying.to_bytes().as_slice()].concat();
        let private = [&[ALG_ED25519], seed.as_slice()].concat();
        let skey = format!(
            "PRIVATE+KEY+{origin}+{:08x}+{}",
            signed_note::key_id(origin, &public),
            B64.encode(private)
        );
        let signer = StandardSigner::new(&skey).map_err(|e| e.to_string())?;
        Ok(LogKey {
            origin: origin.to_owned(),
            signer,
            verifier_key,
        })
    }

    /// The verifier key to publish: `<origin>+<key ID, 8 hex digits>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The signed note of the checkpoint `(size, root)`.
    pub fn sign(&self, size: u64, root: &Digest32) -> String {
        let text = body(&self.origin, size, root);
        let mut note =
            Note::new(text.as_bytes(), &[]).expect("a checkpoint body is a valid note text");
        note.add_sigs(&[&self.signer as &dyn signed_note::Signer])
            .expect("the origin is a valid key name");
        String::from_utf8(note.to_bytes()).expect("notes are UTF-8")
    }
}

/// A checkpoint whose signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle root of those entries (§5).
    pub root: Digest32,
}

/// Checks that `key` is a verifier key in the C2SP form (`<name>+<key ID>+<base64 key>`).
pub fn check_verifier_key(key: &str) -> Result<(), String> {
    StandardVerifier::new(key)
        .map(|_| ())
        .map_err(|e| format!("the log key {key:?} is not a verifier key: {e}"))
}

/// Verifies a signed checkpoint note against the log's verifier key and parses its body. Other
/// signatures on the note (witnesses' cosignatures) are allowed and ignored here.
pub fn verify(note: &str, verifier_key: &str) -> Result<Checkpoint, String> {
    let v = StandardVerifier::new(verifier_key)
        .map_err(|e| format!("the log key {verifier_key:?} is not a verifier key: {e}"))?;
    let n = Note::from_bytes(note.as_bytes())
        .map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
    n.verify(&VerifierList::new(vec![Box::new(v)]))
        .map_err(|e| format!("the checkpoint is not signed by the log's key: {e}"))?;
    let text =
        std::str::from_utf8(n.text()).map_err(|_| "the checkpoint is not UTF-8".to_string())?;
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    let [origin, size, root, ..] = lines.as_slice() else {
        return Err("the checkpoint body has fewer than three lines".into());
    };
    let origin_of_key = verifier_key.split('+').next().unwrap_or_default();
    if *origin != origin_of_key {
        return Err(format!(
            "the checkpoint's origin {origin:?} is not the key's {origin_of_key:?}"
        ));
    }
    let size: u64 = size
        .parse()
        .map_err(|_| format!("the checkpoint size {size:?} is not a number"))?;
    let root: [u8; 32] = B64
        .decode(root)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("the checkpoint root {root:?} is not 32 bytes in base64"))?;
    Ok(Checkpoint {
        origin: origin.to_string(),
        size,
        root: Digest32(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_verifies_with_its_key_and_no_other() {
        let key = LogKey::new("demo-allocation-log", &[7; 32]).unwrap();
        let root = Digest32([9; 32]);
        let note = key.sign(42, &root);
        assert!(note.starts_with("demo-allocation-log\n42\n"), "{note}");
        assert!(note.contains("\n\n\u{2014} demo-allocation-log "), "{note}");
        let cp = verify(&note, key.verifier_key()).unwrap();
        assert_eq!((cp.size, cp.root), (42, root));
        let other = LogKey::new("demo-allocation-log", &[8; 32]).unwrap();
        assert!(verify(&note, other.verifier_key()).is_err());
        // A changed size breaks the signature.
        let forged = note.replacen("\n42\n", "\n41\n", 1);
        assert!(verify(&forged, key.verifier_key()).is_err());
    }
}
