//! Published content: getarticleread, getarticleshare, getbizsummary, getarticletotaldetail.

use super::*;

pub(super) const SCENES: [(&str, f64); 7] = [
    ("公众号消息", 0.45),
    ("聊天会话", 0.2),
    ("朋友圈", 0.12),
    ("公众号主页", 0.05),
    ("推荐", 0.1),
    ("搜一搜", 0.05),
    ("其他", 0.03),
];
pub(super) const ALL_SCENE: &str = "全部";

pub(super) struct PubArticle {
    pub(super) msgid: String,
    pub(super) title: String,
    pub(super) url: String,
    pub(super) publish_type: u64,
    pub(super) target: u64,
    pub(super) scene_cap: [f64; 7],
    pub(super) share: f64,
    pub(super) zaikan: f64,
    pub(super) like: f64,
    pub(super) comment: f64,
    pub(super) collection: f64,
    pub(super) praise_money: f64,
    pub(super) subscribe: f64,
    pub(super) finish_rate: f64,
    pub(super) activetime: f64,
    pub(super) jump: [f64; 5],
}

#[derive(Default, Clone, Copy)]
pub(super) struct PubTotals {
    pub(super) scene: [u64; 7],
    pub(super) share: u64,
    pub(super) zaikan: u64,
    pub(super) like: u64,
    pub(super) comment: u64,
    pub(super) collection: u64,
    pub(super) praise_money: u64,
    pub(super) subscribe: u64,
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

pub(super) fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

pub(super) fn pub_articles(app_id: &str, day: Date) -> Vec<PubArticle> {
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

pub(super) fn pub_totals(a: &PubArticle, d: i64) -> PubTotals {
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

pub(super) fn pub_increment(a: &PubArticle, d: i64) -> PubTotals {
    pub_totals(a, d).minus(&pub_totals(a, d - 1))
}

/// Published pieces read on `day`, with their age, over the last `window` days.
pub(super) fn recent_pub(app_id: &str, day: Date, window: i64) -> Vec<(PubArticle, i64)> {
    (0..window)
        .flat_map(|d| {
            pub_articles(app_id, add_days(day, -d))
                .into_iter()
                .map(move |a| (a, d))
        })
        .collect()
}

pub(super) fn total_detail_stat(a: &PubArticle, stat: Date, d: i64) -> TotalDetailStat {
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

pub(super) fn article_total_detail_rows(
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

pub(super) fn article_read(app_id: &str, day: Date) -> Vec<ArticleReadRow> {
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

pub(super) fn article_share(app_id: &str, day: Date) -> Vec<ArticleShareRow> {
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

pub(super) fn biz_summary(app_id: &str, day: Date) -> BizSummaryRow {
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

impl RowSource<ArticleReadRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<ArticleReadRow> {
        self.per_day(|d| article_read(self.app_id, d))
    }
}

impl RowSource<ArticleShareRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<ArticleShareRow> {
        self.per_day(|d| article_share(self.app_id, d))
    }
}

impl RowSource<BizSummaryRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<BizSummaryRow> {
        self.per_day(|d| vec![biz_summary(self.app_id, d)])
    }
}

impl RowSource<ArticleTotalDetailRow> for Source<'_> {
    fn rows(&self, _: Endpoint) -> Vec<ArticleTotalDetailRow> {
        self.per_day(|d| article_total_detail_rows(self.app_id, d, self.last))
    }
}
