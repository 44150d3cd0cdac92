//! China calendar days (UTC+8): "yesterday", date ranges and splitting a range into allowed spans,
//! and the period math of week and month endpoints (label dates, the last complete period).
//!
//! WeChat dates every datacube row in Beijing time and refuses today or later (61501). These helpers
//! never look at the host's time zone.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// China Standard Time. China has had no DST since 1991, so a fixed offset is exact and needs no tzdb.
pub fn china() -> TimeZone {
    TimeZone::fixed(Offset::constant(8))
}

/// The China calendar day that contains `now`.
pub fn china_today(now: Timestamp) -> Date {
    now.to_zoned(china()).date()
}

/// The latest day WeChat may have published: yesterday in UTC+8.
pub fn china_yesterday(now: Timestamp) -> Date {
    china_today(now).yesterday().expect("date in range")
}

/// The instant of 00:00 UTC+8 on `date` (used for `wechat_mp_data_date_timestamp_seconds`).
pub fn china_midnight(date: Date) -> Timestamp {
    china_at(date, Time::midnight())
}

/// The instant of `time` UTC+8 on `date`.
pub fn china_at(date: Date, time: Time) -> Timestamp {
    date.to_datetime(time)
        .to_zoned(china())
        .expect("fixed offset never fails")
        .timestamp()
}

/// Adds whole days to a date.
pub fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days()).expect("date in range")
}

/// Days from `a` to `b` (`b - a`).
pub fn days_between(a: Date, b: Date) -> i64 {
    (b.to_zoned(TimeZone::UTC)
        .expect("utc")
        .timestamp()
        .as_second()
        - a.to_zoned(TimeZone::UTC)
            .expect("utc")
            .timestamp()
            .as_second())
        / 86_400
}

/// The Monday of the ISO week containing `date` (WeChat labels week rows with it).
pub fn week_start(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    add_days(date, -back)
}

/// The first day of the month containing `date` (WeChat labels month rows with it).
pub fn month_start(date: Date) -> Date {
    date.first_of_month()
}

/// How often an endpoint's rows are dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// One row set per China day.
    Day,
    /// One row set per ISO week, labelled with its Monday; fetchable once the week has ended.
    Week,
    /// One row set per month, labelled with its 1st; fetchable once the month has ended.
    Month,
}

impl Period {
    /// The label date of the period that contains `day`: the day itself, its week's Monday, or
    /// its month's 1st (WeChat labels week and month rows so).
    pub fn label(self, day: Date) -> Date {
        match self {
            Period::Day => day,
            Period::Week => week_start(day),
            Period::Month => month_start(day),
        }
    }

    /// The days of the period labelled `label`.
    pub fn range(self, label: Date) -> DateRange {
        let end = match self {
            Period::Day => label,
            Period::Week => add_days(label, 6),
            Period::Month => label.last_of_month(),
        };
        DateRange { begin: label, end }
    }

    /// The label of the latest period that has ended by the end of `last` (a period can be
    /// fetched only once it is over): `last` itself, the week before the one after `last`, ...
    pub fn last_complete(self, last: Date) -> Date {
        self.label(add_days(self.label(add_days(last, 1)), -1))
    }
}

/// An inclusive range of China days, as WeChat's `begin_date`/`end_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    /// The first day.
    pub begin: Date,
    /// The last day (inclusive).
    pub end: Date,
}

impl DateRange {
    /// A range; `None` when `begin > end`.
    pub fn new(begin: Date, end: Date) -> Option<Self> {
        (begin <= end).then_some(Self { begin, end })
    }

    /// A single day.
    pub fn day(date: Date) -> Self {
        Self {
            begin: date,
            end: date,
        }
    }

    /// Number of days in the range, inclusive.
    pub fn len_days(&self) -> i64 {
        days_between(self.begin, self.end) + 1
    }

    /// Every day in the range, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> + use<> {
        let (begin, n) = (self.begin, self.len_days());
        (0..n).map(move |i| add_days(begin, i))
    }

    /// Splits the range into consecutive windows of at most `max_span` days (`max_span >= 1`).
    pub fn split(&self, max_span: u32) -> Vec<DateRange> {
        let span = i64::from(max_span.max(1));
        let mut out = Vec::new();
        let mut begin = self.begin;
        while begin <= self.end {
            let end = add_days(begin, span - 1).min(self.end);
            out.push(DateRange { begin, end });
            begin = add_days(end, 1);
        }
        out
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.begin == self.end {
            write!(f, "{}", self.begin)
        } else {
            write!(f, "{}..{}", self.begin, self.end)
        }
    }
}

/// WeChat's date format: `YYYY-MM-DD`, zero-padded.
pub fn format_date(date: Date) -> String {
    date.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_label_their_days_and_end_before_they_are_complete() {
        let tuesday = jiff::civil::date(2026, 11, 24);
        assert_eq!(Period::Day.label(tuesday), tuesday);
        assert_eq!(Period::Week.label(tuesday), jiff::civil::date(2026, 11, 23));
        assert_eq!(Period::Month.label(tuesday), jiff::civil::date(2026, 11, 1));
        assert_eq!(
            Period::Month.range(jiff::civil::date(2026, 2, 1)).end,
            jiff::civil::date(2026, 2, 28)
        );
        // Yesterday is Monday 23rd: the last complete week is the one of Monday 16th, the last
        // complete month October.
        let last = jiff::civil::date(2026, 11, 23);
        assert_eq!(Period::Day.last_complete(last), last);
        assert_eq!(
            Period::Week.last_complete(last),
            jiff::civil::date(2026, 11, 16)
        );
        assert_eq!(
            Period::Month.last_complete(last),
            jiff::civil::date(2026, 10, 1)
        );
        // A Sunday completes its own week; the 30th of November completes November.
        let sunday = jiff::civil::date(2026, 11, 22);
        assert_eq!(
            Period::Week.last_complete(sunday),
            jiff::civil::date(2026, 11, 16)
        );
        let end = jiff::civil::date(2026, 11, 30);
        assert_eq!(
            Period::Month.last_complete(end),
            jiff::civil::date(2026, 11, 1)
        );
    }
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn yesterday_is_computed_in_utc8_whatever_the_host_zone() {
        // 23:59 UTC+8 on 2026-11-24 is 15:59 UTC, and still 07:59 on the 24th in Los Angeles.
        let late = ts("2026-11-24T15:59:00Z");
        assert_eq!(china_today(late), date(2026, 11, 24));
        assert_eq!(china_yesterday(late), date(2026, 11, 23));
        // 00:01 UTC+8 on the 25th is 16:01 UTC on the 24th: the China day has already turned.
        let early = ts("2026-11-24T16:01:00Z");
        assert_eq!(china_today(early), date(2026, 11, 25));
        assert_eq!(china_yesterday(early), date(2026, 11, 24));
    }

    #[test]
    fn midnight_is_utc8() {
        assert_eq!(
            china_midnight(date(2026, 11, 24)),
            ts("2026-11-23T16:00:00Z")
        );
    }

    #[test]
    fn week_and_month_labels() {
        // 2026-11-24 is a Tuesday.
        assert_eq!(week_start(date(2026, 11, 24)), date(2026, 11, 23));
        assert_eq!(week_start(date(2026, 11, 23)), date(2026, 11, 23));
        assert_eq!(week_start(date(2026, 11, 29)), date(2026, 11, 23));
        assert_eq!(month_start(date(2026, 11, 24)), date(2026, 11, 1));
    }

    #[test]
    fn split_respects_span_and_covers_every_day() {
        let r = DateRange::new(date(2026, 1, 1), date(2026, 1, 17)).unwrap();
        let parts = r.split(7);
        assert_eq!(
            parts,
            vec![
                DateRange::new(date(2026, 1, 1), date(2026, 1, 7)).unwrap(),
                DateRange::new(date(2026, 1, 8), date(2026, 1, 14)).unwrap(),
                DateRange::new(date(2026, 1, 15), date(2026, 1, 17)).unwrap(),
            ]
        );
        assert_eq!(r.split(1).len(), 17);
        assert_eq!(r.split(30), vec![r]);
        assert_eq!(r.len_days(), 17);
        assert_eq!(r.days().count(), 17);
    }

    #[test]
    fn formats_zero_padded() {
        assert_eq!(format_date(date(2026, 3, 5)), "2026-03-05");
        assert!(DateRange::new(date(2026, 3, 5), date(2026, 3, 4)).is_none());
    }
}
