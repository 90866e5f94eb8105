//! Hostile-input sweep, security.md §5 N cases 121–122 (atomic-code-redemption,
//! atomic-refresh-rotation): a fault inside the issuance transaction, injected as a
//! trigger that fails the insert of the new refresh token after the code was spent or the
//! presented refresh token rotated in the same transaction. The request fails cleanly
//! (500 `server_error`, JSON) and nothing is half done: the code is still unspent, the old
//! refresh token still unrotated, and once the fault is gone both work exactly once.

use super::support::{refresh, scalar};
use crate::helpers::browser::{Browser, authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::{TestDb, assert_oauth_error, spawn_app};

/// Makes every insert into `refresh_tokens` fail, in the dialect of the test's database.
async fn break_refresh_inserts(db: &TestDb) {
    if db.is_postgres() {
        db.exec(
            "CREATE FUNCTION injected_fault() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER injected_fault BEFORE INSERT ON refresh_tokens \
             FOR EACH ROW EXECUTE FUNCTION injected_fault();",
        )
        .await;
    } else {
        db.exec(
            "CREATE TRIGGER injected_fault BEFORE INSERT ON refresh_tokens \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .await;
    }
}

async fn repair_refresh_inserts(db: &TestDb) {
    if db.is_postgres() {
        db.exec("DROP TRIGGER injected_fault ON refresh_tokens; DROP FUNCTION injected_fault();")
            .await;
    } else {
        db.exec("DROP TRIGGER injected_fault").await;
    }
}

#[tokio::test]
async fn a_fault_inside_the_issuance_transaction_leaves_the_code_and_the_refresh_token_unspent() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let code = authorize(&app, &mut browser, &url, &setup.username).await["code"].clone();
    let token: serde_json::Value = redeem(&app, &setup.client, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let first = token["refresh_token"].as_str().unwrap().to_owned();
    // Consent is remembered: the second authorization returns a code at once.
    let code = authorize(&app, &mut browser, &url, &setup.username).await["code"].clone();
    let spent = "SELECT COUNT(*) FROM authorization_codes WHERE consumed_at IS NOT NULL";
    let rotated = "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL";
    let tokens = "SELECT COUNT(*) FROM refresh_tokens";

    break_refresh_inserts(&app.db).await;
    // Case 122: rotation and the successor's insert are one transaction.
    assert_oauth_error(
        refresh(&app, &setup.client, &first, &[]).await,
        500,
        "server_error",
    )
    .await;
    assert_eq!(
        scalar(&app.db, rotated).await,
        0,
        "RT1 not retired without RT2"
    );
    assert_eq!(scalar(&app.db, tokens).await, 1);
    // Case 121: spending the code and inserting its refresh token are one transaction.
    assert_oauth_error(
        redeem(&app, &setup.client, &code, &p.verifier).await,
        500,
        "server_error",
    )
    .await;
    assert_eq!(
        scalar(&app.db, spent).await,
        1,
        "only the first code is spent"
    );
    assert_eq!(scalar(&app.db, tokens).await, 1);

    // With the fault gone, each works, once.
    repair_refresh_inserts(&app.db).await;
    let refreshed = refresh(&app, &setup.client, &first, &[]).await;
    assert_eq!(refreshed.status(), 200);
    assert_eq!(scalar(&app.db, rotated).await, 1);
    let redeemed = redeem(&app, &setup.client, &code, &p.verifier).await;
    assert_eq!(redeemed.status(), 200);
    assert_eq!(scalar(&app.db, spent).await, 2);
    assert_eq!(scalar(&app.db, tokens).await, 3);
    assert_oauth_error(
        redeem(&app, &setup.client, &code, &p.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}
