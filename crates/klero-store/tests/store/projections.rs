use super::common::*;
use klero_core::*;
use klero_store::testing::{execute, query_strings};

async fn dump(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in [
        "SELECT case_id || '|' || court || '|' || division || '|' || case_type || '|' || CAST(weight AS TEXT) || '|' || CAST(filed_idx AS TEXT) || '|' || CAST(filed_at AS TEXT) || '|' || COALESCE(CAST(closed_idx AS TEXT), '-') || '|' || COALESCE(closing_reason, '-') FROM cases ORDER BY case_id",
        "SELECT case_id || '|' || judge || '|' || CAST(draw_idx AS TEXT) || '|' || CAST(seat AS TEXT) || '|' || method || '|' || COALESCE(CAST(ended_idx AS TEXT), '-') || '|' || COALESCE(end_reason, '-') FROM assignments ORDER BY case_id, judge, draw_idx",
        "SELECT judge || '|' || court || '|' || CAST(cases_assigned AS TEXT) || '|' || CAST(weight_assigned AS TEXT) || '|' || CAST(open_cases AS TEXT) FROM judge_loads ORDER BY judge",
    ] {
        out.extend(query_strings(url, q).await.unwrap());
    }
    out
}

both!(
    projections_are_written_with_the_entries_and_rebuild_identically,
    |url| {
        let s = seeded(&url).await;
        for p in ["A", "B", "C", "D", "E"] {
            file(&s, p).await;
        }
        // A recusal (with its redraw) and a closing.
        let (case, judge) = s.read(|st| {
            let c = st.case(&id("NORTH-2026-000001")).unwrap();
            (c.id.clone(), st.case_judges(c)[0].clone())
        });
        let (c2, j2) = (case.clone(), judge.clone());
        let es = s
            .submit(move |_: &State| {
                Ok((
                    clerk(),
                    Event::Recusal {
                        case: c2,
                        judge: j2,
                        reason: RecusalReason::ConflictOfInterest,
                    },
                ))
            })
            .await
            .unwrap();
        assert_eq!(es.len(), 2, "a recusal and its redraw");
        s.submit(|_: &State| {
            Ok((
                clerk(),
                Event::CaseClosed {
                    case: id("NORTH-2026-000002"),
                    reason: ClosingReason::Settlement,
                },
            ))
        })
        .await
        .unwrap();

        let live = dump(&url).await;
        // The four open cases have their rows; the closed one has none (schema 14: it is only in
        // the case archive, with its court).
        assert_eq!(
            live.iter()
                .filter(|r| r.starts_with("NORTH-2026-") && r.matches('|').count() == 8)
                .count(),
            4
        );
        assert!(
            live.iter()
                .any(|r| r.starts_with(&format!("{case}|{judge}|"))
                    && r.ends_with("recusal:conflict_of_interest"))
        );
        assert!(
            !live.iter().any(|r| r.starts_with("NORTH-2026-000002|")),
            "{live:?}"
        );
        assert!(
            live.iter()
                .filter(|r| r.starts_with("NORTH-2026-"))
                .all(|r| r.contains("|-|-") || r.matches('|').count() == 6),
            "no row of an open case is marked closed: {live:?}"
        );
        assert_eq!(
            query_strings(
                &url,
                "SELECT case_id || '|' || court FROM case_archive ORDER BY case_id"
            )
            .await
            .unwrap(),
            vec!["NORTH-2026-000002|north".to_string()]
        );
        // Loads agree with the in-memory state: six seats were drawn (five filings and one redraw).
        let seats: u64 = live
            .iter()
            .filter(|r| r.starts_with("J-"))
            .map(|r| r.split('|').nth(2).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(seats, 6);

        let n = s.rebuild_projections().await.unwrap();
        assert_eq!(n, s.checkpoint().0);
        assert_eq!(
            dump(&url).await,
            live,
            "a rebuild reproduces the projections"
        );

        execute(
            &url,
            "DELETE FROM assignments; DELETE FROM cases; DELETE FROM judge_loads;",
        )
        .await
        .unwrap();
        s.rebuild_projections().await.unwrap();
        assert_eq!(dump(&url).await, live, "and restores them from nothing");
        s.close().await;
    }
);
