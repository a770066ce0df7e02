//! The HEC HTTP endpoints (axum).
//!
//! | path | method | what |
//! |---|---|---|
//! | `/services/collector`, `/services/collector/event`, `/services/collector/event/1.0` | POST | JSON envelopes |
//! | `/services/collector/raw`, `/services/collector/raw/1.0` | POST | line-broken text |
//! | `/services/collector/ack` | POST | acknowledgement status |
//! | `/services/collector/health`, `/services/collector/health/1.0` | GET, POST | health |
//!
//! Checks run in splunkd's order: token (header or query string), channel, body size, body
//! content, then room in the queue; only a request that passes all of them is journaled, and
//! it is answered only once durable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;
use tower_http::decompression::RequestDecompressionLayer;

use super::ack::{AckRegistry, is_channel};
use super::auth::{Token, TokenStore};
use super::parse::{QueryMeta, parse_events, parse_raw};
use super::reply::{HecReply, HecStatus, json_response, too_large};
use crate::config::Limits;
use crate::journal::{Journal, encode};
use crate::runner::Counters;
use crate::schedule::Clock;

/// Shared state of the endpoints.
#[derive(Debug)]
pub(crate) struct HecState {
    pub tokens: TokenStore,
    pub limits: Limits,
    pub acks: AckRegistry,
    pub journal: Journal,
    pub permits: Arc<Semaphore>,
    pub accepting: AtomicBool,
    pub counters: Arc<Counters>,
    /// The service's clock: the time a request is received, for events without `time`.
    pub clock: Clock,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Event,
    Raw,
}

/// The router.
pub(crate) fn router(state: Arc<HecState>) -> Router {
    let compressed_limit = state.limits.max_content_length;
    Router::new()
        .route("/services/collector", post(event))
        .route("/services/collector/event", post(event))
        .route("/services/collector/event/1.0", post(event))
        .route("/services/collector/raw", post(raw))
        .route("/services/collector/raw/1.0", post(raw))
        .route("/services/collector/ack", post(ack))
        .route("/services/collector/health", any(health))
        .route("/services/collector/health/1.0", any(health))
        .fallback(not_found)
        .layer(
            RequestDecompressionLayer::new()
                .gzip(true)
                .pass_through_unaccepted(false),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            limit_compressed(compressed_limit, req, next)
        }))
        .with_state(state)
}

/// Refuses bodies over `max_content_length` as sent (before decompression).
async fn limit_compressed(limit: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let req = req.map(|b| Body::new(Limited::new(b, limit)));
    next.run(req).await
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        r#"{"text":"The requested URL was not found on this server.","code":404}"#.into(),
    )
}

async fn health(State(s): State<Arc<HecState>>) -> Response {
    if s.journal.is_full() {
        HecReply::new(HecStatus::UnhealthyQueuesFull).into_response()
    } else {
        HecReply::new(HecStatus::Healthy).into_response()
    }
}

async fn event(
    State(s): State<Arc<HecState>>,
    query: Result<Query<QueryMeta>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(s, query, headers, body, Kind::Event).await
}

async fn raw(
    State(s): State<Arc<HecState>>,
    query: Result<Query<QueryMeta>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(s, query, headers, body, Kind::Raw).await
}

fn refuse(s: &HecState, reply: impl Into<HecReply>) -> Response {
    s.counters.requests_refused.fetch_add(1, Ordering::Relaxed);
    reply.into().into_response()
}

/// Authenticates and finds the channel; `Err` is the reply.
fn admit<'a>(
    s: &'a HecState,
    query: &QueryMeta,
    headers: &HeaderMap,
) -> Result<(&'a Token, Option<String>), HecStatus> {
    let token = s.tokens.authenticate(
        headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
        query.token.as_deref(),
    )?;
    let channel = headers
        .get("x-splunk-request-channel")
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default())
        .or_else(|| query.channel.clone());
    match &channel {
        Some(c) if !is_channel(c) => return Err(HecStatus::InvalidDataChannel),
        None if token.config().ack => return Err(HecStatus::DataChannelMissing),
        _ => {}
    }
    Ok((token, channel))
}

async fn read_body(s: &HecState, body: Body) -> Result<Bytes, Response> {
    let limit = s.limits.max_decompressed_length;
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e.as_ref());
            while let Some(c) = cause {
                if c.is::<LengthLimitError>() {
                    return Err(too_large(limit));
                }
                cause = c.source();
            }
            Err(refuse(s, HecStatus::InvalidDataFormat))
        }
    }
}

async fn ingest(
    s: Arc<HecState>,
    query: Result<Query<QueryMeta>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
    kind: Kind,
) -> Response {
    let Ok(Query(query)) = query else {
        return refuse(&s, HecStatus::InvalidDataFormat);
    };
    if !s.accepting.load(Ordering::Acquire) {
        return refuse(&s, HecStatus::ServerBusy);
    }
    let (token, channel) = match admit(&s, &query, &headers) {
        Ok(t) => t,
        Err(status) => return refuse(&s, status),
    };
    let Ok(_permit) = s.permits.clone().try_acquire_owned() else {
        return refuse(&s, HecStatus::ServerBusy);
    };
    let bytes = match read_body(&s, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let token_config = token.config().clone();
    let limits = s.limits.clone();
    let received = s.clock.now();
    let parsed = tokio::task::spawn_blocking(move || {
        let mut events = match kind {
            Kind::Event => parse_events(&bytes, &token_config, &query, &limits),
            Kind::Raw => parse_raw(&bytes, &token_config, &query, &limits),
        }?;
        for e in events.iter_mut().filter(|e| e.time.is_none()) {
            e.received = received;
        }
        let payload = encode(&events);
        Ok::<_, HecReply>((events, payload))
    })
    .await;
    let (events, payload) = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(reply)) => return refuse(&s, reply),
        Err(_) => return refuse(&s, HecStatus::InternalError),
    };
    if let Some(c) = &channel
        && token.config().ack
        && let Err(status) = s.acks.admit(c)
    {
        return refuse(&s, status);
    }
    let n = events.len();
    let bytes = payload.len();
    if !s.journal.reserve(n, bytes) {
        return refuse(&s, HecStatus::ServerBusy);
    }
    match s.journal.append(events, payload).await {
        Ok(seq) => {
            s.counters.requests_accepted.fetch_add(1, Ordering::Relaxed);
            s.counters
                .events_accepted
                .fetch_add(n as u64, Ordering::Relaxed);
            match channel {
                Some(c) if token.config().ack => {
                    s.acks.record(&c, seq);
                    HecReply::acked(seq).into_response()
                }
                _ => HecReply::new(HecStatus::Success).into_response(),
            }
        }
        Err(e) => {
            tracing::error!("{e}");
            s.journal.release(n, bytes);
            refuse(&s, HecStatus::InternalError)
        }
    }
}

#[derive(serde::Deserialize)]
struct AckQuery {
    acks: Vec<u64>,
}

async fn ack(
    State(s): State<Arc<HecState>>,
    query: Result<Query<QueryMeta>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Query(query)) = query else {
        return refuse(&s, HecStatus::InvalidDataFormat);
    };
    let token = match s.tokens.authenticate(
        headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
        query.token.as_deref(),
    ) {
        Ok(t) => t,
        Err(status) => return refuse(&s, status),
    };
    if !token.config().ack {
        return refuse(&s, HecStatus::AckDisabled);
    }
    let channel = match admit(&s, &query, &headers) {
        Ok((_, Some(c))) => c,
        Ok((_, None)) => return refuse(&s, HecStatus::DataChannelMissing),
        Err(status) => return refuse(&s, status),
    };
    let bytes = match read_body(&s, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return refuse(&s, HecStatus::NoData);
    }
    let Ok(q) = serde_json::from_slice::<AckQuery>(&bytes) else {
        return refuse(&s, HecStatus::InvalidDataFormat);
    };
    let answers = s.acks.query(&channel, &q.acks);
    let members: Vec<String> = answers
        .iter()
        .map(|(id, done)| format!("\"{id}\":{done}"))
        .collect();
    json_response(
        StatusCode::OK,
        format!("{{\"acks\":{{{}}}}}", members.join(",")),
    )
}
