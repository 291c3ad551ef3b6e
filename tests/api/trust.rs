//! The whole of issue 9 at once: a log server with two witnesses and a drand relay on loopback.
//! Every drand draw waits for a checkpoint containing its trigger to be cosigned by both witnesses,
//! and uses the first round published strictly after the later cosignature time; an observer's
//! monitor follows the log to the end and finds it consistent and witnessed.

use std::time::Duration;

use klero::witnessing::{Witnessing, configure};
use klero_core::{BeaconReveal, DevChain, Event};

use crate::both_backends;
use crate::helpers::*;
use crate::witness::two_witnesses;

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn witnessed_drand_draws_use_the_first_round_after_the_quorum_time(b: Backend) {
    let app = spawn_app(b).await;
    let (wa, wb, endpoints) = two_witnesses(&app.store).await;
    configure(&app.store, &endpoints, 2).await.unwrap();
    Witnessing::new(app.store.clone(), &endpoints, 2, Duration::from_secs(5))
        .unwrap()
        .spawn();
    // A test drand chain of period 1 s, publishing rounds on the real clock.
    let dev = DevChain::new(&[9; 32], now_s() - 30, 1);
    let (_relay, task) = klero::drand::attach_dev_relay(
        &app.store,
        dev.clone(),
        klero::drand::system_clock(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();

    // Clerks file; a clerk who waits gets the judge within seconds.
    let mut cases = vec![];
    for i in 0..4 {
        let r = app
            .post(
                &format!("/api/v1/courts/{COURT}/cases?wait=20"),
                &app.clerk,
                filing(&format!("witnessed and drawn by drand {i}")),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        assert_eq!(v["judges"].as_array().unwrap().len(), 1, "{v}");
        cases.push(v["case"].as_str().unwrap().to_owned());
    }
    assert!(app.store.read(|s| s.pending_drand().is_empty()));

    // Each draw: the first witnessed checkpoint after its trigger that covers it, the quorum's
    // (the later) cosignature time T, and the first round strictly after T.
    let size = app.size().await;
    let log = app.store.entries(0, size).await.unwrap();
    let mut drand_draws = 0;
    for (i, e) in log.iter().enumerate() {
        let Event::Draw(d) = &e.event else { continue };
        let Some(BeaconReveal::Drand { round, .. }) = d.beacon else {
            continue;
        };
        drand_draws += 1;
        let trigger = d.trigger as usize;
        let (w_at, times) = log[trigger + 1..i]
            .iter()
            .find_map(|w| match &w.event {
                Event::CheckpointWitnessed { size, cosignatures } if *size > d.trigger => Some((
                    w.index,
                    cosignatures.iter().map(|c| c.time).collect::<Vec<_>>(),
                )),
                _ => None,
            })
            .expect("a witnessed checkpoint covers the trigger before its draw");
        assert!(w_at < e.index);
        let mut times = times;
        times.sort();
        assert_eq!(times.len(), 2, "both witnesses cosigned");
        let t = times[1];
        assert_eq!(round, dev.chain.first_round_after(t), "case {}", d.case);
        assert!(dev.chain.round_time(round) > t);
        assert!(dev.chain.round_time(round) <= t + 1);
    }
    assert_eq!(drand_draws, cases.len());
    app.assert_verifies().await;

    // An observer's monitor follows the log to the end: consistent, and cosigned by both.
    let state = tempfile::tempdir().unwrap();
    let (url, dir) = (app.url.clone(), state.path().to_owned());
    let mut p = None;
    for _ in 0..50 {
        let (url, dir) = (url.clone(), dir.clone());
        let got = tokio::task::spawn_blocking(move || {
            let mut m = klero::monitor::Monitor::open(&url, &dir, None, &mut |_| {}).unwrap();
            m.round(&mut |_| {})
        })
        .await
        .unwrap()
        .expect("the log is consistent");
        let done = got.to == app.size().await && got.witnessed();
        p = Some(got);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let p = p.unwrap();
    assert_eq!(p.to, app.size().await);
    assert!(p.witnessed(), "{:?}", p.cosigned);
    task.abort();
    for w in [wa, wb] {
        w.handle.abort();
    }
}
both_backends!(witnessed_drand_draws_use_the_first_round_after_the_quorum_time);
