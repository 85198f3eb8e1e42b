//! The OpenAPI document served at `GET /openapi.json`, covering every function's routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    modifiers(&Security),
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
