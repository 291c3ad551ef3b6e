-- Kleroterion store, schema version 3: credentials are log entries.
--
-- Versions 1 and 2 kept bearer tokens in a table `tokens` beside the log, issued and revoked
-- without any entry, so nobody could tell from the log who had acted in whose name. From version 3
-- on every credential is issued and revoked by a log entry (SPEC §7.9: credential_issued,
-- credential_revoked, enrollment_opened) carrying only the secret's fingerprint, and the portal
-- recognizes a request by looking that fingerprint up in the state replayed from the log. The table
-- has no reader left. Tokens issued under version 1 or 2 stop working: their holders must be issued
-- credentials again, on the record (`klero token bootstrap` for the first system administrator).
DROP TABLE tokens;
