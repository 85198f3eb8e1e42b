//! `make dev`: the whole system on one port against a local emulator.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::json;
use vouch_aws::{Config, telemetry, wiring};
use vouch_domain::app::EnrolRequest;
use vouch_domain::model::contact::CustomerInput;
use vouch_http::{AppState, Web};
use vouch_local::{Emulator, provision, router, serve};

const DEMO_BUSINESS: &str = "demo-plumbing";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let port: u16 = match std::env::var("VOUCH_PORT") {
        Ok(raw) => raw.parse().context("VOUCH_PORT must be a port number")?,
        Err(_) => 3000,
    };
    let (operator_key, generated) = match std::env::var("VOUCH_OPERATOR_KEY") {
        Ok(key) if !key.trim().is_empty() => (key, false),
        _ => {
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            (format!("op_{}", URL_SAFE_NO_PAD.encode(bytes)), true)
        }
    };

    let emulator = Emulator::start().await?;
    let tremendous = match std::env::var("VOUCH_TREMENDOUS_API_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            vouch_local::tremendous::spawn(
                tokio::net::TcpListener::bind("127.0.0.1:0").await?,
                vouch_local::tremendous::DEV_API_KEY,
            )?
            .base
        }
    };
    // Jobber: the stand-in (its OAuth, GraphQL and webhooks), and the read-back queue its
    // webhooks fill, as the SAM template declares it.
    let jobber = vouch_local::jobber::spawn(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        vouch_local::jobber::App {
            client_id: vouch_local::jobber::DEV_CLIENT_ID.into(),
            client_secret: vouch_local::jobber::DEV_CLIENT_SECRET.into(),
        },
        Some(format!("http://127.0.0.1:{port}/webhooks/jobber")),
    )?;
    let (read_back_sqs, read_back_queue) =
        vouch_local::read_backs::create_queue(&emulator.endpoint, "jobber-read-backs").await?;
    let config = Config {
        table: "vouch".into(),
        aws_endpoint: Some(emulator.endpoint.clone()),
        operator_key: Some(operator_key.clone()),
        ip_hash_key: std::env::var("VOUCH_IP_HASH_KEY")
            .unwrap_or_else(|_| "local-development-ip-hash-key".into())
            .into_bytes(),
        fallback_url: std::env::var("VOUCH_FALLBACK_URL").ok(),
        public_base_url: Some(format!("http://127.0.0.1:{port}")),
        event_bus: "vouch".into(),
        sms_origination_number: Some("+15550100000".into()),
        sms_sender_id: None,
        housecallpro_signature_header: None,
        housecallpro_timestamp_header: None,
        tremendous_api_url: tremendous.clone(),
        jobber_api_url: jobber.api_url(),
        jobber_auth_url: jobber.auth_url(),
        jobber_queue_url: Some(read_back_queue.clone()),
    };
    let app = wiring::application(&config).await;
    provision(&app, &config.table, &config.event_bus).await?;
    let vouch = app.vouch.clone();
    let app_events = app;

    let operator = vouch.authorise_operator(Some(&operator_key))?;
    let (id, settings) = vouch_http::dto::settings::new_business(&json!({
                "business_id": DEMO_BUSINESS,
                "name": "Demo Plumbing",
                "time_zone": "America/Chicago",
                // The local stand-in for the business's website, with its contact form.
                "landing_url": format!("http://127.0.0.1:{port}/_local/site/{DEMO_BUSINESS}"),
                "thank_you_url": format!("http://127.0.0.1:{port}/_local/site/{DEMO_BUSINESS}/thanks"),
                "allowed_origins": [format!("http://127.0.0.1:{port}")],
                // Narrower than the default 21:00-08:00 so the demo texts at most hours.
                "sms": {"quiet_start": "23:00", "quiet_end": "06:00", "daily_cap_per_number": 10},
                // API.md's example tiers: $25 from the 1st closed referral, $50 from the 3rd,
                // $100 from the 5th.
                "reward": {"type": "service_credit", "description": "Account credit",
                           "tiers": [{"from_referral": 1, "amount_cents": 2500},
                                     {"from_referral": 3, "amount_cents": 5000},
                                     {"from_referral": 5, "amount_cents": 10000}]}
    }))
    .map_err(|errors| anyhow::anyhow!("the demo business's settings: {errors:?}"))?;
    let created = vouch
        .create_business(&operator, id, settings)
        .await
        .context("seeding the demo business")?;
    let business = created.business_id.clone();
    let (maria, _) = vouch
        .enrol(
            &business,
            EnrolRequest {
                customer: Some(CustomerInput {
                    id: "demo-cust-1".into(),
                    first_name: "Maria".into(),
                    last_name: Some("Garcia".into()),
                    phone: Some("+15125550101".into()),
                    email: Some("maria@example.com".into()),
                    sms_consent: Some(true),
                    ..CustomerInput::default()
                }),
                ..EnrolRequest::default()
            },
            &format!("http://127.0.0.1:{port}"),
        )
        .await
        .context("seeding a demo participant")?;

    // The demo owner, signed in through the same invite a real owner uses.
    let owner_email = "owner@demo-plumbing.example";
    let owner_password = format!(
        "demo-{}",
        &vouch_domain::values::secrets::random_token()[..16]
    );
    let invited = vouch
        .add_staff(&business, "make dev", owner_email, "Olivia Owens", "owner")
        .await
        .context("inviting the demo owner")?;
    vouch
        .accept_invite(&invited.token, &owner_password)
        .await
        .context("setting the demo owner's password")?;

    let web = Web::new(
        config.fallback_url.as_deref(),
        config.public_base_url.clone(),
    )?;
    let base = format!("http://127.0.0.1:{port}");
    let key = &created.admin_api_key;
    let demo = vouch
        .business(&business)
        .await?
        .context("the demo business, just created")?;
    let status_url = vouch.status_url(&demo, &maria.customer_id, &base);
    println!(
        "\nVouch is running on {base} (emulator {emulator})\n\
         \n  dashboard        {base}/admin  (sign in as {owner_email} / {owner_password})\
         \n  operator key     {operator_key}{note}\
         \n  demo business    {business}\
         \n  admin API key    {key}\
         \n  webhook secret   {secret}\
         \n  demo referrer    Maria Garcia, code {code}\
         \n  Maria's page     {status_url}\
         \n  API document     {base}/openapi.json\
         \n  sent texts       {emulator}/moto-api/data.json (sns.SMS)\
         \n  gift cards       {tremendous} (Tremendous stand-in; API key {gift_card_key}, funding source balance; orders at {tremendous_orders})\
         \n  jobber           {jobber_base} (Jobber stand-in; app client id {jobber_id}, secret {jobber_secret}; save them in the dashboard's settings, then Connect Jobber)\
         \n  quiet hours      23:00-06:00 America/Chicago (texts then are deferred; the sweep sends them)\
         \n\nTry:\
         \n  open {base}/r/{code} in a browser: the demo site's plain form sends a lead credited to Maria\
         \n  curl -i {base}/r/{code}\
         \n  curl -i -A 'facebookexternalhit/1.1' {base}/r/{code}\
         \n  curl -s {base}/api/public/referrals/{code}\
         \n  curl -s -H 'Authorization: Bearer {key}' {base}/api/admin/participants\
         \n  curl -s -H 'Authorization: Bearer {key}' {base}/api/admin/referrals\
         \n  curl -s -X POST {base}/api/leads -H 'Content-Type: application/json' \\\
         \n       -d '{{\"business_id\": \"{business}\", \"name\": \"Dana Smith\", \"phone\": \"512-555-0188\", \"ref\": \"{code}\"}}'\
         \n  curl -s -X POST {base}/api/admin/participants -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\
         \n       -d '{{\"customer\": {{\"id\": \"cust-2\", \"first_name\": \"Sam\", \"last_name\": \"Lee\", \"phone\": \"512-555-0102\"}}}}'\
         \n  curl -s -X POST {base}/api/operator/businesses -H 'Authorization: Bearer {operator_key}' -H 'Content-Type: application/json' \\\
         \n       -d '{{\"business_id\": \"acme\", \"name\": \"Acme\", \"time_zone\": \"America/Denver\", \"landing_url\": \"https://acme.example\"}}'\
         \n\nSigned webhooks: scripts/send-webhook.py {base} {business} '{secret}' job.status_changed '{{...}}'\
         \nStand-ins for AWS triggers: POST {base}/_local/sms/inbound, POST {base}/_local/scheduler/run\
         \n\nCtrl-C stops everything.\n",
        emulator = emulator.endpoint,
        gift_card_key = vouch_local::tremendous::DEV_API_KEY,
        jobber_base = jobber.base,
        jobber_id = vouch_local::jobber::DEV_CLIENT_ID,
        jobber_secret = vouch_local::jobber::DEV_CLIENT_SECRET,
        tremendous_orders = tremendous.replace("/api/v2", "/_standin/orders"),
        note = if generated {
            " (generated; set VOUCH_OPERATOR_KEY to choose one)"
        } else {
            ""
        },
        secret = created.webhook_secret,
        code = maria.code,
    );

    // What `make demo` (scripts/demo.py) needs to drive this instance.
    let session = json!({
        "base_url": base, "business_id": business, "admin_api_key": key,
        "webhook_secret": created.webhook_secret, "operator_key": operator_key,
        "emulator": emulator.endpoint, "referrer_code": maria.code.to_string(),
        "referrer_status_url": status_url,
        "owner_email": owner_email, "owner_password": owner_password,
        "jobber": {"base_url": jobber.base, "client_id": vouch_local::jobber::DEV_CLIENT_ID,
                   "client_secret": vouch_local::jobber::DEV_CLIENT_SECRET},
    });
    // VOUCH_SESSION_FILE lets a second instance (the API fuzz) keep its own.
    let session_file = std::path::PathBuf::from(
        std::env::var("VOUCH_SESSION_FILE").unwrap_or_else(|_| ".local/dev-session.json".into()),
    );
    if let Some(dir) = session_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&session_file, session.to_string())
        .with_context(|| format!("writing {}", session_file.display()))?;
    let state = AppState::new(vouch, web);
    // referral.qualified → the reward issuer, as the EventBridge rule does in AWS.
    let (sqs, queue) = vouch_local::bus::route_to_issuer(
        &app_events.events,
        &emulator.endpoint,
        &config.event_bus,
        "reward-issuer",
    )
    .await?;
    vouch_local::bus::spawn_poller(sqs, queue, state.vouch.clone(), base.clone());
    // Jobber's webhooks → the read-back queue → the jobber-sync handler.
    vouch_local::read_backs::spawn_poller(
        read_back_sqs,
        read_back_queue,
        state.vouch.clone(),
        base.clone(),
    );
    // The scheduler's every-minute sweep: deferred texts, held rewards, missed events.
    let sweeper = state.clone();
    tokio::spawn(async move {
        let base = sweeper.web.public_base_url.clone().unwrap_or_default();
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            if let Err(err) = sweeper.vouch.sweep(&base).await {
                tracing::warn!(error = %err, "local sweep");
            }
        }
    });
    serve(router(state), port).await
}
