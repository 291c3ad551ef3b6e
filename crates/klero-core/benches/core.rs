//! Criterion benchmarks for the core (numbers in docs/PERFORMANCE.md):
//!
//! - one draw with 10, 100 and 1,000 eligible judges: planning (eligibility, loads, weights) plus
//!   seed and sampling, as `State::apply` does for a filing and its draw;
//! - full replay verification of a log, in events per second, next to raw SHA-256 over the same
//!   canonical bytes in the same run.
//!
//! Run: `cargo bench -p klero-core --bench core`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use klero_core::beacon::HashChain;
use klero_core::sample::{SampleSpec, sample_case_types};
use klero_core::*;
use sha2::{Digest as _, Sha256};
use std::hint::black_box;

/// A log with one court of `judges` judges (one division, one specialization) and `cases` cases,
/// plus the writer's chain, ready for one more filing.
fn court(judges: usize, cases: usize) -> (Log, HashChain) {
    let mut chain = HashChain::new(Digest32([7; 32]), 1 << 16);
    let mut log = Log::new();
    let admin = Actor::new(Role::SystemAdmin, "admin");
    let mut policy = Policy::with_case_types(sample_case_types());
    policy.min_pool = 1;
    let at = klero_core::sample::SAMPLE_START;
    log.append(
        at,
        admin.clone(),
        Event::Genesis {
            log_id: "bench".parse().unwrap(),
            policy,
            beacon: chain.anchor(),
        },
    )
    .unwrap();
    log.append(
        at,
        admin.clone(),
        Event::CourtCreated {
            court: "c".parse().unwrap(),
            name: "Court".into(),
        },
    )
    .unwrap();
    log.append(
        at,
        admin.clone(),
        Event::DivisionCreated {
            court: "c".parse().unwrap(),
            division: "d".parse().unwrap(),
            name: "Division".into(),
        },
    )
    .unwrap();
    for j in 0..judges {
        log.append(
            at,
            admin.clone(),
            Event::JudgeRegistered {
                judge: format!("J-{j:05}").parse().unwrap(),
                court: "c".parse().unwrap(),
                division: "d".parse().unwrap(),
                specializations: vec!["civil".parse().unwrap()],
                share_permille: 1000,
                active: true,
            },
        )
        .unwrap();
    }
    for n in 0..cases {
        file(&mut log, &mut chain, n, at + n as i64 * 1000);
    }
    (log, chain)
}

fn file(log: &mut Log, chain: &mut HashChain, n: usize, at: i64) {
    let case: CaseId = format!("C-{n:07}").parse().unwrap();
    let p = klero_core::hash::sha256(&[&(n as u64).to_be_bytes()]);
    log.append(
        at,
        Actor::new(Role::Clerk, "clerk"),
        Event::CaseFiled {
            case: case.clone(),
            court: "c".parse().unwrap(),
            division: "d".parse().unwrap(),
            case_type: if n.is_multiple_of(2) {
                "civil".parse().unwrap()
            } else {
                "civil-small".parse().unwrap()
            },
            weight: if n.is_multiple_of(2) { 2 } else { 1 },
            parties: vec![p],
            claim: p,
            related: None,
            earlier_instance: None,
        },
    )
    .unwrap();
    log.draw(at, &case, chain).unwrap();
}

fn bench_draw(c: &mut Criterion) {
    let mut g = c.benchmark_group("draw");
    for judges in [10usize, 100, 1000] {
        // The whole path of a filing: eligibility over the court, loads, catch-up, weights, beacon,
        // seed, sampling, plus both entries' canonical encoding, SHA-256 and state updates. The draw
        // entry lists every judge, so its bytes (and hashing) grow with the court.
        let (log, chain) = court(judges, 200);
        g.bench_function(format!("file_and_draw/{judges}_judges"), |b| {
            b.iter_batched(
                || (log.clone(), chain.clone()),
                |(mut log, mut chain)| {
                    file(
                        &mut log,
                        &mut chain,
                        1_000_000,
                        klero_core::sample::SAMPLE_START + 10_000_000,
                    );
                    (log, chain) // dropped outside the timing
                },
                BatchSize::LargeInput,
            )
        });
        // The decision alone: weights from loads and shares, then sampling one judge.
        let policy = Policy::with_case_types(vec![]);
        let inputs: Vec<klero_core::draw::LoadInput> = (0..judges as u64)
            .map(|i| klero_core::draw::LoadInput {
                load: (i * 7919) % 10_007 * 1000,
                share_permille: 1000,
                rate: 1000,
            })
            .collect();
        let seed = Digest32([3; 32]);
        g.bench_function(format!("weights_and_sample/{judges}_judges"), |b| {
            b.iter(|| {
                let w = klero_core::draw::weights(&policy, 3, black_box(&inputs), 0);
                black_box(klero_core::draw::draw_without_replacement(&seed, &w, 1))
            })
        });
        // The balanced-rate factors of a group in which a third of the judges also hold a
        // specialization (the matrix scaling runs its full iteration count).
        let shares: Vec<u32> = (0..judges)
            .map(|i| if i % 7 == 0 { 500 } else { 1000 })
            .collect();
        let holds: Vec<bool> = (0..judges).flat_map(|i| [true, i % 3 == 0]).collect();
        g.bench_function(format!("balanced_rates/{judges}_judges"), |b| {
            b.iter(|| {
                black_box(klero_core::draw::balanced_rates(
                    black_box(&shares),
                    &holds,
                    &[3_000_000, 1_000_000],
                ))
            })
        });
    }
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let entries = klero_core::sample::sample_log(&SampleSpec {
        seed: 9,
        judges: 20,
        cases: 20_000,
        chain_length: 1 << 16,
    });
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.bytes()).collect();
    let total: u64 = bytes.iter().map(|b| b.len() as u64).sum();
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.bench_function(
        format!("replay/{}_events_{}_bytes", entries.len(), total),
        |b| {
            b.iter(|| {
                let r = verify(&entries);
                assert!(r.ok());
                black_box(r.root)
            })
        },
    );
    g.bench_function(
        format!("raw_sha256_same_bytes/{}_events", entries.len()),
        |b| {
            b.iter(|| {
                let mut acc = [0u8; 32];
                for b in &bytes {
                    acc = Sha256::digest(b).into();
                }
                black_box(acc)
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench_draw, bench_verify);
criterion_main!(benches);
