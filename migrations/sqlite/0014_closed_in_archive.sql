-- Kleroterion store, schema version 14 (SQLite): a closed case is kept only in the case archive
-- (issue 10, "projection tables that the API does not read from still cost space").
--
-- Until now a closed case was stored three times: its `cases` row (with `closed_idx` and
-- `closing_reason`, found through the index `cases_closed_by_court`), its `assignments` rows, and
-- its `case_archive` row (the whole case as the state held it when it closed, under a MAC). On a
-- national log, where nine cases in ten are closed, the first two copies cost about 40 bytes an
-- entry. The only readers of closed rows were a court's closed-case search, its statistics and
-- the highest case number taken in a court; they now read the archive, which holds all they need
-- (division, case type, filing time, closing reason and the current judges, presiding first).
--
-- From this version:
--   * `case_archive.court` is the case's court (its record holds it too, under the MAC; a reader
--     refuses a row whose column and record disagree), indexed with the ordinal so that a court's
--     closed cases are one range of `case_archive_by_court`. The store fills it for the existing
--     rows after this SQL ran, from each row's record once its MAC is checked; a row that does not
--     pass its check keeps NULL here, and the readers of a court's closed cases read the NULL rows
--     too, so that they refuse it as altered rather than leave the case out (`klero rebuild`
--     rewrites the archive from the log).
--   * `cases` and `assignments` hold only open cases: closing a case deletes its rows, in the
--     transaction that archives it. Here the rows of every closed case that has an archive row are
--     deleted. A case closed by a store older than schema 5 may have none yet: the store archives
--     it at the end of this open's replay and deletes its rows then.
--   * `cases_closed_by_court` indexed closed `cases` rows, of which there are none: dropped.
--     (`cases.closed_idx` and `cases.closing_reason` stay, always NULL: dropping a column rewrites
--     the table and saves next to nothing on a NULL.)
ALTER TABLE case_archive ADD COLUMN court TEXT;
CREATE INDEX case_archive_by_court ON case_archive (court, ordinal);

DELETE FROM assignments WHERE case_id IN (
    SELECT c.case_id FROM cases c JOIN case_archive a ON a.case_id = c.case_id
    WHERE c.closed_idx IS NOT NULL);
DELETE FROM cases WHERE closed_idx IS NOT NULL
    AND case_id IN (SELECT case_id FROM case_archive);
DROP INDEX cases_closed_by_court;
