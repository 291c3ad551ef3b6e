//! The decoder of canonical entry bytes is the exact inverse of the encoder: every entry the log
//! and the vectors hold reads back to itself, every byte string it accepts re-encodes to itself and
//! is an entry the JSON export form accepts too, and everything else is refused, by class, without
//! a panic.

#[path = "../examples/gen_vectors.rs"]
#[allow(dead_code)]
mod gen_vectors;

use klero_core::conformance::conformance_log;
use klero_core::encode::{Canonical, DecodeError, DecodeErrorKind, Enc};
use klero_core::*;
use proptest::prelude::*;

/// Decodes `bytes`; when they decode, checks that they are canonical (re-encoding gives them back)
/// and that the entry survives the JSON export form unchanged. True when they decode.
fn accepted_canonically(bytes: &[u8]) -> bool {
    decodes(bytes, true)
}

/// [`accepted_canonically`], with the JSON check only if `json`.
fn decodes(bytes: &[u8], json: bool) -> bool {
    let Ok((index, at, actor, event)) = decode_entry_bytes(bytes) else {
        return false;
    };
    assert_eq!(
        entry_bytes(index, at, &actor, &event),
        bytes,
        "decoded bytes re-encode differently: {event:?}"
    );
    if !json {
        return true;
    }
    let entry = LogEntry::from_canonical(Digest32([7; 32]), bytes).unwrap();
    assert_eq!(entry.computed_hash(), entry.hash);
    let line = entry.to_json_line();
    assert_eq!(
        LogEntry::from_json_line(&line).as_ref(),
        Ok(&entry),
        "a decoded entry the JSON path refuses or changes: {line}"
    );
    true
}

/// `e`'s bytes decode to `e`, and `from_canonical` gives back `e` with its hash recomputed (the
/// invalid corpus holds entries whose recorded hash is wrong on purpose).
fn round_trips(e: &LogEntry) {
    let bytes = e.bytes();
    let (index, at, actor, event) = decode_entry_bytes(&bytes)
        .unwrap_or_else(|err| panic!("entry {} does not decode: {err}", e.index));
    assert_eq!(
        (index, at, &actor, &event),
        (e.index, e.at, &e.actor, &e.event)
    );
    let sealed = LogEntry {
        hash: e.computed_hash(),
        ..e.clone()
    };
    assert_eq!(LogEntry::from_canonical(e.prev, &bytes), Ok(sealed));
    assert!(accepted_canonically(&bytes));
}

#[test]
fn every_entry_of_the_conformance_log_round_trips() {
    let log = conformance_log();
    let mut tags = std::collections::BTreeSet::new();
    for e in &log {
        round_trips(e);
        assert_eq!(LogEntry::from_canonical(e.prev, &e.bytes()).as_ref(), Ok(e));
        tags.insert(e.event.tag());
    }
    assert_eq!(tags.len(), 24, "the log holds every event type");
}

#[test]
fn every_entry_of_every_vector_round_trips() {
    let dir = gen_vectors::vectors_dir();
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("entries.json")).unwrap()).unwrap();
    let listed = vectors["entries"].as_array().unwrap();
    assert!(listed.len() >= 24);
    for v in listed {
        let bytes = hex::decode(v["bytes"].as_str().unwrap()).unwrap();
        let entry: LogEntry = serde_json::from_value(v["entry"].clone()).unwrap();
        round_trips(&entry);
        assert_eq!(entry.bytes(), bytes);
        let prev = entry.prev;
        assert_eq!(LogEntry::from_canonical(prev, &bytes), Ok(entry));
    }
    // Every line of every exported log that parses (the invalid corpus too: its entries are
    // well-formed, their logs break rules).
    let mut files = vec![
        dir.join("sample-log.jsonl"),
        dir.join("conformance-log.jsonl"),
    ];
    for f in std::fs::read_dir(dir.join("invalid")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            files.push(p);
        }
    }
    let mut lines = 0;
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if let Ok(e) = LogEntry::from_json_line(line.trim_end_matches('\r')) {
                round_trips(&e);
                lines += 1;
            }
        }
    }
    assert!(lines > 3000, "{lines} lines read");
}

/// Every proper prefix is refused, one appended byte is refused, and every single-byte change is
/// refused or decodes to an entry whose bytes are exactly the changed bytes. The vectors hold one
/// entry of every event type and draw method, so every tag byte is tried with all 256 values.
#[test]
fn every_truncation_extension_and_byte_change_is_refused_or_canonical() {
    let dir = gen_vectors::vectors_dir();
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("entries.json")).unwrap()).unwrap();
    let (mut accepted, mut refused) = (0u64, 0u64);
    for v in vectors["entries"].as_array().unwrap() {
        let bytes = hex::decode(v["bytes"].as_str().unwrap()).unwrap();
        for n in 0..bytes.len() {
            let err = decode_entry_bytes(&bytes[..n]).unwrap_err();
            assert!(
                matches!(
                    err.kind,
                    DecodeErrorKind::Truncated { .. } | DecodeErrorKind::LengthBeyondEnd { .. }
                ),
                "prefix of {n} bytes: {err}"
            );
        }
        for extra in [0u8, 1, 0xff] {
            let mut longer = bytes.clone();
            longer.push(extra);
            assert_eq!(
                decode_entry_bytes(&longer).unwrap_err().kind,
                DecodeErrorKind::TrailingBytes(1)
            );
        }
        let mut changed = bytes.clone();
        for i in 0..bytes.len() {
            for b in 0..=255u8 {
                if b == bytes[i] {
                    continue;
                }
                changed[i] = b;
                // The JSON check on every 17th change only, to keep the test quick.
                if decodes(&changed, b % 17 == 0) {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            }
            changed[i] = bytes[i];
        }
    }
    // Both outcomes occur (a changed integer is another valid entry, a changed tag is not).
    assert!(accepted > 0 && refused > 0, "{accepted} {refused}");
}

// Hand-built bytes for each refusal class.

fn header(e: &mut Enc) {
    e.u8(1);
    e.u64(5);
    e.i64(1_767_603_600_000);
    e.u8(Role::Clerk.byte());
    e.str("C-1");
}

fn bytes_of(f: impl FnOnce(&mut Enc)) -> Vec<u8> {
    let mut e = Enc::default();
    header(&mut e);
    f(&mut e);
    e.into_bytes()
}

fn refused(bytes: &[u8]) -> DecodeError {
    match decode_entry_bytes(bytes) {
        Ok(x) => panic!("accepted: {x:?}"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

fn court_created(name: &[u8]) -> Vec<u8> {
    bytes_of(|e| {
        e.u8(3);
        e.str("north");
        e.u32(name.len() as u32);
        e.fixed(name);
    })
}

fn judge_registered(specs: u32, active: u8) -> Vec<u8> {
    bytes_of(|e| {
        e.u8(5);
        e.str("J-1");
        e.str("north");
        e.str("civil");
        e.u32(specs);
        for _ in 0..specs.min(1) {
            e.str("civil");
        }
        e.u32(1000);
        e.u8(active);
    })
}

#[test]
fn the_hand_built_entries_decode_when_well_formed() {
    assert!(accepted_canonically(&court_created("Nord – ü".as_bytes())));
    assert!(accepted_canonically(&judge_registered(1, 1)));
    assert!(accepted_canonically(&judge_registered(0, 0)));
}

#[test]
fn an_unknown_version_is_refused() {
    let mut b = court_created(b"x");
    b[0] = 2;
    assert_eq!(refused(&b).kind, DecodeErrorKind::UnknownVersion(2));
    b[0] = 0;
    assert_eq!(refused(&b).kind, DecodeErrorKind::UnknownVersion(0));
}

#[test]
fn truncation_is_refused_with_its_offset() {
    assert_eq!(
        refused(&[]),
        DecodeError {
            offset: 0,
            kind: DecodeErrorKind::Truncated {
                needed: 1,
                remaining: 0
            }
        }
    );
    let b = court_created(b"x");
    let err = refused(&b[..3]);
    assert_eq!(
        (err.offset, err.kind),
        (
            1,
            DecodeErrorKind::Truncated {
                needed: 8,
                remaining: 2
            }
        )
    );
}

#[test]
fn a_string_length_or_list_count_past_the_end_is_refused() {
    let mut b = court_created(b"xyz");
    let at = b.len() - 7;
    b[at..at + 4].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(
        refused(&b),
        DecodeError {
            offset: at,
            kind: DecodeErrorKind::LengthBeyondEnd {
                length: 4,
                remaining: 3
            }
        }
    );
    b[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        refused(&b).kind,
        DecodeErrorKind::LengthBeyondEnd {
            length: u32::MAX,
            ..
        }
    ));
    // A count of four billion items is refused before anything is allocated.
    let b = judge_registered(u32::MAX, 1);
    assert!(matches!(
        refused(&b).kind,
        DecodeErrorKind::LengthBeyondEnd {
            length: u32::MAX,
            ..
        }
    ));
}

#[test]
fn a_string_that_is_not_utf8_is_refused() {
    for bad in [&[0xffu8][..], &[0xc3], &[0xed, 0xa0, 0x80], &[b'a', 0x80]] {
        assert_eq!(
            refused(&court_created(bad)).kind,
            DecodeErrorKind::InvalidUtf8
        );
    }
    // In an identifier too, where it is reported as UTF-8 before the alphabet is checked.
    let b = bytes_of(|e| {
        e.u8(8);
        e.u32(1);
        e.u8(0xff);
    });
    assert_eq!(refused(&b).kind, DecodeErrorKind::InvalidUtf8);
}

#[test]
fn a_bool_other_than_0_or_1_is_refused() {
    for v in [2u8, 0x80, 0xff] {
        assert_eq!(
            refused(&judge_registered(1, v)).kind,
            DecodeErrorKind::InvalidBool(v)
        );
    }
}

fn case_filed(related_flag: u8, earlier_flag: u8) -> Vec<u8> {
    bytes_of(|e| {
        e.u8(11);
        e.str("CASE-1");
        e.str("north");
        e.str("civil");
        e.str("civil");
        e.u32(2);
        e.list(&[Digest32([1; 32]), Digest32([2; 32])], |e, d| e.digest(d));
        e.digest(&Digest32([3; 32]));
        e.u8(related_flag);
        if related_flag == 1 {
            e.str("CASE-0");
            e.u8(RelationReason::SameFacts.byte());
        }
        e.u8(earlier_flag);
        if earlier_flag == 1 {
            e.str("CASE-00");
        }
    })
}

#[test]
fn an_option_flag_other_than_0_or_1_is_refused() {
    for (r, x) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        assert!(accepted_canonically(&case_filed(r, x)));
    }
    assert_eq!(
        refused(&case_filed(2, 0)).kind,
        DecodeErrorKind::InvalidOption(2)
    );
    assert_eq!(
        refused(&case_filed(0, 0xff)).kind,
        DecodeErrorKind::InvalidOption(0xff)
    );
}

/// Replaces the byte at `at` with every value and returns those that decode.
fn accepted_values(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    (0..=255u8)
        .filter(|v| {
            b[at] = *v;
            match decode_entry_bytes(&b) {
                Ok(_) => true,
                Err(e) => {
                    assert!(
                        matches!(e.kind, DecodeErrorKind::UnknownTag { byte, .. } if byte == *v),
                        "{v}: {e}"
                    );
                    assert_eq!(e.offset, at);
                    false
                }
            }
        })
        .collect()
}

#[test]
fn tag_bytes_out_of_range_are_refused() {
    let upto = |n: u8| (0..n).collect::<Vec<_>>();
    // Event type: the byte after the header.
    let b = bytes_of(|e| {
        e.u8(17);
        e.digest(&Digest32([9; 32]));
    });
    let event_at = 1 + 8 + 8 + 1 + 4 + 3;
    assert!(accepted_canonically(&b));
    for t in [24u8, 25, 0x80, 0xff] {
        let mut b = b.clone();
        b[event_at] = t;
        assert_eq!(
            refused(&b).kind,
            DecodeErrorKind::UnknownTag {
                what: "event type",
                byte: t
            }
        );
    }
    // Role.
    assert_eq!(accepted_values(&b, 17), upto(5));
    // Reasons at the last byte of their event.
    let last = |f: &dyn Fn(&mut Enc)| {
        let b = bytes_of(f);
        let n = b.len() - 1;
        accepted_values(&b, n)
    };
    let absence = |e: &mut Enc| {
        e.u8(7);
        e.str("A-1");
        e.str("J-1");
        e.i32(20_000);
        e.i32(20_001);
        e.u8(0);
    };
    assert_eq!(last(&absence), upto(5));
    let recusal = |e: &mut Enc| {
        e.u8(13);
        e.str("CASE-1");
        e.str("J-1");
        e.u8(0);
    };
    assert_eq!(last(&recusal), upto(5));
    let reassignment = |e: &mut Enc| {
        e.u8(14);
        e.str("CASE-1");
        e.str("J-1");
        e.u8(0);
    };
    assert_eq!(last(&reassignment), upto(5));
    let closed = |e: &mut Enc| {
        e.u8(15);
        e.str("CASE-1");
        e.u8(0);
    };
    assert_eq!(last(&closed), upto(5));
    let b = case_filed(1, 0);
    assert_eq!(accepted_values(&b, b.len() - 2), upto(5));
    // Credential role.
    let b = bytes_of(|e| {
        e.u8(16);
        e.digest(&Digest32([1; 32]));
        e.u8(0);
        e.str("C-2");
        e.u8(0);
        e.u8(0);
    });
    assert_eq!(accepted_values(&b, event_at + 33), upto(5));
    // Policy fallback (the policy opens policy_updated's fields).
    let b = bytes_of(|e| {
        e.u8(1);
        Policy::with_case_types(vec![]).encode(e);
    });
    assert_eq!(accepted_values(&b, event_at + 5), upto(3));
}

#[test]
fn draw_tags_out_of_range_are_refused() {
    // A draw whose every tag sits at a known offset.
    let draw = |method: u8, scope: u8, excl: u8, kind: u8| {
        bytes_of(|e| {
            e.u8(12);
            e.str("CASE-1");
            e.u64(4);
            e.u8(method);
            if method != 0 {
                e.str("CASE-0");
            }
            e.u8(1);
            e.u8(scope);
            e.u32(0);
            e.u32(1);
            e.str("J-2");
            e.u8(excl);
            e.u8(1);
            e.u8(kind);
            e.u64(9);
            if kind == 1 {
                e.digest(&Digest32([4; 32]));
            } else {
                e.fixed(&[5; 48]);
            }
            e.u8(0);
            e.u32(0);
        })
    };
    let base = draw(0, 0, 0, 1);
    assert!(accepted_canonically(&base));
    let event_at = 1 + 8 + 8 + 1 + 4 + 3;
    let method_at = event_at + 1 + 4 + 6 + 8;
    let err = |b: Vec<u8>| refused(&b).kind;
    for m in 1..=4 {
        assert!(accepted_canonically(&draw(m, 0, 0, 1)));
    }
    let mut b = base.clone();
    b[method_at] = 5;
    assert_eq!(
        err(b),
        DecodeErrorKind::UnknownTag {
            what: "draw method",
            byte: 5
        }
    );
    assert_eq!(accepted_values(&base, method_at + 2), [0, 1, 2]);
    let excl_at = method_at + 3 + 4 + 4 + 7;
    assert_eq!(accepted_values(&base, excl_at), (0..8).collect::<Vec<_>>());
    let kind_at = excl_at + 2;
    assert!(accepted_canonically(&draw(0, 0, 0, 2)));
    for k in [0u8, 3, 0xff] {
        let mut b = base.clone();
        b[kind_at] = k;
        assert_eq!(
            err(b),
            DecodeErrorKind::UnknownTag {
                what: "beacon kind",
                byte: k
            }
        );
    }
}

#[test]
fn identifiers_are_refused_as_their_parsers_refuse_them() {
    let long = "a".repeat(65);
    for bad in ["", "a b", "x/y", "é", long.as_str(), "J\n"] {
        let mut e = Enc::default();
        e.u8(1);
        e.u64(0);
        e.i64(0);
        e.u8(0);
        e.str(bad);
        e.u8(8);
        e.str("A-1");
        let err = refused(&e.into_bytes());
        assert_eq!(err.offset, 18, "{bad:?}");
        match err.kind {
            DecodeErrorKind::InvalidId(id) => {
                assert_eq!((id.kind, id.text.as_str()), ("actor", bad))
            }
            k => panic!("{bad:?}: {k:?}"),
        }
        // And JSON refuses the same identifier.
        let line = format!(
            r#"{{"index":0,"at":0,"actor":{{"role":"system","id":{}}},"event":{{"type":"absence_cancelled","absence":"A-1"}},"prev":"{z}","hash":"{z}"}}"#,
            serde_json::to_string(bad).unwrap(),
            z = "0".repeat(64)
        );
        assert!(LogEntry::from_json_line(&line).is_err(), "{line}");
    }
    assert!(accepted_canonically(&bytes_of(|e| {
        e.u8(8);
        e.str(&"a".repeat(64));
    })));
}

#[test]
fn days_json_cannot_write_are_refused() {
    let absence = |from: i32| {
        bytes_of(|e| {
            e.u8(7);
            e.str("A-1");
            e.str("J-1");
            e.i32(from);
            e.i32(from);
            e.u8(0);
        })
    };
    let first = Day::from_ymd(1, 1, 1).unwrap().0;
    let last = Day::from_ymd(9999, 12, 31).unwrap().0;
    for ok in [first, 0, -1, 20_000, last] {
        assert!(accepted_canonically(&absence(ok)), "{ok}");
    }
    for bad in [first - 1, last + 1, i32::MIN, i32::MAX] {
        assert_eq!(
            refused(&absence(bad)).kind,
            DecodeErrorKind::DayOutOfRange(bad)
        );
        // JSON cannot write the day so that it reads back.
        assert!(Day::parse(&Day(bad).to_string()).is_err(), "{bad}");
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut b = court_created(b"x");
    let n = b.len();
    b.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        refused(&b),
        DecodeError {
            offset: n,
            kind: DecodeErrorKind::TrailingBytes(3)
        }
    );
}

#[test]
fn from_canonical_recomputes_the_hash_from_prev() {
    let log = conformance_log();
    let e = &log[3];
    let other = LogEntry::from_canonical(Digest32([1; 32]), &e.bytes()).unwrap();
    assert_ne!(other.hash, e.hash);
    assert_eq!(other.prev, Digest32([1; 32]));
    assert_eq!(other.computed_hash(), other.hash);
}

// Arbitrary entries: every field any value its JSON form accepts.

fn id<T: std::str::FromStr + std::fmt::Debug>() -> impl Strategy<Value = T>
where
    T::Err: std::fmt::Debug,
{
    "[A-Za-z0-9._-]{1,64}".prop_map(|s| s.parse().unwrap())
}

fn digest() -> impl Strategy<Value = Digest32> {
    any::<[u8; 32]>().prop_map(Digest32)
}

fn day() -> impl Strategy<Value = Day> {
    (-719_162i32..=2_932_896).prop_map(Day)
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        any::<[u32; 6]>(),
        0u8..3,
        prop::collection::vec((id(), id(), any::<u32>(), any::<u8>()), 0..4),
    )
        .prop_map(|(n, f, types)| Policy {
            min_pool: n[0],
            fallback: [
                Fallback::Refuse,
                Fallback::WidenToCourt,
                Fallback::WidenThenProceed,
            ][f as usize],
            cap_num: n[1],
            cap_den: n[2],
            balance_permille: n[3],
            window_days: n[4],
            catch_up_limit: n[5],
            case_types: types
                .into_iter()
                .map(|(code, specialization, weight, panel)| CaseType {
                    code,
                    specialization,
                    weight,
                    panel,
                })
                .collect(),
        })
}

fn anchor() -> impl Strategy<Value = ChainAnchor> {
    (digest(), any::<u64>()).prop_map(|(anchor, length)| ChainAnchor { anchor, length })
}

fn byte_enum<T: Clone + std::fmt::Debug + 'static>(
    n: u8,
    from: fn(u8) -> Option<T>,
) -> impl Strategy<Value = T> {
    (0..n).prop_map(move |b| from(b).unwrap())
}

fn draw() -> impl Strategy<Value = Draw> {
    let method = prop_oneof![
        Just(Method::Random),
        id().prop_map(|case| Method::Related { case }),
        id().prop_map(|case| Method::Duplicate { case }),
        id().prop_map(|case| Method::RandomAfterDuplicate { case }),
        id().prop_map(|case| Method::RandomAfterRelated { case }),
    ];
    let beacon = prop_oneof![
        (any::<u64>(), digest())
            .prop_map(|(round, value)| BeaconReveal::HashChain { round, value }),
        (any::<u64>(), any::<[u8; 48]>()).prop_map(|(round, s)| BeaconReveal::Drand {
            round,
            signature: DrandSignature(s)
        }),
    ];
    (
        (
            id(),
            any::<u64>(),
            method,
            any::<u8>(),
            byte_enum(3, PoolScope::from_byte),
        ),
        prop::collection::vec((id(), any::<u64>(), any::<u64>()), 0..4),
        prop::collection::vec((id(), byte_enum(8, Exclusion::from_byte)), 0..4),
        proptest::option::of(beacon),
        proptest::option::of(digest()),
        prop::collection::vec(id(), 0..4),
    )
        .prop_map(
            |((case, trigger, method, seats, scope), el, ex, beacon, seed, chosen)| Draw {
                case,
                trigger,
                method,
                seats,
                scope,
                eligible: el
                    .into_iter()
                    .map(|(judge, load, weight)| Candidate {
                        judge,
                        load,
                        weight,
                    })
                    .collect(),
                excluded: ex
                    .into_iter()
                    .map(|(judge, reason)| Excluded { judge, reason })
                    .collect(),
                beacon,
                seed,
                chosen,
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    let text = any::<String>;
    let specs = || prop::collection::vec(id(), 0..4);
    prop_oneof![
        (id(), policy(), anchor()).prop_map(|(log_id, policy, beacon)| Event::Genesis {
            log_id,
            policy,
            beacon
        }),
        policy().prop_map(|policy| Event::PolicyUpdated { policy }),
        anchor().prop_map(|beacon| Event::BeaconAnchored { beacon }),
        (id(), text()).prop_map(|(court, name)| Event::CourtCreated { court, name }),
        (id(), id(), text()).prop_map(|(court, division, name)| Event::DivisionCreated {
            court,
            division,
            name
        }),
        (id(), id(), id(), specs(), any::<u32>(), any::<bool>()).prop_map(
            |(judge, court, division, specializations, share_permille, active)| {
                Event::JudgeRegistered {
                    judge,
                    court,
                    division,
                    specializations,
                    share_permille,
                    active,
                }
            }
        ),
        (id(), id(), specs(), any::<u32>(), any::<bool>()).prop_map(
            |(judge, division, specializations, share_permille, active)| Event::JudgeUpdated {
                judge,
                division,
                specializations,
                share_permille,
                active,
            }
        ),
        (
            id(),
            id(),
            day(),
            day(),
            byte_enum(5, AbsenceReason::from_byte)
        )
            .prop_map(
                |(absence, judge, from, until, reason)| Event::AbsenceRecorded {
                    absence,
                    judge,
                    from,
                    until,
                    reason
                }
            ),
        id().prop_map(|absence| Event::AbsenceCancelled { absence }),
        (id(), digest()).prop_map(|(judge, subject)| Event::ConflictDeclared { judge, subject }),
        (id(), digest()).prop_map(|(judge, subject)| Event::ConflictWithdrawn { judge, subject }),
        (
            (id(), id(), id(), id(), any::<u32>()),
            prop::collection::vec(digest(), 0..4),
            digest(),
            proptest::option::of(
                (id(), byte_enum(5, RelationReason::from_byte))
                    .prop_map(|(case, reason)| RelatedLink { case, reason })
            ),
            proptest::option::of(id()),
        )
            .prop_map(
                |((case, court, division, case_type, weight), parties, claim, related, earlier)| {
                    Event::CaseFiled {
                        case,
                        court,
                        division,
                        case_type,
                        weight,
                        parties,
                        claim,
                        related,
                        earlier_instance: earlier,
                    }
                }
            ),
        draw().prop_map(Event::Draw),
        (id(), id(), byte_enum(5, RecusalReason::from_byte)).prop_map(|(case, judge, reason)| {
            Event::Recusal {
                case,
                judge,
                reason,
            }
        }),
        (id(), id(), byte_enum(5, ReassignReason::from_byte)).prop_map(|(case, judge, reason)| {
            Event::Reassignment {
                case,
                judge,
                reason,
            }
        }),
        (id(), byte_enum(5, ClosingReason::from_byte))
            .prop_map(|(case, reason)| Event::CaseClosed { case, reason }),
        (
            digest(),
            byte_enum(5, Role::from_byte),
            id(),
            proptest::option::of(id()),
            proptest::option::of(digest())
        )
            .prop_map(|(credential, role, holder, court, enrollment)| {
                Event::CredentialIssued {
                    credential,
                    role,
                    holder,
                    court,
                    enrollment,
                }
            }),
        digest().prop_map(|credential| Event::CredentialRevoked { credential }),
        (digest(), id())
            .prop_map(|(enrollment, judge)| Event::EnrollmentOpened { enrollment, judge }),
        text().prop_map(|key| Event::LogKeyPublished { key }),
        (prop::collection::vec((text(), text()), 0..3), any::<u8>()).prop_map(|(w, quorum)| {
            Event::WitnessesConfigured {
                witnesses: w
                    .into_iter()
                    .map(|(name, key)| Witness { name, key })
                    .collect(),
                quorum,
            }
        }),
        (
            digest(),
            prop::collection::vec(any::<u8>(), 96),
            any::<u64>(),
            any::<u64>(),
            text()
        )
            .prop_map(|(chain_hash, key, period_seconds, genesis_time, scheme)| {
                Event::DrandConfigured {
                    chain_hash,
                    public_key: DrandPublicKey(key.try_into().unwrap()),
                    period_seconds,
                    genesis_time,
                    scheme,
                }
            }),
        (
            any::<u64>(),
            prop::collection::vec(
                (text(), any::<u64>(), prop::collection::vec(any::<u8>(), 64)),
                0..3
            )
        )
            .prop_map(|(size, c)| Event::CheckpointWitnessed {
                size,
                cosignatures: c
                    .into_iter()
                    .map(|(witness, time, s)| Cosignature {
                        witness,
                        time,
                        signature: Signature64(s.try_into().unwrap()),
                    })
                    .collect()
            }),
        (id(), any::<u64>(), any::<u64>()).prop_map(|(case, trigger, round)| {
            Event::BeaconDelayed {
                case,
                trigger,
                round,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any entry whose JSON form is accepted decodes from its bytes to itself.
    #[test]
    fn any_entry_round_trips(index in any::<u64>(), at in any::<i64>(), role in byte_enum(5, Role::from_byte), actor in id::<ActorId>(), event in event()) {
        let actor = Actor { role, id: actor };
        let e = LogEntry::seal(index, at, actor, event, Digest32([3; 32]));
        // The JSON path accepts it (the generator makes only such entries)...
        let back = LogEntry::from_json_line(&e.to_json_line());
        prop_assert_eq!(back.as_ref(), Ok(&e));
        // ...and so does the decoder, giving it back.
        round_trips(&e);
    }

    /// Random edits of real entries (overwritten runs, inserted and deleted bytes) are refused or
    /// canonical, and never panic.
    #[test]
    fn edited_bytes_are_refused_or_canonical(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::collection::vec(any::<u8>(), 1..6)), 1..4),
    ) {
        thread_local! { static LOG: Vec<Vec<u8>> = conformance_log().iter().map(LogEntry::bytes).collect(); }
        let mut b = LOG.with(|l| which.get(l).clone());
        for (pos, op, data) in edits {
            let at = pos.index(b.len() + 1);
            match op {
                0 => {
                    for (i, v) in data.iter().enumerate() {
                        if let Some(x) = b.get_mut(at + i) { *x = *v; }
                    }
                }
                1 => { b.splice(at..at, data); }
                _ => { b.drain(at..(at + data.len()).min(b.len())); }
            }
        }
        accepted_canonically(&b);
    }
}
