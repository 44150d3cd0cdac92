//! Unit tests of the simulated third-party platform: tickets, secrets, token lifetimes, refresh-token rotation and the control routes.

use super::*;
use crate::clock::ManualClock;
use std::sync::Arc;

fn sim() -> (Simulator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    let sim = Simulator::new(SimConfig::demo(), clock.clone());
    sim.add_component(SimComponent::generated("wxcomponent01", 3));
    (sim, clock)
}

fn component_body(sim: &Simulator, secret: &str, ticket: &str) -> Vec<u8> {
    let _ = sim;
    serde_json::to_vec(&serde_json::json!({
        "component_appid": "wxcomponent01",
        "component_appsecret": secret,
        "component_verify_ticket": ticket,
    }))
    .unwrap()
}

#[test]
fn tickets_secrets_and_lifetimes() {
    let (sim, clock) = sim();
    let secret = SimComponent::generated("wxcomponent01", 0).secret;
    let first = sim.component_ticket("wxcomponent01").unwrap();
    assert!(
        sim.component_token_answer(&component_body(&sim, &secret, &first))
            .is_ok()
    );
    assert_eq!(
        sim.component_token_answer(&component_body(&sim, "wrong", &first)),
        Err(40125)
    );
    assert_eq!(
        sim.component_token_answer(&component_body(&sim, &secret, "ticket@@@made-up")),
        Err(61006)
    );
    // A new push: the old ticket stays good until 12 h after its own push.
    clock.advance(SignedDuration::from_mins(10));
    let second = sim.push_component_ticket("wxcomponent01").unwrap();
    assert_ne!(first, second);
    assert!(
        sim.component_token_answer(&component_body(&sim, &secret, &first))
            .is_ok()
    );
    clock.advance(SignedDuration::from_hours(12) - SignedDuration::from_mins(5));
    assert_eq!(
        sim.component_token_answer(&component_body(&sim, &secret, &first)),
        Err(61005)
    );
    assert!(
        sim.component_token_answer(&component_body(&sim, &secret, &second))
            .is_ok()
    );
}

#[tokio::test]
async fn the_control_routes_push_tickets_and_rotate_refresh_tokens() {
    let (sim, _clock) = sim();
    let addr = sim
        .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let ticket_url = format!("http://{addr}/_sim/component/wxcomponent01/ticket");
    let first = http
        .get(&ticket_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(Some(first.clone()), sim.component_ticket("wxcomponent01"));
    let control = |body: serde_json::Value| {
        http.post(format!("http://{addr}/_sim/component"))
            .json(&body)
            .send()
    };
    let r = control(serde_json::json!({
        "push_ticket": ["wxcomponent01"],
        "rotate_refresh_token": ["wxauth000000000002"],
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let second = http
        .get(&ticket_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(first, second);
    assert!(
        sim.platforms().by_appid["wxcomponent01"]
            .rotate
            .contains("wxauth000000000002")
    );
    // Unknown ids and unknown keys are refused.
    let r = control(serde_json::json!({"rotate_refresh_token": ["wxnobody"]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = control(serde_json::json!({"rotate": true})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("http://{addr}/_sim/component/wxnobody/ticket"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn refresh_tokens_rotate_on_demand_and_the_old_one_dies() {
    let (sim, _clock) = sim();
    let secret = SimComponent::generated("wxcomponent01", 0).secret;
    let ticket = sim.component_ticket("wxcomponent01").unwrap();
    let (component, _) = sim
        .component_token_answer(&component_body(&sim, &secret, &ticket))
        .unwrap();
    let ask = |refresh: &str| {
        let body = serde_json::to_vec(&serde_json::json!({
            "component_appid": "wxcomponent01",
            "authorizer_appid": "wxauth000000000001",
            "authorizer_refresh_token": refresh,
        }))
        .unwrap();
        sim.authorizer_token_answer(Some(&component), &body)
    };
    let old = sim.authorizer_refresh_token("wxauth000000000001").unwrap();
    let answer = ask(&old).unwrap();
    assert_eq!(answer["authorizer_refresh_token"], old.as_str());
    let token = answer["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The datacube accepts it as the account's token.
    assert_eq!(
        sim.tokens().tokens.check(&token, sim.inner.clock.now()),
        Ok("wxauth000000000001".to_string())
    );
    assert!(sim.rotate_refresh_token("wxauth000000000001"));
    let answer = ask(&old).unwrap();
    let new = answer["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert_eq!(ask(&old), Err(61023));
    assert!(ask(&new).is_ok());
    // Another component token, an unknown one: 40001; an account not authorised: 61003.
    assert_eq!(
        sim.authorizer_token_answer(Some("nope"), b"{\"component_appid\":\"wxcomponent01\"}"),
        Err(40001)
    );
    let body = serde_json::to_vec(&serde_json::json!({
        "component_appid": "wxcomponent01",
        "authorizer_appid": "wxnotauthorised",
        "authorizer_refresh_token": "x",
    }))
    .unwrap();
    assert_eq!(
        sim.authorizer_token_answer(Some(&component), &body),
        Err(61003)
    );
}
