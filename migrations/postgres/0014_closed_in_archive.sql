-- Kleroterion store, schema version 14 (PostgreSQL): a closed case is kept only in the case
-- archive; see migrations/sqlite/0014_closed_in_archive.sql.
ALTER TABLE case_archive ADD COLUMN court TEXT;
CREATE INDEX case_archive_by_court ON case_archive (court, ordinal);

DELETE FROM assignments WHERE case_id IN (
    SELECT c.case_id FROM cases c JOIN case_archive a ON a.case_id = c.case_id
    WHERE c.closed_idx IS NOT NULL);
DELETE FROM cases WHERE closed_idx IS NOT NULL
    AND case_id IN (SELECT case_id FROM case_archive);
DROP INDEX cases_closed_by_court;
