//! `tls_server_config`: certificate, key, client-certificate policy and TLS versions, turned into
//! a rustls `ServerConfig` on the aws-lc-rs provider, and re-read when the files change.
//!
//! The provider is passed explicitly (never the process-wide default): reqwest's rustls already
//! compiles aws-lc-rs in, and an explicit provider cannot panic if another crate ever enables
//! `ring` as well.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, anyhow, bail};
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use super::{CERT_RELOAD_INTERVAL, RawTls};

/// `client_auth_type`: the toolkit's names for Go's `tls.ClientAuthType`. Only the policies
/// that verify a presented certificate are supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientAuth {
    /// `NoClientCert` (default): no certificate asked for.
    NoClientCert,
    /// `VerifyClientCertIfGiven`: a certificate is optional, but verified against the CA if sent.
    VerifyClientCertIfGiven,
    /// `RequireAndVerifyClientCert`: a certificate signed by the client CA is required.
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> anyhow::Result<ClientAuth> {
        match s {
            "" | "NoClientCert" => Ok(ClientAuth::NoClientCert),
            "VerifyClientCertIfGiven" => Ok(ClientAuth::VerifyClientCertIfGiven),
            "RequireAndVerifyClientCert" => Ok(ClientAuth::RequireAndVerifyClientCert),
            "RequestClientCert" | "RequireAnyClientCert" => bail!(
                "client_auth_type {s} is not supported: it accepts certificates without verifying \
                 them; use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"
            ),
            other => bail!(
                "unknown client_auth_type {other:?}; expected NoClientCert, \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ),
        }
    }
}

/// `min_version` / `max_version`. rustls speaks TLS 1.2 and 1.3 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// Parses a version name; TLS10/TLS11 come back as `Err(name)` for the caller to judge.
fn parse_version(key: &str, s: &str) -> anyhow::Result<Result<TlsVersion, &'static str>> {
    match s {
        "TLS13" => Ok(Ok(TlsVersion::Tls13)),
        "TLS12" => Ok(Ok(TlsVersion::Tls12)),
        "TLS11" => Ok(Err("TLS11")),
        "TLS10" => Ok(Err("TLS10")),
        other => bail!("unknown {key} {other:?}; expected TLS12 or TLS13"),
    }
}

/// Where a piece of PEM comes from.
struct PemSource {
    /// The YAML key, for error messages.
    key: &'static str,
    origin: Origin,
}

enum Origin {
    File(PathBuf),
    // Secret because inline `key` is a private key; certificates share the type for simplicity.
    Inline(SecretString),
}

impl PemSource {
    fn pick(
        inline_key: &'static str,
        inline: Option<SecretString>,
        file_key: &'static str,
        file: Option<PathBuf>,
        base: &Path,
    ) -> anyhow::Result<Option<PemSource>> {
        let inline = inline.filter(|s| !s.expose_secret().trim().is_empty());
        let file = file.filter(|p| !p.as_os_str().is_empty());
        match (inline, file) {
            (Some(_), Some(_)) => bail!("set either {inline_key} or {file_key}, not both"),
            (Some(pem), None) => Ok(Some(PemSource {
                key: inline_key,
                origin: Origin::Inline(pem),
            })),
            (None, Some(path)) => Ok(Some(PemSource {
                key: file_key,
                origin: Origin::File(base.join(path)),
            })),
            (None, None) => Ok(None),
        }
    }

    fn read(&self) -> anyhow::Result<Vec<u8>> {
        match &self.origin {
            Origin::File(path) => std::fs::read(path)
                .with_context(|| format!("{} {}: cannot read", self.key, path.display())),
            Origin::Inline(pem) => Ok(pem.expose_secret().as_bytes().to_vec()),
        }
    }

    fn is_file(&self) -> bool {
        matches!(self.origin, Origin::File(_))
    }
}

impl fmt::Display for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File(path) => write!(f, "{} {}", self.key, path.display()),
            Origin::Inline(_) => write!(f, "{} (inline)", self.key),
        }
    }
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Validated `tls_server_config`.
#[derive(Debug)]
pub(super) struct Settings {
    cert: PemSource,
    key: PemSource,
    client_ca: Option<PemSource>,
    client_auth: ClientAuth,
    min: TlsVersion,
    max: TlsVersion,
    http2: bool,
}

impl Settings {
    /// `Ok(None)`: the section names no certificate, key or client auth, which the toolkit
    /// treats as "no TLS".
    pub(super) fn from_raw(raw: RawTls, base: &Path) -> anyhow::Result<Option<Settings>> {
        for (name, present) in [
            ("cipher_suites", raw.cipher_suites.is_some()),
            ("curve_preferences", raw.curve_preferences.is_some()),
            (
                "prefer_server_cipher_suites",
                raw.prefer_server_cipher_suites.is_some(),
            ),
        ] {
            if present {
                tracing::warn!(
                    key = name,
                    "tls_server_config: ignored; rustls chooses safe cipher suites and curves itself"
                );
            }
        }
        if raw
            .client_allowed_sans
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            bail!("client_allowed_sans is not supported");
        }
        let cert = PemSource::pick("cert", raw.cert, "cert_file", raw.cert_file, base)?;
        let key = PemSource::pick("key", raw.key, "key_file", raw.key_file, base)?;
        let client_ca = PemSource::pick(
            "client_ca",
            raw.client_ca,
            "client_ca_file",
            raw.client_ca_file,
            base,
        )?;
        let client_auth = ClientAuth::parse(raw.client_auth_type.as_deref().unwrap_or(""))?;
        if cert.is_none()
            && key.is_none()
            && client_ca.is_none()
            && client_auth == ClientAuth::NoClientCert
        {
            return Ok(None);
        }
        let cert = cert.ok_or_else(|| anyhow!("cert_file (or cert) is required for TLS"))?;
        let key = key.ok_or_else(|| anyhow!("key_file (or key) is required for TLS"))?;
        match (client_auth, &client_ca) {
            (ClientAuth::NoClientCert, Some(ca)) => {
                tracing::warn!(
                    source = %ca,
                    "tls_server_config: client CA ignored because client_auth_type is NoClientCert"
                );
            }
            (ClientAuth::NoClientCert, None) => {}
            (_, None) => {
                bail!("client_auth_type {client_auth:?} needs client_ca_file (or client_ca)")
            }
            (_, Some(_)) => {}
        }

        let min = match raw.min_version.as_deref() {
            None | Some("") => TlsVersion::Tls12,
            Some(s) => match parse_version("min_version", s)? {
                Ok(v) => v,
                Err(old) => {
                    tracing::warn!(
                        min_version = old,
                        "tls_server_config: TLS 1.0/1.1 are not supported; the minimum is TLS12"
                    );
                    TlsVersion::Tls12
                }
            },
        };
        let max = match raw.max_version.as_deref() {
            None | Some("") => TlsVersion::Tls13,
            Some(s) => match parse_version("max_version", s)? {
                Ok(v) => v,
                Err(old) => bail!("max_version {old} is not supported; use TLS12 or TLS13"),
            },
        };
        if min > max {
            bail!("min_version {min:?} is above max_version {max:?}");
        }
        Ok(Some(Settings {
            cert,
            key,
            client_ca,
            client_auth,
            min,
            max,
            http2: true,
        }))
    }

    /// Sets whether ALPN offers `h2`.
    pub(super) fn with_http2(mut self, http2: bool) -> Settings {
        self.http2 = http2;
        self
    }

    fn read(&self) -> anyhow::Result<Material> {
        let client_auth_needs_ca = self.client_auth != ClientAuth::NoClientCert;
        Ok(Material {
            cert: self.cert.read()?,
            key: self.key.read()?,
            client_ca: match &self.client_ca {
                Some(ca) if client_auth_needs_ca => Some(ca.read()?),
                _ => None,
            },
        })
    }

    fn has_files(&self) -> bool {
        self.cert.is_file()
            || self.key.is_file()
            || self.client_ca.as_ref().is_some_and(PemSource::is_file)
    }

    fn build(&self, material: &Material) -> anyhow::Result<ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs = parse_certs(&self.cert, &material.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&material.key).map_err(|e| match e {
            pem::Error::NoItemsFound => anyhow!("{}: no private key found", self.key),
            // The parser's detail may quote key bytes: keep it out.
            _ => anyhow!("{}: not a valid PEM private key", self.key),
        })?;
        let versions: Vec<&'static SupportedProtocolVersion> =
            [TlsVersion::Tls12, TlsVersion::Tls13]
                .into_iter()
                .filter(|v| (self.min..=self.max).contains(v))
                .map(TlsVersion::rustls)
                .collect();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .context("TLS versions")?;
        // `material.client_ca` is only read when a verifying client_auth_type is set.
        let builder = match (&self.client_ca, &material.client_ca) {
            (Some(source), Some(ca_pem)) => {
                let mut roots = RootCertStore::empty();
                for ca in parse_certs(source, ca_pem)? {
                    roots
                        .add(ca)
                        .map_err(|e| anyhow!("{source}: unusable CA certificate: {e}"))?;
                }
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if self.client_auth == ClientAuth::VerifyClientCertIfGiven {
                    verifier = verifier.allow_unauthenticated();
                }
                let verifier = verifier
                    .build()
                    .map_err(|e| anyhow!("{source}: cannot verify clients with it: {e}"))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).map_err(|e| {
            anyhow!(
                "{} and {} do not form a usable pair: {e}",
                self.cert,
                self.key
            )
        })?;
        config.alpn_protocols = if self.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(config)
    }
}

fn parse_certs(source: &PemSource, pem: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{source}: not valid PEM: {e}"))?;
    if certs.is_empty() {
        bail!("{source}: no CERTIFICATE block found");
    }
    Ok(certs)
}

/// The bytes behind one `ServerConfig`.
struct Material {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Material {
    /// SHA-256 over all parts: tells whether anything changed without keeping a key copy around.
    fn fingerprint(&self) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()] {
            match part {
                Some(bytes) => {
                    ctx.update(&(bytes.len() as u64 + 1).to_be_bytes());
                    ctx.update(bytes);
                }
                None => ctx.update(&0u64.to_be_bytes()),
            }
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

#[derive(Debug)]
struct Fingerprints {
    active: [u8; 32],
    /// The last material that failed to build, so a broken file is reported once, not per tick.
    failed: Option<[u8; 32]>,
}

/// Live TLS state: the settings, the config axum-server serves, what it was built from.
pub(super) struct Tls {
    settings: Settings,
    rustls: RustlsConfig,
    fingerprints: Mutex<Fingerprints>,
    watching: AtomicBool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Tls {
    pub(super) fn load(settings: Settings) -> anyhow::Result<Tls> {
        let material = settings.read()?;
        let config = settings.build(&material)?;
        Ok(Tls {
            rustls: RustlsConfig::from_config(Arc::new(config)),
            fingerprints: Mutex::new(Fingerprints {
                active: material.fingerprint(),
                failed: None,
            }),
            settings,
            watching: AtomicBool::new(false),
        })
    }

    pub(super) fn rustls_config(&self) -> RustlsConfig {
        self.rustls.clone()
    }

    /// Blocking file reads; see `WebConfig::reload_certificates`.
    pub(super) fn reload_if_changed(&self) -> anyhow::Result<bool> {
        if !self.settings.has_files() {
            return Ok(false);
        }
        let material = self.settings.read()?;
        let fingerprint = material.fingerprint();
        {
            let seen = self.fingerprints.lock().unwrap_or_else(|p| p.into_inner());
            if seen.active == fingerprint || seen.failed == Some(fingerprint) {
                return Ok(false);
            }
        }
        match self.settings.build(&material) {
            Ok(config) => {
                self.rustls.reload_from_config(Arc::new(config));
                let mut seen = self.fingerprints.lock().unwrap_or_else(|p| p.into_inner());
                seen.active = fingerprint;
                seen.failed = None;
                Ok(true)
            }
            Err(e) => {
                self.fingerprints
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .failed = Some(fingerprint);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
impl Tls {
    /// Whether the served config was built from what the files hold now.
    pub(super) fn serves_current_files(&self) -> bool {
        let now = self.settings.read().map(|m| m.fingerprint()).ok();
        let active = self
            .fingerprints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .active;
        now == Some(active)
    }
}

/// Checks the TLS files every [`CERT_RELOAD_INTERVAL`] until `stop`. One watcher per `Tls` even
/// when several listeners share it.
pub(super) async fn watch(tls: Arc<Tls>, stop: CancellationToken) {
    if !tls.settings.has_files() || tls.watching.swap(true, Ordering::AcqRel) {
        return;
    }
    let mut tick = tokio::time::interval(CERT_RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the files were just loaded
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let check = tls.clone();
        match tokio::task::spawn_blocking(move || check.reload_if_changed()).await {
            Ok(Ok(true)) => tracing::info!("TLS certificate reloaded"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "TLS certificate reload failed; keeping the previous one"
                )
            }
            Err(e) => tracing::warn!(error = %e, "TLS certificate reload task failed"),
        }
    }
    tls.watching.store(false, Ordering::Release);
}
