//! The OpenAPI document served at `GET /openapi.json`, covering every function's routes.

use utoipa::openapi::header::Header;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::admin::{self, messages, participants, referrals, reports, rewards, settings, staff};
use crate::dto::schema;
use crate::public::{leaderboard, leads, links, me};
use crate::{common, error, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vouch", description = "Referral programs for field-service businesses."),
    paths(
        common::health,
        links::click, links::qr, links::referral_card,
        admin::create_business,
        participants::list, participants::enrol, participants::one,
        settings::read, settings::replace, messages::list,
        webhooks::standard, webhooks::housecall_pro, webhooks::jobber_app,
        leads::submit,
        referrals::list, referrals::attribute, referrals::approve, referrals::reject,
        referrals::remove, referrals::customers,
        rewards::list, rewards::update, rewards::set_override,
        reports::summary, reports::months, reports::monthly, reports::leaderboard,
        leaderboard::json, leaderboard::page, me::json, me::page,
        staff::list, staff::add, staff::remove,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail, common::Health, links::ReferralCardView,
        admin::CreatedBusinessView, admin::ParticipantSummary, admin::ParticipantRow,
        admin::ParticipantDetail, admin::ParticipantPage,
        schema::SettingsSchema, schema::IntegrationsSchema, schema::JobberSchema, schema::ConfiguredSchema, schema::TierSchema, schema::RewardProgramSchema,
        schema::RefereeRewardSchema, schema::VipRewardSchema, schema::PromotionSchema, schema::SmsSchema, schema::TemplatesSchema, schema::SegmentTemplatesSchema,
        schema::LimitsSchema,
        schema::EnrolSchema, schema::CustomerSchema, schema::PersonSchema, schema::DecisionSchema,
        admin::MessageView, admin::MessagePage,
        webhooks::Received, webhooks::JobberReceived, leads::LeadCreated,
        referrals::ReferralView, referrals::ReferralPage, referrals::LeadView,
        referrals::AttributeRequest, referrals::ApproveRequest, referrals::CustomerView,
        referrals::CustomerPage,
        rewards::RewardView, rewards::OrderView, rewards::RewardPage, rewards::RewardUpdate, rewards::OverrideRequest,
        schema::RewardOverrideSchema, schema::RewardChangeSchema,
        reports::SummaryView, reports::FunnelView, reports::ConversionView, reports::SourceView,
        reports::ChannelView, reports::MonthView, reports::TopReferrerView,
        reports::MonthlyReportView, reports::ReportMonthsView, reports::ReportMonthView,
        reports::LeaderboardView, reports::LeaderView,
        leaderboard::PublicLeaderboardView, leaderboard::PublicLeaderView,
        me::ReferrerPageView, me::ShareLinks, me::FriendView, me::RewardTotalsView,
        me::NextRewardView, me::TierUpView, me::VipView,
        staff::StaffView, staff::StaffPage, staff::InvitedView, staff::StaffRequest,
    )),
    modifiers(&Security, &Errors),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["admin_key", "operator_key"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The error statuses every operation of a kind can answer, each with the error body: a body
/// that is not the declared JSON (400), too large (413) or with a bad field (422); a query
/// parameter that cannot be read (400) or is invalid (422); a missing or wrong key (401); and a
/// dependency that is unavailable or busy (503, with `Retry-After`).
struct Errors;

impl Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = || {
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                .build()
        };
        let retry_after = || {
            Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
        };
        let response = |description: &str, retry: bool| {
            let mut builder = ResponseBuilder::new()
                .description(description)
                .content("application/json", error());
            if retry {
                builder = builder.header("Retry-After", retry_after());
            }
            RefOr::T(builder.build())
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                let mut add = |status: &str, description: &str, retry: bool| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response(description, retry));
                };
                let has_body = operation.request_body.is_some();
                let has_query =
                    operation.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    });
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if has_body {
                    add("400", "The body is not valid JSON, or not an object", false);
                    add("413", "The body is too large", false);
                    add("422", "Some fields are invalid; see `fields`", false);
                }
                if has_query {
                    add("400", "A query parameter cannot be read", false);
                    add("422", "A query parameter is invalid; see `fields`", false);
                }
                if secured {
                    add("401", "A valid key is required", false);
                }
                add(
                    "503",
                    "A dependency is unavailable or busy; retry after `Retry-After` seconds",
                    true,
                );
                // A route's own 429 or 503 says when to come back, too.
                for status in ["429", "503"] {
                    if let Some(RefOr::T(declared)) = operation.responses.responses.get_mut(status)
                    {
                        declared
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(retry_after);
                    }
                }
            }
        }
    }
}

/// The document served at `/openapi.json`: the routes' generated description with the request
/// schemas of [`contract`](crate::dto::contract) laid over it.
pub fn document() -> serde_json::Value {
    built().clone()
}

/// The document, built once per process on first use (it lists every time zone and country).
pub fn built() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> serde_json::Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    crate::dto::contract::overlay(&mut document);
    document
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use vouch_domain::model::reward::RewardStatus;

    use super::document;

    fn operations(document: &Value) -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                found.push((path.clone(), method.clone(), operation.clone()));
            }
        }
        found
    }

    #[test]
    fn every_request_body_is_the_contracts_schema_and_required() {
        let document = document();
        for (path, method, schema) in crate::dto::contract::bodies() {
            let body = &document["paths"][path][method]["requestBody"];
            assert_eq!(body["required"], true, "{method} {path}: no required body");
            let content = body["content"].as_object().expect("content");
            for (media, declared) in content {
                assert_eq!(declared["schema"], schema, "{method} {path} {media}");
            }
        }
    }

    #[test]
    fn list_parameters_are_in_the_query_with_the_validators_limits() {
        let document = document();
        let mut seen = 0;
        for (path, method, operation) in operations(&document) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if ["limit", "cursor", "status", "q", "sort", "customer_id"].contains(&name)
                    && !path.contains(&format!("{{{name}}}"))
                {
                    seen += 1;
                    assert_eq!(parameter["in"], "query", "{method} {path} {name}");
                }
                if parameter["in"] == "path" {
                    assert_eq!(parameter["required"], true, "{method} {path} {name}");
                }
                if name == "limit" {
                    assert_eq!(parameter["schema"]["minimum"], 1, "{method} {path}");
                    assert_eq!(parameter["schema"]["maximum"], 100, "{method} {path}");
                }
            }
        }
        assert!(seen >= 10, "only {seen} list parameters found");
        let rewards = &document["paths"]["/api/admin/rewards"]["get"]["parameters"];
        let status = rewards
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "status"))
            .expect("a status parameter");
        let values = serde_json::to_string(&status["schema"]).unwrap();
        for each in RewardStatus::ALL {
            let name = serde_json::to_value(each).unwrap();
            assert!(
                values.contains(&name.to_string()),
                "{name} missing: {values}"
            );
        }
    }

    #[test]
    fn every_operation_declares_its_error_statuses() {
        for (path, method, operation) in operations(&document()) {
            let responses = &operation["responses"];
            assert!(responses["503"].is_object(), "{method} {path}: no 503");
            for status in ["429", "503"] {
                assert!(
                    responses[status].is_null()
                        || responses[status]["headers"]["Retry-After"].is_object(),
                    "{method} {path}: {status} without Retry-After"
                );
            }
            if operation["requestBody"].is_object() {
                for status in ["400", "413", "422"] {
                    assert!(
                        responses[status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                assert!(responses["401"].is_object(), "{method} {path}: no 401");
            }
        }
    }

    #[test]
    fn the_webhook_routes_declare_their_signature_headers() {
        let document = document();
        let headers = |path: &str| -> Vec<String> {
            document["paths"][path]["post"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_ascii_lowercase))
                .collect()
        };
        let standard = headers("/webhooks/{business_id}");
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            assert!(standard.contains(&name.to_owned()), "{name}: {standard:?}");
        }
        let housecallpro = headers("/webhooks/{business_id}/housecallpro");
        for name in ["api-timestamp", "api-signature"] {
            assert!(
                housecallpro.contains(&name.to_owned()),
                "{name}: {housecallpro:?}"
            );
        }
    }
}
