//! `[[component]]` and `token = "component"` accounts.

use super::*;
use crate::wechat::token::component::TicketSource;

fn env(name: &str) -> Option<String> {
    match name {
        "AGENCY_SECRET" => Some("agency-s3cr3t".into()),
        "CLIENT_REFRESH" => Some("refresh-s3cr3t".into()),
        _ => None,
    }
}

fn parse(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
    Config::parse(text, base, &env)
}

const COMPONENT: &str = r#"
[[component]]
name = "agency"
component_appid = "wxcomponent0001"
component_appsecret = "${AGENCY_SECRET}"
component_verify_ticket = "file:ticket"
"#;

#[test]
fn a_component_account_reads_its_platform_and_refresh_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.refresh"), "refresh-from-file\n").unwrap();
    let text = format!(
        r#"{COMPONENT}
[[account]]
name = "a"
app_id = "wxauth000000000001"
token = "component"
authorizer_refresh_token = "${{CLIENT_REFRESH}}"
[[account]]
name = "b"
app_id = "wxauth000000000002"
token = "component"
component = "agency"
authorizer_refresh_token_file = "b.refresh"
"#
    );
    let c = parse(&text, dir.path()).unwrap();
    let TokenSourceConfig::Component(a) = &c.accounts[0].token else {
        panic!("{:?}", c.accounts[0].token);
    };
    assert_eq!(a.component.name, "agency");
    assert_eq!(a.component.appid, "wxcomponent0001");
    assert_eq!(a.component.secret.expose_secret(), "agency-s3cr3t");
    assert_eq!(
        a.component.ticket,
        TicketSource::File(dir.path().join("ticket"))
    );
    assert_eq!(a.refresh_token.expose_secret(), "refresh-s3cr3t");
    assert_eq!(a.refresh_token_file, None);
    assert!(c.accounts[0].app_secret.is_none(), "no AppSecret needed");
    let TokenSourceConfig::Component(b) = &c.accounts[1].token else {
        panic!("{:?}", c.accounts[1].token);
    };
    assert_eq!(b.refresh_token.expose_secret(), "refresh-from-file");
    assert_eq!(b.refresh_token_file, Some(dir.path().join("b.refresh")));
    assert!(
        std::sync::Arc::ptr_eq(&a.component, &b.component),
        "one platform"
    );
}

fn problems(text: &str) -> Vec<(String, String, String)> {
    parse(text, Path::new("/etc/wechat"))
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| (e.key, e.problem, e.fix))
        .collect()
}

#[test]
fn component_problems_name_their_keys_and_the_fix() {
    // No [[component]] at all.
    let p = problems(
        "[[account]]\nname = \"a\"\napp_id = \"wxauth000000000001\"\ntoken = \"component\"\nauthorizer_refresh_token = \"r\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "account \"a\".token");
    assert!(p[0].1.contains("no [[component]]"), "{p:?}");
    assert!(p[0].2.contains("add a [[component]]"), "{p:?}");

    // No refresh token; an unknown platform name; component keys on a stable account.
    let p = problems(&format!(
        r#"{COMPONENT}
[[account]]
name = "a"
app_id = "wxauth000000000001"
token = "component"
[[account]]
name = "b"
app_id = "wxauth000000000002"
token = "component"
component = "other"
authorizer_refresh_token = "r"
[[account]]
name = "c"
app_id = "wxauth000000000003"
app_secret = "x"
authorizer_refresh_token = "r"
"#
    ));
    let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "account \"a\".authorizer_refresh_token",
            "account \"b\".component",
            "account \"c\".authorizer_refresh_token"
        ],
        "{p:?}"
    );
    assert!(p[0].2.contains("authorizer_refresh_token_file"), "{p:?}");
    assert!(
        p[1].1.contains("\"other\"") && p[1].2.contains("agency"),
        "{p:?}"
    );
    assert!(p[2].2.contains("token = \"component\""), "{p:?}");

    // A platform with everything wrong or missing; the pasted ticket is not echoed.
    let p = problems(
        r#"
[[component]]
component_appid = "nope"
component_verify_ticket = "ticket@@@pasted-by-mistake"
surprise = 1
[[account]]
name = "a"
app_id = "wx0000000000000001"
app_secret = "x"
"#,
    );
    let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "component[0].name",
            "component[0].component_appid",
            "component[0].component_appsecret",
            "component[0].component_verify_ticket",
            "component[0].surprise"
        ],
        "{p:?}"
    );
    let all = format!("{p:?}");
    assert!(!all.contains("pasted-by-mistake"), "{all}");
    assert!(p[3].2.contains("file:PATH"), "{p:?}");
}

#[test]
fn several_platforms_need_a_name_on_each_account() {
    let text = format!(
        r#"{COMPONENT}
[[component]]
name = "second"
component_appid = "wxcomponent0002"
component_appsecret = "y"
component_verify_ticket = "url:http://ticket.internal/second"
[[account]]
name = "a"
app_id = "wxauth000000000001"
token = "component"
authorizer_refresh_token = "r"
[[account]]
name = "b"
app_id = "wxauth000000000002"
token = "component"
component = "second"
authorizer_refresh_token = "r"
"#
    );
    let p = parse(&text, Path::new("/etc/wechat")).unwrap_err().0;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].key, "account \"a\".component");
    assert!(p[0].fix.contains("component = \"NAME\""), "{p:?}");
}

#[test]
fn a_platform_that_lists_its_accounts_may_be_the_only_source_of_them() {
    let text = format!(
        "{COMPONENT}discover_accounts = true\ndiscover_interval = \"10m\"\nreports = [\"users\"]\n"
    );
    let c = parse(&text, Path::new("/etc/wechat")).unwrap();
    assert!(c.accounts.is_empty());
    let d = c.components[0].discover.as_ref().expect("discovery on");
    assert_eq!(d.interval, Duration::from_secs(600));
    assert_eq!(d.reports, [ReportGroup::Users].into_iter().collect());
    // Off by default, and then accounts are required.
    let p = problems(COMPONENT);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "account");
    let p = problems(&format!(
        "{COMPONENT}discover_accounts = \"yes\"\ndiscover_interval = \"1s\"\n"
    ));
    let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "component[0].discover_accounts",
            "component[0].discover_interval",
            "account"
        ],
        "{p:?}"
    );
}
