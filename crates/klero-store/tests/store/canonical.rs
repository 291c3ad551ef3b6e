use super::common::*;
use klero_core::hash::sha256;
use klero_core::*;
use klero_store::testing::{blob_literal, execute, log_lines, query_strings};
use klero_store::{Store, StoreError};

/// A seeded log with filings and a conflict declared by judge J-02; its entries.
async fn honest_log(url: &str) -> Vec<LogEntry> {
    let s = seeded(url).await;
    for p in ["A", "B"] {
        file(&s, p).await;
    }
    declare(&s, "J-02", "counsel X").await;
    file(&s, "C").await;
    let size = s.checkpoint().0;
    let entries = s.entries(0, size).await.unwrap();
    assert_eq!(entries.len() as u64, size);
    s.close().await;
    entries
}

async fn declare(s: &Store, judge: &str, subject: &str) -> Vec<LogEntry> {
    let (judge, subject): (JudgeId, _) = (id(judge), sha256(&[subject.as_bytes()]));
    s.submit(move |_| {
        Ok((
            Actor::new(Role::Judge, judge.as_str()),
            Event::ConflictDeclared { judge, subject },
        ))
    })
    .await
    .expect("the conflict is declared")
}

/// Turns the database back into schema 8: the version-4 `log` table (the JSON export line,
/// deflated, with copies of the time and type) holding `entries`, after `edit` of each JSON line
/// (or `None`: a stored value that does not inflate), and no record of migrations 9 and 11.
async fn back_to_schema_8(
    url: &str,
    entries: &[LogEntry],
    edit: impl Fn(u64, String) -> Option<String>,
) {
    let sqlite = url.starts_with("sqlite");
    let mut sql = if sqlite {
        "DROP TABLE log; DROP TABLE chain; \
         CREATE TABLE log (idx INTEGER PRIMARY KEY CHECK (idx >= 0), at INTEGER NOT NULL, \
           kind TEXT NOT NULL, hash BLOB NOT NULL CHECK (length(hash) = 32), entry BLOB NOT NULL); \
         CREATE INDEX log_conflicts ON log (idx) WHERE kind = 'conflict_declared'; \
         CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN \
           SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed'); END; \
         CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN \
           SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;"
            .to_string()
    } else {
        "DROP TABLE log; DROP TABLE chain; \
         CREATE TABLE log (idx BIGINT PRIMARY KEY CHECK (idx >= 0), at BIGINT NOT NULL, \
           kind TEXT NOT NULL, hash BYTEA NOT NULL CHECK (length(hash) = 32), entry BYTEA NOT NULL); \
         CREATE INDEX log_conflicts ON log (idx) WHERE kind = 'conflict_declared'; \
         CREATE TRIGGER log_no_update_or_delete BEFORE UPDATE OR DELETE ON log \
           FOR EACH ROW EXECUTE FUNCTION klero_log_append_only(); \
         CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON log \
           FOR EACH STATEMENT EXECUTE FUNCTION klero_log_append_only();"
            .to_string()
    };
    sql.push_str(" DELETE FROM klero_schema WHERE version IN (9, 11);");
    for e in entries {
        let stored = match edit(e.index, e.to_json_line()) {
            Some(line) => klero_store::codec::compress_line(&line),
            None => b"not deflate".to_vec(),
        };
        sql.push_str(&format!(
            " INSERT INTO log (idx, at, kind, hash, entry) VALUES ({}, {}, '{}', {}, {});",
            e.index,
            e.at,
            e.event.type_name(),
            blob_literal(url, &e.hash.0),
            blob_literal(url, &stored)
        ));
    }
    execute(url, &sql).await.unwrap();
}

both!(a_schema_8_log_is_converted_to_canonical_bytes, |url| {
    let entries = honest_log(&url).await;
    back_to_schema_8(&url, &entries, |_, line| Some(line)).await;
    // Opening migrates: every row now holds the entry's canonical bytes and its event tag.
    let s = open(&url).await;
    assert_eq!(s.checkpoint().0, entries.len() as u64);
    assert_eq!(s.entries(0, entries.len() as u64).await.unwrap(), entries);
    assert_eq!(s.full_check().await.unwrap(), entries.len() as u64);
    let bytes = query_strings(
        &url,
        if url.starts_with("sqlite") {
            "SELECT hex(entry) FROM log ORDER BY idx"
        } else {
            "SELECT upper(encode(entry, 'hex')) FROM log ORDER BY idx"
        },
    )
    .await
    .unwrap();
    // (Schema 11 leaves out the version byte and the index, which the row's `idx` holds.)
    let canonical: Vec<String> = entries
        .iter()
        .map(|e| hex::encode_upper(&e.bytes()[9..]))
        .collect();
    assert_eq!(bytes, canonical);
    let kinds = query_strings(&url, "SELECT CAST(kind AS TEXT) FROM log ORDER BY idx")
        .await
        .unwrap();
    let tags: Vec<String> = entries.iter().map(|e| e.event.tag().to_string()).collect();
    assert_eq!(kinds, tags);
    let lines: Vec<String> = entries.iter().map(LogEntry::to_json_line).collect();
    assert_eq!(log_lines(&url).await.unwrap(), lines);
    // The conflict is found through the new `kind` column, and the log goes on.
    let declared = s.conflict_declarations(&id("J-02")).await.unwrap();
    assert_eq!(declared.len(), 1);
    assert!(matches!(declared[0].event, Event::ConflictDeclared { .. }));
    let more = declare(&s, "J-02", "counsel Y").await;
    assert_eq!(s.conflict_declarations(&id("J-02")).await.unwrap().len(), 2);
    assert_eq!(s.entry(more[0].index).await.unwrap(), more[0]);
    file(&s, "D").await;
    check_log(&s).await;
    s.close().await;
    // The old table is gone, and the new one is append-only.
    let tables = query_strings(
        &url,
        if url.starts_with("sqlite") {
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        } else {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        },
    )
    .await
    .unwrap();
    assert!(
        !tables.iter().any(|t| t == "log_v8" || t == "log_v10"),
        "{tables:?}"
    );
    assert!(
        execute(&url, "UPDATE log SET kind = 0 WHERE idx = 1")
            .await
            .is_err()
    );
    assert!(
        execute(&url, "DELETE FROM log WHERE idx = 1")
            .await
            .is_err()
    );
    open(&url).await.close().await;
});

/// What a start of a migrated log with the given schema-8 rows says.
async fn migrated(url: &str, edit: impl Fn(u64, String) -> Option<String>) -> StoreError {
    let entries = honest_log(url).await;
    back_to_schema_8(url, &entries, edit).await;
    match Store::open_with(url, klero_store::testing::options_for(url)).await {
        Err(e) => e,
        Ok(_) => panic!("a tampered log opened"),
    }
}

both!(an_edited_schema_8_row_is_named_after_the_migration, |url| {
    // The court's name changed inside the JSON; the row's hash is the original one.
    let e = migrated(&url, |i, line| {
        Some(if i == 2 {
            line.replace("North District", "South District")
        } else {
            line
        })
    })
    .await;
    assert!(matches!(&e, StoreError::Corrupt(f) if f.index == 2), "{e}");
});

both!(
    an_unreadable_schema_8_row_is_named_after_the_migration,
    |url| {
        let e = migrated(&url, |i, line| (i != 3).then_some(line)).await;
        match e {
            StoreError::Corrupt(f) => {
                assert_eq!(f.index, 3, "{f}");
                assert!(f.message.contains("cannot be read"), "{f}");
            }
            other => panic!("expected Corrupt at 3, got {other:?}"),
        }
    }
);
