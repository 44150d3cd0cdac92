use super::*;

#[test]
fn the_request_bodies_carry_what_wechat_documents() {
    let body = component_token_body(
        "wxcomponent0001",
        &SecretString::from("the-secret"),
        &SecretString::from("ticket@@@abc"),
    );
    assert_eq!(
        body,
        serde_json::json!({
            "component_appid": "wxcomponent0001",
            "component_appsecret": "the-secret",
            "component_verify_ticket": "ticket@@@abc",
        })
    );
    let body = authorizer_token_body(
        "wxcomponent0001",
        "wxauthorizer01",
        &SecretString::from("refreshtoken@@@x"),
    );
    assert_eq!(
        body,
        serde_json::json!({
            "component_appid": "wxcomponent0001",
            "authorizer_appid": "wxauthorizer01",
            "authorizer_refresh_token": "refreshtoken@@@x",
        })
    );
}

#[test]
fn tickets_are_bare_or_json_and_errors_never_quote_them() {
    assert_eq!(
        parse_ticket("  ticket@@@abc\n").unwrap().expose_secret(),
        "ticket@@@abc"
    );
    assert_eq!(
        parse_ticket(r#"{"component_verify_ticket": "ticket@@@j", "create_time": 1}"#)
            .unwrap()
            .expose_secret(),
        "ticket@@@j"
    );
    assert_eq!(
        parse_ticket(r#"{"ticket": "t2"}"#).unwrap().expose_secret(),
        "t2"
    );
    for bad in [
        "",
        "  \n",
        "s3cr3t s3cr3t",
        r#"{"other": "s3cr3t"}"#,
        "{s3cr3t",
    ] {
        let e = parse_ticket(bad).unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
    }
}

#[test]
fn a_persisted_refresh_token_wins_over_the_configured_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("tokens")
        .join("wxauthorizer01.refresh_token");
    // Nothing persisted yet: the configured token.
    let r = RefreshToken::load(SecretString::from("configured"), Some(path.clone()));
    assert_eq!(r.current().expose_secret(), "configured");
    r.replace("rotated-1".into());
    assert_eq!(r.current().expose_secret(), "rotated-1");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "rotated-1");
    // A restart with the same config: the persisted one.
    let again = RefreshToken::load(SecretString::from("configured"), Some(path.clone()));
    assert_eq!(again.current().expose_secret(), "rotated-1");
    // Falling back goes to the configured one once.
    assert!(again.fall_back());
    assert_eq!(again.current().expose_secret(), "configured");
    assert!(!again.fall_back());
    // No persist file: memory only.
    let memory = RefreshToken::load(SecretString::from("configured"), None);
    memory.replace("rotated-2".into());
    assert_eq!(memory.current().expose_secret(), "rotated-2");
}

#[cfg(unix)]
#[test]
fn refresh_token_files_are_replaced_atomically_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("account.refresh_token");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let inode_before = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    write_secret_file(&path, b"new-token").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new-token");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // A new file renamed over the old one, not the old one truncated and rewritten: a reader (or
    // a crash) sees the old content or the new one, never half of it.
    assert_ne!(std::os::unix::fs::MetadataExt::ino(&meta), inode_before);
    assert_eq!(
        names(dir.path()),
        vec!["account.refresh_token".to_string()],
        "no temp file left"
    );
    // A directory that cannot be written: an error, the old file untouched.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let inside = ro.join("t.refresh_token");
    std::fs::write(&inside, "kept").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let result = write_secret_file(&inside, b"lost");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
    match result {
        Err(_) => assert_eq!(std::fs::read_to_string(&inside).unwrap(), "kept"),
        // Root (as CI runs) writes through permissions; the failure below holds for root too.
        Ok(()) => eprintln!(
            "SKIPPED the read-only-directory half of this test: running as root, whom permissions \
             do not stop; the rename-onto-a-directory half below still checks the failure path"
        ),
    }
    // A target that cannot be replaced whoever runs: rename(2) onto a non-empty directory fails
    // for root as well. An error, the target untouched, no temp file left beside it.
    let blocked = dir.path().join("blocked");
    let target = blocked.join("d.refresh_token");
    std::fs::create_dir_all(target.join("inner")).unwrap();
    assert!(write_secret_file(&target, b"lost").is_err());
    assert!(target.join("inner").is_dir(), "the target is untouched");
    assert_eq!(
        names(&blocked),
        vec!["d.refresh_token".to_string()],
        "no temp file left"
    );
}

/// The names of the entries of `dir`.
#[cfg(unix)]
fn names(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}
