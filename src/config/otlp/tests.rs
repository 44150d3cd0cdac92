use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::*;

fn resolve_with(
    toml_text: &str,
    vars: &[(&str, &str)],
) -> Result<Option<OtlpSettings>, Vec<ConfigError>> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = move |name: &str| vars.get(name).cloned();
    let mut table: Table = toml_text.parse().expect("valid TOML");
    let mut errors = Vec::new();
    let settings = resolve(table.remove("otlp"), &env, &mut errors);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

fn header<'a>(s: &'a OtlpSettings, name: &str) -> Option<&'a str> {
    s.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.expose_secret())
}

fn keys(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn off_without_section_or_endpoint_variable() {
    assert!(resolve_with("", &[]).unwrap().is_none());
    // Other OTEL variables alone do not turn the push on.
    assert!(
        resolve_with("", &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")])
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_empty_section_gets_the_defaults() {
    let s = resolve_with("[otlp]\n", &[]).unwrap().unwrap();
    assert_eq!(s.endpoint.as_str(), "http://localhost:4317/");
    assert_eq!(s.protocol, Protocol::Grpc);
    assert_eq!(s.interval, Duration::from_secs(60));
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert!(s.headers.is_empty() && s.resource.is_empty());
    let h = resolve_with("[otlp]\nprotocol = \"http/protobuf\"\n", &[])
        .unwrap()
        .unwrap();
    assert_eq!(h.endpoint.as_str(), "http://localhost:4318/v1/metrics");
}

#[test]
fn every_key_is_read_and_http_gets_v1_metrics() {
    let s = resolve_with(
        r#"
[otlp]
endpoint = "https://collector.example:4318/otlp/"
protocol = "http/protobuf"
interval = "1s"
timeout = "2500ms"
headers = { Authorization = "Bearer ${OTLP_TOKEN}", "x-tenant" = "shop" }
resource_attributes = { "deployment.environment" = "prod" }
"#,
        &[("OTLP_TOKEN", "t0k3n")],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        s.endpoint.as_str(),
        "https://collector.example:4318/otlp/v1/metrics"
    );
    assert_eq!(s.protocol, Protocol::HttpProtobuf);
    assert_eq!(s.interval, Duration::from_secs(1));
    assert_eq!(s.timeout, Duration::from_millis(2500));
    assert_eq!(header(&s, "authorization"), Some("Bearer t0k3n"));
    assert_eq!(header(&s, "x-tenant"), Some("shop"));
    assert_eq!(
        s.resource,
        vec![("deployment.environment".to_string(), "prod".to_string())]
    );
}

#[test]
fn grpc_endpoints_are_used_as_given() {
    let s = resolve_with("[otlp]\nendpoint = \"http://127.0.0.1:4317\"\n", &[])
        .unwrap()
        .unwrap();
    assert_eq!(s.endpoint.as_str(), "http://127.0.0.1:4317/");
    let e = resolve_with("", &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317")])
        .unwrap()
        .unwrap();
    assert_eq!(e.endpoint.as_str(), "http://otel:4317/");
}

#[test]
fn env_only_follows_the_specification() {
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318/"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20abc%3D,x-a = 1 ",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=staging,team=growth%20data",
        ),
        ("OTEL_SERVICE_NAME", "wx-push"),
    ];
    let s = resolve_with("", &vars).unwrap().unwrap();
    // The generic endpoint gets the signal path.
    assert_eq!(s.endpoint.as_str(), "http://otel:4318/v1/metrics");
    assert_eq!(s.protocol, Protocol::HttpProtobuf);
    assert_eq!(header(&s, "authorization"), Some("Bearer abc="));
    assert_eq!(header(&s, "x-a"), Some("1"));
    assert_eq!(s.timeout, Duration::from_secs(3));
    assert_eq!(s.interval, Duration::from_secs(15));
    assert_eq!(
        s.resource,
        vec![
            ("deployment.environment".to_string(), "staging".to_string()),
            ("team".to_string(), "growth data".to_string()),
            ("service.name".to_string(), "wx-push".to_string()),
        ]
    );
}

#[test]
fn metrics_specific_variables_win_over_generic_ones() {
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://metrics:9999/custom/path",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "4000"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=generic,b=generic"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "a=metrics"),
    ];
    let s = resolve_with("", &vars).unwrap().unwrap();
    // The metrics endpoint is used verbatim: no /v1/metrics.
    assert_eq!(s.endpoint.as_str(), "http://metrics:9999/custom/path");
    assert_eq!(s.protocol, Protocol::HttpProtobuf);
    assert_eq!(s.timeout, Duration::from_secs(4));
    assert_eq!(header(&s, "a"), Some("metrics"));
    assert_eq!(header(&s, "b"), Some("generic"));
}

#[test]
fn config_keys_win_over_env() {
    let vars = [
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://env:4318/v1/metrics",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=from-env,x-env=1",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=env-name,a=env"),
        ("OTEL_SERVICE_NAME", "env-service"),
    ];
    let s = resolve_with(
        r#"
[otlp]
endpoint = "http://config:4317"
protocol = "grpc"
interval = "30s"
timeout = "2s"
headers = { authorization = "from-config" }
resource_attributes = { "service.name" = "config-name" }
"#,
        &vars,
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.endpoint.as_str(), "http://config:4317/");
    assert_eq!(s.protocol, Protocol::Grpc);
    assert_eq!(s.interval, Duration::from_secs(30));
    assert_eq!(s.timeout, Duration::from_secs(2));
    assert_eq!(header(&s, "authorization"), Some("from-config"));
    assert_eq!(header(&s, "x-env"), Some("1"));
    assert_eq!(s.headers.len(), 2);
    // Later entries win: config over OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES.
    let last_service_name = s
        .resource
        .iter()
        .rev()
        .find(|(k, _)| k == "service.name")
        .unwrap();
    assert_eq!(last_service_name.1, "config-name");
}

#[test]
fn zero_interval_means_the_default() {
    let s = resolve_with("[otlp]\n", &[("OTEL_METRIC_EXPORT_INTERVAL", "0")])
        .unwrap()
        .unwrap();
    assert_eq!(s.interval, Duration::from_secs(60));
}

#[test]
fn every_problem_is_reported_with_its_key_and_fix() {
    let errors = resolve_with(
        r#"
[otlp]
endpoint = "collector:4317"
protocol = "http/json"
interval = "500ms"
timeout = "soon"
headers = { authorization = "Bearer ${UNSET_TOKEN}", "bad name" = "x" }
resource_attributes = { count = 3 }
compression = "gzip"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        keys(&errors),
        [
            "otlp.protocol",
            "otlp.interval",
            "otlp.timeout",
            "otlp.headers.authorization",
            "otlp.headers.bad name",
            "otlp.resource_attributes.count",
            "otlp.compression",
        ]
    );
    let text: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}; {}", e.key, e.problem, e.fix))
        .collect();
    let text = text.join("\n");
    assert!(text.contains("UNSET_TOKEN is not set"), "{text}");
    assert!(text.contains("use at least 1s"), "{text}");
    assert!(
        text.contains("use \"grpc\" (default) or \"http/protobuf\""),
        "{text}"
    );
    assert!(text.contains("remove it or use one of: endpoint"), "{text}");
    // The protocol error stops the endpoint check; a bad URL alone is reported with its fix.
    let bad_url = resolve_with("[otlp]\nendpoint = \"collector:4317\"\n", &[]).unwrap_err();
    assert_eq!(keys(&bad_url), ["otlp.endpoint"]);
    assert!(
        bad_url[0].fix.contains("http://collector:4317"),
        "{bad_url:?}"
    );
}

#[test]
fn bad_variables_are_reported_by_name() {
    let errors = resolve_with(
        "",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "10"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization"),
        ],
    )
    .unwrap_err();
    assert_eq!(
        keys(&errors),
        [
            "OTEL_METRIC_EXPORT_INTERVAL",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
    );
}

#[test]
fn header_values_are_never_echoed() {
    let errors = resolve_with(
        "[otlp]\nendpoint = \"http://user:hunter2@collector:4317\"\nheaders = { authorization = \"s3cr3t\\u0001\" }\n",
        &[("OTEL_EXPORTER_OTLP_HEADERS", "x-key=topsecret\n,=novalue")],
    )
    .unwrap_err();
    let text = format!("{errors:?}");
    for secret in ["s3cr3t", "topsecret", "hunter2", "novalue"] {
        assert!(!text.contains(secret), "{secret} echoed: {text}");
    }
    assert!(keys(&errors).contains(&"otlp.endpoint"), "{errors:?}");
    let ok = resolve_with("[otlp]\nheaders = { authorization = \"s3cr3t\" }\n", &[])
        .unwrap()
        .unwrap();
    assert!(!format!("{ok:?}").contains("s3cr3t"));
}

#[test]
fn lists_are_parsed_and_percent_decoded() {
    assert_eq!(
        parse_list(" a = 1 ,b=x%2Cy,, c=%E4%B8%AD%zz").unwrap(),
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "x,y".to_string()),
            ("c".to_string(), "中%zz".to_string()),
        ]
    );
    assert!(parse_list("a=1,b").is_err());
    assert!(parse_list("=1").is_err());
}
