//! Properties of whole logs: every draw keeps its rules, replay equals the live writer, and any
//! tampering is caught at the right entry.

use klero_core::merkle::CompactRange;
use klero_core::sample::{SampleSpec, sample_log};
use klero_core::*;
use proptest::prelude::*;

fn spec(seed: u64, judges: usize, cases: usize) -> SampleSpec {
    SampleSpec {
        seed,
        judges,
        cases,
        chain_length: 2048,
    }
}

/// A summary of state that must be identical however the state was reached.
fn summary(log: &Log) -> Vec<String> {
    let st = log.state();
    let court: CourtId = "north".parse().unwrap();
    let mut out = vec![format!(
        "size {} root {} head {}",
        log.size(),
        log.root(),
        log.head()
    )];
    for j in st.court_judges(&court) {
        let docket: Vec<_> = st.docket(&j.id).iter().map(|c| c.id.to_string()).collect();
        out.push(format!(
            "{} intake {} docket {:?} conflicts {}",
            j.id,
            j.intake(),
            docket,
            j.conflicts.len()
        ));
    }
    out
}

#[test]
fn the_sample_log_verifies_and_contains_every_event_type() {
    let entries = sample_log(&SampleSpec::small(1));
    let report = verify(&entries);
    assert!(report.ok(), "{:?}", report.failure);
    let mut types: Vec<_> = entries.iter().map(|e| e.event.type_name()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 19, "{types:?}");
    let methods: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Draw(d) => Some(std::mem::discriminant(&d.method)),
            _ => None,
        })
        .collect();
    assert!(
        methods.contains(&std::mem::discriminant(&Method::Duplicate {
            case: "x".parse().unwrap()
        }))
    );
    assert!(methods.contains(&std::mem::discriminant(&Method::Related {
        case: "x".parse().unwrap()
    })));
}

#[test]
fn json_lines_round_trip_byte_for_byte() {
    for e in sample_log(&SampleSpec::small(2)) {
        let line = e.to_json_line();
        let back = LogEntry::from_json_line(&line).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.computed_hash(), e.hash);
    }
}

#[test]
fn unknown_fields_in_an_exported_line_are_refused() {
    let e = &sample_log(&SampleSpec::small(3))[0];
    let mut v: serde_json::Value = serde_json::from_str(&e.to_json_line()).unwrap();
    v["event"]["extra"] = serde_json::json!(1);
    assert!(LogEntry::from_json_line(&v.to_string()).is_err());
}

#[test]
fn the_export_framing_is_exactly_as_strict_as_the_spec() {
    let e = &sample_log(&SampleSpec::small(3))[1];
    let line = e.to_json_line();
    let framed = format!("{line}\n");
    assert_eq!(LogEntry::from_export_line(framed.as_bytes()).unwrap(), *e);
    // SPEC §8: every line ends with a bare line feed, none is blank.
    for (bad, why) in [
        (line.clone(), "no final line feed"),
        (format!("{line}\r\n"), "CRLF"),
        ("\n".to_string(), "a blank line"),
        (
            framed.replacen(&e.hash.to_hex(), &e.hash.to_hex().to_uppercase(), 1),
            "upper-case hex (§2.2)",
        ),
        (
            framed.replacen("{\"index\":", "{\"index\":1,\"index\":", 1),
            "a repeated member",
        ),
    ] {
        assert!(
            LogEntry::from_export_line(bad.as_bytes()).is_err(),
            "{why} must be refused"
        );
    }
}

#[test]
fn a_rewritten_draw_is_caught_by_replay_even_when_every_hash_is_recomputed() {
    let mut entries = sample_log(&SampleSpec::small(4));
    let k = entries
        .iter()
        .position(|e| matches!(&e.event, Event::Draw(d) if d.method == Method::Random && d.eligible.len() > 1))
        .unwrap();
    let Event::Draw(d) = &mut entries[k].event else {
        unreachable!()
    };
    let other = d
        .eligible
        .iter()
        .find(|c| c.judge != d.chosen[0])
        .unwrap()
        .judge
        .clone();
    let was = std::mem::replace(&mut d.chosen[0], other.clone());
    // The forger re-seals this entry and every later one.
    let mut prev = entries[k - 1].hash;
    for e in &mut entries[k..] {
        let sealed = LogEntry::seal(e.index, e.at, e.actor.clone(), e.event.clone(), prev);
        *e = sealed;
        prev = e.hash;
    }
    let f = verify(&entries).failure.unwrap();
    assert_eq!(f.index, k as u64);
    assert!(
        f.message
            .contains(&format!("chose judge {other}, but replay chooses {was}")),
        "{f}"
    );
}

#[test]
fn merkle_roots_match_the_rfc_6962_test_vectors() {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut c = CompactRange::new();
    assert_eq!(
        c.root().to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (leaf, root) in leaves.iter().zip(roots) {
        c.push(leaf);
        assert_eq!(c.root().to_hex(), root, "size {}", c.size());
    }
}

#[derive(Debug, Clone)]
enum Tamper {
    Alter,
    Delete,
    Insert(usize),
    Swap,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        Just(Tamper::Alter),
        Just(Tamper::Delete),
        (0usize..1000).prop_map(Tamper::Insert),
        Just(Tamper::Swap),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn draws_never_pick_an_excluded_judge_nor_break_the_cap(seed in 0u64..10_000, judges in 1usize..12, cases in 1usize..60) {
        let entries = sample_log(&spec(seed, judges, cases));
        let cap = {
            let Event::Genesis { policy, .. } = &entries[0].event else { panic!() };
            (policy.cap_num as u64, policy.cap_den as u64)
        };
        for e in &entries {
            let Event::Draw(d) = &e.event else { continue };
            if d.method != Method::Random { continue; }
            let total: u64 = d.eligible.iter().map(|c| c.weight).sum();
            let n = d.eligible.len() as u64;
            for c in &d.eligible {
                prop_assert!(c.weight * n * cap.1 <= total * cap.0, "weight {} of {} over cap", c.weight, total);
            }
            for j in &d.chosen {
                prop_assert!(d.eligible.iter().any(|c| &c.judge == j));
                prop_assert!(!d.excluded.iter().any(|x| &x.judge == j));
            }
            let mut uniq = d.chosen.clone();
            uniq.sort();
            uniq.dedup();
            prop_assert_eq!(uniq.len(), d.chosen.len());
        }
    }

    #[test]
    fn the_same_inputs_always_give_the_same_log(seed in 0u64..10_000) {
        prop_assert_eq!(sample_log(&spec(seed, 6, 25)), sample_log(&spec(seed, 6, 25)));
    }

    #[test]
    fn replayed_state_equals_live_state(seed in 0u64..10_000, judges in 1usize..10, cases in 0usize..50) {
        let entries = sample_log(&spec(seed, judges, cases));
        // Live: re-append the events as a writer would.
        let mut live = Log::new();
        for e in &entries {
            let got = live.append(e.at, e.actor.clone(), e.event.clone()).unwrap();
            prop_assert_eq!(&got, e);
        }
        let mut replay = Log::new();
        for e in &entries {
            replay.push(e).unwrap();
        }
        prop_assert_eq!(summary(&live), summary(&replay));
    }

    #[test]
    fn any_change_deletion_insertion_or_reordering_fails_at_the_right_entry(seed in 0u64..10_000, pos in 0usize..10_000, t in tamper()) {
        let mut entries = sample_log(&spec(seed, 5, 20));
        let n = entries.len();
        let k = pos % (n - 1); // never the last entry: deleting it leaves a valid shorter log
        let mut expect = k;
        match t {
            Tamper::Alter => entries[k].at += 1,
            Tamper::Delete => { entries.remove(k); }
            Tamper::Insert(j) => {
                // A copy of entry k placed before it leaves position k genuine: the copy fails at k + 1.
                if j % n == k { expect = k + 1; }
                let dup = entries[j % n].clone();
                entries.insert(k, dup);
            }
            Tamper::Swap => entries.swap(k, k + 1),
        }
        let f = verify(&entries).failure;
        prop_assert!(f.is_some(), "tampering at {} was not detected", k);
        prop_assert_eq!(f.unwrap().index, expect as u64);
    }
}
