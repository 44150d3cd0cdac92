//! Unit tests of `config`.

use super::*;
use secrecy::ExposeSecret;

fn env(name: &str) -> Option<String> {
    (name == "BRAND_SECRET").then(|| "s3cr3t-value".to_string())
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new("/etc/wechat"), &env)
}

#[test]
fn a_minimal_config_gets_the_defaults() {
    let c = parse("[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\napp_secret = \"${BRAND_SECRET}\"\n").unwrap();
    assert_eq!(c.accounts.len(), 1);
    let a = &c.accounts[0];
    assert_eq!(
        a.app_secret.as_ref().unwrap().expose_secret(),
        "s3cr3t-value"
    );
    assert_eq!(a.token, TokenSourceConfig::Stable);
    assert_eq!(a.reports.len(), 4);
    assert_eq!(c.wechat.api_base_url.as_str(), "https://api.weixin.qq.com/");
    assert_eq!(c.schedule.retry_interval, Duration::from_secs(1800));
    assert_eq!(c.metrics.max_articles_per_account, 200);
    assert_eq!(c.wechat.concurrency, Concurrency::Auto);
}

#[test]
fn concurrency_is_auto_or_a_number_in_range() {
    let with = |value: &str| parse(&format!("[wechat]\nconcurrency = {value}\n{ACCOUNT}"));
    assert_eq!(
        with("\"auto\"").unwrap().wechat.concurrency,
        Concurrency::Auto
    );
    assert_eq!(
        with("12").unwrap().wechat.concurrency,
        Concurrency::Fixed(12)
    );
    for (bad, problem) in [
        ("\"fast\"", "\"fast\" is neither \"auto\" nor a number"),
        ("0", "0 is out of range"),
        ("257", "257 is out of range"),
        ("1.5", "expected an integer, found float"),
    ] {
        let errors = with(bad).unwrap_err();
        assert_eq!(errors.0[0].key, "wechat.concurrency", "{bad}");
        assert_eq!(errors.0[0].problem, problem, "{bad}");
        assert!(errors.0[0].fix.contains("256"), "{bad}: {errors}");
    }
}

#[test]
fn every_key_is_read() {
    let c = parse(
        r#"
[wechat]
api_base_url = "http://127.0.0.1:9865"
timeout = "5s"
max_retries = 2
retry_backoff = "250ms"
concurrency = 8
rate_limit = 50
[schedule]
publish_after = "09:30"
retry_interval = "15m"
empty_is_zero_after = "13:00"
error_retry_interval = "2h"
[metrics]
max_articles_per_account = 50
[[account]]
name = "a"
app_id = "wx0000000000000001"
token = "file:tokens/a"
reports = ["users", "callbacks"]
[[account]]
name = "b"
app_id = "wx0000000000000002"
token = "url:http://tokens.internal/b"
"#,
    )
    .unwrap();
    assert_eq!(c.wechat.timeout, Duration::from_secs(5));
    assert_eq!(c.wechat.max_retries, 2);
    assert_eq!(c.wechat.retry_backoff, Duration::from_millis(250));
    assert_eq!(c.wechat.concurrency, Concurrency::Fixed(8));
    assert_eq!(c.wechat.rate_limit, 50);
    assert_eq!(c.schedule.publish_after, Time::constant(9, 30, 0, 0));
    assert_eq!(c.schedule.empty_is_zero_after, Time::constant(13, 0, 0, 0));
    assert_eq!(c.schedule.error_retry_interval, Duration::from_secs(7200));
    assert_eq!(c.metrics.max_articles_per_account, 50);
    assert_eq!(
        c.accounts[0].token,
        TokenSourceConfig::File(PathBuf::from("/etc/wechat/tokens/a"))
    );
    assert_eq!(
        c.accounts[0].reports,
        [ReportGroup::Users, ReportGroup::Callbacks]
            .into_iter()
            .collect()
    );
    assert_eq!(
        c.accounts[1].token,
        TokenSourceConfig::Url(Url::parse("http://tokens.internal/b").unwrap())
    );
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let errors = parse(
        r#"
[wechat]
timeout = "soon"
concurency = 4
[schedule]
publish_after = "9am"
[[account]]
name = "brand"
app_id = "0123"
app_secret = "${MISSING_SECRET}"
token = "force"
reports = ["users", "likes"]
[[account]]
name = "brand"
app_id = "wx0000000000000002"
"#,
    )
    .unwrap_err();
    let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "wechat.timeout",
            "wechat.concurency",
            "schedule.publish_after",
            "account \"brand\".app_id",
            "account \"brand\".app_secret",
            "account \"brand\".token",
            "account \"brand\".reports",
            "account \"brand\" #2.app_secret",
            "account \"brand\" #2.name",
        ]
    );
    let text = errors.to_string();
    assert!(text.contains("MISSING_SECRET is not set"), "{text}");
    assert!(text.contains("unknown key"), "{text}");
}

#[test]
fn secrets_are_never_echoed() {
    let errors = parse("[[account]]\nname = \"x\"\napp_id = \"wx0000000000000001\"\napp_secret = \"${BRAND_SECRET}\"\napp_secret_file = \"s\"\n").unwrap_err();
    assert!(
        !format!("{errors} {errors:?}").contains("s3cr3t"),
        "{errors}"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let errors = parse("[wechat]\ntimeout = \n").unwrap_err();
    assert_eq!(errors.0[0].key, "(syntax)");
    assert!(errors.0[0].fix.contains("line 2"), "{errors}");
}

#[test]
fn no_accounts_is_an_error() {
    let errors = parse("").unwrap_err();
    assert_eq!(errors.0[0].key, "account");
}

const ACCOUNT: &str = "[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\napp_secret = \"${BRAND_SECRET}\"\n";

#[test]
fn a_callback_probe_gets_its_defaults() {
    let c = parse(&format!(
        "{ACCOUNT}[account.callback_probe]\nurl = \"https://example.com/wechat/callback\"\ntoken = \"Tok3nValue\"\n"
    ))
    .unwrap();
    let p = c.accounts[0].callback_probe.as_ref().unwrap();
    assert_eq!(p.url.as_str(), "https://example.com/wechat/callback");
    assert_eq!(p.token.expose_secret(), "Tok3nValue");
    assert_eq!(p.interval, Duration::from_secs(60));
    assert_eq!(p.timeout, Duration::from_secs(5));
    assert!(!p.message_probe);
    assert_eq!(p.message_mode, MessageMode::Plain);
    assert!(parse(ACCOUNT).unwrap().accounts[0].callback_probe.is_none());
}

#[test]
fn a_callback_probe_in_safe_mode_reads_its_key_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aes"),
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n",
    )
    .unwrap();
    let c = Config::parse(
        &format!(
            "{ACCOUNT}[account.callback_probe]\nurl = \"http://127.0.0.1:1/cb\"\ntoken = \"${{BRAND_SECRET}}\"\n\
             interval = \"10s\"\ntimeout = \"2s\"\nencoding_aes_key_file = \"aes\"\nmessage_probe = true\n"
        ),
        dir.path(),
        &|name| (name == "BRAND_SECRET").then(|| "tok3n".to_string()),
    )
    .unwrap();
    let p = c.accounts[0].callback_probe.as_ref().unwrap();
    assert_eq!(p.message_mode, MessageMode::Safe);
    assert!(p.message_probe);
    assert_eq!(p.interval, Duration::from_secs(10));
    assert_eq!(p.token.expose_secret(), "tok3n");
}

#[test]
fn callback_probe_problems_name_their_keys_and_never_echo_secrets() {
    let errors = parse(&format!(
        "{ACCOUNT}[account.callback_probe]\nurl = \"ftp://example.com\"\ntoken = \"bad token!\"\n\
         interval = \"2h\"\ntimeout = \"10ms\"\nencoding_aes_key = \"tooshortsecretkey\"\nmessage_mode = \"weird\"\nextra = 1\n"
    ))
    .unwrap_err();
    let keys: Vec<_> = errors.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "account \"brand\".callback_probe.url",
            "account \"brand\".callback_probe.token",
            "account \"brand\".callback_probe.interval",
            "account \"brand\".callback_probe.timeout",
            "account \"brand\".callback_probe.encoding_aes_key",
            "account \"brand\".callback_probe.message_mode",
            "account \"brand\".callback_probe.extra",
        ],
        "{errors}"
    );
    let text = format!("{errors} {errors:?}");
    assert!(
        !text.contains("bad token!") && !text.contains("tooshortsecretkey"),
        "{text}"
    );

    // Token missing; safe mode without a key; timeout longer than the interval.
    let errors = parse(&format!(
        "{ACCOUNT}[account.callback_probe]\nurl = \"https://example.com/cb\"\ninterval = \"5s\"\ntimeout = \"6s\"\n\
         message_probe = true\nmessage_mode = \"safe\"\n"
    ))
    .unwrap_err();
    let keys: Vec<_> = errors.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "account \"brand\".callback_probe.token",
            "account \"brand\".callback_probe.timeout",
            "account \"brand\".callback_probe.encoding_aes_key",
        ],
        "{errors}"
    );
    assert!(
        errors.to_string().contains("message_mode = \"plain\""),
        "{errors}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any text, and any value in any key of a config: parsed or refused with problems,
        /// never a panic.
        #[test]
        fn any_text_parses_or_lists_problems(text in ".{0,400}") {
            if let Err(errors) = parse(&text) {
                prop_assert!(!errors.0.is_empty());
            }
        }

        #[test]
        fn any_value_in_any_key_parses_or_lists_problems(
            section in prop::sample::select(vec!["wechat", "schedule", "metrics"]),
            key in prop::sample::select(vec![
                "api_base_url", "timeout", "max_retries", "retry_backoff", "concurrency", "rate_limit",
                "publish_after", "retry_interval", "empty_is_zero_after", "error_retry_interval",
                "max_articles_per_account", "name", "app_id", "token", "reports",
            ]),
            value in prop_oneof![
                "\"[^\"\\\\]{0,20}\"",
                any::<i64>().prop_map(|n| n.to_string()),
                any::<bool>().prop_map(|b| b.to_string()),
                Just("[]".to_string()),
                Just("[\"users\", 3]".to_string()),
            ],
        ) {
            let text = format!(
                "[{section}]\n{key} = {value}\n[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\napp_secret = \"x\"\n{key} = {value}\n"
            );
            if let Err(errors) = parse(&text) {
                prop_assert!(!errors.0.is_empty());
            }
        }
    }
}

#[test]
fn metrics_exclude_is_read_and_checked_with_its_key() {
    let account =
        "[[account]]\nname = \"brand\"\napp_id = \"wx0123456789abcdef\"\napp_secret = \"x\"\n";
    let c = parse(&format!(
        "[metrics]\nexclude = [\"hourly\", \"wechat_mp_article_*\"]\n{account}"
    ))
    .unwrap();
    assert!(c.metrics.exclude.drops("wechat_mp_hourly_shares"));
    assert!(c.metrics.exclude.drops("wechat_mp_article_reads"));
    assert!(!c.metrics.exclude.drops("wechat_mp_followers"));
    assert!(
        !parse(account)
            .unwrap()
            .metrics
            .exclude
            .drops("wechat_mp_hourly_shares")
    );

    let errors = parse(&format!(
        "[metrics]\nexclude = [\"hourly\", \"hourlyy\"]\n{account}"
    ))
    .unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].key, "metrics.exclude[1]");
    let text = errors.to_string();
    assert!(text.contains("\"hourlyy\" selects no family"), "{text}");
    assert!(
        text.contains("per_article"),
        "the valid selectors are listed: {text}"
    );

    let errors = parse(&format!("[metrics]\nexclude = \"hourly\"\n{account}")).unwrap_err();
    assert_eq!(errors.0[0].key, "metrics.exclude");
    let errors = parse(&format!("[metrics]\nexclude = [\"hourly\", 3]\n{account}")).unwrap_err();
    assert_eq!(errors.0[0].key, "metrics.exclude[1]");
}

mod component;
