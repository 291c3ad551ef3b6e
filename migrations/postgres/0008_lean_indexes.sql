-- Issue 10: indexes that made filing slow down as the log grew, replaced by ones written rarely.
--
-- An index whose keys arrive in many places at once (one per judge, one per court) has, once the
-- database is large, a different page for each: a batch of filings then dirties, and writes to
-- the journal, a page per judge or court it touches. Measured on a 260,000-entry log, these three
-- indexes tripled the bytes written per filing. What readers need of them:
--   * `assignments_docket (judge, ended_idx)`: no reader (a judge's docket is served from
--     memory; closed cases are found by court, then their seats by case number). Dropped.
--   * `cases_by_court (court, filed_idx)`: readers ask only for a court's *closed* cases (open
--     ones are in memory): replaced by a partial index written once, when the case closes.
--   * `log_by_kind (kind, idx)`: the one reader looks for `conflict_declared` entries: replaced
--     by a partial index of those.
DROP INDEX assignments_docket;
DROP INDEX cases_by_court;
CREATE INDEX cases_closed_by_court ON cases (court, closed_idx) WHERE closed_idx IS NOT NULL;
DROP INDEX log_by_kind;
CREATE INDEX log_conflicts ON log (idx) WHERE kind = 'conflict_declared';
