//! The request side of the API document, written as JSON Schema from the domain's own limits,
//! lists and patterns, so what the document declares is what the validators enforce. Applied to
//! the generated document by [`overlay`]; responses keep their derived schemas.
//!
//! JSON Schema cannot say everything a validator checks: whether a phone number exists in its
//! numbering plan, whether an email's domain is well formed, whether tiers ascend, whether a
//! business or customer exists. Those answer 422 (or 404) on schema-valid input; the README's
//! "The contract, fuzzed" lists which operations have such rules.

use serde_json::{Value, json};
use vouch_domain::app::MAX_MESSAGE_CHARS;
use vouch_domain::model::job::JobStatus;
use vouch_domain::model::reward::RewardStatus;
use vouch_domain::model::settings::{Approval, PLACEHOLDERS, QualifyingStatus, RewardType};
use vouch_domain::values::code::ALPHABET;
use vouch_domain::values::ids::ULID_PATTERN;
use vouch_domain::values::{BusinessId, Country, CustomerId, Money};

/// The names a list of values serialises to.
fn names<T: serde::Serialize>(values: &[T]) -> Vec<Value> {
    values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect()
}

/// No control characters (C0, DEL, C1), as names and free text are checked.
const PRINTABLE: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*$";

fn person_name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 100,
           "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"})
}

fn customer_id() -> Value {
    json!({"type": "string", "pattern": CustomerId::PATTERN})
}

/// A referral code as people type it: the code's alphabet in either case, dashes and spaces.
fn code() -> Value {
    let alphabet = String::from_utf8_lossy(ALPHABET).to_string();
    json!({"type": "string", "maxLength": 32,
           "pattern": format!("^[-\\s{alphabet}{}]*$", alphabet.to_lowercase())})
}

fn cents() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": Money::MAX_CENTS})
}

/// An optional text field as the software sends it: absent, `null`, or text (blank is absent).
fn optional_text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max})
}

/// A customer as the field-service software or staff describe them.
fn customer() -> Value {
    json!({
        "type": "object",
        "required": ["id", "first_name"],
        "properties": {
            "id": customer_id(),
            "first_name": person_name(),
            "last_name": {"type": ["string", "null"], "maxLength": 100, "pattern": PRINTABLE},
            "phone": optional_text(40),
            "email": optional_text(254),
            "sms_consent": {"type": ["boolean", "null"]},
            "segment": {"type": ["string", "null"], "pattern": "^([a-z0-9_]{1,40})?$"},
            "tags": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 100}},
        },
    })
}

/// A template: 1–640 characters, `{placeholders}` only among those known.
fn template() -> Value {
    let known = PLACEHOLDERS.join("|");
    json!({"type": "string", "minLength": 1, "maxLength": 640,
           "pattern": format!("^(?:[^{{]|\\{{(?:{known})\\}})*$")})
}

fn http_url() -> Value {
    json!({"type": "string", "format": "uri", "maxLength": 2000,
           "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+(?:[/?#]\\S*)?$"})
}

fn origin() -> Value {
    json!({"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?$"})
}

fn clock() -> Value {
    json!({"type": "string", "pattern": "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"})
}

fn range(min: u32, max: u32) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

/// The time zones the service knows (IANA names).
fn time_zone() -> Value {
    let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    json!({"type": "string", "enum": zones})
}

/// The countries the phone library knows (ISO 3166-1 alpha-2).
fn country() -> Value {
    let codes: Vec<String> = (b'A'..=b'Z')
        .flat_map(|a| (b'A'..=b'Z').map(move |b| String::from_utf8_lossy(&[a, b]).into_owned()))
        .filter(|code| Country::parse(code).is_ok())
        .collect();
    json!({"type": "string", "enum": codes})
}

fn tier() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["from_referral"],
        "properties": {
            "from_referral": range(1, u32::MAX),
            "amount_cents": {"type": ["integer", "null"], "minimum": 1, "maximum": Money::MAX_CENTS},
            "percent": {"type": ["integer", "null"], "minimum": 1, "maximum": 100},
        },
    })
}

/// The settings a document may give; `required` names those it must.
fn settings(required: &[&str]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": {
            "name": person_name(),
            "time_zone": time_zone(),
            "country": country(),
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
            "landing_url": http_url(),
            "thank_you_url": {"anyOf": [http_url(), {"type": "null"}]},
            "allowed_origins": {"type": "array", "maxItems": 20, "items": origin()},
            "satisfaction_threshold": range(1, 5),
            "qualifying_status": {"type": "string", "enum": names(&QualifyingStatus::ALL)},
            "minimum_invoice_cents": cents(),
            "reward": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "type": {"type": "string", "enum": names(&RewardType::ALL)},
                    "description": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
                    "tiers": {"type": "array", "minItems": 1, "maxItems": 10, "items": tier()},
                },
            },
            "referee_reward": {"anyOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": false,
                "required": ["type", "description"],
                "properties": {
                    "type": {"type": "string", "enum": names(&RewardType::ALL)},
                    "description": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
                    "amount_cents": {"type": ["integer", "null"], "minimum": 1, "maximum": Money::MAX_CENTS},
                    "percent": {"type": ["integer", "null"], "minimum": 1, "maximum": 100},
                },
            }]},
            "approval": {"type": "string", "enum": names(&Approval::ALL)},
            "hold_days": range(0, 365),
            "max_rewards_per_year": {"anyOf": [range(1, 1000), {"type": "null"}]},
            "vip_after": range(1, 1000),
            "promotions": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "additionalProperties": false,
                "required": ["name", "from", "to"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "\\S"},
                    "from": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "to": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "bonus_cents": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000},
                    "multiplier_percent": {"type": ["integer", "null"], "minimum": 101, "maximum": 500},
                },
            }},
            "vip_reward": {"anyOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": false,
                "required": ["extra_cents"],
                "properties": {"extra_cents": {"type": "integer", "minimum": 1, "maximum": 100_000}},
            }]},
            "sms": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "enabled": {"type": "boolean"},
                    "quiet_start": clock(),
                    "quiet_end": clock(),
                    "daily_cap_per_number": range(1, 20),
                    "daily_cap_per_business": range(1, 100_000),
                    "send_acknowledgment": {"type": "boolean"},
                    "send_progress": {"type": "boolean"},
                    "templates": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "invitation": template(), "acknowledgment": template(),
                            "reward": template(), "thank_you": template(),
                            "reengagement": template(), "progress": template(),
                            "vip": template(),
                        },
                    },
                    "segment_templates": {
                        "type": "object", "maxProperties": 20,
                        "propertyNames": {"pattern": "^[a-z0-9_]{1,40}$"},
                        "additionalProperties": {
                            "type": "object", "additionalProperties": false,
                            "properties": {
                                "invitation": template(), "acknowledgment": template(),
                                "reward": template(), "thank_you": template(),
                                "reengagement": template(), "progress": template(),
                                "vip": template(),
                            },
                        },
                    },
                },
            },
            "public_leaderboard": {"type": "boolean"},
            "reengage_after_days": range(0, 3650),
            "reengage_per_day": range(1, 10_000),
            "status_link_version": range(1, 1_000_000),
            "limits": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "leads_per_ip_per_hour": range(1, 10_000),
                    "leads_per_code_per_day": range(1, 10_000),
                    "review_when_leads_per_code_per_day_over": range(1, 10_000),
                },
            },
        },
    })
}

fn new_business() -> Value {
    let mut doc = settings(&["business_id", "name", "time_zone", "landing_url"]);
    doc["properties"]["business_id"] = json!({"type": "string", "pattern": BusinessId::PATTERN});
    doc
}

/// An existing customer's id or the customer, one of the two (the other absent or `null`).
fn enrol() -> Value {
    json!({
        "type": "object",
        "properties": {
            "customer_id": {"anyOf": [customer_id(), {"type": "null"}]},
            "customer": {"anyOf": [customer(), {"type": "null"}]},
            "send_invitation": {"type": "boolean"},
        },
        "oneOf": [
            {"required": ["customer_id"],
             "properties": {"customer_id": customer_id(), "customer": {"type": "null"}}},
            {"required": ["customer"],
             "properties": {"customer": customer(), "customer_id": {"type": "null"}}},
        ],
    })
}

fn reward_override() -> Value {
    json!({
        "type": "object",
        "properties": {
            "reward_override": {"description": "Absent or `null` returns the participant to the program's tiers",
                                "anyOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": false,
                "required": ["type", "description"],
                "properties": {
                    "type": {"type": "string", "enum": names(&RewardType::ALL)},
                    "description": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
                    "amount_cents": {"type": ["integer", "null"], "minimum": 1, "maximum": Money::MAX_CENTS},
                    "percent": {"type": ["integer", "null"], "minimum": 1, "maximum": 100},
                },
            }]},
        },
    })
}

fn attribute() -> Value {
    json!({
        "type": "object",
        "required": ["lead_customer_id", "referrer_customer_id"],
        "properties": {
            "lead_customer_id": customer_id(),
            "referrer_customer_id": customer_id(),
            "override": {"type": "boolean"},
        },
    })
}

fn approve() -> Value {
    json!({
        "type": "object",
        "properties": {"referrer_customer_id": {"anyOf": [customer_id(), {"type": "null"}]}},
    })
}

fn reward_update() -> Value {
    json!({
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": names(&RewardStatus::SET_BY_STAFF)},
            "note": {"type": ["string", "null"], "maxLength": 500},
        },
    })
}

/// The website's form, as JSON or form fields (every value text, `sms_consent` a yes or no).
fn lead() -> Value {
    let text = |max: usize| json!({"type": ["string", "null"], "maxLength": max});
    let yes_no = ["true", "false", "on", "off", "yes", "no", "1", "0", ""];
    let honeypot = json!({"type": "string", "maxLength": 2000, "pattern": "\\S",
        "description": "A honeypot: people leave it empty; anything in it is answered as a success and nothing is stored"});
    let lead = json!({
        "type": "object",
        "required": ["name"],
        "allOf": [
            {"anyOf": [{"required": ["business_id"]}, {"required": ["ref"]}]},
            {"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]},
        ],
        "properties": {
            "business_id": {"type": "string", "pattern": BusinessId::PATTERN},
            "name": person_name(),
            "phone": {"type": "string", "maxLength": 40},
            "email": {"type": "string", "maxLength": 254},
            "message": text(MAX_MESSAGE_CHARS),
            "ref": code(),
            "vclid": {"type": ["string", "null"], "pattern": ULID_PATTERN},
            "referred_by": text(200),
            "sms_consent": {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": yes_no}]},
            "website": {"type": "string", "maxLength": 2000, "pattern": "^\\s*$",
                        "description": "A honeypot: leave it empty"},
        },
    });
    // A filled honeypot is a bot: told it succeeded whatever else it sent.
    let bot =
        json!({"type": "object", "required": ["website"], "properties": {"website": honeypot}});
    json!({"anyOf": [lead, bot]})
}

/// A Standard Webhooks delivery's body: `{type, timestamp, data}`, one data shape per type.
fn delivery() -> Value {
    let at = json!({"type": "string", "format": "date-time"});
    let event = |kind: &str, data: Value| {
        json!({
            "type": "object", "required": ["type", "timestamp", "data"],
            "properties": {"type": {"const": kind}, "timestamp": at, "data": data},
        })
    };
    let job = json!({
        "type": "object", "required": ["id", "customer_id", "status"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 128},
            "customer_id": customer_id(),
            "status": {"type": "string", "enum": names(&JobStatus::ALL)},
            "invoice_total_cents": {"anyOf": [cents(), {"type": "null"}]},
            "service_type": {"type": ["string", "null"]},
        },
    });
    let known = [
        "customer.upserted",
        "lead.created",
        "job.status_changed",
        "review.submitted",
    ];
    json!({"oneOf": [
        {
            "description": "Any other type: acknowledged and ignored, so new event types never fail a delivery",
            "type": "object", "required": ["type", "timestamp"],
            "properties": {"type": {"type": "string", "not": {"enum": known}}, "timestamp": at},
        },
        event("customer.upserted", json!({"type": "object", "required": ["customer"],
            "properties": {"customer": customer()}})),
        event("lead.created", json!({"type": "object", "required": ["customer"],
            "properties": {"customer": customer(),
                           "referral_code": {"anyOf": [code(), {"type": "null"}]},
                           "referrer_customer_id": {"anyOf": [customer_id(), {"type": "null"}]},
                           "referred_by": {"type": ["string", "null"]}}})),
        event("job.status_changed", json!({"type": "object", "required": ["job"],
            "properties": {"job": job, "customer": {"anyOf": [customer(), {"type": "null"}]}}})),
        event("review.submitted", json!({"type": "object", "required": ["customer_id", "score"],
            "properties": {"customer_id": customer_id(), "job_id": {"type": ["string", "null"]},
                           "score": range(1, 5)}})),
    ]})
}

/// Housecall Pro's deliveries: `{event, job|invoice|customer}` (or `{id, event, created_at,
/// data}`); nothing is required, as its test ping is `{"foo":"bar"}`.
fn housecall_pro() -> Value {
    let id = json!({"type": "string", "minLength": 1, "maxLength": 256});
    let object = "The job, invoice or customer; read only for the events mapped";
    json!({
        "type": "object",
        "properties": {
            "id": id,
            "event_id": id,
            "event": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "data": {"description": object},
            "job": {"description": object},
            "invoice": {"description": object},
            "customer": {"description": object},
        },
    })
}

/// The request bodies, by path and method.
/// A staff member to invite.
fn staff_member() -> Value {
    use vouch_domain::model::staff::Role;
    json!({
        "type": "object",
        "required": ["email", "name", "role"],
        "properties": {
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "name": person_name(),
            "role": {"type": "string", "enum": Role::ALL},
        },
    })
}

pub(crate) fn bodies() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("/api/operator/businesses", "post", new_business()),
        ("/api/admin/settings", "put", settings(&[])),
        ("/api/admin/participants", "post", enrol()),
        (
            "/api/admin/participants/{customer_id}/reward-override",
            "put",
            reward_override(),
        ),
        ("/api/admin/referrals", "post", attribute()),
        (
            "/api/admin/referrals/{referral_id}/approve",
            "post",
            approve(),
        ),
        ("/api/admin/rewards/{reward_id}", "patch", reward_update()),
        ("/api/admin/staff", "post", staff_member()),
        ("/api/leads", "post", lead()),
        ("/webhooks/{business_id}", "post", delivery()),
        (
            "/webhooks/{business_id}/housecallpro",
            "post",
            housecall_pro(),
        ),
    ]
}

/// Lays the request schemas over the generated document (as JSON: JSON Schema says more than
/// the generator's model keeps); path parameters are required, as OpenAPI has them, and so is
/// the customer search's `q`.
pub fn overlay(document: &mut Value) {
    for (path, method, schema) in bodies() {
        let Some(body) = document
            .pointer_mut(&format!("/paths/{}/{method}/requestBody", pointer(path)))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        body.insert("required".into(), Value::Bool(true));
        if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) {
            for media in content.values_mut() {
                media["schema"] = schema.clone();
            }
        }
    }
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters.iter_mut().filter_map(Value::as_object_mut) {
                let path_parameter = parameter.get("in").and_then(Value::as_str) == Some("path");
                let search = parameter.get("name").and_then(Value::as_str) == Some("q");
                if path_parameter || search {
                    parameter.insert("required".into(), Value::Bool(true));
                }
            }
        }
    }
}

/// A path as a JSON pointer segment (`/` is `~1`, `~` is `~0`).
fn pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}
