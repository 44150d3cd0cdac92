//! The exporter-toolkit web configuration file (`--web.config.file`): TLS and basic auth
//! (CONTRACT STUB: the web-config branch replaces the bodies).

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

/// A parsed, validated web configuration file.
#[derive(Debug)]
pub struct WebConfig;

impl WebConfig {
    pub fn load(_path: &Path) -> anyhow::Result<WebConfig> {
        todo!("web-config branch")
    }
}

/// Wraps `router` in basic auth and the configured response headers, if any.
pub fn apply(router: Router, _web: Option<&WebConfig>) -> Router {
    router
}

/// Serves `router` on `listener` (TLS when configured) until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    _web: Option<Arc<WebConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
