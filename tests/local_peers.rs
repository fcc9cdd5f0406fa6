//! Messages of connect-without-timeout say what is true of the peer: a local WebSocket is not
//! told about SYN retries.
mod common;

/// The messages of `rule`'s findings in `source`, by line.
fn messages(source: &str, rule: &str) -> Vec<(u32, String)> {
    common::lint_source(source)
        .findings()
        .filter(|f| f.rule == rule)
        .map(|f| (f.region.start.line, f.message.clone()))
        .collect()
}

#[test]
fn a_local_websocket_is_reported_for_its_handshake_not_for_syn_retries() {
    let found = messages(
        r#"
async fn feeds(remote: &str) {
    let local = tokio_tungstenite::connect_async("ws://127.0.0.1:9001/feed").await;
    let far = tokio_tungstenite::connect_async(remote).await;
}
"#,
        "connect-without-timeout",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    let (local, far) = (&found[0].1, &found[1].1);
    assert!(
        local.contains("on this host") && local.contains("handshake"),
        "{local}"
    );
    assert!(!local.contains("127 s"), "{local}");
    assert!(far.contains("127 s") && far.contains("handshake"), "{far}");
}
