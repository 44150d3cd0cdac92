//! Maps typed reports to metric families (temporary stub; replaced by the metrics branch).

use crate::reports::{AccountReports, AccountStatus};

pub struct Store;

impl Store {
    pub fn update_account(&self, _a: &str, _r: &AccountReports, _s: &AccountStatus, _m: usize) {}
}
