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
                body: Body::from_json(
                    br#"{"list": [{"ref_date": "2026-11-30", "cumulate_user": 7}]}"#.to_vec(),
                )
                .unwrap(),
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
            quota: BTreeMap::from([(
                "getusercumulate".into(),
                QuotaRecord {
                    daily_limit: 1000,
                    used: 3,
                    remain: 997,
                },
            )]),
            quota_read: Some(date(2026, 12, 1)),
        },
    }
}

#[test]
fn a_file_round_trips() {
    let saved = sample();
    let bytes = encode("brand", "wx0123456789abcdef", &saved);
    assert_eq!(&bytes[..2], [0x1f, 0x8b], "gzip");
    assert_eq!(
        decode(&bytes, "brand", "wx0123456789abcdef"),
        Ok(saved.clone())
    );
    // What is inside: compact JSON of format 2, quota readings included, readable with zcat.
    let json = json_of(&bytes).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["version"], 2);
    assert_eq!(
        value["status"]["quota"]["getusercumulate"],
        serde_json::json!({"daily_limit": 1000, "used": 3, "remain": 997})
    );
    assert_eq!(value["status"]["quota_read"], "2026-12-01");
    assert!(!json.contains(&b'\n'), "not pretty");
    assert!(
        bytes.len() < json.len(),
        "{} >= {}",
        bytes.len(),
        json.len()
    );
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
    let why = decode(b"\x1f\x8bnot gzip", "brand", "wx").unwrap_err();
    assert!(
        why.starts_with("not a state file: damaged gzip data"),
        "{why}"
    );
    let why = decode(b"{\"version\": 99}", "brand", "wx").unwrap_err();
    assert_eq!(
        why,
        "format version 99, this exporter reads version 2 (and migrates version 1)"
    );
    // The same inside gzip, and gzip that is cut short.
    let why = decode(&compress(b"{\"version\": 99}"), "brand", "wx").unwrap_err();
    assert!(why.starts_with("format version 99"), "{why}");
    let why = decode(&bytes[..bytes.len() - 9], "brand", "wxaaaaaaaaaaaaaaaa").unwrap_err();
    assert!(
        why.starts_with("not a state file: damaged gzip data"),
        "{why}"
    );
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
    assert!(aside[0].starts_with("brand.json.gz.corrupt-"), "{aside:?}");
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
    assert!(dir.accounts_dir().join("a%2Fb.json.gz").exists());

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
    assert!(!dir.accounts_dir().join("a%2Fb.json.gz").exists());
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

/// A format 1 file exactly as the exporter before format 2 wrote it (pretty JSON, a poll round of
/// a simulator account, cut down to three endpoints and two window dates).
const FORMAT_1: &[u8] = include_bytes!("../../tests/fixtures/state-v1/demo-1.json");

#[test]
fn a_format_1_file_is_read_once_rewritten_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    let old = dir.previous_path("demo-1");
    assert!(old.ends_with("accounts/demo-1.json"), "{old:?}");
    fs::write(&old, FORMAT_1).unwrap();

    let saved = dir.load("demo-1", "wxbench00000000000").expect("migrated");
    let probe = &saved.plan.endpoints["getusercumulate"];
    assert_eq!(probe.done, Some(date(2026, 12, 6)));
    let latest = probe.latest.as_ref().unwrap();
    assert_eq!(latest.date, date(2026, 12, 6));
    assert_eq!(latest.body.value()["list"][0]["cumulate_user"], 1_281_838);
    let window = &saved.plan.windows["getarticletotaldetail"];
    assert_eq!(
        window.keys().copied().collect::<Vec<_>>(),
        [date(2026, 11, 7), date(2026, 12, 3)]
    );
    assert_eq!(
        window[&date(2026, 12, 3)].body.value()["list"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(saved.status.up);
    assert_eq!(saved.status.last_poll_end, Some(1_796_651_519));
    assert_eq!(saved.status.quota, BTreeMap::new(), "format 1 had none");

    // Rewritten in format 2 (gzip), the old file gone, nothing set aside.
    assert!(!old.exists());
    let new = fs::read(dir.account_path("demo-1")).unwrap();
    assert_eq!(&new[..2], [0x1f, 0x8b]);
    assert_eq!(
        decode(&new, "demo-1", "wxbench00000000000").as_ref(),
        Ok(&saved)
    );
    assert!(new.len() * 5 < FORMAT_1.len(), "{} bytes", new.len());
    assert_eq!(aside_files(&dir), Vec::<String>::new());
    // Read once: the next start reads the new file.
    assert_eq!(dir.load("demo-1", "wxbench00000000000"), Some(saved));
    assert!(!old.exists());
}

#[test]
fn a_format_1_file_beside_a_format_2_one_is_dropped() {
    // A migration stopped between writing the new file and deleting the old one.
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    fs::write(
        dir.previous_path("brand"),
        encode_previous("brand", "wx1", &Saved::default()),
    )
    .unwrap();
    fs::write(dir.account_path("brand"), encode("brand", "wx1", &sample())).unwrap();
    assert_eq!(dir.load("brand", "wx1"), Some(sample()));
    assert!(!dir.previous_path("brand").exists());
}

#[test]
fn foreign_and_damaged_files_of_either_format_are_set_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    // Version 99 where format 1 lived: set aside, not migrated.
    let foreign = br#"{"version": 99, "account": "a"}"#;
    fs::write(dir.previous_path("a"), foreign).unwrap();
    assert_eq!(dir.load("a", "wx1"), None);
    assert!(!dir.account_path("a").exists(), "nothing migrated");
    // Version 99 in the new place, and a damaged format 1 file.
    fs::write(dir.account_path("b"), compress(foreign)).unwrap();
    assert_eq!(dir.load("b", "wx1"), None);
    fs::write(dir.previous_path("c"), &FORMAT_1[..100]).unwrap();
    assert_eq!(dir.load("c", "wxbench00000000000"), None);
    let aside = aside_files(&dir);
    assert_eq!(aside.len(), 3, "{aside:?}");
    for (file, prefix) in
        aside
            .iter()
            .zip(["a.json.corrupt-", "b.json.gz.corrupt-", "c.json.corrupt-"])
    {
        assert!(file.starts_with(prefix), "{aside:?}");
    }
    // A format 1 file of another AppID is set aside too, as before.
    fs::write(dir.previous_path("demo-1"), FORMAT_1).unwrap();
    assert_eq!(dir.load("demo-1", "wxother"), None);
    assert_eq!(aside_files(&dir).len(), 4);
}

#[test]
fn retain_drops_removed_accounts_in_either_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::open(tmp.path()).unwrap();
    for name in ["kept", "gone"] {
        fs::write(dir.account_path(name), b"x").unwrap();
        fs::write(dir.previous_path(name), b"x").unwrap();
    }
    dir.retain(&["kept".to_string()]);
    assert!(dir.account_path("kept").exists());
    assert!(
        dir.previous_path("kept").exists(),
        "migrated by load, not dropped"
    );
    assert!(!dir.account_path("gone").exists());
    assert!(!dir.previous_path("gone").exists());
}

#[test]
fn the_writer_keeps_a_digest_not_the_bytes() {
    let json = encode_json("brand", "wx1", &sample());
    assert_eq!(writer::digest(&json), writer::digest(&json.clone()));
    let mut changed = sample();
    changed.status.quota.clear();
    assert_ne!(
        writer::digest(&json),
        writer::digest(&encode_json("brand", "wx1", &changed))
    );
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

#[test]
fn numbers_read_back_exactly() {
    // A restart must serve the very value it served before: serde_json's float_roundtrip
    // feature makes parsing exact (without it, about 7% of these came back one ULP off).
    let saved = |seconds: f64| Saved {
        status: StatusRecord {
            last_poll_seconds: Some(seconds),
            ..StatusRecord::default()
        },
        ..Saved::default()
    };
    for i in 0..20_000u32 {
        let x = 1.0 + f64::from(i) * 1.234_567_891e-6 + 1e-13 * f64::from(i % 7);
        let bytes = encode("brand", "wx1", &saved(x));
        assert_eq!(decode(&bytes, "brand", "wx1"), Ok(saved(x)), "{x}");
    }
}
