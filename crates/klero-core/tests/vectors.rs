//! The checked-in test vectors (`tests/vectors/`) are exactly what the code produces. If this fails
//! after a deliberate change to the encoding, hashes or draw, regenerate with
//! `cargo run -p klero-core --example gen_vectors` and update docs/SPEC.md in the same commit.

#[path = "../examples/gen_vectors.rs"]
mod gen_vectors;

use klero_core::{LogEntry, verify};

#[test]
fn checked_in_vectors_match_the_code() {
    let dir = gen_vectors::vectors_dir();
    for (name, body) in gen_vectors::generate() {
        let on_disk = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("tests/vectors/{name} is missing ({e}); run the generator"));
        assert!(
            on_disk == body,
            "tests/vectors/{name} differs from what the code produces"
        );
    }
}

#[test]
fn the_vendored_confusables_table_is_the_references() {
    let on_disk = std::fs::read_to_string(gen_vectors::confusables_path())
        .expect("crates/klero-portal/assets/js/confusables.json is missing; run the generator");
    assert!(
        on_disk == gen_vectors::confusables(),
        "crates/klero-portal/assets/js/confusables.json differs from unicode-security's data"
    );
}

#[test]
fn the_sample_log_on_disk_verifies_to_its_expected_root() {
    let dir = gen_vectors::vectors_dir();
    let text = std::fs::read_to_string(dir.join("sample-log.jsonl")).unwrap();
    let entries: Vec<LogEntry> = text
        .lines()
        .map(|l| LogEntry::from_json_line(l).unwrap())
        .collect();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sample-log.expected.json")).unwrap(),
    )
    .unwrap();
    let report = verify(&entries);
    assert!(report.ok(), "{:?}", report.failure);
    assert_eq!(report.root.to_hex(), expected["root"].as_str().unwrap());
    assert_eq!(report.verified, expected["entries"].as_u64().unwrap());
}

/// Verifies an export exactly as `klero verify FILE` does: strict framing (SPEC §8), then replay.
fn verify_export(text: &str) -> klero_core::Report {
    verify_export_sized(text, None)
}

/// [`verify_export`], with the verifier's tables sized for about `hint` entries first.
fn verify_export_sized(text: &str, hint: Option<u64>) -> klero_core::Report {
    let mut v = klero_core::Verifier::new();
    if let Some(entries) = hint {
        v.reserve(entries);
    }
    for raw in text.as_bytes().split_inclusive(|b| *b == b'\n') {
        match LogEntry::from_export_line(raw) {
            Ok(e) => {
                if v.push(&e).is_err() {
                    break;
                }
            }
            Err(m) => {
                v.fail("§8", m);
                break;
            }
        }
    }
    v.report()
}

#[test]
fn the_conformance_log_verifies_and_exercises_every_method_scope_exclusion_and_event() {
    let dir = gen_vectors::vectors_dir();
    let text = std::fs::read_to_string(dir.join("conformance-log.jsonl")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("conformance-log.expected.json")).unwrap(),
    )
    .unwrap();
    let report = verify_export(&text);
    assert!(report.ok(), "{:?}", report.failure);
    assert_eq!(report.root.to_hex(), expected["root"].as_str().unwrap());
    let ex = &expected["exercised"];
    let set = |k: &str| -> Vec<String> {
        ex[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(set("event_types").len(), 24, "every event type");
    let methods = [
        "duplicate",
        "random",
        "random_after_duplicate",
        "random_after_related",
        "related",
    ];
    assert_eq!(set("methods"), methods);
    assert_eq!(set("scopes"), ["court", "court_below_minimum", "division"]);
    assert_eq!(set("exclusions").len(), 8, "every exclusion reason");
    assert!(ex["chain_renewals"].as_u64().unwrap() >= 2);
}

#[test]
fn a_capacity_hint_changes_no_report_however_wrong_it_is() {
    let dir = gen_vectors::vectors_dir();
    let mut texts = vec![std::fs::read_to_string(dir.join("conformance-log.jsonl")).unwrap()];
    for f in std::fs::read_dir(dir.join("invalid")).unwrap() {
        let path = f.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(texts.len() > 1, "the invalid corpus is there");
    for text in &texts {
        let plain = format!("{:?}", verify_export(text));
        let lines = text.lines().count() as u64;
        for hint in [0, 1, lines / 2, lines, lines * 40, u64::MAX] {
            let sized = format!("{:?}", verify_export_sized(text, Some(hint)));
            assert_eq!(sized, plain, "hint {hint}");
        }
    }
}

#[test]
fn every_log_of_the_invalid_corpus_is_rejected_at_its_entry_naming_its_section() {
    let dir = gen_vectors::vectors_dir();
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("invalid/index.json")).unwrap())
            .unwrap();
    let logs = index["logs"].as_array().unwrap();
    let on_disk = std::fs::read_dir(dir.join("invalid")).unwrap().count();
    assert_eq!(on_disk, logs.len() + 1, "every file is indexed");
    for l in logs {
        let file = l["file"].as_str().unwrap();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let report = verify_export(&text);
        let f = report
            .failure
            .unwrap_or_else(|| panic!("{file} must not verify"));
        assert_eq!(f.index, l["entry"].as_u64().unwrap(), "{file}: {f}");
        assert_eq!(f.section, l["section"].as_str().unwrap(), "{file}: {f}");
    }
}

#[test]
fn the_cosignature_vector_verifies_with_its_keys_and_quorum() {
    let dir = gen_vectors::vectors_dir();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cosignature.json")).unwrap())
            .unwrap();
    let witnesses: Vec<klero_core::Witness> = v["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| klero_core::Witness {
            name: c["witness"].as_str().unwrap().into(),
            key: c["verifier_key"].as_str().unwrap().into(),
        })
        .collect();
    let note = v["cosigned_note"].as_str().unwrap();
    let (cp, times) = klero_core::checkpoint::verify_cosigned(
        note,
        v["log_key"].as_str().unwrap(),
        &witnesses,
        2,
    )
    .unwrap();
    assert_eq!(cp.size, v["size"].as_u64().unwrap());
    assert_eq!(times.len(), 2);
    // Without one cosignature the quorum of two is not met.
    let one = note.replace(v["cosignatures"][1]["note_line"].as_str().unwrap(), "");
    assert!(
        klero_core::checkpoint::verify_cosigned(
            &one,
            v["log_key"].as_str().unwrap(),
            &witnesses,
            2
        )
        .is_err()
    );
}

#[test]
fn a_triggers_commit_time_is_its_own_time_without_witnesses_and_the_quorum_time_with_them() {
    let conf = klero_core::conformance::conformance_log();
    let mut log = klero_core::Log::new();
    let drand_from = conf
        .iter()
        .position(|e| matches!(e.event, klero_core::Event::DrandConfigured { .. }))
        .unwrap();
    let first_filing = (drand_from..conf.len())
        .find(|&i| matches!(conf[i].event, klero_core::Event::CaseFiled { .. }))
        .unwrap();
    let configured = conf
        .iter()
        .position(|e| matches!(e.event, klero_core::Event::WitnessesConfigured { .. }))
        .unwrap();
    let witnessed = conf
        .iter()
        .position(|e| matches!(e.event, klero_core::Event::CheckpointWitnessed { .. }))
        .unwrap();
    let late_filing = (configured..witnessed)
        .find(|&i| matches!(conf[i].event, klero_core::Event::CaseFiled { .. }))
        .unwrap();
    for (i, e) in conf.iter().enumerate() {
        log.push(e).unwrap();
        let s = log.state();
        if i == first_filing {
            // No witnesses: the trigger's own time, while its drand draw is pending.
            assert_eq!(
                s.commit_time(i as u64),
                Some((e.at / 1000) as u64),
                "entry {i}"
            );
        }
        if i == late_filing || i + 1 == witnessed {
            assert_eq!(s.commit_time(late_filing as u64), None, "not yet witnessed");
            assert_eq!(s.pending_needing_witness(), [late_filing as u64]);
        }
        if i < configured {
            assert!(s.pending_needing_witness().is_empty(), "entry {i}");
        }
        if i == witnessed {
            let klero_core::Event::CheckpointWitnessed { cosignatures, .. } = &e.event else {
                unreachable!()
            };
            let mut times: Vec<u64> = cosignatures.iter().map(|c| c.time).collect();
            times.sort();
            assert_eq!(
                s.commit_time(late_filing as u64),
                Some(times[1]),
                "the quorum-th (2nd) smallest cosignature time"
            );
        }
    }
    // Once its draw is made the state may forget the entry that gave it: it says it does not
    // know, never another checkpoint's time.
    assert!(
        log.state().commit_time(late_filing as u64).is_none_or(|t| {
            let klero_core::Event::CheckpointWitnessed { cosignatures, .. } =
                &conf[witnessed].event
            else {
                unreachable!()
            };
            let mut times: Vec<u64> = cosignatures.iter().map(|c| c.time).collect();
            times.sort();
            t == times[1]
        }),
        "a forgotten commit time is unknown, not wrong"
    );
}

#[test]
fn real_quicknet_rounds_verify_against_the_pinned_key_and_a_flipped_bit_does_not() {
    let dir = gen_vectors::vectors_dir();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("drand.json")).unwrap()).unwrap();
    let chain: klero_core::DrandChain =
        serde_json::from_value(v["quicknet"]["chain"].clone()).unwrap();
    assert_eq!(chain, klero_core::DrandChain::quicknet());
    let rounds = v["quicknet"]["rounds"].as_array().unwrap();
    assert!(rounds.len() >= 2);
    for r in rounds {
        let round = r["round"].as_u64().unwrap();
        let sig: klero_core::DrandSignature =
            serde_json::from_value(r["signature"].clone()).unwrap();
        assert!(chain.verify(round, &sig), "quicknet round {round}");
        assert_eq!(sig.randomness().to_hex(), r["randomness"].as_str().unwrap());
        assert!(
            !chain.verify(round + 1, &sig),
            "round {round}'s signature for another round"
        );
        for bit in [0usize, 17 * 8 + 3, 47 * 8 + 7] {
            let mut bad = sig;
            bad.0[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !chain.verify(round, &bad),
                "round {round} with bit {bit} flipped"
            );
        }
    }
    // python-drand-verify's README states round 657413's randomness: SHA-256(signature) agrees.
    assert_eq!(
        rounds[1]["randomness"],
        "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
    );
}
