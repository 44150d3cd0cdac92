//! The exporter's own process metrics (`process_*`, as every Prometheus client library exports
//! them), read from /proc at scrape time (at most once a second), encoded by prometheus-client
//! and sent after the other blocks, plain or as its own gzip member.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::catalogue::{MetricInfo, MetricKind, Stability, Unit};
use super::exposition::Block;
use super::text::{self, Families, Format};
use super::{Point, Value};

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

    /// The process families (`process_*`, named as every Prometheus client library names
    /// them), each absent where /proc could not be read.
    pub(super) fn families(&self) -> Vec<(MetricInfo, Vec<Point>)> {
        let family =
            |kind, measure, name: &'static str, help: &'static str, value: Option<Value>| {
                let info = MetricInfo {
                    name,
                    kind,
                    measure,
                    labels: &[],
                    // The names every Prometheus client library uses.
                    stability: Stability::Stable,
                    group: "",
                    endpoint: "",
                    field: "/proc",
                    help,
                };
                value.map(|value| {
                    let point = Point {
                        labels: Arc::new([]),
                        value,
                    };
                    (info, vec![point])
                })
            };
        [
            family(
                MetricKind::Counter,
                Unit::Seconds,
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                self.cpu_seconds.map(Value::Float),
            ),
            family(
                MetricKind::Gauge,
                Unit::Number,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                self.max_fds.map(Value::Int),
            ),
            family(
                MetricKind::Gauge,
                Unit::Number,
                "process_open_fds",
                "Number of open file descriptors.",
                self.open_fds.map(Value::Int),
            ),
            family(
                MetricKind::Gauge,
                Unit::Bytes,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                self.resident_memory_bytes.map(Value::Int),
            ),
            family(
                MetricKind::Gauge,
                Unit::Seconds,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                self.start_time_seconds.map(Value::Float),
            ),
            family(
                MetricKind::Gauge,
                Unit::Bytes,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                self.virtual_memory_bytes.map(Value::Int),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The families in `format` (OpenMetrics without `# EOF`), through prometheus-client.
    pub fn encode(&self, format: Format) -> Bytes {
        text::encode(format, self.block_families())
    }

    fn block_families(&self) -> Families {
        Families {
            extra: self.families(),
            ..Families::default()
        }
    }
}

/// How long an encoded process block is reused: /proc reads cost ~80 us, a scrape far less.
const BLOCK_TTL: Duration = Duration::from_secs(1);

/// The process block and when it was read.
static BLOCK: Mutex<Option<(Instant, Arc<Block>)>> = Mutex::new(None);

/// The process families in `format` (gzipped as one member when `gzip`), at most `BLOCK_TTL` old.
pub(super) fn process_block(format: Format, gzip: bool) -> Bytes {
    let block = {
        let mut cached = BLOCK.lock().unwrap_or_else(|e| e.into_inner());
        match cached.as_ref() {
            Some((at, block)) if at.elapsed() < BLOCK_TTL => block.clone(),
            _ => {
                let block = Arc::new(Block::new(ProcessStats::read().block_families(), None));
                *cached = Some((Instant::now(), block.clone()));
                block
            }
        }
    };
    block.body(format, gzip)
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
        let text = String::from_utf8(stats.encode(Format::Text).to_vec()).unwrap();
        assert!(
            text.contains(
                "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("process_resident_memory_bytes 2048\n"),
            "{text}"
        );
        assert!(
            !text.contains("process_open_fds"),
            "unread values are left out"
        );
        let om = String::from_utf8(stats.encode(Format::OpenMetrics).to_vec()).unwrap();
        assert!(
            om.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"),
            "{om}"
        );
        assert!(om.contains("process_cpu_seconds_total 1.5\n"), "{om}");
        let block = process_block(Format::OpenMetrics, false);
        let text = std::str::from_utf8(&block).unwrap();
        assert!(text.starts_with("# HELP process_"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }
}
