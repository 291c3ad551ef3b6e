//! Projections: the rows beside the log (cases, assignments, judge loads), derived from each entry
//! and the state right after it. The same function serves the live writer and
//! `Store::rebuild_projections`, so a rebuild reproduces what the writer wrote.
//!
//! From schema 14 `cases` and `assignments` hold open cases only: the entry that closes a case
//! deletes its rows, in the transaction that writes its `case_archive` row, where the readers of a
//! court's closed cases find it.

use std::collections::BTreeMap;

use klero_core::{Event, LogEntry, Method, State};
use sqlx::AnyConnection;

use crate::StoreError;
use crate::archive::ArchiveKey;
use crate::db::{Val, db_err, exec, insert_rows};

/// One change to the projection tables.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// A row of `cases`.
    Case(Vec<Val>),
    /// A row of `assignments`.
    Assign(Vec<Val>),
    /// An UPDATE, applied after every insert of the batch, in log order.
    Update(&'static str, Vec<Val>),
    /// A case closed by entry `idx` for `reason` (the closing reason's name): its `cases` and
    /// `assignments` rows are deleted, in log order with the updates (a database turned back to
    /// schema 13, in tests, records `idx` and `reason` on its `cases` row instead).
    Close {
        case: String,
        idx: i64,
        reason: String,
    },
    /// A closed case for `case_archive` (written with its MAC).
    Archive(Box<klero_core::resident::Archived>),
    /// Deltas to a judge's counters.
    Load {
        judge: String,
        court: String,
        cases: i64,
        weight: i64,
        open: i64,
    },
}

const END_SEAT: &str = "UPDATE assignments SET ended_idx = $1, end_reason = $2 \
     WHERE case_id = $3 AND judge = $4 AND ended_idx IS NULL AND draw_idx < $1";
/// Schema 13's closing (tests only: a database turned back to it).
const CLOSE_CASE_13: &str =
    "UPDATE cases SET closed_idx = $1, closing_reason = $2 WHERE case_id = $3";
/// A closed case's seats: one range of the primary key (case_id, judge, draw_idx).
pub(crate) const DELETE_ASSIGNMENTS: &str = "DELETE FROM assignments WHERE case_id = $1";
/// A closed case's row, by primary key.
pub(crate) const DELETE_CASE: &str = "DELETE FROM cases WHERE case_id = $1";

/// The name of a closing, recusal or reassignment reason as the log's JSON spells it.
pub(crate) fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("other"),
    }
}

/// The projection changes of `e`, given the state right after it was applied.
pub(crate) fn project(state: &State, e: &LogEntry, ops: &mut Vec<Op>) {
    let idx = e.index as i64;
    match &e.event {
        Event::CaseFiled {
            case,
            court,
            division,
            case_type,
            weight,
            ..
        } => ops.push(Op::Case(vec![
            case.as_str().into(),
            court.as_str().into(),
            division.as_str().into(),
            case_type.as_str().into(),
            Val::I(*weight as i64),
            Val::I(idx),
            Val::I(e.at),
        ])),
        Event::Draw(d) => {
            // The column says how the judge was chosen; a fallback draw (a duplicate or related
            // binding that did not hold) is a random draw, and the log's draw record names why.
            let method = match d.method {
                Method::Random
                | Method::RandomAfterDuplicate { .. }
                | Method::RandomAfterRelated { .. } => "random",
                Method::Related { .. } => "related",
                Method::Duplicate { .. } => "duplicate",
            };
            let case = state.case(&d.case);
            // A duplicate is the matter it is bound to and adds no weight (SPEC §7.8).
            let weight = match d.method {
                Method::Duplicate { .. } => 0,
                _ => case.map_or(0, |c| c.weight as i64),
            };
            let open = i64::from(case.is_some_and(|c| c.closed.is_none()));
            for (seat, judge) in d.chosen.iter().enumerate() {
                ops.push(Op::Assign(vec![
                    d.case.as_str().into(),
                    judge.as_str().into(),
                    Val::I(idx),
                    Val::I(seat as i64),
                    method.into(),
                ]));
                ops.push(Op::Load {
                    judge: judge.as_str().into(),
                    court: state
                        .judge(judge)
                        .map_or_else(String::new, |j| j.court.as_str().into()),
                    cases: 1,
                    weight,
                    open,
                });
            }
        }
        Event::Recusal {
            case,
            judge,
            reason,
        } => end_seat(
            state,
            ops,
            idx,
            case,
            judge,
            format!("recusal:{}", name(reason)),
        ),
        Event::Reassignment {
            case,
            judge,
            reason,
        } => end_seat(
            state,
            ops,
            idx,
            case,
            judge,
            format!("reassignment:{}", name(reason)),
        ),
        Event::CaseClosed { case, reason } => {
            ops.push(Op::Close {
                case: case.as_str().into(),
                idx,
                reason: name(reason),
            });
            if let Some(a) = state.archive_record(case) {
                ops.push(Op::Archive(Box::new(a)));
            }
            if let Some(c) = state.case(case) {
                for j in state.case_judges(c) {
                    ops.push(Op::Load {
                        judge: j.as_str().into(),
                        court: c.court.as_str().into(),
                        cases: 0,
                        weight: 0,
                        open: -1,
                    });
                }
            }
        }
        _ => {}
    }
}

fn end_seat(
    state: &State,
    ops: &mut Vec<Op>,
    idx: i64,
    case: &klero_core::CaseId,
    judge: &klero_core::JudgeId,
    reason: String,
) {
    ops.push(Op::Update(
        END_SEAT,
        vec![
            Val::I(idx),
            reason.into(),
            case.as_str().into(),
            judge.as_str().into(),
        ],
    ));
    if let Some(c) = state.case(case).filter(|c| c.closed.is_none()) {
        ops.push(Op::Load {
            judge: judge.as_str().into(),
            court: c.court.as_str().into(),
            cases: 0,
            weight: 0,
            open: -1,
        });
    }
}

/// Writes projection changes: inserts first, then updates and closings in log order, then the
/// judges' counters (summed per judge, so each judge's row is touched once per batch). The rows of
/// a case the batch both files or draws and closes are not inserted at all (a case closes once,
/// and its number is never filed again); its closing still deletes the rows earlier batches wrote.
pub(crate) async fn write(
    conn: &mut AnyConnection,
    ops: Vec<Op>,
    key: &ArchiveKey,
) -> Result<(), StoreError> {
    write_as(conn, ops, key, false).await
}

/// [`write`], or with `schema_13` (tests only) as a store of schema 13 wrote: a closing recorded
/// on the case's `cases` row, every row kept, and archive rows without a court.
pub(crate) async fn write_as(
    conn: &mut AnyConnection,
    ops: Vec<Op>,
    key: &ArchiveKey,
    schema_13: bool,
) -> Result<(), StoreError> {
    let closing: std::collections::HashSet<String> = if schema_13 {
        Default::default()
    } else {
        ops.iter()
            .filter_map(|op| match op {
                Op::Close { case, .. } => Some(case.clone()),
                _ => None,
            })
            .collect()
    };
    let closes = |r: &[Val]| matches!(r.first(), Some(Val::T(c)) if closing.contains(c));
    let mut cases = Vec::new();
    let mut archived = Vec::new();
    let mut assigns = Vec::new();
    let mut updates = Vec::new();
    let mut loads: BTreeMap<String, (String, i64, i64, i64)> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Case(r) if !closes(&r) => cases.push(r),
            Op::Assign(r) if !closes(&r) => assigns.push(r),
            Op::Case(_) | Op::Assign(_) => {}
            Op::Archive(a) => archived.push(crate::archive::row(key, &a)?),
            Op::Update(sql, v) => updates.push((sql, v)),
            Op::Close { case, idx, reason } => {
                if schema_13 {
                    updates.push((CLOSE_CASE_13, vec![Val::I(idx), reason.into(), case.into()]));
                } else {
                    updates.push((DELETE_ASSIGNMENTS, vec![case.clone().into()]));
                    updates.push((DELETE_CASE, vec![case.into()]));
                }
            }
            Op::Load {
                judge,
                court,
                cases,
                weight,
                open,
            } => {
                let l = loads.entry(judge).or_insert((court, 0, 0, 0));
                l.1 += cases;
                l.2 += weight;
                l.3 += open;
            }
        }
    }
    insert_rows(
        conn,
        "INSERT INTO cases (case_id, court, division, case_type, weight, filed_idx, filed_at)",
        7,
        "",
        cases,
    )
    .await
    .map_err(db_err)?;
    insert_rows(
        conn,
        "INSERT INTO assignments (case_id, judge, draw_idx, seat, method)",
        5,
        "",
        assigns,
    )
    .await
    .map_err(db_err)?;
    for (sql, v) in updates {
        exec(conn, sql, v).await.map_err(db_err)?;
    }
    crate::archive::write(conn, archived, schema_13)
        .await
        .map_err(db_err)?;
    let rows = loads
        .into_iter()
        .map(|(j, (c, n, w, o))| vec![j.into(), c.into(), Val::I(n), Val::I(w), Val::I(o)])
        .collect();
    insert_rows(
        conn,
        "INSERT INTO judge_loads (judge, court, cases_assigned, weight_assigned, open_cases)",
        5,
        " ON CONFLICT (judge) DO UPDATE SET \
         cases_assigned = judge_loads.cases_assigned + excluded.cases_assigned, \
         weight_assigned = judge_loads.weight_assigned + excluded.weight_assigned, \
         open_cases = judge_loads.open_cases + excluded.open_cases",
        rows,
    )
    .await
    .map_err(db_err)
}
