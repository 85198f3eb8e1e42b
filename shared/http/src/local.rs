//! Routes standing in locally for what AWS triggers (`make dev` and tests; never deployed):
//! an inbound text as SNS would deliver it, and a scheduler run.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_domain::Error;
use vouch_domain::app::Sweep;

use crate::error::ApiResult;
use crate::events::inbound::InboundSms;
use crate::extract::{JsonBody, QueryOf};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/sms/inbound", post(inbound))
        .route("/_local/scheduler/run", post(sweep))
}

async fn inbound(
    State(state): State<AppState>,
    JsonBody(sms): JsonBody<InboundSms>,
) -> ApiResult<Json<Value>> {
    let keyword = state.vouch.inbound_text(&sms.into()).await?;
    Ok(Json(
        json!({"keyword": keyword.map(|k| format!("{k:?}").to_lowercase())}),
    ))
}

/// `?now=` (RFC 3339) runs the sweep as of that moment.
#[derive(Debug, Deserialize)]
struct SweepQuery {
    now: Option<String>,
}

async fn sweep(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryOf(query): QueryOf<SweepQuery>,
) -> ApiResult<Json<Sweep>> {
    let link_base = state.link_base(&headers);
    let vouch = match query.now.as_deref() {
        Some(raw) => {
            let now = DateTime::parse_from_rfc3339(raw)
                .map_err(|_| Error::field("now", "must be an RFC 3339 time"))?;
            state.vouch.at(now.with_timezone(&Utc))
        }
        None => state.vouch.clone(),
    };
    Ok(Json(vouch.sweep(&link_base).await?))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use serde_json::json;
    use tower::ServiceExt;
    use vouch_domain::testing::World;

    use crate::state::{AppState, Web};

    async fn sweep(world: &World, query: &str) -> (StatusCode, serde_json::Value) {
        let router = crate::routers::local(
            AppState::new(world.vouch.clone(), Web::default()),
            axum::Router::new(),
        );
        let request = Request::post(format!("/_local/scheduler/run{query}"))
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn the_scheduler_runs_as_of_a_given_moment() {
        // A text deferred by quiet hours (the world's business is in Chicago) goes out when the
        // sweep runs as of the morning, not before.
        let w = World::with(json!({"sms": {"quiet_start": "10:00", "quiet_end": "12:00"}})).await;
        w.enrol("cus_2", "Sam", "Lee", "512-555-0102").await;
        let maria = w.referrer().await;
        w.submit(vouch_domain::testing::friend(maria.code.as_str()))
            .await
            .unwrap();
        let (status, now) = sweep(&w, "").await;
        assert_eq!((status, now["sent"].clone()), (StatusCode::OK, json!(0)));
        let (status, later) = sweep(&w, "?now=2026-11-23T18:05:00Z").await;
        assert_eq!((status, later["sent"].clone()), (StatusCode::OK, json!(1)));
        let (status, body) = sweep(&w, "?now=tomorrow").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["fields"]["now"], "must be an RFC 3339 time");
    }
}
