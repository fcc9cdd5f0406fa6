//! `whole-body-read` on outbound responses: a reply decoded into a typed value is quiet, a body
//! forwarded after it was read whole is high with the forwarding site labelled, and a body whose
//! use the file does not show is medium; inbound bodies stay high whatever is done with them.
mod common;

use cargo_backpressure::diag::{Confidence, Finding};

fn whole_body_findings(source: &str) -> Vec<Finding> {
    common::lint_source(source)
        .findings()
        .filter(|f| f.rule == "whole-body-read")
        .cloned()
        .collect()
}

fn only(source: &str) -> Finding {
    let found = whole_body_findings(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap()
}

#[test]
fn a_forwarded_reply_is_high_and_labels_where_it_goes() {
    let returned = only(
        r#"
pub async fn connector(client: &reqwest::Client, url: &str) -> Result<http::Response<Vec<u8>>, reqwest::Error> {
    let response = client.get(url).send().await?;
    let bytes = response.bytes().await?;
    Ok(http::Response::new(bytes.to_vec()))
}
"#,
    );
    assert_eq!(returned.confidence, Confidence::High);
    assert!(
        returned.message.contains("before forwarding it"),
        "{}",
        returned.message
    );
    let label = returned
        .labels
        .first()
        .expect("the forwarding site is labelled");
    assert!(
        label.message.contains("`Response::new`"),
        "{}",
        label.message
    );

    let stored = only(
        r#"
pub struct Reply { pub body: Option<Vec<u8>> }
pub async fn to_guest(mut resp: http::Response<hyper::body::Incoming>) -> Option<Reply> {
    let body = resp.body_mut().collect().await.ok()?.to_bytes().to_vec();
    Some(Reply { body: Some(body) })
}
"#,
    );
    assert_eq!(stored.confidence, Confidence::High);
    let label = stored
        .labels
        .first()
        .expect("the forwarding site is labelled");
    assert!(label.message.contains("`Reply"), "{}", label.message);
}

#[test]
fn a_reply_read_for_no_visible_use_is_medium() {
    let finding = only(
        r#"
pub async fn probe(client: &reqwest::Client, url: &str) -> Option<bool> {
    let resp = client.get(url).send().await.ok()?;
    let text = resp.text().await.unwrap_or_default();
    Some(text.contains("ok"))
}
"#,
    );
    assert_eq!(finding.confidence, Confidence::Medium);
    let reason = finding
        .confidence_reason
        .expect("a medium finding says why");
    assert!(reason.contains("upstream"), "{reason}");
}

#[test]
fn a_reply_handed_to_a_callback_of_the_request_future_is_outbound() {
    let finding = only(
        r#"
use futures::{FutureExt, TryFutureExt};
use http_body_util::BodyExt as _;
pub fn scrape(client: HttpClient, request: http::Request<hyper::Body>) -> impl futures::Stream<Item = Result<usize, Error>> {
    client
        .send(request)
        .map_err(Error::from)
        .and_then(|response| async move {
            let (_parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(body.len())
        })
        .into_stream()
}
"#,
    );
    assert_eq!(finding.confidence, Confidence::Medium);
    assert!(
        finding.message.contains("upstream body"),
        "{}",
        finding.message
    );
}

#[test]
fn a_reply_decoded_into_its_type_is_quiet_and_a_document_or_request_body_is_not() {
    let decoded = whole_body_findings(
        r#"
#[derive(serde::Deserialize)]
pub struct Token { pub access_token: String }
pub async fn token(client: &reqwest::Client, url: &str) -> reqwest::Result<Token> {
    client.post(url).send().await?.json::<Token>().await
}
pub async fn rows(client: &reqwest::Client, url: &str) -> Option<Vec<String>> {
    let text = client.get(url).send().await.ok()?.text().await.ok()?;
    serde_json::from_str(&text).ok()
}
"#,
    );
    assert!(decoded.is_empty(), "{decoded:#?}");

    let relayed = only(
        r#"
pub async fn relay(client: &reqwest::Client, url: &str) -> reqwest::Result<axum::Json<serde_json::Value>> {
    let doc = client.get(url).send().await?.json::<serde_json::Value>().await?;
    Ok(axum::Json(doc))
}
"#,
    );
    assert_eq!(relayed.confidence, Confidence::High);
    assert!(
        relayed.labels[0].message.contains("`axum::Json`"),
        "{:?}",
        relayed.labels
    );

    let inbound = only(
        r#"
pub async fn handler(req: http::Request<hyper::body::Incoming>) -> Option<serde_json::Value> {
    let (_parts, body) = req.into_parts();
    let bytes = body.collect().await.ok()?.to_bytes();
    serde_json::from_slice(&bytes).ok()
}
"#,
    );
    assert_eq!(inbound.confidence, Confidence::High);
}

#[test]
fn an_unlimited_decode_is_reported_on_a_server_not_on_a_generated_client() {
    let source = r#"
pub fn client(ch: tonic::transport::Channel) -> pubsub_client::PubsubClient<tonic::transport::Channel> {
    pubsub_client::PubsubClient::new(ch).max_decoding_message_size(usize::MAX)
}
pub fn server(svc: pubsub_server::PubsubServer<Svc>) -> pubsub_server::PubsubServer<Svc> {
    svc.max_decoding_message_size(usize::MAX)
}
"#;
    let found = whole_body_findings(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].region.start.line, 6);
}
