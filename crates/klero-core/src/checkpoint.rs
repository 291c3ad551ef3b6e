//! Signed checkpoints (SPEC §5.1): the log's size and Merkle root as a C2SP `tlog-checkpoint` body,
//! signed with the log's Ed25519 key as a C2SP `signed-note`, so that tools written for
//! Certificate Transparency's and Go's checksum database's checkpoints read ours. Signing and
//! verifying are pure computations: the key's seed comes from the caller (the server keeps it in
//! its secret store, never in the database).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

use crate::event::Witness;
use crate::ids::{Digest32, Signature64};

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

/// Checks that `vkey` is an Ed25519 signed-note verifier key (a log key) and returns its name,
/// the log's origin.
pub fn log_key_origin(vkey: &str) -> Result<&str, String> {
    StandardVerifier::new(vkey)
        .map_err(|e| format!("{vkey:?} is not an Ed25519 signed-note verifier key: {e}"))?;
    Ok(vkey.split('+').next().unwrap_or_default())
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

/// The signature type byte of a C2SP `cosignature/v1` key (Ed25519, SPEC §5.2).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The message a witness signs (C2SP tlog-cosignature, Ed25519): the line `cosignature/v1`, the
/// line `time <T>` (T in decimal seconds, no leading zeros), then the checkpoint body.
pub fn cosignature_message(body: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

/// A witness's signing key: an Ed25519 key from a 32-byte seed, named by the witness's name.
pub struct WitnessKey {
    name: String,
    signing: ed25519_dalek::SigningKey,
    id: u32,
    verifier_key: String,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        write!(f, "WitnessKey({})", self.verifier_key)
    }
}

impl WitnessKey {
    /// The key of seed `seed` for the witness named `name` (a signed-note key name: no spaces, no
    /// `+`).
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<WitnessKey, String> {
        if !signed_note::is_key_name_valid(name) {
            return Err(format!(
                "{name:?} cannot name a witness key (no spaces or '+')"
            ));
        }
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = [
            &[ALG_COSIGNATURE_V1],
            signing.verifying_key().to_bytes().as_slice(),
        ]
        .concat();
        let id = signed_note::key_id(name, &public);
        let verifier_key = format!("{name}+{id:08x}+{}", B64.encode(public));
        Ok(WitnessKey {
            name: name.to_owned(),
            signing,
            id,
            verifier_key,
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key to give the log's operator and the public:
    /// `<name>+<key ID>+<base64(0x04 || public key)>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The cosignature of checkpoint `body` at `time` (seconds since the Unix epoch).
    pub fn sign(&self, body: &str, time: u64) -> Signature64 {
        Signature64(
            self.signing
                .sign(&cosignature_message(body, time))
                .to_bytes(),
        )
    }

    /// The note signature line of that cosignature:
    /// `— <name> base64(key ID || u64 time || signature)` and a line feed.
    pub fn cosignature_line(&self, body: &str, time: u64) -> String {
        cosignature_line(&self.name, self.id, time, &self.sign(body, time))
    }
}

/// The note signature line of a cosignature by the witness `name` whose key ID is `id`.
pub fn cosignature_line(name: &str, id: u32, time: u64, sig: &Signature64) -> String {
    let payload = [
        id.to_be_bytes().as_slice(),
        time.to_be_bytes().as_slice(),
        sig.0.as_slice(),
    ]
    .concat();
    format!("\u{2014} {name} {}\n", B64.encode(payload))
}

/// Checks cosignatures of one witness, from its verifier key.
#[derive(Clone, Debug)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

/// A verifier as stored in a state snapshot: its name, key ID and public key bytes.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredVerifier {
    name: String,
    id: u32,
    key: [u8; 32],
}

impl serde::Serialize for CosignatureVerifier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.to_bytes(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for CosignatureVerifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = StoredVerifier::deserialize(d)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&v.key)
            .map_err(|e| serde::de::Error::custom(format!("a stored witness key: {e}")))?;
        Ok(CosignatureVerifier {
            name: v.name,
            id: v.id,
            key,
        })
    }
}

impl CosignatureVerifier {
    /// Parses a `cosignature/v1` verifier key `<name>+<key ID>+<base64(0x04 || public key)>` and
    /// checks its key ID.
    pub fn new(vkey: &str) -> Result<CosignatureVerifier, String> {
        let bad = |why: &str| format!("{vkey:?} is not a witness verifier key: {why}");
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("it has not the form <name>+<key ID>+<key>"));
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(bad("the name has spaces or '+'"));
        }
        let id = (id.len() == 8)
            .then(|| u32::from_str_radix(id, 16).ok())
            .flatten()
            .ok_or_else(|| bad("the key ID is not 8 hexadecimal digits"))?;
        let public = B64.decode(data).map_err(|_| bad("the key is not base64"))?;
        let [ALG_COSIGNATURE_V1, rest @ ..] = public.as_slice() else {
            return Err(bad("its signature type is not 0x04 (cosignature/v1)"));
        };
        let key: [u8; 32] = rest
            .try_into()
            .map_err(|_| bad("the public key is not 32 bytes"))?;
        if signed_note::key_id(name, &public) != id {
            return Err(bad("the key ID does not match the name and key"));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| bad("the public key is not an Ed25519 point"))?;
        Ok(CosignatureVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// True if `sig` is this witness's cosignature of checkpoint `body` at `time`.
    pub fn verify(&self, body: &str, time: u64, sig: &Signature64) -> bool {
        time <= i64::MAX as u64
            && self
                .key
                .verify_strict(
                    &cosignature_message(body, time),
                    &ed25519_dalek::Signature::from_bytes(&sig.0),
                )
                .is_ok()
    }
}

/// Splits a signed note into its text (ending with a line feed) and its signature lines, parsed.
pub fn split_note(note: &str) -> Result<(String, Vec<signed_note::Signature>), String> {
    let n = Note::from_bytes(note.as_bytes())
        .map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
    let text = String::from_utf8(n.text().to_vec())
        .map_err(|_| "the checkpoint is not UTF-8".to_string())?;
    let sigs = note
        .rsplit_once("\n\n")
        .map(|(_, s)| s)
        .unwrap_or_default()
        .split_terminator('\n')
        .map(|l| signed_note::Signature::from_bytes(l.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a signature line of the checkpoint is malformed: {e}"))?;
    Ok((text, sigs))
}

/// The time and signature of a cosignature line's payload (after the key ID): 8 bytes of time,
/// big-endian, then 64 bytes of signature.
pub fn split_cosignature(payload: &[u8]) -> Option<(u64, Signature64)> {
    let (time, sig) = payload.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*time), Signature64(sig.try_into().ok()?)))
}

/// Verifies a cosigned checkpoint note: the log's signature with `log_vkey`, then the
/// cosignatures of `witnesses` (others are ignored), of which at least `quorum` must be present
/// and valid. A signature line that names a witness's key but does not verify makes the note
/// invalid (C2SP signed-note). Returns the checkpoint and, for each witness that cosigned, its name
/// and cosignature time.
pub fn verify_cosigned(
    note_text: &str,
    log_vkey: &str,
    witnesses: &[Witness],
    quorum: usize,
) -> Result<(Checkpoint, Vec<(String, u64)>), String> {
    let cp = verify(note_text, log_vkey)?;
    let (body, sigs) = split_note(note_text)?;
    let mut cosigned = Vec::new();
    for w in witnesses {
        let v = CosignatureVerifier::new(&w.key)?;
        for s in sigs
            .iter()
            .filter(|s| s.name() == v.name() && s.id() == v.key_id())
        {
            let (time, sig) = split_cosignature(s.signature()).ok_or_else(|| {
                format!(
                    "the cosignature of witness {} is not 8 bytes of time and 64 of signature",
                    w.name
                )
            })?;
            if !v.verify(&body, time, &sig) {
                return Err(format!(
                    "the cosignature of witness {} does not verify: the checkpoint or the \
                     cosignature was altered",
                    w.name
                ));
            }
            if !cosigned.iter().any(|(n, _)| n == &w.name) {
                cosigned.push((w.name.clone(), time));
            }
        }
    }
    if cosigned.len() < quorum {
        return Err(format!(
            "only {} of the {quorum} witness cosignatures required are on the checkpoint",
            cosigned.len()
        ));
    }
    Ok((cp, cosigned))
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

    fn witness(name: &str, seed: u8) -> (WitnessKey, Witness) {
        let k = WitnessKey::new(name, &[seed; 32]).unwrap();
        let w = Witness {
            name: name.into(),
            key: k.verifier_key().into(),
        };
        (k, w)
    }

    #[test]
    fn a_cosigned_checkpoint_verifies_up_to_its_quorum_and_not_beyond() {
        let log = LogKey::new("demo-allocation-log", &[7; 32]).unwrap();
        let (a, wa) = witness("witness-a.example", 1);
        let (b, wb) = witness("witness-b.example", 2);
        let note = log.sign(5, &Digest32([3; 32]));
        let (body, _) = split_note(&note).unwrap();
        let cosigned = format!(
            "{note}{}{}",
            a.cosignature_line(&body, 1_700_000_000),
            b.cosignature_line(&body, 1_700_000_002)
        );
        let ws = [wa.clone(), wb.clone()];
        let (cp, times) = verify_cosigned(&cosigned, log.verifier_key(), &ws, 2).unwrap();
        assert_eq!(cp.size, 5);
        assert_eq!(
            times,
            vec![
                ("witness-a.example".to_string(), 1_700_000_000),
                ("witness-b.example".to_string(), 1_700_000_002)
            ]
        );
        // One cosignature is below a quorum of two.
        let one = format!("{note}{}", a.cosignature_line(&body, 1_700_000_000));
        let e = verify_cosigned(&one, log.verifier_key(), &ws, 2).unwrap_err();
        assert!(e.contains("only 1 of the 2"), "{e}");
        // A cosignature whose time was changed does not verify.
        let line = a.cosignature_line(&body, 1_700_000_000);
        let (_, payload) = line.trim_end().rsplit_once(' ').unwrap();
        let mut raw = B64.decode(payload).unwrap();
        raw[11] ^= 1;
        let forged = format!("{note}\u{2014} witness-a.example {}\n", B64.encode(raw));
        assert!(verify_cosigned(&forged, log.verifier_key(), &ws, 1).is_err());
        // A verifier key of the wrong type is refused.
        assert!(CosignatureVerifier::new(log.verifier_key()).is_err());
        assert!(CosignatureVerifier::new(&wa.key).is_ok());
    }
}
