//! What the landing page and `/-/ready` show: per account, the data date of each report and the
//! last error in words. The scheduler publishes it after every poll round; readers never block it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use jiff::civil::Date;

use crate::reports::{AccountReports, AccountStatus};
use crate::wechat::Endpoint;

/// One account as the landing page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountView {
    pub name: String,
    /// The account has been polled at least once (with or without success).
    pub polled: bool,
    pub up: bool,
    pub data_dates: BTreeMap<Endpoint, Date>,
    pub unavailable: BTreeMap<Endpoint, String>,
    pub last_errors: BTreeMap<Endpoint, String>,
}

impl AccountView {
    pub fn new(name: &str, reports: &AccountReports, status: &AccountStatus) -> Self {
        Self {
            name: name.to_string(),
            polled: status.last_poll_end.is_some(),
            up: status.up,
            data_dates: reports.reports.iter().map(|(&e, r)| (e, r.date)).collect(),
            unavailable: status.unavailable.clone(),
            last_errors: status.last_errors.clone(),
        }
    }

    /// Ready when the account has data, or has reported why not.
    pub fn is_ready(&self) -> bool {
        !self.data_dates.is_empty() || !self.last_errors.is_empty()
    }
}

/// The latest views of every account, swapped in atomically.
#[derive(Debug, Default)]
pub struct StatusBoard {
    accounts: ArcSwap<Vec<AccountView>>,
}

impl StatusBoard {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn publish(&self, views: Vec<AccountView>) {
        self.accounts.store(Arc::new(views));
    }

    pub fn accounts(&self) -> Arc<Vec<AccountView>> {
        self.accounts.load_full()
    }

    /// `/-/ready`: every configured account has data or has reported why not.
    pub fn is_ready(&self) -> bool {
        let accounts = self.accounts.load();
        !accounts.is_empty() && accounts.iter().all(AccountView::is_ready)
    }
}
