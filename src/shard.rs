//! `--shard=I/N`: which accounts of the config file this replica polls, by a stable hash of the
//! `app_id`, so N replicas split the accounts with no coordination.
//!
//! The hash is fixed forever (an upgrade must not reshuffle accounts between replicas): FNV-1a
//! 64-bit of the `app_id`'s UTF-8 bytes, then jump consistent hashing (Lamping and Veach, "A Fast,
//! Minimal Memory, Consistent Hash Algorithm", 2014) into N buckets. Going from N to N+1 shards
//! moves about 1/(N+1) of the accounts, all of them to the new shard. `tests` pins the shard of
//! fixed app_ids.

use std::fmt;
use std::hash::Hasher as _;
use std::str::FromStr;

/// The most shards `--shard` accepts (far more replicas than anyone runs; keeps the hash in u32).
pub const MAX_SHARDS: u32 = 65_536;

/// This replica's part of the accounts: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0 to `count - 1`.
    pub index: u32,
    /// N, at least 1.
    pub count: u32,
}

impl Shard {
    /// Whether this shard polls the account `app_id`.
    pub fn keeps(&self, app_id: &str) -> bool {
        shard_of(app_id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with 0 <= I < N <= [`MAX_SHARDS`], e.g. `0/3`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = "expected I/N with 0 <= I < N, e.g. 0/3 for the first of three replicas";
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} has no '/': {usage}"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} {part:?} is not a whole number: {usage}"))
        };
        let (index, count) = (number(i, "I")?, number(n, "N")?);
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("N = {count}: use 1 to {MAX_SHARDS} shards"));
        }
        if index >= count {
            return Err(format!(
                "I = {index} is not below N = {count}: shards are numbered from 0 (a StatefulSet's pod ordinal)"
            ));
        }
        Ok(Self { index, count })
    }
}

/// FNV-1a 64 of the bytes of `app_id`: the stable key of an account (also its probe offset).
pub fn stable_hash(app_id: &str) -> u64 {
    let mut h = fnv::FnvHasher::default();
    // `write`, not `Hash::hash`: str's Hash impl appends a 0xff terminator, an implementation
    // detail this key must not depend on.
    h.write(app_id.as_bytes());
    h.finish()
}

/// [`stable_hash`] through MurmurHash3's 64-bit finaliser: every bit of the result depends on every
/// bit of the app_id (FNV's high bits barely differ between app_ids that differ in their last
/// characters), for scaling into a range such as the probe offset.
pub fn mixed_hash(app_id: &str) -> u64 {
    let mut k = stable_hash(app_id);
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The shard, from 0 to `count - 1`, of the account `app_id` among `count` shards.
pub fn shard_of(app_id: &str, count: u32) -> u32 {
    jump_hash(stable_hash(app_id), count.max(1))
}

/// Jump consistent hash: the bucket in [0, buckets) of `key`, stable when buckets grow except
/// for the keys that move to the new bucket.
fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    // 0 <= b < buckets <= u32::MAX.
    b as u32
}

#[cfg(test)]
mod tests;
