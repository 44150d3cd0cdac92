//! Tests for the web config: YAML validation, and real servers on 127.0.0.1 (plain and TLS).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedKey, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use reqwest::StatusCode;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;

const HASH_PASSWORD: &str = "hunter2";

fn bcrypt_hash(password: &str) -> String {
    // Cost 4: the minimum, so tests stay fast.
    bcrypt::hash(password, 4).unwrap()
}

fn parse(yaml: &str) -> anyhow::Result<WebConfig> {
    WebConfig::parse(yaml, Path::new("."))
}

fn err_of(yaml: &str) -> String {
    match parse(yaml) {
        Ok(web) => panic!("expected an error, got {web:?}"),
        Err(e) => format!("{e:#}"),
    }
}

/// A self-signed server certificate for 127.0.0.1 / localhost.
struct ServerCert {
    cert_pem: String,
    key_pem: String,
}

fn server_cert() -> ServerCert {
    let CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    ServerCert {
        cert_pem: cert.pem(),
        key_pem: signing_key.serialize_pem(),
    }
}

fn write_cert(dir: &Path, cert: &ServerCert) {
    std::fs::write(dir.join("server.crt"), &cert.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &cert.key_pem).unwrap();
}

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello\n" }))
}

struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
    async fn shut_down(self) -> io::Result<()> {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server did not stop")
            .expect("server task panicked")
    }
}

async fn start(router: Router, web: Option<Arc<WebConfig>>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = apply(router, web.as_deref());
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        router,
        web,
        ServerLimits::default(),
        stop.clone().cancelled_owned(),
    ));
    Running { addr, stop, task }
}

fn https_client(trusted_pem: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(trusted_pem.as_bytes()).unwrap()])
}

// ---------------------------------------------------------------- parsing

#[test]
fn empty_or_comment_only_file_means_plain_http_without_auth() {
    for yaml in [
        "",
        "# nothing here\n",
        "tls_server_config: {}\n",
        "tls_server_config:\n",
    ] {
        let web = parse(yaml).unwrap();
        assert!(!web.tls_enabled(), "{yaml:?}");
        assert!(!web.basic_auth_enabled(), "{yaml:?}");
        assert!(web.http2(), "{yaml:?}");
    }
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let msg = err_of("tls_config:\n  cert_file: a\n");
    assert!(msg.contains("tls_config"), "{msg}");
    let msg = err_of("tls_server_config:\n  cert_filez: a.crt\n");
    assert!(msg.contains("cert_filez"), "{msg}");
    let msg = err_of("http_server_config:\n  http3: true\n");
    assert!(msg.contains("http3"), "{msg}");
    let msg = err_of("rate_limit:\n  every: 1s\n");
    assert!(msg.contains("every"), "{msg}");
}

#[test]
fn invalid_yaml_is_an_error() {
    let msg = err_of("basic_auth_users: [\n");
    assert!(msg.contains("invalid YAML"), "{msg}");
}

#[test]
fn full_toolkit_file_loads_with_relative_paths_and_go_only_keys() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), &server_cert());
    let hash = bcrypt_hash(HASH_PASSWORD);
    let yaml = format!(
        r#"
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: NoClientCert
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [X25519]
  prefer_server_cipher_suites: true
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
basic_auth_users:
  prometheus: "{hash}"
rate_limit:
  interval: 0s
  burst: 0
"#
    );
    let path = dir.path().join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    let web = WebConfig::load(&path).unwrap();
    assert!(web.tls_enabled());
    assert!(!web.http2());
    assert!(web.basic_auth_enabled());
    assert!(web.rate_limit.is_none(), "interval 0 disables the limiter");
    assert_eq!(
        web.headers.names(),
        ["x-content-type-options", "x-frame-options"],
        "blank header values are unset"
    );
    let debug = format!("{web:?}");
    assert!(debug.contains("prometheus"), "{debug}");
    assert!(!debug.contains(&hash), "hash leaked into Debug: {debug}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    // Unchanged files: nothing to reload.
    assert!(!web.reload_certificates().unwrap());
}

#[test]
fn missing_file_names_the_path() {
    let err = WebConfig::load(Path::new("/nonexistent/web.yml")).unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/web.yml"),
        "{err:#}"
    );
    let dir = tempfile::tempdir().unwrap();
    let msg = format!(
        "{:#}",
        WebConfig::parse(
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
            dir.path()
        )
        .unwrap_err()
    );
    assert!(
        msg.contains("cert_file") && msg.contains("nope.crt"),
        "{msg}"
    );
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn cert_and_key_are_required_together_and_once() {
    let msg = err_of("tls_server_config:\n  cert_file: a.crt\n");
    assert!(msg.contains("key_file"), "{msg}");
    let msg = err_of("tls_server_config:\n  key_file: a.key\n");
    assert!(msg.contains("cert_file"), "{msg}");
    let msg = err_of("tls_server_config:\n  cert: x\n  cert_file: a.crt\n  key_file: a.key\n");
    assert!(msg.contains("either cert or cert_file"), "{msg}");
    let msg = err_of("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n");
    assert!(msg.contains("cert_file"), "{msg}");
}

#[test]
fn inline_cert_and_key_work_and_bad_keys_are_not_echoed() {
    let cert = server_cert();
    let yaml = format!(
        "tls_server_config:\n  cert: |\n{}\n  key: |\n{}\n",
        indent(&cert.cert_pem),
        indent(&cert.key_pem)
    );
    assert!(parse(&yaml).unwrap().tls_enabled());

    let garbage =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==%%\n-----END PRIVATE KEY-----\n";
    let yaml = format!(
        "tls_server_config:\n  cert: |\n{}\n  key: |\n{}\n",
        indent(&cert.cert_pem),
        indent(garbage)
    );
    let msg = err_of(&yaml);
    assert!(msg.contains("key (inline)"), "{msg}");
    assert!(!msg.contains("c2VjcmV0"), "key material in error: {msg}");

    let yaml = format!(
        "tls_server_config:\n  cert: |\n{}\n  key: |\n{}\n",
        indent(&cert.cert_pem),
        indent("just text\n")
    );
    let msg = err_of(&yaml);
    assert!(msg.contains("no private key found"), "{msg}");
}

#[test]
fn mismatched_cert_and_key_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let a = server_cert();
    let b = server_cert();
    std::fs::write(dir.path().join("server.crt"), &a.cert_pem).unwrap();
    std::fs::write(dir.path().join("server.key"), &b.key_pem).unwrap();
    let msg = format!(
        "{:#}",
        WebConfig::parse(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
            dir.path()
        )
        .unwrap_err()
    );
    assert!(msg.contains("do not form a usable pair"), "{msg}");
}

#[test]
fn client_auth_types_and_versions_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), &server_cert());
    let with = |extra: &str| {
        WebConfig::parse(
            &format!(
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"
            ),
            dir.path(),
        )
        .map_err(|e| format!("{e:#}"))
    };
    let msg = with("  client_auth_type: RequireAndVerifyClientCert\n").unwrap_err();
    assert!(msg.contains("client_ca_file"), "{msg}");
    let msg = with("  client_auth_type: RequireAnyClientCert\n").unwrap_err();
    assert!(msg.contains("not supported"), "{msg}");
    let msg = with("  client_auth_type: Sometimes\n").unwrap_err();
    assert!(msg.contains("Sometimes"), "{msg}");
    let msg = with("  client_allowed_sans: [a.example]\n").unwrap_err();
    assert!(msg.contains("client_allowed_sans"), "{msg}");

    assert!(
        with("  min_version: TLS10\n").is_ok(),
        "raised to TLS12 with a warning"
    );
    let msg = with("  max_version: TLS11\n").unwrap_err();
    assert!(msg.contains("max_version TLS11"), "{msg}");
    let msg = with("  min_version: TLS13\n  max_version: TLS12\n").unwrap_err();
    assert!(msg.contains("above max_version"), "{msg}");
    let msg = with("  min_version: TLS14\n").unwrap_err();
    assert!(msg.contains("TLS14"), "{msg}");
    // A client CA that is not a certificate.
    std::fs::write(dir.path().join("ca.crt"), "not a cert").unwrap();
    let msg = with("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")
        .unwrap_err();
    assert!(
        msg.contains("client_ca_file") && msg.contains("no CERTIFICATE"),
        "{msg}"
    );
}

#[test]
fn headers_are_limited_to_the_toolkit_set() {
    let msg = err_of("http_server_config:\n  headers:\n    X-Powered-By: me\n");
    assert!(msg.contains("X-Powered-By"), "{msg}");
    assert!(
        msg.contains("Strict-Transport-Security"),
        "lists the allowed ones: {msg}"
    );
    let msg = err_of("http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n");
    assert!(
        msg.contains("X-Frame-Options") && msg.contains("deny or sameorigin"),
        "{msg}"
    );
    let msg = err_of("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n");
    assert!(msg.contains("nosniff"), "{msg}");
    let web = parse(
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: \"1; mode=block\"\n",
    )
    .unwrap();
    assert_eq!(
        web.headers.names(),
        ["strict-transport-security", "x-xss-protection"]
    );
}

#[test]
fn basic_auth_users_must_hold_bcrypt_hashes() {
    let msg = err_of("basic_auth_users:\n  alice: plain-password\n");
    assert!(
        msg.contains("basic_auth_users") && msg.contains("alice"),
        "{msg}"
    );
    assert!(!msg.contains("plain-password"), "{msg}");
    let web = parse("basic_auth_users: {}\n").unwrap();
    assert!(!web.basic_auth_enabled(), "an empty map means no auth");
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

// ---------------------------------------------------------------- serving

#[tokio::test]
async fn plain_http_without_web_config_serves_and_stops() {
    let server = start(app(), None).await;
    let body = reqwest::get(format!("http://{}/", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "hello\n");
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn basic_auth_rejects_missing_and_wrong_credentials() {
    let hash = bcrypt_hash(HASH_PASSWORD);
    let web = Arc::new(parse(&format!("basic_auth_users:\n  prom: \"{hash}\"\n")).unwrap());
    let server = start(app(), Some(web)).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/", server.addr);

    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Basic");

    let resp = client
        .get(&url)
        .basic_auth("prom", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(&url)
        .basic_auth("eve", Some(HASH_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    for _ in 0..2 {
        // The second time comes from the cache; same answer.
        let resp = client
            .get(&url)
            .basic_auth("prom", Some(HASH_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), "hello\n");
    }

    // Unmatched paths are behind auth too: 401 first, 404 once authenticated.
    let other = format!("http://{}/nope", server.addr);
    let resp = client.get(&other).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(&other)
        .basic_auth("prom", Some(HASH_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    server.shut_down().await.unwrap();
}

/// The exporter's own status routes sit behind basic auth like `/metrics`.
#[tokio::test]
async fn the_status_pages_are_behind_basic_auth() {
    let hash = bcrypt_hash(HASH_PASSWORD);
    let web = Arc::new(parse(&format!("basic_auth_users:\n  prom: \"{hash}\"\n")).unwrap());
    let state = crate::http::AppState {
        store: crate::metrics::Store::new("v", "r"),
        board: crate::status_page::StatusBoard::new(),
        telemetry_path: "/metrics".into(),
    };
    let server = start(crate::http::router(state, None), Some(web)).await;
    let client = reqwest::Client::new();
    for (path, authenticated) in [
        ("/", StatusCode::OK),
        ("/api/v1/status", StatusCode::OK),
        ("/account/nobody", StatusCode::NOT_FOUND),
    ] {
        let url = format!("http://{}{path}", server.addr);
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        let resp = client
            .get(&url)
            .basic_auth("prom", Some(HASH_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), authenticated, "{path}");
    }
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn configured_headers_are_on_every_response() {
    let hash = bcrypt_hash(HASH_PASSWORD);
    let yaml = format!(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=60\nbasic_auth_users:\n  prom: \"{hash}\"\n"
    );
    let server = start(app(), Some(Arc::new(parse(&yaml).unwrap()))).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/", server.addr);
    let denied = client.get(&url).send().await.unwrap();
    let allowed = client
        .get(&url)
        .basic_auth("prom", Some(HASH_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(allowed.status(), StatusCode::OK);
    for resp in [&denied, &allowed] {
        assert_eq!(resp.headers()["x-frame-options"], "deny");
        assert_eq!(resp.headers()["strict-transport-security"], "max-age=60");
    }
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn rate_limit_answers_429_past_the_burst() {
    let web = parse("rate_limit:\n  interval: 1h\n  burst: 1\n").unwrap();
    let server = start(app(), Some(Arc::new(web))).await;
    let url = format!("http://{}/", server.addr);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    server.shut_down().await.unwrap();
}

fn tls_config(dir: &Path, extra: &str) -> Arc<WebConfig> {
    let path = dir.join("web.yml");
    std::fs::write(
        &path,
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
    )
    .unwrap();
    Arc::new(WebConfig::load(&path).unwrap())
}

#[tokio::test]
async fn https_with_a_trusted_self_signed_cert_and_plain_http_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cert = server_cert();
    write_cert(dir.path(), &cert);
    let server = start(app(), Some(tls_config(dir.path(), ""))).await;

    let client = https_client(&cert.cert_pem).build().unwrap();
    let resp = client
        .get(format!("https://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.version(),
        reqwest::Version::HTTP_2,
        "h2 offered by default"
    );
    assert_eq!(resp.text().await.unwrap(), "hello\n");

    // Same name through "localhost".
    let port = server.addr.port();
    let resp = client
        .get(format!("https://localhost:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let plain = reqwest::get(format!("http://{}/", server.addr)).await;
    assert!(
        plain.is_err(),
        "plain HTTP to the TLS port must fail: {plain:?}"
    );

    // A client that does not trust the certificate cannot connect.
    let other = server_cert();
    let untrusting = https_client(&other.cert_pem).build().unwrap();
    assert!(
        untrusting
            .get(format!("https://{}/", server.addr))
            .send()
            .await
            .is_err()
    );
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn http2_false_keeps_tls_on_http1() {
    let dir = tempfile::tempdir().unwrap();
    let cert = server_cert();
    write_cert(dir.path(), &cert);
    let server = start(
        app(),
        Some(tls_config(
            dir.path(),
            "http_server_config:\n  http2: false\n",
        )),
    )
    .await;
    let resp = https_client(&cert.cert_pem)
        .build()
        .unwrap()
        .get(format!("https://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn min_version_tls13_refuses_tls12_clients() {
    let dir = tempfile::tempdir().unwrap();
    let cert = server_cert();
    write_cert(dir.path(), &cert);
    let server = start(
        app(),
        Some(tls_config(dir.path(), "  min_version: TLS13\n")),
    )
    .await;
    let url = format!("https://{}/", server.addr);
    let old = https_client(&cert.cert_pem)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(old.get(&url).send().await.is_err());
    let new = https_client(&cert.cert_pem).build().unwrap();
    assert_eq!(new.get(&url).send().await.unwrap().status(), StatusCode::OK);
    server.shut_down().await.unwrap();
}

/// A CA and a client certificate it signed (PEM: cert + key, as reqwest's Identity wants).
fn client_ca_and_identity() -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test client CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["prometheus".to_string()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();
    (
        ca_cert.pem(),
        format!("{}{}", client_cert.pem(), client_key.serialize_pem()),
    )
}

#[tokio::test]
async fn require_and_verify_client_cert() {
    let dir = tempfile::tempdir().unwrap();
    let cert = server_cert();
    write_cert(dir.path(), &cert);
    let (ca_pem, identity_pem) = client_ca_and_identity();
    std::fs::write(dir.path().join("ca.crt"), &ca_pem).unwrap();
    let web = tls_config(
        dir.path(),
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let server = start(app(), Some(web)).await;
    let url = format!("https://{}/", server.addr);

    let anonymous = https_client(&cert.cert_pem).build().unwrap();
    assert!(anonymous.get(&url).send().await.is_err(), "no client cert");

    let (_, stranger) = client_ca_and_identity(); // signed by another CA
    let wrong_ca = https_client(&cert.cert_pem)
        .identity(reqwest::Identity::from_pem(stranger.as_bytes()).unwrap())
        .build()
        .unwrap();
    assert!(
        wrong_ca.get(&url).send().await.is_err(),
        "client cert from another CA"
    );

    let client = https_client(&cert.cert_pem)
        .identity(reqwest::Identity::from_pem(identity_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn rotated_certificate_files_are_picked_up_and_broken_ones_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let first = server_cert();
    write_cert(dir.path(), &first);
    let web = tls_config(dir.path(), "");
    let server = start(app(), Some(web.clone())).await;
    let url = format!("https://{}/", server.addr);
    let trusts_first = https_client(&first.cert_pem).build().unwrap();
    assert_eq!(
        trusts_first.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let second = server_cert();
    write_cert(dir.path(), &second);
    assert!(
        web.reload_certificates().unwrap(),
        "changed files are loaded"
    );
    assert!(!web.reload_certificates().unwrap(), "then nothing changed");
    // Fresh clients (new connections) see the new certificate.
    let trusts_second = https_client(&second.cert_pem).build().unwrap();
    assert_eq!(
        trusts_second.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let trusts_first = https_client(&first.cert_pem).build().unwrap();
    assert!(trusts_first.get(&url).send().await.is_err());

    // A half-written rotation: new cert, old key. Refused once, then quietly skipped.
    std::fs::write(dir.path().join("server.crt"), server_cert().cert_pem).unwrap();
    let err = web.reload_certificates().unwrap_err();
    assert!(format!("{err:#}").contains("usable pair"), "{err:#}");
    assert!(!web.reload_certificates().unwrap());
    let trusts_second = https_client(&second.cert_pem).build().unwrap();
    assert_eq!(
        trusts_second.get(&url).send().await.unwrap().status(),
        StatusCode::OK,
        "the previous certificate stays in use"
    );
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_stops_accepting() {
    let entered = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let router = Router::new().route(
        "/slow",
        get({
            let entered = entered.clone();
            let release = release.clone();
            move || async move {
                entered.notify_one();
                release.notified().await;
                "done\n"
            }
        }),
    );
    let server = start(router, None).await;
    let addr = server.addr;
    let request = tokio::spawn(async move {
        let resp = reqwest::get(format!("http://{addr}/slow")).await?;
        resp.text().await
    });
    entered.notified().await;
    server.stop.cancel();
    // Wait until the listener is gone, so shutdown has really begun while /slow still runs.
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!request.is_finished());
    release.notify_one();
    let body = request.await.unwrap().unwrap();
    assert_eq!(body, "done\n");
    server.shut_down().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}

#[tokio::test]
async fn the_documented_example_loads_and_its_password_works() {
    let doc = include_str!("../../docs/web-config.md");
    let yaml = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/web-config.md has a yaml example");
    let dir = tempfile::tempdir().unwrap();
    let cert = server_cert();
    std::fs::write(dir.path().join("exporter.crt"), &cert.cert_pem).unwrap();
    std::fs::write(dir.path().join("exporter.key"), &cert.key_pem).unwrap();
    std::fs::write(dir.path().join("web.yml"), yaml).unwrap();
    let web = Arc::new(WebConfig::load(&dir.path().join("web.yml")).unwrap());
    assert!(web.tls_enabled() && web.basic_auth_enabled() && web.http2());

    let server = start(app(), Some(web)).await;
    let resp = https_client(&cert.cert_pem)
        .build()
        .unwrap()
        .get(format!("https://{}/", server.addr))
        .basic_auth("prometheus", Some("change-me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    server.shut_down().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_watcher_reloads_changed_files_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), &server_cert());
    let web = tls_config(dir.path(), "");
    let tls = web.tls.clone().unwrap();
    let stop = CancellationToken::new();
    let watcher = tokio::spawn(tls::watch(tls.clone(), stop.clone()));
    write_cert(dir.path(), &server_cert());
    assert!(!tls.serves_current_files());
    // Paused clock: each sleep jumps ahead. The check itself runs on a blocking thread, so allow
    // a few intervals for it to land.
    for _ in 0..100 {
        tokio::time::sleep(CERT_RELOAD_INTERVAL).await;
        if tls.serves_current_files() {
            break;
        }
    }
    assert!(tls.serves_current_files(), "watcher did not reload");
    stop.cancel();
    watcher.await.unwrap();
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any text as a web config file: a config or an error, never a panic.
        #[test]
        fn any_text_parses_or_fails(text in ".{0,300}") {
            let _ = WebConfig::parse(&text, Path::new("/nonexistent"));
        }

        /// Any YAML shape under the known keys.
        #[test]
        fn any_shape_under_known_keys_parses_or_fails(
            key in prop::sample::select(vec!["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"]),
            value in crate::proptest_support::json(),
        ) {
            let text = serde_yaml_ng::to_string(&serde_json::json!({ key: value })).unwrap();
            let _ = WebConfig::parse(&text, Path::new("/nonexistent"));
        }
    }
}
