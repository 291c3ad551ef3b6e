use super::common::*;
use klero_core::*;
use klero_store::Store;
use klero_store::testing::{archive_record, blob_literal, execute, write_cbor_archive_record};

/// The filing's case and the draw's judges among `entries`.
fn filed(entries: &[LogEntry]) -> (CaseId, Vec<JudgeId>, Method) {
    let case = entries
        .iter()
        .find_map(|e| match &e.event {
            Event::CaseFiled { case, .. } => Some(case.clone()),
            _ => None,
        })
        .expect("a filing");
    let d = entries
        .iter()
        .find_map(|e| match &e.event {
            Event::Draw(d) => Some(d.clone()),
            _ => None,
        })
        .expect("a draw");
    (case, d.chosen, d.method)
}

async fn close(s: &Store, case: &CaseId) {
    let case = case.clone();
    s.submit(move |_: &State| {
        Ok((
            clerk(),
            Event::CaseClosed {
                case,
                reason: ClosingReason::Judgment,
            },
        ))
    })
    .await
    .expect("closing accepted");
}

/// Files a case (so the batch before it has committed and its closed cases left memory) and
/// checks that `case` is no longer in memory.
async fn evicted(s: &Store, case: &CaseId, party: &str) {
    file(s, party).await;
    assert!(
        s.read(|st| st.case(case).is_none()),
        "case {case} is still in memory"
    );
}

/// Sets column `column` of `case`'s archive row to `bytes`, as a database administrator could.
async fn set(url: &str, case: &CaseId, column: &str, bytes: &[u8]) {
    execute(
        url,
        &format!(
            "UPDATE case_archive SET {column} = {} WHERE case_id = '{case}'",
            blob_literal(url, bytes)
        ),
    )
    .await
    .expect("the edit runs");
}

both!(
    a_closed_case_is_archived_compactly_and_an_old_cbor_record_still_reads,
    |url| {
        let s = seeded(&url).await;
        let (case, judges, _) = filed(&file(&s, "A").await);
        close(&s, &case).await;
        evicted(&s, &case, "B").await;
        // Served from the archive: the compact record.
        let served = s.case(&case).await.unwrap().expect("archived");
        assert_eq!(served.id, case);
        let record = archive_record(&url, case.as_str()).await.unwrap();
        assert_eq!(record[0], klero_core::state::RECORD_VERSION);
        assert_eq!(record, served.encode_record());

        // A database written before compact records holds the case as CBOR, under a MAC that fits.
        let pepper = s.pepper();
        s.close().await;
        let (was, cbor) = write_cbor_archive_record(&url, &pepper, case.as_str())
            .await
            .unwrap();
        assert_eq!(was, record);
        assert!(
            cbor.len() > 2 * record.len(),
            "{} bytes of CBOR against {} compact",
            cbor.len(),
            record.len()
        );
        let s = open(&url).await;
        assert!(s.read(|st| st.case(&case).is_none()));
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));
        // A copy of the matter binds to the judge the CBOR record holds (SPEC §7.7).
        let (copy, again, method) = filed(&file(&s, "A").await);
        assert_eq!(again, judges);
        assert_eq!(method, Method::Duplicate { case: case.clone() });
        close(&s, &copy).await;
        evicted(&s, &case, "C").await;
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));

        // An edited CBOR record is refused as before.
        let mut edited = cbor.clone();
        let at = edited.len() - 3;
        edited[at] ^= 1;
        set(&url, &case, "record", &edited).await;
        let err = s
            .case(&case)
            .await
            .expect_err("an edited record")
            .to_string();
        assert!(err.contains("altered"), "{err}");

        // Rebuilding the projections writes the compact record again.
        s.rebuild_projections().await.expect("rebuild");
        assert_eq!(archive_record(&url, case.as_str()).await.unwrap(), record);
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));

        // An edited compact record, or MAC, is refused.
        let mut edited = record.clone();
        edited[1] ^= 1;
        set(&url, &case, "record", &edited).await;
        assert!(s.case(&case).await.is_err());
        set(&url, &case, "record", &record).await;
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));
        set(&url, &case, "mac", &[0; 32]).await;
        assert!(s.case(&case).await.is_err());
        // And a filing that needs it (naming it as a related case) writes nothing.
        let size = s.checkpoint().0;
        let related = filing(s.pepper(), "A".into());
        let earlier = case.clone();
        let r = s
            .submit(move |st: &State| {
                let (actor, mut ev) = related(st)?;
                if let Event::CaseFiled { related, .. } = &mut ev {
                    *related = Some(RelatedLink {
                        case: earlier,
                        reason: RelationReason::SameFacts,
                    });
                }
                Ok((actor, ev))
            })
            .await;
        let err = r
            .expect_err("the filing needs the altered record")
            .to_string();
        assert!(err.contains("altered"), "{err}");
        assert_eq!(s.checkpoint().0, size);
        s.close().await;
    }
);

/// The MAC of `case`'s archive row.
async fn stored_mac(url: &str, case: &CaseId) -> Vec<u8> {
    let sql = if url.starts_with("sqlite") {
        format!("SELECT hex(mac) FROM case_archive WHERE case_id = '{case}'")
    } else {
        format!("SELECT upper(encode(mac, 'hex')) FROM case_archive WHERE case_id = '{case}'")
    };
    let rows = klero_store::testing::query_strings(url, &sql)
        .await
        .unwrap();
    hex::decode(&rows[0]).unwrap()
}

both!(
    an_archive_mac_is_16_bytes_and_a_longer_one_is_truncated_by_the_migration,
    |url| {
        let s = seeded(&url).await;
        let (case, _, _) = filed(&file(&s, "A").await);
        close(&s, &case).await;
        evicted(&s, &case, "B").await;
        let served = s.case(&case).await.unwrap().expect("archived");
        let mac = stored_mac(&url, &case).await;
        assert_eq!(mac.len(), 16);
        // Exactly those 16 bytes: 16 more, or one fewer, do not fit.
        let longer = [&mac[..], &[7; 16]].concat();
        set(&url, &case, "mac", &longer).await;
        assert!(s.case(&case).await.is_err());
        set(&url, &case, "mac", &mac[..15]).await;
        assert!(s.case(&case).await.is_err());
        set(&url, &case, "mac", &mac).await;
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));
        s.close().await;
        // Before schema 12 a row held the whole HMAC-SHA-256, of which these 16 bytes are the
        // first half: the migration keeps them, and the row reads again.
        set(&url, &case, "mac", &longer).await;
        execute(&url, "DELETE FROM klero_schema WHERE version = 12")
            .await
            .unwrap();
        let s = open(&url).await;
        assert!(s.read(|st| st.case(&case).is_none()));
        assert_eq!(s.case(&case).await.unwrap().as_ref(), Some(&served));
        assert_eq!(stored_mac(&url, &case).await, mac);
        s.close().await;
    }
);
