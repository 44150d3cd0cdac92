//! In-process OTLP receivers (gRPC and HTTP/protobuf) that decode every
//! `ExportMetricsServiceRequest` and keep it with the request headers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::prometheus_name::prometheus_name;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: BTreeMap<String, String>,
    pub request: ExportMetricsServiceRequest,
}

/// One series as Prometheus would store it: the translated name, the labels, the value, and how
/// it was typed on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// `gauge`, or `sum` (monotonic and cumulative, else the test fails).
    pub kind: &'static str,
    pub int: bool,
}

impl Received {
    /// The resource attributes (string values).
    pub fn resource(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for rm in &self.request.resource_metrics {
            for kv in rm.resource.iter().flat_map(|r| r.attributes.iter()) {
                out.insert(
                    kv.key.clone(),
                    string(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                );
            }
        }
        out
    }

    /// Every data point, its name translated as Prometheus' OTLP receiver does.
    pub fn points(&self) -> Vec<Point> {
        let mut out = Vec::new();
        for rm in &self.request.resource_metrics {
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let (kind, points) = match &m.data {
                        Some(metric::Data::Gauge(g)) => ("gauge", &g.data_points),
                        Some(metric::Data::Sum(s)) => {
                            assert!(s.is_monotonic, "{} is a non-monotonic sum", m.name);
                            assert_eq!(
                                s.aggregation_temporality,
                                AggregationTemporality::Cumulative as i32,
                                "{} is not cumulative",
                                m.name
                            );
                            ("sum", &s.data_points)
                        }
                        // The probe latency: read by `histograms`.
                        Some(metric::Data::Histogram(_)) => continue,
                        other => panic!("{}: unexpected data {other:?}", m.name),
                    };
                    let name = prometheus_name(&m.name, &m.unit, kind == "sum", kind == "gauge");
                    for p in points {
                        let (value, int) = match p.value {
                            Some(number_data_point::Value::AsInt(v)) => (v as f64, true),
                            Some(number_data_point::Value::AsDouble(v)) => (v, false),
                            None => panic!("{name}: a point without a value"),
                        };
                        let labels = p
                            .attributes
                            .iter()
                            .map(|kv| {
                                (
                                    kv.key.clone(),
                                    string(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                                )
                            })
                            .collect();
                        out.push(Point {
                            name: name.clone(),
                            labels,
                            value,
                            kind,
                            int,
                        });
                    }
                }
            }
        }
        out
    }
}

/// One histogram series as pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub name: String,
    pub unit: String,
    pub labels: BTreeMap<String, String>,
    pub bounds: Vec<f64>,
    /// Per bucket, not cumulative; one more than `bounds` (the last is above every bound).
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
    pub start_time_unix_nano: u64,
}

impl Received {
    /// Every histogram data point (cumulative, else the test fails).
    pub fn histograms(&self) -> Vec<HistogramPoint> {
        let mut out = Vec::new();
        for m in self
            .request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
        {
            let Some(metric::Data::Histogram(h)) = &m.data else {
                continue;
            };
            assert_eq!(
                h.aggregation_temporality,
                AggregationTemporality::Cumulative as i32
            );
            for p in &h.data_points {
                out.push(HistogramPoint {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    labels: p
                        .attributes
                        .iter()
                        .map(|kv| {
                            (
                                kv.key.clone(),
                                string(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                            )
                        })
                        .collect(),
                    bounds: p.explicit_bounds.clone(),
                    counts: p.bucket_counts.clone(),
                    count: p.count,
                    sum: p.sum.unwrap_or(f64::NAN),
                    start_time_unix_nano: p.start_time_unix_nano,
                });
            }
        }
        out
    }

    /// The start time of every point of the monotonic sum `name` (as pushed, before translation).
    pub fn sum_start_times(&self, name: &str) -> Vec<u64> {
        self.request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == name)
            .filter_map(|m| match &m.data {
                Some(metric::Data::Sum(s)) => {
                    Some(s.data_points.iter().map(|p| p.start_time_unix_nano))
                }
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// An attribute value as a label value; the exporter only sends strings, anything else (such as
/// the SDK's `otel.metric.overflow = true`) is kept visibly so a test can name it.
fn string(v: Option<&any_value::Value>) -> String {
    match v {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => format!("(not a string: {other:?})"),
    }
}

/// A running receiver; `stop` closes it (and its connections), `received` lists what came in.
pub struct Receiver {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{n} OTLP request(s) did not arrive within 30 s (got {})",
            self.received().len()
        );
    }

    /// Stops accepting and closes idle connections, then waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        self.task.abort();
    }
}

fn headers_of(map: &HeaderMap) -> BTreeMap<String, String> {
    map.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

struct Grpc(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let headers = headers_of(&request.metadata().clone().into_headers());
        self.0.lock().unwrap().push(Received {
            headers,
            request: request.into_inner(),
        });
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// An OTLP/gRPC receiver on `addr` (port 0: any).
pub async fn grpc(addr: SocketAddr) -> Receiver {
    let listener = TcpListener::bind(addr)
        .await
        .expect("bind the gRPC receiver");
    let addr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = MetricsServiceServer::new(Grpc(log.clone()));
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            )
            .await;
    });
    Receiver {
        addr,
        log,
        stop: Some(stop),
        task,
    }
}

/// An OTLP/HTTP receiver (`POST /v1/metrics`, protobuf) on `addr` (port 0: any).
pub async fn http(addr: SocketAddr) -> Receiver {
    let listener = TcpListener::bind(addr)
        .await
        .expect("bind the HTTP receiver");
    let addr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let sink = log.clone();
    let router = axum::Router::new().route(
        "/v1/metrics",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportMetricsServiceRequest::decode(body)
                    .expect("a protobuf ExportMetricsServiceRequest");
                sink.lock().unwrap().push(Received {
                    headers: headers_of(&headers),
                    request,
                });
                let response = ExportMetricsServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec();
                ([("content-type", "application/x-protobuf")], response)
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Receiver {
        addr,
        log,
        stop: Some(stop),
        task,
    }
}
