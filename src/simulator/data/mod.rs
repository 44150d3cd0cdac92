//! Deterministic, realistic datacube rows: every value is a pure function of (app_id, stream, day),
//! drawn from a splitmix64 generator, so two simulators (or two runs) always agree.

use jiff::civil::{Date, date};

use crate::wechat::date::add_days;
use crate::wechat::rows::*;
use crate::wechat::{DateRange, Endpoint, Period, Report, RowSource};

mod articles;
mod callbacks;
mod messages;
mod published;
mod users;

/// Followers are modelled from this day (the base size of an account holds here).
const ANCHOR: Date = date(2026, 1, 1);
/// Day 0 of msgid numbering (WeChat's first datacube day).
const EPOCH: Date = date(2014, 12, 1);
/// Source 51 ("followed after paying") was folded into 0 from this day.
const SOURCE_51_END: Date = date(2023, 6, 1);
/// Saturation rates: mass-sent articles settle within the 7-day window, published ones within 30.
const K_MASS: f64 = 0.9;
const K_PUB: f64 = 0.25;
/// The callback server's daily slow hour (UTC+8).
pub(crate) const SLOW_HOUR: u64 = 20;

/// splitmix64: tiny, fast and good enough to look random.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// FNV-1a over the account, the stream name and the day, so every (account, stream, day) has its
/// own independent generator.
pub(crate) fn seed(app_id: &str, stream: &str, day: Date) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(app_id.as_bytes());
    eat(&[0xff]);
    eat(stream.as_bytes());
    eat(&[0xff]);
    eat(&day_index(day).to_le_bytes());
    Rng::new(h).next_u64()
}

fn rng(app_id: &str, stream: &str, day: Date) -> Rng {
    Rng::new(seed(app_id, stream, day))
}

/// Days since EPOCH (negative before it).
fn day_index(day: Date) -> i64 {
    day.since(EPOCH)
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0)
}

fn days_from(a: Date, b: Date) -> i64 {
    b.since(a).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// The demo accounts, smallest first.
pub(crate) const DEMO_APP_IDS: [&str; 3] =
    ["wxdemo0000000001", "wxdemo0000000002", "wxdemo0000000003"];

/// Size tier of an account: 0 small (~5k followers), 1 medium (~80k), 2 large (~1.2M). The demo
/// accounts get one of each; any other app_id gets a tier from its hash.
pub(crate) fn tier(app_id: &str) -> u64 {
    match DEMO_APP_IDS.iter().position(|id| *id == app_id) {
        Some(i) => i as u64,
        None => rng(app_id, "tier", ANCHOR).below(3),
    }
}

/// The account's constants.
#[derive(Debug, Clone, Copy)]
struct Profile {
    /// Followers at ANCHOR.
    base: f64,
    /// Daily growth of the follower trend.
    growth: f64,
}

fn profile(app_id: &str) -> Profile {
    let mut r = rng(app_id, "profile", ANCHOR);
    let base = [5_000.0, 80_000.0, 1_200_000.0][tier(app_id) as usize];
    Profile {
        base: base * r.range(0.85, 1.15),
        growth: r.range(0.0004, 0.001),
    }
}

/// The smooth follower trend on `day` (drives every volume; the exact count is getusercumulate).
fn trend(app_id: &str, day: Date) -> f64 {
    let p = profile(app_id);
    p.base * (p.growth * days_from(ANCHOR, day) as f64).exp()
}

/// Splits `total` by `weights` exactly (the parts sum to `total`); the rounding remainder goes to
/// part `rest`.
pub(crate) fn split(total: u64, weights: &[f64], rest: usize) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let used: u64 = parts.iter().sum();
    parts[rest.min(weights.len() - 1)] += total.saturating_sub(used);
    parts
}

/// A running total that approaches `cap`: day `d` (0 = the send/publish day) of a saturating curve.
fn cum(cap: f64, k: f64, d: i64) -> u64 {
    if d < 0 {
        return 0;
    }
    (cap * (1.0 - (-k * (d + 1) as f64).exp())).round() as u64
}

/// Relative activity per hour of a China day (evening peak at 20:00), with a little daily noise.
fn hour_weights(app_id: &str, stream: &str, day: Date) -> [f64; 24] {
    const SHAPE: [f64; 24] = [
        0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1.2, 2.0, 2.2, 2.0, 2.1, 2.6, 2.2, 1.8, 1.7, 1.7, 1.8,
        2.3, 2.8, 3.4, 3.0, 2.2, 1.2,
    ];
    let mut r = rng(app_id, stream, day);
    let mut w = SHAPE;
    for x in &mut w {
        *x *= r.range(0.8, 1.2);
    }
    w
}

// ---------------------------------------------------------------------------------------------
// Publication schedule

fn coin(app_id: &str, stream: &str, day: Date) -> bool {
    rng(app_id, stream, day).f64() < 0.5
}

/// ~62 % of days; never three days in a row without (a day is forced when the two before it were
/// not drawn, which also covers the case where one of them was itself forced).
fn schedule(app_id: &str, stream: &str, day: Date) -> bool {
    coin(app_id, stream, day)
        || (!coin(app_id, stream, add_days(day, -1)) && !coin(app_id, stream, add_days(day, -2)))
}

/// A mass message (群发) was sent on `day`.
pub(crate) fn has_mass_send(app_id: &str, day: Date) -> bool {
    day >= Endpoint::ArticleTotal.earliest_date() && schedule(app_id, "mass-send", day)
}

/// A piece was published (发表) on `day`.
pub(crate) fn has_publish(app_id: &str, day: Date) -> bool {
    day >= Endpoint::ArticleTotalDetail.earliest_date() && schedule(app_id, "publish", day)
}

const TOPICS: [&str; 8] = [
    "春节活动",
    "新品发布",
    "会员日",
    "周末读书会",
    "城市探店",
    "技术分享",
    "用户故事",
    "年度盘点",
];

/// Titles deliberately carry a quote, a backslash, a newline, an emoji and Chinese (the first
/// article of a send), so escaping bugs show.
fn title(r: &mut Rng, idx: u32) -> String {
    let topic = TOPICS[r.below(TOPICS.len() as u64) as usize];
    if idx == 1 {
        format!("{topic} \"限时\" 🎉\\路径\n第二行")
    } else {
        format!("{topic}：第{}期", 1 + r.below(99))
    }
}

fn article_url(msgid: &str) -> String {
    format!("https://mp.weixin.qq.com/s/sim_{msgid}")
}

// ---------------------------------------------------------------------------------------------
// The answer to one request

fn per_day<T>(days: &[Date], f: impl Fn(Date) -> Vec<T>) -> Vec<T> {
    days.iter().flat_map(|d| f(*d)).collect()
}

/// What one request asks for: the group files implement `RowSource` for their row types, and
/// `Report::build` picks the one the endpoint table names.
pub(super) struct Source<'a> {
    pub(super) app_id: &'a str,
    /// The requested days WeChat has published (and keeps).
    pub(super) days: Vec<Date>,
    /// The label dates of the complete weeks and months in the request.
    labels: [Vec<Date>; 2],
    /// The latest published day.
    pub(super) last: Date,
    /// A callback failure ratio forced by a fault.
    pub(super) ratio: Option<f64>,
}

impl Source<'_> {
    /// The label dates of the complete periods in the request.
    pub(super) fn labels(&self, period: Period) -> &[Date] {
        match period {
            Period::Week => &self.labels[0],
            Period::Month => &self.labels[1],
            Period::Day => &self.days,
        }
    }

    /// `f` of each published day, concatenated.
    pub(super) fn per_day<T>(&self, f: impl Fn(Date) -> Vec<T>) -> Vec<T> {
        per_day(&self.days, f)
    }
}

/// Knobs that change the data at answer time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// The latest published China day.
    pub last_published: Date,
    /// Overrides callback fail_count (a fault).
    pub callback_failure_ratio: Option<f64>,
}

/// The rows `endpoint` answers for `range` (already validated), and its `is_delay` flag.
pub(crate) fn answer(
    app_id: &str,
    endpoint: Endpoint,
    range: DateRange,
    ctx: Ctx,
) -> (Report, Option<bool>) {
    let earliest = endpoint.earliest_date();
    let last = ctx.last_published;
    let days: Vec<Date> = range
        .days()
        .filter(|d| *d >= earliest && *d <= last)
        .collect();
    let is_delay = endpoint.is_published_content().then_some(range.end > last);
    let labels = |period: Period| -> Vec<Date> {
        let mut out: Vec<Date> = range
            .days()
            .map(|d| period.label(d))
            .filter(|l| *l >= earliest && period.range(*l).end <= last)
            .collect();
        out.dedup();
        out
    };
    let labels = [Period::Week, Period::Month].map(labels);
    let source = Source {
        app_id,
        days,
        labels,
        last,
        ratio: ctx.callback_failure_ratio,
    };
    let report = Report::build(endpoint, &source);
    (report, is_delay)
}

#[cfg(test)]
mod tests;
