//! "Yesterday" is a China day whatever the host's zone: this test binary runs with
//! TZ=America/Los_Angeles (set before anything reads it), 16 hours behind UTC+8.

use jiff::civil::{Date, date, time};
use jiff::tz::TimeZone;
use wechat_mp_exporter::config::ScheduleSettings;
use wechat_mp_exporter::schedule::{AccountPlan, PlanSettings};
use wechat_mp_exporter::wechat::Endpoint;
use wechat_mp_exporter::wechat::date::{china_at, china_today, china_yesterday};

fn plan() -> AccountPlan {
    let settings = ScheduleSettings {
        publish_after: time(0, 0, 0, 0),
        ..ScheduleSettings::default()
    };
    AccountPlan::new(PlanSettings::from(&settings), Endpoint::ALL)
}

#[test]
fn yesterday_is_a_china_day_in_los_angeles() {
    // SAFETY: this is the only test in this binary and it sets TZ before any thread reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("TZ", "America/Los_Angeles")
    };
    let system = TimeZone::system();
    assert_eq!(
        system.iana_name(),
        Some("America/Los_Angeles"),
        "the process zone took effect"
    );

    let plan = plan();
    let cases: [(Date, (i8, i8), Date); 2] = [
        // 23:59 UTC+8 on the 25th is 07:59 on the 25th in Los Angeles: yesterday is the 24th.
        (date(2026, 11, 25), (23, 59), date(2026, 11, 24)),
        // 00:01 UTC+8 on the 26th is 08:01 on the 25th in Los Angeles: yesterday is the 25th.
        (date(2026, 11, 26), (0, 1), date(2026, 11, 25)),
    ];
    for (day, (h, m), yesterday) in cases {
        let now = china_at(day, time(h, m, 0, 0));
        let local = now.to_zoned(system.clone());
        assert_eq!(
            local.date(),
            date(2026, 11, 25),
            "the host's own date at {now}"
        );
        assert_eq!(china_today(now), day);
        assert_eq!(china_yesterday(now), yesterday, "at {h:02}:{m:02} UTC+8");
        assert_eq!(
            plan.target_day(now),
            yesterday,
            "the scheduler's target at {h:02}:{m:02} UTC+8"
        );
    }
}
