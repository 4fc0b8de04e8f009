//! `GET /api/v1/communities/{c}/events`: the community feed as Server-Sent
//! Events, for admins' and operators' dashboards.
//!
//! Stored events (alarm and installation changes) carry their sequence
//! number as the SSE `id`, so a client that reconnects with `Last-Event-ID`
//! (or `?after=`) gets everything it missed, in order. Reading summaries
//! are a rate, not a record: once a second, when readings arrived, a
//! `readings` event without an id says how many.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Path, Query};
use super::AppState;
use crate::auth::Principal;
use crate::db::Db;
use crate::feed::{FeedEvent, FeedKind};
use crate::ids::CommunityId;

/// Stored events read per round.
const PAGE: i64 = 500;
/// How often a `readings` summary may be sent.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// Comma-separated kinds to receive: `alarm`, `installation`, `notification`, `readings` (default: alarm, installation, readings).
    pub kinds: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header wins when both are given).
    pub after: Option<i64>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// What a follower asked for.
struct Selection {
    kinds: Vec<FeedKind>,
    readings: bool,
}

fn selection(kinds: Option<&str>) -> ApiResult<Selection> {
    let Some(kinds) = kinds else {
        return Ok(Selection {
            kinds: vec![FeedKind::Alarm, FeedKind::Installation],
            readings: true,
        });
    };
    let mut selection = Selection {
        kinds: Vec::new(),
        readings: false,
    };
    for name in kinds.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        match name {
            "readings" => selection.readings = true,
            other => selection.kinds.push(FeedKind::parse(other).ok_or_else(|| {
                ApiError::invalid(format!(
                    "kinds: unknown kind {other:?}; use alarm, installation, notification or readings"
                ))
            })?),
        }
    }
    if selection.kinds.is_empty() && !selection.readings {
        return Err(ApiError::invalid("kinds: name at least one kind"));
    }
    Ok(selection)
}

fn resume_point(headers: &HeaderMap, after: Option<i64>) -> ApiResult<Option<i64>> {
    match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|seq| *seq >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("Last-Event-ID: expected an event id from this feed")),
        None => Ok(after),
    }
}

/// Follow a community's alarms, installation changes and reading rate live.
#[utoipa::path(get, path = "/api/v1/communities/{community}/events", tag = "events",
    params(("community" = String, Path), StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "text/event-stream of `alarm`, `installation` and `readings` events"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many live streams open")),
    security(("bearer" = [])))]
async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    principal.require_staff(&community)?;
    let selection = selection(query.kinds.as_deref())?;
    let permit = state.streams.open(&principal.token_id)?;
    let last_seq = match resume_point(&headers, query.after)? {
        Some(seq) => seq,
        None => crate::feed::head(&state.services.db, &community).await?,
    };
    let readings = state.services.feed.reading_counter(&community);
    let follower = Follower {
        db: state.services.db.clone(),
        signals: state.services.feed.subscribe(),
        last_seq,
        readings_seen: readings.load(Ordering::Relaxed),
        readings,
        community,
        selection,
        ready: VecDeque::new(),
        summary: tokio::time::interval(SUMMARY_EVERY),
    };
    tracing::info!(community = %follower.community, subscriber = %principal.subject, after = last_seq, "feed follower connected");
    // The permit lives as long as the stream: the connection's place is
    // given back when the client goes away.
    let stream = futures::stream::unfold((follower, permit), |(mut follower, permit)| async move {
        let event = follower.next().await;
        Some((Ok(event), (follower, permit)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One connected follower's position and what it is waiting for.
struct Follower {
    db: Db,
    community: CommunityId,
    signals: broadcast::Receiver<CommunityId>,
    last_seq: i64,
    readings: Arc<AtomicU64>,
    readings_seen: u64,
    selection: Selection,
    ready: VecDeque<FeedEvent>,
    summary: tokio::time::Interval,
}

impl Follower {
    /// The next event to send; waits until there is one.
    async fn next(&mut self) -> Event {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return sse_event(&event);
            }
            match crate::feed::after(&self.db, &self.community, self.last_seq, PAGE).await {
                Ok(page) => {
                    if let Some(last) = page.last() {
                        self.last_seq = last.seq;
                        let wanted = &self.selection.kinds;
                        self.ready
                            .extend(page.into_iter().filter(|e| wanted.contains(&e.kind)));
                        continue;
                    }
                }
                Err(e) => {
                    tracing::error!(community = %self.community, "cannot read the community feed: {e}");
                }
            }
            tokio::select! {
                signal = self.signals.recv() => match signal {
                    Ok(c) if c != self.community => {}
                    // Our community, or signals we missed: read the store again.
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = self.summary.tick(), if self.selection.readings => {
                    let total = self.readings.load(Ordering::Relaxed);
                    if total > self.readings_seen {
                        let count = total - self.readings_seen;
                        self.readings_seen = total;
                        return Event::default()
                            .event("readings")
                            .data(serde_json::json!({ "count": count }).to_string());
                    }
                }
            }
        }
    }
}

fn sse_event(event: &FeedEvent) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .event(event.kind.as_str())
        .data(
            serde_json::json!({ "topic": event.topic, "at": event.at, "data": event.data })
                .to_string(),
        )
}
