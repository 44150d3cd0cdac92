//! The simulator's `/`: what it is, the AppIDs and AppSecrets it accepts, when it publishes, and
//! its routes, so a person who opens it in a browser can point an exporter at it.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Html;

use super::Simulator;
use super::callback::SIM_CALLBACK_TOKEN;
use crate::status_page::escape;

pub(super) async fn home(State(sim): State<Simulator>) -> Html<String> {
    let config = sim.config();
    let mut page = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Simulated WeChat API</title>\
         <style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}code{font-size:110%}</style>\
         </head><body><h1>Simulated WeChat API</h1><p>wechat-mp-exporter's stand-in for \
         <code>api.weixin.qq.com</code>: point <code>[wechat] api_base_url</code> at this address. \
         It accepts these accounts (any other AppID or AppSecret gets WeChat's errcode 40013 or \
         40125):</p><table><tr><th>AppID</th><th>AppSecret</th></tr>",
    );
    for account in &config.accounts {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(&account.app_id),
            escape(&account.app_secret)
        );
    }
    let _ = write!(
        page,
        "</table><p>Yesterday (UTC+8) is published from {} UTC+8; the latest published day is \
         now {}. Tokens live {} s.</p><ul>\
         <li><code>POST /cgi-bin/stable_token</code>, <code>GET /cgi-bin/token</code>: access tokens</li>\
         <li><code>POST /datacube/NAME</code>: the 21 datacube reports</li>\
         <li><code>/callback/ACCOUNT</code>: a callback server with Token <code>{}</code></li>\
         <li><code>GET /_sim/calls</code>, <code>POST /_sim/faults</code>, <code>POST /_sim/reset</code>: \
         what tests use to count calls and inject errors</li></ul></body></html>",
        config.publish_at.strftime("%H:%M"),
        sim.last_published_day(),
        config.token_ttl.as_secs(),
        escape(SIM_CALLBACK_TOKEN),
    );
    Html(page)
}
