//! Deterministic, realistic datacube rows: every value is a pure function of (app_id, stream, day),
//! drawn from a splitmix64 generator, so two simulators (or two runs) always agree.

use jiff::civil::{Date, date};

use crate::wechat::date::add_days;
use crate::wechat::report::*;
use crate::wechat::{DateRange, Endpoint, Period, Report};

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
// Mass-sent articles (legacy endpoints)

/// Sources of getarticletotal's int_page_from_*: session, hist_msg, feed, friends, other.
const MASS_SOURCE_WEIGHTS: [f64; 5] = [0.55, 0.05, 0.15, 0.2, 0.05];

struct MassArticle {
    msgid: String,
    title: String,
    url: String,
    target: u64,
    user_cap: [f64; 5],
    count_cap: [f64; 5],
    share_user: f64,
    share_count: f64,
    fav_user: f64,
    fav_count: f64,
    ori_user: f64,
    ori_count: f64,
}

/// Running totals of a mass-sent article `d` days after sending.
#[derive(Default, Clone, Copy)]
struct MassTotals {
    user: [u64; 5],
    count: [u64; 5],
    share_user: u64,
    share_count: u64,
    fav_user: u64,
    fav_count: u64,
    ori_user: u64,
    ori_count: u64,
}

impl MassTotals {
    fn minus(&self, o: &MassTotals) -> MassTotals {
        let mut out = MassTotals::default();
        for i in 0..5 {
            out.user[i] = self.user[i].saturating_sub(o.user[i]);
            out.count[i] = self.count[i].saturating_sub(o.count[i]);
        }
        out.share_user = self.share_user.saturating_sub(o.share_user);
        out.share_count = self.share_count.saturating_sub(o.share_count);
        out.fav_user = self.fav_user.saturating_sub(o.fav_user);
        out.fav_count = self.fav_count.saturating_sub(o.fav_count);
        out.ori_user = self.ori_user.saturating_sub(o.ori_user);
        out.ori_count = self.ori_count.saturating_sub(o.ori_count);
        out
    }

    fn read_user(&self) -> u64 {
        self.user.iter().sum()
    }

    fn read_count(&self) -> u64 {
        self.count.iter().sum()
    }

    fn counters(&self) -> ArticleCounters {
        ArticleCounters {
            int_page_read_user: Some(self.read_user()),
            int_page_read_count: Some(self.read_count()),
            ori_page_read_user: Some(self.ori_user),
            ori_page_read_count: Some(self.ori_count),
            share_user: Some(self.share_user),
            share_count: Some(self.share_count),
            add_to_fav_user: Some(self.fav_user),
            add_to_fav_count: Some(self.fav_count),
        }
    }
}

fn mass_articles(app_id: &str, send: Date) -> Vec<MassArticle> {
    if !has_mass_send(app_id, send) {
        return Vec::new();
    }
    let mut r = rng(app_id, "mass-articles", send);
    let n = 1 + r.below(3) as u32;
    let target = (trend(app_id, send) * r.range(0.97, 1.0)).round() as u64;
    let msg_id = 2_247_483_000 + day_index(send);
    (1..=n)
        .map(|idx| {
            let reads = target as f64 * r.range(0.06, 0.2) / f64::from(idx);
            let mut user_cap = [0.0; 5];
            let mut count_cap = [0.0; 5];
            for i in 0..5 {
                user_cap[i] = reads * MASS_SOURCE_WEIGHTS[i] * r.range(0.7, 1.3);
                count_cap[i] = user_cap[i] * r.range(1.1, 1.4);
            }
            let share_user = reads * r.range(0.02, 0.05);
            let fav_user = reads * r.range(0.005, 0.02);
            let ori_user = reads * r.range(0.002, 0.01);
            let msgid = format!("{msg_id}_{idx}");
            MassArticle {
                title: title(&mut r, idx),
                url: article_url(&msgid),
                msgid,
                target,
                user_cap,
                count_cap,
                share_user,
                share_count: share_user * r.range(1.1, 1.5),
                fav_user,
                fav_count: fav_user * r.range(1.0, 1.2),
                ori_user,
                ori_count: ori_user * r.range(1.0, 1.3),
            }
        })
        .collect()
}

fn mass_totals(a: &MassArticle, d: i64) -> MassTotals {
    let mut t = MassTotals::default();
    for i in 0..5 {
        t.user[i] = cum(a.user_cap[i], K_MASS, d);
        t.count[i] = cum(a.count_cap[i], K_MASS, d).max(t.user[i]);
    }
    t.share_user = cum(a.share_user, K_MASS, d);
    t.share_count = cum(a.share_count, K_MASS, d).max(t.share_user);
    t.fav_user = cum(a.fav_user, K_MASS, d);
    t.fav_count = cum(a.fav_count, K_MASS, d).max(t.fav_user);
    t.ori_user = cum(a.ori_user, K_MASS, d);
    t.ori_count = cum(a.ori_count, K_MASS, d).max(t.ori_user);
    t
}

/// What a mass-sent article gained on its `d`-th day.
fn mass_increment(a: &MassArticle, d: i64) -> MassTotals {
    mass_totals(a, d).minus(&mass_totals(a, d - 1))
}

/// Every mass-sent article still being read on `day` (sent in the 7 days up to it), with its age.
fn recent_mass(app_id: &str, day: Date) -> Vec<(MassArticle, i64)> {
    (0..7)
        .flat_map(|d| {
            mass_articles(app_id, add_days(day, -d))
                .into_iter()
                .map(move |a| (a, d))
        })
        .collect()
}

fn article_total_detail(a: &MassArticle, stat: Date, d: i64) -> ArticleTotalDetail {
    let t = mass_totals(a, d);
    let feed_share = |cap: f64, w: f64| Some(cum(cap * w, K_MASS, d));
    ArticleTotalDetail {
        stat_date: Some(stat),
        target_user: Some(a.target),
        counters: t.counters(),
        int_page_from_session_read_user: Some(t.user[0]),
        int_page_from_session_read_count: Some(t.count[0]),
        int_page_from_hist_msg_read_user: Some(t.user[1]),
        int_page_from_hist_msg_read_count: Some(t.count[1]),
        int_page_from_feed_read_user: Some(t.user[2]),
        int_page_from_feed_read_count: Some(t.count[2]),
        int_page_from_friends_read_user: Some(t.user[3]),
        int_page_from_friends_read_count: Some(t.count[3]),
        int_page_from_other_read_user: Some(t.user[4]),
        int_page_from_other_read_count: Some(t.count[4]),
        int_page_from_kanyikan_read_user: None,
        int_page_from_kanyikan_read_count: None,
        int_page_from_souyisou_read_user: None,
        int_page_from_souyisou_read_count: None,
        feed_share_from_session_user: feed_share(a.share_user, 0.5),
        feed_share_from_session_cnt: feed_share(a.share_count, 0.5),
        feed_share_from_feed_user: feed_share(a.share_user, 0.35),
        feed_share_from_feed_cnt: feed_share(a.share_count, 0.35),
        feed_share_from_other_user: feed_share(a.share_user, 0.15),
        feed_share_from_other_cnt: feed_share(a.share_count, 0.15),
    }
}

fn article_total(app_id: &str, send: Date, last_pub: Date) -> Vec<ArticleTotalRow> {
    let last = days_from(send, last_pub).min(6);
    mass_articles(app_id, send)
        .into_iter()
        .map(|a| ArticleTotalRow {
            ref_date: Some(send),
            msgid: Some(a.msgid.clone()),
            title: Some(a.title.clone()),
            url: Some(a.url.clone()),
            user_source: Some(0),
            details: (0..=last)
                .map(|d| article_total_detail(&a, add_days(send, d), d))
                .collect(),
        })
        .collect()
}

fn article_summary(app_id: &str, day: Date) -> Vec<ArticleSummaryRow> {
    recent_mass(app_id, day)
        .into_iter()
        .filter_map(|(a, d)| {
            let inc = mass_increment(&a, d);
            // WeChat lists an article only when its activity reaches 3.
            let activity = inc.read_user() + inc.ori_user + inc.share_user + inc.share_count;
            (activity >= 3).then(|| ArticleSummaryRow {
                ref_date: Some(day),
                msgid: Some(a.msgid),
                title: Some(a.title),
                user_source: Some(0),
                counters: inc.counters(),
            })
        })
        .collect()
}

/// getuserread channels: all, session, friends, moments, history, other, top stories, search.
const READ_SOURCES: [u64; 8] = [99_999_999, 0, 1, 2, 4, 5, 6, 7];

/// A day's read counters by READ_SOURCES index (index 0, "all", is the sum of the others).
fn user_read_day(app_id: &str, day: Date) -> [ArticleCounters; 8] {
    let mut user = [0u64; 8];
    let mut count = [0u64; 8];
    let (mut share_user, mut share_count, mut fav_user, mut fav_count, mut ori_user, mut ori_count) =
        (0, 0, 0, 0, 0, 0);
    for (a, d) in recent_mass(app_id, day) {
        let inc = mass_increment(&a, d);
        // session -> 0, hist_msg -> 4, feed -> 2 (Moments), friends -> 1, other -> 5/6/7.
        for (src, slot) in [(0usize, 1usize), (1, 4), (2, 3), (3, 2)] {
            user[slot] += inc.user[src];
            count[slot] += inc.count[src];
        }
        for (i, part) in split(inc.user[4], &[0.5, 0.3, 0.2], 0)
            .into_iter()
            .enumerate()
        {
            user[5 + i] += part;
        }
        for (i, part) in split(inc.count[4], &[0.5, 0.3, 0.2], 0)
            .into_iter()
            .enumerate()
        {
            count[5 + i] += part;
        }
        share_user += inc.share_user;
        share_count += inc.share_count;
        fav_user += inc.fav_user;
        fav_count += inc.fav_count;
        ori_user += inc.ori_user;
        ori_count += inc.ori_count;
    }
    // Old articles keep being found through history, search and recommendations.
    let mut r = rng(app_id, "userread-tail", day);
    let t = trend(app_id, day);
    for (slot, rate) in [(4, 0.002), (5, 0.0005), (6, 0.001), (7, 0.001)] {
        let u = (t * rate * r.range(0.7, 1.3)).round() as u64;
        user[slot] += u;
        count[slot] += (u as f64 * r.range(1.1, 1.3)).round() as u64;
    }
    user[0] = user[1..].iter().sum();
    count[0] = count[1..].iter().sum();
    let su = split(share_user, &[0.5, 0.3, 0.2], 0);
    let sc = split(share_count, &[0.5, 0.3, 0.2], 0);
    std::array::from_fn(|i| {
        let (s_user, s_count) = match i {
            0 => (share_user, share_count),
            1..=3 => (su[i - 1], sc[i - 1]),
            _ => (0, 0),
        };
        ArticleCounters {
            int_page_read_user: Some(user[i]),
            int_page_read_count: Some(count[i]),
            // Original-page reads and favourites are given on the "all" row only.
            ori_page_read_user: (i == 0).then_some(ori_user),
            ori_page_read_count: (i == 0).then_some(ori_count),
            share_user: Some(s_user),
            share_count: Some(s_count),
            add_to_fav_user: (i == 0).then_some(fav_user),
            add_to_fav_count: (i == 0).then_some(fav_count),
        }
    })
}

fn user_read(app_id: &str, day: Date) -> Vec<UserReadRow> {
    user_read_day(app_id, day)
        .into_iter()
        .zip(READ_SOURCES)
        .map(|(counters, src)| UserReadRow {
            ref_date: Some(day),
            user_source: Some(src),
            counters,
        })
        .collect()
}

fn user_read_hour(app_id: &str, day: Date) -> Vec<UserReadHourRow> {
    let w = hour_weights(app_id, "read-hours", day);
    let peak = 20;
    let mut rows = Vec::new();
    for (c, src) in user_read_day(app_id, day).into_iter().zip(READ_SOURCES) {
        let per = |v: Option<u64>| split(v.unwrap_or(0), &w, peak);
        let (u, n, su, sc) = (
            per(c.int_page_read_user),
            per(c.int_page_read_count),
            per(c.share_user),
            per(c.share_count),
        );
        for h in 0..24 {
            if u[h] + n[h] + su[h] + sc[h] == 0 {
                continue;
            }
            rows.push(UserReadHourRow {
                ref_date: Some(day),
                ref_hour: Some(h as u64 * 100),
                user_source: Some(src),
                counters: ArticleCounters {
                    int_page_read_user: Some(u[h]),
                    int_page_read_count: Some(n[h]),
                    share_user: Some(su[h]),
                    share_count: Some(sc[h]),
                    ..Default::default()
                },
            });
        }
    }
    rows
}

const SHARE_SCENES: [u64; 3] = [1, 2, 255];

/// (share_user, share_count) per SHARE_SCENES on `day`.
fn user_share_day(app_id: &str, day: Date) -> [(u64, u64); 3] {
    let all = &user_read_day(app_id, day)[0];
    let weights = [0.65, 0.28, 0.07];
    let u = split(all.share_user.unwrap_or(0), &weights, 0);
    let c = split(all.share_count.unwrap_or(0), &weights, 0);
    [(u[0], c[0]), (u[1], c[1]), (u[2], c[2])]
}

fn user_share(app_id: &str, day: Date) -> Vec<UserShareRow> {
    user_share_day(app_id, day)
        .into_iter()
        .zip(SHARE_SCENES)
        .filter(|((_, c), _)| *c > 0)
        .map(|((u, c), scene)| UserShareRow {
            ref_date: Some(day),
            share_scene: Some(scene),
            share_count: Some(c),
            share_user: Some(u),
        })
        .collect()
}

fn user_share_hour(app_id: &str, day: Date) -> Vec<UserShareHourRow> {
    let w = hour_weights(app_id, "read-hours", day);
    let mut rows = Vec::new();
    for ((u, c), scene) in user_share_day(app_id, day).into_iter().zip(SHARE_SCENES) {
        let (uh, ch) = (split(u, &w, 20), split(c, &w, 20));
        for h in 0..24 {
            if ch[h] > 0 {
                rows.push(UserShareHourRow {
                    ref_date: Some(day),
                    ref_hour: Some(h as u64 * 100),
                    share_scene: Some(scene),
                    share_count: Some(ch[h]),
                    share_user: Some(uh[h].min(ch[h])),
                });
            }
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Followers

/// Follower channels with their share of new followers.
const FOLLOW_SOURCES: [(u64, f64); 15] = [
    (0, 0.25),
    (1, 0.15),
    (17, 0.05),
    (30, 0.3),
    (35, 0.01),
    (39, 0.01),
    (43, 0.02),
    (51, 0.03),
    (57, 0.08),
    (100, 0.05),
    (149, 0.03),
    (161, 0.04),
    (176, 0.01),
    (200, 0.06),
    (201, 0.02),
];

fn user_summary(app_id: &str, day: Date) -> Vec<UserSummaryRow> {
    let mut r = rng(app_id, "followers", day);
    let t = trend(app_id, day);
    // Weekends are a little quieter and a send day brings a bump; both factors average 1, so the
    // net change follows the trend's growth and getusercumulate stays near the trend.
    let weekday = if day.weekday().to_monday_zero_offset() >= 5 {
        0.875
    } else {
        1.05
    };
    let bump = if has_mass_send(app_id, day) {
        1.15
    } else {
        0.75
    };
    let growth = profile(app_id).growth;
    let new_total = (t * (growth + 0.0022) * weekday * bump * r.range(0.85, 1.15)).round() as u64;
    let cancel_total = (t * 0.0022 * r.range(0.85, 1.15)).round() as u64;
    let sources: Vec<(u64, f64)> = FOLLOW_SOURCES
        .iter()
        .copied()
        .filter(|&(s, _)| {
            let always = matches!(s, 0 | 1 | 17 | 30);
            let keep = r.f64() < 0.6;
            (always || keep) && (s != 51 || day < SOURCE_51_END)
        })
        .collect();
    let new_w: Vec<f64> = sources
        .iter()
        .map(|&(_, w)| w * r.range(0.7, 1.3))
        .collect();
    // Unfollows are mostly booked on channel 0.
    let cancel_w: Vec<f64> = sources
        .iter()
        .map(|&(s, w)| if s == 0 { 3.0 } else { w })
        .collect();
    let new = split(new_total, &new_w, 0);
    let cancel = split(cancel_total, &cancel_w, 0);
    sources
        .iter()
        .enumerate()
        .map(|(i, &(s, _))| UserSummaryRow {
            ref_date: Some(day),
            user_source: Some(s),
            new_user: Some(new[i]),
            cancel_user: Some(cancel[i]),
        })
        .collect()
}

fn net_followers(app_id: &str, day: Date) -> i64 {
    user_summary(app_id, day)
        .iter()
        .map(|r| r.new_user.unwrap_or(0) as i64 - r.cancel_user.unwrap_or(0) as i64)
        .sum()
}

/// Followers at the end of `day`: the base at ANCHOR plus every day's net change since, so
/// cumulate(D) = cumulate(D-1) + new(D) - cancel(D) holds exactly.
fn cumulate(app_id: &str, day: Date) -> u64 {
    let base = profile(app_id).base.round() as i64;
    let offset = days_from(ANCHOR, day);
    let value = if offset >= 0 {
        base + (1..=offset)
            .map(|i| net_followers(app_id, add_days(ANCHOR, i)))
            .sum::<i64>()
    } else {
        base - (offset + 1..=0)
            .map(|i| net_followers(app_id, add_days(ANCHOR, i)))
            .sum::<i64>()
    };
    value.max(0) as u64
}

// ---------------------------------------------------------------------------------------------
// Published content (new endpoints)

const SCENES: [(&str, f64); 7] = [
    ("公众号消息", 0.45),
    ("聊天会话", 0.2),
    ("朋友圈", 0.12),
    ("公众号主页", 0.05),
    ("推荐", 0.1),
    ("搜一搜", 0.05),
    ("其他", 0.03),
];
const ALL_SCENE: &str = "全部";

struct PubArticle {
    msgid: String,
    title: String,
    url: String,
    publish_type: u64,
    target: u64,
    scene_cap: [f64; 7],
    share: f64,
    zaikan: f64,
    like: f64,
    comment: f64,
    collection: f64,
    praise_money: f64,
    subscribe: f64,
    finish_rate: f64,
    activetime: f64,
    jump: [f64; 5],
}

#[derive(Default, Clone, Copy)]
struct PubTotals {
    scene: [u64; 7],
    share: u64,
    zaikan: u64,
    like: u64,
    comment: u64,
    collection: u64,
    praise_money: u64,
    subscribe: u64,
}

impl PubTotals {
    fn read_user(&self) -> u64 {
        self.scene.iter().sum()
    }

    fn minus(&self, o: &PubTotals) -> PubTotals {
        PubTotals {
            scene: std::array::from_fn(|i| self.scene[i].saturating_sub(o.scene[i])),
            share: self.share.saturating_sub(o.share),
            zaikan: self.zaikan.saturating_sub(o.zaikan),
            like: self.like.saturating_sub(o.like),
            comment: self.comment.saturating_sub(o.comment),
            collection: self.collection.saturating_sub(o.collection),
            praise_money: self.praise_money.saturating_sub(o.praise_money),
            subscribe: self.subscribe.saturating_sub(o.subscribe),
        }
    }

    fn add(&mut self, o: &PubTotals) {
        for i in 0..7 {
            self.scene[i] += o.scene[i];
        }
        self.share += o.share;
        self.zaikan += o.zaikan;
        self.like += o.like;
        self.comment += o.comment;
        self.collection += o.collection;
        self.praise_money += o.praise_money;
        self.subscribe += o.subscribe;
    }

    /// `全部` first, then every scene.
    fn sources(&self) -> Vec<ReadUserSource> {
        std::iter::once(ReadUserSource {
            user_count: Some(self.read_user()),
            scene_desc: Some(ALL_SCENE.to_string()),
        })
        .chain(
            self.scene
                .iter()
                .zip(SCENES)
                .map(|(n, (desc, _))| ReadUserSource {
                    user_count: Some(*n),
                    scene_desc: Some(desc.to_string()),
                }),
        )
        .collect()
    }
}

fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn pub_articles(app_id: &str, day: Date) -> Vec<PubArticle> {
    if !has_publish(app_id, day) {
        return Vec::new();
    }
    let mut r = rng(app_id, "pub-articles", day);
    let n = 1 + r.below(3) as u32;
    let target = (trend(app_id, day) * r.range(0.97, 1.0)).round() as u64;
    let publish_type = if has_mass_send(app_id, day) { 0 } else { 1 };
    let msg_id = 2_650_000_000 + day_index(day);
    (1..=n)
        .map(|idx| {
            let reads = target as f64 * r.range(0.04, 0.2) / f64::from(idx);
            let scene_cap = std::array::from_fn(|i| reads * SCENES[i].1 * r.range(0.7, 1.3));
            let mut jump: [f64; 5] = std::array::from_fn(|i| r.range(0.5, 1.5) / (i + 1) as f64);
            let jsum: f64 = jump.iter().sum();
            for j in &mut jump {
                *j = round_to(*j / jsum, 7);
            }
            let msgid = format!("{msg_id}_{idx}");
            PubArticle {
                title: title(&mut r, idx),
                url: article_url(&msgid),
                msgid,
                publish_type,
                target,
                scene_cap,
                share: reads * r.range(0.03, 0.09),
                zaikan: reads * r.range(0.02, 0.05),
                like: reads * r.range(0.03, 0.1),
                comment: reads * r.range(0.002, 0.01),
                collection: reads * r.range(0.01, 0.05),
                praise_money: reads * r.range(0.0, 0.2),
                subscribe: reads * r.range(0.01, 0.08),
                finish_rate: round_to(r.range(0.3, 0.75), 7),
                activetime: round_to(r.range(0.5, 3.0), 7),
                jump,
            }
        })
        .collect()
}

fn pub_totals(a: &PubArticle, d: i64) -> PubTotals {
    let c = |cap: f64| cum(cap, K_PUB, d);
    PubTotals {
        scene: std::array::from_fn(|i| c(a.scene_cap[i])),
        share: c(a.share),
        zaikan: c(a.zaikan),
        like: c(a.like),
        comment: c(a.comment),
        collection: c(a.collection),
        praise_money: c(a.praise_money),
        subscribe: c(a.subscribe),
    }
}

fn pub_increment(a: &PubArticle, d: i64) -> PubTotals {
    pub_totals(a, d).minus(&pub_totals(a, d - 1))
}

/// Published pieces read on `day`, with their age, over the last `window` days.
fn recent_pub(app_id: &str, day: Date, window: i64) -> Vec<(PubArticle, i64)> {
    (0..window)
        .flat_map(|d| {
            pub_articles(app_id, add_days(day, -d))
                .into_iter()
                .map(move |a| (a, d))
        })
        .collect()
}

fn total_detail_stat(a: &PubArticle, stat: Date, d: i64) -> TotalDetailStat {
    let t = pub_totals(a, d);
    let read = t.read_user();
    TotalDetailStat {
        stat_date: Some(stat),
        read_user: Some(read),
        read_user_source: t.sources(),
        share_user: Some(t.share),
        zaikan_user: Some(t.zaikan),
        like_user: Some(t.like),
        comment_count: Some(t.comment),
        collection_user: Some(t.collection),
        praise_money: Some(t.praise_money),
        read_subscribe_user: Some(t.subscribe),
        read_delivery_rate: Some(round_to((read as f64 / a.target.max(1) as f64).min(1.0), 7)),
        read_finish_rate: Some(a.finish_rate),
        read_avg_activetime: Some(a.activetime),
        read_jump_position: a
            .jump
            .iter()
            .enumerate()
            .map(|(i, rate)| JumpPosition {
                position: Some(i as u64 + 1),
                rate: Some(*rate),
            })
            .collect(),
    }
}

fn article_total_detail_rows(
    app_id: &str,
    publish: Date,
    last_pub: Date,
) -> Vec<ArticleTotalDetailRow> {
    let last = days_from(publish, last_pub).min(29);
    pub_articles(app_id, publish)
        .into_iter()
        .map(|a| ArticleTotalDetailRow {
            ref_date: Some(publish),
            msgid: Some(a.msgid.clone()),
            publish_type: Some(a.publish_type),
            title: Some(a.title.clone()),
            content_url: Some(a.url.clone()),
            detail_list: (0..=last)
                .map(|d| total_detail_stat(&a, add_days(publish, d), d))
                .collect(),
        })
        .collect()
}

fn article_read(app_id: &str, day: Date) -> Vec<ArticleReadRow> {
    recent_pub(app_id, day, 7)
        .into_iter()
        .filter_map(|(a, d)| {
            let inc = pub_increment(&a, d);
            (inc.read_user() > 0).then(|| ArticleReadRow {
                ref_date: Some(day),
                msgid: Some(a.msgid),
                detail: ArticleReadDetail {
                    read_user: Some(inc.read_user()),
                    read_user_source: inc.sources(),
                },
            })
        })
        .collect()
}

fn article_share(app_id: &str, day: Date) -> Vec<ArticleShareRow> {
    recent_pub(app_id, day, 7)
        .into_iter()
        .filter_map(|(a, d)| {
            let inc = pub_increment(&a, d);
            (inc.share > 0).then_some(ArticleShareRow {
                ref_date: Some(day),
                msgid: Some(a.msgid),
                detail: ArticleShareDetail {
                    share_user: Some(inc.share),
                },
            })
        })
        .collect()
}

fn biz_summary(app_id: &str, day: Date) -> BizSummaryRow {
    let mut sum = PubTotals::default();
    for (a, d) in recent_pub(app_id, day, 30) {
        sum.add(&pub_increment(&a, d));
    }
    // Older pieces keep a trickle of readers from the home page, search and recommendations.
    let mut r = rng(app_id, "biz-tail", day);
    let t = trend(app_id, day);
    for (slot, rate) in [(3, 0.001), (4, 0.0015), (5, 0.001), (6, 0.0005)] {
        sum.scene[slot] += (t * rate * r.range(0.7, 1.3)).round() as u64;
    }
    let read = sum.read_user();
    BizSummaryRow {
        ref_date: Some(day),
        detail: BizSummaryDetail {
            read_user: Some(read),
            read_user_source: sum.sources(),
            share_user: Some(sum.share),
            zaikan_user: Some(sum.zaikan),
            like_user: Some(sum.like),
            comment_count: Some(sum.comment),
            collection_user: Some(sum.collection),
            redirect_ori_page_user: Some((read as f64 * r.range(0.005, 0.02)).round() as u64),
            send_page_count: Some(pub_articles(app_id, day).len() as u64),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

const MSG_TYPES: [(u64, f64); 5] = [(1, 0.7), (2, 0.12), (3, 0.08), (4, 0.03), (6, 0.07)];

/// (msg_type, msg_user, msg_count) sent to the account on `day`.
fn upstream_day(app_id: &str, day: Date) -> Vec<(u64, u64, u64)> {
    let mut r = rng(app_id, "upstream", day);
    let total = (trend(app_id, day) * 0.004 * r.range(0.6, 1.4)).round() as u64;
    let w: Vec<f64> = MSG_TYPES
        .iter()
        .map(|&(_, w)| w * r.range(0.7, 1.3))
        .collect();
    split(total, &w, 0)
        .into_iter()
        .zip(MSG_TYPES)
        .filter(|(count, _)| *count > 0)
        .map(|(count, (t, _))| {
            let user = ((count as f64 / r.range(1.2, 1.8)).round() as u64).clamp(1, count);
            (t, user, count)
        })
        .collect()
}

fn upstream_msg(app_id: &str, day: Date) -> Vec<UpstreamMsgRow> {
    upstream_day(app_id, day)
        .into_iter()
        .map(|(t, user, count)| UpstreamMsgRow {
            ref_date: Some(day),
            msg_type: Some(t),
            msg_user: Some(user),
            msg_count: Some(count),
        })
        .collect()
}

fn upstream_msg_hour(app_id: &str, day: Date) -> Vec<UpstreamMsgHourRow> {
    let w = hour_weights(app_id, "msg-hours", day);
    let mut rows = Vec::new();
    for (t, user, count) in upstream_day(app_id, day) {
        for (h, c) in split(count, &w, 20).into_iter().enumerate() {
            if c == 0 {
                continue;
            }
            let u = ((c as f64 * user as f64 / count as f64).ceil() as u64).clamp(1, c);
            rows.push(UpstreamMsgHourRow {
                ref_date: Some(day),
                ref_hour: Some(h as u64 * 100),
                msg_type: Some(t),
                msg_user: Some(u),
                msg_count: Some(c),
            });
        }
    }
    rows
}

/// Sums a period's days; distinct users over a period are fewer than the sum of daily users.
fn upstream_period(app_id: &str, days: DateRange, overlap: f64) -> Vec<(u64, u64, u64)> {
    MSG_TYPES
        .iter()
        .filter_map(|&(t, _)| {
            let (mut user, mut count) = (0u64, 0u64);
            for day in days.days() {
                for (tt, u, c) in upstream_day(app_id, day) {
                    if tt == t {
                        user += u;
                        count += c;
                    }
                }
            }
            (count > 0).then(|| {
                (
                    t,
                    ((user as f64 * overlap).round() as u64).clamp(1, count),
                    count,
                )
            })
        })
        .collect()
}

fn upstream_rows(label: Date, rows: Vec<(u64, u64, u64)>) -> Vec<UpstreamMsgRow> {
    rows.into_iter()
        .map(|(t, user, count)| UpstreamMsgRow {
            ref_date: Some(label),
            msg_type: Some(t),
            msg_user: Some(user),
            msg_count: Some(count),
        })
        .collect()
}

fn dist_rows(app_id: &str, label: Date, rows: &[(u64, u64, u64)]) -> Vec<UpstreamMsgDistRow> {
    let senders: u64 = rows.iter().map(|r| r.1).sum();
    let mut r = rng(app_id, "dist", label);
    let w = [
        0.02,
        0.78 * r.range(0.9, 1.1),
        0.14 * r.range(0.8, 1.2),
        0.06 * r.range(0.8, 1.2),
    ];
    split(senders, &w, 1)
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .map(|(i, n)| UpstreamMsgDistRow {
            ref_date: Some(label),
            count_interval: Some(i as u64),
            msg_user: Some(n),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Callbacks

fn interface_hours(app_id: &str, day: Date, ratio: Option<f64>) -> Vec<InterfaceSummaryHourRow> {
    let mut r = rng(app_id, "callbacks", day);
    let total = (trend(app_id, day) * 0.05 * r.range(0.8, 1.2)).round() as u64;
    let w = hour_weights(app_id, "callback-hours", day);
    split(total, &w, SLOW_HOUR as usize)
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c > 0)
        .map(|(h, c)| {
            let slow = h as u64 == SLOW_HOUR;
            let fail_rate = r.range(0.001, 0.01);
            // Random rounding keeps small accounts' failures at the right rate on average.
            let fail = match ratio {
                Some(q) => (q * c as f64).round() as u64,
                None => (c as f64 * fail_rate + r.f64()).floor() as u64,
            };
            let avg = if slow {
                r.range(300.0, 900.0)
            } else {
                r.range(40.0, 150.0)
            };
            // Slow but healthy: under the 4 s the near-timeout alert watches (WeChat's limit is 5 s).
            let max = if slow {
                r.range(1800.0, 3500.0)
            } else {
                avg * r.range(3.0, 10.0)
            };
            InterfaceSummaryHourRow {
                ref_date: Some(day),
                ref_hour: Some(h as u64 * 100),
                callback_count: Some(c),
                fail_count: Some(fail.min(c)),
                total_time_cost: Some((c as f64 * avg).round() as u64),
                max_time_cost: Some(max.round() as u64),
            }
        })
        .collect()
}

fn interface_day(app_id: &str, day: Date, ratio: Option<f64>) -> Option<InterfaceSummaryRow> {
    let hours = interface_hours(app_id, day, ratio);
    if hours.is_empty() {
        return None;
    }
    let sum = |f: fn(&InterfaceSummaryHourRow) -> Option<u64>| -> u64 {
        hours.iter().filter_map(f).sum()
    };
    let callbacks = sum(|h| h.callback_count);
    let fail = match ratio {
        Some(q) => ((q * callbacks as f64).round() as u64).min(callbacks),
        None => sum(|h| h.fail_count),
    };
    Some(InterfaceSummaryRow {
        ref_date: Some(day),
        callback_count: Some(callbacks),
        fail_count: Some(fail),
        total_time_cost: Some(sum(|h| h.total_time_cost)),
        max_time_cost: hours.iter().filter_map(|h| h.max_time_cost).max(),
    })
}

// ---------------------------------------------------------------------------------------------
// The answer to one request

fn per_day<T>(days: &[Date], f: impl Fn(Date) -> Vec<T>) -> Vec<T> {
    days.iter().flat_map(|d| f(*d)).collect()
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
    let ratio = ctx.callback_failure_ratio;
    let report = match endpoint {
        Endpoint::UserSummary => Report::UserSummary(per_day(&days, |d| user_summary(app_id, d))),
        Endpoint::UserCumulate => {
            let mut rows = Vec::new();
            let mut value = None;
            for d in &days {
                // One walk from the anchor, then step by each day's net change.
                let v = match value {
                    None => cumulate(app_id, *d),
                    Some(prev) => (prev as i64 + net_followers(app_id, *d)).max(0) as u64,
                };
                value = Some(v);
                rows.push(UserCumulateRow {
                    ref_date: Some(*d),
                    cumulate_user: Some(v),
                    user_source: Some(0),
                });
            }
            Report::UserCumulate(rows)
        }
        Endpoint::ArticleSummary => {
            Report::ArticleSummary(per_day(&days, |d| article_summary(app_id, d)))
        }
        Endpoint::ArticleTotal => {
            Report::ArticleTotal(per_day(&days, |d| article_total(app_id, d, last)))
        }
        Endpoint::UserRead => Report::UserRead(per_day(&days, |d| user_read(app_id, d))),
        Endpoint::UserReadHour => {
            Report::UserReadHour(per_day(&days, |d| user_read_hour(app_id, d)))
        }
        Endpoint::UserShare => Report::UserShare(per_day(&days, |d| user_share(app_id, d))),
        Endpoint::UserShareHour => {
            Report::UserShareHour(per_day(&days, |d| user_share_hour(app_id, d)))
        }
        Endpoint::UpstreamMsg => Report::UpstreamMsg(per_day(&days, |d| upstream_msg(app_id, d))),
        Endpoint::UpstreamMsgHour => {
            Report::UpstreamMsgHour(per_day(&days, |d| upstream_msg_hour(app_id, d)))
        }
        Endpoint::UpstreamMsgWeek | Endpoint::UpstreamMsgMonth => {
            let period = endpoint.period();
            let overlap = if period == Period::Week { 0.75 } else { 0.6 };
            let rows = labels(period)
                .into_iter()
                .flat_map(|l| upstream_rows(l, upstream_period(app_id, period.range(l), overlap)))
                .collect();
            if period == Period::Week {
                Report::UpstreamMsgWeek(rows)
            } else {
                Report::UpstreamMsgMonth(rows)
            }
        }
        Endpoint::UpstreamMsgDist => Report::UpstreamMsgDist(per_day(&days, |d| {
            dist_rows(app_id, d, &upstream_day(app_id, d))
        })),
        Endpoint::UpstreamMsgDistWeek | Endpoint::UpstreamMsgDistMonth => {
            let period = endpoint.period();
            let overlap = if period == Period::Week { 0.75 } else { 0.6 };
            let rows = labels(period)
                .into_iter()
                .flat_map(|l| {
                    let msgs = upstream_period(app_id, period.range(l), overlap);
                    dist_rows(app_id, l, &msgs)
                })
                .collect();
            if period == Period::Week {
                Report::UpstreamMsgDistWeek(rows)
            } else {
                Report::UpstreamMsgDistMonth(rows)
            }
        }
        Endpoint::InterfaceSummary => Report::InterfaceSummary(per_day(&days, |d| {
            interface_day(app_id, d, ratio).into_iter().collect()
        })),
        Endpoint::InterfaceSummaryHour => {
            Report::InterfaceSummaryHour(per_day(&days, |d| interface_hours(app_id, d, ratio)))
        }
        Endpoint::ArticleRead => Report::ArticleRead(per_day(&days, |d| article_read(app_id, d))),
        Endpoint::ArticleShare => {
            Report::ArticleShare(per_day(&days, |d| article_share(app_id, d)))
        }
        Endpoint::BizSummary => {
            Report::BizSummary(per_day(&days, |d| vec![biz_summary(app_id, d)]))
        }
        Endpoint::ArticleTotalDetail => Report::ArticleTotalDetail(per_day(&days, |d| {
            article_total_detail_rows(app_id, d, last)
        })),
    };
    (report, is_delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "wxdemo0000000002";

    fn ctx(last_published: Date) -> Ctx {
        Ctx {
            last_published,
            callback_failure_ratio: None,
        }
    }

    fn day(d: Date) -> DateRange {
        DateRange::day(d)
    }

    #[test]
    fn split_is_exact() {
        assert_eq!(split(10, &[1.0, 1.0, 1.0], 0), vec![4, 3, 3]);
        assert_eq!(split(7, &[0.0, 2.0], 1), vec![0, 7]);
        assert_eq!(split(5, &[], 0), Vec::<u64>::new());
        assert_eq!(
            split(1_000_003, &[0.3, 0.3, 0.4], 2).iter().sum::<u64>(),
            1_000_003
        );
    }

    #[test]
    fn followers_add_up_day_by_day() {
        let last = date(2026, 11, 23);
        let week = DateRange::new(date(2026, 11, 17), last).unwrap();
        let (Report::UserCumulate(cumulative), None) =
            answer(APP, Endpoint::UserCumulate, week, ctx(last))
        else {
            panic!("variant")
        };
        let (Report::UserSummary(summary), None) =
            answer(APP, Endpoint::UserSummary, week, ctx(last))
        else {
            panic!("variant")
        };
        assert_eq!(cumulative.len(), 7);
        for pair in cumulative.windows(2) {
            let d = pair[1].ref_date.unwrap();
            let rows: Vec<_> = summary.iter().filter(|r| r.ref_date == Some(d)).collect();
            assert!(rows.len() >= 4, "{d}: {} sources", rows.len());
            let net: i64 = rows
                .iter()
                .map(|r| r.new_user.unwrap() as i64 - r.cancel_user.unwrap() as i64)
                .sum();
            assert_eq!(
                pair[1].cumulate_user.unwrap() as i64,
                pair[0].cumulate_user.unwrap() as i64 + net,
                "{d}"
            );
            // A range answer equals single-day answers.
            assert_eq!(cumulate(APP, d), pair[1].cumulate_user.unwrap());
        }
        // Also across the anchor, and before it.
        for d in [date(2026, 1, 1), date(2025, 12, 31), date(2024, 3, 1)] {
            let net: i64 = user_summary(APP, d)
                .iter()
                .map(|r| r.new_user.unwrap() as i64 - r.cancel_user.unwrap() as i64)
                .sum();
            assert_eq!(
                cumulate(APP, d) as i64,
                cumulate(APP, add_days(d, -1)) as i64 + net,
                "{d}"
            );
        }
        // Source 51 was folded into 0 in 2023-06.
        assert!(
            (0..60)
                .flat_map(|i| user_summary(APP, add_days(date(2023, 6, 1), i)))
                .all(|r| r.user_source != Some(51))
        );
    }

    #[test]
    fn sends_and_publishes_are_frequent_and_never_three_days_apart() {
        for (name, f) in [
            ("mass", has_mass_send as fn(&str, Date) -> bool),
            ("publish", has_publish),
        ] {
            let days: Vec<bool> = (0..365)
                .map(|i| f(APP, add_days(date(2025, 11, 1), i)))
                .collect();
            let share = days.iter().filter(|b| **b).count() as f64 / days.len() as f64;
            assert!((0.5..0.75).contains(&share), "{name}: {share}");
            assert!(
                days.windows(3).all(|w| w.iter().any(|b| *b)),
                "{name}: three quiet days in a row"
            );
        }
        assert!(!has_publish(APP, date(2025, 10, 31)));
        assert!(!has_mass_send(APP, date(2014, 11, 30)));
    }

    #[test]
    fn mass_sent_articles_saturate_over_seven_days() {
        let send = (0..10)
            .map(|i| add_days(date(2026, 11, 1), i))
            .find(|d| has_mass_send(APP, *d))
            .unwrap();
        let far = add_days(send, 40);
        let (Report::ArticleTotal(rows), None) =
            answer(APP, Endpoint::ArticleTotal, day(send), ctx(far))
        else {
            panic!("variant")
        };
        assert!(!rows.is_empty());
        let first = rows[0].title.as_deref().unwrap();
        for needle in ["\"", "\\", "\n", "🎉", "限时"] {
            assert!(first.contains(needle), "{first:?} lacks {needle:?}");
        }
        for row in &rows {
            assert_eq!(row.details.len(), 7);
            let target = row.details[0].target_user;
            for d in &row.details {
                assert_eq!(d.target_user, target);
                let c = &d.counters;
                let by_source = [
                    d.int_page_from_session_read_user,
                    d.int_page_from_hist_msg_read_user,
                    d.int_page_from_feed_read_user,
                    d.int_page_from_friends_read_user,
                    d.int_page_from_other_read_user,
                ];
                assert_eq!(
                    by_source.iter().map(|v| v.unwrap()).sum::<u64>(),
                    c.int_page_read_user.unwrap()
                );
                let counts = [
                    d.int_page_from_session_read_count,
                    d.int_page_from_hist_msg_read_count,
                    d.int_page_from_feed_read_count,
                    d.int_page_from_friends_read_count,
                    d.int_page_from_other_read_count,
                ];
                assert_eq!(
                    counts.iter().map(|v| v.unwrap()).sum::<u64>(),
                    c.int_page_read_count.unwrap()
                );
            }
            let reads: Vec<u64> = row
                .details
                .iter()
                .map(|d| d.counters.int_page_read_user.unwrap())
                .collect();
            assert!(reads.windows(2).all(|w| w[0] <= w[1]), "{reads:?}");
            let shares: Vec<u64> = row
                .details
                .iter()
                .map(|d| d.counters.share_count.unwrap())
                .collect();
            assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
            // Most readers come on the first days; the last day adds almost nothing.
            let last = reads[6] as f64;
            assert!(
                reads[0] as f64 > 0.5 * last && reads[0] as f64 <= 0.7 * last,
                "{reads:?}"
            );
            assert!(reads[5] as f64 >= 0.995 * last, "{reads:?}");
        }
        // Details stop at the last published day.
        let (Report::ArticleTotal(rows), None) = answer(
            APP,
            Endpoint::ArticleTotal,
            day(send),
            ctx(add_days(send, 2)),
        ) else {
            panic!("variant")
        };
        assert_eq!(rows[0].details.len(), 3);
    }

    #[test]
    fn published_articles_saturate_over_thirty_days() {
        let publish = (0..10)
            .map(|i| add_days(date(2026, 9, 1), i))
            .find(|d| has_publish(APP, *d))
            .unwrap();
        let (Report::ArticleTotalDetail(rows), Some(false)) = answer(
            APP,
            Endpoint::ArticleTotalDetail,
            day(publish),
            ctx(date(2026, 11, 23)),
        ) else {
            panic!("variant")
        };
        assert!(!rows.is_empty());
        for row in &rows {
            assert_eq!(row.detail_list.len(), 30);
            assert!(matches!(row.publish_type, Some(0 | 1)));
            let reads: Vec<u64> = row
                .detail_list
                .iter()
                .map(|s| s.read_user.unwrap())
                .collect();
            assert!(reads.windows(2).all(|w| w[0] <= w[1]), "{reads:?}");
            let cap = reads[29] as f64;
            assert!((reads[0] as f64) < 0.4 * cap && reads[28] as f64 >= 0.999 * cap);
            for s in &row.detail_list {
                assert_eq!(s.read_user_source[0].scene_desc.as_deref(), Some("全部"));
                assert_eq!(s.read_user_source[0].user_count, s.read_user);
                let parts: u64 = s.read_user_source[1..]
                    .iter()
                    .map(|x| x.user_count.unwrap())
                    .sum();
                assert_eq!(Some(parts), s.read_user);
                for rate in [s.read_delivery_rate, s.read_finish_rate] {
                    assert!((0.0..=1.0).contains(&rate.unwrap()));
                }
                let jump: f64 = s.read_jump_position.iter().map(|j| j.rate.unwrap()).sum();
                assert!((jump - 1.0).abs() < 1e-5, "{jump}");
            }
            let likes: Vec<u64> = row
                .detail_list
                .iter()
                .map(|s| s.like_user.unwrap())
                .collect();
            assert!(likes.windows(2).all(|w| w[0] <= w[1]));
        }
        // Before 2025-11-01 there is nothing.
        let (report, _) = answer(
            APP,
            Endpoint::ArticleTotalDetail,
            day(date(2025, 10, 31)),
            ctx(date(2026, 11, 23)),
        );
        assert!(report.is_empty());
    }

    #[test]
    fn reads_all_is_the_sum_of_channels_and_hours_add_up() {
        let d = date(2026, 11, 20);
        let rows = user_read(APP, d);
        let all = &rows[0].counters;
        assert_eq!(rows[0].user_source, Some(99_999_999));
        let sum = |f: fn(&ArticleCounters) -> Option<u64>| -> u64 {
            rows[1..].iter().map(|r| f(&r.counters).unwrap()).sum()
        };
        assert_eq!(all.int_page_read_user, Some(sum(|c| c.int_page_read_user)));
        assert_eq!(
            all.int_page_read_count,
            Some(sum(|c| c.int_page_read_count))
        );
        assert_eq!(all.share_count, Some(sum(|c| c.share_count)));
        assert!(rows[1].counters.ori_page_read_user.is_none());
        let hours = user_read_hour(APP, d);
        let hourly_all: u64 = hours
            .iter()
            .filter(|h| h.user_source == Some(99_999_999))
            .map(|h| h.counters.int_page_read_count.unwrap())
            .sum();
        assert_eq!(Some(hourly_all), all.int_page_read_count);
        assert!(
            hours
                .iter()
                .all(|h| h.ref_hour.unwrap() % 100 == 0 && h.ref_hour.unwrap() <= 2300)
        );
        let shares: u64 = user_share(APP, d)
            .iter()
            .map(|r| r.share_count.unwrap())
            .sum();
        assert_eq!(Some(shares), all.share_count);
    }

    #[test]
    fn callbacks_day_is_the_sum_of_hours_with_a_slow_evening() {
        let d = date(2026, 11, 20);
        let hours = interface_hours(APP, d, None);
        let daily = interface_day(APP, d, None).unwrap();
        let sum = |f: fn(&InterfaceSummaryHourRow) -> Option<u64>| -> u64 {
            hours.iter().map(|h| f(h).unwrap()).sum()
        };
        assert_eq!(daily.callback_count, Some(sum(|h| h.callback_count)));
        assert_eq!(daily.fail_count, Some(sum(|h| h.fail_count)));
        assert_eq!(daily.total_time_cost, Some(sum(|h| h.total_time_cost)));
        let slowest = hours.iter().max_by_key(|h| h.max_time_cost).unwrap();
        assert_eq!(slowest.ref_hour, Some(SLOW_HOUR * 100));
        assert_eq!(daily.max_time_cost, slowest.max_time_cost);
        assert!(
            daily.max_time_cost.unwrap() < 4000,
            "healthy data stays clear of the 5 s limit"
        );
        assert!(daily.fail_count.unwrap() > 0);
        assert!(daily.fail_count.unwrap() * 50 < daily.callback_count.unwrap());
    }

    #[test]
    fn week_and_month_rows_only_for_finished_periods() {
        // 2026-11-23 is a Monday; the week of 11-16 ended on Sunday 11-22.
        let monday = date(2026, 11, 16);
        let (Report::UpstreamMsgWeek(rows), _) = answer(
            APP,
            Endpoint::UpstreamMsgWeek,
            day(monday),
            ctx(date(2026, 11, 22)),
        ) else {
            panic!("variant")
        };
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.ref_date == Some(monday)));
        let daily: u64 = DateRange::new(monday, date(2026, 11, 22))
            .unwrap()
            .days()
            .flat_map(|d| upstream_msg(APP, d))
            .filter(|r| r.msg_type == Some(1))
            .map(|r| r.msg_count.unwrap())
            .sum();
        let text = rows.iter().find(|r| r.msg_type == Some(1)).unwrap();
        assert_eq!(text.msg_count, Some(daily));
        // Not before the Sunday is published.
        let (report, _) = answer(
            APP,
            Endpoint::UpstreamMsgWeek,
            day(monday),
            ctx(date(2026, 11, 21)),
        );
        assert!(report.is_empty());
        // A month is labelled with its 1st, whatever day was asked.
        let (Report::UpstreamMsgDistMonth(rows), _) = answer(
            APP,
            Endpoint::UpstreamMsgDistMonth,
            day(date(2026, 10, 15)),
            ctx(date(2026, 11, 22)),
        ) else {
            panic!("variant")
        };
        assert!(rows.iter().all(|r| r.ref_date == Some(date(2026, 10, 1))));
        assert!(rows.iter().all(|r| r.count_interval.unwrap() <= 3));
        assert!(rows.len() >= 3);
    }
}
