//! The exporter's own process metrics (`process_*`, as every Prometheus client library exports
//! them), read from /proc at scrape time (at most once a second) and appended to the pre-encoded
//! exposition, plain or as its own gzip member.

use std::fmt::Write as _;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// What /proc says about this process; `None` where it cannot be read (not Linux, say).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time.
    pub cpu_seconds: Option<f64>,
    /// Resident set size.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size.
    pub virtual_memory_bytes: Option<u64>,
    /// Unix time the process started.
    pub start_time_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on file descriptors.
    pub max_fds: Option<u64>,
}

/// Linux's USER_HZ is 100 on every architecture Rust targets.
const TICKS_PER_SECOND: f64 = 100.0;

impl ProcessStats {
    /// The current values from `/proc/self` (all `None` where it is missing).
    pub fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        // Fields after the parenthesised command name, which may itself hold spaces.
        let fields: Vec<&str> = stat
            .as_deref()
            .and_then(|s| s.rsplit_once(')'))
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // `fields[0]` is field 3 (state) of proc(5).
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|v| v * 1024)
        };
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse().ok())
            });
        Self {
            cpu_seconds: field(14)
                .zip(field(15))
                .map(|(u, s)| (u + s) as f64 / TICKS_PER_SECOND),
            resident_memory_bytes: kib("VmRSS:"),
            virtual_memory_bytes: field(23),
            start_time_seconds: field(22)
                .zip(boot_time)
                .map(|(t, b)| b as f64 + t as f64 / TICKS_PER_SECOND),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
            max_fds,
        }
    }

    /// The families in the classic text format, or OpenMetrics (without `# EOF`).
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, value: Option<String>| {
            let Some(value) = value else { return };
            let (family, sample) = match (kind, openmetrics) {
                ("counter", true) => (name.trim_end_matches("_total"), name),
                _ => (name, name),
            };
            let _ = write!(out, "# HELP {family} {help}\n# TYPE {family} {kind}\n");
            // ISSUE-16 (minimal, to be reconciled with the prometheus-client encoder):
            // OpenMetrics' `# UNIT` for the families named in a unit.
            if let Some(unit) = ["seconds", "bytes"]
                .into_iter()
                .find(|u| openmetrics && family.ends_with(&format!("_{u}")))
            {
                let _ = writeln!(out, "# UNIT {family} {unit}");
            }
            let _ = writeln!(out, "{sample} {value}");
        };
        family(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds.map(|v| v.to_string()),
        );
        family(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            self.max_fds.map(|v| v.to_string()),
        );
        family(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            self.open_fds.map(|v| v.to_string()),
        );
        family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            self.resident_memory_bytes.map(|v| v.to_string()),
        );
        family(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds.map(|v| v.to_string()),
        );
        family(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            self.virtual_memory_bytes.map(|v| v.to_string()),
        );
        out
    }
}

/// How long an encoded process block is reused: /proc reads cost ~80 us, a scrape far less.
const BLOCK_TTL: Duration = Duration::from_secs(1);

/// The process block of each format, plain and gzipped, and when it was read.
struct Block {
    at: Instant,
    text: Bytes,
    openmetrics: Bytes,
    gzip_text: Bytes,
    gzip_openmetrics: Bytes,
}

static BLOCK: Mutex<Option<Block>> = Mutex::new(None);

/// The process families, encoded (gzipped as one member when `gzip`), at most `BLOCK_TTL` old.
pub(super) fn process_block(openmetrics: bool, gzip: bool) -> Bytes {
    let mut cached = BLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = cached.as_ref().is_some_and(|b| b.at.elapsed() < BLOCK_TTL);
    if !fresh {
        let stats = ProcessStats::read();
        let (text, om) = (stats.encode(false), stats.encode(true));
        *cached = Some(Block {
            at: Instant::now(),
            gzip_text: super::exposition::gzip([text.as_bytes()], text.len()),
            gzip_openmetrics: super::exposition::gzip([om.as_bytes()], om.len()),
            text: Bytes::from(text),
            openmetrics: Bytes::from(om),
        });
    }
    let b = cached.as_ref().expect("filled above");
    match (openmetrics, gzip) {
        (false, false) => b.text.clone(),
        (true, false) => b.openmetrics.clone(),
        (false, true) => b.gzip_text.clone(),
        (true, true) => b.gzip_openmetrics.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let stats = ProcessStats::read();
        if cfg!(target_os = "linux") {
            assert!(
                stats.resident_memory_bytes.unwrap() > 1024 * 1024,
                "{stats:?}"
            );
            assert!(stats.open_fds.unwrap() >= 3);
            assert!(stats.max_fds.unwrap() >= stats.open_fds.unwrap());
            assert!(stats.start_time_seconds.unwrap() > 1.6e9);
            assert!(stats.cpu_seconds.is_some());
        }
    }

    #[test]
    fn counters_follow_each_format() {
        let stats = ProcessStats {
            cpu_seconds: Some(1.5),
            resident_memory_bytes: Some(2048),
            ..Default::default()
        };
        assert_eq!(
            stats.encode(false),
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 2048\n"
        );
        assert!(
            stats
                .encode(true)
                .contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\nprocess_cpu_seconds_total 1.5\n")
        );
        let block = process_block(true, false);
        let text = std::str::from_utf8(&block).unwrap();
        assert!(text.starts_with("# HELP process_"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }
}
