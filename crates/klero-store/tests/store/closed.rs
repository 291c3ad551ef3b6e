use super::common::*;
use klero_core::*;
use klero_store::testing::{back_to_schema_13, blob_literal, execute, query_strings};
use klero_store::{ClosedCase, Options, Store};

/// A closed-case answer as comparable values.
type Row = (String, String, String, i64, Option<String>, Vec<String>);

fn rows(v: Vec<ClosedCase>) -> Vec<Row> {
    v.into_iter()
        .map(|c| {
            (
                c.case,
                c.division,
                c.case_type,
                c.filed_at,
                c.closing_reason,
                c.judges,
            )
        })
        .collect()
}

/// The closed cases of court `north` and their judges as the whole log, replayed with nothing
/// evicted, gives them, in filing order; and the open cases' numbers.
async fn from_the_log(s: &Store) -> (Vec<Row>, Vec<String>) {
    let entries = check_log(s).await;
    let mut log = Log::new();
    for e in &entries {
        log.push(e).unwrap();
    }
    let st = log.state();
    let mut closed = Vec::new();
    let mut open = Vec::new();
    for c in st.cases() {
        match c.closed {
            Some(r) => closed.push((
                c.id.to_string(),
                c.division.to_string(),
                c.case_type.to_string(),
                c.filed_at,
                Some(
                    serde_json::to_value(r)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
                st.case_judges(c).iter().map(|j| j.to_string()).collect(),
            )),
            None => open.push(c.id.to_string()),
        }
    }
    open.sort();
    (closed, open)
}

/// Per judge (sat, presided) over `closed`.
fn counts(closed: &[Row]) -> std::collections::HashMap<String, (u64, u64)> {
    let mut m = std::collections::HashMap::new();
    for c in closed {
        for (i, j) in c.5.iter().enumerate() {
            let e: &mut (u64, u64) = m.entry(j.clone()).or_default();
            e.0 += 1;
            e.1 += u64::from(i == 0);
        }
    }
    m
}

async fn close(s: &Store, case: &str, reason: ClosingReason) {
    let case: CaseId = id(case);
    s.submit(move |_: &State| Ok((clerk(), Event::CaseClosed { case, reason })))
        .await
        .expect("closing accepted");
}

async fn recuse(s: &Store, case: &str) {
    let case: CaseId = id(case);
    let judge = s.read(|st| st.case_judges(st.case(&case).unwrap())[0].clone());
    s.submit(move |_: &State| {
        Ok((
            clerk(),
            Event::Recusal {
                case,
                judge,
                reason: RecusalReason::ConflictOfInterest,
            },
        ))
    })
    .await
    .expect("recusal accepted");
}

/// Ten filings; a recusal on case 1 and 4; cases 1, 2, 4, 5, 7 and 9 closed; more filings so that
/// the closed cases leave memory.
async fn history(s: &Store) {
    for p in 0..10 {
        file(s, &format!("P{p}")).await;
    }
    recuse(s, "NORTH-2026-000001").await;
    recuse(s, "NORTH-2026-000004").await;
    for (n, r) in [
        (1, ClosingReason::Judgment),
        (2, ClosingReason::Settlement),
        (4, ClosingReason::Withdrawal),
        (5, ClosingReason::Judgment),
        (7, ClosingReason::Dismissal),
        (9, ClosingReason::Transfer),
    ] {
        close(s, &format!("NORTH-2026-{n:06}"), r).await;
    }
    file(s, "Q").await;
    file(s, "R").await;
}

/// The case numbers of the `cases` rows and of the `assignments` rows.
async fn projected(url: &str) -> (Vec<String>, Vec<String>) {
    (
        query_strings(url, "SELECT case_id FROM cases ORDER BY case_id")
            .await
            .unwrap(),
        query_strings(
            url,
            "SELECT DISTINCT case_id FROM assignments ORDER BY case_id",
        )
        .await
        .unwrap(),
    )
}

/// The store's answers about court `north`'s closed cases.
async fn answers(
    s: &Store,
) -> (
    Vec<Row>,
    (u64, std::collections::HashMap<String, (u64, u64)>),
    Option<String>,
) {
    let north: CourtId = id("north");
    (
        rows(
            s.closed_cases(&north, None, None, None, None)
                .await
                .unwrap(),
        ),
        s.closed_counts(&north).await.unwrap(),
        s.last_case_number(&north, "NORTH-2026-").await.unwrap(),
    )
}

async fn check_answers(s: &Store, url: &str) {
    let (closed, open) = from_the_log(s).await;
    assert_eq!(closed.len(), 6);
    // Only open cases have projection rows; every open case has its row, and its seats.
    let (cases, seated) = projected(url).await;
    assert_eq!(cases, open, "the cases table holds the open cases only");
    assert_eq!(
        seated, open,
        "the assignments table holds the open cases only"
    );
    let (found, (total, per_judge), last) = answers(s).await;
    assert_eq!(
        found, closed,
        "the closed-case search answers from the archive"
    );
    assert_eq!(total, 6);
    assert_eq!(per_judge, counts(&closed));
    assert_eq!(last.as_deref(), Some("NORTH-2026-000009"));
    // The filters: a judge, a number, the filing time.
    let north: CourtId = id("north");
    let judge: JudgeId = id(&closed[0].5[0]);
    let by_judge = rows(
        s.closed_cases(&north, None, None, None, Some(&judge))
            .await
            .unwrap(),
    );
    let want: Vec<Row> = closed
        .iter()
        .filter(|c| c.5.contains(&judge.to_string()))
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(by_judge, want);
    let by_number = rows(
        s.closed_cases(&north, Some("0007"), None, None, None)
            .await
            .unwrap(),
    );
    assert_eq!(by_number, vec![closed[4].clone()]);
    let t = closed[2].3;
    let by_time = rows(
        s.closed_cases(&north, None, Some(t), Some(t + 1), None)
            .await
            .unwrap(),
    );
    assert!(by_time.contains(&closed[2]));
    assert!(by_time.iter().all(|c| c.3 == t));
    // Another court has none.
    let south: CourtId = id("south");
    assert!(
        s.closed_cases(&south, None, None, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.closed_counts(&south).await.unwrap().0, 0);
}

both!(
    a_closed_case_leaves_cases_and_assignments_and_is_read_from_the_archive,
    |url| {
        let s = seeded(&url).await;
        history(&s).await;
        assert!(
            s.read(|st| st.case(&id("NORTH-2026-000001")).is_none()),
            "a closed case left memory"
        );
        check_answers(&s, &url).await;
        // A rebuild writes the same: only open cases, the same answers.
        s.rebuild_projections().await.unwrap();
        check_answers(&s, &url).await;
        s.close().await;
        let s = open(&url).await;
        check_answers(&s, &url).await;
        s.close().await;
    }
);

both!(
    an_edited_archive_row_is_refused_by_the_closed_case_readers,
    |url| {
        let s = seeded(&url).await;
        history(&s).await;
        let north: CourtId = id("north");
        let south: CourtId = id("south");
        let refused = |r: Result<(), klero_store::StoreError>, what: &str| {
            let e = r.expect_err(what).to_string();
            assert!(e.contains("altered"), "{what}: {e}");
        };
        async fn all(s: &Store, court: &CourtId) -> Result<(), klero_store::StoreError> {
            s.closed_cases(court, None, None, None, None).await?;
            s.closed_counts(court).await?;
            s.last_case_number(court, "NORTH-2026-").await?;
            Ok(())
        }
        all(&s, &north).await.unwrap();
        let case = "NORTH-2026-000009";
        // A row moved to another court is refused there.
        execute(
            &url,
            &format!("UPDATE case_archive SET court = 'south' WHERE case_id = '{case}'"),
        )
        .await
        .unwrap();
        for f in [
            s.closed_cases(&south, None, None, None, None)
                .await
                .map(|_| ()),
            s.closed_counts(&south).await.map(|_| ()),
            s.last_case_number(&south, "NORTH-2026-").await.map(|_| ()),
        ] {
            refused(f, "a row moved to another court");
        }
        // A row whose court was emptied refuses every court's closed cases.
        execute(
            &url,
            &format!("UPDATE case_archive SET court = NULL WHERE case_id = '{case}'"),
        )
        .await
        .unwrap();
        refused(
            s.closed_cases(&north, None, None, None, None)
                .await
                .map(|_| ()),
            "an empty court",
        );
        refused(s.closed_counts(&north).await.map(|_| ()), "an empty court");
        refused(
            s.last_case_number(&north, "NORTH-2026-").await.map(|_| ()),
            "an empty court",
        );
        execute(
            &url,
            &format!("UPDATE case_archive SET court = 'north' WHERE case_id = '{case}'"),
        )
        .await
        .unwrap();
        all(&s, &north).await.unwrap();
        // An edited record (one byte of it) or an edited MAC is refused.
        let record = klero_store::testing::archive_record(&url, case)
            .await
            .unwrap();
        for at in [1, record.len() - 2] {
            let mut edited = record.clone();
            edited[at] ^= 1;
            execute(
                &url,
                &format!(
                    "UPDATE case_archive SET record = {} WHERE case_id = '{case}'",
                    blob_literal(&url, &edited)
                ),
            )
            .await
            .unwrap();
            refused(
                s.closed_cases(&north, None, None, None, None)
                    .await
                    .map(|_| ()),
                "an edited record",
            );
            refused(
                s.closed_counts(&north).await.map(|_| ()),
                "an edited record",
            );
            refused(
                s.last_case_number(&north, "NORTH-2026-").await.map(|_| ()),
                "an edited record",
            );
        }
        execute(
            &url,
            &format!(
                "UPDATE case_archive SET record = {} WHERE case_id = '{case}'",
                blob_literal(&url, &record)
            ),
        )
        .await
        .unwrap();
        all(&s, &north).await.unwrap();
        // A row of one closed case passed off as another's (its number edited) is refused.
        execute(
            &url,
            "UPDATE case_archive SET case_id = 'NORTH-2026-000099' \
             WHERE case_id = 'NORTH-2026-000002'",
        )
        .await
        .unwrap();
        refused(all(&s, &north).await, "an edited case number");
        s.rebuild_projections().await.unwrap();
        check_answers(&s, &url).await;
        s.close().await;
    }
);

both!(
    migration_14_removes_the_closed_rows_and_answers_the_same,
    |url| {
        let s = seeded(&url).await;
        history(&s).await;
        let before = answers(&s).await;
        let (closed, open_cases) = from_the_log(&s).await;
        s.close().await;
        back_to_schema_13(&url).await.unwrap();
        // A store of schema 13: every case in `cases`, closed ones with their closing.
        let closed_rows = query_strings(
            &url,
            "SELECT case_id || '|' || closing_reason FROM cases WHERE closed_idx IS NOT NULL \
             ORDER BY case_id",
        )
        .await
        .unwrap();
        assert_eq!(
            closed_rows,
            closed
                .iter()
                .map(|c| format!("{}|{}", c.0, c.4.as_deref().unwrap()))
                .collect::<Vec<_>>()
        );
        let (cases, _) = projected(&url).await;
        assert_eq!(cases.len(), closed.len() + open_cases.len());
        // A case closed before schema 5 has no archive row: migration 14 leaves its rows, and the
        // open's replay archives it and deletes them.
        execute(
            &url,
            "DELETE FROM case_archive WHERE case_id = 'NORTH-2026-000005'",
        )
        .await
        .unwrap();
        let s = Store::open_with(
            &url,
            Options {
                chain_length: CHAIN,
                full_check: true,
                ..klero_store::testing::options_for(&url)
            },
        )
        .await
        .unwrap();
        assert_eq!(
            query_strings(&url, "SELECT CAST(MAX(version) AS TEXT) FROM klero_schema")
                .await
                .unwrap(),
            vec!["14".to_string()]
        );
        assert_eq!(
            answers(&s).await,
            before,
            "the same answers after the migration"
        );
        check_answers(&s, &url).await;
        assert_eq!(
            query_strings(
                &url,
                "SELECT CAST(COUNT(*) AS TEXT) FROM case_archive WHERE court = 'north'"
            )
            .await
            .unwrap(),
            vec!["6".to_string()]
        );
        s.close().await;

        // A row that does not pass its check when migration 14 reads it keeps no court: the
        // closed-case readers refuse, until a rebuild rewrites the archive.
        back_to_schema_13(&url).await.unwrap();
        let record = klero_store::testing::archive_record(&url, "NORTH-2026-000007")
            .await
            .unwrap();
        let mut edited = record.clone();
        edited[2] ^= 1;
        execute(
            &url,
            &format!(
                "UPDATE case_archive SET record = {} WHERE case_id = 'NORTH-2026-000007'",
                blob_literal(&url, &edited)
            ),
        )
        .await
        .unwrap();
        let s = open(&url).await;
        assert_eq!(
            query_strings(&url, "SELECT case_id FROM case_archive WHERE court IS NULL")
                .await
                .unwrap(),
            vec!["NORTH-2026-000007".to_string()]
        );
        let north: CourtId = id("north");
        let e = s
            .closed_cases(&north, None, None, None, None)
            .await
            .expect_err("a row without a court")
            .to_string();
        assert!(e.contains("altered"), "{e}");
        assert!(s.closed_counts(&north).await.is_err());
        s.rebuild_projections().await.unwrap();
        assert_eq!(answers(&s).await, before);
        check_answers(&s, &url).await;
        s.close().await;
    }
);
