//! An in-memory Jobber (OAuth with refresh tokens spent when used, the items Vouch reads, the
//! faults Jobber has: throttling, lapsed tokens, disconnection), an in-memory read-back queue,
//! and the contract every Jobber adapter must keep, run against this fake and against the HTTP
//! adapter talking to the local stand-in.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Duration as Span;

use crate::model::jobber::{
    JobberAccount, JobberId, JobberItem, JobberRecord, JobberTokens, OAuthToken, ReadBack,
};
use crate::model::settings::JobberApp;
use crate::ports::{Clock, JobberApi, JobberFailure, ReadBacks, TokenGrant};

/// The app the fake (and the tests) use.
pub const JOBBER_CLIENT_ID: &str = "test-jobber-app";
pub const JOBBER_CLIENT_SECRET: &str = "test-jobber-client-secret";

pub fn jobber_app() -> JobberApp {
    serde_json::from_value(serde_json::json!({
        "client_id": JOBBER_CLIENT_ID, "client_secret": JOBBER_CLIENT_SECRET,
    }))
    .expect("a valid app")
}

#[derive(Default)]
struct State {
    codes: HashSet<String>,
    access: HashSet<String>,
    refresh: HashSet<String>,
    issued: u32,
    records: HashMap<JobberId, JobberRecord>,
    throttle_next: u32,
    fail_next: u32,
    disconnected: bool,
    reads: u32,
    grants: Vec<&'static str>,
    refused_grants: u32,
}

pub struct FakeJobber {
    pub account: JobberAccount,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl FakeJobber {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            account: JobberAccount {
                id: JobberId::parse("Z2lkOi8vSm9iYmVyL0FjY291bnQvMQ==").expect("an id"),
                name: "Riverside Plumbing".into(),
            },
            clock,
            state: Mutex::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("the fake's lock"))
    }

    /// A one-time authorization code, as Jobber's authorize page gives after the owner allows.
    pub fn code(&self) -> String {
        self.with(|s| {
            s.issued += 1;
            let code = format!("code-{}", s.issued);
            s.codes.insert(code.clone());
            code
        })
    }

    pub fn put(&self, record: JobberRecord) {
        let id = match &record {
            JobberRecord::Client(c) => c.id.clone(),
            JobberRecord::Job(j) => j.id.clone(),
            JobberRecord::Invoice(i) => i.id.clone(),
            JobberRecord::Request(r) => r.id.clone(),
        };
        self.with(|s| s.records.insert(id, record));
    }

    pub fn throttle_next(&self, n: u32) {
        self.with(|s| s.throttle_next = n);
    }

    pub fn fail_next(&self, n: u32) {
        self.with(|s| s.fail_next = n);
    }

    /// Every access token handed out stops working (as an hour passing would).
    pub fn expire_access_tokens(&self) {
        self.with(|s| s.access.clear());
    }

    /// Every refresh token handed out stops working (revoked at Jobber).
    pub fn revoke_refresh_tokens(&self) {
        self.with(|s| s.refresh.clear());
    }

    pub fn disconnect(&self) {
        self.with(|s| {
            s.disconnected = true;
            s.access.clear();
            s.refresh.clear();
        });
    }

    /// Reads answered (not throttled or failed).
    pub fn reads(&self) -> u32 {
        self.with(|s| s.reads)
    }

    /// Grants refused (a spent code or refresh token).
    pub fn refused_grants(&self) -> u32 {
        self.with(|s| s.refused_grants)
    }

    /// The grant type of each token handed out.
    pub fn grants(&self) -> Vec<&'static str> {
        self.with(|s| s.grants.clone())
    }

    fn tokens(&self, s: &mut State, grant: &'static str) -> JobberTokens {
        s.issued += 1;
        let (access, refresh) = (
            format!("access-{}", s.issued),
            format!("refresh-{}", s.issued),
        );
        s.access.insert(access.clone());
        s.refresh.insert(refresh.clone());
        s.grants.push(grant);
        JobberTokens {
            access_token: OAuthToken::parse(&access).expect("a token"),
            refresh_token: OAuthToken::parse(&refresh).expect("a token"),
            expires_at: self.clock.now() + Span::minutes(60),
        }
    }

    fn checked(&self, s: &mut State, token: &OAuthToken) -> Result<(), JobberFailure> {
        if s.disconnected {
            return Err(JobberFailure::Disconnected);
        }
        if !s.access.contains(token.reveal()) {
            return Err(JobberFailure::Unauthorized("Unauthorized".into()));
        }
        if s.fail_next > 0 {
            s.fail_next -= 1;
            return Err(JobberFailure::Unavailable(
                "Service temporarily unavailable".into(),
            ));
        }
        if s.throttle_next > 0 {
            s.throttle_next -= 1;
            return Err(JobberFailure::Throttled {
                wait: Duration::from_secs(2),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl JobberApi for FakeJobber {
    fn authorize_url(&self, app: &JobberApp, redirect_uri: &str, state: &str) -> String {
        format!(
            "https://jobber.test/api/oauth/authorize?client_id={}&redirect_uri={redirect_uri}&state={state}",
            app.client_id.as_str()
        )
    }

    async fn grant(
        &self,
        app: &JobberApp,
        grant: TokenGrant<'_>,
    ) -> Result<JobberTokens, JobberFailure> {
        if app.client_secret.reveal() != JOBBER_CLIENT_SECRET {
            return Err(JobberFailure::Refused("invalid_client".into()));
        }
        // A round trip: concurrent readers interleave here, as they would waiting on Jobber.
        tokio::task::yield_now().await;
        self.with(|s| match grant {
            TokenGrant::Code { code, .. } => {
                if s.codes.remove(code) {
                    s.disconnected = false;
                    Ok(self.tokens(s, "authorization_code"))
                } else {
                    s.refused_grants += 1;
                    Err(JobberFailure::Refused("invalid_grant".into()))
                }
            }
            TokenGrant::Refresh(token) => {
                if s.refresh.remove(token.reveal()) {
                    Ok(self.tokens(s, "refresh_token"))
                } else {
                    s.refused_grants += 1;
                    Err(JobberFailure::Refused("invalid_grant".into()))
                }
            }
        })
    }

    async fn account(&self, token: &OAuthToken) -> Result<JobberAccount, JobberFailure> {
        self.with(|s| self.checked(s, token))?;
        Ok(self.account.clone())
    }

    async fn read(
        &self,
        token: &OAuthToken,
        item: &JobberItem,
    ) -> Result<Option<JobberRecord>, JobberFailure> {
        self.with(|s| {
            self.checked(s, token)?;
            s.reads += 1;
            let found = s.records.get(item.id()).cloned();
            Ok(match (item, found) {
                (JobberItem::Client(_), Some(r @ JobberRecord::Client(_)))
                | (JobberItem::Job(_) | JobberItem::Visit(_), Some(r @ JobberRecord::Job(_)))
                | (
                    JobberItem::Invoice(_) | JobberItem::Payment(_),
                    Some(r @ JobberRecord::Invoice(_)),
                )
                | (JobberItem::Request(_), Some(r @ JobberRecord::Request(_))) => Some(r),
                _ => None,
            })
        })
    }
}

/// The read-back queue in memory: what the webhook queued, in order.
#[derive(Default)]
pub struct MemoryReadBacks {
    queue: Mutex<VecDeque<ReadBack>>,
}

impl MemoryReadBacks {
    pub fn take(&self) -> Vec<ReadBack> {
        self.queue
            .lock()
            .expect("the queue's lock")
            .drain(..)
            .collect()
    }
}

#[async_trait]
impl ReadBacks for MemoryReadBacks {
    async fn enqueue(&self, read_back: &ReadBack) -> anyhow::Result<()> {
        self.queue
            .lock()
            .map_err(|_| anyhow::anyhow!("queue lock poisoned"))?
            .push_back(read_back.clone());
        Ok(())
    }
}

/// What Jobber holds for [`contract`]: a client and a paid invoice of theirs.
pub struct Seeded {
    pub client_id: JobberId,
    pub paid_invoice_id: JobberId,
    pub invoice_total_cents: i64,
}

/// What every Jobber adapter must do, given a fresh authorization code for `redirect_uri`: the
/// code is exchanged once (and not with a wrong secret); the tokens read the account and its
/// items (an unknown item is `None`); a refresh hands out new tokens and spends the old refresh
/// token; a token Jobber does not know is refused as unauthorized.
pub async fn contract(api: &dyn JobberApi, code: &str, redirect_uri: &str, seeded: &Seeded) {
    let app = jobber_app();
    let wrong: JobberApp = serde_json::from_value(serde_json::json!({
        "client_id": JOBBER_CLIENT_ID, "client_secret": "not-the-client-secret",
    }))
    .expect("a valid app");
    let grant = TokenGrant::Code { code, redirect_uri };
    assert!(matches!(
        api.grant(&wrong, grant).await,
        Err(JobberFailure::Refused(_))
    ));
    let tokens = api.grant(&app, grant).await.expect("the code is exchanged");
    assert!(matches!(
        api.grant(&app, grant).await,
        Err(JobberFailure::Refused(_))
    ));
    let account = api
        .account(&tokens.access_token)
        .await
        .expect("the account");
    assert!(!account.id.as_str().is_empty());

    let client = api
        .read(
            &tokens.access_token,
            &JobberItem::Client(seeded.client_id.clone()),
        )
        .await
        .expect("an answer");
    let Some(JobberRecord::Client(client)) = client else {
        panic!("the client reads back: {client:?}")
    };
    assert_eq!(client.id, seeded.client_id);
    let unknown = JobberId::parse("Z2lkOi8vSm9iYmVyL0NsaWVudC85OTk5OQ==").expect("an id");
    assert_eq!(
        api.read(&tokens.access_token, &JobberItem::Client(unknown))
            .await
            .expect("an answer"),
        None
    );
    let invoice = api
        .read(
            &tokens.access_token,
            &JobberItem::Invoice(seeded.paid_invoice_id.clone()),
        )
        .await
        .expect("an answer");
    let Some(JobberRecord::Invoice(invoice)) = invoice else {
        panic!("the invoice reads back: {invoice:?}")
    };
    assert_eq!(invoice.invoice_status, "paid");
    assert_eq!(invoice.total_cents, seeded.invoice_total_cents);
    assert_eq!(invoice.client.id, seeded.client_id);

    let refreshed = api
        .grant(&app, TokenGrant::Refresh(&tokens.refresh_token))
        .await
        .expect("a refresh");
    assert_ne!(refreshed.refresh_token, tokens.refresh_token);
    assert!(matches!(
        api.grant(&app, TokenGrant::Refresh(&tokens.refresh_token))
            .await,
        Err(JobberFailure::Refused(_))
    ));
    assert!(api.account(&refreshed.access_token).await.is_ok());
    let unknown_token = OAuthToken::parse("not-a-token-jobber-gave").expect("a token");
    assert!(matches!(
        api.account(&unknown_token).await,
        Err(JobberFailure::Unauthorized(_))
    ));
}

/// The world's business with its Jobber app saved (and `extra` laid over its settings), its
/// account connected by an owner's session.
pub async fn connected_world(extra: serde_json::Value) -> super::World {
    let mut settings = serde_json::json!({"integrations": {"jobber": {
        "client_id": JOBBER_CLIENT_ID, "client_secret": JOBBER_CLIENT_SECRET}}});
    if let (Some(settings), serde_json::Value::Object(extra)) = (settings.as_object_mut(), extra) {
        settings.extend(extra);
    }
    let w = super::World::with(settings).await;
    let state = crate::app::oauth_state("an-owners-session", &w.business, w.now());
    w.vouch
        .connect_jobber(
            &w.business,
            "an-owners-session",
            &state,
            &w.jobber.code(),
            "https://go.example/integrations/jobber/callback",
        )
        .await
        .expect("connected");
    w
}

/// What a webhook for `topic` on `item` queues, for the world's business.
pub fn read_back(w: &super::World, topic: &str, item: &str) -> ReadBack {
    ReadBack {
        business_id: w.business.clone(),
        account_id: w.jobber.account.id.clone(),
        topic: topic.into(),
        item_id: JobberId::parse(item).expect("an id"),
        occurred_at: super::eleven_am(),
    }
}
