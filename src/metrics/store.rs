//! The store: the latest snapshot of every account, the exporter's own families, and the
//! pre-encoded blocks (`exposition`) that a scrape copies.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use super::*;

/// One account's series by family. Each family's points are shared: a snapshot that changes
/// one family (`mark_down`, `set_exclusions`) shares the others with the one it replaces, which
/// the business block may still hold, instead of copying them.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(super) families: BTreeMap<&'static str, Arc<[Point]>>,
}

impl Snapshot {
    pub(super) fn new(samples: Vec<Sample>) -> Self {
        let mut families: BTreeMap<&'static str, Vec<Point>> = BTreeMap::new();
        for s in samples {
            families.entry(s.name).or_default().push(s.into());
        }
        // Exactly sized: kept until the account's next update.
        let families = families.into_iter().map(|(f, v)| (f, v.into())).collect();
        Self { families }
    }
}

/// Every family by name (sorted, as `/metrics` writes them): the accounts' samples in account
/// order, then the exporter's own. What both the encoders and the OTLP view read.
pub(super) fn merged_families<'a>(
    accounts: &'a [Arc<Snapshot>],
    own: &'a [(&'static str, Point)],
) -> BTreeMap<&'static str, Vec<&'a Point>> {
    let mut families: BTreeMap<&'static str, Vec<&Point>> = BTreeMap::new();
    for snapshot in accounts {
        for (name, samples) in &snapshot.families {
            families.entry(name).or_default().extend(samples.iter());
        }
    }
    for (family, s) in own {
        families.entry(family).or_default().push(s);
    }
    families
}

pub(super) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether a family goes in the live block (it changes between business updates: the
/// exporter's own families and the probe's) rather than the business block.
pub(super) fn is_live(family: &str) -> bool {
    lookup(family).is_some_and(|m| m.group == m::EXPORTER || m.group == m::PROBE)
}

pub(super) fn is_business(family: &str) -> bool {
    !is_live(family)
}

/// Told the account and duration in seconds of each finished probe.
pub type ProbeObserver = Arc<dyn Fn(&str, f64) + Send + Sync>;

/// The latest snapshot of every account and the encoded bodies.
pub struct Store {
    /// `wechat_mp_exporter_build_info`'s one series.
    pub(super) build_info: Point,
    /// (last load succeeded, Unix time of the last success).
    pub(super) reload: Mutex<(bool, f64)>,
    pub(super) accounts: Mutex<BTreeMap<String, Arc<Snapshot>>>,
    /// The callback probe's series of each probed account (fed through `ProbeSink`).
    pub(super) probes: Mutex<BTreeMap<String, probe_series::ProbeSeries>>,
    /// Told each finished probe (account, seconds): the OTLP push's histogram.
    pub(super) probe_observers: Mutex<Vec<ProbeObserver>>,
    pub(super) self_metrics: Arc<SelfMetrics>,
    /// `[metrics] exclude`.
    pub(super) exclude: ArcSwap<Exclusions>,
    /// Set when business data changed: the business block is rebuilt at the next scrape.
    pub(super) business_changed: Changed,
    /// In parts of whole families, encoded side by side (see [`business_parts`]).
    pub(super) business: ArcSwap<Vec<Arc<exposition::Block>>>,
    /// The block of what changes between business updates, in three parts (see [`Live`]).
    pub(super) live: Live,
    /// Small answers joined into one buffer, reused while their blocks stay the same.
    pub(super) joined: Arc<exposition::Joined>,
}

impl Store {
    /// An empty store reporting `version` and `revision` in `wechat_mp_exporter_build_info`.
    pub fn new(version: &str, revision: &str) -> Arc<Store> {
        let live = Live::default();
        let store = Store {
            build_info: Point {
                labels: vec![("version", version.into()), ("revision", revision.into())].into(),
                value: Value::Int(1),
            },
            reload: Mutex::new((true, unix_now())),
            accounts: Mutex::new(BTreeMap::new()),
            probes: Mutex::new(BTreeMap::new()),
            probe_observers: Mutex::new(Vec::new()),
            // The counters mark the live block's own part themselves: one flag, not a copy.
            self_metrics: Arc::new(SelfMetrics::marking(live.own.changed.clone())),
            exclude: ArcSwap::default(),
            business_changed: Changed::default(),
            business: ArcSwap::from_pointee(vec![Arc::new(exposition::Block::new(
                Default::default(),
                None,
            ))]),
            live,
            joined: Arc::default(),
        };
        // The encode counter exists from the start, at 0, so rate() sees the first encoding.
        for format in Format::ALL {
            store.self_metrics.add_exporter_count(
                m::EXPORTER_BUSINESS_ENCODES_TOTAL.name,
                ("format", format.label()),
                0,
            );
        }
        Arc::new(store)
    }

    /// The call counters the WeChat clients feed.
    pub fn self_metrics(&self) -> Arc<SelfMetrics> {
        self.self_metrics.clone()
    }

    /// Replaces the account's snapshot; the bodies are re-encoded at the next scrape.
    pub fn update_account(
        &self,
        name: &str,
        reports: &AccountReports,
        status: &AccountStatus,
        max_articles: usize,
    ) {
        // Map outside the lock: it is the expensive part and touches nothing shared.
        let snapshot = Arc::new(Snapshot::new(map_account_excluding(
            name,
            reports,
            status,
            max_articles,
            self.exclude.load_full(),
        )));
        self.lock().insert(name.to_string(), snapshot);
        self.mark_stale();
    }

    /// Shows the account as down (`wechat_mp_up` 0) without touching its other series: its round
    /// is stuck, and the round's end replaces the whole snapshot anyway.
    pub fn mark_down(&self, name: &str) {
        let mut accounts = self.lock();
        let Some(snapshot) = accounts.get_mut(name) else {
            return;
        };
        let Some(up) = snapshot.families.get(m::UP.name) else {
            return;
        };
        let down: Arc<[Point]> = up
            .iter()
            .map(|p| Point {
                value: Value::Int(0),
                ..p.clone()
            })
            .collect();
        // The other families' points are shared, not copied (see `Snapshot`).
        let mut families = snapshot.families.clone();
        families.insert(m::UP.name, down);
        *snapshot = Arc::new(Snapshot { families });
        drop(accounts);
        self.live.status.mark();
    }

    /// An account's snapshot changed: the business block and the accounts' health are rebuilt
    /// at the next scrape. Encoding waits for the scrape: a poll round that updates 1000
    /// accounts one after another then costs one encoding, not 1000.
    pub(super) fn mark_stale(&self) {
        self.business_changed.mark();
        self.live.status.mark();
    }

    /// Applies `[metrics] exclude` (at start and on every reload): excluded families go at once;
    /// families no longer excluded come back with each account's next update.
    pub fn set_exclusions(&self, exclude: Exclusions) {
        if **self.exclude.load() == exclude {
            return;
        }
        let exclude = Arc::new(exclude);
        self.exclude.store(exclude.clone());
        let mut accounts = self.lock();
        for snapshot in accounts.values_mut() {
            if snapshot.families.keys().any(|f| exclude.drops(f)) {
                let kept = snapshot
                    .families
                    .iter()
                    .filter(|(f, _)| !exclude.drops(f))
                    .map(|(f, v)| (*f, v.clone()))
                    .collect();
                *snapshot = Arc::new(Snapshot { families: kept });
            }
        }
        drop(accounts);
        self.mark_stale();
        self.live.probes.mark();
    }

    /// Records a config load: `wechat_mp_exporter_config_last_reload_*`.
    pub fn config_loaded(&self, success: bool) {
        {
            let mut reload = self.reload.lock().unwrap_or_else(|e| e.into_inner());
            reload.0 = success;
            if success {
                reload.1 = unix_now();
            }
        }
        self.live.own.mark();
    }

    /// Drops every series of the account, including its call counters.
    pub fn remove_account(&self, name: &str) {
        self.retain(|a| a != name);
    }

    /// Drops every account not in `names` (it left the config).
    pub fn retain_accounts(&self, names: &[String]) {
        self.retain(|a| names.iter().any(|n| n == a));
    }

    pub(super) fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut accounts = self.lock();
        accounts.retain(|a, _| keep(a));
        self.probes_lock().retain(|a, _| keep(a));
        self.self_metrics.retain(&keep);
        drop(accounts);
        self.mark_stale();
        self.live.probes.mark();
    }

    /// The current blocks; each rebuilt first if what it holds changed since it was built (the
    /// business block only on a business change). Between changes a scrape only copies pointers.
    pub fn exposition(&self) -> Arc<Exposition> {
        if self.business_changed.is_set() {
            let accounts = self.lock();
            // Re-check under the lock: another caller may have just rebuilt it.
            if self.business_changed.take() {
                let snapshots: Vec<Arc<Snapshot>> = accounts.values().cloned().collect();
                let parts = business_parts(&snapshots, rayon::current_num_threads());
                let blocks = parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, names)| {
                        let families = text::Families {
                            accounts: snapshots.clone(),
                            keep: Some(is_business),
                            names,
                            ..Default::default()
                        };
                        // Every part is encoded whenever the first is: count one of them.
                        let counted = (i == 0).then(|| self.self_metrics.clone());
                        Arc::new(exposition::Block::new(families, counted))
                    })
                    .collect();
                self.business.store(Arc::new(blocks));
            }
        }
        let live = [
            self.live.status.current(|| text::Families {
                accounts: self.lock().values().cloned().collect(),
                keep: Some(is_live),
                ..Default::default()
            }),
            self.live.own.current(|| text::Families {
                own: self.exporter_samples(),
                ..Default::default()
            }),
            self.live.probes.current(|| {
                let exclude = self.exclude.load();
                let mut histograms = BTreeMap::new();
                let latency = m::CALLBACK_PROBE_LATENCY_SECONDS.name;
                let series = self.probe_histograms();
                if !exclude.drops(latency) && !series.is_empty() {
                    histograms.insert(latency, series);
                }
                text::Families {
                    own: self.kept_probe_samples(),
                    histograms,
                    ..Default::default()
                }
            }),
        ];
        Arc::new(Exposition::new(
            self.business.load_full(),
            live,
            self.joined.clone(),
        ))
    }

    pub(super) fn probes_lock(
        &self,
    ) -> MutexGuard<'_, BTreeMap<String, probe_series::ProbeSeries>> {
        self.probes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Snapshot>>> {
        // A panic while holding the lock leaves the map consistent (only whole inserts/removes).
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exporter's own samples, each with its family: call counters, the callback probes'
    /// gauges and counters, build info and the config reload (the probe latency histogram is
    /// [`Store::probe_histograms`]). One list for both readers, `/metrics` and
    /// [`Store::snapshot_view`].
    pub(super) fn own_samples(&self) -> Vec<(&'static str, Point)> {
        let mut own = self.exporter_samples();
        own.extend(self.kept_probe_samples());
        own
    }

    /// The probes' gauges and counters that `[metrics] exclude` keeps.
    fn kept_probe_samples(&self) -> Vec<(&'static str, Point)> {
        let exclude = self.exclude.load();
        let mut samples = self.probe_samples();
        samples.retain(|(family, _)| !exclude.drops(family));
        samples
    }

    /// Call, token, OTLP and encode counters, build info and the config reload.
    fn exporter_samples(&self) -> Vec<(&'static str, Point)> {
        let mut own = self.self_metrics.samples();
        own.push((m::EXPORTER_BUILD_INFO.name, self.build_info.clone()));
        let (success, at) = *self.reload.lock().unwrap_or_else(|e| e.into_inner());
        for (metric, value) in [
            (
                &m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESSFUL,
                Value::Int(u64::from(success)),
            ),
            (
                &m::EXPORTER_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
                Value::Float(at),
            ),
        ] {
            let point = Point {
                labels: Arc::new([]),
                value,
            };
            own.push((metric.name, point));
        }
        own
    }
}

/// The live block's parts, each a whole number of families and rebuilt only when what it holds
/// changed, at most once per scrape: a probe result re-encodes the probes' series alone, a call
/// the exporter's counters alone.
#[derive(Debug, Default)]
pub(super) struct Live {
    /// `wechat_mp_up`, quota, data dates and the other health families of the accounts'
    /// snapshots: they change with an account's update or `mark_down`.
    pub(super) status: LivePart,
    /// Call, token, OTLP and encode counters, build info, the config reload.
    pub(super) own: LivePart,
    /// The callback probes' series.
    pub(super) probes: LivePart,
}

/// One part of the live block: its last encoding and whether it is out of date.
#[derive(Debug)]
pub(super) struct LivePart {
    pub(super) changed: Changed,
    block: ArcSwap<exposition::Block>,
}

impl Default for LivePart {
    fn default() -> Self {
        Self {
            changed: Changed::default(),
            block: ArcSwap::from_pointee(exposition::Block::new(Default::default(), None)),
        }
    }
}

impl LivePart {
    /// What it holds changed: rebuilt at the next scrape.
    pub(super) fn mark(&self) {
        self.changed.mark();
    }

    /// The part, rebuilt from `families` first if it changed since it was last built.
    fn current(&self, families: impl FnOnce() -> text::Families) -> Arc<exposition::Block> {
        if self.changed.take() {
            self.block
                .store(Arc::new(exposition::Block::new(families(), None)));
        }
        self.block.load_full()
    }
}

/// "Changed since it was last encoded": set by whatever changes what a block holds, taken by the
/// rebuild. A handle, so a part's flag can be handed to what feeds it (the call counters).
#[derive(Debug, Clone)]
pub(super) struct Changed(Arc<AtomicBool>);

impl Default for Changed {
    /// Set: nothing has been encoded yet.
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl Changed {
    pub(super) fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Whether it was set, clearing it. Cleared before the rebuild reads: a change racing with
    /// the rebuild sets it again for the next scrape. The load first keeps the cache line
    /// shared while nothing changed (most scrapes).
    fn take(&self) -> bool {
        self.is_set() && self.0.swap(false, Ordering::AcqRel)
    }
}

/// Below this many business series the business block is one part: splitting it would save less
/// than a millisecond (and the small bodies of tests and the demo keep one gzip member).
const PARTS_FROM: usize = 50_000;

/// The business block's parts: contiguous ranges of its family names (families sort by name, so
/// the parts side by side are byte for byte the block as one), about the same number of series
/// each, one per core. The first encoding after a restart then takes a fraction of the time.
pub(super) fn business_parts(
    snapshots: &[Arc<Snapshot>],
    cores: usize,
) -> Vec<Option<(&'static str, &'static str)>> {
    let mut series: BTreeMap<&'static str, usize> = BTreeMap::new();
    for snapshot in snapshots {
        for (name, samples) in &snapshot.families {
            if is_business(name) {
                *series.entry(name).or_default() += samples.len();
            }
        }
    }
    let total: usize = series.values().sum();
    if cores < 2 || total < PARTS_FROM {
        return vec![None];
    }
    let share = total.div_ceil(cores);
    let mut parts = Vec::new();
    let (mut first, mut filled) = (None, 0);
    for (&name, &n) in &series {
        let start = *first.get_or_insert(name);
        filled += n;
        if filled >= share && parts.len() + 1 < cores {
            parts.push(Some((start, name)));
            (first, filled) = (None, 0);
        }
    }
    if let (Some(start), Some((&last, _))) = (first, series.last_key_value()) {
        parts.push(Some((start, last)));
    }
    parts
}
