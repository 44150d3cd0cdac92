use super::page::PAGE_SIZE;
use super::*;
use crate::latest::DatedReport;
use crate::probe::FailureReason;
use crate::wechat::rows::UserCumulateRow;
use std::time::Duration;

fn healthy(name: &str) -> AccountView {
    let day: Date = "2026-12-06".parse().unwrap();
    let at: Timestamp = "2026-12-07T01:00:00Z".parse().unwrap();
    let mut reports = AccountReports::default();
    reports.reports.insert(
        Endpoint::UserCumulate,
        DatedReport {
            date: day,
            report: Report::UserCumulate(vec![UserCumulateRow {
                ref_date: Some(day),
                cumulate_user: Some(1_234_567),
                user_source: Some(0),
            }]),
        },
    );
    for e in Endpoint::ALL {
        reports.reports.entry(e).or_insert(DatedReport {
            date: day,
            report: Report::UserCumulate(Vec::new()),
        });
    }
    let status = AccountStatus {
        up: true,
        last_poll_end: Some(at.as_second()),
        ..AccountStatus::default()
    };
    let mut view = AccountView::new(name, &reports, &status);
    view.last_success = Some(at);
    view.next_poll = Some((
        "2026-12-08T00:00:00Z".parse().unwrap(),
        "the next day is published after 08:00 UTC+8 (T+1)".into(),
    ));
    view
}

fn failing(name: &str) -> AccountView {
    let status = AccountStatus {
        up: false,
        last_poll_end: Some(1_796_000_000),
        last_errors: [(
            Endpoint::UserCumulate,
            "WeChat errcode 40125 (invalid appsecret): the AppSecret is wrong; reset it"
                .to_string(),
        )]
        .into(),
        ..AccountStatus::default()
    };
    let mut view = AccountView::new(name, &AccountReports::default(), &status);
    view.next_poll = Some((
        "2026-12-07T02:00:00Z".parse().unwrap(),
        "backing off after an error of getusercumulate".into(),
    ));
    view
}

#[test]
fn a_failing_account_comes_first_with_its_reason_and_next_poll() {
    let board = StatusBoard::new();
    board.publish(vec![healthy("a"), failing("b"), healthy("c")]);
    let rows = board.rows();
    let names: Vec<_> = rows.iter().map(|r| r.view.name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"], "problems first, then config order");
    assert_eq!(rows[0].state, State::Down);
    assert_eq!(rows[1].state, State::Up);
    let now: Timestamp = "2026-12-07T03:00:00Z".parse().unwrap();
    let page = index_page(&board, "/metrics", &AccountQuery::default(), now);
    let b = page.find(">b</a>").expect("b listed");
    assert!(b < page.find(">a</a>").unwrap());
    assert!(page.contains("errcode 40125"), "{page}");
    assert!(page.contains("backing off after an error of getusercumulate"));
    assert!(page.contains("<td class=\"num\">1,234,567</td>"), "{page}");
    assert!(page.contains("1 down") && page.contains("2 up"), "{page}");
    for link in ["/metrics", "/-/healthy", "/-/ready", "/api/v1/status"] {
        assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
    }
    let own = account_page(&board, "/metrics", "b", now).unwrap();
    assert!(own.contains("<h2>b</h2>") && own.contains("Recent errors"));
    assert!(own.contains("<b>getusercumulate</b>: WeChat errcode 40125"));
    assert!(account_page(&board, "/metrics", "nobody", now).is_none());
}

#[test]
fn a_failing_probe_ranks_before_healthy_accounts_and_waiting_is_not_a_problem() {
    let board = StatusBoard::new();
    let mut waiting = healthy("w");
    waiting.waiting_for = Some("2026-12-07".parse().unwrap());
    board.publish(vec![healthy("a"), waiting, healthy("p")]);
    board.probe_result(
        "p",
        &Outcome {
            duration: Duration::from_millis(20),
            failure: Some(FailureReason::Timeout),
        },
    );
    let rows = board.rows();
    let names: Vec<_> = rows
        .iter()
        .map(|r| (r.view.name.as_str(), r.state))
        .collect();
    assert_eq!(
        names,
        [("p", State::Up), ("w", State::Waiting), ("a", State::Up)]
    );
    let json = serde_json::to_value(StatusJson::new(&board, Timestamp::now())).unwrap();
    assert_eq!(json["summary"]["waiting"], 1);
    assert_eq!(json["summary"]["up"], 2);
    assert_eq!(json["accounts"][0]["callback_probe"]["success"], false);
    assert_eq!(json["accounts"][0]["followers"], 1_234_567);
    assert_eq!(json["accounts"][1]["waiting_for"], "2026-12-07");
}

/// The page at 1,000 accounts, one failing: under 2.5 MB (2.5 KB per account), the failing
/// account named first.
#[test]
fn a_thousand_accounts_fit_in_two_and_a_half_megabytes_failing_first() {
    let board = StatusBoard::new();
    let mut views: Vec<AccountView> = (0..1000)
        .map(|i| healthy(&format!("account-{i:04}")))
        .collect();
    let mut bad = failing("account-0777");
    // The longest error WeChat's messages and our explanations make, and then some.
    bad.last_errors
        .insert(Endpoint::UserSummary, "x".repeat(2000));
    views[777] = bad;
    board.publish(views);
    let now: Timestamp = "2026-12-07T03:00:00Z".parse().unwrap();
    let page = index_page(&board, "/metrics", &AccountQuery::default(), now);
    eprintln!(
        "1,000 accounts: {} bytes, {} bytes per account",
        page.len(),
        page.len() / 1000
    );
    assert!(page.len() < 2_500_000, "{} bytes", page.len());
    let first = page.find("href=\"/account/").unwrap();
    assert!(page[first..].starts_with("href=\"/account/account-0777\""));
    assert_eq!(page.matches("<tr class=").count(), 1000, "all on one page");
    // Filtered to the problems: one row.
    let query = AccountQuery {
        state: "problems".into(),
        ..AccountQuery::default()
    };
    let problems = index_page(&board, "/metrics", &query, now);
    assert_eq!(problems.matches("<tr class=").count(), 1);
}

#[test]
fn five_thousand_accounts_are_paged() {
    let board = StatusBoard::new();
    board.publish((0..5000).map(|i| healthy(&format!("a{i}"))).collect());
    let now = Timestamp::now();
    let query = AccountQuery {
        page: Some(5),
        ..AccountQuery::default()
    };
    let page = index_page(&board, "/metrics", &query, now);
    assert_eq!(page.matches("<tr class=").count(), PAGE_SIZE);
    assert!(page.contains("Page 5 of 5"));
    assert!(page.contains(">a4999</a>") && !page.contains(">a3999</a>"));
    assert!(page.len() / PAGE_SIZE < 2500);
}

#[test]
fn names_are_escaped_and_linked_percent_encoded() {
    let board = StatusBoard::new();
    board.publish(vec![healthy("<b>&\"x y/z")]);
    let page = index_page(
        &board,
        "/metrics",
        &AccountQuery::default(),
        Timestamp::now(),
    );
    assert!(
        page.contains("href=\"/account/%3Cb%3E%26%22x%20y%2Fz\""),
        "{page}"
    );
    assert!(page.contains(">&lt;b&gt;&amp;&quot;x y/z</a>"));
}
