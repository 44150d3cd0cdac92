//! The OTLP exporter for each protocol, with our headers on every request.
//!
//! The SDK's exporters also read `OTEL_EXPORTER_OTLP_HEADERS` themselves and let it override
//! headers set in code; config keys must win, so our resolved headers are set last, per request
//! (a tonic interceptor, an HTTP client wrapper). Header values are marked sensitive, so a
//! `Debug` of a request never shows them.

use std::fmt;

use anyhow::Context as _;
use axum::http::{HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{MetricExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use secrecy::ExposeSecret;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};

use crate::config::otlp::{OtlpSettings, Protocol};

/// Builds the exporter; gRPC needs a running tokio runtime (the channel connects lazily on it).
pub(crate) fn exporter(settings: &OtlpSettings) -> anyhow::Result<MetricExporter> {
    match settings.protocol {
        Protocol::Grpc => grpc(settings),
        Protocol::HttpProtobuf => http(settings),
    }
}

fn grpc(settings: &OtlpSettings) -> anyhow::Result<MetricExporter> {
    let mut metadata: Vec<(AsciiMetadataKey, AsciiMetadataValue)> = Vec::new();
    for (name, value) in &settings.headers {
        let key = AsciiMetadataKey::from_bytes(name.as_bytes())
            .with_context(|| format!("OTLP header {name:?} is not a valid gRPC metadata name"))?;
        // The error names the header, never its value.
        let mut value = AsciiMetadataValue::try_from(value.expose_secret())
            .map_err(|_| anyhow::anyhow!("OTLP header {name:?} has a value gRPC cannot carry"))?;
        value.set_sensitive(true);
        metadata.push((key, value));
    }
    let interceptor = move |mut request: tonic::Request<()>| {
        for (key, value) in &metadata {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        Ok(request)
    };
    // tonic takes the origin only: a bare "http://host:4317/" and "http://host:4317" are the same.
    let endpoint = settings.endpoint.as_str().trim_end_matches('/').to_string();
    let mut builder = MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(settings.timeout)
        .with_interceptor(interceptor);
    if settings.endpoint.scheme() == "https" {
        // Without roots tonic's TLS trusts nothing; the compiled-in webpki roots also work in a
        // scratch image.
        builder =
            builder.with_tls_config(tonic::transport::ClientTlsConfig::new().with_enabled_roots());
    }
    builder
        .build()
        .context("cannot build the OTLP gRPC exporter")
}

fn http(settings: &OtlpSettings) -> anyhow::Result<MetricExporter> {
    let mut headers = Vec::new();
    for (name, value) in &settings.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .with_context(|| format!("OTLP header {name:?} is not a valid header name"))?;
        let mut value = HeaderValue::from_str(value.expose_secret())
            .map_err(|_| anyhow::anyhow!("OTLP header {name:?} has a value HTTP cannot carry"))?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    let inner = reqwest::Client::builder()
        .timeout(settings.timeout)
        .build()
        .context("cannot build the OTLP HTTP client")?;
    MetricExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(settings.endpoint.as_str())
        .with_timeout(settings.timeout)
        .with_http_client(WithHeaders { inner, headers })
        .build()
        .context("cannot build the OTLP HTTP exporter")
}

/// The async reqwest client plus our headers. Async, because we export from a tokio task: the
/// SDK's blocking client is only for its own reader thread.
struct WithHeaders {
    inner: reqwest::Client,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for WithHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("WithHeaders")
            .field("headers", &names)
            .finish()
    }
}

#[async_trait::async_trait]
impl HttpClient for WithHeaders {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        self.inner.send_bytes(request).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(endpoint: &str, protocol: Protocol) -> OtlpSettings {
        OtlpSettings {
            endpoint: endpoint.parse().unwrap(),
            protocol,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            headers: vec![("authorization".into(), "Bearer x".to_string().into())],
            resource: Vec::new(),
        }
    }

    /// https needs TLS with roots for gRPC (without them tonic refuses at build time or trusts
    /// nothing), and the async client for HTTP; both build inside a runtime.
    #[tokio::test]
    async fn both_transports_build_for_http_and_https() {
        for endpoint in ["http://127.0.0.1:4317", "https://collector.example:4317"] {
            exporter(&settings(endpoint, Protocol::Grpc))
                .unwrap_or_else(|e| panic!("{endpoint}: {e:#}"));
        }
        for endpoint in [
            "http://127.0.0.1:4318/v1/metrics",
            "https://collector.example/v1/metrics",
        ] {
            exporter(&settings(endpoint, Protocol::HttpProtobuf))
                .unwrap_or_else(|e| panic!("{endpoint}: {e:#}"));
        }
    }

    #[test]
    fn the_client_debug_shows_header_names_only() {
        let mut value = HeaderValue::from_static("Bearer hunter2");
        value.set_sensitive(true);
        let client = WithHeaders {
            inner: reqwest::Client::new(),
            headers: vec![(HeaderName::from_static("authorization"), value)],
        };
        let text = format!("{client:?}");
        assert!(
            text.contains("authorization") && !text.contains("hunter2"),
            "{text}"
        );
    }
}
