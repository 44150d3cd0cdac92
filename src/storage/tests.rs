//! Unit tests of `state`: the file format, setting damaged files aside, the writer.

use super::*;
use jiff::civil::date;

fn sample() -> Saved {
    let mut plan = PlanState::default();
    plan.endpoints.insert(
        "getusercumulate".into(),
        EndpointRecord {
            done: Some(date(2026, 11, 30)),
            latest: Some(StoredReport {
                date: date(2026, 11, 30),
                body: serde_json::json!({"list": [{"ref_date": "2026-11-30", "cumulate_user": 7}]}),
            }),
            ..EndpointRecord::default()
        },
    );
    plan.endpoints.insert(
        "getarticlesummary".into(),
        EndpointRecord {
            retired: Some("offline".into()),
            ..EndpointRecord::default()
        },
    );
    Saved {
        plan,
        status: StatusRecord {
            up: true,
            last_poll_seconds: Some(0.5),
            last_poll_end: Some(1_700_000_000),
        },
    }
}

#[test]
fn a_file_round_trips() {
    let saved = sample();
    let bytes = encode("brand", "wx0123456789abcdef", &saved);
    assert_eq!(decode(&bytes, "brand", "wx0123456789abcdef"), Ok(saved));
}

#[test]
fn unusable_files_say_why() {
    let bytes = encode("brand", "wxaaaaaaaaaaaaaaaa", &sample());
    let why = decode(&bytes, "brand", "wxbbbbbbbbbbbbbbbb").unwrap_err();
    assert!(
        why.contains("belongs to app_id wxaaaaaaaaaaaaaaaa"),
        "{why}"
    );
    let why = decode(&bytes, "other", "wxaaaaaaaaaaaaaaaa").unwrap_err();
    assert!(why.contains("belongs to account \"brand\""), "{why}");
    let why = decode(&bytes[..bytes.len() / 2], "brand", "wxaaaaaaaaaaaaaaaa").unwrap_err();
    assert!(why.starts_with("not a state file"), "{why}");
    let why = decode(b"{\"version\": 99}", "brand", "wx").unwrap_err();
    assert_eq!(why, "format version 99, this exporter reads version 1");
    let why = decode(b"{\"account\": \"brand\"}", "brand", "wx").unwrap_err();
    assert_eq!(why, "no format version");
    let why = decode(b"{\"version\": 1, \"account\": 3}", "brand", "wx").unwrap_err();
    assert!(why.starts_with("damaged state file"), "{why}");
}

fn aside_files(dir: &StateDir) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.accounts_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_damaged_file_is_moved_aside_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    assert_eq!(dir.load("brand", "wx1"), None, "no file: a fresh start");
    fs::write(dir.account_path("brand"), b"{\"version\": 1, \"acc").unwrap();
    assert_eq!(dir.load("brand", "wx1"), None);
    assert!(!dir.account_path("brand").exists());
    let aside = aside_files(&dir);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].starts_with("brand.json.corrupt-"), "{aside:?}");
    assert_eq!(
        fs::read(dir.accounts_dir().join(&aside[0])).unwrap(),
        b"{\"version\": 1, \"acc"
    );
}

#[test]
fn files_set_aside_within_one_second_keep_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    for damaged in [&b"first"[..], b"second", b"third"] {
        fs::write(dir.account_path("brand"), damaged).unwrap();
        assert_eq!(dir.load("brand", "wx1"), None);
    }
    let mut kept: Vec<Vec<u8>> = aside_files(&dir)
        .iter()
        .map(|n| fs::read(dir.accounts_dir().join(n)).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, [&b"first"[..], b"second", b"third"]);
}

#[test]
fn an_unreadable_file_is_moved_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    // A directory where the file should be: reading fails whoever runs the test (even root).
    fs::create_dir(dir.account_path("brand")).unwrap();
    assert_eq!(dir.load("brand", "wx1"), None);
    assert_eq!(aside_files(&dir).len(), 1);
}

#[test]
fn a_state_dir_that_cannot_be_written_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, b"").unwrap();
    let err = StateDir::open(&file.join("state")).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("--storage.path"), "{text}");
    assert!(text.contains("file/state"), "{text}");
}

#[test]
fn the_writer_writes_only_what_changed_and_drops_removed_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    let writer = StateWriter::start(dir.clone());
    writer.save("brand", "wx1", sample());
    writer.save("a/b", "wx2", Saved::default());
    writer.sync();
    assert_eq!(dir.load("brand", "wx1"), Some(sample()));
    assert!(dir.accounts_dir().join("a%2Fb.json").exists());

    // The same state again is not written: a file removed meanwhile stays removed.
    fs::remove_file(dir.account_path("brand")).unwrap();
    writer.save("brand", "wx1", sample());
    writer.sync();
    assert!(!dir.account_path("brand").exists());
    let mut changed = sample();
    changed.status.up = false;
    writer.save("brand", "wx1", changed.clone());
    writer.sync();
    assert_eq!(dir.load("brand", "wx1"), Some(changed));

    fs::write(dir.accounts_dir().join("old.json.corrupt-1"), b"x").unwrap();
    writer.retain(vec!["brand".into()]);
    writer.sync();
    assert!(dir.account_path("brand").exists());
    assert!(!dir.accounts_dir().join("a%2Fb.json").exists());
    assert_eq!(
        aside_files(&dir),
        ["old.json.corrupt-1"],
        "set-aside files stay"
    );
    // No temp file is left behind.
    let left: Vec<_> = fs::read_dir(dir.accounts_dir())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn of_states_queued_together_the_newest_is_the_one_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    let writer = StateWriter::start(dir.clone());
    // Queued faster than the writer writes: only the last of each account is encoded and kept.
    let states: Vec<Saved> = (0..50)
        .map(|i| {
            let mut s = sample();
            s.status.last_poll_end = Some(i);
            s
        })
        .collect();
    for s in &states {
        writer.save("brand", "wx1", s.clone());
        writer.save("news", "wx2", Saved::default());
    }
    writer.sync();
    assert_eq!(dir.load("brand", "wx1"), states.last().cloned());
    assert_eq!(dir.load("news", "wx2"), Some(Saved::default()));
}

#[test]
fn account_names_are_file_names() {
    assert_eq!(file_stem("brand-1_x"), "brand-1_x");
    assert_eq!(file_stem("../x y"), "%2E%2E%2Fx%20y");
    assert_eq!(file_stem("品牌"), "%E5%93%81%E7%89%8C");
}

mod properties {
    use super::*;
    use crate::proptest_support::{config, json};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config())]

        /// A state file of any bytes or any JSON shape is read or refused in words, never a panic.
        #[test]
        fn any_file_decodes_or_says_why(bytes in prop::collection::vec(any::<u8>(), 0..512), value in json()) {
            let _ = decode(&bytes, "brand", "wx1");
            let mut with_version = value.clone();
            if let serde_json::Value::Object(m) = &mut with_version {
                m.insert("version".into(), FORMAT_VERSION.into());
                m.insert("account".into(), "brand".into());
                m.insert("app_id".into(), "wx1".into());
            }
            for v in [value, with_version] {
                let text = serde_json::to_vec(&v).unwrap();
                if let Err(why) = decode(&text, "brand", "wx1") {
                    prop_assert!(!why.is_empty());
                }
            }
        }
    }
}
