//! `http_server_config.headers`: the security headers the toolkit lets an operator add to every
//! response, validated like the toolkit does (only these names; fixed values where HTTP fixes them).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Header names the toolkit allows, with the values it accepts (`None`: any value).
const ALLOWED: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// The validated headers, in a stable order.
#[derive(Debug, Default)]
pub(super) struct Headers(Vec<(HeaderName, HeaderValue)>);

impl Headers {
    pub(super) fn from_raw(raw: BTreeMap<String, String>) -> anyhow::Result<Headers> {
        let mut out = Vec::with_capacity(raw.len());
        for (name, value) in raw {
            let Some((canonical, allowed_values)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
                bail!(
                    "header {name:?} cannot be configured; allowed: {}",
                    names.join(", ")
                );
            };
            // Blank means unset, as in the toolkit.
            if value.is_empty() {
                continue;
            }
            if let Some(values) = allowed_values
                && !values.contains(&value.as_str())
            {
                bail!(
                    "{canonical}: value {value:?} is not allowed; use {}",
                    values.join(" or ")
                );
            }
            let header_value = HeaderValue::from_str(&value)
                .map_err(|_| anyhow!("{canonical}: value {value:?} is not a valid header value"))?;
            out.push((HeaderName::from_static(lowercase(canonical)), header_value));
        }
        Ok(Headers(out))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    pub(super) fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// `HeaderName::from_static` wants lowercase; the allowed names are fixed, so map them here.
fn lowercase(name: &str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

/// Middleware: sets the configured headers on every response (replacing a handler's own).
pub(super) async fn add_headers(
    State(headers): State<Arc<Headers>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in &headers.0 {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}
