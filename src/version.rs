//! The exporter's version and git revision (`wechat_mp_exporter_build_info`, `--version`, the
//! OTLP resource): a leaf every layer may read.

/// The version, from Cargo.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision, from `WECHAT_MP_EXPORTER_REVISION` at build time.
pub const REVISION: &str = match option_env!("WECHAT_MP_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};
