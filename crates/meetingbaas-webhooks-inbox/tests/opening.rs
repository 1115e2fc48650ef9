//! Opening a store: the errors at start, before anything is served.

use meetingbaas_webhooks_inbox::Inbox;

#[tokio::test]
async fn an_unwritable_store_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("inbox.db");
    let err = Inbox::open(&format!("sqlite://{}", missing.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");

    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x42; 8192]).unwrap();
    let err = Inbox::open(&format!("sqlite://{}", corrupt.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");

    let err = Inbox::open("redis://127.0.0.1:1").await.unwrap_err();
    assert!(err.to_string().contains("inbox store"), "{err}");
    assert!(Inbox::open("postgres://x").await.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_store_file_is_a_clear_error_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    drop(Inbox::sqlite(&path).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Root writes read-only files anyway: then there is nothing to check.
    if std::fs::OpenOptions::new().append(true).open(&path).is_ok() {
        return;
    }
    let err = Inbox::sqlite(&path).unwrap_err();
    assert!(err.to_string().contains("not writable"), "{err}");
}
