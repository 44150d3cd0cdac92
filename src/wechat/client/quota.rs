//! getApiQuota (`/cgi-bin/openapi/quota/get`): the daily quota of one datacube API of the account.
//! Read only, never clear_quota: clearing is an operator's decision (it is limited per month).

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::Client;
use crate::wechat::Endpoint;
use crate::wechat::error::{Error, ErrorClass};
use crate::wechat::token::AccessToken;
use crate::wechat::transport::{self, api_url};

/// The path of getApiQuota under the API base.
pub const QUOTA_PATH: &str = "/cgi-bin/openapi/quota/get";

/// The name getApiQuota calls are reported under (`CallObserver::api_call`), beside the endpoints.
pub const QUOTA_API: &str = "quota_get";

/// One API's quota for the current UTC+8 day, as getApiQuota reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ApiQuota {
    /// Calls allowed per day.
    pub daily_limit: u64,
    /// Calls counted today.
    pub used: u64,
    /// Calls left today.
    pub remain: u64,
}

#[derive(Deserialize)]
struct QuotaBody {
    quota: ApiQuota,
}

impl Client {
    /// The quota of `endpoint` today. One call (and one more if the token was replaced); a
    /// transient error is not retried: the quota is read again on the next occasion.
    pub async fn quota(&self, endpoint: Endpoint) -> Result<ApiQuota, Error> {
        let mut token_retried = false;
        loop {
            let token = self.tokens.get().await?;
            let result = self.quota_attempt(endpoint, &token).await;
            let label = match &result {
                Ok(_) => "0".to_string(),
                Err(e) => e.label(),
            };
            self.observer.api_call(QUOTA_API, &label);
            match result {
                Err(e) if e.class() == ErrorClass::Token && !token_retried => {
                    token_retried = true;
                    self.tokens.invalidate(&token);
                }
                other => return other,
            }
        }
    }

    async fn quota_attempt(
        &self,
        endpoint: Endpoint,
        token: &AccessToken,
    ) -> Result<ApiQuota, Error> {
        let mut url = api_url(&self.settings.base_url, QUOTA_PATH, QUOTA_API)?;
        url.query_pairs_mut()
            .append_pair("access_token", token.value.expose_secret());
        let body = serde_json::json!({ "cgi_path": endpoint.path() });
        let bytes = self
            .http
            .wechat_body(QUOTA_API, self.http.post(url).json(&body))
            .await?;
        serde_json::from_slice::<QuotaBody>(&bytes)
            .map(|b| b.quota)
            .map_err(|e| transport::invalid_json(QUOTA_API, e.to_string()))
    }
}
