//! The lead-intake function's route: `POST /api/leads`, the website's contact form, as JSON from
//! a script or as a plain HTML form post.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::ToSchema;
use vouch_domain::app::LeadForm;
use vouch_domain::values::ids::BusinessId;
use vouch_domain::{Error, FieldErrors};

use crate::error::ApiError;
use crate::extract::{client_ip, read_body};
use crate::state::AppState;

/// Largest lead body accepted.
pub const LEAD_LIMIT: usize = 16 * 1024;

/// The route with its CORS policy: a browser script may post from a business's own origins. A
/// preflight carries no body, so it is answered from the origin itself: allowed when some
/// business's pages are there (the post is then checked against the business it names, 403
/// otherwise), or, when the script names the business in the query
/// (`/api/leads?business_id=acme`), when that business's are. Plain form posts need no CORS.
pub fn routes(state: &AppState) -> Router<AppState> {
    let vouch = state.vouch.clone();
    let cors = CorsLayer::new()
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, parts: &axum::http::request::Parts| {
                let vouch = vouch.clone();
                let business = business_in_query(parts.uri.query());
                async move {
                    let Ok(origin) = origin.to_str() else {
                        return false;
                    };
                    match business {
                        Some(id) => match vouch.business(&id).await {
                            Ok(Some(business)) => business.settings.allows_origin(origin),
                            _ => false,
                        },
                        None => vouch.origin_listed(origin).await.unwrap_or(false),
                    }
                }
            },
        ));
    // The OPTIONS route exists so a preflight reaches the CORS layer; the layer answers it.
    Router::new().route(
        "/api/leads",
        post(submit)
            .options(|| async { StatusCode::NO_CONTENT })
            .layer(cors),
    )
}

fn business_in_query(query: Option<&str>) -> Option<BusinessId> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "business_id")
        .and_then(|(_, v)| BusinessId::parse(&v).ok())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadCreated {
    /// The same id for a repeated submission by the same person within 24 hours.
    pub lead_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
}

/// A lead from the website form.
#[utoipa::path(
    post, path = "/api/leads", tag = "public",
    params(("business_id" = Option<String>, Query, description = "For browser scripts: lets the CORS preflight find the business's allowed origins")),
    request_body(
        content((Object = "application/json"), (Object = "application/x-www-form-urlencoded")),
        description = "JSON from a script, or a plain HTML form post: business_id (unless ref), name, phone and/or email, message, ref, vclid, referred_by, sms_consent, website (a honeypot: leave it empty). Unknown fields are ignored."
    ),
    responses(
        (status = 201, body = LeadCreated, description = "JSON request"),
        (status = 303, description = "Form post: to the business's thank_you_url"),
        (status = 200, body = String, content_type = "text/html", description = "Form post without a thank_you_url: a thank-you page"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody, description = "Posted from an origin the business does not allow"),
        (status = 413, body = crate::error::ErrorBody), (status = 422, description = "JSON: the fields and their reasons; a form post: a page listing them",
            content((crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 429, body = crate::error::ErrorBody, description = "Too many leads from this address or for this code; see Retry-After"),
    )
)]
pub async fn submit(State(state): State<AppState>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if content_type.starts_with("application/x-www-form-urlencoded") {
        Kind::Form
    } else {
        Kind::Json
    };
    let result = async {
        let bytes = read_body(body, LEAD_LIMIT).await?;
        let fields = parse_fields(&content_type, &bytes)?;
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        let link_base = state.link_base(&parts.headers);
        Ok::<_, ApiError>(
            state
                .vouch
                .submit_lead(lead_form(&fields), client_ip(&parts), origin, &link_base)
                .await?,
        )
    }
    .await;
    match (kind, result) {
        (Kind::Json, Ok(receipt)) => (
            StatusCode::CREATED,
            Json(LeadCreated {
                lead_id: receipt.lead_id,
            }),
        )
            .into_response(),
        (Kind::Form, Ok(receipt)) => match receipt.thank_you_url {
            Some(url) => Redirect::to(url.as_str()).into_response(),
            None => Html(THANK_YOU).into_response(),
        },
        (Kind::Form, Err(ApiError::Domain(Error::Validation(fields)))) => {
            let items: String = fields
                .iter()
                .map(|(field, reason)| format!("<li>{}: {}</li>", escape(field), escape(reason)))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(format!(
                    "<!doctype html><meta charset=utf-8><title>Please check the form</title>\
                     <h1>Please check the form</h1><ul>{items}</ul>\
                     <p>Go back, correct these and send it again.</p>"
                )),
            )
                .into_response()
        }
        (_, Err(err)) => err.into_response(),
    }
}

const THANK_YOU: &str = "<!doctype html><meta charset=utf-8><title>Thank you</title>\
<h1>Thank you!</h1><p>We received your request and will be in touch soon.</p>";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn parse_fields(content_type: &str, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|err| Error::BadRequest(format!("the form body is malformed: {err}")))?;
        return Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    if !(content_type.is_empty() || content_type.starts_with("application/json")) {
        return Err(Error::BadRequest(
            "send application/json or application/x-www-form-urlencoded".into(),
        )
        .into());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::BadRequest("the body must be a JSON object".into()).into()),
        Err(err) => Err(Error::BadRequest(format!("the body is not valid JSON: {err}")).into()),
    }
}

/// The form's fields as the application takes them: text fields must be strings (or `null`),
/// `sms_consent` a yes or no (`true`, `"on"`, `"yes"`, `"1"` …, as checkboxes post it); a field
/// that is neither gets its reason in `invalid`. Unknown fields are ignored.
fn lead_form(fields: &Map<String, Value>) -> LeadForm {
    let mut read = Reader {
        fields,
        invalid: FieldErrors::new(),
    };
    LeadForm {
        business_id: read.text("business_id"),
        name: read.text("name"),
        phone: read.text("phone"),
        email: read.text("email"),
        message: read.text("message"),
        code: read.text("ref"),
        vclid: read.text("vclid"),
        referred_by: read.text("referred_by"),
        honeypot: read.text("website"),
        sms_consent: read.flag("sms_consent"),
        invalid: read.invalid,
    }
}

struct Reader<'a> {
    fields: &'a Map<String, Value>,
    invalid: FieldErrors,
}

impl Reader<'_> {
    fn text(&mut self, name: &str) -> Option<String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(raw)) => Some(raw.clone()),
            Some(_) => {
                self.invalid.insert(name.into(), "must be a string".into());
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.fields.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(raw)) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => true,
                "false" | "off" | "no" | "0" | "" => false,
                _ => {
                    self.invalid
                        .insert(name.into(), "must be true or false".into());
                    false
                }
            },
            Some(_) => {
                self.invalid
                    .insert(name.into(), "must be true or false".into());
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vouch_domain::testing::World;

    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn text_fields_must_be_text_and_checkboxes_yes_or_no() {
        let form = lead_form(&fields(json!({
            "name": 7, "phone": ["5125550188"], "email": null, "ref": "ABCD2345",
            "sms_consent": "maybe", "unknown": {"ignored": true}
        })));
        assert_eq!(form.invalid["name"], "must be a string");
        assert_eq!(form.invalid["phone"], "must be a string");
        assert_eq!(form.invalid["sms_consent"], "must be true or false");
        assert_eq!(form.invalid.len(), 3);
        assert_eq!((form.name, form.phone, form.email), (None, None, None));
        assert_eq!(form.code.as_deref(), Some("ABCD2345"));
        for (sent, read) in [
            (json!(true), true),
            (json!("on"), true),
            (json!("YES"), true),
            (json!("1"), true),
            (json!(false), false),
            (json!("off"), false),
            (json!(""), false),
        ] {
            let form = lead_form(&fields(json!({ "sms_consent": sent })));
            assert_eq!(form.sms_consent, read, "{sent}");
            assert!(form.invalid.is_empty());
        }
    }

    #[tokio::test]
    async fn a_field_the_edge_could_not_read_is_reported_and_nothing_is_stored() {
        let w = World::new().await;
        let form = lead_form(&fields(json!({
            "business_id": "acme", "name": 7, "phone": ["5125550188"], "sms_consent": "maybe"
        })));
        let result = w.submit(form).await;
        let Err(Error::Validation(errors)) = result else {
            panic!("expected a validation error, got {result:?}");
        };
        assert_eq!(errors["name"], "must be a string");
        assert_eq!(errors["phone"], "must be a string");
        assert_eq!(errors["sms_consent"], "must be true or false");
        assert!(w.store.leads().is_empty());
    }

    #[tokio::test]
    async fn a_filled_honeypot_is_a_success_whatever_else_is_wrong() {
        let w = World::new().await;
        let form = lead_form(&fields(
            json!({"website": "x", "name": 1, "business_id": "no such"}),
        ));
        let receipt = w.submit(form).await.unwrap();
        assert_eq!(receipt.lead_id.len(), 26);
        assert!(w.store.leads().is_empty());
    }
}
