use super::common::*;
use klero_store::testing::query_strings;
use klero_store::{StoreError, TokenInfo, TokenRole};

both!(tokens_are_stored_as_hashes_and_can_be_revoked, |url| {
    let s = open(&url).await;
    let t = s
        .create_token(TokenRole::Judge, Some(id("north")), Some(id("J-01")))
        .await
        .unwrap();
    assert!(t.starts_with("klero_") && t.len() == 6 + 64, "{t}");
    assert_eq!(
        s.token(&t).await.unwrap(),
        Some(TokenInfo {
            role: TokenRole::Judge,
            court: Some(id("north")),
            judge: Some(id("J-01")),
        })
    );
    let admin = s
        .create_token(TokenRole::SystemAdmin, None, None)
        .await
        .unwrap();
    assert_eq!(
        s.token(&admin).await.unwrap().unwrap().role,
        TokenRole::SystemAdmin
    );
    assert_eq!(s.token("klero_00").await.unwrap(), None);
    assert_eq!(s.token("nonsense").await.unwrap(), None);
    let stored = query_strings(&url, "SELECT hash FROM tokens")
        .await
        .unwrap();
    assert!(
        !stored
            .iter()
            .any(|h| t.contains(h.as_str()) || h.contains(&t[6..]))
    );
    s.revoke_token(&t).await.unwrap();
    assert_eq!(s.token(&t).await.unwrap(), None);
    assert!(matches!(
        s.revoke_token(&t).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        "court_admin".parse::<TokenRole>().unwrap(),
        TokenRole::CourtAdmin
    );
    assert!("root".parse::<TokenRole>().is_err());
    s.close().await;
});
