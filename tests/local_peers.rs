//! Messages of connect-without-timeout and server-without-timeout say what is true of the peer:
//! a local WebSocket is not told about SYN retries, a server on loopback says its clients are
//! local, and an axum server with its own timeout layer is not told that no layer bounds it.
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

#[test]
fn a_server_on_loopback_says_its_clients_are_local() {
    let found = messages(
        r#"
use std::net::Ipv4Addr;
async fn sidecar(app: axum::Router, public: std::net::SocketAddr) {
    let local = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    axum::serve(local, app.clone()).await.unwrap();
    let open = tokio::net::TcpListener::bind(public).await.unwrap();
    axum::serve(open, app).await.unwrap();
}
"#,
        "server-without-timeout",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    let (local, open) = (&found[0].1, &found[1].1);
    assert!(
        local.contains("loopback only") && local.contains("reverse proxy"),
        "{local}"
    );
    assert!(!open.contains("loopback"), "{open}");
}

#[test]
fn an_own_timeout_layer_is_not_denied() {
    let found = messages(
        r#"
use crate::timeout::DynamicTimeoutLayer;
async fn start(app: axum::Router, addr: std::net::SocketAddr, d: std::time::Duration) {
    let app = app.layer(DynamicTimeoutLayer::new(d));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
"#,
        "server-without-timeout",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let message = &found[0].1;
    assert!(!message.contains("no layer"), "{message}");
    assert!(
        message.contains("`DynamicTimeoutLayer`") && message.contains("headers"),
        "{message}"
    );
}

#[test]
fn a_constructors_address_is_judged_by_its_callers_in_view() {
    let source = |arg: &str| {
        format!(
            r#"
pub struct Daemon {{
    addr: String,
}}

impl Daemon {{
    pub fn new(addr: String) -> Self {{
        Self {{ addr }}
    }}

    pub async fn ping(&self) {{
        let _ = tokio::net::TcpStream::connect(&self.addr).await;
    }}
}}

pub async fn run(port: u16) {{
    let addr = {arg};
    Daemon::new(addr.clone()).ping().await;
}}
"#
        )
    };
    for local in [
        r#""127.0.0.1:6969".to_string()"#,
        r#"format!("127.0.0.1:{}", port)"#,
        r#"String::from("localhost:1")"#,
    ] {
        let found = messages(&source(local), "connect-without-timeout");
        assert!(found.is_empty(), "{local}: {found:?}");
    }
    for remote in [
        r#"std::env::var("DAEMON").unwrap()"#,
        r#"format!("{}:{}", "10.0.0.1", port)"#,
    ] {
        let found = messages(&source(remote), "connect-without-timeout");
        assert_eq!(found.len(), 1, "{remote}: {found:?}");
    }
}
