//! A witness's rule (SPEC §5.3), as a pure function: what a witness answers to a C2SP tlog-witness
//! `add-checkpoint` request, given the checkpoint it last cosigned for that log. The program that
//! runs a witness (`klero witness serve`) only adds the clock, the files and HTTP.
//!
//! A witness cosigns a checkpoint only if it is signed by the log's key and extends, by a valid
//! consistency proof, the last checkpoint it cosigned for that log. A checkpoint that is signed
//! by the log but is not such an extension is a fork: the witness refuses it and keeps both signed
//! checkpoints, which together prove that the log's operator signed two histories.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::checkpoint::{self, WitnessKey};
use crate::ids::Digest32;
use crate::merkle::{empty_root, verify_consistency};

/// The most consistency-proof lines a request may carry (C2SP tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// The last checkpoint a witness cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cosigned {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Digest32,
    /// The signed note as the log sent it (the log's signature is what makes it evidence).
    pub note: String,
}

/// An `add-checkpoint` request body, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness holds.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Digest32>,
    /// The signed checkpoint note.
    pub note: String,
}

/// Writes an `add-checkpoint` request body: `old <N>`, the proof lines in base64, a blank line,
/// the signed note.
pub fn request_body(old_size: u64, proof: &[Digest32], note: &str) -> String {
    let mut s = format!("old {old_size}\n");
    for p in proof {
        s.push_str(&B64.encode(p.0));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(note);
    s
}

/// Parses an `add-checkpoint` request body (C2SP tlog-witness).
pub fn parse_request(body: &str) -> Result<AddCheckpoint, String> {
    let (head, note) = body
        .split_once("\n\n")
        .ok_or("the request has no blank line before the checkpoint")?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .ok_or("the request does not start with an `old <size>` line")?;
    if old.is_empty()
        || !old.bytes().all(|b| b.is_ascii_digit())
        || (old.len() > 1 && old.starts_with('0'))
    {
        return Err(format!("the old size {old:?} is not a decimal number"));
    }
    let old_size: u64 = old
        .parse()
        .map_err(|_| format!("the old size {old:?} is too large"))?;
    let proof = lines
        .map(|l| {
            B64.decode(l)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Digest32)
                .ok_or_else(|| format!("the proof line {l:?} is not a 32-byte hash in base64"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > MAX_PROOF_LINES {
        return Err(format!(
            "the request carries {} proof lines, more than {MAX_PROOF_LINES}",
            proof.len()
        ));
    }
    Ok(AddCheckpoint {
        old_size,
        proof,
        note: note.to_owned(),
    })
}

/// Two signed checkpoints of one log that cannot both be true: the one the witness cosigned and
/// one the log then sent that does not extend it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The log's origin.
    pub origin: String,
    /// What is wrong, in plain words.
    pub reason: String,
    /// The checkpoint the witness had cosigned (signed by the log).
    pub cosigned: Cosigned,
    /// The conflicting checkpoint note (signed by the log).
    pub conflicting: String,
    /// The consistency proof the log offered with it.
    pub proof: Vec<Digest32>,
}

impl Evidence {
    /// The evidence as a text file: plain words, then both signed notes and the proof, so that
    /// anyone holding the log's verifier key can check both signatures.
    pub fn to_text(&self) -> String {
        let mut proof = String::new();
        for p in &self.proof {
            proof.push_str(&B64.encode(p.0));
            proof.push('\n');
        }
        format!(
            "Evidence that the log {origin} signed two conflicting histories.\n\
             {reason}\n\n\
             The witness had cosigned this checkpoint (size {size}), signed by the log:\n\n\
             {first}\n\
             The log then asked it to cosign this checkpoint, also signed by the log, which does \
             not extend the first:\n\n\
             {second}\n\
             The consistency proof the log offered ({n} hashes, base64, one a line):\n\n\
             {proof}",
            origin = self.origin,
            reason = self.reason,
            size = self.cosigned.size,
            first = self.cosigned.note,
            second = self.conflicting,
            n = self.proof.len(),
        )
    }
}

/// What a witness answers to an `add-checkpoint` request (the HTTP status of C2SP tlog-witness in
/// brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// (200) Cosign: store `cosigned` for `origin` (before answering) and answer with `lines`.
    Cosign {
        /// The log.
        origin: String,
        /// The new last-cosigned checkpoint.
        cosigned: Cosigned,
        /// The response body: the witness's cosignature line.
        lines: String,
    },
    /// (400) The request is malformed, or its old size exceeds the checkpoint's size.
    BadRequest(String),
    /// (403) The checkpoint is not signed by the log's key.
    Forbidden(String),
    /// (404) The witness does not know the log.
    UnknownLog(String),
    /// (409) The old size is not the size the witness last cosigned; the body is that size.
    Conflict(u64),
    /// (422) The proof does not verify, or a size-zero checkpoint has a root other than the
    /// empty tree's.
    Unprocessable(String),
    /// (422) The checkpoint is signed by the log but does not extend the one the witness cosigned:
    /// keep the evidence.
    Fork(Evidence),
}

/// Decides an `add-checkpoint` request `body` for a witness that knows the logs `logs` (origin ->
/// the log's verifier key) and last cosigned `stored` (origin -> checkpoint), at `now` (seconds),
/// with `key`.
pub fn add_checkpoint(
    logs: &BTreeMap<String, String>,
    stored: &BTreeMap<String, Cosigned>,
    body: &str,
    key: &WitnessKey,
    now: u64,
) -> Decision {
    let req = match parse_request(body) {
        Ok(r) => r,
        Err(e) => return Decision::BadRequest(e),
    };
    let origin = req.note.split('\n').next().unwrap_or_default().to_owned();
    let Some(vkey) = logs.get(&origin) else {
        return Decision::UnknownLog(format!("this witness does not know the log {origin:?}"));
    };
    let cp = match checkpoint::verify(&req.note, vkey) {
        Ok(cp) => cp,
        Err(e) => return Decision::Forbidden(e),
    };
    if req.old_size > cp.size {
        return Decision::BadRequest(format!(
            "the old size {} is larger than the checkpoint's size {}",
            req.old_size, cp.size
        ));
    }
    let last = stored.get(&origin);
    let last_size = last.map_or(0, |c| c.size);
    if req.old_size != last_size {
        return Decision::Conflict(last_size);
    }
    if cp.size == 0 && cp.root != empty_root() {
        return Decision::Unprocessable(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        );
    }
    match last {
        None => {
            if !req.proof.is_empty() {
                return Decision::Unprocessable(
                    "from old size 0 the consistency proof must be empty".into(),
                );
            }
        }
        Some(last) => {
            if !verify_consistency(last.size, &last.root, cp.size, &cp.root, &req.proof) {
                let reason = if last.size == cp.size && last.root != cp.root {
                    format!(
                        "Both checkpoints have {} entries but different roots: the log's history \
                         was rewritten.",
                        cp.size
                    )
                } else {
                    format!(
                        "The log gave no valid consistency proof from the cosigned checkpoint of \
                         {} entries to this one of {} entries. If no such proof exists, some of \
                         the first {} entries were changed; the log can clear itself only by \
                         producing one.",
                        last.size, cp.size, last.size
                    )
                };
                return Decision::Fork(Evidence {
                    origin,
                    reason,
                    cosigned: last.clone(),
                    conflicting: req.note,
                    proof: req.proof,
                });
            }
        }
    }
    let body = checkpoint::body(&cp.origin, cp.size, &cp.root);
    // The checkpoint's own text may carry extension lines: the cosignature covers the text as sent.
    let text = match checkpoint::split_note(&req.note) {
        Ok((text, _)) => text,
        Err(e) => return Decision::Forbidden(e),
    };
    debug_assert!(text.starts_with(&body));
    Decision::Cosign {
        lines: key.cosignature_line(&text, now),
        cosigned: Cosigned {
            size: cp.size,
            root: cp.root,
            note: req.note,
        },
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogKey;
    use crate::merkle::MerkleTree;

    fn tree(n: u64, salt: u8) -> MerkleTree {
        let mut t = MerkleTree::new();
        for i in 0..n {
            t.push(crate::hash::sha256(&[&[salt], &i.to_be_bytes()]));
        }
        t
    }

    struct W {
        logs: BTreeMap<String, String>,
        stored: BTreeMap<String, Cosigned>,
        key: WitnessKey,
    }

    impl W {
        fn new(log: &LogKey) -> W {
            W {
                logs: [("test-log".to_string(), log.verifier_key().to_string())].into(),
                stored: BTreeMap::new(),
                key: WitnessKey::new("witness.example", &[4; 32]).unwrap(),
            }
        }
        fn ask(&mut self, body: &str) -> Decision {
            let d = add_checkpoint(&self.logs, &self.stored, body, &self.key, 1_800_000_000);
            if let Decision::Cosign {
                origin, cosigned, ..
            } = &d
            {
                self.stored.insert(origin.clone(), cosigned.clone());
            }
            d
        }
    }

    #[test]
    fn a_consistent_extension_is_cosigned_and_the_cosignature_verifies() {
        let log = LogKey::new("test-log", &[1; 32]).unwrap();
        let mut w = W::new(&log);
        let t = tree(20, 0);
        let note10 = log.sign(10, &t.root_at(10).unwrap());
        let Decision::Cosign { lines, .. } = w.ask(&request_body(0, &[], &note10)) else {
            panic!("first checkpoint refused");
        };
        let witnesses = [crate::event::Witness {
            name: "witness.example".into(),
            key: w.key.verifier_key().into(),
        }];
        let (cp, times) = checkpoint::verify_cosigned(
            &format!("{note10}{lines}"),
            log.verifier_key(),
            &witnesses,
            1,
        )
        .unwrap();
        assert_eq!((cp.size, times[0].1), (10, 1_800_000_000));
        let note20 = log.sign(20, &t.root());
        let proof = t.prove_consistency(10, 20).unwrap();
        assert!(matches!(
            w.ask(&request_body(10, &proof, &note20)),
            Decision::Cosign { .. }
        ));
        assert_eq!(w.stored["test-log"].size, 20);
        // The same checkpoint again is cosigned again (old size = size, empty proof).
        assert!(matches!(
            w.ask(&request_body(20, &[], &note20)),
            Decision::Cosign { .. }
        ));
    }

    #[test]
    fn a_rollback_is_refused_and_the_stored_size_is_answered() {
        let log = LogKey::new("test-log", &[1; 32]).unwrap();
        let mut w = W::new(&log);
        let t = tree(20, 0);
        let note20 = log.sign(20, &t.root());
        assert!(matches!(
            w.ask(&request_body(0, &[], &note20)),
            Decision::Cosign { .. }
        ));
        let note10 = log.sign(10, &t.root_at(10).unwrap());
        // A log that does not know the witness's size learns it (409), and cannot go back.
        assert_eq!(
            w.ask(&request_body(0, &[], &note10)),
            Decision::Conflict(20)
        );
        assert!(matches!(
            w.ask(&request_body(20, &[], &note10)),
            Decision::BadRequest(_)
        ));
        assert_eq!(w.stored["test-log"].size, 20);
    }

    #[test]
    fn a_fork_is_refused_and_both_signed_checkpoints_are_kept() {
        let log = LogKey::new("test-log", &[1; 32]).unwrap();
        let mut w = W::new(&log);
        let honest = tree(10, 0);
        let note10 = log.sign(10, &honest.root());
        assert!(matches!(
            w.ask(&request_body(0, &[], &note10)),
            Decision::Cosign { .. }
        ));
        // A rewritten history of 15 entries, signed by the same key, with its own proof from 10.
        let forged = tree(15, 1);
        let note15 = log.sign(15, &forged.root());
        let proof = forged.prove_consistency(10, 15).unwrap();
        let Decision::Fork(ev) = w.ask(&request_body(10, &proof, &note15)) else {
            panic!("fork not detected");
        };
        assert_eq!(ev.cosigned.note, note10);
        assert_eq!(ev.conflicting, note15);
        let text = ev.to_text();
        assert!(text.contains(&note10) && text.contains(&note15), "{text}");
        // Both notes in the evidence verify with the log's key.
        assert!(checkpoint::verify(&ev.cosigned.note, log.verifier_key()).is_ok());
        assert!(checkpoint::verify(&ev.conflicting, log.verifier_key()).is_ok());
        // Same size, other root: a fork too.
        let note10b = log.sign(10, &forged.root_at(10).unwrap());
        assert!(matches!(
            w.ask(&request_body(10, &[], &note10b)),
            Decision::Fork(_)
        ));
        assert_eq!(
            w.stored["test-log"].note, note10,
            "the witness state is unchanged"
        );
    }

    #[test]
    fn unknown_logs_bad_signatures_and_bad_requests_get_their_statuses() {
        let log = LogKey::new("test-log", &[1; 32]).unwrap();
        let mut w = W::new(&log);
        let other = LogKey::new("other-log", &[1; 32]).unwrap();
        let t = tree(4, 0);
        assert!(matches!(
            w.ask(&request_body(0, &[], &other.sign(4, &t.root()))),
            Decision::UnknownLog(_)
        ));
        let impostor = LogKey::new("test-log", &[2; 32]).unwrap();
        assert!(matches!(
            w.ask(&request_body(0, &[], &impostor.sign(4, &t.root()))),
            Decision::Forbidden(_)
        ));
        assert!(matches!(w.ask("old x\n\n"), Decision::BadRequest(_)));
        assert!(matches!(
            w.ask(&request_body(5, &[], &log.sign(4, &t.root()))),
            Decision::BadRequest(_)
        ));
        assert!(matches!(
            w.ask(&request_body(0, &[t.root()], &log.sign(4, &t.root()))),
            Decision::Unprocessable(_)
        ));
        let parsed = parse_request(&request_body(3, &[t.root()], "n\n")).unwrap();
        assert_eq!((parsed.old_size, parsed.proof.len()), (3, 1));
    }
}
