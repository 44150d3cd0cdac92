//! What a family's value measures ([`Unit`]): the name suffix, the OpenMetrics `# UNIT`, and how
//! docs/metrics.md shows it.

/// What a family's value measures. The name ends in the unit (before `_total`), as Prometheus'
/// naming practice asks, and OpenMetrics carries it as `# UNIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A duration in seconds.
    Seconds,
    /// A Unix time in seconds (the name ends in `_timestamp_seconds`).
    TimestampSeconds,
    /// A size in bytes.
    Bytes,
    /// A share between 0 and 1.
    Ratio,
    /// Money in CNY (WeChat's fen / 100).
    Yuan,
    /// A count of the things named (plural, the name's last word): `users`, `reads`, `requests`.
    Count(&'static str),
    /// 1 or 0 (`up`, `success`, `unavailable`): no unit.
    State,
    /// Always 1, the labels are the data (`*_info`): no unit.
    Info,
    /// A plain number without a unit (`process_open_fds`): the families named by convention
    /// rather than by this catalogue.
    Number,
}

impl Unit {
    /// The unit as `# UNIT` and the name suffix spell it; `None` for states and info families.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Unit::Seconds | Unit::TimestampSeconds => Some("seconds"),
            Unit::Bytes => Some("bytes"),
            Unit::Ratio => Some("ratio"),
            Unit::Yuan => Some("yuan"),
            Unit::Count(what) => Some(what),
            Unit::State | Unit::Info | Unit::Number => None,
        }
    }

    /// The name suffix the unit requires (`_timestamp_seconds`, `_info`, ...), if any.
    pub fn suffix(self) -> Option<String> {
        match self {
            Unit::TimestampSeconds => Some("_timestamp_seconds".into()),
            Unit::Info => Some("_info".into()),
            u => u.name().map(|n| format!("_{n}")),
        }
    }

    /// How docs/metrics.md shows the unit.
    pub fn describe(self) -> String {
        match self {
            Unit::TimestampSeconds => "seconds (Unix time)".into(),
            Unit::Count(what) => format!("{what} (count)"),
            Unit::State => "none (1 or 0)".into(),
            Unit::Info => "none (info, always 1)".into(),
            Unit::Number => "none".into(),
            u => u.name().unwrap_or_default().into(),
        }
    }
}

/// The unit of an exporter-own family declared without one (`own!` with five arguments): read off
/// the name's suffix, a count of the name's last word otherwise. Const, so the table stays static.
// Unused while every own family declares its unit; kept for the five-argument `own!`.
#[allow(dead_code)]
pub(super) const fn unit_of_name(name: &'static str) -> Unit {
    const fn ends_with(s: &[u8], suffix: &[u8]) -> bool {
        if suffix.len() > s.len() {
            return false;
        }
        let mut i = 0;
        while i < suffix.len() {
            if s[s.len() - suffix.len() + i] != suffix[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut b = name.as_bytes();
    if ends_with(b, b"_total") {
        b = b.split_at(b.len() - 6).0;
    }
    if ends_with(b, b"_timestamp_seconds") {
        return Unit::TimestampSeconds;
    }
    if ends_with(b, b"_seconds") {
        return Unit::Seconds;
    }
    if ends_with(b, b"_bytes") {
        return Unit::Bytes;
    }
    if ends_with(b, b"_ratio") {
        return Unit::Ratio;
    }
    if ends_with(b, b"_info") {
        return Unit::Info;
    }
    let mut start = b.len();
    while start > 0 && b[start - 1] != b'_' {
        start -= 1;
    }
    match core::str::from_utf8(b.split_at(start).1) {
        Ok(word) => Unit::Count(word),
        Err(_) => Unit::State,
    }
}
