//! Segments: the software's `segment` or tags pick a customer's segment; a segment's own
//! templates replace the business's, purpose by purpose.

use serde_json::json;

use crate::model::job::JobStatus;
use crate::model::message::Purpose;
use crate::testing::{World, customer, job, review, upsert};
use crate::values::segment::Segment;

/// A business with its own invitation for property managers.
async fn world() -> World {
    World::with(json!({"sms": {"segment_templates": {
        "property_manager": {"invitation": "{first_name}, refer the owners you work with to {business_name}: {link}"}
    }}}))
    .await
}

/// Customer `id` (phone `n`), with `segment` and `tags`, finishes a job and is happy.
async fn happy(w: &World, id: &str, n: u8, segment: Option<&str>, tags: &[&str]) {
    let mut details = customer(id, "Pat Jones", Some(&format!("512-555-03{n:02}")));
    details.segment = segment.map(|s| Segment::parse(s).unwrap());
    details.tags = tags.iter().filter_map(|t| Segment::from_tag(t)).collect();
    w.deliver(&format!("{id}-u"), upsert(details))
        .await
        .unwrap();
    w.deliver(
        &format!("{id}-j"),
        job(
            &format!("job-{id}"),
            id,
            JobStatus::Completed,
            "2026-11-23T15:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    w.deliver(&format!("{id}-r"), review(id, 5, "2026-11-23T16:00:00Z"))
        .await
        .unwrap();
}

fn invitation_to(w: &World, id: &str) -> String {
    w.messages_of(Purpose::Invitation)
        .into_iter()
        .find(|m| m.customer_id.as_ref().map(|c| c.as_str()) == Some(id))
        .map(|m| m.body)
        .unwrap_or_else(|| panic!("no invitation to {id}"))
}

#[tokio::test]
async fn a_segments_own_template_replaces_the_default_for_its_customers() {
    let w = world().await;
    // A tag names the segment (the first one the business has templates for).
    happy(&w, "cus_pm", 1, None, &["VIP", "Property Manager"]).await;
    assert!(invitation_to(&w, "cus_pm").starts_with("Pat, refer the owners you work with"));
    // Named outright.
    happy(&w, "cus_named", 2, Some("property_manager"), &[]).await;
    assert!(invitation_to(&w, "cus_named").starts_with("Pat, refer the owners"));
    // Another segment, or none: the business's default.
    happy(&w, "cus_home", 3, Some("residential"), &[]).await;
    assert!(invitation_to(&w, "cus_home").starts_with("Thanks for choosing Acme Plumbing, Pat!"));
    happy(&w, "cus_plain", 4, None, &[]).await;
    assert!(invitation_to(&w, "cus_plain").starts_with("Thanks for choosing"));
    // The segment is kept on the contact; an update without one leaves it.
    let contact = |id: &str| {
        w.store
            .contacts()
            .into_iter()
            .find(|c| c.customer_id.as_str() == id)
            .unwrap()
    };
    assert_eq!(
        contact("cus_pm").segment.unwrap().as_str(),
        "property_manager"
    );
    assert_eq!(contact("cus_home").segment.unwrap().as_str(), "residential");
    w.deliver(
        "again",
        upsert(customer("cus_pm", "Pat Jones", Some("512-555-0301"))),
    )
    .await
    .unwrap();
    assert_eq!(
        contact("cus_pm").segment.unwrap().as_str(),
        "property_manager"
    );
}

#[test]
fn segment_templates_are_checked() {
    let mut settings = crate::testing::settings_with(&json!({}));
    settings.sms.segment_templates = serde_json::from_value(json!({
        "residential": {"reward": "Hi {password}"}
    }))
    .unwrap();
    assert!(
        settings
            .check()
            .contains_key("sms.segment_templates.residential.reward")
    );
    let bad_name: Result<crate::model::settings::SmsSettings, _> = serde_json::from_value(json!({
        "enabled": true, "quiet_start": "21:00", "quiet_end": "08:00",
        "daily_cap_per_number": 3, "daily_cap_per_business": 500,
        "send_acknowledgment": true, "send_progress": false,
        "templates": serde_json::to_value(&settings.sms.templates).unwrap(),
        "segment_templates": {"Property Manager": {}}
    }));
    assert!(bad_name.is_err());
}
