//! The OpenAPI document served at `GET /openapi.json`, covering every function's routes.

use utoipa::openapi::header::Header;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::admin::{self, messages, participants, referrals, rewards, settings};
use crate::dto::schema;
use crate::public::{leads, links};
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
        webhooks::standard, webhooks::housecall_pro,
        leads::submit,
        referrals::list, referrals::attribute, referrals::approve, referrals::reject,
        referrals::remove, referrals::customers,
        rewards::list, rewards::update, rewards::set_override,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail, common::Health, links::ReferralCardView,
        admin::CreatedBusinessView, admin::ParticipantSummary, admin::ParticipantRow,
        admin::ParticipantDetail, admin::ParticipantPage,
        schema::SettingsSchema, schema::TierSchema, schema::RewardProgramSchema,
        schema::RefereeRewardSchema, schema::SmsSchema, schema::TemplatesSchema, schema::LimitsSchema,
        schema::EnrolSchema, schema::CustomerSchema, schema::PersonSchema, schema::DecisionSchema,
        admin::MessageView, admin::MessagePage,
        webhooks::Received, leads::LeadCreated,
        referrals::ReferralView, referrals::ReferralPage, referrals::LeadView,
        referrals::AttributeRequest, referrals::ApproveRequest, referrals::CustomerView,
        referrals::CustomerPage,
        rewards::RewardView, rewards::RewardPage, rewards::RewardUpdate, rewards::OverrideRequest,
        schema::RewardOverrideSchema, schema::RewardChangeSchema,
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
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
