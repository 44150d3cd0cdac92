use super::*;

#[test]
fn the_hash_of_fixed_app_ids_never_changes() {
    // FNV-1a 64 reference values (the empty string is the offset basis).
    assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    // Fixed app_ids to fixed shards: if this fails, an upgrade would move accounts between
    // running replicas. Never update these numbers; keep the old hash instead.
    let ids = [
        "wx0000000000000000",
        "wx0123456789abcdef",
        "wxd4c7a1f2b3e5c6d7",
        "wx1111111111111111",
        "wxffffffffffffffff",
    ];
    let got: Vec<(u32, u32, u32)> = ids
        .iter()
        .map(|id| (shard_of(id, 2), shard_of(id, 3), shard_of(id, 10)))
        .collect();
    assert_eq!(got, PINNED);
}

const PINNED: [(u32, u32, u32); 5] = [(1, 2, 4), (0, 0, 8), (1, 2, 4), (1, 1, 1), (0, 2, 7)];

#[test]
fn jump_hash_matches_the_reference_implementation() {
    // Test vectors of the reference implementation's Go port (github.com/dgryski/go-jump).
    for (key, buckets, want) in [
        (1u64, 1u32, 0u32),
        (42, 57, 43),
        (0xDEAD_10CC, 1, 0),
        (0xDEAD_10CC, 666, 361),
        (256, 1024, 520),
    ] {
        assert_eq!(jump_hash(key, buckets), want, "jump({key}, {buckets})");
    }
}

#[test]
fn one_shard_keeps_everything() {
    let all = Shard { index: 0, count: 1 };
    assert!((0..100).all(|i| all.keeps(&format!("wx{i:016x}"))));
}

#[test]
fn growing_by_one_moves_about_one_in_n_plus_one_and_only_to_the_new_shard() {
    let ids: Vec<String> = (0..10_000).map(|i| format!("wx{i:016x}")).collect();
    for n in [1u32, 2, 3, 4, 7] {
        let mut moved = 0;
        for id in &ids {
            let (before, after) = (shard_of(id, n), shard_of(id, n + 1));
            if before != after {
                assert_eq!(after, n, "{id} moved from {before} to an old shard {after}");
                moved += 1;
            }
        }
        let expected = ids.len() as f64 / f64::from(n + 1);
        let ratio = f64::from(moved) / expected;
        assert!(
            (0.9..1.1).contains(&ratio),
            "{n} -> {}: {moved} moved, expected about {expected}",
            n + 1
        );
    }
}

#[test]
fn shards_are_balanced() {
    let mut sizes = [0u32; 5];
    for i in 0..10_000 {
        sizes[shard_of(&format!("wx{i:016x}"), 5) as usize] += 1;
    }
    assert!(
        sizes.iter().all(|&s| (1800..2200).contains(&s)),
        "{sizes:?}"
    );
}

#[test]
fn bad_values_say_what_is_wrong() {
    assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
    assert_eq!(Shard { index: 1, count: 3 }.to_string(), "1/3");
    for (bad, says) in [
        ("3", "has no '/'"),
        ("x/3", "I \"x\" is not a whole number"),
        ("1/", "N \"\" is not a whole number"),
        ("-1/3", "not a whole number"),
        ("3/3", "I = 3 is not below N = 3"),
        ("0/0", "N = 0: use 1 to 65536 shards"),
        ("0/70000", "N = 70000"),
    ] {
        let err = bad.parse::<Shard>().unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
}
