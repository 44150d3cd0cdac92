//! Third-party platform tokens against the simulated platform: 1000 authorised accounts of one
//! platform become ready on one component token; a rotated authorizer refresh token is persisted
//! and used after a restart; a wrong ticket or secret is explained and asked about once per
//! error_retry_interval, not once per account.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::SignedDuration;
use jiff::civil::{Time, time};
use tokio_util::sync::CancellationToken;
use wechat_mp_exporter::app::Exporter;
use wechat_mp_exporter::clock::{self, Clock as _, ManualClock, SharedClock};
use wechat_mp_exporter::config::Config;
use wechat_mp_exporter::simulator::{SimComponent, Simulator};
use wechat_mp_exporter::wechat::date::{add_days, china_at, china_today, china_yesterday};
use wechat_mp_exporter::wechat::{DateRange, Endpoint, Report};

use crate::support::t1::clock_at;
use crate::support::{Sample, get, parse_text, serve, sim_config, value, wait_until_ok};

const PLATFORM: &str = "wxcomponent0001";

/// A simulator on 127.0.0.1 with one platform of `n` authorised accounts.
async fn platform(n: usize, publish_at: Time, clock: SharedClock) -> (Simulator, SocketAddr) {
    let sim = Simulator::new(sim_config(publish_at), clock);
    sim.add_component(SimComponent::generated(PLATFORM, n));
    let addr = sim
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (sim, addr)
}

/// A config of the first `n` accounts of the platform, each with its current refresh token.
fn config_text(sim: &Simulator, addr: SocketAddr, n: usize, secret: &str, extra: &str) -> String {
    let mut text = format!(
        "[wechat]\napi_base_url = \"http://{addr}\"\nretry_backoff = \"1ms\"\nconcurrency = 16\n\
         [schedule]\npublish_after = \"00:00\"\nempty_is_zero_after = \"00:00\"\nerror_retry_interval = \"1m\"\n{extra}\
         [[component]]\nname = \"agency\"\ncomponent_appid = \"{PLATFORM}\"\ncomponent_appsecret = \"{secret}\"\n\
         component_verify_ticket = \"file:ticket\"\n"
    );
    let component = SimComponent::generated(PLATFORM, n);
    for (i, appid) in component.authorizers.iter().enumerate() {
        let refresh = sim
            .authorizer_refresh_token(appid)
            .expect("an authorised account");
        text.push_str(&format!(
            "[[account]]\nname = \"client-{i}\"\napp_id = \"{appid}\"\ntoken = \"component\"\n\
             authorizer_refresh_token = \"{refresh}\"\nreports = [\"users\"]\n"
        ));
    }
    text
}

fn load(dir: &Path, text: &str) -> Config {
    std::fs::write(dir.join("config.toml"), text).unwrap();
    Config::load(&dir.join("config.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn write_ticket(dir: &Path, ticket: &str) {
    std::fs::write(dir.join("ticket"), ticket).unwrap();
}

fn secret() -> String {
    SimComponent::generated(PLATFORM, 0).secret
}

/// Every sample of `name` with `labels`, summed over accounts.
fn total(body: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    total_of(&parse_text(body), name, labels)
}

/// [`total`] of samples parsed once.
fn total_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_accounts_of_one_platform_become_ready_on_one_component_token() {
    const N: usize = 1000;
    // A fixed morning: on the real clock, in the minutes after midnight UTC+8 the simulator has
    // published a day the exporter's spread-out next poll has not fetched yet.
    let clock: SharedClock = clock_at(jiff::civil::date(2026, 11, 18), 10, 0);
    let (sim, addr) = platform(N, Time::midnight(), clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    let config = load(dir.path(), &config_text(&sim, addr, N, &secret(), ""));
    assert_eq!(config.accounts.len(), N);

    let started = Instant::now();
    let exporter = Exporter::new(&config, clock.clone()).unwrap();
    let base = serve(&exporter).await;
    let stop = CancellationToken::new();
    let run = tokio::spawn(exporter.scheduler.run(stop.clone()));
    wait_until_ok(&format!("{base}/-/ready")).await;
    // A figure for the report, not an assertion (debug build, shared machine).
    eprintln!(
        "{N} component accounts ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (_, _, body) = get(&format!("{base}/metrics"), None).await;
    let samples = parse_text(&body);
    let yesterday = DateRange::day(china_yesterday(clock.now()));
    let component = SimComponent::generated(PLATFORM, N);
    for i in (0..N).step_by(97) {
        let appid = &component.authorizers[i];
        let Report::UserCumulate(rows) = sim.report(appid, Endpoint::UserCumulate, yesterday)
        else {
            panic!("getusercumulate answers its own report");
        };
        let expected = rows[0]
            .cumulate_user
            .expect("the simulator sends cumulate_user") as f64;
        let account = format!("client-{i}");
        assert_eq!(
            value(&samples, "wechat_mp_followers", &account, &[]),
            Some(expected),
            "{account} ({appid})"
        );
        assert_eq!(value(&samples, "wechat_mp_up", &account, &[]), Some(1.0));
    }
    // One component token for all of them, one authorizer token each.
    assert_eq!(sim.component_token_requests(), 1);
    assert_eq!(sim.authorizer_token_requests(), N as u64);
    let fetches = "wechat_mp_token_fetches_total";
    let component_fetches = total_of(&samples, fetches, &[("source", "component_token")]);
    assert_eq!(component_fetches, 1.0);
    assert_eq!(
        total_of(
            &samples,
            fetches,
            &[("source", "component"), ("errcode", "0")]
        ),
        N as f64
    );
    eprintln!(
        "component token calls {}, authorizer token calls {}",
        sim.component_token_requests(),
        sim.authorizer_token_requests()
    );
    // No platform secret, ticket or token reaches /metrics or the landing page.
    let (_, _, landing) = get(&format!("{base}/"), None).await;
    for secret in sim.component_secrets().iter().chain(&sim.issued_tokens()) {
        assert!(!body.contains(secret.as_str()) && !landing.contains(secret.as_str()));
    }
    stop.cancel();
    run.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_refresh_token_survives_a_restart() {
    let day = jiff::civil::date(2026, 11, 18);
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
    let (sim, addr) = platform(2, Time::midnight(), clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    let config = load(dir.path(), &config_text(&sim, addr, 2, &secret(), ""));
    let rotated_account = SimComponent::generated(PLATFORM, 2).authorizers[0].clone();
    let original = sim.authorizer_refresh_token(&rotated_account).unwrap();

    let mut first = Exporter::with_storage(&config, clock.clone(), Some(&storage)).unwrap();
    let round = first.scheduler.tick().await;
    assert!(round.requests > 2 && round.failures == 0, "{round:?}");

    // WeChat hands out a new refresh token at the next token call (a day later, the token has
    // expired); the old one dies at once.
    sim.rotate_refresh_token(&rotated_account);
    let next_day = |clock: &ManualClock, sim: &Simulator, dir: &Path| {
        clock.advance(SignedDuration::from_hours(24));
        // The platform's server keeps receiving tickets (one lives 12 h).
        write_ticket(dir, &sim.push_component_ticket(PLATFORM).unwrap());
    };
    next_day(&clock, &sim, dir.path());
    let round = first.scheduler.tick().await;
    assert!(round.requests > 0 && round.failures == 0, "{round:?}");
    let rotated = sim.authorizer_refresh_token(&rotated_account).unwrap();
    assert_ne!(rotated, original);
    let file = storage
        .join("tokens")
        .join(format!("{rotated_account}.refresh_token"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        rotated,
        "persisted at once"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    first.state_writer().unwrap().sync();
    drop(first);

    // The state files (gzipped JSON) never hold a refresh token.
    for entry in std::fs::read_dir(storage.join("accounts")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(text.contains("\"version\":2"), "{text}");
        assert!(!text.contains(&rotated) && !text.contains(&original));
    }

    // A restart on the same storage with the same (now stale) config.
    let mut second = Exporter::with_storage(&config, clock.clone(), Some(&storage)).unwrap();
    next_day(&clock, &sim, dir.path());
    let before = sim.calls_to(&rotated_account, "api_authorizer_token");
    let round = second.scheduler.tick().await;
    assert!(round.requests > 0 && round.failures == 0, "{round:?}");
    // One token call, with the persisted token: the configured one would have been refused
    // (61023) and cost a second call before the poll failed.
    assert_eq!(
        sim.calls_to(&rotated_account, "api_authorizer_token") - before,
        1
    );
    let body = String::from_utf8_lossy(&second.store.exposition().text).into_owned();
    assert_eq!(
        total(
            &body,
            "wechat_mp_token_fetches_total",
            &[
                ("account", "client-0"),
                ("source", "component"),
                ("errcode", "0")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(&parse_text(&body), "wechat_mp_up", "client-0", &[]),
        Some(1.0)
    );
    assert!(!body.contains(&rotated));
}

/// Runs `ticks` rounds one error_retry_interval (1 min) apart on a manual clock; returns the
/// platform's token calls and the last exposition and landing page.
async fn failing_rounds(
    clock: &ManualClock,
    exporter: &mut Exporter,
    base: &str,
    ticks: usize,
) -> (String, String) {
    for i in 0..ticks {
        if i > 0 {
            clock.advance(SignedDuration::from_secs(60));
        }
        exporter.scheduler.tick().await;
    }
    let body = String::from_utf8_lossy(&exporter.store.exposition().text).into_owned();
    let (_, _, landing) = get(&format!("{base}/"), None).await;
    (body, landing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ticket_or_secret_is_explained_and_asked_about_once_per_retry_interval() {
    const N: usize = 20;
    const TICKS: usize = 5;
    let day = jiff::civil::date(2026, 11, 18);
    let clock = Arc::new(ManualClock::new(china_at(day, time(10, 0, 0, 0))));
    let (sim, addr) = platform(N, Time::midnight(), clock.clone()).await;
    let fetches = "wechat_mp_token_fetches_total";

    // A ticket the platform never pushed: 61006.
    let dir = tempfile::tempdir().unwrap();
    write_ticket(dir.path(), "ticket@@@not-the-pushed-one");
    let config = load(dir.path(), &config_text(&sim, addr, N, &secret(), ""));
    let mut exporter = Exporter::new(&config, clock.clone()).unwrap();
    let base = serve(&exporter).await;
    let (body, landing) = failing_rounds(&clock, &mut exporter, &base, TICKS).await;
    let calls = sim.component_token_requests();
    assert!(
        (1..=TICKS as u64).contains(&calls),
        "{calls} component token calls for {N} accounts over {TICKS} retry intervals"
    );
    assert_eq!(
        total(
            &body,
            fetches,
            &[("source", "component_token"), ("errcode", "61006")]
        ),
        calls as f64
    );
    assert_eq!(
        sim.authorizer_token_requests(),
        0,
        "no authorizer call without a token"
    );
    assert!(
        landing.contains("61006") && landing.contains("component_verify_ticket invalid"),
        "{landing}"
    );
    assert_eq!(
        value(&parse_text(&body), "wechat_mp_up", "client-3", &[]),
        Some(0.0)
    );

    // The ticket receiver writes the pushed ticket: the accounts recover at their next retry.
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    clock.advance(SignedDuration::from_secs(60));
    exporter.scheduler.tick().await;
    let body = String::from_utf8_lossy(&exporter.store.exposition().text).into_owned();
    assert_eq!(
        value(&parse_text(&body), "wechat_mp_up", "client-3", &[]),
        Some(1.0)
    );
    assert_eq!(sim.component_token_requests(), calls + 1);
    assert_eq!(sim.authorizer_token_requests(), N as u64);

    // 13 hours without a new push: the ticket has expired (61005) when the token is renewed.
    clock.set(china_at(
        add_days(china_today(clock.now()), 1),
        time(0, 30, 0, 0),
    ));
    let before = sim.component_token_requests();
    let (body, landing) = failing_rounds(&clock, &mut exporter, &base, TICKS).await;
    let expired = sim.component_token_requests() - before;
    assert!((1..=TICKS as u64).contains(&expired), "{expired}");
    assert_eq!(
        total(
            &body,
            fetches,
            &[("source", "component_token"), ("errcode", "61005")]
        ),
        expired as f64
    );
    assert!(
        landing.contains("61005") && landing.contains("expired"),
        "{landing}"
    );
    drop(exporter);

    // A wrong AppSecret: 40125, the same bound.
    sim.reset_calls();
    let before = sim.component_token_requests();
    write_ticket(dir.path(), &sim.push_component_ticket(PLATFORM).unwrap());
    let config = load(
        dir.path(),
        &config_text(&sim, addr, N, "not-the-secret", ""),
    );
    let mut exporter = Exporter::new(&config, clock.clone()).unwrap();
    let base = serve(&exporter).await;
    let (body, landing) = failing_rounds(&clock, &mut exporter, &base, TICKS).await;
    let calls = sim.component_token_requests() - before;
    assert!((1..=TICKS as u64).contains(&calls), "{calls}");
    assert_eq!(
        total(
            &body,
            fetches,
            &[("source", "component_token"), ("errcode", "40125")]
        ),
        calls as f64
    );
    assert!(
        landing.contains("40125") && landing.contains("invalid"),
        "{landing}"
    );
    for secret in sim.component_secrets() {
        assert!(!body.contains(&secret) && !landing.contains(&secret));
    }
    assert!(!landing.contains("not-the-secret") && !body.contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_the_platform_lists_are_polled_without_a_restart() {
    // A fixed morning: on the real clock, in the minutes after midnight UTC+8 the simulator has
    // published a day the exporter's spread-out next poll has not fetched yet.
    let clock: SharedClock = clock_at(jiff::civil::date(2026, 11, 18), 10, 0);
    let (sim, addr) = platform(3, Time::midnight(), clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    // client-0 is configured by hand; the platform lists it too, and all the others.
    let text = config_text(&sim, addr, 1, &secret(), "").replace(
        "component_verify_ticket = \"file:ticket\"\n",
        "component_verify_ticket = \"file:ticket\"\ndiscover_accounts = true\ndiscover_interval = \"1h\"\nreports = [\"users\"]\n",
    );
    let config = load(dir.path(), &text);
    let exporter = Exporter::new(&config, clock.clone()).unwrap();
    let base = serve(&exporter).await;
    let discoverer = exporter.discoverer();
    let stop = CancellationToken::new();
    let run = tokio::spawn(exporter.scheduler.run(stop.clone()));

    assert_eq!(
        discoverer.round().await,
        2,
        "two listed accounts beside client-0"
    );
    assert_eq!(discoverer.round().await, 0, "nothing changed");
    let listed = SimComponent::generated(PLATFORM, 3).authorizers;
    let up = |body: &str, account: &str| value(&parse_text(body), "wechat_mp_up", account, &[]);
    let body = crate::support::wait_for_metrics(&format!("{base}/metrics"), |b| {
        up(b, &listed[1]) == Some(1.0)
            && up(b, &listed[2]) == Some(1.0)
            && up(b, "client-0") == Some(1.0)
    })
    .await;
    assert_eq!(
        up(&body, &listed[0]),
        None,
        "a configured account is not polled twice"
    );

    // A new authorisation appears at the next listing.
    let newcomer = "wxauthnewcomer0001";
    sim.authorize(PLATFORM, newcomer).unwrap();
    assert_eq!(discoverer.round().await, 1);
    let body = crate::support::wait_for_metrics(&format!("{base}/metrics"), |b| {
        up(b, newcomer) == Some(1.0)
    })
    .await;
    let yesterday = DateRange::day(china_yesterday(clock.now()));
    let Report::UserCumulate(rows) = sim.report(newcomer, Endpoint::UserCumulate, yesterday) else {
        panic!("getusercumulate answers its own report");
    };
    assert_eq!(
        value(&parse_text(&body), "wechat_mp_followers", newcomer, &[]),
        rows[0].cumulate_user.map(|v| v as f64)
    );
    assert_eq!(up(&body, &listed[1]), Some(1.0), "the others stay");
    assert_eq!(
        sim.component_token_requests(),
        1,
        "one component token for listing and polling"
    );
    assert_eq!(sim.authorizer_list_requests(), 3);
    stop.cancel();
    run.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_platform_token_for_old_and_new_accounts() {
    let clock = clock::system();
    let (sim, addr) = platform(3, Time::midnight(), clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    let config = load(dir.path(), &config_text(&sim, addr, 2, &secret(), ""));
    let exporter = Exporter::new(&config, clock.clone()).unwrap();
    let base = serve(&exporter).await;
    let reloader = exporter.reloader(dir.path().join("config.toml"));
    let stop = CancellationToken::new();
    let run = tokio::spawn(exporter.scheduler.run(stop.clone()));
    let up = |body: &str, account: &str| value(&parse_text(body), "wechat_mp_up", account, &[]);
    crate::support::wait_for_metrics(&format!("{base}/metrics"), |b| {
        up(b, "client-0") == Some(1.0) && up(b, "client-1") == Some(1.0)
    })
    .await;

    // A third account joins the file: the platform's token is reused, the others are kept.
    std::fs::write(
        dir.path().join("config.toml"),
        config_text(&sim, addr, 3, &secret(), ""),
    )
    .unwrap();
    let summary = reloader.reload().await.expect("the reload succeeds");
    assert!(summary.contains("2 kept, 1 new"), "{summary}");
    crate::support::wait_for_metrics(&format!("{base}/metrics"), |b| {
        up(b, "client-2") == Some(1.0)
    })
    .await;
    assert_eq!(sim.component_token_requests(), 1);
    assert_eq!(sim.authorizer_token_requests(), 3);
    stop.cancel();
    run.await.unwrap();
}

/// A platform of 200 accounts listed by hand five times at `rate_limit = 2`: the component token
/// and the listing calls keep the limit (unpaced, all six arrive within a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listing_of_a_platforms_accounts_keeps_the_rate_limit() {
    const LIMIT: u32 = 2;
    const ROUNDS: u64 = 5;
    let clock = clock::system();
    let (sim, addr) = platform(200, Time::midnight(), clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    write_ticket(dir.path(), &sim.component_ticket(PLATFORM).unwrap());
    let text = config_text(&sim, addr, 0, &secret(), "")
        .replace(
            "concurrency = 16\n",
            &format!("concurrency = 16\nrate_limit = {LIMIT}\n"),
        )
        .replace(
            "component_verify_ticket = \"file:ticket\"\n",
            "component_verify_ticket = \"file:ticket\"\ndiscover_accounts = true\ndiscover_interval = \"1h\"\nreports = [\"users\"]\n",
        );
    let config = load(dir.path(), &text);
    assert_eq!(config.wechat.rate_limit, LIMIT);
    let exporter = Exporter::new(&config, clock).unwrap();
    let discoverer = exporter.discoverer();
    assert_eq!(
        discoverer.round().await,
        200,
        "every listed account is added"
    );
    for _ in 1..ROUNDS {
        assert_eq!(discoverer.round().await, 0, "nothing changed");
    }
    assert_eq!(sim.component_token_requests(), 1);
    assert_eq!(sim.authorizer_list_requests(), ROUNDS);
    let busiest = sim.busiest_second();
    assert!(
        busiest <= LIMIT as usize,
        "{busiest} requests within a second (limit {LIMIT}/s, {} in all)",
        sim.requests_received()
    );
}
