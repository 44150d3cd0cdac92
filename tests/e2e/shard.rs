//! `--shard=I/N` over one config: three replicas poll and expose every account exactly once, and
//! a fourth replica takes over about a quarter of the accounts, all from the other three.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::{date, time};
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::ManualClock;
use wechat_mp_exporter::shard::Shard;
use wechat_mp_exporter::wechat::date::china_at;

use crate::support::{Stack, many_accounts, parse_text, stack, users_only};

const ACCOUNTS: usize = 300;

/// Runs `count` replicas over the stack's config once each; returns, per account name, the
/// replicas that expose it, and checks every account was polled by exactly one replica.
async fn run_replicas(
    stack: &Stack,
    clock: &Arc<ManualClock>,
    count: u32,
) -> BTreeMap<String, Vec<u32>> {
    stack.simulator.reset_calls();
    let mut exposed: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut polled = 0;
    for index in 0..count {
        let shard = Shard { index, count };
        let mut replica = Exporter::build(&stack.config, clock.clone(), None, Some(shard)).unwrap();
        polled += replica.accounts();
        replica.scheduler.tick().await;
        let text = String::from_utf8(replica.store.exposition().text.to_vec()).unwrap();
        for s in parse_text(&text)
            .iter()
            .filter(|s| s.name == "wechat_mp_up")
        {
            assert_eq!(s.value, 1.0, "{s:?} in shard {shard}");
            exposed
                .entry(s.label("account").unwrap().to_string())
                .or_default()
                .push(index);
        }
    }
    assert_eq!(
        polled, ACCOUNTS,
        "the shards of {count} add up to the config"
    );
    for account in &stack.config.accounts {
        // One probe of yesterday and one getusersummary: by one replica only.
        for api in ["getusercumulate", "getusersummary"] {
            assert_eq!(
                stack.simulator.calls_to(&account.app_id, api),
                1,
                "{} {api} with {count} replicas",
                account.name
            );
        }
    }
    exposed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_split_the_accounts_and_a_fourth_moves_about_a_quarter() {
    // Published: 10:00 UTC+8, the simulator publishes yesterday at 09:00.
    let clock = Arc::new(ManualClock::new(china_at(
        date(2026, 11, 3),
        time(10, 0, 0, 0),
    )));
    let stack = stack(
        many_accounts(ACCOUNTS, time(9, 0, 0, 0)),
        clock.clone(),
        |c| {
            users_only(c);
            c.schedule.publish_after = time(9, 0, 0, 0);
            c.wechat.concurrency = wechat_mp_exporter::config::Concurrency::Fixed(16);
        },
    )
    .await;

    let three = run_replicas(&stack, &clock, 3).await;
    let four = run_replicas(&stack, &clock, 4).await;
    for (name, map) in [("3", &three), ("4", &four)] {
        assert_eq!(map.len(), ACCOUNTS, "{name} replicas expose every account");
        assert!(
            map.values().all(|r| r.len() == 1),
            "{name} replicas: each account once"
        );
    }
    let moved: Vec<&String> = three.keys().filter(|a| three[*a] != four[*a]).collect();
    // Jump hashing: about 1/4 move, and only to the new replica 3.
    assert!(
        moved.iter().all(|a| four[*a] == [3]),
        "an account moved between old replicas"
    );
    let share = moved.len() as f64 / ACCOUNTS as f64;
    assert!(
        (0.15..=0.30).contains(&share),
        "{} of {ACCOUNTS} accounts moved",
        moved.len()
    );
    // Each of the three kept a fair part (none is empty or holds nearly everything).
    for i in 0..3 {
        let n = three.values().filter(|r| r[0] == i).count();
        assert!(
            (60..=140).contains(&n),
            "replica {i} of 3 polls {n} accounts"
        );
    }
}
