//! Start-up: concurrent bootstrap, key-at-rest protection, and refusal without damage.

use crate::helpers::{TestDb, spawn_app_on, try_spawn_app_on};

#[tokio::test]
async fn two_processes_starting_at_once_share_one_schema_and_one_first_key() {
    let db = TestDb::new().await;
    let (a, b) = tokio::join!(spawn_app_on(db.clone(), &[]), spawn_app_on(db.clone(), &[]));
    let jwks_a = a.get_json("/jwks.json").await;
    let jwks_b = b.get_json("/jwks.json").await;
    assert_eq!(jwks_a["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks_a, jwks_b);
}

#[tokio::test]
async fn a_restart_reuses_the_stored_key() {
    let db = TestDb::new().await;
    let first = spawn_app_on(db.clone(), &[]).await;
    let before = first.get_json("/jwks.json").await;
    first.stop().await;
    let second = spawn_app_on(db.clone(), &[]).await;
    assert_eq!(second.get_json("/jwks.json").await, before);
}

#[tokio::test]
async fn a_wrong_secret_key_refuses_to_start_and_changes_nothing() {
    let db = TestDb::new().await;
    let first = spawn_app_on(
        db.clone(),
        &[(
            "WARDEN_SECRET_KEY",
            "the-first-secret-key-of-enough-length-000",
        )],
    )
    .await;
    let before = first.state.store.signing_keys().await.unwrap();
    first.stop().await;

    let error = try_spawn_app_on(
        db.clone(),
        &[(
            "WARDEN_SECRET_KEY",
            "a-different-secret-key-of-enough-length-1",
        )],
    )
    .await
    .err()
    .expect("must refuse to start");
    let message = format!("{error:#}");
    assert!(message.contains("cannot be decrypted"), "{message}");
    assert!(message.contains("WARDEN_SECRET_KEY"), "{message}");

    let again = spawn_app_on(
        db.clone(),
        &[(
            "WARDEN_SECRET_KEY",
            "the-first-secret-key-of-enough-length-000",
        )],
    )
    .await;
    let after = again.state.store.signing_keys().await.unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(before[0].private_jwe, after[0].private_jwe);
}

#[tokio::test]
async fn a_corrupt_stored_key_refuses_to_start() {
    let db = TestDb::new().await;
    let first = spawn_app_on(db.clone(), &[]).await;
    first.stop().await;
    db.exec("UPDATE signing_keys SET private_jwe = 'eyJhbGciOiJkaXIifQ..AAAA.BBBB.CCCC'")
        .await;
    let error = try_spawn_app_on(db.clone(), &[])
        .await
        .err()
        .expect("must refuse to start");
    assert!(
        format!("{error:#}").contains("refusing to start"),
        "{error:#}"
    );
}

#[tokio::test]
async fn embedded_mode_generates_an_owner_only_key_file_and_never_replaces_it() {
    let db = TestDb::new().await;
    if db.is_postgres() {
        return; // the key file exists only in embedded mode
    }
    let first = spawn_app_on(db.clone(), &[]).await;
    first.stop().await;
    let key_file = db.data_dir.path().join("secret.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    std::fs::remove_file(&key_file).unwrap();
    let error = try_spawn_app_on(db.clone(), &[])
        .await
        .err()
        .expect("must refuse to start");
    assert!(format!("{error:#}").contains("missing"), "{error:#}");
    assert!(
        !key_file.exists(),
        "a new key file must not be invented for existing keys"
    );
}
