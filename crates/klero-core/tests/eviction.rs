//! Evicting closed cases changes nothing a rule decides (issue 10, `klero_core::resident`): the
//! conformance and sample logs replay to the same head and root, and every invalid log fails at the
//! same entry with the same message, when every closed case is evicted as soon as it closes and
//! restored from an archive only when an entry names it. The archive holds each case as the store
//! does: its number, duplicate key and ordinal beside its record (`CaseState::encode_record`), and
//! a restored case is read back from those bytes.

use std::collections::HashMap;

use klero_core::conformance::{conformance_log, invalid_logs};
use klero_core::resident::Archived;
use klero_core::state::CaseState;
use klero_core::{CaseId, Commitment, Digest32, Event, Failure, Log, LogEntry};

/// An archive row: ordinal, case number, duplicate key and record.
#[derive(Clone)]
struct Row {
    ordinal: usize,
    id: CaseId,
    key: Digest32,
    record: Vec<u8>,
}

impl Row {
    fn of(a: &Archived) -> Row {
        Row {
            ordinal: a.ordinal,
            id: a.case.id.clone(),
            key: a.case.duplicate_key,
            record: a.case.encode_record(),
        }
    }

    fn read(&self) -> Archived {
        Archived {
            ordinal: self.ordinal,
            case: CaseState::decode_record(&self.record, self.id.clone(), self.key)
                .expect("a record reads back"),
        }
    }
}

/// A store's archive, in memory: every case as it was when it closed.
#[derive(Default)]
struct Archive {
    by_id: HashMap<CaseId, Row>,
    by_key: HashMap<Digest32, usize>,
}

/// What a replay did: its result, and how many restores and evictions it took.
struct Run {
    result: Result<(Digest32, Digest32), Failure>,
    evicted: usize,
    restored: usize,
}

fn replay(entries: &[LogEntry], evict: bool) -> Run {
    replay_with(entries, evict, None)
}

/// Two copies at the same position, as the store's writer keeps (published and working), and a
/// clone of one taken part-way, as a snapshot being written holds.
#[derive(Default)]
struct Twins {
    twin: Log,
    /// The clone, its filter as JSON when taken, and how many cases were evicted then.
    snapshot: Option<(Log, String, usize)>,
}

/// [`replay`], with `twins`: every entry applied to a twin copy too, and evictions done on both
/// with [`Log::evict_closed_twins`].
fn replay_with(entries: &[LogEntry], evict: bool, mut twins: Option<&mut Twins>) -> Run {
    let mut log = Log::new();
    let mut archive = Archive::default();
    let (mut evicted, mut restored) = (0, 0);
    for e in entries {
        if evict {
            let w = log.state().wants(&e.event);
            let cases: Vec<Archived> = w
                .cases
                .iter()
                .filter_map(|id| archive.by_id.get(id).map(Row::read))
                .collect();
            let latest = w
                .duplicate_key
                .and_then(|k| archive.by_key.get(&k).map(|&ci| (k, ci)));
            // The latest case of the key must be in memory for the rule to read it.
            let mut cases = cases;
            if let Some((_, ci)) = latest
                && let Some(a) = archive.by_id.values().find(|a| a.ordinal == ci)
            {
                cases.push(a.read());
            }
            restored += cases.len();
            if let Some(t) = twins.as_deref_mut() {
                t.twin.restore(cases.clone(), latest);
            }
            log.restore(cases, latest);
        }
        if let Some(t) = twins.as_deref_mut() {
            let twin = t.twin.push(e);
            assert_eq!(twin.is_ok(), log.clone().push(e).is_ok());
        }
        if let Err(f) = log.push(e) {
            return Run {
                result: Err(f),
                evicted,
                restored,
            };
        }
        if evict {
            if let Event::CaseClosed { case, .. } = &e.event {
                let a = log
                    .state()
                    .archive_record(case)
                    .expect("a closed case is in memory");
                let k = a.case.duplicate_key;
                let latest = archive.by_key.entry(k).or_insert(a.ordinal);
                *latest = (*latest).max(a.ordinal);
                assert_eq!(Row::of(&a).read().case, a.case);
                archive.by_id.insert(case.clone(), Row::of(&a));
            }
            match twins.as_deref_mut() {
                Some(t) => {
                    evicted += log.evict_closed_twins(&mut t.twin);
                    assert!(log.state().seen().shares_with(t.twin.state().seen()));
                    if t.snapshot.is_none() && evicted > 0 {
                        let json = serde_json::to_string(log.state().seen()).expect("JSON");
                        t.snapshot = Some((log.clone(), json, evicted));
                    }
                }
                None => evicted += log.evict_closed(),
            }
        }
    }
    Run {
        result: Ok((log.head(), log.root())),
        evicted,
        restored,
    }
}

#[test]
fn the_conformance_log_replays_the_same_with_closed_cases_evicted() {
    let log = conformance_log();
    let kept = replay(&log, false);
    let evicting = replay(&log, true);
    assert!(kept.result.is_ok(), "{:?}", kept.result);
    assert_eq!(kept.result, evicting.result);
    // The log closes cases and names closed ones again (duplicate, related, earlier instance):
    // the eviction path was taken, not skipped.
    assert!(evicting.evicted > 0, "no case was evicted");
    assert!(evicting.restored > 0, "no case was restored");
}

#[test]
fn twin_copies_that_evict_together_hold_one_filter_and_replay_the_same() {
    let log = conformance_log();
    let alone = replay(&log, true);
    let mut t = Twins::default();
    let twins = replay_with(&log, true, Some(&mut t));
    assert!(twins.result.is_ok(), "{:?}", twins.result);
    assert_eq!(alone.result, twins.result);
    assert_eq!(
        (alone.evicted, alone.restored),
        (twins.evicted, twins.restored)
    );
    assert_eq!(t.twin.head(), log.last().expect("entries").hash);
    // The clone taken part-way kept the filter as it was when taken: the copies that went on
    // adding to it copied it rather than change it under the clone.
    let (snapshot, then, evicted_then) = t.snapshot.expect("a case was evicted");
    let now = serde_json::to_string(snapshot.state().seen()).expect("JSON");
    assert_eq!(then, now);
    assert!(
        twins.evicted > evicted_then,
        "nothing evicted after the clone"
    );
    let last = serde_json::to_string(t.twin.state().seen()).expect("JSON");
    assert_ne!(then, last);
}

#[test]
fn every_invalid_log_fails_at_the_same_entry_with_closed_cases_evicted() {
    for inv in invalid_logs() {
        // Up to the first line that does not parse (the §8 and §2.2 cases).
        let entries: Vec<LogEntry> = inv
            .text
            .lines()
            .map_while(|l| LogEntry::from_json_line(l).ok())
            .collect();
        let kept = replay(&entries, false);
        let evicting = replay(&entries, true);
        assert_eq!(
            kept.result.as_ref().map_err(|f| f.to_string()),
            evicting.result.as_ref().map_err(|f| f.to_string()),
            "{}",
            inv.name
        );
    }
}

#[test]
fn a_state_that_evicts_without_restoring_cannot_apply_a_filing_that_names_a_closed_case() {
    // The contract is real: skip the restore and a filing naming an evicted case is refused
    // ("there is no case ..."), or its duplicate goes unseen. So the test above can fail.
    let log = conformance_log();
    let mut l = Log::new();
    let mut refused = None;
    for e in &log {
        if let Err(f) = l.push(e) {
            refused = Some(f);
            break;
        }
        l.evict_closed();
    }
    assert!(
        refused.is_some(),
        "the conformance log never names a closed case again"
    );
}

#[test]
fn the_conformance_log_replays_keeping_only_recent_roots() {
    // Its checkpoint_witnessed entries name sizes a few entries back, as a writer's do: keeping the
    // latest roots is enough, and gives the same log.
    let log = conformance_log();
    for keep in [1, 16] {
        let mut l = Log::new();
        l.keep_recent_roots(keep);
        for e in &log {
            l.push(e).unwrap_or_else(|f| panic!("keeping {keep}: {f}"));
        }
        assert_eq!(l.head(), log.last().unwrap().hash);
    }
}

#[test]
fn a_filing_under_an_evicted_cases_number_is_refused_as_without_eviction() {
    // The first closed case is evicted at once; the next entry files another matter (no
    // duplicate key, related case or earlier instance to bring it back) under its number. Only
    // the number itself sends the state to the archive: the filter of evicted numbers must say
    // "maybe" (its exact part, the highest evicted number of the prefix, must not say "no").
    let log = conformance_log();
    let closed = log
        .iter()
        .position(|e| matches!(e.event, Event::CaseClosed { .. }))
        .expect("a closing");
    let Event::CaseClosed { case: taken, .. } = &log[closed].event else {
        unreachable!()
    };
    let other = log[closed..]
        .iter()
        .find_map(|e| match &e.event {
            Event::CaseFiled {
                related: None,
                earlier_instance: None,
                parties,
                ..
            } if log[..closed]
                .iter()
                .all(|p| !same_parties(&p.event, parties)) =>
            {
                Some(e.clone())
            }
            _ => None,
        })
        .expect("a filing of another matter after the closing");
    let mut event = other.event.clone();
    if let Event::CaseFiled { case, .. } = &mut event {
        *case = taken.clone();
    }
    let prev = &log[closed];
    let mut entries = log[..=closed].to_vec();
    entries.push(LogEntry::seal(
        prev.index + 1,
        prev.at + 1,
        other.actor.clone(),
        event,
        prev.hash,
    ));
    let kept = replay(&entries, false);
    let evicting = replay(&entries, true);
    let message = |r: &Run| r.result.as_ref().map_err(|f| f.to_string()).unwrap_err();
    assert!(
        message(&kept).contains(&format!("case {taken} is already filed")),
        "{}",
        message(&kept)
    );
    assert_eq!(message(&kept), message(&evicting));
    assert!(evicting.evicted > 0 && evicting.restored > 0);
}

/// Whether `event` is a filing with exactly these parties.
fn same_parties(event: &Event, parties: &[Commitment]) -> bool {
    matches!(event, Event::CaseFiled { parties: p, .. } if p.as_slice() == parties)
}
