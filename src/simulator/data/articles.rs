//! Mass-sent articles: the legacy article endpoints (getarticlesummary, getarticletotal, getuserread(hour), getusershare(hour)).

use super::*;

/// Sources of getarticletotal's int_page_from_*: session, hist_msg, feed, friends, other.
pub(super) const MASS_SOURCE_WEIGHTS: [f64; 5] = [0.55, 0.05, 0.15, 0.2, 0.05];

pub(super) struct MassArticle {
    pub(super) msgid: String,
    pub(super) title: String,
    pub(super) url: String,
    pub(super) target: u64,
    pub(super) user_cap: [f64; 5],
    pub(super) count_cap: [f64; 5],
    pub(super) share_user: f64,
    pub(super) share_count: f64,
    pub(super) fav_user: f64,
    pub(super) fav_count: f64,
    pub(super) ori_user: f64,
    pub(super) ori_count: f64,
}

/// Running totals of a mass-sent article `d` days after sending.
#[derive(Default, Clone, Copy)]
pub(super) struct MassTotals {
    pub(super) user: [u64; 5],
    pub(super) count: [u64; 5],
    pub(super) share_user: u64,
    pub(super) share_count: u64,
    pub(super) fav_user: u64,
    pub(super) fav_count: u64,
    pub(super) ori_user: u64,
    pub(super) ori_count: u64,
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

pub(super) fn mass_articles(app_id: &str, send: Date) -> Vec<MassArticle> {
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

pub(super) fn mass_totals(a: &MassArticle, d: i64) -> MassTotals {
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
pub(super) fn mass_increment(a: &MassArticle, d: i64) -> MassTotals {
    mass_totals(a, d).minus(&mass_totals(a, d - 1))
}

/// Every mass-sent article still being read on `day` (sent in the 7 days up to it), with its age.
pub(super) fn recent_mass(app_id: &str, day: Date) -> Vec<(MassArticle, i64)> {
    (0..7)
        .flat_map(|d| {
            mass_articles(app_id, add_days(day, -d))
                .into_iter()
                .map(move |a| (a, d))
        })
        .collect()
}

pub(super) fn article_total_detail(a: &MassArticle, stat: Date, d: i64) -> ArticleTotalDetail {
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

pub(super) fn article_total(app_id: &str, send: Date, last_pub: Date) -> Vec<ArticleTotalRow> {
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

pub(super) fn article_summary(app_id: &str, day: Date) -> Vec<ArticleSummaryRow> {
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
pub(super) const READ_SOURCES: [u64; 8] = [99_999_999, 0, 1, 2, 4, 5, 6, 7];

/// A day's read counters by READ_SOURCES index (index 0, "all", is the sum of the others).
pub(super) fn user_read_day(app_id: &str, day: Date) -> [ArticleCounters; 8] {
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

pub(super) fn user_read(app_id: &str, day: Date) -> Vec<UserReadRow> {
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

pub(super) fn user_read_hour(app_id: &str, day: Date) -> Vec<UserReadHourRow> {
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

pub(super) const SHARE_SCENES: [u64; 3] = [1, 2, 255];

/// (share_user, share_count) per SHARE_SCENES on `day`.
pub(super) fn user_share_day(app_id: &str, day: Date) -> [(u64, u64); 3] {
    let all = &user_read_day(app_id, day)[0];
    let weights = [0.65, 0.28, 0.07];
    let u = split(all.share_user.unwrap_or(0), &weights, 0);
    let c = split(all.share_count.unwrap_or(0), &weights, 0);
    [(u[0], c[0]), (u[1], c[1]), (u[2], c[2])]
}

pub(super) fn user_share(app_id: &str, day: Date) -> Vec<UserShareRow> {
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

pub(super) fn user_share_hour(app_id: &str, day: Date) -> Vec<UserShareHourRow> {
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

impl RowSource<ArticleSummaryRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<ArticleSummaryRow> {
        self.per_day(|d| article_summary(self.app_id, d))
    }
}

impl RowSource<ArticleTotalRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<ArticleTotalRow> {
        self.per_day(|d| article_total(self.app_id, d, self.last))
    }
}

impl RowSource<UserReadRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserReadRow> {
        self.per_day(|d| user_read(self.app_id, d))
    }
}

impl RowSource<UserReadHourRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserReadHourRow> {
        self.per_day(|d| user_read_hour(self.app_id, d))
    }
}

impl RowSource<UserShareRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserShareRow> {
        self.per_day(|d| user_share(self.app_id, d))
    }
}

impl RowSource<UserShareHourRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<UserShareHourRow> {
        self.per_day(|d| user_share_hour(self.app_id, d))
    }
}
