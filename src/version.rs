//! The exporter's version and git revision (`wechat_mp_exporter_build_info`, `--version`, the
//! OTLP resource): a leaf every layer may read.

/// The version, from Cargo.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision, from `build.rs`: `WECHAT_MP_EXPORTER_REVISION` when the build sets it (the
/// container build does), else the git checkout's HEAD, else "unknown".
pub const REVISION: &str = env!("WECHAT_MP_EXPORTER_REVISION");

/// What `--version` prints after the name, in the Prometheus style.
pub const VERSION_LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision: ",
    env!("WECHAT_MP_EXPORTER_REVISION"),
    ")\n  build date: ",
    env!("WECHAT_MP_EXPORTER_BUILD_DATE"),
    "\n  toolchain:  ",
    env!("WECHAT_MP_EXPORTER_TOOLCHAIN"),
    "\n  platform:   ",
    env!("WECHAT_MP_EXPORTER_PLATFORM"),
);
