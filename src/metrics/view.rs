//! A read-only view of every family the store would encode, for readers other than `/metrics`.
//!
//! The view holds the accounts' immutable snapshots by `Arc` (the lock is held only to clone the
//! pointers) plus copies of the exporter's own samples, so a slow reader never holds up a poll
//! round or a scrape.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Point, Snapshot, Store};

/// Every series of one moment: the same samples the next `/metrics` encoding would write
/// (without the `process_*` block, which the HTTP handler adds per scrape, and without the
/// callback probe's latency histogram, which the OTLP push records into an SDK histogram as each
/// probe finishes: `Store::observe_probes`).
#[derive(Default)]
pub struct SnapshotView {
    accounts: Vec<Arc<Snapshot>>,
    /// The exporter's own samples, each with its family.
    own: Vec<(&'static str, Point)>,
}

impl Store {
    /// The current families as a [`SnapshotView`].
    pub fn snapshot_view(&self) -> SnapshotView {
        let accounts = self.lock().values().cloned().collect();
        let own = self.own_samples();
        SnapshotView { accounts, own }
    }
}

impl SnapshotView {
    /// Every family by name (sorted, as `/metrics` writes them), each in exposition order.
    pub fn families(&self) -> BTreeMap<&'static str, Vec<&Point>> {
        super::store::merged_families(&self.accounts, &self.own)
    }

    /// Splits the view into views of about `max_series` series at most, an account's series
    /// kept together (an account larger than that goes alone), for receivers that cap the size
    /// of one request.
    pub fn split(self, max_series: usize) -> Vec<SnapshotView> {
        let mut parts = Vec::new();
        let mut current = SnapshotView::default();
        let mut n = 0;
        for account in self.accounts {
            let size: usize = account.families.values().map(|f| f.len()).sum();
            if n > 0 && n + size > max_series {
                parts.push(std::mem::take(&mut current));
                n = 0;
            }
            current.accounts.push(account);
            n += size;
        }
        for s in self.own {
            if n >= max_series {
                parts.push(std::mem::take(&mut current));
                n = 0;
            }
            current.own.push(s);
            n += 1;
        }
        if n > 0 || parts.is_empty() {
            parts.push(current);
        }
        parts
    }

    /// The samples of one family, without building the whole map.
    pub fn family<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Point> + 'a {
        let accounts = self
            .accounts
            .iter()
            .filter_map(move |s| s.families.get(name))
            .flat_map(|points| points.iter());
        let own = self.own.iter().filter(move |(f, _)| *f == name);
        accounts.chain(own.map(|(_, s)| s))
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::{self, Format};
    use super::*;
    use crate::latest::{AccountReports, AccountStatus};

    #[test]
    fn the_view_encodes_to_the_exposition() {
        let store = Store::new("1.2.3", "abc");
        let status = AccountStatus {
            up: true,
            last_poll_seconds: Some(1.5),
            ..AccountStatus::default()
        };
        store.update_account("a", &AccountReports::default(), &status, 10);
        store.update_account("b", &AccountReports::default(), &status, 10);
        let obs = store.self_metrics().observer("a");
        obs.api_call("getusercumulate", "0");
        store.config_loaded(true);
        let view = store.snapshot_view();
        let families = view.families();
        // The same series as `/metrics` (there in two blocks, so compared as sorted lines).
        let own = families
            .iter()
            .flat_map(|(name, points)| points.iter().map(|p| (*name, (*p).clone())))
            .collect();
        let encoded = text::encode(
            Format::Text,
            text::Families {
                own,
                ..Default::default()
            },
        );
        let lines = |b: &[u8]| {
            let mut l: Vec<String> = String::from_utf8_lossy(b)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect();
            l.sort();
            l
        };
        assert_eq!(lines(&encoded), lines(&store.exposition().text));
        let up: Vec<_> = view.family("wechat_mp_up").collect();
        assert_eq!(up.len(), 2);
        assert_eq!(up, families["wechat_mp_up"]);
        assert_eq!(view.family("wechat_mp_exporter_build_info").count(), 1);

        // Split, the parts hold every sample once, none over the cap unless one account is.
        // Each series as its family and labels.
        let keys = |families: BTreeMap<&'static str, Vec<&Point>>| -> Vec<String> {
            families
                .iter()
                .flat_map(|(name, points)| {
                    points.iter().map(move |p| format!("{name} {:?}", p.labels))
                })
                .collect()
        };
        let mut want = keys(families);
        let parts = store.snapshot_view().split(3);
        assert!(parts.len() > 2, "{} parts", parts.len());
        let mut got: Vec<String> = Vec::new();
        for part in &parts {
            let samples = keys(part.families());
            assert!(
                samples.len() <= 3 || part.accounts.len() == 1,
                "{} samples",
                samples.len()
            );
            got.extend(samples);
        }
        want.sort();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(store.snapshot_view().split(1_000_000).len(), 1);
    }
}
