//! Every documented HEC reply, over raw HTTP against an in-process server on loopback.

mod common;

use std::io::Write;
use std::sync::atomic::Ordering;

use cimhunt_serve::{EventBody, TokenConfig};
use common::*;
use reqwest::{Client, StatusCode};

const ACK_TOKEN: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const OFF_TOKEN: &str = "aaaaaaaa-0000-0000-0000-000000000002";
const WIN_TOKEN: &str = "aaaaaaaa-0000-0000-0000-000000000003";
const QS_TOKEN: &str = "aaaaaaaa-0000-0000-0000-000000000004";
const CHANNEL: &str = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba";

struct Env {
    _dir: tempfile::TempDir,
    handle: cimhunt_serve::ServeHandle,
    sink: std::sync::Arc<FakeSink>,
    http: Client,
}

async fn env(tweak: impl FnOnce(&mut cimhunt_serve::ServeConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.tokens.push(TokenConfig {
        ack: true,
        ..TokenConfig::new(ACK_TOKEN)
    });
    c.tokens.push(TokenConfig {
        enabled: false,
        ..TokenConfig::new(OFF_TOKEN)
    });
    c.tokens.push(TokenConfig {
        indexes: vec!["wineventlog".into()],
        default_index: Some("wineventlog".into()),
        sourcetype: Some("XmlWinEventLog".into()),
        ..TokenConfig::new(WIN_TOKEN)
    });
    c.tokens.push(TokenConfig {
        allow_query_string_auth: true,
        ..TokenConfig::new(QS_TOKEN)
    });
    tweak(&mut c);
    let sink = FakeSink::new(vec![]);
    let handle = start(c, sink.clone()).await;
    Env {
        _dir: dir,
        handle,
        sink,
        http: client(),
    }
}

impl Env {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, String) {
        self.send(path, token.map(|t| format!("Splunk {t}")), &[], body)
            .await
    }

    async fn send(
        &self,
        path: &str,
        auth: Option<String>,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, String) {
        let mut req = self.http.post(url(&self.handle, path)).body(body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn success_on_every_event_endpoint_and_raw() {
    let e = env(|_| {}).await;
    for path in [
        "/services/collector",
        "/services/collector/event",
        "/services/collector/event/1.0",
    ] {
        let (s, b) = e
            .post(
                path,
                Some(TOKEN),
                format!(r#"{{"event":"{path}","time":1700000000}}"#),
            )
            .await;
        assert_eq!(
            (s, b.as_str()),
            (StatusCode::OK, r#"{"text":"Success","code":0}"#)
        );
    }
    let (s, b) = e
        .post(
            "/services/collector/raw?sourcetype=XmlWinEventLog&host=ws1",
            Some(TOKEN),
            "<Event>1</Event>\r\n<Event>2</Event>\n",
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (StatusCode::OK, r#"{"text":"Success","code":0}"#)
    );
    wait_until("5 events", || e.sink.events().len() == 5).await;
    let events = e.sink.events();
    assert_eq!(events[3].body, EventBody::Text("<Event>1</Event>".into()));
    assert_eq!(events[3].sourcetype.as_deref(), Some("XmlWinEventLog"));
    assert_eq!(events[3].host.as_deref(), Some("ws1"));
}

#[tokio::test]
async fn basic_authentication_and_gzip_bodies_are_accepted() {
    let e = env(|_| {}).await;
    // Any user, the token as password: "x:<TOKEN>" in base64.
    let basic = format!("Basic {}", base64_encode(format!("x:{TOKEN}").as_bytes()));
    let body = gzip(br#"{"event":"zipped","sourcetype":"st"}"#);
    let (s, b) = e
        .send(
            "/services/collector/event",
            Some(basic),
            &[("Content-Encoding", "gzip")],
            body,
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (StatusCode::OK, r#"{"text":"Success","code":0}"#)
    );
    wait_until("the zipped event", || e.sink.texts() == ["zipped"]).await;
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn authentication_errors() {
    let e = env(|_| {}).await;
    let ev = r#"{"event":"x"}"#;
    let cases: Vec<(Option<String>, &str, StatusCode, &str)> = vec![
        (
            Some(format!("Splunk {OFF_TOKEN}")),
            "/services/collector/event",
            StatusCode::FORBIDDEN,
            r#"{"text":"Token disabled","code":1}"#,
        ),
        (
            None,
            "/services/collector/event",
            StatusCode::UNAUTHORIZED,
            r#"{"text":"Token is required","code":2}"#,
        ),
        (
            Some(format!("Bearer {TOKEN}")),
            "/services/collector/event",
            StatusCode::UNAUTHORIZED,
            r#"{"text":"Invalid authorization","code":3}"#,
        ),
        (
            Some("Splunk not-a-token".into()),
            "/services/collector/event",
            StatusCode::FORBIDDEN,
            r#"{"text":"Invalid token","code":4}"#,
        ),
        (
            None,
            "/services/collector/event?token=aaaaaaaa-0000-0000-0000-000000000003",
            StatusCode::BAD_REQUEST,
            r#"{"text":"Query string authorization is not enabled","code":16}"#,
        ),
        (
            None,
            "/services/collector/event?token=nope",
            StatusCode::FORBIDDEN,
            r#"{"text":"Invalid token","code":4}"#,
        ),
        (
            None,
            "/services/collector/event?token=aaaaaaaa-0000-0000-0000-000000000004",
            StatusCode::OK,
            r#"{"text":"Success","code":0}"#,
        ),
    ];
    for (auth, path, status, body) in cases {
        let (s, b) = e.send(path, auth.clone(), &[], ev).await;
        assert_eq!((s, b.as_str()), (status, body), "{auth:?} {path}");
    }
}

#[tokio::test]
async fn data_errors_name_the_failing_event() {
    let e = env(|_| {}).await;
    let cases = [
        (
            "",
            StatusCode::BAD_REQUEST,
            r#"{"text":"No data","code":5}"#,
        ),
        (
            r#"{"event":"a"} {"event":"b""#,
            StatusCode::BAD_REQUEST,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        (
            r#"{"event":"a"}{"fields":{}}"#,
            StatusCode::BAD_REQUEST,
            r#"{"text":"Event field is required","code":12,"invalid-event-number":1}"#,
        ),
        (
            r#"{"event":""}"#,
            StatusCode::BAD_REQUEST,
            r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}"#,
        ),
        (
            r#"{"event":"a","fields":{"f":{"nested":1}}}"#,
            StatusCode::BAD_REQUEST,
            r#"{"text":"Error in handling indexed fields","code":15,"invalid-event-number":0}"#,
        ),
    ];
    for (body, status, reply) in cases {
        let (s, b) = e.post("/services/collector/event", Some(TOKEN), body).await;
        assert_eq!((s, b.as_str()), (status, reply), "{body}");
    }
    let (s, b) = e
        .post(
            "/services/collector/event",
            Some(WIN_TOKEN),
            r#"{"event":"a"}{"event":"b","index":"main"}"#,
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"text":"Incorrect index","code":7,"invalid-event-number":1}"#
        )
    );
    // Nothing of a refused request reaches the engine.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(e.sink.events().is_empty());
}

#[tokio::test]
async fn acknowledgement_flow_and_its_errors() {
    let e = env(|_| {}).await;
    let ev = r#"{"event":"acked"}"#;
    let (s, b) = e
        .post("/services/collector/event", Some(ACK_TOKEN), ev)
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"text":"Data channel is missing","code":10}"#
        )
    );
    let (s, b) = e
        .send(
            "/services/collector/event",
            Some(format!("Splunk {ACK_TOKEN}")),
            &[("X-Splunk-Request-Channel", "not-a-guid")],
            ev,
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"text":"Invalid data channel","code":11}"#
        )
    );
    let (s, b) = e
        .send(
            "/services/collector/event",
            Some(format!("Splunk {ACK_TOKEN}")),
            &[("X-Splunk-Request-Channel", CHANNEL)],
            ev,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let reply: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(reply["text"], "Success");
    let id = reply["ackId"].as_u64().expect("an ackId");
    // The channel may also come as a query parameter.
    let (s, b) = e
        .post(
            &format!("/services/collector/ack?channel={CHANNEL}"),
            Some(ACK_TOKEN),
            format!(r#"{{"acks":[{id},{}]}}"#, id + 1000),
        )
        .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::OK,
            format!(r#"{{"acks":{{"{id}":true,"{}":false}}}}"#, id + 1000)
        )
    );
    let (s, b) = e
        .post("/services/collector/ack", Some(TOKEN), r#"{"acks":[0]}"#)
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"text":"ACK is disabled","code":14}"#
        )
    );
}

#[tokio::test]
async fn busy_engine_gives_503_and_unhealthy() {
    let e = env(|c| c.limits.max_pending_events = 3).await;
    let (s, b) = e
        .http
        .get(url(&e.handle, "/services/collector/health"))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(
        (s, b.text().await.unwrap().as_str()),
        (StatusCode::OK, r#"{"text":"HEC is healthy","code":17}"#)
    );
    e.sink.busy.store(true, Ordering::Release);
    let (s, _) = e
        .post(
            "/services/collector/event",
            Some(TOKEN),
            r#"{"event":"1"}{"event":"2"}{"event":"3"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "fits the queue");
    let (s, b) = e
        .post("/services/collector/event", Some(TOKEN), r#"{"event":"4"}"#)
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"text":"Server is busy","code":9}"#
        )
    );
    let r = e
        .http
        .get(url(&e.handle, "/services/collector/health/1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.text().await.unwrap().as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"text":"HEC is unhealthy, queues are full","code":18}"#
        )
    );
    e.sink.busy.store(false, Ordering::Release);
    wait_until("the queued events", || e.sink.events().len() == 3).await;
    let (s, _) = e
        .post("/services/collector/event", Some(TOKEN), r#"{"event":"4"}"#)
        .await;
    assert_eq!(s, StatusCode::OK, "room again once the engine caught up");
}

/// Few events, but large ones: the bytes waiting for the engine bound memory, not only the
/// count.
#[tokio::test]
async fn large_events_waiting_for_a_busy_engine_give_503_by_their_bytes() {
    let e = env(|c| c.limits.max_pending_bytes = 8 * 1024).await;
    e.sink.busy.store(true, Ordering::Release);
    let big = |tag: &str| format!(r#"{{"event":"{tag}{}"}}"#, "x".repeat(5000));
    // Nothing waits: one request fits whatever its size.
    let (s, _) = e
        .post("/services/collector/event", Some(TOKEN), big("a"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e
        .post("/services/collector/event", Some(TOKEN), big("b"))
        .await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "two of ~5 KB exceed 8 KiB"
    );
    // A small one still fits beside the first.
    let (s, _) = e
        .post("/services/collector/event", Some(TOKEN), r#"{"event":"c"}"#)
        .await;
    assert_eq!(s, StatusCode::OK);
    e.sink.busy.store(false, Ordering::Release);
    wait_until("the queued events", || e.sink.events().len() == 2).await;
    let (s, _) = e
        .post("/services/collector/event", Some(TOKEN), big("b"))
        .await;
    assert_eq!(s, StatusCode::OK, "room again once the engine caught up");
}

#[tokio::test]
async fn size_limits_hold_for_plain_and_gzip_bombs() {
    let e = env(|c| {
        c.limits.max_content_length = 4096;
        c.limits.max_decompressed_length = 64 * 1024;
    })
    .await;
    let big = format!(r#"{{"event":"{}"}}"#, "x".repeat(5000));
    let (s, _) = e.post("/services/collector/event", Some(TOKEN), big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // 10 MB of one character compresses to about 10 KB... make it fit the compressed limit.
    let bomb = gzip(format!(r#"{{"event":"{}"}}"#, "a".repeat(1 << 20)).as_bytes());
    assert!(
        bomb.len() < 4096,
        "the bomb is small when compressed: {}",
        bomb.len()
    );
    let (s, b) = e
        .send(
            "/services/collector/event",
            Some(format!("Splunk {TOKEN}")),
            &[("Content-Encoding", "gzip")],
            bomb,
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    let (s, b) = e
        .send(
            "/services/collector/event",
            Some(format!("Splunk {TOKEN}")),
            &[("Content-Encoding", "gzip")],
            b"not gzip at all".to_vec(),
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"text":"Invalid data format","code":6}"#
        )
    );
    assert!(e.sink.events().is_empty());
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let e = env(|_| {}).await;
    let (s, _) = e.post("/services/collector/nope", Some(TOKEN), "x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
